//! Pipedrive's Webhooks API (v1 routes, for webhooks of either payload version):
//! `GET /v1/webhooks` lists the company's webhooks, `POST /v1/webhooks` creates one,
//! `DELETE /v1/webhooks/{id}` removes one (also under `/api/v1/`, where the `pipedrive` npm client's
//! v1 base path puts them).
//!
//! What is checked on create, as Pipedrive documents it: `subscription_url` a full URL (https; http
//! only with `--local-testing`, and never one of the emulator's own addresses: Pipedrive refuses its
//! own API endpoints), `event_action` and `event_object` from the version's vocabulary (2.0:
//! `create`/`change`/`delete`/`*`; 1.0: `added`/`updated`/`merged`/`deleted`/`*`), `version` "1.0" or
//! "2.0" (default "2.0"), `user_id` a user of the company (only the admin may name another user),
//! `http_auth_user`/`http_auth_password`/`name` optional text, at most 40 webhooks per user.
//!
//! The answers are `{"success": true, "status": "ok", "data": …}`; a created webhook is 201. The
//! stored password is returned as it was given: Pipedrive's reference types the field as the
//! password, and whether the real service masks it is not verified here.
//!
//! Webhooks for deals (`deal` or `*`) are sent by `crate::crm_events` when a deal is created or
//! changed, each with its own Basic credentials; the list here is mirrored there on every change.

use super::pipedrive::{pd_time, rate_headers, COMPANY_ID};
use super::{form_params, own_origin};
use crate::app::App;
use crate::clock;
use crate::http::{Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Pipedrive's limit: webhooks per user.
pub const MAX_PER_USER: usize = 40;

const V2_ACTIONS: [&str; 4] = ["create", "change", "delete", "*"];
const V1_ACTIONS: [&str; 5] = ["added", "updated", "merged", "deleted", "*"];
const V2_OBJECTS: [&str; 17] = [
    "activity",
    "deal",
    "lead",
    "note",
    "organization",
    "person",
    "pipeline",
    "product",
    "stage",
    "user",
    "project",
    "task",
    "board",
    "phase",
    "deal_installment",
    "deal_product",
    "*",
];
const V1_OBJECTS: [&str; 11] =
    ["activity", "activityType", "deal", "note", "organization", "person", "pipeline", "product", "stage", "user", "*"];

/// One webhook, as the emulator keeps it (persisted with the vendor state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub id: u64,
    /// The user who created it.
    pub owner_id: u64,
    /// The user whose permissions it is sent with.
    pub user_id: u64,
    pub event_action: String,
    pub event_object: String,
    pub subscription_url: String,
    pub http_auth_user: Option<String>,
    pub http_auth_password: Option<String>,
    pub version: String,
    pub name: Option<String>,
    pub add_micros: i64,
}

impl Webhook {
    /// Whether a deal creation (`created`) or change is one of its events.
    pub fn wants_deal(&self, created: bool) -> bool {
        let object = self.event_object == "deal" || self.event_object == "*";
        let action = match (self.version.as_str(), created) {
            ("1.0", true) => ["added", "*"].contains(&self.event_action.as_str()),
            ("1.0", false) => ["updated", "*"].contains(&self.event_action.as_str()),
            (_, true) => ["create", "*"].contains(&self.event_action.as_str()),
            (_, false) => ["change", "*"].contains(&self.event_action.as_str()),
        };
        object && action
    }
}

fn answer(status: u16, value: Value) -> Response {
    rate_headers(Response::json(status, &value), 79)
}

/// A refused create: Pipedrive's `success: false` body, naming each field that is wrong.
fn bad_request(errors: Map<String, Value>) -> Response {
    let summary: Vec<String> =
        errors.iter().map(|(field, message)| format!("{field}: {}", message.as_str().unwrap_or_default())).collect();
    answer(
        400,
        json!({"success": false, "status": "error", "error": summary.join("; "), "errorCode": 400, "errors": errors,
               "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."}),
    )
}

fn refused(status: u16, message: &str) -> Response {
    answer(
        status,
        json!({"success": false, "status": "error", "error": message, "message": message, "errorCode": status}),
    )
}

/// The last delivery time and HTTP status the event sender recorded for this webhook.
fn webhook_json(app: &App, hook: &Webhook, admin: u64) -> Value {
    let (last_time, last_status) = crate::crm_events::last_delivery(app, hook.id);
    json!({
        "id": hook.id,
        "company_id": COMPANY_ID,
        "owner_id": hook.owner_id,
        "user_id": hook.user_id,
        "event_action": hook.event_action,
        "event_object": hook.event_object,
        "subscription_url": hook.subscription_url,
        "version": hook.version,
        "is_active": 1,
        "add_time": pd_time(hook.add_micros),
        "remove_time": null,
        "type": "general",
        "http_auth_user": hook.http_auth_user,
        "http_auth_password": hook.http_auth_password,
        "additional_data": [],
        "remove_reason": null,
        "last_delivery_time": last_time.map(pd_time),
        "last_http_status": last_status,
        "admin_id": admin,
        "name": hook.name,
    })
}

/// The company's admin: its first user (the integration user).
fn admin_of(app: &App) -> u64 {
    app.state().vendors.pipedrive.users.first().and_then(|u| u.id.parse().ok()).unwrap_or(0)
}

pub fn list(app: &App) -> Response {
    let admin = admin_of(app);
    let hooks = app.state().vendors.pipedrive_webhooks.clone();
    let data: Vec<Value> = hooks.iter().map(|hook| webhook_json(app, hook, admin)).collect();
    answer(200, json!({"success": true, "status": "ok", "data": data}))
}

