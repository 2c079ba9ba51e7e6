// Reconciliation is exact: a record it failed to repair stays due until it is repaired (the
// checkpoint never passes a failure), and the checkpoint file survives two writers and says so
// loudly when it is damaged.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkpointStore } from "../../www/relay/server.js";
import { api, crmFields, eventually, newDeal, startStack, stopStack, token } from "./support.mjs";

let sandbox;
let relay;
before(async () => ({ sandbox, relay } = await startStack()));
after(() => stopStack({ sandbox, relay }));

test("a CRM failure during a pass keeps the checkpoint, and the next pass repairs the record", async () => {
  const deal = await newDeal(sandbox, "Reconcile deal");
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  const created = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { templateId: nda } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const clean = await relay.reconcile("uat");
  assert.deepEqual(clean.failures, []);
  const stored = await relay.store.read("uat");
  assert.equal(stored, clean.checkpoint);

  // No webhooks in this stack: SpotDraft moves on and the CRM is left behind.
  await sandbox.control("POST", `/__sandbox/contracts/${created.json.contract.id}/transition`, { to: "SIGN" });
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "DRAFT");
  await sandbox.setFaults({ rules: [{ route: `PATCH /crm/v3/objects/deals/${deal.id}*`, service: "crm", kind: "503", times: 1 }] });
  const failed = await relay.reconcile("uat");
  await sandbox.clearFaults();
  assert.equal(failed.failures.length, 1, JSON.stringify(failed));
  assert.equal(failed.checkpoint, stored, "the checkpoint did not move past the failed record");
  assert.equal(await relay.store.read("uat"), stored);
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "DRAFT");

  const repaired = await relay.reconcile("uat");
  assert.deepEqual(repaired.failures, []);
  assert.ok(repaired.recordsRepaired >= 1, JSON.stringify(repaired));
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_status, "SIGN");
  assert.notEqual(await relay.store.read("uat"), stored, "now it moves on");
});

test("a deal left with two live contracts (its creator died before settling) keeps the oldest after reconcile", async () => {
  const deal = await newDeal(sandbox, "Twice created deal");
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  const preview = await api(relay, "POST", `/api/uat/deals/${deal.id}/preview`, { bearer: token(sandbox, deal.id), body: { templateId: nda } });
  assert.equal(preview.status, 200, JSON.stringify(preview.json));
  // Two creates that reached SpotDraft with no settling after them, as two instances that raced and died would leave.
  const create = async () => {
    const response = await fetch(`${sandbox.spotdraft}/api/v2.1/public/contracts/`, {
      method: "POST",
      headers: { "content-type": "application/json", "client-id": sandbox.uat.client_id, "client-secret": sandbox.uat.client_secret },
      body: JSON.stringify(preview.json.request),
    });
    assert.equal(response.status, 201);
    return response.json();
  };
  const older = await create();
  const newer = await create();
  const live = async () => (await sandbox.control("GET", "/__sandbox/contracts")).json
    .filter((c) => c.external_metadata?.id === `hubspot:${sandbox.portal}:deal:${deal.id}` && c.status !== "VOIDED").map((c) => c.id);
  assert.deepEqual((await live()).sort(), [older.id, newer.id].sort());
  const report = await relay.reconcile("uat");
  assert.deepEqual(report.failures, []);
  assert.deepEqual(await live(), [older.id], "the newer one is voided");
  assert.equal((await crmFields(sandbox, deal.id)).spotdraft_contract_id, older.id, "and the record shows the one kept");
});

test("two processes writing the checkpoint at once: every write lands whole, every read parses", async () => {
  const dir = mkdtempSync(join(tmpdir(), "checkpoint-"));
  const writer = (n) => new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", `
      import { checkpointStore } from ${JSON.stringify(new URL("../../www/relay/server.js", import.meta.url).href)};
      const store = checkpointStore(${JSON.stringify(dir)});
      for (let i = 0; i < 300; i += 1) store.write("uat", new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60, ${n})).toISOString());
    `], { stdio: ["ignore", "ignore", "pipe"] });
    let errors = "";
    child.stderr.on("data", (chunk) => { errors += chunk; });
    child.once("exit", (code) => resolve({ code, errors }));
  });
  const store = checkpointStore(dir);
  const running = [writer(1), writer(2)];
  let reads = 0;
  let done = false;
  Promise.all(running).then(() => { done = true; });
  while (!done) {
    const value = store.read("uat");
    assert.ok(value === null || !Number.isNaN(Date.parse(value)), `read ${value}`);
    reads += 1;
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const { code, errors } of await Promise.all(running)) assert.equal(code, 0, errors);
  assert.ok(reads > 0);
  assert.match(store.read("uat"), /^2026-01-01T/);
});

test("a damaged checkpoint is a loud error, not a silent full re-listing", () => {
  const dir = mkdtempSync(join(tmpdir(), "checkpoint-"));
  const store = checkpointStore(dir);
  assert.equal(store.read("uat"), null, "none yet: a first pass lists everything");
  store.write("uat", "2026-11-30T10:00:00Z");
  writeFileSync(join(dir, "reconcile-uat.json"), '{"checkpoint": "2026-11-3');
  assert.throws(() => store.read("uat"), /not valid JSON \(truncated or corrupt\)/);
  writeFileSync(join(dir, "reconcile-uat.json"), '{"checkpoint": 42}');
  assert.throws(() => store.read("uat"), /not a time/);
});

test("two reconcile passes never overlap; a lock left by a killed pass is taken over", async () => {
  const dir = mkdtempSync(join(tmpdir(), "checkpoint-"));
  const store = checkpointStore(dir);
  let release;
  const first = store.withLock("uat", () => new Promise((resolve) => { release = resolve; }));
  await assert.rejects(store.withLock("uat", async () => "second"), /another reconcile pass for uat is running/);
  release("first");
  assert.equal(await first, "first");
  assert.equal(await store.withLock("uat", async () => "after"), "after");
  writeFileSync(join(dir, "reconcile-uat.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, since: Date.now() }));
  assert.equal(await store.withLock("uat", async () => "taken over"), "taken over");
});
