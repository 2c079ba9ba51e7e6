// The relay's shared state in Redis (www/relay/redis-store.js) against a real redis-server started for
// this file (tests/support/redis.mjs): leases with fencing tokens, the shared sliding-window
// allowance, remembered keys, values, the reconcile checkpoint and its lock, and clear failures.
// Several store objects on one Redis stand for several relay instances.
//
// Timing: every wait is either measured against a bound with a wide margin or waits well past an
// expiry (leases of 300 ms are waited out for 700 ms or more), so a slow machine can't flip a result.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import { freePort, startRedis } from "../support/redis.mjs";
import { createRedisStore } from "../../www/relay/redis-store.js";

let redis;
let raw; // a plain client, to look at and tamper with what the store keeps
const opened = [];
let prefixes = 0;

before(async () => {
  redis = await startRedis();
  raw = createClient({ url: redis.url });
  raw.on("error", () => {});
  await raw.connect();
});

after(async () => {
  for (const store of opened) await store.close();
  await raw?.close();
  await redis?.stop();
});

/** A store on the test Redis, under a prefix of its own unless one is given; closed after the file. */
async function open(options = {}) {
  const store = await createRedisStore({ url: redis.url, prefix: `t${++prefixes}:`, ...options });
  opened.push(store);
  return store;
}

test("a lease has one holder at a time, and each new hold gets a greater token", async () => {
  const store = await open();
  const first = await store.tryAcquire("deal:1");
  assert.ok(Number.isSafeInteger(first) && first > 0, `a positive whole token, got ${first}`);
  assert.equal(await store.tryAcquire("deal:1"), null, "held: a second acquire gets nothing");
  assert.equal(await store.renew("deal:1", first), true);
  assert.ok((await store.tryAcquire("deal:2")) > first, "another key is free, and its token is greater");

  assert.equal(store.release("deal:1", first), undefined, "release answers nothing to await");
  // Same connection, in order: the release has run before this acquire.
  const second = await store.tryAcquire("deal:1");
  assert.ok(second > first, `after release the key is free again, with a greater token (${second} > ${first})`);
  assert.equal(await store.renew("deal:1", first), false, "the old token no longer holds it");

  // Two instances on one Redis: the release travels on the first one's connection, so the second
  // one polls (briefly) until it has arrived.
  const instanceA = await open({ prefix: "leases-shared:" });
  const instanceB = await open({ prefix: "leases-shared:" });
  const a = await instanceA.tryAcquire("record:7");
  assert.ok(a > 0);
  assert.equal(await instanceB.tryAcquire("record:7"), null, "another instance sees the hold");
  instanceA.release("record:7", a);
  let b = null;
  for (let i = 0; i < 50 && b === null; i++) {
    b = await instanceB.tryAcquire("record:7");
    if (b === null) await sleep(20);
  }
  assert.ok(b > a, "once released, another instance takes it with a greater token");
});

test("a lease runs out: another takes over, the old holder can tell, and its late release frees nothing", async () => {
  // Leases long enough that a loaded machine's round trips never outlast one by accident.
  const store = await open({ leaseMs: 1_000 });
  const other = await open({ leaseMs: 1_000, prefix: `t${prefixes}:` }); // a second instance, same keys
  const old = await store.tryAcquire("deal:9");
  assert.ok(old > 0);
  assert.equal(await other.tryAcquire("deal:9"), null);
  await sleep(2_200);
  const next = await other.tryAcquire("deal:9");
  assert.ok(next > old, `the lease ran out: taken over with a greater token (${next} > ${old})`);
  assert.equal(await store.renew("deal:9", old), false, "the old holder learns it lost the lease");
  assert.equal(await other.renew("deal:9", next), true);

  store.release("deal:9", old); // late: must not free the new holder's lease
  await sleep(200); // the release's script may need loading first (NOSCRIPT): give it time to run
  assert.equal(await other.renew("deal:9", next), true, "the late release left the new lease alone");
  assert.equal(await store.tryAcquire("deal:9"), null);
  assert.equal(await store.renew("deal:9", 0), false, "not a token");
});

