//! Salesforce, Zoho CRM and Pipedrive emulators, next to the HubSpot one on the CRM port (the path
//! prefix picks the vendor): each with its own record shapes, ids, OAuth token endpoint, access
//! tokens that expire, users with per-deal visibility, error bodies and rate-limit answers.
//!
//! The five seeded deals are the HubSpot seed's deals, in each vendor's vocabulary.

pub mod fields;
pub mod pipedrive;
pub mod pipedrive_webhooks;
pub mod record_activity;
pub mod salesforce;
pub mod schema;
pub mod zoho;

use crate::app::{lock, App};
use crate::clock;
use crate::http::{parse_query, Request, Response};
use crate::journal::CrmWriteEntry;
use crate::rng::SeededRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Default lifetime of an issued access token (the vendors' own is about an hour).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VendorState {
    pub token_ttl_secs: u64,
    /// HubSpot's OAuth app (its CRM API is `crate::crm`): client credentials and one refresh
    /// token per user; the access tokens it issues are accepted by the HubSpot emulator.
    #[serde(default)]
    pub hubspot: Vendor,
    pub salesforce: Vendor,
    pub zoho: Vendor,
    pub pipedrive: Vendor,
    /// Webhooks made through Pipedrive's Webhooks API (`pipedrive_webhooks`).
    #[serde(default)]
    pub pipedrive_webhooks: Vec<pipedrive_webhooks::Webhook>,
    #[serde(default)]
    pub next_pipedrive_webhook: u64,
    pub tokens: Vec<IssuedToken>,
    pub next_token: u64,
    /// PEM of the public key Salesforce's JWT bearer grant checks assertions against.
    pub salesforce_jwt_public_key: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Vendor {
    pub client_id: String,
    pub client_secret: String,
    /// Pipedrive's personal API token (acts as the first user).
    pub api_token: Option<String>,
    pub users: Vec<VendorUser>,
    pub records: Vec<Record>,
    /// Deal fields created through the vendor's fields API (Pipedrive, Zoho).
    #[serde(default)]
    pub fields: Vec<fields::FieldDefinition>,
    /// Files uploaded to records (`record_activity`): names and digests, not contents.
    #[serde(default)]
    pub files: Vec<record_activity::StoredFile>,
    /// Notes (HubSpot notes, Salesforce tasks, Zoho notes, Pipedrive notes) on records.
    #[serde(default)]
    pub notes: Vec<record_activity::StoredNote>,
    #[serde(default)]
    pub next_activity_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VendorUser {
    pub id: String,
    pub name: String,
    pub email: String,
    /// The user's OAuth refresh token (each user connected the app once).
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The vendor's object name: `Opportunity`, `Deals`, `deals`, ….
    pub object: String,
    pub id: String,
    pub fields: Map<String, Value>,
    /// Users who may not see this record.
    pub hidden_from: Vec<String>,
    pub created_micros: i64,
    pub updated_micros: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedToken {
    pub vendor: String,
    pub token: String,
    pub user_id: String,
    pub expires_micros: i64,
}

impl Vendor {
    pub fn record(&self, object: &str, id: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.object == object && r.id == id)
    }

    pub fn record_mut(&mut self, object: &str, id: &str) -> Option<&mut Record> {
        self.records.iter_mut().find(|r| r.object == object && r.id == id)
    }

    pub fn user(&self, id: &str) -> Option<&VendorUser> {
        self.users.iter().find(|u| u.id == id)
    }
}

impl VendorState {
    /// A new access token for `user_id`, valid for the configured lifetime.
    pub fn issue(&mut self, vendor: &str, user_id: &str, format: impl Fn(&str) -> String) -> (String, u64) {
        self.next_token += 1;
        let material = format!("{vendor}:{user_id}:{}:{}", self.next_token, clock::now_micros());
        let digest = sha2_hex(material.as_bytes());
        let token = format(&digest);
        let ttl = self.token_ttl_secs.max(1);
        let now = clock::now_micros();
        // Drop long-dead tokens so the list stays small.
        self.tokens.retain(|t| t.expires_micros > now - 3_600_000_000);
        self.tokens.push(IssuedToken {
            vendor: vendor.into(),
            token: token.clone(),
            user_id: user_id.into(),
            expires_micros: now + i64::try_from(ttl).unwrap_or(i64::MAX / 2_000_000) * 1_000_000,
        });
        (token, ttl)
    }
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Who an access token belongs to, or why it is refused.
pub enum TokenCheck {
    Missing,
    Invalid,
    Expired,
    User(String),
}

pub fn check_token(app: &App, vendor: &str, token: Option<&str>) -> TokenCheck {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else { return TokenCheck::Missing };
    let state = app.state();
    if vendor == "pipedrive" && state.vendors.pipedrive.api_token.as_deref() == Some(token) {
        return state.vendors.pipedrive.users.first().map_or(TokenCheck::Invalid, |u| TokenCheck::User(u.id.clone()));
    }
    match state.vendors.tokens.iter().find(|t| t.vendor == vendor && t.token == token) {
        None => TokenCheck::Invalid,
        Some(t) if t.expires_micros <= clock::now_micros() => TokenCheck::Expired,
        Some(t) => TokenCheck::User(t.user_id.clone()),
    }
}

/// The `Bearer`/`Zoho-oauthtoken` credential of an `Authorization` header.
pub fn scheme_token<'r>(request: &'r Request, scheme: &str) -> Option<&'r str> {
    let (given, token) = request.header("authorization")?.trim().split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(token.trim())
}

/// Form parameters from the body (`application/x-www-form-urlencoded`) and the query string.
pub fn form_params(request: &Request) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = parse_query(&request.raw_query).into_iter().collect();
    if let Ok(body) = std::str::from_utf8(&request.body) {
        params.extend(parse_query(body.trim()));
    }
    params
}

