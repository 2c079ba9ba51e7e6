// Key terms on the deal: SpotDraft's metadata values of the contract the record shows, written to the
// configured CRM fields with their conversions when it is executed and whenever SpotDraft says a value
// changed (key-pointer activities), each write only what differs, exactly once per change.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SpotDraftClient } from "../../pkg/node.js";
import { api, crmWrites, deliver, eventually, msaTemplate, newDeal, relayConfig, signWithKey, startRelay, startSandbox, token } from "./support.mjs";

let sandbox;
let relay;
let msa;
let spotdraft;
const TERMS = {
  spotdraft_contract_value: { type: "number", fieldType: "number" },
  spotdraft_term_months: { type: "number", fieldType: "number" },
  spotdraft_agreement_date: { type: "date", fieldType: "date" },
  spotdraft_billing: { type: "string", fieldType: "text" },
  spotdraft_currency: { type: "string", fieldType: "text" },
};

before(async () => {
  sandbox = await startSandbox();
  // The admin's fields in HubSpot (the emulator refuses writes to properties that do not exist).
  for (const [name, { type, fieldType }] of Object.entries(TERMS)) {
    const made = await sandbox.crmCall("POST", "/crm/v3/properties/deals", { name, label: name, type, fieldType, groupName: "dealinformation" });
    assert.equal(made.status, 201, JSON.stringify(made.json));
  }
  const config = relayConfig(sandbox);
  const template = msaTemplate(sandbox.uat);
  msa = template.templateId;
  config.environments.uat.plugin.templates = [template];
  config.environments.uat.crm.keyTerms = [
    { keyPointer: "contract_value", field: "spotdraft_contract_value", as: "amount" },
    { keyPointer: "contract_value", field: "spotdraft_currency", as: "currencyCode" },
    { keyPointer: "subscription_term", field: "spotdraft_term_months", as: "months" },
    { keyPointer: "agreement_date", field: "spotdraft_agreement_date", as: "date" },
    { keyPointer: "billing_frequency", field: "spotdraft_billing", as: "enum", values: { annually: "Annual", quarterly: "Quarterly" } },
  ];
  relay = await startRelay(sandbox, { config });
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
  spotdraft = async (method, path, body) => {
    const response = await fetch(`${sandbox.spotdraft}/api/v2.1/public${path}`, {
      method, headers: { "client-id": sandbox.uat.client_id, "client-secret": sandbox.uat.client_secret, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json().catch(() => null) };
  };
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

const termsOf = async (dealId) => {
  const reply = await sandbox.crmCall("GET", `/crm/v3/objects/deals/${dealId}?properties=${Object.keys(TERMS).join(",")}`);
  return reply.json.properties;
};
const termWrites = async (dealId) => (await crmWrites(sandbox, dealId)).filter((w) => (w.changed ?? []).some((name) => name in TERMS));

async function executedMsa(name) {
  const deal = await newDeal(sandbox, name);
  const created = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { templateId: msa } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const contract = created.json.contract;
  for (const to of ["SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
  return { deal, contract };
}

test("executing the contract fills the mapped key terms on the deal, converted", async () => {
  const { deal } = await executedMsa("Key terms – executed");
  const terms = await eventually(async () => {
    const now = await termsOf(deal.id);
    return now.spotdraft_contract_value ? now : null;
  });
  assert.equal(Number(terms.spotdraft_contract_value), 18000);
  assert.equal(terms.spotdraft_currency, "USD");
  assert.equal(Number(terms.spotdraft_term_months), 12);
  assert.equal(terms.spotdraft_agreement_date.slice(0, 10), "2026-09-30");
  assert.equal(terms.spotdraft_billing, "Annual");
  assert.equal((await termWrites(deal.id)).length, 1, "one write for all of them");
});

test("a value changed in SpotDraft reaches the deal once; an unchanged update writes nothing", async () => {
  const { deal, contract } = await executedMsa("Key terms – updated");
  await eventually(async () => (await termsOf(deal.id)).spotdraft_contract_value);
  const update = await spotdraft("POST", `/contracts/${contract.id}/key_pointers/bulk`, {
    key_pointers: [{ key_pointer_field_name: "contract_value", value: { type: "USD", value: 24500 } }, { key_pointer_field_name: "billing_frequency", value: "quarterly" }],
  });
  assert.equal(update.status, 200, JSON.stringify(update.json));
  assert.deepEqual(update.json.find((v) => v.field_name === "contract_value").value, { type: "USD", value: 24500 });
  await eventually(async () => Number((await termsOf(deal.id)).spotdraft_contract_value) === 24500);
  assert.equal((await termsOf(deal.id)).spotdraft_billing, "Quarterly");
  await eventually(async () => (await termWrites(deal.id)).length === 2);
  // The same values again: SpotDraft records no change, and the relay writes nothing.
  const same = await spotdraft("POST", `/contracts/${contract.id}/key_pointers/bulk`, { key_pointers: [{ key_pointer_field_name: "contract_value", value: { type: "USD", value: 24500 } }] });
  assert.equal(same.status, 200);
  await sandbox.deliveriesDone(); // any delivery the update queued has been answered
  assert.equal((await termWrites(deal.id)).length, 2);
});

test("a redelivered or stale key-pointer activity writes nothing: the relay reads the values fresh", async () => {
  const { deal, contract } = await executedMsa("Key terms – redelivered");
  await eventually(async () => (await termsOf(deal.id)).spotdraft_contract_value);
  const writes = (await termWrites(deal.id)).length;
  const body = JSON.stringify({
    activity: "CONTRACT_KEY_POINTER_UPDATION", contract_id: contract.number, contract_status: "EXECUTED", contract_title: contract.name,
    contract_kind: "TEMPLATE_CONTRACT", contract_type_id: contract.contractTypeId, contract_template_id: msa,
    external_metadata: { id: `hubspot:${sandbox.portal}:deal:${deal.id}`, integration_name: "spotdraft-crm", record_data: { environment: "uat", template_id: msa } },
    activity_data: { performed_by: { name: "SYSTEM" }, timestamp: "2020-01-01T00:00:00Z" },
  });
  for (let i = 0; i < 3; i += 1) {
    const reply = await deliver(relay, "uat", body, signWithKey(sandbox.uat.hmac_key, body));
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
  }
  assert.equal((await termWrites(deal.id)).length, writes);
});

test("a value the mapping cannot convert writes nothing, and says which key term", async () => {
  const { deal, contract } = await executedMsa("Key terms – unmapped value");
  await eventually(async () => (await termsOf(deal.id)).spotdraft_contract_value);
  const writes = (await termWrites(deal.id)).length;
  const update = await spotdraft("POST", `/contracts/${contract.id}/key_pointers/bulk`, {
    key_pointers: [{ key_pointer_field_name: "contract_value", value: { type: "USD", value: 99 } }, { key_pointer_field_name: "billing_frequency", value: "weekly" }],
  });
  assert.equal(update.status, 200);
  const line = await eventually(() => relay.lines.map((l) => JSON.parse(l)).find((l) => l.route === "POST /webhooks/spotdraft/uat" && /billing_frequency/.test(JSON.stringify(l))));
  assert.match(JSON.stringify(line), /weekly/);
  assert.equal((await termWrites(deal.id)).length, writes, "the new amount is not written either: nothing half-written");
  assert.notEqual(Number((await termsOf(deal.id)).spotdraft_contract_value), 99);
});

test("the sandbox holds key pointers to SpotDraft's spec: definitions per type, refusals named", async () => {
  const { contract } = await executedMsa("Key terms – spec");
  const values = await spotdraft("GET", `/contracts/${contract.id}/key_pointers`);
  assert.equal(values.status, 200);
  for (const value of values.json) assert.deepEqual(Object.keys(value).sort(), ["data_type", "field_name", "format_option", "id", "label", "value"]);
  const type = sandbox.uat.templates.find((t) => t.id === msa).contract_type_id;
  const definitions = await spotdraft("GET", `/key_pointers/?contract_type_id=${type}`);
  assert.equal(definitions.status, 200);
  assert.ok(definitions.json.some((d) => d.descriptors.some((x) => x.variable === "contract_value.value")));
  const missing = await spotdraft("GET", "/key_pointers/");
  assert.equal(missing.status, 400);
  const wrong = await spotdraft("POST", `/contracts/${contract.id}/key_pointers/bulk`, { key_pointers: [{ key_pointer_field_name: "agreement_date", value: "soon" }, { key_pointer_field_name: "nope", value: 1 }] });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.json.key_pointers.length, 2);
  const one = values.json.find((v) => v.field_name === "subscription_term");
  const patched = await spotdraft("PATCH", `/contracts/${contract.id}/key_pointers/${one.id}`, { value: { type: "MONTHS", value: 24 } });
  assert.equal(patched.status, 200, JSON.stringify(patched.json));
  assert.deepEqual(patched.json.value, { type: "MONTHS", value: 24 });
});
