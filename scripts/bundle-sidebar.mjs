// Builds the sidebar page that the relay and the demo serve: dist/sidebar/ (git-ignored).
//
// - one minified ES module for the page (www/sidebar/sidebar.js with the package's sidebar glue) and
//   one chunk with what it shares with the adapters (protocol.js, hosts/connection.js), both preloaded,
//   so the browser does not walk a chain of imports before it can start; the per-CRM adapters
//   (hosts/pipedrive.js, hubspot.js) stay chunks of their own, loaded only by their CRM (Zoho's
//   widget frames the page and speaks sdx/1, so it needs no adapter here);
// - content-hashed names for every file but index.html, so they can be cached for a year;
// - index.html from www/sidebar/index.html, pointing at the hashed names and preloading the module,
//   its chunks and the wasm, so all of them download in parallel with the HTML's parsing; its early
//   start (early.js) inlined, and its hash in the manifest for the page's CSP;
// - .br and .gz beside each hashed file (compressed once here, not per request);
// - manifest.json: what the page's server may serve (www/relay/sidebar-files.js reads it).
//
// Run by scripts/build.sh as its last step (it needs pkg/ built): node scripts/bundle-sidebar.mjs
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { SETTINGS_META_PLACEHOLDER } from "../www/relay/sidebar-files.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const sidebarDir = join(root, "www/sidebar");
const pkgDir = join(root, "pkg");
const outDir = join(root, "dist/sidebar");

const WASM = "spotdraft_crm_sidebar_bg.wasm";
const GLUE = "spotdraft_crm_sidebar.js";
// How the wasm-bindgen glue finds its wasm when load() is given nothing; rewritten to the hashed name.
const GLUE_WASM_URL = `new URL('${WASM}', import.meta.url)`;

function fail(message) {
  console.error(`[bundle-sidebar] ${message}`);
  process.exit(1);
}

const contentHash = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 12);
const hashedName = (name, bytes) => name.replace(/(\.[a-z]+)$/, `.${contentHash(bytes)}$1`);

/** Replaces `from` in `text` exactly once, or stops the build saying what was not found. */
function replaceOnce(text, from, to, where) {
  const parts = text.split(from);
  if (parts.length !== 2) fail(`${where}: expected ${JSON.stringify(from)} once, found it ${parts.length - 1} times`);
  return parts.join(to);
}

for (const file of [join(pkgDir, WASM), join(pkgDir, GLUE), join(pkgDir, "sidebar.js")]) {
  if (!existsSync(file)) fail(`${relative(root, file)} is missing: build the package first (bash scripts/build.sh)`);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const wasmBytes = readFileSync(join(pkgDir, WASM));
const wasmName = hashedName(WASM, wasmBytes);
writeFileSync(join(outDir, wasmName), wasmBytes);

const css = await esbuild.transform(readFileSync(join(sidebarDir, "sidebar.css"), "utf8"), { loader: "css", minify: true });
const cssName = hashedName("sidebar.css", Buffer.from(css.code));
writeFileSync(join(outDir, cssName), css.code);

// The shell imports ../pkg/sidebar.js because the page's server puts pkg/ beside sidebar/; in the
// repository the package is at the root.
const packageBesideSidebar = {
  name: "package-beside-sidebar",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/pkg\// }, (args) => (args.importer.startsWith(sidebarDir) ? { path: join(pkgDir, args.path.slice("../pkg/".length)) } : undefined));
    build.onLoad({ filter: new RegExp(`/pkg/${GLUE.replace(".", "\\.")}$`) }, (args) => ({
      contents: replaceOnce(readFileSync(args.path, "utf8"), GLUE_WASM_URL, `new URL('./${wasmName}', import.meta.url)`, relative(root, args.path)),
      loader: "js",
    }));
  },
};

const result = await esbuild.build({
  entryPoints: [join(sidebarDir, "sidebar.js")],
  outdir: outDir,
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  entryNames: "[name].[hash]",
  // Dynamically imported adapters and the code they share with the page are chunks; in hosts/ so the
  // adapters' `../vendor/…` URLs (relative to their module) still name /sidebar/vendor/.
  chunkNames: "hosts/[name].[hash]",
  metafile: true,
  logLevel: "warning",
  plugins: [packageBesideSidebar],
});

