// The Zoho CRM widget in Chromium, as built (scripts/build-zoho-widget.mjs into a temporary folder):
// its widget.html on http://localhost:PORT plays the Zoho-hosted page, with a FAKE `ZOHO` global
// standing in for Zoho's SDK (the request for Zoho's CDN script is answered in the browser with the
// fake; nothing leaves loopback, and any other request off loopback fails the test). The sidebar it
// frames is a page on another origin, http://127.0.0.1:PORT (the "relay"), that runs the sidebar's
// early start (early.js) and connectToParent, as handshake.test.mjs does.
//
// The fake SDK has what the widget uses of Zoho's: embeddedApp.on/init (PageLoad after init),
// CRM.FUNCTIONS.execute → { code, details: { output: "<json>" } } (the Deluge function's answer),
// CRM.UI.Resize, CRM.UI.Popup.showMessage, and a way to fire events (ContextUpdate, PageLoad again).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_PATH, launchChromium } from "../support/chromium.mjs";
import { hs256, nowSeconds } from "./support.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const skip = existsSync(CHROMIUM_PATH) ? false : `no Chromium at ${CHROMIUM_PATH}`;
const SDK_URL = "https://live.zwidgets.com/js-sdk/1.5/ZohoEmbededAppSDK.min.js";
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css" };
const DEAL_ID = "3000000032096";
const TENANT = "60012345";

let server;
let port;
let browser;
let scratch;
let built;

const widgetOrigin = () => `http://localhost:${port}`;
const relayOrigin = () => `http://127.0.0.1:${port}`;

/** The page the widget frames: the sidebar's early start, then connectToParent from the module. */
const sidebarPage = (hostOrigin) => `<!doctype html><meta charset="utf-8"><title>sidebar</title>
<script type="module" src="/www/sidebar/early.js"></script>
<script type="module">
  import { connectToParent } from "/www/sidebar/hosts/connection.js";
  window.changes = [];
  window.connected = connectToParent({ allowedOrigins: [${JSON.stringify(hostOrigin)}] }).then((host) => {
    window.host = host;
    host.on("record.changed", (payload) => window.changes.push(payload));
    return { context: host.context, origin: host.origin };
  }, (error) => ({ failed: error.code }));
</script>`;

/** Zoho's SDK as the widget uses it, answering from `scenario`; every call is recorded in window.zohoCalls. */
const fakeSdk = (scenario) => `(() => {
  const scenario = ${JSON.stringify(scenario)};
  const handlers = {};
  const calls = (window.zohoCalls = { order: [], execute: [], resize: [], messages: [] });
  window.zohoFire = (name, data) => handlers[name] && handlers[name](data);
  window.ZOHO = {
    embeddedApp: {
      on(name, handler) { calls.order.push("on:" + name); handlers[name] = handler; },
      init() {
        calls.order.push("init");
        setTimeout(() => handlers.PageLoad && handlers.PageLoad(scenario.page), 5);
        return Promise.resolve();
      },
    },
    CRM: {
      FUNCTIONS: {
        execute(name, request) {
          calls.execute.push({ name, request });
          const output = scenario.outputs[Math.min(calls.execute.length, scenario.outputs.length) - 1];
          return Promise.resolve({ code: "success", details: { output: JSON.stringify(output), output_type: "string", id: "1" }, message: "function executed successfully" });
        },
      },
      UI: {
        Resize(size) { calls.resize.push(size); return Promise.resolve(true); },
        Popup: { showMessage(message) { calls.messages.push(message); return Promise.resolve(true); } },
      },
    },
  };
})();`;

/** What the Deluge function answers: a token for the deal, and where the relay is. */
function session(n, overrides = {}) {
  const iat = nowSeconds();
  return {
    token: hs256({ iss: "zoho", aud: "spotdraft-crm-relay", tenant: TENANT, record: DEAL_ID, sub: "sam@seller.example", iat, exp: iat + 300, n }),
    expiresAt: iat + 300 + n,
    relayUrl: `${relayOrigin()}/`,
    environment: "uat",
    tenant: TENANT,
    ...overrides,
  };
}

/**
 * Opens the built widget.html with Zoho's SDK faked from `scenario` (null: the CDN fails). Requests
 * anywhere but loopback are refused and recorded in `offLoopback`.
 */
