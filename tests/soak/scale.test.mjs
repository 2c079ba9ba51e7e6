// Scale-out soak (short version; `SCALE_DEALS` makes it longer, `bash scripts/soak.sh` runs the long
// one): three relay processes on one Redis behind a round-robin proxy, every sandbox fault on, the
// instance handling creates killed (SIGKILL) and the one handling a webhook delivery killed, each
// restarted. Sellers retry what failed, reconcile runs from the command line on the shared
// checkpoint. Afterwards: one live contract per deal, every CRM record equal to SpotDraft, no
// redundant CRM write, and no record's status ever moved backwards.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import { SpotDraftClient } from "../../pkg/node.js";
import { api, crmFields, crmWrites, eventually, newDeal, relayConfig, startSandbox, token } from "../relay/support.mjs";
import { startRedis } from "../support/redis.mjs";
import { everyFault, SOAK_WEBHOOK_FAULTS } from "./faults.mjs";
import { freePort, relayInstance, roundRobinProxy } from "./instances.mjs";

const DEALS = Number(process.env.SCALE_DEALS ?? 6);
const SIDEBARS_PER_DEAL = 3;
const INSTANCES = 3;
/** Short leases, so a lock a killed instance held is taken over within the test's time. */
const LEASE_MS = 5_000;
const CLI = new URL("../../www/relay/cli.js", import.meta.url).pathname;
const RANK = { DRAFT: 0, REDLINING: 1, SIGN: 2, EXECUTED: 3 };

let sandbox;
let redis;
let instances = [];
let proxy;
let config;

before(async () => {
  sandbox = await startSandbox();
  redis = await startRedis();
  config = relayConfig(sandbox);
  config.shared = { lockLeaseMs: LEASE_MS, keyPrefix: `scale-${Date.now()}:` };
  const ports = [];
  for (let i = 0; i < INSTANCES; i += 1) ports.push(await freePort());
  instances = ports.map((port, i) => relayInstance({ config, port, redisUrl: redis.url, name: `relay-${i}` }));
  await Promise.all(instances.map((instance) => instance.start()));
  proxy = await roundRobinProxy(instances);
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  await client.registerStatusWebhook(`${proxy.url}/webhooks/spotdraft/uat`);
});

after(async () => {
  await proxy?.close();
  for (const instance of instances) {
    await instance.stop();
    instance.cleanup();
  }
  await redis?.stop();
  await sandbox?.stop();
});

