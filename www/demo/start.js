// The demo stack: the sandbox (SpotDraft + CRM emulators), the relay, the sidebar on its own
// origin, and a mock CRM deal page on another origin that embeds the sidebar exactly as a real
// host does. `node www/demo/start.js` (via scripts/demo.sh) prints the URL; Ctrl-C stops it all.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { mintToken, SpotDraftClient } from "../../pkg/node.js";
import { startRelayServer } from "../relay/server.js";
import { createSidebarHandler, nodeListener } from "../relay/sidebar-files.js";

// What the demo page shows of the CRM record besides the canonical deal.
// The key terms the demo puts on the deal once its NDA (the record's contract) is executed: HubSpot
// properties an admin creates (here at start), and how each SpotDraft key pointer fills one.
const KEY_TERMS = [
  { keyPointer: "effective_date", field: "spotdraft_effective_date", as: "date", property: { label: "NDA effective date", type: "date", fieldType: "date" } },
  { keyPointer: "confidentiality_term", field: "spotdraft_confidentiality_months", as: "months", property: { label: "Confidentiality (months)", type: "number", fieldType: "number" } },
  { keyPointer: "governing_law", field: "spotdraft_governing_law", as: "text", property: { label: "Governing law", type: "string", fieldType: "text" } },
];
const SPOTDRAFT_PROPERTIES = ["spotdraft_contract_id", "spotdraft_status", "spotdraft_status_at", "spotdraft_contract_link", "spotdraft_executed_at", ...KEY_TERMS.map((t) => t.field)];

const root = fileURLToPath(new URL("../../", import.meta.url));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml" };
const DEMO_HOST_SECRET = "demo-host-secret-for-the-local-demo-only-0123456789";
// The demo's admin, who signs in to the console at <relay>/console/ (a real relay names its admins
// and their secrets in its configuration file, outside the repository).
export const DEMO_ADMIN = "alex.admin@example.com";
export const DEMO_ADMIN_SECRET = "demo-console-admin-secret-0123456789abcdef";

async function startSandbox({ spotdraftPort, crmPort, stateDir, log }) {
  const args = ["--spotdraft-port", String(spotdraftPort), "--crm-port", String(crmPort), "--local-testing"];
  args.push(...(stateDir ? ["--state-file", join(stateDir, "sandbox-state.json")] : ["--no-state-file"]));
  const child = spawn(join(root, "target/debug/sandbox"), args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.on("data", (chunk) => log(`[sandbox] ${chunk}`.trimEnd()));
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the sandbox did not start (is target/debug/sandbox built?)")), 20_000);
    lines.on("line", (line) => {
      const match = line.match(/^SANDBOX_READY spotdraft=(\S+) crm=(\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ spotdraft: match[1], crm: match[2] });
      }
    });
    child.once("exit", (code) => reject(new Error(`the sandbox exited with ${code}`)));
  });
  const info = await (await fetch(`${ready.spotdraft}/__sandbox/workspaces`)).json();
  const vendors = await (await fetch(`${ready.spotdraft}/__sandbox/crm/vendors`)).json();
  // The demo's people in the UAT workspace, as SpotDraft's users API lists them: the seller (who
  // creates, as themselves) and the lawyer who approves.
  const uat = info.workspaces.find((w) => w.name === "uat");
  const person = async (prefix) => {
    const email = uat.user_emails.find((e) => e.startsWith(prefix));
    const list = await (await fetch(`${ready.spotdraft}/api/v2.1/public/auth/users/?user_email=${encodeURIComponent(email)}`, {
      headers: { "client-id": uat.client_id, "client-secret": uat.client_secret },
    })).json();
    return list.results[0];
  };
  return {
    ...ready,
    info,
    hubspotApp: vendors.hubspot,
    seller: await person("sam."),
    approver: await person("jane."),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", resolve);
      child.kill("SIGTERM");
    }),
  };
}

