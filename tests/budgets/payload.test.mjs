// Issue 6 payload budget: what the browser downloads for the sidebar page, gzip -9, at most 100 KB.
// Counted: the sidebar's wasm and its JS glue (pkg/), the page, its shell, styles and host
// connection (www/sidebar/, without the per-CRM adapters, which each host page loads on its own).
import { test } from "node:test";
import assert from "node:assert/strict";
import { sidebarPagePayload } from "../../bench/js/sizes.mjs";

const BUDGET_BYTES = 100 * 1024;

test("the sidebar page is at most 100 KB gzipped", () => {
  const payload = sidebarPagePayload();
  assert.ok(payload.files.some((f) => f.endsWith(".wasm")), `no sidebar .wasm among ${payload.files.join(", ")}`);
  assert.ok(payload.gzip9 <= BUDGET_BYTES, `${payload.gzip9} bytes gzip -9 (${payload.files.join(", ")})`);
});
