// The relay's command line: webhook setup and reconciliation against the sandbox, configuration
// from a file with secrets from the environment.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { resolveEnvReferences } from "../../www/relay/config.js";
import { relayConfig, startSandbox } from "./support.mjs";

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
