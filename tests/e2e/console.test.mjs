// The admin console end to end in headless Chromium against the demo stack (issue 18): an admin
// signs in, maps a template variable to a deal field, sees the value on a deal they pick (computed by
// the core in the page), saves, and a seller's next Create sends it — no relay restart. A seller's
// token never opens the console. Screenshots under results/screenshots/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "../support/chromium.mjs";
import { DEMO_ADMIN, DEMO_ADMIN_SECRET, startDemo } from "../../www/demo/start.js";

const shots = new URL("../../results/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

let demo;
let browser;
before(async () => {
  demo = await startDemo({ pagePort: 0, sidebarPort: 0, relayPort: 0, spotdraftPort: 0, crmPort: 0, stateDir: mkdtempSync(join(tmpdir(), "e2e-console-")), log: () => {} });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
});

async function openConsole({ width = 1280 } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(`${demo.relay.url}/console/`);
  return { context, page, errors };
}

async function signIn(page, secret) {
  await page.getByLabel("Environment").selectOption("uat");
  await page.getByLabel("Admin secret").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function demoToken(dealId) {
  const reply = await fetch(`${demo.pageOrigin}/demo-api/deals/${dealId}/token`, { method: "POST" });
  return (await reply.json()).token;
}

test("an admin maps a variable to a deal field, previews it on a deal, saves, and the next Create uses it", async () => {
  const { context, page, errors } = await openConsole();
  // A wrong secret: said next to the field, nothing else shown.
  await signIn(page, "not-the-secret-not-the-secret-not-the-secret");
  await page.getByText("That is not an admin secret of this environment.").waitFor();
  assert.equal(await page.getByLabel("Admin secret").getAttribute("aria-invalid"), "true");

  await signIn(page, DEMO_ADMIN_SECRET);
  await page.getByText(`signed in as ${DEMO_ADMIN}`).waitFor();
  // The CRM's stages with their labels, the workspace's templates.
  await page.getByRole("group", { name: "Sellers may create contracts at" }).getByLabel("Decision maker bought-in").waitFor();
  assert.equal(await page.getByRole("group", { name: "Sellers may create contracts at" }).getByLabel("Contract sent").isChecked(), true);

  // The MSA's "Special terms" is not mapped in the demo: fill it from the deal's name.
  await page.getByRole("button", { name: "Edit the mapping of Master Services Agreement" }).click();
  const row = page.locator("tr[data-variable='special_terms']");
  await row.getByLabel("Special terms", { exact: true }).selectOption("deal.name");
  // A required variable nothing fills is flagged in its row.
  const required = page.locator("tr[data-variable='customer_legal_name']");
  await required.getByLabel("Customer legal name", { exact: true }).selectOption("");
  await required.getByText("Required, and nothing fills it.").waitFor();
  await required.getByLabel("Customer legal name", { exact: true }).selectOption("account.name");

  // The preview, on a deal the admin finds by name and picks, computed in the page.
  await page.getByLabel("Find a HubSpot deal by name").fill("acme");
  await page.getByRole("button", { name: "Find", exact: true }).click();
  await page.getByRole("button", { name: "Acme Widgets — Platform subscription · Contract sent" }).click();
  await row.locator("[data-preview]").getByText('"Acme Widgets — Platform subscription"').waitFor();
  await page.getByText("A seller could create this contract from this deal now.").waitFor();
  await page.screenshot({ path: join(shots, "12-console-mapping.png"), fullPage: true });

  await page.getByRole("button", { name: "Save this setup" }).click();
  await page.getByText(/Saved as version 1\./).waitFor();
  await page.getByText(/templates\[Master Services Agreement \(\d+\)\]\.fields\[special_terms\]: added/).first().waitFor();
  // The history names who saved it.
  await page.locator("#history").getByText(DEMO_ADMIN).waitFor();
  await page.screenshot({ path: join(shots, "13-console-saved.png"), fullPage: true });

  // A seller's next Create, from the sidebar on the deal's page, through the same relay, no restart.
  const seller = await context.newPage();
  seller.on("pageerror", (error) => errors.push(error.message));
  await seller.goto(`${demo.url}?deal=1001`);
  const frame = await (await seller.waitForSelector("#sidebar")).contentFrame();
  await frame.waitForFunction(() => document.querySelector("main")?.getAttribute("aria-busy") === "false");
  const picker = frame.locator("select");
  if (await picker.count()) await picker.selectOption({ label: "Master Services Agreement" });
  await frame.waitForFunction(() => !document.querySelector('[data-key="create"]')?.disabled);
  await frame.locator('[data-key="create"]').click();
  await frame.locator(".contract").first().waitFor();
  const all = await (await fetch(`${demo.sandbox.spotdraft}/__sandbox/contracts`)).json();
  const contract = all.find((c) => c.external_metadata?.id === `hubspot:${demo.portal}:deal:1001` && /Master Services/.test(c.name));
  assert.equal(contract?.contract_data?.special_terms, "Acme Widgets — Platform subscription", "the mapping saved in the console");
  await seller.close();
  // Back to the file's own setup, from the history, by keyboard.
  await page.getByRole("button", { name: "Restore version 0" }).focus();
  await page.keyboard.press("Enter");
  await page.getByText("Version 0 restored as version 2.").waitFor();
  await page.locator("#history").getByText("restored version 0").waitFor();
  // The wrong secret's one refused call is the only failed request.
  assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
  await context.close();
});

test("a seller's token does not open the console; the console works at a laptop's width", async () => {
  const { context, page, errors } = await openConsole({ width: 900 });
  await signIn(page, await demoToken("1001"));
  await page.getByText("That is not an admin secret of this environment.").waitFor();
  assert.equal(await page.locator("#workspace").isHidden(), true);
  // By keyboard alone: the secret field, then the button.
  await page.getByLabel("Admin secret").fill(DEMO_ADMIN_SECRET);
  await page.keyboard.press("Enter");
  await page.getByText(`signed in as ${DEMO_ADMIN}`).waitFor();
  // Every control has a name a screen reader says (a label, or a label-like aria-label, or its text).
  const unnamed = await page.evaluate(() => [...document.querySelectorAll("#workspace input, #workspace select, #workspace button")]
    .filter((control) => !(control.labels?.length || control.getAttribute("aria-label") || (control.tagName === "BUTTON" && control.textContent.trim())))
    .map((control) => control.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 900px`);
  await page.screenshot({ path: join(shots, "14-console-narrow.png"), fullPage: true });
  assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  await context.close();
});
