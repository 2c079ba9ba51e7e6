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

use crate::crm::provision::{ExistingField, FieldKind, FieldSpec};
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

// Provisioning, after Zoho's Fields Metadata API (v8): `GET /crm/v8/settings/fields?module=Deals`
// answers `{"fields": [{"api_name", "field_label", "data_type", …}]}`; `POST` there with `{"fields":
// [{"field_label", "data_type", "length"}]}` creates custom fields (Zoho derives the API name from the
// label) and reports each one's outcome as records do: `{"fields": [{"code": "SUCCESS", …}]}`.

/// Zoho's types that hold plain text.
const TEXT_TYPES: [&str; 3] = ["text", "textarea", "website"];

pub(super) fn fields_url(base: &str) -> String {
    format!("{base}/crm/v8/settings/fields?module=Deals")
}

pub(super) fn read_fields(body: &Value) -> Result<Vec<ExistingField>, String> {
    let fields = body.get("fields").and_then(Value::as_array).ok_or("the answer has no fields list")?;
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let name = str_at(field, "api_name").ok_or_else(|| format!("fields[{index}] has no api_name"))?;
            let kind = str_at(field, "data_type").unwrap_or("unknown");
            Ok(ExistingField {
                name: name.into(),
                label: str_at(field, "field_label").unwrap_or(name).into(),
                type_name: kind.into(),
                holds: match kind {
                    _ if TEXT_TYPES.contains(&kind) => Some(FieldKind::Text),
                    "date" => Some(FieldKind::Date),
                    "double" | "integer" | "currency" => Some(FieldKind::Number),
                    _ => None,
                },
            })
        })
        .collect()
}

/// A single-line text field of Zoho's longest single-line length, a date or a decimal number.
pub(super) fn create_field(base: &str, spec: &FieldSpec) -> (String, Value) {
    let field = match spec.kind {
        FieldKind::Text => json!({ "field_label": spec.label, "data_type": "text", "length": 255 }),
        FieldKind::Date => json!({ "field_label": spec.label, "data_type": "date" }),
        FieldKind::Number => {
            json!({ "field_label": spec.label, "data_type": "double", "length": 16, "decimal_place": 2 })
        }
    };
    (fields_url(base), json!({ "fields": [field] }))
}

pub(super) fn check_created(body: &Value) -> Result<(), String> {
    let outcome = body
        .get("fields")
        .and_then(Value::as_array)
        .and_then(|fields| fields.first())
        .ok_or("the answer has no per-field status in fields[0]")?;
    if str_at(outcome, "code") == Some("SUCCESS") {
        Ok(())
    } else {
        Err(record_error(outcome).unwrap_or_else(|| "the field was not created (no status code in fields[0])".into()))
    }
}
