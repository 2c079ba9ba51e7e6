// The relay as a fetch-style handler: Request -> Response. All decisions are the core's
// (SdxRelay.handle); this file only moves bytes and writes one log line per request. Tested and
// supported on Node (www/relay/server.js), as one process or several sharing Redis. Serverless
// runtimes (Cloudflare Workers, Lambda) are not claimed: pkg/node.js reads its wasm with node:fs, and
// no test runs this handler there.

/** Nothing the relay serves takes more; the core limits each route further (64 KiB API, 256 KiB webhooks). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The body of an answer the JS host gives itself (too large, no such method, a host failure), in the
 * envelope the core gives every failed answer, so a client reads every error one way.
 */
export function errorBody(code, message, transient = false) {
  return JSON.stringify({ error: { code, message, problems: [], transient } });
}

export function createRelayHandler(relay, { log = (line) => console.log(line) } = {}) {
  return async function handleRelayRequest(request) {
    const started = performance.now();
    const url = new URL(request.url);
    let result;
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > MAX_BODY_BYTES) {
      result = tooLarge();
    } else {
      const body = new Uint8Array(await request.arrayBuffer());
      result = body.length > MAX_BODY_BYTES
        ? tooLarge()
        // The request's signal aborts when its client goes away: the core then drops the work
        // wherever it waits, before it reaches SpotDraft.
        : await relay.handle(request.method, request.url, [...request.headers], body, request.signal);
    }
    log(JSON.stringify({
      ts: new Date().toISOString(),
      method: request.method,
      // Path only: query strings may carry user ids; bodies and headers are never logged.
      path: url.pathname,
      status: result.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...result.log,
    }));
    const noBody = result.status === 204 || request.method === "HEAD";
    return new Response(noBody ? null : result.body, { status: result.status, headers: result.headers });
  };
}

function tooLarge() {
  const body = new TextEncoder().encode(errorBody("too_large", "the request body is too large"));
  return { status: 413, headers: [["content-type", "application/json"]], body, log: { route: "too large" } };
}
