//! Pipedrive emulator: API v2 `GET`/`PATCH /api/v2/deals/{id}` (custom fields under
//! `custom_fields`, `?custom_fields=` selection), `GET /api/v2/organizations/{id}` and
//! `/api/v2/persons/{id}`, `GET /api/v2/deals/search?term=…` (ranked `data.items[].item`, cursor
//! pages), v1 `GET /v1/deals/{id}/permittedUsers`; auth by API token
//! (`x-api-token` header or `api_token` query) or OAuth bearer token; the OAuth server's
//! `/oauth/token` refresh grant (client credentials as HTTP Basic, `api_domain` in the answer);
//! `{"success": false, "error", "errorCode", "error_info"}` errors and `x-ratelimit-*` headers; the
//! v1 Webhooks API (`super::pipedrive_webhooks`).

use super::{
    apply, check_token, form_params, journal_write, own_origin, record, scheme_token, TokenCheck, Vendor, VendorUser,
};
use crate::app::App;
use crate::clock;
use crate::http::{Request, Response};
use crate::rng::SeededRng;
use base64::Engine;
use serde_json::{json, Map, Value};

const INFO: &str = "Please check developers.pipedrive.com for more information about Pipedrive API.";
pub const RATE_LIMIT: u64 = 80;
/// The emulated company's id (`company_id` in Pipedrive's answers and webhooks; the relay's
/// `plugin.crm.accountId`).
pub const COMPANY_ID: u64 = 7001;

pub fn error(status: u16, message: &str) -> Response {
    rate_headers(
        Response::json(
            status,
            &json!({"success": false, "error": message, "errorCode": status, "error_info": INFO, "data": null, "additional_data": null}),
        ),
        RATE_LIMIT - 1,
    )
}

/// Pipedrive's rate-limit headers (a 2-second window).
pub fn rate_headers(response: Response, remaining: u64) -> Response {
    response
        .header("x-ratelimit-limit", &RATE_LIMIT.to_string())
        .header("x-ratelimit-remaining", &remaining.to_string())
        .header("x-ratelimit-reset", "2")
}

fn ok(data: Value) -> Response {
    rate_headers(Response::json(200, &json!({"success": true, "data": data, "additional_data": null})), RATE_LIMIT - 1)
}

/// The stages of the one pipeline: (id, name, deal probability); `stage` maps the seed's stage
/// keys to these ids.
pub const STAGES: [(u64, &str, u64); 5] = [
    (1, "Qualified", 20),
    (2, "Decision maker bought in", 40),
    (3, "Meeting scheduled", 60),
    (4, "Contract sent", 80),
    (5, "Closing", 100),
];

/// (stage key → stage_id, status)
pub fn stage(key: &str) -> (u64, &'static str) {
    match key {
        "qualifiedtobuy" => (1, "open"),
        "decisionmakerboughtin" => (2, "open"),
        "appointmentscheduled" => (3, "open"),
        "contractsent" => (4, "open"),
        _ => (5, "won"),
    }
}

