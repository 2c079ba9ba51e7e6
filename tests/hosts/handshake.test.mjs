// The sdx/1 handshake in Chromium when the host page creates the sidebar frame before its own
// scripts load (as the demo page and the benchmark's parent do, so the sidebar downloads meanwhile):
// the sidebar's first hello may reach nobody, or arrive after the host started listening. Either
// way the host's `host.ready` makes the sidebar say hello again, the host answers exactly one init,
// and the channel it keeps is the one the sidebar uses.
//
// Two origins on one loopback server: the host page on http://localhost:PORT, the sidebar (a page
// running hosts/connection.js's connectToParent) on http://127.0.0.1:PORT.
//
// The sidebar page's early script (early.js) says hello while the page's module still downloads
// and keeps what arrives: the module then connects from the kept messages, whether they hold the
// host's init or its host.ready.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync } from "node:fs";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_PATH, launchChromium } from "../support/chromium.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const skip = existsSync(CHROMIUM_PATH) ? false : `no Chromium at ${CHROMIUM_PATH}`;

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

// The page's early script (www/sidebar/early.js, which index.html loads ahead of everything else),
// and a module that runs only once the kept messages hold `waitFor` (the host's init, or its
// host.ready), as a module that downloads late would.
assert.match(readFileSync(join(root, "www/sidebar/index.html"), "utf8"), /<script type="module" src="\.\/early\.js"><\/script>/, "index.html loads the early start");
// With `settings`, the page names its allowed host origins as the built page's server writes them,
// so the early start can check the host's messages itself.
// `timeoutMs`: how long the module waits for the host; `waitFor` "nothing": the module runs at once.
const earlySidebarPage = (hostOrigin, waitFor, settings, timeoutMs) => `<!doctype html><meta charset="utf-8"><title>sidebar</title>
${settings ? `<meta name="sdx-settings" content='${JSON.stringify({ allowedHostOrigins: [hostOrigin] })}'>` : ""}
<script type="module" src="/www/sidebar/early.js"></script>
<script type="module">
  import { connectToParent } from "/www/sidebar/hosts/connection.js";
  window.themes = [];
  await new Promise((resolve) => {
    const kept = () => ${JSON.stringify(waitFor)} === "nothing" || window.sdxEarly.messages.some((event) => event.data?.type === ${JSON.stringify(waitFor)});
    const check = () => (kept() ? resolve() : setTimeout(check, 5));
    check();
  });
  window.keptBeforeModule = window.sdxEarly.messages.map((event) => event.data.type);
  window.connected = connectToParent({ allowedOrigins: [${JSON.stringify(hostOrigin)}], timeoutMs: ${Number(timeoutMs) || 15_000} }).then((host) => {
    host.on("theme.changed", (payload) => window.themes.push(payload.theme));
    return host.context.deal.id;
  }, (error) => "failed: " + error.code);
</script>`;

// `start`: when the host's sdx/1 half starts listening, relative to the frame (which is in the HTML,
// ahead of every script). "late": only once the frame's first hello has arrived, so that hello
// certainly reached nobody (waiting on the page's own count, not a timer, keeps this the same on a
// slow machine); "now": before the frame loads its page, as a host page that loads its scripts
// first does (the frame's src is set only after the host listens: with the frame in the HTML, a
// loaded machine could let its hello arrive first).
const hostPage = (sidebarUrl, sidebarOrigin, start) => `<!doctype html><meta charset="utf-8"><title>host</title>
<script>
  // Counts every hello the frame posts, whoever listens to it.
  window.hellos = 0;
  window.helloMessages = [];
  addEventListener("message", (event) => {
    if (event.data?.type !== "hello") return;
    window.hellos += 1;
    window.helloMessages.push(event.data);
    window.onHello?.();
  });
</script>
<iframe id="sidebar"${start === "now" ? "" : ` src="${sidebarUrl}"`}></iframe>
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
  if (${JSON.stringify(start)} === "never") {
    // A host whose sdx/1 half never starts (the test speaks for it).
  } else if (${JSON.stringify(start)} === "late") {
    if (window.hellos > 0) embed();
    else window.onHello = () => { window.onHello = null; setTimeout(embed, 0); };
  } else {
    // "now": listening before the frame loads, so its first hello certainly reaches the host (the
    // frame gets its page only after embedSidebar, whatever the machine's load).
    embed();
    document.getElementById("sidebar").src = ${JSON.stringify(sidebarUrl)};
  }
</script>`;

