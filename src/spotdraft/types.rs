//! Request and response bodies of the SpotDraft v2.1 operations the plugin uses, as the spec
//! (`sandbox/spec/spotdraft-openapi.yml`) describes them. Responses are read tolerantly: unknown fields are
//! ignored, optional fields may be absent or null, and ids arrive as strings or integers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{ContractId, ContractStatus};

/// An id SpotDraft sends as `"T-123"`, `"123"` or `123` depending on the route (docs/spotdraft-api.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RawId {
    Number(u64),
    Text(String),
}

impl RawId {
    /// The composite id; integers and digit strings name template contracts (`T-`).
    pub fn contract_id(&self) -> Option<ContractId> {
        match self {
            RawId::Number(n) if *n > 0 => Some(ContractId::template(*n)),
            RawId::Number(_) => None,
            RawId::Text(text) => ContractId::parse(text)
                .or_else(|| text.parse::<u64>().ok().filter(|n| *n > 0).map(ContractId::template)),
        }
    }
}

// ---- templates ----

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TemplateList {
    pub items: Vec<TemplateSummary>,
}

// Types that mirror SpotDraft's own bodies keep SpotDraft's field names in both directions, so a
// value read from the API can be handed back unchanged (e.g. template metadata into a preview).

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct TemplateSummary {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub contract_type_id: Option<u64>,
}

/// `GET /api/v2.1/public/templates/{id}/metadata` (`TemplateMetaDataResponseV2`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct TemplateMetadata {
    #[serde(default)]
    pub attributes: Vec<TemplateAttribute>,
    /// `Individual`, `Organisation` or `Both`.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub counter_party_kind: Option<String>,
}

/// One template field (`CfPublicDescriptor`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct TemplateAttribute {
    pub variable: String,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub display_label: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    /// The spec's default is `true`.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub required: Option<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub parent_variable: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub parent_required: Option<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub child_variable: Option<String>,
    /// For children of a composite value: the parent's SpotDraft type (`currency`, `duration`, ...).
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub parent_type: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub options: Option<Vec<TemplateOption>>,
}

impl TemplateAttribute {
    pub fn is_required(&self) -> bool {
        self.required.unwrap_or(true)
    }

    pub fn label(&self) -> &str {
        self.display_label.as_deref().unwrap_or(&self.variable)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct TemplateOption {
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub label: Option<String>,
    pub value: Value,
}

// ---- create ----

/// `POST /api/v2.1/public/contracts/` body (`ExternalCreateContractSerializerV2_1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct CreateContractRequest {
    pub contract_template_id: u64,
    pub contract_name: String,
    pub contract_data: BTreeMap<String, Value>,
    pub counter_party_details: Vec<CounterParty>,
    pub external_metadata: ExternalMetadata,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct CounterParty {
    pub is_individual: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub organization_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub organization_name: Option<String>,
    pub poc_details: PocDetails,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub organization_details: Option<OrganizationDetails>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct PocDetails {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct OrganizationDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub jurisdiction_iso_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub address: Option<OrganizationAddress>,
}

/// `OrganizationAddressSerializerV2_1`: `line_one`, `city` and `country_iso_code` are required.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct OrganizationAddress {
    pub line_one: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub line_two: Option<String>,
    pub city: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub state: Option<String>,
    pub country_iso_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub zipcode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct ExternalMetadata {
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub integration_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub record_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub record_data: Option<Value>,
}

impl ExternalMetadata {
    /// The id as text; SpotDraft's schema leaves its type open.
    pub fn id_text(&self) -> Option<String> {
        match &self.id {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// A contract as create (`ExternalCreateContractResponse`), lookup (`ExternalContractV3`) and list
/// (`ContractResponseV2`) return it; the three differ in id type and which fields are present.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContractRecord {
    pub id: RawId,
    #[serde(default)]
    pub contract_id: Option<u64>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub contract_name: Option<String>,
    #[serde(default)]
    pub contract_link: Option<String>,
    pub contract_status: ContractStatus,
    #[serde(default)]
    pub counter_party_name: Option<String>,
    #[serde(default)]
    pub contract_type_name: Option<String>,
    #[serde(default)]
    pub contract_type_id: Option<u64>,
    #[serde(default)]
    pub external_metadata: Option<ExternalMetadata>,
}

/// One of a contract's metadata values (`GET …/contracts/{composite_id}/key_pointers`, items of
/// `ContractKeyPointerMinimalListResponse`). `value` is any JSON: a date string, a number, a bool,
/// `{"type": "USD", "value": 1000}`, `{"days": 730, "type": "YEARS", "value": 2}`, a list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KeyPointerValue {
    pub id: u64,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub label: String,
    pub field_name: String,
    #[serde(default)]
    pub data_type: String,
}

/// `GET …/contracts/{composite_id}/status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StatusResponse {
    pub contract_status: ContractStatus,
    #[serde(default)]
    pub contract_name: Option<String>,
}

/// `GET /api/v2.1/public/contracts/` page (`ContractListResponseV2`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContractPage {
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub total_results: Option<u64>,
    pub results: Vec<ContractRecord>,
}

/// `{"external_metadata": {...}}`, both the GET answer and the POST body.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ExternalMetadataEnvelope {
    pub external_metadata: ExternalMetadata,
}

/// `POST …/download_link` answer (`DownloadUrl`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DownloadUrl {
    pub url: String,
    pub file_name: String,
    #[serde(default)]
    pub current_version_id: Option<u64>,
}

/// `POST …/send_to_counterparties` body (`SendToCounterparty`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SendToCounterparties {
    /// `DOCX`, `PDF` or `TEMPLATE`; at least one.
    pub attachment_formats: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc_emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_message: Option<String>,
}

/// `GET /api/v2.1/public/webhooks/hmac_key/` (`WebhookSecretKeyResponse`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HmacKeyResponse {
    pub hmac_key: String,
}

/// `POST /api/v2.1/public/webhooks/` body (`PublicWebhookCreateRequest`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookCreateRequest {
    pub title: String,
    pub url: String,
    pub only_for_activities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PublicWebhookResponse`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct WebhookSubscription {
    pub id: u64,
    pub title: String,
    pub url: String,
    pub status: String,
    #[serde(default)]
    pub only_for_activities: Vec<String>,
}