async function openWidget(scenario) {
  const page = await browser.newPage();
  const offLoopback = [];
  // Init scripts run in every frame: window.open is recorded, never opened.
  await page.addInitScript(() => {
    window.opened = [];
    window.open = (url, target, features) => {
      window.opened.push({ url: String(url), target, features });
      return null;
    };
  });
  await page.route(() => true, (route) => {
    const url = new URL(route.request().url());
    if (url.href === SDK_URL) {
      return scenario ? route.fulfill({ status: 200, contentType: "text/javascript", body: fakeSdk(scenario) }) : route.abort("connectionrefused");
    }
    if (url.protocol === "http:" && ["localhost", "127.0.0.1"].includes(url.hostname) && url.port === String(port)) return route.continue();
    offLoopback.push(url.href);
    return route.abort("blockedbyclient");
  });
  await page.goto(`${widgetOrigin()}/app/widget.html`);
  return { page, offLoopback };
}

async function sidebarFrame(page) {
  const frame = await (await page.waitForSelector("iframe.sidebar")).contentFrame();
  await frame.waitForFunction(() => window.connected !== undefined);
  return frame;
}

/** The message the widget shows instead of the sidebar. */
async function shownError(page) {
  await page.waitForFunction(() => document.getElementById("spotdraft-status")?.getAttribute("role") === "alert");
  return page.evaluate(() => ({
    text: document.getElementById("spotdraft-status").textContent,
    hidden: document.getElementById("spotdraft-status").hidden,
    frames: document.querySelectorAll("iframe").length,
    executed: window.zohoCalls?.execute.length ?? 0,
  }));
}

