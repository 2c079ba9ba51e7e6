// The benchmark's plain-JavaScript baseline for the webhook path, written only to compare against:
// node:crypto HMAC-SHA512 verification, JSON.parse with the core's required fields, and the
// core's sync rules (src/sync.rs) ported as directly as possible. Not used by the product.
import { createHmac, timingSafeEqual } from "node:crypto";

const STATUS_ACTIVITIES = new Set([
  "CONTRACT_CREATED", "CONTRACT_SENT_TO_COUNTERPARTY", "CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNED",
  "CONTRACT_EXECUTED", "CONTRACT_SIGNATURE_DECLINED", "CONTRACT_VOIDED", "CONTRACT_DELETED",
]);
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export function timestampMicros(text) {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, fraction = "", zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  if (zone !== "Z") ms -= (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  return ms * 1000 + Number(fraction.padEnd(6, "0").slice(0, 6));
}

function formatMicros(micros) {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, "0")}Z`;
}

export function verifyAndParse(keyBytes, body, signatureHex) {
  if (typeof signatureHex !== "string" || signatureHex.length !== 128) return null;
  const expected = createHmac("sha512", keyBytes).update(body).digest();
  const given = Buffer.from(signatureHex, "hex");
  if (given.length !== 64 || !timingSafeEqual(expected, given)) return null;
  let value;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  const { activity, contract_id: number, contract_status: status, activity_data: data, external_metadata: metadata } = value ?? {};
  if (typeof activity !== "string" || !Number.isSafeInteger(number) || number <= 0 || typeof status !== "string") return null;
  const at = typeof data?.timestamp === "string" ? timestampMicros(data.timestamp) : null;
  if (at === null) return null;
  const externalId = typeof metadata?.id === "string" ? metadata.id : null;
  const parts = externalId?.split(":");
  const record = parts?.length === 4 && parts[2] === "deal" ? { crm: parts[0], tenant: parts[1], id: parts[3] } : null;
  return { activity, contractNumber: number, status, atMicros: at, record };
}

const parseNumber = (id) => (typeof id === "string" && /^[TH]-\d+$/.test(id) ? Number(id.slice(2)) : null);

/** src/sync.rs `decide`, for JavaScript: returns a patch (fields to write), "unchanged" or "ignore". */
export function decide(fields, observation) {
  const shown = parseNumber(fields.contractId);
  const shownAt = fields.statusAt ? timestampMicros(fields.statusAt) : null;
  const live = (status) => status !== "VOIDED";
  if (shown === observation.number) {
    if (fields.status === "EXECUTED" && !fields.executedAt && observation.status === "EXECUTED") {
      const executedAt = formatMicros(observation.atMicros);
      return executedAt === null ? "unchanged" : { executedAt };
    }
    const sameTimeSameStatus = observation.atMicros === shownAt && fields.status === observation.status;
    if (shownAt !== null && (observation.atMicros < shownAt || sameTimeSameStatus)) return "ignore";
  } else if (shown !== null) {
    const adopt = !live(observation.status) ? false : fields.status && !live(fields.status) ? true : observation.number < shown;
    if (!adopt) return "ignore";
  }
  const at = formatMicros(observation.atMicros);
  const executedAt = observation.status === "EXECUTED"
    ? (shown === observation.number && fields.executedAt ? fields.executedAt : at)
    : shown !== observation.number && fields.executedAt ? "" : null;
  const wanted = { contractId: `T-${observation.number}`, status: observation.status, link: `https://app.spotdraft.com/contracts/v2/${observation.number}`, executedAt };
  const patch = {};
  let changed = false;
  for (const [name, value] of Object.entries(wanted)) {
    if (value !== null && value !== fields[name]) {
      patch[name] = value;
      changed = true;
    }
  }
  if (!changed) return "unchanged";
  patch.statusAt = at;
  return patch;
}

/** One pass as the relay would do it without I/O; `parse(body, signature)` is the runtime under test. */
export function webhookPass(events, portal, parse) {
  const records = new Map();
  const tally = { rejected: 0, ignored: 0, writes: 0, unchanged: 0 };
  for (const { body, signature } of events) {
    const event = parse(body, signature);
    if (!event) {
      tally.rejected += 1;
      continue;
    }
    if (!event.record || event.record.tenant !== portal || !STATUS_ACTIVITIES.has(event.activity)) {
      tally.ignored += 1;
      continue;
    }
    let fields = records.get(event.record.id);
    if (!fields) records.set(event.record.id, (fields = {}));
    const decision = decide(fields, { number: event.contractNumber, status: event.status, atMicros: event.atMicros });
    if (decision === "ignore") tally.ignored += 1;
    else if (decision === "unchanged") tally.unchanged += 1;
    else {
      Object.assign(fields, decision);
      tally.writes += 1;
    }
  }
  return tally;
}
