// Approvals from the deal: a contract's approval steps (SpotDraft's contract approvals API) read for
// the seller, the template's configured ad-hoc approvals requested as the seller, SpotDraft's
// refusals (an approval already in progress, a contract on Approval V5) worded for the seller, and
// the approval activities told on the deal's timeline.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, eventually, msaTemplate, newDeal, ndaTemplate, relayConfig, SECRETS, startRelay, startSandbox } from "./support.mjs";
import { mintToken, SpotDraftClient } from "../../pkg/node.js";

let sandbox;
let relay;
let jane;
const ADMIN = "uat-admin-secret-for-approvals-012345678";
before(async () => {
  sandbox = await startSandbox();
  const users = await (await fetch(`${sandbox.spotdraft}/api/v2.1/public/auth/users/?user_email=${encodeURIComponent(sandbox.uat.user_emails.find((e) => e.startsWith("jane.")))}`, {
    headers: { "client-id": sandbox.uat.client_id, "client-secret": sandbox.uat.client_secret },
  })).json();
  jane = users.results[0];
  const config = relayConfig(sandbox);
  const env = config.environments.uat;
  env.plugin.contractsPerDeal = "perTemplate";
  env.plugin.templates = [
    { ...ndaTemplate(sandbox.uat), approvals: [{ name: "Legal", approverUserId: jane.id, notes: "Please review the NDA." }] },
    msaTemplate(sandbox.uat),
  ];
  env.crm.timeline = true;
  env.adminSecret = ADMIN;
  relay = await startRelay(sandbox, { config });
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

const sam = () => sandbox.uat.user_emails.find((e) => e.startsWith("sam."));
const seller = (dealId) => mintToken(SECRETS.uat, { host: "demo", tenant: String(sandbox.portal), record: String(dealId), user: sam() }, 300);

async function contractFor(template, name) {
  const deal = await newDeal(sandbox, name);
  const bearer = seller(deal.id);
  const made = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer, body: { templateId: template.templateId } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  return { deal, bearer, contract: made.json.contract, path: `/api/uat/deals/${deal.id}/contracts/${made.json.contract.id}/approvals` };
}

test("a seller sees the steps, requests the configured approval once, and sees it decided", async () => {
  const { deal, bearer, contract, path } = await contractFor(ndaTemplate(sandbox.uat), "Approvals deal");
  const first = await api(relay, "GET", path, { bearer });
  assert.equal(first.status, 200, JSON.stringify(first.json));
  assert.deepEqual(first.json, { steps: [], canRequest: true, requestLabel: "Request Legal", reason: null });
  const requested = await api(relay, "POST", path, { bearer, body: {} });
  assert.equal(requested.status, 201, JSON.stringify(requested.json));
  assert.deepEqual(requested.json.steps, ["Legal · Jane Legal: Pending"]);
  assert.equal(requested.json.canRequest, false);
  assert.match(requested.json.reason, /in progress/);
  // Again while it is pending: refused, in the seller's words, and nothing more is sent.
  const again = await api(relay, "POST", path, { bearer, body: {} });
  assert.equal(again.status, 409);
  assert.match(again.json.error.message, /in progress/);
  // The approval went to SpotDraft as the seller (a SpotDraft user), with the configured note.
  const raw = await (await fetch(`${sandbox.spotdraft}/api/v2.1/public/contracts/approvals/${contract.id}/`, {
    headers: { "client-id": sandbox.uat.client_id, "client-secret": sandbox.uat.client_secret },
  })).json();
  assert.equal(raw.results.length, 1);
  assert.equal(raw.results[0].approval.created_by_org_user.email, sam());
  assert.equal(raw.results[0].approval.notes, "Please review the NDA.");
  // Jane approves: the timeline tells both activities; the seller sees it approved and may ask again.
  const decided = await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/approvals/${raw.results[0].approval.id}/decision`, { status: "APPROVED" });
  assert.equal(decided.status, 200, JSON.stringify(decided.json));
  const notes = await eventually(async () => {
    const activity = (await sandbox.control("GET", `/__sandbox/crm/vendors/hubspot/deals/${deal.id}/activity`)).json;
    const bodies = activity.notes.map((n) => n.body);
    return bodies.some((b) => /approvals decided/.test(b)) && bodies.some((b) => /sent for approval by Sam Seller/.test(b)) ? bodies : null;
  });
  assert.ok(notes.length >= 2);
  const after = await api(relay, "GET", path, { bearer });
  assert.deepEqual(after.json.steps, ["Legal · Jane Legal: Approved"]);
  assert.equal(after.json.canRequest, true);
  const audit = await (await fetch(`${relay.url}/admin/uat/audit?deal=${deal.id}&action=requestApprovals`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
  assert.deepEqual(audit.entries.map((e) => [e.outcome, e.status, e.contract, e.actingAs]), [["conflict", 409, contract.id, null], ["ok", 201, contract.id, sam()]]);
});

test("SpotDraft's refusal for a contract on Approval V5 reads as the seller's next step; a template with none configured offers nothing", async () => {
  const { bearer, contract, path } = await contractFor(ndaTemplate(sandbox.uat), "V5 deal");
  const set = await sandbox.control("PUT", `/__sandbox/contracts/${contract.id}/approval-version`, { version: 5 });
  assert.equal(set.status, 204);
  const refused = await api(relay, "POST", path, { bearer, body: {} });
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  assert.match(refused.json.error.message, /approval workflow.*manage them in SpotDraft/);
  const msa = await contractFor(msaTemplate(sandbox.uat), "No approvals configured");
  const view = await api(relay, "GET", msa.path, { bearer: msa.bearer });
  assert.deepEqual(view.json, { steps: [], canRequest: false, requestLabel: null, reason: null });
  const nothing = await api(relay, "POST", msa.path, { bearer: msa.bearer, body: {} });
  assert.equal(nothing.status, 409);
  assert.match(nothing.json.error.message, /No approvals are set up/);
});

test("a seller of another deal cannot read or request this contract's approvals", async () => {
  const { contract } = await contractFor(ndaTemplate(sandbox.uat), "Someone else's deal");
  const other = await newDeal(sandbox, "Other deal");
  const path = `/api/uat/deals/${other.id}/contracts/${contract.id}/approvals`;
  assert.equal((await api(relay, "GET", path, { bearer: seller(other.id) })).status, 404);
  assert.equal((await api(relay, "POST", path, { bearer: seller(other.id), body: {} })).status, 404);
});

test("an approvals list in the wrong shape is refused in the configuration, naming where", async () => {
  const config = relayConfig(sandbox);
  config.environments.uat.plugin.templates = [{ ...ndaTemplate(sandbox.uat), approvals: [{ name: "Legal", notes: "x" }, { name: "Finance", approverUserId: 1, approverRoleId: 2, notes: "y" }] }];
  await assert.rejects(startRelay(sandbox, { config }), /templates\[0\]\.approvals\[0\]: give exactly one of approverUserId or approverRoleId[\s\S]*templates\[0\]\.approvals\[1\]/);
});
