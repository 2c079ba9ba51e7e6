// The repository is self-contained: a fresh clone carries everything it refers to.
//
// - No tracked text file points at a path outside the repository: a folder beside the checkout
//   reached with `..`, the development machine's work directory, or an absolute home directory.
// - Nothing cites the engineers' private reference notes by name; the facts the code relies on are
//   restated in docs/ (spotdraft-api.md, crm-hosts.md, architecture.md) and cited from there.
// - Every relative link in a tracked Markdown file resolves to a tracked file or folder.
//
// Skipped: binary files, lock files and the fuzz corpus (generated inputs). Run: node --test tests/repo/
//
// The patterns below are written with character classes ([.], [/], [-]) so that this file never
// matches them itself and is scanned like any other.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, posix } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));

/** What must never appear in a tracked text file, each with the reason shown on failure. */
export const FORBIDDEN = [
  { pattern: /(?:\.\.[/\\])+shared\b/, why: "a path into a folder beside the repository" },
  { pattern: /(?<![\w.-])shared[/](?:spotdraft|crm-hosts)\b/, why: "a path into the reference notes folder" },
  { pattern: /(?<![\w.:/-])[/]work[/]/, why: "an absolute path on the development machine" },
  { pattern: /(?<![\w.:/-])[/](?:home|Users)[/][\w.-]+/, why: "an absolute home directory" },
  { pattern: /(?<![\w.:/-])[/]root[/]/, why: "an absolute home directory" },
  { pattern: /\b[A-Za-z]:\\Users\\/, why: "an absolute home directory" },
  { pattern: /API[-]NOTES/, why: "a citation of the private SpotDraft notes (cite docs/spotdraft-api.md)" },
  { pattern: /\bHOSTS[.]md\b/, why: "a citation of the private host notes (cite docs/crm-hosts.md)" },
  { pattern: /REVIEW[-]2026[-]12/, why: "a citation of the private host review (cite docs/crm-hosts.md)" },
  { pattern: /\bDESIGN[.]md\b/, why: "a citation of the private design notes (cite docs/architecture.md)" },
];

