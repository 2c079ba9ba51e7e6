//! Templates, template metadata and contract types (read-only in the sandbox).

use super::{errors, Caller};
use crate::app::App;
use crate::http::{Request, Response};
use serde_json::{json, Value};

fn parse_id(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// `GET /templates/`: supports the `tags`, `tags_all` and `cp_types` filters.
pub fn templates(app: &App, caller: &Caller, request: &Request) -> Response {
    let pairs = request.query_pairs();
    let values = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(',').map(|part| part.trim().to_string()).collect::<Vec<_>>())
            .filter(|value| !value.is_empty())
            .collect()
    };
    let tags = values("tags");
    let tags_all = values("tags_all");
    let cp_types = values("cp_types");
    let state = app.state();
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else {
        return errors::not_found();
    };
    let items: Vec<Value> = workspace
        .templates
        .iter()
        .filter(|template| tags.is_empty() || template.tags.iter().all(|tag| tags.contains(tag)))
        .filter(|template| tags_all.iter().all(|tag| template.tags.contains(tag)))
        .filter(|template| {
            cp_types.is_empty()
                || template.counter_party_kind == "Both"
                || cp_types.iter().any(|kind| kind == &template.counter_party_kind)
        })
        .map(|template| json!({ "id": template.id, "name": template.name, "contract_type_id": template.contract_type_id }))
        .collect();
    Response::json(200, &json!({ "items": items }))
}

pub fn template(app: &App, caller: &Caller, raw_id: &str) -> Response {
    let state = app.state();
    let found = parse_id(raw_id)
        .and_then(|id| state.workspaces.get(caller.workspace_index).and_then(|workspace| workspace.template(id)));
    match found {
        Some(template) => Response::json(
            200,
            &json!({ "id": template.id, "name": template.name, "contract_type_id": template.contract_type_id, "tags": template.tags }),
        ),
        None => errors::not_found(),
    }
}

pub fn template_metadata(app: &App, caller: &Caller, raw_id: &str) -> Response {
    let state = app.state();
    let found = parse_id(raw_id)
        .and_then(|id| state.workspaces.get(caller.workspace_index).and_then(|workspace| workspace.template(id)));
    match found {
        Some(template) => Response::json(
            200,
            &json!({ "attributes": template.attributes, "counter_party_kind": template.counter_party_kind }),
        ),
        None => errors::not_found(),
    }
}

pub fn contract_types(app: &App, caller: &Caller) -> Response {
    let state = app.state();
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else {
        return errors::not_found();
    };
    let items: Vec<Value> =
        workspace.contract_types.iter().map(|kind| json!({ "id": kind.id, "name": kind.name })).collect();
    Response::json(200, &Value::Array(items))
}

/// `GET /api/v2.1/public/auth/users/`: the workspace's users with their roles, paged (`page` from 1,
/// `limit` default 10, at most 100), narrowed by `user_email` (exact, ignoring case) and `user_name`
/// (start of "first last", ignoring case). `PublicUserWithRolesMinimalListResponse`.
pub fn users(app: &App, caller: &Caller, request: &Request) -> Response {
    let pairs = request.query_pairs();
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let number = |name: &str, default: u64| value(name).map_or(Some(default), |text| text.parse::<u64>().ok());
    let (Some(page), Some(limit)) = (number("page", 1), number("limit", 10)) else {
        return Response::json(400, &json!({"detail": "Invalid page number or page limit too big."}));
    };
    if page == 0 || limit == 0 || limit > 100 {
        return Response::json(400, &json!({"detail": "Invalid page number or page limit too big."}));
    }
    let email = value("user_email").map(|e| e.trim().to_ascii_lowercase());
    let name = value("user_name").map(|n| n.trim().to_lowercase());
    let state = app.state();
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else {
        return errors::not_found();
    };
    let matching: Vec<Value> = workspace
        .users
        .iter()
        .filter(|user| email.as_ref().is_none_or(|e| user.email.to_ascii_lowercase() == *e))
        .filter(|user| name.as_ref().is_none_or(|n| user.name.to_lowercase().starts_with(n.as_str())))
        .map(|user| {
            let (first, last) = user.name.split_once(' ').unwrap_or((user.name.as_str(), ""));
            json!({
                "id": user.id, "name": user.name, "first_name": first, "last_name": last, "email": user.email,
                "designation": user.designation, "is_active": true,
                "roles": [{"id": 1, "name": user.designation, "description": format!("{} team", user.designation)}],
            })
        })
        .collect();
    let total = matching.len();
    let start = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let results: Vec<Value> = matching.into_iter().skip(start).take(usize::try_from(limit).unwrap_or(10)).collect();
    Response::json(200, &json!({"total_results": total, "page": page, "limit": limit, "results": results}))
}
