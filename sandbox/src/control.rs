//! The sandbox's own control API under `/__sandbox/` (never a SpotDraft or HubSpot path):
//! inspect traffic, drive contract lifecycles, and set faults.

use crate::app::{lock, App};
use crate::faults::FaultSettings;
use crate::http::{Request, Response};
use crate::lifecycle;
use crate::spotdraft::{parse_composite_id, spotdraft_webhook_json};
use serde_json::{json, Value};

pub const PREFIX: &str = "/__sandbox";

fn bad_request(message: &str) -> Response {
    Response::json(400, &json!({ "error": message }))
}

fn not_found(message: &str) -> Response {
    Response::json(404, &json!({ "error": message }))
}

fn wants(request: &Request, name: &str, actual: &str) -> bool {
    request.query(name).is_none_or(|wanted| wanted == actual)
}

pub fn handle(app: &App, request: &Request) -> Response {
    let path = request.path.strip_prefix(PREFIX).unwrap_or_default().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", [] | ["health"]) => health(app),
        ("GET", ["workspaces"]) => workspaces(app),
        ("POST", ["reset"]) => reset(app),
        ("GET", ["requests"]) => requests(app, request),
        ("DELETE", ["requests"]) => {
            lock(&app.journal).requests.clear();
            Response::empty(204)
        }
        ("GET", ["deliveries"]) => deliveries(app, request),
        ("DELETE", ["deliveries"]) => {
            lock(&app.journal).deliveries.clear();
            Response::empty(204)
        }
        ("GET", ["crm", "writes"]) => {
            let writes: Vec<Value> = lock(&app.journal)
                .crm_writes
                .iter()
                .filter(|entry| wants(request, "object_id", &entry.object_id))
                .filter_map(|entry| serde_json::to_value(entry).ok())
                .collect();
            Response::json(200, &Value::Array(writes))
        }
        ("DELETE", ["crm", "writes"]) => {
            lock(&app.journal).crm_writes.clear();
            Response::empty(204)
        }
        ("POST", ["crm", "properties"]) => add_crm_property(app, request),
        ("POST", ["crm", "remove-spotdraft-fields"]) => crate::vendors::remove_spotdraft_fields(app),
        ("GET", ["crm", "vendors"]) => crate::vendors::describe(app),
        ("POST", ["crm", "vendors", vendor, "deals"]) => crate::vendors::add_deal(app, request, vendor),
        ("GET", ["crm", "vendors", vendor, "deals", id, "activity"]) => {
            crate::vendors::record_activity::describe(app, vendor, id)
        }
        ("PUT" | "DELETE", ["crm", "vendors", vendor, "event-subscription"]) => {
            crate::crm_events::subscribe(app, request, vendor)
        }
        ("GET", ["crm", "vendors", vendor, "event-deliveries"]) => crate::crm_events::deliveries(app, request, vendor),
        ("PATCH", ["crm", "vendors", vendor, "deals", id]) => crate::vendors::edit_deal(app, request, vendor, id),
        ("PATCH", ["crm", "vendors", vendor, "users", id]) => crate::vendors::edit_user(app, request, vendor, id),
        ("POST", ["crm", "vendors", "salesforce", "fields"]) => crate::vendors::add_salesforce_field(app, request),
        ("PUT" | "POST", ["crm", "token-ttl"]) => crate::vendors::set_token_ttl(app, request),
        ("POST", ["crm", "expire-tokens"]) => crate::vendors::expire_tokens(app),
        ("GET", ["webhooks"]) => webhooks(app, request),
        ("GET", ["contracts"]) => contracts(app, request),
        ("GET", ["activities"]) => activities(app, request),
        ("POST", ["contracts", id, "transition"]) => transition(app, request, id),
        ("PUT" | "POST", ["contracts", id, "document"]) => document(app, request, id),
        ("PUT", ["contracts", id, "approval-version"]) => crate::spotdraft::approvals::set_version(app, request, id),
        ("POST", ["contracts", id, "approvals", approval, "decision"]) => {
            crate::spotdraft::approvals::decide(app, request, id, approval)
        }
        ("GET", ["faults"]) => Response::json(200, &json!(lock(&app.faults).settings)),
        ("PUT" | "POST", ["faults"]) => set_faults(app, request),
        ("DELETE", ["faults"]) => {
            lock(&app.faults).replace(FaultSettings::default());
            Response::empty(204)
        }
        _ => not_found("unknown control route; see sandbox/README.md"),
    }
}

