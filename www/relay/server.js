// Node entry point: an http server around the fetch-style handler, optional scheduled
// reconciliation with a checkpoint that survives restarts, and a clean shutdown.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SdxRelay } from "../../pkg/node.js";
import { fileEntryLog } from "./entry-log.js";
import { createConsoleHandler } from "./console-files.js";
import { MAX_BODY_BYTES, createRelayHandler, errorBody } from "./handler.js";
import { cachingHeaders, createSidebarHandler } from "./sidebar-files.js";

/**
 * Splits a relay configuration document into what the core reads (`environments`) and the Node
 * host's own settings beside it: `sidebar` (serve the sidebar page) and `http` (how the relay is
 * reached: `publicUrl`, `trustedProxies`).
 */
export function hostSettings(config) {
  const { sidebar, http, shared, ...core } = config ?? {};
  const unknown = Object.keys(shared ?? {}).filter((key) => !["redisUrl", "lockLeaseMs", "keyPrefix"].includes(key));
  if (unknown.length > 0) throw new Error(`shared.${unknown[0]} is not a setting (shared takes redisUrl, lockLeaseMs, keyPrefix)`);
  return { core, sidebar, http: http ?? {}, shared: shared ?? {} };
}

/**
 * Where the relay's shared state lives: with `shared.redisUrl` (or `serve --redis`), in Redis, so
 * several instances behave as one relay (locks, the SpotDraft allowance, applied deliveries and the
 * reconcile checkpoint, the audit log and the setup history); otherwise in this process, with the
 * checkpoint, the audit log and the setup history in `stateDir`.
 * `shared.lockLeaseMs`: how long a lock outlives an instance that died holding it (default 60 s);
 * `shared.keyPrefix`: this relay's keys in a Redis that others use too (default "sdx:").
 */
export async function openSharedState({ redisUrl, lockLeaseMs, keyPrefix, stateDir, log }) {
  if (!redisUrl) {
    return { shared: undefined, audit: fileEntryLog(stateDir, "audit"), setupHistory: fileEntryLog(stateDir, "setup"), checkpoints: checkpointStore(stateDir), close: async () => {} };
  }
  const lease = lockLeaseMs === undefined ? undefined : Number(lockLeaseMs);
  if (lease !== undefined && !(Number.isInteger(lease) && lease >= 1000)) throw new Error(`shared.lockLeaseMs: ${lockLeaseMs} is not a whole number of milliseconds (1000 or more)`);
  // Loaded only when configured: a one-process relay never loads the Redis client.
  const { createRedisStore } = await import("./redis-store.js");
  if (keyPrefix !== undefined && !/^[A-Za-z0-9:._-]{1,64}$/.test(String(keyPrefix))) throw new Error(`shared.keyPrefix: "${keyPrefix}" must be 1 to 64 letters, digits or : . _ -`);
  const store = await createRedisStore({ url: redisUrl, leaseMs: lease, prefix: keyPrefix, log: (line) => log(JSON.stringify({ ts: new Date().toISOString(), job: "shared-store", message: String(line) })) });
  return { shared: store, audit: store.audit, setupHistory: store.setupHistory, checkpoints: store.checkpoints, close: () => store.close() };
}

/** "127.0.0.1" for "::ffff:127.0.0.1"; addresses compare in one form. */
function plainAddress(address) {
  return String(address ?? "").replace(/^::ffff:/, "");
}

const HOST_AND_PORT = /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/;

/**
 * Where requests are taken to have been addressed: HubSpot signs the exact https URL it called, so
 * this is what signatures are checked against. A configured public URL wins; forwarded headers
 * (`X-Forwarded-Proto`, `X-Forwarded-Host`) count only when the peer is a configured trusted proxy;
 * otherwise the address the relay listens on. A `Host` header alone never decides it.
 */
export function requestOrigin({ publicOrigin, trustedProxies = [], listenOrigin }, incoming) {
  if (publicOrigin) return publicOrigin;
  if (trustedProxies.includes(plainAddress(incoming.socket?.remoteAddress))) {
    const first = (name) => String(incoming.headers[name] ?? "").split(",")[0].trim();
    const proto = first("x-forwarded-proto").toLowerCase();
    const forwardedHost = first("x-forwarded-host") || String(incoming.headers.host ?? "");
    if ((proto === "https" || proto === "http") && HOST_AND_PORT.test(forwardedHost)) return `${proto}://${forwardedHost.toLowerCase()}`;
  }
  return listenOrigin;
}

