//! CRM write-back: the requests that read and write a deal's SpotDraft fields on the CRM record, for
//! HubSpot, Salesforce, Zoho CRM and Pipedrive, and the reading of their answers.
//!
//! Pure: every function builds an `HttpRequest` or reads an `HttpResponse`; the caller (the relay)
//! sends. Which CRM field holds which SpotDraft value is configuration (`FieldNames`). All values are
//! written as text, so the configured fields should be text fields (single-line text / string
//! properties); the vendor modules say what each API expects.

mod auth;
mod deal_search;
mod deal_source;
mod hubspot;
mod pipedrive;
mod provision;
mod record_access;
pub mod record_files;
pub mod record_notes;
mod rs256;
mod salesforce;
mod schema;
mod zoho;

use serde_json::{Map, Value};

use crate::error::{Error, Problem, Result};
use crate::json_input::{key_path, type_name, Checker};
use crate::model::{is_valid_crm_id, CrmHost};
use crate::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
use crate::url;

pub use auth::{CrmAuth, JwtBearerClient, OAuthClient, ASSERTION_LIFETIME_S, REFRESH_MARGIN_MS, ZOHO_ACCOUNTS_DOMAINS};
pub(crate) use rs256::{fingerprint_of as private_key_fingerprint, normalised_pem};

/// CRM answers for one record are small; anything near this is not what we asked for.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Where the relay reaches one CRM installation.
#[derive(Clone, PartialEq, Eq)]
pub struct CrmEndpoint {
    pub host: CrmHost,
    /// The API origin, optionally with a path prefix: `https://api.hubapi.com`,
    /// `https://acme.my.salesforce.com`, `https://www.zohoapis.eu`, `https://acme.pipedrive.com`, or a
    /// loopback emulator over http.
    pub base_url: String,
    /// The credential: a static token (HubSpot private-app token, Pipedrive API token, or an access
    /// token renewed by hand; `"…".into()`) or an OAuth client whose access tokens are fetched and
    /// renewed (`CrmAuth::oauth`). Clones share the token cache.
    pub token: CrmAuth,
    pub timeout_ms: u64,
}

impl std::fmt::Debug for CrmEndpoint {
    // The token never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmEndpoint")
            .field("host", &self.host)
            .field("base_url", &self.base_url)
            .field("timeout_ms", &self.timeout_ms)
            .field("oauth", &self.token.is_oauth())
            .finish_non_exhaustive()
    }
}

crate::shell_types::shell_struct! {
    /// The CRM field (property / API name / custom-field key) that holds each SpotDraft value (the
    /// relay configuration's `crm.fields`).
    pub struct FieldNames as "CrmFieldNames" {
        contract_id: String => "contractId",
        status: String => "status",
        status_at: String => "statusAt",
        link: String => "link",
        executed_at: String => "executedAt",
    }
}

const FIELD_KEYS: [&str; 5] = ["contractId", "status", "statusAt", "link", "executedAt"];

/// Long enough for Salesforce's 40-character API names plus a namespace, and Pipedrive's 40-hex keys.
const MAX_FIELD_NAME_LEN: usize = 100;

impl FieldNames {
    /// The property names the plugin's HubSpot app creates.
    pub fn hubspot_defaults() -> FieldNames {
        FieldNames {
            contract_id: "spotdraft_contract_id".into(),
            status: "spotdraft_status".into(),
            status_at: "spotdraft_status_at".into(),
            link: "spotdraft_contract_link".into(),
            executed_at: "spotdraft_executed_at".into(),
        }
    }

