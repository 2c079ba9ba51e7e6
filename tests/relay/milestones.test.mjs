// Milestone creation, for every CRM: a template opts in with createAtStages; the CRM's emulator sends
// its own deal-change events (HubSpot signed webhooks, Pipedrive v2 webhooks with Basic credentials,
// the Salesforce trigger's RS256 event token, the Zoho workflow function's HS256 one), each sent twice
// and late; moving the deal to the stage creates its contract once. Replayed newest first, racing a
// click, forged or for another account, nothing more happens. A mapping that fails creates nothing,
// says why on the record, and the next change that fixes the deal creates it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, eventually, newDeal, ndaTemplate, relayConfig, startRelay, startSandbox, token } from "./support.mjs";
import { SALESFORCE_TEST_KEY, ZOHO_SECRET, sellerToken, vendorInfo, vendorRelayConfig } from "./vendors.mjs";

let sandbox;
let vendors;
before(async () => {
  sandbox = await startSandbox();
  vendors = await vendorInfo(sandbox);
});
after(() => sandbox?.stop());

const ADMIN_SECRET = "uat-admin-secret-for-milestones-0123456789";
const PIPEDRIVE_EVENTS = { username: "spotdraft", password: "uat-pipedrive-webhook-password-0123" };

/** Per CRM: its stage field, a stage before the milestone, the milestone, and its account id. */
const CRMS = {
  hubspot: { stage: "dealstage", before: "appointmentscheduled", other: "qualifiedtobuy", milestone: "contractsent" },
  salesforce: { stage: "StageName", before: "Needs Analysis", other: "Id. Decision Makers", milestone: "Negotiation/Review", tenant: "00DHs0000000001MAA" },
  zoho: { stage: "Stage", before: "Needs Analysis", other: "Identify Decision Makers", milestone: "Negotiation/Review", tenant: "20050001" },
  pipedrive: { stage: "stage_id", before: 1, other: 2, milestone: 4, tenant: "7001" },
};

async function setUp(name, { closeDate = "2026-09-30", crm: crmBlock = {} } = {}) {
  const crm = CRMS[name];
  const config = name === "hubspot" ? relayConfig(sandbox) : vendorRelayConfig(sandbox, name, vendors);
  const env = config.environments.uat;
  env.plugin.templates = [{ ...ndaTemplate(sandbox.uat), createAtStages: [String(crm.milestone)] }];
  Object.assign(env.crm, crmBlock);
  env.adminSecret = ADMIN_SECRET;
  if (name === "hubspot") env.hubspotClientSecret = vendors.hubspot.client_secret;
  if (name === "pipedrive") env.crmEvents = { pipedrive: PIPEDRIVE_EVENTS };
  const relay = await startRelay(sandbox, { config });
  let dealId;
  if (name === "hubspot") {
    dealId = (await newDeal(sandbox, `Milestone on ${name}`, { stage: crm.before, closeDate })).id;
  } else {
    const made = await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: `Milestone on ${name}` });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    dealId = made.json.id;
    await edit(name, dealId, { [crm.stage]: crm.before });
  }
  const tenant = crm.tenant ?? String(sandbox.portal);
  const subscription = { url: `${relay.url}/crm-events/uat`, account: tenant, duplicate: true, delayMs: 50 };
  if (name === "pipedrive") Object.assign(subscription, PIPEDRIVE_EVENTS);
  if (name === "zoho") subscription.hostSecret = ZOHO_SECRET;
  if (name === "salesforce") subscription.privateKeyPem = SALESFORCE_TEST_KEY;
  const subscribed = await sandbox.control("PUT", `/__sandbox/crm/vendors/${name}/event-subscription`, subscription);
  assert.equal(subscribed.status, 204, JSON.stringify(subscribed.json));
  const externalId = `${name}:${tenant}:${name === "salesforce" ? "opportunity" : "deal"}:${dealId}`;
  return { relay, dealId, externalId, tenant };
}

async function edit(name, dealId, fields) {
  const reply = await sandbox.control("PATCH", `/__sandbox/crm/vendors/${name}/deals/${dealId}`, { fields });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
}

async function contractsOf(externalId) {
  return (await sandbox.control("GET", "/__sandbox/contracts")).json.filter((c) => c.workspace === "uat" && c.external_metadata?.id === externalId);
}

async function deliveries(name, dealId) {
  return (await sandbox.control("GET", `/__sandbox/crm/vendors/${name}/event-deliveries?deal=${dealId}`)).json;
}

/** Waits until every event sent for the deal has been answered, and returns them. */
async function settledDeliveries(name, dealId, atLeast) {
  return eventually(async () => {
    const sent = await deliveries(name, dealId);
    return sent.length >= atLeast && sent.every((d) => d.status !== null) ? sent : null;
  }, { timeoutMs: 20_000 });
}

