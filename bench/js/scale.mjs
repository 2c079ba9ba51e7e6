// Scale-out: the relay as 1, 2 and 3 instances (separate `cli.js serve` processes sharing their state
// in one Redis) behind the round-robin proxy of tests/soak/instances.mjs, against the sandbox on
// loopback (no injected faults or latency, no sandbox rate limit). The three instances are started
// once; configuration N is a proxy (in its own process) over the first N of them. Rounds take the
// configurations in turn, each round in another order, so drift on a shared machine hits all alike.
// Per configuration and round:
//
//   1. webhook throughput: 64 concurrent senders post signed SpotDraft status deliveries to the proxy
//      for BENCH_SCALE_SECONDS: 16 first deliveries of a status SpotDraft has just moved to (a CRM
//      read, the confirming SpotDraft status read, a CRM write), then byte-identical redeliveries of
//      applied ones (answered from the shared applied set) alternating with late deliveries of older
//      activities (a CRM read, then ignored), each sender on a deal of its own. Deliveries/s, and per
//      relay-core-second from the instances' CPU time in /proc/<pid>/stat;
//   2. added latency per webhook at 1, 8 and 64 concurrent deliveries: a late delivery through proxy
//      and relay next to its one upstream request (the deal's SpotDraft fields read from the CRM)
//      made directly, as relay-overhead.mjs measures "added";
//   3. sidebar opens: 8 and 64 concurrent sidebars, each on its own deal with a contract, call
//      GET /api/uat/deals/{deal}/contracts with its bearer token: cold (the deal's first open), then
//      warm (the same deals again, so the relay may answer from what it knows), each next to the
//      direct SpotDraft listing for the same deals, with the SpotDraft and CRM requests the opens
//      caused (the sandbox's journal).
//
// Prints JSON on stdout (progress on stderr); bench/js/report.mjs makes the scale-out table of it.
//   node bench/js/scale.mjs
// BENCH_SCALE_ROUNDS (default 3) rounds per configuration, BENCH_SCALE_SECONDS (default 8) per
// throughput window; BENCH_SCALE_DEADLINE_SECONDS (default 570) ends a run still going then, as a
// failure. Every process started here and every temporary folder is removed whatever happens.
import { execFileSync, fork } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, relayInstance, roundRobinProxy } from "../../tests/soak/instances.mjs";
import { startRedis } from "../../tests/support/redis.mjs";

const setting = (name, fallback) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const ROUNDS = Math.round(setting("BENCH_SCALE_ROUNDS", 3));
const SECONDS = setting("BENCH_SCALE_SECONDS", 8);
const DEADLINE_SECONDS = setting("BENCH_SCALE_DEADLINE_SECONDS", 570);

const INSTANCES = [1, 2, 3];
const THROUGHPUT_SENDERS = 64;
const FIRSTS_PER_WINDOW = 16;
const LATENCY_CONCURRENCY = [1, 8, 64];
const LATENCY_REQUESTS = { 1: 40, 8: 80, 64: 192 };
const SIDEBARS = [8, 64];
/** The relay's SpotDraft allowance is kept over 1.2 s windows: phases that use it start after a full one. */
const ALLOWANCE_PAUSE_MS = 1_300;
/** After a batch of opens, time for anything they set off before the journal is read. */
const SETTLE_MS = 300;
const REQUEST_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const SETUP_CONCURRENCY = 8;
const CRM_FIELDS = "spotdraft_contract_id,spotdraft_status,spotdraft_status_at,spotdraft_contract_link,spotdraft_executed_at";
/** How a first delivery's contract moves on, round after round: the status and the activity that announces it. */
const NEXT = { DRAFT: ["REDLINING", "CONTRACT_SENT_TO_COUNTERPARTY"], REDLINING: ["SIGN", "CONTRACT_SIGNATURE_REQUESTED"], SIGN: ["DRAFT", "CONTRACT_SIGNATURE_DECLINED"] };
const SELF = new URL(import.meta.url).pathname;

// ---- measuring ----------------------------------------------------------------------------------

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Latency summary of timed calls (ms), with how many failed (non-2xx, timeout, connection error). */
function summary(calls) {
  const sorted = calls.map((call) => call.ms).sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0], max: sorted.at(-1), failures: calls.filter((call) => !call.ok).length };
}

