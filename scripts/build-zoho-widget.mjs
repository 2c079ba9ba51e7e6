// Builds the Zoho CRM widget's zip with Zoho's own extension toolkit (zet), offline:
//   1. copies the widget project (www/hosts/zoho/widget: plugin-manifest.json and app/) to
//      dist/zoho-widget/ (git-ignored);
//   2. bundles the host script (www/hosts/zoho/widget/src/main.js with www/sidebar/hosts/parent.js
//      and protocol.js) into app/js/spotdraft-zoho-widget.js there, one classic script, with esbuild;
//   3. runs `zet validate` and `zet pack` in that folder, with HOME in a temporary folder (zet keeps
//      its settings under HOME) and its update check off;
//   4. checks the zip holds exactly the files of app/ (zet pack leaves out, with only a warning, files
//      whose type Zoho does not take, such as .wasm) and prints its path, last, on its own line.
// Any failure stops the build with a non-zero exit and says what failed.
//
//   node scripts/build-zoho-widget.mjs [--project DIR] [--out DIR]
//     --project  the widget's static files to package (default www/hosts/zoho/widget); the host
//                script is always bundled from www/hosts/zoho/widget/src/
//     --out      where the project is copied and packed (default dist/zoho-widget); the zip is
//                <out>/dist/<name of out>.zip
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const ZET = join(root, "node_modules/zoho-extension-toolkit/index.js");
const ENTRY = join(root, "www/hosts/zoho/widget/src/main.js");
const BUNDLE = "app/js/spotdraft-zoho-widget.js";

function fail(message) {
  console.error(`[build-zoho-widget] FAILED: ${message}`);
  process.exit(1);
}

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  if (at === -1) return fallback;
  const value = process.argv[at + 1];
  if (!value || value.startsWith("--")) fail(`${name} needs a folder`);
  return resolve(value);
}

const project = option("--project", join(root, "www/hosts/zoho/widget"));
const out = option("--out", join(root, "dist/zoho-widget"));

if (!existsSync(ZET)) fail("node_modules/zoho-extension-toolkit is missing: run 'npm ci' at the repository root first");
let manifest;
try {
  manifest = JSON.parse(readFileSync(join(project, "plugin-manifest.json"), "utf8"));
} catch (error) {
  fail(`${join(project, "plugin-manifest.json")} is not readable JSON (${error.code ?? error.message})`);
}
if (manifest.service !== "CRM") fail(`${join(project, "plugin-manifest.json")}: "service" must be "CRM", not ${JSON.stringify(manifest.service)}`);
if (!existsSync(join(project, "app/widget.html"))) fail(`${join(project, "app/widget.html")} is missing`);

// 1. A fresh copy: what zet packs is app/ (the manifest only tells it which Zoho service).
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(join(project, "plugin-manifest.json"), join(out, "plugin-manifest.json"));
cpSync(join(project, "app"), join(out, "app"), { recursive: true });

// 2. The host script: one classic script (widget.html loads it after Zoho's SDK), no imports left.
try {
  await esbuild.build({
    entryPoints: [ENTRY],
    outfile: join(out, BUNDLE),
    bundle: true,
    format: "iife",
    target: "es2020",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
  });
} catch (error) {
  fail(`esbuild could not bundle ${relative(root, ENTRY)}: ${error.message}`);
}

// 3. Zoho's toolkit, offline: its settings under a temporary HOME, no update check.
const home = mkdtempSync(join(tmpdir(), "zet-home-"));
process.on("exit", () => rmSync(home, { recursive: true, force: true }));
function zet(command) {
  const run = spawnSync(process.execPath, [ZET, command], {
    cwd: out,
    encoding: "utf8",
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), NO_UPDATE_NOTIFIER: "1", FORCE_COLOR: "0" },
  });
  // zet colours its output whatever the terminal; the escapes only get in the way of reading it.
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "").trim();
  return { status: run.status, output, error: run.error };
}
{
  const validate = zet("validate");
  if (validate.status !== 0 || validate.error) {
    fail(`zet validate refused the widget in ${out}${validate.error ? ` (${validate.error.message})` : ` (exit ${validate.status})`}:\n${validate.output}`);
  }
  // zet validate passes files whose type Zoho does not take, and zet pack then leaves them out: refuse
  // them here, by the same message.
  if (/not allowed/i.test(validate.output)) fail(`zet validate: files of a type Zoho does not take:\n${validate.output}`);
  console.log(`[build-zoho-widget] zet validate: ${validate.output.split("\n").pop()}`);

  const pack = zet("pack");
  const zip = join(out, "dist", `${basename(out)}.zip`);
  if (pack.status !== 0 || pack.error || !existsSync(zip)) {
    fail(`zet pack did not produce ${zip}${pack.error ? ` (${pack.error.message})` : ` (exit ${pack.status})`}:\n${pack.output}`);
  }

  // 4. The zip holds app/ exactly: nothing left out, nothing else.
  const inZip = zipEntries(readFileSync(zip)).sort();
  const expected = filesUnder(join(out, "app")).map((file) => `app/${file}`).sort();
  const missing = expected.filter((name) => !inZip.includes(name));
  const extra = inZip.filter((name) => !expected.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    fail(`${zip} does not hold app/ as built: ${missing.length ? `left out ${missing.join(", ")}` : ""}${missing.length && extra.length ? "; " : ""}${extra.length ? `unexpected ${extra.join(", ")}` : ""}\n${pack.output}`);
  }
  for (const needed of ["app/widget.html", BUNDLE]) if (!inZip.includes(needed)) fail(`${zip} has no ${needed}`);
  const widget = zipFile(readFileSync(zip), "app/widget.html").toString("utf8");
  if (!widget.includes(`src="${BUNDLE.slice("app/".length)}"`)) fail(`app/widget.html does not load ${BUNDLE.slice("app/".length)}`);
  console.log(`[build-zoho-widget] zet pack: ${inZip.length} files (${inZip.join(", ")}), ${statSync(zip).size} bytes`);
  console.log(zip);
}

/** Every file under `dir`, as paths relative to it with "/" separators. */
function filesUnder(dir, prefix = "") {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(dir, path) : [path];
  });
}

/** The central directory of a zip: [{ name, method, compressedSize, offset }] (no zip64: zet's zips are small). */
function zipDirectory(bytes) {
  let end = bytes.length - 22;
  while (end >= 0 && bytes.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) fail("the zip has no end of central directory record");
  const count = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  const entries = [];
  for (let i = 0; i < count; i += 1) {
    if (bytes.readUInt32LE(at) !== 0x02014b50) fail("the zip's central directory is malformed");
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const commentLength = bytes.readUInt16LE(at + 32);
    entries.push({
      name: bytes.toString("utf8", at + 46, at + 46 + nameLength).replace(/\\/g, "/"),
      method: bytes.readUInt16LE(at + 10),
      compressedSize: bytes.readUInt32LE(at + 20),
      offset: bytes.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The names of the zip's files (not its folder entries). */
function zipEntries(bytes) {
  return zipDirectory(bytes).map((entry) => entry.name).filter((name) => !name.endsWith("/"));
}

/** One file's bytes from the zip (stored or deflated). */
function zipFile(bytes, name) {
  const entry = zipDirectory(bytes).find((candidate) => candidate.name === name);
  if (!entry) fail(`the zip has no ${name}`);
  const start = entry.offset + 30 + bytes.readUInt16LE(entry.offset + 26) + bytes.readUInt16LE(entry.offset + 28);
  const data = bytes.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method === 8) return inflateRawSync(data);
  fail(`${name} in the zip uses compression method ${entry.method}`);
}
