//! Webhook subscriptions: HMAC key, create, delete, and re-trigger of the latest delivery.

use super::{errors, Caller};
use crate::app::App;
use crate::http::{percent_decode, Request, Response};
use crate::state::Webhook;
use crate::templates::{add_error, FieldErrors};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// `OnlyForActivitiesEnum` from the spec.
pub const ACTIVITIES: &[&str] = &[
    "CONTRACT_VERSION_UPLOADED",
    "CONTRACT_APPROVAL_COMPLETED",
    "CONTRACT_APPROVAL_REQUESTED",
    "CONTRACT_CREATED",
    "CONTRACT_DATA_UPDATED",
    "CONTRACT_DELETED",
    "CONTRACT_EXECUTED",
    "CONTRACT_MARK_FOR_EXECUTION",
    "CONTRACT_SENT_TO_COUNTERPARTY",
    "CONTRACT_SIGNATURE_DECLINED",
    "CONTRACT_SIGNATURE_REQUESTED",
    "CONTRACT_SIGNED",
    "CONTRACT_UNMARK_FOR_EXECUTION",
    "POSTMARK_EMAIL_EVENT",
    "CONTRACT_KEY_POINTER_UPDATION",
    "CONTRACT_KEY_POINTER_CREATION",
    "SIGNING_EMAIL_DELIVERED",
    "SIGNING_EMAIL_OPENED",
    "SIGNING_EMAIL_NOT_DELIVERED",
    "SIGNING_EMAIL_LINK_CLICKED",
    "REDLINING_EMAIL_DELIVERED",
    "REDLINING_EMAIL_OPENED",
    "REDLINING_EMAIL_NOT_DELIVERED",
    "REDLINING_EMAIL_LINK_CLICKED",
    "CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT",
    "COUNTER_PARTY_CREATED",
    "COUNTER_PARTY_UPDATED",
    "COUNTER_PARTY_CONTACT_CREATED",
    "COUNTER_PARTY_CONTACT_UPDATED",
    "COUNTER_PARTY_ADDRESS_CREATED",
    "COUNTER_PARTY_ADDRESS_UPDATED",
    "CONTRACT_ACTIVITY_LOG_COMMENT_CREATED",
    "CONTRACT_VOIDED",
    "CONTRACT_PROCESS_METRIC_UPDATED",
    "CONTRACT_EXTERNAL_METADATA_CREATED",
    "CONTRACT_EXTERNAL_METADATA_UPDATED",
    "CONTRACT_ENTITY_UPDATED",
];

/// Prefixes SpotDraft reserves for its own or its infrastructure's headers (docs/spotdraft-api.md §11.1).
const RESERVED_PREFIXES: &[&str] =
    &["x-google-", "x-goog-", "x-gfe-", "x-amz-", "x-ms-", "x-dd-", "x-datadog-", "x-b3-", "x-sd-", "x-spotdraft-"];

/// Well-known `X-` headers that proxies and browsers give meaning to.
const STANDARD_X_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-real-ip",
    "x-requested-with",
    "x-frame-options",
    "x-content-type-options",
    "x-xss-protection",
    "x-powered-by",
    "x-request-id",
    "x-correlation-id",
    "x-csrf-token",
    "x-xsrf-token",
    "x-http-method-override",
    "x-ua-compatible",
    "x-dns-prefetch-control",
    "x-cache",
    "x-content-security-policy",
];

pub fn hmac_key(app: &App, caller: &Caller) -> Response {
    let state = app.state();
    match state.workspaces.get(caller.workspace_index) {
        Some(workspace) => Response::json(200, &json!({ "hmac_key": workspace.hmac_key })),
        None => errors::not_found(),
    }
}

fn header_name_problem(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if !lower.starts_with("x-") || lower.len() < 3 {
        return Some("Custom header names must start with X-.");
    }
    if !name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_') {
        return Some("Custom header names may contain only letters, digits, '-' and '_'.");
    }
    if STANDARD_X_HEADERS.contains(&lower.as_str()) {
        return Some("Custom header names must not be standard HTTP headers.");
    }
    if RESERVED_PREFIXES.iter().any(|prefix| lower.starts_with(prefix)) {
        return Some("Custom header names must not use a reserved prefix.");
    }
    None
}

fn validation_error(errors: FieldErrors) -> Response {
    // SpotDraft's webhook routes document the public error object for 400s; the field errors
    // are summarised into its `detail`/`message`.
    let summary: Vec<String> = errors
        .iter()
        .map(|(field, messages)| {
            let text = messages
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            format!("{field}: {text}")
        })
        .collect();
    errors::public_error(400, &summary.join("; "), None)
}

