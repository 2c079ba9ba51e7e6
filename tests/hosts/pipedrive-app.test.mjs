// www/hosts/pipedrive/app.json is our record of what an admin enters in Pipedrive's Developer Hub (Pipedrive
// has no manifest file a tool could check). This holds it to the code that has to work with it:
// - the panel's iframe URL is a page the relay serves (its sidebar handler, over the built page), framed
//   only by the CRM origins app.json names, and its query (host, env) is what the sidebar page and the
//   Pipedrive adapter take, with Pipedrive's own parameters appended;
// - the panel height is inside the range the adapter clamps to;
// - the OAuth scopes are Pipedrive's own scope strings, read from the `pipedrive` npm client's generated
//   API files at test time (a renamed scope fails here), and cover every request the relay makes to
//   Pipedrive: the relay runs against the sandbox's Pipedrive emulator (provision, a seller's first view,
//   a create, reconcile) and the emulator's journal says what it called;
// - the JWT secret goes to a hostSecrets key the relay's configuration accepts and verifies the panel's
//   signed token with.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { SdxRelay } from "../../pkg/node.js";
import { checkHostOrigin, createSidebarHandler } from "../../www/relay/sidebar-files.js";
import { PIPEDRIVE_ORIGINS, connect } from "../../www/sidebar/hosts/pipedrive.js";
import { originAllowed } from "../../www/sidebar/protocol.js";
import { ndaTemplate, startSandbox } from "../relay/support.mjs";
import { vendorInfo, vendorRelayConfig } from "../relay/vendors.mjs";
import { fakeWindow, nowSeconds } from "./support.mjs";

const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf8");
const app = JSON.parse(read("www/hosts/pipedrive/app.json"));
const require = createRequire(import.meta.url);
const AppExtensionsSDK = require("@pipedrive/app-extensions-sdk/dist/index.umd.js");

const ENVIRONMENTS = Object.entries(app.environments);
/** What Pipedrive appends to a panel's URL (docs/crm-hosts.md §4); the deal is selectedIds. */
const PIPEDRIVE_PARAMS = "resource=deal&view=details&userId=13001&companyId=7001&selectedIds=101&isCustomWindow=false&theme=light&id=3f2c9a0e";

/** A HS256 token in the form Pipedrive's get_signed_token returns: userId and companyId, 5 minutes. */
function pipedriveToken(secret, { userId, companyId }) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = nowSeconds();
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part({ userId, companyId, iat: now, exp: now + 300 })}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** Pipedrive's side of the SDK protocol, enough for connect() (as in pipedrive.test.mjs). */
function fakePipedrive(secret = "a-pipedrive-jwt-secret-of-32-characters-or-more") {
  const ports = [];
  const parent = {
    commands: [],
    ports,
    postMessage(message, _target, transfer = []) {
      const port = transfer[0];
      if (port) ports.push(port);
      const payload = message.payload;
      if (payload.type !== "command") return;
      parent.commands.push({ command: payload.command, args: payload.args });
      const answers = { get_signed_token: () => ({ token: pipedriveToken(secret, { userId: 13001, companyId: 7001 }) }) };
      port.postMessage({ data: answers[payload.command]?.() });
    },
  };
  return parent;
}

/** The panel as Pipedrive loads it: the configured iframe URL with Pipedrive's own parameters appended. */
function loadedUrl(iframeUrl) {
  return new URL(`${iframeUrl}${iframeUrl.includes("?") ? "&" : "?"}${PIPEDRIVE_PARAMS}`);
}

async function withPanel(iframeUrl, work) {
  const url = loadedUrl(iframeUrl);
  const parent = fakePipedrive();
  const win = fakeWindow({ search: url.search, ancestor: "https://acme.pipedrive.com", parent });
  globalThis.window = win; // the SDK reads window.location and window.addEventListener itself
  try {
    const host = await connect({ env: url.searchParams.get("env"), relayUrl: url.origin, win, SDK: AppExtensionsSDK });
    return await work(host, parent, url);
  } finally {
    for (const port of parent.ports) port.close();
    delete globalThis.window;
  }
}

