// The relay in its own process for the overhead benchmark, so the load generator does not share
// its thread. Started by relay-overhead.mjs with the sandbox's descriptor on stdin; answers IPC
// "usage" messages with its CPU time and memory.
import { startRelay } from "../../tests/relay/support.mjs";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const sandbox = JSON.parse(input);
const relay = await startRelay(sandbox, { log: () => {} });
process.on("message", (message) => {
  if (message === "usage") process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss });
  if (message === "stop") relay.close().then(() => process.exit(0));
});
process.send({ url: relay.url });
