// End to end in headless Chromium against the running demo stack (sandbox, relay, sidebar on its
// own origin, mock CRM page): what a seller sees and does. Screenshots of the main states are
// saved under results/screenshots/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "../support/chromium.mjs";
import { DEMO_ADMIN_SECRET, startDemo } from "../../www/demo/start.js";
import { createSidebarHandler, loadBuiltPage, nodeListener } from "../../www/relay/sidebar-files.js";
import { SpotDraftClient } from "../../pkg/node.js";

const shots = new URL("../../results/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

let demo;
let browser;
before(async () => {
  demo = await startDemo({ pagePort: 0, sidebarPort: 0, relayPort: 0, spotdraftPort: 0, crmPort: 0, stateDir: mkdtempSync(join(tmpdir(), "e2e-demo-")), log: () => {} });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
});

async function crm(method, path, body) {
  const response = await fetch(`${demo.sandbox.crm}${path}`, {
    method, headers: { authorization: `Bearer ${demo.sandbox.info.crm.bearer_token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

async function contractsOf(dealId) {
  const all = await (await fetch(`${demo.sandbox.spotdraft}/__sandbox/contracts`)).json();
  return all.filter((c) => c.external_metadata?.id === `hubspot:${demo.portal}:deal:${dealId}`);
}

/** A new deal in the CRM at `stage`, with a company and the seeded primary contact. */
async function newDeal(dealname, { company = "Northwind Traders", stage = "contractsent", amount } = {}) {
  const account = await crm("POST", "/crm/v3/objects/companies", { properties: { name: company, city: "Austin", country: "United States" } });
  return crm("POST", "/crm/v3/objects/deals", {
    properties: { dealname, dealstage: stage, closedate: "2026-12-31", ...(amount ? { amount, deal_currency_code: "USD" } : {}) },
    associations: [{ to: { id: account.id }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 5 }] }, { to: { id: "3001" }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 3 }] }],
  });
}

/** The demo page on one deal, and the sidebar frame inside it. `clock`: the page's time is Playwright's to move. */
async function openDeal(dealId, { width = 1280, colorScheme = "light", clock = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme });
  if (clock) await context.clock.install();
  // The network is closed: answer SpotDraft's web app locally so deep links can be followed.
  await context.route("https://app.spotdraft.com/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<title>SpotDraft</title>" }));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  // What a seller's console would show, from the CRM page and the sidebar frame alike.
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") errors.push(`${message.type()}: ${message.text()}`);
  });
  await page.goto(`${demo.url}?deal=${dealId}`);
  const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
  await frame.waitForSelector("h1");
  await frame.waitForFunction(() => document.querySelector("main")?.getAttribute("aria-busy") === "false");
  return { context, page, frame, errors };
}

async function chooseTemplate(frame, label) {
  const select = frame.locator("select");
  if (await select.count()) await select.selectOption({ label });
}

test("create from a deal: SpotDraft gets the mapped data and CRM ids; the CRM record shows it", async () => {
  const { context, page, frame, errors } = await openDeal("1001");
  // The page's early script ran under its CSP (allowed by its hash): it said hello and compiled the wasm.
  assert.deepEqual(await frame.evaluate(() => ({ hello: window.sdxEarly?.hello, compiled: window.sdxEarly?.wasm instanceof Promise })), { hello: true, compiled: true });
  await page.screenshot({ path: join(shots, "1-no-contract.png") });
  await chooseTemplate(frame, "Mutual NDA");
  const create = frame.getByRole("button", { name: "Create contract" });
  await create.waitFor();
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await create.click();
  await frame.locator(".contract").first().waitFor();
  await page.screenshot({ path: join(shots, "2-created.png") });
  const [stored] = await contractsOf("1001");
  assert.equal(stored.external_metadata.record_type, "deals");
  assert.equal(stored.external_metadata.record_data.environment, "uat");
  assert.equal(stored.contract_data.effective_date, "2026-12-15");
  assert.equal(stored.contract_data.nda_kind, "mutual");
  assert.equal(await frame.locator(".contract .pill").first().innerText(), "Draft");
  await page.waitForFunction((id) => document.querySelector('[data-field="Contract"]')?.textContent === id, stored.id);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a deal holds an executed NDA and a live MSA side by side; Create offers only the free template", async () => {
  const deal = await newDeal("Side-by-side deal", { amount: "24000" });
  const { context, page, frame, errors } = await openDeal(deal.id);
  await chooseTemplate(frame, "Mutual NDA");
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await frame.locator('[data-key="create"]').click();
  await frame.locator(".contract").first().waitFor();
  const [nda] = await contractsOf(deal.id);
  for (const to of ["SIGN", "EXECUTED"]) {
    await fetch(`${demo.sandbox.spotdraft}/__sandbox/contracts/${nda.id}/transition`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ to }) });
  }
  await frame.waitForFunction(() => document.querySelector(".contract .pill")?.textContent === "Executed", null, { timeout: 20_000 });
  // The NDA's slot is filled: the MSA is the one template left, chosen without a picker.
  await frame.waitForFunction(() => document.querySelector('[data-key="create"]') && !document.querySelector('[data-key="create"]').disabled, null, { timeout: 15_000 });
  assert.equal(await frame.locator("select").count(), 0);
  assert.equal(await frame.locator('[data-key="create"]').innerText(), "Create Master Services Agreement");
  await frame.locator('[data-key="create"]').click();
  await frame.waitForFunction(() => document.querySelectorAll(".contract").length === 2, null, { timeout: 15_000 });
  assert.deepEqual(await frame.locator(".contract .pill").allInnerTexts(), ["Draft", "Executed"]);
  const stored = await contractsOf(deal.id);
  assert.deepEqual(stored.map((c) => c.status).sort(), ["DRAFT", "EXECUTED"]);
  assert.equal(await frame.locator('[data-key="create"]').count(), 0, "every slot filled: no Create");
  // The record follows the first template's contract (the NDA), whatever the MSA does.
  await page.waitForFunction((id) => document.querySelector('[data-field="Contract"]')?.textContent === id, nda.id);
  await page.screenshot({ path: join(shots, "8-nda-and-msa.png") });
  assert.deepEqual(errors, []);
  await context.close();
});

test("double-clicking Create makes one contract", async () => {
  const { context, frame } = await openDeal("1002");
  await chooseTemplate(frame, "Master Services Agreement");
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await frame.locator('[data-key="create"]').dblclick();
  await frame.locator(".contract").first().waitFor();
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal((await contractsOf("1002")).length, 1);
  assert.equal(await frame.locator(".contract").count(), 1);
  await context.close();
});

test("a deal missing required fields shows Create disabled with the reasons", async () => {
  const { context, page, frame } = await openDeal("1003");
  await chooseTemplate(frame, "Mutual NDA");
  await frame.waitForFunction(() => document.querySelectorAll(".reasons li").length >= 2 && !/Checking/.test(document.querySelector(".reasons").textContent));
  assert.equal(await frame.locator('[data-key="create"]').isDisabled(), true);
  const reasons = await frame.locator(".reasons").innerText();
  assert.match(reasons, /this deal is at Appointment scheduled/);
  assert.match(reasons, /close date/);
  await page.screenshot({ path: join(shots, "3-create-disabled.png") });
  await context.close();
});

test("status walks DRAFT → REDLINING → SIGN → EXECUTED in the sidebar and on the CRM record without reloading", async () => {
  const { context, page, frame } = await openDeal("1001");
  await frame.locator(".contract").first().waitFor();
  for (const [to, label] of [["REDLINING", "In review"], ["SIGN", "Out for signature"], ["EXECUTED", "Executed"]]) {
    await page.locator(`.sandbox button[data-to="${to}"]`).first().click();
    await frame.waitForFunction((text) => document.querySelector(".contract .pill")?.textContent === text, label, { timeout: 15_000 });
    await page.waitForFunction((status) => document.querySelector('[data-field="Status"]')?.textContent === status, to, { timeout: 15_000 });
  }
  // The NDA's key terms reach the deal once it is executed.
  for (const [field, value] of [["NDA effective date", "2026-12-15"], ["Confidentiality (months)", "24"], ["Governing law", "US-DE"]]) {
    await page.waitForFunction(([f, v]) => document.querySelector(`[data-field="${f}"]`)?.textContent === v, [field, value], { timeout: 15_000 });
  }
  const number = (await contractsOf("1001"))[0].contract_id;
  // The signed PDF lands on the deal once, and the timeline tells each step once.
  const landed = async () => {
    await page.evaluate(() => window.demoHost.reloadRecord());
    const files = await page.locator("#attachments li[data-file]").allInnerTexts();
    const notes = await page.locator("#timeline li[data-note]").allInnerTexts();
    return files.length === 1 && notes.some((n) => /executed$/.test(n)) ? { files, notes } : null;
  };
  let seen = null;
  for (let i = 0; i < 60 && !seen; i++) seen = await landed() ?? (await new Promise((r) => setTimeout(r, 250)), null);
  assert.ok(seen, "the signed PDF and the execution's timeline entry reach the record");
  assert.match(seen.files[0], new RegExp(`\\(UAT T-${number} v1\\)\\.pdf`));
  for (const step of [/\) created\b/, /sent to the counterparty/, /sent for signature/, /\) executed$/]) {
    assert.equal(seen.notes.filter((n) => step.test(n)).length, 1, `${step} once in ${seen.notes.join(" | ")}`);
  }
  await page.screenshot({ path: join(shots, "4-executed.png"), fullPage: true });

  const [popup] = await Promise.all([context.waitForEvent("page"), frame.getByRole("link", { name: "Open in SpotDraft" }).click()]);
  await popup.waitForLoadState();
  assert.equal(popup.url(), `https://app.spotdraft.com/contracts/v2/${number}`);

  const [download] = await Promise.all([context.waitForEvent("page"), frame.getByRole("button", { name: "Download" }).click()]);
  await download.waitForURL(/\/storage\//);
  const url = download.url();
  const pdf = await fetch(url);
  assert.equal(pdf.status, 200);
  assert.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 4).toString(), "%PDF");
  await context.close();
});

test("a hidden sidebar makes no requests", async () => {
  const { context, page, frame } = await openDeal("1002");
  await frame.locator(".contract").first().waitFor();
  await page.evaluate(() => window.demoHost.setSidebarVisible(false));
  // Counted from a moment after the hide: a request that had started as it was sent is not polling.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const relayRequests = [];
  page.on("request", (request) => {
    if (request.url().startsWith(demo.relay.url)) relayRequests.push(request.url());
  });
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  assert.deepEqual(relayRequests, [], "no polling while hidden");
  const polled = page.waitForRequest((request) => request.url().startsWith(demo.relay.url), { timeout: 10_000 });
  await page.evaluate(() => window.demoHost.setSidebarVisible(true));
  await polled;
  await context.close();
});

test("a message from a foreign origin is ignored (even where no CSP header stops the framing)", async () => {
  // The demo's sidebar origin refuses to be framed by this page at all (frame-ancestors; see
  // security.test.mjs). This copy is served without that header, as a plain static host would, to
  // show the second layer: the sidebar takes init only from an allowed origin.
  const bare = createSidebarHandler({ settings: () => ({ hostOrigins: ["https://crm.example.com"] }) });
  const unprotected = createServer(nodeListener(async (request) => {
    const response = await bare(request);
    response?.headers.delete("content-security-policy");
    return response;
  }));
  await new Promise((resolve) => unprotected.listen(0, "127.0.0.1", resolve));
  const sidebarOrigin = `http://127.0.0.1:${unprotected.address().port}`;
  const evil = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    // Listening before the frame exists, so the sidebar's hello surely reaches it and the forged
    // init is surely sent (window.forged counts them).
    response.end(`<script>
        window.forged = 0;
        addEventListener("message", (event) => {
          if (event.data?.type !== "hello") return;
          const channel = new MessageChannel();
          document.getElementById("f").contentWindow.postMessage({ sdx: 1, kind: "req", id: "s-1", type: "init", payload: {
            protocol: 1, host: "demo", environment: "uat", relayUrl: "${demo.relay.url}", tenant: "${demo.portal}",
            deal: { id: "1001", name: "Stolen" }, session: { token: "x", expiresAt: 0 } } }, "*", [channel.port2]);
          window.forged += 1;
        });
      </script>
      <iframe id="f" src="${sidebarOrigin}/sidebar/index.html?host=demo"></iframe>`);
  });
  await new Promise((resolve) => evil.listen(0, "127.0.0.1", resolve));
  const context = await browser.newContext();
  const page = await context.newPage();
  const relayRequests = [];
  page.on("request", (request) => {
    if (request.url().startsWith(demo.relay.url)) relayRequests.push(request.url());
  });
  await page.goto(`http://127.0.0.1:${evil.address().port}/`);
  const frame = await (await page.waitForSelector("#f")).contentFrame();
  await frame.waitForSelector("main");
  await page.waitForFunction(() => window.forged > 0, null, { timeout: 15_000 });
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // what the forged init could start has had its time
  assert.match(await frame.locator("main").innerText(), /Connecting to the CRM/);
  assert.deepEqual(relayRequests, []);
  await context.close();
  await new Promise((resolve) => evil.close(resolve));
  await new Promise((resolve) => unprotected.close(resolve));
});

