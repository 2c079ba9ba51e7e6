// The relay's shared state in Redis, so that several relay instances behave as one: per-key leases
// with fencing tokens, the sliding-window reservations of the SpotDraft allowance, keys that expire
// (webhook deliveries already applied), short-lived values, and the reconcile checkpoint with its
// lock. The core calls these methods through wasm-bindgen (see wasm/src/shared_store.rs); server.js
// opens the store when `shared.redisUrl` (or `serve --redis`) is configured.
//
// Every step that reads and then writes is one Lua script, so it is atomic across instances, and
// every time is Redis's own (TIME, key expiry): the instances share one clock, whatever theirs say.
//
// Keys (all under `prefix`, "sdx:" by default):
//   lease:<key>           the fencing token of the lease's holder, expiring with the lease
//   fence                 the counter tokens are drawn from (one for all keys: a token is greater
//                         than every token handed out before it, on any key, even across a restart
//                         of a Redis that kept nothing: see ACQUIRE)
//   window:<key>          sorted set of reserved send times (ms), members "<time>:<n>"
//   seen:<key>            a remembered key, expiring
//   value:<key>           a value put with put(), expiring if given a time to live
//   checkpoint:<env>      the reconcile checkpoint, JSON {"checkpoint": …, "savedAt": …}; never
//                         expires (a Redis that keeps nothing on disk loses it on restart, and the
//                         next pass then lists every contract again)
//   reconcile-lock:<env>  the holder of an environment's reconcile pass
//   audit:<env>           the audit log, a list of JSON entries, newest first, the newest 10,000 kept
//   setup:<env>           the setup history (versions admins saved in the console), the same way
//
// Redis's answers and failures come back as errors naming the server as "Redis at redis://host:port"
// (a password in the URL never appears in an error or a log line).
import { createHash, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  TimeoutError,
  createClient,
} from "redis";

/** How long connecting may take before the store gives up (retrying meanwhile, e.g. while Redis starts). */
const CONNECT_TIMEOUT_MS = 5_000;
/** How long one command may wait for its answer. */
const COMMAND_TIMEOUT_MS = 5_000;
/** How long close() waits for commands in flight before dropping the connection. */
const CLOSE_TIMEOUT_MS = 2_000;
/** An entry log's length per environment, as the core's MemoryEntryLog keeps it. */
const LOG_ENTRIES = 10_000;
/** A reconcile pass holding its lock longer than this is taken to be stuck: its lock is no longer renewed. */
const STUCK_PASS_MS = 15 * 60 * 1000;

function script(text) {
  return { text, sha: createHash("sha1").update(text).digest("hex") };
}

// KEYS: lease, fence. ARGV: lease ms. The new token, or nil while an unexpired lease is held.
// A missing counter starts at Redis's time in microseconds, not at 1: after a restart of a Redis that
// kept nothing, tokens still exceed every one handed out before (the counter moves by one per lease,
// far slower than the clock), so a holder from before the restart can't pass for a new one. That
// stays below 2^53 (exact as a JS number) for two more centuries.
const ACQUIRE = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token
if redis.call('EXISTS', KEYS[2]) == 1 then
  token = redis.call('INCR', KEYS[2])
else
  local t = redis.call('TIME')
  token = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('SET', KEYS[2], string.format('%d', token))
end
redis.call('SET', KEYS[1], string.format('%d', token), 'PX', ARGV[1])
return token
`);

// KEYS: lease. ARGV: token. Deletes the lease only if that token still holds it (1), else 0.
const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

// KEYS: a lease or lock. ARGV: its holder, ms. Extends it only if that holder still has it (1), else 0.
const RENEW = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

// KEYS: window. ARGV: limit, window ms. The ms to wait for the slot reserved (0: now).
// The algorithm of src/relay/limiter.rs and MemoryState::reserve_now (src/relay/shared.rs): drop the
// reservations that left the window (t + window <= now); with fewer than `limit` left the slot is
// now, else it is just after the reservation `limit` back from the newest leaves the window.
const RESERVE = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
local count = redis.call('ZCARD', KEYS[1])
local slot = now
if count >= limit then
  local back = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  slot = math.max(now, tonumber(back[2]) + window)
end
-- Members must be unique and several reservations can share a time. All reservations of one time
-- leave the window together, so the ones of this slot are numbered 0..n-1 and n is free.
local same = redis.call('ZCOUNT', KEYS[1], string.format('%d', slot), string.format('%d', slot))
redis.call('ZADD', KEYS[1], string.format('%d', slot), string.format('%d:%d', slot, same))
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], string.format('%d', tonumber(newest[2]) + window - now))
return slot - now
`);

