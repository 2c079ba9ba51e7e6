//! The options the JS API's SpotDraft client takes, declared once: the wasm boundary reads them with
//! serde (unknown keys refused) and converts them to the client's own settings; their TypeScript is
//! generated from these declarations (`tests/api_typescript.rs`).

use serde::Deserialize;

/// `new SpotDraftClient(options)`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "ClientOptions"))]
pub struct ClientOptionsInput {
    /// An https API origin, or a loopback sandbox over http. Exclusive with `region`.
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub base_url: Option<String>,
    #[cfg_attr(feature = "typescript", ts(optional, as = "Option<super::super::config::Region>"))]
    pub region: Option<String>,
    /// Server-side only: refused in a browser page.
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub credentials: Option<CredentialsInput>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub timeout_ms: Option<u32>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub max_attempts: Option<u32>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub total_budget_ms: Option<u32>,
}

/// The workspace's API client, for server-side code.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "ClientCredentials"))]
pub struct CredentialsInput {
    pub client_id: String,
    pub client_secret: String,
    /// The SpotDraft user calls are made as (else the integration user).
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub user_email: Option<String>,
}

/// `sendToCounterparty(contractId, options)`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "SendOptions"))]
pub struct SendOptionsInput {
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional, as = "Option<Vec<String>>"))]
    pub to_emails: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional, as = "Option<Vec<String>>"))]
    pub cc_emails: Vec<String>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub subject: Option<String>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub message: Option<String>,
}

/// `listContracts(query)`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "ListQuery"))]
pub struct ListQueryInput {
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub page: Option<u32>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub limit: Option<u32>,
    /// Only contracts changed since (ISO 8601).
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub updated_since: Option<String>,
    #[cfg_attr(feature = "typescript", ts(optional, type = "ContractStatus"))]
    pub status: Option<String>,
}
