// Provisioning (`cli.js provision`): the CRM fields the write-back fills, made from nothing in each
// emulated CRM through its own fields API, idempotently. The sandbox starts as an admin finds a CRM
// before installing (no SpotDraft properties or fields); a dry run changes nothing; a run creates
// each field once; a second run creates none; a conflicting field stops the run before anything is
// made; and a seller's Create then fills the new fields.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { api, eventually, ndaTemplate, newDeal, relayConfig, startRelay, startSandbox, token } from "./support.mjs";
import { SpotDraftClient } from "../../pkg/node.js";
import { sellerToken, startVendorRelay, vendorInfo, vendorRecord, vendorRelayConfig } from "./vendors.mjs";

const run = promisify(execFile);
const cli = new URL("../../www/relay/cli.js", import.meta.url).pathname;
const FIELD_KEYS = ["contractId", "status", "statusAt", "link", "executedAt"];
let sandbox;
let vendors;
let dir;

before(async () => {
  sandbox = await startSandbox();
  vendors = await vendorInfo(sandbox);
  dir = mkdtempSync(join(tmpdir(), "relay-provision-"));
  const removed = await sandbox.control("POST", "/__sandbox/crm/remove-spotdraft-fields");
  assert.equal(removed.status, 200);
});
after(async () => {
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `cli.js provision` on `config`; the report (--json) or the admin's text. */
async function provision(config, { dryRun = false, json = true } = {}) {
  const file = join(dir, `relay-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  const args = [cli, "provision", "--config", file, "--env", "uat", ...(dryRun ? ["--dry-run"] : []), ...(json ? ["--json"] : [])];
  const { stdout } = await run("node", args);
  return json ? JSON.parse(stdout) : stdout;
}

const actions = (report) => report.steps
  .filter((step) => !step.value?.startsWith("crm.keyTerms"))
  .map((step) => `${step.kind}:${step.value?.replace(/^crm\.fields\./, "") ?? step.name}:${step.action}`);

/** HubSpot's deal properties and groups, read through its properties API. */
async function hubspotProperties() {
  const properties = (await sandbox.crmCall("GET", "/crm/v3/properties/deals")).json.results;
  const groups = (await sandbox.crmCall("GET", "/crm/v3/properties/deals/groups")).json.results;
  return { properties: properties.filter((p) => p.name.startsWith("spotdraft_")), groups: groups.map((g) => g.name) };
}

/** The vendor's deal fields labelled "SpotDraft …", read through its fields API. */
async function vendorFields(name) {
  if (name === "pipedrive") {
    const answer = await (await fetch(`${sandbox.crm}/api/v1/dealFields?start=0&limit=500`, { headers: { "x-api-token": vendors.pipedrive.api_token } })).json();
    return answer.data.filter((field) => field.name.startsWith("SpotDraft")).map((field) => ({ name: field.key, label: field.name, type: field.field_type }));
  }
  const zoho = vendors.zoho;
  const form = new URLSearchParams({ grant_type: "refresh_token", client_id: zoho.client_id, client_secret: zoho.client_secret, refresh_token: zoho.users[0].refresh_token });
  const { access_token: accessToken } = await (await fetch(`${sandbox.crm}/oauth/v2/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() })).json();
  const answer = await (await fetch(`${sandbox.crm}/crm/v8/settings/fields?module=Deals`, { headers: { authorization: `Zoho-oauthtoken ${accessToken}` } })).json();
  return answer.fields.filter((field) => field.field_label.startsWith("SpotDraft")).map((field) => ({ name: field.api_name, label: field.field_label, type: field.data_type }));
}

test("HubSpot: a property of the wrong type stops the run before anything is made, naming the field", async () => {
  const clash = await sandbox.crmCall("POST", "/crm/v3/properties/deals", { name: "spotdraft_status", label: "Old status", type: "number", fieldType: "number", groupName: "dealinformation" });
  assert.equal(clash.status, 201);
  await assert.rejects(provision(relayConfig(sandbox)), (error) => {
    assert.match(error.stderr, /crm\.fields\.status: HubSpot has a field "spotdraft_status" \(Old status\) of type number, which cannot hold text/);
    return true;
  });
  const { properties, groups } = await hubspotProperties();
  assert.deepEqual(properties.map((p) => p.name), ["spotdraft_status"], "nothing else was created");
  assert.ok(!groups.includes("spotdraft"), "not even the group");
});