/** What the relay added: via-relay minus direct, at the median and at p99 of the same round. */
const added = (viaRelay, direct) => ({ p50: viaRelay.p50 - direct.p50, p99: viaRelay.p99 - direct.p99 });

/** One HTTP call, timed to the end of its body; never throws. */
async function timed(url, init = {}) {
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    return { ok: response.ok, status: response.status, ms: performance.now() - started, text };
  } catch (error) {
    return { ok: false, status: error.name === "TimeoutError" ? "timeout" : "error", ms: performance.now() - started, text: "" };
  }
}

/** `total` calls by `clients` concurrent loops; `call(client)` gets the loop's index. */
async function load(clients, total, call) {
  const calls = [];
  let next = 0;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    while (next < total) {
      next += 1;
      calls.push(await call(client));
    }
  }));
  return summary(calls);
}

/** `work(item)` for every item, at most `concurrency` at a time. */
async function inPool(items, concurrency, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  }));
  return results;
}

const tally = (counts, key) => { counts[key] = (counts[key] ?? 0) + 1; };

// ---- processes: ids, CPU time, clean-up --------------------------------------------------------

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** This process's children as `{ pid, args }`, read from /proc. */
function children() {
  const found = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== process.pid) continue;
      found.push({ pid: Number(name), args: readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0") });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function childPid(matches, what) {
  const child = children().find(({ args }) => matches(args));
  if (!child) throw new Error(`no child process found for ${what}`);
  return child.pid;
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** The whole machine's busy and total CPU time so far (the first line of /proc/stat, in ticks). */
function machineTicks() {
  const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - values[3] - values[4], total };
}

/** CPU time of the processes in `pids` (name → pids), this one and the machine: `after.since(before)` is a window's use. */
function cpuSnapshot(pids) {
  const at = performance.now();
  const machine = machineTicks();
  const own = process.cpuUsage();
  const each = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, list.reduce((sum, pid) => sum + cpuSeconds(pid), 0)]));
  return {
    at, machine, own, each,
    since(before) {
      const wall = (at - before.at) / 1000;
      const seconds = Object.fromEntries(Object.keys(each).map((name) => [name, each[name] - before.each[name]]));
      seconds.loadGenerator = (own.user + own.system - before.own.user - before.own.system) / 1e6;
      // Busy time on the machine that none of the run's processes used: others competing for the cores.
      const ours = Object.values(seconds).reduce((a, b) => a + b, 0);
      const otherCores = Math.max(0, (machine.busy - before.machine.busy) / CLOCK_TICKS - ours) / wall;
      return { wallSeconds: wall, cpuSeconds: seconds, machineBusyShare: (machine.busy - before.machine.busy) / Math.max(1, machine.total - before.machine.total), otherCores };
    },
  };
}

/** Resolves with `promise`, or rejects after `ms`. */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// Clean-up steps, run last-in first-out, once, whether the run ends, fails, times out or is signalled.
const cleanups = [];
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const [what, step] = cleanups.pop();
      await within(Promise.resolve().then(step), STOP_TIMEOUT_MS, what).catch((error) => console.error(`scale: clean-up: ${error.message}`));
    }
    // Whatever did not stop when asked (or started before its clean-up step was registered), with
    // the folder it was given.
    for (const { pid, args } of children()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      const folder = args.includes("--state-file") ? dirname(args[args.indexOf("--state-file") + 1]) : args.includes("--state-dir") ? args[args.indexOf("--state-dir") + 1] : null;
      if (folder?.startsWith(tmpdir())) rmSync(folder, { recursive: true, force: true });
    }
  })();
  return cleaning;
}
process.on("exit", () => {
  for (const { pid } of children()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    console.error(`scale: ${signal}: stopping`);
    cleanup().finally(() => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));
  });
}

/** Configuration N's load balancer: roundRobinProxy over `backends` in a process of its own (this file, "proxy"). */
async function startProxy(backends) {
  const child = fork(SELF, ["proxy", JSON.stringify(backends.map((backend) => backend.url))], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = await within(new Promise((resolve, reject) => {
    child.once("message", (message) => resolve(message.url));
    exited.then((code) => reject(new Error(`the proxy exited with ${code}`)));
  }), STOP_TIMEOUT_MS, "starting the proxy");
  return {
    url,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.send("stop");
      await within(exited, STOP_TIMEOUT_MS, "stopping the proxy").catch(() => child.kill("SIGKILL"));
    },
  };
}

// ---- the run -----------------------------------------------------------------------------------

