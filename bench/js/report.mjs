// Assembles results/bench/raw/*.json into results/bench/report.json and report.md: medians and
// min–max over repeated runs, comparisons as ratios of medians measured in the same run.
//   node bench/js/report.mjs <results dir>
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

const dir = process.argv[2] ?? "results/bench";
const raw = (name) => {
  const file = join(dir, "raw", `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const stats = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values.length });
const ms = (value) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const range = (s, unit = " ms") => `${ms(s.median)}${unit} (${ms(s.min)}–${ms(s.max)})`;
const int = (n) => Math.round(n).toLocaleString("en-US");
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const ratio = (a, b) => (b ? a / b : null);
const metText = (met) => (met ? "met" : "not met");
// tests/budgets/payload.test.mjs holds the same numbers.
const PAYLOAD_BUDGET_BYTES = 70 * 1024;
const PAYLOAD_AIM_BYTES = 60 * 1024;

function cpuModel() {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    return line ? line.split(":")[1].trim() : cpus()[0]?.model;
  } catch {
    return cpus()[0]?.model;
  }
}

const report = {
  date: new Date().toISOString(),
  machine: { cpu: cpuModel(), cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
};
const md = [];
md.push(`# spotdraft-crm benchmarks`, "", `${report.date} · ${report.machine.cores} cores (${report.machine.cpu}), ${report.machine.memoryGiB} GiB · Node ${report.machine.node}`, "");

const sizes = raw("sizes");
if (sizes) {
  report.payload = sizes;
  md.push("## 1. Payload", "", "| file | bytes | gzip -9 | served gzip | served brotli |", "|---|---:|---:|---:|---:|");
  const served = (a, key) => (a[key] === undefined ? "" : int(a[key]));
  for (const a of [...sizes.artifacts, ...sizes.sidebarPage.perFile]) md.push(`| \`${a.file}\` | ${int(a.bytes)} | ${int(a.gzip9)} | ${served(a, "gzip")} | ${served(a, "brotli")} |`);
  // The budget counts what a browser that takes gzip is sent (the build's zopfli .gz for the wasm,
  // the server's gzip -9 for index.html); zlib's own -9 of the same files is reported beside it.
  const page = sizes.sidebarPage;
  const total = page.gzip;
  report.payloadBudget = { gzip: total, gzip9: page.gzip9, brotli: page.brotli, budgetBytes: PAYLOAD_BUDGET_BYTES, aimBytes: PAYLOAD_AIM_BYTES, met: total <= PAYLOAD_BUDGET_BYTES, aimMet: total <= PAYLOAD_AIM_BYTES };
  md.push("", `Built sidebar page before its first view (dist/sidebar/: index.html with the page's module and styles inline, and the wasm; the per-CRM adapters not counted): **${int(total)} bytes served as gzip** (${kib(total)}; zlib -9 of the same files ${int(page.gzip9)}; ${int(page.brotli)} bytes as brotli, which browsers are sent); `
    + `budget 70 KB: **${metText(report.payloadBudget.met)}**; aim 60 KB: **${metText(report.payloadBudget.aimMet)}**.`, "");
  for (const profile of sizes.profiles) {
    if (profile.error) continue;
    md.push(`Code bytes by crate in \`${profile.file}\` (${profile.stage ?? "cargo output"}; ${int(profile.codeBytes)} code bytes in ${int(profile.functions)} functions; generic code is charged to the crate that defines it, and exported functions' shims carry the bodies inlined into them):`, "");
    md.push("| crate | code bytes | share |", "|---|---:|---:|");
    for (const row of profile.byCrate.slice(0, 12)) md.push(`| ${row.crate} | ${int(row.codeBytes)} | ${(row.share * 100).toFixed(1)}% |`);
    md.push("");
  }
}

const start = raw("cold-start");
if (start) {
  // Medians over the same run's alternating loads; a delta is a difference of medians.
  const phase = (results, budgetMs) => {
    const empty = stats(results.empty.loadedMs);
    const firstView = stats(results.sidebar.firstViewMs);
    const ready = stats(results.sidebar.readyMs);
    const readyDelta = ready.median - empty.median;
    return { emptyPageLoaded: empty, sidebarFirstView: firstView, sidebarReady: ready, firstViewDeltaMs: firstView.median - empty.median, readyDeltaMs: readyDelta, budgetDeltaMs: budgetMs, met: readyDelta <= budgetMs };
  };
  report.coldStart = {
    loads: start.loads, cold: phase(start.cold, start.budgets.coldMs), warm: phase(start.warm, start.budgets.warmMs), requests: start.requests,
    wasm: Object.fromEntries(Object.entries(start.wasm).map(([file, t]) => [file, { compile: stats(t.compileMs), instantiate: stats(t.instantiateMs) }])),
    errors: start.errors,
  };
  const signed = (value) => `${value >= 0 ? "+" : "−"}${ms(Math.abs(value))} ms`;
  md.push("## 2. Start (headless Chromium, stub relay; cold: fresh context per load; warm: the same page again in that context)", "");
  md.push(`| measure | cold: median (min–max) | warm: median (min–max) |`, "|---|---:|---:|");
  const { cold, warm } = report.coldStart;
  md.push(`| empty page in the same parent (iframe load event) | ${range(cold.emptyPageLoaded)} | ${range(warm.emptyPageLoaded)} |`);
  md.push(`| sidebar: first rendered view model | ${range(cold.sidebarFirstView)} | ${range(warm.sidebarFirstView)} |`);
  md.push(`| sidebar: first view with the deal's contracts | ${range(cold.sidebarReady)} | ${range(warm.sidebarReady)} |`);
  md.push(`| first view − empty page | ${signed(cold.firstViewDeltaMs)} | ${signed(warm.firstViewDeltaMs)} |`);
  md.push(`| contracts shown − empty page | **${signed(cold.readyDeltaMs)}** | **${signed(warm.readyDeltaMs)}** |`);
  md.push(`| budget: contracts shown ≤ empty page + | ${cold.budgetDeltaMs} ms: **${metText(cold.met)}** | ${warm.budgetDeltaMs} ms: **${metText(warm.met)}** |`);
  for (const [file, t] of Object.entries(report.coldStart.wasm)) {
    md.push(`| \`${file}\`: WebAssembly.compile (bytes in memory) | ${range(t.compile)} | |`, `| \`${file}\`: instantiate + start | ${range(t.instantiate)} | |`);
  }
  const once = start.requests.coldWasm.every((n) => n === 1);
  const cached = start.requests.warmAssets.every((n) => n === 0);
  const oneCall = (start.requests.coldRelayCalls ?? []).every((n) => n === 1);
  md.push("", `${start.loads} loads of each, empty and sidebar alternating; times from the parent page's navigation start. The built page is served by the relay's own handler (hashed files immutable, index.html revalidated, br/gzip). `
    + `Cold, the wasm reached the server ${once ? "once per load (the preload was used)" : `${start.requests.coldWasm.join("/")} times per load (NOT once: the preload was not used)`}; `
    + `the relay was called ${oneCall ? "once per load (the first view)" : `${start.requests.coldRelayCalls.join("/")} times per load (NOT once)`}; `
    + `warm, ${cached ? "no hashed file did (all from the HTTP cache)" : `hashed files did: ${start.requests.warmAssets.join("/")} per load`}. `
    + (start.errors.length ? `Errors: ${start.errors.join("; ")}` : "No failed loads."), "");
}

const native = raw("webhook-native");
const node = raw("webhook-node");
if (native && node) {
  const rate = (runsMs, events) => stats(runsMs.map((t) => events / (t / 1000)));
  const a = rate(native.fullMs, native.events);
  const b = rate(node.wasm.fullMs, node.events);
  const c = rate(node.baseline.fullMs, node.events);
  const aParse = rate(native.verifyParseMs, native.events);
  const bParse = rate(node.wasm.verifyParseMs, node.events);
  const cParse = rate(node.baseline.verifyParseMs, node.events);
  const same = JSON.stringify(native.tally) === JSON.stringify(Object.fromEntries(Object.entries(node.wasm.tally).sort())) || (
    ["rejected", "ignored", "writes", "unchanged"].every((k) => native.tally[k] === node.wasm.tally[k] && node.wasm.tally[k] === node.baseline.tally[k]));
  report.webhook = { events: native.events, tally: native.tally, talliesAgree: same, native: a, wasm: b, baseline: c, nativeVerifyParse: aParse, wasmVerifyParse: bParse, baselineVerifyParse: cParse,
    ratioWasmToNative: ratio(b.median, a.median), ratioWasmToBaseline: ratio(b.median, c.median) };
  const eps = (s) => `${int(s.median)} (${int(s.min)}–${int(s.max)})`;
  md.push("## 3. Webhook path (10,000 events, 1–4 KB, mixed activities)", "");
  md.push("| runtime | verify + parse + sync decision, events/s | verify + parse only, events/s |", "|---|---:|---:|");
  md.push(`| (a) core, native (release) | ${eps(a)} | ${eps(aParse)} |`);
  md.push(`| (b) core as wasm in Node (decision in JS, see notes) | ${eps(b)} | ${eps(bParse)} |`);
  md.push(`| (c) node:crypto + JSON.parse baseline | ${eps(c)} | ${eps(cParse)} |`);
  md.push("", `(b)/(a) = **${ratio(b.median, a.median).toFixed(2)}** (goal ≥ 0.5: **${metText(ratio(b.median, a.median) >= 0.5)}**), (b)/(c) = **${ratio(b.median, c.median).toFixed(2)}** (goal ≥ 1: **${metText(ratio(b.median, c.median) >= 1)}**). Verify + parse only: (b)/(a) = ${ratio(bParse.median, aParse.median).toFixed(2)}, (b)/(c) = ${ratio(bParse.median, cParse.median).toFixed(2)}.`);
  md.push(`All three reach the same outcome for every event (${same ? "tallies agree" : "TALLIES DIFFER"}: ${JSON.stringify(native.tally)}).`, "");
}

const overhead = raw("relay-overhead");
if (overhead) {
  report.relayOverhead = overhead;
  md.push("## 4. Relay overhead (loopback, sandbox with no injected latency, relay in its own process)", "");
  // Rounds: each a full load at that concurrency; shown as the median of the rounds' p50 and p99
  // (min–max of the rounds in brackets), and the relay's cost as the median of per-round differences.
  const across = (rounds, key) => stats(rounds.map((r) => r[key]));
  const added = (calls, key) => stats(calls.viaRelay.map((r, i) => r[key] - calls.direct[i][key]));
  report.relayOverheadSummary = {};
  md.push(`${overhead.rounds} rounds per row; each cell is the median of the rounds with their min–max.`, "");
  md.push("| clients | call | direct p50 | via relay p50 | added p50 | added p99 |", "|---:|---|---:|---:|---:|---:|");
  for (const [clients, calls] of Object.entries(overhead.latency)) {
    for (const [call, rounds] of Object.entries(calls)) {
      const row = { directP50: across(rounds.direct, "p50"), viaRelayP50: across(rounds.viaRelay, "p50"), addedP50: added(rounds, "p50"), addedP99: added(rounds, "p99") };
      report.relayOverheadSummary[`${clients}/${call}`] = row;
      md.push(`| ${clients} | ${call} | ${range(row.directP50)} | ${range(row.viaRelayP50)} | ${range(row.addedP50)} | ${range(row.addedP99)} |`);
    }
  }
  md.push("", "Sidebar call = the deal's contracts (one SpotDraft lookup upstream); its latency through the relay is dominated by the relay's SpotDraft rate limit (10 requests per 1.2 s per workspace), by design. Webhook = a signed redelivery older than the record (one CRM read upstream).", "");
  md.push("| concurrent deliveries | webhooks/s | relay CPU (share of one core) | relay RSS (last round) |", "|---:|---:|---:|---:|");
  const levels = [...new Set(overhead.saturation.map((level) => level.clients))];
  for (const clients of levels) {
    const rounds = overhead.saturation.filter((level) => level.clients === clients);
    const perSecond = stats(rounds.map((r) => r.webhooksPerSecond));
    const cpu = stats(rounds.map((r) => r.relayCpuShareOfOneCore * 100));
    md.push(`| ${clients} | ${int(perSecond.median)} (${int(perSecond.min)}–${int(perSecond.max)}) | ${cpu.median.toFixed(0)}% (${cpu.min.toFixed(0)}–${cpu.max.toFixed(0)}%) | ${mib(rounds.at(-1).relayRssBytes)} |`);
  }
  md.push("");
}

const requests = raw("requests");
const sidebarCounts = raw("sidebar-counts");
if (requests) {
  report.requestsPerJob = { ...requests, sidebarPerHour: sidebarCounts };
  md.push("## 5. SpotDraft requests per job (deterministic; checked by the test command)", "", "| job | requests | what |", "|---|---:|---|");
  const row = (name, job) => md.push(`| ${name} | ${job.count} | ${job.requests.map((r) => r.replace(/by_external_metadata\/[^ ]+/, "by_external_metadata/…")).join("; ")} |`);
  row("create, first for this template", requests.createCold);
  row("create, template seen < 5 min ago", requests.createWarm);
  row("create on a deal that already has a contract", requests.createAgain);
  row("sidebar refresh (the deal's contracts)", requests.sidebarRefresh);
  row("status read", requests.statusRead);
  if (sidebarCounts) {
    md.push(`| open sidebar, executed contract, per hour | ${sidebarCounts.openExecuted} | no refresh once every contract is Executed or Voided |`);
    md.push(`| hidden sidebar, live contract, per hour | ${sidebarCounts.hiddenLive} | no refresh while hidden |`);
    md.push(`| open sidebar, live contract, per hour (for scale) | ${sidebarCounts.openLive} | 15 s, 30 s, 60 s, then every 2 min |`);
  }
  md.push("");
}

const reconcile = raw("reconcile");
if (reconcile) {
  report.reconcile = reconcile.map((r) => ({ ...r, wall: stats(r.wallMs) }));
  md.push("## 6. Reconcile scaling (1% changed since the checkpoint; in-memory SpotDraft and CRM, native)", "");
  md.push("| deals | changed | SpotDraft requests | CRM reads + writes | wall time (median, min–max) | rate-limit wait in production |", "|---:|---:|---:|---:|---:|---:|");
  for (const r of report.reconcile) md.push(`| ${int(r.deals)} | ${int(r.changed)} | ${r.spotdraftRequests} | ${r.crmReads} + ${r.crmWrites} | ${range(r.wall)} | ${(r.rateLimitWaitMs / 1000).toFixed(1)} s |`);
  md.push("");
}

const memory = raw("memory");
if (memory) {
  report.memory = memory;
  md.push(`## 7. Memory (${int(memory.total)} webhook deliveries through SdxRelay.handle in-process, stub fetch)`, "");
  md.push("| | wasm linear memory | process RSS | JS heap used (after GC) |", "|---|---:|---:|---:|");
  md.push(`| before (after ${int(memory.warmUp)} warm-up deliveries) | ${mib(memory.before.wasmLinearBytes)} | ${mib(memory.before.rssBytes)} | ${mib(memory.before.jsHeapUsedBytes)} |`);
  for (const s of memory.snapshots.filter((_, i, all) => i === Math.floor(all.length / 2) - 1)) md.push(`| after ${int(s.events)} | ${mib(s.wasmLinearBytes)} | ${mib(s.rssBytes)} | ${mib(s.jsHeapUsedBytes)} |`);
  md.push(`| after ${int(memory.total)} | ${mib(memory.after.wasmLinearBytes)} | ${mib(memory.after.rssBytes)} | ${mib(memory.after.jsHeapUsedBytes)} |`);
  md.push("", `${int(memory.eventsPerSecond)} deliveries/s in-process; outcomes ${JSON.stringify(memory.statusCounts)}.`, "");
}

const scale = raw("scale");
if (scale) {
  // One row per measure, one column per instance count: the median of that configuration's rounds
  // with their min–max. Throughput rows also compare the configurations as ratios of medians (2/1,
  // 3/1), measured in the same run with the configurations taking turns. Older runs have no
  // scale.json, and no such section.
  const { settings, configurations } = scale;
  const counts = configurations.map((c) => c.instances);
  const [base, ...more] = counts;
  const rows = {};
  const table = [];
  /** A row from `pick(round)`, shown with `format` and `unit`; `ratios` adds n/1 of the medians. */
  const row = (key, label, pick, { format = ms, unit = " ms", ratios = false } = {}) => {
    const cells = {};
    for (const configuration of configurations) {
      const values = configuration.rounds.map(pick).filter(Number.isFinite);
      cells[configuration.instances] = values.length > 0 ? stats(values) : null;
    }
    const compared = ratios ? Object.fromEntries(more.map((n) => [`${n}/${base}`, cells[n] && cells[base] ? ratio(cells[n].median, cells[base].median) : null])) : null;
    rows[key] = { label, ...cells, ...(compared ? { ratios: compared } : {}) };
    const shown = counts.map((n) => (cells[n] ? `${format(cells[n].median)}${unit} (${format(cells[n].min)}–${format(cells[n].max)})` : "—"));
    const ratioCells = more.map((n) => (compared?.[`${n}/${base}`] ? `**${compared[`${n}/${base}`].toFixed(2)}**` : ""));
    table.push(`| ${label} | ${[...shown, ...ratioCells].join(" | ")} |`);
  };
  const twoPlaces = (v) => v.toFixed(2);
  const percent = (v) => (v * 100).toFixed(0);

  row("deliveriesPerSecond", `webhook deliveries/s, ${settings.throughputSenders} concurrent (mix)`, (r) => r.throughput.deliveriesPerSecond, { format: int, unit: "", ratios: true });
  row("deliveriesPerRelayCoreSecond", "deliveries per relay-core-second", (r) => r.throughput.deliveriesPerRelayCoreSecond, { format: int, unit: "", ratios: true });
  row("relayCores", "relay CPU, cores (all instances)", (r) => r.throughput.relayCores, { format: twoPlaces, unit: "" });
  row("machineBusy", `machine CPU busy, share of ${settings.cores ?? "all"} cores`, (r) => r.throughput.machineBusyShare, { format: percent, unit: "%" });
  row("otherCores", "CPU used by processes outside the run, cores", (r) => r.throughput.otherProcessesCores, { format: twoPlaces, unit: "" });
  row("failedDeliveries", "failed deliveries per window", (r) => r.throughput.failures, { format: int, unit: "" });
  row("firstsAnswered", `last of the ${settings.firstDeliveriesPerWindow} first deliveries answered after`, (r) => r.throughput.byKind.first?.max);
  for (const c of settings.latencyConcurrency) {
    row(`webhookAddedP50@${c}`, `webhook added p50, ${c} concurrent`, (r) => r.webhookLatency[c].added.p50);
    row(`webhookAddedP99@${c}`, `webhook added p99, ${c} concurrent`, (r) => r.webhookLatency[c].added.p99);
  }
  for (const c of settings.sidebarConcurrency) {
    for (const temperature of ["cold", "warm"]) {
      const phase = (r) => r.sidebar[c][temperature];
      const name = `sidebar open, ${temperature}, ${c} at once`;
      row(`${temperature}OpenP50@${c}`, `${name}: p50`, (r) => phase(r).viaRelay.p50);
      row(`${temperature}OpenP99@${c}`, `${name}: p99`, (r) => phase(r).viaRelay.p99);
      row(`${temperature}OpenAddedP50@${c}`, `${name}: added p50`, (r) => phase(r).added.p50);
      row(`${temperature}OpenSpotDraftRequests@${c}`, `${name}: SpotDraft requests per open`, (r) => phase(r).spotdraftRequests / phase(r).viaRelay.n, { format: twoPlaces, unit: "" });
    }
  }
  report.scaleOut = scale;
  report.scaleOutSummary = { rounds: scale.rounds, settings, rows };

  const peak = Math.max(...configurations.flatMap((c) => c.rounds.map((r) => r.throughput.spotdraftPeakPerSecond ?? 0)));
  md.push("## 8. Scale-out (relay instances on one Redis behind a round-robin proxy; loopback sandbox, no faults)", "");
  md.push(`${scale.rounds} round${scale.rounds === 1 ? "" : "s"} per configuration, the configurations taking turns; each cell is the median of the rounds with their min–max. Throughput: ${settings.throughputSenders} senders for ${settings.throughputSeconds} s per round.`, "");
  md.push(`| measure | ${counts.map((n) => `${n} instance${n > 1 ? "s" : ""}`).join(" | ")} | ${more.map((n) => `${n}/${base}`).join(" | ")} |`);
  md.push(`|---|${[...counts, ...more].map(() => "---:").join("|")}|`);
  md.push(...table);
  md.push("", `Deliveries: ${settings.firstDeliveriesPerWindow} first deliveries of a status SpotDraft just moved to (CRM read, confirming SpotDraft read, CRM write), then byte-identical redeliveries (answered from the shared applied set) alternating with late deliveries of older activities (CRM read, ignored). `
    + "Added = via proxy and relay minus the one upstream request made directly (webhook: the CRM read; sidebar: the SpotDraft listing), per round; it includes the proxy hop. "
    + `First deliveries and sidebar opens that reach SpotDraft wait for the relay's allowance (10 requests per 1.2 s per workspace, shared by every instance through Redis), which more instances do not raise; most SpotDraft requests arriving in any one second of a throughput window: ${peak} (SpotDraft allows 10). `
    + "Load generator, proxies, relays, sandbox and Redis share the machine's cores.", "");
}

writeFileSync(join(dir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(dir, "report.md"), `${md.join("\n")}\n`);
console.log(md.join("\n"));
