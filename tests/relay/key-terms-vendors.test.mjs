// Key terms on Salesforce, Pipedrive and Zoho CRM deals (HubSpot: key-terms.test.mjs): the admin's
// fields made through each CRM's own fields API (Salesforce: the sandbox's stand-in for Setup), the
// relay configured with the names the CRM gave them, and an executed NDA's terms written there
// through the CRM's own deal API, once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, eventually, ndaTemplate, startRelay, startSandbox } from "./support.mjs";
import { sellerToken, vendorInfo, vendorRelayConfig } from "./vendors.mjs";
import { SpotDraftClient } from "../../pkg/node.js";

let sandbox;
let vendors;
before(async () => {
  sandbox = await startSandbox();
  vendors = await vendorInfo(sandbox);
});
after(() => sandbox?.stop());

const TERMS = [
  { keyPointer: "effective_date", label: "NDA Effective Date", as: "date" },
  { keyPointer: "confidentiality_term", label: "Confidentiality Months", as: "months" },
  { keyPointer: "governing_law", label: "Governing Law", as: "text" },
];

/** What the admin does in each CRM: create the fields; answers label → the CRM's name for it, and a reader of a deal's values. */
const ADMIN = {
  async salesforce() {
    // Setup → Object Manager → Opportunity → New field (the sandbox's stand-in for Setup).
    const names = Object.fromEntries(TERMS.map(({ label }) => [label, `${label.replaceAll(" ", "_")}__c`]));
    for (const name of Object.values(names)) {
      const made = await sandbox.control("POST", "/__sandbox/crm/vendors/salesforce/fields", { name });
      assert.equal(made.status, 201, JSON.stringify(made.json));
    }
    const vendor = vendors.salesforce;
    const form = new URLSearchParams({ grant_type: "refresh_token", client_id: vendor.client_id, client_secret: vendor.client_secret, refresh_token: vendor.users[0].refresh_token });
    const { access_token: token } = await (await fetch(`${sandbox.crm}/services/oauth2/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() })).json();
    const read = async (dealId) => (await fetch(`${sandbox.crm}/services/data/v62.0/sobjects/Opportunity/${dealId}?fields=${Object.values(names).join(",")}`, { headers: { authorization: `Bearer ${token}` } })).json();
    return { names, read };
  },
  async pipedrive() {
    const vendor = vendors.pipedrive;
    const call = async (method, path, body) => (await fetch(`${sandbox.crm}${path}`, {
      method, headers: { "x-api-token": vendor.api_token, "content-type": "application/json" }, body: body && JSON.stringify(body),
    })).json();
    const names = {};
    for (const { label } of TERMS) {
      const made = await call("POST", "/api/v1/dealFields", { name: label, field_type: "varchar" });
      assert.ok(made.success, JSON.stringify(made));
      names[label] = made.data.key;
    }
    const read = async (dealId) => (await call("GET", `/api/v2/deals/${dealId}?custom_fields=${Object.values(names).join(",")}`)).data?.custom_fields ?? {};
    return { names, read };
  },
  async zoho() {
    const vendor = vendors.zoho;
    const form = new URLSearchParams({ grant_type: "refresh_token", client_id: vendor.client_id, client_secret: vendor.client_secret, refresh_token: vendor.users[0].refresh_token });
    const { access_token: token } = await (await fetch(`${sandbox.crm}/oauth/v2/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() })).json();
    const call = async (method, path, body) => (await fetch(`${sandbox.crm}${path}`, {
      method, headers: { authorization: `Zoho-oauthtoken ${token}`, "content-type": "application/json" }, body: body && JSON.stringify(body),
    })).json();
    const made = await call("POST", "/crm/v8/settings/fields?module=Deals", { fields: TERMS.map(({ label }) => ({ field_label: label, data_type: "text", length: 255 })) });
    assert.ok(made.fields?.every((f) => f.status === "success"), JSON.stringify(made));
    const listed = await call("GET", "/crm/v8/settings/fields?module=Deals");
    const names = Object.fromEntries(TERMS.map(({ label }) => [label, listed.fields.find((f) => f.field_label === label).api_name]));
    const read = async (dealId) => (await call("GET", `/crm/v8/Deals/${dealId}?fields=${Object.values(names).join(",")}`)).data?.[0] ?? {};
    return { names, read };
  },
};

for (const name of ["salesforce", "pipedrive", "zoho"]) {
  test(`${name}: an executed NDA's key terms land in the deal's own fields, once`, async () => {
    const { names, read } = await ADMIN[name]();
    const config = vendorRelayConfig(sandbox, name, vendors);
    config.environments.uat.crm.keyTerms = TERMS.map(({ keyPointer, label, as }) => ({ keyPointer, field: names[label], as }));
    const relay = await startRelay(sandbox, { config });
    try {
      const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
      await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
      const made = await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: `Key terms on ${name}` });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      const dealId = made.json.id;
      const created = await api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, {
        bearer: sellerToken(name, dealId, vendors[name].users[0]), body: { templateId: ndaTemplate(sandbox.uat).templateId },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      for (const to of ["SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${created.json.contract.id}/transition`, { to });
      const values = await eventually(async () => {
        const now = await read(dealId);
        return now[names["Governing Law"]] ? now : null;
      });
      assert.equal(values[names["Governing Law"]], "US-DE");
      assert.equal(Number(values[names["Confidentiality Months"]]), 24);
      assert.match(String(values[names["NDA Effective Date"]]), /^\d{4}-\d{2}-\d{2}/);
      const writes = (await sandbox.control("GET", `/__sandbox/crm/writes?object_id=${dealId}`)).json
        .filter((w) => (w.changed ?? []).some((field) => Object.values(names).includes(field)));
      assert.equal(writes.length, 1, JSON.stringify(writes));
    } finally {
      await relay.close();
    }
  });
}
