// The in-process adapters in a real browser (Debian's Chromium, driven by playwright-core): the adapter
// modules load as the sidebar page loads them, in an iframe on one origin (http://127.0.0.1:PORT) embedded
// by a page on another (http://localhost:PORT) that plays the CRM.
// - Pipedrive: the real SDK's UMD build imported by the adapter from a URL, the fake Pipedrive parent
//   answering its MessageChannel commands exactly as the SDK expects.
// - The embedding page's origin (location.ancestorOrigins) decides whether the adapter starts.
// (Zoho's SDK runs in Zoho's own widget page, www/hosts/zoho/widget: tests/hosts/zoho-widget.test.mjs.)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

import { hs256, nowSeconds } from "./support.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html" };
const DEAL = { id: "42", name: "Acme <b>renewal</b>", amount: 12000, currency: "EUR" };

let server;
let port;
let browser;
const relayCalls = [];

const panelPage = (adapter) => `<!doctype html><meta charset="utf-8"><title>panel</title>
<script type="module">
  const params = new URLSearchParams(location.search);
  const options = JSON.parse(params.get("options") || "{}");
  try {
    const { connect } = await import("/www/sidebar/hosts/${adapter}.js");
    const host = await connect({ env: "uat", relayUrl: location.origin, ...options });
    host.resize(300);
    host.toast("success", "Contract created");
    window.parent.postMessage({ test: "connected", context: host.context }, "*");
  } catch (error) {
    window.parent.postMessage({ test: "failed", code: error.code, message: error.message }, "*");
  }
</script>`;

// Pipedrive's side: answer each SDK command on the port it transferred, record everything.
// It listens before the panel's frame exists, so no early message can pass it by.
const parentPage = (panelUrl, token) => `<!doctype html><meta charset="utf-8"><title>crm</title>
<script>
  window.commands = [];
  window.outcome = new Promise((resolve) => {
    window.addEventListener("message", (event) => {
      if (event.source !== document.getElementById("panel")?.contentWindow) return;
      const data = event.data;
      if (data && data.test) { resolve(data); return; }
      if (!data || !data.payload) return;
      window.commands.push({ id: data.id, type: data.payload.type, command: data.payload.command || data.payload.event, args: data.payload.args });
      const port = event.ports[0];
      if (data.payload.type === "command" && port) {
        port.postMessage({ data: data.payload.command === "get_signed_token" ? { token: ${JSON.stringify(token)} } : undefined });
      }
    });
  });
</script>
<iframe id="panel" src="${panelUrl}"></iframe>`;

async function serve(request, response) {
  const url = new URL(request.url, "http://x");
  const send = (status, body, type = "text/plain") => {
    response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    response.end(body);
  };
  if (url.pathname === "/api/uat/deals/42") {
    relayCalls.push({ authorization: request.headers.authorization ?? "" });
    return send(200, JSON.stringify(DEAL), "application/json");
  }
  if (url.pathname === "/panel-pipedrive.html") return send(200, panelPage("pipedrive"), "text/html");
  if (url.pathname === "/crm.html") {
    const token = hs256({ userId: 7, companyId: 4411, iat: nowSeconds(), exp: nowSeconds() + 300 });
    return send(200, parentPage(url.searchParams.get("panel"), token), "text/html");
  }
  if (url.pathname === "/vendor/pipedrive-sdk.js") {
    return send(200, await readFile(join(root, "node_modules/@pipedrive/app-extensions-sdk/dist/index.umd.js")), "text/javascript");
  }
  if (url.pathname.startsWith("/www/")) {
    const file = normalize(join(root, url.pathname));
    if (!file.startsWith(join(root, "www"))) return send(403, "no");
    try {
      return send(200, await readFile(file), TYPES[extname(file)] ?? "application/octet-stream");
    } catch {
      return send(404, "not found");
    }
  }
  return send(404, "not found");
}

const available = existsSync(CHROMIUM);

before(async () => {
  if (!available) return;
  server = createServer((req, res) => {
    serve(req, res).catch(() => res.end());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = server.address().port;
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-default-apps"],
  });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

/** Opens the CRM page on localhost embedding the panel page on 127.0.0.1; resolves with the outcome. */
async function embed(panel, options) {
  const page = await browser.newPage();
  try {
    const panelUrl = `http://127.0.0.1:${port}/${panel}?id=panel-1&selectedIds=42&theme=dark&options=${encodeURIComponent(JSON.stringify(options))}`;
    await page.goto(`http://localhost:${port}/crm.html?panel=${encodeURIComponent(panelUrl)}`);
    const outcome = await page.evaluate(() => Promise.race([window.outcome, new Promise((r) => setTimeout(() => r({ test: "timeout" }), 20_000))]));
    await page.waitForTimeout(50);
    const commands = await page.evaluate(() => window.commands);
    return { outcome, commands };
  } finally {
    await page.close();
  }
}

const skip = available ? false : `no Chromium at ${CHROMIUM}`;

test("Pipedrive: the real SDK, imported by the adapter, initialises with the embedding page; the deal id is all it hands over", { skip }, async () => {
  relayCalls.length = 0;
  const { outcome, commands } = await embed("panel-pipedrive.html", {
    sdkUrl: "/vendor/pipedrive-sdk.js",
    allowedOrigins: [`http://localhost:${port}`],
  });
  assert.equal(outcome.test, "connected", outcome.message);
  assert.equal(outcome.context.host, "pipedrive");
  assert.equal(outcome.context.tenant, "4411");
  assert.deepEqual(outcome.context.deal, { id: "42", name: null });
  assert.equal(outcome.context.theme, "dark");
  const sent = commands.filter((c) => c.type === "command").map((c) => [c.command, c.args]);
  assert.deepEqual(sent.slice(0, 2), [["initialize", { size: { height: 100 } }], ["get_signed_token", undefined]]);
  assert.ok(sent.some(([command, args]) => command === "resize" && args.height === 300));
  assert.ok(sent.some(([command, args]) => command === "show_snackbar" && args.message === "Contract created"));
  assert.deepEqual(commands.filter((c) => c.type === "listener").map((c) => c.command).sort(), ["user_settings_change", "visibility"]);
  assert.ok(commands.every((c) => c.id === "panel-1"));
  assert.equal(relayCalls.length, 0, "the adapter reads no deal: the core reads it from the relay");
});

test("Pipedrive: embedded by a page that is not Pipedrive, the adapter refuses before sending anything", { skip }, async () => {
  relayCalls.length = 0;
  const { outcome, commands } = await embed("panel-pipedrive.html", { sdkUrl: "/vendor/pipedrive-sdk.js" });
  assert.equal(outcome.test, "failed");
  assert.equal(outcome.code, "DENIED");
  assert.deepEqual(commands, []);
  assert.equal(relayCalls.length, 0);
});