/// `http://<Host>` of the request: the origin the vendor would name as its API domain.
pub fn own_origin(request: &Request) -> String {
    format!("http://{}", request.header("host").unwrap_or("127.0.0.1"))
}

pub fn journal_write(
    app: &App,
    request: &Request,
    object_type: &str,
    object_id: &str,
    sent: &Map<String, Value>,
    changed: Vec<String>,
) {
    // A write through the vendor's API to a deal is a deal change its events tell of.
    let vendor_deal = match object_type {
        "salesforce:Opportunity" => Some("salesforce"),
        "zoho:Deals" => Some("zoho"),
        "pipedrive:deals" => Some("pipedrive"),
        _ => None,
    };
    if let Some(vendor) = vendor_deal {
        crate::crm_events::deal_written(app, vendor, object_id, &changed, false);
    }
    let properties = sent
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                },
            )
        })
        .collect();
    lock(&app.journal).record_crm_write(CrmWriteEntry {
        seq: 0,
        at: clock::format_rfc3339(clock::now_micros()),
        method: request.method.clone(),
        path: request.path.clone(),
        object_type: object_type.into(),
        object_id: object_id.into(),
        properties,
        changed,
    });
}

/// Applies `updates` to a record's fields; the names whose value changed.
pub fn apply(record: &mut Record, updates: &Map<String, Value>) -> Vec<String> {
    let mut changed = Vec::new();
    for (name, value) in updates {
        if record.fields.get(name) != Some(value) {
            record.fields.insert(name.clone(), value.clone());
            changed.push(name.clone());
        }
    }
    if !changed.is_empty() {
        record.updated_micros = clock::now_micros().max(record.updated_micros + 1);
    }
    changed
}