test("a contract name containing markup shows as text", async () => {
  const deal = await newDeal("Markup deal", { company: "<img src=x onerror=window.__pwned=1>" });
  const { context, page, frame } = await openDeal(deal.id);
  await chooseTemplate(frame, "Mutual NDA");
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await frame.locator('[data-key="create"]').click();
  await frame.locator(".contract").first().waitFor();
  assert.match(await frame.locator(".contract .name").innerText(), /<img Src=x Onerror=window\.__pwned=1>/);
  assert.equal(await frame.locator(".contract img").count(), 0);
  assert.equal(await frame.evaluate(() => window.__pwned), undefined);
  await page.screenshot({ path: join(shots, "5-markup-as-text.png") });
  await context.close();
});

test("narrow and dark: usable at 280 px", async () => {
  const { context, frame } = await openDeal("1004", { width: 1280, colorScheme: "dark" });
  const page = frame.page();
  // 280 px inside the iframe's 1 px border (the demo sizes the frame's content box, as its height).
  await page.evaluate(() => { document.querySelector("#sidebar").style.width = "280px"; });
  await chooseTemplate(frame, "Master Services Agreement");
  const { scroll, client } = await frame.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(client === 280 && scroll <= client, `no horizontal overflow at ${client} px (${scroll})`);
  const background = await frame.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, "rgb(21, 25, 34)", "dark theme");
  await frame.locator("body").screenshot({ path: join(shots, "6-dark-280.png") });
  await context.close();
});

