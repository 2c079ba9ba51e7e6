// Several relay instances as an operator runs them: separate `cli.js serve` processes on one Redis,
// behind a round-robin proxy on loopback. Instances can be killed (SIGKILL) and restarted on the
// same port. Used by the scale soak (tests/soak/scale.test.mjs) and the scale benchmark
// (bench/js/scale.mjs).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const CLI = new URL("../../www/relay/cli.js", import.meta.url).pathname;

export async function freePort() {
  const server = createNetServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One relay process serving `config` on `port` with its shared state in `redisUrl`. `start()` waits
 * (bounded) for it to listen; `kill()` is SIGKILL (no clean shutdown, locks left held); `stop()` is
 * SIGTERM. Every log line is kept in `lines`.
 */
export function relayInstance({ config, port, redisUrl, name }) {
  const stateDir = mkdtempSync(join(tmpdir(), `relay-${name}-`));
  const lines = [];
  let child = null;
  const instance = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    lines,
    get running() {
      return child !== null;
    },
    async start() {
      const spawned = spawn(process.execPath, [CLI, "serve", "--port", String(port), "--host", "127.0.0.1", "--state-dir", stateDir, "--redis", redisUrl], {
        env: { ...process.env, RELAY_CONFIG_JSON: JSON.stringify(config), RELAY_CONFIG: "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = spawned;
      const exited = new Promise((resolve) => spawned.once("exit", resolve));
      spawned.exited = exited;
      createInterface({ input: spawned.stderr }).on("line", (line) => lines.push(`stderr: ${line}`));
      const output = createInterface({ input: spawned.stdout });
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not start within 15 s:\n${lines.slice(-5).join("\n")}`)), 15_000);
        output.on("line", (line) => {
          lines.push(line);
          if (line.startsWith("relay listening on")) {
            clearTimeout(timer);
            resolve();
          }
        });
        exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code} before listening:\n${lines.slice(-5).join("\n")}`));
        });
      });
    },
    async kill(signal = "SIGKILL") {
      const current = child;
      if (!current) return;
      child = null;
      current.kill(signal);
      await current.exited;
    },
    stop() {
      return instance.kill("SIGTERM");
    },
    cleanup() {
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return instance;
}

/**
 * A round-robin HTTP proxy over `backends` (objects with `url`), as a load balancer with health
 * checks behaves: a backend that refuses the connection is skipped for the next one; a backend that
 * dies with the request in flight answers 502 (the caller, a seller or SpotDraft, sees a failure).
 */
export async function roundRobinProxy(backends) {
  let next = 0;
  const counts = { forwarded: 0, failedOver: 0, brokenInFlight: 0 };
  const forward = (backend, incoming, body) => new Promise((resolve, reject) => {
    const target = new URL(incoming.url, backend.url);
    const outgoing = httpRequest(target, { method: incoming.method, headers: { ...incoming.headers, host: target.host } }, (answer) => {
      const chunks = [];
      answer.on("data", (chunk) => chunks.push(chunk));
      answer.on("end", () => resolve({ status: answer.statusCode, headers: answer.headers, body: Buffer.concat(chunks) }));
      answer.on("error", (error) => reject(Object.assign(error, { sent: true })));
    });
    outgoing.on("error", (error) => reject(Object.assign(error, { sent: error.code !== "ECONNREFUSED" })));
    outgoing.end(body);
  });
  /** Requests in flight: backend → paths. */
  const inFlight = new Map(backends.map((backend) => [backend, []]));
  const server = createServer(async (incoming, reply) => {
    const chunks = [];
    for await (const chunk of incoming) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    for (let tries = 0; tries < backends.length; tries += 1) {
      const backend = backends[next % backends.length];
      next += 1;
      const paths = inFlight.get(backend);
      paths.push(incoming.url);
      try {
        const answer = await forward(backend, incoming, body).finally(() => paths.splice(paths.indexOf(incoming.url), 1));
        counts.forwarded += 1;
        reply.writeHead(answer.status, answer.headers);
        reply.end(answer.body);
        return;
      } catch (error) {
        if (!error.sent) {
          counts.failedOver += 1;
          continue;
        }
        counts.brokenInFlight += 1;
        reply.writeHead(502, { "content-type": "application/json" });
        reply.end(JSON.stringify({ error: { code: "bad_gateway", message: `the relay instance went away mid-request (${error.code ?? error.message})` } }));
        return;
      }
    }
    reply.writeHead(503, { "content-type": "application/json" });
    reply.end(JSON.stringify({ error: { code: "unavailable", message: "no relay instance is up" } }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    counts,
    /** A backend with a request under `prefix` in flight right now, waiting for one at most `ms`. */
    async busyWith(prefix, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const busy = backends.find((backend) => inFlight.get(backend).some((path) => path.startsWith(prefix)));
        if (busy) return busy;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`no request under ${prefix} was in flight within ${ms} ms`);
    },
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
