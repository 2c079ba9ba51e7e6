// sdx/1: the messages between a CRM host and the sidebar (docs/crm-hosts.md §6, as
// implemented here). Shared by the sidebar page (child) and every host page that embeds it (parent).
//
// Envelope: { sdx: 1, kind: "req" | "res" | "evt", id?, type?, ok?, payload?, error? }
//
// Handshake (postMessage hosts: demo page, Salesforce LWC):
//   1. sidebar iframe → parent, to "*": { sdx:1, kind:"evt", type:"hello", payload:{ versions:[1], page } }
//      (the only message ever sent to "*"; it carries nothing sensitive; `page` is a random id per page load)
//   2. parent checks event.source === iframe.contentWindow and event.origin === the sidebar's origin,
//      creates a MessageChannel and posts { kind:"req", id, type:"init", payload: HostContext } to that
//      exact origin, transferring port2; a repeated hello of the page it answered is ignored.
//      A parent that creates the frame before it listens posts { kind:"evt", type:"host.ready" } to the
//      frame (to the sidebar's exact origin) when it starts listening; the sidebar then says hello again
//      (checked as in 3, at most 3 times), as its first hello may have reached nobody.
//   3. the sidebar checks event.source === window.parent and event.origin ∈ its allowed host origins,
//      answers { kind:"res", id, ok:true } on the port; everything after that uses the port.
//
// HostContext (init payload):
//   { protocol: 1, host: "demo"|"hubspot"|"salesforce"|"zoho"|"pipedrive", environment: "uat"|"production",
//     relayUrl, tenant: string, deal: { id, name? } (a first render only: the core reads the deal from
//     the CRM through the relay), user?: { id, email, locale },
//     theme: "light"|"dark", session: { token, expiresAt } }
//
// Sidebar → host requests: "session.refresh" → { token, expiresAt }; "ui.toast" { level, message };
//   "ui.openUrl" { url } (https only); "record.refresh" {}.
// Sidebar → host events: "ui.resize" { height }.
// Host → sidebar events: "record.changed" { id? } (the core reads the deal again); "visibility" { visible }; "theme.changed" { theme }.
//
// Typed (JSDoc; the types in ./shell-types.d.ts) and checked by tsc -p tests/ts/tsconfig.shell.json.

/**
 * @typedef {import("./shell-types.js").Fields} Fields
 * @typedef {import("./shell-types.js").Received} Received
 * @typedef {import("./shell-types.js").Envelope} Envelope
 * @typedef {import("./shell-types.js").RequestHandler} RequestHandler
 * @typedef {import("./shell-types.js").EventHandler} EventHandler
 */

export const PROTOCOL = 1;
export const REQUEST_TIMEOUT_MS = 12_000;
const MAX_MESSAGE_BYTES = 900 * 1024;

/**
 * Logs one dropped message (a line per drop, at most 20 per page so a flood cannot fill the console).
 * Only what the message was, never its payload (it may carry a session token).
 */
let droppedLogged = 0;
/**
 * @param {string} where
 * @param {Received} data
 */
export function logDropped(where, data) {
  if (droppedLogged >= 20) return;
  droppedLogged += 1;
  const shape = data && typeof data === "object" ? `kind=${String(data.kind).slice(0, 16)} type=${String(data.type).slice(0, 64)}` : typeof data;
  console.warn(`sdx/1: dropped a malformed message on the ${where} (${shape})`);
}

/**
 * Whether `data` is a well-formed sdx/1 envelope; anything else is ignored by both sides.
 * @param {Received} data
 * @returns {data is Envelope}
 */
export function isEnvelope(data) {
  if (!data || typeof data !== "object" || data.sdx !== PROTOCOL) return false;
  if (!/** @type {unknown[]} */ (["req", "res", "evt"]).includes(data.kind)) return false;
  if (data.kind !== "res" && (typeof data.type !== "string" || data.type.length > 64)) return false;
  if (data.kind !== "evt" && (typeof data.id !== "string" || data.id.length > 64)) return false;
  try {
    return JSON.stringify(data).length <= MAX_MESSAGE_BYTES;
  } catch {
    return false;
  }
}

