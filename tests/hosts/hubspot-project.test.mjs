// The HubSpot developer project (www/hosts/hubspot) through HubSpot's own project parser,
// @hubspot/project-parsing-lib (what `hs project upload` runs first): hsproject.json, the platform
// version, each *-hsmeta.json (uid, type, top-level keys, the folder its type belongs in, one app,
// at most one webhooks component).
//
// Offline, one part cannot run: the parser downloads HubSpot's component JSON schemas for the
// platform version from HubSpot's API, with an account. Here that download answers with empty
// schemas, so every check the parser makes itself runs and the schema-level field checks (scope
// names, config keys) are left to HubSpot's upload. A copy of the project with one deliberate mistake
// each shows the checks run. What the webhooks component subscribes to, and where it sends the
// events, is checked below against the shape HubSpot documents for it
// (developers.hubspot.com/docs/apps/developer-platform/add-features/configure-webhooks), since the
// empty schemas check no config.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { http } from "@hubspot/local-dev-lib/http";
import { parseProjectConfig } from "@hubspot/project-parsing-lib/projects";
import { translate } from "@hubspot/project-parsing-lib/translate";

const PROJECT = new URL("../../www/hosts/hubspot", import.meta.url).pathname;
const WEBHOOKS_FILE = "src/app/webhooks/webhooks-hsmeta.json";
const schemaDownloads = [];
http.get = async (_account, { url }) => {
  schemaDownloads.push(url);
  // One (empty) schema per component type the project uses, under the parser's internal type names.
  return { data: { APPLICATION: {}, CARD: {}, WEBHOOKS: {} } };
};

/** The parser's verdict on a project folder: the components by uid, or its error text. */
async function parse(dir) {
  try {
    const config = parseProjectConfig(dir);
    const result = await translate({ projectSourceDir: join(dir, config.srcDir), platformVersion: config.platformVersion, accountId: 1 });
    return { ok: true, platformVersion: config.platformVersion, nodes: result.intermediateRepresentation.intermediateNodesIndexedByUid, skipped: result.skippedHsMetaFiles };
  } catch (error) {
    return { ok: false, error: error.name === "TranslationError" ? error.toString() : error.message };
  }
}

/** A copy of the project with `change(dir)` applied. */
function changedCopy(change) {
  const dir = join(mkdtempSync(join(tmpdir(), "hubspot-project-")), "project");
  cpSync(PROJECT, dir, { recursive: true, filter: (source) => !source.includes("node_modules") });
  change(dir);
  return dir;
}

const editJson = (dir, path, edit) => {
  const file = join(dir, path);
  const value = JSON.parse(readFileSync(file, "utf8"));
  edit(value);
  writeFileSync(file, JSON.stringify(value, null, 2));
};

test("HubSpot's parser accepts the project on the current platform version: the app, its deal sidebar card and its deal webhooks", async () => {
  const parsed = await parse(PROJECT);
  assert.ok(parsed.ok, parsed.error);
  assert.equal(parsed.platformVersion, "2026.03");
  assert.deepEqual(Object.keys(parsed.nodes).sort(), ["spotdraft_contracts_card", "spotdraft_crm_app", "spotdraft_deal_events"]);
  assert.deepEqual(parsed.skipped, [], "no hsmeta file is left out");
  assert.ok(schemaDownloads.some((url) => url.includes("2026.03")), "the parser asked for the platform's schemas");
});

test("the parser refuses a project with a mistake in it (so the acceptance above means something)", async (t) => {
  const cases = [
    ["a platform version that does not exist", (dir) => editJson(dir, "hsproject.json", (p) => { p.platformVersion = "2026.3"; }), /Unsupported platform version/],
    ["a key HubSpot does not know at the top level", (dir) => editJson(dir, "src/app/app-hsmeta.json", (app) => { app.name = "x"; }), /Unexpected top-level properties found: name/],
    ["a uid with a space", (dir) => editJson(dir, "src/app/cards/spotdraft-contracts-hsmeta.json", (card) => { card.uid = "spotdraft card"; }), /'uid' should use only letters/],
    ["a project without srcDir", (dir) => editJson(dir, "hsproject.json", (p) => { delete p.srcDir; }), /missing required field\(s\): srcDir/],
    ["the webhooks component outside the webhooks folder", (dir) => renameSync(join(dir, WEBHOOKS_FILE), join(dir, "src/app/cards/webhooks-hsmeta.json")), /incorrect for type 'webhooks'/],
    ["a second webhooks component", (dir) => {
      const copy = JSON.parse(readFileSync(join(dir, WEBHOOKS_FILE), "utf8"));
      copy.uid = "spotdraft_deal_events_again";
      writeFileSync(join(dir, "src/app/webhooks/more-hsmeta.json"), JSON.stringify(copy));
    }, /Only one webhooks component is allowed/],
  ];
  for (const [name, change, expected] of cases) {
    await t.test(name, async () => {
      const dir = changedCopy(change);
      try {
        const parsed = await parse(dir);
        assert.equal(parsed.ok, false, `${name} was accepted`);
        assert.match(parsed.error, expected);
      } finally {
        rmSync(join(dir, ".."), { recursive: true, force: true });
      }
    });
  }
});

