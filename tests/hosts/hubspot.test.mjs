// The HubSpot app card, rendered with HubSpot's own test renderer (@hubspot/ui-extensions/testing,
// createRenderer('crm.record.sidebar')), its hooks and actions mocked by that renderer, and
// hubspot.fetch answered by a fake relay (the card calls the real hubspot.fetch, which forwards to the
// worker's hsFetch).

import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { readFileSync } from "node:fs";

register("./hubspot/jsx-loader.mjs", import.meta.url);
globalThis.self ??= globalThis;

const React = (await import("react")).default;
const { createRenderer } = await import("@hubspot/ui-extensions/testing");
const { Alert, Button, Link, LoadingSpinner, Select, Tag, Text } = await import("@hubspot/ui-extensions");
const { SpotdraftContracts, dealFromHubSpot, safeHttpsUrl } = await import("../../www/hosts/hubspot/src/app/cards/SpotdraftContracts.jsx");

const RELAY = "https://relay.example.com";
const SIDEBAR = "https://relay.example.com/sidebar/index.html";
const CONTRACTS = [
  { id: "T-2", number: 2, name: "MSA <img src=x onerror=alert(1)>", status: "SIGN", statusLabel: "Out for signature", link: "https://app.spotdraft.com/contracts/v2/2" },
  { id: "T-1", number: 1, name: "NDA", status: "VOIDED", statusLabel: "Voided", link: "javascript:alert(1)" },
];
const PROPERTIES = { dealname: "Acme renewal", amount: "12000.50", deal_currency_code: "EUR", dealstage: "contractsent", closedate: "2026-12-31T00:00:00Z", term: "12" };

let relay;

