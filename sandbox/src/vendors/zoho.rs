//! Zoho CRM API v8 emulator: `GET`/`PUT /crm/v8/{Deals,Accounts,Contacts}/{id}` in the
//! `{"data": [record]}` shape (lookups as `{"name", "id"}`), `Authorization: Zoho-oauthtoken …`,
//! the accounts server's `/oauth/v2/token` refresh grant (with `api_domain`), and Zoho's error bodies
//! `{"code", "details", "message", "status": "error"}`. A record that does not exist reads as 204 with
//! no body. `GET /crm/v8/{module}/search?word=…` searches a module by word (204 when nothing matches). The sharing model's reads (users, roles, data sharing, record shares) are in `sharing`.

use super::{
    apply, check_token, form_params, journal_write, own_origin, record, scheme_token, TokenCheck, Vendor, VendorUser,
};
use crate::app::App;
use crate::clock;
use crate::http::{Request, Response};
use crate::rng::SeededRng;
use serde_json::{json, Map, Value};

mod sharing;

const ORG: u64 = 5_725_767_000_000_000_000;

fn id(kind: u64, n: u64) -> String {
    (ORG + kind * 1000 + n).to_string()
}

/// The `n`th deal's id (the seed's are 1 to 5).
pub fn deal_id(n: u64) -> String {
    id(411, n)
}

pub fn error(status: u16, code: &str, message: &str, details: Value) -> Response {
    Response::json(status, &json!({"code": code, "details": details, "message": message, "status": "error"}))
}

/// The Deals `Stage` picklist (Zoho's standard values); `stage` maps the seed's stage keys into it.
pub const STAGES: [&str; 9] = [
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Identify Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed-Lost to Competition",
];

pub fn stage(key: &str) -> &'static str {
    match key {
        "contractsent" => "Negotiation/Review",
        "decisionmakerboughtin" => "Identify Decision Makers",
        "appointmentscheduled" => "Qualification",
        "closedwon" => "Closed Won",
        _ => "Needs Analysis",
    }
}

pub fn seed(rng: &mut SeededRng, now: i64) -> Vendor {
    let users = vec![
        VendorUser {
            id: id(100, 1),
            name: "Integration User".into(),
            email: "integration@acme-zoho.example".into(),
            refresh_token: format!("1000.{}.{}", rng.hex(16), rng.hex(16)),
        },
        VendorUser {
            id: id(100, 2),
            name: "Sam Seller".into(),
            email: "sam.seller@acme-zoho.example".into(),
            refresh_token: format!("1000.{}.{}", rng.hex(16), rng.hex(16)),
        },
    ];
    let owner = json!({"name": users[0].name, "id": users[0].id, "email": users[0].email});
    let seller = json!({"name": users[1].name, "id": users[1].id, "email": users[1].email});
    let mut records = Vec::new();
    for (index, (name, street, city, state, zip, country)) in super::COMPANIES.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("Account_Name".into(), json!(name));
        fields.insert("Billing_Street".into(), json!(street));
        fields.insert("Billing_City".into(), json!(city));
        fields.insert("Billing_State".into(), json!(state));
        fields.insert("Billing_Code".into(), json!(zip));
        fields.insert("Billing_Country".into(), json!(country));
        fields.insert("Owner".into(), owner.clone());
        records.push(record("Accounts", id(412, index as u64 + 1), fields, now));
    }
    for (index, (first, last, email, company)) in super::CONTACTS.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("First_Name".into(), json!(first));
        fields.insert("Last_Name".into(), json!(last));
        fields.insert("Full_Name".into(), json!(format!("{first} {last}")));
        fields.insert("Email".into(), json!(email));
        fields.insert(
            "Account_Name".into(),
            company.map_or(Value::Null, |c| json!({"name": super::COMPANIES[c].0, "id": id(412, c as u64 + 1)})),
        );
        fields.insert("Owner".into(), owner.clone());
        records.push(record("Contacts", id(413, index as u64 + 1), fields, now));
    }
    for (index, (name, amount, currency, stage_key, close, company, contact)) in super::DEALS.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("Deal_Name".into(), json!(name));
        fields.insert("Amount".into(), json!(amount));
        fields.insert("Currency".into(), json!(currency.unwrap_or("USD")));
        fields.insert("Stage".into(), json!(stage(stage_key)));
        fields.insert("Closing_Date".into(), json!(close));
        fields.insert(
            "Account_Name".into(),
            company.map_or(Value::Null, |c| json!({"name": super::COMPANIES[c].0, "id": id(412, c as u64 + 1)})),
        );
        let (first, last, ..) = super::CONTACTS[*contact];
        let contact_lookup = json!({"name": format!("{first} {last}"), "id": id(413, *contact as u64 + 1)});
        fields.insert("Contact_Name".into(), contact_lookup);
        // The seller owns their deals; the hidden one is the integration user's (the CEO's), above
        // the seller in the role hierarchy, in a module shared privately: the seller may not see it.
        let deal_owner = if index == super::HIDDEN_DEAL { &owner } else { &seller };
        fields.insert("Owner".into(), deal_owner.clone());
        for name in super::ZOHO_FIELDS {
            fields.insert(name.into(), Value::Null);
        }
        let mut deal = record("Deals", id(411, index as u64 + 1), fields, now);
        if index == super::HIDDEN_DEAL {
            deal.hidden_from.push(users[1].id.clone());
        }
        records.push(deal);
    }
    Vendor {
        client_id: format!("1000.{}", rng.hex(15).to_uppercase()),
        client_secret: rng.hex(21),
        api_token: None,
        users,
        records,
        fields: Vec::new(),
        files: Vec::new(),
        notes: Vec::new(),
        next_activity_id: 0,
    }
}