/** A `export const NAME = "value";` of the card's config.js. */
function cardSetting(name) {
  const source = readFileSync(join(PROJECT, "src/app/cards/config.js"), "utf8");
  const found = source.match(new RegExp(`export const ${name} = "([^"]*)";`));
  assert.ok(found, `config.js sets ${name}`);
  return found[1];
}

test("the webhooks component belongs to the app and sends the deal events to the relay the card calls, for the card's environment", async () => {
  const parsed = await parse(PROJECT);
  assert.ok(parsed.ok, parsed.error);
  const webhooks = parsed.nodes.spotdraft_deal_events;
  assert.equal(webhooks.componentType, "WEBHOOKS");
  assert.equal(webhooks.componentDeps.app, "spotdraft_crm_app", "a feature of the app");
  assert.equal(webhooks.metaFilePath, "app/webhooks/webhooks-hsmeta.json");

  // settings: where HubSpot posts, and how many calls at once.
  const { settings, subscriptions } = webhooks.config;
  assert.deepEqual(Object.keys(webhooks.config).sort(), ["settings", "subscriptions"]);
  assert.deepEqual(Object.keys(settings).sort(), ["maxConcurrentRequests", "targetUrl"]);
  assert.ok(Number.isInteger(settings.maxConcurrentRequests) && settings.maxConcurrentRequests > 0);
  // The relay verifies HubSpot's signature over the URL it was called at, so the target is exactly
  // the relay's public address (the card's RELAY_URL) and /crm-events/ with the card's environment.
  const relay = cardSetting("RELAY_URL");
  const environment = cardSetting("ENVIRONMENT");
  assert.equal(settings.targetUrl, `${relay}/crm-events/${environment}`);
  assert.match(settings.targetUrl, /^https:\/\/[^/?#]+\/crm-events\/(uat|production)$/);
  const app = JSON.parse(readFileSync(join(PROJECT, "src/app/app-hsmeta.json"), "utf8"));
  assert.ok(app.config.permittedUrls.fetch.includes(new URL(settings.targetUrl).origin), "the same relay the card may call");
  assert.ok(app.config.auth.requiredScopes.includes("crm.objects.deals.read"), "deal events need the deals read scope");

  // subscriptions: the new-format (object.*) deal events only; none of the relay's own write-back.
  assert.deepEqual(subscriptions.legacyCrmObjects ?? [], []);
  assert.deepEqual(subscriptions.hubEvents ?? [], []);
  for (const subscription of subscriptions.crmObjects) {
    const propertyChange = subscription.subscriptionType === "object.propertyChange";
    assert.deepEqual(Object.keys(subscription).sort(), ["active", "objectType", ...(propertyChange ? ["propertyName"] : []), "subscriptionType"]);
    assert.ok(["object.creation", "object.propertyChange"].includes(subscription.subscriptionType), subscription.subscriptionType);
    assert.equal(subscription.objectType, "deal");
    assert.equal(subscription.active, true);
    if (propertyChange) {
      assert.match(subscription.propertyName, /^[a-z][a-z0-9_]*$/);
      assert.ok(!subscription.propertyName.startsWith("spotdraft_"), "the relay's own properties are not subscribed to");
    }
  }
  const kinds = subscriptions.crmObjects.map((s) => s.subscriptionType + (s.propertyName ? `:${s.propertyName}` : ""));
  assert.equal(new Set(kinds).size, kinds.length, "each subscription once");
  assert.ok(kinds.includes("object.creation"), "deal creation");
  // The stage is what milestones are about. The rest are deal properties a create can fail on, so that
  // filling one in tries again: closedate and amount (deal.closeDate, deal.amount in the shipped
  // example templates) and dealname (every deal needs a name; it names the party without a company).
  for (const property of ["dealstage", "closedate", "amount", "dealname"]) {
    assert.ok(kinds.includes(`object.propertyChange:${property}`), `a change of ${property}`);
  }
});
