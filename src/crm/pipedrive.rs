//! Pipedrive API v2, deals.
//!
//! Shapes follow Pipedrive's Deals API reference (<https://developers.pipedrive.com/docs/api/v1/Deals>,
//! its v2 endpoints) and the "Pipedrive API v2 migration guide"
//! (<https://pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide>):
//! - read: `GET /api/v2/deals/{id}?custom_fields=<keys>`, answer `{"success", "data": {"custom_fields"}}`;
//! - write: `PATCH /api/v2/deals/{id}` with `{"custom_fields": {"<key>": value}}`;
//! - custom fields are keyed by their 40-character key; text, large text and autocomplete fields hold a
//!   plain string in v2 (other types hold objects such as `{"value", "currency"}`), so values are
//!   written as plain strings and the configured fields must be text fields;
//! - every answer has `success`; errors add `error` and `error_info`.
//!
//! Auth: the API-token form, `x-api-token: <token>`
//! (<https://pipedrive.readme.io/docs/core-api-concepts-authentication>). An OAuth app would send
//! `Authorization: Bearer` instead. An API token acts as one user in one company.

use serde_json::{json, Map, Value};

use crate::crm::{message_with_code, str_at};
use crate::transport::Method;

pub(super) fn auth_header(token: &str) -> (&'static str, String) {
    ("x-api-token", token.to_string())
}

pub(super) fn read_url(base: &str, id: &str, names: &str) -> String {
    format!("{base}/api/v2/deals/{id}?custom_fields={names}")
}

fn check_success(body: &Value) -> Result<(), String> {
    match body.get("success") {
        Some(Value::Bool(true)) => Ok(()),
        Some(Value::Bool(false)) => {
            Err(error_text(body).unwrap_or_else(|| "the answer says success: false without an error".into()))
        }
        _ => Err("the answer has no success flag".into()),
    }
}

pub(super) fn record_fields(body: &Value) -> Result<&Map<String, Value>, String> {
    check_success(body)?;
    body.get("data")
        .and_then(|deal| deal.get("custom_fields"))
        .and_then(Value::as_object)
        .ok_or_else(|| "the answer has no data.custom_fields object".into())
}

pub(super) fn write(base: &str, id: &str, fields: Map<String, Value>) -> (Method, String, Value) {
    (Method::Patch, format!("{base}/api/v2/deals/{id}"), json!({ "custom_fields": fields }))
}

pub(super) fn check_write(body: &Value) -> Result<(), String> {
    check_success(body)
}

pub(super) fn error_text(body: &Value) -> Option<String> {
    let text = message_with_code(str_at(body, "error"), str_at(body, "code"))?;
    Some(match str_at(body, "error_info") {
        Some(info) => format!("{text} ({info})"),
        None => text,
    })
}