/** `url` as it may be shown: any password replaced by "***". */
function shownUrl(url) {
  if (url.password) {
    const copy = new URL(url.href);
    copy.password = "***";
    return copy.href.replace(/\/$/, "");
  }
  return url.href.replace(/\/$/, "");
}

/** A failure's plain reason, from node-redis's and Node's errors. */
function reason(error, timeoutMs) {
  const cause = error?.originalError ?? error; // ReconnectStrategyError wraps the socket's error
  const code = cause?.code ?? cause?.errors?.find?.((e) => e?.code)?.code; // AggregateError: one per address tried
  switch (code) {
    case "ECONNREFUSED": return "connection refused (is Redis running there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN": return "its host name does not resolve";
    case "ETIMEDOUT": return "connecting timed out";
    case "ECONNRESET": return "the connection was reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH": return "the host is unreachable";
    default: break;
  }
  if (cause instanceof ConnectionTimeoutError) return "connecting timed out";
  if (cause instanceof TimeoutError) return `no answer within ${timeoutMs} ms`;
  if (cause instanceof ClientClosedError) return "the store is closed";
  if (cause instanceof ClientOfflineError) return "not connected (reconnecting)";
  if (cause instanceof SocketClosedUnexpectedlyError || cause instanceof DisconnectsClientError) return "the connection closed";
  return String(cause?.message || cause || "it failed");
}

/** A whole, positive number of milliseconds (fractions round up), or a TypeError naming `what`. */
function positiveMs(what, value) {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`${what} must be a positive number of milliseconds, not ${JSON.stringify(value) ?? String(value)}`);
  return Math.ceil(n);
}

function keyText(what, key) {
  if (typeof key !== "string" || key === "") throw new TypeError(`${what}: the key must be a non-empty string`);
  return key;
}

/** A token as stored: the decimal digits of a positive safe integer, or null for anything else. */
function tokenText(token) {
  const n = typeof token === "bigint" ? Number(token) : token;
  return Number.isSafeInteger(n) && n > 0 ? String(n) : null;
}

/**
 * Connects to Redis at `url` and answers the relay's shared store (see the top of this file).
 * Rejects with a clear error when Redis can't be reached within `connectTimeoutMs`.
 */