/** A configured public URL as an origin: https (http only on loopback), nothing after the authority. */
export function parsePublicUrl(text) {
  if (text === undefined || text === null || text === "") return undefined;
  let url;
  try {
    url = new URL(String(text));
  } catch {
    throw new Error(`http.publicUrl: "${text}" is not a URL`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) throw new Error(`http.publicUrl: "${text}" must be https (http only on loopback)`);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username || url.password) {
    throw new Error(`http.publicUrl: "${text}" must be an origin such as https://relay.example.com, with no path (serve the relay at the root of its host)`);
  }
  return url.origin;
}

/**
 * The reconcile checkpoint per environment, in `stateDir`, safe with several writers (`serve` and a
 * manual `reconcile`): each write goes to a file of its own, is flushed to disk and renamed over the
 * checkpoint (atomic), so a reader sees the old or the new checkpoint, never part of one; a pass
 * holds a lock file so two passes never overlap. A checkpoint that cannot be read is a loud error,
 * never silently "no checkpoint" (which would re-list everything).
 */
export function checkpointStore(stateDir) {
  mkdirSync(stateDir, { recursive: true });
  const file = (environment) => join(stateDir, `reconcile-${environment}.json`);
  const lockFile = (environment) => join(stateDir, `reconcile-${environment}.lock`);
  return {
    read(environment) {
      let text;
      try {
        text = readFileSync(file(environment), "utf8");
      } catch (error) {
        if (error.code === "ENOENT") return null;
        throw new Error(`the reconcile checkpoint ${file(environment)} can't be read: ${error.message}`);
      }
      let checkpoint;
      try {
        ({ checkpoint } = JSON.parse(text));
      } catch {
        throw new Error(`the reconcile checkpoint ${file(environment)} is not valid JSON (truncated or corrupt): fix it, or delete it to list every contract again`);
      }
      if (checkpoint !== null && (typeof checkpoint !== "string" || Number.isNaN(Date.parse(checkpoint)))) {
        throw new Error(`the reconcile checkpoint ${file(environment)} holds ${JSON.stringify(checkpoint)}, not a time: fix it, or delete it to list every contract again`);
      }
      return checkpoint;
    },
    write(environment, checkpoint) {
      const target = file(environment);
      const temporary = `${target}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
      const fd = openSync(temporary, "wx", 0o600);
      try {
        writeSync(fd, JSON.stringify({ checkpoint, savedAt: new Date().toISOString() }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, target);
      const dir = openSync(stateDir, "r");
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    },
    /** Runs `work` holding this environment's reconcile lock; refuses clearly while another pass holds it. */
    async withLock(environment, work) {
      const path = lockFile(environment);
      const take = () => writeFileSync(path, JSON.stringify({ pid: process.pid, since: Date.now() }), { flag: "wx", mode: 0o600 });
      try {
        take();
      } catch (error) {
        if (error.code !== "EEXIST") throw error;
        let holder = {};
        try {
          holder = JSON.parse(readFileSync(path, "utf8"));
        } catch {
          // Unreadable: treated as stale below.
        }
        if (isAlive(holder.pid) && Date.now() - Number(holder.since ?? 0) < STALE_LOCK_MS) {
          throw Object.assign(new Error(`another reconcile pass for ${environment} is running (process ${holder.pid}); try again when it ends`), { code: "busy" });
        }
        // The holder is gone (killed mid-pass) or long stuck: take over.
        rmSync(path, { force: true });
        take();
      }
      try {
        return await work();
      } finally {
        rmSync(path, { force: true });
      }
    },
  };
}

/** A pass holding its lock longer than this is taken to be stuck. */
const STALE_LOCK_MS = 15 * 60 * 1000;

function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** One reconciliation pass from the stored checkpoint, under the environment's lock. */
export async function reconcileOnce(relay, environment, store, log = (line) => console.log(line)) {
  return store.withLock(environment, async () => {
    // The file store answers at once, the Redis store with a promise: await serves both.
    const since = await store.read(environment);
    const report = await relay.reconcile(environment, since ?? undefined);
    // The core's checkpoint never passes a record that failed (it stays where this pass started).
    await store.write(environment, report.checkpoint ?? null);
    log(JSON.stringify({ ts: new Date().toISOString(), job: "reconcile", since, ...report }));
    return report;
  });
}

class BodyTooLarge extends Error {}

/** The request body, read only up to MAX_BODY_BYTES: a larger one is refused before it is buffered. */
async function readLimitedBody(incoming) {
  if (Number(incoming.headers["content-length"] ?? 0) > MAX_BODY_BYTES) throw new BodyTooLarge();
  const chunks = [];
  let size = 0;
  for await (const chunk of incoming) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// Methods fetch's Request accepts; anything else (TRACE, CONNECT, …) is answered 405 here.
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

async function toRequest(incoming, origin, signal) {
  const body = await readLimitedBody(incoming);
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
    else if (value !== undefined) headers.set(name, value);
  }
  const hasBody = !["GET", "HEAD"].includes(incoming.method);
  return new Request(new URL(incoming.url, origin), { method: incoming.method, headers, body: hasBody ? body : undefined, signal });
}

export async function startRelayServer({
  config,
  port = 8788,
  host = "127.0.0.1",
  stateDir = ".relay-state",
  reconcileEverySeconds = 0,
  publicUrl,
  trustedProxies,
  redisUrl,
  log = (line) => console.log(line),
}) {
  // `sidebar` (optional, beside `environments`): this relay also serves the sidebar page, with the
  // CSP built from `sidebar.hostOrigins` (the CRM origins that may frame it). `http`: how the relay is
  // reached (options given here win over the document's). Neither is the core's.
  const { core: coreConfig, sidebar, http, shared: sharedSettings } = hostSettings(config);
  const publicOrigin = parsePublicUrl(publicUrl ?? http.publicUrl);
  const proxies = (trustedProxies ?? http.trustedProxies ?? []).map(plainAddress);
  const state = await openSharedState({ ...sharedSettings, redisUrl: redisUrl ?? sharedSettings.redisUrl, stateDir, log });
  let relay;
  try {
    relay = new SdxRelay(coreConfig, { shared: state.shared, audit: state.audit, setupHistory: state.setupHistory });
  } catch (error) {
    await state.close();
    throw error;
  }
  const handler = createRelayHandler(relay, { log });
  const sidebarHandler = sidebar
    ? createSidebarHandler({ settings: () => ({ hostOrigins: sidebar.hostOrigins ?? [], relayUrl: sidebar.relayUrl ?? publicOrigin }) })
    : null;
  // The admin console's page: always served (it holds nothing; its data needs an admin secret).
  const consoleHandler = createConsoleHandler();
  const store = state.checkpoints;
  const server = createServer(async (incoming, outgoing) => {
    try {
      const origin = requestOrigin({ publicOrigin, trustedProxies: proxies, listenOrigin }, incoming);
      if (!METHODS.has(incoming.method)) {
        outgoing.writeHead(405, { "content-type": "application/json", allow: "GET, POST, OPTIONS" });
        outgoing.end(errorBody("method_not_allowed", "this method is not served"));
        incoming.resume();
        return;
      }
      let response = null;
      if (incoming.method === "GET" || incoming.method === "HEAD") {
        const request = new Request(new URL(incoming.url, origin), { method: incoming.method, headers: { "accept-encoding": incoming.headers["accept-encoding"] ?? "" } });
        response = await consoleHandler(request);
        if (response) log(JSON.stringify({ ts: new Date().toISOString(), method: incoming.method, path: new URL(incoming.url, origin).pathname, status: response.status, route: "console page" }));
      }
      if (!response && sidebarHandler && (incoming.method === "GET" || incoming.method === "HEAD")) {
        response = await sidebarHandler(new Request(new URL(incoming.url, origin), { method: incoming.method, headers: cachingHeaders(incoming) }));
        if (response) log(JSON.stringify({ ts: new Date().toISOString(), method: incoming.method, path: new URL(incoming.url, origin).pathname, status: response.status, route: "sidebar page" }));
      }
      if (!response) {
        // A client that closes its connection before the answer aborts its request's work.
        const gone = new AbortController();
        outgoing.once("close", () => {
          if (!outgoing.writableFinished) gone.abort();
        });
        response = await handler(await toRequest(incoming, origin, gone.signal));
        if (gone.signal.aborted) return;
      }
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        log(JSON.stringify({ ts: new Date().toISOString(), method: incoming.method, path: new URL(incoming.url, "http://relay").pathname, status: 413, route: "too large" }));
        // Close the connection rather than read the rest of an oversized body.
        outgoing.writeHead(413, { "content-type": "application/json", connection: "close" });
        outgoing.end(errorBody("too_large", "the request body is too large"));
        return;
      }
      log(JSON.stringify({ ts: new Date().toISOString(), error: "relay_host_failure", message: String(error?.message ?? error) }));
      outgoing.writeHead(500, { "content-type": "application/json" });
      outgoing.end(errorBody("internal", "the relay failed to answer", true));
    }
  });
  let listenOrigin = `http://${host}:${port}`;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  listenOrigin = url;
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
    publicOrigin: publicOrigin ?? url,
    relay,
    store,
    reconcile: (environment) => reconcileOnce(relay, environment, store, log),
    close: async () => {
      clearInterval(timer);
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
      await state.close();
    },
  };
}
