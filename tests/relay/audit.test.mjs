// Who did it: a seller whose CRM email is a SpotDraft user creates as themselves (SpotDraft names
// them its creator); anyone else through the integration user, named in the contract's record data.
// Every action lands in the relay's audit log, which only the environment's admin secret opens,
// which holds no secrets or signed URLs, and which survives a restart.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, newDeal, ndaTemplate, relayConfig, SECRETS, startRelay, startSandbox } from "./support.mjs";
import { mintToken } from "../../pkg/node.js";

const ADMIN = "uat-admin-secret-0123456789abcdefghij";
let sandbox;
let relay;
before(async () => {
  sandbox = await startSandbox();
  const config = relayConfig(sandbox);
  config.environments.uat.adminSecret = ADMIN;
  relay = await startRelay(sandbox, { config });
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

const seller = (dealId, user) => mintToken(SECRETS.uat, { host: "demo", tenant: String(sandbox.portal), record: String(dealId), ...(user ? { user } : {}) }, 300);
const spotdraftUser = () => sandbox.uat.user_emails.find((email) => email.startsWith("sam.seller@"));
const admin = (query = "", secret = ADMIN) => fetch(`${relay.url}/admin/uat/audit${query}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });

async function sandboxContract(id) {
  return (await sandbox.control("GET", "/__sandbox/contracts")).json.find((c) => c.id === id);
}

async function create(dealId, bearer) {
  const reply = await api(relay, "POST", `/api/uat/deals/${dealId}/contracts`, { bearer, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
  assert.equal(reply.status, 201, JSON.stringify(reply.json));
  return reply.json.contract;
}

test("a seller who is a SpotDraft user creates as themselves; the audit log says so", async () => {
  const deal = await newDeal(sandbox, "Made by its seller");
  const email = spotdraftUser();
  const contract = await create(deal.id, seller(deal.id, email.toUpperCase()));
  const made = await sandboxContract(contract.id);
  assert.equal(made.created_by, email, "SpotDraft names the seller its creator");
  assert.equal(made.external_metadata.record_data.requested_by.email, email.toUpperCase());
  const { entries } = await (await admin(`?deal=${deal.id}`)).json();
  assert.equal(entries.length, 1);
  assert.deepEqual(
    { action: entries[0].action, contract: entries[0].contract, actingAs: entries[0].actingAs, outcome: entries[0].outcome, via: entries[0].requestedBy.via },
    { action: "create", contract: contract.id, actingAs: email.toUpperCase(), outcome: "ok", via: "sidebar" },
  );
});

test("a seller SpotDraft does not know, or one with no email, is named in the record data and the integration user creates", async () => {
  for (const user of ["pat@buyer-side.example", "crm-user-0042"]) {
    const deal = await newDeal(sandbox, `Made for ${user}`);
    const contract = await create(deal.id, seller(deal.id, user));
    const made = await sandboxContract(contract.id);
    assert.match(made.created_by, /^integration@/);
    const requestedBy = made.external_metadata.record_data.requested_by;
    assert.equal(requestedBy.crm_user, user);
    assert.equal(requestedBy.email, user.includes("@") ? user : null);
    const { entries } = await (await admin(`?deal=${deal.id}&action=create`)).json();
    assert.equal(entries[0].actingAs, null);
    assert.equal(entries[0].requestedBy.user, user);
  }
});

test("sends, download links and refusals are logged with their outcome; nothing secret is in the log", async () => {
  const deal = await newDeal(sandbox, "Logged actions");
  const bearer = seller(deal.id, spotdraftUser());
  const contract = await create(deal.id, bearer);
  const link = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts/${contract.id}/download-link`, { bearer });
  assert.equal(link.status, 200, JSON.stringify(link.json));
  const sent = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts/${contract.id}/send`, { bearer, body: {} });
  assert.equal(sent.status, 200, JSON.stringify(sent.json));
  const refused = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer, body: { templateId: 999999 } });
  assert.equal(refused.status, 404);
  const text = await (await admin(`?deal=${deal.id}`)).text();
  const { entries } = JSON.parse(text);
  assert.deepEqual(entries.map((e) => [e.action, e.outcome, e.status]), [["create", refused.json.error.code, 404], ["send", "ok", 200], ["downloadLink", "ok", 200], ["create", "ok", 201]]);
  assert.equal(entries[2].contract, contract.id);
  assert.equal(entries[1].actingAs, spotdraftUser(), "sent as the seller, a SpotDraft user");
  assert.ok(!text.includes(link.json.url), "the signed URL is not in the log");
  assert.ok(entries.every((e) => e.at && e.environment === "uat" && e.deal === deal.id));
  for (const secret of [bearer, SECRETS.uat, ADMIN, sandbox.uat.client_secret, "X-Goog-Signature", "token"]) assert.ok(!text.includes(secret), `the log holds no ${secret.slice(0, 12)}…`);
});

test("only the environment's admin secret opens the log", async () => {
  const deal = await newDeal(sandbox, "Not for sellers");
  assert.equal((await admin("", null)).status, 401);
  assert.equal((await admin("", seller(deal.id, spotdraftUser()))).status, 401, "a seller's session is not an admin");
  assert.equal((await admin("", `${ADMIN}x`)).status, 401);
  assert.equal((await admin("?limit=0")).status, 400);
  assert.match((await (await admin("?limit=many")).json()).error.message, /limit/);
  const production = await fetch(`${relay.url}/admin/production/audit`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(production.status, 403, "no admin secret configured there: no admin routes");
  const limited = await (await admin("?limit=2")).json();
  assert.equal(limited.entries.length, 2);
});

test("the log outlives a restart of a relay that runs alone", async () => {
  const deal = await newDeal(sandbox, "Kept across restarts");
  await create(deal.id, seller(deal.id, spotdraftUser()));
  const config = relayConfig(sandbox);
  config.environments.uat.adminSecret = ADMIN;
  await relay.close();
  relay = await startRelay(sandbox, { config, stateDir: relay.stateDir });
  const { entries } = await (await admin(`?deal=${deal.id}`)).json();
  assert.equal(entries.length, 1);
});