for (const name of Object.keys(CRMS)) {
  test(`${name}: moving the deal to the milestone creates its contract once, through duplicated, replayed and racing events`, async () => {
    const crm = CRMS[name];
    const { relay, dealId, externalId } = await setUp(name);
    try {
      // Before the milestone: events arrive, nothing is created.
      await edit(name, dealId, { [crm.stage]: crm.other });
      const early = await settledDeliveries(name, dealId, 2);
      assert.ok(early.every((d) => d.status === 200), JSON.stringify(early.map((d) => [d.status, d.error])));
      assert.equal((await contractsOf(externalId)).length, 0, "not at the milestone: nothing created");
      await edit(name, dealId, { [crm.stage]: crm.milestone });
      const contracts = await eventually(async () => {
        const found = await contractsOf(externalId);
        return found.length > 0 ? found : null;
      }, { timeoutMs: 20_000 });
      const sent = await settledDeliveries(name, dealId, 4);
      assert.ok(sent.some((d) => d.duplicate), "the emulator sent each event twice");
      assert.ok(sent.every((d) => d.status === 200), JSON.stringify(sent.map((d) => [d.status, d.error])));
      assert.equal(contracts.length, 1, "one contract");
      const [contract] = await contractsOf(externalId);
      assert.equal(contract.external_metadata.id, externalId, "the CRM ids are in SpotDraft's external metadata");
      // Replayed newest first (a late redelivery of an older event), and a seller's click at the same time.
      const bearer = name === "hubspot" ? token(sandbox, dealId) : sellerToken(name, dealId, vendors[name].users[0]);
      const replays = sent.slice().reverse().map((d) => fetch(d.url, { method: "POST", headers: d.headers, body: d.body }));
      const click = api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
      const answers = await Promise.all(replays);
      for (const answer of answers) assert.equal(answer.status, 200, `a replay within the signature's window is answered`);
      assert.equal((await click).status, 200, "the click finds the contract the milestone made");
      assert.equal((await contractsOf(externalId)).length, 1, "still one contract");
      // The record shows it, written back as a click's create would.
      const listed = await api(relay, "GET", `/api/uat/deals/${dealId}/contracts`, { bearer });
      assert.equal(listed.status, 200, JSON.stringify(listed.json));
      assert.equal(listed.json.length, 1, JSON.stringify(listed.json));
      assert.equal(listed.json[0].externalId, externalId);
      // The audit log tells the milestone's create (once) and the seller's click that found it.
      const audit = await (await fetch(`${relay.url}/admin/uat/audit?deal=${dealId}`, { headers: { authorization: `Bearer ${ADMIN_SECRET}` } })).json();
      const made = audit.entries.filter((e) => e.action === "milestoneCreate" && e.status === 201);
      assert.equal(made.length, 1, JSON.stringify(audit.entries));
      assert.deepEqual([made[0].requestedBy.via, made[0].contract, made[0].actingAs], ["milestone", listed.json[0].id, null]);
      assert.ok(audit.entries.some((e) => e.action === "create" && e.requestedBy.via === "sidebar" && e.status === 200));
    } finally {
      await sandbox.control("DELETE", `/__sandbox/crm/vendors/${name}/event-subscription`);
      await relay.close();
    }
  });
}