describe("the panel's iframe URL", () => {
  test("is an https page the relay serves as the sidebar, framed only by the origins app.json names", async () => {
    assert.deepEqual(app.relay.sidebarHostOrigins.map(checkHostOrigin), app.relay.sidebarHostOrigins);
    for (const [name, { iframeUrl }] of ENVIRONMENTS) {
      const url = new URL(iframeUrl);
      assert.equal(url.protocol, "https:", name);
      const handler = createSidebarHandler({ settings: () => ({ hostOrigins: app.relay.sidebarHostOrigins, relayUrl: url.origin }) });
      const response = await handler(new Request(loadedUrl(iframeUrl)));
      assert.ok(response, `${url.pathname} is not a sidebar path`);
      assert.equal(response.status, 200, `${name}: ${url.pathname}`);
      assert.match(response.headers.get("content-type"), /^text\/html/);
      const csp = response.headers.get("content-security-policy");
      assert.equal(csp.match(/frame-ancestors ([^;]+)/)[1], app.relay.sidebarHostOrigins.join(" "), csp);
      assert.match(csp, new RegExp(`connect-src [^;]*${url.origin.replace(/\./g, "\\.")}`));
    }
  });

  test("names the Pipedrive adapter (host) and the environment (env) the way the sidebar page reads them", () => {
    const shell = read("www/sidebar/sidebar.js");
    // connectHost(): ?host=pipedrive loads hosts/pipedrive.js and hands it ?env.
    const pipedriveCase = shell.match(/case "pipedrive":[^\n]*/)?.[0] ?? "";
    assert.match(shell, /params\.get\("host"\)/);
    assert.match(pipedriveCase, /\.\/hosts\/pipedrive\.js/);
    assert.match(pipedriveCase, /env: params\.get\("env"\)/);
    // The early start leaves Pipedrive to its SDK (no sdx/1 hello to Pipedrive's page).
    assert.match(read("www/sidebar/early.js"), /host !== "pipedrive"/);
    for (const [name, { iframeUrl }] of ENVIRONMENTS) {
      const query = new URL(iframeUrl).searchParams;
      assert.equal(query.get("host"), "pipedrive", name);
      assert.equal(query.get("env"), name, `${name}'s panel must open the ${name} environment`);
      assert.equal(query.get("selectedIds"), null, "Pipedrive adds the deal itself");
      assert.equal(query.get("id"), null, "Pipedrive adds the extension id itself");
    }
  });

  test("with Pipedrive's parameters appended, the adapter starts for that environment and deal", async () => {
    for (const [name, { iframeUrl }] of ENVIRONMENTS) {
      await withPanel(iframeUrl, (host, parent, url) => {
        assert.equal(host.context.host, "pipedrive");
        assert.equal(host.context.environment, name);
        assert.equal(host.context.relayUrl, url.origin);
        assert.deepEqual(host.context.deal, { id: "101", name: null });
        assert.equal(host.context.tenant, "7001", "the company from the signed token");
        assert.deepEqual(parent.commands.map((c) => c.command), ["initialize", "get_signed_token"]);
      });
    }
  });

  test("is refused when the embedding page is not Pipedrive (the origins app.json lists are the adapter's)", () => {
    for (const origin of PIPEDRIVE_ORIGINS) assert.ok(app.relay.sidebarHostOrigins.includes(origin), origin);
    assert.ok(originAllowed("https://acme.pipedrive.com", app.relay.sidebarHostOrigins));
    assert.ok(!originAllowed("https://pipedrive.com.evil.example", app.relay.sidebarHostOrigins));
  });
});