pub fn seed(rng: &mut SeededRng, now: i64) -> Vendor {
    let users = vec![
        VendorUser {
            id: "13001".into(),
            name: "Integration User".into(),
            email: "integration@acme-pd.example".into(),
            refresh_token: format!("13001:{COMPANY_ID}:{}", rng.hex(20)),
        },
        VendorUser {
            id: "13002".into(),
            name: "Sam Seller".into(),
            email: "sam.seller@acme-pd.example".into(),
            refresh_token: format!("13002:{COMPANY_ID}:{}", rng.hex(20)),
        },
    ];
    let mut records = Vec::new();
    for (index, (name, street, city, state, zip, country)) in super::COMPANIES.iter().enumerate() {
        let (number, route) = street.split_once(' ').unwrap_or(("", street));
        let (number, route) = if number.chars().all(|c| c.is_ascii_digit()) { (number, route) } else { ("", *street) };
        let mut fields = Map::new();
        fields.insert("name".into(), json!(name));
        fields.insert("owner_id".into(), json!(13001));
        fields.insert(
            "address".into(),
            json!({"value": format!("{street}, {zip} {city}, {country}"), "street_number": (!number.is_empty()).then_some(number),
                   "route": route, "locality": city, "admin_area_level_1": state, "postal_code": zip, "country": country}),
        );
        fields.insert("custom_fields".into(), json!({}));
        records.push(record("organizations", (201 + index).to_string(), fields, now));
    }
    for (index, (first, last, email, company)) in super::CONTACTS.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(format!("{first} {last}")));
        fields.insert("first_name".into(), json!(first));
        fields.insert("last_name".into(), json!(last));
        fields.insert("emails".into(), json!([{"value": email, "primary": true, "label": "work"}]));
        fields.insert("org_id".into(), json!(company.map(|c| 201 + c)));
        fields.insert("owner_id".into(), json!(13001));
        fields.insert("custom_fields".into(), json!({}));
        records.push(record("persons", (301 + index).to_string(), fields, now));
    }
    for (index, (name, amount, currency, stage_key, close, company, contact)) in super::DEALS.iter().enumerate() {
        let (stage_id, status) = stage(stage_key);
        let mut fields = Map::new();
        fields.insert("title".into(), json!(name));
        fields.insert("value".into(), json!(amount.unwrap_or(0.0)));
        fields.insert("currency".into(), json!(currency.unwrap_or("USD")));
        fields.insert("stage_id".into(), json!(stage_id));
        fields.insert("pipeline_id".into(), json!(1));
        fields.insert("status".into(), json!(status));
        fields.insert("expected_close_date".into(), json!(close));
        fields.insert("org_id".into(), json!(company.map(|c| 201 + c)));
        fields.insert("person_id".into(), json!(301 + contact));
        fields.insert("owner_id".into(), json!(13001));
        let custom: Map<String, Value> =
            super::PIPEDRIVE_FIELDS.iter().map(|k| ((*k).to_string(), Value::Null)).collect();
        fields.insert("custom_fields".into(), Value::Object(custom));
        let mut deal = record("deals", (101 + index).to_string(), fields, now);
        if index == super::HIDDEN_DEAL {
            deal.hidden_from.push(users[1].id.clone());
        }
        records.push(deal);
    }
    Vendor {
        client_id: rng.hex(8),
        client_secret: rng.hex(20),
        api_token: Some(rng.hex(20)),
        users,
        records,
        fields: Vec::new(),
        files: Vec::new(),
        notes: Vec::new(),
        next_activity_id: 0,
    }
}

pub fn authenticate(app: &App, request: &Request) -> Result<Option<String>, Response> {
    if request.path == "/oauth/token" {
        return Err(token(app, request));
    }
    let query_token = request.query("api_token");
    let given = request.header("x-api-token").or(query_token.as_deref()).or_else(|| scheme_token(request, "bearer"));
    match check_token(app, "pipedrive", given) {
        TokenCheck::User(user) => Ok(Some(user)),
        _ => Err(error(401, "unauthorized access")),
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(status, &json!({"error": error, "error_description": description}))
}

fn token(app: &App, request: &Request) -> Response {
    if request.method != "POST" {
        return oauth_error(405, "invalid_request", "use POST");
    }
    let basic = request
        .header("authorization")
        .and_then(|value| value.trim().strip_prefix("Basic "))
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let params = form_params(request);
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let mut state = app.state();
    let vendor = &state.vendors.pipedrive;
    let expected = format!("{}:{}", vendor.client_id, vendor.client_secret);
    if basic.as_deref() != Some(expected.as_str()) {
        return oauth_error(401, "invalid_client", "Invalid client credentials");
    }
    if param("grant_type") != "refresh_token" {
        return oauth_error(400, "unsupported_grant_type", "Unsupported grant type");
    }
    let Some(user) =
        vendor.users.iter().find(|u| !param("refresh_token").is_empty() && u.refresh_token == param("refresh_token"))
    else {
        return oauth_error(400, "invalid_grant", "Invalid refresh token");
    };
    let (user_id, refresh) = (user.id.clone(), user.refresh_token.clone());
    let (access, ttl) = state.vendors.issue("pipedrive", &user_id, |d| format!("v1u:{}", &d[..40]));
    app.persist(&state);
    Response::json(
        200,
        &json!({"access_token": access, "token_type": "Bearer", "refresh_token": refresh, "scope": "base,deals:full,contacts:read",
                "expires_in": ttl, "api_domain": own_origin(request)}),
    )
}

pub fn pd_time(micros: i64) -> String {
    let text = clock::format_rfc3339(micros);
    format!("{}Z", text.get(..19).unwrap_or(&text))
}

fn record_json(record: &super::Record, custom_keys: Option<&[String]>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(record.id.parse::<u64>().unwrap_or(0)));
    for (name, value) in &record.fields {
        if name == "custom_fields" {
            let all = value.as_object().cloned().unwrap_or_default();
            let selected: Map<String, Value> = match custom_keys {
                Some(keys) => all.into_iter().filter(|(k, _)| keys.iter().any(|w| w == k)).collect(),
                None => all,
            };
            out.insert(name.clone(), Value::Object(selected));
        } else {
            out.insert(name.clone(), value.clone());
        }
    }
    out.insert("add_time".into(), json!(pd_time(record.created_micros)));
    out.insert("update_time".into(), json!(pd_time(record.updated_micros)));
    Value::Object(out)
}

