// Payload: raw and gzip -9 bytes of every built .wasm and .js in pkg/ (and any pkg-*/ folder), the
// sidebar shell's sources, the built sidebar page (dist/sidebar/: what the browser downloads), and a
// size profile by crate from the name section of each non-stripped cargo output
// (target/**/wasm32-unknown-unknown/release/*.wasm): code bytes per crate prefix. Prints JSON.
//   SDX_BENCH_TOP=40 node bench/js/sizes.mjs > /dev/null   (also: each build's 40 largest functions, on stderr)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = new URL("../../", import.meta.url).pathname;

function measure(file) {
  const bytes = readFileSync(file);
  return { file: relative(root, file), bytes: bytes.length, gzip9: gzipSync(bytes, { level: 9 }).length };
}

export function builtArtifacts() {
  const folders = readdirSync(root).filter((name) => (name === "pkg" || name.startsWith("pkg-")) && name !== "pkg-template" && statSync(join(root, name)).isDirectory());
  return folders.flatMap((folder) =>
    readdirSync(join(root, folder))
      .filter((name) => name.endsWith(".wasm") || (name.endsWith(".js") && !name.endsWith(".d.js")))
      .sort()
      .map((name) => measure(join(root, folder, name))));
}

export function sidebarShell() {
  const dir = join(root, "www/sidebar");
  const walk = (folder) => readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return name === "vendor" ? [] : walk(path);
    return /\.(js|css|html)$/.test(name) ? [path] : [];
  });
  return walk(dir).sort().map(measure);
}

// --- wasm binary reading: just enough for the code and name sections ---
function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at.i++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return value;
}

function sections(bytes) {
  const at = { i: 8 };
  const out = [];
  while (at.i < bytes.length) {
    const id = bytes[at.i++];
    const size = leb(bytes, at);
    out.push({ id, start: at.i, end: at.i + size });
    at.i += size;
  }
  return out;
}

function importedFunctionCount(bytes, section) {
  const at = { i: section.start };
  const count = leb(bytes, at);
  let functions = 0;
  for (let n = 0; n < count; n += 1) {
    for (let s = 0; s < 2; s += 1) {
      // Read the length first: `at.i += leb(…)` would add it to the position from before the read.
      const length = leb(bytes, at);
      at.i += length; // module and field names
    }
    const kind = bytes[at.i++];
    if (kind === 0) { leb(bytes, at); functions += 1; }
    else if (kind === 1) { at.i += 1; const flags = leb(bytes, at); leb(bytes, at); if (flags & 1) leb(bytes, at); }
    else if (kind === 2) { const flags = leb(bytes, at); leb(bytes, at); if (flags & 1) leb(bytes, at); }
    else if (kind === 3) { at.i += 2; }
    else if (kind === 4) { at.i += 1; leb(bytes, at); }
  }
  return functions;
}

function functionNames(bytes, section) {
  const at = { i: section.start };
  const nameLength = leb(bytes, at);
  if (new TextDecoder().decode(bytes.subarray(at.i, at.i + nameLength)) !== "name") return null;
  at.i += nameLength;
  const names = new Map();
  while (at.i < section.end) {
    const id = bytes[at.i++];
    const size = leb(bytes, at);
    const end = at.i + size;
    if (id === 1) {
      const count = leb(bytes, at);
      for (let n = 0; n < count; n += 1) {
        const index = leb(bytes, at);
        const length = leb(bytes, at);
        names.set(index, new TextDecoder().decode(bytes.subarray(at.i, at.i + length)));
        at.i += length;
      }
    }
    at.i = end;
  }
  return names;
}

