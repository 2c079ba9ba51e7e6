// The setup an admin saves in the console (issue 18): versioned (who, when, what changed), restorable,
// checked by the same configuration reader the relay starts with, refused when it names the other
// workspace's templates or was made on an old version, and used by the next seller's create without
// a restart — by this instance at once and by a second instance sharing the same store.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, eventually, liveContracts, msaTemplate, ndaTemplate, newDeal, relayConfig, startRelay, startSandbox, token } from "./support.mjs";
import { vendorInfo } from "./vendors.mjs";

const ANA = "ana.admin@example.com";
const ANA_SECRET = "ana-console-secret-0123456789abcdefghij";
const SHARED_SECRET = "uat-shared-admin-secret-0123456789abcd";
let sandbox;
let relay;
let config;
before(async () => {
  sandbox = await startSandbox();
  config = relayConfig(sandbox);
  config.environments.uat.adminSecret = SHARED_SECRET;
  config.environments.uat.admins = { [ANA]: ANA_SECRET };
  // HubSpot's deal events are signed with the app's client secret (creation at a milestone, below).
  config.environments.uat.hubspotClientSecret = (await vendorInfo(sandbox)).hubspot.client_secret;
  relay = await startRelay(sandbox, { config });
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

const admin = (method, route, body, secret = ANA_SECRET, target = relay) => api(target, method, `/admin/uat/${route}`, { bearer: secret, body });

/** The NDA with `purpose` filled from the deal's name instead of a constant. */
function ndaWithPurposeFromDeal() {
  const nda = ndaTemplate(sandbox.uat);
  return { ...nda, fields: nda.fields.map((f) => (f.variable === "purpose" ? { variable: "purpose", source: "deal.name", encoding: "string" } : f)) };
}

async function createNda(deal, target = relay) {
  const nda = ndaTemplate(sandbox.uat).templateId;
  return api(target, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { deal, templateId: nda } });
}

test("the setup in effect starts as the file's, version 0, with the plugin block it runs in", async () => {
  const { status, json } = await admin("GET", "setup");
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.version, 0);
  assert.deepEqual(json.setup.templates, [ndaTemplate(sandbox.uat)]);
  assert.equal(json.plugin.crm.accountId, sandbox.portal, "the whole plugin block, for the console's own preview");
  assert.ok(!JSON.stringify(json).includes(sandbox.uat.client_secret), "no secret in it");
});

test("a save is versioned with who, when and what changed; the next create uses it without a restart", async () => {
  const before = await admin("GET", "setup");
  const setup = { ...before.json.setup, templates: [ndaWithPurposeFromDeal()] };
  const saved = await admin("POST", "setup", { setup, basedOn: before.json.version });
  assert.equal(saved.status, 200, JSON.stringify(saved.json));
  assert.equal(saved.json.version, before.json.version + 1);
  assert.equal(saved.json.by, ANA, "the named admin whose secret was used");
  assert.match(saved.json.at, /^\d{4}-\d\d-\d\dT/);
  assert.ok(saved.json.changes.some((line) => line.includes("fields[purpose]") && line.includes("deal.name")), JSON.stringify(saved.json.changes));

  const deal = await newDeal(sandbox, "Initech data sharing");
  const reply = await createNda(deal);
  assert.equal(reply.status, 201, JSON.stringify(reply.json));
  const stored = (await liveContracts(sandbox, "uat", deal.id, sandbox.portal))[0];
  assert.equal(stored.contract_data.purpose, "Initech data sharing", "the saved mapping: the deal's name");

  const versions = await admin("GET", "versions");
  assert.equal(versions.json.versions[0].version, saved.json.version);
  assert.equal(versions.json.versions[0].by, ANA);
  assert.equal(versions.json.versions.at(-1).version, 0, "the file's own setup is version 0");
  assert.ok(!("setup" in versions.json.versions[0]), "the history lists changes, not whole setups");
});

test("a save made on an old version is refused, naming who saved since", async () => {
  const current = (await admin("GET", "setup")).json;
  const stale = await admin("POST", "setup", { setup: { ...current.setup, creationStages: ["contractsent"] }, basedOn: current.version - 1 });
  assert.equal(stale.status, 409, JSON.stringify(stale.json));
  assert.match(stale.json.error.message, new RegExp(`saved by ${ANA.replace(/\./g, "\\.")}`));
  assert.equal((await admin("GET", "setup")).json.version, current.version, "nothing saved");
});

test("a draft the configuration reader refuses is answered with every problem under setup., and nothing is saved", async () => {
  const current = (await admin("GET", "setup")).json;
  const nda = ndaTemplate(sandbox.uat);
  const broken = {
    ...current.setup,
    creationStages: [],
    templates: [{ ...nda, fields: [...nda.fields, { variable: "fees", source: "deal.amout", encoding: "currency" }] }],
  };
  const refused = await admin("POST", "setup", { setup: broken, basedOn: current.version });
  assert.equal(refused.status, 400, JSON.stringify(refused.json));
  const paths = refused.json.error.problems.map((p) => p.path);
  assert.ok(paths.includes("setup.creationStages"), JSON.stringify(paths));
  assert.ok(paths.includes("setup.templates[0].fields[5].source"), JSON.stringify(paths));
  const fileKeys = await admin("POST", "setup", { setup: { ...current.setup, environment: "production" }, basedOn: current.version });
  assert.equal(fileKeys.status, 400);
  assert.equal(fileKeys.json.error.problems[0].path, "setup.environment");
  assert.match(fileKeys.json.error.problems[0].message, /configuration file/);
  assert.equal((await admin("GET", "setup")).json.version, current.version);
});