test("tokens keep growing across a restart of a Redis that kept nothing", async () => {
  const own = await startRedis();
  const store = await createRedisStore({ url: own.url });
  let again;
  try {
    const first = await store.tryAcquire("deal:1");
    await own.stop();
    again = await startRedis({ port: own.port });
    let next = null;
    for (let i = 0; i < 100 && next === null; i++) { // reconnects within a few seconds
      next = await store.tryAcquire("deal:1").catch(() => null);
      if (next === null) await sleep(100);
    }
    assert.ok(next > first, `a token after the restart (${next}) exceeds the one before (${first})`);
  } finally {
    await store.close();
    await again?.stop();
    await own.stop();
  }
});

test("reserve keeps at most `limit` sends in any window, as the core's limiter does", async () => {
  const store = await open();
  const window = 2_000;
  const started = Date.now();
  const waits = [];
  for (let i = 0; i < 7; i++) waits.push(await store.reserve("workspace:uat", 3, window));
  const elapsed = Date.now() - started;
  assert.deepEqual(waits.slice(0, 3), [0, 0, 0], "the first three go now");
  for (const i of [3, 4, 5]) {
    assert.ok(waits[i] > 0 && waits[i] <= window, `reservation ${i + 1} waits for the first to leave the window: ${waits[i]}`);
    assert.ok(waits[i] >= window - elapsed - 5, `…which is about ${window} ms less the time spent: ${waits[i]} after ${elapsed} ms`);
  }
  assert.ok(waits[6] > window && waits[6] <= 2 * window && waits[6] >= 2 * window - elapsed - 5, `the seventh waits a second window: ${waits[6]}`);
  assert.equal(await store.reserve("workspace:other", 3, window), 0, "each key has its own window");

  const ttl = await raw.pTTL(`t${prefixes}:window:workspace:uat`);
  assert.ok(ttl > 0 && ttl <= 3 * window, `the window's key expires once its newest reservation leaves (${ttl} ms)`);
});

test("reservations leave the window, after which sends go at once again", async () => {
  const store = await open();
  assert.equal(await store.reserve("w", 1, 300), 0);
  const second = await store.reserve("w", 1, 300);
  assert.ok(second > 0 && second <= 300, `the second waits: ${second}`);
  await sleep(1_000); // both reservations (at ~0 and ~300 ms) are out of their windows by 600 ms
  assert.equal(await store.reserve("w", 1, 300), 0);
});

test("two instances on one Redis share one window", async () => {
  const a = await open({ prefix: "shared-window:" });
  const b = await open({ prefix: "shared-window:" });
  const window = 2_000;
  const started = Date.now();
  assert.equal(await a.reserve("workspace:uat", 3, window), 0);
  assert.equal(await b.reserve("workspace:uat", 3, window), 0);
  assert.equal(await a.reserve("workspace:uat", 3, window), 0);
  const fourth = await b.reserve("workspace:uat", 3, window);
  const fifth = await a.reserve("workspace:uat", 3, window);
  const elapsed = Date.now() - started;
  assert.ok(fourth > 0 && fourth >= window - elapsed - 5, `the fourth, on the other instance, waits: ${fourth} after ${elapsed} ms`);
  assert.ok(fifth > 0 && fifth >= window - elapsed - 5, `and so does the fifth: ${fifth}`);
  // Concurrent reservations from both: still exactly three slots per window.
  const c = await open({ prefix: "shared-window-2:" });
  const d = await open({ prefix: "shared-window-2:" });
  const all = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? c : d).reserve("k", 3, 60_000)));
  assert.equal(all.filter((w) => w === 0).length, 3, `three go now, the rest wait: ${all}`);
});

test("remembered keys are recalled until they expire", async () => {
  const store = await open();
  const other = await open({ prefix: `t${prefixes}:` });
  assert.equal(await store.recalls("uat:delivery-1"), false);
  await store.remember("uat:delivery-1", 400);
  assert.equal(await store.recalls("uat:delivery-1"), true);
  assert.equal(await other.recalls("uat:delivery-1"), true, "another instance recalls it");
  assert.equal(await store.recalls("uat:delivery-2"), false);
  await sleep(900);
  assert.equal(await store.recalls("uat:delivery-1"), false, "expired");
  await assert.rejects(store.remember("x", 0), /ttlMs must be a positive number/);
});

