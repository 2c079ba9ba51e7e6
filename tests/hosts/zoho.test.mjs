// The Zoho CRM widget adapter against a fake `ZOHO` global shaped like Zoho's embedded-app SDK
// (PageLoad before init, API.getRecord → { data: [record] }, FUNCTIONS.execute → { code, details.output },
// UI.Resize). Zoho's SDK is not on npm in usable form, so the fake stands in for it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { connect } from "../../www/sidebar/hosts/zoho.js";
import { fakeWindow, hs256, nowSeconds } from "./support.mjs";

const RELAY = "https://relay.example";

const DEAL = {
  id: "3000000032096",
  Deal_Name: "Acme renewal",
  Amount: 12000.5,
  Currency: "EUR",
  Stage: "Negotiation/Review",
  Closing_Date: "2026-12-31",
  Owner: { name: "Sam Seller", id: "3000000000101", email: "sam@seller.example" },
  Account_Name: { name: "Acme GmbH", id: "3000000000201" },
  Contact_Name: { name: "Ada Lovelace", id: "3000000000301" },
  Term_Months: 12,
  Billing_Frequency: "Every year",
  Products: ["Core", "Add-on"],
  Description: null,
  $approval: { delegate: false },
  Layout: { id: "1", name: "Standard" },
};
const ACCOUNT = {
  id: "3000000000201", Account_Name: "Acme GmbH", Billing_Street: "1 Main St", Billing_City: "Berlin",
  Billing_State: "BE", Billing_Code: "10115", Billing_Country: "Germany",
};
const CONTACT = { id: "3000000000301", First_Name: "Ada", Last_Name: "Lovelace", Email: "ada@acme.example" };

function fakeZoho({ page = { Entity: "Deals", EntityId: DEAL.id }, records = { Deals: [DEAL], Accounts: [ACCOUNT], Contacts: [CONTACT] }, fn } = {}) {
  const calls = { getRecord: [], execute: [], resize: [], order: [] };
  const handlers = {};
  const zoho = {
    calls,
    handlers,
    embeddedApp: {
      on(event, handler) {
        calls.order.push(`on:${event}`);
        handlers[event] = handler;
      },
      init() {
        calls.order.push("init");
        setTimeout(() => handlers.PageLoad?.(page), 1);
        return Promise.resolve();
      },
    },
    CRM: {
      API: {
        async getRecord(args) {
          calls.getRecord.push(args);
          const record = (records[args.Entity] ?? []).find((r) => r.id === String(args.RecordID));
          if (!record) throw { code: "INVALID_DATA", message: "the related id given seems to be invalid" };
          return { data: [record] };
        },
      },
      FUNCTIONS: {
        async execute(name, args) {
          calls.execute.push({ name, args });
          return fn ? fn(name, args) : {
            code: "success",
            details: {
              output: JSON.stringify({
                token: hs256({ iss: "zoho", aud: "spotdraft-crm-relay", tenant: "60012345", record: DEAL.id, iat: nowSeconds(), exp: nowSeconds() + 300 }),
                expiresAt: nowSeconds() + 300,
                tenant: "60012345",
              }),
              output_type: "string",
            },
            message: "function executed successfully",
          };
        },
      },
      CONFIG: {
        async getCurrentUser() {
          return { users: [{ id: "3000000000101", email: "sam@seller.example", locale: "en_GB" }] };
        },
      },
      UI: {
        async Resize(size) {
          calls.resize.push(size);
          return true;
        },
      },
    },
  };
  return zoho;
}

function setup(options = {}) {
  const win = fakeWindow({ ancestor: options.ancestor ?? "https://crm.zoho.eu" });
  const listeners = {};
  win.document = { referrer: "", visibilityState: "visible", addEventListener: (type, fn) => { listeners[type] = fn; } };
  win.documentListeners = listeners;
  const zoho = fakeZoho(options);
  return { win, zoho };
}

test("PageLoad is registered before init; only the deal id is handed over, no record is read or mapped", async () => {
  const { win, zoho } = setup();
  const host = await connect({ env: "uat", relayUrl: RELAY, win, zoho });
  assert.deepEqual(zoho.calls.order.slice(0, 2), ["on:PageLoad", "init"]);
  // The core reads the deal (account and contact included) from the relay, mapped in Rust like every
  // host's: the widget reads no record and maps nothing.
  assert.deepEqual(zoho.calls.getRecord, []);
  assert.deepEqual(host.context.deal, { id: "3000000032096" });
  assert.equal(host.context.host, "zoho");
  assert.equal(host.context.protocol, 1);
  assert.equal(host.context.environment, "uat");
  assert.equal(host.context.relayUrl, RELAY);
  assert.equal(host.context.tenant, "60012345");
  assert.deepEqual(host.context.user, { id: "3000000000101", email: "sam@seller.example", locale: "en_GB" });
  assert.match(host.context.session.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
});

test("the relay token comes from the Deluge function, asked for this deal", async () => {
  const { win, zoho } = setup();
  const host = await connect({ env: "uat", relayUrl: RELAY, win, zoho });
  assert.equal(zoho.calls.execute[0].name, "spotdraft_relay_token");
  assert.deepEqual(JSON.parse(zoho.calls.execute[0].args.arguments), { deal_id: DEAL.id });
  const next = await host.refreshSession();
  assert.deepEqual(Object.keys(next).sort(), ["expiresAt", "token"]);
  assert.equal(zoho.calls.execute.length, 2);
});

test("a function that fails or answers without a token is a DENIED session", async () => {
  for (const fn of [
    () => ({ code: "failure", details: {}, message: "function failed" }),
    () => ({ code: "success", details: { output: JSON.stringify({ error: "no access to this deal" }) } }),
    () => ({ code: "success", details: { output: "not json" } }),
  ]) {
    const { win, zoho } = setup({ fn });
    await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win, zoho }), { code: "DENIED" });
  }
});