fn health(app: &App) -> Response {
    Response::json(200, &json!({ "ok": true, "pending_deliveries": app.deliveries.pending() }))
}

/// Back to the seeded state (same seed, so the same credentials), with an empty journal and
/// no faults.
fn reset(app: &App) -> Response {
    let mut state = app.state();
    let seed = state.seed;
    *state = crate::seed::initial_state(seed);
    crate::crm_events::mirror_pipedrive_webhooks(app, &state.vendors.pipedrive_webhooks);
    app.persist(&state);
    drop(state);
    {
        let mut journal = lock(&app.journal);
        journal.requests.clear();
        journal.deliveries.clear();
        journal.crm_writes.clear();
    }
    lock(&app.faults).replace(FaultSettings::default());
    Response::json(200, &json!({ "ok": true, "seed": seed }))
}

fn workspaces(app: &App) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .workspaces
        .iter()
        .map(|workspace| {
            json!({
                "name": workspace.name,
                "id": workspace.id,
                "client_id": workspace.client_id,
                "client_secret": workspace.client_secret,
                "hmac_key": workspace.hmac_key,
                "user_emails": workspace.users.iter().map(|user| user.email.clone()).collect::<Vec<_>>(),
                "templates": workspace.templates.iter().map(|template| json!({ "id": template.id, "name": template.name, "contract_type_id": template.contract_type_id })).collect::<Vec<_>>(),
                "contract_types": workspace.contract_types.iter().map(|kind| json!({ "id": kind.id, "name": kind.name })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Response::json(
        200,
        &json!({ "workspaces": list, "crm": { "bearer_token": state.crm.bearer_token, "portal_id": state.crm.portal_id } }),
    )
}

fn requests(app: &App, request: &Request) -> Response {
    let journal = lock(&app.journal);
    let path_prefix = request.query("path_prefix").unwrap_or_default();
    let list: Vec<Value> = journal
        .requests
        .iter()
        .filter(|entry| wants(request, "service", &entry.service))
        .filter(|entry| wants(request, "method", &entry.method))
        .filter(|entry| wants(request, "path", &entry.path))
        .filter(|entry| entry.path.starts_with(&path_prefix))
        .filter(|entry| {
            request.query("workspace").is_none_or(|wanted| entry.workspace.as_deref() == Some(wanted.as_str()))
        })
        .filter_map(|entry| serde_json::to_value(entry).ok())
        .collect();
    Response::json(200, &Value::Array(list))
}

fn deliveries(app: &App, request: &Request) -> Response {
    let journal = lock(&app.journal);
    let list: Vec<Value> = journal
        .deliveries
        .iter()
        .filter(|entry| wants(request, "workspace", &entry.workspace))
        .filter(|entry| wants(request, "activity", &entry.activity))
        .filter(|entry| wants(request, "contract_id", &entry.contract_id.to_string()))
        .filter(|entry| wants(request, "webhook_id", &entry.webhook_id.to_string()))
        .filter(|entry| wants(request, "result", &entry.result))
        .filter_map(|entry| serde_json::to_value(entry).ok())
        .collect();
    Response::json(200, &Value::Array(list))
}

fn webhooks(app: &App, request: &Request) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .workspaces
        .iter()
        .filter(|workspace| wants(request, "workspace", &workspace.name))
        .flat_map(|workspace| {
            workspace.webhooks.iter().map(|webhook| {
                let mut item = spotdraft_webhook_json(webhook);
                item["workspace"] = json!(workspace.name);
                item["consecutive_failures"] = json!(webhook.consecutive_failures);
                item
            })
        })
        .collect();
    Response::json(200, &Value::Array(list))
}

fn contracts(app: &App, request: &Request) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .workspaces
        .iter()
        .filter(|workspace| wants(request, "workspace", &workspace.name))
        .flat_map(|workspace| {
            workspace.contracts.iter().map(|contract| {
                json!({
                    "workspace": workspace.name,
                    "id": contract.composite_id(),
                    "contract_id": contract.id,
                    "name": contract.name,
                    "counter_party_name": contract.counter_party_name,
                    "status": contract.status,
                    "template_id": contract.template_id,
                    "external_metadata": contract.external_metadata,
                    "contract_data": contract.contract_data,
                    "created_by": contract.created_by,
                    "last_updated_on": crate::clock::format_rfc3339(contract.last_updated_micros),
                })
            })
        })
        .collect();
    Response::json(200, &Value::Array(list))
}

fn activities(app: &App, request: &Request) -> Response {
    let state = app.state();
    let list: Vec<Value> = state
        .workspaces
        .iter()
        .filter(|workspace| wants(request, "workspace", &workspace.name))
        .flat_map(|workspace| {
            workspace
                .activities
                .iter()
                .filter(|record| wants(request, "contract_id", &record.contract_id.to_string()))
                .map(|record| {
                    json!({
                        "workspace": workspace.name,
                        "contract_id": record.contract_id,
                        "activity": record.activity,
                        "timestamp": crate::clock::format_rfc3339(record.timestamp_micros),
                        "payload": serde_json::from_str::<Value>(&record.body).unwrap_or(Value::Null),
                    })
                })
        })
        .collect();
    Response::json(200, &Value::Array(list))
}

/// `{"paddingBytes": n}`: the contract's PDF grows by n bytes (up to 128 MiB), for size limits.
fn document(app: &App, request: &Request, raw_id: &str) -> Response {
    let Some(contract_id) = parse_composite_id(raw_id).or_else(|| raw_id.parse().ok()) else {
        return bad_request("contract id must look like T-123 or 123");
    };
    let padding = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|body| body.get("paddingBytes").and_then(Value::as_u64))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n <= 128 * 1024 * 1024);
    let Some(padding) = padding else {
        return bad_request("body must be JSON like {\"paddingBytes\": 30000000} (at most 128 MiB)");
    };
    let mut state = app.state();
    let Some(contract) = state.workspaces.iter_mut().find_map(|workspace| workspace.contract_mut(contract_id)) else {
        return not_found("no such contract");
    };
    contract.document_padding = padding;
    app.persist(&state);
    Response::json(200, &json!({ "contract_id": contract_id, "paddingBytes": padding }))
}

