// Serves the admin console (www/console/) at /console/, with the package's full WebAssembly build
// (pkg/) beside it: the console previews a draft mapping with the same core a create runs. The page
// holds nothing secret (an admin signs in with their secret, kept in the page's memory only); what it
// shows comes from the relay's /admin/{env}/… routes, which check that secret.
//
// Only the files listed here are reachable. The policy allows the page's own scripts, styles and
// WebAssembly and calls to its own origin; it may not be framed.
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("../../", import.meta.url));

const FILES = new Map([
  ["", "www/console/index.html"],
  ["index.html", "www/console/index.html"],
  ["console.js", "www/console/console.js"],
  ["console.css", "www/console/console.css"],
  ["pkg/index.js", "pkg/index.js"],
  ["pkg/spotdraft_crm.js", "pkg/spotdraft_crm.js"],
  ["pkg/spotdraft_crm_bg.wasm", "pkg/spotdraft_crm_bg.wasm"],
]);

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm",
};

export const CONSOLE_POLICY = [
  "default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join("; ");

/** `(request) => Response | null`: the console's files for GET/HEAD under /console, null for anything else. */
export function createConsoleHandler({ directory = root } = {}) {
  /** name → { body, gzip } read once (the wasm is 1.7 MB; compressed once, not per request). */
  const cache = new Map();
  const read = async (name) => {
    if (!cache.has(name)) {
      const body = await readFile(join(directory, FILES.get(name)));
      cache.set(name, { body, gzip: gzipSync(body, { level: 9 }) });
    }
    return cache.get(name);
  };
  return async function consoleFiles(request) {
    const url = new URL(request.url);
    if (url.pathname === "/console") return new Response(null, { status: 308, headers: { location: "/console/" } });
    if (!url.pathname.startsWith("/console/")) return null;
    const name = url.pathname.slice("/console/".length);
    const headers = { "content-security-policy": CONSOLE_POLICY, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-store" };
    if (!FILES.has(name)) return new Response("not found", { status: 404, headers: { ...headers, "content-type": "text/plain" } });
    let file;
    try {
      file = await read(name);
    } catch (error) {
      const message = error.code === "ENOENT" ? "the console is not built here: run bash scripts/build.sh" : "the console could not be read";
      return new Response(message, { status: 503, headers: { ...headers, "content-type": "text/plain" } });
    }
    const gzip = /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
    const body = gzip ? file.gzip : file.body;
    const type = TYPES[extname(FILES.get(name))] ?? "application/octet-stream";
    return new Response(request.method === "HEAD" ? null : body, {
      status: 200,
      headers: { ...headers, "content-type": type, vary: "accept-encoding", ...(gzip ? { "content-encoding": "gzip" } : {}) },
    });
  };
}
