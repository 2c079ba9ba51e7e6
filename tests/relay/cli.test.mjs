// The relay's command line: webhook setup and reconciliation against the sandbox, configuration
// from a file with secrets from the environment; Pipedrive's deal webhooks for milestone creation
// (setup-crm-events) against the sandbox's Pipedrive.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { resolveEnvReferences } from "../../www/relay/config.js";
import { eventually, ndaTemplate, relayConfig, startRelay, startSandbox } from "./support.mjs";
import { vendorInfo, vendorRelayConfig } from "./vendors.mjs";

const run = promisify(execFile);
const cli = new URL("../../www/relay/cli.js", import.meta.url).pathname;
let sandbox;
let dir;
let configFile;
before(async () => {
  sandbox = await startSandbox();
  dir = mkdtempSync(join(tmpdir(), "relay-cli-"));
  const config = relayConfig(sandbox);
  config.environments.uat.spotdraft.clientSecret = "env:TEST_SD_UAT_SECRET";
  config.environments.uat.webhookUrl = "http://127.0.0.1:9/webhooks/spotdraft/uat";
  configFile = join(dir, "relay.json");
  writeFileSync(configFile, JSON.stringify(config));
});
after(() => sandbox?.stop());

const env = () => ({ ...process.env, TEST_SD_UAT_SECRET: sandbox.uat.client_secret });

test("setup-webhook fetches the key, registers the subscription and prints what to store", async () => {
  const { stdout } = await run("node", [cli, "setup-webhook", "--config", configFile, "--env", "uat"], { env: env() });
  const printed = JSON.parse(stdout);
  assert.equal(printed.hmacKey, sandbox.uat.hmac_key);
  assert.equal(printed.url, "http://127.0.0.1:9/webhooks/spotdraft/uat");
  assert.ok(printed.activities.includes("CONTRACT_EXECUTED"));
  const hooks = (await sandbox.control("GET", "/__sandbox/webhooks")).json;
  assert.ok(JSON.stringify(hooks).includes("/webhooks/spotdraft/uat"));
});

test("reconcile runs once and stores its checkpoint", async () => {
  const stateDir = join(dir, "state");
  const first = JSON.parse((await run("node", [cli, "reconcile", "--config", configFile, "--env", "uat", "--state-dir", stateDir], { env: env() })).stdout);
  assert.equal(first.failures.length, 0);
  assert.match(first.checkpoint, /^\d{4}-\d{2}-\d{2}T/);
  const second = JSON.parse((await run("node", [cli, "reconcile", "--config", configFile, "--env", "uat", "--state-dir", stateDir], { env: env() })).stdout);
  assert.ok(second.checkpoint >= first.checkpoint);
});

test("a missing secret or an invalid configuration stops the command with a clear message", async () => {
  await assert.rejects(run("node", [cli, "reconcile", "--config", configFile, "--env", "uat"], { env: { PATH: process.env.PATH } }), (error) => {
    assert.match(error.stderr, /TEST_SD_UAT_SECRET, which is not set/);
    return true;
  });
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ environments: { uat: { plugin: {} } } }));
  await assert.rejects(run("node", [cli, "reconcile", "--config", bad, "--env", "uat"]), (error) => {
    assert.match(error.stderr, /invalid configuration/);
    assert.match(error.stderr, /environments\.uat\.spotdraft: is required/);
    return true;
  });
});

test("env: references resolve from the environment, anywhere in the document", () => {
  const resolved = resolveEnvReferences({ a: ["env:X"], b: { c: "env:Y", d: "plain" } }, { X: "1", Y: "2" });
  assert.deepEqual(resolved, { a: ["1"], b: { c: "2", d: "plain" } });
  assert.throws(() => resolveEnvReferences({ a: "env:MISSING" }, {}), /a refers to environment variable MISSING/);
});

