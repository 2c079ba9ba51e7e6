// The Pipedrive panel adapter, driven through the real @pipedrive/app-extensions-sdk (its UMD build, the
// file a panel page loads) against a fake Pipedrive parent window that answers the SDK's wire format:
// { payload: { command, args, type }, id } posted to the parent with a transferred MessagePort, the
// answer { data } | { error } on that port; listeners keep their port for events.

import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

import { connect, dealIdFrom, tokenClaims } from "../../www/sidebar/hosts/pipedrive.js";
import { fakeWindow, hs256, nowSeconds, recordingFetch } from "./support.mjs";

const require = createRequire(import.meta.url);
const AppExtensionsSDK = require("@pipedrive/app-extensions-sdk/dist/index.umd.js");

const DEAL = { id: "42", name: "Acme renewal", amount: 12000, currency: "EUR", stage: "contract", account: { id: "9", name: "Acme GmbH" } };
const RELAY = "https://relay.example";
const ports = [];

afterEach(() => {
  for (const port of ports.splice(0)) port.close();
  delete globalThis.window;
});

/** Pipedrive's side of the SDK protocol. */
function fakePipedrive({ token = () => hs256({ userId: 7, companyId: 4411, iat: nowSeconds(), exp: nowSeconds() + 300 }) } = {}) {
  const parent = {
    messages: [],
    commands: [],
    listeners: new Map(),
    postMessage(message, targetOrigin, transfer = []) {
      parent.messages.push({ message, targetOrigin });
      const port = transfer[0];
      if (port) ports.push(port);
      const payload = message.payload;
      if (payload.type === "command") {
        parent.commands.push({ command: payload.command, args: payload.args, id: message.id });
        const answers = { get_signed_token: () => ({ token: token() }) };
        port.postMessage({ data: answers[payload.command]?.() });
      } else if (payload.type === "listener") {
        parent.listeners.set(payload.event, port);
      }
    },
    emit(event, data) {
      parent.listeners.get(event).postMessage({ data });
    },
  };
  return parent;
}

function setup({ search = "?id=panel-1&selectedIds=42&resource=deal&theme=dark", ancestor = "https://acme.pipedrive.com", route, parent = fakePipedrive() } = {}) {
  const relay = recordingFetch(route ?? ((url) => (url.endsWith("/api/uat/deals/42") ? { body: DEAL } : { status: 404, body: {} })));
  const win = fakeWindow({ search, ancestor, parent, fetch: relay.fetch });
  globalThis.window = win; // the SDK reads window.location and window.addEventListener itself
  return { win, parent, relay };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

test("initialises through the real SDK and hands the core the deal id and Pipedrive's signed token", async () => {
  const { win, parent, relay } = setup();
  const host = await connect({ env: "uat", relayUrl: RELAY, win, SDK: AppExtensionsSDK });

  assert.equal(parent.commands[0].command, "initialize");
  assert.equal(parent.commands[0].id, "panel-1");
  assert.deepEqual(parent.commands[1], { command: "get_signed_token", args: undefined, id: "panel-1" });
  assert.ok(parent.messages.every((m) => m.message.id === "panel-1"));

  assert.equal(relay.calls.length, 0, "the adapter reads nothing: the core reads the deal from the relay");
  assert.match(host.context.session.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  assert.equal(host.context.protocol, 1);
  assert.equal(host.context.host, "pipedrive");
  assert.equal(host.context.environment, "uat");
  assert.equal(host.context.relayUrl, RELAY);
  assert.equal(host.context.tenant, "4411");
  assert.deepEqual(host.context.user, { id: "7" });
  assert.deepEqual(host.context.deal, { id: "42", name: null }, "only the id: Pipedrive gives a panel no record data");
  assert.equal(host.context.theme, "dark");
  assert.ok(host.context.session.expiresAt > nowSeconds());
});

test("refuses to run inside a page that is not Pipedrive, before talking to it", async () => {
  const { win, parent } = setup({ ancestor: "https://evil.example" });
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win, SDK: AppExtensionsSDK }), { code: "DENIED" });
  assert.equal(parent.messages.length, 0);
  const lookalike = setup({ ancestor: "https://pipedrive.com.evil.example" });
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win: lookalike.win, SDK: AppExtensionsSDK }), { code: "DENIED" });
});

