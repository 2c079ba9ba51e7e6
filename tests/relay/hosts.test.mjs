// The same promises on every CRM: for Salesforce, Zoho CRM and Pipedrive (HubSpot has the other
// suites), the relay reads the deal from the CRM's own API, gates and maps from it whatever the
// browser sends, writes status back to the record from webhooks, repairs it by reconcile, keeps its
// OAuth access tokens fresh while the CRM expires them every couple of seconds, and acts only for a
// user who may see the deal.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mintToken } from "../../pkg/node.js";
import { api, eventually, hubspotHeaders, startRelay, startSandbox } from "./support.mjs";
import { VENDORS, connectionSecrets, salesforceSession, sellerToken, startVendorRelay, vendorInfo, vendorRecord } from "./vendors.mjs";

let sandbox;
let vendors;
before(async () => {
  sandbox = await startSandbox();
  vendors = await vendorInfo(sandbox);
});
after(async () => sandbox?.stop());

const contractsOf = async (name, tenant, dealId) =>
  (await sandbox.control("GET", "/__sandbox/contracts")).json.filter((c) => c.external_metadata?.id?.startsWith(`${name}:`) && c.external_metadata.id.endsWith(`:${dealId}`));

// Each CRM once with a refresh token; Salesforce again with its connected app's certificate (JWT
// bearer grant), on a new copy of the first deal so its create and write-back start from nothing.
const RUNS = [...VENDORS.map((name) => ({ name, title: name })), { name: "salesforce", title: "salesforce (JWT bearer)", connection: "jwt" }];

for (const { name, title, connection } of RUNS) {
  describe(title, () => {
    let relay;
    let deals;
    before(async () => {
      relay = await startVendorRelay(sandbox, name, vendors, { connection });
      deals = vendors[name].deal_ids;
      if (connection) {
        const copy = await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: `Acme Widgets (${connection})` });
        assert.equal(copy.status, 201, JSON.stringify(copy.json));
        deals = [copy.json.id, ...deals.slice(1)];
      }
    });
    after(async () => relay?.close());
    const call = (method, deal, path, body, options = {}) =>
      api(relay, method, `/api/uat/deals/${deal}${path}`, { bearer: sellerToken(name, deal, options.seller ?? vendors[name].users[0]), body });

    test("create is gated and mapped from the CRM's deal; a tampered browser deal changes nothing", async () => {
      const [acme, , initech] = deals;
      const tampered = { id: acme, name: "Free", amount: 1, stage: "Closed Won", account: { name: "Someone Else" } };
      // In the CRM, Initech is still in qualification: refused, with the CRM's stage in the answer.
      const refused = await call("POST", initech, "/contracts", { deal: { ...tampered, id: initech, stage: "Negotiation/Review" }, templateId: sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id });
      assert.equal(refused.status, 422, JSON.stringify(refused.json));
      assert.equal(refused.json.error.code, "stage_not_allowed");
      assert.equal((await contractsOf(name, "", initech)).length, 0);

      const template = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
      const preview = await call("POST", acme, "/preview", { deal: tampered, templateId: template });
      assert.equal(preview.status, 200, JSON.stringify(preview.json));
      assert.equal(preview.json.canCreate, true, JSON.stringify(preview.json.problems));
      assert.equal(preview.json.request.contract_data.effective_date, "2026-12-15", "the CRM's close date");
      const created = await call("POST", acme, "/contracts", { deal: tampered, templateId: template });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const [stored] = await contractsOf(name, "", acme);
      assert.equal(stored.counter_party_name, "Acme Widgets, Inc.", "the CRM's company, normalised");
      assert.match(stored.external_metadata.id, new RegExp(`^${name}:[^:]+:(opportunity|deal|deals):${acme}$`, "i"));
    });

    test("status comes back to the CRM record from webhooks, and reconcile leaves it equal to SpotDraft", async () => {
      const [acme] = deals;
      const [contract] = await contractsOf(name, "", acme);
      await eventually(async () => (await vendorRecord(sandbox, name, vendors, acme)).contractId === contract.id);
      for (const to of ["REDLINING", "SIGN", "EXECUTED"]) {
        const moved = await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
        assert.equal(moved.status, 200, JSON.stringify(moved.json));
        await eventually(async () => (await vendorRecord(sandbox, name, vendors, acme)).status === to, { timeoutMs: 15_000 });
      }
      const record = await vendorRecord(sandbox, name, vendors, acme);
      assert.ok(record.executedAt, `the execution time is on the ${name} record`);
      assert.equal(record.link, `https://app.spotdraft.com/contracts/v2/${contract.contract_id}`);
      const report = await relay.reconcile("uat");
      assert.deepEqual(report.failures, []);
      assert.equal((await vendorRecord(sandbox, name, vendors, acme)).status, "EXECUTED");
    });

    test("access tokens that expire every two seconds are refreshed; nothing fails", async () => {
      await sandbox.control("PUT", "/__sandbox/crm/token-ttl", { seconds: 2 });
      // Tokens issued before keep their hour: expire them, so every token in this test lives 2 s.
      await sandbox.control("POST", "/__sandbox/crm/expire-tokens");
      try {
        const template = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
        const started = Date.now();
        let calls = 0;
        // Across at least three token lifetimes, and at least twenty calls however slow each is.
        while (Date.now() - started < 6_000 || calls < 20) {
          for (const deal of [deals[0], deals[1]]) {
            const answer = await call("POST", deal, "/preview", { templateId: template });
            assert.equal(answer.status, 200, JSON.stringify(answer.json));
            const listed = await call("GET", deal, "/contracts");
            assert.equal(listed.status, 200, JSON.stringify(listed.json));
            calls += 2;
          }
          await new Promise((resolve) => setTimeout(resolve, 400));
        }
        assert.ok(calls >= 20, `${calls} calls across several token lifetimes`);
        for (const secret of connectionSecrets(name, vendors, { connection })) {
          assert.ok(relay.lines.every((line) => !line.includes(secret)), "no refresh token or private key in the log");
        }
        if (connection === "jwt") {
          // Each new access token came from a signed assertion the emulator accepted.
          const grants = (await sandbox.control("GET", "/__sandbox/requests?method=POST&path=/services/oauth2/token")).json
            .filter((r) => JSON.stringify(r.body ?? "").includes("grant-type%3Ajwt-bearer"));
          assert.ok(grants.length >= 3 && grants.every((r) => r.status === 200), `${grants.length} JWT bearer grants`);
        }
      } finally {
        await sandbox.control("PUT", "/__sandbox/crm/token-ttl", { seconds: 3600 });
      }
    });

    test("a user the CRM does not let see the deal is refused; the same user's other deals work", async () => {
      const hidden = vendors[name].hidden_deal;
      const seller = vendors[name].users.find((u) => u.id === hidden.hidden_from);
      const template = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
      const refused = await call("GET", hidden.id, "/contracts", undefined, { seller });
      assert.equal(refused.status, 403, JSON.stringify(refused.json));
      assert.equal(refused.json.error.code, "forbidden");
      assert.match(refused.json.error.message, new RegExp(`may not see deal ${hidden.id}`));
      const created = await call("POST", hidden.id, "/contracts", { templateId: template }, { seller });
      assert.equal(created.status, 403);
      assert.equal((await contractsOf(name, "", hidden.id)).length, 0, "nothing created");
      const visible = deals.find((d) => d !== hidden.id);
      assert.equal((await call("GET", visible, "/contracts", undefined, { seller })).status, 200);
      // The CRM's administrator connection (the relay's own) sees the hidden deal: the refusal was the seller's.
      assert.equal((await call("GET", hidden.id, "/contracts")).status, 200);
    });
  });
}

