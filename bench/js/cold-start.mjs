// Cold start of the sidebar in headless Chromium, next to an empty page loaded the same way.
// Two loopback origins: a parent page (the CRM's role: sdx/1 handshake via hosts/parent.js) and
// the sidebar origin (www/sidebar, pkg/, and a stub relay answering the three calls a first view
// makes with canned JSON), so the network and SpotDraft are not measured. Every load is a fresh
// browser context (no HTTP or compiled-code cache). Prints JSON.
//   node bench/js/cold-start.mjs <loads>
import { createServer } from "node:http";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { launchChromium } from "../../tests/support/chromium.mjs";

const root = new URL("../../", import.meta.url).pathname;
const LOADS = Math.max(1, Number.parseInt(process.argv[2] ?? "20", 10) || 20);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };
const DEAL = { id: "1001", name: "Acme renewal", stage: "contractsent", closeDate: "2026-09-30", account: { id: "77", name: "Acme Widgets, Inc." } };
const CONTRACTS = [{
  id: "T-4321", number: 4321, name: "Mutual NDA – Acme Widgets, Inc.", status: "SIGN", statusLabel: "Out for signature",
  link: "https://app.spotdraft.com/contracts/v2/4321", counterpartyName: "Acme Widgets, Inc.", contractTypeName: "NDA",
  created: "2026-11-20T10:00:00Z", externalId: "hubspot:4411223:deal:1001",
}];

function serveFile(response, file) {
  try {
    if (!statSync(file).isFile()) throw new Error("not a file");
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    response.end(readFileSync(file));
  } catch {
    response.writeHead(404).end();
  }
}

function json(response, value) {
  response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify(value));
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

/** Serves `prefix` from `dir`, refusing paths that climb out of it. */
function under(dir, path, prefix) {
  const file = normalize(join(dir, decodeURIComponent(path.slice(prefix.length))));
  return file.startsWith(dir) ? file : null;
}

// The iframe gets its src only after the parent listens for hello: a sidebar that loads faster
// than the parent's module script would otherwise greet nobody. Both pages do the same.
const PARENT_PAGE = (frameUrl, sidebarOrigin, withHandshake) => `<!doctype html><html><head><meta charset="utf-8"><title>bench parent</title></head><body>
<iframe id="frame" style="width:360px;height:640px;border:0"></iframe>
<script type="module">
const iframe = document.getElementById("frame");
${withHandshake ? `import { embedSidebar } from "/hosts/parent.js";
embedSidebar({
  iframe,
  sidebarOrigin: ${JSON.stringify(sidebarOrigin)},
  context: async () => ({ host: "demo", environment: "uat", relayUrl: ${JSON.stringify(sidebarOrigin)}, tenant: "4411223",
    deal: ${JSON.stringify(DEAL)}, theme: "light", user: { id: "bench", email: "bench@yourco.example", locale: "en" },
    session: { token: "bench-token", expiresAt: Date.now() + 300000 } }),
  handlers: { refreshSession: async () => ({ token: "bench-token", expiresAt: Date.now() + 300000 }) },
});` : ""}
iframe.src = ${JSON.stringify(frameUrl)};
</script></body></html>`;

// Injected into every frame: marks when the sidebar first renders a view model (its heading
// appears) and when the first view with contracts is shown (aria-busy false), in the frame's clock.
const MARKER = () => {
  if (!location.pathname.endsWith("/sidebar/index.html")) return;
  const marks = (window.__sdxBench = {});
  new MutationObserver(() => {
    const app = document.getElementById("app");
    if (!app) return;
    if (marks.firstView === undefined && app.querySelector("h1")) marks.firstView = performance.now();
    if (marks.ready === undefined && app.querySelector("h1") && app.getAttribute("aria-busy") === "false") marks.ready = performance.now();
  }).observe(document, { subtree: true, childList: true, attributes: true });
};

