// The signed PDF and a timeline on the deal, for every CRM: executing a contract attaches its signed
// PDF once (through the CRM's own files API, bytes copied from SpotDraft's signed URL) and adds one
// timeline entry per meaningful activity (the CRM's own notes API), however often SpotDraft
// delivers them; a document over the limit is refused with a clear log line; reconcile attaches
// what a lost delivery did not.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, eventually, ndaTemplate, newDeal, relayConfig, startRelay, startSandbox, token } from "./support.mjs";
import { sellerToken, vendorInfo, vendorRelayConfig } from "./vendors.mjs";
import { SpotDraftClient } from "../../pkg/node.js";

let sandbox;
let vendors;
before(async () => {
  sandbox = await startSandbox();
  vendors = await vendorInfo(sandbox);
});
after(() => sandbox?.stop());

/** A relay for `name` with the PDF and the timeline turned on, its webhooks registered; a deal and a seller's bearer for it. */
async function setUp(name, crm = {}) {
  const config = name === "hubspot" ? relayConfig(sandbox) : vendorRelayConfig(sandbox, name, vendors);
  Object.assign(config.environments.uat.crm, { attachSignedPdf: true, timeline: true }, crm);
  const relay = await startRelay(sandbox, { config });
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
  let dealId;
  let bearer;
  if (name === "hubspot") {
    dealId = (await newDeal(sandbox, `Timeline on ${name}`)).id;
    bearer = token(sandbox, dealId);
  } else {
    const made = await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: `Timeline on ${name}` });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    dealId = made.json.id;
    bearer = sellerToken(name, dealId, vendors[name].users[0]);
  }
  return { relay, dealId, bearer };
}

async function activity(name, dealId) {
  return (await sandbox.control("GET", `/__sandbox/crm/vendors/${name}/deals/${dealId}/activity`)).json;
}

const references = (notes) => notes.map((n) => /SpotDraft ref ([^\s<]+)/.exec(n.body)?.[1]).filter(Boolean);

/** Sends every delivery SpotDraft made for `contract` again, exactly as it was (body and signature). */
async function redeliverAll(relay, contract) {
  // The execution's delivery is journaled once the relay has answered it (after its work).
  const deliveries = await eventually(async () => {
    const all = (await sandbox.control("GET", `/__sandbox/deliveries?contract_id=${contract}`)).json.filter((d) => d.url.startsWith(relay.url));
    const delivered = all.filter((d) => d.result === "delivered");
    return delivered.some((d) => d.activity === "CONTRACT_EXECUTED") ? delivered : null;
  });
  assert.ok(deliveries.length >= 4, `deliveries: ${JSON.stringify(deliveries.map((d) => d.activity))}`);
  // Newest first: a redelivery also arrives out of order.
  for (const delivery of deliveries.reverse()) {
    const response = await fetch(delivery.url, { method: "POST", headers: delivery.headers, body: delivery.body });
    assert.equal(response.status, 200, await response.text());
  }
  return deliveries.length;
}

