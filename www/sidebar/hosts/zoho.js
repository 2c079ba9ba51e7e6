// Zoho CRM widget: the sidebar page is the widget (a related-list or button widget on the Deals module),
// so shell and core run in this window and this adapter turns Zoho's embedded-app SDK (the global
// `ZOHO`, from the page's <script> tag for Zoho's SDK) into a HostConnection (./connection.js).
//
// Loading the SDK: Zoho publishes it as a classic script that defines `window.ZOHO` (on its CDN and in
// its embeddedApp-js-sdk releases). The sidebar page loads no third-party script, so the file is served
// from the sidebar's own origin: whoever deploys the widget puts Zoho's released
// `ZohoEmbededAppSDK.min.js` at `vendor/zoho-embedded-app-sdk.js` beside the page (as a Zoho-hosted
// widget bundles it too). connect() adds a <script> for `sdkUrl` (default: that file) when the page
// has not loaded it; the page's CSP (script-src 'self') refuses any other origin. Tests pass `zoho`.
//
// What Zoho gives a widget (docs/crm-hosts.md §3):
// - `ZOHO.embeddedApp.on("PageLoad", data)` registered before `ZOHO.embeddedApp.init()`: `data.Entity`
//   ("Deals") and `data.EntityId` (a string on a related list, an array on a button);
// - `ZOHO.CRM.API.getRecord({ Entity, RecordID })` → `{ data: [record] }`: not used. The adapter hands
//   the core only the deal id; the core reads the deal (with its account and contact) from the relay,
//   which reads Zoho CRM with the org's own credentials and maps it in Rust, like every host's;
// - `ContextUpdate`: the record changed, so the core reads the deal again;
// - `ZOHO.CRM.UI.Resize({ height, width })`;
// - `ZOHO.CRM.FUNCTIONS.execute(name, { arguments: "<json>" })` → `{ code: "success", details: { output } }`:
//   the relay session token is minted server-side by the Deluge function
//   `www/hosts/zoho/spotdraft_relay_token.deluge`, which holds the host secret; the widget never sees it.
// - no toast: the shell shows messages inline (toast() here only hands them to `onToast`, if given).
//
// The SDK talks to the CRM parent itself; this adapter receives no window messages. It also refuses to
// start when the embedding page's origin is known and is not one of Zoho CRM's.

import { originAllowed } from "../protocol.js";
import { parentOrigin, safeHttpsUrl } from "./connection.js";

/**
 * @typedef {import("../shell-types.js").Fields} Fields
 * @typedef {import("../shell-types.js").HostEventHandler} HostEventHandler
 * @typedef {import("./vendor-globals.js").ZohoSdk} ZohoSdk
 * @typedef {import("./vendor-globals.js").ZohoPageLoad} ZohoPageLoad
 */

export const ZOHO_ORIGINS = [
  "https://crm.zoho.com", "https://crm.zoho.eu", "https://crm.zoho.in", "https://crm.zoho.com.au",
  "https://crm.zoho.jp", "https://crm.zoho.com.cn", "https://crm.zohocloud.ca", "https://crm.zoho.sa",
  "https://crm.zoho.uk", "https://crmsandbox.zoho.com", "https://crmsandbox.zoho.eu", "https://crmsandbox.zoho.in",
  "https://crmsandbox.zoho.com.au",
];
export const TOKEN_FUNCTION = "spotdraft_relay_token";
export const ZOHO_SDK_URL = new URL("../vendor/zoho-embedded-app-sdk.js", import.meta.url).href;
const RECORD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @param {string} code
 * @param {string} message
 */
function hostError(code, message) {
  return Object.assign(new Error(message), { code });
}

/**
 * Zoho answers are sometimes JSON text, sometimes already parsed.
 * @param {unknown} value
 * @returns {unknown}
 */
