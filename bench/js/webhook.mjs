// Webhook path throughput in Node: (b) the core as WebAssembly (WebhookVerifier) and (c)
// the node:crypto baseline, over the same events file the native run reads. The sync decision is
// the baseline's JavaScript port for both, because the wasm package does not export the core's
// `sync::decide` (see the report's notes). Prints JSON.
//   node bench/js/webhook.mjs <events.json> <repeats>
import { readFileSync } from "node:fs";
import { WebhookVerifier } from "../../pkg/node.js";
import { verifyAndParse, webhookPass } from "./webhook-baseline.mjs";

const [file, repeatsText = "5"] = process.argv.slice(2);
const document = JSON.parse(readFileSync(file, "utf8"));
const repeats = Math.max(1, Number.parseInt(repeatsText, 10) || 1);
const events = document.events.map(({ body, signature }) => ({ body: Buffer.from(body, "utf8"), signature }));
const keyBytes = Buffer.from(document.hmacKey, "base64");
// The key is decoded and keyed once, as a relay host would (`verifyAndParseWebhook` does it per call).
const verifier = new WebhookVerifier(document.hmacKey);

function wasmParse(body, signature) {
  let event;
  try {
    event = verifier.verifyAndParse(body, signature);
  } catch {
    return null;
  }
  const parts = event.externalId?.split(":");
  const record = parts?.length === 4 && parts[2] === "deal" ? { crm: parts[0], tenant: parts[1], id: parts[3] } : null;
  return { activity: event.activity, contractNumber: Number(event.contractId.slice(2)), status: event.contractStatus, atMicros: event.occurredAtMicros, record };
}

const baselineParse = (body, signature) => verifyAndParse(keyBytes, body, signature);

function measure(parse) {
  const tally = webhookPass(events, document.portal, parse); // warm-up, and the tallies to cross-check
  const fullMs = [];
  const verifyParseMs = [];
  for (let i = 0; i < repeats; i += 1) {
    let started = performance.now();
    webhookPass(events, document.portal, parse);
    fullMs.push(performance.now() - started);
    started = performance.now();
    for (const { body, signature } of events) parse(body, signature);
    verifyParseMs.push(performance.now() - started);
  }
  return { tally, fullMs, verifyParseMs };
}

// Interleaved per repeat would be fairer still; alternating whole measurements keeps JIT state simple.
const wasm = measure(wasmParse);
const baseline = measure(baselineParse);
console.log(JSON.stringify({ events: events.length, wasm, baseline }));
