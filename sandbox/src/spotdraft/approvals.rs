//! Contract approvals (`/api/v2.1/public/contracts/approvals/{contract_id}/`): the steps a contract
//! has and their state (GET, `PublicContractApprovalListResponse`), and ad-hoc approvals created and
//! sent by a caller (POST, `ExternalCreateContractApprovalRequestList` → 201
//! `ExternalApprovalListResponse`). As the spec notes, a contract on Approval V5 refuses ad-hoc
//! approvals (`SD_CONTRACT_APPROVALS_00001`; here: one the control route put on it), and so does one
//! whose approval group is still in progress (`SD_CONTRACTS_00152`). Creating them emits
//! `CONTRACT_APPROVAL_REQUESTED`; an approver's decision (control route) emits
//! `CONTRACT_APPROVAL_COMPLETED` once every step of the group is decided.

use super::{errors, parse_composite_id, Caller};
use crate::app::App;
use crate::clock;
use crate::http::{percent_decode, Request, Response};
use crate::lifecycle;
use crate::state::{Approval, SandboxState};
use serde_json::{json, Map, Value};

/// Statuses of a step still waiting for its approver.
const OPEN: [&str; 2] = ["NOT_STARTED", "PENDING"];

fn contract_index(state: &SandboxState, workspace: usize, raw_id: &str) -> Option<u64> {
    let id = parse_composite_id(&percent_decode(raw_id))?;
    state.workspaces.get(workspace)?.contract(id).map(|c| c.id)
}

fn user_json(state: &SandboxState, workspace: usize, email: &str) -> Value {
    let user = state.workspaces.get(workspace).and_then(|w| w.user(email));
    json!({"id": user.map_or(0, |u| u.id), "name": user.map_or("", |u| u.name.as_str()), "email": email})
}

fn step_json(state: &SandboxState, workspace: usize, approval: &Approval) -> Value {
    let approver = approval.approver_user_id.and_then(|id| {
        state
            .workspaces
            .get(workspace)?
            .users
            .iter()
            .find(|u| u.id == id)
            .map(|u| json!({"id": u.id, "name": u.name, "email": u.email}))
    });
    let actions: Vec<Value> = approval
        .decided_micros
        .map(|at| json!({"status": approval.status, "notes": approval.decision_notes, "created": clock::format_rfc3339(at), "latest": true}))
        .into_iter()
        .collect();
    let mut step = json!({
        "id": approval.id,
        "contract_id": approval.contract_id,
        "approval_name": approval.name,
        "approval_type": "AD_HOC",
        "sent_for_approval": approval.sent,
        "last_sent_at": clock::format_rfc3339(approval.created_micros),
        "notes": approval.notes,
        "created_by_org_user": user_json(state, workspace, &approval.created_by),
        "status": approval.status,
    });
    if let (Some(approver), Value::Object(map)) = (approver, &mut step) {
        map.insert("org_user".into(), approver);
    }
    json!({"approval_actions": actions, "approval": step})
}

pub fn handle(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Response {
    if request.method == "GET" {
        let state = app.state();
        let Some(id) = contract_index(&state, caller.workspace_index, raw_id) else { return errors::not_found() };
        let results: Vec<Value> = state
            .approvals
            .iter()
            .filter(|a| a.workspace == caller.workspace_index && a.contract_id == id)
            .map(|a| step_json(&state, caller.workspace_index, a))
            .collect();
        return Response::json(200, &json!({"results": results}));
    }
    create(app, caller, request, raw_id).unwrap_or_else(|response| response)
}

fn create(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Result<Response, Response> {
    let body = errors::parse_object(&request.body)?;
    let mut state = app.state();
    let id = contract_index(&state, caller.workspace_index, raw_id).ok_or_else(errors::not_found)?;
    let Some(Value::Array(items)) = body.get("approvals") else {
        return Err(errors::field("approvals", "This field is required."));
    };
    let mut problems = Map::new();
    if items.is_empty() {
        problems.insert("approvals".into(), json!(["At least one approval is required."]));
    }
    let workspace = state.workspaces.get(caller.workspace_index).ok_or_else(errors::not_found)?;
    let mut wanted = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut item_problems = Map::new();
        let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty());
        for key in ["name", "notes"] {
            if text(key).is_none() {
                item_problems.insert(key.into(), json!(["This field is required."]));
            }
        }
        let user = item.get("approver_user_id").and_then(Value::as_u64);
        let role = item.get("approver_role_id").and_then(Value::as_u64);
        match (user, role) {
            (Some(_), Some(_)) | (None, None) => {
                item_problems.insert(
                    "approver_user_id".into(),
                    json!(["Either approver_user_id or approver_role_id must be set, but not both."]),
                );
            }
            (Some(user), None) if !workspace.users.iter().any(|u| u.id == user) => {
                item_problems.insert(
                    "approver_user_id".into(),
                    json!([format!("User {user} is not a member of this workspace.")]),
                );
            }
            _ => {}
        }
        if item_problems.is_empty() {
            wanted.push((
                text("name").unwrap_or_default().to_string(),
                text("notes").unwrap_or_default().to_string(),
                user,
                role,
                item.get("order").and_then(Value::as_u64).unwrap_or(1),
            ));
        } else {
            problems.insert(i.to_string(), Value::Object(item_problems));
        }
    }
    if !problems.is_empty() {
        return Err(errors::fields(Map::from_iter([("approvals".to_string(), Value::Object(problems))])));
    }
    let contract = workspace.contract(id).ok_or_else(errors::not_found)?;
    if contract.approval_v5 {
        return Err(errors::public_error(
            400,
            "Ad-hoc approvals are not supported for contracts on Approval V5.",
            Some("SD_CONTRACT_APPROVALS_00001"),
        ));
    }
    if ["EXECUTED", "VOIDED"].contains(&contract.status.as_str()) {
        return Err(errors::public_error(
            400,
            &format!("Approvals cannot be requested on a contract in status {}.", contract.status),
            None,
        ));
    }
    if state
        .approvals
        .iter()
        .any(|a| a.workspace == caller.workspace_index && a.contract_id == id && OPEN.contains(&a.status.as_str()))
    {
        return Err(errors::public_error(
            400,
            "Another approval group is already in progress for this contract.",
            Some("SD_CONTRACTS_00152"),
        ));
    }
    let now = clock::now_micros();
    let mut created = Vec::new();
    for (name, notes, user, role, order) in wanted {
        state.next_approval_id += 1;
        let approval = Approval {
            id: state.next_approval_id,
            workspace: caller.workspace_index,
            contract_id: id,
            name,
            notes,
            approver_user_id: user,
            approver_role_id: role,
            order,
            status: "PENDING".into(),
            sent: true,
            created_by: caller.user.email.clone(),
            created_micros: now,
            decided_micros: None,
            decision_notes: None,
        };
        // The schema types both approver ids as integers (not nullable): the one not set is left out.
        let mut item = json!({"id": approval.id, "contract_id": id, "name": approval.name, "is_sent": true, "notes": approval.notes, "order": order});
        if let Value::Object(map) = &mut item {
            if let Some(user) = user {
                map.insert("approver_user_id".into(), json!(user));
            }
            if let Some(role) = role {
                map.insert("approver_role_id".into(), json!(role));
            }
        }
        created.push(item);
        state.approvals.push(approval);
    }
    let actor = json!({"name": caller.user.name, "email": caller.user.email});
    lifecycle::emit(app, &mut state, caller.workspace_index, id, "CONTRACT_APPROVAL_REQUESTED", actor, Map::new());
    app.persist(&state);
    Ok(Response::json(201, &Value::Array(created)))
}