    /// Reads `{"contractId", "status", "statusAt", "link", "executedAt"}`; every problem is reported with
    /// its path under `path`, unknown keys included.
    pub fn from_json(value: &Value, path: &str) -> Result<FieldNames> {
        let mut check = Checker::default();
        let Some(map) = check.object(value, path) else { return Err(Error::InvalidConfig(check.problems)) };
        check.no_unknown_keys(map, path, &FIELD_KEYS);
        let mut read = |key: &str| check.required_text(map, path, key, MAX_FIELD_NAME_LEN).unwrap_or_default();
        let names = FieldNames {
            contract_id: read("contractId"),
            status: read("status"),
            status_at: read("statusAt"),
            link: read("link"),
            executed_at: read("executedAt"),
        };
        // A key that failed to read is already reported (and left empty); check the others further.
        let pairs = names.pairs();
        for problem in names.problems(path) {
            let read = pairs.iter().any(|(key, name)| !name.is_empty() && problem.path == key_path(path, key));
            if read {
                check.problems.push(problem);
            }
        }
        if check.is_clean() {
            Ok(names)
        } else {
            Err(Error::InvalidConfig(check.problems))
        }
    }

    fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("contractId", &self.contract_id),
            ("status", &self.status),
            ("statusAt", &self.status_at),
            ("link", &self.link),
            ("executedAt", &self.executed_at),
        ]
    }

    /// Names go into URLs and JSON keys: letters, digits and `_` only (every one of the four CRMs
    /// names fields that way), and no CRM field may hold two values.
    fn problems(&self, path: &str) -> Vec<Problem> {
        let mut problems = Vec::new();
        let pairs = self.pairs();
        for (index, (key, name)) in pairs.iter().enumerate() {
            let valid = !name.is_empty()
                && name.len() <= MAX_FIELD_NAME_LEN
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                problems.push(Problem::new(
                    key_path(path, key),
                    format!(
                        "\"{name}\" is not a CRM field name (letters, digits and _ only, at most {MAX_FIELD_NAME_LEN})"
                    ),
                ));
            } else if let Some((other, _)) = pairs.iter().take(index).find(|(_, earlier)| earlier == name) {
                problems.push(Problem::new(
                    key_path(path, key),
                    format!("\"{name}\" is used twice (also for {other}); each value needs its own field"),
                ));
            }
        }
        problems
    }

    fn validate(&self) -> Result<()> {
        let problems = self.problems("fieldNames");
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidInput(problems))
        }
    }
}

/// The SpotDraft values a CRM record holds (`None` = empty on the record).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractFields {
    pub contract_id: Option<String>,
    pub status: Option<String>,
    pub status_at: Option<String>,
    pub link: Option<String>,
    pub executed_at: Option<String>,
}

/// Fields to write: only `Some` values are sent; nothing else on the record is touched. An empty
/// string clears the field.
pub type CrmPatch = ContractFields;

pub use deal_search::{search_deals, DealHit};
pub use deal_source::read_deal;
pub use provision::{field_specs, provision_fields, FieldKind, ProvisionReport, ProvisionStep, StepAction, StepKind};
pub use record_access::{user_can_see_deal, user_email};
pub use schema::{read_schema, CrmSchema, FieldInfo, StageInfo, StandardField};

impl ContractFields {
    /// `(CRM field name, value)` for every `Some` value, in a fixed order.
    fn named_values<'a>(&'a self, names: &'a FieldNames) -> Vec<(&'a str, &'a str)> {
        [
            (&names.contract_id, &self.contract_id),
            (&names.status, &self.status),
            (&names.status_at, &self.status_at),
            (&names.link, &self.link),
            (&names.executed_at, &self.executed_at),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name.as_str(), v)))
        .collect()
    }

    /// Reads each configured field out of the record's field map (absent, null or blank = `None`).
    fn from_record(
        host: CrmHost,
        status: u16,
        names: &FieldNames,
        record: &Map<String, Value>,
    ) -> Result<ContractFields> {
        let read = |name: &str| field_text(host, status, name, record.get(name));
        Ok(ContractFields {
            contract_id: read(&names.contract_id)?,
            status: read(&names.status)?,
            status_at: read(&names.status_at)?,
            link: read(&names.link)?,
            executed_at: read(&names.executed_at)?,
        })
    }
}

