//! Contract status changes and the activities (webhook events) each one emits, with strictly
//! increasing activity timestamps and `last_updated_on` kept in step so list filters see them.

use crate::app::App;
use crate::clock;
use crate::state::{Contract, SandboxState, Workspace};
use serde_json::{json, Map, Value};

/// Hands out the next activity time: now, but always after the previous one.
fn next_activity_time(state: &mut SandboxState) -> i64 {
    let now = clock::now_micros().max(state.last_activity_micros + 1);
    state.last_activity_micros = now;
    now
}

fn person(name: &str, email: &str) -> Value {
    json!({ "name": name, "email": email })
}

fn payload(workspace: &Workspace, contract: &Contract, activity: &str, activity_data: Value) -> Value {
    let counterparties: Vec<Value> = contract
        .counterparties
        .iter()
        .map(|party| {
            let individual = party.get("is_individual").and_then(Value::as_bool).unwrap_or(false);
            let poc = party.get("poc_details").cloned().unwrap_or_default();
            let first = poc.get("first_name").and_then(Value::as_str).unwrap_or_default();
            let last = poc.get("last_name").and_then(Value::as_str).unwrap_or_default();
            let mut item = json!({
                "type": if individual { "Individual" } else { "Organization" },
                "poc_name": format!("{first} {last}").trim().to_string(),
                "poc_email": poc.get("email").cloned().unwrap_or(Value::Null),
            });
            if let Some(name) = party.get("organization_name").and_then(Value::as_str) {
                item["organization_name"] = json!(name);
            }
            item
        })
        .collect();
    let legal = workspace.users.get(1).or(workspace.users.first());
    let mut body = json!({
        "contract_id": contract.id,
        "contract_kind": "TEMPLATE_CONTRACT",
        "contract_title": contract.name,
        "contract_type": contract.contract_type_name,
        "contract_type_name": contract.contract_type_name,
        "contract_type_id": contract.contract_type_id,
        "contract_status": contract.status,
        "business_user": person(&contract.created_by_name, &contract.created_by),
        "created_at": clock::format_rfc3339(contract.created_micros),
        "counterparties": counterparties,
        "entity": {"reference_id": format!("ENT-{}", workspace.id), "name": "YourCo Inc.", "jurisdiction": "US", "type": "Organization"},
        "contract_reference_id": contract.reference_id(),
        "contract_template_id": contract.template_id,
        "activity_data": activity_data,
        "activity": activity,
    });
    if let Some(legal) = legal {
        body["legal_user"] = person(&legal.name, &legal.email);
    }
    if let Some(metadata) = &contract.external_metadata {
        body["external_metadata"] = metadata.clone();
    }
    body
}

/// Records one activity for a contract (already in its new status), bumps `last_updated_on`,
/// and queues deliveries. Returns the delivery body.
pub fn emit(
    app: &App,
    state: &mut SandboxState,
    workspace_index: usize,
    contract_id: u64,
    activity: &str,
    performed_by: Value,
    extra: Map<String, Value>,
) -> Option<String> {
    let timestamp = next_activity_time(state);
    let workspace = state.workspaces.get_mut(workspace_index)?;
    let contract = workspace.contract_mut(contract_id)?;
    contract.last_updated_micros = timestamp;
    let contract = contract.clone();
    let mut activity_data = Map::new();
    activity_data.insert("performed_by".into(), performed_by);
    activity_data.insert("timestamp".into(), json!(clock::format_rfc3339(timestamp)));
    activity_data.extend(extra);
    let body = payload(workspace, &contract, activity, Value::Object(activity_data)).to_string();
    workspace.activities.push(crate::state::ActivityRecord {
        contract_id,
        activity: activity.to_string(),
        timestamp_micros: timestamp,
        body: body.clone(),
    });
    let workspace_name = workspace.name.clone();
    crate::delivery::enqueue_for_subscribers(app, state, &workspace_name, activity, contract_id, &body, "original");
    Some(body)
}

pub fn system() -> Value {
    json!({ "name": "SYSTEM" })
}