function parsed(value) {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * @param {unknown} value
 * @returns {string | undefined}
 */
function text(value) {
  if (value === null || value === undefined) return undefined;
  const s = String(value).trim();
  return s === "" ? undefined : s;
}

/**
 * Drops undefined/null/empty members.
 * @template {Record<string, unknown>} T
 * @param {T} object
 * @returns {{ [K in keyof T]?: NonNullable<T[K]> }}
 */
function compact(object) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined || value === null || value === "") continue;
    out[key] = value;
  }
  return /** @type {{ [K in keyof T]?: NonNullable<T[K]> }} */ (out);
}

/**
 * Adds a classic <script> for Zoho's SDK and waits for it; resolves to win.ZOHO or undefined.
 * @param {Window} win
 * @param {string} url
 * @returns {Promise<ZohoSdk | undefined>}
 */
function loadSdk(win, url) {
  return new Promise((resolve) => {
    const document = win.document;
    if (!document?.createElement || !url) {
      resolve(undefined);
      return;
    }
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.onload = () => resolve(win.ZOHO);
    script.onerror = () => resolve(undefined);
    (document.head ?? document.documentElement ?? document.body).appendChild(script);
  });
}

/**
 * @param {object} [options]
 * @param {string | null} [options.env] "uat" or "production" (checked here)
 * @param {string} [options.relayUrl]
 * @param {Window} [options.win]
 * @param {ZohoSdk} [options.zoho] the SDK (default: win.ZOHO, else loaded from sdkUrl)
 * @param {string} [options.sdkUrl] Zoho's SDK script (default: vendor/zoho-embedded-app-sdk.js on the page's origin)
 * @param {string} [options.functionName] the Deluge function minting the relay token
 * @param {(level: string, message: string) => void} [options.onToast] where toasts go (Zoho has none)
 * @param {readonly string[]} [options.allowedOrigins]
 * @param {number} [options.timeoutMs] how long to wait for PageLoad
 * @returns {Promise<import("../shell-types.js").HostConnection>}
 */
