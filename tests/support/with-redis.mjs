// Runs a command with a throwaway redis-server beside it: RELAY_TEST_REDIS_URL names it, so the relay
// suites run with the relay's shared state in Redis. Exits with the command's status.
//   node tests/support/with-redis.mjs node --test tests/relay/
import { spawn } from "node:child_process";
import { startRedis } from "./redis.mjs";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node tests/support/with-redis.mjs <command> [args…]");
  process.exit(2);
}
const redis = await startRedis();
const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, RELAY_TEST_REDIS_URL: redis.url } });
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => child.kill(signal));
const status = await new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
await redis.stop();
process.exit(status);
