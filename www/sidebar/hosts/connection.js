// The contract between the sidebar shell and a host adapter.
//
// Every adapter (hosts/*.js) resolves to a HostConnection; the shell uses nothing else of the host:
//
//   interface HostConnection {
//     context: HostContext                       // see ../protocol.js; context.deal is { id, name? }:
//                                                // the core reads the deal itself from the CRM
//     on(type: "record.changed" | "visibility" | "theme.changed", handler: (payload) => void): void
//     refreshSession(): Promise<{ token: string, expiresAt: number }>   // unix seconds
//     resize(height: number): void
//     toast(level: "info" | "success" | "error", message: string): void
//     openUrl(url: string): void                 // https only; adapters refuse anything else
//   }
//
// In-process hosts (Zoho widget, Pipedrive panel) build it from their SDK; iframe hosts (the demo
// page, Salesforce) build it over sdx/1 with `connectToParent`.

import { Channel, MAX_HELLO_REPEATS, PROTOCOL, helloMessage, isEnvelope, logDropped, newPageId, originAllowed } from "../protocol.js";

/**
 * The interface above as tsc checks it, and what it uses (../shell-types.d.ts).
 * @typedef {import("../shell-types.js").EarlyStart} EarlyStart
 * @typedef {import("../shell-types.js").HostConnection} HostConnection
 * @typedef {import("../shell-types.js").HostContext} HostContext
 * @typedef {import("../shell-types.js").HostEventHandler} HostEventHandler
 * @typedef {import("../shell-types.js").Fields} Fields
 */

/**
 * The origin of the page embedding `win`, when the browser tells (Chromium: ancestorOrigins), else
 * the referrer's. Host adapters whose SDK gives no origin check it against their CRM's origins.
 * @param {Window} win
 * @returns {string | null}
 */
export function parentOrigin(win) {
  const ancestors = win.location?.ancestorOrigins;
  if (ancestors && ancestors.length > 0) return ancestors[0];
  try {
    return win.document?.referrer ? new URL(win.document.referrer).origin : null;
  } catch {
    return null;
  }
}

/**
 * The URL, normalised, when it is an https URL; else null.
 * @param {unknown} url
 * @returns {string | null}
 */