test("no secret reaches anything the browser can load", async () => {
  const workspace = demo.sandbox.info.workspaces.find((w) => w.name === "uat");
  const secrets = [workspace.client_secret, workspace.hmac_key, demo.sandbox.info.crm.bearer_token, "demo-host-secret"];
  const urls = [
    `${demo.pageOrigin}/`, `${demo.pageOrigin}/crm.js`, `${demo.pageOrigin}/crm.css`, `${demo.pageOrigin}/protocol.js`,
    `${demo.pageOrigin}/hosts/parent.js`, `${demo.pageOrigin}/demo-api/config`, `${demo.pageOrigin}/demo-api/deals`,
    `${demo.sidebarOrigin}/sidebar/index.html`, `${demo.sidebarOrigin}/sidebar/config.json`,
    // Every file of the built page (scripts/bundle-sidebar.mjs).
    ...Object.keys(loadBuiltPage().manifest.assets).map((name) => `${demo.sidebarOrigin}/sidebar/${name}`),
  ];
  for (const url of urls) {
    const response = await fetch(url);
    assert.equal(response.status, 200, url);
    const body = Buffer.from(await response.arrayBuffer()).toString("latin1");
    for (const secret of secrets) assert.ok(!body.includes(secret), `${url} contains a secret`);
  }
  for (const path of ["/start.js", "/../start.js", "/%2e%2e/start.js"]) {
    assert.equal((await fetch(`${demo.pageOrigin}${path}`)).status, 404, `${path} is not served`);
  }
});

