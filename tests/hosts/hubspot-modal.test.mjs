// The sidebar page inside HubSpot's iframe modal: session from the URL fragment (then removed from
// the address bar), the deal id from the query (the core reads the deal through the relay), nothing
// accepted without both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../../www/sidebar/hosts/hubspot.js";

function fakeWindow(href, answer = { status: 200, body: { id: "1001", name: "Acme" } }) {
  const url = new URL(href);
  const calls = [];
  const win = {
    location: { search: url.search, hash: url.hash, pathname: url.pathname },
    history: { replaceState: (state, title, next) => { win.replaced = next; } },
    fetch: async (target, options) => {
      calls.push({ target, options });
      return new Response(JSON.stringify(answer.body), { status: answer.status });
    },
    open: (target) => calls.push({ opened: target }),
  };
  return { win, calls };
}

const PAGE = "https://sidebar.example.com/sidebar/index.html?host=hubspot&env=uat&dealId=1001&portalId=4411223";

test("takes the session from the fragment, clears it, and hands the core only the deal id", async () => {
  const { win, calls } = fakeWindow(`${PAGE}#token=tok.en.sig&expiresAt=1900000000`);
  const host = await connect({ env: "uat", relayUrl: "https://relay.example.com/", win });
  assert.equal(win.replaced, "/sidebar/index.html?host=hubspot&env=uat&dealId=1001&portalId=4411223", "the token leaves the address bar");
  assert.equal(calls.length, 0, "the adapter reads nothing: the core reads the deal with this session");
  assert.deepEqual(host.context.deal, { id: "1001", name: null });
  assert.equal(host.context.session.token, "tok.en.sig");
  assert.equal(host.context.relayUrl, "https://relay.example.com");
  assert.equal(host.context.session.expiresAt, 1900000000);
  await assert.rejects(host.refreshSession(), (error) => error.code === "UNSUPPORTED");
  host.openUrl("javascript:alert(1)");
  host.openUrl("https://app.spotdraft.com/contracts/v2/7");
  assert.deepEqual(calls.filter((c) => c.opened).map((c) => c.opened), ["https://app.spotdraft.com/contracts/v2/7"]);
});

test("refuses to start without a session, a deal id or an environment", async () => {
  for (const href of [PAGE, PAGE.replace("dealId=1001", "dealId=../x") + "#token=t", PAGE.replace("env=uat", "env=staging") + "#token=t"]) {
    const { win } = fakeWindow(href);
    await assert.rejects(connect({ env: new URL(href).searchParams.get("env"), relayUrl: "https://relay.example.com", win }), (error) => error.code === "BAD_REQUEST");
  }
});

test("a session cannot be renewed from the modal: it says to reopen from the card", async () => {
  const { win } = fakeWindow(`${PAGE}#token=old&expiresAt=1`);
  const host = await connect({ env: "uat", relayUrl: "https://relay.example.com", win });
  await assert.rejects(host.refreshSession(), (error) => error.code === "UNSUPPORTED" && /reopen/.test(error.message));
});