pub fn create(app: &App, caller: &Caller, request: &Request) -> Response {
    let body = match errors::parse_object(&request.body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let mut errs = Map::new();
    let title = match body.get("title") {
        Some(Value::String(title)) if !title.trim().is_empty() => title.clone(),
        Some(Value::String(_)) => {
            add_error(&mut errs, "title", "This field may not be blank.");
            String::new()
        }
        None | Some(Value::Null) => {
            add_error(&mut errs, "title", "This field is required.");
            String::new()
        }
        Some(_) => {
            add_error(&mut errs, "title", "Not a valid string.");
            String::new()
        }
    };
    let url = match body.get("url") {
        Some(Value::String(url)) if !url.trim().is_empty() => url.trim().to_string(),
        None | Some(Value::Null) => {
            add_error(&mut errs, "url", "This field is required.");
            String::new()
        }
        Some(_) => {
            add_error(&mut errs, "url", "Enter a valid URL.");
            String::new()
        }
    };
    if !url.is_empty() {
        let lower = url.to_ascii_lowercase();
        let host = lower.split_once("://").map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default());
        if host.is_none_or(str::is_empty) || lower.contains(char::is_whitespace) {
            add_error(&mut errs, "url", "Enter a valid URL.");
        } else if !(lower.starts_with("https://") || (lower.starts_with("http://") && app.settings.local_testing)) {
            add_error(&mut errs, "url", "Webhook URL must use HTTPS.");
        }
    }
    let activities: Vec<String> = match body.get("only_for_activities") {
        Some(Value::Array(items)) if items.is_empty() => {
            add_error(&mut errs, "only_for_activities", "This list may not be empty.");
            Vec::new()
        }
        Some(Value::Array(items)) => {
            let mut activities = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(name) if ACTIVITIES.contains(&name) => {
                        if !activities.iter().any(|known: &String| known == name) {
                            activities.push(name.to_string());
                        }
                    }
                    _ => add_error(
                        &mut errs,
                        "only_for_activities",
                        &format!("\"{}\" is not a valid choice.", item.as_str().unwrap_or("?")),
                    ),
                }
            }
            activities
        }
        None | Some(Value::Null) => {
            add_error(&mut errs, "only_for_activities", "This field is required.");
            Vec::new()
        }
        Some(_) => {
            add_error(&mut errs, "only_for_activities", "Expected a list of items.");
            Vec::new()
        }
    };
    let mut custom_headers = BTreeMap::new();
    match body.get("custom_headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(headers)) => {
            for (name, value) in headers {
                let trimmed = name.trim();
                if let Some(problem) = header_name_problem(trimmed) {
                    add_error(&mut errs, "custom_headers", &format!("{trimmed}: {problem}"));
                    continue;
                }
                match value.as_str() {
                    Some(text) if !text.contains(['\r', '\n']) => {
                        custom_headers.insert(trimmed.to_string(), text.to_string());
                    }
                    _ => add_error(
                        &mut errs,
                        "custom_headers",
                        &format!("{trimmed}: Header values must be single-line strings."),
                    ),
                }
            }
        }
        Some(_) => add_error(&mut errs, "custom_headers", "Invalid data. Expected a dictionary."),
    }
    let description = match body.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            add_error(&mut errs, "description", "Not a valid string.");
            None
        }
    };
    if !errs.is_empty() {
        return validation_error(errs);
    }
    let mut state = app.state();
    let id = state.next_webhook_id;
    state.next_webhook_id += 1;
    let webhook = Webhook {
        id,
        title,
        url,
        description,
        only_for_activities: activities,
        custom_headers,
        status: "ACTIVE".into(),
        consecutive_failures: 0,
        created_by_user: caller.user.clone(),
    };
    let response = webhook_json(&webhook);
    if let Some(workspace) = state.workspaces.get_mut(caller.workspace_index) {
        workspace.webhooks.push(webhook);
    }
    app.persist(&state);
    Response::json(201, &response)
}

pub fn webhook_json(webhook: &Webhook) -> Value {
    json!({
        "id": webhook.id,
        "title": webhook.title,
        "only_for_activities": webhook.only_for_activities,
        "url": webhook.url,
        "created_by_user": {
            "id": webhook.created_by_user.id,
            "name": webhook.created_by_user.name,
            "email": webhook.created_by_user.email,
            "designation": webhook.created_by_user.designation,
        },
        "description": webhook.description.clone().unwrap_or_default(),
        "custom_headers": webhook.custom_headers,
        "status": webhook.status,
    })
}

pub fn delete(app: &App, caller: &Caller, raw_id: &str) -> Response {
    let not_found = || errors::public_error(404, "Not Found", None);
    let Ok(id) = percent_decode(raw_id).parse::<u64>() else {
        return not_found();
    };
    let mut state = app.state();
    let Some(workspace) = state.workspaces.get_mut(caller.workspace_index) else {
        return not_found();
    };
    let before = workspace.webhooks.len();
    workspace.webhooks.retain(|webhook| webhook.id != id);
    if workspace.webhooks.len() == before {
        return not_found();
    }
    app.persist(&state);
    Response::empty(204)
}

/// Re-sends the most recent activity of each contract to the current matching subscriptions.
pub fn retrigger_latest(app: &App, caller: &Caller, request: &Request) -> Response {
    let body = match errors::parse_object(&request.body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let ids: Vec<u64> = match body.get("contract_ids") {
        None | Some(Value::Null) => return errors::field("contract_ids", "This field is required."),
        Some(Value::Array(items)) => {
            let ids: Vec<u64> = items.iter().filter_map(Value::as_u64).collect();
            if ids.len() != items.len() {
                return Response::json(400, &json!({ "contract_ids": { "0": ["A valid integer is required."] } }));
            }
            ids
        }
        Some(_) => return errors::field("contract_ids", "Expected a list of items."),
    };
    let state = app.state();
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else {
        return errors::not_found();
    };
    let mut latest = Vec::new();
    for id in &ids {
        if workspace.contract(*id).is_none() {
            return errors::not_found();
        }
        // "The most recent webhook call": the latest activity some active subscription wants.
        let subscribed = |activity: &str| {
            workspace.webhooks.iter().any(|webhook| {
                webhook.status == "ACTIVE" && webhook.only_for_activities.iter().any(|wanted| wanted == activity)
            })
        };
        if let Some(record) =
            workspace.activities.iter().rev().find(|record| record.contract_id == *id && subscribed(&record.activity))
        {
            latest.push(record.clone());
        }
    }
    let workspace_name = workspace.name.clone();
    for record in latest {
        crate::delivery::enqueue_for_subscribers(
            app,
            &state,
            &workspace_name,
            &record.activity,
            record.contract_id,
            &record.body,
            "re_trigger",
        );
    }
    Response::json(200, &json!({ "message": "Success" }))
}