/// One field's value as text. CRMs store "empty" as null or `""` (HubSpot does both); a number or
/// boolean is kept as its text; `{"value": …}` (Pipedrive's v2 shape for composite fields) is unwrapped.
fn field_text(host: CrmHost, status: u16, name: &str, value: Option<&Value>) -> Result<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(Value::Object(map)) if map.contains_key("value") => field_text(host, status, name, map.get("value")),
        Some(other) => Err(crm_error(
            host,
            status,
            format!("field {name} holds {}, not text; configure a text field", type_name(other)),
        )),
    }
}

/// `GET` for the record's SpotDraft fields.
pub fn read_request(endpoint: &CrmEndpoint, names: &FieldNames, record_id: &str) -> Result<HttpRequest> {
    let base = checked_base(endpoint)?;
    check_record_id(record_id)?;
    names.validate()?;
    let list = names.pairs().map(|(_, name)| name).join(",");
    let url = read_url(endpoint.host, &base, record_id, &list);
    Ok(request(endpoint, Method::Get, url, None))
}

/// The record's SpotDraft fields from the answer to `read_request`.
pub fn parse_read(endpoint: &CrmEndpoint, names: &FieldNames, response: &HttpResponse) -> Result<ContractFields> {
    names.validate()?;
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(endpoint.host, response));
    }
    let body = json_body(endpoint.host, response)?;
    let record = record_fields(endpoint.host, response.status, &body)?;
    ContractFields::from_record(endpoint.host, response.status, names, record)
}

/// The record's fields in a read answer, whichever CRM's shape.
fn record_fields(host: CrmHost, status: u16, body: &Value) -> Result<&Map<String, Value>> {
    match host {
        CrmHost::Hubspot => hubspot::record_fields(body),
        CrmHost::Salesforce => salesforce::record_fields(body),
        CrmHost::Zoho => zoho::record_fields(body),
        CrmHost::Pipedrive => pipedrive::record_fields(body),
    }
    .map_err(|reason| crm_error(host, status, reason))
}

/// The URL that reads `list` (comma-separated field names) of a record.
fn read_url(host: CrmHost, base: &str, record_id: &str, list: &str) -> String {
    match host {
        CrmHost::Hubspot => hubspot::read_url(base, record_id, list),
        CrmHost::Salesforce => salesforce::read_url(base, record_id, list),
        CrmHost::Zoho => zoho::read_url(base, record_id, list),
        CrmHost::Pipedrive => pipedrive::read_url(base, record_id, list),
    }
}

/// The request that writes the `Some` values of `patch` and nothing else.
pub fn write_request(
    endpoint: &CrmEndpoint,
    names: &FieldNames,
    record_id: &str,
    patch: &CrmPatch,
) -> Result<HttpRequest> {
    let base = checked_base(endpoint)?;
    check_record_id(record_id)?;
    names.validate()?;
    let values = patch.named_values(names);
    if values.is_empty() {
        return Err(Error::invalid_input("patch", "has no values to write"));
    }
    let fields: Map<String, Value> =
        values.into_iter().map(|(name, value)| (name.to_string(), write_value(endpoint.host, value))).collect();
    write_map(endpoint, &base, record_id, fields)
}

/// The request that writes `fields` (name → value as the CRM takes it) to the record.
fn write_map(endpoint: &CrmEndpoint, base: &str, record_id: &str, fields: Map<String, Value>) -> Result<HttpRequest> {
    let (method, url, body) = match endpoint.host {
        CrmHost::Hubspot => hubspot::write(base, record_id, fields),
        CrmHost::Salesforce => salesforce::write(base, record_id, fields),
        CrmHost::Zoho => zoho::write(base, record_id, fields),
        CrmHost::Pipedrive => pipedrive::write(base, record_id, fields),
    };
    let body = serde_json::to_vec(&body).map_err(|e| Error::invalid_input("patch", e.to_string()))?;
    Ok(request(endpoint, method, url, Some(body)))
}

