//! Deal field definitions for Pipedrive (`/api/v1/dealFields`) and Zoho CRM
//! (`/crm/v8/settings/fields?module=Deals`): listed in each vendor's shape, and custom text fields
//! created the way each does it. Organisation and person fields (`/api/v1/organizationFields`,
//! `/api/v1/personFields`) and Zoho's Accounts and Contacts fields are listed too (not created); Zoho's
//! Deals `Stage` comes with its `pick_list_values`, also served on their own
//! (`/crm/v8/settings/fields/{id}/pick_list_values?module=Deals`). Pipedrive gives a new field a 40-character key of its own; Zoho
//! derives the API name from the label. A created field is on every deal at once (empty), so
//! writes to it succeed.
//!
//! Which custom fields exist is what the deals carry (`custom_fields` keys on Pipedrive, field
//! names on Zoho); `Vendor::fields` keeps the definitions of the ones created through the API.

use super::{Record, Vendor, PIPEDRIVE_FIELDS, SPOTDRAFT_LABELS, ZOHO_FIELDS};
use crate::app::App;
use crate::clock;
use crate::http::{Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldDefinition {
    pub id: u64,
    /// Pipedrive's key, or Zoho's API name.
    pub key: String,
    pub label: String,
    /// Pipedrive's `field_type` or Zoho's `data_type`.
    pub field_type: String,
    pub created_micros: i64,
}

const PIPEDRIVE_STANDARD: [(&str, &str, &str); 9] = [
    ("title", "Title", "varchar"),
    ("value", "Value", "monetary"),
    ("currency", "Currency", "varchar_options"),
    ("stage_id", "Stage", "stage"),
    ("status", "Status", "status"),
    ("expected_close_date", "Expected close date", "date"),
    ("org_id", "Organization", "org"),
    ("person_id", "Contact person", "people"),
    ("owner_id", "Owner", "user"),
];
const PIPEDRIVE_ORGANIZATION: [(&str, &str, &str); 4] = [
    ("name", "Name", "varchar"),
    ("owner_id", "Owner", "user"),
    ("address", "Address", "address"),
    ("label_ids", "Labels", "set"),
];
const PIPEDRIVE_PERSON: [(&str, &str, &str); 8] = [
    ("name", "Name", "varchar"),
    ("first_name", "First name", "varchar"),
    ("last_name", "Last name", "varchar"),
    ("email", "Email", "varchar"),
    ("phone", "Phone", "phone"),
    ("org_id", "Organization", "org"),
    ("owner_id", "Owner", "user"),
    ("label_ids", "Labels", "set"),
];
const PIPEDRIVE_TYPES: [&str; 16] = [
    "varchar",
    "varchar_auto",
    "text",
    "double",
    "monetary",
    "date",
    "set",
    "enum",
    "user",
    "org",
    "people",
    "phone",
    "time",
    "timerange",
    "daterange",
    "address",
];
const ZOHO_STANDARD: [(&str, &str, &str); 8] = [
    ("Deal_Name", "Deal Name", "text"),
    ("Amount", "Amount", "currency"),
    ("Currency", "Currency", "picklist"),
    ("Stage", "Stage", "picklist"),
    ("Closing_Date", "Closing Date", "date"),
    ("Account_Name", "Account Name", "lookup"),
    ("Contact_Name", "Contact Name", "lookup"),
    ("Owner", "Deal Owner", "ownerlookup"),
];
const ZOHO_ACCOUNTS: [(&str, &str, &str); 7] = [
    ("Account_Name", "Account Name", "text"),
    ("Billing_Street", "Billing Street", "textarea"),
    ("Billing_City", "Billing City", "text"),
    ("Billing_State", "Billing State", "text"),
    ("Billing_Code", "Billing Code", "text"),
    ("Billing_Country", "Billing Country", "text"),
    ("Owner", "Account Owner", "ownerlookup"),
];
const ZOHO_CONTACTS: [(&str, &str, &str); 6] = [
    ("First_Name", "First Name", "text"),
    ("Last_Name", "Last Name", "text"),
    ("Full_Name", "Full Name", "text"),
    ("Email", "Email", "email"),
    ("Account_Name", "Account Name", "lookup"),
    ("Owner", "Contact Owner", "ownerlookup"),
];
/// The Deals `Stage` field's id (its place in `ZOHO_STANDARD`, as `zoho_list` numbers them).
const ZOHO_STAGE_ID: &str = "411000000000004";
const ZOHO_TYPES: [&str; 10] =
    ["text", "textarea", "email", "phone", "website", "integer", "double", "currency", "date", "datetime"];

/// The custom fields the vendor's deals carry, each with its definition (or, for the seeded
/// SpotDraft fields, the label provisioning gives them; any other, its name).
fn custom_fields(
    vendor: &Vendor,
    object: &str,
    keys_of: impl Fn(&Record) -> Vec<String>,
    seeded: &[&str],
    field_type: &str,
) -> Vec<FieldDefinition> {
    let mut keys: Vec<String> = Vec::new();
    for record in vendor.records.iter().filter(|record| record.object == object) {
        for key in keys_of(record) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys.into_iter()
        .map(|key| match vendor.fields.iter().find(|field| field.key == key) {
            Some(field) => field.clone(),
            None => {
                let label = seeded
                    .iter()
                    .position(|seeded| *seeded == key)
                    .and_then(|index| SPOTDRAFT_LABELS.get(index))
                    .map_or_else(|| key.replace('_', " "), |label| label.to_string());
                FieldDefinition { id: 0, key, label, field_type: field_type.into(), created_micros: 0 }
            }
        })
        .collect()
}

fn pipedrive_custom(vendor: &Vendor, object: &str) -> Vec<FieldDefinition> {
    let keys_of = |record: &Record| {
        record
            .fields
            .get("custom_fields")
            .and_then(Value::as_object)
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default()
    };
    let seeded: &[&str] = if object == "deals" { &PIPEDRIVE_FIELDS } else { &[] };
    custom_fields(vendor, object, keys_of, seeded, "varchar")
}

/// Zoho's standard fields of a module: (API name, label, data type).
fn zoho_standard(module: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match module {
        "Accounts" => &ZOHO_ACCOUNTS,
        "Contacts" => &ZOHO_CONTACTS,
        _ => &ZOHO_STANDARD,
    }
}

fn zoho_custom(vendor: &Vendor, module: &str) -> Vec<FieldDefinition> {
    let standard = zoho_standard(module);
    let keys_of = |record: &Record| {
        record.fields.keys().filter(|key| !standard.iter().any(|(name, ..)| name == key)).cloned().collect()
    };
    let seeded: &[&str] = if module == "Deals" { &ZOHO_FIELDS } else { &[] };
    custom_fields(vendor, module, keys_of, seeded, "text")
}

fn pd_time(micros: i64) -> String {
    let text = clock::format_rfc3339(micros);
    format!("{} {}", text.get(..10).unwrap_or(&text), text.get(11..19).unwrap_or(""))
}

fn pipedrive_json(id: u64, key: &str, label: &str, field_type: &str, custom: bool, micros: i64) -> Value {
    json!({
        "id": id, "key": key, "name": label, "order_nr": id % 100, "field_type": field_type,
        "add_time": pd_time(micros), "update_time": pd_time(micros), "last_updated_by_user_id": null,
        "created_by_user_id": null, "active_flag": true, "edit_flag": custom, "is_subfield": false,
        "mandatory_flag": key == "title", "bulk_edit_allowed": true, "searchable_flag": custom,
        "filtering_allowed": true, "sortable_flag": true, "add_visible_flag": !custom, "important_flag": false,
    })
}

/// `GET /api/v1/{dealFields,organizationFields,personFields}?start&limit` for `object` (`deals`,
/// `organizations`, `persons`; Pipedrive pages with start/limit, at most 500).
pub fn pipedrive_list(app: &App, request: &Request, object: &str) -> Response {
    let start: usize = request.query("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let limit: usize = request.query("limit").and_then(|s| s.parse().ok()).unwrap_or(100).clamp(1, 500);
    let state = app.state();
    let vendor = &state.vendors.pipedrive;
    let (standard, first_id): (&[(&str, &str, &str)], u64) = match object {
        "organizations" => (&PIPEDRIVE_ORGANIZATION, 4_010),
        "persons" => (&PIPEDRIVE_PERSON, 9_010),
        _ => (&PIPEDRIVE_STANDARD, 12_450),
    };
    let mut all: Vec<Value> = standard
        .iter()
        .enumerate()
        .map(|(index, (key, label, kind))| pipedrive_json(first_id + index as u64, key, label, kind, false, 0))
        .collect();
    all.extend(pipedrive_custom(vendor, object).iter().enumerate().map(|(index, field)| {
        let id = if field.id == 0 { first_id + 20 + index as u64 } else { field.id };
        pipedrive_json(id, &field.key, &field.label, &field.field_type, true, field.created_micros)
    }));
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let more = start + page.len() < all.len();
    let mut pagination = json!({"start": start, "limit": limit, "more_items_in_collection": more});
    if more {
        pagination["next_start"] = json!(start + page.len());
    }
    Response::json(200, &json!({"success": true, "data": page, "additional_data": {"pagination": pagination}}))
}

/// `POST /api/v1/dealFields` `{"name", "field_type"}`.
pub fn pipedrive_create(app: &App, request: &Request) -> Response {
    let body: Map<String, Value> = match serde_json::from_slice(&request.body) {
        Ok(Value::Object(body)) => body,
        _ => return super::pipedrive::error(400, "Request body is not valid JSON"),
    };
    let name = body.get("name").and_then(Value::as_str).map(str::trim).filter(|name| !name.is_empty());
    let field_type = body.get("field_type").and_then(Value::as_str);
    let (Some(name), Some(field_type)) = (name, field_type) else {
        return super::pipedrive::error(400, "Parameters name and field_type are required");
    };
    if !PIPEDRIVE_TYPES.contains(&field_type) {
        return super::pipedrive::error(400, &format!("Field type {field_type} is not supported"));
    }
    let mut state = app.state();
    let vendor = &mut state.vendors.pipedrive;
    let now = clock::now_micros();
    let id = 12_500 + vendor.fields.len() as u64;
    // Pipedrive's keys are 40 hex characters it chooses.
    let key = format!("{:08x}{:032x}", id, (now as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
    vendor.fields.push(FieldDefinition {
        id,
        key: key.clone(),
        label: name.into(),
        field_type: field_type.into(),
        created_micros: now,
    });
    for deal in vendor.records.iter_mut().filter(|record| record.object == "deals") {
        if let Some(Value::Object(custom)) = deal.fields.get_mut("custom_fields") {
            custom.insert(key.clone(), Value::Null);
        }
    }
    let answer = pipedrive_json(id, &key, name, field_type, true, now);
    app.persist(&state);
    Response::json(200, &json!({"success": true, "data": answer}))
}

fn zoho_json(id: &str, api_name: &str, label: &str, data_type: &str, custom: bool) -> Value {
    json!({
        "id": id, "api_name": api_name, "field_label": label, "display_label": label, "data_type": data_type,
        "custom_field": custom, "length": if data_type == "text" { 255 } else { 0 }, "visible": true,
        "read_only": false, "system_mandatory": api_name == "Deal_Name", "field_read_only": false,
        "json_type": if matches!(data_type, "lookup" | "ownerlookup") { "jsonobject" } else { "string" },
    })
}

/// The `module` asked for: Deals, or (`listing`) also Accounts and Contacts.
fn zoho_module(request: &Request, listing: bool) -> Result<String, Response> {
    match request.query("module").as_deref() {
        Some("Deals") => Ok("Deals".into()),
        Some(module @ ("Accounts" | "Contacts")) if listing => Ok(module.into()),
        None => Err(super::zoho::error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            json!({"param": "module"}),
        )),
        Some(_) => Err(super::zoho::error(
            400,
            "INVALID_MODULE",
            "the module name given seems to be invalid",
            json!({"param": "module"}),
        )),
    }
}

/// `GET /crm/v8/settings/fields?module={Deals,Accounts,Contacts}`; Deals' `Stage` with its values.
pub fn zoho_list(app: &App, request: &Request) -> Response {
    let module = match zoho_module(request, true) {
        Ok(module) => module,
        Err(response) => return response,
    };
    let prefix = match module.as_str() {
        "Accounts" => 412,
        "Contacts" => 413,
        _ => 411,
    };
    let state = app.state();
    let mut fields: Vec<Value> = zoho_standard(&module)
        .iter()
        .enumerate()
        .map(|(index, (name, label, kind))| {
            let mut field = zoho_json(&format!("{prefix}{:012}", index + 1), name, label, kind, false);
            if module == "Deals" && *name == "Stage" {
                field["pick_list_values"] = zoho_stage_values();
            }
            field
        })
        .collect();
    fields.extend(zoho_custom(&state.vendors.zoho, &module).iter().enumerate().map(|(index, field)| {
        let id = if field.id == 0 { 100 + index as u64 } else { field.id };
        zoho_json(&format!("{prefix}{id:012}"), &field.key, &field.label, &field.field_type, true)
    }));
    Response::json(200, &json!({"fields": fields}))
}

/// The Deals `Stage` picklist as Zoho lists it: the empty `-None-` choice, then the stages.
fn zoho_stage_values() -> Value {
    let none = std::iter::once("-None-");
    let values: Vec<Value> = none
        .chain(super::zoho::STAGES)
        .enumerate()
        .map(|(index, value)| {
            json!({"display_value": value, "actual_value": value, "reference_value": value, "sequence_number": index,
                   "id": format!("411{:012}", 500 + index), "type": "used", "colour_code": null})
        })
        .collect();
    Value::Array(values)
}

/// `GET /crm/v8/settings/fields/{id}/pick_list_values?module=Deals` (the Stage field's values).
pub fn zoho_pick_list_values(request: &Request, id: &str) -> Response {
    if let Err(response) = zoho_module(request, false) {
        return response;
    }
    if id != ZOHO_STAGE_ID {
        return super::zoho::error(400, "INVALID_DATA", "the id given seems to be invalid", json!({"id": id}));
    }
    Response::json(200, &json!({"pick_list_values": zoho_stage_values()}))
}

/// Zoho's API name for a label: words joined by `_`, other characters dropped.
fn zoho_api_name(label: &str) -> String {
    label
        .split_whitespace()
        .map(|word| word.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// `POST /crm/v8/settings/fields?module=Deals` `{"fields": [{"field_label", "data_type", "length"}]}`.
pub fn zoho_create(app: &App, request: &Request) -> Response {
    if let Err(response) = zoho_module(request, false) {
        return response;
    }
    let item = |code: &str, message: &str, details: Value, status: &str| json!({"code": code, "details": details, "message": message, "status": status});
    let refused = |code: &str, message: &str, details: Value| {
        Response::json(400, &json!({"fields": [item(code, message, details, "error")]}))
    };
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let Some(fields) = body.get("fields").and_then(Value::as_array).filter(|fields| !fields.is_empty()) else {
        return refused(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            json!({"api_name": "fields", "json_path": "$.fields"}),
        );
    };
    let mut state = app.state();
    let mut outcomes = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let label = field.get("field_label").and_then(Value::as_str).map(str::trim).filter(|l| !l.is_empty());
        let data_type = field.get("data_type").and_then(Value::as_str);
        let (Some(label), Some(data_type)) = (label, data_type) else {
            return refused(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                json!({"json_path": format!("$.fields[{index}]")}),
            );
        };
        if !ZOHO_TYPES.contains(&data_type) {
            return refused(
                "INVALID_DATA",
                "invalid data",
                json!({"api_name": "data_type", "json_path": format!("$.fields[{index}].data_type")}),
            );
        }
        let vendor = &mut state.vendors.zoho;
        let api_name = zoho_api_name(label);
        let taken =
            ZOHO_STANDARD.iter().any(|(name, standard, _)| *name == api_name || standard.eq_ignore_ascii_case(label))
                || zoho_custom(vendor, "Deals")
                    .iter()
                    .any(|field| field.key == api_name || field.label.eq_ignore_ascii_case(label));
        if api_name.is_empty() || taken {
            return refused(
                "DUPLICATE_DATA",
                "duplicate data",
                json!({"api_name": "field_label", "json_path": format!("$.fields[{index}].field_label")}),
            );
        }
        let id = 200 + vendor.fields.len() as u64;
        vendor.fields.push(FieldDefinition {
            id,
            key: api_name.clone(),
            label: label.into(),
            field_type: data_type.into(),
            created_micros: clock::now_micros(),
        });
        for deal in vendor.records.iter_mut().filter(|record| record.object == "Deals") {
            deal.fields.insert(api_name.clone(), Value::Null);
        }
        outcomes.push(item("SUCCESS", "field created", json!({"id": format!("411{id:012}")}), "success"));
    }
    app.persist(&state);
    Response::json(201, &json!({"fields": outcomes}))
}
