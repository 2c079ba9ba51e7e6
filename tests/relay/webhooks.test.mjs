// SpotDraft webhooks → CRM: verified on the raw bytes, ignored when not ours, and harmless under
// redelivery, duplication, reordering and loss (with reconciliation). The CRM emulator's write
// journal proves there are no redundant writes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, crmFields, crmWrites, deliver, eventually, newDeal, signWithKey, startStack, stopStack, token } from "./support.mjs";

let sandbox;
let relay;
before(async () => ({ sandbox, relay } = await startStack({ webhook: true })));
after(() => stopStack({ sandbox, relay }));

async function contractFor(deal) {
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  const reply = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { deal, templateId: nda } });
  assert.ok(reply.status < 300, JSON.stringify(reply.json));
  return reply.json.contract;
}

const transition = (id, to) => sandbox.control("POST", `/__sandbox/contracts/${id}/transition`, { to });

function payload(contract, deal, activity, status, timestamp, extra = {}) {
  return JSON.stringify({
    activity, contract_id: contract.number, contract_status: status, contract_title: contract.name,
    contract_kind: "TEMPLATE_CONTRACT", contract_type: "NDA", contract_type_name: "NDA", contract_type_id: 110,
    business_user: { name: "Sam" }, created_at: "2026-11-01T00:00:00Z",
    external_metadata: { id: `hubspot:${sandbox.portal}:deal:${deal.id}`, integration_name: "spotdraft-crm", record_data: { environment: "uat" } },
    activity_data: { performed_by: { name: "SYSTEM" }, timestamp },
    ...extra,
  });
}

const redundant = (writes) => writes.filter((w) => (w.changed ?? []).length === 0);

test("real deliveries walk the CRM record through the lifecycle", async () => {
  const deal = await newDeal(sandbox, "Lifecycle deal");
  const contract = await contractFor(deal);
  for (const status of ["REDLINING", "SIGN", "EXECUTED"]) {
    await transition(contract.id, status);
    await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === status);
  }
  const fields = await crmFields(sandbox, deal.id);
  assert.equal(fields.spotdraft_contract_id, contract.id);
  assert.equal(fields.spotdraft_contract_link, `https://app.spotdraft.com/contracts/v2/${contract.number}`);
  assert.ok(fields.spotdraft_executed_at, "the execution time is recorded");
  assert.deepEqual(redundant(await crmWrites(sandbox, deal.id)), []);
});

test("forged, unsigned, truncated and oversized deliveries are refused and write nothing", async () => {
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  const writesBefore = (await crmWrites(sandbox, deal.id)).length;
  const body = payload(contract, deal, "CONTRACT_SIGNED", "SIGN", new Date().toISOString());
  const forged = await deliver(relay, "uat", body, signWithKey(sandbox.production.hmac_key, body));
  assert.equal(forged.status, 401);
  assert.equal(forged.json.error.code, "invalid_signature");
  assert.equal((await deliver(relay, "uat", body, undefined)).status, 401);
  assert.equal((await deliver(relay, "uat", body, "zz")).status, 401);
  const truncated = body.slice(0, -10);
  assert.equal((await deliver(relay, "uat", truncated, signWithKey(sandbox.uat.hmac_key, body))).status, 401);
  const huge = JSON.stringify({ padding: "x".repeat(300 * 1024) });
  assert.equal((await deliver(relay, "uat", huge, signWithKey(sandbox.uat.hmac_key, huge))).status, 413);
  const signedGarbage = "{\"activity\": 1}";
  assert.equal((await deliver(relay, "uat", signedGarbage, signWithKey(sandbox.uat.hmac_key, signedGarbage))).status, 400);
  assert.equal((await crmWrites(sandbox, deal.id)).length, writesBefore);
});