/// A value as the CRM takes it; clearing is `""` for HubSpot (its documented way to empty a property)
/// and `null` for Salesforce, Zoho and Pipedrive.
fn write_value(host: CrmHost, value: &str) -> Value {
    if value.is_empty() && host != CrmHost::Hubspot {
        Value::Null
    } else {
        Value::String(value.to_string())
    }
}

/// `Ok` only when the CRM confirms the write; Zoho's per-record status and Pipedrive's `success` are
/// checked as well as the HTTP status.
pub fn check_write(endpoint: &CrmEndpoint, response: &HttpResponse) -> Result<()> {
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(endpoint.host, response));
    }
    match endpoint.host {
        CrmHost::Hubspot | CrmHost::Salesforce => Ok(()),
        CrmHost::Zoho => zoho::check_write(&json_body(endpoint.host, response)?),
        CrmHost::Pipedrive => pipedrive::check_write(&json_body(endpoint.host, response)?),
    }
    .map_err(|reason| crm_error(endpoint.host, response.status, reason))
}

fn checked_base(endpoint: &CrmEndpoint) -> Result<String> {
    let mut problems = Vec::new();
    let base = endpoint.base_url.trim().trim_end_matches('/').to_string();
    match url::parse(&base) {
        Some(parsed) if url::is_secure_or_loopback(&parsed) && !parsed.rest.contains('?') => {}
        _ => problems.push(Problem::new(
            "baseUrl",
            format!("\"{base}\" must be an https URL without a query (http only on loopback)"),
        )),
    }
    for (key, message) in endpoint.token.problems() {
        problems.push(Problem::new(key, message));
    }
    if endpoint.timeout_ms == 0 {
        problems.push(Problem::new("timeoutMs", "must be greater than 0"));
    }
    if problems.is_empty() {
        Ok(base)
    } else {
        Err(Error::InvalidInput(problems))
    }
}

fn check_record_id(record_id: &str) -> Result<()> {
    if is_valid_crm_id(record_id) {
        Ok(())
    } else {
        Err(Error::invalid_input("recordId", format!("\"{record_id}\" is not a CRM record id")))
    }
}

/// The request with the credential the endpoint holds right now (none yet for an OAuth connection
/// that has not fetched an access token: `send` adds it).
fn request(endpoint: &CrmEndpoint, method: Method, url: String, body: Option<Vec<u8>>) -> HttpRequest {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if body.is_some() {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    let mut request = HttpRequest {
        method,
        url,
        headers,
        body,
        timeout_ms: endpoint.timeout_ms,
        max_response_bytes: MAX_RESPONSE_BYTES,
    };
    if let Some(token) = endpoint.token.current_token() {
        authorize(endpoint, &mut request, &token);
    }
    request
}

/// The CRM's auth header for `token`, replacing any earlier one.
fn authorize(endpoint: &CrmEndpoint, request: &mut HttpRequest, token: &str) {
    let (name, value) = match endpoint.host {
        CrmHost::Hubspot | CrmHost::Salesforce => ("Authorization", format!("Bearer {token}")),
        CrmHost::Zoho => zoho::auth_header(token),
        // An API token has its own header; an OAuth access token is a bearer token.
        CrmHost::Pipedrive if endpoint.token.is_oauth() => ("Authorization", format!("Bearer {token}")),
        CrmHost::Pipedrive => pipedrive::auth_header(token),
    };
    request.headers.retain(|(existing, _)| {
        !existing.eq_ignore_ascii_case("authorization") && !existing.eq_ignore_ascii_case("x-api-token")
    });
    request.headers.push((name.to_string(), value));
}

/// Sends one CRM request with a valid credential: an OAuth access token is fetched or renewed first
/// when due, and a 401 answer drops it, fetches a new one and sends the request once more. The answer
/// is returned whatever its status; a failure to get an answer (or a token) is an `Error::Crm` that
/// names the CRM.
pub async fn send<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    mut request: HttpRequest,
) -> Result<HttpResponse> {
    let token = endpoint.token.token(transport, endpoint.host, endpoint.timeout_ms).await?;
    authorize(endpoint, &mut request, &token);
    let retry = endpoint.token.is_oauth().then(|| request.clone());
    let response = transport.send(request).await.map_err(|e| transport_failure(endpoint.host, e))?;
    match retry {
        Some(mut again) if response.status == 401 && endpoint.token.drop_refused(&token) => {
            let fresh = endpoint.token.token(transport, endpoint.host, endpoint.timeout_ms).await?;
            authorize(endpoint, &mut again, &fresh);
            transport.send(again).await.map_err(|e| transport_failure(endpoint.host, e))
        }
        _ => Ok(response),
    }
}

