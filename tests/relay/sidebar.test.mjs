// The sidebar's routes through the relay: configuration, contracts, preview, status, download
// and send, each scoped to the caller's deal; and the 10 requests/second limit respected.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, newDeal, startStack, stopStack, token } from "./support.mjs";

let sandbox;
let relay;
let deal;
let contract;
let nda;
before(async () => {
  ({ sandbox, relay } = await startStack());
  nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  deal = await newDeal(sandbox, "Sidebar deal");
  const reply = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { deal, templateId: nda } });
  contract = reply.json.contract;
});
after(() => stopStack({ sandbox, relay }));

const call = (method, path, body) => api(relay, method, `/api/uat/deals/${deal.id}${path}`, { bearer: token(sandbox, deal.id), body });

test("config tells the sidebar what it may offer, and nothing secret", async () => {
  const reply = await api(relay, "GET", "/api/uat/config", { bearer: token(sandbox, deal.id) });
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.json.templates, [{ templateId: nda, label: "Mutual NDA", slot: "deal" }]);
  assert.ok(reply.json.creationStages.includes("contractsent"));
  const text = JSON.stringify(reply.json);
  for (const secret of [sandbox.uat.client_secret, sandbox.uat.hmac_key, sandbox.info.crm.bearer_token]) assert.ok(!text.includes(secret));
});

test("a sidebar's first view is one call: config, the CRM's deal, its contracts and the one template's preview", async () => {
  const reply = await call("GET", "/sidebar");
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  const { config, deal: crmDeal, contracts, preview } = reply.json;
  assert.deepEqual(config.ok.templates, [{ templateId: nda, label: "Mutual NDA", slot: "deal" }]);
  assert.equal(crmDeal.ok.id, deal.id);
  assert.equal(crmDeal.ok.stage, "contractsent");
  assert.deepEqual(contracts.ok.map((c) => c.id), [contract.id]);
  assert.equal(preview.templateId, nda);
  assert.equal(typeof preview.ok.canCreate, "boolean");
  // The same answers as the calls it stands for.
  assert.deepEqual(contracts.ok, (await call("GET", "/contracts")).json);
  assert.deepEqual(config.ok, (await api(relay, "GET", "/api/uat/config", { bearer: token(sandbox, deal.id) })).json);
});

test("a part of the first view that fails carries its own error, and the rest still arrives", async () => {
  const other = await newDeal(sandbox, "First view with the CRM down");
  await sandbox.setFaults({ rules: [{ route: `GET /crm/v3/objects/deals/${other.id}*`, service: "crm", kind: "503", times: 2 }] });
  try {
    const reply = await api(relay, "GET", `/api/uat/deals/${other.id}/sidebar`, { bearer: token(sandbox, other.id) });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    assert.deepEqual(Object.keys(reply.json.deal), ["error"]);
    assert.equal(reply.json.deal.error.transient, true, JSON.stringify(reply.json.deal));
    assert.equal(typeof reply.json.deal.error.message, "string");
    assert.deepEqual(reply.json.deal.error.problems, []);
    assert.ok(reply.json.config.ok.templates.length > 0);
    assert.ok(Array.isArray(reply.json.contracts.ok));
    assert.equal(reply.json.preview, null, "no preview without the CRM's deal");
  } finally {
    await sandbox.setFaults({ rules: [] });
  }
  // Another deal's first view is refused whole: the token is bound to its record.
  const elsewhere = await api(relay, "GET", `/api/uat/deals/${other.id}/sidebar`, { bearer: token(sandbox, deal.id) });
  assert.equal(elsewhere.status, 401);
  assert.deepEqual(Object.keys(elsewhere.json), ["error"]);
  assert.equal(elsewhere.json.error.code, "unauthorized");
});

test("contracts of the deal, newest first", async () => {
  const reply = await call("GET", "/contracts");
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.json.map((c) => c.id), [contract.id]);
  assert.equal(reply.json[0].statusLabel, "Draft");
});

test("preview shows the mapped fields and every problem without creating anything", async () => {
  const ok = await call("POST", "/preview", { templateId: nda });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.canCreate, true);
  assert.equal(ok.json.request.contract_data.confidentiality_term.type, "YEARS");
  // What the CRM says counts: a closed deal with no close date and no contact there, whatever the
  // browser sends.
  const lost = await newDeal(sandbox, "Lost deal", { stage: "closedlost", closeDate: null, contact: false });
  const blocked = await api(relay, "POST", `/api/uat/deals/${lost.id}/preview`, { bearer: token(sandbox, lost.id), body: { deal, templateId: nda } });
  assert.equal(blocked.status, 200, JSON.stringify(blocked.json));
  assert.equal(blocked.json.canCreate, false);
  assert.deepEqual(blocked.json.problems.map((p) => p.path).sort(), ["contract_data.effective_date", "deal.primaryContact", "deal.stage"]);
});

