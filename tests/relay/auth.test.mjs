// Every sidebar call is authenticated and scoped to one CRM record and tenant.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SdxRelay } from "../../pkg/node.js";
import { SECRETS, api, handMadeToken, hubspotHeaders, relayConfig, startStack, stopStack, token } from "./support.mjs";

let sandbox;
let relay;
before(async () => ({ sandbox, relay } = await startStack()));
after(() => stopStack({ sandbox, relay }));

const path = "/api/uat/deals/1001/contracts";

test("a valid token for the record is accepted", async () => {
  const reply = await api(relay, "GET", path, { bearer: token(sandbox, "1001") });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  assert.ok(Array.isArray(reply.json));
});

test("missing, malformed and forged tokens are refused", async () => {
  for (const bearer of [undefined, "not-a-jwt", handMadeToken("some-other-secret-of-enough-length!!", {
    iss: "demo", aud: "spotdraft-crm-relay", tenant: sandbox.portal, record: "1001", iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60,
  })]) {
    const reply = await api(relay, "GET", path, { bearer });
    assert.equal(reply.status, 401, `${bearer}: ${JSON.stringify(reply.json)}`);
    assert.equal(reply.json.error.code, "unauthorized");
  }
});

test("an expired token is refused", async () => {
  const now = Math.floor(Date.now() / 1000);
  const expired = handMadeToken(SECRETS.uat, { iss: "demo", aud: "spotdraft-crm-relay", tenant: sandbox.portal, record: "1001", iat: now - 900, exp: now - 600 });
  const reply = await api(relay, "GET", path, { bearer: expired });
  assert.equal(reply.status, 401);
  assert.match(reply.json.error.message, /expired/);
});

test("alg none is refused", async () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: "demo", aud: "spotdraft-crm-relay", tenant: sandbox.portal, record: "1001", iat: now, exp: now + 60 };
  const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
  assert.equal((await api(relay, "GET", path, { bearer: none })).status, 401);
});

test("a token for deal A cannot read or create for deal B", async () => {
  const bearer = token(sandbox, "1002");
  assert.equal((await api(relay, "GET", path, { bearer })).status, 401);
  const create = await api(relay, "POST", path, { bearer, body: { templateId: sandbox.uat.templates[0].id, deal: { id: "1001", name: "x" } } });
  assert.equal(create.status, 401);
  // A body naming another deal changes nothing: the relay maps the path's deal, read from the CRM.
  const mismatched = await api(relay, "POST", "/api/uat/deals/1002/preview", { bearer, body: { templateId: 1101, deal: { id: "1001", name: "x", stage: "contractsent" } } });
  assert.equal(mismatched.status, 200, JSON.stringify(mismatched.json));
  assert.equal(mismatched.json.request?.external_metadata?.id ?? mismatched.json.problems?.length, `hubspot:${sandbox.portal}:deal:1002`);
});

test("a token for another tenant or another environment is refused", async () => {
  assert.equal((await api(relay, "GET", path, { bearer: token(sandbox, "1001", { tenant: "99999" }) })).status, 401);
  assert.equal((await api(relay, "GET", path, { bearer: token(sandbox, "1001", { environment: "production" }) })).status, 401);
});

test("nothing but the sidebar routes is reachable", async () => {
  const bearer = token(sandbox, "1001");
  for (const [method, route] of [["GET", "/api/uat/contracts"], ["GET", "/api/v2.1/public/templates/"], ["DELETE", path], ["GET", "/api/staging/deals/1001/contracts"], ["GET", "/"]]) {
    const reply = await api(relay, method, route, { bearer });
    assert.ok([404, 405].includes(reply.status), `${method} ${route} → ${reply.status}`);
  }
});

test("the relay refuses configurations that share secrets between environments", () => {
  const config = relayConfig(sandbox);
  config.environments.production.spotdraft = { ...config.environments.uat.spotdraft };
  assert.throws(() => new SdxRelay(config), (error) => {
    assert.equal(error.code, "invalid_config");
    assert.ok(error.problems.some((p) => /must not share/.test(p.message)), JSON.stringify(error.problems));
    return true;
  });
});