const LOCK_FILES = new Set(["Cargo.lock", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json"]);

function trackedFiles() {
  const out = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return out.split("\0").filter(Boolean);
}

function skipped(path) {
  const name = posix.basename(path);
  return path.startsWith("fuzz/corpus/") || LOCK_FILES.has(name) || name.endsWith(".lock");
}

/** The file's text, or null for binary files and files missing from the work tree. */
function readText(path) {
  let bytes;
  try {
    bytes = readFileSync(join(ROOT, path));
  } catch (error) {
    if (error.code === "ENOENT" || error.code === "EISDIR") return null;
    throw error;
  }
  if (bytes.subarray(0, 8000).includes(0)) return null;
  return bytes.toString("utf8");
}

/** Every forbidden reference in `text`, as `path:line: match (why)`. */
export function forbiddenReferences(path, text) {
  const found = [];
  text.split("\n").forEach((line, index) => {
    for (const { pattern, why } of FORBIDDEN) {
      const match = line.match(pattern);
      if (match) found.push(`${path}:${index + 1}: ${JSON.stringify(match[0])} (${why})`);
    }
  });
  return found;
}

/** Blanks out fenced code blocks and inline code spans, keeping offsets and line breaks. */
function withoutCode(markdown) {
  const blank = (s) => s.replace(/[^\n]/g, " ");
  let fence = null;
  const lines = markdown.split("\n").map((line) => {
    const opening = line.match(/^ {0,3}(`{3,}|~{3,})/);
    if (fence) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length) fence = null;
      return blank(line);
    }
    if (opening) {
      fence = opening[1];
      return blank(line);
    }
    return line;
  });
  return lines.join("\n").replace(/(`+)[^\n]*?\1/g, blank);
}

/** Link targets in a Markdown text (inline links, images and reference definitions) with their lines. */
export function markdownLinks(markdown) {
  const text = withoutCode(markdown);
  const lineOf = (offset) => text.slice(0, offset).split("\n").length;
  const links = [];
  const inline = /!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
  for (const match of text.matchAll(inline)) links.push({ target: match[1], line: lineOf(match.index) });
  const reference = /^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)/gm;
  for (const match of text.matchAll(reference)) links.push({ target: match[1], line: lineOf(match.index) });
  return links.map(({ target, line }) => ({ target: target.replace(/^<|>$/g, ""), line }));
}

/** The repository path a relative link points to, or null when it is not a relative link. */
export function resolveLink(fromPath, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//") || target.startsWith("#")) return null;
  let path = target.split("#")[0].split("?")[0];
  if (path === "") return null;
  try {
    path = decodeURIComponent(path);
  } catch {
    // keep it as written; it will not resolve
  }
  const joined = path.startsWith("/") ? path.slice(1) : posix.join(posix.dirname(fromPath), path);
  return posix.normalize(joined).replace(/\/$/, "");
}

test("the forbidden patterns catch what they are meant to (and only that)", () => {
  const up = "..";
  const bad = [
    `see ${up}/shared/x`, `${up}/${up}/${up}/${"shared"}/crm-hosts/a`, `in ${"shared"}/spotdraft/notes`, `at ${"/work"}/main`,
    `${"/home"}/alice/src`, `${"/Users"}/bob/x`, `${"/root"}/.cargo`, `C:\\${"Users"}\\me`,
    `(${"API"}-NOTES §2.3)`, `${"HOSTS"}.md §8`, `${"REVIEW"}-2026-12.md`, `${"DESIGN"}.md`,
  ];
  for (const line of bad) assert.ok(forbiddenReferences("x", line).length > 0, line);
  const fine = [
    "docs/spotdraft-api.md §7", "https://example.com/work/item", "src/work/x.rs", "app-shared/spotdraft", "a/root/b",
    "https://developers.hubspot.com/docs/", "the shared secret", "sandbox/spec/spotdraft-openapi.yml",
  ];
  for (const line of fine) assert.deepEqual(forbiddenReferences("x", line), [], line);
});

test("no tracked file refers to a path outside the repository or cites the private notes", () => {
  const found = [];
  let scanned = 0;
  for (const path of trackedFiles()) {
    if (skipped(path)) continue;
    const text = readText(path);
    if (text === null) continue;
    scanned += 1;
    found.push(...forbiddenReferences(path, text));
  }
  assert.ok(scanned > 50, `scanned only ${scanned} files`);
  assert.deepEqual(found, [], `references outside the repository:\n${found.join("\n")}`);
});

test("every relative link in tracked Markdown resolves to a tracked file or folder", () => {
  const tracked = trackedFiles();
  const files = new Set(tracked);
  const folders = new Set();
  for (const path of tracked) {
    for (let dir = posix.dirname(path); dir !== "."; dir = posix.dirname(dir)) folders.add(dir);
  }
  const broken = [];
  let checked = 0;
  for (const path of tracked) {
    if (!path.endsWith(".md") || skipped(path)) continue;
    const text = readText(path);
    if (text === null) continue;
    for (const { target, line } of markdownLinks(text)) {
      const resolved = resolveLink(path, target);
      if (resolved === null) continue;
      checked += 1;
      const inside = resolved !== ".." && !resolved.startsWith("../") && !posix.isAbsolute(resolved);
      const present = inside && (files.has(resolved) || folders.has(resolved) || resolved === ".");
      const onDisk = present && existsSync(join(ROOT, resolved)) && (folders.has(resolved) || statSync(join(ROOT, resolved)).isFile());
      if (!onDisk) broken.push(`${path}:${line}: ${target}${inside ? "" : " (outside the repository)"}`);
    }
  }
  assert.ok(checked > 0, "no relative Markdown link was found at all");
  assert.deepEqual(broken, [], `links that do not resolve inside the repository:\n${broken.join("\n")}`);
});

test("the Markdown link reader finds links and ignores code", () => {
  const sample = [
    "See [the docs](docs/a.md#part) and ![pic](img/b.png \"title\").",
    "`[not](a-link.md)` and [site](https://example.com) and [top](#top)",
    "```",
    "[inside](code.md)",
    "```",
    "[ref]: ../outside.md",
  ].join("\n");
  const links = markdownLinks(sample).map(({ target, line }) => `${line}:${target}`);
  assert.deepEqual(links.sort(), ["1:docs/a.md#part", "1:img/b.png", "2:#top", "2:https://example.com", "6:../outside.md"].sort());
  assert.equal(resolveLink("sandbox/README.md", "../docs/x.md#a"), "docs/x.md");
  assert.equal(resolveLink("README.md", "https://example.com"), null);
  assert.equal(resolveLink("README.md", "../elsewhere/x.md"), "../elsewhere/x.md");
});