test("button placements send EntityId as an array; only one deal is accepted; other modules are refused", async () => {
  const one = setup({ page: { Entity: "Deals", EntityId: [DEAL.id] } });
  const host = await connect({ env: "uat", relayUrl: RELAY, win: one.win, zoho: one.zoho });
  assert.equal(host.context.deal.id, DEAL.id);

  const two = setup({ page: { Entity: "Deals", EntityId: [DEAL.id, "2"] } });
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win: two.win, zoho: two.zoho }), { code: "BAD_REQUEST" });
  const leads = setup({ page: { Entity: "Leads", EntityId: "5" } });
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win: leads.win, zoho: leads.zoho }), { code: "UNSUPPORTED" });
});

test("refuses to run inside a page that is not Zoho CRM", async () => {
  for (const ancestor of ["https://evil.example", "https://crm.zoho.com.evil.example", "http://crm.zoho.com"]) {
    const { win, zoho } = setup({ ancestor });
    await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win, zoho }), { code: "DENIED" }, ancestor);
    assert.deepEqual(zoho.calls.order, [], "nothing registered with the SDK");
  }
});

test("no PageLoad within the timeout is a HOST_TIMEOUT", async () => {
  const { win, zoho } = setup();
  zoho.embeddedApp.init = () => Promise.resolve();
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win, zoho, timeoutMs: 30 }), { code: "HOST_TIMEOUT" });
});

test("resize goes to ZOHO.CRM.UI.Resize; openUrl opens https only; toast goes to onToast", async () => {
  const { win, zoho } = setup();
  const toasts = [];
  const host = await connect({ env: "uat", relayUrl: RELAY, win, zoho, onToast: (level, message) => toasts.push([level, message]) });
  host.resize(512.6);
  host.resize(-1);
  host.resize(Number.NaN);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(zoho.calls.resize, [{ height: 513, width: 320 }]);
  host.toast("error", "Could not create the contract");
  assert.deepEqual(toasts, [["error", "Could not create the contract"]]);
  host.openUrl("javascript:alert(1)");
  host.openUrl("data:text/html,<script>alert(1)</script>");
  host.openUrl("https://app.spotdraft.com/contracts/v2/7");
  assert.deepEqual(win.opened.map((o) => o.url), ["https://app.spotdraft.com/contracts/v2/7"]);
});

test("ContextUpdate says the record changed, with its id only (the core reads it again); document visibility is forwarded", async () => {
  const { win, zoho } = setup();
  const host = await connect({ env: "uat", relayUrl: RELAY, win, zoho });
  const seen = [];
  host.on("record.changed", (p) => seen.push(["record.changed", p]));
  host.on("visibility", (p) => seen.push(["visibility", p.visible]));
  zoho.handlers.ContextUpdate({});
  win.document.visibilityState = "hidden";
  win.documentListeners.visibilitychange();
  assert.deepEqual(seen, [["record.changed", { id: DEAL.id }], ["visibility", false]]);
  assert.deepEqual(zoho.calls.getRecord, [], "no record read in the browser");
});

test("the Deluge function keeps the secret server-side and mints the relay's claim set", () => {
  const source = readFileSync(new URL("../../www/hosts/zoho/spotdraft_relay_token.deluge", import.meta.url), "utf8");
  for (const claim of ['"iss"', '"aud"', '"tenant"', '"record"', '"sub"', '"iat"', '"exp"']) assert.ok(source.includes(claim), claim);
  assert.ok(source.includes('"spotdraft-crm-relay"'));
  assert.ok(source.includes("hmacsha256"));
  assert.ok(source.includes("deployed in Zoho"));
});

test("without ZOHO on the page, the SDK script is added from sdkUrl and used once loaded", async () => {
  const { win, zoho } = setup();
  const added = [];
  win.document.createElement = (tag) => ({ tag });
  win.document.head = {
    appendChild(script) {
      added.push({ tag: script.tag, src: script.src });
      setTimeout(() => {
        win.ZOHO = zoho;
        script.onload();
      }, 1);
    },
  };
  const host = await connect({ env: "uat", relayUrl: RELAY, win });
  // Served from the sidebar's own origin, never from Zoho's CDN: the page loads no third-party script.
  assert.deepEqual(added, [{ tag: "script", src: new URL("../../www/sidebar/vendor/zoho-embedded-app-sdk.js", import.meta.url).href }]);
  assert.equal(host.context.deal.id, DEAL.id);

  const failing = setup();
  failing.win.document.createElement = () => ({});
  failing.win.document.head = { appendChild: (script) => setTimeout(() => script.onerror(), 1) };
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win: failing.win }), { code: "NO_HOST" });
});