test("forged, stale and foreign events are refused or skipped, and create nothing", async () => {
  const { relay, dealId, externalId, tenant } = await setUp("hubspot");
  try {
    await sandbox.control("DELETE", "/__sandbox/crm/vendors/hubspot/event-subscription");
    await edit("hubspot", dealId, { dealstage: "contractsent" });
    const url = `${relay.url}/crm-events/uat`;
    const body = JSON.stringify([{ portalId: Number(tenant), objectId: Number(dealId), subscriptionType: "deal.propertyChange", propertyName: "dealstage" }]);
    const { hubspotHeaders } = await import("./support.mjs");
    const forged = await fetch(url, { method: "POST", headers: hubspotHeaders("not-the-app-secret", "POST", url, body), body });
    assert.equal(forged.status, 401);
    const stale = await fetch(url, { method: "POST", headers: hubspotHeaders(vendors.hubspot.client_secret, "POST", url, body, Date.now() - 10 * 60_000), body });
    assert.equal(stale.status, 401);
    const foreignBody = body.replace(`"portalId":${tenant}`, '"portalId":999');
    const foreign = await fetch(url, { method: "POST", headers: hubspotHeaders(vendors.hubspot.client_secret, "POST", url, foreignBody), body: foreignBody });
    assert.equal(foreign.status, 200);
    assert.equal((await foreign.json()).skippedEvents, 1);
    const notJson = await fetch(url, { method: "POST", headers: hubspotHeaders(vendors.hubspot.client_secret, "POST", url, "{"), body: "{" });
    assert.equal(notJson.status, 400);
    assert.match((await notJson.json()).error.message, /not JSON/);
    assert.equal((await contractsOf(externalId)).length, 0, "nothing was created");
    // A seller's session token is not an event (Salesforce/Zoho-style calls are refused on HubSpot too).
    const session = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token(sandbox, dealId)}` }, body: "{}" });
    assert.equal(session.status, 401);
    assert.equal((await fetch(url, { method: "GET" })).status, 405);
  } finally {
    await relay.close();
  }
});

test("a deal missing a mapped field gets no contract and a note saying why; the change that fixes it creates the contract", async () => {
  const { relay, dealId, externalId } = await setUp("hubspot", { closeDate: null, crm: { timeline: true } });
  try {
    await edit("hubspot", dealId, { dealstage: "contractsent" });
    const notes = async () => (await sandbox.control("GET", `/__sandbox/crm/vendors/hubspot/deals/${dealId}/activity`)).json.notes.filter((n) => /was not created/.test(n.body));
    const [noted] = await eventually(async () => ((await notes()).length > 0 ? notes() : null), { timeoutMs: 20_000 });
    assert.match(noted.body, /Mutual NDA was not created at contractsent/);
    const sent = await settledDeliveries("hubspot", dealId, 2);
    const answered = JSON.parse(await (await fetch(sent[0].url, { method: "POST", headers: sent[0].headers, body: sent[0].body })).text());
    const problems = answered.deals?.[0]?.problems ?? [];
    assert.equal(problems.length, 1, JSON.stringify(answered));
    assert.match(problems[0].problems.join(" "), /effective_date|close/i);
    assert.equal((await contractsOf(externalId)).length, 0);
    assert.equal((await notes()).length, 1, "told once on the record, however many events");
    await edit("hubspot", dealId, { closedate: "2026-10-31" });
    const contracts = await eventually(async () => {
      const found = await contractsOf(externalId);
      return found.length > 0 ? found : null;
    }, { timeoutMs: 20_000 });
    assert.equal(contracts.length, 1);
  } finally {
    await sandbox.control("DELETE", "/__sandbox/crm/vendors/hubspot/event-subscription");
    await relay.close();
  }
});

test("a contract someone voided is not made again by the deal's next change", async () => {
  const { relay, dealId, externalId } = await setUp("hubspot");
  try {
    await edit("hubspot", dealId, { dealstage: "contractsent" });
    const [contract] = await eventually(async () => {
      const found = await contractsOf(externalId);
      return found.length > 0 ? found : null;
    }, { timeoutMs: 20_000 });
    const voided = await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to: "VOIDED" });
    assert.equal(voided.status, 200, JSON.stringify(voided.json));
    await edit("hubspot", dealId, { amount: "19000" });
    // The relay's own write-backs are events too (skipped); the seller's edit is the one about amount.
    const edited = await eventually(async () => (await deliveries("hubspot", dealId)).find((d) => d.body.includes('"propertyName":"amount"') && d.status !== null) ?? null);
    assert.equal(edited.status, 200);
    const answer = JSON.parse(await (await fetch(edited.url, { method: "POST", headers: edited.headers, body: edited.body })).text());
    assert.deepEqual(answer.deals[0].created, []);
    assert.match(answer.deals[0].already.join(" "), /voided/);
    assert.equal((await contractsOf(externalId)).length, 1, "no second contract");
  } finally {
    await sandbox.control("DELETE", "/__sandbox/crm/vendors/hubspot/event-subscription");
    await relay.close();
  }
});

test("while the CRM cannot be read the event is answered 503, so it comes again, and the redelivery creates the contract", async () => {
  const { relay, dealId, externalId } = await setUp("hubspot");
  try {
    await sandbox.control("DELETE", "/__sandbox/crm/vendors/hubspot/event-subscription");
    // The relay's deal read fails (HubSpot down) more often than the client's retries cover.
    await sandbox.setFaults({ rules: [{ route: `GET /crm/v3/objects/deals/${dealId}*`, service: "crm", kind: "503", times: 12 }] });
    await edit("hubspot", dealId, { dealstage: "contractsent" });
    const url = `${relay.url}/crm-events/uat`;
    const body = JSON.stringify([{ portalId: Number(sandbox.portal), objectId: Number(dealId), subscriptionType: "object.propertyChange", objectTypeId: "0-3", propertyName: "dealstage" }]);
    const { hubspotHeaders } = await import("./support.mjs");
    const first = await fetch(url, { method: "POST", headers: hubspotHeaders(vendors.hubspot.client_secret, "POST", url, body), body });
    assert.equal(first.status, 503, await first.text());
    assert.equal((await contractsOf(externalId)).length, 0);
    await sandbox.setFaults({ rules: [] });
    const again = await fetch(url, { method: "POST", headers: hubspotHeaders(vendors.hubspot.client_secret, "POST", url, body), body });
    assert.equal(again.status, 200, await again.text());
    assert.equal((await contractsOf(externalId)).length, 1);
  } finally {
    await sandbox.setFaults({ rules: [] });
    await relay.close();
  }
});