pub fn authenticate(app: &App, request: &Request) -> Result<Option<String>, Response> {
    if request.path == "/oauth/v2/token" {
        return Err(token(app, request));
    }
    let given = scheme_token(request, "zoho-oauthtoken");
    match check_token(app, "zoho", given) {
        TokenCheck::User(user) => Ok(Some(user)),
        TokenCheck::Missing => Err(error(401, "AUTHENTICATION_FAILURE", "Authentication failed", json!({}))),
        TokenCheck::Invalid | TokenCheck::Expired => Err(error(401, "INVALID_TOKEN", "invalid oauth token", json!({}))),
    }
}

/// Zoho's accounts server answers refusals with HTTP 200 and `{"error": …}`.
fn token(app: &App, request: &Request) -> Response {
    if request.method != "POST" {
        return Response::json(405, &json!({"error": "invalid_request"}));
    }
    let params = form_params(request);
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let mut state = app.state();
    let vendor = &state.vendors.zoho;
    if param("grant_type") != "refresh_token" {
        return Response::json(200, &json!({"error": "unsupported_grant_type"}));
    }
    if param("client_id") != vendor.client_id || param("client_secret") != vendor.client_secret {
        return Response::json(200, &json!({"error": "invalid_client"}));
    }
    let Some(user) =
        vendor.users.iter().find(|u| !param("refresh_token").is_empty() && u.refresh_token == param("refresh_token"))
    else {
        return Response::json(200, &json!({"error": "invalid_code"}));
    };
    let user_id = user.id.clone();
    let (access, ttl) = state.vendors.issue("zoho", &user_id, |d| format!("1000.{}.{}", &d[..32], &d[32..64]));
    app.persist(&state);
    Response::json(
        200,
        &json!({"access_token": access, "scope": "ZohoCRM.modules.ALL ZohoCRM.users.READ ZohoCRM.settings.roles.READ ZohoCRM.settings.data_sharing.READ ZohoCRM.share.deals.READ", "api_domain": own_origin(request), "token_type": "Bearer", "expires_in": ttl}),
    )
}

const MODULES: [&str; 3] = ["Deals", "Accounts", "Contacts"];

pub fn zoho_time(micros: i64) -> String {
    let text = clock::format_rfc3339(micros);
    format!("{}+00:00", text.get(..19).unwrap_or(&text))
}

fn record_json(record: &super::Record, wanted: Option<&[String]>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(record.id));
    for (name, value) in &record.fields {
        if wanted.is_none_or(|w| w.iter().any(|n| n == name)) {
            out.insert(name.clone(), value.clone());
        }
    }
    if wanted.is_none() {
        out.insert("Created_Time".into(), json!(zoho_time(record.created_micros)));
        out.insert("Modified_Time".into(), json!(zoho_time(record.updated_micros)));
    }
    Value::Object(out)
}

