//! The parts of Zoho CRM's sharing model its v8 API exposes, as the relay reads them to decide
//! whether a user may see a deal: the users list (paged, with role and profile), one user, the role
//! hierarchy (`reporting_to`, `share_with_peers`), the org's data-sharing defaults per module, and a
//! record's manual shares (204 when there are none). The seed is consistent with the records'
//! `hidden_from`: the seller (Sales Representative, Standard profile) owns every deal but the hidden
//! one, which the CEO (Administrator) owns; Deals are private, nothing is shared by hand.

use super::{error, id};
use crate::app::App;
use crate::http::{Request, Response};
use serde_json::{json, Value};

fn role_id(n: u64) -> String {
    id(200, n)
}

fn profile_id(n: u64) -> String {
    id(300, n)
}

/// The `index`th seeded user as Zoho's users API shows them.
fn user_json(user: &crate::vendors::VendorUser, index: usize) -> Value {
    let (role, profile) = if index == 0 {
        (json!({"name": "CEO", "id": role_id(1)}), json!({"name": "Administrator", "id": profile_id(1)}))
    } else {
        (json!({"name": "Sales Representative", "id": role_id(2)}), json!({"name": "Standard", "id": profile_id(2)}))
    };
    let (first, last) = user.name.split_once(' ').unwrap_or((user.name.as_str(), ""));
    json!({
        "id": user.id, "email": user.email, "full_name": user.name, "first_name": first, "last_name": last,
        "status": "active", "confirm": true, "role": role, "profile": profile,
    })
}

/// `GET /crm/v8/users?type=…&page=…&per_page=…`.
pub fn users(app: &App, request: &Request) -> Response {
    let kind = request.query("type").unwrap_or_else(|| "AllUsers".to_string());
    let kind = kind.as_str();
    const TYPES: [&str; 6] =
        ["AllUsers", "ActiveUsers", "DeactiveUsers", "ConfirmedUsers", "AdminUsers", "CurrentUser"];
    if !TYPES.contains(&kind) {
        return error(400, "INVALID_DATA", "invalid data", json!({"param_name": "type"}));
    }
    let number = |name: &str, default: usize| request.query(name).map_or(Some(default), |v| v.parse::<usize>().ok());
    let (Some(page), Some(per_page)) = (number("page", 1), number("per_page", 200)) else {
        return error(400, "INVALID_DATA", "invalid data", json!({"param_name": "page"}));
    };
    if page == 0 || per_page == 0 || per_page > 200 {
        return error(400, "INVALID_DATA", "invalid data", json!({"param_name": "per_page", "maximum_length": 200}));
    }
    let state = app.state();
    let all: Vec<Value> = state
        .vendors
        .zoho
        .users
        .iter()
        .enumerate()
        .map(|(index, user)| user_json(user, index))
        .filter(|user| kind != "AdminUsers" || user.pointer("/profile/name") == Some(&json!("Administrator")))
        .filter(|_| kind != "DeactiveUsers")
        .collect();
    let shown: Vec<Value> = all.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    if shown.is_empty() {
        return Response::empty(204);
    }
    let more = all.len() > page * per_page;
    Response::json(
        200,
        &json!({"users": shown, "info": {"per_page": per_page, "count": shown.len(), "page": page, "more_records": more}}),
    )
}

/// `GET /crm/v8/users/{id}`.
pub fn user(app: &App, user_id: &str) -> Response {
    let state = app.state();
    match state.vendors.zoho.users.iter().enumerate().find(|(_, u)| u.id == user_id) {
        Some((index, found)) => Response::json(200, &json!({"users": [user_json(found, index)]})),
        None => error(400, "INVALID_DATA", "the id given seems to be invalid", json!({"resource_path_index": 1})),
    }
}

/// `GET /crm/v8/settings/roles`.
pub fn roles() -> Response {
    Response::json(
        200,
        &json!({"roles": [
            {"display_label": "CEO", "name": "CEO", "id": role_id(1), "reporting_to": null, "admin_user": true, "share_with_peers": true, "description": "Users with this role have access to the data owned by all other users."},
            {"display_label": "Sales Representative", "name": "Sales Representative", "id": role_id(2), "reporting_to": {"name": "CEO", "id": role_id(1)}, "admin_user": false, "share_with_peers": false, "description": null},
        ]}),
    )
}

/// `GET /crm/v8/settings/data_sharing`: the org-wide default per module.
pub fn data_sharing() -> Response {
    let rule = |module: &str, n: u64, kind: &str| json!({"public_in_portals": false, "module": {"api_name": module, "id": id(500, n)}, "rule_computation_running": false, "type": kind});
    Response::json(
        200,
        &json!({"data_sharing": [rule("Accounts", 1, "public_read_write_delete"), rule("Contacts", 2, "public_read_write_delete"), rule("Deals", 3, "private")]}),
    )
}

/// `GET /crm/v8/{module}/{id}/actions/share`: nothing is shared by hand in the seed (204).
pub fn shared_with(app: &App, module: &str, record_id: &str) -> Response {
    if app.state().vendors.zoho.record(module, record_id).is_none() {
        return error(400, "INVALID_DATA", "the id given seems to be invalid", json!({"resource_path_index": 1}));
    }
    Response::empty(204)
}