/// HubSpot's OAuth app: a UUID client id, a secret, and the integration user's refresh token.
fn hubspot_app(rng: &mut SeededRng) -> Vendor {
    let hex = rng.hex(16);
    let uuid = |h: &str| {
        format!(
            "{}-{}-{}-{}-{}",
            h.get(..8).unwrap_or(""),
            h.get(8..12).unwrap_or(""),
            h.get(12..16).unwrap_or(""),
            h.get(16..20).unwrap_or(""),
            h.get(20..32).unwrap_or("")
        )
    };
    Vendor {
        client_id: uuid(&hex),
        client_secret: uuid(&rng.hex(16)),
        api_token: None,
        users: vec![VendorUser {
            id: "77".into(),
            name: "Integration User".into(),
            email: "integration@acme-hs.example".into(),
            refresh_token: format!("na1-{}", uuid(&rng.hex(16))),
        }],
        records: Vec::new(),
        fields: Vec::new(),
        files: Vec::new(),
        notes: Vec::new(),
        next_activity_id: 0,
    }
}

/// `POST /oauth/v1/token` (HubSpot): a form body with `grant_type=refresh_token`, `client_id`,
/// `client_secret` and `refresh_token`; answers the access token, the same refresh token and
/// `expires_in`. Refusals are 400 with HubSpot's `{"status": "BAD_REFRESH_TOKEN", …}` shape.
pub fn hubspot_token(app: &App, request: &Request) -> Response {
    let refused = |status: &str, message: &str| {
        Response::json(
            400,
            &json!({"status": status, "message": message, "correlationId": "00000000-0000-4000-8000-000000000000"}),
        )
    };
    if request.method != "POST" {
        return refused("BAD_REQUEST", "use POST");
    }
    let params = form_params(request);
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let mut state = app.state();
    let app_state = &state.vendors.hubspot;
    if param("client_id") != app_state.client_id || param("client_secret") != app_state.client_secret {
        return refused("BAD_CLIENT_ID", "missing or unknown client id, or wrong client secret");
    }
    if param("grant_type") != "refresh_token" {
        return refused("BAD_GRANT_TYPE", "unsupported grant type");
    }
    let Some(user) = app_state
        .users
        .iter()
        .find(|u| !param("refresh_token").is_empty() && u.refresh_token == param("refresh_token"))
    else {
        return refused("BAD_REFRESH_TOKEN", "missing or invalid refresh token");
    };
    let (user_id, refresh) = (user.id.clone(), user.refresh_token.clone());
    let (access, ttl) = state.vendors.issue("hubspot", &user_id, |d| format!("CNa{}", d.get(..48).unwrap_or(d)));
    app.persist(&state);
    Response::json(
        200,
        &json!({"token_type": "bearer", "access_token": access, "refresh_token": refresh, "expires_in": ttl}),
    )
}

/// `POST /__sandbox/crm/remove-spotdraft-fields`: the CRMs as an admin finds them before installing:
/// no SpotDraft deal properties or fields (nor their values) in HubSpot, Pipedrive and Zoho, so
/// provisioning can be run from nothing. Salesforce's fields come with its package and stay.
pub fn remove_spotdraft_fields(app: &App) -> Response {
    let mut state = app.state();
    let hubspot = &mut state.crm;
    let ours = |name: &str| name.starts_with("spotdraft_");
    hubspot.deal_properties.retain(|name| !ours(name));
    hubspot.property_definitions.retain(|definition| !ours(&definition.name));
    hubspot.property_groups.retain(|group| group.name != "spotdraft");
    for deal in &mut hubspot.deals {
        deal.properties.retain(|name, _| !ours(name));
    }
    let labelled = |field: &fields::FieldDefinition| field.label.starts_with("SpotDraft");
    let pipedrive = &mut state.vendors.pipedrive;
    let mut keys: Vec<String> = PIPEDRIVE_FIELDS.iter().map(|key| key.to_string()).collect();
    keys.extend(pipedrive.fields.iter().filter(|field| labelled(field)).map(|field| field.key.clone()));
    pipedrive.fields.retain(|field| !labelled(field));
    for deal in pipedrive.records.iter_mut().filter(|record| record.object == "deals") {
        if let Some(Value::Object(custom)) = deal.fields.get_mut("custom_fields") {
            custom.retain(|key, _| !keys.contains(key));
        }
    }
    let zoho = &mut state.vendors.zoho;
    zoho.fields.retain(|field| !labelled(field));
    for deal in zoho.records.iter_mut().filter(|record| record.object == "Deals") {
        deal.fields.retain(|name, _| !name.starts_with("SpotDraft_"));
    }
    app.persist(&state);
    Response::json(200, &json!({"removed": ["hubspot", "pipedrive", "zoho"]}))
}

