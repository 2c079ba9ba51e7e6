// Start of the sidebar in headless Chromium, next to an empty page loaded the same way, cold and warm.
// Two loopback origins: a parent page (the CRM's role: the iframe is in its HTML, and the sdx/1
// handshake runs once hosts/parent.js loads) and the sidebar origin, which serves the built page
// (dist/sidebar/) through www/relay/sidebar-files.js, so with the relay's cache and compression
// headers, and a stub relay answering the first view's calls with canned JSON, so the network and
// SpotDraft are not measured. Each load is a fresh browser context (cold: no HTTP or compiled-wasm
// cache), then the same page again in that context (warm: both caches). Empty and sidebar loads
// alternate, so drift in machine load hits both alike. The servers run in a child process of their
// own (this file with --serve): in this one, Playwright's handling of the browser's events would
// hold up their answers, as no real server's would be. Prints JSON; a summary goes to stderr.
//   node bench/js/cold-start.mjs <loads of each>
//   SDX_BENCH_TIMELINE=1 node bench/js/cold-start.mjs 4   (also: each sidebar load's requests, on stderr)
import { fork } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../../tests/support/chromium.mjs";
import { cachingHeaders, createSidebarHandler, loadBuiltPage } from "../../www/relay/sidebar-files.js";

const root = new URL("../../", import.meta.url).pathname;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

/** Contracts shown at most this much later than the empty page, in ms (issue 14). */
export const COLD_START_BUDGETS = { coldMs: 100, warmMs: 30 };

const DEAL = { id: "1001", name: "Acme renewal", stage: "contractsent", closeDate: "2026-09-30", account: { id: "77", name: "Acme Widgets, Inc." } };
const CONFIG = { environment: "uat", creationStages: ["contractsent"], stageLabels: { contractsent: "Contract sent" },
  templates: [{ templateId: 101, label: "Mutual NDA" }], downloadOrigins: ["https://storage.googleapis.com"] };
const CONTRACTS = [{
  id: "T-4321", number: 4321, name: "Mutual NDA – Acme Widgets, Inc.", status: "SIGN", statusLabel: "Out for signature",
  link: "https://app.spotdraft.com/contracts/v2/4321", counterpartyName: "Acme Widgets, Inc.", contractTypeName: "NDA",
  created: "2026-11-20T10:00:00Z", externalId: "hubspot:4411223:deal:1001",
}];
const PREVIEW = { templateId: 101, canCreate: true, problems: [] };
const EMPTY_PAGE = "<!doctype html><html><head><meta charset=\"utf-8\"><title>empty</title></head><body></body></html>";
const EMPTY_ETAG = '"empty-1"';

// The parent's sdx/1 modules are part of the CRM's own page, which a warm load has in its cache as
// it has the sidebar's hashed files; they do not change during a run.
const PARENT_SCRIPT_CACHING = "max-age=3600";

