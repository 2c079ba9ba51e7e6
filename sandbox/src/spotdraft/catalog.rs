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
