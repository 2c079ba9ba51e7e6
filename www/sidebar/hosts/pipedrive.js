// Pipedrive custom panel: the sidebar page itself is the panel iframe, so shell and core run in this
// window and this adapter turns @pipedrive/app-extensions-sdk into a HostConnection (./connection.js).
//
// What Pipedrive gives a panel (docs/crm-hosts.md §4):
// - the URL query: `id` (the extension instance; the SDK needs it), `selectedIds` (the deal), `theme`,
//   and per Pipedrive's docs `userId`/`companyId` — all unsigned, so only used as hints;
// - `get_signed_token`: a 5-minute JWT signed by Pipedrive with the app's secret, carrying `userId` and
//   `companyId`. The relay verifies it and binds it to the deal named in the request path;
// - `resize` (panel height 100–750 px), `show_snackbar`, and the `visibility` and
//   `user_settings_change` events. No record data at all: the adapter hands the core only the deal id,
//   and the core reads the deal from the relay (`GET {relayUrl}/api/{env}/deals/{dealId}`), which reads
//   it with the company's Pipedrive credentials.
//
// Loading the SDK: the package ships CommonJS and a UMD build, no ES module. Loaded as a module script, the
// UMD build (`@pipedrive/app-extensions-sdk/dist/index.umd.js`) defines `globalThis.AppExtensionsSDK`;
// connect() imports it from `sdkUrl` (default: `../vendor/pipedrive-app-extensions-sdk.js` next to the
// sidebar page's scripts, where the build copies it) unless the page already loaded it, or the caller
// passes `SDK` (the class) or an already initialised `sdk`.
//
// The SDK itself posts to the parent with target "*" and reads replies only from the MessagePort it
// transferred, so no window-level message reaches this code. On top of that this adapter refuses to
// start when the embedding page's origin is known and is not Pipedrive's.

import { originAllowed } from "../protocol.js";
import { parentOrigin, safeHttpsUrl } from "./connection.js";

/**
 * @typedef {import("../shell-types.js").Fields} Fields
 * @typedef {import("./vendor-globals.js").PipedriveSdk} PipedriveSdk
 * @typedef {import("./vendor-globals.js").PipedriveSdkClass} PipedriveSdkClass
 */

export const PIPEDRIVE_ORIGINS = ["https://*.pipedrive.com"];
const MIN_HEIGHT = 100;
const MAX_HEIGHT = 750;
const RECORD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @param {string} code
 * @param {string} message
 */
function hostError(code, message) {
  return Object.assign(new Error(message), { code });
}

/**
 * The claims of a JWT, decoded but NOT verified (only the relay verifies); null when unreadable.
 * @param {unknown} token
 * @returns {Fields | null}
 */
