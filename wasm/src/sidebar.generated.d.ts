// Generated from the Rust declarations (spotdraft_crm::sidebar::typescript): do not edit by hand.

/**
 * What the shell tells the sidebar: clicks, host events, ticks. Relay answers never come this
 * way: `SidebarSession::perform` reads them into their messages itself.
 */
export type SidebarEvent =
  | { type: "start"; }
  | { type: "tick"; }
  | { type: "retryClicked"; }
  | { type: "dismissNotice"; }
  | { type: "createClicked"; }
  | { type: "templateSelected"; templateId: number; }
  | { type: "sendClicked"; contractId: string; }
  | { type: "downloadClicked"; contractId: string; }
  | { type: "openClicked"; contractId: string; }
  | { type: "approvalsClicked"; contractId: string; }
  | { type: "requestApprovalClicked"; contractId: string; }
  /** Whatever the host sends along (an id, an older host's whole deal) is not read. */
  | { type: "recordChanged"; }
  | { type: "visibilityChanged"; visible: boolean; }
  | { type: "linkSearched"; query: string; }
  | { type: "linkClicked"; contractId: string; };

/** What `update` and `perform` answer. */
export interface SidebarOutput {
  view: SidebarView;
  effects: SidebarEffect[];
}

/** Everything the shell renders. */
export interface SidebarView {
  phase: SidebarPhase;
  /** Shown when not production, so UAT is never mistaken for the real thing. */
  environmentBadge: string | null;
  dealName: string;
  banner: SidebarBanner | null;
  /** "as of 14:02 — refreshing…" when what is shown may be out of date. */
  freshness: string | null;
  create: SidebarCreate | null;
  contracts: SidebarContract[];
  /** Shown when the deal has no contract yet. */
  emptyText: string | null;
  /** Linking a contract made in SpotDraft; offered while the deal can take another contract. */
  link: SidebarLink | null;
}

/** Nothing to show yet, showing, or nothing could be loaded. */
export type SidebarPhase = "loading" | "ready" | "failed";

export interface SidebarBanner {
  tone: SidebarBannerTone;
  text: string;
  details: string[];
  retry: boolean;
  dismissible: boolean;
}

export type SidebarBannerTone = "error" | "success" | "info";

export interface SidebarCreate {
  templates: SidebarTemplateOption[];
  /** Only when there is a real choice. */
  showPicker: boolean;
  label: string;
  enabled: boolean;
  busy: boolean;
  /** Why the button is disabled, in a seller's words. */
  reasons: string[];
}

export interface SidebarTemplateOption {
  templateId: number;
  label: string;
  selected: boolean;
}

export interface SidebarContract {
  id: string;
  name: string;
  statusLabel: string;
  /** The status pill's colour. */
  tone: SidebarStatusTone;
  updatedText: string;
  actions: SidebarAction[];
  /** Its approvals, when the seller asked to see them (`crate::approvals`). */
  approvals: ApprovalsView | null;
}

export type SidebarStatusTone = "neutral" | "info" | "warning" | "success" | "muted";

export interface SidebarAction {
  /** What the click is: the shell sends `{action}Clicked`. */
  action: SidebarActionKind;
  /**
   * For `open`: the https SpotDraft link, rendered as a real link (a page opened by a link is
   * never blocked as a pop-up, and reads as a link to assistive technology).
   */
  href: string | null;
  label: string;
  enabled: boolean;
  busy: boolean;
}

export type SidebarActionKind = "open" | "send" | "download" | "approvals" | "requestApproval" | "link";

/** A contract's approvals, as the relay answers the sidebar: ready to show. */
export interface ApprovalsView {
  /**
   * One line per step: its name, who holds it (when a person does) and its state, e.g.
   * "Legal · Jane Legal: Pending".
   */
  steps: string[];
  /** Whether the seller may request the configured approvals now. */
  canRequest: boolean;
  /** What requesting sends ("Request Legal and Finance"); none when nothing is configured. */
  requestLabel: string | null;
  /** Why requesting is not possible now, in a seller's words. */
  reason: string | null;
}

