//! Zoho CRM REST API v8, Deals module.
//!
//! Shapes follow Zoho's API reference (<https://www.zoho.com/crm/developer/docs/api/v8/>):
//! - read: "Get Records" for one record, `GET /crm/v8/Deals/{id}?fields=A,B`, answer `{"data": [{…}]}`;
//! - write: "Update Records" (`update-records.html`, "to update a specific record"),
//!   `PUT /crm/v8/Deals/{id}` with `{"data": [{…}]}`; only the fields sent change (workflow triggers
//!   follow Zoho's defaults). The answer carries a status per record in `data[i]`:
//!   `{"code": "SUCCESS", "status": "success", "details": {…}}`, or an error code such as
//!   `INVALID_DATA` with `details.api_name`;
//! - whole-request errors: `{"code", "message", "status": "error", "details"}`.
//!
//! Auth: `Authorization: Zoho-oauthtoken <token>`.

use serde_json::{json, Map, Value};

use crate::crm::{message_with_code, str_at};
use crate::transport::Method;

pub(super) fn auth_header(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Zoho-oauthtoken {token}"))
}

pub(super) fn read_url(base: &str, id: &str, names: &str) -> String {
    format!("{base}/crm/v8/Deals/{id}?fields={names}")
}

fn first_record(body: &Value) -> Option<&Value> {
    body.get("data").and_then(Value::as_array).and_then(|records| records.first())
}

pub(super) fn record_fields(body: &Value) -> Result<&Map<String, Value>, String> {
    first_record(body).and_then(Value::as_object).ok_or_else(|| "the answer has no record in data[0]".into())
}

pub(super) fn write(base: &str, id: &str, fields: Map<String, Value>) -> (Method, String, Value) {
    (Method::Put, format!("{base}/crm/v8/Deals/{id}"), json!({ "data": [fields] }))
}

/// Zoho answers 2xx for the request and reports each record's outcome separately.
pub(super) fn check_write(body: &Value) -> Result<(), String> {
    let record = first_record(body).ok_or("the answer has no per-record status in data[0]")?;
    if str_at(record, "code") == Some("SUCCESS") {
        Ok(())
    } else {
        Err(record_error(record).unwrap_or_else(|| "the record was not updated (no status code in data[0])".into()))
    }
}

pub(super) fn error_text(body: &Value) -> Option<String> {
    record_error(body).or_else(|| first_record(body).and_then(record_error))
}

fn record_error(error: &Value) -> Option<String> {
    let text = message_with_code(str_at(error, "message"), str_at(error, "code"))?;
    match error.get("details").and_then(|d| str_at(d, "api_name")) {
        Some(field) => Some(format!("{text} (field {field})")),
        None => Some(text),
    }
}