const outputs = Object.entries(result.metafile.outputs).map(([path, output]) => ({ name: relative(outDir, join(root, path)), ...output }));
const entry = outputs.find((o) => o.entryPoint && join(root, o.entryPoint) === join(sidebarDir, "sidebar.js"));
if (!entry) fail("esbuild produced no output for www/sidebar/sidebar.js");
// The glue resolves the wasm against import.meta.url: it must be in the entry module, beside the wasm.
if (!Object.keys(entry.inputs).some((input) => input.endsWith(`pkg/${GLUE}`))) fail(`pkg/${GLUE} is not in the page module ${entry.name}`);
const staticChunks = entry.imports.filter((i) => i.kind === "import-statement").map((i) => relative(outDir, join(root, i.path)));
for (const host of ["pipedrive", "hubspot"]) {
  if (!outputs.some((o) => o.name.startsWith(`hosts/${host}.`))) fail(`no chunk for hosts/${host}.js: is it still imported dynamically by sidebar.js?`);
}

let html = readFileSync(join(sidebarDir, "index.html"), "utf8");
replaceOnce(html, SETTINGS_META_PLACEHOLDER, SETTINGS_META_PLACEHOLDER, "www/sidebar/index.html");
// The wasm first: it is the largest download. `crossorigin` and as=fetch match the glue's fetch()
// (CORS mode, same-origin credentials), or Chromium would fetch it a second time.
const preloads = [
  `<link rel="preload" href="./${wasmName}" as="fetch" type="application/wasm" crossorigin>`,
  ...[entry.name, ...staticChunks].map((name) => `<link rel="modulepreload" href="./${name}">`),
].join("\n  ");
// Ahead of the early script, which finds the wasm by its preload.
html = replaceOnce(html, `<title>SpotDraft contracts</title>`, `<title>SpotDraft contracts</title>\n  ${preloads}`, "www/sidebar/index.html");
html = replaceOnce(html, `<link rel="stylesheet" href="./sidebar.css">`, `<link rel="stylesheet" href="./${cssName}">`, "www/sidebar/index.html");
html = replaceOnce(html, `<script type="module" src="./sidebar.js"></script>`, `<script type="module" async src="./${entry.name}"></script>`, "www/sidebar/index.html");
// The comments are for the source's readers; the served page goes without them.
html = html.replace(/[ \t]*<!--[\s\S]*?-->\n?/g, "");
// The early start (www/sidebar/early.js, with what it uses of protocol.js) runs inline, as the page
// is parsed: one minified script, allowed by the page's CSP through its hash, which the manifest
// carries to the page's server. The page's module then runs as soon as it has loaded (async).
const earlyScript = (await esbuild.build({
  entryPoints: [join(sidebarDir, "early.js")], bundle: true, write: false, format: "iife", target: "es2022", minify: true, legalComments: "none", logLevel: "warning",
})).outputFiles[0].text.trim();
if (/<\/script|<!--/i.test(earlyScript)) fail("www/sidebar/early.js built to text that would end its inline <script> early");
html = replaceOnce(html, `<script type="module" src="./early.js"></script>`, `<script>${earlyScript}</script>`, "www/sidebar/index.html");
const scriptHashes = [`sha256-${createHash("sha256").update(earlyScript).digest("base64")}`];
writeFileSync(join(outDir, "index.html"), html);

const assets = [wasmName, cssName, ...outputs.map((o) => o.name)];
const manifest = { index: "index.html", initial: ["index.html", entry.name, ...staticChunks, cssName, wasmName], scriptHashes, assets: {} };
for (const name of assets) {
  const bytes = readFileSync(join(outDir, name));
  const encodings = [];
  const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
  if (br.length < bytes.length) {
    writeFileSync(join(outDir, `${name}.br`), br);
    encodings.push("br");
  }
  const gz = gzipSync(bytes, { level: 9 });
  if (gz.length < bytes.length) {
    writeFileSync(join(outDir, `${name}.gz`), gz);
    encodings.push("gzip");
  }
  manifest.assets[name] = { bytes: bytes.length, encodings };
}
writeFileSync(join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);

const gzip9 = (name) => gzipSync(readFileSync(join(outDir, name)), { level: 9 }).length;
const total = manifest.initial.reduce((sum, name) => sum + gzip9(name), 0);
console.log(`[bundle-sidebar] built ${relative(root, outDir)}/: ${manifest.initial.join(", ")} (${total} bytes gzip -9 before the first view); per-CRM adapters: ${outputs.filter((o) => o.entryPoint?.includes("/hosts/")).map((o) => o.name).join(", ")}`);