before(async () => {
  if (skip) return;
  scratch = mkdtempSync(join(tmpdir(), "zoho-widget-browser-"));
  const run = spawnSync(process.execPath, [join(root, "scripts/build-zoho-widget.mjs"), "--out", join(scratch, "zoho-widget")], { cwd: root, encoding: "utf8" });
  assert.equal(run.status, 0, `the widget builds:\n${run.stdout}\n${run.stderr}`);
  built = join(scratch, "zoho-widget/app");

  server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://x");
    const send = (status, body, type = "text/plain") => response.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
    if (url.pathname === "/sidebar/index.html") return send(200, sidebarPage(widgetOrigin()), TYPES[".html"]);
    let base;
    let file;
    if (url.pathname.startsWith("/app/")) {
      base = built;
      file = normalize(join(built, url.pathname.slice("/app/".length)));
    } else if (url.pathname.startsWith("/www/sidebar/")) {
      base = join(root, "www/sidebar");
      file = normalize(join(root, url.pathname));
    }
    if (!base || !file.startsWith(base)) return send(404, "not found");
    try {
      return send(200, await readFile(file), TYPES[extname(file)] ?? "application/octet-stream");
    } catch {
      return send(404, "not found");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = server.address().port;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("the widget frames the relay's sidebar page for the deal and inits it with the Deluge function's session", { skip }, async () => {
  const outputs = [session(1), session(2)];
  const { page, offLoopback } = await openWidget({ page: { Entity: "Deals", EntityId: DEAL_ID }, outputs });
  try {
    const frame = await sidebarFrame(page);
    const { context, origin, failed } = await frame.evaluate(() => window.connected);
    assert.equal(failed, undefined, `the sidebar connected (${failed})`);
    assert.equal(origin, widgetOrigin(), "its parent is the widget page");
    assert.deepEqual(context, {
      protocol: 1,
      host: "zoho",
      environment: "uat",
      relayUrl: relayOrigin(),
      tenant: TENANT,
      deal: { id: DEAL_ID, name: null },
      theme: "light",
      session: { token: outputs[0].token, expiresAt: outputs[0].expiresAt },
    });
    const src = new URL(await page.getAttribute("iframe.sidebar", "src"));
    assert.equal(`${src.origin}${src.pathname}`, `${relayOrigin()}/sidebar/index.html`);
    assert.deepEqual(Object.fromEntries(src.searchParams), { host: "zoho", env: "uat" });
    assert.equal(await frame.evaluate(() => window.sdxEarly.hello), true, "early.js says hello for ?host=zoho");

    const calls = await page.evaluate(() => window.zohoCalls);
    assert.ok(calls.order.indexOf("on:PageLoad") !== -1 && calls.order.indexOf("on:PageLoad") < calls.order.indexOf("init"), `PageLoad registered before init: ${calls.order}`);
    assert.equal(calls.execute.length, 1, "one session for the init");
    assert.equal(calls.execute[0].name, "spotdraft_relay_token");
    assert.deepEqual(JSON.parse(calls.execute[0].request.arguments), { deal_id: DEAL_ID });
    await page.waitForFunction(() => document.getElementById("spotdraft-status").hidden);
    assert.deepEqual(offLoopback, [], "nothing but loopback and the faked SDK was requested");
  } finally {
    await page.close();
  }
});

test("session.refresh runs the Deluge function again; resize, toast, openUrl and record changes reach Zoho and the sidebar", { skip }, async () => {
  const outputs = [session(1), session(2), session(3)];
  const { page } = await openWidget({ page: { Entity: "Deals", EntityId: DEAL_ID }, outputs });
  try {
    const frame = await sidebarFrame(page);
    assert.equal((await frame.evaluate(() => window.connected)).context.session.token, outputs[0].token);

    const refreshed = await frame.evaluate(() => window.host.refreshSession());
    assert.deepEqual(refreshed, { token: outputs[1].token, expiresAt: outputs[1].expiresAt });
    let calls = await page.evaluate(() => window.zohoCalls);
    assert.equal(calls.execute.length, 2, "the function ran again");
    assert.deepEqual(JSON.parse(calls.execute[1].request.arguments), { deal_id: DEAL_ID });

    await frame.evaluate(() => window.host.resize(612.4));
    await page.waitForFunction(() => window.zohoCalls.resize.length === 1);
    calls = await page.evaluate(() => window.zohoCalls);
    assert.equal(calls.resize[0].height, 613);
    assert.equal(await page.$eval("iframe.sidebar", (frameElement) => frameElement.style.height), "613px");

    await frame.evaluate(() => window.host.toast("success", "Contract created"));
    await page.waitForFunction(() => window.zohoCalls.messages.length === 1);
    assert.deepEqual((await page.evaluate(() => window.zohoCalls)).messages, [{ type: "success", message: "Contract created" }]);

    await frame.evaluate(() => window.host.openUrl("https://app.spotdraft.com/contracts/v2/7"));
    await page.waitForFunction(() => window.opened.length === 1);
    assert.deepEqual(await page.evaluate(() => window.opened), [{ url: "https://app.spotdraft.com/contracts/v2/7", target: "_blank", features: "noopener" }]);

    // Zoho says the record changed (ContextUpdate, or PageLoad again for the same deal): the sidebar is
    // told, with the id only; no new session, no new frame.
    await page.evaluate(() => window.zohoFire("ContextUpdate", {}));
    await page.evaluate((id) => window.zohoFire("PageLoad", { Entity: "Deals", EntityId: id }), DEAL_ID);
    await frame.waitForFunction(() => window.changes.length === 2);
    assert.deepEqual(await frame.evaluate(() => window.changes), [{ id: DEAL_ID }, { id: DEAL_ID }]);
    assert.equal((await page.evaluate(() => window.zohoCalls)).execute.length, 2);
    assert.equal(await page.evaluate(() => document.querySelectorAll("iframe").length), 1);
  } finally {
    await page.close();
  }
});

test("another module, two records, or no record: a clear message instead of the sidebar, and no session asked for", { skip }, async () => {
  for (const [pageLoad, expected] of [
    [{ Entity: "Leads", EntityId: "5" }, /SpotDraft works on deals: add this widget to the Deals module \(this page is Leads\)/],
    [{ Entity: "Deals", EntityId: [DEAL_ID, "3000000032101"] }, /one deal at a time, and Zoho named 2/],
    [{ Entity: "Deals", EntityId: [] }, /one deal at a time, and Zoho named 0/],
    [{ Entity: "Deals", EntityId: "javascript:alert(1)" }, /did not name a deal/],
  ]) {
    const { page } = await openWidget({ page: pageLoad, outputs: [session(1)] });
    try {
      const shown = await shownError(page);
      assert.match(shown.text, expected, JSON.stringify(pageLoad));
      assert.equal(shown.hidden, false);
      assert.equal(shown.frames, 0, "no sidebar frame");
      assert.equal(shown.executed, 0, "the Deluge function is not run");
    } finally {
      await page.close();
    }
  }
});

test("a Deluge error, an org not set up, or Zoho's SDK missing: the reason is shown, no frame", { skip }, async () => {
  for (const [scenario, expected] of [
    [{ outputs: [{ error: "this deal cannot be read" }] }, /SpotDraft could not start: this deal cannot be read/],
    [{ outputs: [session(1, { relayUrl: "http://relay.example.com" })] }, /spotdraft_relay_url variable must be the relay's https URL/],
    [{ outputs: [session(1, { environment: "staging" })] }, /spotdraft_environment variable must be uat or production/],
    [{ outputs: [session(1, { token: undefined })] }, /did not return a session/],
    [null, /Zoho's widget SDK did not load/],
  ]) {
    const { page } = await openWidget(scenario && { page: { Entity: "Deals", EntityId: DEAL_ID }, ...scenario });
    try {
      const shown = await shownError(page);
      assert.match(shown.text, expected);
      assert.equal(shown.frames, 0, "no sidebar frame");
    } finally {
      await page.close();
    }
  }
});