pub fn handle(app: &App, user: Option<&str>, request: &Request) -> Response {
    let user = user.unwrap_or_default();
    let segments: Vec<&str> = request.path.trim_end_matches('/').split('/').skip(3).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["settings", "fields"]) => return super::fields::zoho_list(app, request),
        ("GET", ["settings", "fields", id, "pick_list_values"]) => {
            return super::fields::zoho_pick_list_values(request, id)
        }
        ("POST", ["settings", "fields"]) => return super::fields::zoho_create(app, request),
        ("POST", ["Notes"]) => return super::record_activity::zoho_create_notes(app, user, request),
        ("POST", ["Deals", id, "Attachments"]) => return super::record_activity::zoho_upload(app, user, request, id),
        ("GET", ["Deals", id, "Attachments"]) => {
            return super::record_activity::zoho_attachments(app, user, request, id)
        }
        ("GET", ["Deals", id, "Notes"]) => return super::record_activity::zoho_deal_notes(app, user, request, id),
        ("GET", [module, "search"]) => return search(app, user, request, module),
        _ => {}
    }
    if request.method != "GET" && matches!(segments.first(), Some(&"users" | &"settings")) {
        return error(405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", json!({}));
    }
    let (module, record_id) = match segments.as_slice() {
        ["users"] => return sharing::users(app, request),
        ["users", user_id] => return sharing::user(app, user_id),
        ["settings", "roles"] => return sharing::roles(),
        ["settings", "data_sharing"] => return sharing::data_sharing(),
        [module, id, "actions", "share"] if request.method == "GET" => return sharing::shared_with(app, module, id),
        [module, id] => (*module, *id),
        _ => {
            return error(
                404,
                "INVALID_URL_PATTERN",
                "Please check if the URL trying to access is a correct one",
                json!({}),
            )
        }
    };
    if !MODULES.contains(&module) {
        return error(
            400,
            "INVALID_MODULE",
            "the module name given seems to be invalid",
            json!({"resource_path_index": 0}),
        );
    }
    if record_id.is_empty() || !record_id.bytes().all(|b| b.is_ascii_digit()) {
        return error(400, "INVALID_DATA", "the id given seems to be invalid", json!({"resource_path_index": 1}));
    }
    match request.method.as_str() {
        "GET" => get(app, user, request, module, record_id),
        "PUT" => put(app, user, request, module, record_id),
        other => error(
            405,
            "INVALID_REQUEST_METHOD",
            &format!("The http request method type {other} is not a valid one"),
            json!({}),
        ),
    }
}

fn no_permission() -> Response {
    error(403, "NO_PERMISSION", "permission denied", json!({"permissions": ["Crm_Implied_View_Deals"]}))
}

fn get(app: &App, user: &str, request: &Request, module: &str, record_id: &str) -> Response {
    let state = app.state();
    let Some(record) = state.vendors.zoho.record(module, record_id) else { return Response::empty(204) };
    if record.hidden_from.iter().any(|h| h == user) {
        return no_permission();
    }
    let wanted: Option<Vec<String>> = request
        .query("fields")
        .map(|list| list.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect());
    if let Some(wanted) = &wanted {
        if let Some(unknown) = wanted.iter().find(|f| *f != "id" && !record.fields.contains_key(f.as_str())) {
            return error(400, "INVALID_DATA", "invalid data", json!({"api_name": unknown}));
        }
    }
    Response::json(200, &json!({"data": [record_json(record, wanted.as_deref())]}))
}

