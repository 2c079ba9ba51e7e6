// Builds the sidebar page that the relay and the demo serve: dist/sidebar/ (git-ignored).
//
// - index.html, one response with all the page needs but the wasm: the early start (early.js), the
//   styles and one minified ES module (www/sidebar/sidebar.js with the package's sidebar glue), all
//   inline, each allowed by the page's CSP through its hash (the manifest carries the hashes to the
//   page's server); the wasm preloaded, so it downloads while the HTML is parsed. Inline, nothing
//   waits on a second round trip to the page's server before the module runs (measured with
//   bench/js/cold-start.mjs); the page is revalidated by ETag, so a warm load still costs one 304;
// - the per-CRM adapters (hosts/pipedrive.js, hubspot.js) as modules of their own, loaded only by
//   their CRM (Zoho's widget frames the page and speaks sdx/1, so it needs no adapter here);
// - linking a SpotDraft contract (link.js with the sidebar's `link` build and its wasm), loaded only
//   when a seller asks to link one;
// - the names the wasm and its glue call each other by (wasm-bindgen's imports carry a 16-hex-digit
//   hash each, and compress badly) shortened by wasm-opt, with the glue rewritten to match: about
//   3 KB gzip off the first view; the package in pkg/ keeps wasm-bindgen's names;
// - content-hashed names for every file but index.html, so they can be cached for a year;
// - .br and .gz beside each hashed file (compressed once here, not per request; the .gz by zopfli,
//   which spends seconds here for a gzip stream about 5% smaller than zlib's -9 that every browser
//   reads the same way);
// - manifest.json: what the page's server may serve (www/relay/sidebar-files.js reads it).
//
// Run by scripts/build.sh as its last step (it needs pkg/ built): node scripts/bundle-sidebar.mjs
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { gzipAsync as zopfliGzip } from "@gfx/zopfli";
import * as esbuild from "esbuild";
import { SETTINGS_META_PLACEHOLDER } from "../www/relay/sidebar-files.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const sidebarDir = join(root, "www/sidebar");
const pkgDir = join(root, "pkg");
const outDir = join(root, "dist/sidebar");

const WASM = "spotdraft_crm_sidebar_bg.wasm";
const GLUE = "spotdraft_crm_sidebar.js";
// The sidebar's build with linking (`link`), fetched only when a seller asks to link a contract.
const LINK_WASM = "spotdraft_crm_sidebar_link_bg.wasm";
const LINK_GLUE = "spotdraft_crm_sidebar_link.js";
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

/**
 * A wasm-bindgen build with the names its wasm and its glue call each other by shortened: wasm-opt
 * renames every import, its module and every export, and says how; the glue is rewritten to match,
 * each import's key found exactly once and no call left to an export the wasm no longer has.
 * @param {string} wasmName the package's wasm file (in pkg/)
 * @param {string} glueName its glue (in pkg/)
 * @returns {{ wasm: Buffer, glue: string }}
 */