export function safeHttpsUrl(url) {
  try {
    const parsed = new URL(/** @type {string} */ (url)); // anything else is converted, or throws
    return parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

class Listeners {
  constructor() {
    /** @type {Map<string, HostEventHandler[]>} */
    this.handlers = new Map();
  }
  /**
   * @param {string} type
   * @param {HostEventHandler} handler
   */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    /** @type {HostEventHandler[]} */ (this.handlers.get(type)).push(handler);
  }
  /**
   * @param {string} type
   * @param {Fields} payload
   */
  emit(type, payload) {
    for (const handler of this.handlers.get(type) ?? []) handler(payload);
  }
}

/**
 * Waits for the parent's init over sdx/1. Messages from any window but the parent, from origins not
 * in `allowedOrigins`, or not shaped as sdx/1 are ignored.
 * When the page's early script (index.html) already said hello, its page id is kept and the
 * messages it kept are read first, with the same checks as any other.
 * @param {{ allowedOrigins: readonly string[], timeoutMs?: number, win?: Window & { sdxEarly?: EarlyStart } }} options
 * @returns {Promise<HostConnection & { origin: string }>}
 */
export function connectToParent({ allowedOrigins, timeoutMs = 15_000, win = window }) {
  return new Promise((resolve, reject) => {
    if (win.parent === win) {
      reject(Object.assign(new Error("the sidebar must be embedded by a CRM host"), { code: "NO_HOST" }));
      return;
    }
    const timer = setTimeout(() => {
      win.removeEventListener("message", onMessage);
      // Nor does the early start answer a host that turns up now: the page has given up on it.
      if (win.sdxEarly?.listener) win.removeEventListener("message", win.sdxEarly.listener);
      reject(Object.assign(new Error("the CRM host did not answer"), { code: "HOST_TIMEOUT" }));
    }, timeoutMs);
    /** @param {MessageEvent<import("../shell-types.js").Received>} event */
    function onMessage(event) {
      // Only the embedding window itself, on an allowed origin: a sibling or child frame, another
      // tab or a page the frame was moved into is not the host, whatever its origin.
      if (event.source !== win.parent || !originAllowed(event.origin, allowedOrigins)) return;
      const data = event.data;
      if (isEnvelope(data) && data.kind === "evt" && data.type === "host.ready") {
        // The early start answers, at once, each host.ready it could check (on its allowed origins);
        // this answers the rest. One bound for both.
        if (!early?.answered.has(event) && hellos.hellosRepeated < MAX_HELLO_REPEATS) {
          hellos.hellosRepeated += 1;
          sayHello();
        }
        return;
      }
      if (!isEnvelope(data) || data.kind !== "req" || data.type !== "init" || !event.ports?.[0]) {
        logDropped("window", data);
        return;
      }
      // Checked here for what the shell needs; SdxSidebar checks environment, relayUrl, token and deal
      // again (their declared types are the core's), and refuses a malformed context.
      const context = /** @type {HostContext | null | undefined} */ (data.payload);
      if (!context || context.protocol !== PROTOCOL || !context.deal || !context.session?.token || !context.relayUrl) {
        logDropped("window", data);
        return;
      }
      win.removeEventListener("message", onMessage);
      if (early?.listener) win.removeEventListener("message", early.listener);
      clearTimeout(timer);
      connected = true;
      const listeners = new Listeners();
      const channel = new Channel(event.ports[0], "c-", { onEvent: (type, payload) => listeners.emit(type, payload) });
      channel.port.postMessage({ sdx: PROTOCOL, kind: "res", id: data.id, ok: true, payload: { accepted: true } });
      resolve({
        context,
        origin: event.origin,
        on: (type, handler) => listeners.on(type, handler),
        // The host's answer is checked like the init context: a token that is not text never reaches the core.
        refreshSession: () => channel.request("session.refresh").then((answer) => {
          if (typeof answer.token !== "string") {
            throw Object.assign(new Error("the CRM host answered session.refresh without a token"), { code: "HOST_ERROR" });
          }
          return { token: answer.token, expiresAt: Number(answer.expiresAt) };
        }),
        resize: (height) => channel.event("ui.resize", { height }),
        toast: (level, message) => channel.request("ui.toast", { level, message }).catch(() => {}),
        openUrl: (url) => {
          const safe = safeHttpsUrl(url);
          if (safe) channel.request("ui.openUrl", { url: safe }).catch(() => win.open(safe, "_blank", "noopener"));
        },
      });
    }
    // One id for every hello of this page, so a host that gets two (the first arriving late, and the
    // repeat it asked for) answers once.
    const early = win.sdxEarly?.hello ? win.sdxEarly : null;
    const page = early?.page || newPageId();
    const hellos = early ?? { hellosRepeated: 0 };
    let connected = false;
    const sayHello = () => win.parent.postMessage(helloMessage(page), "*");
    win.addEventListener("message", onMessage);
    if (early) {
      // The early start keeps listening until the init is accepted: registered first, it sees the
      // init first and starts the first-view request before this module's own work.
      // What arrived before this module ran: an init among it first, which connects at once (a
      // host.ready kept from before that init must not ask for a hello it has already answered),
      // then the rest in order.
      const kept = early.messages.splice(0);
      const isInit = (/** @type {MessageEvent} */ event) => isEnvelope(event.data) && event.data.kind === "req" && event.data.type === "init";
      for (const event of [...kept.filter(isInit), ...kept.filter((event) => !isInit(event))]) if (!connected) onMessage(event);
    } else {
      sayHello();
    }
  });
}