test("a template of the other environment's workspace is refused: UAT and production stay apart", async () => {
  const current = (await admin("GET", "setup")).json;
  const productionMsa = msaTemplate(sandbox.production);
  assert.ok(!sandbox.uat.templates.some((t) => t.id === productionMsa.templateId), "the workspaces' template ids differ");
  const mixed = await admin("POST", "setup", { setup: { ...current.setup, templates: [...current.setup.templates, productionMsa] }, basedOn: current.version });
  assert.equal(mixed.status, 400, JSON.stringify(mixed.json));
  assert.equal(mixed.json.error.problems[0].path, "setup.templates[1].templateId");
  assert.match(mixed.json.error.problems[0].message, /not a template of this environment's SpotDraft workspace \(uat\)/);
  const wrongType = { ...current.setup.templates[0], contractTypeId: current.setup.templates[0].contractTypeId + 1000 };
  const refused = await admin("POST", "setup", { setup: { ...current.setup, templates: [wrongType] }, basedOn: current.version });
  assert.equal(refused.status, 400, JSON.stringify(refused.json));
  assert.equal(refused.json.error.problems[0].path, "setup.templates[0].contractTypeId");
});

test("a rollback restores an old version as a new one, and creates follow it at once", async () => {
  const current = (await admin("GET", "setup")).json;
  const restored = await admin("POST", "rollback", { version: 0, basedOn: current.version }, SHARED_SECRET);
  assert.equal(restored.status, 200, JSON.stringify(restored.json));
  assert.equal(restored.json.version, current.version + 1);
  assert.equal(restored.json.restoredFrom, 0);
  assert.equal(restored.json.by, "admin (shared adminSecret)", "the shared secret is not a person");
  const deal = await newDeal(sandbox, "Rolled back deal");
  assert.equal((await createNda(deal)).status, 201);
  const stored = (await liveContracts(sandbox, "uat", deal.id, sandbox.portal))[0];
  assert.equal(stored.contract_data.purpose, "Evaluating a commercial relationship", "the file's constant again");
  const missing = await admin("POST", "rollback", { version: 999, basedOn: restored.json.version });
  assert.equal(missing.status, 400);
  assert.match(missing.json.error.message, /no version 999/);
});

test("a milestone added in the console creates at that stage, with no restart", async () => {
  const current = (await admin("GET", "setup")).json;
  const templates = current.setup.templates.map((t) => ({ ...t, createAtStages: ["contractsent"] }));
  const saved = await admin("POST", "setup", { setup: { ...current.setup, templates }, basedOn: current.version });
  assert.equal(saved.status, 200, JSON.stringify(saved.json));
  const deal = await newDeal(sandbox, "Milestone from the console", { stage: "qualifiedtobuy" });
  const subscribed = await sandbox.control("PUT", "/__sandbox/crm/vendors/hubspot/event-subscription", { url: `${relay.url}/crm-events/uat`, account: String(sandbox.portal) });
  assert.equal(subscribed.status, 204, JSON.stringify(subscribed.json));
  try {
    const moved = await sandbox.control("PATCH", `/__sandbox/crm/vendors/hubspot/deals/${deal.id}`, { fields: { dealstage: "contractsent" } });
    assert.equal(moved.status, 200, JSON.stringify(moved.json));
    const made = await eventually(async () => {
      const live = await liveContracts(sandbox, "uat", deal.id, sandbox.portal);
      return live.length ? live : null;
    });
    assert.equal(made.length, 1);
  } finally {
    await sandbox.control("DELETE", "/__sandbox/crm/vendors/hubspot/event-subscription");
  }
});

test("the setup survives a restart, and a second relay on the same store picks a save up without one", async () => {
  const second = await startRelay(sandbox, { config, stateDir: relay.stateDir });
  try {
    const current = (await admin("GET", "setup", undefined, ANA_SECRET, second)).json;
    const latest = (await admin("GET", "setup")).json;
    assert.equal(current.version, latest.version, "the history is read from the state directory");
    const saved = await admin("POST", "setup", { setup: { ...latest.setup, templates: [ndaWithPurposeFromDeal()] }, basedOn: latest.version });
    assert.equal(saved.status, 200, JSON.stringify(saved.json));
    // The second instance asks the history again at most every 2 s (bounded wait).
    const deal = await newDeal(sandbox, "Umbrella second instance");
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      const seen = (await admin("GET", "setup", undefined, ANA_SECRET, second)).json;
      if (seen.version === saved.json.version && seen.inEffect) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal((await createNda(deal, second)).status, 201);
    const stored = (await liveContracts(sandbox, "uat", deal.id, sandbox.portal))[0];
    assert.equal(stored.contract_data.purpose, "Umbrella second instance");
  } finally {
    await second.close();
  }
});

test("a seller's token, a wrong secret or no secret never opens the setup", async () => {
  const deal = await newDeal(sandbox, "Not an admin either");
  const current = (await admin("GET", "setup")).json;
  for (const secret of [token(sandbox, deal.id), "wrong-secret-wrong-secret-wrong-secret", null]) {
    assert.equal((await admin("GET", "setup", undefined, secret)).status, 401);
    assert.equal((await admin("POST", "setup", { setup: current.setup, basedOn: current.version }, secret)).status, 401);
    assert.equal((await admin("POST", "rollback", { version: 0, basedOn: current.version }, secret)).status, 401);
  }
});
