// Create is idempotent per deal: whatever the clicking and whatever SpotDraft's failures, each deal
// ends with exactly one live contract.
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { api, liveContracts, newDeal, startRelay, startStack, stopStack, token } from "./support.mjs";

let sandbox;
let relay;
before(async () => ({ sandbox, relay } = await startStack()));
after(() => stopStack({ sandbox, relay }));
beforeEach(() => sandbox.clearFaults());

function create(deal) {
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  return api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { deal, templateId: nda } });
}

test("when the CRM refuses the record's write, the create stands and the log line says why", async () => {
  const deal = await newDeal(sandbox);
  await sandbox.setFaults({ rules: [{ route: `PATCH /crm/v3/objects/deals/${deal.id}*`, service: "crm", kind: "503", times: 5 }] });
  const reply = await create(deal);
  assert.equal(reply.status, 201, JSON.stringify(reply.json));
  assert.equal(reply.json.crmSynced, false);
  const line = relay.lines.map((text) => JSON.parse(text)).reverse().find((entry) => entry.crmWriteError);
  assert.ok(line, "a log line names the CRM write's failure");
  assert.match(line.crmWriteError, /HubSpot: the CRM failed to answer/);
  assert.equal("crmWriteError" in reply.json, false, "the browser's answer does not carry it");
});

test("a create shows on the CRM record at once", async () => {
  const deal = await newDeal(sandbox);
  const reply = await create(deal);
  assert.equal(reply.status, 201, JSON.stringify(reply.json));
  assert.equal(reply.json.created, true);
  assert.equal(reply.json.crmSynced, true);
  const contract = reply.json.contract;
  assert.match(contract.id, /^T-\d+$/);
  assert.equal(contract.link, `https://app.spotdraft.com/contracts/v2/${contract.number}`);
  const props = (await sandbox.crmCall("GET", `/crm/v3/objects/deals/${deal.id}?properties=spotdraft_contract_id,spotdraft_status`)).json.properties;
  assert.deepEqual([props.spotdraft_contract_id, props.spotdraft_status], [contract.id, "DRAFT"]);
  const stored = (await liveContracts(sandbox, "uat", deal.id, sandbox.portal))[0];
  assert.equal(stored.external_metadata.record_data.environment, "uat");
  assert.equal(stored.contract_data.nda_kind, "mutual");
});

test("double submit makes one contract", async () => {
  const deal = await newDeal(sandbox);
  const [a, b] = await Promise.all([create(deal), create(deal)]);
  assert.deepEqual([a.status, b.status].sort(), [200, 201]);
  assert.equal(a.json.contract.id, b.json.contract.id);
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 1);
});

test("ten concurrent creates for one deal make one contract", async () => {
  const deal = await newDeal(sandbox);
  const replies = await Promise.all(Array.from({ length: 10 }, () => create(deal)));
  assert.ok(replies.every((r) => r.status === 200 || r.status === 201), JSON.stringify(replies.map((r) => r.json)));
  assert.equal(new Set(replies.map((r) => r.json.contract.id)).size, 1);
  assert.equal(replies.filter((r) => r.json.created).length, 1);
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 1);
});

test("two relay instances racing for one deal end with one live contract; the newer is voided with a note", async () => {
  const second = await startRelay(sandbox);
  try {
    const deal = await newDeal(sandbox, "Raced deal");
    const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
    const body = { deal, templateId: nda };
    const bearer = token(sandbox, deal.id);
    const path = `/api/uat/deals/${deal.id}/contracts`;
    // Slow SpotDraft's creates down so both instances are inside their create at the same time.
    await sandbox.setFaults({ rules: [{ route: "POST /api/v2.1/public/contracts/", kind: "slow", delay_ms: 400 }] });
    const replies = await Promise.all([relay, second, relay, second].map((instance) => api(instance, "POST", path, { bearer, body })));
    await sandbox.clearFaults();
    assert.ok(replies.every((r) => r.status < 300), JSON.stringify(replies.map((r) => r.json)));
    assert.equal(new Set(replies.map((r) => r.json.contract.id)).size, 1, "every caller is told the same contract");
    assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 1);
    const all = (await sandbox.control("GET", "/__sandbox/contracts")).json.filter((c) => c.external_metadata?.id === `hubspot:${sandbox.portal}:deal:${deal.id}`);
    for (const voided of all.filter((c) => c.status === "VOIDED")) {
      assert.ok(voided.contract_id > Math.min(...all.map((c) => c.contract_id)), "only newer duplicates are voided");
    }
  } finally {
    await second.close();
  }
});