function fakeRelay(routes) {
  const calls = [];
  globalThis.hsFetch = async (url, options = {}) => {
    calls.push({ url, options });
    const key = `${options.method ?? "GET"} ${new URL(url).pathname}`;
    const answer = routes[key] ?? { status: 404, body: { error: { code: "not_found", message: "no such route" } } };
    const { status = 200, body } = typeof answer === "function" ? await answer(url, options) : answer;
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  return calls;
}

function routes(overrides = {}) {
  return {
    "GET /api/uat/config": { body: { environment: "uat", templates: [{ templateId: 202, label: "Master Services Agreement" }] } },
    "GET /api/uat/deals/1001/contracts": { body: CONTRACTS },
    ...overrides,
  };
}

function renderCard(props = {}) {
  const renderer = createRenderer("crm.record.sidebar");
  renderer.mocks.context.crm.objectId = 1001;
  renderer.mocks.context.crm.objectTypeId = "0-3";
  renderer.mocks.context.portal.id = 4411223;
  renderer.mocks.useAssociations.willCall(({ toObjectType }) => ({
    results: toObjectType === "0-2"
      ? [{ toObjectId: 77, associationTypes: [], properties: { name: "Acme GmbH", city: "Berlin", country: "Germany", zip: "", address: null } }]
      : [{ toObjectId: 88, associationTypes: [], properties: { firstname: "Ada", lastname: "Lovelace", email: "ada@acme.example" } }],
    error: null,
    isLoading: false,
    isRefetching: false,
    refetch: async () => {},
    pagination: { hasNextPage: false, hasPreviousPage: false, currentPage: 1, pageSize: 1, nextPage() {}, previousPage() {}, reset() {} },
  }));
  renderer.mocks.actions.fetchCrmObjectProperties.willCall(async () => ({ ...PROPERTIES }));
  renderer.render(React.createElement(SpotdraftContracts, { relayUrl: RELAY, environment: "uat", sidebarUrl: SIDEBAR, customProperties: ["term"], ...props }));
  return renderer;
}

beforeEach(() => {
  relay = fakeRelay(routes());
});

test("shows a spinner, then the deal's contracts from the relay with their status in seller words", async () => {
  const { find, findAll, maybeFind, waitFor } = renderCard();
  assert.ok(maybeFind(LoadingSpinner));
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  assert.deepEqual(findAll(Tag).map((tag) => tag.text), ["Out for signature", "Voided"]);
  assert.deepEqual(relay.map((c) => `${c.options.method} ${c.url}`).sort(), [
    `GET ${RELAY}/api/uat/config`,
    `GET ${RELAY}/api/uat/deals/1001/contracts`,
  ]);
  assert.ok(relay.every((c) => c.options.timeout <= 15_000 && !("headers" in c.options)));
  assert.ok(find(Button, { variant: "primary" }).text.includes("Create contract"));
});

test("contract names are text, and only https links become 'Open in SpotDraft'", async () => {
  const { findAll, waitFor } = renderCard();
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  assert.ok(findAll(Text).some((node) => node.text === "MSA <img src=x onerror=alert(1)>"));
  const links = findAll(Link);
  assert.equal(links.length, 1);
  assert.deepEqual(links[0].props.href, { url: "https://app.spotdraft.com/contracts/v2/2", external: true });
  assert.equal(links[0].text, "Open in SpotDraft");
  assert.equal(safeHttpsUrl("javascript:alert(1)"), null);
  assert.equal(safeHttpsUrl("http://app.spotdraft.com/x"), null);
});

test("Create posts the deal built from the card's CRM properties and associations, then reloads", async () => {
  let posted = null;
  relay = fakeRelay(routes({
    "POST /api/uat/deals/1001/contracts": (url, options) => {
      posted = options.body;
      return { status: 201, body: { contract: CONTRACTS[0], created: true, crmSynced: true } };
    },
  }));
  const { find, findAll, mocks, waitFor } = renderCard();
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  find(Button, { variant: "primary" }).trigger("onClick");
  await waitFor(() => assert.equal(mocks.actions.addAlert.calls.length, 1));

  assert.deepEqual(mocks.actions.fetchCrmObjectProperties.calls[0][0], ["dealname", "amount", "deal_currency_code", "dealstage", "closedate", "term"]);
  assert.deepEqual(posted, {
    templateId: 202,
    deal: {
      id: "1001",
      name: "Acme renewal",
      amount: "12000.50",
      currency: "EUR",
      stage: "contractsent",
      closeDate: "2026-12-31T00:00:00Z",
      account: { id: "77", name: "Acme GmbH", address: { city: "Berlin", country: "Germany" } },
      primaryContact: { id: "88", firstName: "Ada", lastName: "Lovelace", email: "ada@acme.example" },
      custom: { term: "12" },
    },
  });
  assert.equal(mocks.actions.addAlert.calls[0][0].type, "success");
  await waitFor(() => assert.equal(relay.filter((c) => c.options.method === "GET" && c.url.endsWith("/contracts")).length, 2));
});

test("a double click creates once", async () => {
  let posts = 0;
  let release;
  relay = fakeRelay(routes({
    "POST /api/uat/deals/1001/contracts": () => {
      posts += 1;
      return new Promise((resolve) => {
        release = () => resolve({ status: 201, body: { contract: CONTRACTS[0], created: true } });
      });
    },
  }));
  const { find, findAll, waitFor } = renderCard();
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  const button = find(Button, { variant: "primary" });
  button.trigger("onClick");
  button.trigger("onClick");
  await waitFor(() => assert.equal(find(Button, { variant: "primary" }).props.disabled, true));
  await waitFor(() => assert.ok(release));
  release();
  await waitFor(() => assert.equal(find(Button, { variant: "primary" }).props.disabled, false));
  assert.equal(posts, 1);
});

test("the relay's refusal is shown in its own words", async () => {
  relay = fakeRelay(routes({
    "POST /api/uat/deals/1001/contracts": { status: 422, body: { error: { code: "stage_not_allowed", message: "Contracts can be created at stages qualifiedtobuy, contractsent; this deal is at closedlost" } } },
  }));
  const { find, findAll, waitFor } = renderCard();
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  find(Button, { variant: "primary" }).trigger("onClick");
  await waitFor(() => assert.equal(find(Alert).props.title, "The contract was not created"));
  assert.equal(find(Alert).text, "Contracts can be created at stages qualifiedtobuy, contractsent; this deal is at closedlost");
});

test("a relay failure on load offers a retry", async () => {
  relay = fakeRelay(routes({ "GET /api/uat/deals/1001/contracts": { status: 401, body: { error: { code: "unauthorized", message: "the HubSpot signature does not match" } } } }));
  const { find, findAll, waitFor } = renderCard();
  await waitFor(() => assert.equal(find(Alert).text, "the HubSpot signature does not match"));
  relay = fakeRelay(routes());
  find(Button, (node) => node.text === "Try again").trigger("onClick");
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
});

test("with several templates a Select offers them and Create uses the chosen one", async () => {
  let posted = null;
  relay = fakeRelay(routes({
    "GET /api/uat/config": { body: { templates: [{ templateId: 202, label: "MSA" }, { templateId: 303, label: "NDA" }] } },
    "POST /api/uat/deals/1001/contracts": (url, options) => {
      posted = options.body;
      return { status: 200, body: { contract: CONTRACTS[0], created: false } };
    },
  }));
  const { find, findAll, mocks, waitFor } = renderCard();
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  const select = find(Select);
  assert.deepEqual(select.props.options, [{ label: "MSA", value: 202 }, { label: "NDA", value: 303 }]);
  select.trigger("onChange", 303);
  await waitFor(() => assert.equal(find(Select).props.value, 303));
  find(Button, { variant: "primary" }).trigger("onClick");
  await waitFor(() => assert.equal(mocks.actions.addAlert.calls.length, 1));
  assert.equal(posted.templateId, 303);
  assert.match(mocks.actions.addAlert.calls[0][0].message, /already has a contract/);
});

test("with several templates none is chosen for the seller: Create waits for a choice", async () => {
  relay = fakeRelay(routes({ "GET /api/uat/config": { body: { templates: [{ templateId: 202, label: "MSA" }, { templateId: 303, label: "NDA" }] } } }));
  const { find, findAll, waitFor } = renderCard();
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  assert.equal(find(Select).props.value, undefined);
  const button = find(Button, { variant: "primary" });
  assert.equal(button.props.disabled, true);
  assert.equal(button.text, "Choose a template to create");
  find(Select).trigger("onChange", 202);
  await waitFor(() => assert.equal(find(Button, { variant: "primary" }).props.disabled, false));
  assert.equal(find(Button, { variant: "primary" }).text, "Create contract");
});

test("a create whose answer times out is followed until its contract appears, not reported as failed", async () => {
  let lists = 0;
  const made = { id: "T-9", number: 9, name: "MSA – Acme", status: "DRAFT", statusLabel: "Draft", link: "https://app.spotdraft.com/contracts/v2/9" };
  relay = fakeRelay(routes({
    "POST /api/uat/deals/1001/contracts": () => { throw new Error("hubspot.fetch timed out"); },
    // The relay finishes the create a little later: the second look finds it.
    "GET /api/uat/deals/1001/contracts": () => ({ body: (lists += 1) >= 3 ? [made, ...CONTRACTS] : CONTRACTS }),
  }));
  const { find, findAll, maybeFind, mocks, waitFor } = renderCard({ followEveryMs: 5, followForMs: 200 });
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  find(Button, { variant: "primary" }).trigger("onClick");
  await waitFor(() => assert.equal(findAll(Tag).length, 3));
  await waitFor(() => assert.equal(mocks.actions.addAlert.calls.length, 1));
  assert.equal(mocks.actions.addAlert.calls[0][0].message, "Contract created in SpotDraft.");
  assert.equal(maybeFind(Alert), null, "no failure is claimed");
});

test("a create that times out and never shows up says it may still come, and that trying again is safe", async () => {
  relay = fakeRelay(routes({ "POST /api/uat/deals/1001/contracts": { status: 504, body: { error: { code: "upstream_timeout", message: "SpotDraft: no answer in time" } } } }));
  const { find, findAll, mocks, waitFor } = renderCard({ followEveryMs: 5, followForMs: 30 });
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  find(Button, { variant: "primary" }).trigger("onClick");
  await waitFor(() => assert.equal(find(Alert).props.title, "The contract may still be on its way"));
  assert.match(find(Alert).text, /one contract however often Create is clicked/);
  assert.equal(mocks.actions.addAlert.calls.length, 0);
  assert.equal(find(Button, { variant: "primary" }).props.disabled, false, "Create can be tried again");
});

test("'Open full sidebar' opens the sidebar page in HubSpot's iframe modal", async () => {
  relay = fakeRelay(routes({ "POST /api/uat/deals/1001/session": { body: { token: "tok.en.sig", expiresAt: 1900000000 } } }));
  const { find, findAll, mocks, waitFor } = renderCard();
  await waitFor(() => assert.equal(findAll(Tag).length, 2));
  find(Button, { variant: "secondary" }).trigger("onClick");
  // The modal opens after the relay's session answer; opening it renders nothing the renderer's waitFor sees.
  for (let i = 0; i < 100 && mocks.actions.openIframeModal.calls.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(mocks.actions.openIframeModal.calls.length, 1);
  const [options, onClose] = mocks.actions.openIframeModal.calls[0];
  assert.equal(options.uri, `${SIDEBAR}?host=hubspot&env=uat&dealId=1001&portalId=4411223#token=tok.en.sig&expiresAt=1900000000`);
  assert.equal(options.title, "SpotDraft contracts");
  assert.ok(options.width > 0 && options.height > 0);
  assert.equal(typeof onClose, "function");
});

test("mapping: empty HubSpot properties are left out, not sent as empty strings", () => {
  assert.deepEqual(dealFromHubSpot("5", { dealname: "X", amount: "", closedate: null }, null, null), { id: "5", name: "X" });
});

test("project files: a deal sidebar card whose relay is a permitted fetch URL", () => {
  const read = (path) => JSON.parse(readFileSync(new URL(`../../www/hosts/hubspot/${path}`, import.meta.url), "utf8"));
  const card = read("src/app/cards/spotdraft-contracts-hsmeta.json");
  const app = read("src/app/app-hsmeta.json");
  const project = read("hsproject.json");
  assert.equal(card.type, "card");
  assert.equal(card.config.location, "crm.record.sidebar");
  assert.deepEqual(card.config.objectTypes, ["deals"]);
  assert.equal(card.config.entrypoint, "/app/cards/SpotdraftContracts.jsx");
  assert.equal(app.type, "app");
  assert.ok(app.config.permittedUrls.fetch.includes(RELAY));
  assert.ok(app.config.permittedUrls.iframe.includes(new URL(SIDEBAR).origin));
  assert.equal(project.srcDir, "src");
  // What the relay does with the app's token: reads the deal and its company and contact, writes the
  // SpotDraft properties, and provisions them (cli.js provision) in their group.
  for (const scope of ["crm.objects.deals.read", "crm.objects.deals.write", "crm.schemas.deals.read", "crm.schemas.deals.write", "crm.objects.companies.read", "crm.objects.contacts.read"]) {
    assert.ok(app.config.auth.requiredScopes.includes(scope), `the app asks for ${scope}`);
  }
});