test("setup-webhook runs before the signing key exists: it needs only its own environment's client and URL", async () => {
  const config = relayConfig(sandbox);
  config.environments.uat.spotdraft.clientSecret = "env:TEST_SD_UAT_SECRET";
  config.environments.uat.spotdraft.hmacKey = "env:TEST_SD_UAT_HMAC_KEY";
  config.environments.uat.webhookUrl = "http://127.0.0.1:9/webhooks/spotdraft/uat-first";
  config.environments.production.spotdraft.hmacKey = "env:TEST_SD_PROD_HMAC_KEY";
  const file = join(dir, "first-time.json");
  writeFileSync(file, JSON.stringify(config));
  // Neither signing key is set: the one this command prints, and the other environment's.
  const { stdout } = await run("node", [cli, "setup-webhook", "--config", file, "--env", "uat"], { env: env() });
  assert.equal(JSON.parse(stdout).hmacKey, sandbox.uat.hmac_key);
  // Its own client secret is still needed, and every other command needs everything.
  await assert.rejects(run("node", [cli, "setup-webhook", "--config", file, "--env", "uat"], { env: { PATH: process.env.PATH } }), (error) => {
    assert.match(error.stderr, /environments\.uat\.spotdraft\.clientSecret refers to environment variable TEST_SD_UAT_SECRET, which is not set/);
    return true;
  });
  await assert.rejects(run("node", [cli, "provision", "--config", file, "--env", "uat", "--dry-run"], { env: env() }), (error) => {
    assert.match(error.stderr, /refers to environment variable TEST_SD_(UAT|PROD)_HMAC_KEY, which is not set/);
    return true;
  });
});

const PD_EVENTS_PASSWORD = "uat-pipedrive-events-password-0123456789";

/** The company's webhooks, as its admin's API token lists them. */
async function pipedriveWebhooks(token) {
  const answer = await fetch(`${sandbox.crm}/api/v1/webhooks`, { headers: { "x-api-token": token } });
  return (await answer.json()).data;
}

test("setup-crm-events makes Pipedrive's deal webhooks once, and a stage move reaches the relay with their credentials", async () => {
  const vendors = await vendorInfo(sandbox);
  const config = vendorRelayConfig(sandbox, "pipedrive", vendors);
  const block = config.environments.uat;
  block.plugin.templates = [{ ...ndaTemplate(sandbox.uat), createAtStages: ["4"] }];
  block.crmEvents = { pipedrive: { username: "spotdraft", password: PD_EVENTS_PASSWORD } };
  const relay = await startRelay(sandbox, { config });
  const token = vendors.pipedrive.api_token;
  try {
    // The file as an admin keeps it: the password from the environment; the relay's address is the
    // origin of SpotDraft's webhook URL (no --public-url, no http.publicUrl).
    block.crmEvents.pipedrive.password = "env:TEST_PD_EVENTS_PASSWORD";
    block.webhookUrl = `${relay.url}/webhooks/spotdraft/uat`;
    const file = join(dir, "pipedrive.json");
    writeFileSync(file, JSON.stringify(config));
    const pdEnv = { ...env(), TEST_PD_EVENTS_PASSWORD: PD_EVENTS_PASSWORD };
    const setup = async (...extra) => (await run("node", [cli, "setup-crm-events", "--config", file, "--env", "uat", ...extra], { env: pdEnv })).stdout;
    const target = `${relay.url}/crm-events/uat`;

    const dry = JSON.parse(await setup("--dry-run", "--json"));
    assert.equal(dry.subscriptionUrl, target);
    assert.equal(dry.urlSource, "environments.uat.webhookUrl");
    assert.equal(dry.connection, "oauth", "connected as the relay is, with its refresh token");
    assert.deepEqual(dry.steps.map((s) => [s.event, s.action]), [["create.deal", "wouldCreate"], ["change.deal", "wouldCreate"]]);
    assert.deepEqual(dry.templates, [{ label: ndaTemplate(sandbox.uat).label, stages: ["4"] }]);
    assert.ok(!JSON.stringify(dry).includes(PD_EVENTS_PASSWORD), "the report holds no secret");
    assert.deepEqual(await pipedriveWebhooks(token), [], "a dry run makes nothing");

    const first = await setup();
    assert.match(first, /create\.deal: created \(webhook \d+\)/);
    assert.match(first, /change\.deal: created \(webhook \d+\)/);
    assert.match(first, /is created at stage 4/);
    assert.ok(!first.includes(PD_EVENTS_PASSWORD));
    const again = JSON.parse(await setup("--json"));
    assert.deepEqual(again.steps.map((s) => [s.event, s.action]), [["create.deal", "exists"], ["change.deal", "exists"]]);

    const hooks = await pipedriveWebhooks(token);
    assert.equal(hooks.length, 2, "running it twice made each webhook once");
    for (const hook of hooks) {
      assert.equal(hook.subscription_url, target);
      assert.equal(hook.event_object, "deal");
      assert.equal(hook.version, "2.0");
      assert.equal(hook.http_auth_user, "spotdraft");
    }
    const change = hooks.find((hook) => hook.event_action === "change");
    assert.deepEqual(again.steps.map((s) => s.webhookId).sort(), hooks.map((h) => h.id).sort());

    // A seller moves a deal to the milestone in Pipedrive: the change.deal webhook calls the relay
    // with its credentials, the relay accepts them and creates the contract.
    // (A new deal is a copy of the first, already at stage 4: it first goes back to stage 1.)
    const made = await sandbox.control("POST", "/__sandbox/crm/vendors/pipedrive/deals", { name: "Milestone through setup-crm-events" });
    const dealId = made.json.id;
    const deliveries = async (atLeast) => eventually(async () => {
      const list = (await sandbox.control("GET", `/__sandbox/crm/vendors/pipedrive/event-deliveries?deal=${dealId}`)).json;
      return list.length >= atLeast && list.every((d) => d.status !== null) ? list : null;
    }, { timeoutMs: 20_000 });
    const externalId = `pipedrive:${vendors.pipedrive.company_id}:deal:${dealId}`;
    const contracts = async () => (await sandbox.control("GET", "/__sandbox/contracts")).json.filter((c) => c.workspace === "uat" && c.external_metadata?.id === externalId);
    for (const stage of [1, 4]) {
      const moved = await sandbox.control("PATCH", `/__sandbox/crm/vendors/pipedrive/deals/${dealId}`, { fields: { stage_id: stage } });
      assert.equal(moved.status, 200, JSON.stringify(moved.json));
      const sent = await deliveries(stage === 1 ? 1 : 2);
      const last = sent.at(-1);
      assert.ok(sent.every((d) => d.webhook_id === change.id), "only the change.deal webhook calls");
      assert.equal(last.url, target);
      assert.equal(last.headers.Authorization, `Basic ${Buffer.from(`spotdraft:${PD_EVENTS_PASSWORD}`).toString("base64")}`);
      assert.equal(last.status, 200, last.body);
      const meta = JSON.parse(last.body).meta;
      assert.deepEqual([meta.version, meta.entity, meta.action, meta.entity_id, meta.company_id], ["2.0", "deal", "change", dealId, vendors.pipedrive.company_id]);
      if (stage === 1) assert.equal((await contracts()).length, 0, "not the milestone: nothing created");
    }
    await eventually(async () => (await contracts()).length === 1, { timeoutMs: 20_000 });

    // New credentials in the configuration: the webhooks with the old ones are replaced.
    const rotated = `${PD_EVENTS_PASSWORD}-rotated`;
    const replaced = JSON.parse((await run("node", [cli, "setup-crm-events", "--config", file, "--env", "uat", "--json"], { env: { ...pdEnv, TEST_PD_EVENTS_PASSWORD: rotated } })).stdout);
    assert.deepEqual(replaced.steps.map((s) => [s.event, s.action]).sort(), [["change.deal", "created"], ["change.deal", "deleted"], ["create.deal", "created"], ["create.deal", "deleted"]]);
    const now = await pipedriveWebhooks(token);
    assert.equal(now.length, 2);
    assert.ok(now.every((hook) => hook.http_auth_password === rotated && !hooks.some((old) => old.id === hook.id)));
    for (const hook of now) await fetch(`${sandbox.crm}/api/v1/webhooks/${hook.id}`, { method: "DELETE", headers: { "x-api-token": token } });
  } finally {
    await relay.close();
  }
});

