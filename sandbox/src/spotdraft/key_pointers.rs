//! Contract metadata values ("key pointers", the paths' legacy name): per contract, read
//! (`GET contracts/{id}/key_pointers`) and updated in bulk (`POST …/key_pointers/bulk`) or one at a
//! time (`PATCH contracts/{id}/key_pointers/{value_id}`), with the definitions per contract type
//! (`GET key_pointers/?contract_type_id=`). A contract's values start from its template variables of
//! the same field name (SpotDraft extracts them from the document); updates emit
//! `CONTRACT_KEY_POINTER_CREATION` / `_UPDATION` activities.

use serde_json::{json, Map, Value};

use super::{errors, parse_composite_id, Caller};
use crate::app::App;
use crate::http::{percent_decode, Request, Response};
use crate::lifecycle;
use crate::state::{Contract, KeyPointerValue, SandboxState, Workspace};

/// One metadata definition: what a contract type records.
pub struct Definition {
    pub id: u64,
    pub field_name: &'static str,
    pub label: &'static str,
    pub data_type: &'static str,
}

/// The definitions a contract type has: NDA types (the lower id of a workspace's pair) record the
/// NDA's terms, MSA types the commercial ones. Ids are the type id × 100 + n, so they differ per
/// workspace as SpotDraft's do.
pub fn definitions(workspace: &Workspace, contract_type_id: u64) -> Vec<Definition> {
    let Some(position) = workspace.contract_types.iter().position(|t| t.id == contract_type_id) else {
        return Vec::new();
    };
    let fields: &[(&str, &str, &str)] = if position % 2 == 0 {
        &[
            ("effective_date", "Effective date", "date"),
            ("confidentiality_term", "Confidentiality term", "duration"),
            ("governing_law", "Governing law", "dropdown"),
        ]
    } else {
        &[
            ("agreement_date", "Agreement date", "date"),
            ("contract_value", "Contract value", "currency"),
            ("subscription_term", "Subscription term", "duration"),
            ("billing_frequency", "Billing frequency", "dropdown"),
            ("auto_renewal", "Auto-renewal", "checkbox"),
        ]
    };
    fields
        .iter()
        .enumerate()
        .map(|(n, (field_name, label, data_type))| Definition {
            id: contract_type_id * 100 + n as u64 + 1,
            field_name,
            label,
            data_type,
        })
        .collect()
}

/// The id the next metadata value gets: unique across workspaces, as SpotDraft's are.
pub fn next_value_id(state: &SandboxState) -> u64 {
    let highest = state
        .workspaces
        .iter()
        .flat_map(|w| w.contracts.iter())
        .flat_map(|c| c.key_pointers.iter())
        .map(|v| v.id)
        .max();
    highest.unwrap_or(0) + 1
}

/// The values a new contract starts with: its template variables that a definition names.
pub fn initial_values(
    workspace: &Workspace,
    contract_type_id: u64,
    contract_data: &Value,
    first_id: u64,
) -> Vec<KeyPointerValue> {
    definitions(workspace, contract_type_id)
        .iter()
        .filter_map(|definition| contract_data.get(definition.field_name).map(|value| (definition.id, value.clone())))
        .enumerate()
        .map(|(n, (definition_id, value))| KeyPointerValue { id: first_id + n as u64, definition_id, value })
        .collect()
}

fn listing(workspace: &Workspace, contract: &Contract) -> Value {
    let definitions = definitions(workspace, contract.contract_type_id);
    let items: Vec<Value> = contract
        .key_pointers
        .iter()
        .filter_map(|value| {
            let definition = definitions.iter().find(|d| d.id == value.definition_id)?;
            Some(json!({
                "id": value.id,
                "value": value.value,
                "label": definition.label,
                "field_name": definition.field_name,
                "data_type": definition.data_type,
                "format_option": {},
            }))
        })
        .collect();
    Value::Array(items)
}