test("values are put and read back, and expire with their time to live", async () => {
  const store = await open();
  assert.equal(await store.get("token:hubspot"), null);
  await store.put("token:hubspot", "abc", 400);
  await store.put("kept", "forever");
  assert.equal(await store.get("token:hubspot"), "abc");
  await store.put("token:hubspot", "def", 400);
  assert.equal(await store.get("token:hubspot"), "def", "replaced");
  await sleep(900);
  assert.equal(await store.get("token:hubspot"), null, "expired");
  assert.equal(await store.get("kept"), "forever");
  assert.equal(await raw.pTTL(`t${prefixes}:value:kept`), -1, "no time to live: no expiry");
  await assert.rejects(store.put("k", 5, 100), /must be a string/);
});

test("the reconcile checkpoint: none, written, read back; a corrupt one is a clear error", async () => {
  const store = await open();
  const { checkpoints } = store;
  assert.equal(await checkpoints.read("uat"), null);
  await checkpoints.write("uat", "2026-03-01T10:00:00Z");
  assert.equal(await checkpoints.read("uat"), "2026-03-01T10:00:00Z");
  assert.equal(await checkpoints.read("production"), null, "per environment");
  await checkpoints.write("uat", null);
  assert.equal(await checkpoints.read("uat"), null);

  const key = `t${prefixes}:checkpoint:uat`;
  await raw.set(key, '{"checkpoint": "2026-03-0');
  await assert.rejects(checkpoints.read("uat"), (error) => {
    assert.match(error.message, /reconcile checkpoint in Redis at redis:\/\/127\.0\.0\.1:\d+ \(key t\d+:checkpoint:uat\) is not valid JSON/);
    assert.match(error.message, /delete the key to list every contract again/);
    return true;
  });
  await raw.set(key, '{"checkpoint": 42}');
  await assert.rejects(checkpoints.read("uat"), /holds 42, not a time/);
});

test("one reconcile pass at a time per environment, across instances", async () => {
  const a = await open({ leaseMs: 1_000 });
  const b = await open({ leaseMs: 1_000, prefix: `t${prefixes}:` });
  let refusal;
  const answer = await a.checkpoints.withLock("uat", async () => {
    refusal = await b.checkpoints.withLock("uat", async () => "ran").catch((error) => error);
    assert.equal(await b.checkpoints.withLock("production", async () => "other"), "other", "another environment is free");
    await sleep(2_200); // longer than the lease: the running pass keeps renewing its lock
    const late = await b.checkpoints.withLock("uat", async () => "ran").catch((error) => error);
    assert.equal(late.code, "busy", "still held while the pass runs, past the lease time");
    return "done";
  });
  assert.equal(answer, "done", "withLock answers what the work answers");
  assert.equal(refusal.code, "busy");
  assert.match(refusal.message, /another reconcile pass for uat is running \(on .+, process \d+, since .+\); try again when it ends/);
  assert.equal(await b.checkpoints.withLock("uat", async () => "ran"), "ran", "released when the pass ended");

  await assert.rejects(a.checkpoints.withLock("uat", async () => { throw new Error("the pass failed"); }), /the pass failed/);
  assert.equal(await b.checkpoints.withLock("uat", async () => "ran"), "ran", "released after a failed pass too");
});

test("a reconcile lock whose holder died runs out and is taken over", async () => {
  const store = await open({ leaseMs: 300 });
  await raw.set(`t${prefixes}:reconcile-lock:uat`, JSON.stringify({ host: "gone-host", pid: 4242, since: "2026-01-01T00:00:00Z" }), { expiration: { type: "PX", value: 300 } });
  await assert.rejects(store.checkpoints.withLock("uat", async () => "ran"), (error) => error.code === "busy" && /gone-host, process 4242/.test(error.message));
  await sleep(700);
  assert.equal(await store.checkpoints.withLock("uat", async () => "ran"), "ran");
});

