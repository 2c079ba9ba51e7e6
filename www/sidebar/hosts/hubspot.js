// The sidebar inside HubSpot's iframe modal, opened by the app card (www/hosts/hubspot). The modal
// gets nothing from HubSpot but its URL: the deal id and environment in the query, and a session
// token the relay minted for this deal in the fragment (never sent to a server, removed from the
// address bar at once). The adapter hands the core only the deal id; the core reads the deal itself
// through the relay, with that session.
import { safeHttpsUrl } from "./connection.js";

/**
 * @param {string} code
 * @param {string} message
 */
function hostError(code, message) {
  return Object.assign(new Error(message), { code });
}

/**
 * @param {object} options
 * @param {string | null} [options.env] "uat" or "production" (checked here)
 * @param {string} [options.relayUrl] the relay's origin (from the page's config.json)
 * @param {Window} [options.win]
 * @returns {Promise<import("../shell-types.js").HostConnection>}
 */
export function connect({ env, relayUrl, win = window }) {
  const query = new URLSearchParams(win.location.search);
  const fragment = new URLSearchParams(win.location.hash.replace(/^#/, ""));
  const dealId = query.get("dealId") ?? "";
  const token = fragment.get("token");
  const expiresAt = Number(fragment.get("expiresAt") ?? 0);
  win.history.replaceState(null, "", `${win.location.pathname}${win.location.search}`);
  const relay = String(relayUrl ?? "").replace(/\/+$/, "");
  if (!/** @type {unknown[]} */ (["uat", "production"]).includes(env) || !/^[A-Za-z0-9_-]{1,64}$/.test(dealId) || !token || !relay) {
    return Promise.reject(hostError("BAD_REQUEST", "open the sidebar from the SpotDraft card on a HubSpot deal"));
  }
  return Promise.resolve({
    context: {
      protocol: 1, host: "hubspot", environment: /** @type {import("../shell-types.js").HostContext["environment"]} */ (env), relayUrl: relay, tenant: query.get("portalId") ?? "", deal: { id: dealId, name: null },
      theme: win.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light",
      session: { token, expiresAt },
    },
    on: () => {},
    // The modal has no way back to the card: a new session means reopening it.
    refreshSession: () => Promise.reject(hostError("UNSUPPORTED", "reopen the sidebar from the card")),
    resize: () => {},
    toast: () => {},
    openUrl: (url) => {
      const safe = safeHttpsUrl(url) ?? (/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url) ? url : null);
      if (safe) win.open(safe, "_blank", "noopener");
    },
  });
}
