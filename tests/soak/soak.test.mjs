// Soak (short version; `SOAK_DEALS` makes it longer): many deals, several sidebars per deal clicking
// Create at once, every contract driven to completion, with 429s, 5xx, resets after processing,
// slow answers and duplicated, reordered and dropped webhooks all injected together, then a
// reconcile pass. Afterwards: one contract per deal (none missing, none twice), every CRM record equal
// to SpotDraft, no redundant CRM write, the signed PDF on each deal once, a timeline entry for every
// activity delivered and none twice, and (HubSpot) the key terms on the record. Bounded: it stops by
// itself.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { initSync } from "../../pkg/node.js";
import { api, crmWrites, startSandbox } from "../relay/support.mjs";
import { VENDORS, crmUnderTest } from "../relay/vendors.mjs";
import { everyFault } from "./faults.mjs";

const DEALS = Number(process.env.SOAK_DEALS ?? 6);
/** Which CRMs (`SOAK_CRMS=hubspot,zoho`); all four by default. */
const CRMS = (process.env.SOAK_CRMS ?? ["hubspot", ...VENDORS].join(",")).split(",").map((name) => name.trim()).filter(Boolean);
/** CRM access tokens (every CRM is connected over OAuth here) expire this often during the soak. */
const CRM_TOKEN_TTL_SECONDS = 2;
const SIDEBARS_PER_DEAL = 3;
const SAMPLE_EVERY_MS = 250;
/** The activities that make timeline entries (`crate::timeline`). */
const TIMELINE_ACTIVITIES = ["CONTRACT_CREATED", "CONTRACT_SENT_TO_COUNTERPARTY", "CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNED", "CONTRACT_EXECUTED", "CONTRACT_SIGNATURE_DECLINED", "CONTRACT_VOIDED", "CONTRACT_DELETED"];

/** The NDA's governing law as a HubSpot key term (the admin's property made first). */
async function hubspotKeyTermFields(sandbox) {
  const made = await sandbox.crmCall("POST", "/crm/v3/properties/deals", { name: "soak_governing_law", label: "Governing law", type: "string", fieldType: "text", groupName: "dealinformation" });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  return [{ keyPointer: "governing_law", field: "soak_governing_law", as: "text" }];
}

/** SpotDraft's ISO time as UTC microseconds, as the relay's references spell it. */
function micros(timestamp) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  return String(BigInt(Date.parse(`${m[1]}${m[3]}`)) * 1000n + BigInt((m[2] ?? "").padEnd(6, "0").slice(0, 6)));
}

/**
 * The relay's memory over the run (it runs in this process): RSS, JS heap and WebAssembly linear
 * memory, sampled on a timer. Reported, not asserted: memory is not deterministic, and the
 * deterministic no-growth check lives in tests/budgets/memory.test.mjs.
 */
function memorySampler() {
  const wasm = initSync().memory; // already initialised by pkg/node.js: this returns its exports
  const started = Date.now();
  const samples = [];
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    samples.push({ atMs: Date.now() - started, rssMiB: rss / 2 ** 20, heapMiB: heapUsed / 2 ** 20, wasmMiB: wasm.buffer.byteLength / 2 ** 20 });
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  timer.unref(); // a failed run must not keep the process alive
  return {
    stop() {
      clearInterval(timer);
      sample();
      const round = (n) => Math.round(n * 10) / 10;
      const peak = (key) => round(Math.max(...samples.map((s) => s[key])));
      // Ten points spread over the run, enough to tell a steady climb from warm-up.
      const series = Array.from({ length: 10 }, (_, i) => samples[Math.round((i * (samples.length - 1)) / 9)])
        .map((s) => ({ atS: round(s.atMs / 1000), rssMiB: round(s.rssMiB), heapMiB: round(s.heapMiB), wasmMiB: round(s.wasmMiB) }));
      return { samples: samples.length, peakRssMiB: peak("rssMiB"), peakWasmMiB: peak("wasmMiB"), series };
    },
  };
}

