// The admin console's read of Salesforce, Zoho CRM and Pipedrive (HubSpot: console.test.mjs): each
// CRM's deal stages, read through its own API, carry the values its deals carry (what the relay's
// creationStages compare), and its deal fields include the custom fields its deals carry (what a
// mapping's custom.<name> reads); and a deal found by name carries the stage its record carries.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startRelay, startSandbox } from "./support.mjs";
import { vendorInfo, vendorRelayConfig } from "./vendors.mjs";

const ADMIN = "uat-admin-secret-for-the-vendor-console-0123";
let sandbox;
let vendors;
before(async () => {
  sandbox = await startSandbox();
  vendors = await vendorInfo(sandbox);
});
after(() => sandbox?.stop());

/** Each seeded deal's stage as the vendor's own API holds it (the value the deal reader reads). */
async function dealStages(name) {
  const vendor = vendors[name];
  const form = (params) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(params).toString() });
  const refresh = { grant_type: "refresh_token", client_id: vendor.client_id, client_secret: vendor.client_secret, refresh_token: vendor.users[0].refresh_token };
  const stages = [];
  for (const id of vendor.deal_ids) {
    if (name === "salesforce") {
      const { access_token: token } = await (await fetch(`${sandbox.crm}/services/oauth2/token`, form(refresh))).json();
      const deal = await (await fetch(`${sandbox.crm}/services/data/v62.0/sobjects/Opportunity/${id}?fields=StageName`, { headers: { authorization: `Bearer ${token}` } })).json();
      stages.push(deal.StageName);
    } else if (name === "zoho") {
      const { access_token: token } = await (await fetch(`${sandbox.crm}/oauth/v2/token`, form(refresh))).json();
      const deal = await (await fetch(`${sandbox.crm}/crm/v8/Deals/${id}?fields=Stage`, { headers: { authorization: `Zoho-oauthtoken ${token}` } })).json();
      stages.push(deal.data[0].Stage);
    } else {
      const deal = await (await fetch(`${sandbox.crm}/api/v2/deals/${id}`, { headers: { "x-api-token": vendor.api_token } })).json();
      stages.push(String(deal.data.stage_id));
    }
  }
  return stages;
}

const STANDARD = {
  salesforce: { "deal.stage": "StageName", "deal.amount": "Amount", "account.name": "Name", "contact.email": "Email" },
  zoho: { "deal.stage": "Stage", "deal.amount": "Amount", "account.name": "Account_Name", "contact.email": "Email" },
  pipedrive: { "deal.stage": "stage_id", "deal.amount": "value", "account.name": "name", "contact.email": "emails" },
};

for (const name of ["salesforce", "zoho", "pipedrive"]) {
  test(`${name}: the console lists the stages its deals carry, and its deal, company and contact fields`, async () => {
    const config = vendorRelayConfig(sandbox, name, vendors);
    config.environments.uat.adminSecret = ADMIN;
    const admin = await startRelay(sandbox, { config });
    try {
      const reply = await fetch(`${admin.url}/admin/uat/crm`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const json = await reply.json();
      assert.equal(reply.status, 200, JSON.stringify(json));
      assert.equal(json.crm, name);
      const values = json.stages.map((s) => s.value);
      assert.ok(json.stages.every((s) => typeof s.label === "string" && s.label.length > 0), JSON.stringify(json.stages));
      for (const stage of await dealStages(name)) assert.ok(values.includes(stage), `${stage} not in ${values}`);
      // The stages the relay is configured to create at are all ones the CRM lists.
      for (const allowed of config.environments.uat.plugin.creationStages) assert.ok(values.includes(allowed), `${allowed} not in ${values}`);
      // The write-back fields are custom fields on every deal: listed under the name a mapping reads.
      const dealFields = json.dealFields.map((f) => f.name);
      for (const key of Object.values(vendors[name].fields)) assert.ok(dealFields.includes(key), `${key} not in ${dealFields}`);
      assert.ok(json.companyFields.length > 0 && json.contactFields.length > 0);
      const standard = Object.fromEntries(json.standard.map((s) => [s.source, s.crmField]));
      for (const [source, field] of Object.entries(STANDARD[name])) assert.equal(standard[source], field, source);
      if (name === "pipedrive") {
        assert.ok(!dealFields.includes("title"), "Pipedrive's standard deal fields are not custom.<key> fields");
        assert.equal(json.stages.find((s) => s.value === "4")?.label, "Contract sent");
        assert.ok(json.stages.every((s) => s.pipeline === "Sales pipeline"));
      } else {
        assert.ok(dealFields.includes(name === "salesforce" ? "Name" : "Deal_Name"));
      }
    } finally {
      await admin.close();
    }
  });
}

/** A word of each seeded deal's name, in the seeded order (the Pipedrive, Salesforce and Zoho deals are the same five). */
const NAME_PARTS = ["Widgets", "Rahmenvertrag", "Initech", "Umbrella", "consulting"];

for (const name of ["salesforce", "zoho", "pipedrive"]) {
  test(`${name}: the console finds deals by part of their name, with the stage their record carries`, async () => {
    const config = vendorRelayConfig(sandbox, name, vendors);
    config.environments.uat.adminSecret = ADMIN;
    const admin = await startRelay(sandbox, { config });
    const search = async (q) => {
      const reply = await fetch(`${admin.url}/admin/uat/deals?q=${encodeURIComponent(q)}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      return { status: reply.status, json: await reply.json() };
    };
    try {
      const stages = await dealStages(name);
      for (const [index, id] of vendors[name].deal_ids.entries()) {
        const { status, json } = await search(NAME_PARTS[index].toLowerCase());
        assert.equal(status, 200, JSON.stringify(json));
        const found = json.deals.find((d) => d.id === String(id));
        assert.ok(found, `${NAME_PARTS[index]}: ${JSON.stringify(json.deals)}`);
        assert.ok(found.name.includes(NAME_PARTS[index]), found.name);
        assert.equal(found.stage, stages[index], found.name);
        assert.equal(found.stageLabel, found.stage, "no stage labels configured: the value");
      }
      assert.deepEqual((await search("nothing-like-this")).json, { deals: [] });
      const short = await search("x");
      assert.equal(short.status, 400);
      assert.ok(short.json.error.problems.some((p) => p.path === "q"), JSON.stringify(short.json));
    } finally {
      await admin.close();
    }
  });
}
