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

use crate::crm::provision::{ExistingField, FieldKind, FieldSpec};
use crate::crm::{message_with_code, str_at};
use crate::transport::Method;

pub(super) fn auth_header(token: &str) -> (&'static str, String) {
    ("x-api-token", token.to_string())
}

pub(super) fn read_url(base: &str, id: &str, names: &str) -> String {
    format!("{base}/api/v2/deals/{id}?custom_fields={names}")
}

pub(super) fn check_success(body: &Value) -> Result<(), String> {
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

// Provisioning, after Pipedrive's DealFields API (v1): `GET /api/v1/dealFields?start&limit` answers
// `{"success", "data": [{"key", "name", "field_type", …}], "additional_data": {"pagination":
// {"more_items_in_collection", "next_start"}}}`; `POST /api/v1/dealFields` with `{"name",
// "field_type"}` creates a custom field, whose 40-character `key` Pipedrive chooses.

/// Pipedrive's text types: single line, autocomplete, large text.
const TEXT_TYPES: [&str; 3] = ["varchar", "varchar_auto", "text"];

pub(super) fn fields_url(base: &str, start: u64) -> String {
    format!("{base}/api/v1/dealFields?start={start}&limit=500")
}

/// The page's fields, and where the next page starts when there is one.
pub(super) fn read_fields(body: &Value) -> Result<(Vec<ExistingField>, Option<u64>), String> {
    check_success(body)?;
    let fields = match body.get("data") {
        Some(Value::Array(fields)) => fields.as_slice(),
        Some(Value::Null) => &[],
        _ => return Err("the answer has no data list".into()),
    };
    let found = fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let key = str_at(field, "key").ok_or_else(|| format!("data[{index}] has no key"))?;
            let kind = str_at(field, "field_type").unwrap_or("unknown");
            Ok(ExistingField {
                name: key.into(),
                label: str_at(field, "name").unwrap_or(key).into(),
                type_name: kind.into(),
                holds: match kind {
                    _ if TEXT_TYPES.contains(&kind) => Some(FieldKind::Text),
                    "date" => Some(FieldKind::Date),
                    "double" | "monetary" => Some(FieldKind::Number),
                    _ => None,
                },
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let pagination = body.get("additional_data").and_then(|data| data.get("pagination"));
    let more = pagination.and_then(|p| p.get("more_items_in_collection")).and_then(Value::as_bool) == Some(true);
    let next = match pagination.and_then(|p| p.get("next_start")).and_then(Value::as_u64) {
        Some(next) if more => Some(next),
        None if more => return Err("the answer says more fields follow but gives no next_start".into()),
        _ => None,
    };
    Ok((found, next))
}

pub(super) fn create_field(base: &str, spec: &FieldSpec) -> (String, Value) {
    let field_type = match spec.kind {
        FieldKind::Text => "varchar",
        FieldKind::Date => "date",
        FieldKind::Number => "double",
    };
    (format!("{base}/api/v1/dealFields"), json!({ "name": spec.label, "field_type": field_type }))
}

/// The key Pipedrive gave the field it created.
pub(super) fn created_key(body: &Value) -> Result<String, String> {
    body.get("data")
        .and_then(|field| str_at(field, "key"))
        .filter(|key| key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(str::to_string)
        .ok_or_else(|| "the created field's answer has no usable data.key".into())
}