test("status, download link and send to the counterparty, for this deal's contract only", async () => {
  const status = await call("GET", `/contracts/${contract.id}/status`);
  assert.equal(status.status, 200);
  assert.equal(status.json.status, "DRAFT");
  assert.ok(status.json.readAt);

  const sent = await call("POST", `/contracts/${contract.id}/send`, {});
  assert.equal(sent.status, 200, JSON.stringify(sent.json));
  assert.equal(sent.json.status, "REDLINING", "sending puts the contract in review");
  const again = await call("POST", `/contracts/${contract.id}/send`, {});
  assert.equal(again.status, 400);
  assert.match(JSON.stringify(again.json.error), /already sent to the counterparty/);

  await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to: "SIGN" });
  await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to: "EXECUTED" });
  const link = await call("POST", `/contracts/${contract.id}/download-link`);
  assert.equal(link.status, 200, JSON.stringify(link.json));
  const pdf = await fetch(link.json.url);
  assert.equal(pdf.status, 200);
  assert.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 4).toString(), "%PDF");
  assert.ok(!relay.lines.join("\n").includes(link.json.url.split("?")[1] ?? "never"), "signed URLs never reach the log");

  const other = await newDeal(sandbox, "Someone else's deal");
  const stranger = await api(relay, "GET", `/api/uat/deals/${other.id}/contracts/${contract.id}/status`, { bearer: token(sandbox, other.id) });
  assert.equal(stranger.status, 404, "another deal's contract is not found");
  const bad = await call("GET", "/contracts/123/status");
  assert.equal(bad.status, 400);
});

test("one caller's burst does not stall another deal's sidebar", async () => {
  await sandbox.setFaults({ rate_limit: true });
  const other = await newDeal(sandbox, "Patient deal");
  // 30 Create clicks from one deal's token at once (each a SpotDraft lookup that finds the deal's
  // contract): more than three seconds of SpotDraft's whole allowance.
  const burst = Promise.all(Array.from({ length: 30 }, () => call("POST", "/contracts", { templateId: nda })));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  const patient = await api(relay, "GET", `/api/uat/deals/${other.id}/contracts`, { bearer: token(sandbox, other.id) });
  const waited = Date.now() - started;
  const replies = await burst;
  await sandbox.clearFaults();
  assert.equal(patient.status, 200, JSON.stringify(patient.json));
  assert.ok(waited < 2_000, `the other deal's call took ${waited} ms (queued behind the burst it would take over 3 s)`);
  assert.ok(replies.every((r) => r.status === 200), "the burst is served too, at its share");
});

test("calls whose client has gone are dropped before they reach SpotDraft", async () => {
  const deal = await newDeal(sandbox, "Impatient deal");
  const url = `${relay.url}/api/uat/deals/${deal.id}/contracts`;
  const headers = { authorization: `Bearer ${token(sandbox, deal.id)}`, "content-type": "application/json" };
  const body = JSON.stringify({ templateId: nda });
  assert.equal((await fetch(url, { method: "POST", headers, body })).status, 201);
  const lookups = async () => (await sandbox.control("GET", "/__sandbox/requests?method=GET")).json
    .filter((r) => r.service === "spotdraft" && r.path.includes("by_external_metadata")).length;
  // The caller's window starts afresh, then twelve clicks at once: three go now (each one lookup
  // that finds the contract), the rest wait for the caller's next windows, and their clients give
  // up after 300 ms, while they still wait.
  await new Promise((resolve) => setTimeout(resolve, 1_300));
  const before = await lookups();
  const clicks = Array.from({ length: 12 }, () => {
    const client = new AbortController();
    setTimeout(() => client.abort(), 300);
    return fetch(url, { method: "POST", headers, body, signal: client.signal }).then((r) => r.status, () => "gone");
  });
  const outcomes = await Promise.all(clicks);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const reached = (await lookups()) - before;
  assert.ok(outcomes.filter((o) => o === "gone").length >= 8, JSON.stringify(outcomes));
  assert.ok(reached <= 4, `${reached} of 12 clicks reached SpotDraft; the ones whose clients had gone must not`);
  assert.ok(relay.lines.some((line) => line.includes('"status":499')), "the dropped calls are in the log");
});

test("a burst of calls stays under SpotDraft's rate limit", async () => {
  // 25 sidebars opening 25 deals the relay has not read yet: each open is a SpotDraft lookup, and
  // each from its own caller, so only the workspace's limit paces them.
  const deals = [];
  for (let i = 0; i < 25; i += 1) deals.push((await newDeal(sandbox, `Burst deal ${i}`)).id);
  await sandbox.setFaults({ rate_limit: true });
  const started = Date.now();
  const replies = await Promise.all(deals.map((id) => api(relay, "GET", `/api/uat/deals/${id}/contracts`, { bearer: token(sandbox, id) })));
  const elapsed = Date.now() - started;
  await sandbox.clearFaults();
  assert.ok(replies.every((r) => r.status === 200), JSON.stringify(replies.filter((r) => r.status !== 200).map((r) => r.json)));
  // 25 lookups at no more than 10 per window must take at least two full windows: the relay paced them.
  assert.ok(elapsed >= 2000, `paced: ${elapsed} ms`);
  // The limit is kept with a margin for network timing; a rare 429 at the edge is retried, never surfaced.
  const limited = (await sandbox.control("GET", "/__sandbox/requests")).json.filter((r) => r.status === 429 && r.fault !== "429");
  assert.ok(limited.length <= 1, `${limited.length} requests hit SpotDraft's limit`);
});