/** The crate a (mangled or plain) Rust symbol belongs to. */
export function crateOf(name) {
  let text = name;
  if (text.startsWith("_ZN")) {
    const match = /^_ZN(\d+)/.exec(text);
    text = match ? text.slice(match[0].length, match[0].length + Number(match[1])) : text;
    // `<T as serde::Serialize>::…` and `<&T as …>`: a blanket impl is charged to the trait's crate.
    const blanket = /^_?\$LT\$(?:\$RF\$)?(?:mut\$u20\$)?T\$u20\$as\$u20\$(.*)$/.exec(text);
    text = blanket ? blanket[1] : text.replace(/^_?\$LT\$/, "").replace(/^(\$RF\$|\$u5b\$|mut\$u20\$)+/, "");
    return text.split("..")[0].split("$")[0] || "other";
  }
  const v0 = /^_R[NCIMXYB].*?C(?:s[0-9a-zA-Z]*_)?(\d+)([A-Za-z_]\w*)/.exec(text);
  if (v0) return v0[2].slice(0, Number(v0[1]));
  if (text.includes("::")) return text.replace(/^<+/, "").split("::")[0];
  return /^(__wbg|__wbindgen|wasm_bindgen)/.test(text) ? "wasm_bindgen" : /^(dl|mem|__rust|rust_)/.test(text) ? "std/alloc" : "other";
}

/** The crate of a demangled name as wasm-bindgen and wasm-opt leave it (`core[1a2b]::fmt::…`). */
function crateOfDemangled(name) {
  const plain = name.replace(/\[[0-9a-f]+\]/g, "");
  // `<A as B>::f`: charged to A's crate when A is a path, else to the trait's (`<f64 as core::fmt::Display>`).
  const qualified = /^<+&?(?:mut )?([^<>]*?) as ([^<>]*?)>/.exec(plain);
  const path = qualified ? (qualified[1].includes("::") ? qualified[1] : qualified[2]) : plain.replace(/^<+/, "");
  if (path.includes("::")) return path.split("::")[0];
  if (/ shim$|^export |^__wbg|^__wbindgen/.test(plain)) return "exports (boundary shims with their inlined bodies)";
  return /^(dl|mem|__rust|__rdl|__rg)/.test(plain) ? "std/alloc" : "other";
}

/**
 * The cargo output as it ships: through wasm-bindgen and wasm-opt at the build's level (-Oz twice for the
 * sidebar's target dir, -O3 for the full build), keeping the name section (-g) so code can be charged
 * to crates. Null when the tools are missing.
 */
function shippedWithNames(file) {
  const dir = mkdtempSync(join(tmpdir(), "sdx-size-"));
  // As scripts/build.sh runs it: -Oz twice for the sidebar's builds, -O3 for the full one.
  const levels = file.includes("/target/sidebar") ? ["-Oz", "-Oz"] : ["-O3"];
  const bindgen = spawnSync("wasm-bindgen", ["--target", "web", "--out-dir", dir, "--out-name", "m", file]);
  const opt = bindgen.status === 0 && spawnSync(join(root, "node_modules/.bin/wasm-opt"), [...levels, "-g",
    "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals",
    "--enable-reference-types", "--enable-multivalue", "-o", join(dir, "opt.wasm"), join(dir, "m_bg.wasm")]);
  const bytes = opt && opt.status === 0 ? readFileSync(join(dir, "opt.wasm")) : null;
  rmSync(dir, { recursive: true, force: true });
  return bytes;
}

