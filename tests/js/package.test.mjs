// The built npm package (pkg/) as a consumer sees it in Node: its manifest, its files, and the
// exported API behaving as documented. Run after scripts/build.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";

const pkgDir = new URL("../../pkg/", import.meta.url);
const sdx = await import(new URL("node.js", pkgDir));

const SPEC_KEY = "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==";
const SPEC_BODY = new TextEncoder().encode('{"contract_id":19589,"activity":"CONTRACT_EXECUTED"}');
const SPEC_SIGNATURE = "c169ee44fbcb0f3dd5c364825364740bc0f21f5bd40d2e55ca5be1ee2c70229343137885d10891b98c2c4d5d5937ee0d0b7b961057960838577a25f720345b6c";

test("manifest declares exports, types, files and no side effects", () => {
  const manifest = JSON.parse(readFileSync(new URL("package.json", pkgDir), "utf8"));
  assert.equal(manifest.name, "spotdraft-crm");
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
  assert.equal(manifest.sideEffects, false);
  assert.equal(manifest.types, "./index.d.ts");
  assert.equal(manifest.exports["."].types, "./index.d.ts");
  for (const file of manifest.files) assert.ok(existsSync(new URL(file, pkgDir)), `${file} is in the package`);
});

test("the declarations are typed, not any", () => {
  const dts = readFileSync(new URL("spotdraft_crm.d.ts", pkgDir), "utf8");
  assert.match(dts, /export class SdxConfig/);
  assert.match(dts, /createForDeal\(config: SdxConfig, deal: DealInput, templateId: number\): Promise<CreateOutcome>/);
  assert.match(dts, /export interface ContractSummary/);
  const exported = dts.split("\n").filter((line) => /^\s*(export function|[a-zA-Z]+\(.*\):)/.test(line));
  const untyped = exported.filter((line) => /\bany\b/.test(line));
  assert.deepEqual(untyped, [], "no exported signature uses any");
});

test("configuration errors are Errors with a code and every problem", () => {
  assert.throws(
    () => new sdx.SdxConfig({ environment: "staging", crm: { host: "dynamics" } }),
    (error) => {
      assert.ok(error instanceof Error);
      assert.equal(error.code, "invalid_config");
      const paths = error.problems.map((p) => p.path);
      for (const path of ["environment", "crm.host", "crm.accountId", "api", "creationStages", "templates"]) {
        assert.ok(paths.includes(path), `${path} in ${paths}`);
      }
      return true;
    },
  );
});

test("a valid configuration round-trips normalised", () => {
  const config = new sdx.SdxConfig(JSON.stringify({
    environment: "production", crm: { host: "pipedrive", accountId: 99 }, api: { region: "in" },
    creationStages: ["won"], templates: [{ templateId: "7", label: "NDA", contractTypeId: 3 }],
  }));
  const json = config.toJSON();
  assert.deepEqual(json.api, { kind: "spotDraft", baseUrl: "https://api.in.spotdraft.com", region: "in" });
  assert.equal(json.crm.accountId, "99");
  assert.equal(json.templates[0].templateId, 7);
  assert.equal(config.recordKey("123"), "pipedrive:99:deal:123");
  assert.throws(() => config.recordKey("../1"), (e) => e.code === "invalid_input");
  assert.equal(config.stageAllowsCreation("won"), true);
  assert.equal(config.stageAllowsCreation(undefined), false);
});

test("webhook verification: spec vector, forgery, wrong key", () => {
  assert.doesNotThrow(() => sdx.verifyWebhook(SPEC_BODY, SPEC_SIGNATURE, SPEC_KEY));
  assert.equal(sdx.signWebhook(SPEC_BODY, SPEC_KEY), SPEC_SIGNATURE);
  const otherKey = Buffer.alloc(64, 7).toString("base64");
  assert.throws(() => sdx.verifyWebhook(SPEC_BODY, SPEC_SIGNATURE, otherKey), (e) => e.code === "invalid_signature");
  assert.throws(() => sdx.verifyWebhook(SPEC_BODY, undefined, SPEC_KEY), (e) => e.code === "invalid_signature");
  assert.throws(() => sdx.verifyWebhook(SPEC_BODY, SPEC_SIGNATURE, "%%%"), (e) => e.code === "invalid_input");
});