fn contract_index(workspace: &Workspace, raw_id: &str) -> Option<usize> {
    let id = parse_composite_id(&percent_decode(raw_id))?;
    workspace.contracts.iter().position(|contract| contract.id == id)
}

pub fn list(app: &App, caller: &Caller, raw_id: &str) -> Response {
    let state = app.state();
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else { return errors::not_found() };
    match contract_index(workspace, raw_id).and_then(|i| workspace.contracts.get(i)) {
        Some(contract) => Response::json(200, &listing(workspace, contract)),
        None => errors::not_found(),
    }
}

/// Checks a value against its definition's data type (the formats of SpotDraft's value table).
fn value_problem(data_type: &str, value: &Value) -> Option<&'static str> {
    let ok = match data_type {
        "date" => value.as_str().is_some_and(|text| crate::clock::parse_date(text).is_some()),
        "currency" => {
            value.get("type").is_some_and(Value::is_string) && value.get("value").is_some_and(Value::is_number)
        }
        "duration" => {
            value.get("type").is_some_and(Value::is_string) && value.get("value").is_some_and(Value::is_number)
        }
        "checkbox" => value.is_boolean(),
        _ => value.is_string() || value.is_number(),
    };
    (!ok).then_some(match data_type {
        "date" => "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        "currency" => "Expected {\"type\": <currency code>, \"value\": <amount>}.",
        "duration" => "Expected {\"type\": <unit>, \"value\": <count>}.",
        "checkbox" => "Must be a valid boolean.",
        _ => "Not a valid value.",
    })
}