/// Which vendor a CRM-port path belongs to (`None`: HubSpot).
pub fn vendor_of(path: &str) -> Option<&'static str> {
    if path.starts_with("/services/") {
        Some("salesforce")
    } else if path.starts_with("/crm/v8/") || path == "/oauth/v2/token" {
        Some("zoho")
    } else if path.starts_with("/api/v2/")
        || path.starts_with("/api/v1/")
        || path.starts_with("/v1/")
        || path == "/oauth/token"
    {
        Some("pipedrive")
    } else {
        None
    }
}

/// Runs the vendor's emulator for one request. Faults are decided after authentication, like the
/// HubSpot emulator's: `Ok(user)` means authenticated (token routes answer directly as `Err`).
pub fn authenticate(app: &App, vendor: &str, request: &Request) -> Result<Option<String>, Response> {
    match vendor {
        "salesforce" => salesforce::authenticate(app, request),
        "zoho" => zoho::authenticate(app, request),
        _ => pipedrive::authenticate(app, request),
    }
}

pub fn handle(app: &App, vendor: &str, user: Option<&str>, request: &Request) -> Response {
    match vendor {
        "salesforce" => salesforce::handle(app, user, request),
        "zoho" => zoho::handle(app, user, request),
        _ => pipedrive::handle(app, user, request),
    }
}

/// An injected 429 or 500 in the vendor's shape (Salesforce reports an exhausted API allowance as
/// 403 `REQUEST_LIMIT_EXCEEDED`, not 429).
pub fn injected(vendor: &str, status: u16, retry_after: Option<u64>) -> Response {
    let response = match (vendor, status) {
        ("salesforce", 429) => Response::json(
            403,
            &json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
        )
        .header("Sforce-Limit-Info", "api-usage=15000/15000"),
        ("salesforce", _) => Response::json(
            status,
            &json!([{"message": "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)", "errorCode": "UNKNOWN_EXCEPTION"}]),
        ),
        ("zoho", 429) => Response::json(
            429,
            &json!({"code": "TOO_MANY_REQUESTS", "details": {}, "message": "too many requests, try again later", "status": "error"}),
        ),
        ("zoho", _) => Response::json(
            status,
            &json!({"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error", "status": "error"}),
        ),
        (_, 429) => pipedrive::rate_headers(
            Response::json(
                429,
                &json!({"success": false, "error": "Request over limit", "errorCode": 429, "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."}),
            ),
            0,
        ),
        _ => Response::json(
            status,
            &json!({"success": false, "error": "Internal server error", "errorCode": status, "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."}),
        ),
    };
    match (status, retry_after) {
        (429, Some(seconds)) => response.header("Retry-After", &seconds.to_string()),
        _ => response,
    }
}

// ------------------------------------------------------------------------------------------------
// Seed

/// The HubSpot seed's five deals: (name, amount, currency, stage key, close date, company index,
/// contact index). Stage keys are HubSpot's; each vendor maps them to its own vocabulary.
/// One seeded deal, see `DEALS`.
pub type SeedDeal =
    (&'static str, Option<f64>, Option<&'static str>, &'static str, Option<&'static str>, Option<usize>, usize);

pub const DEALS: [SeedDeal; 5] = [
    (
        "Acme Widgets — Platform subscription",
        Some(48000.0),
        Some("USD"),
        "contractsent",
        Some("2026-12-15"),
        Some(0),
        0,
    ),
    (
        "Globex Rahmenvertrag 2027",
        Some(125000.50),
        Some("EUR"),
        "decisionmakerboughtin",
        Some("2027-01-31"),
        Some(1),
        1,
    ),
    ("Initech pilot", Some(9500.0), Some("GBP"), "appointmentscheduled", None, Some(2), 2),
    ("Umbrella Health renewal FY27", Some(2500000.0), Some("INR"), "closedwon", Some("2026-10-01"), Some(3), 3),
    ("Jordan Lee — consulting NDA", None, None, "qualifiedtobuy", Some("2026-12-01"), None, 4),
];

