// Test support for the relay: start the real sandbox binary and the real relay server on
// ephemeral loopback ports, and speak to both over HTTP.
import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { mintToken, SpotDraftClient } from "../../pkg/node.js";
import { startRelayServer } from "../../www/relay/server.js";

const root = new URL("../../", import.meta.url).pathname;
export const SANDBOX_BIN = process.env.SANDBOX_BIN ?? join(root, "target/debug/sandbox");

export async function startSandbox(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), "relay-test-sandbox-"));
  const child = spawn(SANDBOX_BIN, ["--spotdraft-port", "0", "--crm-port", "0", "--local-testing", "--state-file", join(dir, "state.json"), ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("sandbox did not start")), 20_000);
    lines.on("line", (line) => {
      const match = line.match(/^SANDBOX_READY spotdraft=(\S+) crm=(\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ spotdraft: match[1], crm: match[2] });
      }
    });
    child.once("exit", (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  const control = async (method, path, body) => {
    const response = await fetch(`${ready.spotdraft}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
  };
  const info = (await control("GET", "/__sandbox/workspaces")).json;
  const workspace = (name) => info.workspaces.find((w) => w.name === name);
  const crmCall = async (method, path, body) => {
    const response = await fetch(`${ready.crm}${path}`, {
      method,
      headers: { authorization: `Bearer ${info.crm.bearer_token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json().catch(() => null) };
  };
  return {
    ...ready,
    id: randomUUID(),
    info,
    portal: String(info.crm.portal_id),
    uat: workspace("uat"),
    production: workspace("production"),
    control,
    crmCall,
    async setFaults(settings) {
      const reply = await control("PUT", "/__sandbox/faults", settings);
      if (reply.status !== 200) throw new Error(`faults refused: ${JSON.stringify(reply.json)}`);
    },
    async clearFaults() {
      await control("DELETE", "/__sandbox/faults");
    },
    /** Waits until every webhook delivery queued so far has been made (or dropped): the sandbox
     * counts one as pending until the relay has answered it. */
    async deliveriesDone({ timeoutMs = 30_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pending = (await control("GET", "/__sandbox/health")).json.pending_deliveries;
        if (pending === 0) return;
        if (Date.now() > deadline) throw new Error(`${pending} webhook deliveries still pending after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const SECRETS = {
  uat: "uat-demo-host-secret-0123456789abcdef",
  production: "production-demo-host-secret-fedcba9876543210",
};

/** The Mutual NDA as the relay suites configure it, from the workspace's seeded template. */
export function ndaTemplate(workspace) {
  const nda = workspace.templates.find((t) => /Non-Disclosure/.test(t.name));
  return {
    templateId: nda.id,
    label: "Mutual NDA",
    contractTypeId: nda.contract_type_id,
    fields: [
      { variable: "effective_date", source: "deal.closeDate", encoding: "date" },
      { variable: "nda_kind", value: "mutual", encoding: "enum" },
      { variable: "purpose", value: "Evaluating a commercial relationship", encoding: "string" },
      { variable: "governing_law", value: "US-DE", encoding: "enum" },
      { variable: "confidentiality_term", value: 2, encoding: "duration", unit: "YEARS" },
    ],
  };
}

/** The Master Services Agreement as the suites configure it (the demo's mapping), from the workspace's seeded template. */
export function msaTemplate(workspace) {
  const msa = workspace.templates.find((t) => /Master Services/.test(t.name));
  return {
    templateId: msa.id,
    label: "Master Services Agreement",
    contractTypeId: msa.contract_type_id,
    fields: [
      { variable: "agreement_date", source: "deal.closeDate", encoding: "date" },
      { variable: "customer_legal_name", source: "account.name", encoding: "string" },
      { variable: "contract_value", source: "deal.amount", encoding: "currency" },
      { variable: "subscription_term", value: 12, encoding: "duration", unit: "MONTHS" },
      { variable: "billing_frequency", value: "annually", encoding: "enum" },
      { variable: "auto_renewal", value: true, encoding: "boolean" },
    ],
  };
}

export function relayConfig(sandbox) {
  const block = (name, workspace) => ({
    plugin: {
      environment: name,
      crm: { host: "hubspot", accountId: sandbox.portal },
      api: { baseUrl: sandbox.spotdraft },
      creationStages: ["contractsent", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "appointmentscheduled"],
      allowedOrigins: ["http://127.0.0.1:5173"],
      templates: [ndaTemplate(workspace)],
    },
    spotdraft: { clientId: workspace.client_id, clientSecret: workspace.client_secret, hmacKey: workspace.hmac_key },
    crm: { baseUrl: sandbox.crm, token: name === "uat" ? sandbox.info.crm.bearer_token : `${sandbox.info.crm.bearer_token}-production` },
    hostSecrets: { demo: SECRETS[name], hubspot: `${name}-hubspot-host-secret-0123456789abcdef` },
    hubspotClientSecret: `${name}-hubspot-app-client-secret`,
  });
  return { environments: { uat: block("uat", sandbox.uat), production: block("production", sandbox.production) } };
}

export async function startRelay(sandbox, options = {}) {
  const lines = [];
  const stateDir = mkdtempSync(join(tmpdir(), "relay-test-state-"));
  let config = options.config ?? relayConfig(sandbox);
  // RELAY_TEST_REDIS_URL runs the same suites with the relay's shared state in Redis (keys per
  // sandbox, so suites never see each other's: not per port, which a later sandbox may reuse on
  // the same never-flushed Redis; relays on one sandbox share its keys).
  const redisUrl = options.redisUrl ?? process.env.RELAY_TEST_REDIS_URL;
  if (redisUrl) config = { ...config, shared: { keyPrefix: `test-${sandbox.id}:`, ...config.shared } };
  const server = await startRelayServer({ port: 0, stateDir, log: (line) => lines.push(line), ...options, config, redisUrl });
  return { ...server, lines, stateDir };
}

/**
 * The sandbox and a relay on it; with `webhook`, the uat workspace also delivers status webhooks to
 * the relay. `stopStack` ends both.
 */
export async function startStack({ webhook = false } = {}) {
  const sandbox = await startSandbox();
  const relay = await startRelay(sandbox);
  if (webhook) {
    const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
    await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
  }
  return { sandbox, relay };
}

export async function stopStack({ sandbox, relay } = {}) {
  await relay?.close();
  await sandbox?.stop();
}

export function token(sandbox, record, { environment = "uat", tenant = sandbox.portal, ttl = 300 } = {}) {
  return mintToken(SECRETS[environment], { host: "demo", tenant, record: String(record) }, ttl);
}

/** What HubSpot sends with hubspot.fetch: X-HubSpot-Signature-v3 over the URL it called, computed here with node:crypto. */
export function hubspotHeaders(secret, method, url, body, timestamp = Date.now()) {
  const signature = createHmac("sha256", secret).update(`${method}${url}${body}${timestamp}`).digest("base64");
  return { "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": String(timestamp) };
}

/** An HS256 JWT built here with node:crypto, independently of the core (for expired/forged cases). */
export function handMadeToken(secret, claims, header = { alg: "HS256", typ: "JWT" }) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode(header)}.${encode(claims)}`;
  const signature = createHmac("sha256", secret).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

export async function api(relay, method, path, { bearer, body } = {}) {
  const response = await fetch(`${relay.url}${path}`, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { raw: text };
  }
  return { status: response.status, json };
}

/**
 * A new HubSpot deal in the CRM emulator, with its company and primary contact associated as a
 * seller would have them; returned as the canonical deal the relay reads back from the CRM.
 */
export async function newDeal(sandbox, name = "Globex renewal", { stage = "contractsent", closeDate = "2026-09-30", contact: withContact = true } = {}) {
  const made = async (path, body) => {
    const reply = await sandbox.crmCall("POST", path, body);
    if (reply.status !== 201) throw new Error(`could not create ${path}: ${JSON.stringify(reply.json)}`);
    return String(reply.json.id);
  };
  const company = await made("/crm/v3/objects/companies", { properties: { name: "  globex   corporation ", city: "Springfield", country: "United States" } });
  const contact = withContact
    ? await made("/crm/v3/objects/contacts", { properties: { firstname: "Hank", lastname: "Scorpio", email: "hank@globex.example" } })
    : null;
  const id = await made("/crm/v3/objects/deals", {
    properties: { dealname: name, dealstage: stage, amount: "18000", deal_currency_code: "USD", ...(closeDate ? { closedate: closeDate } : {}) },
    associations: [
      { to: { id: company }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 5 }] },
      ...(contact ? [{ to: { id: contact }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 3 }] }] : []),
    ],
  });
  return {
    id,
    name,
    amount: 18000,
    currency: "USD",
    stage,
    closeDate,
    account: { id: company, name: "  globex   corporation " },
    primaryContact: contact ? { id: contact, firstName: "Hank", lastName: "Scorpio", email: "hank@globex.example" } : null,
  };
}

export function signWithKey(base64Key, body) {
  return createHmac("sha512", Buffer.from(base64Key, "base64")).update(body).digest("hex");
}

export async function deliver(relay, environment, body, signature) {
  const response = await fetch(`${relay.url}/webhooks/spotdraft/${environment}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(signature === undefined ? {} : { "X-SD-WEBHOOK-CONTENT-HASH": signature }) },
    body,
  });
  return { status: response.status, json: await response.json().catch(() => null) };
}

export async function crmFields(sandbox, dealId) {
  const reply = await sandbox.crmCall("GET", `/crm/v3/objects/deals/${dealId}?properties=spotdraft_contract_id,spotdraft_status,spotdraft_status_at,spotdraft_contract_link,spotdraft_executed_at`);
  return reply.json.properties;
}

export async function crmWrites(sandbox, dealId) {
  return (await sandbox.control("GET", `/__sandbox/crm/writes?object_id=${dealId}`)).json;
}

export async function liveContracts(sandbox, workspaceName, dealId, portal) {
  const all = (await sandbox.control("GET", "/__sandbox/contracts")).json;
  return all.filter((c) => c.workspace === workspaceName && c.external_metadata?.id === `hubspot:${portal}:deal:${dealId}` && c.status !== "VOIDED");
}

export async function eventually(check, { timeoutMs = 10_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error("condition never held");
}