fn object_of(segment: &str) -> Option<(&'static str, &'static str)> {
    match segment {
        "deals" => Some(("deals", "Deal")),
        "organizations" => Some(("organizations", "Organization")),
        "persons" => Some(("persons", "Person")),
        _ => None,
    }
}

pub fn handle(app: &App, user: Option<&str>, request: &Request) -> Response {
    let user = user.unwrap_or_default();
    let segments: Vec<&str> = request.path.trim_end_matches('/').split('/').skip(1).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "deals", id, "permittedUsers"]) => permitted_users(app, user, id),
        ("GET", ["v1", "users", id]) => user_by_id(app, id),
        ("GET", ["api", "v1", "dealFields"]) => super::fields::pipedrive_list(app, request, "deals"),
        ("GET", ["api", "v1", "organizationFields"]) => super::fields::pipedrive_list(app, request, "organizations"),
        ("GET", ["api", "v1", "personFields"]) => super::fields::pipedrive_list(app, request, "persons"),
        ("GET", ["api", version @ ("v1" | "v2"), "pipelines"]) => super::schema::pipedrive_pipelines(*version == "v2"),
        ("GET", ["api", version @ ("v1" | "v2"), "stages"]) => {
            super::schema::pipedrive_stages(request, *version == "v2")
        }
        ("POST", ["api", "v1", "files"]) => super::record_activity::pipedrive_upload(app, user, request),
        ("GET", ["api", "v1", "deals", id, "files"]) => {
            super::record_activity::pipedrive_deal_files(app, user, request, id)
        }
        ("POST", ["api", "v1", "notes"]) => super::record_activity::pipedrive_create_note(app, user, request),
        ("GET", ["api", "v1", "notes"]) => super::record_activity::pipedrive_notes(app, user, request),
        ("POST", ["api", "v1", "dealFields"]) => super::fields::pipedrive_create(app, request),
        ("GET", ["v1", "webhooks"] | ["api", "v1", "webhooks"]) => super::pipedrive_webhooks::list(app),
        ("POST", ["v1", "webhooks"] | ["api", "v1", "webhooks"]) => {
            super::pipedrive_webhooks::create(app, user, request)
        }
        ("DELETE", ["v1", "webhooks", id] | ["api", "v1", "webhooks", id]) => {
            super::pipedrive_webhooks::delete(app, user, id)
        }
        ("GET", ["api", "v2", "deals", "search"]) => search_deals(app, user, request),
        ("GET", ["api", "v2", kind, id]) => match object_of(kind) {
            Some((object, label)) => get(app, user, request, object, label, id),
            None => error(404, "Unknown method ."),
        },
        ("PATCH", ["api", "v2", "deals", id]) => patch(app, user, request, id),
        ("PATCH", ["api", "v2", ..]) => error(405, "Method not allowed"),
        _ => error(404, "Unknown method ."),
    }
}

fn visible<'v>(
    vendor: &'v Vendor,
    user: &str,
    object: &str,
    label: &str,
    id: &str,
) -> Result<&'v super::Record, Response> {
    let record = vendor.record(object, id).ok_or_else(|| error(404, &format!("{label} not found")))?;
    if record.hidden_from.iter().any(|h| h == user) {
        return Err(error(403, &format!("You do not have permission to view this {}", label.to_lowercase())));
    }
    Ok(record)
}

fn get(app: &App, user: &str, request: &Request, object: &str, label: &str, id: &str) -> Response {
    let state = app.state();
    match visible(&state.vendors.pipedrive, user, object, label, id) {
        Ok(record) => {
            let keys: Option<Vec<String>> = request
                .query("custom_fields")
                .map(|list| list.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect());
            ok(record_json(record, keys.as_deref()))
        }
        Err(response) => response,
    }
}