async function run() {
  // Loaded here, not at the top: the proxy processes need none of it (no WebAssembly).
  const { signWithKey, relayConfig, startSandbox, token, SANDBOX_BIN } = await import("../../tests/relay/support.mjs");
  const { SdxConfig, SpotDraftClient } = await import("../../pkg/node.js");
  const started = performance.now();

  // No state file: the sandbox would rewrite all of its state after every change.
  const sandbox = await startSandbox(["--no-state-file"]);
  cleanups.push(["stopping the sandbox", () => sandbox.stop()]);
  const redis = await startRedis();
  cleanups.push(["stopping Redis", () => redis.stop()]);
  const config = relayConfig(sandbox);
  config.shared = { keyPrefix: `bench-scale-${Date.now()}:` };

  const instances = [];
  for (let i = 0; i < Math.max(...INSTANCES); i += 1) {
    const instance = relayInstance({ config, port: await freePort(), redisUrl: redis.url, name: `relay-${i}` });
    cleanups.push([`stopping ${instance.name}`, async () => {
      await instance.stop();
      instance.cleanup();
    }]);
    instances.push(instance);
  }
  await Promise.all(instances.map((instance) => instance.start()));
  const relayPid = (instance) => childPid((args) => args.includes("serve") && args[args.indexOf("--port") + 1] === String(instance.port), instance.name);
  const relayPids = instances.map(relayPid);
  const proxies = {};
  for (const n of INSTANCES) {
    proxies[n] = await startProxy(instances.slice(0, n));
    cleanups.push([`stopping the proxy over ${n}`, () => proxies[n].stop()]);
  }
  const pids = {
    sandbox: [childPid((args) => args[0] === SANDBOX_BIN, "the sandbox")],
    redis: [childPid((args) => args[0].startsWith("redis-server") || args[0].endsWith("/redis-server"), "Redis")],
  };
  // The instances log every request; the benchmark reads none of it after they start.
  const dropLogs = () => instances.forEach((instance) => { instance.lines.length = 0; });

  // Deals the relay manages, each with a contract created as the plugin creates it (the core's
  // SpotDraft client, straight to the sandbox: setup, not measured, and not queued behind the
  // relay's SpotDraft allowance).
  const plugin = new SdxConfig(config.environments.uat.plugin);
  const spotdraft = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  const templateId = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  const managedDeal = async (name) => {
    const made = await sandbox.crmCall("POST", "/crm/v3/objects/deals", { properties: { dealname: name, dealstage: "contractsent", amount: "18000", deal_currency_code: "USD", closedate: "2026-09-30" } });
    if (made.status !== 201) throw new Error(`could not create a deal: ${JSON.stringify(made.json)}`);
    const id = String(made.json.id);
    const outcome = await spotdraft.createForDeal(plugin, {
      id, name, amount: 18000, currency: "USD", stage: "contractsent", closeDate: "2026-09-30",
      account: { name: "Globex Corporation" }, primaryContact: { firstName: "Hank", lastName: "Scorpio", email: "hank@globex.example" },
    }, templateId);
    return { id, contract: outcome.contract, key: plugin.recordKey(id), bearer: token(sandbox, id, { ttl: 3600 }), status: outcome.contract.status };
  };
  const deals = (count, name) => inPool(Array.from({ length: count }, (_, i) => `${name} ${i}`), SETUP_CONCURRENCY, managedDeal);
  // One per throughput sender (and per concurrent delivery in the latency runs), and one per first delivery.
  const steady = await deals(THROUGHPUT_SENDERS, "Scale steady deal");
  const moving = await deals(FIRSTS_PER_WINDOW, "Scale moving deal");
  const warmUpDeals = await deals(9, "Scale warm-up deal");
  // Sidebar deals: fresh ones for every round, configuration and concurrency, so each cold open is cold.
  const sidebarDeals = {};
  for (let round = 0; round < ROUNDS; round += 1) for (const n of INSTANCES) for (const c of SIDEBARS) {
    sidebarDeals[`${round}:${n}:${c}`] = await deals(c, `Scale sidebar deal ${round}.${n}.${c}`);
  }

  // Deliveries, shaped as tests/relay/webhooks.test.mjs's payload(), signed with the uat workspace key.
  const delivery = (deal, activity, status, timestamp) => {
    const body = JSON.stringify({
      activity, contract_id: deal.contract.number, contract_status: status, contract_title: deal.contract.name,
      contract_kind: "TEMPLATE_CONTRACT", contract_type: "NDA", contract_type_name: "NDA", contract_type_id: 110,
      business_user: { name: "Sam" }, created_at: "2026-11-01T00:00:00Z",
      external_metadata: { id: deal.key, integration_name: "spotdraft-crm", record_data: { environment: "uat" } },
      activity_data: { performed_by: { name: "SYSTEM" }, timestamp },
    });
    return { body, signature: signWithKey(sandbox.uat.hmac_key, body) };
  };
  // A late delivery: an older activity never delivered before (each one's time is its own, so none
  // is a redelivery), for a deal whose record shows a newer status.
  let lateCount = 0;
  const late = (deal) => delivery(deal, "CONTRACT_SENT_TO_COUNTERPARTY", "REDLINING", new Date(Date.UTC(2020, 0, 1) + (lateCount += 1)).toISOString());
  const deliver = (url, { body, signature }) => timed(`${url}/webhooks/spotdraft/uat`, {
    method: "POST", headers: { "content-type": "application/json", "X-SD-WEBHOOK-CONTENT-HASH": signature }, body,
  });
  const directCrmRead = (deal) => timed(`${sandbox.crm}/crm/v3/objects/deals/${deal.id}?properties=${CRM_FIELDS}`, { headers: { authorization: `Bearer ${sandbox.info.crm.bearer_token}` } });
  const spotdraftHeaders = { "client-id": sandbox.uat.client_id, "client-secret": sandbox.uat.client_secret, accept: "application/json" };
  const directListing = (deal) => timed(`${sandbox.spotdraft}/api/v2.1/public/contracts/by_external_metadata/${encodeURIComponent(deal.key)}`, { headers: spotdraftHeaders });
  const open = (url, deal) => timed(`${url}/api/uat/deals/${deal.id}/contracts`, { headers: { authorization: `Bearer ${deal.bearer}` } });

  // Each steady deal's creation is delivered once through the relay (through all three instances):
  // the record then shows the contract, and that delivery is what the throughput runs redeliver.
  const createdAt = new Date().toISOString();
  for (const deal of steady) deal.redelivery = delivery(deal, "CONTRACT_CREATED", "DRAFT", createdAt);
  const applied = await inPool(steady, THROUGHPUT_SENDERS, (deal) => deliver(proxies[3].url, deal.redelivery));
  const refused = applied.filter((reply) => !reply.ok);
  if (refused.length > 0) throw new Error(`${refused.length} setup deliveries failed: ${refused[0].status} ${refused[0].text}`);
  // Warm-up of every instance (connections, JIT): redeliveries, late deliveries, sidebar opens of
  // deals of their own, and the direct calls.
  await load(8, 96, (c) => deliver(proxies[3].url, steady[c].redelivery));
  await load(8, 96, (c) => deliver(proxies[3].url, late(steady[c])));
  await Promise.all(warmUpDeals.map((deal) => open(proxies[3].url, deal)));
  await load(8, 96, (c) => directCrmRead(steady[c]));
  await load(8, 24, (c) => directListing(steady[c]));
  dropLogs();
  const setupSeconds = (performance.now() - started) / 1000;
  console.error(`scale: setup ${setupSeconds.toFixed(0)} s (${steady.length + moving.length + warmUpDeals.length + Object.values(sidebarDeals).flat().length} deals)`);

  // (2) Added latency per webhook: late deliveries, each loop on its own deal, next to the CRM read
  // behind each, made directly; direct and via-relay runs interleaved.
  async function webhookLatency(url) {
    const result = {};
    for (const c of LATENCY_CONCURRENCY) {
      const direct = await load(c, LATENCY_REQUESTS[c], (client) => directCrmRead(steady[client]));
      const viaRelay = await load(c, LATENCY_REQUESTS[c], (client) => deliver(url, late(steady[client])));
      result[c] = { direct, viaRelay, added: added(viaRelay, direct) };
    }
    return result;
  }

  // (1) Throughput for SECONDS: the moving deals' contracts move on in SpotDraft first, so their
  // deliveries carry news; each sender's later deliveries alternate redelivery and late delivery.
  async function throughput(n, url) {
    const firsts = [];
    for (const deal of moving) {
      const [to, activity] = NEXT[deal.status];
      const moved = await sandbox.control("POST", `/__sandbox/contracts/${deal.contract.id}/transition`, { to });
      if (moved.status !== 200) throw new Error(`the sandbox would not move ${deal.contract.id} to ${to}: ${JSON.stringify(moved.json)}`);
      deal.status = to;
      firsts.push(delivery(deal, activity, to, new Date().toISOString()));
    }
    await sandbox.control("DELETE", "/__sandbox/requests");
    const before = cpuSnapshot({ relays: relayPids.slice(0, n), proxy: [proxies[n].pid], ...pids });
    const deadline = performance.now() + SECONDS * 1000;
    const calls = { first: [], redelivery: [], late: [] };
    const statuses = {};
    const outcomes = {};
    await Promise.all(Array.from({ length: THROUGHPUT_SENDERS }, async (_, sender) => {
      for (let k = 0; performance.now() < deadline; k += 1) {
        const kind = k === 0 && sender < firsts.length ? "first" : k % 2 === 0 ? "redelivery" : "late";
        const payload = kind === "first" ? firsts[sender] : kind === "redelivery" ? steady[sender].redelivery : late(steady[sender]);
        const reply = await deliver(url, payload);
        calls[kind].push(reply);
        tally(statuses, String(reply.status));
        let outcome = "unreadable";
        try {
          outcome = JSON.parse(reply.text).outcome ?? "none";
        } catch {
          // Counted as unreadable.
        }
        tally(outcomes, `${kind}: ${outcome}`);
      }
    }));
    const usage = cpuSnapshot({ relays: relayPids.slice(0, n), proxy: [proxies[n].pid], ...pids }).since(before);
    const journal = (await sandbox.control("GET", "/__sandbox/requests?service=spotdraft")).json;
    const deliveries = Object.values(calls).reduce((sum, list) => sum + list.length, 0);
    const failures = Object.values(calls).reduce((sum, list) => sum + list.filter((call) => !call.ok).length, 0);
    return {
      senders: THROUGHPUT_SENDERS,
      seconds: usage.wallSeconds,
      deliveries,
      failures,
      deliveriesPerSecond: deliveries / usage.wallSeconds,
      byKind: Object.fromEntries(Object.entries(calls).map(([kind, list]) => [kind, summary(list)])),
      statuses,
      outcomes,
      spotdraftRequests: journal.length,
      // SpotDraft counts 10 a second per workspace; the sandbox journals each request as it arrives.
      spotdraftPeakPerSecond: peakPerWindow(journal.map((entry) => Date.parse(entry.at)), 1_000),
      cpuSeconds: usage.cpuSeconds,
      relayCores: usage.cpuSeconds.relays / usage.wallSeconds,
      deliveriesPerRelayCoreSecond: usage.cpuSeconds.relays > 0 ? deliveries / usage.cpuSeconds.relays : null,
      machineBusyShare: usage.machineBusyShare,
      otherProcessesCores: usage.otherCores,
    };
  }

  // (3) Sidebar opens, all at once, one per deal: cold, then warm; each after a direct listing of the
  // same deals and a full allowance window, with the requests the opens caused from the journal.
  async function sidebarOpens(url, list) {
    const phase = async () => {
      const direct = summary(await Promise.all(list.map(directListing)));
      await sleep(ALLOWANCE_PAUSE_MS);
      await sandbox.control("DELETE", "/__sandbox/requests");
      const opens = await Promise.all(list.map((deal) => open(url, deal)));
      await sleep(SETTLE_MS);
      const journal = (await sandbox.control("GET", "/__sandbox/requests")).json;
      const answers = opens.map((reply) => {
        try {
          const parsed = JSON.parse(reply.text);
          return Array.isArray(parsed) ? parsed : parsed?.contracts ?? [];
        } catch {
          return [];
        }
      });
      const viaRelay = summary(opens);
      return {
        direct,
        viaRelay,
        added: added(viaRelay, direct),
        spotdraftRequests: journal.filter((entry) => entry.service === "spotdraft").length,
        crmRequests: journal.filter((entry) => entry.service === "crm").length,
        withoutContracts: answers.filter((contracts) => contracts.length === 0).length,
        answeredFromKnown: answers.filter((contracts) => contracts.some((contract) => contract.asOf)).length,
      };
    };
    const cold = await phase();
    const warm = await phase();
    return { cold, warm };
  }

  const results = Object.fromEntries(INSTANCES.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = INSTANCES.map((_, i) => INSTANCES[(i + round) % INSTANCES.length]);
    for (const n of order) {
      const { url } = proxies[n];
      const latency = await webhookLatency(url);
      dropLogs();
      await sleep(ALLOWANCE_PAUSE_MS);
      const delivered = await throughput(n, url);
      dropLogs();
      const sidebar = {};
      for (const c of SIDEBARS) {
        await sleep(ALLOWANCE_PAUSE_MS);
        sidebar[c] = await sidebarOpens(url, sidebarDeals[`${round}:${n}:${c}`]);
        dropLogs();
      }
      results[n].push({ round, webhookLatency: latency, throughput: delivered, sidebar });
      console.error(`scale: round ${round + 1}/${ROUNDS}, ${n} instance${n > 1 ? "s" : ""}: ${delivered.deliveriesPerSecond.toFixed(0)} deliveries/s `
        + `(${delivered.failures} failed, relays ${delivered.relayCores.toFixed(2)} cores), webhook added p50 ${latency[64].added.p50.toFixed(1)} ms at 64, `
        + `sidebar p50 cold ${sidebar[64].cold.viaRelay.p50.toFixed(0)} / warm ${sidebar[64].warm.viaRelay.p50.toFixed(0)} ms at 64`);
    }
  }

  return {
    rounds: ROUNDS,
    settings: {
      instances: INSTANCES, throughputSeconds: SECONDS, throughputSenders: THROUGHPUT_SENDERS, firstDeliveriesPerWindow: FIRSTS_PER_WINDOW,
      latencyConcurrency: LATENCY_CONCURRENCY, latencyRequests: LATENCY_REQUESTS, sidebarConcurrency: SIDEBARS, cores: availableCores(),
    },
    configurations: INSTANCES.map((n) => ({ instances: n, rounds: results[n] })),
    setupSeconds,
    wallSeconds: (performance.now() - started) / 1000,
    notes: {
      layout: "separate relay processes (cli.js serve --redis) on one redis-server; a round-robin proxy process per configuration; the load generator, proxies, relays, sandbox (debug build) and Redis share the machine's cores",
      throughput: `${THROUGHPUT_SENDERS} senders for the window; ${FIRSTS_PER_WINDOW} first deliveries of a new status (CRM read, confirming SpotDraft status read, CRM write), then redeliveries (shared applied set) alternating with late deliveries of older activities (CRM read, ignored)`,
      webhookLatency: "late deliveries through proxy and relay; direct = the deal's SpotDraft fields read from the CRM emulator (the one upstream request behind each)",
      sidebar: "GET /api/uat/deals/{deal}/contracts, one per deal, all at once; cold = the deal's first open, warm = the same deals again; direct = GET by_external_metadata on the SpotDraft emulator",
      allowance: "the relay keeps 10 SpotDraft requests per 1.2 s per workspace across all instances (in Redis): first deliveries and SpotDraft-bound opens queue behind it whatever the instance count",
      added: "via relay minus direct, per round, at p50 and at p99; includes the proxy hop",
    },
  };
}

