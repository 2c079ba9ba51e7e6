// A small scripted SpotDraft stand-in for the browser tests of the WebAssembly package: real HTTP on
// loopback, CORS for the test page's origin, and a few routes with known answers (success, each
// SpotDraft error shape, a slow answer for timeouts). Usage: node loopback-server.mjs PORT
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 8797);
const contracts = new Map(); // external id -> [contract]
let nextNumber = 500;

const metadata = {
  counter_party_kind: "Organisation",
  attributes: [
    { variable: "effective_date", display_label: "Effective date", type: "date", required: true },
    { variable: "nda_kind", display_label: "Kind of NDA", type: "enum", required: true,
      options: [{ label: "Mutual", value: "mutual" }, { label: "One-way", value: "one_way" }] },
  ],
};

// In the shapes the relay writes (the sidebar reads them strictly: src/shell_types.rs).
const sidebarConfig = { environment: "uat", creationStages: ["contractsent"], stageLabels: { contractsent: "Contract sent" },
  templates: [{ templateId: 101, label: "Mutual NDA" }], downloadOrigins: ["https://storage.googleapis.com"] };
const sidebarDeal = { id: "1001", name: "Acme – Müller renewal", stage: "contractsent", amount: "1234.50", currency: "EUR",
  closeDate: 1774656000000, custom: { seats: 40, notes: "ünïcödé ✓" } };
const sidebarContract = {
  id: "T-9", number: 9, name: "Mutual NDA – Acme", status: "DRAFT", statusLabel: "Draft",
  link: "https://app.spotdraft.com/contracts/v2/9", counterpartyName: "Acme Widgets Inc", contractTypeName: null,
  created: "2026-01-01T00:00:00Z", externalId: "hubspot:4411223:deal:1001",
};

function send(res, status, body, extra = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...extra });
  res.end(text);
}

const server = createServer((req, res) => {
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-allow-headers", "*");
  res.setHeader("access-control-allow-methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS");
  res.setHeader("access-control-expose-headers", "*");
  if (req.method === "OPTIONS") return send(res, 204);
  let raw = "";
  req.on("data", (chunk) => { raw += chunk; });
  req.on("end", () => {
    const url = new URL(req.url, "http://localhost");
    const path = url.pathname;
    const route = `${req.method} ${path}`;
    if (route === "GET /api/v2.1/public/contracts/T-1/status") {
      return send(res, 200, { contract_status: "EXECUTED", contract_name: "Mutual NDA – Acme" });
    }
    if (route === "GET /api/v2.1/public/contracts/T-2/status") return send(res, 404, { detail: "Not Found" });
    if (route === "GET /api/v2.1/public/contracts/T-3/status") {
      return setTimeout(() => send(res, 200, { contract_status: "DRAFT" }), 3000);
    }
    if (route === "POST /api/v2.1/public/contracts/T-4/download_link") {
      return send(res, 400, { detail: "x", status_code: 400, code: "SD_PUBLIC_00009", message: "Contract already executed." });
    }
    if (route === "GET /api/v2.1/public/templates/101/metadata") return send(res, 200, metadata);
    if (route === "GET /api/v2.1/public/contracts/T-5/status") {
      return send(res, 302, undefined, { location: "https://api.us.spotdraft.com/api/v2.1/public/contracts/T-5/status" });
    }
    const lookup = path.match(/^\/api\/v2\.1\/public\/contracts\/by_external_metadata\/(.+)$/);
    if (req.method === "GET" && lookup) {
      return send(res, 200, contracts.get(decodeURIComponent(lookup[1])) ?? []);
    }
    if (route === "POST /api/v2.1/public/contracts/") {
      let body;
      try { body = JSON.parse(raw); } catch { return send(res, 400, { detail: "JSON parse error" }); }
      if (!body.contract_data?.effective_date) return send(res, 400, { contract_data: { effective_date: ["This field is required."] } });
      const number = nextNumber++;
      const id = body.external_metadata?.id;
      const stored = { id: number, contract_name: body.contract_name, contract_status: "DRAFT",
        contract_link: `https://app.spotdraft.com/contracts/v2/${number}`, external_metadata: body.external_metadata };
      contracts.set(id, [...(contracts.get(id) ?? []), stored]);
      return send(res, 201, { ...stored, id: `T-${number}`, contract_id: number });
    }
    // A relay stand-in for the sidebar build's browser tests (wasm/tests/web_sidebar.rs).
    if (route === "GET /api/uat/config") return send(res, 200, sidebarConfig);
    // The deal as the CRM holds it, as the relay answers it (decimal text, epoch date, Unicode).
    if (route === "GET /api/uat/deals/1001") return send(res, 200, sidebarDeal);
    // A first view: every part, the one template's preview included; 1002's deal part failed alone.
    if (route === "GET /api/uat/deals/1001/sidebar" || route === "GET /api/uat/deals/1002/sidebar") {
      const deal = path.includes("/1001/")
        ? { ok: sidebarDeal }
        : { error: { code: "crm_error", message: "Zoho CRM: the deal does not exist", problems: [], transient: false } };
      const executed = { ...sidebarContract, status: "EXECUTED", statusLabel: "Executed" };
      return send(res, 200, { config: { ok: sidebarConfig }, deal, contracts: { ok: [executed] },
        preview: { templateId: 101, ok: { canCreate: true, problems: [] } } });
    }
    if (route === "GET /api/uat/deals/1002") return send(res, 200, { id: "1002" });
    if (route === "GET /api/uat/deals/1001/contracts") return send(res, 200, [sidebarContract]);
    if (route === "GET /api/uat/deals/1002/contracts") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end("{not json");
    }
    if (route === "POST /api/uat/deals/1001/contracts") {
      let body;
      try { body = JSON.parse(raw); } catch { return send(res, 400, { error: { code: "invalid_input", message: "not JSON", problems: [], transient: false } }); }
      // Echoes what arrived (the relay reads the deal from the CRM, so a sidebar sends none), in a
      // name with non-ASCII text that must survive the way back.
      const keys = Object.keys(body).sort().join(",");
      return send(res, 201, { contract: { ...sidebarContract, name: `Rahmenvertrag – Müller · ${keys} · ${body.templateId}` }, created: body.templateId === 101 });
    }
    // Only a renewed session may download: the sidebar asks its host for one after the 401.
    if (route === "POST /api/uat/deals/1001/contracts/T-9/download-link") {
      if (req.headers.authorization === "Bearer renewed") return send(res, 200, { url: "https://storage.googleapis.com/sdx/T-9.pdf", fileName: "T-9.pdf" });
      return send(res, 401, { error: { code: "unauthorized", message: "token expired", problems: [], transient: false } });
    }
    send(res, 404, { detail: "Not Found" });
  });
});

server.listen(port, "127.0.0.1", () => console.log(`loopback SpotDraft stand-in on http://127.0.0.1:${port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