test("needs exactly one valid deal id in selectedIds", async () => {
  assert.equal(dealIdFrom("?selectedIds=17"), "17");
  for (const search of ["", "?selectedIds=", "?selectedIds=1,2", "?selectedIds=../x", "?selectedIds=%3Cimg%3E"]) {
    assert.throws(() => dealIdFrom(search), { code: "BAD_REQUEST" }, search);
  }
  const { win, parent } = setup({ search: "?id=panel-1&selectedIds=1,2" });
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win, SDK: AppExtensionsSDK }), { code: "BAD_REQUEST" });
  assert.equal(parent.messages.length, 0);
});

test("refuses a relay that is not https (loopback allowed for the sandbox)", async () => {
  const { win } = setup();
  await assert.rejects(connect({ env: "uat", relayUrl: "http://relay.example", win, SDK: AppExtensionsSDK }), { code: "BAD_REQUEST" });
  await assert.rejects(connect({ env: "staging", relayUrl: RELAY, win, SDK: AppExtensionsSDK }), { code: "BAD_REQUEST" });
});

test("resize is clamped to Pipedrive's panel range; toast is a snackbar; openUrl opens https only", async () => {
  const { win, parent } = setup();
  const host = await connect({ env: "uat", relayUrl: RELAY, win, SDK: AppExtensionsSDK });
  host.resize(480.4);
  host.resize(5000);
  host.resize(10);
  host.resize(Number.NaN);
  host.toast("success", "Contract created");
  await tick();
  const sent = parent.commands.slice(2).map(({ command, args }) => ({ command, args }));
  assert.deepEqual(sent, [
    { command: "resize", args: { height: 480 } },
    { command: "resize", args: { height: 750 } },
    { command: "resize", args: { height: 100 } },
    { command: "show_snackbar", args: { message: "Contract created" } },
  ]);

  host.openUrl("javascript:alert(1)");
  host.openUrl("http://app.spotdraft.com/contracts/v2/1");
  host.openUrl("https://app.spotdraft.com/contracts/v2/1");
  assert.deepEqual(win.opened, [{ url: "https://app.spotdraft.com/contracts/v2/1", target: "_blank", features: "noopener" }]);
});

test("refreshSession asks Pipedrive for a new signed token", async () => {
  let n = 0;
  const parent = fakePipedrive({ token: () => hs256({ userId: 7, companyId: 4411, iat: nowSeconds(), exp: nowSeconds() + 300 + ++n }) });
  const { win } = setup({ parent });
  const host = await connect({ env: "uat", relayUrl: RELAY, win, SDK: AppExtensionsSDK });
  const first = host.context.session;
  const next = await host.refreshSession();
  assert.notEqual(next.token, first.token);
  assert.equal(next.expiresAt, tokenClaims(next.token).exp);
  assert.equal(parent.commands.filter((c) => c.command === "get_signed_token").length, 2);
});

test("visibility events reach the shell; a panel shown again after being hidden says the record may have changed", async () => {
  const { win, parent, relay } = setup();
  const host = await connect({ env: "uat", relayUrl: RELAY, win, SDK: AppExtensionsSDK });
  const seen = [];
  host.on("visibility", (p) => seen.push(["visibility", p]));
  host.on("record.changed", (p) => seen.push(["record.changed", p]));
  host.on("theme.changed", (p) => seen.push(["theme.changed", p]));

  parent.emit("visibility", { is_visible: true });
  await tick();
  parent.emit("visibility", { is_visible: false });
  await tick();
  parent.emit("visibility", { is_visible: true });
  await tick();
  parent.emit("visibility", { is_visible: true });
  await tick();
  parent.emit("user_settings_change", { theme: "light" });
  await tick();

  // Pipedrive has no record-changed event: the core re-reads the deal (and contracts) when told.
  assert.deepEqual(seen, [
    ["visibility", { visible: true }],
    ["visibility", { visible: false }],
    ["visibility", { visible: true }],
    ["record.changed", { id: "42" }],
    ["visibility", { visible: true }],
    ["theme.changed", { theme: "light" }],
  ]);
  assert.equal(relay.calls.length, 0, "the adapter itself never calls the relay");
});

test("without the SDK loaded, connect says so", async () => {
  const { win } = setup();
  // The build places the SDK beside the page; here it is missing on purpose.
  const sdkUrl = new URL("./no-such-sdk.js", import.meta.url).href;
  await assert.rejects(connect({ env: "uat", relayUrl: RELAY, win, sdkUrl }), { code: "NO_HOST" });
});