for (const name of ["hubspot", "salesforce", "zoho", "pipedrive"]) {
  test(`${name}: executing attaches the signed PDF once and tells the timeline once per activity, through redelivery`, async () => {
    const { relay, dealId, bearer } = await setUp(name);
    try {
      const created = await api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const contract = created.json.contract;
      for (const to of ["SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
      const done = await eventually(async () => {
        const now = await activity(name, dealId);
        return now.files.length === 1 && references(now.notes).some((r) => r.includes("CONTRACT_EXECUTED")) ? now : null;
      });
      const [file] = done.files;
      assert.equal(file.head, "%PDF-1.4");
      assert.ok(file.name.includes(`(UAT ${contract.id} v1)`), file.name);
      assert.ok(file.size > 300);
      // One entry each: created, sent for signature, signed (each signer), executed.
      const entries = references(done.notes).filter((r) => !r.includes("SIGNED_PDF"));
      const kinds = entries.map((r) => r.split("/")[2]);
      for (const kind of ["CONTRACT_CREATED", "CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNED", "CONTRACT_EXECUTED"]) {
        assert.ok(kinds.includes(kind), `${kind} in ${kinds}`);
      }
      assert.equal(new Set(entries).size, entries.length, `no entry twice: ${entries}`);
      const executed = done.notes.find((n) => n.body.includes("CONTRACT_EXECUTED"));
      assert.match(executed.title || executed.body, /executed/);
      assert.match(executed.body, new RegExp(`contracts/v2/${contract.number}`), "links to the contract");

      await redeliverAll(relay, contract.number);
      const again = await activity(name, dealId);
      assert.equal(again.files.length, 1, "the PDF is not attached again");
      assert.deepEqual(references(again.notes).sort(), references(done.notes).sort(), "no entry added again");
    } finally {
      await relay.close();
    }
  });
}

test("a signed PDF over the limit is left in SpotDraft with a clear log line; the timeline still tells of it", async () => {
  const { relay, dealId, bearer } = await setUp("hubspot", { attachSignedPdf: { maxBytes: 20_000 } });
  try {
    const created = await api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
    const contract = created.json.contract;
    await sandbox.control("PUT", `/__sandbox/contracts/${contract.id}/document`, { paddingBytes: 50_000 });
    for (const to of ["SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
    const line = await eventually(() => relay.lines.map((l) => JSON.parse(l)).find((l) => l.signedPdfError));
    assert.match(line.signedPdfError, /larger than 20000 bytes.*attachSignedPdf\.maxBytes/);
    const now = await eventually(async () => {
      const seen = await activity("hubspot", dealId);
      return references(seen.notes).some((r) => r.includes("CONTRACT_EXECUTED")) ? seen : null;
    });
    assert.equal(now.files.length, 0);
    const deliveries = (await sandbox.control("GET", `/__sandbox/deliveries?contract_id=${contract.number}&activity=CONTRACT_EXECUTED`)).json.filter((d) => d.url.startsWith(relay.url));
    assert.ok(deliveries.length >= 1 && deliveries.every((d) => d.status_code === 200), "not retried for ever");
  } finally {
    await relay.close();
  }
});

test("reconcile attaches the signed PDF a lost delivery did not, once", async () => {
  const { relay, dealId, bearer } = await setUp("hubspot");
  try {
    const created = await api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
    const contract = created.json.contract;
    await sandbox.control("PUT", "/__sandbox/faults", { webhooks: { drop_rate: 1 } });
    try {
      for (const to of ["SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
    } finally {
      await sandbox.control("DELETE", "/__sandbox/faults");
    }
    await sandbox.deliveriesDone(); // the creation's delivery made, the two transitions' dropped
    assert.equal((await activity("hubspot", dealId)).files.length, 0);
    const first = await relay.reconcile("uat");
    assert.deepEqual(first.failures, []);
    const second = await relay.reconcile("uat");
    assert.deepEqual(second.failures, []);
    const now = await activity("hubspot", dealId);
    assert.equal(now.files.length, 1);
    assert.ok(now.files[0].name.includes(`(UAT ${contract.id} v1)`));
  } finally {
    await relay.close();
  }
});

test("HubSpot: a file whose note failed is attached by the retry, never uploaded twice or left unattached", async () => {
  const { relay, dealId, bearer } = await setUp("hubspot", { timeline: false });
  try {
    const created = await api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
    const contract = created.json.contract;
    // The upload lands; the note that shows it on the deal is refused once.
    await sandbox.control("PUT", "/__sandbox/faults", { rules: [{ route: "POST /crm/v3/objects/notes", service: "crm", kind: "500", times: 1 }] });
    try {
      for (const to of ["SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
      // The execution's webhook: the upload lands, its note is refused.
      const failed = await eventually(async () => {
        const now = await activity("hubspot", dealId);
        return now.unattachedFiles === 1 ? now : null;
      });
      assert.equal(failed.files.length, 0);
    } finally {
      await sandbox.control("DELETE", "/__sandbox/faults");
    }
    const repaired = await relay.reconcile("uat");
    assert.deepEqual(repaired.failures, []);
    const now = await activity("hubspot", dealId);
    assert.equal(now.files.length, 1, "the same file, now on the deal");
    assert.equal(now.unattachedFiles, 0, "nothing left in the file manager");
    await relay.reconcile("uat");
    assert.equal((await activity("hubspot", dealId)).files.length, 1, "once");
  } finally {
    await relay.close();
  }
});

test("a contract put on hold (SpotDraft sends no activity for it) reaches the timeline through reconcile, once", async () => {
  const { relay, dealId, bearer } = await setUp("hubspot");
  try {
    const created = await api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
    const contract = created.json.contract;
    await eventually(async () => references((await activity("hubspot", dealId)).notes).some((r) => r.includes("CONTRACT_CREATED")));
    const held = await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to: "ON_HOLD" });
    assert.equal(held.status, 200, JSON.stringify(held.json));
    assert.deepEqual(held.json.activities, [], "no activity: only reconcile can see it");
    for (let pass = 0; pass < 2; pass += 1) assert.deepEqual((await relay.reconcile("uat")).failures, []);
    const notes = (await activity("hubspot", dealId)).notes;
    const holds = references(notes).filter((r) => r.includes(`/${contract.id}/ON_HOLD/`));
    assert.equal(holds.length, 1, JSON.stringify(references(notes)));
    assert.ok(notes.some((n) => /put on hold/.test(n.body)));
  } finally {
    await relay.close();
  }
});
