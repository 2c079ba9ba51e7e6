// Issue 6 memory budget, bounded: 5,000 webhook deliveries through the relay in-process must not
// grow the WebAssembly linear memory (it never shrinks, so growth would be a leak's high-water)
// nor the JS heap retained after garbage collection. Process RSS is reported by the benchmark only:
// it depends on when V8 returns pages to the system.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MiB, webhooksThroughRelay } from "../../bench/js/relay-memory.mjs";

test("5,000 webhook deliveries leave the relay's linear memory bounded", async () => {
  const run = await webhooksThroughRelay({ total: 5_000, distinct: 2_000, warmUp: 1_000 });
  assert.equal((run.statusCounts[200] ?? 0) + (run.statusCounts[401] ?? 0), 6_000, JSON.stringify(run.statusCounts));
  assert.ok(run.growth.wasmLinearBytes <= 1 * MiB, `linear memory grew by ${run.growth.wasmLinearBytes} bytes`);
  assert.ok(run.after.wasmLinearBytes <= 16 * MiB, `linear memory is ${run.after.wasmLinearBytes} bytes`);
  assert.ok(run.growth.jsHeapUsedBytes <= 8 * MiB, `the JS heap kept ${run.growth.jsHeapUsedBytes} more bytes`);
  assert.equal(run.requests.spotdraft, 0, "duplicates are settled from the CRM read alone");
});
