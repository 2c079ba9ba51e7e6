// POST /api/{env}/deals/{deal}/card: the relay runs the sidebar's core for a host that cannot (the
// HubSpot card) and answers the shell's `{view, effects}`, its relay calls made in-process as the caller.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, hubspotHeaders, liveContracts, newDeal, startStack, stopStack, token } from "./support.mjs";

let sandbox;
let relay;
let nda;
before(async () => {
  ({ sandbox, relay } = await startStack());
  nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
});
after(() => stopStack({ sandbox, relay }));

const APP_SECRET = "uat-hubspot-app-client-secret";

/** A card request as HubSpot sends it: portalId/userId appended, signed over the exact URL and body. */
async function card(dealId, body, { userId = 77, secret = APP_SECRET } = {}) {
  const url = `${relay.url}/api/uat/deals/${dealId}/card?portalId=${sandbox.portal}&userId=${userId}`;
  const text = JSON.stringify(body);
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...hubspotHeaders(secret, "POST", url, text) }, body: text });
  return { status: response.status, json: await response.json() };
}

test("a card's start is the sidebar's first view, read from the CRM and SpotDraft, and nothing to watch yet", async () => {
  const deal = await newDeal(sandbox, "Card route – first view");
  const reply = await card(deal.id, { cardId: "card-first-view", event: { type: "start" } });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  const { view, effects } = reply.json;
  assert.equal(view.phase, "ready");
  assert.equal(view.dealName, deal.name, "the name comes from the CRM");
  assert.equal(view.environmentBadge, "UAT");
  assert.deepEqual(view.contracts, []);
  // One template: chosen, and previewed against the CRM's deal.
  assert.deepEqual(view.create.templates.map((t) => [t.templateId, t.selected]), [[nda, true]]);
  assert.equal(view.create.enabled, true, JSON.stringify(view.create.reasons));
  assert.deepEqual(effects, [{ type: "cancelTick" }], "a deal with no contract has nothing to watch");
  assert.ok(effects.every((e) => e.type !== "call"), "the relay made every call itself");
  const line = relay.lines.map((l) => JSON.parse(l)).findLast((l) => l.route === "POST /api/:env/deals/:deal/card");
  assert.deepEqual(line.calls.map((c) => [c.route, c.status, c.via]), [["GET /api/:env/deals/:deal/sidebar", 200, "card"]]);
});

test("create through the card: one contract under repeated clicks, the notice kept for this card only", async () => {
  const deal = await newDeal(sandbox, "Card route – create");
  assert.equal((await card(deal.id, { cardId: "card-create-a", event: { type: "start" } })).status, 200);
  const clicks = await Promise.all([1, 2, 3].map(() => card(deal.id, { cardId: "card-create-a", event: { type: "createClicked" }, templateId: nda })));
  for (const click of clicks) assert.equal(click.status, 200, JSON.stringify(click.json));
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 1);

  const refresh = clicks.flatMap((c) => c.json.effects).find((e) => e.type === "scheduleTick");
  assert.ok(refresh?.inMs > 0 && refresh.inMs <= 3_000, `a created contract is watched closely: ${JSON.stringify(refresh)}`);
  const tick = await card(deal.id, { cardId: "card-create-a", event: { type: "tick" } });
  assert.equal(tick.json.view.contracts.length, 1);
  assert.equal(tick.json.view.contracts[0].statusLabel, "Draft");
  assert.deepEqual(tick.json.view.contracts[0].actions.map((a) => a.action), ["open", "send", "approvals"]);
  assert.equal(tick.json.view.banner?.tone, "success", "the kept sidebar still shows its notice");
  const other = await card(deal.id, { cardId: "card-create-b", event: { type: "start" } });
  assert.equal(other.json.view.banner, null, "another card of the same deal has its own state");
  assert.equal(other.json.view.contracts.length, 1);
  const otherUser = await card(deal.id, { cardId: "card-create-a", event: { type: "tick" } }, { userId: 78 });
  assert.equal(otherUser.json.view.banner, null, "another seller never sees this seller's card state");
});

test("a card's sidebar acts as its caller: a stage the deal is not at blocks create with the reason", async () => {
  const deal = await newDeal(sandbox, "Card route – lost", { stage: "closedlost" });
  const started = await card(deal.id, { cardId: "card-lost-1", event: { type: "start" } });
  assert.equal(started.json.view.create.enabled, false);
  assert.ok(started.json.view.create.reasons.some((r) => /closedlost/.test(r)), JSON.stringify(started.json.view.create.reasons));
  const click = await card(deal.id, { cardId: "card-lost-1", event: { type: "createClicked" } });
  assert.equal(click.status, 200);
  assert.equal((await liveContracts(sandbox, "uat", deal.id, sandbox.portal)).length, 0, "nothing is created");
});

test("bad card requests are refused with the field named; only the caller's own deal", async () => {
  const deal = await newDeal(sandbox, "Card route – refusals");
  const cases = [
    [{ cardId: "short", event: { type: "start" } }, "cardId"],
    [{ cardId: "card/../../x-12345", event: { type: "start" } }, "cardId"],
    [{ cardId: "card-refusals-1", event: { type: "launchMissiles" } }, "event"],
    [{ cardId: "card-refusals-1" }, "event"],
    [{ cardId: "card-refusals-1", event: { type: "start" }, tzOffsetMinutes: 100000 }, "tzOffsetMinutes"],
  ];
  for (const [body, field] of cases) {
    const reply = await card(deal.id, body);
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.ok(JSON.stringify(reply.json.error).includes(field), `${field}: ${JSON.stringify(reply.json.error)}`);
  }
  assert.equal((await card(deal.id, { cardId: "card-refusals-1", event: { type: "start" } }, { secret: "wrong" })).status, 401);
  // A bearer token's caller may use the route too, for its own record only.
  const own = await api(relay, "POST", `/api/uat/deals/${deal.id}/card`, { bearer: token(sandbox, deal.id), body: { cardId: "card-bearer-1", event: { type: "start" } } });
  assert.equal(own.status, 200, JSON.stringify(own.json));
  const elsewhere = await api(relay, "POST", "/api/uat/deals/1001/card", { bearer: token(sandbox, deal.id), body: { cardId: "card-bearer-1", event: { type: "start" } } });
  assert.equal(elsewhere.status, 401);
});