/// `GET /v1/users/{id}`: one user of the company (`data`: id, name, email, active_flag).
fn user_by_id(app: &App, id: &str) -> Response {
    let state = app.state();
    match state.vendors.pipedrive.users.iter().find(|u| u.id == id) {
        Some(found) => ok(
            json!({"id": found.id.parse::<u64>().unwrap_or(0), "name": found.name, "email": found.email, "active_flag": true}),
        ),
        None => error(404, "User not found"),
    }
}

fn permitted_users(app: &App, user: &str, id: &str) -> Response {
    let state = app.state();
    let vendor = &state.vendors.pipedrive;
    match visible(vendor, user, "deals", "Deal", id) {
        Ok(record) => {
            let ids: Vec<u64> = vendor
                .users
                .iter()
                .filter(|u| !record.hidden_from.contains(&u.id))
                .filter_map(|u| u.id.parse().ok())
                .collect();
            ok(json!(ids))
        }
        Err(response) => response,
    }
}

fn patch(app: &App, user: &str, request: &Request, id: &str) -> Response {
    let body = match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(body)) => body,
        _ => return error(400, "Request body is not valid JSON"),
    };
    let mut state = app.state();
    if let Err(response) = visible(&state.vendors.pipedrive, user, "deals", "Deal", id) {
        return response;
    }
    let Some(record) = state.vendors.pipedrive.record_mut("deals", id) else { return error(404, "Deal not found") };
    let mut updates = Map::new();
    let mut journaled = Map::new();
    for (name, value) in &body {
        if name == "custom_fields" {
            let Some(custom) = value.as_object() else { return error(400, "custom_fields must be an object") };
            let mut merged = record.fields.get("custom_fields").and_then(Value::as_object).cloned().unwrap_or_default();
            for (key, value) in custom {
                if !merged.contains_key(key) {
                    return error(400, &format!("Custom field {key} does not exist"));
                }
                if !(value.is_string() || value.is_null() || value.is_number()) {
                    return error(400, &format!("Invalid value for custom field {key}"));
                }
                merged.insert(key.clone(), value.clone());
                journaled.insert(key.clone(), value.clone());
            }
            updates.insert("custom_fields".into(), Value::Object(merged));
        } else if ["title", "value", "currency", "stage_id", "status", "expected_close_date"].contains(&name.as_str()) {
            updates.insert(name.clone(), value.clone());
            journaled.insert(name.clone(), value.clone());
        } else {
            return error(400, &format!("Unknown field {name}"));
        }
    }
    let before = record.fields.get("custom_fields").cloned();
    let mut changed = apply(record, &updates);
    // Name the custom keys that changed, not the whole `custom_fields` object.
    if changed.iter().any(|c| c == "custom_fields") {
        changed.retain(|c| c != "custom_fields");
        let after = record.fields.get("custom_fields");
        for key in journaled.keys() {
            if before.as_ref().and_then(|b| b.get(key)) != after.and_then(|a| a.get(key)) {
                changed.push(key.clone());
            }
        }
    }
    let answer = record_json(record, None);
    app.persist(&state);
    // Journaled before the record is released: whoever sees the write can find it in the journal.
    journal_write(app, request, "pipedrive:deals", id, &journaled, changed);
    drop(state);
    ok(answer)
}