function serveFile(response, file, caching = "no-store") {
  try {
    if (!statSync(file).isFile()) throw new Error("not a file");
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": caching });
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

// The iframe is in the parent's HTML, ahead of its scripts, as the demo page has it: the frame
// downloads while the parent loads hosts/parent.js, whose host.ready then asks for a hello again if
// the first one reached nobody (both its modules preloaded, as a CRM page would bundle them). The
// empty page is framed the same way, without the handshake.
const PARENT_PAGE = (frameUrl, sidebarOrigin, withHandshake) => `<!doctype html><html><head><meta charset="utf-8"><title>bench parent</title>
${withHandshake ? '<link rel="modulepreload" href="/hosts/parent.js"><link rel="modulepreload" href="/protocol.js">' : ""}</head><body>
<iframe id="frame" src="${frameUrl}" style="width:360px;height:640px;border:0"></iframe>
${withHandshake ? `<script type="module">
import { embedSidebar } from "/hosts/parent.js";
embedSidebar({
  iframe: document.getElementById("frame"),
  sidebarOrigin: ${JSON.stringify(sidebarOrigin)},
  context: async () => ({ host: "demo", environment: "uat", relayUrl: ${JSON.stringify(sidebarOrigin)}, tenant: "4411223",
    deal: ${JSON.stringify({ id: DEAL.id, name: DEAL.name })}, theme: "light", user: { id: "bench", email: "bench@yourco.example", locale: "en" },
    session: { token: "bench-token", expiresAt: Date.now() + 300000 } }),
  handlers: { refreshSession: async () => ({ token: "bench-token", expiresAt: Date.now() + 300000 }) },
});
</script>` : ""}</body></html>`;

// Injected into every frame: marks when the sidebar first renders a view model (its heading
// appears) and when the first view with contracts is shown (aria-busy false), in the frame's clock,
// and says so on the console. The harness waits for that message rather than polling the page:
// Playwright's waiting and evaluating run its own scripts in the page (tens of ms each on this
// machine), which would hold up the parent's answer to the sidebar's hello, a cost no CRM page has.
const READY_MESSAGE = "sdx-bench-ready";
const MARKER = (readyMessage) => {
  if (!location.pathname.endsWith("/sidebar/index.html")) return;
  const marks = (window.__sdxBench = {});
  new MutationObserver(() => {
    const app = document.getElementById("app");
    if (!app) return;
    if (marks.firstView === undefined && app.querySelector("h1")) marks.firstView = performance.now();
    if (marks.ready === undefined && app.querySelector("h1") && app.getAttribute("aria-busy") === "false") {
      marks.ready = performance.now();
      console.debug(readyMessage);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
};

/** Resolves when the page's frame logs `message`, or rejects after `ms`. */
function consoleMessage(page, message, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { page.off("console", onConsole); reject(new Error(`no "${message}" within ${ms} ms`)); }, ms);
    function onConsole(entry) {
      if (entry.text() !== message) return;
      clearTimeout(timer);
      page.off("console", onConsole);
      resolve();
    }
    page.on("console", onConsole);
  });
}

/** Times of one load, from the top-level navigation start (the frame's clock starts later, by its timeOrigin's lead). */
async function measure(page, kind, url) {
  const ready = kind === "sidebar" ? consoleMessage(page, READY_MESSAGE, 30_000) : null;
  await page.goto(url, { waitUntil: kind === "sidebar" ? "commit" : "load", timeout: 30_000 });
  if (ready) await ready;
  // Only now, with the load measured, does the harness evaluate anything in the pages.
  const frame = page.frames().find((f) => f.parentFrame() === page.mainFrame());
  if (!frame) throw new Error("the parent page has no frame");
  const top = await page.evaluate(() => performance.timeOrigin);
  if (kind === "sidebar") {
    const { origin, marks, text } = await frame.evaluate(() => ({ origin: performance.timeOrigin, marks: window.__sdxBench, text: document.getElementById("app").innerText }));
    // The stub's contract must be on screen: an error view is also "not busy", and would be measured as ready.
    if (!text.includes("Acme Widgets")) throw new Error(`the sidebar shows no contracts: ${text.replace(/\s+/g, " ").slice(0, 200)}`);
    if (process.env.SDX_BENCH_TIMELINE) {
      // Where a load's time went, from the parent's navigation start: the frame's document and each request.
      const lead = origin - top;
      const entries = await frame.evaluate(() => [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
        .map((e) => ({ name: e.name.replace(/^https?:\/\/[^/]+/, ""), start: e.startTime, end: e.responseEnd, interactive: e.domInteractive })));
      const at = (ms) => (lead + ms).toFixed(0).padStart(4);
      console.error(entries.map((e) => `  ${at(e.start)} → ${at(e.end)} ms  ${e.name.slice(0, 60)}${e.interactive ? ` (DOM interactive at ${at(e.interactive).trim()})` : ""}`).join("\n")
        + `\n  first view at ${at(marks.firstView).trim()}, contracts shown at ${at(marks.ready).trim()} ms`);
    }
    return { firstViewMs: origin - top + marks.firstView, readyMs: origin - top + marks.ready };
  }
  if (!frame.url().endsWith("/empty.html")) throw new Error(`the frame is at ${frame.url()}`);
  const { origin, loaded } = await frame.evaluate(() => ({ origin: performance.timeOrigin, loaded: performance.getEntriesByType("navigation")[0].loadEventEnd }));
  return { loadedMs: origin - top + loaded };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * The child's side: both origins' servers. Tells the parent its origins, then answers `counts`
 * (this load's requests, which it then forgets) until it is told to close.
 */
async function serve() {
  let sidebarOrigin = "";
  let parentOrigin = "";
  // The page exactly as the relay serves it (the relay's own handler), trusting the parent's origin.
  const built = loadBuiltPage();
  const wasmAsset = built.manifest.initial.find((name) => name.endsWith(".wasm"));
  const sidebarPage = createSidebarHandler({ settings: () => ({ hostOrigins: parentOrigin ? [parentOrigin] : [], relayUrl: sidebarOrigin || undefined }) });
  // Requests reaching the sidebar origin for the built page's hashed files, by name (reset per load).
  let assetRequests = [];
  // Relay calls per load (reset per load): one, the first view, when the page asks for nothing twice.
  let apiRequests = [];
  const sidebarServer = createServer(async (request, response) => {
    const url = new URL(request.url, sidebarOrigin);
    const path = url.pathname;
    if (path.startsWith("/api/")) apiRequests.push(`${request.method} ${path}`);
    if (path === "/api/uat/config") return json(response, CONFIG);
    if (/^\/api\/uat\/deals\/[^/]+$/.test(path)) return json(response, DEAL);
    if (/^\/api\/uat\/deals\/[^/]+\/contracts$/.test(path)) return json(response, CONTRACTS);
    // The first view in one call, in the relay's shape: each part {ok} (src/relay/api.rs first_view),
    // the one template's preview naming its template, so nothing is asked for again.
    if (/^\/api\/uat\/deals\/[^/]+\/sidebar$/.test(path)) {
      return json(response, { config: { ok: CONFIG }, deal: { ok: DEAL }, contracts: { ok: CONTRACTS }, preview: { templateId: PREVIEW.templateId, ok: PREVIEW } });
    }
    if (/^\/api\/uat\/deals\/[^/]+\/preview$/.test(path)) {
      for await (const _ of request);
      return json(response, { ...PREVIEW, fields: [], warnings: [] });
    }
    if (path === "/empty.html") {
      // Revalidated like the sidebar's index.html, so warm loads compare like with like.
      const headers = { "content-type": "text/html", "cache-control": "no-cache", etag: EMPTY_ETAG };
      if (request.headers["if-none-match"] === EMPTY_ETAG) return response.writeHead(304, headers).end();
      return response.writeHead(200, headers).end(EMPTY_PAGE);
    }
    if (path === "/wasm-only.html") {
      response.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" });
      return response.end("<!doctype html><html><head><meta charset=\"utf-8\"></head><body></body></html>");
    }
    if (path.startsWith("/pkg/")) {
      const file = under(join(root, "pkg"), path, "/pkg/");
      return file ? serveFile(response, file) : response.writeHead(404).end();
    }
    const name = path.slice("/sidebar/".length);
    if (built.assets.has(name)) assetRequests.push(name);
    const answer = await sidebarPage(new Request(url, { method: request.method, headers: cachingHeaders(request) }));
    if (!answer) return response.writeHead(404).end();
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    return response.end(Buffer.from(await answer.arrayBuffer()));
  });
  const parentServer = createServer((request, response) => {
    const url = new URL(request.url, parentOrigin);
    const html = (body) => { response.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" }); response.end(body); };
    if (url.pathname === "/sidebar-parent.html") return html(PARENT_PAGE(`${sidebarOrigin}/sidebar/index.html?host=demo`, sidebarOrigin, true));
    if (url.pathname === "/empty-parent.html") return html(PARENT_PAGE(`${sidebarOrigin}/empty.html`, sidebarOrigin, false));
    if (url.pathname === "/protocol.js") return serveFile(response, join(root, "www/sidebar/protocol.js"), PARENT_SCRIPT_CACHING);
    if (url.pathname.startsWith("/hosts/")) {
      const file = under(join(root, "www/sidebar/hosts"), url.pathname, "/hosts/");
      return file ? serveFile(response, file, PARENT_SCRIPT_CACHING) : response.writeHead(404).end();
    }
    response.writeHead(404).end();
  });
  sidebarOrigin = await listen(sidebarServer);
  parentOrigin = (await listen(parentServer)).replace("127.0.0.1", "localhost");
  process.on("message", (message) => {
    if (message === "counts") {
      process.send({ wasm: assetRequests.filter((name) => name === wasmAsset).length, assets: assetRequests.length, api: apiRequests });
      assetRequests = [];
      apiRequests = [];
    } else if (message === "close") {
      sidebarServer.close();
      parentServer.close();
      process.disconnect();
    }
  });
  process.send({ sidebarOrigin, parentOrigin });
}

/** The servers' child process, with `ask(message)` resolving to its next answer. */
async function startServers() {
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const answers = [];
  const waiting = [];
  child.on("message", (message) => (waiting.length ? waiting.shift()(message) : answers.push(message)));
  const next = () => new Promise((resolve, reject) => {
    if (answers.length) return resolve(answers.shift());
    const timer = setTimeout(() => reject(new Error("the bench's servers did not answer")), 30_000);
    waiting.push((message) => { clearTimeout(timer); resolve(message); });
  });
  const origins = await next();
  return {
    ...origins,
    ask: (message) => { child.send(message); return next(); },
    close: () => { child.send("close"); },
  };
}

async function main() {
  const loads = Math.max(1, Number.parseInt(process.argv[2] ?? "20", 10) || 20);
  const servers = await startServers();
  const { sidebarOrigin, parentOrigin } = servers;

  const browser = await launchChromium();
  const wasmFiles = readdirSync(join(root, "pkg")).filter((f) => f.endsWith("_bg.wasm"));
  const phase = () => ({ sidebar: { firstViewMs: [], readyMs: [] }, empty: { loadedMs: [] } });
  const results = {
    loads, budgets: COLD_START_BUDGETS, cold: phase(), warm: phase(),
    // Per sidebar load: how often the wasm reached the server cold (1: the preload was used, not
    // fetched again), how many hashed files reached it warm (0: all from the HTTP cache), and how
    // many relay calls it made cold (1: the first view alone).
    requests: { coldWasm: [], warmAssets: [], coldRelayCalls: [] },
    wasm: Object.fromEntries(wasmFiles.map((f) => [f, { compileMs: [], instantiateMs: [] }])), errors: [],
  };
  try {
    for (let i = 0; i < loads; i += 1) {
      for (const kind of ["empty", "sidebar"]) {
        const context = await browser.newContext();
        try {
          await context.addInitScript(MARKER, READY_MESSAGE);
          const page = await context.newPage();
          const url = `${parentOrigin}/${kind}-parent.html`;
          for (const temperature of ["cold", "warm"]) {
            await servers.ask("counts"); // forgets what came before this load
            const times = await measure(page, kind, url);
            const { wasm, assets, api } = await servers.ask("counts");
            for (const [key, value] of Object.entries(times)) results[temperature][kind][key].push(value);
            if (kind === "sidebar" && temperature === "cold") {
              results.requests.coldWasm.push(wasm);
              results.requests.coldRelayCalls.push(api.length);
              if (api.length !== 1) results.errors.push(`sidebar load ${i}: relay calls ${api.join(", ")}`);
            }
            if (kind === "sidebar" && temperature === "warm") results.requests.warmAssets.push(assets);
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
    servers.close();
  }
  for (const temperature of ["cold", "warm"]) {
    const r = results[temperature];
    const [empty, firstView, ready] = [median(r.empty.loadedMs), median(r.sidebar.firstViewMs), median(r.sidebar.readyMs)];
    const budget = COLD_START_BUDGETS[`${temperature}Ms`];
    console.error(`${temperature}: empty ${empty.toFixed(0)} ms, first view ${firstView.toFixed(0)} ms (+${(firstView - empty).toFixed(0)}), contracts shown ${ready.toFixed(0)} ms (+${(ready - empty).toFixed(0)}; budget +${budget}: ${ready - empty <= budget ? "met" : "not met"})`);
  }
  console.error(`wasm requests per cold sidebar load: ${results.requests.coldWasm.join(" ")}; relay calls: ${results.requests.coldRelayCalls.join(" ")}; hashed-file requests per warm load: ${results.requests.warmAssets.join(" ")}${results.errors.length ? `; errors: ${results.errors.join("; ")}` : ""}`);
  console.log(JSON.stringify(results));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await (process.argv[2] === "--serve" ? serve() : main());