before(async () => {
  if (skip) return;
  server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://x");
    const send = (status, body, type) => response.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
    const sidebarOrigin = `http://127.0.0.1:${port}`;
    if (url.pathname === "/sidebar.html") return send(200, sidebarPage(`http://localhost:${port}`), "text/html");
    if (url.pathname === "/early-sidebar.html") return send(200, earlySidebarPage(`http://localhost:${port}`, url.searchParams.get("waitFor"), url.searchParams.has("settings"), url.searchParams.get("timeoutMs")), "text/html");
    if (url.pathname === "/host.html") {
      const waitFor = url.searchParams.get("waitFor");
      const passed = ["settings", "timeoutMs"].filter((name) => url.searchParams.has(name)).map((name) => `&${name}=${url.searchParams.get(name)}`).join("");
      const frame = waitFor ? `${sidebarOrigin}/early-sidebar.html?waitFor=${waitFor}${passed}` : `${sidebarOrigin}/sidebar.html`;
      return send(200, hostPage(frame, sidebarOrigin, url.searchParams.get("start")), "text/html");
    }
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

test("a host that starts listening after the frame said hello connects once: host.ready asks for a second hello", { skip }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`http://localhost:${port}/host.html?start=late`);
    const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
    await frame.waitForFunction(() => window.connected !== undefined);
    assert.equal(await frame.evaluate(() => window.connected), "1001", "the sidebar took the host's init");
    // Any later hello would have arrived by now.
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.hellos), 2, "the first reached nobody; host.ready asked for the second");
    assert.equal(await page.evaluate(() => window.contexts), 1, "the host built one init");
    // The channel the host kept is the one the sidebar took: an event reaches it.
    await page.evaluate(() => window.host.send("theme.changed", { theme: "dark" }));
    await frame.waitForFunction(() => window.themes.includes("dark"), null, { timeout: 5_000 });
  } finally {
    await page.close();
  }
});

test("a hello repeated by the same page load is not answered again; the first channel stays", { skip }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`http://localhost:${port}/host.html?start=now`);
    const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
    await frame.waitForFunction(() => window.connected !== undefined);
    assert.equal(await frame.evaluate(() => window.connected), "1001");
    // The same page load says hello again (as a host.ready that crossed its first hello would make
    // it): the host must not build a second init or open a second channel.
    const first = await page.evaluate(() => window.helloMessages[0]);
    assert.equal(typeof first?.payload?.page, "string", "a hello names its page load");
    const hellos = await page.evaluate(() => window.hellos);
    await frame.evaluate((hello) => window.parent.postMessage(hello, "*"), first);
    await page.waitForFunction((count) => window.hellos > count, hellos, { timeout: 5_000 });
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.contexts), 1, "the host built one init, not one per hello");
    await page.evaluate(() => window.host.send("theme.changed", { theme: "dark" }));
    await frame.waitForFunction(() => window.themes.includes("dark"), null, { timeout: 5_000 });
  } finally {
    await page.close();
  }
});

test("the early script's hello is answered before the module runs: the module connects from the kept init, with no second hello", { skip }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`http://localhost:${port}/host.html?start=now&waitFor=init`);
    const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
    await frame.waitForFunction(() => window.connected !== undefined);
    assert.equal(await frame.evaluate(() => window.connected), "1001", "the sidebar took the kept init");
    assert.ok((await frame.evaluate(() => window.keptBeforeModule)).includes("init"), "the init arrived before the module ran");
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.hellos), 1, "the early hello was the only one");
    assert.equal(await page.evaluate(() => window.contexts), 1, "the host built one init");
    // The port that came with the kept init is the channel: the host's event reaches the sidebar.
    await page.evaluate(() => window.host.send("theme.changed", { theme: "dark" }));
    await frame.waitForFunction(() => window.themes.includes("dark"), null, { timeout: 5_000 });
  } finally {
    await page.close();
  }
});