/// (name, street, city, state, zip, country)
/// One seeded company, see `COMPANIES`.
pub type SeedCompany = (&'static str, &'static str, &'static str, Option<&'static str>, &'static str, &'static str);

pub const COMPANIES: [SeedCompany; 4] = [
    ("  acme   widgets, inc. ", "350 Fifth Avenue", "New York", Some("NY"), "10118", "United States"),
    ("Globex GmbH", "Friedrichstraße 68", "Berlin", None, "10117", "Germany"),
    ("Initech Ltd.", "1 Canada Square", "London", None, "E14 5AB", "United Kingdom"),
    ("Umbrella Health Pvt. Ltd.", "12 MG Road", "Bengaluru", Some("KA"), "560001", "India"),
];

/// (first, last, email, company index)
pub const CONTACTS: [(&str, &str, &str, Option<usize>); 5] = [
    ("Avery", "Stone", "avery.stone@acme.example", Some(0)),
    ("Jürgen", "Müller", "j.mueller@globex.example", Some(1)),
    ("Priya", "Natarajan", "priya@initech.example", Some(2)),
    ("Rahul", "Mehta", "rahul.mehta@umbrella.example", Some(3)),
    ("Jordan", "Lee", "jordan.lee@freelance.example", None),
];

/// The seeded deal (index) the second user may not see, in every vendor.
pub const HIDDEN_DEAL: usize = 1;

/// The SpotDraft write-back fields, by vendor (Pipedrive's are 40-hex custom field keys).
pub const SALESFORCE_FIELDS: [&str; 5] = [
    "SpotDraft_Contract_Id__c",
    "SpotDraft_Status__c",
    "SpotDraft_Status_At__c",
    "SpotDraft_Link__c",
    "SpotDraft_Executed_At__c",
];
/// The labels provisioning gives the SpotDraft fields (`FIELD_SPECS` in the core), in the order of
/// the field lists below.
pub const SPOTDRAFT_LABELS: [&str; 5] =
    ["SpotDraft Contract ID", "SpotDraft Status", "SpotDraft Status At", "SpotDraft Link", "SpotDraft Executed At"];
pub const ZOHO_FIELDS: [&str; 5] =
    ["SpotDraft_Contract_ID", "SpotDraft_Status", "SpotDraft_Status_At", "SpotDraft_Link", "SpotDraft_Executed_At"];
pub const PIPEDRIVE_FIELDS: [&str; 5] = [
    "5d0c1e4a9b3f27c86e1d2a4b7c9e0f1a2b3c4d01",
    "5d0c1e4a9b3f27c86e1d2a4b7c9e0f1a2b3c4d02",
    "5d0c1e4a9b3f27c86e1d2a4b7c9e0f1a2b3c4d03",
    "5d0c1e4a9b3f27c86e1d2a4b7c9e0f1a2b3c4d04",
    "5d0c1e4a9b3f27c86e1d2a4b7c9e0f1a2b3c4d05",
];

pub fn record(object: &str, id: String, fields: Map<String, Value>, now: i64) -> Record {
    Record { object: object.into(), id, fields, hidden_from: Vec::new(), created_micros: now, updated_micros: now }
}

pub fn initial(rng: &mut SeededRng, now: i64) -> VendorState {
    VendorState {
        token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
        salesforce: salesforce::seed(rng, now),
        zoho: zoho::seed(rng, now),
        pipedrive: pipedrive::seed(rng, now),
        pipedrive_webhooks: Vec::new(),
        next_pipedrive_webhook: 0,
        hubspot: hubspot_app(rng),
        tokens: Vec::new(),
        next_token: 0,
        salesforce_jwt_public_key: salesforce::TEST_JWT_PUBLIC_KEY.into(),
    }
}

