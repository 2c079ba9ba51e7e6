//! HubSpot CRM v3 objects API, deals.
//!
//! Shapes follow HubSpot's "Deals" guide (<https://developers.hubspot.com/docs/api/crm/deals>) and the
//! API reference page "Update" for deals
//! (<https://developers.hubspot.com/docs/api-reference/crm-deals-v3/basic/patch-crm-v3-objects-0-3-dealId>;
//! `0-3` and `deals` name the same object):
//! - read: `GET …/crm/v3/objects/deals/{id}?properties=a,b`, answer `{"id", "properties": {…}}`;
//! - write: `PATCH …/crm/v3/objects/deals/{id}` with `{"properties": {…}}`; only the properties sent change;
//! - errors: `{"status": "error", "message", "category", "correlationId"}`.
//!
//! Auth: `Authorization: Bearer <OAuth access token or private-app token>`.

use serde_json::{json, Map, Value};

use crate::crm::provision::{ExistingField, FieldKind, FieldSpec};
use crate::crm::{message_with_code, str_at};
use crate::transport::Method;

pub(super) fn read_url(base: &str, id: &str, names: &str) -> String {
    format!("{base}/crm/v3/objects/deals/{id}?properties={names}")
}

pub(super) fn record_fields(body: &Value) -> Result<&Map<String, Value>, String> {
    body.get("properties").and_then(Value::as_object).ok_or_else(|| "the answer has no properties object".into())
}

pub(super) fn write(base: &str, id: &str, fields: Map<String, Value>) -> (Method, String, Value) {
    (Method::Patch, format!("{base}/crm/v3/objects/deals/{id}"), json!({ "properties": fields }))
}

pub(super) fn error_text(body: &Value) -> Option<String> {
    message_with_code(str_at(body, "message"), str_at(body, "category"))
}

// Provisioning, after HubSpot's CRM properties API (v3): `GET …/crm/v3/properties/deals` answers
// `{"results": [{"name", "label", "type", "fieldType", "groupName", …}]}`; `POST` there creates one
// property; groups are listed and created at `…/crm/v3/properties/deals/groups`.

pub(super) fn properties_url(base: &str) -> String {
    format!("{base}/crm/v3/properties/deals")
}

pub(super) fn groups_url(base: &str) -> String {
    format!("{base}/crm/v3/properties/deals/groups")
}

fn results(body: &Value) -> Result<&Vec<Value>, String> {
    body.get("results").and_then(Value::as_array).ok_or_else(|| "the answer has no results list".into())
}

pub(super) fn read_properties(body: &Value) -> Result<Vec<ExistingField>, String> {
    results(body)?
        .iter()
        .enumerate()
        .map(|(index, property)| {
            let name = str_at(property, "name").ok_or_else(|| format!("results[{index}] has no name"))?;
            let kind = str_at(property, "type").unwrap_or("unknown");
            Ok(ExistingField {
                name: name.into(),
                label: str_at(property, "label").unwrap_or(name).into(),
                type_name: kind.into(),
                holds: match kind {
                    "string" => Some(FieldKind::Text),
                    "date" | "datetime" => Some(FieldKind::Date),
                    "number" => Some(FieldKind::Number),
                    _ => None,
                },
            })
        })
        .collect()
}

pub(super) fn read_groups(body: &Value) -> Result<Vec<String>, String> {
    results(body)?
        .iter()
        .enumerate()
        .map(|(index, group)| {
            str_at(group, "name").map(str::to_string).ok_or_else(|| format!("results[{index}] has no name"))
        })
        .collect()
}

pub(super) fn create_group(base: &str, name: &str, label: &str) -> (String, Value) {
    (groups_url(base), json!({ "name": name, "label": label, "displayOrder": -1 }))
}

/// A single-line text property (`string`/`text`), a date (`date`/`date`) or a number (`number`/`number`).
pub(super) fn create_property(base: &str, name: &str, spec: &FieldSpec, group: &str) -> (String, Value) {
    let (kind, field_type) = match spec.kind {
        FieldKind::Text => ("string", "text"),
        FieldKind::Date => ("date", "date"),
        FieldKind::Number => ("number", "number"),
    };
    (
        properties_url(base),
        json!({ "name": name, "label": spec.label, "description": spec.description, "groupName": group,
                "type": kind, "fieldType": field_type }),
    )
}
