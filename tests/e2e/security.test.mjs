// The sidebar page's defences in headless Chromium, against the demo stack (whose sidebar origin is
// served by the same handler the relay uses in production): frame-ancestors from the configured CRM
// origins, a sibling frame that tries to drive the sidebar, malformed host messages dropped with a log
// line, links and downloads opened without an opener, and no CSP violation in a normal session.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "../support/chromium.mjs";
import { startDemo } from "../../www/demo/start.js";

let demo;
let browser;
// Two CRM-like pages on their own loopback origins: `listed` is a configured host origin, `foreign` is not.
let listed;
let foreign;

/** A page server whose routes are functions of the request path, answering HTML. */
async function pageServer(routes) {
  const server = createServer(async (request, response) => {
    const route = routes[new URL(request.url, "http://x").pathname];
    if (!route) return response.writeHead(404).end();
    response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    response.end(await route());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

async function demoApi(method, path) {
  const reply = await fetch(`${demo.pageOrigin}/demo-api${path}`, { method });
  assert.equal(reply.status, 200, path);
  return reply.json();
}

/** The init a legitimate host sends: the deal, the relay and a fresh session token for it. */
async function hostContext(dealId) {
  const [{ deal }, session] = await Promise.all([demoApi("GET", `/deals/${dealId}`), demoApi("POST", `/deals/${dealId}/token`)]);
  return { protocol: 1, host: "demo", environment: "uat", relayUrl: demo.relay.url, tenant: demo.portal, deal, theme: "light", session };
}

const sidebarUrl = () => `${demo.sidebarOrigin}/sidebar/index.html?host=demo`;

// The host page: embeds the sidebar and a sibling frame; answers hello with init only after a delay,
// so the sibling has every chance to get in first. Before init it posts two malformed messages.
async function hostPage(siblingUrl) {
  const context = await hostContext("1001");
  // The host listens before its frames exist, so the sidebar's hello surely reaches it.
  return `<!doctype html><meta charset="utf-8"><title>host</title>
    <script>
      window.hostPort = null;
      addEventListener("message", (event) => {
        const sidebar = document.getElementById("sidebar");
        if (event.source !== sidebar?.contentWindow || event.data?.type !== "hello") return;
        sidebar.contentWindow.postMessage({ sdx: 2, kind: "req", id: "s-0", type: "init" }, "${demo.sidebarOrigin}");
        sidebar.contentWindow.postMessage("not an envelope", "${demo.sidebarOrigin}");
        setTimeout(() => {
          const channel = new MessageChannel();
          window.hostPort = channel.port1;
          channel.port1.onmessage = () => {};
          sidebar.contentWindow.postMessage({ sdx: 1, kind: "req", id: "s-init", type: "init", payload: ${JSON.stringify(context)} }, "${demo.sidebarOrigin}", [channel.port2]);
        }, 1500);
      });
    </script>
    <iframe id="sidebar" src="${sidebarUrl()}" width="400" height="500"></iframe>
    <iframe id="sibling" src="${siblingUrl}" width="100" height="100"></iframe>`;
}

// A compromised sibling: finds the sidebar through its parent and posts a complete, valid-looking init
// for another deal (with a real token for it), then host events, over and over.
async function siblingPage() {
  const stolen = await hostContext("1002");
  return `<!doctype html><meta charset="utf-8"><title>sibling</title><script>
    window.answers = 0;
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { window.answers += 1; };
    let sentPort = false;
    setInterval(() => {
      const target = parent.frames[0];
      if (!target) return;
      const init = { sdx: 1, kind: "req", id: "s-init", type: "init", payload: ${JSON.stringify({ ...stolen, theme: "dark" })} };
      if (!sentPort) {
        target.postMessage(init, "*", [channel.port2]);
        sentPort = true;
      } else {
        const spare = new MessageChannel();
        spare.port1.onmessage = () => { window.answers += 1; };
        target.postMessage(init, "*", [spare.port2]);
      }
      target.postMessage({ sdx: 1, kind: "evt", type: "theme.changed", payload: { theme: "dark" } }, "*");
      target.postMessage({ sdx: 1, kind: "evt", type: "record.changed", payload: { deal: ${JSON.stringify(stolen.deal)} } }, "*");
    }, 50);
  </script>`;
}

before(async () => {
  listed = await pageServer({
    "/host-foreign-sibling": () => hostPage(`${foreign.origin}/sibling`),
    "/host-same-origin-sibling": () => hostPage(`${listed.origin}/sibling`),
    "/frame": async () => `<!doctype html><script>window.hello = false; addEventListener("message", (e) => { if (e.data?.type === "hello") window.hello = true; });</script><iframe src="${sidebarUrl()}"></iframe>`,
    "/sibling": siblingPage,
  });
  foreign = await pageServer({
    "/frame": async () => `<!doctype html><script>window.hello = false; addEventListener("message", (e) => { if (e.data?.type === "hello") window.hello = true; });</script><iframe src="${sidebarUrl()}"></iframe>`,
    "/sibling": siblingPage,
  });
  demo = await startDemo({
    pagePort: 0, sidebarPort: 0, relayPort: 0, spotdraftPort: 0, crmPort: 0, stateDir: mkdtempSync(join(tmpdir(), "e2e-security-")),
    log: () => {}, extraHostOrigins: [listed.origin],
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
  for (const site of [listed, foreign]) await new Promise((resolve) => site?.server.close(resolve));
});

test("the sidebar's CSP header lets only the configured CRM origins frame it", async () => {
  const response = await fetch(sidebarUrl());
  const policy = response.headers.get("content-security-policy");
  assert.match(policy, new RegExp(`frame-ancestors ${demo.pageOrigin} ${listed.origin}(;|$)`));
  assert.match(policy, new RegExp(`connect-src 'self' ${demo.relay.url}(;|$)`));
  assert.doesNotMatch(policy, /unsafe-inline|'unsafe-eval'/);

  const context = await browser.newContext();
  const allowed = await context.newPage();
  await allowed.goto(`${listed.origin}/frame`);
  await allowed.waitForFunction(() => window.hello === true, null, { timeout: 15_000 });

  const blocked = await context.newPage();
  const violations = [];
  blocked.on("console", (message) => violations.push(message.text()));
  await blocked.goto(`${foreign.origin}/frame`);
  await blocked.waitForTimeout(2_000);
  assert.equal(await blocked.evaluate(() => window.hello), false, "a page on an unlisted origin never gets the sidebar");
  const frame = blocked.frames().find((f) => f !== blocked.mainFrame());
  assert.ok(!frame || !frame.url().startsWith(demo.sidebarOrigin) || (await frame.locator("main").count().catch(() => 0)) === 0, "the sidebar document did not load");
  assert.ok(violations.some((text) => /frame-ancestors/.test(text)), `Chromium reports the frame-ancestors refusal: ${violations.join(" | ")}`);
  await context.close();
});

for (const [name, path] of [["another origin", "/host-foreign-sibling"], ["the host's own origin", "/host-same-origin-sibling"]]) {
  test(`a sibling frame on ${name} cannot drive the sidebar; malformed host messages are dropped with a log line`, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const logs = [];
    page.on("console", (message) => logs.push(message.text()));
    const relayCalls = [];
    page.on("request", (request) => {
      if (request.url().startsWith(demo.relay.url)) relayCalls.push(new URL(request.url()).pathname);
    });
    await page.goto(`${listed.origin}${path}`);
    const sidebar = await (await page.waitForSelector("#sidebar")).contentFrame();
    const sibling = await (await page.waitForSelector("#sibling")).contentFrame();
    // The legitimate host's init arrives after 1.5 s; the sidebar then shows deal 1001's contracts.
    await sidebar.waitForFunction(() => document.querySelector("main")?.getAttribute("aria-busy") === "false" && document.querySelector("h1"), null, { timeout: 15_000 });
    await page.waitForTimeout(1_000); // the sibling keeps posting all along
    assert.ok(relayCalls.some((p) => p.includes("/deals/1001/")), `the sidebar works for the host's deal: ${relayCalls.join(", ")}`);
    assert.deepEqual(relayCalls.filter((p) => p.includes("/deals/1002")), [], "nothing for the sibling's deal");
    assert.equal(await sidebar.evaluate(() => document.documentElement.classList.contains("theme-dark")), false, "the sibling's theme event was ignored");
    assert.equal(await sibling.evaluate(() => window.answers), 0, "the sidebar never answered the sibling");
    assert.ok(logs.some((text) => /sdx\/1: dropped a malformed message on the window \(kind=req/.test(text)), `log line for the wrong version: ${logs.join(" | ")}`);
    assert.ok(logs.some((text) => /sdx\/1: dropped a malformed message on the window \(string\)/.test(text)), "log line for a non-object");
    // After init only the port counts: a malformed message on it is dropped and logged too.
    await page.evaluate(() => window.hostPort.postMessage({ sdx: 1, kind: "evt" }));
    const portLine = () => logs.some((text) => /dropped a malformed message on the port/.test(text));
    for (const deadline = Date.now() + 5_000; !portLine() && Date.now() < deadline;) await page.waitForTimeout(20);
    assert.ok(portLine(), "log line for the port");
    assert.ok(!logs.join("\n").includes("eyJ"), "no token in the console");
    await context.close();
  });
}

test("links and downloads open without an opener, and a normal session triggers no CSP violation", async () => {
  const nda = demo.sandbox.info.workspaces.find((w) => w.name === "uat").templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  const { deal, session } = await hostContext("1004");
  // The relay maps the deal as the CRM has it: move it to a stage that allows a contract there.
  const moved = await fetch(`${demo.sandbox.crm}/crm/v3/objects/deals/1004`, {
    method: "PATCH", headers: { authorization: `Bearer ${demo.sandbox.info.crm.bearer_token}`, "content-type": "application/json" },
    body: JSON.stringify({ properties: { dealstage: "contractsent", closedate: deal.closeDate ?? "2026-12-31" } }),
  });
  assert.equal(moved.status, 200, await moved.clone().text());
  const created = await fetch(`${demo.relay.url}/api/uat/deals/1004/contracts`, {
    method: "POST", headers: { authorization: `Bearer ${session.token}`, "content-type": "application/json" },
    body: JSON.stringify({ templateId: nda }),
  });
  assert.ok([200, 201].includes(created.status), await created.clone().text());
  const { contract } = await created.json();
  for (const to of ["REDLINING", "SIGN", "EXECUTED"]) {
    const moved = await fetch(`${demo.sandbox.spotdraft}/__sandbox/contracts/${contract.id}/transition`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ to }) });
    assert.equal(moved.status, 200, `${to}: ${await moved.text()}`);
  }

  const context = await browser.newContext();
  await context.route("https://app.spotdraft.com/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<title>SpotDraft</title>" }));
  const page = await context.newPage();
  const consoleLines = [];
  page.on("console", (message) => consoleLines.push(message.text()));
  await page.goto(`${demo.url}?deal=1004`);
  const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
  await frame.waitForFunction(() => document.querySelector(".contract .pill")?.textContent === "Executed", null, { timeout: 15_000 });

  const link = frame.getByRole("link", { name: "Open in SpotDraft" });
  assert.match(await link.getAttribute("rel"), /\bnoopener\b/);
  assert.match(await link.getAttribute("href"), /^https:\/\/app\.spotdraft\.com\/contracts\//);
  const [popup] = await Promise.all([context.waitForEvent("page"), link.click()]);
  await popup.waitForLoadState();
  assert.equal(await popup.evaluate(() => window.opener === null), true, "the SpotDraft tab cannot reach the sidebar");

  const [download] = await Promise.all([context.waitForEvent("page"), frame.getByRole("button", { name: "Download" }).click()]);
  await download.waitForURL(/\/storage\//);
  assert.equal(await download.evaluate(() => window.opener === null), true, "the document tab cannot reach the sidebar");
  assert.deepEqual(consoleLines.filter((text) => /Content Security Policy|Refused to/.test(text)), []);
  await context.close();
});
