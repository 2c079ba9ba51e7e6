// Linking a contract made outside the CRM to a deal: found by name or counterparty through SpotDraft's
// list search, linked through its external metadata, refused when it is another record's, voided, or
// of a kind the deal already holds a live one of; two deals racing for one contract get it once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, crmFields, ndaTemplate, newDeal, startRelay, startSandbox, token } from "./support.mjs";
import { SpotDraftClient } from "../../pkg/node.js";

let sandbox;
let relay;
let client;
before(async () => {
  sandbox = await startSandbox();
  relay = await startRelay(sandbox);
  client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

const nda = () => ndaTemplate(sandbox.uat).templateId;

/** A contract as someone made it in SpotDraft, outside any CRM: made for a scratch deal, then unlinked. */
async function outsideContract(name) {
  const scratch = await newDeal(sandbox, name);
  const made = await api(relay, "POST", `/api/uat/deals/${scratch.id}/contracts`, { bearer: token(sandbox, scratch.id), body: { templateId: nda() } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  await client.setExternalMetadata(made.json.contract.id, {});
  return made.json.contract;
}

const search = (deal, query) => api(relay, "GET", `/api/uat/deals/${deal.id}/linkable?query=${encodeURIComponent(query)}`, { bearer: token(sandbox, deal.id) });
const link = (deal, contractId) => api(relay, "POST", `/api/uat/deals/${deal.id}/links`, { bearer: token(sandbox, deal.id), body: { contractId } });

test("a seller finds a contract made outside the CRM and links it to the deal; the record shows it", async () => {
  const outside = await outsideContract("Hooli paper NDA");
  const deal = await newDeal(sandbox, "Hooli expansion");
  const found = await search(deal, "Globex");
  assert.equal(found.status, 200, JSON.stringify(found.json));
  const candidate = found.json.find((c) => c.contract.id === outside.id);
  assert.equal(candidate?.linkable, "free", JSON.stringify(found.json.map((c) => [c.contract.id, c.linkable])));

  const linked = await link(deal, outside.id);
  assert.equal(linked.status, 201, JSON.stringify(linked.json));
  assert.equal(linked.json.linked, true);
  const metadata = await client.externalMetadata(outside.id);
  assert.equal(metadata.id, `hubspot:${sandbox.portal}:deal:${deal.id}`);
  assert.equal(metadata.integration_name ?? metadata.integrationName, "spotdraft-crm");
  const listed = await api(relay, "GET", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id) });
  assert.deepEqual(listed.json.map((c) => c.id), [outside.id]);
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_contract_id, outside.id);

  const again = await link(deal, outside.id);
  assert.equal(again.status, 200, "linking twice is the same link");
  assert.equal(again.json.linked, false);
  assert.equal((await search(deal, "Globex")).json.find((c) => c.contract.id === outside.id)?.linkable, "thisDeal");
});

test("a contract linked to another record is refused, and stays where it is", async () => {
  const owner = await newDeal(sandbox, "Owner deal");
  const made = await api(relay, "POST", `/api/uat/deals/${owner.id}/contracts`, { bearer: token(sandbox, owner.id), body: { templateId: nda() } });
  const other = await newDeal(sandbox, "Other deal");
  assert.equal((await search(other, "Globex")).json.find((c) => c.contract.id === made.json.contract.id)?.linkable, "elsewhere");
  const refused = await link(other, made.json.contract.id);
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  assert.equal(refused.json.error.code, "conflict");
  assert.match(refused.json.error.message, /already linked to another CRM record/);
  assert.equal((await client.externalMetadata(made.json.contract.id)).id, `hubspot:${sandbox.portal}:deal:${owner.id}`);
});

test("a deal that already holds a live contract of that kind is refused another", async () => {
  const outside = await outsideContract("Second NDA");
  const deal = await newDeal(sandbox, "Has an NDA");
  await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { templateId: nda() } });
  const refused = await link(deal, outside.id);
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  assert.match(refused.json.error.message, /already has .* only one can be live/);
  assert.equal((await client.externalMetadata(outside.id)).id ?? null, null, "left unlinked");
});

test("two deals racing to link one contract: one gets it, the other is told", async () => {
  const outside = await outsideContract("Contested NDA");
  const [a, b] = [await newDeal(sandbox, "Racer A"), await newDeal(sandbox, "Racer B")];
  const replies = await Promise.all([link(a, outside.id), link(b, outside.id), link(a, outside.id), link(b, outside.id)]);
  const statuses = replies.map((r) => r.status).sort();
  assert.equal(replies.filter((r) => r.status === 201).length, 1, JSON.stringify(statuses));
  assert.ok(replies.every((r) => [200, 201, 409].includes(r.status)), JSON.stringify(statuses));
  const winner = replies.find((r) => r.status === 201) === replies[0] || replies.find((r) => r.status === 201) === replies[2] ? a : b;
  assert.equal((await client.externalMetadata(outside.id)).id, `hubspot:${sandbox.portal}:deal:${winner.id}`);
});

test("bad link requests name what is wrong; a seller of another deal is refused", async () => {
  const deal = await newDeal(sandbox, "Careful deal");
  const short = await search(deal, "a");
  assert.equal(short.status, 400);
  assert.match(JSON.stringify(short.json), /query/);
  const missing = await api(relay, "POST", `/api/uat/deals/${deal.id}/links`, { bearer: token(sandbox, deal.id), body: {} });
  assert.equal(missing.status, 400);
  assert.match(JSON.stringify(missing.json), /contractId/);
  const unknown = await link(deal, "T-999999");
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.error.message, /no contract T-999999/);
  const other = await newDeal(sandbox, "Someone else's");
  const foreign = await api(relay, "POST", `/api/uat/deals/${deal.id}/links`, { bearer: token(sandbox, other.id), body: { contractId: "T-1" } });
  assert.ok([401, 403].includes(foreign.status), String(foreign.status));
});
