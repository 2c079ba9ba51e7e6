// Serves the sidebar page, as scripts/bundle-sidebar.mjs builds it into dist/sidebar/, with its
// security and caching headers. The relay mounts it in production (`sidebar` in the relay
// configuration) and the demo serves its sidebar origin with it, so both send the same
// Content-Security-Policy, built here from the configured CRM origins (frame-ancestors) and relay URL
// (connect-src). A <meta> policy cannot carry frame-ancestors, which is why the page's policy is a
// response header and not in index.html.
//
// Only the files the build's manifest lists (and the host SDKs in www/sidebar/vendor/) are
// reachable; everything else is 404. Hashed files are cached for a year (their name changes with
// their content); index.html is revalidated on every load (ETag), and carries the page's settings
// (allowed host origins, relay URL) in a <meta>, so the page needs no config.json round trip before
// it greets its host.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("../../", import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm", ".json": "application/json",
};

/** In www/sidebar/index.html and the built copy; replaced by the page's settings when served. */
export const SETTINGS_META_PLACEHOLDER = '<meta name="sdx-settings" content="">';

const IMMUTABLE = "public, max-age=31536000, immutable";

// Host SDKs are served from this origin, never from the vendor's CDN (no third-party script): the
// Pipedrive SDK, copied from npm by scripts/build.sh under a fixed name.
export const VENDOR_FILES = ["vendor/pipedrive-app-extensions-sdk.js"];

const FILE_SUFFIX = { br: "br", gzip: "gz" };

/**
 * The built page: index.html's text and every hashed asset with its precompressed variants, read
 * once. Throws, saying how to build it, when dist/sidebar/ is missing or incomplete.
 */
export function loadBuiltPage(pageDir = join(root, "dist/sidebar")) {
  const manifestFile = join(pageDir, "manifest.json");
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  } catch (error) {
    throw new Error(`the sidebar page is not built (${manifestFile}: ${error.code ?? error.message}); run bash scripts/build.sh`);
  }
  const template = readFileSync(join(pageDir, manifest.index), "utf8");
  if (template.split(SETTINGS_META_PLACEHOLDER).length !== 2) {
    throw new Error(`${join(pageDir, manifest.index)} must contain ${SETTINGS_META_PLACEHOLDER} once: rebuild it (node scripts/bundle-sidebar.mjs)`);
  }
  const assets = new Map();
  for (const [name, { encodings }] of Object.entries(manifest.assets)) {
    const variants = { identity: readFileSync(join(pageDir, name)) };
    for (const encoding of encodings) variants[encoding] = readFileSync(join(pageDir, `${name}.${FILE_SUFFIX[encoding]}`));
    assets.set(name, { type: TYPES[extname(name)] ?? "application/octet-stream", variants });
  }
  return { manifest, template, assets };
}

/**
 * The encoding to answer with, of `available` (best first), that `Accept-Encoding` accepts with a
 * q-value above 0; null for none (send the bytes as they are).
 */
export function negotiateEncoding(acceptEncoding, available) {
  const accepted = new Map();
  for (const part of String(acceptEncoding ?? "").split(",")) {
    const [token, ...params] = part.trim().toLowerCase().split(";").map((p) => p.trim());
    if (!token) continue;
    const q = params.find((p) => p.startsWith("q="));
    accepted.set(token, q ? Number(q.slice(2)) : 1);
  }
  return available.find((encoding) => (accepted.get(encoding) ?? accepted.get("*") ?? 0) > 0) ?? null;
}

/** Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header). */
function etagMatches(ifNoneMatch, etag) {
  if (!ifNoneMatch) return false;
  const plain = (tag) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || plain(tag) === plain(etag));
}

const escapeAttribute = (text) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

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

const SCRIPT_HASH = /^sha256-[A-Za-z0-9+/]{43}=$/;

/**
 * The page's policy. No 'unsafe-inline' or 'unsafe-eval' anywhere: scripts and styles come only from
 * this origin and the page's own inline ones by their hashes (`inlineHashes`, from the build's
 * manifest), WebAssembly compiles under 'wasm-unsafe-eval', network calls go only to this origin and
 * the relay, and only the configured CRM origins may frame the page.
 */