export async function connect({
  env, relayUrl, win = window, zoho = win.ZOHO, sdkUrl = ZOHO_SDK_URL, functionName = TOKEN_FUNCTION, onToast = () => {},
  allowedOrigins = ZOHO_ORIGINS, timeoutMs = 15_000,
} = {}) {
  const parent = parentOrigin(win);
  if (parent && !originAllowed(parent, allowedOrigins)) {
    throw hostError("DENIED", `the widget is embedded by ${parent}, not by Zoho CRM`);
  }
  const relay = safeHttpsUrl(relayUrl) ?? (/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(String(relayUrl)) ? String(relayUrl) : null);
  if (!relay || !/^(uat|production)$/.test(String(env))) {
    throw hostError("BAD_REQUEST", "connect needs env (uat|production) and an https relayUrl");
  }
  if (!zoho) zoho = await loadSdk(win, sdkUrl);
  if (!zoho?.embeddedApp?.on || !zoho?.CRM?.FUNCTIONS?.execute) {
    throw hostError("NO_HOST", "Zoho's embedded-app SDK is not loaded: it must be served beside the sidebar page as vendor/zoho-embedded-app-sdk.js");
  }

  /** @type {Map<string, HostEventHandler[]>} */
  const handlers = new Map();
  /** @type {(type: string, payload: Fields) => void} */
  const emit = (type, payload) => (handlers.get(type) ?? []).forEach((handler) => handler(payload));

  // PageLoad must be registered before init().
  /** @type {ZohoPageLoad | undefined} */
  const page = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(hostError("HOST_TIMEOUT", "Zoho CRM did not send PageLoad")), timeoutMs);
    zoho.embeddedApp.on("PageLoad", (data) => {
      clearTimeout(timer);
      resolve(data);
    });
    Promise.resolve(zoho.embeddedApp.init()).catch((/** @type {{ message?: unknown } | null | undefined} */ error) => {
      clearTimeout(timer);
      reject(hostError("NO_HOST", `Zoho's SDK did not start: ${error?.message ?? error}`));
    });
  });
  if (page?.Entity !== "Deals") {
    throw hostError("UNSUPPORTED", "the SpotDraft widget works on Deals records");
  }
  const ids = Array.isArray(page.EntityId) ? page.EntityId : [page.EntityId];
  const dealId = ids.length === 1 ? String(ids[0] ?? "") : "";
  if (!RECORD_ID.test(dealId)) throw hostError("BAD_REQUEST", "Zoho did not name exactly one deal");

  async function refreshSession() {
    let answer;
    try {
      // zoho is checked above, before this can run (tsc cannot see that into a hoisted function).
      answer = /** @type {import("./vendor-globals.js").ZohoFunctionAnswer | null | undefined} */ (
        parsed(await /** @type {ZohoSdk} */ (zoho).CRM.FUNCTIONS.execute(functionName, { arguments: JSON.stringify({ deal_id: dealId }) })));
    } catch (error) {
      // Whatever Zoho's SDK rejected with: an Error, an object with a message, or neither.
      throw hostError("HOST_ERROR", `the ${functionName} function failed: ${/** @type {{ message?: unknown } | null | undefined} */ (error)?.message ?? "unknown error"}`);
    }
    const output = answer?.code === "success"
      ? /** @type {import("./vendor-globals.js").ZohoSessionOutput | null | undefined} */ (parsed(answer?.details?.output))
      : null;
    if (!output || typeof output.token !== "string" || !Number.isFinite(output.expiresAt)) {
      throw hostError("DENIED", String(output?.error ?? `the ${functionName} function did not return a session`));
    }
    return { token: output.token, expiresAt: /** @type {number} */ (output.expiresAt), tenant: text(output.tenant) };
  }

  const session = await refreshSession();
  /** @type {import("../shell-types.js").HostContext["user"]} */
  let user;
  try {
    const me = /** @type {import("./vendor-globals.js").ZohoUsersAnswer | null | undefined} */ (
      parsed(await zoho.CRM.CONFIG?.getCurrentUser?.()))?.users?.[0];
    if (me) user = compact({ id: text(me.id), email: text(me.email), locale: text(me.locale) });
  } catch {
    user = undefined;
  }

  // The record changed in Zoho CRM: the core reads the deal (and the contracts) again.
  zoho.embeddedApp.on("ContextUpdate", () => emit("record.changed", { id: dealId }));

  // Zoho sends no visibility events; the widget document's own visibility stands in.
  win.document?.addEventListener?.("visibilitychange", () => {
    emit("visibility", { visible: win.document.visibilityState !== "hidden" });
  });

  return {
    context: {
      protocol: 1,
      host: "zoho",
      environment: /** @type {import("../shell-types.js").HostContext["environment"]} */ (env), // checked above
      relayUrl: relay.replace(/\/+$/, ""),
      tenant: session.tenant ?? "",
      // Only the id: the core reads the deal from the CRM through the relay.
      deal: { id: dealId },
      user,
      theme: "light",
      session: { token: session.token, expiresAt: session.expiresAt },
    },
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, []);
      /** @type {HostEventHandler[]} */ (handlers.get(type)).push(handler);
    },
    async refreshSession() {
      const { token, expiresAt } = await refreshSession();
      return { token, expiresAt };
    },
    resize(height) {
      if (!Number.isFinite(height) || height <= 0) return;
      Promise.resolve()
        .then(() => zoho.CRM.UI.Resize({ height: Math.round(height), width: Math.round(win.innerWidth || 0) || undefined }))
        .catch(() => {});
    },
    toast(level, message) {
      onToast(level, String(message ?? ""));
    },
    openUrl(url) {
      const safe = safeHttpsUrl(url);
      if (safe) win.open(safe, "_blank", "noopener");
    },
  };
}