test("CORS is granted only to configured origins", async () => {
  const allowed = await fetch(`${relay.url}${path}`, { method: "OPTIONS", headers: { origin: "http://127.0.0.1:5173" } });
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers.get("access-control-allow-origin"), "http://127.0.0.1:5173");
  const other = await fetch(`${relay.url}${path}`, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
});

test("log lines never carry tokens or secrets", () => {
  const text = relay.lines.join("\n");
  assert.ok(relay.lines.length > 5);
  for (const secret of [SECRETS.uat, sandbox.uat.client_secret, sandbox.uat.hmac_key, sandbox.info.crm.bearer_token, "eyJ"]) {
    assert.ok(!text.includes(secret), `log contains ${secret.slice(0, 6)}…`);
  }
  for (const line of relay.lines) JSON.parse(line);
});


test("HubSpot app card calls are verified by their v3 signature and scoped to portal and deal", async () => {
  const secret = "uat-hubspot-app-client-secret";
  const url = `${relay.url}/api/uat/deals/1001/contracts?portalId=${sandbox.portal}&userId=77`;
  const ok = await fetch(url, { headers: hubspotHeaders(secret, "GET", url, "") });
  assert.equal(ok.status, 200, await ok.clone().text());
  const tampered = await fetch(url.replace("1001", "1002"), { headers: hubspotHeaders(secret, "GET", url, "") });
  assert.equal(tampered.status, 401, "the signature covers the URL");
  const stale = await fetch(url, { headers: hubspotHeaders(secret, "GET", url, "", Date.now() - 6 * 60 * 1000) });
  assert.equal(stale.status, 401, "older than five minutes");
  const wrongSecret = await fetch(url, { headers: hubspotHeaders("production-hubspot-app-client-secret", "GET", url, "") });
  assert.equal(wrongSecret.status, 401);
  const otherPortal = `${relay.url}/api/uat/deals/1001/contracts?portalId=1&userId=77`;
  assert.equal((await fetch(otherPortal, { headers: hubspotHeaders(secret, "GET", otherPortal, "") })).status, 401);
});

test("the HubSpot card gets a short-lived session for the full sidebar, bound to its deal", async () => {
  const secret = "uat-hubspot-app-client-secret";
  const url = `${relay.url}/api/uat/deals/1001/session?portalId=${sandbox.portal}&userId=77`;
  const reply = await fetch(url, { method: "POST", headers: hubspotHeaders(secret, "POST", url, "") });
  assert.equal(reply.status, 200);
  const session = await reply.json();
  assert.ok(session.expiresAt > Date.now() / 1000);
  assert.equal((await api(relay, "GET", path, { bearer: session.token })).status, 200);
  assert.equal((await api(relay, "GET", "/api/uat/deals/1002/contracts", { bearer: session.token })).status, 401, "bound to deal 1001");
  const fromDemo = await api(relay, "POST", "/api/uat/deals/1001/session", { bearer: token(sandbox, "1001") });
  assert.equal(fromDemo.status, 401, "only HubSpot-signed calls get sessions");
  // The probe from the issue: a relay-minted session (host "hubspot", the relay's own signature) must
  // not mint the next one, or a session would renew itself for ever.
  const renewed = await api(relay, "POST", "/api/uat/deals/1001/session", { bearer: session.token });
  assert.equal(renewed.status, 401, JSON.stringify(renewed.json));
  assert.match(renewed.json.error.message, /never by a token/);
});

test("hosts without record data read the canonical deal through the relay", async () => {
  const reply = await api(relay, "GET", "/api/uat/deals/1001", { bearer: token(sandbox, "1001") });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  assert.equal(reply.json.id, "1001");
  assert.equal(reply.json.stage, "contractsent");
  assert.equal(reply.json.closeDate, "2026-12-15");
  assert.equal(reply.json.account.name, "acme   widgets, inc.");
  assert.equal(reply.json.account.address.countryIsoCode, "US");
  assert.equal(reply.json.primaryContact.email, "avery.stone@acme.example");
  assert.equal((await api(relay, "GET", "/api/uat/deals/1002", { bearer: token(sandbox, "1001") })).status, 401);
  assert.equal((await api(relay, "GET", "/api/uat/deals/999999", { bearer: token(sandbox, "999999") })).status, 404);
});