// HubSpot's signed request proves the portal and the user the card runs for; its API cannot say
// whether that user may see a deal. So the relay acts only in the signing portal, on deals that portal
// holds, and says so.
describe("hubspot", () => {
  let relay;
  before(async () => {
    relay = await startRelay(sandbox);
  });
  after(async () => relay?.close());
  const secret = "uat-hubspot-app-client-secret";
  const signed = async (method, url) => fetch(url, { method, headers: hubspotHeaders(secret, method, url, "") });

  test("a user of another portal is refused, and a deal the portal does not hold is not found; nothing is created", async () => {
    const otherPortal = `${relay.url}/api/uat/deals/1001/contracts?portalId=1&userId=77`;
    const foreign = await signed("GET", otherPortal);
    assert.equal(foreign.status, 401);
    assert.match((await foreign.json()).error.message, /another CRM account/);
    const before = (await sandbox.control("GET", "/__sandbox/contracts")).json.length;
    const absent = `${relay.url}/api/uat/deals/987654321/preview?portalId=${sandbox.portal}&userId=77`;
    const body = JSON.stringify({ templateId: sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id });
    const preview = await fetch(absent, { method: "POST", headers: { ...hubspotHeaders(secret, "POST", absent, body), "content-type": "application/json" }, body });
    assert.equal(preview.status, 404, await preview.clone().text());
    assert.match((await preview.json()).error.message, /HubSpot/);
    assert.equal((await sandbox.control("GET", "/__sandbox/contracts")).json.length, before);
  });
});

describe("salesforce sessions are RS256, verified with the org's certificate", () => {
  let relay;
  let deal;
  before(async () => {
    relay = await startVendorRelay(sandbox, "salesforce", vendors);
    [deal] = vendors.salesforce.deal_ids;
  });
  after(async () => relay?.close());
  const read = (bearer) => api(relay, "GET", `/api/uat/deals/${deal}`, { bearer });
  const session = (options = {}) => salesforceSession({ tenant: "00DHs0000000001MAA", record: deal, user: vendors.salesforce.users[0].id, ...options });

  test("the Apex minter's session reads the deal; an HS256 session or another key's is refused by name", async () => {
    const good = await read(session());
    assert.equal(good.status, 200, JSON.stringify(good.json));
    // The old design: a secret in the org. Whatever it is keyed with, the relay expects RS256 here.
    const hs256 = mintToken("a-secret-someone-kept-in-the-org-0123456789", { host: "salesforce", tenant: "00DHs0000000001MAA", record: deal, user: vendors.salesforce.users[0].id }, 300);
    const refused = await read(hs256);
    assert.equal(refused.status, 401);
    assert.match(refused.json.error.message, /tokens for host salesforce are RS256/);
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const stranger = await read(session({ key: privateKey }));
    assert.equal(stranger.status, 401);
    assert.match(stranger.json.error.message, /signature does not match/);
  });
});