function shortenBoundaryNames(wasmName, glueName) {
  const dir = mkdtempSync(join(tmpdir(), "sdx-bundle-"));
  try {
    const output = join(dir, "short.wasm");
    const run = spawnSync(join(root, "node_modules/.bin/wasm-opt"), [
      "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals",
      "--enable-reference-types", "--enable-multivalue", "--minify-imports-and-exports-and-modules",
      "-o", output, join(pkgDir, wasmName),
    ], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    if (run.status !== 0) fail(`wasm-opt could not shorten the names of pkg/${wasmName}: ${run.stderr || run.error}`);
    /** @type {{ imports: [string, string, string][], exports: [string, string][] }} */
    const renamed = JSON.parse(run.stdout.slice(run.stdout.indexOf("{")));
    const wasm = readFileSync(output);
    const module = new WebAssembly.Module(wasm);
    const modules = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
    const oldModules = [...new Set(renamed.imports.map(([from]) => from))];
    if (modules.length !== 1 || oldModules.length !== 1) fail(`pkg/${wasmName}: expected its imports from one module, found ${oldModules.join(", ")}`);
    let glue = readFileSync(join(pkgDir, glueName), "utf8");
    const where = `pkg/${glueName}`;
    glue = replaceOnce(glue, `${JSON.stringify(oldModules[0])}: import0`, `${JSON.stringify(modules[0])}: import0`, where);
    const escape = (name) => name.replace(/[$]/g, "\\$");
    for (const [, from, to] of renamed.imports) {
      const key = new RegExp(`(?<![\\w$])${escape(from)}:`, "g");
      const found = glue.match(key)?.length ?? 0;
      if (found !== 1) fail(`${where}: expected the import ${from} once, found it ${found} times`);
      glue = glue.replace(key, () => `${to}:`);
    }
    // In one pass, so a new name can never be taken for an old one.
    const exportsRenamed = new Map(renamed.exports);
    glue = glue.replace(/\bwasm\.([\w$]+)/g, (call, name) => (exportsRenamed.has(name) ? `wasm.${exportsRenamed.get(name)}` : call));
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const stale = [...glue.matchAll(/\bwasm\.([\w$]+)/g)].map(([, name]) => name).filter((name) => !exported.has(name));
    if (stale.length) fail(`${where}: calls the wasm by names it no longer has: ${[...new Set(stale)].join(", ")}`);
    return { wasm, glue };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const file of [join(pkgDir, WASM), join(pkgDir, GLUE), join(pkgDir, "sidebar.js"), join(pkgDir, LINK_WASM), join(pkgDir, LINK_GLUE)]) {
  if (!existsSync(file)) fail(`${relative(root, file)} is missing: build the package first (bash scripts/build.sh)`);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const sidebarBuild = shortenBoundaryNames(WASM, GLUE);
const wasmName = hashedName(WASM, sidebarBuild.wasm);
writeFileSync(join(outDir, wasmName), sidebarBuild.wasm);

const linkBuild = shortenBoundaryNames(LINK_WASM, LINK_GLUE);
const linkWasmName = hashedName(LINK_WASM, linkBuild.wasm);
writeFileSync(join(outDir, linkWasmName), linkBuild.wasm);

// How each module beside the page is built: one minified ES module with what it imports, named by
// its content's hash.
const HASHED_MODULE = { bundle: true, format: "esm", target: "es2022", minify: true, legalComments: "none", entryNames: "[name].[hash]", metafile: true, logLevel: "warning" };

const css = (await esbuild.transform(readFileSync(join(sidebarDir, "sidebar.css"), "utf8"), { loader: "css", minify: true })).code.trim();

// The per-CRM adapters, each a module of its own with what it uses of protocol.js and connection.js
// (a few hundred bytes twice, paid only by that CRM), so the page's module imports nothing statically.
const adapters = await esbuild.build({
  entryPoints: ["pipedrive", "hubspot"].map((host) => join(sidebarDir, `hosts/${host}.js`)),
  outdir: join(outDir, "hosts"),
  ...HASHED_MODULE,
});
const adapterOutputs = Object.entries(adapters.metafile.outputs).map(([path, output]) => ({ name: relative(outDir, join(root, path)), ...output }));
/** The built adapter's name, relative to the page (hosts/pipedrive.<hash>.js). */
function adapterName(source) {
  const output = adapterOutputs.find((o) => o.entryPoint && join(root, o.entryPoint) === source);
  if (!output) fail(`esbuild produced no output for ${relative(root, source)}`);
  return output.name;
}

// Linking: link.js with the `link` build's glue, whose wasm it finds by its hashed name beside it.
const linkModule = await esbuild.build({
  entryPoints: [join(sidebarDir, "link.js")],
  outdir: outDir,
  ...HASHED_MODULE,
  plugins: [{
    name: "link-imports",
    setup(build) {
      build.onResolve({ filter: /^\.\.\/pkg\// }, (args) => ({ path: join(pkgDir, args.path.slice("../pkg/".length)) }));
      build.onLoad({ filter: new RegExp(`/pkg/${LINK_GLUE.replace(".", "\\.")}$`) }, (args) => ({
        contents: replaceOnce(linkBuild.glue, `new URL('${LINK_WASM}', import.meta.url)`, `new URL('./${linkWasmName}', import.meta.url)`, relative(root, args.path)),
        loader: "js",
      }));
    },
  }],
});
const linkOutput = Object.keys(linkModule.metafile.outputs).map((path) => relative(outDir, join(root, path)))[0];
if (!linkOutput) fail("esbuild produced no output for www/sidebar/link.js");

// The shell imports ../pkg/sidebar.js because the page's server puts pkg/ beside sidebar/; in the
// repository the package is at the root. Its adapters are the modules built above, by their hashed
// names (resolved against the page's URL, as the page's module is inline).
const pageImports = {
  name: "page-imports",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/pkg\// }, (args) => (args.importer.startsWith(sidebarDir) ? { path: join(pkgDir, args.path.slice("../pkg/".length)) } : undefined));
    build.onResolve({ filter: /^\.\/hosts\/(pipedrive|hubspot)\.js$/ }, (args) => (args.kind === "dynamic-import"
      ? { path: `./${adapterName(join(args.resolveDir, args.path))}`, external: true }
      : undefined));
    build.onResolve({ filter: /^\.\/link\.js$/ }, (args) => (args.kind === "dynamic-import" ? { path: `./${linkOutput}`, external: true } : undefined));
    build.onLoad({ filter: new RegExp(`/pkg/${GLUE.replace(".", "\\.")}$`) }, (args) => ({
      contents: replaceOnce(sidebarBuild.glue, GLUE_WASM_URL, `new URL('./${wasmName}', import.meta.url)`, relative(root, args.path)),
      loader: "js",
    }));
  },
};

const page = await esbuild.build({
  entryPoints: [join(sidebarDir, "sidebar.js")],
  write: false,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  plugins: [pageImports],
});
const pageOutput = Object.values(page.metafile.outputs)[0];
// The glue resolves the wasm against import.meta.url, which for an inline module is the page's URL.
if (!pageOutput || !Object.keys(pageOutput.inputs).some((input) => input.endsWith(`pkg/${GLUE}`))) fail(`pkg/${GLUE} is not in the page's module`);
const pageScript = page.outputFiles[0].text.trim();
if (!pageScript.includes(`import("./${linkOutput}")`)) fail("the page's module does not load link.js by its built name: is it still imported dynamically by sidebar.js?");
for (const host of ["pipedrive", "hubspot"]) {
  if (!pageScript.includes(`import("./hosts/${host}.`)) fail(`the page's module does not load hosts/${host}.js by its built name: is it still imported dynamically by sidebar.js?`);
}

// The early start (www/sidebar/early.js, with what it uses of protocol.js): a classic script, so it
// runs as the page is parsed, before anything else.
const earlyScript = (await esbuild.build({
  entryPoints: [join(sidebarDir, "early.js")], bundle: true, write: false, format: "iife", target: "es2022", minify: true, legalComments: "none", logLevel: "warning",
})).outputFiles[0].text.trim();

/** Text that would end its inline element early, or start an HTML comment in it, stops the build. */
function inlineSafe(text, element, source) {
  if (new RegExp(`</${element}|<!--|<script`, "i").test(text)) fail(`${source} built to text that would end its inline <${element}> early`);
  return text;
}
const sha256 = (text) => `sha256-${createHash("sha256").update(text).digest("base64")}`;

// index.html from the source page: the early start, the styles and the page's module inline, so the
// page is one response and the wasm (preloaded, the largest download) the only other file before the
// first view; each inline script and style allowed by the page's CSP through its hash, which the
// manifest carries to the page's server.
let html = readFileSync(join(sidebarDir, "index.html"), "utf8");
replaceOnce(html, SETTINGS_META_PLACEHOLDER, SETTINGS_META_PLACEHOLDER, "www/sidebar/index.html");
// `crossorigin` and as=fetch match the glue's fetch() (CORS mode, same-origin credentials), or
// Chromium would fetch it a second time. Ahead of the early script, which finds the wasm by it.
html = replaceOnce(html, `<title>SpotDraft contracts</title>`,
  `<title>SpotDraft contracts</title>\n  <link rel="preload" href="./${wasmName}" as="fetch" type="application/wasm" crossorigin>`, "www/sidebar/index.html");
html = replaceOnce(html, `<script type="module" src="./early.js"></script>`, `<script>${inlineSafe(earlyScript, "script", "www/sidebar/early.js")}</script>`, "www/sidebar/index.html");
html = replaceOnce(html, `<link rel="stylesheet" href="./sidebar.css">`, `<style>${inlineSafe(css, "style", "www/sidebar/sidebar.css")}</style>`, "www/sidebar/index.html");
html = replaceOnce(html, `<script type="module" src="./sidebar.js"></script>`, `<script type="module">${inlineSafe(pageScript, "script", "www/sidebar/sidebar.js")}</script>`, "www/sidebar/index.html");
// The comments are for the source's readers; the served page goes without them.
html = html.replace(/[ \t]*<!--[\s\S]*?-->\n?/g, "");
const scriptHashes = [sha256(earlyScript), sha256(pageScript)];
const styleHashes = [sha256(css)];
writeFileSync(join(outDir, "index.html"), html);

const assets = [wasmName, ...adapterOutputs.map((o) => o.name), linkOutput, linkWasmName];
const manifest = { index: "index.html", initial: ["index.html", wasmName], scriptHashes, styleHashes, assets: {} };
for (const name of assets) {
  const bytes = readFileSync(join(outDir, name));
  const encodings = [];
  const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
  if (br.length < bytes.length) {
    writeFileSync(join(outDir, `${name}.br`), br);
    encodings.push("br");
  }
  const gz = Buffer.from(await zopfliGzip(bytes, { numiterations: 15 }));
  if (!gunzipSync(gz).equals(bytes)) fail(`${name}: its zopfli gzip stream does not read back as the file`);
  if (gz.length < bytes.length) {
    writeFileSync(join(outDir, `${name}.gz`), gz);
    encodings.push("gzip");
  }
  manifest.assets[name] = { bytes: bytes.length, encodings };
}
writeFileSync(join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);

// What a browser is sent as gzip: the .gz beside a hashed file, index.html compressed by its server (-9).
const servedGzip = (name) => (existsSync(join(outDir, `${name}.gz`)) ? readFileSync(join(outDir, `${name}.gz`)) : gzipSync(readFileSync(join(outDir, name)), { level: 9 })).length;
const total = manifest.initial.reduce((sum, name) => sum + servedGzip(name), 0);
console.log(`[bundle-sidebar] built ${relative(root, outDir)}/: ${manifest.initial.join(", ")} (${total} bytes served as gzip before the first view); per-CRM adapters: ${adapterOutputs.map((o) => o.name).join(", ")}`);
