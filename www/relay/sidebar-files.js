// Serves the sidebar page (www/sidebar and the sidebar build in pkg/) with its security headers.
// The relay mounts it in production (`sidebar` in the relay configuration) and the demo serves its
// sidebar origin with it, so both send the same Content-Security-Policy, built here from the
// configured CRM origins (frame-ancestors) and relay URL (connect-src). A <meta> policy cannot carry
// frame-ancestors, which is why the page's policy is a response header and not in index.html.
//
// Only the files the page loads are reachable; everything else under those folders is 404.
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm", ".json": "application/json",
};

/** URL path → file, relative to the sidebar folder or the package folder. */
const SIDEBAR_FILES = [
  "index.html", "sidebar.js", "sidebar.css", "protocol.js",
  "hosts/connection.js", "hosts/hubspot.js", "hosts/pipedrive.js", "hosts/zoho.js",
  // Host SDKs are served from this origin, never from the vendor's CDN (no third-party script).
  "vendor/pipedrive-app-extensions-sdk.js", "vendor/zoho-embedded-app-sdk.js",
];
const PACKAGE_FILES = ["sidebar.js", "spotdraft_crm_sidebar.js", "spotdraft_crm_sidebar_bg.wasm"];

/**
 * An origin the sidebar may be framed by and take host messages from: `https://host[:port]`,
 * `https://*.suffix` (Salesforce, Pipedrive company domains), or plain http on loopback (tests, demo).
 * Anything else, including text that could break out of a CSP source list, is refused.
 */
export function checkHostOrigin(origin) {
  const text = String(origin);
  const https = /^https:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]{1,5})?$/;
  const loopback = /^http:\/\/(127\.0\.0\.1|localhost)(:[0-9]{1,5})?$/;
  if (!https.test(text) && !loopback.test(text)) {
    throw new Error(`sidebar.hostOrigins: "${text}" is not an origin such as https://app.hubspot.com or https://*.lightning.force.com (lower case, no path; http only on loopback)`);
  }
  return text;
}

function relayOriginOf(relayUrl) {
  let url;
  try {
    url = new URL(String(relayUrl));
  } catch {
    throw new Error(`sidebar.relayUrl: "${relayUrl}" is not a URL`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Error(`sidebar.relayUrl: "${relayUrl}" must be https (http only on loopback)`);
  }
  return url.origin;
}

/**
 * The page's policy. No 'unsafe-inline' or 'unsafe-eval' anywhere: scripts and styles come only
 * from this origin, WebAssembly compiles under 'wasm-unsafe-eval', network calls go only to this
 * origin and the relay, and only the configured CRM origins may frame the page.
 */
export function sidebarContentSecurityPolicy({ hostOrigins = [], relayUrl } = {}) {
  const ancestors = hostOrigins.map(checkHostOrigin);
  const connect = ["'self'"];
  if (relayUrl) connect.push(relayOriginOf(relayUrl));
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${[...new Set(connect)].join(" ")}`,
    `frame-ancestors ${ancestors.length > 0 ? ancestors.join(" ") : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join("; ");
}

/**
 * A fetch-style handler for `/sidebar/…` and `/pkg/…`: a Response for the page's files, `null` for
 * any other path (so a host server can try its other routes).
 * `settings()` is read per request: `{ hostOrigins: string[], relayUrl?: string }`.
 */
export function createSidebarHandler({ settings, sidebarDir = join(root, "www/sidebar"), pkgDir = join(root, "pkg") }) {
  const files = new Map([
    ...SIDEBAR_FILES.map((name) => [`/sidebar/${name}`, join(sidebarDir, name)]),
    ...PACKAGE_FILES.map((name) => [`/pkg/${name}`, join(pkgDir, name)]),
    ["/sidebar/", join(sidebarDir, "index.html")],
  ]);
  // Checked once at start so a bad configuration fails loudly, not on the first page load.
  sidebarContentSecurityPolicy(settings());

  return async function handleSidebarRequest(request) {
    const { pathname } = new URL(request.url);
    if (!pathname.startsWith("/sidebar/") && !pathname.startsWith("/pkg/")) return null;
    const current = settings();
    const headers = {
      "content-security-policy": sidebarContentSecurityPolicy(current),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    };
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed", { status: 405, headers: { ...headers, allow: "GET, HEAD", "content-type": "text/plain" } });
    }
    let body;
    let type;
    if (pathname === "/sidebar/config.json") {
      body = JSON.stringify({ allowedHostOrigins: current.hostOrigins ?? [], relayUrl: current.relayUrl ?? null });
      type = TYPES[".json"];
    } else {
      const file = files.get(pathname);
      if (!file) return new Response("not found", { status: 404, headers: { ...headers, "content-type": "text/plain" } });
      try {
        body = await readFile(file);
      } catch {
        return new Response("not found", { status: 404, headers: { ...headers, "content-type": "text/plain" } });
      }
      type = TYPES[extname(file)] ?? "application/octet-stream";
    }
    return new Response(request.method === "HEAD" ? null : body, { status: 200, headers: { ...headers, "content-type": type } });
  };
}

/** Runs a fetch-style handler as a Node `http` request listener (GET/HEAD only: no body is read). */
export function nodeListener(handler, fallback = (incoming, outgoing) => outgoing.writeHead(404, { "content-type": "text/plain" }).end("not found")) {
  return async (incoming, outgoing) => {
    try {
      // fetch's Request refuses some methods (TRACE, CONNECT); none is served here.
      const method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].includes(incoming.method) ? incoming.method : "DELETE";
      const request = new Request(new URL(incoming.url, `http://${incoming.headers.host ?? "localhost"}`), { method });
      const response = await handler(request);
      if (!response) return fallback(incoming, outgoing);
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    } catch {
      outgoing.writeHead(500, { "content-type": "text/plain" });
      outgoing.end("error");
    }
  };
}