test("events for other environments or records this integration does not own are acknowledged and ignored", async () => {
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  const writesBefore = (await crmWrites(sandbox, deal.id)).length;
  const otherEnv = payload(contract, deal, "CONTRACT_SIGNED", "SIGN", new Date().toISOString(), {
    external_metadata: { id: `hubspot:${sandbox.portal}:deal:${deal.id}`, integration_name: "spotdraft-crm", record_data: { environment: "production" } },
  });
  const a = await deliver(relay, "uat", otherEnv, signWithKey(sandbox.uat.hmac_key, otherEnv));
  assert.equal(a.status, 200);
  assert.match(a.json.reason, /another environment/);
  const foreign = payload(contract, deal, "CONTRACT_SIGNED", "SIGN", new Date().toISOString(), { external_metadata: { id: "hubspot-deal-10024" } });
  const b = await deliver(relay, "uat", foreign, signWithKey(sandbox.uat.hmac_key, foreign));
  assert.equal(b.status, 200);
  assert.match(b.json.reason, /not linked/);
  const metadata = (id, environment = "uat", integration = "spotdraft-crm") => ({ external_metadata: { id, integration_name: integration, record_data: { environment } } });
  const otherPortal = payload(contract, deal, "CONTRACT_SIGNED", "SIGN", new Date().toISOString(), metadata(`hubspot:1:deal:${deal.id}`));
  assert.match((await deliver(relay, "uat", otherPortal, signWithKey(sandbox.uat.hmac_key, otherPortal))).json.reason, /another CRM account/);
  // Exact ownership: the configured object, the environment spelled as the plugin writes it, this integration.
  const cases = [
    [metadata(`hubspot:${sandbox.portal}:company:${deal.id}`), /another kind of CRM record/],
    [metadata(`hubspot:${sandbox.portal}:contact:${deal.id}`), /another kind of CRM record/],
    [metadata(`hubspot:${sandbox.portal}:deal:${deal.id}`, "staging"), /another environment/],
    [metadata(`hubspot:${sandbox.portal}:deal:${deal.id}`, "Production"), /another environment/],
    [metadata(`hubspot:${sandbox.portal}:deal:${deal.id}`, "UAT"), /another environment/],
    [metadata(`hubspot:${sandbox.portal}:deal:${deal.id}`, null), /another environment/],
    [metadata(`hubspot:${sandbox.portal}:deal:${deal.id}`, "uat", "someone-elses-sync"), /another integration/],
    [metadata(`hubspot:${sandbox.portal}:deal:${deal.id}`, "uat", null), /another integration/],
  ];
  for (const [extra, reason] of cases) {
    const body = payload(contract, deal, "CONTRACT_SIGNED", "SIGN", new Date().toISOString(), extra);
    const reply = await deliver(relay, "uat", body, signWithKey(sandbox.uat.hmac_key, body));
    assert.equal(reply.status, 200, JSON.stringify(extra));
    assert.match(reply.json.reason, reason, JSON.stringify(extra));
  }
  assert.equal((await crmWrites(sandbox, deal.id)).length, writesBefore);
  assert.notEqual((await crmFields(sandbox, deal.id)).spotdraft_status, "SIGN", "none of them reached the deal");
});

test("a replayed delivery is answered without touching the CRM", async () => {
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  const body = payload(contract, deal, "CONTRACT_SENT_TO_COUNTERPARTY", "REDLINING", new Date(Date.now() + 2000).toISOString());
  const signature = signWithKey(sandbox.uat.hmac_key, body);
  await transition(contract.id, "REDLINING");
  const first = await deliver(relay, "uat", body, signature);
  assert.equal(first.status, 200, JSON.stringify(first.json));
  // The sandbox's own delivery of the transition must be done before counting.
  await sandbox.deliveriesDone();
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "REDLINING");
  const crmRequests = async () => (await sandbox.control("GET", "/__sandbox/requests")).json.filter((r) => r.service === "crm" && r.path.includes(`/deals/${deal.id}`)).length;
  const before = await crmRequests();
  for (let i = 0; i < 40; i += 1) {
    const replay = await deliver(relay, "uat", body, signature);
    assert.equal(replay.status, 200);
    assert.match(replay.json.reason, /already applied/);
  }
  assert.equal(await crmRequests(), before, "forty replays cost the CRM nothing");
});

test("a second Create click never rolls the CRM back behind a webhook", async () => {
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "DRAFT");
  // The lookup behind the second click reads Draft, then answers slowly; meanwhile the contract goes
  // to review and its webhook is applied. The click's answer must not write Draft back over it.
  await sandbox.setFaults({ rules: [{ route: "GET /api/v2.1/public/contracts/by_external_metadata/*", service: "spotdraft", kind: "slow", delay_ms: 2000, times: 1 }] });
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  const slowedLookups = async () => (await sandbox.control("GET", "/__sandbox/requests")).json.filter((r) => r.path.includes("/by_external_metadata/") && r.fault).length;
  const slowedBefore = await slowedLookups();
  const click = api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { templateId: nda } });
  // The sandbox journals the lookup once it has read the contract, before it waits to answer.
  await eventually(async () => (await slowedLookups()) > slowedBefore);
  await transition(contract.id, "REDLINING");
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "REDLINING");
  const again = await click;
  await sandbox.clearFaults();
  assert.equal(again.status, 200, JSON.stringify(again.json));
  assert.equal(again.json.contract.status, "DRAFT", "the slow lookup did read Draft");
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "REDLINING", "the record keeps the newer status");
  // And the genuine webhook, redelivered, still counts as what it is.
  await transition(contract.id, "SIGN");
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "SIGN");
});