fn put(app: &App, user: &str, request: &Request, module: &str, record_id: &str) -> Response {
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(_) => return error(400, "INVALID_DATA", "body is not a valid JSON", json!({})),
    };
    let Some(updates) =
        body.get("data").and_then(Value::as_array).and_then(|d| d.first()).and_then(Value::as_object).cloned()
    else {
        return error(
            400,
            "MANDATORY_NOT_FOUND",
            "required field not found",
            json!({"api_name": "data", "json_path": "$.data"}),
        );
    };
    let mut state = app.state();
    let Some(record) = state.vendors.zoho.record_mut(module, record_id) else {
        return Response::json(
            400,
            &json!({"data": [{"code": "INVALID_DATA", "details": {"id": record_id}, "message": "the id given seems to be invalid", "status": "error"}]}),
        );
    };
    if record.hidden_from.iter().any(|h| h == user) {
        return no_permission();
    }
    let mut clean = Map::new();
    for (name, value) in updates {
        if name == "id" {
            continue;
        }
        if !record.fields.contains_key(&name) {
            return Response::json(
                400,
                &json!({"data": [{"code": "INVALID_DATA", "details": {"api_name": name, "json_path": format!("$.data[0].{name}")}, "message": "invalid data", "status": "error"}]}),
            );
        }
        clean.insert(name, value);
    }
    let changed = apply(record, &clean);
    let modified = zoho_time(record.updated_micros);
    let created = zoho_time(record.created_micros);
    let by = state.vendors.zoho.user(user).map(|u| json!({"name": u.name, "id": u.id})).unwrap_or(Value::Null);
    app.persist(&state);
    // Journaled before the record is released: whoever sees the write can find it in the journal.
    journal_write(app, request, &format!("zoho:{module}"), record_id, &clean, changed);
    drop(state);
    Response::json(
        200,
        &json!({"data": [{"code": "SUCCESS", "details": {"Modified_Time": modified, "Modified_By": by, "Created_Time": created, "id": record_id, "Created_By": by}, "message": "record updated", "status": "success"}]}),
    )
}

/// `GET /crm/v8/{module}/search?word=…[&fields=…][&page=…][&per_page=…]`: the records `user` may see
/// with a text value (or a lookup's name) containing the word, in any case; `{"data": […], "info":
/// {"per_page", "count", "page", "more_records"}}`, or 204 and no body when none match. Of Zoho's
/// other search parameters (`criteria`, `email`, `phone`) the sandbox answers none.
fn search(app: &App, user: &str, request: &Request, module: &str) -> Response {
    if !MODULES.contains(&module) {
        return error(
            400,
            "INVALID_MODULE",
            "the module name given seems to be invalid",
            json!({"resource_path_index": 0}),
        );
    }
    let given = |name: &str| request.query(name).filter(|value| !value.trim().is_empty());
    if let Some(other) = ["criteria", "email", "phone"].into_iter().find(|name| given(name).is_some()) {
        return error(
            400,
            "NOT_SUPPORTED",
            &format!("the sandbox searches by word only, not by {other}"),
            json!({"param": other}),
        );
    }
    let Some(word) = given("word") else {
        return error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            json!({"param": ["criteria", "email", "phone", "word"]}),
        );
    };
    let word = word.trim().to_lowercase();
    if word.chars().count() < 2 {
        return error(
            400,
            "INVALID_QUERY",
            "the search word must have at least 2 characters",
            json!({"param": "word"}),
        );
    }
    let number = |name: &str, default: usize| {
        request.query(name).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(default)
    };
    let (page, per_page) = (number("page", 1).max(1), number("per_page", 200).clamp(1, 200));
    let wanted: Option<Vec<String>> = request
        .query("fields")
        .map(|list| list.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect());
    let state = app.state();
    let records: Vec<&super::Record> = state
        .vendors
        .zoho
        .records
        .iter()
        .filter(|r| r.object == module && !r.hidden_from.iter().any(|h| h == user))
        .filter(|r| {
            r.fields.values().any(|value| {
                let text = match value {
                    Value::String(text) => Some(text.as_str()),
                    Value::Object(lookup) => lookup.get("name").and_then(Value::as_str),
                    _ => None,
                };
                text.is_some_and(|text| text.to_lowercase().contains(&word))
            })
        })
        .collect();
    if let (Some(wanted), Some(first)) = (&wanted, records.first()) {
        if let Some(unknown) = wanted.iter().find(|f| *f != "id" && !first.fields.contains_key(f.as_str())) {
            return error(400, "INVALID_DATA", "invalid data", json!({"api_name": unknown}));
        }
    }
    let skip = (page - 1).saturating_mul(per_page);
    let data: Vec<Value> =
        records.iter().skip(skip).take(per_page).map(|r| record_json(r, wanted.as_deref())).collect();
    if data.is_empty() {
        return Response::empty(204);
    }
    let more = records.len() > skip + data.len();
    Response::json(
        200,
        &json!({"data": data, "info": {"per_page": per_page, "count": data.len(), "page": page, "more_records": more}}),
    )
}