/// `POST /__sandbox/contracts/{id}/approvals/{approval}/decision` `{"status": "APPROVED"|"REJECTED", "notes"?}`:
/// the approver decides; when no step of the contract is left open, `CONTRACT_APPROVAL_COMPLETED`.
pub fn decide(app: &App, request: &Request, raw_contract: &str, raw_approval: &str) -> Response {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let Some(status) = body.get("status").and_then(Value::as_str).filter(|s| ["APPROVED", "REJECTED"].contains(s))
    else {
        return Response::json(400, &json!({"error": "status must be APPROVED or REJECTED"}));
    };
    let mut state = app.state();
    let Some(contract_id) = parse_composite_id(raw_contract) else {
        return Response::json(404, &json!({"error": "no such contract"}));
    };
    let Some(approval) =
        state.approvals.iter_mut().find(|a| a.contract_id == contract_id && a.id.to_string() == raw_approval)
    else {
        return Response::json(404, &json!({"error": "no such approval"}));
    };
    if !OPEN.contains(&approval.status.as_str()) {
        return Response::json(409, &json!({"error": format!("already {}", approval.status)}));
    }
    approval.status = status.into();
    approval.decided_micros = Some(clock::now_micros());
    approval.decision_notes = body.get("notes").and_then(Value::as_str).map(str::to_string);
    let workspace = approval.workspace;
    let approver = approval.approver_user_id;
    let finished = !state
        .approvals
        .iter()
        .any(|a| a.workspace == workspace && a.contract_id == contract_id && OPEN.contains(&a.status.as_str()));
    let actor = state
        .workspaces
        .get(workspace)
        .and_then(|w| w.users.iter().find(|u| Some(u.id) == approver))
        .map_or(json!({"name": "Approver"}), |u| json!({"name": u.name, "email": u.email}));
    if finished {
        lifecycle::emit(app, &mut state, workspace, contract_id, "CONTRACT_APPROVAL_COMPLETED", actor, Map::new());
    }
    app.persist(&state);
    Response::json(200, &json!({"status": status, "completed": finished}))
}

/// `PUT /__sandbox/contracts/{id}/approval-version` `{"version": 4|5}`: which approval engine the
/// contract runs on (4, the default, takes ad-hoc approvals).
pub fn set_version(app: &App, request: &Request, raw_contract: &str) -> Response {
    let version =
        serde_json::from_slice::<Value>(&request.body).ok().and_then(|b| b.get("version").and_then(Value::as_u64));
    let Some(version @ (4 | 5)) = version else {
        return Response::json(400, &json!({"error": "version must be 4 or 5"}));
    };
    let mut state = app.state();
    let Some(id) = parse_composite_id(raw_contract) else {
        return Response::json(404, &json!({"error": "no such contract"}));
    };
    let Some(contract) = state.workspaces.iter_mut().find_map(|w| w.contract_mut(id)) else {
        return Response::json(404, &json!({"error": "no such contract"}));
    };
    contract.approval_v5 = version == 5;
    app.persist(&state);
    Response::empty(204)
}
