// The sdx/1 handshake in Chromium when the host page creates the sidebar frame before its own
// scripts load (as the demo page and the benchmark's parent do, so the sidebar downloads meanwhile):
// the sidebar's first hello may reach nobody, or arrive after the host started listening. Either
// way the host's `host.ready` makes the sidebar say hello again, the host answers exactly one init,
// and the channel it keeps is the one the sidebar uses.
//
// Two origins on one loopback server: the host page on http://localhost:PORT, the sidebar (a page
// running hosts/connection.js's connectToParent) on http://127.0.0.1:PORT.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_PATH, launchChromium } from "../support/chromium.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const skip = existsSync(CHROMIUM_PATH) ? false : `no Chromium at ${CHROMIUM_PATH}`;
const LATE_MS = 1_000;

let server;
let port;
let browser;

const sidebarPage = (hostOrigin) => `<!doctype html><meta charset="utf-8"><title>sidebar</title>
<script type="module">
  import { connectToParent } from "/www/sidebar/hosts/connection.js";
  window.themes = [];
  window.connected = connectToParent({ allowedOrigins: [${JSON.stringify(hostOrigin)}] }).then((host) => {
    host.on("theme.changed", (payload) => window.themes.push(payload.theme));
    return host.context.deal.id;
  }, (error) => "failed: " + error.code);
</script>`;

// `start`: when the host's sdx/1 half starts listening, relative to the frame (which is in the HTML,
// ahead of every script): "late" after a timer, so the first hello reaches nobody; "busy" after a
// busy loop, so the first hello waits in the queue and arrives once the host listens.
const hostPage = (sidebarUrl, sidebarOrigin, start) => `<!doctype html><meta charset="utf-8"><title>host</title>
<script>
  // Counts every hello the frame posts, whoever listens to it.
  window.hellos = 0;
  addEventListener("message", (event) => { if (event.data?.type === "hello") window.hellos += 1; });
</script>
<iframe id="sidebar" src="${sidebarUrl}"></iframe>
<script type="module">
  import { embedSidebar } from "/www/sidebar/hosts/parent.js";
  window.contexts = 0;
  const embed = () => {
    window.host = embedSidebar({
      iframe: document.getElementById("sidebar"),
      sidebarOrigin: ${JSON.stringify(sidebarOrigin)},
      context: async () => {
        window.contexts += 1;
        return { host: "demo", environment: "uat", relayUrl: "http://127.0.0.1:1", tenant: "1", deal: { id: "1001" }, theme: "light", session: { token: "t", expiresAt: 0 } };
      },
      handlers: { refreshSession: async () => ({ token: "t", expiresAt: 0 }) },
    });
  };
  if (${JSON.stringify(start)} === "late") setTimeout(embed, ${LATE_MS});
  else {
    const until = performance.now() + ${LATE_MS};
    while (performance.now() < until) { /* the frame loads and says hello meanwhile */ }
    embed();
  }
</script>`;

before(async () => {
  if (skip) return;
  server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://x");
    const send = (status, body, type) => response.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
    const sidebarOrigin = `http://127.0.0.1:${port}`;
    if (url.pathname === "/sidebar.html") return send(200, sidebarPage(`http://localhost:${port}`), "text/html");
    if (url.pathname === "/host.html") return send(200, hostPage(`${sidebarOrigin}/sidebar.html`, sidebarOrigin, url.searchParams.get("start")), "text/html");
    const file = normalize(join(root, url.pathname));
    if (!url.pathname.startsWith("/www/sidebar/") || !file.startsWith(join(root, "www/sidebar"))) return send(404, "not found", "text/plain");
    try {
      return send(200, await readFile(file), "text/javascript");
    } catch {
      return send(404, "not found", "text/plain");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = server.address().port;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

for (const [start, expectedHellos, why] of [
  ["late", 2, "the first reached nobody; host.ready asked for the second"],
  ["busy", 2, "the first arrived once the host listened, and host.ready asked for a second, which the host ignored"],
]) {
  test(`a host that starts listening after the frame loaded (${start}) connects once: ${why}`, { skip }, async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`http://localhost:${port}/host.html?start=${start}`);
      const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
      await frame.waitForFunction(() => window.connected !== undefined);
      assert.equal(await frame.evaluate(() => window.connected), "1001", "the sidebar took the host's init");
      // Any later hello would have arrived by now.
      await page.waitForTimeout(300);
      assert.equal(await page.evaluate(() => window.hellos), expectedHellos, "hellos the frame posted");
      assert.equal(await page.evaluate(() => window.contexts), 1, "the host built one init, not one per hello");
      // The channel the host kept is the one the sidebar took: an event reaches it.
      await page.evaluate(() => window.host.send("theme.changed", { theme: "dark" }));
      await frame.waitForFunction(() => window.themes.includes("dark"), null, { timeout: 5_000 });
    } finally {
      await page.close();
    }
  });
}