test("server-side clients may hold credentials in Node", () => {
  const client = new sdx.SpotDraftClient({ region: "eu", credentials: { clientId: "id", clientSecret: "secret" } });
  assert.ok(client);
  assert.throws(() => new sdx.SpotDraftClient({ baseUrl: "http://api.us.spotdraft.com" }), (e) => e.code === "invalid_input");
  assert.throws(() => new sdx.SpotDraftClient({ region: "eu", colour: "red" }), (e) => e.code === "invalid_input");
});

test("bad arguments reject with codes instead of crashing the module", async () => {
  const client = new sdx.SpotDraftClient({ baseUrl: "http://127.0.0.1:9" });
  await assert.rejects(client.status("123"), (e) => e.code === "invalid_input");
  await assert.rejects(client.templateMetadata(-1), (e) => e.code === "invalid_input");
  assert.throws(() => sdx.parseWebhook(new Uint8Array([0xff, 0x00])), (e) => e.code === "invalid_webhook");
  assert.throws(() => sdx.parseDeal({ id: 5 }), (e) => e.code === "invalid_input");
  // The instance survives all of the above.
  assert.equal(sdx.statusLabel("REDLINING"), "In review");
  assert.equal(sdx.deepLink("javascript:alert(1)", "T-9"), "https://app.spotdraft.com/contracts/v2/9");
  assert.equal(sdx.normaliseOrganizationName("  acme   widgets , inc "), "Acme Widgets, Inc.");
});

test("an unreachable SpotDraft is a network error, not a hang", async () => {
  const client = new sdx.SpotDraftClient({ baseUrl: "http://127.0.0.1:9", maxAttempts: 1, timeoutMs: 2000 });
  await assert.rejects(client.templates(), (e) => e.code === "network_error" && e.transient === true);
});

test("a WebhookVerifier keeps the key for many deliveries", () => {
  const verifier = new sdx.WebhookVerifier(SPEC_KEY);
  assert.doesNotThrow(() => verifier.verify(SPEC_BODY, SPEC_SIGNATURE));
  assert.throws(() => verifier.verify(SPEC_BODY, "00".repeat(64)), (e) => e.code === "invalid_signature");
  const body = new TextEncoder().encode(JSON.stringify({ activity: "CONTRACT_SIGNED", contract_id: 9, contract_status: "SIGN", activity_data: { timestamp: "2026-01-02T03:04:05Z" } }));
  const event = verifier.verifyAndParse(body, sdx.signWebhook(body, SPEC_KEY));
  assert.equal(event.contractId, "T-9");
  assert.throws(() => new sdx.WebhookVerifier("not base64!"), (e) => e.code === "invalid_input");
});

test("decideSync applies the relay's rule to a record the host keeps", () => {
  const observation = { contractId: "T-7", status: "SIGN", atMicros: 200_000_000, link: "https://app.spotdraft.com/contracts/v2/7" };
  const first = JSON.parse(sdx.decideSync("{}", JSON.stringify(observation)));
  assert.equal(first.outcome, "write");
  assert.equal(first.patch.status, "SIGN");
  const fields = { contractId: "T-7", status: "SIGN", statusAt: first.patch.statusAt, link: observation.link };
  assert.deepEqual(JSON.parse(sdx.decideSync(JSON.stringify(fields), JSON.stringify(observation))), { outcome: "ignore", reason: "not newer than what the record shows" });
  assert.throws(() => sdx.decideSync("{}", JSON.stringify({ ...observation, contractId: "7" })), (e) => e.code === "invalid_input");
});