/**
 * Request/response and events over a MessagePort (or anything with postMessage + onmessage).
 * `prefix` marks ids this side generates ("c-" sidebar, "s-" shell/host).
 */
export class Channel {
  /**
   * @param {MessagePort} port
   * @param {string} prefix
   * @param {{ onRequest?: RequestHandler, onEvent?: EventHandler }} [handlers]
   */
  constructor(port, prefix, { onRequest = async () => { throw new Error("UNSUPPORTED"); }, onEvent = () => {} } = {}) {
    this.port = port;
    this.prefix = prefix;
    this.next = 1;
    /** @type {Map<string, { resolve: (payload: Fields) => void, reject: (error: Error) => void, timer: ReturnType<typeof setTimeout> }>} */
    this.pending = new Map();
    this.onRequest = onRequest;
    this.onEvent = onEvent;
    port.onmessage = (event) => this.receive(event.data);
  }

  /** @param {Received} data */
  receive(data) {
    if (!isEnvelope(data)) {
      logDropped("port", data);
      return;
    }
    if (data.kind === "res") {
      const waiting = this.pending.get(data.id);
      if (!waiting) return;
      this.pending.delete(data.id);
      clearTimeout(waiting.timer);
      if (data.ok) waiting.resolve(data.payload ?? {});
      else waiting.reject(Object.assign(new Error(String(data.error?.message ?? "host error")), { code: data.error?.code ?? "HOST_ERROR" }));
    } else if (data.kind === "req") {
      Promise.resolve()
        .then(() => this.onRequest(data.type, data.payload ?? {}))
        .then(
          (payload) => this.port.postMessage({ sdx: PROTOCOL, kind: "res", id: data.id, ok: true, payload }),
          (/** @type {{ code?: unknown, message?: unknown } | null | undefined} */ error) => this.port.postMessage({
            sdx: PROTOCOL, kind: "res", id: data.id, ok: false,
            error: { code: error?.code ?? "HOST_ERROR", message: String(error?.message ?? error), retryable: false },
          }),
        );
    } else {
      this.onEvent(data.type, data.payload ?? {});
    }
  }

  /**
   * @param {string} type
   * @param {Fields} [payload]
   * @param {number} [timeoutMs]
   * @returns {Promise<Fields>} the answer's payload (unchecked)
   */
  request(type, payload = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
    const id = `${this.prefix}${this.next++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error(`${type} timed out`), { code: "HOST_TIMEOUT" }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.port.postMessage({ sdx: PROTOCOL, kind: "req", id, type, payload });
    });
  }

  /**
   * @param {string} type
   * @param {Fields} [payload]
   */
  event(type, payload = {}) {
    this.port.postMessage({ sdx: PROTOCOL, kind: "evt", type, payload });
  }
}

/**
 * How many more times the sidebar says hello when its host says it started listening late
 * (`host.ready`): a host page may create the frame before its own scripts load, so the first hello can
 * reach nobody. Bounded so that a host repeating itself cannot make the sidebar post without end.
 */
export const MAX_HELLO_REPEATS = 3;

/** A random id for one page load, named by each of its hellos, so a host answers that page once. */
export function newPageId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The sidebar's hello (step 1), the one message posted to "*": it carries nothing sensitive.
 * @param {string} page
 */
export function helloMessage(page) {
  return { sdx: PROTOCOL, kind: "evt", type: "hello", payload: { versions: [PROTOCOL], page } };
}

/**
 * "https://app.hubspot.com" or a pattern with one leading "*." ("https://*.lightning.force.com").
 * @param {string} origin
 * @param {readonly string[]} allowed
 * @returns {boolean}
 */
export function originAllowed(origin, allowed) {
  return allowed.some((pattern) => {
    if (pattern === origin) return true;
    const match = pattern.match(/^(https?):\/\/\*\.(.+)$/);
    if (!match) return false;
    const [, scheme, suffix] = match;
    return origin.startsWith(`${scheme}://`) && origin.endsWith(`.${suffix}`) && !origin.slice(scheme.length + 3, -suffix.length - 1).includes("/");
  });
}