fn recipients(contract: &Contract) -> Vec<String> {
    contract
        .counterparties
        .iter()
        .filter_map(|party| party.pointer("/poc_details/email").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// People who sign: the explicit signatories, else each counterparty's contact.
fn signers(contract: &Contract) -> Vec<(String, String)> {
    let explicit: Vec<(String, String)> = contract
        .signatories
        .iter()
        .filter_map(|signatory| {
            Some((signatory.get("name")?.as_str()?.to_string(), signatory.get("email")?.as_str()?.to_string()))
        })
        .collect();
    if !explicit.is_empty() {
        return explicit;
    }
    contract
        .counterparties
        .iter()
        .filter_map(|party| {
            let poc = party.get("poc_details")?;
            let name = format!(
                "{} {}",
                poc.get("first_name").and_then(Value::as_str).unwrap_or_default(),
                poc.get("last_name").and_then(Value::as_str).unwrap_or_default()
            );
            Some((name.trim().to_string(), poc.get("email")?.as_str()?.to_string()))
        })
        .collect()
}

fn set_status(state: &mut SandboxState, workspace_index: usize, contract_id: u64, status: &str) -> Option<Contract> {
    let contract = state.workspaces.get_mut(workspace_index)?.contract_mut(contract_id)?;
    if status == "ON_HOLD" {
        contract.status_before_hold = Some(contract.status.clone());
    } else {
        contract.status_before_hold = None;
    }
    contract.status = status.to_string();
    Some(contract.clone())
}

/// Moves a contract to `DRAFT → REDLINING` (or records a resend) with the send activities.
pub fn send_to_counterparty(
    app: &App,
    state: &mut SandboxState,
    workspace_index: usize,
    contract_id: u64,
    performed_by: Value,
    to: Vec<String>,
    cc: Vec<String>,
) -> Vec<String> {
    let Some(contract) = set_status(state, workspace_index, contract_id, "REDLINING") else {
        return Vec::new();
    };
    let to = if to.is_empty() { recipients(&contract) } else { to };
    let mut extra = Map::new();
    extra.insert("counterparty_email_recipients".into(), json!({ "to_recipients": to, "cc_recipients": cc }));
    let mut emitted = Vec::new();
    emit(app, state, workspace_index, contract_id, "CONTRACT_SENT_TO_COUNTERPARTY", performed_by, extra);
    emitted.push("CONTRACT_SENT_TO_COUNTERPARTY".to_string());
    for recipient in to {
        let mut extra = Map::new();
        extra.insert(
            "email_event_data".into(),
            json!({ "recipient_email": recipient, "email_mode": "to", "occured_at": clock::format_rfc3339(clock::now_micros()) }),
        );
        emit(app, state, workspace_index, contract_id, "REDLINING_EMAIL_DELIVERED", system(), extra);
        emitted.push("REDLINING_EMAIL_DELIVERED".to_string());
    }
    emitted
}

/// A lifecycle move requested through the control API. Returns the activities emitted, or why
/// the move is not possible from the current status.
pub fn transition(
    app: &App,
    state: &mut SandboxState,
    workspace_index: usize,
    contract_id: u64,
    target: &str,
) -> Result<Vec<String>, String> {
    let contract = state
        .workspaces
        .get(workspace_index)
        .and_then(|workspace| workspace.contract(contract_id))
        .cloned()
        .ok_or_else(|| "contract not found".to_string())?;
    let current = contract.status.as_str();
    let legal = state
        .workspaces
        .get(workspace_index)
        .and_then(|workspace| workspace.users.get(1))
        .map(|user| person(&user.name, &user.email))
        .unwrap_or_else(system);
    let refuse = || Err(format!("cannot move a {current} contract to {target}"));
    let mut emitted = Vec::new();
    match (current, target) {
        ("ON_HOLD", "DRAFT" | "REDLINING" | "SIGN") => {
            set_status(state, workspace_index, contract_id, target);
            // Resuming emits no public activity; only last_updated_on moves.
            touch(state, workspace_index, contract_id);
        }
        ("DRAFT", "REDLINING") => {
            emitted = send_to_counterparty(app, state, workspace_index, contract_id, legal, Vec::new(), Vec::new());
        }
        ("DRAFT" | "REDLINING", "SIGN") => {
            set_status(state, workspace_index, contract_id, "SIGN");
            emit(app, state, workspace_index, contract_id, "CONTRACT_SIGNATURE_REQUESTED", legal, Map::new());
            emitted.push("CONTRACT_SIGNATURE_REQUESTED".into());
            for (name, email) in signers(&contract) {
                let mut extra = Map::new();
                extra.insert("signatory".into(), person(&name, &email));
                emit(
                    app,
                    state,
                    workspace_index,
                    contract_id,
                    "CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT",
                    system(),
                    extra,
                );
                emitted.push("CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT".into());
            }
        }
        ("SIGN", "EXECUTED") => {
            for (name, email) in signers(&contract) {
                emit(app, state, workspace_index, contract_id, "CONTRACT_SIGNED", person(&name, &email), Map::new());
                emitted.push("CONTRACT_SIGNED".into());
            }
            set_status(state, workspace_index, contract_id, "EXECUTED");
            emit(app, state, workspace_index, contract_id, "CONTRACT_EXECUTED", system(), Map::new());
            emitted.push("CONTRACT_EXECUTED".into());
        }
        ("SIGN", "DRAFT") => {
            let (name, email) = signers(&contract).into_iter().next().unwrap_or_default();
            set_status(state, workspace_index, contract_id, "DRAFT");
            emit(
                app,
                state,
                workspace_index,
                contract_id,
                "CONTRACT_SIGNATURE_DECLINED",
                person(&name, &email),
                Map::new(),
            );
            emitted.push("CONTRACT_SIGNATURE_DECLINED".into());
        }
        ("DRAFT" | "REDLINING" | "SIGN", "ON_HOLD") => {
            set_status(state, workspace_index, contract_id, "ON_HOLD");
            touch(state, workspace_index, contract_id);
        }
        ("DRAFT" | "REDLINING" | "SIGN" | "ON_HOLD", "VOIDED") => {
            void(app, state, workspace_index, contract_id, legal);
            emitted.push("CONTRACT_VOIDED".into());
        }
        _ => return refuse(),
    }
    Ok(emitted)
}

/// Bumps `last_updated_on` for a change that has no public activity.
fn touch(state: &mut SandboxState, workspace_index: usize, contract_id: u64) {
    let timestamp = next_activity_time(state);
    if let Some(contract) =
        state.workspaces.get_mut(workspace_index).and_then(|workspace| workspace.contract_mut(contract_id))
    {
        contract.last_updated_micros = timestamp;
    }
}

pub fn void(app: &App, state: &mut SandboxState, workspace_index: usize, contract_id: u64, performed_by: Value) {
    set_status(state, workspace_index, contract_id, "VOIDED");
    emit(app, state, workspace_index, contract_id, "CONTRACT_VOIDED", performed_by, Map::new());
}