/// `GET /__sandbox/crm/vendors`: every credential, user and seeded id (and Pipedrive's company id),
/// for tests and the demo.
pub fn describe(app: &App) -> Response {
    let state = app.state();
    let v = &state.vendors;
    let vendor = |name: &str, vendor: &Vendor, fields: &[&str], deal_object: &str| {
        json!({
            "name": name,
            "client_id": vendor.client_id,
            "client_secret": vendor.client_secret,
            "api_token": vendor.api_token,
            "users": vendor.users.iter().map(|u| json!({"id": u.id, "name": u.name, "email": u.email, "refresh_token": u.refresh_token})).collect::<Vec<_>>(),
            "deal_ids": vendor.records.iter().filter(|r| r.object == deal_object).map(|r| r.id.clone()).collect::<Vec<_>>(),
            "hidden_deal": {"id": vendor.records.iter().filter(|r| r.object == deal_object).nth(HIDDEN_DEAL).map(|r| r.id.clone()), "hidden_from": vendor.users.get(1).map(|u| u.id.clone())},
            "fields": {"contractId": fields[0], "status": fields[1], "statusAt": fields[2], "link": fields[3], "executedAt": fields[4]},
        })
    };
    let mut pipedrive_described = vendor("pipedrive", &v.pipedrive, &PIPEDRIVE_FIELDS, "deals");
    pipedrive_described["company_id"] = json!(pipedrive::COMPANY_ID.to_string());
    Response::json(
        200,
        &json!({
            "token_ttl_secs": v.token_ttl_secs,
            "salesforce": vendor("salesforce", &v.salesforce, &SALESFORCE_FIELDS, "Opportunity"),
            "zoho": vendor("zoho", &v.zoho, &ZOHO_FIELDS, "Deals"),
            "pipedrive": pipedrive_described,
            "hubspot": {"client_id": v.hubspot.client_id, "client_secret": v.hubspot.client_secret,
                        "users": v.hubspot.users.iter().map(|u| json!({"id": u.id, "email": u.email, "refresh_token": u.refresh_token})).collect::<Vec<_>>()},
        }),
    )
}

