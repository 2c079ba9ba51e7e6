// The HubSpot app card, rendered with HubSpot's own test renderer (@hubspot/ui-extensions/testing,
// createRenderer('crm.record.sidebar')), against the real relay and sandbox: hubspot.fetch forwards
// (through the worker's hsFetch, as in HubSpot) to the relay over HTTP, with portalId/userId appended
// and the request signed as HubSpot signs it (X-HubSpot-Signature-v3). The relay runs the sidebar's
// core for the card, so what the card shows is the core's view, rendered in HubSpot's components.

import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { readFileSync } from "node:fs";
import { api, eventually, hubspotHeaders, liveContracts, msaTemplate, ndaTemplate, newDeal, relayConfig, startRelay, startSandbox, token } from "../relay/support.mjs";
import { SpotDraftClient } from "../../pkg/node.js";

register("./hubspot/jsx-loader.mjs", import.meta.url);
globalThis.self ??= globalThis;

const React = (await import("react")).default;
const { createRenderer } = await import("@hubspot/ui-extensions/testing");
const { Alert, Button, Link, LoadingSpinner, SearchInput, Select, StatusTag, Tag, Text } = await import("@hubspot/ui-extensions");
const { SpotdraftContracts, newCardId, safeUrl } = await import("../../www/hosts/hubspot/src/app/cards/SpotdraftContracts.jsx");

const APP_SECRET = "uat-hubspot-app-client-secret";
const USER_ID = 5150;
let sandbox;
let relay;
let sidebarUrl;
/** What the card asked of the relay: [{path, event}]. */
let asked = [];
/** Set by a test: given the event, throw as HubSpot's hubspot.fetch does when it gives up (after the call is made). */
let loseAnswer = null;
let signWith = APP_SECRET;