/// No answer from the CRM, as an error that names it. Timeouts and failed connections carry
/// gateway-style statuses (504, 502) so they count as transient.
pub(crate) fn transport_failure(host: CrmHost, error: TransportError) -> Error {
    let name = host.display_name();
    match error {
        TransportError::Timeout => Error::Crm { status: 504, message: format!("{name}: no answer in time (timeout)") },
        TransportError::Connection(message) => {
            Error::Crm { status: 502, message: format!("{name}: could not reach the CRM ({message})") }
        }
        TransportError::TooLarge { limit } => {
            Error::Crm { status: 200, message: format!("{name}: the answer is larger than {limit} bytes") }
        }
    }
}

/// Reads the record's SpotDraft fields: `read_request`, `send` (token renewal included), `parse_read`.
pub async fn read_fields<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    names: &FieldNames,
    record_id: &str,
) -> Result<ContractFields> {
    let request = read_request(endpoint, names, record_id)?;
    let response = send(transport, endpoint, request).await?;
    parse_read(endpoint, names, &response)
}

/// Field names other than the contract fields (key terms): letters, digits and `_`, as `FieldNames`.
fn check_names<'n>(names: impl IntoIterator<Item = &'n str>) -> Result<Vec<&'n str>> {
    let names: Vec<&str> = names.into_iter().collect();
    match names.iter().find(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')) {
        Some(bad) => Err(Error::invalid_input("field", format!("\"{bad}\" is not a CRM field name"))),
        None if names.is_empty() => Err(Error::invalid_input("fields", "none to read or write")),
        None => Ok(names),
    }
}

/// Reads the named fields of a record (key terms): name → value as the CRM holds it (absent
/// fields are left out).
pub async fn read_values<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    record_id: &str,
    names: &[String],
) -> Result<Map<String, Value>> {
    let base = checked_base(endpoint)?;
    check_record_id(record_id)?;
    let list = check_names(names.iter().map(String::as_str))?.join(",");
    let url = read_url(endpoint.host, &base, record_id, &list);
    let response = send(transport, endpoint, request(endpoint, Method::Get, url, None)).await?;
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(endpoint.host, &response));
    }
    let body = json_body(endpoint.host, &response)?;
    let record = record_fields(endpoint.host, response.status, &body)?;
    Ok(names.iter().filter_map(|name| record.get(name).map(|value| (name.clone(), value.clone()))).collect())
}

/// A key term's text as the CRM takes it: HubSpot takes every property as text (`""` clears); the
/// others take numbers as numbers and clear with `null`.
pub fn typed_value(host: CrmHost, text: &str, numeric: bool) -> Value {
    match text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(number) if numeric && host != CrmHost::Hubspot => Value::Number(number),
        _ => write_value(host, text),
    }
}

/// Writes named values to a record (key terms, each as `typed_value` made it), and checks the CRM
/// took them.
pub async fn write_values<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    record_id: &str,
    values: &[(String, Value)],
) -> Result<()> {
    let base = checked_base(endpoint)?;
    check_record_id(record_id)?;
    check_names(values.iter().map(|(name, _)| name.as_str()))?;
    let fields: Map<String, Value> = values.iter().cloned().collect();
    let request = write_map(endpoint, &base, record_id, fields)?;
    let response = send(transport, endpoint, request).await?;
    check_write(endpoint, &response)
}