/// `POST /__sandbox/crm/vendors/{salesforce|zoho|pipedrive}/deals` `{"name": "…"}`: one more deal,
/// a copy of the vendor's first seeded deal (same stage, company and contact, no SpotDraft fields)
/// under a new id in the vendor's format, so suites can make as many deals as they need. Answers
/// `{"id"}`.
/// What an admin does in Salesforce Setup (Object Manager → Opportunity → New field), which the
/// sandbox has no Metadata API for: `{"name": "Governing_Law__c"}` adds an empty custom field to every
/// Opportunity.
pub fn add_salesforce_field(app: &App, request: &Request) -> Response {
    let name = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|body| body.get("name").and_then(Value::as_str).map(str::to_string));
    let valid = name.as_deref().is_some_and(|n| {
        n.ends_with("__c") && n.len() <= 43 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    let (Some(name), true) = (name, valid) else {
        return Response::json(
            400,
            &json!({"error": "body must be {\"name\": \"Api_Name__c\"} (letters, digits, _, ending in __c)"}),
        );
    };
    let mut state = app.state();
    for record in state.vendors.salesforce.records.iter_mut().filter(|r| r.object == "Opportunity") {
        record.fields.entry(name.clone()).or_insert(Value::Null);
    }
    app.persist(&state);
    Response::json(201, &json!({"name": name}))
}

pub fn add_deal(app: &App, request: &Request, vendor_name: &str) -> Response {
    let name = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|body| body.get("name").and_then(Value::as_str).map(str::to_string))
        .filter(|name| !name.trim().is_empty());
    let Some(name) = name else {
        return Response::json(400, &json!({"error": "body must be {\"name\": \"…\"}"}));
    };
    let mut state = app.state();
    let now = clock::now_micros();
    let (vendor, object, name_field, write_back): (&mut Vendor, &str, &str, &[&str]) = match vendor_name {
        "salesforce" => (&mut state.vendors.salesforce, "Opportunity", "Name", &SALESFORCE_FIELDS),
        "zoho" => (&mut state.vendors.zoho, "Deals", "Deal_Name", &ZOHO_FIELDS),
        "pipedrive" => (&mut state.vendors.pipedrive, "deals", "title", &PIPEDRIVE_FIELDS),
        _ => return Response::json(404, &json!({"error": "no such vendor: salesforce, zoho or pipedrive"})),
    };
    let count = vendor.records.iter().filter(|r| r.object == object).count() as u64;
    let Some(first) = vendor.records.iter().find(|r| r.object == object).cloned() else {
        return Response::json(409, &json!({"error": "the vendor has no seeded deal to copy"}));
    };
    let id = match vendor_name {
        "salesforce" => salesforce::id18("006", count + 1),
        "zoho" => zoho::deal_id(count + 1),
        _ => (101 + count).to_string(),
    };
    let mut fields = first.fields.clone();
    fields.insert(name_field.into(), Value::String(name));
    // A new deal shows no contract yet: the write-back fields the deals carry (seeded, or made by
    // provisioning) are empty, wherever the vendor keeps them.
    let mut ours: Vec<String> = write_back.iter().map(|key| key.to_string()).collect();
    ours.extend(
        vendor.fields.iter().filter(|field| field.label.starts_with("SpotDraft")).map(|field| field.key.clone()),
    );
    let storage = match fields.get_mut("custom_fields") {
        Some(Value::Object(custom)) => custom,
        _ => &mut fields,
    };
    for key in &ours {
        if let Some(value) = storage.get_mut(key) {
            *value = Value::Null;
        }
    }
    if let Some(Value::String(_)) = fields.get("id") {
        fields.insert("id".into(), Value::String(id.clone()));
    } else if fields.contains_key("id") {
        fields.insert("id".into(), id.parse::<u64>().map(Value::from).unwrap_or(Value::String(id.clone())));
    }
    // Salesforce keeps the deal's contacts apart, as contact roles: the copy gets the same ones.
    let roles: Vec<Record> = vendor
        .records
        .iter()
        .filter(|r| {
            r.object == "OpportunityContactRole"
                && r.fields.get("OpportunityId") == Some(&Value::String(first.id.clone()))
        })
        .cloned()
        .collect();
    let role_count = vendor.records.iter().filter(|r| r.object == "OpportunityContactRole").count() as u64;
    for (index, mut role) in roles.into_iter().enumerate() {
        role.id = salesforce::id18("00K", role_count + index as u64 + 1);
        role.fields.insert("Id".into(), Value::String(role.id.clone()));
        role.fields.insert("OpportunityId".into(), Value::String(id.clone()));
        vendor.records.push(role);
    }
    vendor.records.push(record(object, id.clone(), fields, now));
    app.persist(&state);
    Response::json(201, &json!({"id": id}))
}

