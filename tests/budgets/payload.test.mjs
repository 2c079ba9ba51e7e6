// Issue 14 payload budget: what the browser downloads before the sidebar's first view, gzip -9, at
// most 70 KB (aim: 60 KB). Counted: the built page (scripts/bundle-sidebar.mjs → dist/sidebar/) as its
// manifest lists it: index.html (with the page's module and styles inline) and the wasm. Not counted:
// the per-CRM adapters, of which each CRM loads only its own.
import { readFileSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { sidebarPagePayload } from "../../bench/js/sizes.mjs";

const BUDGET_BYTES = 70 * 1024;

test("the built sidebar page is at most 70 KB gzipped", () => {
  const payload = sidebarPagePayload();
  for (const kind of [/\/index\.html$/, /\.wasm$/]) {
    assert.ok(payload.files.some((f) => kind.test(f)), `no file matching ${kind} among ${payload.files.join(", ")}`);
  }
  // The page's module and styles are inline in index.html, so counted with it.
  const index = readFileSync(new URL(`../../${payload.files.find((f) => f.endsWith("/index.html"))}`, import.meta.url), "utf8");
  for (const inline of [/<script type="module">[\s\S]{1000,}?<\/script>/, /<style>[\s\S]{500,}?<\/style>/]) assert.match(index, inline);
  const detail = payload.perFile.map((f) => `${f.file} ${f.gzip9}`).join(", ");
  assert.ok(payload.gzip9 <= BUDGET_BYTES, `${payload.gzip9} bytes gzip -9, over the ${BUDGET_BYTES} budget by ${payload.gzip9 - BUDGET_BYTES} (${detail})`);
});
