// Generated from the Rust declarations by ts-rs (tests/api_typescript.rs); do not edit.
export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;
export type CrmHost = "hubspot" | "salesforce" | "zoho" | "pipedrive";
export type Region = "us" | "eu" | "in" | "me";
export type Config = { environment: Environment, crm: CrmConnection, api: ApiTarget, 
/**
 * CRM stage values at which a contract may be created.
 */
creationStages: Array<string>, 
/**
 * What sellers see for each stage value in the CRM (`qualifiedtobuy` → "Qualified to buy"):
 * every message about stages uses these. A stage without a label is shown as its value.
 */
stageLabels: { [key in string]: string }, 
/**
 * Browser origins the relay answers with CORS: the sidebar page's own origin(s). (The CRM
 * origins that may frame the sidebar and send it host messages are the sidebar server's
 * `hostOrigins`, www/relay/sidebar-files.js.)
 */
allowedOrigins: Array<string>, templates: Array<TemplateConfig>, 
/**
 * What is unique per deal (`crate::slots`).
 */
contractsPerDeal: ContractsPerDeal, 
/**
 * The template whose contract the CRM record's fields show when a deal holds several; the
 * first template when not set.
 */
recordFollows: number | null, };
export type CrmConnection = { host: CrmHost, 
/**
 * The CRM installation: HubSpot portal id, Salesforce org id, Zoho org id, Pipedrive company id.
 */
accountId: string, };
export type ApiTarget = { "kind": "relay", url: string, } | { "kind": "spotDraft", baseUrl: string, region: Region | null, };
export type TemplateConfig = { templateId: number, label: string, contractTypeId: number, 
/**
 * SpotDraft's workspace-specific organisation type label for company counterparties.
 */
organizationType: string | null, fields: Array<FieldMapping>, 
/**
 * Deal stages at which the relay creates this template's contract without a click, when the
 * CRM tells it the deal changed (`crate::crm_events`); none by default. Each is one of
 * `creationStages`.
 */
createAtStages: Array<string>, 
/**
 * The ad-hoc approvals a seller may request for this template's contracts (`crate::approvals`),
 * in order; none by default.
 */
approvals: Array<AdHocApproval>, };
export type AdHocApproval = { name: string, approverUserId: number | null, approverRoleId: number | null, 
/**
 * The message the approver gets.
 */
notes: string, };
export type FieldMapping = { 
/**
 * The template variable (`contract_data` key); nested variables are `parent.child`.
 */
variable: string, source: FieldSource, encoding: Encoding, };
export type FieldSource = { "kind": "deal", "name": DealField } | { "kind": "custom", "name": string } | { "kind": "constant", "name": JsonValue };
export type DealField = "deal.id" | "deal.name" | "deal.amount" | "deal.currency" | "deal.stage" | "deal.closeDate" | "deal.owner.name" | "deal.owner.email" | "account.id" | "account.name" | "account.address" | "account.jurisdictionIsoCode" | "contact.firstName" | "contact.lastName" | "contact.fullName" | "contact.email";
export type Encoding = { "type": "string" } | { "type": "number" } | { "type": "boolean" } | { "type": "date" } | { "type": "datetime" } | { "type": "enum", options: { [key in string]: string }, } | { "type": "multiSelect", options: { [key in string]: string }, } | { "type": "currency", currency: string | null, } | { "type": "duration", unit: DurationUnit, } | { "type": "address" };
export type DurationUnit = "DAYS" | "MONTHS" | "YEARS";
export type ContractsPerDeal = "one" | "perTemplate" | "perContractType";
export type Preview = { templateId: number, templateLabel: string, 
/**
 * True when there are no problems: the request below is exactly what create sends.
 */
canCreate: boolean, fields: Array<PreviewField>, 
/**
 * Blocking: missing required values, wrong types, unknown options, stage not allowed.
 */
problems: Array<Problem>, 
/**
 * Not blocking, but worth knowing (e.g. an incomplete address left out).
 */
warnings: Array<Problem>, request: CreateContractRequest | null, };
export type PreviewField = { variable: string, label: string, 
/**
 * The encoded `contract_data` value; null when the deal has no value for it.
 */
value: JsonValue, 
/**
 * Where the value came from (`deal.closeDate`, `custom.term_months`, `constant`).
 */
source: string, };
export type TemplateSummary = { id: number, name: string, contract_type_id?: number | null, };
export type TemplateMetadata = { attributes: Array<TemplateAttribute>, 
/**
 * `Individual`, `Organisation` or `Both`.
 */
counter_party_kind?: string | null, };
export type TemplateAttribute = { variable: string, display_label?: string | null, type: string, 
/**
 * The spec's default is `true`.
 */
required?: boolean | null, parent_variable?: string | null, parent_required?: boolean | null, child_variable?: string | null, 
/**
 * For children of a composite value: the parent's SpotDraft type (`currency`, `duration`, ...).
 */
parent_type?: string | null, options?: Array<TemplateOption> | null, };
export type TemplateOption = { label?: string | null, value: JsonValue, };
export type CreateContractRequest = { contract_template_id: number, contract_name: string, contract_data: { [key in string]: JsonValue }, counter_party_details: Array<CounterParty>, external_metadata: ExternalMetadata, };
export type CounterParty = { is_individual: boolean, organization_type?: string, organization_name?: string, poc_details: PocDetails, organization_details?: OrganizationDetails, };
export type PocDetails = { first_name: string, last_name: string, email: string, };
export type OrganizationDetails = { jurisdiction_iso_code?: string, address?: OrganizationAddress, };
export type OrganizationAddress = { line_one: string, line_two?: string, city: string, state?: string, country_iso_code: string, zipcode?: string, };
export type ExternalMetadata = { id?: JsonValue | null, integration_name?: string, record_type?: string, record_data?: JsonValue, };
export type WebhookSubscription = { id: number, title: string, url: string, status: string, only_for_activities: Array<string>, };
export type WebhookEvent = { activity: string, contractId: string, contractStatus: ContractStatus, contractTitle: string | null, 
/**
 * `activity_data.timestamp` as sent.
 */
occurredAt: string, 
/**
 * The same instant in UTC microseconds: what ordering decisions compare.
 */
occurredAtMicros: number, 
/**
 * `external_metadata.id`, when the contract has one.
 */
externalId: string | null, 
/**
 * `external_metadata.record_data.environment`, when it is exactly `uat` or `production`.
 */
environment: Environment | null, 
/**
 * `external_metadata.record_data.environment` as sent, whatever it says (`"Production"`,
 * `"staging"`): ownership compares this exactly.
 */
environmentText: string | null, 
/**
 * `external_metadata.integration_name` as sent: this plugin writes its own name there.
 */
integrationName: string | null, contractKind: string | null, contractTypeId: number | null, 
/**
 * The template the contract was made from: SpotDraft's `contract_template_id`, else what this
 * plugin wrote at create (`external_metadata.record_data.template_id`).
 */
templateId: number | null, 
/**
 * Who acted (`activity_data.performed_by`): "Name <email>", the name alone, or `None` for
 * SpotDraft itself (`SYSTEM`).
 */
performedBy: string | null, 
/**
 * Whom a send to the counterparty went to (`counterparty_email_recipients.to_recipients`).
 */
recipients: Array<string>, 
/**
 * Stable across redeliveries of the same activity: `(contract, activity, timestamp[, recipient])`.
 */
dedupeKey: string, };
export type ClientOptions = { 
/**
 * An https API origin, or a loopback sandbox over http. Exclusive with `region`.
 */
baseUrl?: string, region?: Region, 
/**
 * Server-side only: refused in a browser page.
 */
credentials?: ClientCredentials, timeoutMs?: number, maxAttempts?: number, totalBudgetMs?: number, };
export type ClientCredentials = { clientId: string, clientSecret: string, 
/**
 * The SpotDraft user calls are made as (else the integration user).
 */
userEmail?: string, };
export type SendOptions = { toEmails?: Array<string>, ccEmails?: Array<string>, subject?: string, message?: string, };
export type ListQuery = { page?: number, limit?: number, 
/**
 * Only contracts changed since (ISO 8601).
 */
updatedSince?: string, status?: ContractStatus, };
