// Node entry point: an http server around the fetch-style handler, optional scheduled
// reconciliation with a checkpoint that survives restarts, and a clean shutdown.
import { createServer } from "node:http";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SdxRelay } from "../../pkg/node.js";
import { createRelayHandler } from "./handler.js";

export function checkpointStore(stateDir) {
  mkdirSync(stateDir, { recursive: true });
  const file = (environment) => join(stateDir, `reconcile-${environment}.json`);
  return {
    read(environment) {
      try {
        return JSON.parse(readFileSync(file(environment), "utf8")).checkpoint ?? null;
      } catch {
        return null;
      }
    },
    write(environment, checkpoint) {
      const temporary = `${file(environment)}.tmp`;
      writeFileSync(temporary, JSON.stringify({ checkpoint, savedAt: new Date().toISOString() }));
      renameSync(temporary, file(environment));
    },
  };
}

/** One reconciliation pass from the stored checkpoint; the new checkpoint is stored only on success. */
export async function reconcileOnce(relay, environment, store, log = (line) => console.log(line)) {
  const since = store.read(environment);
  const report = await relay.reconcile(environment, since ?? undefined);
  store.write(environment, report.checkpoint);
  log(JSON.stringify({ ts: new Date().toISOString(), job: "reconcile", since, ...report }));
  return report;
}

async function toRequest(incoming, origin) {
  const chunks = [];
  for await (const chunk of incoming) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
    else if (value !== undefined) headers.set(name, value);
  }
  const hasBody = !["GET", "HEAD"].includes(incoming.method);
  return new Request(new URL(incoming.url, origin), { method: incoming.method, headers, body: hasBody ? body : undefined });
}

export async function startRelayServer({
  config,
  port = 8788,
  host = "127.0.0.1",
  stateDir = ".relay-state",
  reconcileEverySeconds = 0,
  publicOrigin,
  log = (line) => console.log(line),
}) {
  const relay = new SdxRelay(config);
  const handler = createRelayHandler(relay, { log });
  const store = checkpointStore(stateDir);
  const server = createServer(async (incoming, outgoing) => {
    try {
      const origin = publicOrigin ?? `http://${incoming.headers.host ?? `${host}:${port}`}`;
      const response = await handler(await toRequest(incoming, origin));
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      log(JSON.stringify({ ts: new Date().toISOString(), error: "relay_host_failure", message: String(error?.message ?? error) }));
      outgoing.writeHead(500, { "content-type": "application/json" });
      outgoing.end(JSON.stringify({ error: { code: "internal", message: "the relay failed to answer", problems: [], transient: true } }));
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const url = `http://${address.address}:${address.port}`;
  const environments = Object.keys(config.environments ?? {});
  let timer;
  if (reconcileEverySeconds > 0) {
    const tick = async () => {
      for (const environment of environments) {
        try {
          await reconcileOnce(relay, environment, store, log);
        } catch (error) {
          log(JSON.stringify({ ts: new Date().toISOString(), job: "reconcile", environment, error: error.code ?? "error", message: error.message }));
        }
      }
    };
    timer = setInterval(tick, reconcileEverySeconds * 1000);
  }
  return {
    url,
    relay,
    store,
    reconcile: (environment) => reconcileOnce(relay, environment, store, log),
    close: () => new Promise((resolve) => {
      clearInterval(timer);
      server.close(() => resolve());
      server.closeAllConnections?.();
    }),
  };
}
