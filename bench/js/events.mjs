// Deterministic, realistic SpotDraft webhook deliveries for the benchmarks: mixed activities,
// 1–4 KB bodies, redeliveries, other portals, a few forged signatures. Every runtime measured
// (native core, core as wasm in Node, node:crypto baseline) reads the same file.
import { createHmac } from "node:crypto";

export const BENCH_PORTAL = "4411223";
const STATUS_STEPS = [
  ["CONTRACT_CREATED", "DRAFT"],
  ["CONTRACT_SENT_TO_COUNTERPARTY", "REDLINING"],
  ["CONTRACT_SIGNATURE_REQUESTED", "SIGN"],
  ["CONTRACT_SIGNED", "SIGN"],
  ["CONTRACT_EXECUTED", "EXECUTED"],
];
const SIDE_ACTIVITIES = ["CONTRACT_COMMENT_ADDED", "CONTRACT_VIEWED", "CONTRACT_DOWNLOADED"];

/** Mulberry32: a tiny seeded generator, so the same events come out every run. */
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function signatories(random, count) {
  return Array.from({ length: count }, (_, i) => ({
    name: `Signer ${i + 1} ${Math.floor(random() * 1e6).toString(36)}`,
    email: `signer${i + 1}.${Math.floor(random() * 1e6).toString(36)}@customer.example`,
    role: i % 2 ? "COUNTERPARTY" : "BUSINESS_USER",
    signed_on: null,
  }));
}

/** A delivery body of 1–4 KB: SpotDraft's fields plus signatories and a comment to size it. */
function body(random, { activity, status, contract, deal, portal, timestamp }) {
  const target = 1024 + Math.floor(random() * 3072);
  const payload = {
    activity,
    contract_id: contract,
    contract_status: status,
    contract_title: `Master Services Agreement – Customer ${deal}, Inc.`,
    contract_kind: "TEMPLATE_CONTRACT",
    contract_type: "MSA",
    contract_type_name: "Master Services Agreement",
    contract_type_id: 12,
    business_user: { name: "Sam Seller", email: "sam@yourco.example" },
    created_at: "2026-11-01T00:00:00Z",
    external_metadata: {
      id: `hubspot:${portal}:deal:${deal}`,
      record_data: { crm: "hubspot", account: portal, deal: String(deal), company: String(90_000 + deal), environment: "uat", plugin_version: "0.1.0" },
    },
    activity_data: {
      performed_by: { name: "SYSTEM", email: null },
      timestamp,
      signatories: signatories(random, 1 + Math.floor(random() * 3)),
      comment: "",
    },
  };
  const bare = JSON.stringify(payload).length;
  payload.activity_data.comment = "Reviewed clause 7.2 (limitation of liability). ".repeat(Math.ceil(Math.max(0, target - bare) / 48)).slice(0, Math.max(0, target - bare));
  return JSON.stringify(payload);
}

export function sign(hmacKeyBase64, text) {
  return createHmac("sha512", Buffer.from(hmacKeyBase64, "base64")).update(text).digest("hex");
}

/** `count` deliveries over `deals` deals; about 15% side activities, 10% redeliveries, 3% another portal, 1% forged. */
export function makeEvents(count = 10_000, { deals = 2_500, seed = 6 } = {}) {
  const random = seeded(seed);
  const hmacKey = Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256))).toString("base64");
  const progress = new Map();
  const events = [];
  let clockMicros = Date.UTC(2026, 10, 20) * 1000;
  while (events.length < count) {
    const roll = random();
    if (roll < 0.1 && events.length > 0) {
      events.push(events[Math.floor(random() * events.length)]);
      continue;
    }
    clockMicros += 1 + Math.floor(random() * 5_000_000);
    const deal = 1001 + Math.floor(random() * deals);
    const contract = 50_000 + deal;
    const step = progress.get(deal) ?? 0;
    let activity;
    let status;
    if (roll < 0.25) {
      activity = SIDE_ACTIVITIES[Math.floor(random() * SIDE_ACTIVITIES.length)];
      status = STATUS_STEPS[Math.min(step, STATUS_STEPS.length - 1)][1];
    } else {
      [activity, status] = step < STATUS_STEPS.length ? STATUS_STEPS[step] : ["CONTRACT_VOIDED", "VOIDED"];
      progress.set(deal, step + 1);
    }
    const portal = roll > 0.97 ? "9999999" : BENCH_PORTAL;
    const timestamp = new Date(Math.floor(clockMicros / 1000)).toISOString().replace("Z", `${String(clockMicros % 1000).padStart(3, "0")}Z`);
    const text = body(random, { activity, status, contract, deal, portal, timestamp });
    const forged = roll > 0.99;
    const signature = sign(hmacKey, forged ? `${text} ` : text);
    events.push({ body: text, signature });
  }
  return { hmacKey, portal: BENCH_PORTAL, events };
}