test("a Redis that isn't running: a clear error within the connect timeout, and no password in it", async () => {
  const port = await freePort();
  const lines = [];
  const started = Date.now();
  await assert.rejects(
    createRedisStore({ url: `redis://relay:s3cret-pw@127.0.0.1:${port}`, connectTimeoutMs: 1_000, log: (line) => lines.push(line) }),
    (error) => {
      assert.match(error.message, new RegExp(`^Redis at redis://relay:\\*\\*\\*@127\\.0\\.0\\.1:${port}: can't connect \\(tried for 1000 ms\\): connection refused`));
      assert.ok(!error.message.includes("s3cret"), error.message);
      return true;
    },
  );
  assert.ok(Date.now() - started < 4_000, `gave up in ${Date.now() - started} ms`);
  assert.ok(lines.length > 0 && lines.every((line) => !line.includes("s3cret")), `logged without the password: ${lines}`);
  await assert.rejects(createRedisStore({ url: "http://127.0.0.1:6379" }), /must start with redis:\/\/ or rediss:\/\//);
  await assert.rejects(createRedisStore({ url: "redis://user:pa ss@[bad" }), (error) => !error.message.includes("pa ss") && /is not a URL/.test(error.message));
});

test("a wrong password is refused at once, without the password in the error", async () => {
  const own = await startRedis({ password: "right-horse-battery" });
  try {
    const store = await createRedisStore({ url: own.url });
    assert.ok((await store.tryAcquire("k")) > 0, "the right password connects");
    await store.close();
    const started = Date.now();
    await assert.rejects(createRedisStore({ url: own.url.replace("right", "wrong") }), (error) => {
      assert.match(error.message, /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: can't connect: WRONGPASS/);
      assert.ok(!error.message.includes("horse"), error.message);
      return true;
    });
    assert.ok(Date.now() - started < 2_000, "not retried until the timeout");
  } finally {
    await own.stop();
  }
});

test("when Redis goes away, calls fail clearly at once, errors are logged (not thrown), and the store reconnects", async () => {
  const own = await startRedis();
  const lines = [];
  const store = await createRedisStore({ url: own.url, log: (line) => lines.push(line) });
  let again;
  try {
    await store.put("k", "v");
    await own.stop();
    const started = Date.now();
    await assert.rejects(store.get("k"), /^Error: Redis at redis:\/\/127\.0\.0\.1:\d+: reading k: (not connected \(reconnecting\)|the connection closed)/);
    assert.ok(Date.now() - started < 2_000, "a call while disconnected fails without waiting");
    store.release("deal:1", 1); // fire and forget: logged, never an unhandled rejection
    await sleep(300);
    assert.ok(lines.some((line) => /connection refused|connection closed/.test(line)), `the outage is logged: ${lines}`);
    assert.ok(lines.some((line) => /releasing the lease on deal:1/.test(line)), `the failed release is logged: ${lines}`);

    again = await startRedis({ port: own.port });
    let answer;
    for (let i = 0; i < 100 && answer === undefined; i++) {
      answer = await store.get("k").catch(() => undefined);
      if (answer === undefined) await sleep(100);
    }
    assert.equal(answer, null, "back: the new Redis kept nothing");
    assert.ok(lines.some((line) => /connected again/.test(line)));
  } finally {
    await store.close();
    await again?.stop();
    await own.stop();
  }
});

test("a Redis that stops answering: a call fails after the command timeout, not never", async () => {
  const own = await startRedis();
  const pauser = createClient({ url: own.url });
  pauser.on("error", () => {});
  await pauser.connect();
  const store = await createRedisStore({ url: own.url, commandTimeoutMs: 300 });
  try {
    await pauser.sendCommand(["CLIENT", "PAUSE", "2000", "ALL"]); // the server holds every client's commands
    const started = Date.now();
    await assert.rejects(store.renew("deal:1", 5), /^Error: Redis at redis:\/\/127\.0\.0\.1:\d+: renewing the lease on deal:1: no answer within 300 ms$/);
    assert.ok(Date.now() - started < 1_500, `gave up after ${Date.now() - started} ms`);
    await pauser.sendCommand(["CLIENT", "UNPAUSE"]);
    assert.equal(await store.renew("deal:1", 5), false, "answers again once the server does");
  } finally {
    await store.close();
    await pauser.close();
    await own.stop();
  }
});

test("closing is safe twice, and a closed store says so", async () => {
  const store = await createRedisStore({ url: redis.url });
  await store.close();
  await store.close();
  await assert.rejects(store.get("k"), /the store is closed/);
});
