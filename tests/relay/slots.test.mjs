// Several contracts per deal (`contractsPerDeal: "perTemplate"`): an NDA and an MSA side by side,
// each created once however often it is asked for, the CRM record following the configured primary.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SpotDraftClient } from "../../pkg/node.js";
import { api, crmFields, eventually, liveContracts, msaTemplate, newDeal, relayConfig, startRelay, startSandbox, token } from "./support.mjs";

let sandbox;
let relay;
let nda;
let msa;
before(async () => {
  sandbox = await startSandbox();
  const config = relayConfig(sandbox);
  const plugin = config.environments.uat.plugin;
  nda = plugin.templates[0].templateId;
  const template = msaTemplate(sandbox.uat);
  msa = template.templateId;
  plugin.templates.push(template);
  plugin.contractsPerDeal = "perTemplate";
  plugin.recordFollows = msa;
  relay = await startRelay(sandbox, { config });
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

const create = (deal, templateId) => api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { templateId } });

test("an executed NDA and a live MSA side by side, each created once under racing clicks", async () => {
  const deal = await newDeal(sandbox, "Slots – NDA then MSA");
  const ndas = await Promise.all([1, 2, 3].map(() => create(deal, nda)));
  for (const reply of ndas) assert.ok([200, 201].includes(reply.status), JSON.stringify(reply.json));
  assert.equal(new Set(ndas.map((r) => r.json.contract.id)).size, 1, "one NDA");
  const ndaId = ndas[0].json.contract.id;
  assert.equal(ndas[0].json.contract.slot, `template:${nda}`);
  await sandbox.control("POST", `/__sandbox/contracts/${ndaId}/transition`, { to: "SIGN" });
  await sandbox.control("POST", `/__sandbox/contracts/${ndaId}/transition`, { to: "EXECUTED" });

  const msas = await Promise.all([1, 2, 3].map(() => create(deal, msa)));
  for (const reply of msas) assert.ok([200, 201].includes(reply.status), JSON.stringify(reply.json));
  assert.equal(new Set(msas.map((r) => r.json.contract.id)).size, 1, "one MSA");
  assert.notEqual(msas[0].json.contract.id, ndaId, "the executed NDA is not returned for the MSA");
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 2);

  const again = await create(deal, nda);
  assert.equal(again.status, 200);
  assert.equal(again.json.contract.id, ndaId, "the NDA's slot is filled");

  const list = await api(relay, "GET", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id) });
  assert.deepEqual(list.json.map((c) => c.slot).sort(), [`template:${msa}`, `template:${nda}`].sort());
  const config = await api(relay, "GET", "/api/uat/config", { bearer: token(sandbox, deal.id) });
  assert.deepEqual(config.json.templates.map((t) => t.slot), [`template:${nda}`, `template:${msa}`]);
});

test("the CRM record follows the primary template's contract, whatever the other one does", async () => {
  const deal = await newDeal(sandbox, "Slots – record follows the MSA");
  const ndaReply = await create(deal, nda);
  assert.equal(ndaReply.status, 201);
  // The NDA is not the record's: nothing is written for it, by the create or by its webhooks.
  await sandbox.control("POST", `/__sandbox/contracts/${ndaReply.json.contract.id}/transition`, { to: "REDLINING" });
  await sandbox.deliveriesDone();
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_contract_id ?? null, null);

  const msaReply = await create(deal, msa);
  assert.equal(msaReply.status, 201, JSON.stringify(msaReply.json));
  const msaId = msaReply.json.contract.id;
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_contract_id === msaId);
  await sandbox.control("POST", `/__sandbox/contracts/${ndaReply.json.contract.id}/transition`, { to: "SIGN" });
  await sandbox.control("POST", `/__sandbox/contracts/${msaId}/transition`, { to: "REDLINING" });
  await eventually(async () => (await crmFields(sandbox, deal.id)).spotdraft_status === "REDLINING");
  const fields = await crmFields(sandbox, deal.id);
  assert.equal(fields.spotdraft_contract_id, msaId, "still the MSA");
  const log = relay.lines.map((l) => JSON.parse(l)).filter((l) => l.route === "POST /webhooks/spotdraft/uat");
  assert.ok(log.some((l) => /another of the deal's contracts/.test(l.outcome ?? "")), "the NDA's deliveries are acknowledged and left");
});