/** The sidebar frame's height, and how tall its content is. */
async function heights(page, frame) {
  const frameHeight = await page.evaluate(() => document.querySelector("#sidebar").getBoundingClientRect().height);
  const content = await frame.evaluate(() => Math.ceil(document.getElementById("app").getBoundingClientRect().bottom));
  return { frameHeight, content };
}

async function settled(frame) {
  await frame.waitForFunction(() => document.querySelector("main")?.getAttribute("aria-busy") === "false" && !/Checking/.test(document.body.textContent));
}

test("the frame is as tall as the sidebar's content, up and down, as a seller switches deals", async () => {
  const { context, page, frame, errors } = await openDeal("1003");
  await chooseTemplate(frame, "Mutual NDA");
  await settled(frame);
  const seen = [];
  for (const dealId of ["1003", "1004", "1003", "1004", "1003"]) {
    // Another deal loads a fresh sidebar into the same frame: measured once that page has loaded,
    // not the one it replaces.
    const replaced = page.waitForEvent("framenavigated", { predicate: (f) => f.parentFrame() === page.mainFrame(), timeout: 10_000 });
    await page.locator(`#deals button[data-id="${dealId}"]`).click();
    await replaced;
    const sidebar = await (await page.waitForSelector("#sidebar")).contentFrame();
    await sidebar.waitForSelector("h1");
    await chooseTemplate(sidebar, "Mutual NDA");
    await settled(sidebar);
    // The frame follows the content's height (its 1 px border aside), within a pixel of rounding.
    await sidebar.waitForFunction(() => Math.abs(window.innerHeight - Math.ceil(document.getElementById("app").getBoundingClientRect().bottom)) <= 1, null, { timeout: 5_000 });
    const { frameHeight, content } = await heights(page, sidebar);
    assert.ok(Math.abs(frameHeight - content - 2) <= 2, `deal ${dealId}: frame ${frameHeight} px for ${content} px of content`);
    seen.push([dealId, Math.round(frameHeight), await sidebar.locator("main").innerText()]);
  }
  const steps = seen.slice(1).map(([, h], i) => Math.sign(h - seen[i][1]));
  assert.ok(steps.includes(-1) && steps.includes(1), `the frame grew and shrank with its content: ${JSON.stringify(seen)}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("times age while the sidebar stays open, with no error in the console", async () => {
  const deal = await newDeal("Ageing deal");
  const { context, page, frame, errors } = await openDeal(deal.id, { clock: true });
  await chooseTemplate(frame, "Mutual NDA");
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await frame.locator('[data-key="create"]').click();
  await frame.locator(".contract").first().waitFor();
  const updated = () => frame.evaluate(() => document.querySelector(".contract .row .muted")?.textContent);
  assert.match(await updated(), /just now/);
  // Hidden, the sidebar loads nothing: what changes now is only the time the view is rendered at.
  // (Jumping the clock fires the timeout of any request still in flight, so wait for quiet first:
  // the CRM page's record poll may just have told the sidebar about the write-back.)
  const inFlight = new Set();
  page.on("request", (request) => inFlight.add(request));
  for (const done of ["requestfinished", "requestfailed"]) page.on(done, (request) => inFlight.delete(request));
  const quiet = async () => {
    for (let calm = 0; calm < 5;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      calm = inFlight.size === 0 ? calm + 1 : 0;
    }
  };
  await page.evaluate(() => window.demoHost.setSidebarVisible(false));
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await quiet();
  await page.clock.fastForward("02:30");
  await frame.waitForFunction(() => /3 min ago/.test(document.querySelector(".contract .row .muted")?.textContent ?? ""), null, { timeout: 5_000 });
  await quiet();
  await page.clock.fastForward("10:00");
  await frame.waitForFunction(() => /13 min ago/.test(document.querySelector(".contract .row .muted")?.textContent ?? ""), null, { timeout: 5_000 });
  assert.equal(await frame.locator(".banner.success").count(), 0, `the success notice is gone: ${await frame.locator("main").innerText()}`);
  assert.equal(await frame.locator(".banner").count(), 0, `no other notice either: ${await frame.locator("main").innerText()}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("Send to counterparty says what happens, and the contract shows In review", async () => {
  const deal = await newDeal("Send deal", { company: "  contoso   ltd " });
  const { context, page, frame, errors } = await openDeal(deal.id);
  await chooseTemplate(frame, "Mutual NDA");
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await frame.locator('[data-key="create"]').click();
  const send = frame.getByRole("button", { name: "Send to counterparty" });
  await send.waitFor();
  await send.click();
  await frame.waitForFunction(() => document.querySelector(".contract .pill")?.textContent === "In review");
  const banner = await frame.locator(".banner").innerText();
  assert.match(banner, /^Sent to .+ for review\. The contract is now In review\./);
  assert.equal(await frame.getByRole("button", { name: "Send to counterparty" }).count(), 0, "sent: the button goes");
  // One name for the company: the contract, its counterparty and the notice all use the normalised one.
  const [stored] = await contractsOf(deal.id);
  assert.equal(stored.counter_party_name, "Contoso Ltd.");
  assert.match(await frame.locator(".contract .name").innerText(), /Contoso Ltd\./);
  await page.screenshot({ path: join(shots, "7-sent-for-review.png") });
  assert.deepEqual(errors, []);
  await context.close();
});

test("sellers read stage labels, field labels and formatted amounts, never raw values", async () => {
  const { context, page, frame } = await openDeal("1003");
  await chooseTemplate(frame, "Master Services Agreement");
  await settled(frame);
  const reasons = await frame.locator(".reasons").innerText();
  assert.match(reasons, /Contracts can be created at Qualified to buy, Decision maker bought-in or Contract sent; this deal is at Appointment scheduled\./);
  assert.doesNotMatch(reasons, /qualifiedtobuy|appointmentscheduled|_/);
  const amount = await page.locator('[data-field="Amount"]').innerText();
  assert.doesNotMatch(amount, /^\d+(\.\d+)? [A-Z]{3}$/, `formatted, not raw: ${amount}`);
  assert.equal(await page.locator("#stage option:checked").innerText(), "Appointment scheduled");
  await context.close();
});

test("moving the deal to Decision maker bought-in creates its NDA with no click, once, and the sidebar shows it", async () => {
  const deal = await newDeal("Milestone deal", { stage: "qualifiedtobuy" });
  const { context, page, frame, errors } = await openDeal(deal.id);
  assert.equal((await contractsOf(deal.id)).length, 0);
  // The seller only moves the stage, in the CRM's own screen.
  await page.locator("#stage").selectOption({ label: "Decision maker bought-in" });
  const row = frame.locator(".contract", { hasText: "Mutual NDA" });
  await row.waitFor({ timeout: 20_000 });
  await page.screenshot({ path: join(shots, "10-created-at-milestone.png") });
  // The CRM record shows it too, written back by the relay.
  await page.waitForFunction(() => /T-\d+/.test(document.querySelector("#spotdraft-fields")?.textContent ?? ""), null, { timeout: 10_000 });
  const contracts = await contractsOf(deal.id);
  assert.equal(contracts.length, 1, "one contract, however many events the stage change sent");
  assert.equal(contracts[0].external_metadata.id, `hubspot:${demo.portal}:deal:${deal.id}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a seller opens a contract's approvals, requests Legal's, and sees Jane's decision arrive", async () => {
  const deal = await newDeal("Approvals deal");
  const { context, page, frame, errors } = await openDeal(deal.id);
  await chooseTemplate(frame, "Mutual NDA");
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await frame.locator('[data-key="create"]').click();
  const row = frame.locator(".contract", { hasText: "Mutual NDA" });
  await row.waitFor();
  const [contract] = await contractsOf(deal.id);
  assert.equal(contract.created_by, demo.sandbox.seller.email, "SpotDraft names the seller, a SpotDraft user, as its creator");
  await row.locator('[data-action="approvals"]').click();
  await row.locator(".approvals").waitFor();
  assert.match(await row.locator(".approvals").innerText(), /No approvals yet/);
  await row.locator('[data-action="requestApproval"]', { hasText: "Request Legal" }).click();
  await row.locator(".approvals li", { hasText: "Legal · Jane Legal: Pending" }).waitFor();
  assert.equal(await row.locator('[data-action="requestApproval"]').isDisabled(), true, "one at a time");
  await page.screenshot({ path: join(shots, "11-approval-requested.png") });
  // Jane approves in SpotDraft: the open approvals follow with the sidebar's next refresh.
  const steps = await (await fetch(`${demo.sandbox.spotdraft}/api/v2.1/public/contracts/approvals/${contract.id}/`, {
    headers: { "client-id": demo.sandbox.info.workspaces[0].client_id, "client-secret": demo.sandbox.info.workspaces[0].client_secret },
  })).json();
  await fetch(`${demo.sandbox.spotdraft}/__sandbox/contracts/${contract.id}/approvals/${steps.results[0].approval.id}/decision`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: "APPROVED" }),
  });
  await row.locator(".approvals li", { hasText: "Legal · Jane Legal: Approved" }).waitFor({ timeout: 30_000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("when linking cannot be downloaded, the seller is told and can try again", async () => {
  const deal = await newDeal("Hooli offline link", { company: "Hooli XYZ" });
  const { context, frame, errors } = await openDeal(deal.id);
  let refused = 0;
  await context.route(/\/link\.[A-Za-z0-9]+\.js$/, (route) => {
    refused += 1;
    return route.abort("internetdisconnected");
  });
  const open = frame.getByRole("button", { name: "Link a contract made in SpotDraft" });
  await open.click();
  await frame.getByRole("alert").filter({ hasText: "Linking could not be loaded" }).waitFor();
  assert.equal(refused, 1);
  assert.ok(await open.isEnabled(), "the button is there to try again");
  await context.unrouteAll();
  await open.click();
  await frame.getByLabel("Find a contract in SpotDraft").waitFor();
  assert.equal(await frame.getByRole("alert").filter({ hasText: "Linking could not be loaded" }).count(), 0);
  // The refused download is the browser's console error and the shell's warning; nothing else.
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|linking could not be loaded/.test(e)), []);
  await context.close();
});

test("a seller links a contract made in SpotDraft to the deal; linking is downloaded only when asked for", async () => {
  // A contract someone made in SpotDraft, outside any CRM: made for a scratch deal, then unlinked.
  const scratch = await newDeal("Hooli scratch", { company: "Hooli XYZ" });
  const bearer = (await (await fetch(`${demo.pageOrigin}/demo-api/deals/${scratch.id}/token`, { method: "POST" })).json()).token;
  const nda = (await (await fetch(`${demo.relay.url}/admin/uat/setup`, { headers: { authorization: `Bearer ${DEMO_ADMIN_SECRET}` } })).json())
    .setup.templates.find((t) => t.label === "Mutual NDA");
  const made = await fetch(`${demo.relay.url}/api/uat/deals/${scratch.id}/contracts`, {
    method: "POST", headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }, body: JSON.stringify({ templateId: nda.templateId }),
  });
  assert.equal(made.status, 201, await made.clone().text());
  const outside = (await made.json()).contract;
  const workspace = demo.sandbox.info.workspaces.find((w) => w.name === "uat");
  const client = new SpotDraftClient({ baseUrl: demo.sandbox.spotdraft, credentials: { clientId: workspace.client_id, clientSecret: workspace.client_secret } });
  await client.setExternalMetadata(outside.id, {});

  const deal = await newDeal("Hooli expansion", { company: "Hooli XYZ" });
  const { context, page, frame, errors } = await openDeal(deal.id);
  // What the frame fetched for its first view (the browser's own record, kept from the page's start).
  const loadedFirst = await frame.evaluate(() => performance.getEntriesByType("resource").map((entry) => new URL(entry.name).pathname));
  assert.ok(loadedFirst.some((path) => /spotdraft_crm_sidebar_bg\.[0-9a-f]+\.wasm$/.test(path)), `the record holds the first view's wasm: ${loadedFirst.join(", ")}`);
  assert.ok(!loadedFirst.some((path) => /link/.test(path)), `nothing of linking before it is asked for: ${loadedFirst.join(", ")}`);
  const requested = [];
  page.on("request", (request) => requested.push(new URL(request.url()).pathname));
  await frame.getByRole("button", { name: "Link a contract made in SpotDraft" }).click();
  await frame.getByLabel("Find a contract in SpotDraft").fill("Hooli");
  await frame.getByRole("button", { name: "Find", exact: true }).click();
  const found = frame.getByRole("list", { name: "Contracts found in SpotDraft" });
  const candidate = found.locator(`[data-contract="${outside.id}"]`);
  await candidate.getByRole("button", { name: "Link" }).click();
  await frame.getByRole("list", { name: "Contracts for this deal" }).locator(`[data-contract="${outside.id}"]`).waitFor();
  await page.screenshot({ path: join(shots, "15-linked.png") });
  // Closing the search hands the keyboard back to the button that opened it; opening it again needs
  // no second download.
  await frame.getByRole("button", { name: "Close the search" }).click();
  assert.equal(await frame.getByRole("search").count(), 0, "the search is closed");
  assert.equal(await frame.locator(":focus").getAttribute("data-key"), "link-open");
  const downloads = requested.filter((path) => /link/.test(path)).length;
  await frame.getByRole("button", { name: "Link a contract made in SpotDraft" }).click();
  await frame.getByLabel("Find a contract in SpotDraft").waitFor();
  assert.equal(requested.filter((path) => /link/.test(path)).length, downloads, "linking is downloaded once");
  assert.ok(requested.some((path) => /\/link\.[A-Za-z0-9]+\.js$/.test(path)), `linking's module was loaded: ${requested.join(", ")}`);
  const metadata = await client.externalMetadata(outside.id);
  assert.equal(metadata.id, `hubspot:${demo.portal}:deal:${deal.id}`);
  assert.deepEqual(errors, []);
  await context.close();
});