test("a connection reset after SpotDraft created the contract makes no second one", async () => {
  const deal = await newDeal(sandbox);
  await sandbox.setFaults({ rules: [{ route: "POST /api/v2.1/public/contracts/", kind: "reset", times: 1 }] });
  const reply = await create(deal);
  assert.equal(reply.status, 201, JSON.stringify(reply.json));
  const journal = (await sandbox.control("GET", "/__sandbox/requests?method=POST&path=/api/v2.1/public/contracts/")).json;
  const forThisDeal = journal.filter((r) => r.handler_ran && r.body.includes(`deal:${deal.id}"`));
  assert.equal(forThisDeal.length, 1, "SpotDraft saw exactly one create");
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 1);
});

test("under 30% injected 5xx and 429 every deal still gets exactly one contract", async () => {
  await sandbox.setFaults({ seed: 7, rules: [
    { route: "* /api/*", kind: "503", rate: 0.15 },
    { route: "* /api/*", kind: "500", rate: 0.05 },
    { route: "* /api/*", kind: "429", rate: 0.1 },
  ] });
  const deals = [];
  for (let i = 0; i < 5; i += 1) deals.push(await newDeal(sandbox, `Fault deal ${i}`));
  const replies = await Promise.all(deals.map((deal) => create(deal)));
  await sandbox.clearFaults();
  let created = 0;
  for (const [i, deal] of deals.entries()) {
    const live = await liveContracts(sandbox, "uat", deal.id, sandbox.portal);
    if (replies[i].status < 300) {
      created += 1;
      assert.equal(live.length, 1, `deal ${deal.id}`);
    } else {
      assert.ok(live.length <= 1 && replies[i].json.error.transient, `deal ${deal.id}: ${JSON.stringify(replies[i].json)}`);
    }
  }
  assert.ok(created >= 4, `retries carried the creates through (${created}/5)`);
  const faulted = (await sandbox.control("GET", "/__sandbox/requests")).json.filter((r) => r.fault);
  assert.ok(faulted.length > 0, "faults were injected");
});

test("bad create input is a clear 4xx and sends nothing to SpotDraft", async () => {
  const deal = await newDeal(sandbox);
  const spotdraftPosts = async () => (await sandbox.control("GET", "/__sandbox/requests?method=POST")).json.filter((r) => r.service === "spotdraft").length;
  const before = await spotdraftPosts();
  const bearer = token(sandbox, deal.id);
  const path = `/api/uat/deals/${deal.id}/contracts`;
  const cases = [
    [{ templateId: 999 }, 404, "unknown_template"],
    [{ deal }, 400, "invalid_input"],
    [{ templateId: -1 }, 400, "invalid_input"],
  ];
  for (const [body, status, code] of cases) {
    const reply = await api(relay, "POST", path, { bearer, body });
    assert.equal(reply.status, status, JSON.stringify(reply.json));
    assert.equal(reply.json.error.code, code);
  }
  const raw = await fetch(`${relay.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${bearer}` }, body: "{not json" });
  assert.equal(raw.status, 400);
  const after = await spotdraftPosts();
  assert.equal(after, before, "no POST reached SpotDraft");
});

test("the deal comes from the CRM: a tampered browser deal and a wrong stage create nothing, and the answer says why", async () => {
  // In the CRM the deal is lost; the browser claims it is at contract stage, for another company and amount.
  const deal = await newDeal(sandbox, "Tampered deal", { stage: "closedlost" });
  const spotdraftPosts = async () => (await sandbox.control("GET", "/__sandbox/requests?method=POST")).json.filter((r) => r.service === "spotdraft").length;
  const before = await spotdraftPosts();
  const bearer = token(sandbox, deal.id);
  const tampered = { ...deal, stage: "contractsent", amount: 1, name: "Free of charge", account: { name: "Someone Else Ltd" } };
  const refused = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer, body: { deal: tampered, templateId: 1101 } });
  assert.equal(refused.status, 422, JSON.stringify(refused.json));
  assert.equal(refused.json.error.code, "stage_not_allowed");
  assert.match(refused.json.error.message, /this deal is at closedlost/, "the CRM's stage, not the browser's");
  assert.equal(await spotdraftPosts(), before, "nothing reached SpotDraft");
  assert.equal((await liveContracts(sandbox, "uat", deal.id)).length, 0);

  // Once the CRM allows it, the contract carries the CRM's values whatever the browser says.
  await sandbox.crmCall("PATCH", `/crm/v3/objects/deals/${deal.id}`, { properties: { dealstage: "contractsent" } });
  const created = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer, body: { deal: tampered, templateId: 1101 } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const [stored] = (await sandbox.control("GET", "/__sandbox/contracts")).json.filter((c) => c.id === created.json.contract.id);
  assert.equal(stored.counter_party_name, "Globex Corporation");
  assert.doesNotMatch(stored.name, /Someone Else|Free of charge/);
});