/// `PATCH /__sandbox/crm/vendors/{vendor}/deals/{id}` `{"fields": {…}}`: a CRM user editing the deal
/// in the CRM's own screens (a stage move, a field filled in): the fields are set as given (for
/// Pipedrive, unknown top-level names go into `custom_fields`), the write is journaled and the
/// vendor's deal-change event is sent (`crate::crm_events`). HubSpot deals are its emulator's.
pub fn edit_deal(app: &App, request: &Request, vendor_name: &str, id: &str) -> Response {
    let fields = match serde_json::from_slice::<Value>(&request.body).ok().and_then(|body| body.get("fields").cloned())
    {
        Some(Value::Object(fields)) if !fields.is_empty() => fields,
        _ => return Response::json(400, &json!({"error": "body must be {\"fields\": {\"name\": value, …}}"})),
    };
    let mut state = app.state();
    let changed = if vendor_name == "hubspot" {
        let Some(deal) = id.parse::<u64>().ok().and_then(|id| state.crm.deals.iter_mut().find(|d| d.id == id)) else {
            return Response::json(404, &json!({"error": "no such deal"}));
        };
        let mut changed = Vec::new();
        for (name, value) in &fields {
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            if deal.properties.get(name) != Some(&text) {
                deal.properties.insert(name.clone(), text);
                changed.push(name.clone());
            }
        }
        if !changed.is_empty() {
            deal.updated_micros = clock::now_micros().max(deal.updated_micros + 1);
        }
        changed
    } else {
        let (vendor, object) = match vendor_name {
            "salesforce" => (&mut state.vendors.salesforce, "Opportunity"),
            "zoho" => (&mut state.vendors.zoho, "Deals"),
            "pipedrive" => (&mut state.vendors.pipedrive, "deals"),
            _ => return Response::json(404, &json!({"error": "vendors are hubspot, salesforce, zoho, pipedrive"})),
        };
        let Some(record) = vendor.record_mut(object, id) else {
            return Response::json(404, &json!({"error": "no such deal"}));
        };
        let mut updates = fields.clone();
        if let Some(Value::Object(custom)) = record.fields.get("custom_fields") {
            let mut merged = custom.clone();
            for (name, value) in &fields {
                if !record.fields.contains_key(name) || merged.contains_key(name) {
                    updates.remove(name);
                    merged.insert(name.clone(), value.clone());
                }
            }
            updates.insert("custom_fields".into(), Value::Object(merged));
        }
        let mut changed = apply(record, &updates);
        changed.retain(|c| c != "custom_fields");
        changed.extend(fields.keys().filter(|k| !updates.contains_key(*k)).cloned());
        changed
    };
    app.persist(&state);
    journal_write(app, request, &format!("{vendor_name}:deal"), id, &fields, changed.clone());
    drop(state);
    crate::crm_events::deal_written(app, vendor_name, id, &changed, false);
    Response::json(200, &json!({"id": id, "changed": changed}))
}

/// `PATCH /__sandbox/crm/vendors/{vendor}/users/{id}` `{"email"}`: a user's email changed in the CRM
/// (e.g. to one a SpotDraft workspace knows, for "who did it" tests).
pub fn edit_user(app: &App, request: &Request, vendor_name: &str, id: &str) -> Response {
    let Some(email) = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|b| b.get("email").and_then(Value::as_str).map(str::to_string))
        .filter(|e| e.contains('@'))
    else {
        return Response::json(400, &json!({"error": "body must be {\"email\": \"…@…\"}"}));
    };
    let mut state = app.state();
    let vendor = match vendor_name {
        "hubspot" => &mut state.vendors.hubspot,
        "salesforce" => &mut state.vendors.salesforce,
        "zoho" => &mut state.vendors.zoho,
        "pipedrive" => &mut state.vendors.pipedrive,
        _ => return Response::json(404, &json!({"error": "vendors are hubspot, salesforce, zoho, pipedrive"})),
    };
    let Some(user) = vendor.users.iter_mut().find(|u| u.id == id) else {
        return Response::json(404, &json!({"error": "no such user"}));
    };
    user.email = email;
    app.persist(&state);
    Response::empty(204)
}

/// `PUT /__sandbox/crm/token-ttl` `{"seconds": n}`: lifetime of access tokens issued from now on.
pub fn set_token_ttl(app: &App, request: &Request) -> Response {
    let seconds = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|body| body.get("seconds").and_then(Value::as_u64))
        .filter(|s| *s >= 1);
    let Some(seconds) = seconds else {
        return Response::json(400, &json!({"error": "body must be {\"seconds\": n} with n >= 1"}));
    };
    let mut state = app.state();
    state.vendors.token_ttl_secs = seconds;
    app.persist(&state);
    Response::json(200, &json!({"token_ttl_secs": seconds}))
}

/// `POST /__sandbox/crm/expire-tokens`: every access token issued so far expires now.
pub fn expire_tokens(app: &App) -> Response {
    let mut state = app.state();
    let now = clock::now_micros();
    let mut count = 0;
    for token in &mut state.vendors.tokens {
        if token.expires_micros > now {
            token.expires_micros = now;
            count += 1;
        }
    }
    app.persist(&state);
    Response::json(200, &json!({"expired": count}))
}