for (const crmName of CRMS) {
test(`${crmName}: ${DEALS} deals × ${SIDEBARS_PER_DEAL} sidebars under every fault at once`, { timeout: 240_000 }, async (t) => {
  const sandbox = await startSandbox();
  t.after(() => sandbox.stop());
  const keyTerms = crmName === "hubspot" ? await hubspotKeyTermFields(sandbox) : [];
  const crm = await crmUnderTest(sandbox, crmName, { crm: { attachSignedPdf: true, timeline: true, keyTerms } });
  const relay = crm.relay;
  t.after(() => relay.close());
  await sandbox.control("PUT", "/__sandbox/crm/token-ttl", { seconds: CRM_TOKEN_TTL_SECONDS });
  const deals = [];
  const memory = memorySampler();
  for (let i = 0; i < DEALS; i += 1) deals.push({ id: await crm.newDeal(`Soak deal ${i}`) });
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  await sandbox.setFaults(everyFault(1234));

  const clicks = deals.flatMap((deal) => Array.from({ length: SIDEBARS_PER_DEAL }, () =>
    api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: crm.token(deal.id), body: { templateId: nda } })));
  const replies = await Promise.all(clicks);
  const shownToSellers = replies.filter((r) => r.status >= 300).map((r) => r.json?.error?.code);

  // Drive every contract to completion on SpotDraft's side (the control API is never faulted).
  const ours = async () => (await sandbox.control("GET", "/__sandbox/contracts")).json
    .filter((c) => deals.some((d) => c.external_metadata?.id === crm.externalId(d.id)));
  for (const contract of (await ours()).filter((c) => c.status !== "VOIDED")) {
    for (const to of ["REDLINING", "SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
  }
  await sandbox.deliveriesDone();
  await sandbox.clearFaults();

  // Creates that failed for sellers are retried once the faults are gone, as a seller would.
  for (const [i, reply] of replies.entries()) {
    if (reply.status < 300) continue;
    const deal = deals[Math.floor(i / SIDEBARS_PER_DEAL)];
    const again = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: crm.token(deal.id), body: { templateId: nda } });
    assert.ok(again.status < 300, JSON.stringify(again.json));
    if (again.json.created) {
      for (const to of ["REDLINING", "SIGN", "EXECUTED"]) await sandbox.control("POST", `/__sandbox/contracts/${again.json.contract.id}/transition`, { to });
    }
  }
  await sandbox.deliveriesDone();
  const reconciled = await relay.reconcile("uat");
  assert.deepEqual(reconciled.failures, []);

  const contracts = await ours();
  const live = contracts.filter((c) => c.status !== "VOIDED");
  let equal = 0;
  let redundant = 0;
  for (const deal of deals) {
    const mine = live.filter((c) => c.external_metadata.id === crm.externalId(deal.id));
    assert.equal(mine.length, 1, `deal ${deal.id} has exactly one live contract`);
    const record = await crm.record(deal.id);
    if (record.contractId === mine[0].id && record.status === mine[0].status) equal += 1;
    redundant += (await crmWrites(sandbox, deal.id)).filter((w) => (w.changed ?? []).length === 0).length;
  }
  // The deal's files and timeline: the executed contract's PDF once; an entry for every activity the
  // relay was handed (and answered 2xx), none twice, whatever was duplicated, shuffled or dropped.
  const deliveries = (await sandbox.control("GET", "/__sandbox/deliveries")).json;
  let missingEntries = 0;
  let doubledEntries = 0;
  let files = 0;
  for (const deal of deals) {
    const mine = live.filter((c) => c.external_metadata.id === crm.externalId(deal.id));
    const seen = (await sandbox.control("GET", `/__sandbox/crm/vendors/${crmName}/deals/${deal.id}/activity`)).json;
    assert.equal(seen.files.length, 1, `deal ${deal.id}: the signed PDF once (${JSON.stringify(seen.files.map((f) => f.name))})`);
    assert.ok(seen.files[0].name.includes(`(UAT ${mine[0].id} v`), seen.files[0].name);
    files += seen.files.length;
    const refs = seen.notes.map((n) => /SpotDraft ref ([^\s<]+)/.exec(n.body)?.[1]).filter((r) => r && !r.includes("SIGNED_PDF"));
    doubledEntries += refs.length - new Set(refs).size;
    const ids = new Set(contracts.filter((c) => c.external_metadata.id === crm.externalId(deal.id)).map((c) => c.id));
    const handed = new Set(deliveries
      .filter((d) => d.result === "delivered" && d.status_code < 300 && TIMELINE_ACTIVITIES.includes(d.activity))
      .map((d) => JSON.parse(d.body))
      .filter((body) => ids.has(`T-${body.contract_id}`) && body.external_metadata?.id === crm.externalId(deal.id))
      .map((body) => `uat/T-${body.contract_id}/${body.activity}/${micros(body.activity_data.timestamp)}`));
    missingEntries += [...handed].filter((ref) => !refs.includes(ref)).length;
    if (keyTerms.length) {
      const values = await sandbox.crmCall("GET", `/crm/v3/objects/deals/${deal.id}?properties=soak_governing_law`);
      assert.equal(values.json.properties.soak_governing_law, "US-DE", `deal ${deal.id}: key terms on the record`);
    }
  }
  const requests = (await sandbox.control("GET", "/__sandbox/requests")).json;
  const faults = requests.filter((r) => r.fault).length;
  const tokenRefreshes = requests.filter((r) => r.service === "crm" && /\/(oauth2?\/(v\d\/)?token|oauth\/token)$/.test(r.path)).length;
  const report = {
    date: new Date().toISOString(),
    crm: crmName,
    crmTokenTtlSeconds: CRM_TOKEN_TTL_SECONDS,
    deals: DEALS, clicks: clicks.length, contracts: contracts.length, live: live.length, crmEqual: `${equal}/${DEALS}`, redundantWrites: redundant,
    errorsShownToSellers: shownToSellers, faultsInjected: faults, deliveries: deliveries.length,
    dropped: deliveries.filter((d) => d.result === "dropped").length, duplicates: deliveries.filter((d) => d.kind === "duplicate").length,
    crmTokenRefreshes: tokenRefreshes, signedPdfs: files, timelineEntriesMissing: missingEntries, timelineEntriesTwice: doubledEntries,
    relayMemory: memory.stop(),
  };
  console.log(JSON.stringify({ soak: report }));
  mkdirSync("results/soak", { recursive: true });
  writeFileSync(`results/soak/report-${crmName}-${DEALS}-deals.json`, `${JSON.stringify(report, null, 2)}\n`);
  assert.equal(equal, DEALS, "every CRM record equals SpotDraft's state");
  assert.equal(redundant, 0, "no redundant CRM writes");
  assert.equal(doubledEntries, 0, "no timeline entry twice");
  assert.equal(missingEntries, 0, "a timeline entry for every activity the relay acknowledged");
  assert.ok(faults > 0, "faults were injected");
  assert.ok(tokenRefreshes >= 2, `the CRM connection renewed its access token through the run (${tokenRefreshes} times)`);
});
}