export function sidebarContentSecurityPolicy({ hostOrigins = [], relayUrl } = {}, inlineHashes = {}) {
  const { scripts: scriptHashes = [], styles: styleHashes = [] } = inlineHashes;
  const ancestors = hostOrigins.map(checkHostOrigin);
  const connect = ["'self'"];
  if (relayUrl) connect.push(relayOriginOf(relayUrl));
  for (const hash of [...scriptHashes, ...styleHashes]) {
    if (!SCRIPT_HASH.test(hash)) throw new Error(`the built page's manifest names a script or style hash that is not sha256-<base64>: "${hash}"; rebuild it (node scripts/bundle-sidebar.mjs)`);
  }
  return [
    "default-src 'none'",
    ["script-src 'self' 'wasm-unsafe-eval'", ...scriptHashes.map((hash) => `'${hash}'`)].join(" "),
    ["style-src 'self'", ...styleHashes.map((hash) => `'${hash}'`)].join(" "),
    "img-src 'self' data:",
    `connect-src ${[...new Set(connect)].join(" ")}`,
    `frame-ancestors ${ancestors.length > 0 ? ancestors.join(" ") : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join("; ");
}

/**
 * A fetch-style handler for `/sidebar/…`: a Response for the page's files, `null` for any other path
 * (so a host server can try its other routes).
 * `settings()` is read per request: `{ hostOrigins: string[], relayUrl?: string }`.
 * `pageDir`: the built page (scripts/bundle-sidebar.mjs), read once here.
 */
export function createSidebarHandler({ settings, pageDir = join(root, "dist/sidebar"), vendorDir = join(root, "www/sidebar/vendor") }) {
  const page = loadBuiltPage(pageDir);
  const vendor = new Map(VENDOR_FILES.map((name) => [name, join(vendorDir, name.slice("vendor/".length))]));
  // index.html as served for one settings document, with its ETag and compressed copies made on
  // first use: settings change rarely, so a handful of entries is plenty.
  const renderedIndex = new Map();
  function indexFor(pageSettings) {
    const json = JSON.stringify(pageSettings);
    let rendered = renderedIndex.get(json);
    if (!rendered) {
      const body = Buffer.from(page.template.replace(SETTINGS_META_PLACEHOLDER, () => `<meta name="sdx-settings" content="${escapeAttribute(json)}">`));
      rendered = { etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`, variants: { identity: body } };
      if (renderedIndex.size >= 8) renderedIndex.delete(renderedIndex.keys().next().value);
      renderedIndex.set(json, rendered);
    }
    return rendered;
  }
  // Checked once at start so a bad configuration fails loudly, not on the first page load.
  const inlineHashes = { scripts: page.manifest.scriptHashes ?? [], styles: page.manifest.styleHashes ?? [] };
  sidebarContentSecurityPolicy(settings(), inlineHashes);

  return async function handleSidebarRequest(request) {
    const { pathname } = new URL(request.url);
    if (!pathname.startsWith("/sidebar/")) return null;
    const name = pathname.slice("/sidebar/".length);
    const current = settings();
    const headers = {
      "content-security-policy": sidebarContentSecurityPolicy(current, inlineHashes),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    };
    const plain = (status, text, extra = {}) => new Response(text, { status, headers: { ...headers, ...extra, "content-type": "text/plain" } });
    if (request.method !== "GET" && request.method !== "HEAD") return plain(405, "method not allowed", { allow: "GET, HEAD" });
    const pageSettings = { allowedHostOrigins: current.hostOrigins ?? [], relayUrl: current.relayUrl ?? null };
    const answer = (body, extra) => new Response(request.method === "HEAD" ? null : body, { status: 200, headers: { ...headers, ...extra } });

    // The same settings as index.html carries, for pages served by something else (www/sidebar unbuilt).
    if (name === "config.json") return answer(JSON.stringify(pageSettings), { "content-type": TYPES[".json"] });

    if (name === "" || name === page.manifest.index) {
      const index = indexFor(pageSettings);
      const common = { etag: index.etag, vary: "Accept-Encoding" };
      if (etagMatches(request.headers.get("if-none-match"), index.etag)) return new Response(null, { status: 304, headers: { ...headers, ...common } });
      const encoding = negotiateEncoding(request.headers.get("accept-encoding"), ["br", "gzip"]);
      if (encoding) index.variants[encoding] ??= encoding === "br" ? brotliCompressSync(index.variants.identity) : gzipSync(index.variants.identity, { level: 9 });
      return answer(index.variants[encoding ?? "identity"], { ...common, "content-type": TYPES[".html"], ...(encoding ? { "content-encoding": encoding } : {}) });
    }

    const asset = page.assets.get(name);
    if (asset) {
      const encoding = negotiateEncoding(request.headers.get("accept-encoding"), Object.keys(asset.variants).filter((e) => e !== "identity"));
      return answer(asset.variants[encoding ?? "identity"], {
        "content-type": asset.type, "cache-control": IMMUTABLE, vary: "Accept-Encoding", ...(encoding ? { "content-encoding": encoding } : {}),
      });
    }

    const vendorFile = vendor.get(name);
    if (vendorFile) {
      try {
        return answer(await readFile(vendorFile), { "content-type": TYPES[".js"] });
      } catch {
        // not built yet (scripts/build.sh copies it)
      }
    }
    return plain(404, "not found");
  };
}

/** What the page's handler reads of a Node request: content negotiation and revalidation. */
export function cachingHeaders(incoming) {
  const headers = {};
  for (const name of ["accept-encoding", "if-none-match"]) if (typeof incoming.headers[name] === "string") headers[name] = incoming.headers[name];
  return headers;
}

/** Runs a fetch-style handler as a Node `http` request listener (GET/HEAD only: no body is read). */
export function nodeListener(handler, fallback = (incoming, outgoing) => outgoing.writeHead(404, { "content-type": "text/plain" }).end("not found")) {
  return async (incoming, outgoing) => {
    try {
      // fetch's Request refuses some methods (TRACE, CONNECT); none is served here.
      const method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].includes(incoming.method) ? incoming.method : "DELETE";
      const request = new Request(new URL(incoming.url, `http://${incoming.headers.host ?? "localhost"}`), { method, headers: cachingHeaders(incoming) });
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