pub fn bulk_update(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Response {
    let body = match errors::parse_object(&request.body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(items) = body.get("key_pointers").and_then(Value::as_array) else {
        return errors::field("key_pointers", "This field is required.");
    };
    let changes: Vec<(Option<u64>, Option<String>, Value)> = items
        .iter()
        .map(|item| {
            (
                item.get("key_pointer_id").and_then(Value::as_u64),
                item.get("key_pointer_field_name").and_then(Value::as_str).map(str::to_string),
                item.get("value").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    update(app, caller, raw_id, &changes, true)
}

/// `PATCH contracts/{id}/key_pointers/{value_id}`: one value, by the id of the contract's value.
pub fn patch_one(app: &App, caller: &Caller, request: &Request, raw_id: &str, raw_value_id: &str) -> Response {
    let body = match errors::parse_object(&request.body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(value_id) = percent_decode(raw_value_id).parse::<u64>().ok() else { return errors::not_found() };
    let value = match body.get("value") {
        None => return errors::field("value", "This field is required."),
        Some(value) => value.clone(),
    };
    let definition_id = {
        let state = app.state();
        let Some(workspace) = state.workspaces.get(caller.workspace_index) else { return errors::not_found() };
        let contract = contract_index(workspace, raw_id).and_then(|i| workspace.contracts.get(i));
        match contract.and_then(|c| c.key_pointers.iter().find(|v| v.id == value_id)) {
            Some(existing) => existing.definition_id,
            None => return errors::not_found(),
        }
    };
    let response = update(app, caller, raw_id, &[(Some(definition_id), None, value)], false);
    if response.status != 200 {
        return response;
    }
    // The one value, as SpotDraft answers a single update.
    let listed: Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let one = listed.as_array().and_then(|items| items.iter().find(|item| item["id"] == json!(value_id)).cloned());
    Response::json(200, &one.unwrap_or_default())
}

/// Applies `(definition id, field name, value)` changes all or nothing; emits one activity per
/// value created or changed.
fn update(
    app: &App,
    caller: &Caller,
    raw_id: &str,
    changes: &[(Option<u64>, Option<String>, Value)],
    bulk: bool,
) -> Response {
    let mut state = app.state();
    let next_id = next_value_id(&state);
    let Some(workspace) = state.workspaces.get_mut(caller.workspace_index) else { return errors::not_found() };
    let Some(index) = contract_index(workspace, raw_id) else { return errors::not_found() };
    let Some(contract_type_id) = workspace.contracts.get(index).map(|c| c.contract_type_id) else {
        return errors::not_found();
    };
    let definitions = definitions(workspace, contract_type_id);
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for (n, (id, field_name, value)) in changes.iter().enumerate() {
        let definition = match (id, field_name) {
            (Some(id), _) => definitions.iter().find(|d| d.id == *id),
            (None, Some(name)) => definitions.iter().find(|d| d.field_name == name),
            (None, None) => {
                problems.push(json!({"index": n, "key_pointer_id": ["Either key_pointer_id or key_pointer_field_name is required."]}));
                continue;
            }
        };
        let Some(definition) = definition else {
            problems.push(json!({"index": n, "key_pointer_id": ["This contract's type has no such key pointer."]}));
            continue;
        };
        if let Some(message) = value_problem(definition.data_type, value) {
            problems.push(json!({"index": n, "value": [message]}));
            continue;
        }
        resolved.push((definition.id, value.clone()));
    }
    if !problems.is_empty() {
        let key = if bulk { "key_pointers" } else { "value" };
        let mut errs = Map::new();
        errs.insert(key.into(), Value::Array(problems));
        return errors::fields(errs);
    }
    let mut activities = Vec::new();
    let mut fresh_id = next_id;
    let Some(contract) = workspace.contracts.get_mut(index) else { return errors::not_found() };
    for (definition_id, value) in resolved {
        match contract.key_pointers.iter_mut().find(|v| v.definition_id == definition_id) {
            Some(existing) if existing.value == value => {}
            Some(existing) => {
                existing.value = value;
                activities.push("CONTRACT_KEY_POINTER_UPDATION");
            }
            None => {
                contract.key_pointers.push(KeyPointerValue { id: fresh_id, definition_id, value });
                fresh_id += 1;
                activities.push("CONTRACT_KEY_POINTER_CREATION");
            }
        }
    }
    let contract_id = contract.id;
    let actor = json!({ "name": caller.user.name, "email": caller.user.email });
    for activity in activities {
        lifecycle::emit(app, &mut state, caller.workspace_index, contract_id, activity, actor.clone(), Map::new());
    }
    app.persist(&state);
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else { return errors::not_found() };
    match workspace.contracts.get(index) {
        Some(contract) => Response::json(200, &listing(workspace, contract)),
        None => errors::not_found(),
    }
}

/// `GET key_pointers/?contract_type_id=`: the definitions a contract type records.
pub fn definitions_for_type(app: &App, caller: &Caller, request: &Request) -> Response {
    let Some(type_id) = request.query("contract_type_id").and_then(|text| text.trim().parse::<u64>().ok()) else {
        return errors::field("contract_type_id", "This field is required.");
    };
    let state = app.state();
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else { return errors::not_found() };
    let items: Vec<Value> = definitions(workspace, type_id)
        .iter()
        .map(|d| {
            // Descriptors as `CfPublicDescriptor`: composite values (currency, duration) as their parts.
            let part = |name: &str, kind: &str| {
                json!({"display_label": d.label, "variable": format!("{}.{name}", d.field_name), "type": kind,
                    "parent_variable": d.field_name, "parent_type": d.data_type, "required": false})
            };
            let descriptors = match d.data_type {
                "currency" => vec![part("type", "string"), part("value", "float")],
                "duration" => vec![part("type", "string"), part("value", "int")],
                other => {
                    let kind = match other {
                        "checkbox" => "boolean",
                        "dropdown" => "enum",
                        "date" => "date",
                        _ => "string",
                    };
                    vec![json!({"display_label": d.label, "variable": d.field_name, "type": kind, "required": false})]
                }
            };
            json!({"id": d.id, "descriptors": descriptors, "section": {"id": type_id, "section_type": "USER_DEFINED"}})
        })
        .collect();
    Response::json(200, &Value::Array(items))
}