function profile(file) {
  const shipped = shippedWithNames(file);
  const bytes = shipped ?? readFileSync(file);
  const classify = shipped ? crateOfDemangled : crateOf;
  const all = sections(bytes);
  const imports = all.find((s) => s.id === 2);
  const code = all.find((s) => s.id === 10);
  const names = all.filter((s) => s.id === 0).map((s) => functionNames(bytes, s)).find(Boolean);
  if (!code || !names) return { file: relative(root, file), error: "no code or name section" };
  const offset = imports ? importedFunctionCount(bytes, imports) : 0;
  const at = { i: code.start };
  const count = leb(bytes, at);
  const byCrate = {};
  const unattributed = [];
  const functions = [];
  for (let n = 0; n < count; n += 1) {
    const size = leb(bytes, at);
    at.i += size;
    const name = names.get(offset + n) ?? "";
    const crate = classify(name);
    byCrate[crate] = (byCrate[crate] ?? 0) + size;
    if (crate === "other") unattributed.push([name, size]);
    functions.push([size, name]);
  }
  if (process.env.SDX_BENCH_DEBUG) console.error(unattributed.sort((a, b) => b[1] - a[1]).slice(0, 15));
  // SDX_BENCH_TOP=N: the N largest functions of each profiled build, on stderr (where to look next).
  const top = Number(process.env.SDX_BENCH_TOP) || 0;
  if (top > 0) console.error(`${relative(root, file)}:\n${functions.sort((a, b) => b[0] - a[0]).slice(0, top).map(([size, name]) => `  ${String(size).padStart(6)}  ${name.slice(0, 140)}`).join("\n")}`);
  const total = Object.values(byCrate).reduce((a, b) => a + b, 0);
  const rows = Object.entries(byCrate).sort((a, b) => b[1] - a[1]).map(([crate, codeBytes]) => ({ crate, codeBytes, share: codeBytes / total }));
  return { file: relative(root, file), stage: shipped ? "after wasm-bindgen and wasm-opt (names kept)" : "cargo output", fileBytes: bytes.length, codeBytes: total, functions: count, byCrate: rows };
}

function cargoOutputs() {
  const found = [];
  const visit = (dir, depth) => {
    if (depth > 3 || !existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === "wasm32-unknown-unknown") {
        const release = join(path, "release");
        // The boundary crate's output (wasm/ builds the package); older outputs may linger beside it.
        if (existsSync(release)) for (const f of readdirSync(release)) if (f === "spotdraft_crm_wasm.wasm") found.push(join(release, f));
      } else if (!["debug", "release", "doc", "tmp"].includes(name) && statSync(path).isDirectory()) {
        visit(path, depth + 1);
      }
    }
  };
  visit(join(root, "target"), 0);
  return found.sort();
}

/**
 * What a browser downloads before the sidebar's first view in a demo-style host: the built page
 * (scripts/bundle-sidebar.mjs → dist/sidebar/) — index.html and what it loads, as its manifest's
 * `initial` lists them (index.html with its module and styles inline, and the wasm) — as served
 * with gzip (`gzip`) and with brotli (`brotli`), and gzip -9 of each file as zlib makes it (`gzip9`,
 * for comparison with earlier measures). The per-CRM adapters are not counted: each CRM loads only its own.
 */
export function sidebarPagePayload(pageDir = join(root, "dist/sidebar")) {
  const manifestFile = join(pageDir, "manifest.json");
  if (!existsSync(manifestFile)) {
    throw new Error(`${relative(root, manifestFile)} is missing: the sidebar page is not built (bash scripts/build.sh, or node scripts/bundle-sidebar.mjs once pkg/ is built)`);
  }
  const { initial } = JSON.parse(readFileSync(manifestFile, "utf8"));
  // As the page's server sends each file (www/relay/sidebar-files.js): a hashed file's .gz and .br
  // made by the build (zopfli and brotli 11), index.html compressed by the server (gzip -9, brotli 11).
  const served = (file, suffix, compress) => (existsSync(`${file}.${suffix}`) ? readFileSync(`${file}.${suffix}`).length : compress(readFileSync(file)).length);
  const files = initial.map((name) => {
    const file = join(pageDir, name);
    return {
      ...measure(file),
      gzip: served(file, "gz", (bytes) => gzipSync(bytes, { level: 9 })),
      brotli: served(file, "br", (bytes) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })),
    };
  });
  const sum = (key) => files.reduce((total, f) => total + f[key], 0);
  return { files: files.map((f) => f.file), perFile: files, bytes: sum("bytes"), gzip9: sum("gzip9"), gzip: sum("gzip"), brotli: sum("brotli") };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const artifacts = builtArtifacts();
  const shell = sidebarShell();
  console.log(JSON.stringify({ artifacts, shell, sidebarPage: sidebarPagePayload(), profiles: cargoOutputs().map(profile) }));
}