test(`${INSTANCES} instances on one Redis, ${DEALS} deals × ${SIDEBARS_PER_DEAL} sidebars, every fault, one instance killed mid-create and one mid-webhook`, { timeout: 240_000 }, async () => {
  const relay = { url: proxy.url };
  const deals = [];
  for (let i = 0; i < DEALS; i += 1) deals.push((await newDeal(sandbox, `Scale deal ${i}`)).id);
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  await sandbox.setFaults(everyFault(4321));

  // Every sidebar clicks Create at once, through the proxy; one instance dies while they run.
  const click = (deal) => api(relay, "POST", `/api/uat/deals/${deal}/contracts`, { bearer: token(sandbox, deal), body: { templateId: nda } });
  const clicks = Promise.all(deals.flatMap((deal) => Array.from({ length: SIDEBARS_PER_DEAL }, () => click(deal))));
  const victimCreate = await proxy.busyWith("/api/uat/deals/");
  await victimCreate.kill();
  const replies = await clicks;
  const afterCreateKill = proxy.counts.brokenInFlight;
  await victimCreate.start();

  // Every live contract through its lifecycle on SpotDraft's side; deliveries fan out over the
  // instances, and another instance dies while they are in flight.
  const ours = async () => (await sandbox.control("GET", "/__sandbox/contracts")).json
    .filter((c) => deals.some((d) => c.external_metadata?.id === `hubspot:${sandbox.portal}:deal:${d}`));
  const live = (await ours()).filter((c) => c.status !== "VOIDED");
  let brokenByWebhookKill = 0;
  for (const to of ["REDLINING", "SIGN", "EXECUTED"]) {
    if (to === "REDLINING") {
      // CRM writes answer slowly in this round, so deliveries are surely mid-flight on every
      // instance when one of them dies.
      await sandbox.setFaults({ seed: 99, rules: [{ route: "PATCH /crm/v3/objects/deals/*", service: "crm", kind: "slow", rate: 1, delay_ms: 800 }], webhooks: SOAK_WEBHOOK_FAULTS });
    }
    for (const contract of live) await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
    if (to === "REDLINING") {
      const before = proxy.counts.brokenInFlight;
      // Killed while it is answering a delivery (busyWith resolves with one in flight).
      const victimWebhook = await proxy.busyWith("/webhooks/");
      await victimWebhook.kill();
      // The proxy counts a broken request when the dead instance's socket closes under it.
      await eventually(() => proxy.counts.brokenInFlight > before, { timeoutMs: 5_000, intervalMs: 20 }).catch(() => {}); // asserted below, by name
      brokenByWebhookKill = proxy.counts.brokenInFlight - before;
      await victimWebhook.start();
      await sandbox.deliveriesDone();
      await sandbox.setFaults({ seed: 7, rules: [], webhooks: SOAK_WEBHOOK_FAULTS });
    }
  }
  await sandbox.deliveriesDone();
  await sandbox.clearFaults();

  // What failed for a seller (errors, or the instance dying under them) is clicked again.
  for (const [i, reply] of replies.entries()) {
    if (reply.status < 300) continue;
    const deal = deals[Math.floor(i / SIDEBARS_PER_DEAL)];
    const again = await click(deal);
    assert.ok(again.status < 300, JSON.stringify(again.json));
    if (again.json.created) {
      for (const to of ["REDLINING", "SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${again.json.contract.id}/transition`, { to });
    }
  }
  await sandbox.deliveriesDone();

  // Reconcile from the command line, on the checkpoint the instances share in Redis.
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, "reconcile", "--env", "uat", "--redis", redis.url], {
    env: { ...process.env, RELAY_CONFIG_JSON: JSON.stringify(config), RELAY_CONFIG: "" },
  });
  const reconciled = JSON.parse(stdout);
  assert.deepEqual(reconciled.failures, []);
  const checkpointed = await promisify(execFile)(process.execPath, [CLI, "reconcile", "--env", "uat", "--redis", redis.url], {
    env: { ...process.env, RELAY_CONFIG_JSON: JSON.stringify(config), RELAY_CONFIG: "" },
  });
  assert.ok(JSON.parse(checkpointed.stdout).recordsChecked <= reconciled.recordsChecked, "the second pass starts from the shared checkpoint");

  const contracts = await ours();
  let equal = 0;
  let redundant = 0;
  let regressions = 0;
  for (const deal of deals) {
    const mine = contracts.filter((c) => c.status !== "VOIDED" && c.external_metadata.id === `hubspot:${sandbox.portal}:deal:${deal}`);
    assert.equal(mine.length, 1, `deal ${deal} has exactly one live contract`);
    const fields = await crmFields(sandbox, deal);
    if (fields.spotdraft_contract_id === mine[0].id && fields.spotdraft_status === mine[0].status) equal += 1;
    const writes = await crmWrites(sandbox, deal);
    redundant += writes.filter((w) => (w.changed ?? []).length === 0).length;
    // The status the record showed after each write, in order: it never goes back.
    let shown = -1;
    for (const write of writes) {
      const status = write.properties?.spotdraft_status;
      if (status === undefined || RANK[status] === undefined) continue;
      if (RANK[status] < shown) regressions += 1;
      shown = RANK[status];
    }
  }
  const report = {
    date: new Date().toISOString(),
    instances: INSTANCES, deals: DEALS, clicks: replies.length,
    sellerErrors: replies.filter((r) => r.status >= 300).map((r) => r.status),
    brokenInFlightByCreateKill: afterCreateKill, brokenInFlightByWebhookKill: brokenByWebhookKill, brokenInFlightTotal: proxy.counts.brokenInFlight, failedOver: proxy.counts.failedOver,
    contracts: contracts.length, crmEqual: `${equal}/${DEALS}`, redundantWrites: redundant, regressions,
    reconcile: { checked: reconciled.recordsChecked, repaired: reconciled.recordsRepaired },
  };
  console.log(JSON.stringify({ scale: report }));
  mkdirSync("results/soak", { recursive: true });
  writeFileSync(`results/soak/scale-${INSTANCES}-instances-${DEALS}-deals.json`, `${JSON.stringify(report, null, 2)}\n`);
  assert.ok(afterCreateKill > 0, "the instance was killed with creates in flight");
  assert.ok(brokenByWebhookKill > 0, "the instance was killed with deliveries in flight");
  assert.equal(equal, DEALS, "every CRM record equals SpotDraft's state");
  assert.equal(redundant, 0, "no redundant CRM writes");
  assert.equal(regressions, 0, "no record's status moved backwards");
});
