//! TypeScript declarations for everything that crosses the boundary. The plugin's own types are
//! camelCase; types that mirror SpotDraft's API bodies keep SpotDraft's snake_case names so they
//! can be passed back unchanged. Generated from their Rust declarations: what crosses between the
//! sidebar and its shell and the contract calls' answers (`sidebar.generated.d.ts`, from
//! `spotdraft_crm::shell_types`), and every value the full API hands out — the configuration as
//! read, previews and create requests, SpotDraft's template metadata, webhook events and
//! subscriptions — and the SpotDraft client's options (`spotdraft::js_options`), in
//! `api.generated.d.ts` (by ts-rs from the serde declarations, `tests/api_typescript.rs`). Written
//! here: errors, the documents an admin or a host writes (read by the configuration reader and the
//! deal reader, which collect every problem), and the host interfaces (stores, relay options).
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
export type ErrorCode =
  | "invalid_config" | "invalid_input" | "unknown_template" | "stage_not_allowed" | "mapping_failed"
  | "spotdraft_error" | "timeout" | "network_error" | "redirected" | "bad_response"
  | "invalid_signature" | "invalid_webhook" | "crm_error" | "unauthorized" | "forbidden" | "conflict";

/** Every error thrown or rejected by this package. */
export interface SdxError extends Error {
  name: "SdxError";
  code: ErrorCode;
  /** Located problems for errors about input; empty otherwise. */
  problems: Problem[];
  /** True when trying again later may succeed unchanged (timeouts, 429, 5xx). */
  transient: boolean;
  /** HTTP status, for `spotdraft_error`. */
  status?: number;
  /** SpotDraft's own error code (e.g. `SD_PUBLIC_00009`), for `spotdraft_error`. */
  spotdraftCode?: string | null;
}

/** The deal fields a mapping may name (`DealField`, generated). */
export type DealFieldName = DealField;

/** The encodings a mapping may name (`Encoding`, generated). */
export type EncodingName = Encoding["type"];

/** The configuration document an admin writes (README §Configuration). */
export interface ConfigDocument {
  environment: Environment;
  crm: { host: CrmHost; accountId: string | number };
  api: { relayUrl: string } | { region: Region } | { baseUrl: string };
  creationStages: string[];
  /** What sellers see for each stage value in the CRM. */
  stageLabels?: Record<string, string>;
  allowedOrigins?: string[];
  templates: TemplateConfigDocument[];
}

export interface TemplateConfigDocument {
  templateId: number;
  label: string;
  contractTypeId: number;
  organizationType?: string;
  fields?: FieldMappingDocument[];
  /** Deal stages (each one of creationStages) at which the relay creates this contract without a click. */
  createAtStages?: string[];
}

export interface FieldMappingDocument {
  variable: string;
  /** A canonical deal field, or `custom.<CRM property name>`. */
  source?: DealFieldName | `custom.${string}`;
  /** A constant instead of a source. */
  value?: unknown;
  encoding: EncodingName;
  /** enum / multiSelect: CRM value → template option value. */
  options?: Record<string, string>;
  /** currency: a fixed ISO 4217 code instead of the deal's currency. */
  currency?: string;
  /** duration: the unit of the source number. */
  unit?: "DAYS" | "MONTHS" | "YEARS";
}

export interface AddressInput {
  lineOne?: string; lineTwo?: string; city?: string; state?: string;
  country?: string; countryIsoCode?: string; zipcode?: string;
}

/** The canonical deal a host adapter builds from its CRM record. */
export interface DealInput {
  id: string;
  name: string;
  /** Number or decimal string ("12000.50"). */
  amount?: number | string | null;
  currency?: string | null;
  stage?: string | null;
  /** YYYY-MM-DD, an ISO timestamp, or epoch milliseconds. */
  closeDate?: string | number | null;
  owner?: { name?: string; email?: string } | null;
  account?: { id?: string; name: string; jurisdictionIsoCode?: string; address?: AddressInput } | null;
  primaryContact?: { id?: string; firstName?: string; lastName?: string; email?: string } | null;
  /** Other CRM properties by their CRM names, as the CRM gave them. */
  custom?: Record<string, unknown>;
}

export interface Deal {
  id: string; name: string; amount: number | null; currency: string | null; stage: string | null;
  closeDate: string | null;
  owner: { name: string | null; email: string | null } | null;
  account: { id: string | null; name: string; jurisdictionIsoCode: string | null; address: Record<string, string | null> | null } | null;
  primaryContact: { id: string | null; firstName: string | null; lastName: string | null; email: string | null } | null;
  custom: Record<string, unknown>;
}