test("HubSpot: dry run, then the group and five text properties once, then nothing; a seller's Create fills them", async () => {
  // An admin who kept the clashing property points crm.fields.status at a new name instead.
  const config = relayConfig(sandbox);
  config.environments.uat.crm.fields = { contractId: "spotdraft_contract_id", status: "spotdraft_contract_status", statusAt: "spotdraft_status_at", link: "spotdraft_contract_link", executedAt: "spotdraft_executed_at" };

  const dry = await provision(config, { dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.deepEqual(actions(dry), ["group:spotdraft:wouldCreate", ...FIELD_KEYS.map((key) => `field:${key}:wouldCreate`)]);
  assert.equal(dry.configurationChanges, false, "HubSpot's properties take the configured names");
  assert.deepEqual((await hubspotProperties()).properties.map((p) => p.name), ["spotdraft_status"], "a dry run changes nothing");

  const made = await provision(config);
  assert.deepEqual(actions(made), ["group:spotdraft:created", ...FIELD_KEYS.map((key) => `field:${key}:created`)]);
  const { properties, groups } = await hubspotProperties();
  assert.ok(groups.includes("spotdraft"));
  const ours = properties.filter((p) => p.groupName === "spotdraft");
  assert.deepEqual(ours.map((p) => p.name).sort(), Object.values(config.environments.uat.crm.fields).sort());
  for (const property of ours) assert.deepEqual([property.type, property.fieldType], ["string", "text"], property.name);

  const again = await provision(config, { json: false });
  assert.match(again, /^HubSpot \(uat\)\n/);
  assert.equal((again.match(/: exists$/gm) ?? []).length, 5, again);
  assert.doesNotMatch(again, /create/);
  assert.match(again, /crm\.fields already names these fields/);
  assert.equal((await hubspotProperties()).properties.length, 6, "each created once");

  // The relay writes the new properties when a seller creates a contract.
  const relay = await startRelay(sandbox, { config });
  try {
    const deal = (await newDeal(sandbox, "Provisioned deal")).id;
    const created = await api(relay, "POST", `/api/uat/deals/${deal}/contracts`, { bearer: token(sandbox, deal), body: { templateId: ndaTemplate(sandbox.uat).templateId } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const record = (await sandbox.crmCall("GET", `/crm/v3/objects/deals/${deal}?properties=spotdraft_contract_id,spotdraft_contract_status`)).json.properties;
    assert.equal(record.spotdraft_contract_id, created.json.contract.id);
    assert.equal(record.spotdraft_contract_status, "DRAFT");
  } finally {
    await relay.close();
  }
});

for (const name of ["pipedrive", "zoho"]) {
  test(`${name}: dry run, then five text fields once, the names to configure, then nothing; a seller's Create fills them`, async () => {
    const config = vendorRelayConfig(sandbox, name, vendors);
    const configured = config.environments.uat.crm.fields;

    const dry = await provision(config, { dryRun: true });
    assert.deepEqual(actions(dry), FIELD_KEYS.map((key) => `field:${key}:wouldCreate`));
    assert.equal(dry.fields, null, "the CRM names new fields itself");
    const dryText = await provision(config, { dryRun: true, json: false });
    assert.match(dryText, /dry run: nothing was changed/);
    assert.match(dryText, /Run without --dry-run/);
    assert.deepEqual(await vendorFields(name), [], "a dry run changes nothing");

    const made = await provision(config);
    assert.deepEqual(actions(made), FIELD_KEYS.map((key) => `field:${key}:created`));
    const fields = await vendorFields(name);
    assert.equal(fields.length, 5);
    assert.deepEqual(Object.values(made.fields).sort(), fields.map((field) => field.name).sort(), "the report names the fields the CRM made");
    for (const field of fields) assert.ok(["varchar", "text"].includes(field.type), `${field.label} is ${field.type}`);
    if (name === "zoho") {
      // Zoho derives API names from the labels, which provisioning chose to be the usual names.
      assert.deepEqual(made.fields, configured);
      assert.equal(made.configurationChanges, false);
    } else {
      assert.equal(made.configurationChanges, true);
      assert.match(await provision(config, { json: false }), /Set environments\.uat\.crm\.fields in the relay's configuration to:/);
    }

    // Run again with the configuration not yet updated (Pipedrive): found by label, nothing made.
    const again = await provision(config);
    assert.deepEqual(actions(again), FIELD_KEYS.map((key) => `field:${key}:${name === "zoho" ? "exists" : "foundByLabel"}`));
    assert.deepEqual(again.fields, made.fields);
    assert.equal((await vendorFields(name)).length, 5, "each created once");

    // Configured as the report says: every field exists as configured, and a seller's Create fills them.
    const updated = { ...vendors, [name]: { ...vendors[name], fields: made.fields } };
    const settled = await provision(vendorRelayConfig(sandbox, name, updated));
    assert.deepEqual(actions(settled), FIELD_KEYS.map((key) => `field:${key}:exists`));
    assert.equal(settled.configurationChanges, false);
    const relay = await startVendorRelay(sandbox, name, updated);
    try {
      const made = await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: `Provisioned ${name} deal` });
      assert.equal(made.status, 201);
      const deal = made.json.id;
      const created = await api(relay, "POST", `/api/uat/deals/${deal}/contracts`, { bearer: sellerToken(name, deal, vendors[name].users[0]), body: { templateId: ndaTemplate(sandbox.uat).templateId } });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const record = await vendorRecord(sandbox, name, updated, deal);
      assert.equal(record.contractId, created.json.contract.id);
      assert.equal(record.status, "DRAFT");
    } finally {
      await relay.close();
    }
  });
}

const TERMS = [
  { keyPointer: "effective_date", as: "date", holds: "date", types: ["date"] },
  { keyPointer: "confidentiality_term", as: "months", holds: "number", types: ["number", "double"] },
  { keyPointer: "governing_law", as: "text", holds: "text", types: ["string", "varchar", "text"] },
];

/** A deal's values of `names`, read through the CRM's own deal API. */
async function dealValues(name, dealId, names) {
  if (name === "hubspot") return (await sandbox.crmCall("GET", `/crm/v3/objects/deals/${dealId}?properties=${names.join(",")}`)).json.properties;
  if (name === "pipedrive") {
    const answer = await (await fetch(`${sandbox.crm}/api/v2/deals/${dealId}?custom_fields=${names.join(",")}`, { headers: { "x-api-token": vendors.pipedrive.api_token } })).json();
    return answer.data.custom_fields;
  }
  const zoho = vendors.zoho;
  const form = new URLSearchParams({ grant_type: "refresh_token", client_id: zoho.client_id, client_secret: zoho.client_secret, refresh_token: zoho.users[0].refresh_token });
  const { access_token: accessToken } = await (await fetch(`${sandbox.crm}/oauth/v2/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() })).json();
  return (await (await fetch(`${sandbox.crm}/crm/v8/Deals/${dealId}?fields=${names.join(",")}`, { headers: { authorization: `Zoho-oauthtoken ${accessToken}` } })).json()).data[0];
}

for (const name of ["hubspot", "pipedrive", "zoho"]) {
  test(`${name}: key terms' fields are made once as dates, numbers and text, and an executed NDA fills them`, async () => {
    const config = name === "hubspot" ? relayConfig(sandbox) : vendorRelayConfig(sandbox, name, vendors);
    const crm = config.environments.uat.crm;
    // The contract fields as the earlier runs left them (HubSpot's status under its new name).
    if (name === "hubspot") crm.fields = { contractId: "spotdraft_contract_id", status: "spotdraft_contract_status", statusAt: "spotdraft_status_at", link: "spotdraft_contract_link", executedAt: "spotdraft_executed_at" };
    crm.keyTerms = TERMS.map(({ keyPointer, as }) => ({ keyPointer, as, field: `spotdraft_${keyPointer}` }));
    const dry = await provision(config, { dryRun: true });
    const planned = dry.steps.filter((step) => step.value?.startsWith("crm.keyTerms"));
    assert.deepEqual(planned.map((step) => [step.value, step.holds, step.action]), TERMS.map((t, i) => [`crm.keyTerms[${i}].field`, t.holds, "wouldCreate"]));
    const made = await provision(config);
    if (made.fields) crm.fields = made.fields;
    assert.equal(made.keyTermFields.length, 3);
    assert.ok(made.keyTermFields.every(Boolean), JSON.stringify(made.keyTermFields));
    // The CRM's own types for them.
    const listed = name === "hubspot"
      ? (await hubspotProperties()).properties.map((p) => ({ name: p.name, type: p.type }))
      : await vendorFields(name);
    TERMS.forEach((term, i) => {
      const field = listed.find((f) => f.name === made.keyTermFields[i]);
      assert.ok(field && term.types.includes(field.type), `${term.keyPointer}: ${JSON.stringify(field)}`);
    });
    if (name === "pipedrive") assert.match(await provision(config, { json: false }), /Set environments\.uat\.crm\.keyTerms\[0\]\.field to "[0-9a-f]{40}"/);
    crm.keyTerms = crm.keyTerms.map((term, i) => ({ ...term, field: made.keyTermFields[i] }));
    const again = await provision(config);
    assert.ok(again.steps.every((step) => step.action === "exists" || step.kind === "group"), JSON.stringify(actions(again)));
    assert.equal(again.configurationChanges, false);

    // The executed NDA's terms land in them.
    const relay = await startRelay(sandbox, { config });
    try {
      const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
      await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
      let deal;
      let bearer;
      if (name === "hubspot") {
        deal = (await newDeal(sandbox, "Key terms provisioned")).id;
        bearer = token(sandbox, deal);
      } else {
        deal = (await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: `Key terms provisioned on ${name}` })).json.id;
        bearer = sellerToken(name, deal, vendors[name].users[0]);
      }
      const created = await api(relay, "POST", `/api/uat/deals/${deal}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      for (const to of ["SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${created.json.contract.id}/transition`, { to });
      const values = await eventually(async () => {
        const now = await dealValues(name, deal, made.keyTermFields);
        return now?.[made.keyTermFields[2]] ? now : null;
      });
      assert.match(String(values[made.keyTermFields[0]]), /^\d{4}-\d{2}-\d{2}/);
      assert.equal(Number(values[made.keyTermFields[1]]), 24);
      assert.equal(values[made.keyTermFields[2]], "US-DE");
    } finally {
      await relay.close();
    }
  });
}

test("Salesforce: nothing to provision through the API; the command says its fields come with the package", async () => {
  await assert.rejects(provision(vendorRelayConfig(sandbox, "salesforce", vendors)), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /Salesforce's fields come with its package/);
    return true;
  });
});