function templatesFor(workspace, approver) {
  const find = (pattern) => workspace.templates.find((t) => pattern.test(t.name));
  const nda = find(/Non-Disclosure/);
  const msa = find(/Master Services/);
  return [
    // The NDA goes out by itself when the buyer's decision maker is in (milestone creation); the
    // MSA is a seller's click.
    { templateId: nda.id, label: "Mutual NDA", contractTypeId: nda.contract_type_id, organizationType: "company", createAtStages: ["decisionmakerboughtin"],
      // What a seller may ask for from the sidebar: the legal team's approval.
      approvals: [{ name: "Legal", approverUserId: approver.id, notes: "Please approve this NDA before it goes out." }], fields: [
      { variable: "effective_date", source: "deal.closeDate", encoding: "date" },
      { variable: "nda_kind", value: "mutual", encoding: "enum" },
      { variable: "purpose", value: "Evaluating a commercial relationship", encoding: "string" },
      { variable: "governing_law", value: "US-DE", encoding: "enum" },
      { variable: "confidentiality_term", value: 2, encoding: "duration", unit: "YEARS" },
    ] },
    { templateId: msa.id, label: "Master Services Agreement", contractTypeId: msa.contract_type_id, organizationType: "company", fields: [
      { variable: "agreement_date", source: "deal.closeDate", encoding: "date" },
      { variable: "customer_legal_name", source: "account.name", encoding: "string" },
      { variable: "contract_value", source: "deal.amount", encoding: "currency" },
      { variable: "subscription_term", value: 12, encoding: "duration", unit: "MONTHS" },
      { variable: "billing_frequency", value: "annually", encoding: "enum" },
      { variable: "auto_renewal", value: true, encoding: "boolean" },
    ] },
  ];
}

// HubSpot's default sales pipeline: the stage values the CRM stores and the labels sellers see.
export const DEMO_STAGE_LABELS = {
  appointmentscheduled: "Appointment scheduled", qualifiedtobuy: "Qualified to buy", presentationscheduled: "Presentation scheduled",
  decisionmakerboughtin: "Decision maker bought-in", contractsent: "Contract sent", closedwon: "Closed won", closedlost: "Closed lost",
};

export function demoRelayConfig(sandbox, sidebarOrigin) {
  const workspace = sandbox.info.workspaces.find((w) => w.name === "uat");
  return {
    environments: {
      uat: {
        plugin: {
          environment: "uat",
          crm: { host: "hubspot", accountId: String(sandbox.info.crm.portal_id) },
          api: { baseUrl: sandbox.spotdraft },
          creationStages: ["qualifiedtobuy", "decisionmakerboughtin", "contractsent"],
          stageLabels: DEMO_STAGE_LABELS,
          allowedOrigins: [sidebarOrigin],
          templates: templatesFor(workspace, sandbox.approver),
          // NDA → MSA on one deal is the everyday case: one live contract per template; the record
          // shows the first template's (the NDA's).
          contractsPerDeal: "perTemplate",
        },
        spotdraft: { clientId: workspace.client_id, clientSecret: workspace.client_secret, hmacKey: workspace.hmac_key },
        crm: {
          baseUrl: sandbox.crm,
          token: sandbox.info.crm.bearer_token,
          keyTerms: KEY_TERMS.map(({ property, ...term }) => term),
          // The executed PDF on the deal, and a note on its timeline per contract activity.
          attachSignedPdf: true,
          timeline: true,
        },
        hostSecrets: { demo: DEMO_HOST_SECRET },
        admins: { [DEMO_ADMIN]: DEMO_ADMIN_SECRET },
        // The HubSpot app's client secret signs its webhook events (milestone creation).
        hubspotClientSecret: sandbox.hubspotApp.client_secret,
      },
    },
  };
}

/**
 * A small static server. `routes` are [prefix, target]: a prefix ending in "/" maps to a directory,
 * any other prefix is an exact path mapped to a file or to a function (request, response) => void.
 */
function staticServer(routes, api) {
  return createServer(async (request, response) => {
    const url = new URL(request.url, "http://localhost");
    try {
      if (api && url.pathname.startsWith("/demo-api/")) return await api(request, response, url);
      for (const [prefix, target] of routes) {
        // "/" and prefixes without a trailing slash are exact paths; other prefixes are directories.
        if (prefix === "/" || !prefix.endsWith("/")) {
          if (url.pathname !== prefix) continue;
          if (typeof target === "function") return target(request, response);
          return await sendFile(response, target);
        }
        if (!url.pathname.startsWith(prefix)) continue;
        const relative = normalize(decodeURIComponent(url.pathname.slice(prefix.length)) || "index.html");
        if (relative.startsWith("..") || relative.startsWith("/")) break;
        return await sendFile(response, join(target, relative));
      }
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found");
    } catch (error) {
      response.writeHead(error.code === "ENOENT" || error.code === "EISDIR" ? 404 : 500, { "content-type": "text/plain" });
      response.end(error.code === "ENOENT" ? "not found" : "error");
    }
  });
}

const BLANK_SIDEBAR_FRAME = '<iframe id="sidebar" title="SpotDraft contracts" src="about:blank"></iframe>';

/**
 * The demo page with the sidebar's URL in its iframe, as a CRM's server renders its page: the frame
 * starts loading as the HTML is parsed, before the page's scripts (crm.js connects to it when they run).
 */