/** The relay's configuration (README §Relay). Secrets belong in the environment, not in files. */
export interface RelayConfigDocument {
  environments: Partial<Record<Environment, {
    /** The plugin configuration, with `api` = region or baseUrl (the relay talks to SpotDraft). */
    plugin: ConfigDocument;
    /** `downloadOrigins`: where signed download URLs may point (default storage.googleapis.com; the API origin always). */
    spotdraft: { clientId: string; clientSecret: string; userEmail?: string; hmacKey: string; baseUrl?: string; downloadOrigins?: string[] };
    /** Exactly one of `token` (HubSpot private app, Pipedrive API token) or `oauth` (refreshed by the relay):
     *  a refresh token, or (Salesforce) the connected app's certificate key for the JWT bearer grant. */
    crm: { baseUrl: string; token?: string; timeoutMs?: number;
           oauth?: { clientId: string; clientSecret: string; refreshToken: string; tokenUrl?: string; accountsDomain?: string }
                 | { clientId: string; username: string; privateKeyPem: string; audience?: string; tokenUrl?: string };
           fields?: { contractId: string; status: string; statusAt: string; link: string; executedAt: string } };
    webhookUrl?: string;
    /** Token secrets (32+ characters) per calling host. */
    hostSecrets?: Partial<Record<"demo" | "hubspot" | "salesforce" | "zoho" | "pipedrive", string>>;
    /** RS256 instead of a secret: the PEM public key or certificate of a host that signs with a private key it keeps (Salesforce's certificate). */
    hostKeys?: Partial<Record<"demo" | "salesforce" | "zoho", string>>;
    hubspotClientSecret?: string;
    /** Milestone creation: the HTTP Basic credentials given to Pipedrive's deal webhook (password 24+ characters). */
    crmEvents?: { pipedrive?: { username: string; password: string } };
    /** Opens this environment's admin routes (console, setup, audit log) as a bearer token; 32+ characters. */
    adminSecret?: string;
    /** Named admins, each with a secret of their own (32+ characters): the setup history names who saved. */
    admins?: Record<string, string>;
  }>>;
  /** The Node host's settings: serve the sidebar page (CRM origins that may frame it). */
  sidebar?: { hostOrigins: string[]; relayUrl?: string };
  /** How the relay is reached: its public https origin (what HubSpot signs), and proxies whose X-Forwarded-* count. */
  http?: { publicUrl?: string; trustedProxies?: string[] };
  /** The Node host's settings: several instances share locks, allowances, applied deliveries and the checkpoint in Redis. */
  shared?: { redisUrl?: string; lockLeaseMs?: number; keyPrefix?: string };
}

/** A store several relay instances share (the Node relay's Redis store): see `www/relay/redis-store.js`. */
export interface RelaySharedStore {
  /** A fencing token (greater than any before for that key) when the lease was free or ran out; null while held. */
  tryAcquire(key: string): Promise<number | null>;
  /** Frees the lease if `token` still holds it; never awaited. */
  release(key: string, token: number): void;
  /** Whether `token` still holds `key`; if so, its lease starts again. */
  renew(key: string, token: number): Promise<boolean>;
  /** Reserves a send time so no `windowMs` holds more than `limit`; resolves to the ms to wait. */
  reserve(key: string, limit: number, windowMs: number): Promise<number>;
  remember(key: string, ttlMs: number): Promise<void>;
  recalls(key: string): Promise<boolean>;
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlMs: number): Promise<void>;
}

export interface RelayOptions {
  /** Without it, the relay keeps locks, allowances and applied deliveries in this process's memory. */
  shared?: RelaySharedStore;
  /** Where the audit log is kept (without it, in this process's memory). */
  audit?: RelayEntryLog;
  /** Where the setups admins save in the console are kept (without it, in this process's memory). */
  setupHistory?: RelayEntryLog;
}

/** The relay's audit log and setup history: entries are JSON texts, read back newest first. */
export interface RelayEntryLog {
  append(environment: string, entry: string): Promise<void>;
  recent(environment: string, limit: number): Promise<string[]>;
}

export interface RelayResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** Fields for the one-line request log: never secrets, tokens or signed URLs. */
  log: Record<string, unknown>;
}

/**
 * A request the page started before the wasm was ready (the sidebar's first view): the sidebar
 * takes `response` as the answer to its first call when that call is a GET of exactly `url` with
 * exactly this `Authorization` header, and drops it otherwise.
 */
export interface EarlyRequest { url: string; authorization: string; response: Promise<Response>; }

"#;

/// Generated from the core's declarations by ts-rs (kept current by `tests/api_typescript.rs`).
#[wasm_bindgen(typescript_custom_section)]
const API_TYPES: &'static str = include_str!("api.generated.d.ts");

/// Generated by `spotdraft_crm::sidebar::typescript` (kept current by `tests/shell_typescript.rs`).
#[wasm_bindgen(typescript_custom_section)]
const SIDEBAR_TYPES: &'static str = include_str!("sidebar.generated.d.ts");