/** Peak number of `times` (ms) within any `windowMs`. */
function peakPerWindow(times, windowMs) {
  const sorted = times.filter(Number.isFinite).sort((a, b) => a - b);
  let peak = 0;
  for (let start = 0, end = 0; end < sorted.length; end += 1) {
    while (sorted[end] - sorted[start] >= windowMs) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

function availableCores() {
  try {
    return Number(execFileSync("nproc", { encoding: "utf8" }).trim());
  } catch {
    return null;
  }
}

async function main() {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the run was still going after ${DEADLINE_SECONDS} s (BENCH_SCALE_DEADLINE_SECONDS)`)), DEADLINE_SECONDS * 1000);
  });
  let output;
  let failure;
  try {
    output = await Promise.race([run(), deadline]);
  } catch (error) {
    failure = error;
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
  if (failure) {
    console.error(`scale: ${failure.stack ?? failure}`);
    process.exit(1);
  }
  console.log(JSON.stringify(output));
  process.exit(0);
}

if (process.argv[2] === "proxy") {
  // A proxy process (see startProxy): serves until told to stop, or until its parent goes away.
  const proxy = await roundRobinProxy(JSON.parse(process.argv[3]).map((url) => ({ url })));
  process.on("message", (message) => {
    if (message === "stop") proxy.close().then(() => process.exit(0));
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ url: proxy.url });
} else {
  await main();
}