/// Writes the `Some` values of `patch`: `write_request`, `send`, `check_write`.
pub async fn write_fields<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    names: &FieldNames,
    record_id: &str,
    patch: &CrmPatch,
) -> Result<()> {
    let request = write_request(endpoint, names, record_id, patch)?;
    let response = send(transport, endpoint, request).await?;
    check_write(endpoint, &response)
}

fn json_body(host: CrmHost, response: &HttpResponse) -> Result<Value> {
    if response.body.is_empty() {
        return Err(crm_error(host, response.status, "the answer is empty where a record was expected".into()));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| crm_error(host, response.status, format!("the answer is not JSON ({e})")))
}

fn crm_error(host: CrmHost, status: u16, message: String) -> Error {
    Error::Crm { status, message: format!("{}: {message}", host.display_name()) }
}

/// An error answer in the CRM's own words, whichever shape it came in.
fn error_from_answer(host: CrmHost, response: &HttpResponse) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let text = parsed
        .as_ref()
        .and_then(|body| match host {
            CrmHost::Hubspot => hubspot::error_text(body),
            CrmHost::Salesforce => salesforce::error_text(body),
            CrmHost::Zoho => zoho::error_text(body),
            CrmHost::Pipedrive => pipedrive::error_text(body),
        })
        .unwrap_or_else(|| fallback_text(response));
    match hint(host, response, &text) {
        Some(hint) => crm_error(host, response.status, format!("{hint}; {} said: {text}", host.display_name())),
        None => crm_error(host, response.status, text),
    }
}

/// What an error answer means for the seller or the admin, in words, ahead of the CRM's own text.
fn hint(host: CrmHost, response: &HttpResponse, text: &str) -> Option<String> {
    let name = host.display_name();
    let has = |code: &str| text.contains(code);
    let wait = response
        .header("retry-after")
        .or_else(|| response.header("x-ratelimit-reset"))
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|seconds| format!(" in {seconds} s"))
        .unwrap_or_else(|| " in a moment".into());
    Some(match response.status {
        401 if has("OAUTH_SCOPE_MISMATCH") => {
            "the connection lacks a permission (OAuth scope) this needs; an admin must reconnect it with the right scopes".into()
        }
        401 => format!("the connection's token is invalid or has expired; an admin must reconnect {name}"),
        403 if has("REQUEST_LIMIT_EXCEEDED") => {
            "the account has used up its API request allowance; try again later".into()
        }
        403 => "the connection is not allowed to do this (missing permission or scope); an admin must grant it".into(),
        404 => "the deal does not exist (deleted or merged), or the connection cannot see it".into(),
        429 => format!("too many requests for now; try again{wait}"),
        400 if has("INVALID_FIELD") || has("PROPERTY_DOESNT_EXIST") || has("INVALID_DATA") || has("No such column") => {
            "a configured field is missing or has the wrong type; an admin must check the relay's crm.fields".into()
        }
        status if status >= 500 => "the CRM failed to answer; try again shortly".into(),
        _ => return None,
    })
}

/// A short, single-line excerpt of a body no vendor parser understood.
fn fallback_text(response: &HttpResponse) -> String {
    if (300..400).contains(&response.status) {
        return "the CRM redirected the request; check baseUrl".into();
    }
    let text: String = String::from_utf8_lossy(&response.body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        "no error details in the answer".into()
    } else {
        text
    }
}

/// `text` from `value[key]` when it is a non-blank string.
fn str_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// "message [CODE]" from whichever of the two is present.
fn message_with_code(message: Option<&str>, code: Option<&str>) -> Option<String> {
    match (message, code) {
        (Some(m), Some(c)) => Some(format!("{m} [{c}]")),
        (Some(m), None) => Some(m.to_string()),
        (None, Some(c)) => Some(c.to_string()),
        (None, None) => None,
    }
}