test("the panel height is inside the range the adapter keeps the panel to", async () => {
  await withPanel(app.environments.production.iframeUrl, async (host, parent) => {
    host.resize(1);
    host.resize(1_000_000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const heights = parent.commands.filter((c) => c.command === "resize").map((c) => c.args.height);
    assert.equal(heights.length, 2);
    const [min, max] = heights;
    assert.ok(Number.isInteger(app.panel.heightPx) && app.panel.heightPx >= min && app.panel.heightPx <= max, `${app.panel.heightPx} is outside ${min}-${max}`);
  });
});

/**
 * Every operation of the `pipedrive` client (its generated v1 and v2 API files): method, path template
 * and the OAuth scopes the client declares for it (any one of them allows the call).
 */
function clientOperations() {
  const dist = fileURLToPath(new URL("node_modules/pipedrive/dist/versions/", root));
  const operations = [];
  for (const version of ["v1", "v2"]) {
    for (const file of readdirSync(`${dist}${version}/api`).filter((f) => f.endsWith(".js"))) {
      const text = readFileSync(`${dist}${version}/api/${file}`, "utf8");
      const pattern = /const localVarPath = `([^`]+)`[\s\S]*?method: '([A-Z]+)'[\s\S]*?setOAuthToObject\)\(localVarHeaderParameter, "oauth2", (\[[^\]]*\])/g;
      for (const [, path, method, scopes] of text.matchAll(pattern)) {
        const template = new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
        operations.push({ version, method, path, template, scopes: JSON.parse(scopes), file });
      }
    }
  }
  return operations;
}

/** The client operation a request seen by the emulator is (by version prefix, method and path). */
function operationOf(operations, { method, path }) {
  const [, prefix, rest] = path.match(/^(\/api\/v2|\/api\/v1|\/v1)(\/.*)$/) ?? [];
  if (!prefix) return null;
  const version = prefix === "/api/v2" ? "v2" : "v1";
  return operations.find((op) => op.version === version && op.method === method && op.template.test(rest)) ?? null;
}

describe("against the relay on the sandbox's Pipedrive", () => {
  const SECRET = "uat-pipedrive-panel-jwt-secret-0123456789abcdef";
  let sandbox;
  let relay;
  let requests;
  let operations;

  const call = async (method, path, { token, body } = {}) => {
    const headers = [["authorization", `Bearer ${token}`], ...(body ? [["content-type", "application/json"]] : [])];
    const answer = await relay.handle(method, `https://relay.example.com${path}`, headers, body ? Buffer.from(JSON.stringify(body)) : new Uint8Array());
    const text = Buffer.from(answer.body ?? []).toString("utf8");
    return { status: answer.status, json: text ? JSON.parse(text) : null };
  };

  // The walk runs once, inside the first test that needs it, so a failure in it fails tests (a failed
  // hook would only cancel them).
  let walked;
  const walk = () => (walked ??= runWalk());
  async function runWalk() {
    operations = clientOperations();
    assert.ok(operations.length > 100, `read ${operations.length} operations from the pipedrive client`);
    sandbox = await startSandbox();
    const vendors = await vendorInfo(sandbox);
    assert.equal((await sandbox.control("POST", "/__sandbox/crm/remove-spotdraft-fields")).status, 200);
    await sandbox.control("DELETE", "/__sandbox/requests");

    // The relay connected as an OAuth app would be (scopes matter for OAuth tokens), its host secret
    // where app.json says the panel's JWT secret goes.
    const config = vendorRelayConfig(sandbox, "pipedrive", vendors);
    const environment = config.environments.uat;
    const [, envName, secretsKey, host] = app.environments.uat.jwtSecret.match(/^environments\.(\w+)\.(\w+)\.(\w+)$/) ?? [];
    assert.deepEqual([envName, secretsKey], ["uat", "hostSecrets"], app.environments.uat.jwtSecret);
    environment.hostSecrets = { [host]: SECRET };
    delete environment.hostKeys;
    environment.plugin.templates = [ndaTemplate(sandbox.uat)];

    // cli.js provision: the fields made from nothing, then configured as the report says.
    const made = await new SdxRelay(config).provisionFields("uat", false);
    assert.deepEqual(made.steps.map((s) => s.action), ["created", "created", "created", "created", "created"]);
    environment.crm.fields = made.fields;
    relay = new SdxRelay(config);

    const token = pipedriveToken(SECRET, { userId: Number(vendors.pipedrive.users[0].id), companyId: Number(environment.plugin.crm.accountId) });
    const [deal] = vendors.pipedrive.deal_ids;
    const first = await call("GET", `/api/uat/deals/${deal}/sidebar`, { token });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.ok(first.json.deal.ok, JSON.stringify(first.json.deal));
    const created = await call("POST", `/api/uat/deals/${deal}/contracts`, { token, body: { templateId: ndaTemplate(sandbox.uat).templateId } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.crmSynced, true, "the contract was written to the deal's fields");
    const report = await relay.reconcile("uat");
    assert.deepEqual(report.failures, []);

    const journal = (await sandbox.control("GET", "/__sandbox/requests?service=crm")).json;
    requests = journal.filter((r) => !r.path.startsWith("/oauth/") && r.status >= 200 && r.status < 300);
  }
  after(async () => sandbox?.stop());

  test("every scope in app.json is one of Pipedrive's scope strings (as the pipedrive client names them)", async () => {
    await walk();
    const known = new Set(operations.flatMap((op) => op.scopes));
    for (const scope of [...app.scopes, ...Object.values(app.scopeAlternatives).flat()]) {
      assert.ok(known.has(scope), `"${scope}" is not a scope the pipedrive client knows (${[...known].sort().join(", ")})`);
    }
    assert.deepEqual(Object.keys(app.scopeUse).sort(), [...app.scopes].sort(), "scopeUse explains each scope");
  });

  test("the scopes cover every request the relay made to Pipedrive, and each one is needed", async () => {
    await walk();
    const kinds = new Set(requests.map((r) => `${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, "/{id}")}`));
    for (const expected of ["GET /api/v2/deals/{id}", "PATCH /api/v2/deals/{id}", "GET /api/v2/organizations/{id}", "GET /api/v2/persons/{id}", "GET /v1/deals/{id}/permittedUsers", "GET /api/v1/dealFields", "POST /api/v1/dealFields"]) {
      assert.ok(kinds.has(expected), `the walk did not exercise ${expected} (saw ${[...kinds].join(", ")})`);
    }
    const used = new Set();
    for (const request of requests) {
      const op = operationOf(operations, request);
      assert.ok(op, `${request.method} ${request.path} is no operation of the pipedrive client`);
      const granted = op.scopes.filter((scope) => app.scopes.includes(scope));
      assert.ok(granted.length > 0, `${request.method} ${request.path} needs one of ${op.scopes.join(", ")}; app.json has ${app.scopes.join(", ")}`);
      granted.forEach((scope) => used.add(scope));
      // An alternative must allow what its scope allowed here.
      for (const [scope, alternatives] of Object.entries(app.scopeAlternatives)) {
        if (granted.length === 1 && granted[0] === scope) {
          for (const alternative of alternatives) assert.ok(op.scopes.includes(alternative), `${alternative} does not allow ${request.method} ${request.path}`);
        }
      }
    }
    // base is Pipedrive's basic scope, which the relay never needs (app.json says why it is listed).
    assert.deepEqual(app.scopes.filter((scope) => scope !== "base" && !used.has(scope)), [], "scopes no request needed");
    // The per-user check is a deals request (permittedUsers); users:read is for the seller's email.
    assert.ok(used.has("users:read"), "the seller's email is read (who did it)");
  });

  test("the JWT secret goes to a host secret the relay verifies the panel's signed token with", async () => {
    await walk();
    const { deal_ids: [deal], users: [seller] } = await vendorInfo(sandbox).then((v) => v.pipedrive);
    const company = 7001;
    const good = await call("GET", `/api/uat/deals/${deal}`, { token: pipedriveToken(SECRET, { userId: Number(seller.id), companyId: company }) });
    assert.equal(good.status, 200, JSON.stringify(good.json));
    const forged = await call("GET", `/api/uat/deals/${deal}`, { token: pipedriveToken(`${SECRET}-not`, { userId: Number(seller.id), companyId: company }) });
    assert.equal(forged.status, 401);
    assert.equal(forged.json.error.message, "not authorized: the token signature does not match");
    // Every environment's secret goes to the same key as UAT's (checked above), in its own block.
    for (const [name, { jwtSecret }] of ENVIRONMENTS) assert.equal(jwtSecret.replace(`environments.${name}.`, "environments.uat."), app.environments.uat.jwtSecret, name);
  });
});