before(async () => {
  sandbox = await startSandbox();
  const config = relayConfig(sandbox);
  config.environments.uat.plugin.stageLabels = { contractsent: "Contract sent", closedlost: "Closed lost", qualifiedtobuy: "Qualified to buy" };
  config.environments.uat.plugin.creationStages = ["contractsent", "qualifiedtobuy"];
  config.environments.uat.plugin.templates.push(msaTemplate(sandbox.uat));
  relay = await startRelay(sandbox, { config });
  sidebarUrl = `${relay.url}/sidebar/index.html`;
  // HubSpot's worker hands hubspot.fetch to hsFetch: the URL gains portalId and userId and the request
  // is signed over method, URL, body and time.
  globalThis.hsFetch = async (url, options = {}) => {
    const target = new URL(url);
    target.searchParams.set("portalId", sandbox.portal);
    target.searchParams.set("userId", String(USER_ID));
    const method = options.method ?? "GET";
    const body = options.body === undefined ? "" : JSON.stringify(options.body);
    asked.push({ path: `${method} ${target.pathname}`, event: options.body?.event });
    const response = await fetch(target.href, {
      method,
      headers: { ...hubspotHeaders(signWith, method, target.href, body), ...(body ? { "content-type": "application/json" } : {}) },
      body: body || undefined,
    });
    if (loseAnswer?.(options.body?.event)) throw new Error("hubspot.fetch: the request timed out");
    return response;
  };
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

// HubSpot's renderer has no unmount: each card is rendered under a switch that a test's end turns
// off, so the card's own clean-up stops its timers (the process could not end otherwise).
const unmounts = [];
function Mounted({ children }) {
  const [on, setOn] = React.useState(true);
  React.useEffect(() => {
    unmounts.push(() => setOn(false));
  }, []);
  return on ? children : null;
}
afterEach(() => {
  while (unmounts.length) unmounts.pop()();
});

function renderCard(dealId, props = {}) {
  asked = [];
  loseAnswer = null;
  signWith = APP_SECRET;
  const renderer = createRenderer("crm.record.sidebar");
  renderer.mocks.context.crm.objectId = Number(dealId);
  renderer.mocks.context.crm.objectTypeId = "0-3";
  renderer.mocks.context.portal.id = Number(sandbox.portal);
  renderer.render(React.createElement(Mounted, null, React.createElement(SpotdraftContracts, { relayUrl: relay.url, environment: "uat", sidebarUrl, ...props })));
  return renderer;
}

const createButton = (find) => find(Button, { variant: "primary" });
const texts = (findAll, variant) => findAll(Text).filter((node) => variant === undefined || node.props.variant === variant).map((node) => node.text);
const choose = async (card, label) => {
  const option = card.find(Select).props.options.find((o) => o.label === label);
  card.find(Select).trigger("onChange", option.value);
  await card.waitFor(() => assert.equal(card.find(Select).props.value, option.value));
};

test("the card shows the core's view: no template chosen for the seller, Create held back with the reason, one relay call", async () => {
  const deal = await newDeal(sandbox, "Card deal – first look");
  const card = renderCard(deal.id);
  assert.ok(card.maybeFind(LoadingSpinner));
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
  assert.deepEqual(asked.map((a) => a.path), [`POST /api/uat/deals/${deal.id}/card`]);
  assert.equal(asked[0].event.type, "start");
  assert.equal(card.find(Tag).text, "UAT", "UAT is never mistaken for production");
  assert.deepEqual(card.find(Select).props.options.map((o) => o.label), ["Mutual NDA", "Master Services Agreement"]);
  assert.equal(card.find(Select).props.value, undefined, "no template is preselected");
  assert.equal(createButton(card.find).props.disabled, true);
  assert.ok(texts(card.findAll, "microcopy").includes("Choose a template."), texts(card.findAll).join(" | "));
  assert.ok(texts(card.findAll).some((t) => /no contract/i.test(t)), "the empty deal says so");
});

test("every reason a create is blocked is listed, in the CRM's stage labels", async () => {
  const deal = await newDeal(sandbox, "Card deal – lost", { stage: "closedlost", contact: false });
  const card = renderCard(deal.id);
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
  await choose(card, "Master Services Agreement");
  await card.waitFor(() => assert.ok(texts(card.findAll, "microcopy").some((t) => /Closed lost/.test(t))));
  const reasons = texts(card.findAll, "microcopy");
  assert.ok(reasons.some((t) => /Contract sent/.test(t) && /Qualified to buy/.test(t)), reasons.join(" | "));
  assert.equal(createButton(card.find).props.disabled, true);
});

test("Create makes one contract however often it is clicked, and the card shows it with its actions", async () => {
  const deal = await newDeal(sandbox, "Card deal – create");
  const card = renderCard(deal.id);
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
  await choose(card, "Master Services Agreement");
  await card.waitFor(() => assert.equal(createButton(card.find).props.disabled, false), { timeoutInMs: 10_000 });
  createButton(card.find).trigger("onClick");
  createButton(card.find).trigger("onClick");
  createButton(card.find).trigger("onClick");
  await card.waitFor(() => assert.equal(card.findAll(StatusTag).length, 1), { timeoutInMs: 20_000 });
  await card.waitFor(() => assert.ok(card.findAll(Alert).some((a) => a.props.variant === "success")));
  assert.equal(card.find(StatusTag).text, "Draft");
  const link = card.find(Link);
  assert.equal(link.text, "Open in SpotDraft");
  assert.match(link.props.href.url, /^https:\/\//);
  assert.ok(card.findAll(Button).some((b) => b.text === "Send to counterparty" || /Send/.test(b.text)), "send is offered for a draft");
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 1);
  assert.ok(card.mocks.actions.refreshObjectProperties.calls.length >= 1, "HubSpot's own record view is told to re-read");
  assert.ok(asked.every((a) => a.path === `POST /api/uat/deals/${deal.id}/card`), "the card calls nothing but its sidebar");
});

test("send, live status on the next tick, and the signed PDF offered once executed", async () => {
  const deal = await newDeal(sandbox, "Card deal – lifecycle");
  const card = renderCard(deal.id);
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
  await choose(card, "Mutual NDA");
  await card.waitFor(() => assert.equal(createButton(card.find).props.disabled, false), { timeoutInMs: 10_000 });
  createButton(card.find).trigger("onClick");
  await card.waitFor(() => assert.equal(card.findAll(StatusTag).length, 1), { timeoutInMs: 20_000 });

  card.find(Button, (b) => /Send/.test(b.text)).trigger("onClick");
  await card.waitFor(() => assert.equal(card.find(StatusTag).text, "In review"), { timeoutInMs: 10_000 });

  // SpotDraft moves on by itself; the card's next tick (scheduled by the core) shows it.
  const [contract] = await liveContracts(sandbox, "uat", deal.id, sandbox.portal);
  await sandbox.control("POST", `/__sandbox/contracts/T-${contract.contract_id}/transition`, { to: "SIGN" });
  await sandbox.control("POST", `/__sandbox/contracts/T-${contract.contract_id}/transition`, { to: "EXECUTED" });
  await card.waitFor(() => assert.equal(card.find(StatusTag).text, "Executed"), { timeoutInMs: 20_000 });
  assert.ok(asked.some((a) => a.event?.type === "tick"), "the status came with a tick");

  card.find(Button, (b) => /Download/.test(b.text)).trigger("onClick");
  await card.waitFor(() => assert.ok(card.findAll(Link).some((l) => l.text === "Open the signed PDF")), { timeoutInMs: 10_000 });
  const pdf = card.findAll(Link).find((l) => l.text === "Open the signed PDF");
  const body = await fetch(pdf.props.href.url);
  assert.equal(Buffer.from(await body.arrayBuffer()).subarray(0, 4).toString(), "%PDF");
});

test("a contract made in SpotDraft is found from the card and linked to the deal once", async () => {
  // Made in SpotDraft, outside any CRM: created for a scratch deal, then unlinked there.
  const scratch = await newDeal(sandbox, "Scratch");
  const made = await api(relay, "POST", `/api/uat/deals/${scratch.id}/contracts`, { bearer: token(sandbox, scratch.id), body: { templateId: ndaTemplate(sandbox.uat).templateId } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  await client.setExternalMetadata(made.json.contract.id, {});
  const deal = await newDeal(sandbox, "Card deal – link");
  const card = renderCard(deal.id);
  await card.waitFor(() => assert.ok(card.maybeFind(SearchInput)), { timeoutInMs: 10_000 });
  card.find(SearchInput).trigger("onInput", "Globex");
  await card.waitFor(() => assert.equal(card.find(SearchInput).props.value, "Globex"));
  card.find(Button, (b) => b.text === "Search").trigger("onClick");
  const linkButton = (find) => find(Button, (b) => b.text === "Link");
  await card.waitFor(() => assert.ok(card.findAll(Button).some((b) => b.text === "Link"), JSON.stringify([texts(card.findAll), card.findAll(Button).map((b) => b.text)])), { timeoutInMs: 10_000 });
  linkButton(card.find).trigger("onClick");
  linkButton(card.find).trigger("onClick");
  await card.waitFor(() => assert.ok(card.findAll(Alert).some((a) => /is now linked to this deal/.test(a.props.title))), { timeoutInMs: 15_000 });
  assert.equal(card.findAll(StatusTag).length, 1, "the deal shows its linked contract");
  assert.ok(!card.maybeFind(SearchInput), "a deal with its one contract offers no more links");
  assert.deepEqual((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).map((c) => `T-${c.contract_id}`), [made.json.contract.id]);
  assert.ok(asked.every((a) => a.path === `POST /api/uat/deals/${deal.id}/card`), "the card calls nothing but its sidebar");
});

test("a change HubSpot reports on the record is read again from the CRM", async () => {
  const deal = await newDeal(sandbox, "Card deal – moves stage", { stage: "closedlost" });
  let report;
  const card = renderCard(deal.id);
  card.mocks.actions.onCrmPropertiesUpdate.willCall((_properties, callback) => { report = callback; });
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
  await choose(card, "Mutual NDA");
  await card.waitFor(() => assert.ok(texts(card.findAll, "microcopy").some((t) => /Closed lost/.test(t))));
  assert.equal(typeof report, "function", "the card listens for record changes");
  report({ dealstage: "closedlost" });
  const changed = await sandbox.crmCall("PATCH", `/crm/v3/objects/deals/${deal.id}`, { properties: { dealstage: "contractsent" } });
  assert.equal(changed.status, 200);
  report({ dealstage: "contractsent" });
  await card.waitFor(() => assert.equal(createButton(card.find).props.disabled, false), { timeoutInMs: 10_000 });
  assert.ok(asked.some((a) => a.event?.type === "recordChanged"));
});

test("a create whose answer HubSpot gives up on is followed until its contract shows, not reported as failed", async () => {
  const deal = await newDeal(sandbox, "Card deal – slow answer");
  const card = renderCard(deal.id, { followEveryMs: 50, followForMs: 5_000 });
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
  await choose(card, "Mutual NDA");
  await card.waitFor(() => assert.equal(createButton(card.find).props.disabled, false), { timeoutInMs: 10_000 });
  loseAnswer = (event) => event?.type === "createClicked";
  createButton(card.find).trigger("onClick");
  await card.waitFor(() => assert.equal(card.findAll(StatusTag).length, 1), { timeoutInMs: 15_000 });
  assert.ok(!card.findAll(Alert).some((a) => a.props.variant === "danger" || a.props.variant === "warning"), "no failure is claimed");
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 1);
});

test("a card the relay refuses says so and offers to try again", async () => {
  const deal = await newDeal(sandbox, "Card deal – refused");
  const card = renderCard(deal.id);
  signWith = "not-the-app-secret";
  await card.waitFor(() => assert.equal(card.find(Alert).props.title, "SpotDraft is unavailable"), { timeoutInMs: 10_000 });
  assert.match(card.find(Alert).text, /signature/i);
  signWith = APP_SECRET;
  card.find(Button, (b) => b.text === "Try again").trigger("onClick");
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
});

test("'Open full sidebar' opens the sidebar page in HubSpot's iframe modal with a session for this deal", async () => {
  const deal = await newDeal(sandbox, "Card deal – full sidebar");
  const card = renderCard(deal.id);
  await card.waitFor(() => assert.ok(card.maybeFind(Select)), { timeoutInMs: 10_000 });
  card.find(Button, { variant: "secondary" }).trigger("onClick");
  await eventually(() => card.mocks.actions.openIframeModal.calls.length === 1);
  const [options, onClose] = card.mocks.actions.openIframeModal.calls[0];
  const uri = new URL(options.uri);
  assert.equal(`${uri.origin}${uri.pathname}`, sidebarUrl);
  assert.deepEqual(Object.fromEntries(uri.searchParams), { host: "hubspot", env: "uat", dealId: deal.id, portalId: sandbox.portal });
  const session = new URLSearchParams(uri.hash.slice(1));
  const contracts = await fetch(`${relay.url}/api/uat/deals/${deal.id}/contracts`, { headers: { authorization: `Bearer ${session.get("token")}` } });
  assert.equal(contracts.status, 200, "the session works for this deal");
  assert.equal(typeof onClose, "function");
});

test("card ids and URLs the card will offer", () => {
  assert.match(newCardId(), /^card-[0-9a-f]{24}$/);
  assert.notEqual(newCardId(), newCardId());
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl("http://app.spotdraft.com/x"), null);
  assert.equal(safeUrl("https://app.spotdraft.com/x"), "https://app.spotdraft.com/x");
  assert.equal(safeUrl("http://127.0.0.1:9/doc.pdf"), "http://127.0.0.1:9/doc.pdf", "loopback, as the core allows it");
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
  assert.ok(app.config.permittedUrls.fetch.includes("https://relay.example.com"));
  assert.ok(app.config.permittedUrls.iframe.includes("https://relay.example.com"));
  assert.equal(project.srcDir, "src");
  // What the relay does with the app's token: reads the deal and its company and contact, writes the
  // SpotDraft properties, and provisions them (cli.js provision) in their group.
  for (const scope of ["crm.objects.deals.read", "crm.objects.deals.write", "crm.schemas.deals.read", "crm.schemas.deals.write", "crm.objects.companies.read", "crm.objects.contacts.read"]) {
    assert.ok(app.config.auth.requiredScopes.includes(scope), `the app asks for ${scope}`);
  }
});