/// `GET /api/v2/deals/search?term=…[&fields=title,custom_fields,notes][&exact_match=true][&status=…]
/// [&person_id=…][&organization_id=…][&limit=…][&cursor=…]`: the deals `user` may see whose searched
/// fields contain the term (or equal it, with `exact_match`), in any case, best match first; `{"data":
/// {"items": [{"result_score", "item"}]}, "additional_data": {"next_cursor"}}`. The term needs 2
/// characters (1 with `exact_match`); `limit` is 100 unless given, at most 500.
fn search_deals(app: &App, user: &str, request: &Request) -> Response {
    let exact = request.query("exact_match").is_some_and(|v| v == "true" || v == "1");
    let Some(term) = request.query("term").map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) else {
        return error(400, "term is required");
    };
    if term.chars().count() < if exact { 1 } else { 2 } {
        return error(400, "term must be at least 2 characters long");
    }
    let fields: Vec<String> = match request.query("fields") {
        Some(list) => list.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect(),
        None => vec!["custom_fields".into(), "notes".into(), "title".into()],
    };
    if let Some(bad) = fields.iter().find(|f| !["custom_fields", "notes", "title"].contains(&f.as_str())) {
        return error(400, &format!("fields: {bad} is not one of custom_fields, notes, title"));
    }
    let status = request.query("status");
    if status.as_deref().is_some_and(|s| !["open", "won", "lost"].contains(&s)) {
        return error(400, "status must be one of open, won, lost");
    }
    let limit = match request.query("limit").map(|v| v.trim().parse::<usize>()) {
        None => 100,
        Some(Ok(limit)) if (1..=500).contains(&limit) => limit,
        Some(_) => return error(400, "limit must be an integer between 1 and 500"),
    };
    let start = match request.query("cursor") {
        None => 0,
        Some(cursor) => match base64::engine::general_purpose::STANDARD
            .decode(cursor.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix("offset:").and_then(|n| n.parse::<usize>().ok()))
        {
            Some(start) => start,
            None => return error(400, "cursor is invalid"),
        },
    };
    let linked = |name: &str| request.query(name).and_then(|v| v.trim().parse::<u64>().ok());
    let (person, organization) = (linked("person_id"), linked("organization_id"));
    let state = app.state();
    let vendor = &state.vendors.pipedrive;
    let score = |text: &str| {
        let text = text.to_lowercase();
        if text == term {
            Some(1.0)
        } else if exact {
            None
        } else if text.starts_with(&term) {
            Some(0.75)
        } else {
            text.contains(&term).then_some(0.5)
        }
    };
    let mut found: Vec<(f64, &super::Record)> = vendor
        .records
        .iter()
        .filter(|r| r.object == "deals" && !r.hidden_from.iter().any(|h| h == user))
        .filter(|r| status.as_deref().is_none_or(|s| r.fields.get("status").and_then(Value::as_str) == Some(s)))
        .filter(|r| person.is_none_or(|id| r.fields.get("person_id").and_then(Value::as_u64) == Some(id)))
        .filter(|r| organization.is_none_or(|id| r.fields.get("org_id").and_then(Value::as_u64) == Some(id)))
        .filter_map(|r| {
            let mut texts: Vec<&str> = Vec::new();
            if fields.iter().any(|f| f == "title") {
                texts.extend(r.fields.get("title").and_then(Value::as_str));
            }
            if fields.iter().any(|f| f == "custom_fields") {
                if let Some(custom) = r.fields.get("custom_fields").and_then(Value::as_object) {
                    texts.extend(custom.values().filter_map(Value::as_str));
                }
            }
            // The emulator's deals carry no notes of their own to search.
            texts.into_iter().filter_map(&score).reduce(f64::max).map(|s| (s, r))
        })
        .collect();
    // Best match first; equal scores keep the deals' order.
    found.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    let named = |object: &str, id: Option<u64>| {
        id.and_then(|id| vendor.record(object, &id.to_string()))
            .map(|r| json!({"id": r.id.parse::<u64>().unwrap_or(0), "name": r.fields.get("name").cloned().unwrap_or(Value::Null)}))
            .unwrap_or(Value::Null)
    };
    let items: Vec<Value> = found
        .iter()
        .skip(start)
        .take(limit)
        .map(|(score, r)| {
            let field = |name: &str| r.fields.get(name).cloned().unwrap_or(Value::Null);
            let stage_id = r.fields.get("stage_id").and_then(Value::as_u64);
            let stage_name = STAGES.iter().find(|(id, ..)| Some(*id) == stage_id).map(|(_, name, _)| *name);
            json!({
                "result_score": score,
                "item": {
                    "id": r.id.parse::<u64>().unwrap_or(0),
                    "type": "deal",
                    "title": field("title"),
                    "value": field("value"),
                    "currency": field("currency"),
                    "status": field("status"),
                    "visible_to": 3,
                    "owner": {"id": field("owner_id")},
                    "stage": {"id": stage_id, "name": stage_name},
                    "person": named("persons", r.fields.get("person_id").and_then(Value::as_u64)),
                    "organization": named("organizations", r.fields.get("org_id").and_then(Value::as_u64)),
                    "custom_fields": [],
                    "notes": [],
                    "is_archived": false,
                }
            })
        })
        .collect();
    let next = (start + items.len() < found.len())
        .then(|| base64::engine::general_purpose::STANDARD.encode(format!("offset:{}", start + items.len())));
    rate_headers(
        Response::json(
            200,
            &json!({"success": true, "data": {"items": items}, "additional_data": {"next_cursor": next}}),
        ),
        RATE_LIMIT - 1,
    )
}