/// The body as a map: JSON, or a form (Pipedrive's v1 routes take both).
fn body_fields(request: &Request) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&request.body) {
        return Some(map);
    }
    let form = request.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    form.then(|| form_params(request).into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// `Some(text)`, `None` when absent or null, `Err` when not text.
fn optional_text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ()> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(()),
    }
}

fn check_url(app: &App, request: &Request, url: &str) -> Result<(), &'static str> {
    let lower = url.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://").ok_or("must be a full, valid URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || lower.contains(char::is_whitespace) || authority.contains('@') {
        return Err("must be a full, valid URL");
    }
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = ["127.0.0.1", "localhost", "::1"].contains(&host);
    match scheme {
        "https" => {}
        "http" if app.settings.local_testing && loopback => {}
        "http" => return Err("must use https"),
        _ => return Err("must be a full, valid URL"),
    }
    let own = own_origin(request).to_ascii_lowercase();
    let own_authority = own.trim_start_matches("http://");
    if authority == own_authority || host.ends_with("pipedrive.com") {
        return Err("cannot be a Pipedrive API endpoint");
    }
    Ok(())
}

pub fn create(app: &App, user: &str, request: &Request) -> Response {
    let Some(body) = body_fields(request) else { return refused(400, "Request body is not valid JSON") };
    let mut errors = Map::new();
    let text = |key: &str, errors: &mut Map<String, Value>| match optional_text(&body, key) {
        Ok(value) => value,
        Err(()) => {
            errors.insert(key.into(), json!("must be a string"));
            None
        }
    };
    let url = text("subscription_url", &mut errors);
    let action = text("event_action", &mut errors);
    let object = text("event_object", &mut errors);
    let version = text("version", &mut errors).unwrap_or_else(|| "2.0".into());
    let auth_user = text("http_auth_user", &mut errors);
    let auth_password = text("http_auth_password", &mut errors);
    let name = text("name", &mut errors);
    let (actions, objects): (&[&str], &[&str]) = match version.as_str() {
        "2.0" => (&V2_ACTIONS, &V2_OBJECTS),
        "1.0" => (&V1_ACTIONS, &V1_OBJECTS),
        _ => {
            errors.insert("version".into(), json!("must be one of 1.0, 2.0"));
            (&V2_ACTIONS, &V2_OBJECTS)
        }
    };
    match &url {
        None if !errors.contains_key("subscription_url") => {
            errors.insert("subscription_url".into(), json!("is required"));
        }
        Some(url) => {
            if let Err(problem) = check_url(app, request, url) {
                errors.insert("subscription_url".into(), json!(problem));
            }
        }
        None => {}
    }
    for (key, value, allowed) in [("event_action", &action, actions), ("event_object", &object, objects)] {
        match value {
            None if !errors.contains_key(key) => {
                errors.insert(key.into(), json!("is required"));
            }
            Some(value) if !allowed.contains(&value.as_str()) => {
                errors.insert(key.into(), json!(format!("must be one of {}", allowed.join(", "))));
            }
            _ => {}
        }
    }
    let caller: u64 = user.parse().unwrap_or(0);
    let admin = admin_of(app);
    let user_id = match body.get("user_id") {
        None | Some(Value::Null) => caller,
        Some(value) => match value.as_u64().or_else(|| value.as_str().and_then(|t| t.parse().ok())) {
            Some(id) => id,
            None => {
                errors.insert("user_id".into(), json!("must be an integer"));
                caller
            }
        },
    };
    if !errors.is_empty() {
        return bad_request(errors);
    }
    if user_id != caller && caller != admin {
        return refused(403, "Only an admin can create webhooks for other users");
    }
    let mut state = app.state();
    if state.vendors.pipedrive.user(&user_id.to_string()).is_none() {
        drop(state);
        let mut errors = Map::new();
        errors.insert("user_id".into(), json!("is not a user of this company"));
        return bad_request(errors);
    }
    if state.vendors.pipedrive_webhooks.iter().filter(|hook| hook.user_id == user_id).count() >= MAX_PER_USER {
        drop(state);
        return refused(400, &format!("The user has reached the limit of {MAX_PER_USER} webhooks"));
    }
    state.vendors.next_pipedrive_webhook += 1;
    let hook = Webhook {
        id: 100 + state.vendors.next_pipedrive_webhook,
        owner_id: caller,
        user_id,
        event_action: action.unwrap_or_default(),
        event_object: object.unwrap_or_default(),
        subscription_url: url.unwrap_or_default().trim().to_string(),
        http_auth_user: auth_user,
        http_auth_password: auth_password,
        version,
        name,
        add_micros: clock::now_micros(),
    };
    state.vendors.pipedrive_webhooks.push(hook.clone());
    crate::crm_events::mirror_pipedrive_webhooks(app, &state.vendors.pipedrive_webhooks);
    app.persist(&state);
    drop(state);
    answer(201, json!({"success": true, "status": "ok", "data": webhook_json(app, &hook, admin)}))
}

pub fn delete(app: &App, user: &str, id: &str) -> Response {
    let caller: u64 = user.parse().unwrap_or(0);
    let admin = admin_of(app);
    let mut state = app.state();
    let Some(index) =
        id.parse::<u64>().ok().and_then(|id| state.vendors.pipedrive_webhooks.iter().position(|hook| hook.id == id))
    else {
        return refused(404, "Webhook not found");
    };
    let hook = &state.vendors.pipedrive_webhooks[index];
    if caller != admin && hook.owner_id != caller && hook.user_id != caller {
        return refused(403, "You are not allowed to delete this webhook");
    }
    state.vendors.pipedrive_webhooks.remove(index);
    crate::crm_events::mirror_pipedrive_webhooks(app, &state.vendors.pipedrive_webhooks);
    app.persist(&state);
    answer(200, json!({"success": true, "status": "ok"}))
}
