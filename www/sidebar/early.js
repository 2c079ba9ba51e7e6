// The page's early start. The built index.html carries it inline (scripts/bundle-sidebar.mjs), so it
// runs while the page is parsed, before the page's module has downloaded, and starts what would
// otherwise wait for that module:
//   - the wasm's compile, streamed from the preloaded response;
//   - for hosts that speak sdx/1, the hello to the host, keeping what arrives for the module
//     (hosts/connection.js reads window.sdxEarly and checks every message again), and the hello
//     again when the host says it started listening after the first (`host.ready`);
//   - once that host's init has arrived, the sidebar's first-view request, so the relay is already
//     answering while the module and the wasm load. The core takes that answer only when it is
//     exactly the request it would make itself (wasm/src/fetch.rs), and nothing of it is trusted
//     before the core has read it.
// It only starts and keeps: nothing here renders or decides.
import { MAX_HELLO_REPEATS, PROTOCOL, helloMessage, isEnvelope, newPageId, originAllowed } from "./protocol.js";

/**
 * @typedef {import("./shell-types.js").EarlyStart} EarlyStart
 * @typedef {import("./shell-types.js").Received} Received
 */

// What the relay allows a call to take before it gives up, as the core's relay client has it.
const RELAY_TIMEOUT_MS = 20_000;
const KEPT_MESSAGES = 16;

/** @type {EarlyStart} */
const early = { messages: [], page: "", hello: false, hellosRepeated: 0, answered: new WeakSet(), initKept: false, wasm: null, firstView: null };
/** @type {Window & { sdxEarly?: EarlyStart }} */ (window).sdxEarly = early;

const wasm = /** @type {HTMLLinkElement | null} */ (document.querySelector('link[rel="preload"][type="application/wasm"]'));
if (wasm && typeof WebAssembly.compileStreaming === "function") {
  early.wasm = WebAssembly.compileStreaming(fetch(wasm.href));
  early.wasm.catch(() => {}); // the module compiles it again itself if this failed
}

/** The host origins the page's server allows (index.html's settings), or none. */
function allowedHostOrigins() {
  try {
    const written = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="sdx-settings"]'))?.content;
    const origins = written ? JSON.parse(written).allowedHostOrigins : null;
    return Array.isArray(origins) ? origins.filter((origin) => typeof origin === "string") : [];
  } catch {
    return [];
  }
}

/**
 * The first-view request for the host's init, when it comes from the parent on an allowed origin
 * and names what the request needs. The same URL and headers as the core's relay client makes.
 * @param {MessageEvent<Received>} event
 * @param {readonly string[]} allowed
 */
function firstViewFor(event, allowed) {
  const data = event.data;
  if (event.source !== window.parent || !originAllowed(event.origin, allowed) || !isEnvelope(data) || data.kind !== "req" || data.type !== "init") return null;
  const context = /** @type {{ protocol?: unknown, relayUrl?: unknown, environment?: unknown, deal?: { id?: unknown }, session?: { token?: unknown } } | null | undefined} */ (data.payload);
  const token = context?.session?.token;
  const relayUrl = context?.relayUrl;
  const environment = context?.environment;
  const dealId = context?.deal?.id;
  if (context?.protocol !== PROTOCOL || typeof token !== "string" || typeof relayUrl !== "string" || (environment !== "uat" && environment !== "production") || typeof dealId !== "string") return null;
  const url = `${relayUrl.replace(/\/+$/, "")}/api/${environment}/deals/${encodeURIComponent(dealId)}/sidebar`;
  const authorization = `Bearer ${token}`;
  const response = fetch(url, {
    headers: { Accept: "application/json", Authorization: authorization },
    redirect: "manual",
    signal: AbortSignal.timeout(RELAY_TIMEOUT_MS),
  });
  response.catch(() => {}); // read, failure included, by the core
  return { url, authorization, response };
}

// Pipedrive and HubSpot connect through their own SDKs, not sdx/1; every other host (the demo,
// Salesforce, Zoho's widget) is an sdx/1 parent.
const host = new URLSearchParams(location.search).get("host");
if (window.parent !== window && host !== "pipedrive" && host !== "hubspot") {
  const allowed = allowedHostOrigins();
  early.listener = (event) => {
    // A host that created this frame before its scripts loaded asks for the hello it missed: said
    // at once, not once the page's module has loaded, so the init (and the first view) follow sooner.
    const data = event.data;
    const fromHost = event.source === window.parent && originAllowed(event.origin, allowed) && isEnvelope(data);
    if (fromHost && data.kind === "evt" && data.type === "host.ready") {
      early.answered.add(event); // the module, listening too once it runs, leaves this one alone
      // Once the host's init is here, the hello it asks for was answered already.
      if (!early.initKept && early.hellosRepeated < MAX_HELLO_REPEATS) {
        early.hellosRepeated += 1;
        window.parent.postMessage(helloMessage(early.page), "*");
      }
      return;
    }
    if (fromHost && data.kind === "req" && data.type === "init") early.initKept = true;
    if (early.messages.length < KEPT_MESSAGES) early.messages.push(event);
    early.firstView ??= firstViewFor(event, allowed);
  };
  addEventListener("message", early.listener);
  early.page = newPageId();
  window.parent.postMessage(helloMessage(early.page), "*");
  early.hello = true;
}
