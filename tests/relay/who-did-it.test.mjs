// Who did it, for every CRM: the seller's CRM email, as each host proves it or as the CRM itself
// has it for the user the session names, is a SpotDraft user: the contract and the approval
// request are theirs in SpotDraft (created_by, created_by_org_user). HubSpot: the email HubSpot
// signs into a card's call; Salesforce and Pipedrive: the user's email read from the CRM's users
// API; Zoho: the login email its minting function names.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, hubspotHeaders, newDeal, ndaTemplate, relayConfig, startRelay, startSandbox } from "./support.mjs";
import { sellerToken, vendorInfo, vendorRelayConfig } from "./vendors.mjs";

let sandbox;
let vendors;
let jane;
const sd = (path) => fetch(`${sandbox.spotdraft}${path}`, { headers: { "client-id": sandbox.uat.client_id, "client-secret": sandbox.uat.client_secret } }).then((r) => r.json());
const sam = () => sandbox.uat.user_emails.find((e) => e.startsWith("sam."));

before(async () => {
  sandbox = await startSandbox();
  vendors = await vendorInfo(sandbox);
  jane = (await sd(`/api/v2.1/public/auth/users/?user_email=${encodeURIComponent(sandbox.uat.user_emails.find((e) => e.startsWith("jane.")))}`)).results[0];
});
after(() => sandbox?.stop());

/** A relay for `name` whose NDA offers Legal's approval; a new deal; how the seller calls it. */
async function setUp(name) {
  const config = name === "hubspot" ? relayConfig(sandbox) : vendorRelayConfig(sandbox, name, vendors);
  config.environments.uat.plugin.templates = [{ ...ndaTemplate(sandbox.uat), approvals: [{ name: "Legal", approverUserId: jane.id, notes: "Please." }] }];
  const relay = await startRelay(sandbox, { config });
  if (name === "hubspot") {
    const dealId = (await newDeal(sandbox, "Who did it on HubSpot")).id;
    // What a HubSpot card's hubspot.fetch sends: the portal, user and user email in the URL it signs.
    const call = async (method, path, body) => {
      const url = `${relay.url}${path}?portalId=${sandbox.portal}&userId=77&userEmail=${sam()}`; // "@" as HubSpot sends it (it signs the URL with %40 decoded)
      const text = JSON.stringify(body);
      const response = await fetch(url, { method, headers: { "content-type": "application/json", ...hubspotHeaders(config.environments.uat.hubspotClientSecret, method, url, text) }, body: text });
      return { status: response.status, json: await response.json() };
    };
    return { relay, dealId, call };
  }
  // The seller's CRM user has the email of a SpotDraft user.
  const seller = vendors[name].users[0];
  const changed = await sandbox.control("PATCH", `/__sandbox/crm/vendors/${name}/users/${seller.id}`, { email: sam() });
  assert.equal(changed.status, 204);
  const made = await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: `Who did it on ${name}` });
  const dealId = made.json.id;
  const bearer = sellerToken(name, dealId, { ...seller, email: sam() });
  return { relay, dealId, call: (method, path, body) => api(relay, method, path, { bearer, body }) };
}

for (const name of ["hubspot", "salesforce", "zoho", "pipedrive"]) {
  test(`${name}: the seller's contract and approval request are made as them in SpotDraft`, async () => {
    const { relay, dealId, call } = await setUp(name);
    try {
      const created = await call("POST", `/api/uat/deals/${dealId}/contracts`, { templateId: ndaTemplate(sandbox.uat).templateId });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const contract = (await sandbox.control("GET", "/__sandbox/contracts")).json.find((c) => c.id === created.json.contract.id);
      assert.equal(contract.created_by, sam(), "SpotDraft names the seller as creator");
      assert.equal(contract.external_metadata.record_data.requested_by.email, sam());
      const requested = await call("POST", `/api/uat/deals/${dealId}/contracts/${contract.id}/approvals`, {});
      assert.equal(requested.status, 201, JSON.stringify(requested.json));
      const steps = await sd(`/api/v2.1/public/contracts/approvals/${contract.id}/`);
      assert.equal(steps.results[0].approval.created_by_org_user.email, sam(), "the approval request is the seller's");
    } finally {
      await relay.close();
    }
  });
}
