// Issue 6 payload budget: what the browser downloads for the sidebar page, gzip -9, at most 100 KB.
// Marked todo while the sidebar build is over it (the shrinking is tracked in issue 6): the test
// runs and prints the size but does not fail the command. Drop `todo` once it passes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sidebarPagePayload } from "../../bench/js/sizes.mjs";

const BUDGET_BYTES = 100 * 1024;

test("the sidebar page is at most 100 KB gzipped", { todo: "over budget until the sidebar build shrinks" }, () => {
  const payload = sidebarPagePayload();
  assert.ok(payload.files.some((f) => f.endsWith(".wasm")), `no sidebar .wasm among ${payload.files.join(", ")}`);
  assert.ok(payload.gzip9 <= BUDGET_BYTES, `${payload.gzip9} bytes gzip -9 (${payload.files.join(", ")})`);
});