test("a delivery duplicated five times writes once", async () => {
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to: "REDLINING" });
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "REDLINING");
  // The sandbox journals a write just after applying it: wait for the entry, not only the field.
  await eventually(async () => (await crmWrites(sandbox, deal.id)).some((w) => w.properties?.spotdraft_status === "REDLINING"));
  const writesBefore = (await crmWrites(sandbox, deal.id)).length;
  const body = payload(contract, deal, "CONTRACT_SENT_TO_COUNTERPARTY", "REDLINING", new Date(Date.now() + 1000).toISOString());
  const signature = signWithKey(sandbox.uat.hmac_key, body);
  const replies = await Promise.all(Array.from({ length: 5 }, () => deliver(relay, "uat", body, signature)));
  assert.ok(replies.every((r) => r.status === 200));
  assert.equal((await crmWrites(sandbox, deal.id)).length, writesBefore, "the record already showed REDLINING");
  assert.deepEqual(redundant(await crmWrites(sandbox, deal.id)), []);
});

test("shuffled and duplicated deliveries end at SpotDraft's state without redundant writes", async () => {
  await sandbox.setFaults({ seed: 3, webhooks: { duplicate_rate: 0.5, shuffle: true, delay_ms: 30 } });
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  for (const status of ["REDLINING", "SIGN", "EXECUTED"]) await transition(contract.id, status);
  await sandbox.deliveriesDone();
  await sandbox.clearFaults();
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "EXECUTED");
  assert.deepEqual(redundant(await crmWrites(sandbox, deal.id)), []);
});

test("stale deliveries never regress the status", async () => {
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  await transition(contract.id, "SIGN");
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "SIGN");
  // An old REDLINING event arriving late, and one stamped newer than the record but contradicted by SpotDraft.
  for (const timestamp of ["2020-01-01T00:00:00Z", new Date(Date.now() + 5000).toISOString()]) {
    const body = payload(contract, deal, "CONTRACT_SENT_TO_COUNTERPARTY", "REDLINING", timestamp);
    assert.equal((await deliver(relay, "uat", body, signWithKey(sandbox.uat.hmac_key, body))).status, 200);
  }
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "SIGN");
  assert.deepEqual(redundant(await crmWrites(sandbox, deal.id)), []);
});

test("dropped deliveries are repaired by reconciliation, which writes only what differs", async () => {
  const deal = await newDeal(sandbox);
  const contract = await contractFor(deal);
  const first = await relay.reconcile("uat");
  assert.equal(first.failures.length, 0, JSON.stringify(first.failures));
  await sandbox.setFaults({ webhooks: { drop_rate: 1 } });
  await transition(contract.id, "REDLINING");
  await transition(contract.id, "SIGN");
  await sandbox.clearFaults(); // the two transitions' deliveries were set to drop when they happened
  await sandbox.deliveriesDone();
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "DRAFT", "the drops left the CRM behind");
  const report = await relay.reconcile("uat");
  assert.ok(report.recordsRepaired >= 1, JSON.stringify(report));
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "SIGN");
  const again = await relay.reconcile("uat");
  assert.equal(again.recordsRepaired, 0, "a second pass finds nothing to repair");
  assert.deepEqual(redundant(await crmWrites(sandbox, deal.id)), []);
  assert.equal(await relay.store.read("uat"), again.checkpoint, "the checkpoint is stored for the next run");
});

test("reconciliation cost follows changed contracts, not deals", async () => {
  const report = await relay.reconcile("uat");
  const requests = (await sandbox.control("GET", "/__sandbox/requests")).json;
  const listCalls = requests.filter((r) => r.service === "spotdraft" && r.method === "GET" && r.path === "/api/v2.1/public/contracts/" && r.query.includes("page="));
  assert.ok(listCalls.length >= 1);
  assert.equal(report.pages, 1, "one page covers every contract changed since the checkpoint");
  assert.ok(report.recordsChecked <= report.contractsSeen);
});

test("sidebars are answered from what the relay knows: no SpotDraft request while nothing changed, one after a webhook", async () => {
  const deal = await newDeal(sandbox, "Cached deal");
  const contract = await contractFor(deal);
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "DRAFT");
  const listings = async () => (await sandbox.control("GET", "/__sandbox/requests?method=GET")).json
    .filter((r) => r.service === "spotdraft" && r.path.includes("by_external_metadata")).length;
  const open = () => api(relay, "GET", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id) });
  const first = await open();
  assert.equal(first.status, 200);
  const before = await listings();
  for (let i = 0; i < 5; i += 1) {
    const again = await open();
    assert.equal(again.status, 200);
    assert.equal(again.json[0].status, "DRAFT");
    assert.ok(Date.parse(again.json[0].asOf) <= Date.now(), "each answer says when the relay last knew it");
  }
  assert.equal(await listings(), before, "five opens while nothing changed: no SpotDraft request");
  await transition(contract.id, "REDLINING");
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "REDLINING");
  const moved = await open();
  assert.equal(moved.json[0].status, "REDLINING", "the webhook made the next open read again");
  await open();
  assert.equal(await listings(), before + 1, "one read after the change, then none");
});