export async function createRedisStore({
  url,
  leaseMs = 60_000,
  prefix = "sdx:",
  log = () => {},
  connectTimeoutMs = CONNECT_TIMEOUT_MS,
  commandTimeoutMs = COMMAND_TIMEOUT_MS,
} = {}) {
  let parsed;
  try {
    parsed = new URL(String(url ?? ""));
  } catch {
    // Not echoed: a malformed URL may still carry a password.
    throw new Error("the shared store's Redis URL is not a URL (expected redis://[user:password@]host:port[/db])");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new Error(`the shared store's Redis URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  const where = `Redis at ${shownUrl(parsed)}`;
  const secrets = [];
  if (parsed.password) {
    secrets.push(parsed.password); // as written (percent-encoded) and as sent
    try {
      secrets.push(decodeURIComponent(parsed.password));
    } catch {
      // Not valid percent-encoding: the form as written is all there is.
    }
  }
  /** `text` with any password from the URL blanked out (whatever a server or library put in it). */
  const scrub = (text) => secrets.reduce((out, secret) => out.split(secret).join("***"), String(text));
  const say = (line) => {
    try {
      log(scrub(line));
    } catch {
      // A failing logger must not break the store.
    }
  };
  const failure = (error, doing) => {
    const wrapped = new Error(scrub(`${where}: ${doing ? `${doing}: ` : ""}${reason(error, commandLimit)}`));
    if (error?.code) wrapped.code = error.code;
    return wrapped;
  };

  const lease = positiveMs("createRedisStore: leaseMs", leaseMs);
  const connectLimit = positiveMs("createRedisStore: connectTimeoutMs", connectTimeoutMs);
  const commandLimit = positiveMs("createRedisStore: commandTimeoutMs", commandTimeoutMs);
  const pre = String(prefix ?? "");

  let ready = false; // became ready once: from then on, reconnect for as long as it takes
  let closed = false;
  let lastError = null;
  const started = Date.now();
  const client = createClient({
    url: parsed.href,
    // While reconnecting, commands fail at once (the core sees a transient error) instead of queueing.
    disableOfflineQueue: true,
    commandOptions: { timeout: commandLimit },
    socket: {
      connectTimeout: connectLimit,
      reconnectStrategy: (retries, cause) => {
        lastError = cause;
        if (closed) return false;
        if (!ready) {
          // The server answered but refused (a wrong password, say): trying again won't change that.
          if (cause instanceof ErrorReply) return new Error("refused");
          return Date.now() - started + 200 < connectLimit ? 200 : new Error("gave up connecting");
        }
        return Math.min(100 * 2 ** Math.min(retries, 5), 2_000);
      },
    },
  });
  // An error event with no listener would crash the process: log each distinct one once per outage.
  let loggedError = "";
  client.on("error", (error) => {
    lastError = error;
    const line = `${where}: ${reason(error, commandLimit)}`;
    if (line !== loggedError) {
      loggedError = line;
      say(line);
    }
  });
  client.on("ready", () => {
    if (ready && loggedError) say(`${where}: connected again`);
    loggedError = "";
  });

  let timer;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("connecting timed out"), { code: "ETIMEDOUT" })), connectLimit + 500);
      }),
    ]);
  } catch (error) {
    closed = true;
    try {
      client.destroy();
    } catch {
      // Already torn down.
    }
    // A timeout or the strategy's "gave up" says less than the socket's own last error.
    // The strategy's "gave up" or the timeout say less than the last error seen.
    const telling = (error?.code === "ETIMEDOUT" || error instanceof ReconnectStrategyError) && lastError ? lastError : error;
    throw failure(telling, telling instanceof ErrorReply ? "can't connect" : `can't connect (tried for ${connectLimit} ms)`);
  } finally {
    clearTimeout(timer);
  }
  ready = true;
  // Loaded now, so that the first use of each runs in order with the commands around it (and skips
  // a NOSCRIPT round trip); evaluate() still loads one a restarted or flushed server lacks.
  try {
    for (const { text } of [ACQUIRE, RELEASE, RENEW, RESERVE]) await client.scriptLoad(text);
  } catch (error) {
    closed = true;
    client.destroy();
    throw failure(error, "loading the store's scripts");
  }

  /**
   * Runs one Redis call, turning any failure into a clear error. Bounded here: node-redis's own
   * command timeout stops only the wait to be sent, not the wait for a stalled server's answer.
   */
  async function run(doing, call) {
    let timer;
    try {
      return await Promise.race([
        call(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new TimeoutError()), commandLimit);
        }),
      ]);
    } catch (error) {
      throw failure(error, doing);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a Lua script by its SHA1, loading it once if this server doesn't know it yet. */
  async function evaluate(doing, { text, sha }, keys, args) {
    return run(doing, async () => {
      try {
        return await client.evalSha(sha, { keys, arguments: args.map(String) });
      } catch (error) {
        if (!String(error?.message).startsWith("NOSCRIPT")) throw error;
        return client.eval(text, { keys, arguments: args.map(String) });
      }
    });
  }

  const leaseKey = (key) => `${pre}lease:${keyText("lease", key)}`;
  const checkpointKey = (environment) => `${pre}checkpoint:${keyText("checkpoint", String(environment ?? ""))}`;
  const lockKey = (environment) => `${pre}reconcile-lock:${keyText("reconcile lock", String(environment ?? ""))}`;

  const checkpoints = {
    // Unlike the file store (checkpointStore in server.js), read and write answer with promises:
    // callers await them (reconcileOnce does, which serves both stores).

    /** The checkpoint stored for `environment`, or null; a stored value that is not one is a loud error. */
    async read(environment) {
      const key = checkpointKey(environment);
      const text = await run(`reading ${key}`, () => client.get(key));
      if (text === null) return null;
      let checkpoint;
      try {
        ({ checkpoint } = JSON.parse(text));
      } catch {
        throw new Error(`the reconcile checkpoint in ${where} (key ${key}) is not valid JSON (truncated or corrupt): fix it, or delete the key to list every contract again`);
      }
      if (checkpoint !== null && (typeof checkpoint !== "string" || Number.isNaN(Date.parse(checkpoint)))) {
        throw new Error(`the reconcile checkpoint in ${where} (key ${key}) holds ${JSON.stringify(checkpoint)}, not a time: fix it, or delete the key to list every contract again`);
      }
      return checkpoint;
    },

    /** Stores `checkpoint` (a time, or null) for `environment`, replacing the one before it at once. */
    async write(environment, checkpoint) {
      const key = checkpointKey(environment);
      await run(`writing ${key}`, () => client.set(key, JSON.stringify({ checkpoint, savedAt: new Date().toISOString() })));
    },

    /**
     * Runs `work` holding this environment's reconcile lock, across every instance; refuses with an
     * error of code "busy" while another pass holds it. The lock lasts `leaseMs` and is renewed while
     * the pass runs, so a holder that died frees it within `leaseMs`; a pass still running after
     * 15 minutes is taken to be stuck and its lock is left to run out.
     */
    async withLock(environment, work) {
      const key = lockKey(environment);
      const holder = JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString(), id: randomBytes(8).toString("hex") });
      const taken = await run(`taking ${key}`, () => client.set(key, holder, { condition: "NX", expiration: { type: "PX", value: lease } }));
      if (taken !== "OK") {
        let other = {};
        try {
          other = JSON.parse((await client.get(key)) ?? "{}") ?? {};
        } catch {
          // Who holds it is only for the message.
        }
        const who = other.host ? ` (on ${other.host}, process ${other.pid}, since ${other.since})` : "";
        throw Object.assign(new Error(`another reconcile pass for ${environment} is running${who}; try again when it ends`), { code: "busy" });
      }
      const since = Date.now();
      const renewal = setInterval(() => {
        if (Date.now() - since > STUCK_PASS_MS) {
          say(`${where}: the reconcile pass for ${environment} has run ${Math.round(STUCK_PASS_MS / 60_000)} minutes: its lock is no longer renewed`);
          clearInterval(renewal);
          return;
        }
        evaluate(`renewing ${key}`, RENEW, [key], [holder, lease]).then(
          (renewed) => {
            if (renewed !== 1) {
              say(`${where}: the reconcile lock for ${environment} was lost (it ran out and another pass may have taken it)`);
              clearInterval(renewal);
            }
          },
          (error) => say(error.message),
        );
      }, Math.max(Math.floor(lease / 3), 50));
      renewal.unref();
      try {
        return await work();
      } finally {
        clearInterval(renewal);
        try {
          await evaluate(`releasing ${key}`, RELEASE, [key], [holder]);
        } catch (error) {
          // The pass's own outcome matters more; the lock runs out by itself.
          say(`${error.message} (the lock runs out within ${lease} ms)`);
        }
      }
    },
  };

  /** A list per environment, newest first, capped (the core's EntryLog). */
  const entryLog = (name, label) => ({
    async append(environment, entry) {
      const lk = `${pre}${name}:${keyText(name, environment)}`;
      if (typeof entry !== "string") throw new TypeError(`${name}.append: the entry must be a string`);
      await run(`adding to the ${label} of ${environment}`, () => client.multi().lPush(lk, entry).lTrim(lk, 0, LOG_ENTRIES - 1).exec());
    },
    async recent(environment, limit) {
      const lk = `${pre}${name}:${keyText(name, environment)}`;
      const count = Math.min(Math.max(1, Math.floor(Number(limit) || 1)), LOG_ENTRIES);
      return run(`reading the ${label} of ${environment}`, () => client.lRange(lk, 0, count - 1));
    },
  });

  return {
    /** A lease on `key` for `leaseMs`: its fencing token (greater than any before it), or null while another holds one. */
    async tryAcquire(key) {
      const token = await evaluate(`taking the lease on ${key}`, ACQUIRE, [leaseKey(key), `${pre}fence`], [lease]);
      return token === null || token === undefined ? null : Number(token);
    },

    /** Gives up the lease on `key` if `token` still holds it. Fire and forget: answers nothing, logs a failure. */
    release(key, token) {
      const text = tokenText(token);
      if (text === null) {
        say(`release of ${key}: ${String(token)} is not a token`);
        return undefined;
      }
      let lk;
      try {
        lk = leaseKey(key);
      } catch (error) {
        say(error.message);
        return undefined;
      }
      evaluate(`releasing the lease on ${key}`, RELEASE, [lk], [text]).catch((error) => say(`${error.message} (the lease runs out by itself)`));
      return undefined;
    },

    /**
     * Whether `token` still holds the lease on `key` (false once it ran out or was released); if it
     * does, its lease starts again: a holder that checks before each step keeps its key while it works.
     */
    async renew(key, token) {
      const text = tokenText(token);
      if (text === null) return false;
      return (await evaluate(`renewing the lease on ${key}`, RENEW, [leaseKey(key)], [text, lease])) === 1;
    },

    /**
     * Reserves the earliest send time such that no `windowMs` holds more than `limit` reservations
     * of `key`, shared by every instance: the ms to wait for it (0: go now).
     */
    async reserve(key, limit, windowMs) {
      const wk = `${pre}window:${keyText("reserve", key)}`;
      const most = Math.max(1, Math.floor(Number(limit)) || 1);
      const window = positiveMs("reserve: windowMs", windowMs);
      return Number(await evaluate(`reserving on ${key}`, RESERVE, [wk], [most, window]));
    },

    /** Remembers `key` for `ttlMs`. */
    async remember(key, ttlMs) {
      const sk = `${pre}seen:${keyText("remember", key)}`;
      const ttl = positiveMs("remember: ttlMs", ttlMs);
      await run(`remembering ${key}`, () => client.set(sk, "1", { expiration: { type: "PX", value: ttl } }));
    },

    /** Whether `key` is remembered (and has not expired). */
    async recalls(key) {
      const sk = `${pre}seen:${keyText("recalls", key)}`;
      return (await run(`looking up ${key}`, () => client.exists(sk))) === 1;
    },

    /** The value put under `key`, or null. */
    async get(key) {
      const vk = `${pre}value:${keyText("get", key)}`;
      return run(`reading ${key}`, () => client.get(vk));
    },

    /** Puts `value` (a string) under `key`, for `ttlMs` (omitted: until replaced). */
    async put(key, value, ttlMs) {
      const vk = `${pre}value:${keyText("put", key)}`;
      if (typeof value !== "string") throw new TypeError(`put: the value of ${key} must be a string`);
      const options = ttlMs === undefined || ttlMs === null ? undefined : { expiration: { type: "PX", value: positiveMs("put: ttlMs", ttlMs) } };
      await run(`writing ${key}`, () => client.set(vk, value, options));
    },

    checkpoints,

    /** The relay's audit log (SdxRelay's `audit` option). */
    audit: entryLog("audit", "audit log"),
    /** The setups admins saved in the console (SdxRelay's `setupHistory` option). */
    setupHistory: entryLog("setup", "setup history"),

    /** Closes the connection (waiting briefly for commands in flight). Safe to call more than once. */
    async close() {
      if (closed) return;
      closed = true;
      let timer;
      let drained = false;
      try {
        await Promise.race([
          client.close().then(() => { drained = true; }),
          new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_TIMEOUT_MS); }),
        ]);
      } catch {
        // Not connected (reconnecting): dropped below.
      } finally {
        clearTimeout(timer);
      }
      if (!drained) {
        try {
          client.destroy();
        } catch {
          // Torn down already.
        }
      }
    },
  };
}
