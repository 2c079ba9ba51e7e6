// The host page's half of sdx/1: embed the sidebar iframe, answer its hello with init over a
// MessageChannel, serve its requests and forward record/visibility/theme events. Used by the demo
// CRM page; the Salesforce LWC implements the same steps inside Lightning.

import { Channel, PROTOCOL, isEnvelope } from "../protocol.js";

/**
 * @typedef {import("../shell-types.js").Fields} Fields
 * @typedef {import("../shell-types.js").HostContext} HostContext
 */

/**
 * @param {object} options
 * @param {HTMLIFrameElement} options.iframe the sidebar iframe (src on the sidebar's own origin)
 * @param {string} options.sidebarOrigin its exact origin; hello from anywhere else is ignored
 * @param {() => Promise<Omit<HostContext, "protocol">>} options.context builds the HostContext (deal, fresh session token, …)
 * @param {{ refreshSession: () => unknown, toast?: (level: unknown, message: string) => unknown, openUrl?: (url: string) => unknown,
 *   resize?: (height: number) => unknown, refreshRecord?: () => unknown }} options.handlers each answers the sidebar's
 *   request of that name (its result, or what its promise resolves to, is the answer's payload)
 * @param {Window} [options.win]
 */
export function embedSidebar({ iframe, sidebarOrigin, context, handlers, win = window }) {
  /** @type {Channel | null} */
  let channel = null;
  // The sidebar page answered last: its repeated hello (see below) must not start a second channel.
  /** @type {unknown} */
  let answeredPage;
  /** @param {MessageEvent<import("../shell-types.js").Received>} event */
  async function onMessage(event) {
    if (event.source !== iframe.contentWindow || event.origin !== sidebarOrigin) return;
    const data = event.data;
    if (!isEnvelope(data) || data.kind !== "evt" || data.type !== "hello") return;
    const page = data.payload?.page;
    if (typeof page === "string" && page === answeredPage) return;
    answeredPage = page;
    const { port1, port2 } = new MessageChannel();
    channel = new Channel(port1, "s-", {
      onRequest: async (type, payload) => {
        switch (type) {
          case "session.refresh": return handlers.refreshSession();
          case "ui.toast": return handlers.toast?.(payload.level, String(payload.message ?? "")) ?? {};
          case "ui.openUrl": {
            const url = new URL(String(payload.url));
            if (url.protocol !== "https:") throw Object.assign(new Error("only https links open"), { code: "DENIED" });
            win.open(url.href, "_blank", "noopener");
            return {};
          }
          case "record.refresh": return handlers.refreshRecord?.() ?? {};
          default: throw Object.assign(new Error(`${type} is not supported`), { code: "UNSUPPORTED" });
        }
      },
      onEvent: (type, payload) => {
        if (type === "ui.resize" && Number.isFinite(payload.height)) handlers.resize?.(/** @type {number} */ (payload.height));
      },
    });
    /** @type {HostContext} */
    const payload = { protocol: PROTOCOL, ...(await context()) };
    // The iframe may have been removed while the context was built: then there is no one to init.
    iframe.contentWindow?.postMessage({ sdx: PROTOCOL, kind: "req", id: "s-init", type: "init", payload }, sidebarOrigin, [port2]);
  }
  win.addEventListener("message", onMessage);
  // The frame may have loaded, and said hello to nobody, before this ran (host pages create it before
  // their scripts load, so it downloads meanwhile): asking it to say hello again costs nothing if it
  // has not. Posted to the sidebar's exact origin only, so another page in the frame never sees it.
  iframe.contentWindow?.postMessage({ sdx: PROTOCOL, kind: "evt", type: "host.ready", payload: {} }, sidebarOrigin);
  return {
    /**
     * An event to the sidebar ("record.changed", "visibility", "theme.changed"), once it is connected.
     * @param {string} type
     * @param {Fields} [payload]
     */
    send(type, payload) {
      channel?.event(type, payload);
    },
    close() {
      win.removeEventListener("message", onMessage);
    },
  };
}
