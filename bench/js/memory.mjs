// Memory across many webhook deliveries through one relay in-process, with snapshots along the
// way so steady growth (a leak) can be told from warm-up. Prints JSON.
//   node --expose-gc bench/js/memory.mjs <events>
import { webhooksThroughRelay } from "./relay-memory.mjs";

const total = Math.max(1, Number.parseInt(process.argv[2] ?? "100000", 10) || 100_000);
const run = await webhooksThroughRelay({ total, distinct: 5_000, warmUp: 1_000, snapshotEvery: Math.max(1, Math.floor(total / 10)) });
console.log(JSON.stringify(run));