/** The shell sends `linkSearched` with the text typed, and `linkClicked` with a result's id. */
export interface SidebarLink {
  query: string;
  searching: boolean;
  /**
   * What the last search found, as contracts are shown (a `link` action on those that can be
   * linked; why not, in `updatedText`, on the others); null before a search.
   */
  results: SidebarContract[] | null;
  /** Nothing found, or why a search or a link failed. */
  message: string | null;
}

/**
 * What the shell does next: a timer, a URL to open, or a relay call to hand back to
 * `perform(id)` (the call itself stays inside the sidebar).
 */
export type SidebarEffect =
  | { type: "scheduleTick"; inMs: number; }
  | { type: "cancelTick"; }
  | { type: "openUrl"; url: string; }
  | { type: "call"; id: number; call: SidebarCallName; };

/** What a relay call is for, so a shell can tie it to what started it (a download's window). */
export type SidebarCallName = "loadFirstView" | "loadConfig" | "loadDeal" | "loadContracts" | "loadPreview" | "create" | "send" | "download" | "approvals" | "link";

/**
 * What the sidebar and the CRM record show about one contract: the relay writes it, the
 * sidebar reads it, and the TypeScript says it, all from this declaration.
 */
export interface ContractSummary {
  /** Composite id, e.g. "T-4322". */
  id: string;
  /** The integer id used in webhooks and web-app links. */
  number: number;
  name: string;
  status: ContractStatus;
  /** The status in a seller's words. */
  statusLabel: string;
  /** Always an https://app.spotdraft.com/… URL. */
  link: string;
  counterpartyName: string | null;
  contractTypeName: string | null;
  created: string | null;
  /** `external_metadata.id` as SpotDraft holds it. */
  externalId: string | null;
  /**
   * When the status shown became true (SpotDraft's activity time, ISO 8601), as the CRM
   * record holds it; null when the record does not show this contract.
   */
  statusAt: string | null;
  /** When the contract was executed (SpotDraft's activity time), as the CRM record holds it. */
  executedAt: string | null;
  /**
   * When the relay last knew this to be SpotDraft's state (it answers sidebars from what it
   * knows); null for a list read just now.
   */
  asOf: string | null;
  /** The template it was made from, as the contract's own record says (written at create). */
  templateId: number | null;
  contractTypeId: number | null;
  /** Which of the deal's slots it fills (`crate::slots`), set by the relay; null from older relays. */
  slot: string | null;
}

export type ContractStatus = "DRAFT" | "REDLINING" | "SIGN" | "EXECUTED" | "ON_HOLD" | "VOIDED" | (string & {});

/**
 * What the relay says a sidebar may offer (`GET /api/{env}/config`, and the first view's
 * `config`): written by the relay and read by the sidebar through this declaration.
 */
export interface SidebarConfig {
  environment: Environment;
  /** The CRM stage values at which a contract may be created. */
  creationStages: string[];
  /** What sellers see for each stage value in the CRM. */
  stageLabels: Record<string, string>;
  templates: SidebarTemplateChoice[];
  /** Where a download may open (`https://storage.googleapis.com`, …). */
  downloadOrigins: string[];
}

export type Environment = "uat" | "production";

export interface SidebarTemplateChoice {
  templateId: number;
  label: string;
  /**
   * The deal's slot a contract from it fills (`crate::slots`); null from older relays,
   * which allowed one contract per deal.
   */
  slot: string | null;
}

/**
 * What the host hands the sidebar to start (`SidebarSession::new`; checked further by
 * `wire::session_init`).
 */
export interface SidebarInit {
  environment: Environment;
  relayUrl: string;
  /** The relay session the host minted for this deal. */
  token: string;
  /**
   * The viewer's offset from UTC in minutes (JavaScript's `-getTimezoneOffset()`), for times
   * shown in their day; null for UTC.
   */
  tzOffsetMinutes: number | null;
}

/**
 * The deal as the host hands it over: its CRM record id, and its name when the host has one. Only
 * a first render: every decision (the stage gate, what Create says) waits for the CRM's own deal,
 * which the sidebar loads from the relay. Anything else a host sends along (older hosts sent the
 * whole mapped deal) is ignored.
 */
export interface SidebarHostDeal {
  id: string;
  name: string | null;
}

/**
 * A contract SpotDraft found for a seller's search (`GET …/linkable`): written by the relay and
 * read by the sidebar through this declaration.
 */