export function tokenClaims(token) {
  try {
    const part = String(token).split(".")[1];
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/**
 * The deal id from `selectedIds` (one id; Pipedrive sends a comma-separated list on list views).
 * @param {string} search
 * @returns {string}
 */
export function dealIdFrom(search) {
  const ids = (new URLSearchParams(search).get("selectedIds") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (ids.length !== 1 || !RECORD_ID.test(ids[0])) {
    throw hostError("BAD_REQUEST", "the panel URL does not name exactly one deal (selectedIds)");
  }
  return ids[0];
}

/**
 * Fire-and-forget host commands: a failed resize or snackbar must not break the sidebar.
 * @param {() => unknown} command
 */
function quietly(command) {
  Promise.resolve().then(command).catch(() => {});
}

/**
 * @param {unknown} token
 * @returns {import("../shell-types.js").Session & { claims: Fields }}
 */
function session(token) {
  if (typeof token !== "string" || token.split(".").length !== 3) {
    throw hostError("HOST_ERROR", "Pipedrive did not return a signed token");
  }
  const claims = tokenClaims(token) ?? {};
  const expiresAt = Number.isFinite(claims.exp) ? /** @type {number} */ (claims.exp) : Math.floor(Date.now() / 1000) + 300;
  return { token, expiresAt, claims };
}

export const DEFAULT_SDK_URL = new URL("../vendor/pipedrive-app-extensions-sdk.js", import.meta.url).href;

/**
 * @param {object} [options]
 * @param {string | null} [options.env] "uat" or "production" (checked here)
 * @param {string} [options.relayUrl] the relay's https origin (the sandbox's loopback URL in tests)
 * @param {Window} [options.win]
 * @param {PipedriveSdk} [options.sdk] an initialised AppExtensionsSDK instance
 * @param {PipedriveSdkClass} [options.SDK] the AppExtensionsSDK class (default: win.AppExtensionsSDK, the UMD build)
 * @param {string} [options.sdkUrl] where to import the UMD build from when it is not loaded yet
 * @param {readonly string[]} [options.allowedOrigins] origins the panel may be embedded by
 * @returns {Promise<import("../shell-types.js").HostConnection>}
 */
export async function connect({
  env, relayUrl, win = window, sdk, SDK, sdkUrl = DEFAULT_SDK_URL, allowedOrigins = PIPEDRIVE_ORIGINS,
} = {}) {
  const parent = parentOrigin(win);
  if (parent && !originAllowed(parent, allowedOrigins)) {
    throw hostError("DENIED", `the panel is embedded by ${parent}, not by Pipedrive`);
  }
  const relay = safeHttpsUrl(relayUrl) ?? (/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(String(relayUrl)) ? String(relayUrl) : null);
  if (!relay || !/^(uat|production)$/.test(String(env))) {
    throw hostError("BAD_REQUEST", "connect needs env (uat|production) and an https relayUrl");
  }
  const relayBase = relay.replace(/\/+$/, "");
  const dealId = dealIdFrom(win.location.search);

  if (!sdk) {
    let Sdk = SDK ?? win.AppExtensionsSDK;
    if (typeof Sdk !== "function" && sdkUrl) {
      try {
        await import(sdkUrl);
      } catch {
        // reported below
      }
      Sdk = win.AppExtensionsSDK ?? globalThis.AppExtensionsSDK;
    }
    if (typeof Sdk !== "function") {
      throw hostError("NO_HOST", "the Pipedrive SDK is not loaded (load @pipedrive/app-extensions-sdk's UMD build first)");
    }
    const identifier = new URLSearchParams(win.location.search).get("id");
    if (!identifier) throw hostError("NO_HOST", "the panel URL has no Pipedrive extension id");
    sdk = await new Sdk({ identifier, targetWindow: win.parent }).initialize({ size: { height: MIN_HEIGHT } });
  }

  const first = session((await sdk.execute("get_signed_token"))?.token);
  async function refreshSession() {
    // sdk is set above, before this can run (tsc cannot see that into a hoisted function).
    const next = session((await /** @type {PipedriveSdk} */ (sdk).execute("get_signed_token"))?.token);
    return { token: next.token, expiresAt: next.expiresAt };
  }

  const claims = first.claims;
  const tenant = claims.companyId != null ? String(claims.companyId) : new URLSearchParams(win.location.search).get("companyId") ?? "";
  /** @type {Map<string, import("../shell-types.js").HostEventHandler[]>} */
  const handlers = new Map();
  /** @type {(type: string, payload: Fields) => void} */
  const emit = (type, payload) => (handlers.get(type) ?? []).forEach((handler) => handler(payload));

  let hidden = false;
  sdk.listen("visibility", ({ error, data } = {}) => {
    if (error || !data) return;
    const visible = Boolean(data.is_visible);
    emit("visibility", { visible });
    // Pipedrive has no record-changed event: shown again after being hidden, the deal may have
    // changed meanwhile, so the core reads it again.
    if (visible && hidden) emit("record.changed", { id: dealId });
    hidden = !visible;
  });
  sdk.listen("user_settings_change", ({ error, data } = {}) => {
    if (error || !data) return;
    emit("theme.changed", { theme: data.theme === "dark" ? "dark" : "light" });
  });

  return {
    context: {
      protocol: 1,
      host: "pipedrive",
      environment: /** @type {import("../shell-types.js").HostContext["environment"]} */ (env), // checked above
      relayUrl: relayBase,
      tenant,
      // Only the id: Pipedrive gives a panel no record data, and the core reads the deal itself.
      deal: { id: dealId, name: null },
      user: claims.userId != null ? { id: String(claims.userId) } : undefined,
      theme: sdk.userSettings?.theme === "dark" ? "dark" : "light",
      session: { token: first.token, expiresAt: first.expiresAt },
    },
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, []);
      /** @type {import("../shell-types.js").HostEventHandler[]} */ (handlers.get(type)).push(handler);
    },
    refreshSession,
    resize(height) {
      if (!Number.isFinite(height)) return;
      const clamped = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.round(height)));
      quietly(() => sdk.execute("resize", { height: clamped }));
    },
    toast(level, message) {
      // Pipedrive's snackbar has no levels; the message carries the meaning.
      quietly(() => sdk.execute("show_snackbar", { message: String(message ?? "") }));
    },
    openUrl(url) {
      const safe = safeHttpsUrl(url);
      if (safe) win.open(safe, "_blank", "noopener");
    },
  };
}