const TARGETS: &[&str] = &["DRAFT", "REDLINING", "SIGN", "EXECUTED", "ON_HOLD", "VOIDED"];

fn transition(app: &App, request: &Request, raw_id: &str) -> Response {
    let Some(contract_id) = parse_composite_id(raw_id).or_else(|| raw_id.parse().ok()) else {
        return bad_request("contract id must look like T-123 or 123");
    };
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(error) => return bad_request(&format!("body must be JSON like {{\"to\": \"SIGN\"}}: {error}")),
    };
    let Some(target) = body.get("to").and_then(Value::as_str).filter(|target| TARGETS.contains(target)) else {
        return bad_request("\"to\" must be one of DRAFT, REDLINING, SIGN, EXECUTED, ON_HOLD, VOIDED");
    };
    let mut state = app.state();
    let Some(workspace_index) = state.workspaces.iter().position(|workspace| workspace.contract(contract_id).is_some())
    else {
        return not_found("no such contract");
    };
    match lifecycle::transition(app, &mut state, workspace_index, contract_id, target) {
        Ok(activities) => {
            app.persist(&state);
            let status = state
                .workspaces
                .get(workspace_index)
                .and_then(|workspace| workspace.contract(contract_id))
                .map(|contract| contract.status.clone());
            Response::json(
                200,
                &json!({ "contract_id": contract_id, "contract_status": status, "activities": activities }),
            )
        }
        Err(message) => Response::json(409, &json!({ "error": message })),
    }
}

fn set_faults(app: &App, request: &Request) -> Response {
    let settings: FaultSettings = match serde_json::from_slice(&request.body) {
        Ok(settings) => settings,
        Err(error) => return bad_request(&format!("invalid fault settings: {error}")),
    };
    if let Err(message) = settings.validate() {
        return bad_request(&message);
    }
    let mut faults = lock(&app.faults);
    faults.replace(settings);
    Response::json(200, &json!(faults.settings))
}

fn add_crm_property(app: &App, request: &Request) -> Response {
    let name = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|body| body.get("name").and_then(Value::as_str).map(str::to_string))
        .filter(|name| {
            !name.is_empty()
                && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        });
    let Some(name) = name else {
        return bad_request("body must be {\"name\": \"lower_snake_case\"}");
    };
    let mut state = app.state();
    if !state.crm.deal_properties.contains(&name) {
        state.crm.deal_properties.push(name);
    }
    app.persist(&state);
    Response::json(200, &json!({ "deal_properties": state.crm.deal_properties }))
}