async function demoPageWithSidebar(sidebarUrl) {
  const html = await readFile(join(root, "www/demo/index.html"), "utf8");
  if (html.split(BLANK_SIDEBAR_FRAME).length !== 2) throw new Error(`www/demo/index.html must contain ${BLANK_SIDEBAR_FRAME} once`);
  const page = Buffer.from(html.replace(BLANK_SIDEBAR_FRAME, BLANK_SIDEBAR_FRAME.replace("about:blank", sidebarUrl.replaceAll("&", "&amp;").replaceAll('"', "&quot;"))));
  return (request, response) => {
    response.writeHead(200, { "content-type": TYPES[".html"], "cache-control": "no-store", "x-content-type-options": "nosniff" });
    response.end(page);
  };
}

async function sendFile(response, file) {
  const body = await readFile(file);
  response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  response.end(body);
}

function json(response, status, body) {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify(body));
}

async function readJson(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(`http://${host}:${server.address().port}`));
  });
}

export async function startDemo({
  host = "127.0.0.1", pagePort = 8785, sidebarPort = 8786, relayPort = 8788, spotdraftPort = 8790, crmPort = 8791,
  stateDir = join(root, ".demo-state"), log = (line) => console.log(line), relayLog = () => {},
  // More CRM page origins the sidebar trusts besides the demo page (tests embed it from their own pages).
  extraHostOrigins = [],
} = {}) {
  if (stateDir) mkdirSync(stateDir, { recursive: true });
  const sandbox = await startSandbox({ spotdraftPort, crmPort, stateDir, log });
  const closers = [sandbox.stop];
  try {
    // The sidebar trusts host messages from, and may be framed by, only the CRM page's origin,
    // known once it listens. Served by the same handler the relay uses in production (CSP header).
    let sidebarSettings = { hostOrigins: [] };
    const sidebarServer = createServer(nodeListener(createSidebarHandler({ settings: () => sidebarSettings })));
    const sidebarOrigin = await listen(sidebarServer, sidebarPort, host);
    const sidebarUrl = `${sidebarOrigin}/sidebar/index.html?host=demo`;
    closers.unshift(() => closeServer(sidebarServer));
    // The key terms' properties, as the admin creates them in HubSpot (already there on a restart).
    for (const { field, property } of KEY_TERMS) {
      const made = await fetch(`${sandbox.crm}/crm/v3/properties/deals`, {
        method: "POST", headers: { authorization: `Bearer ${sandbox.info.crm.bearer_token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: field, groupName: "dealinformation", ...property }),
      });
      if (made.status !== 201 && made.status !== 409) throw new Error(`could not create the ${field} property (${made.status})`);
    }
    const relay = await startRelayServer({ config: demoRelayConfig(sandbox, sidebarOrigin), port: relayPort, host, stateDir: stateDir ?? join(root, ".relay-state"), log: relayLog });
    closers.unshift(relay.close);
    await registerWebhookOnce(sandbox, relay.url);
    // The CRM tells the relay of deal changes, as the HubSpot app's webhook subscriptions do.
    const subscribed = await fetch(`${sandbox.spotdraft}/__sandbox/crm/vendors/hubspot/event-subscription`, {
      method: "PUT", headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${relay.url}/crm-events/uat`, account: String(sandbox.info.crm.portal_id) }),
    });
    if (subscribed.status !== 204) throw new Error(`could not subscribe the relay to the CRM's deal events (${subscribed.status})`);
    const crmCall = async (method, path, body) => {
      const reply = await fetch(`${sandbox.crm}${path}`, {
        method, headers: { authorization: `Bearer ${sandbox.info.crm.bearer_token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: reply.status, json: await reply.json().catch(() => null) };
    };
    const portal = String(sandbox.info.crm.portal_id);
    // What a real host's server side does: mint a short-lived token bound to one record.
    const token = (id) => ({
      token: mintToken(DEMO_HOST_SECRET, { host: "demo", tenant: portal, record: id, user: sandbox.seller.email }, 600),
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    });
    let pageOrigin = "";
    const api = async (request, response, url) => {
      const parts = url.pathname.split("/").filter(Boolean).slice(1);
      if (request.method === "GET" && parts[0] === "config") {
        return json(response, 200, { relayUrl: relay.url, sidebarUrl, sidebarOrigin, environment: "uat", tenant: portal, stageLabels: DEMO_STAGE_LABELS });
      }
      if (request.method === "GET" && parts[0] === "deals" && parts.length === 1) {
        const list = await crmCall("GET", `/crm/v3/objects/deals?limit=100&properties=dealname,dealstage`);
        return json(response, 200, (list.json?.results ?? []).map((d) => ({ id: d.id, name: d.properties.dealname, stage: d.properties.dealstage })));
      }
      if (parts[0] === "deals" && parts[1]) {
        const id = parts[1];
        if (!/^[0-9]+$/.test(id)) return json(response, 400, { error: "bad deal id" });
        if (request.method === "GET" && parts.length === 2) {
          const record = await crmCall("GET", `/crm/v3/objects/deals/${id}?properties=${SPOTDRAFT_PROPERTIES.join(",")}`);
          if (record.status !== 200) return json(response, record.status, { error: "deal not found" });
          // The canonical deal as the relay reads it from the CRM: one mapping, shared with hosts that get no record data.
          const reply = await fetch(`${relay.url}/api/uat/deals/${id}`, { headers: { authorization: `Bearer ${token(id).token}` } });
          // The deal's notes and files as HubSpot's record page lists them (the emulator's view of them).
          const activity = await (await fetch(`${sandbox.spotdraft}/__sandbox/crm/vendors/hubspot/deals/${id}/activity`)).json();
          return json(response, reply.status, { record: record.json.properties, deal: await reply.json(), activity });
        }
        if (request.method === "POST" && parts[2] === "stage") {
          const { stage } = await readJson(request);
          const reply = await crmCall("PATCH", `/crm/v3/objects/deals/${id}`, { properties: { dealstage: String(stage) } });
          return json(response, reply.status, reply.json);
        }
        if (request.method === "POST" && parts[2] === "token") return json(response, 200, token(id));
        if (request.method === "GET" && parts[2] === "contracts") {
          const all = await (await fetch(`${sandbox.spotdraft}/__sandbox/contracts`)).json();
          const key = `hubspot:${portal}:deal:${id}`;
          return json(response, 200, all.filter((c) => c.external_metadata?.id === key).map((c) => ({ id: c.id, name: c.name, status: c.status })));
        }
      }
      if (request.method === "POST" && parts[0] === "sandbox" && parts[1] === "transition") {
        const { contractId, to } = await readJson(request);
        if (!/^T-[0-9]+$/.test(String(contractId))) return json(response, 400, { error: "bad contract id" });
        const reply = await fetch(`${sandbox.spotdraft}/__sandbox/contracts/${contractId}/transition`, {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ to: String(to) }),
        });
        return json(response, reply.status, await reply.json().catch(() => ({})));
      }
      return json(response, 404, { error: "not found" });
    };
    const demoPage = await demoPageWithSidebar(sidebarUrl);
    const pageServer = staticServer([
      ["/protocol.js", join(root, "www/sidebar/protocol.js")],
      ["/hosts/", join(root, "www/sidebar/hosts")],
      // The page's own files only: the rest of www/demo is this server, and it holds the demo host secret.
      ["/", demoPage],
      ["/index.html", demoPage],
      ["/crm.js", join(root, "www/demo/crm.js")],
      ["/crm.css", join(root, "www/demo/crm.css")],
    ], api);
    pageOrigin = await listen(pageServer, pagePort, host);
    closers.unshift(() => closeServer(pageServer));
    sidebarSettings = { hostOrigins: [pageOrigin, ...extraHostOrigins], relayUrl: relay.url };
    return {
      url: `${pageOrigin}/`,
      pageOrigin,
      sidebarOrigin,
      relay,
      sandbox,
      portal,
      async stop() {
        for (const close of closers) await close().catch(() => {});
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    throw error;
  }
}

async function registerWebhookOnce(sandbox, relayUrl) {
  const url = `${relayUrl}/webhooks/spotdraft/uat`;
  const existing = await (await fetch(`${sandbox.spotdraft}/__sandbox/webhooks`)).json();
  if (JSON.stringify(existing).includes(url)) return;
  const workspace = sandbox.info.workspaces.find((w) => w.name === "uat");
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: workspace.client_id, clientSecret: workspace.client_secret } });
  await client.registerStatusWebhook(url, "spotdraft-crm demo relay");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const demo = await startDemo();
  console.log(`\nspotdraft-crm demo is running:\n\n  ${demo.url}\n\n  console    ${demo.relay.url}/console/ (environment UAT, admin secret ${DEMO_ADMIN_SECRET})\n  relay      ${demo.relay.url}\n  sidebar    ${demo.sidebarOrigin}\n  SpotDraft  ${demo.sandbox.spotdraft} (sandbox)\n  CRM        ${demo.sandbox.crm} (sandbox, HubSpot-shaped)\n\nCtrl-C stops everything.`);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      await demo.stop();
      process.exit(0);
    });
  }
}