test("the early hello reached nobody: the kept host.ready makes the module say hello again, once", { skip }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`http://localhost:${port}/host.html?start=late&waitFor=host.ready`);
    const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
    await frame.waitForFunction(() => window.connected !== undefined);
    assert.equal(await frame.evaluate(() => window.connected), "1001");
    assert.deepEqual(await frame.evaluate(() => window.keptBeforeModule), ["host.ready"], "only the host's host.ready was kept");
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.hellos), 2, "the early hello, then the one host.ready asked for");
    const pages = await page.evaluate(() => window.helloMessages.map((hello) => hello.payload.page));
    assert.equal(pages[0], pages[1], "both hellos name the same page load");
    assert.equal(await page.evaluate(() => window.contexts), 1);
    await page.evaluate(() => window.host.send("theme.changed", { theme: "dark" }));
    await frame.waitForFunction(() => window.themes.includes("dark"), null, { timeout: 5_000 });
  } finally {
    await page.close();
  }
});

test("the early hello reached nobody: the early start itself says hello again at host.ready, before the page's module runs", { skip }, async () => {
  const page = await browser.newPage();
  try {
    // The module waits until the init is kept: only the early start can have answered host.ready.
    await page.goto(`http://localhost:${port}/host.html?start=late&waitFor=init&settings`);
    const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
    await frame.waitForFunction(() => window.connected !== undefined, null, { timeout: 5_000 }).catch(() => {
      throw new Error("the module never ran: no init was kept, so the early start did not answer host.ready");
    });
    assert.equal(await frame.evaluate(() => window.connected), "1001");
    assert.deepEqual(await frame.evaluate(() => window.keptBeforeModule), ["init"], "host.ready was answered, not kept");
    assert.equal(await frame.evaluate(() => window.sdxEarly.hellosRepeated), 1);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.hellos), 2, "the early hello, then the one host.ready asked for: the module said none");
    const pages = await page.evaluate(() => window.helloMessages.map((hello) => hello.payload.page));
    assert.equal(pages[0], pages[1], "both hellos name the same page load");
    assert.equal(await page.evaluate(() => window.contexts), 1);
    // Connected: neither half answers a host.ready any more.
    await page.evaluate(() => { for (let i = 0; i < 5; i += 1) document.getElementById("sidebar").contentWindow.postMessage({ sdx: 1, kind: "evt", type: "host.ready", payload: {} }, "*"); });
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.hellos), 2);
  } finally {
    await page.close();
  }
});

/** Posts an sdx/1 event to the sidebar frame from the host page, as its sdx/1 half would. */
const postToFrame = (page, type) => page.evaluate((eventType) => document.getElementById("sidebar").contentWindow.postMessage({ sdx: 1, kind: "evt", type: eventType, payload: {} }, "*"), type);

test("the early start says no hello again once the host's init is here, though the page's module has not run", { skip }, async () => {
  const page = await browser.newPage();
  try {
    // The module runs only at the test's "test.go", so the init waits, kept, while host.ready arrives.
    await page.goto(`http://localhost:${port}/host.html?start=now&waitFor=test.go&settings`);
    const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
    await frame.waitForFunction(() => window.sdxEarly?.initKept === true, null, { timeout: 5_000 });
    const hellos = await page.evaluate(() => window.hellos);
    await postToFrame(page, "host.ready");
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.hellos), hellos, "no hello for a host that already sent its init");
    await postToFrame(page, "test.go");
    await frame.waitForFunction(() => window.connected !== undefined, null, { timeout: 5_000 });
    assert.equal(await frame.evaluate(() => window.connected), "1001");
    assert.equal(await page.evaluate(() => window.contexts), 1);
  } finally {
    await page.close();
  }
});

test("a page that gave up on its host says no hello when that host turns up late", { skip }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`http://localhost:${port}/host.html?start=never&waitFor=nothing&settings&timeoutMs=300`);
    const frame = await (await page.waitForSelector("#sidebar")).contentFrame();
    await frame.waitForFunction(() => window.connected !== undefined, null, { timeout: 5_000 });
    assert.equal(await frame.evaluate(() => window.connected), "failed: HOST_TIMEOUT");
    assert.equal(await page.evaluate(() => window.hellos), 1, "the early start's hello, to nobody");
    await postToFrame(page, "host.ready");
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.hellos), 1, "no hello after the page gave up");
  } finally {
    await page.close();
  }
});
