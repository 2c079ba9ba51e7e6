// A throwaway Redis for tests: Debian's redis-server on a free loopback port, in a temporary folder,
// keeping nothing on disk (no RDB snapshots, no append-only file), gone when stop() returns.
// scripts/bootstrap.sh installs redis-server; REDIS_SERVER overrides the program's path.
//
//   const redis = await startRedis();   // { url: "redis://127.0.0.1:PORT", port, stop() }
//   ...
//   await redis.stop();
//
// Options: `port` (start on this one, e.g. again after stop(), instead of a free one) and `password`
// (requirepass; the url then carries it).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const REDIS_SERVER = process.env.REDIS_SERVER ?? "redis-server";
export const NOT_INSTALLED = "redis-server is not installed: run bash scripts/bootstrap.sh";

/** How long a started server has to answer PING, and a stopped one to exit. */
const READY_MS = 5_000;
const EXIT_MS = 3_000;

/** Whether redis-server can be run here. */
export function redisServerAvailable() {
  const probe = spawnSync(REDIS_SERVER, ["--version"], { stdio: "ignore", timeout: 5_000 });
  return !probe.error && probe.status === 0;
}

/** Throws the clear "not installed" error when redis-server can't be run. */
export function requireRedisServer() {
  if (!redisServerAvailable()) throw new Error(NOT_INSTALLED);
}

/** A loopback TCP port nobody listened on a moment ago (the kernel's pick for port 0). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Redis answers on `port` (PONG, or NOAUTH when it wants a password; false on any failure, within `ms`). */
export function answersPing(port, ms = 500) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("*1\r\n$4\r\nPING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
    });
  });
}

/** Starts one redis-server: `{ url, port, stop() }`. Retries on another port if the picked one was taken meanwhile. */
export async function startRedis({ port: fixedPort, password } = {}) {
  requireRedisServer();
  let lastProblem = "";
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = fixedPort ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), "sdx-redis-"));
    const child = spawn(REDIS_SERVER, [
      "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
      "--save", "", "--appendonly", "no", "--dir", dir,
      "--daemonize", "no", "--logfile", "", "--loglevel", "warning", "--databases", "1",
      ...(password ? ["--requirepass", password] : []),
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => { output = (output + chunk).slice(-4_000); });
    child.stderr.on("data", (chunk) => { output = (output + chunk).slice(-4_000); });
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    let spawnError = null;
    child.once("error", (error) => { spawnError = error; });
    // A test process that dies without stop() must not leave the server behind.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);

    const stop = async () => {
      process.removeListener("exit", killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_MS);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };

    const deadline = Date.now() + READY_MS;
    let ready = false;
    while (Date.now() < deadline && !spawnError && child.exitCode === null) {
      if (await answersPing(port)) {
        ready = true;
        break;
      }
      await sleep(50);
    }
    if (ready) {
      const auth = password ? `:${encodeURIComponent(password)}@` : "";
      return { url: `redis://${auth}127.0.0.1:${port}`, port, stop };
    }

    await stop();
    if (spawnError?.code === "ENOENT") throw new Error(NOT_INSTALLED);
    if (spawnError) throw new Error(`redis-server could not be started: ${spawnError.message}`);
    lastProblem = child.exitCode !== null || child.signalCode !== null
      ? `it exited at once: ${output.trim() || "(no output)"}`
      : `it did not answer PING within ${READY_MS} ms: ${output.trim() || "(no output)"}`;
    // Only a port taken between picking and binding is worth another try.
    if (fixedPort !== undefined || !/Address already in use/i.test(output)) break;
  }
  throw new Error(`redis-server did not start on loopback: ${lastProblem}`);
}