test("setup-crm-events says what to set up in the CRM where a command cannot (HubSpot), and needs crmEvents for Pipedrive", async () => {
  const { stdout } = await run("node", [cli, "setup-crm-events", "--config", configFile, "--env", "uat", "--public-url", "https://relay.example.com"], { env: env() });
  assert.match(stdout, /hubspot \(uat\): nothing for this command to create; the CRM's calls go to https:\/\/relay\.example\.com\/crm-events\/uat/);
  assert.match(stdout, /targetUrl to https:\/\/relay\.example\.com\/crm-events\/uat/);
  assert.match(stdout, /No template has createAtStages yet/);

  const vendors = await vendorInfo(sandbox);
  const config = vendorRelayConfig(sandbox, "pipedrive", vendors);
  const file = join(dir, "pipedrive-no-events.json");
  writeFileSync(file, JSON.stringify(config));
  await assert.rejects(run("node", [cli, "setup-crm-events", "--config", file, "--env", "uat", "--public-url", "https://relay.example.com"], { env: env() }), (error) => {
    assert.match(error.stderr, /environments\.uat\.crmEvents\.pipedrive is required/);
    return true;
  });
  await assert.rejects(run("node", [cli, "setup-crm-events", "--config", file, "--env", "uat"], { env: env() }), (error) => {
    assert.match(error.stderr, /the relay's public address is not known/);
    return true;
  });
});
