// What an admin's setup reads from the relay (issue 18's console): SpotDraft's templates with their
// variables, a draft template mapping previewed on a real deal by the same core code a create runs,
// before anything is saved, the CRM's stages and fields, and deals found by name for the deal
// picker; only the environment's admin secret opens it. (The other CRMs' stages, fields and deal
// search: console-vendors.test.mjs.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { msaTemplate, newDeal, ndaTemplate, relayConfig, SECRETS, startRelay, startSandbox } from "./support.mjs";
import { mintToken } from "../../pkg/node.js";

const ADMIN = "uat-admin-secret-for-the-console-0123456";
let sandbox;
let relay;
before(async () => {
  sandbox = await startSandbox();
  const config = relayConfig(sandbox);
  config.environments.uat.adminSecret = ADMIN;
  config.environments.uat.plugin.stageLabels = { contractsent: "Contract sent (label)" };
  relay = await startRelay(sandbox, { config });
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

const admin = (method, route, body, secret = ADMIN) => fetch(`${relay.url}/admin/uat/${route}`, {
  method, headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
}).then(async (r) => ({ status: r.status, json: await r.json() }));

test("the workspace's templates, which are offered, and each one's variables", async () => {
  const { status, json } = await admin("GET", "templates");
  assert.equal(status, 200, JSON.stringify(json));
  const nda = json.templates.find((t) => t.templateId === ndaTemplate(sandbox.uat).templateId);
  const msa = json.templates.find((t) => t.templateId === msaTemplate(sandbox.uat).templateId);
  assert.equal(nda.offered, true);
  assert.equal(msa.offered, false, "the test configuration offers the NDA only");
  const effective = nda.variables.find((v) => v.variable === "effective_date");
  assert.deepEqual([effective.type, effective.required], ["date", true]);
  assert.ok(msa.variables.some((v) => v.variable === "customer_legal_name"));
});

test("a draft mapping previewed on a real deal: each variable's value, or the exact problem", async () => {
  const deal = await newDeal(sandbox, "Console preview", { closeDate: "2026-11-30" });
  const draft = { ...msaTemplate(sandbox.uat) };
  const good = await admin("POST", "preview", { template: draft, dealId: deal.id });
  assert.equal(good.status, 200, JSON.stringify(good.json));
  const fields = Object.fromEntries(good.json.preview.fields.map((f) => [f.variable, f.value]));
  assert.equal(fields.agreement_date, "2026-11-30");
  assert.equal(fields.customer_legal_name, "Globex Corporation", "the company name, normalised as a create sends it");
  assert.equal(good.json.preview.canCreate, true);
  // A required variable mapped to a field the deal lacks: named, and nothing is created.
  const missing = { ...draft, fields: draft.fields.map((f) => (f.variable === "contract_value" ? { ...f, source: "custom.not_a_property" } : f)) };
  const bad = await admin("POST", "preview", { template: missing, dealId: deal.id });
  assert.equal(bad.json.preview.canCreate, false);
  assert.ok(bad.json.preview.problems.some((p) => p.path.includes("contract_value")), JSON.stringify(bad.json.preview.problems));
  // A draft the configuration reader refuses: every problem, located under template.
  const broken = await admin("POST", "preview", { template: { ...draft, fields: [{ variable: "x", source: "deal.nope", encoding: "string" }], label: "" }, dealId: deal.id });
  assert.equal(broken.status, 400);
  assert.ok(broken.json.error.problems.every((p) => p.path.startsWith("template.")), JSON.stringify(broken.json.error.problems));
  const contracts = (await sandbox.control("GET", "/__sandbox/contracts")).json.filter((c) => c.external_metadata?.id?.endsWith(`:deal:${deal.id}`));
  assert.equal(contracts.length, 0, "a preview creates nothing");
});

test("the CRM's pipelines and stages, and its deal, company and contact fields, as the relay compares and reads them", async () => {
  // An admin's own deal property, made in HubSpot: it is a deal field a mapping can read.
  const made = await sandbox.crmCall("POST", "/crm/v3/properties/deals", { name: "contract_tier", label: "Contract tier", type: "string", fieldType: "text", groupName: "dealinformation" });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const { status, json } = await admin("GET", "crm");
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.crm, "hubspot");
  const stage = (value) => json.stages.find((s) => s.value === value);
  assert.deepEqual(stage("contractsent"), { value: "contractsent", label: "Contract sent", pipeline: "Sales Pipeline" });
  // Every stage the configuration allows a contract at is one the CRM lists; a deal's stage is too.
  for (const allowed of relayConfig(sandbox).environments.uat.plugin.creationStages) assert.ok(stage(allowed), allowed);
  const deal = await sandbox.crmCall("GET", "/crm/v3/objects/deals/1002?properties=dealstage");
  assert.ok(stage(deal.json.properties.dealstage), deal.json.properties.dealstage);
  const field = (list, name) => json[list].find((f) => f.name === name);
  assert.deepEqual(field("dealFields", "contract_tier"), { name: "contract_tier", label: "Contract tier", kind: "string" });
  assert.equal(field("dealFields", "amount").kind, "number");
  assert.ok(field("dealFields", "spotdraft_contract_id"));
  assert.equal(field("companyFields", "name").label, "Company name");
  assert.ok(field("companyFields", "city") && field("contactFields", "email") && field("contactFields", "firstname"));
  const standard = Object.fromEntries(json.standard.map((s) => [s.source, s.crmField]));
  assert.equal(standard["deal.amount"], "amount");
  assert.equal(standard["deal.stage"], "dealstage");
  assert.equal(standard["contact.email"], "email");
  // Only the admin reads it.
  assert.equal((await admin("GET", "crm", undefined, null)).status, 401);
});

test("only the admin secret opens the setup routes", async () => {
  const deal = await newDeal(sandbox, "Not an admin");
  const seller = mintToken(SECRETS.uat, { host: "demo", tenant: String(sandbox.portal), record: deal.id }, 300);
  assert.equal((await admin("GET", "templates", undefined, null)).status, 401);
  assert.equal((await admin("GET", "templates", undefined, seller)).status, 401);
  assert.equal((await admin("POST", "preview", { template: ndaTemplate(sandbox.uat), dealId: deal.id }, seller)).status, 401);
  assert.equal((await admin("GET", "nothing-here")).status, 404);
  assert.equal((await admin("POST", "preview", { template: ndaTemplate(sandbox.uat) })).status, 400, "no deal named");
});

test("deals found by name for the console's deal picker, with their stage and its label", async () => {
  const { status, json } = await admin("GET", "deals?q=acme");
  assert.equal(status, 200, JSON.stringify(json));
  const acme = json.deals.find((d) => d.name === "Acme Widgets — Platform subscription");
  assert.deepEqual(acme, { id: "1001", name: "Acme Widgets — Platform subscription", stage: "contractsent", stageLabel: "Contract sent (label)" });
  assert.ok(json.deals.every((d) => /acme/i.test(d.name)), JSON.stringify(json.deals));
  // A stage without a configured label is shown as its value.
  const initech = await admin("GET", `deals?q=${encodeURIComponent("  Initech ")}`);
  assert.deepEqual(initech.json.deals.map((d) => [d.stage, d.stageLabel]), [["appointmentscheduled", "appointmentscheduled"]]);
  assert.deepEqual((await admin("GET", "deals?q=nothing-like-this")).json, { deals: [] });
  // Too short (or missing): 400 naming q.
  for (const route of ["deals?q=a", "deals?q=%20a%20", "deals"]) {
    const short = await admin("GET", route);
    assert.equal(short.status, 400, route);
    assert.ok(short.json.error.problems.some((p) => p.path === "q"), JSON.stringify(short.json));
  }
  // Only the admin searches.
  const seller = mintToken(SECRETS.uat, { host: "demo", tenant: String(sandbox.portal), record: "1001" }, 300);
  assert.equal((await admin("GET", "deals?q=acme", undefined, seller)).status, 401);
  assert.equal((await admin("GET", "deals?q=acme", undefined, null)).status, 401);
});
