// Relay overhead against the sandbox on loopback (no injected latency): per sidebar call and per
// webhook, client→relay→sandbox next to the same upstream request made directly, at 1, 8 and 64
// concurrent clients; then webhooks per second at rising concurrency until the relay process
// stops gaining (one Node thread: saturated near 100% of a core). Prints JSON.
//   node bench/js/relay-overhead.mjs
import { fork } from "node:child_process";
import { api, newDeal, signWithKey, startSandbox, token } from "../../tests/relay/support.mjs";

const CONCURRENCY = [1, 8, 64];
const REQUESTS = { 1: 40, 8: 80, 64: 192 };
const SATURATION_LEVELS = [1, 4, 16, 64];
const SATURATION_SECONDS = 3;
// Each measurement is repeated and reported as the median and min–max of the rounds, direct and
// via-relay rounds interleaved so drift on a shared machine hits both alike.
const ROUNDS = Math.max(1, Number.parseInt(process.env.BENCH_RELAY_ROUNDS ?? "5", 10) || 5);

/** Reads the whole body (so the connection is reusable and the time includes it); true on 2xx. */
async function drained(responsePromise) {
  const response = await responsePromise;
  await response.arrayBuffer();
  return response.ok;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0], max: sorted.at(-1) };
}

/** `total` calls of `call` by `clients` concurrent loops; latency of each in ms. */
async function load(clients, total, call) {
  const latencies = [];
  let next = 0;
  let failures = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < total) {
      next += 1;
      const started = performance.now();
      const ok = await call().catch(() => false);
      latencies.push(performance.now() - started);
      if (!ok) failures += 1;
    }
  }));
  return { ...summary(latencies), failures };
}

function startRelayProcess(sandbox) {
  const child = fork(new URL("./relay-child.mjs", import.meta.url), [], { stdio: ["pipe", "inherit", "inherit", "ipc"] });
  child.stdin.end(JSON.stringify(sandbox));
  const ask = () => new Promise((resolve) => child.once("message", resolve));
  return {
    child,
    ready: ask(),
    usage: () => { const reply = ask(); child.send("usage"); return reply; },
    stop: () => new Promise((resolve) => { child.once("exit", resolve); child.send("stop"); setTimeout(() => child.kill("SIGKILL"), 5_000).unref(); }),
  };
}

async function main() {
  const sandbox = await startSandbox();
  const relayProcess = startRelayProcess({ ...sandbox, control: undefined, crmCall: undefined });
  try {
    const relay = { url: (await relayProcess.ready).url };
    const deal = await newDeal(sandbox, "Overhead deal");
    const templateId = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
    const bearer = token(sandbox, deal.id, { ttl: 3600 });
    const created = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer, body: { deal, templateId } });
    if (created.status >= 300) throw new Error(`create failed: ${JSON.stringify(created.json)}`);
    const contract = created.json.contract;
    const key = `hubspot:${sandbox.portal}:deal:${deal.id}`;
    const spotdraftHeaders = { "client-id": sandbox.uat.client_id, "client-secret": sandbox.uat.client_secret, accept: "application/json" };
    const crmHeaders = { authorization: `Bearer ${sandbox.info.crm.bearer_token}` };
    const fieldList = "spotdraft_contract_id,spotdraft_status,spotdraft_status_at,spotdraft_contract_link,spotdraft_executed_at";

    // Sidebar call: the deal's contracts. Upstream it is one SpotDraft lookup by external id.
    const viaRelaySidebar = () => drained(fetch(`${relay.url}/api/uat/deals/${deal.id}/contracts`, { headers: { authorization: `Bearer ${bearer}` } }));
    const directSidebar = () => drained(fetch(`${sandbox.spotdraft}/api/v2.1/public/contracts/by_external_metadata/${encodeURIComponent(key)}`, { headers: spotdraftHeaders }));
    // Webhook: a redelivery older than what the record shows. Upstream it is one CRM read.
    const body = JSON.stringify({
      activity: "CONTRACT_CREATED", contract_id: contract.number, contract_status: "DRAFT", contract_title: contract.name,
      contract_kind: "TEMPLATE_CONTRACT", contract_type_id: 110,
      external_metadata: { id: key, record_data: { environment: "uat" } },
      activity_data: { performed_by: { name: "SYSTEM" }, timestamp: "2020-01-01T00:00:00Z" },
      padding: "x".repeat(1500),
    });
    const signature = signWithKey(sandbox.uat.hmac_key, body);
    const viaRelayWebhook = () => drained(fetch(`${relay.url}/webhooks/spotdraft/uat`, { method: "POST", headers: { "content-type": "application/json", "X-SD-WEBHOOK-CONTENT-HASH": signature }, body }));
    const directWebhook = () => drained(fetch(`${sandbox.crm}/crm/v3/objects/deals/${deal.id}?properties=${fieldList}`, { headers: crmHeaders }));

    await load(4, 40, directSidebar); // warm-up: connections, JIT
    await load(4, 40, viaRelayWebhook);
    const latency = {};
    for (const clients of CONCURRENCY) {
      const total = REQUESTS[clients];
      const rounds = { sidebar: { direct: [], viaRelay: [] }, webhook: { direct: [], viaRelay: [] } };
      for (let round = 0; round < ROUNDS; round += 1) {
        rounds.sidebar.direct.push(await load(clients, total, directSidebar));
        rounds.sidebar.viaRelay.push(await load(clients, total, viaRelaySidebar));
        rounds.webhook.direct.push(await load(clients, total, directWebhook));
        rounds.webhook.viaRelay.push(await load(clients, total, viaRelayWebhook));
      }
      latency[clients] = rounds;
    }

    // Webhooks per second at rising concurrency, with the relay's CPU share over each window.
    const saturation = [];
    for (let round = 0; round < ROUNDS; round += 1) for (const clients of SATURATION_LEVELS) {
      const before = await relayProcess.usage();
      const started = performance.now();
      const deadline = started + SATURATION_SECONDS * 1000;
      let done = 0;
      let failures = 0;
      await Promise.all(Array.from({ length: clients }, async () => {
        while (performance.now() < deadline) {
          if (!(await viaRelayWebhook().catch(() => false))) failures += 1;
          done += 1;
        }
      }));
      const seconds = (performance.now() - started) / 1000;
      const after = await relayProcess.usage();
      const cpuSeconds = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6;
      saturation.push({ round, clients, webhooksPerSecond: done / seconds, failures, relayCpuShareOfOneCore: cpuSeconds / seconds, relayRssBytes: after.rss });
    }
    console.log(JSON.stringify({ rounds: ROUNDS, requestsPerRound: REQUESTS, latency, saturation, notes: {
      sidebarUpstream: "GET by_external_metadata on the SpotDraft emulator (the one request behind the relay's contracts route)",
      webhookUpstream: "GET the deal's SpotDraft fields on the CRM emulator (the one request behind a redelivered webhook)",
      rateLimit: "the relay allows 10 SpotDraft requests per 1.2 s per workspace; sidebar calls queue behind it",
    } }));
  } finally {
    await relayProcess.stop();
    await sandbox.stop();
  }
}

await main();