export interface LinkCandidate {
  contract: ContractSummary;
  linkable: Linkable;
}

/**
 * Whether a found contract can be linked to this deal: linked to no record (free), already this
 * deal's, linked to another record (never relinked from here), or voided.
 */
export type Linkable = "free" | "thisDeal" | "elsewhere" | "voided";

/**
 * A failed relay answer's body, `{"error": …}` (and a failed part of a first view): the relay
 * writes it and the sidebar reads it through this one declaration.
 */
export interface RelayError {
  /** Stable and machine-readable (`crm_error`, `unauthorized`, …). */
  code: string;
  message: string;
  problems: Problem[];
  /** True when trying again later may succeed unchanged. */
  transient: boolean;
}

/** One thing wrong with an input, located by a path such as `templates[0].fields[2].encoding`. */
export interface Problem {
  path: string;
  message: string;
}

/** What a create answers: the deal's contract in the template's slot. */
export interface CreateOutcome {
  contract: ContractSummary;
  /**
   * False when the deal already had a live contract in the template's slot and that one is
   * returned instead.
   */
  created: boolean;
}

/** A contract's status as SpotDraft answered it just now. */
export interface StatusReport {
  id: string;
  status: ContractStatus;
  statusLabel: string;
  name: string | null;
  link: string;
  /** When SpotDraft was asked (ISO 8601 UTC), so a shown status can say how fresh it is. */
  readAt: string;
}

/** A fresh link to the contract's current PDF. */
export interface DownloadLink {
  /** Short-lived signed URL: use at once; never store or log it. */
  url: string;
  fileName: string;
}

/** One page of the workspace's contracts, as the plugin shows them. */
export interface ContractListing {
  page: number;
  limit: number;
  totalResults: number | null;
  contracts: ContractSummary[];
}

/** What one reconciliation pass did. */
export interface ReconcileReport {
  environment: Environment;
  /**
   * Pass this to the next run. It never passes a record that failed: after any failure it is
   * the checkpoint this pass started from (null: list everything again), so the failed records
   * are listed, and repaired, next time.
   */
  checkpoint: string | null;
  pages: number;
  contractsSeen: number;
  recordsChecked: number;
  recordsRepaired: number;
  /** Records that could not be read or written; the next run retries them. */
  failures: string[];
}

/** What one provisioning run found and did. */
export interface ProvisionReport {
  crm: string;
  dryRun: boolean;
  steps: ProvisionStep[];
  /**
   * The names `crm.fields` must hold, once every field exists (after a dry run that would
   * create a Pipedrive or Zoho field, its name is not known yet: null).
   */
  fields: CrmFieldNames | null;
  /** The name each key term's `field` must hold, in `crm.keyTerms` order (null: not known yet). */
  keyTermFields: Array<string | null>;
  /**
   * Whether `fields` or a key term's field differs from the configured names: the
   * configuration must then be changed.
   */
  configurationChanges: boolean;
}

/** One thing provisioning found or made: HubSpot's property group, or one value's field. */
export interface ProvisionStep {
  kind: ProvisionStepKind;
  /**
   * Where the field's name is configured (`crm.fields.status`, `crm.keyTerms[0].field`); null
   * for the group.
   */
  value: string | null;
  /** What the field holds; null for the group. */
  holds: ProvisionFieldKind | null;
  /**
   * The CRM's name for it (property name, field key, API name); empty until a new Pipedrive
   * or Zoho field is made.
   */
  name: string;
  label: string;
  action: ProvisionAction;
}

/** HubSpot's property group, or a field. */
export type ProvisionStepKind = "group" | "field";

/** What a field holds, as far as provisioning tells types apart. */
export type ProvisionFieldKind = "text" | "date" | "number";

/**
 * Already there as configured; there under the same label with another name than the
 * configured one; missing (a dry run stops here); created.
 */
export type ProvisionAction = "exists" | "foundByLabel" | "wouldCreate" | "created";

/**
 * The CRM field (property / API name / custom-field key) that holds each SpotDraft value (the
 * relay configuration's `crm.fields`).
 */
export interface CrmFieldNames {
  contractId: string;
  status: string;
  statusAt: string;
  link: string;
  executedAt: string;
}
