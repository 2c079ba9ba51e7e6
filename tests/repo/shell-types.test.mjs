// The sidebar's JavaScript shell (www/sidebar/) is type-checked against the package's declarations
// (tests/ts/tsconfig.shell.json: tsc --strict, allowJs, checkJs, JSDoc types): a wrong call into the
// core, or a changed type on the Rust side, fails the type check instead of the page.
//
// - the shell as committed passes;
// - a copy of it with wrong calls written into sidebar.js fails, on exactly those lines;
// - the unchanged shell against a copy of the declarations with two members renamed (as a change
//   on the Rust side would) fails on the lines that use them.
//
// Needs the built package (pkg/*.d.ts; skipped without it) and TypeScript from `npm ci`. Each check
// runs tsc once, a few seconds. Run: node --test tests/repo/
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CONFIG = join(ROOT, "tests/ts/tsconfig.shell.json");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
// The sidebar build's, and the build with linking (www/sidebar/link.js loads it on demand).
const DECLARATIONS = ["pkg/sidebar.d.ts", "pkg/spotdraft_crm_sidebar.d.ts", "pkg/spotdraft_crm_sidebar_link.d.ts"];
const TSC_TIMEOUT_MS = 120_000;

const built = DECLARATIONS.every((path) => existsSync(join(ROOT, path)));
const skip = !built ? "pkg/ is not built (bash scripts/build.sh)" : !existsSync(TSC) ? "typescript is not installed (npm ci)" : false;

/** Runs tsc on a config; resolves to its exit code and output (never rejects on type errors). */
function tsc(config) {
  return new Promise((done, fail) => {
    execFile(process.execPath, [TSC, "-p", config, "--pretty", "false"], { cwd: ROOT, timeout: TSC_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") fail(error); // did not run, or timed out
        else done({ code: error ? error.code : 0, output: `${stdout}${stderr}` });
      });
  });
}

/** The errors tsc reported, as { file (relative to `base`), line, text }. */
function errors(output, base) {
  return [...output.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+: .*)$/gm)].map(([, file, line, text]) => ({
    file: relative(base, resolve(ROOT, file)).replaceAll("\\", "/"),
    line: Number(line),
    text,
  }));
}

/**
 * A temporary copy of the shell (the files the config lists) and of the package's declarations, with a
 * config that checks the copy with the repository config's options. `edit` may change the copy first.
 */