async function main() {
  let sidebarOrigin = "";
  let parentOrigin = "";
  const sidebarServer = createServer(async (request, response) => {
    const url = new URL(request.url, sidebarOrigin);
    const path = url.pathname;
    if (path === "/sidebar/config.json") return json(response, { allowedHostOrigins: [parentOrigin], relayUrl: sidebarOrigin });
    if (path === "/api/uat/config") return json(response, { environment: "uat", creationStages: ["contractsent"], templates: [{ templateId: 101, label: "Mutual NDA" }] });
    if (/^\/api\/uat\/deals\/[^/]+\/contracts$/.test(path)) return json(response, CONTRACTS);
    if (/^\/api\/uat\/deals\/[^/]+\/preview$/.test(path)) {
      for await (const _ of request);
      return json(response, { canCreate: true, fields: [], problems: [], warnings: [] });
    }
    if (path === "/empty.html") {
      response.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" });
      return response.end("<!doctype html><html><head><meta charset=\"utf-8\"><title>empty</title></head><body></body></html>");
    }
    if (path === "/wasm-only.html") {
      response.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" });
      return response.end("<!doctype html><html><head><meta charset=\"utf-8\"></head><body></body></html>");
    }
    const file = path.startsWith("/sidebar/") ? under(join(root, "www/sidebar"), path, "/sidebar/") : path.startsWith("/pkg/") ? under(join(root, "pkg"), path, "/pkg/") : null;
    return file ? serveFile(response, file) : response.writeHead(404).end();
  });
  const parentServer = createServer((request, response) => {
    const url = new URL(request.url, parentOrigin);
    const html = (body) => { response.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" }); response.end(body); };
    if (url.pathname === "/sidebar-parent.html") return html(PARENT_PAGE(`${sidebarOrigin}/sidebar/index.html?host=demo`, sidebarOrigin, true));
    if (url.pathname === "/empty-parent.html") return html(PARENT_PAGE(`${sidebarOrigin}/empty.html`, sidebarOrigin, false));
    if (url.pathname === "/protocol.js") return serveFile(response, join(root, "www/sidebar/protocol.js"));
    if (url.pathname.startsWith("/hosts/")) {
      const file = under(join(root, "www/sidebar/hosts"), url.pathname, "/hosts/");
      return file ? serveFile(response, file) : response.writeHead(404).end();
    }
    response.writeHead(404).end();
  });
  sidebarOrigin = await listen(sidebarServer);
  parentOrigin = (await listen(parentServer)).replace("127.0.0.1", "localhost");

  const browser = await launchChromium();
  const wasmFiles = readdirSync(join(root, "pkg")).filter((f) => f.endsWith("_bg.wasm"));
  const results = { loads: LOADS, sidebar: { firstViewMs: [], readyMs: [] }, empty: { loadedMs: [] }, wasm: Object.fromEntries(wasmFiles.map((f) => [f, { compileMs: [], instantiateMs: [] }])), errors: [] };
  try {
    // Alternating sidebar and empty loads, so drift in machine load hits both alike.
    for (let i = 0; i < LOADS; i += 1) {
      for (const kind of ["sidebar", "empty"]) {
        const context = await browser.newContext();
        try {
          await context.addInitScript(MARKER);
          const page = await context.newPage();
          if (kind === "sidebar") {
            await page.goto(`${parentOrigin}/sidebar-parent.html`, { waitUntil: "commit", timeout: 30_000 });
            const frame = await (await page.waitForSelector("#frame", { timeout: 30_000 })).contentFrame();
            await frame.waitForFunction(() => window.__sdxBench?.ready !== undefined, null, { timeout: 30_000 });
            const top = await page.evaluate(() => performance.timeOrigin);
            const { origin, marks } = await frame.evaluate(() => ({ origin: performance.timeOrigin, marks: window.__sdxBench }));
            // From the top-level navigation start: the frame's clock starts later, by (origin - top).
            results.sidebar.firstViewMs.push(origin - top + marks.firstView);
            results.sidebar.readyMs.push(origin - top + marks.ready);
          } else {
            await page.goto(`${parentOrigin}/empty-parent.html`, { waitUntil: "commit", timeout: 30_000 });
            const frame = await (await page.waitForSelector("#frame", { timeout: 30_000 })).contentFrame();
            await page.waitForLoadState("load");
            if (!frame.url().endsWith("/empty.html")) throw new Error(`the frame is at ${frame.url()}`);
            const top = await page.evaluate(() => performance.timeOrigin);
            const { origin, loaded } = await frame.evaluate(() => ({ origin: performance.timeOrigin, loaded: performance.getEntriesByType("navigation")[0].loadEventEnd }));
            results.empty.loadedMs.push(origin - top + loaded);
          }
        } catch (error) {
          results.errors.push(`${kind} load ${i}: ${error.message.split("\n")[0]}`);
        } finally {
          await context.close();
        }
      }
      // WebAssembly alone: bytes already in memory, then compile, then instantiate (+ start).
      for (const wasmFile of wasmFiles) {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          await page.goto(`${sidebarOrigin}/wasm-only.html`, { waitUntil: "load" });
          const glue = `/pkg/${wasmFile.replace(/_bg\.wasm$/, ".js")}`;
          const timing = await page.evaluate(async ({ glue, wasm }) => {
            const { initSync } = await import(glue);
            const bytes = await (await fetch(wasm)).arrayBuffer();
            const t0 = performance.now();
            const module = await WebAssembly.compile(bytes);
            const t1 = performance.now();
            initSync({ module });
            const t2 = performance.now();
            return { compileMs: t1 - t0, instantiateMs: t2 - t1 };
          }, { glue, wasm: `/pkg/${wasmFile}` });
          results.wasm[wasmFile].compileMs.push(timing.compileMs);
          results.wasm[wasmFile].instantiateMs.push(timing.instantiateMs);
        } catch (error) {
          results.errors.push(`wasm ${wasmFile} ${i}: ${error.message.split("\n")[0]}`);
        } finally {
          await context.close();
        }
      }
    }
  } finally {
    await browser.close();
    sidebarServer.close();
    parentServer.close();
  }
  console.log(JSON.stringify(results));
}

await main();