function copyOfShell(t, edit) {
  const dir = mkdtempSync(join(tmpdir(), "sdx-shell-types-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { files } = JSON.parse(readFileSync(CONFIG, "utf8"));
  const copies = files.map((file) => relative(ROOT, resolve(dirname(CONFIG), file)));
  for (const path of [...copies, ...DECLARATIONS]) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(join(ROOT, path), join(dir, path));
  }
  edit?.(dir);
  const config = join(dir, "tsconfig.json");
  // The shell imports ../pkg/sidebar.js (served beside www/sidebar): rootDirs finds it in the copy's pkg/.
  writeFileSync(config, JSON.stringify({
    extends: CONFIG,
    compilerOptions: { rootDirs: [join(dir, "www"), dir] },
    files: copies.map((path) => join(dir, path)),
  }));
  return { dir, config };
}

/** Rewrites one file of the copy, insisting that the change happened. */
function rewrite(dir, path, change) {
  const file = join(dir, path);
  const before = readFileSync(file, "utf8");
  const after = change(before);
  assert.notEqual(after, before, `the edit of ${path} changed nothing: update this test to the file's text`);
  writeFileSync(file, after);
}

/** 1-based numbers of the lines of `text` containing `needle`; at least one. */
function linesWith(text, needle) {
  const lines = text.split("\n").flatMap((line, index) => (line.includes(needle) ? [index + 1] : []));
  assert.ok(lines.length > 0, `no line contains ${JSON.stringify(needle)}`);
  return lines;
}

test("the sidebar shell type-checks as committed", { skip, timeout: TSC_TIMEOUT_MS }, async () => {
  const { code, output } = await tsc(CONFIG);
  assert.equal(code, 0, `tsc -p tests/ts/tsconfig.shell.json failed:\n${output}`);
});

test("a wrong call into the core fails the type check on its own line", { skip, timeout: TSC_TIMEOUT_MS }, async (t) => {
  // Written just before the shell's first dispatch, where `sidebar` and `host` are in scope.
  const wrong = [
    'sidebar.perform({ type: "nope" }); // an effect the core does not have',
    'sidebar.update({ type: "nope" }); // a message the core does not have',
    'sidebar.update({ type: "templateSelected", templateId: "seven" }); // a message of the wrong shape',
    'sidebar.update({ typ: "start" }); // a message without its type',
    'sidebar.update({ type: "start" }).view.title; // a view member that does not exist',
    'sidebar.perform(host.context.session); // the session, not a call id',
    'new SdxSidebar({ environment: "staging", relayUrl: "", token: "" }, host.context.deal); // not an environment',
    'new SdxSidebar({ environment: "uat", relayUrl: "", token: "" }, { name: "Acme" }); // a deal without its id',
  ];
  const anchor = '  dispatch({ type: "start" });\n}\n';
  let injected = [];
  const { dir, config } = copyOfShell(t, (copy) => rewrite(copy, "www/sidebar/sidebar.js", (text) => {
    assert.equal(text.split(anchor).length, 2, "sidebar.js no longer ends main() with its first dispatch: update this test");
    const first = text.slice(0, text.indexOf(anchor)).split("\n").length;
    injected = wrong.map((_, index) => first + index);
    return text.replace(anchor, `${wrong.map((line) => `  ${line}\n`).join("")}${anchor}`);
  }));
  const { code, output } = await tsc(config);
  assert.notEqual(code, 0, `tsc accepted the wrong calls:\n${output}`);
  const found = errors(output, dir);
  for (const [index, line] of injected.entries()) {
    assert.ok(found.some((e) => e.file === "www/sidebar/sidebar.js" && e.line === line),
      `no error on sidebar.js:${line} (${wrong[index]}):\n${output}`);
  }
  const elsewhere = found.filter((e) => e.file !== "www/sidebar/sidebar.js" || !injected.includes(e.line));
  assert.deepEqual(elsewhere, [], "errors beyond the injected lines");
});

test("a changed type on the Rust side fails the type check where the shell uses it", { skip, timeout: TSC_TIMEOUT_MS }, async (t) => {
  // Renamed in the declarations (generated from the Rust side: wasm/src/sidebar.generated.d.ts) as if
  // the Rust side had renamed them: the scheduleTick effect's `inMs`, and the view's `freshness`.
  const { dir, config } = copyOfShell(t, (copy) => rewrite(copy, "pkg/spotdraft_crm_sidebar.d.ts", (text) => text
    .replace('{ type: "scheduleTick"; inMs: number; }', '{ type: "scheduleTick"; delayMs: number; }')
    .replace(/^(\s*)freshness: string \| null;$/m, "$1staleness: string | null;")));
  const declarations = readFileSync(join(dir, "pkg/spotdraft_crm_sidebar.d.ts"), "utf8");
  assert.ok(declarations.includes("delayMs") && declarations.includes("staleness"), "the declarations changed: update this test");
  const shell = readFileSync(join(dir, "www/sidebar/sidebar.js"), "utf8");
  const expected = [...linesWith(shell, "effect.inMs"), ...linesWith(shell, "view.freshness")];
  const { code, output } = await tsc(config);
  assert.notEqual(code, 0, `tsc accepted the shell against the changed declarations:\n${output}`);
  const found = errors(output, dir);
  for (const line of expected) {
    assert.ok(found.some((e) => e.file === "www/sidebar/sidebar.js" && e.line === line), `no error on sidebar.js:${line}:\n${output}`);
  }
  assert.deepEqual(found.filter((e) => e.file !== "www/sidebar/sidebar.js" || !expected.includes(e.line)), [], "errors beyond the uses");
});
