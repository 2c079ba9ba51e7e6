//! Salesforce REST API (v62.0) emulator: sObject reads (`?fields=`) and updates (204) for
//! Opportunity, Account and Contact; SOQL through `/query` for the statements the core sends
//! (OpportunityContactRole by opportunity, UserRecordAccess for a user and record, Opportunity by
//! `Name LIKE` newest first, ContentDocumentLink and Task by record); the OAuth token
//! endpoint with the refresh-token and JWT bearer grants; errors as Salesforce's array
//! `[{"message", "errorCode", "fields"}]` and OAuth's `{"error", "error_description"}`.

use super::{
    apply, check_token, form_params, journal_write, own_origin, record, scheme_token, TokenCheck, Vendor, VendorUser,
};
use crate::app::App;
use crate::clock;
use crate::http::{Request, Response};
use crate::rng::SeededRng;
use base64::Engine;
use serde_json::{json, Map, Value};

pub const API: &str = "/services/data/v62.0";
pub const TEST_JWT_PUBLIC_KEY: &str = include_str!("../../keys/salesforce-jwt-test.pub.pem");
/// The org id every access token starts with.
const ORG_ID: &str = "00DHs000000SbXqMAK";

fn errors(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, &json!([{ "message": message, "errorCode": code }]))
}

fn not_found() -> Response {
    errors(404, "NOT_FOUND", "The requested resource does not exist")
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(status, &json!({ "error": error, "error_description": description }))
}

/// An 18-character id: the 15-character id plus Salesforce's case-checksum suffix.
pub fn id18(prefix: &str, number: u64) -> String {
    let base = format!("{prefix}Hs00000{number:05}");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut suffix = String::new();
    for chunk in base.as_bytes().chunks(5) {
        let mut bits = 0usize;
        for (index, byte) in chunk.iter().enumerate() {
            if byte.is_ascii_uppercase() {
                bits |= 1 << index;
            }
        }
        suffix.push(char::from(alphabet.get(bits).copied().unwrap_or(b'A')));
    }
    base + &suffix
}

/// Ids are accepted in their 15- and 18-character forms.
pub fn same_id(stored: &str, given: &str) -> bool {
    stored == given || (given.len() == 15 && stored.get(..15) == Some(given))
}

/// The `StageName` picklist (Salesforce's standard values); `stage` maps the seed's stage keys into it.
pub const STAGE_NAMES: [&str; 10] = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

pub fn stage(key: &str) -> &'static str {
    match key {
        "contractsent" => "Negotiation/Review",
        "decisionmakerboughtin" => "Id. Decision Makers",
        "appointmentscheduled" => "Qualification",
        "closedwon" => "Closed Won",
        _ => "Needs Analysis",
    }
}

pub fn seed(rng: &mut SeededRng, now: i64) -> Vendor {
    let mut records = Vec::new();
    let account_ids: Vec<String> = (1..=4).map(|n| id18("001", n)).collect();
    let contact_ids: Vec<String> = (1..=5).map(|n| id18("003", n)).collect();
    let users = vec![
        VendorUser {
            id: id18("005", 1),
            name: "Integration User".into(),
            email: "integration@acme-sf.example".into(),
            refresh_token: format!("5Aep861{}", rng.hex(24)),
        },
        VendorUser {
            id: id18("005", 2),
            name: "Sam Seller".into(),
            email: "sam.seller@acme-sf.example".into(),
            refresh_token: format!("5Aep861{}", rng.hex(24)),
        },
    ];
    for (index, (name, street, city, state, zip, country)) in super::COMPANIES.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("Name".into(), json!(name));
        fields.insert("BillingStreet".into(), json!(street));
        fields.insert("BillingCity".into(), json!(city));
        fields.insert("BillingState".into(), json!(state));
        fields.insert("BillingPostalCode".into(), json!(zip));
        fields.insert("BillingCountry".into(), json!(country));
        records.push(record("Account", account_ids[index].clone(), fields, now));
    }
    for (index, (first, last, email, company)) in super::CONTACTS.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("FirstName".into(), json!(first));
        fields.insert("LastName".into(), json!(last));
        fields.insert("Email".into(), json!(email));
        fields.insert("AccountId".into(), json!(company.map(|c| account_ids[c].clone())));
        records.push(record("Contact", contact_ids[index].clone(), fields, now));
    }
    for (index, (name, amount, currency, stage_key, close, company, contact)) in super::DEALS.iter().enumerate() {
        let id = id18("006", index as u64 + 1);
        let mut fields = Map::new();
        fields.insert("Name".into(), json!(name));
        fields.insert("Amount".into(), json!(amount));
        // A multi-currency org: every Opportunity has CurrencyIsoCode (the org default when unset).
        fields.insert("CurrencyIsoCode".into(), json!(currency.unwrap_or("USD")));
        fields.insert("StageName".into(), json!(stage(stage_key)));
        fields.insert("CloseDate".into(), json!(close));
        fields.insert("AccountId".into(), json!(company.map(|c| account_ids[c].clone())));
        fields.insert("OwnerId".into(), json!(users[0].id));
        fields.insert("IsClosed".into(), json!(*stage_key == "closedwon"));
        for name in super::SALESFORCE_FIELDS {
            fields.insert(name.into(), Value::Null);
        }
        let mut deal = record("Opportunity", id.clone(), fields, now);
        if index == super::HIDDEN_DEAL {
            deal.hidden_from.push(users[1].id.clone());
        }
        records.push(deal);
        let mut role = Map::new();
        role.insert("OpportunityId".into(), json!(id));
        role.insert("ContactId".into(), json!(contact_ids[*contact]));
        role.insert("IsPrimary".into(), json!(true));
        role.insert("Role".into(), json!("Decision Maker"));
        records.push(record("OpportunityContactRole", id18("00K", index as u64 + 1), role, now));
    }
    Vendor {
        client_id: format!("3MVG9{}", rng.hex(20)),
        client_secret: rng.hex(32).to_uppercase(),
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
    if request.path == "/services/oauth2/token" {
        return Err(token(app, request));
    }
    match check_token(app, "salesforce", scheme_token(request, "bearer")) {
        TokenCheck::User(user) => Ok(Some(user)),
        TokenCheck::Missing | TokenCheck::Invalid | TokenCheck::Expired => {
            Err(errors(401, "INVALID_SESSION_ID", "Session expired or invalid"))
        }
    }
}

fn token(app: &App, request: &Request) -> Response {
    if request.method != "POST" {
        return oauth_error(400, "invalid_request", "must use HTTP POST");
    }
    let params = form_params(request);
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let mut state = app.state();
    let vendor = &state.vendors.salesforce;
    let user_id = match param("grant_type") {
        "refresh_token" => {
            if param("client_id") != vendor.client_id {
                return oauth_error(400, "invalid_client_id", "client identifier invalid");
            }
            if param("client_secret") != vendor.client_secret {
                return oauth_error(400, "invalid_client", "invalid client credentials");
            }
            match vendor
                .users
                .iter()
                .find(|u| !param("refresh_token").is_empty() && u.refresh_token == param("refresh_token"))
            {
                Some(user) => user.id.clone(),
                None => return oauth_error(400, "invalid_grant", "expired access/refresh token"),
            }
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            match check_assertion(
                &state.vendors.salesforce_jwt_public_key,
                vendor,
                param("assertion"),
                &own_origin(request),
            ) {
                Ok(user) => user,
                Err((error, description)) => return oauth_error(400, error, description),
            }
        }
        _ => return oauth_error(400, "unsupported_grant_type", "grant type not supported"),
    };
    let (access, _) = state.vendors.issue("salesforce", &user_id, |digest| format!("{ORG_ID}!AQ{}", &digest[..48]));
    app.persist(&state);
    let origin = own_origin(request);
    let issued = (clock::now_micros() / 1000).to_string();
    // Salesforce's refresh and JWT answers name no lifetime: the session policy decides it.
    Response::json(
        200,
        &json!({
            "access_token": access,
            "signature": base64::engine::general_purpose::STANDARD.encode(&issued),
            "scope": "api refresh_token",
            "instance_url": origin,
            "id": format!("{origin}/id/{ORG_ID}/{user_id}"),
            "token_type": "Bearer",
            "issued_at": issued,
        }),
    )
}

/// Checks an RS256 JWT bearer assertion: signature against the configured public key, `iss` = the
/// connected app's client id, `sub` = a user's username (email here), `aud` = a login host or this
/// emulator's origin, `exp` in the future.
fn check_assertion(
    public_key_pem: &str,
    vendor: &Vendor,
    assertion: &str,
    origin: &str,
) -> Result<String, (&'static str, &'static str)> {
    let invalid = ("invalid_grant", "invalid assertion");
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid);
    };
    let decode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok();
    let header: Value = decode(header).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(invalid)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(("invalid_grant", "invalid assertion algorithm"));
    }
    let key = public_key_der(public_key_pem).ok_or(("invalid_grant", "no public key configured"))?;
    let signed = assertion.rsplit_once('.').map(|(signed, _)| signed).unwrap_or_default();
    let signature = decode(signature).ok_or(invalid)?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| ("invalid_grant", "invalid signature on assertion"))?;
    let claims: Value = decode(claims).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(invalid)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    if text("iss") != vendor.client_id {
        return Err(("invalid_client_id", "client identifier invalid"));
    }
    let audiences = ["https://login.salesforce.com", "https://test.salesforce.com", origin];
    if !audiences.contains(&text("aud")) {
        return Err(("invalid_grant", "audience is invalid"));
    }
    let now = clock::now_micros() / 1_000_000;
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => {}
        _ => return Err(("invalid_grant", "expired authorization code")),
    }
    vendor
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(text("sub")))
        .map(|u| u.id.clone())
        .ok_or(("invalid_grant", "user hasn't approved this consumer"))
}

/// The PKCS#1 `RSAPublicKey` inside a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block.
fn public_key_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
    // SEQUENCE { SEQUENCE { algorithm }, BIT STRING { 0x00, RSAPublicKey } }
    let (outer, _) = der_item(&der, 0x30)?;
    let (_, after_algorithm) = der_item(outer, 0x30)?;
    let (bits, _) = der_item(after_algorithm, 0x03)?;
    bits.strip_prefix(&[0u8]).map(<[u8]>::to_vec)
}

/// The contents of the DER item of `tag` at the start of `data`, and what follows it.
fn der_item(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *data.first()? != tag {
        return None;
    }
    let first = *data.get(1)?;
    let (length, start) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        let bytes = data.get(2..2 + count)?;
        (bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), 2 + count)
    };
    let content = data.get(start..start + length)?;
    Some((content, data.get(start + length..).unwrap_or_default()))
}

/// `GET …/sobjects/User/{id}`: one user of the org (Id, Name, Email, IsActive).
fn user_record(app: &App, id: &str) -> Response {
    let state = app.state();
    match state.vendors.salesforce.users.iter().find(|u| u.id == id) {
        Some(found) => Response::json(
            200,
            &json!({"attributes": {"type": "User", "url": format!("{API}/sobjects/User/{id}")}, "Id": found.id, "Name": found.name, "Email": found.email, "IsActive": true}),
        ),
        None => errors(404, "NOT_FOUND", "The requested resource does not exist"),
    }
}

pub fn handle(app: &App, user: Option<&str>, request: &Request) -> Response {
    let user = user.unwrap_or_default();
    let Some(rest) = request.path.strip_prefix(API) else {
        return errors(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').skip(1).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["sobjects", "ContentVersion"]) => {
            super::record_activity::salesforce_content_version(app, user, request)
        }
        ("POST", ["sobjects", "Task"]) => super::record_activity::salesforce_task(app, user, request),
        ("GET", ["sobjects", "User", id]) => user_record(app, id),
        ("GET", ["sobjects", object, "describe"]) => {
            match super::schema::salesforce_describe(&app.state().vendors.salesforce, object) {
                Some(described) => Response::json(200, &described),
                None => {
                    errors(404, "NOT_FOUND", &format!("The requested resource does not exist: sObject type '{object}'"))
                }
            }
        }
        ("GET", ["sobjects", object, id]) => get(app, user, request, object, id),
        ("PATCH", ["sobjects", object, id]) => patch(app, user, request, object, id),
        ("GET", ["query"]) => query(app, user, request),
        (_, ["sobjects", _, _]) => errors(
            405,
            "METHOD_NOT_ALLOWED",
            &format!("HTTP Method '{}' not allowed. Allowed are GET,PATCH,HEAD,DELETE", request.method),
        ),
        _ => not_found(),
    }
}

const OBJECTS: [&str; 3] = ["Opportunity", "Account", "Contact"];

/// The record `user` may see, or the answer that says why not.
fn visible<'v>(vendor: &'v Vendor, user: &str, object: &str, id: &str) -> Result<&'v super::Record, Response> {
    if !OBJECTS.contains(&object) {
        return Err(not_found());
    }
    vendor
        .records
        .iter()
        .find(|r| r.object == object && same_id(&r.id, id) && !r.hidden_from.iter().any(|h| h == user))
        .ok_or_else(not_found)
}

fn record_json(record: &super::Record, wanted: Option<&[String]>) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": record.object, "url": format!("{API}/sobjects/{}/{}", record.object, record.id)}),
    );
    out.insert("Id".into(), json!(record.id));
    for (name, value) in &record.fields {
        if wanted.is_none_or(|w| w.iter().any(|n| n == name)) {
            out.insert(name.clone(), value.clone());
        }
    }
    if wanted.is_none() {
        out.insert("CreatedDate".into(), json!(sf_time(record.created_micros)));
        out.insert("LastModifiedDate".into(), json!(sf_time(record.updated_micros)));
    }
    Value::Object(out)
}

/// Salesforce datetimes: `2026-11-27T10:00:00.000+0000`.
fn sf_time(micros: i64) -> String {
    let text = clock::format_rfc3339(micros);
    format!("{}.000+0000", text.get(..19).unwrap_or(&text))
}

fn get(app: &App, user: &str, request: &Request, object: &str, id: &str) -> Response {
    let state = app.state();
    let record = match visible(&state.vendors.salesforce, user, object, id) {
        Ok(record) => record,
        Err(response) => return response,
    };
    let wanted: Option<Vec<String>> = request
        .query("fields")
        .map(|list| list.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect());
    if let Some(wanted) = &wanted {
        if let Some(unknown) = wanted.iter().find(|f| *f != "Id" && !record.fields.contains_key(f.as_str())) {
            return errors(400, "INVALID_FIELD", &format!("No such column '{unknown}' on entity '{object}'."));
        }
    }
    Response::json(200, &record_json(record, wanted.as_deref()))
}

fn patch(app: &App, user: &str, request: &Request, object: &str, id: &str) -> Response {
    let body = match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(body)) => body,
        Ok(_) => {
            return errors(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value")
        }
        Err(error) => return errors(400, "JSON_PARSER_ERROR", &format!("Unexpected character: {error}")),
    };
    let mut state = app.state();
    let record_id = match visible(&state.vendors.salesforce, user, object, id) {
        Ok(record) => record.id.clone(),
        Err(response) => return response,
    };
    let Some(record) = state.vendors.salesforce.record_mut(object, &record_id) else { return not_found() };
    for (name, value) in &body {
        if !record.fields.contains_key(name) {
            return errors(400, "INVALID_FIELD", &format!("No such column '{name}' on sobject of type {object}"));
        }
        let bad_type = match name.as_str() {
            "Amount" => !(value.is_number() || value.is_null()),
            "CloseDate" => !value.is_null() && value.as_str().and_then(clock::parse_date).is_none(),
            _ => !(value.is_string() || value.is_null() || value.is_number() || value.is_boolean()),
        };
        if bad_type {
            return Response::json(
                400,
                &json!([{"message": format!("{name}: value not of required type: {value}"), "errorCode": "INVALID_TYPE_ON_FIELD_IN_RECORD", "fields": [name]}]),
            );
        }
    }
    let changed = apply(record, &body);
    app.persist(&state);
    // Journaled before the record is released: whoever sees the write can find it in the journal.
    journal_write(app, request, &format!("salesforce:{object}"), &record_id, &body, changed);
    drop(state);
    Response::empty(204)
}

/// `SELECT a, b FROM Object WHERE F = 'v' [AND G LIKE 'w%' …] [ORDER BY F [ASC|DESC]] [LIMIT n]`,
/// exactly (keywords in any case); quoted literals take SOQL's escapes (`\'`, `\"`, `\\`, `\n`, `\r`,
/// `\t`, `\b`, `\f`, `\uXXXX`, and in LIKE `\%` and `\_`).
struct Soql {
    fields: Vec<String>,
    object: String,
    conditions: Vec<(String, String)>,
    /// `F LIKE '…'` conditions: the field and its pattern.
    likes: Vec<(String, Vec<Pattern>)>,
    /// `ORDER BY F [DESC]`: the field, and whether descending.
    order_by: Option<(String, bool)>,
    limit: Option<usize>,
}

/// One element of a quoted literal: a character, or LIKE's unescaped `%` (any run) or `_` (any one).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Pattern {
    Char(char),
    AnyRun,
    AnyOne,
}

/// What is left of a statement being read.
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        self.0 = self.0.trim_start();
    }

    /// A field name (letters, digits, `_`, `.`).
    fn name(&mut self) -> Option<String> {
        self.skip_space();
        let end = self.0.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(self.0.len());
        let (name, rest) = (self.0.get(..end)?, self.0.get(end..)?);
        self.0 = rest;
        (!name.is_empty()).then(|| name.to_string())
    }

    /// The keyword, in any case, as a whole word.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_space();
        let Some(head) = self.0.get(..word.len()) else { return false };
        let after = self.0.get(word.len()..).unwrap_or_default();
        if head.eq_ignore_ascii_case(word)
            && after.chars().next().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        {
            self.0 = after;
            true
        } else {
            false
        }
    }

    fn symbol(&mut self, symbol: char) -> bool {
        self.skip_space();
        match self.0.strip_prefix(symbol) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    /// A quoted literal; `None` when it is unterminated or holds an escape SOQL does not define.
    fn literal(&mut self) -> Option<Vec<Pattern>> {
        if !self.symbol('\'') {
            return None;
        }
        let mut out = Vec::new();
        let mut chars = self.0.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\'' => {
                    self.0 = self.0.get(at + 1..)?;
                    return Some(out);
                }
                '%' => out.push(Pattern::AnyRun),
                '_' => out.push(Pattern::AnyOne),
                '\\' => {
                    let escaped = match chars.next()?.1 {
                        'n' | 'N' => '\n',
                        'r' | 'R' => '\r',
                        't' | 'T' => '\t',
                        'b' | 'B' => '\u{8}',
                        'f' | 'F' => '\u{c}',
                        'u' => {
                            let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                            if hex.len() != 4 {
                                return None;
                            }
                            char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                        }
                        c @ ('\'' | '"' | '\\' | '%' | '_') => c,
                        _ => return None,
                    };
                    out.push(Pattern::Char(escaped));
                }
                c => out.push(Pattern::Char(c)),
            }
        }
        None
    }
}

/// The literal as plain text (LIKE's wildcards as themselves).
fn literal_text(pattern: &[Pattern]) -> String {
    pattern
        .iter()
        .map(|p| match p {
            Pattern::Char(c) => *c,
            Pattern::AnyRun => '%',
            Pattern::AnyOne => '_',
        })
        .collect()
}

/// Whether `text` matches a LIKE pattern, case-insensitively as SOQL's LIKE does.
fn like_matches(pattern: &[Pattern], text: &str) -> bool {
    let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let pattern: Vec<Pattern> = pattern
        .iter()
        .flat_map(|p| match p {
            Pattern::Char(c) => c.to_lowercase().map(Pattern::Char).collect::<Vec<_>>(),
            other => vec![*other],
        })
        .collect();
    // matched[j]: whether the pattern so far matches the first j characters.
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for p in &pattern {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match p {
                Pattern::AnyRun => matched[j] || (j > 0 && next[j - 1]),
                Pattern::AnyOne => j > 0 && matched[j - 1],
                Pattern::Char(c) => j > 0 && matched[j - 1] && text[j - 1] == *c,
            };
        }
        matched = next;
    }
    matched[text.len()]
}

fn parse_soql(text: &str) -> Option<Soql> {
    let text = text.trim();
    let upper = text.to_ascii_uppercase();
    let rest = upper.strip_prefix("SELECT ").map(|_| text.get(7..).unwrap_or_default())?;
    let from = rest.to_ascii_uppercase().find(" FROM ")?;
    let fields: Vec<String> = rest.get(..from)?.split(',').map(|f| f.trim().to_string()).collect();
    if fields.iter().any(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')) {
        return None;
    }
    let after = rest.get(from + 6..)?.trim();
    let where_at = after.to_ascii_uppercase().find(" WHERE ")?;
    let object = after.get(..where_at)?.trim().to_string();
    let mut cursor = Cursor(after.get(where_at + 7..)?);
    let mut soql = Soql { fields, object, conditions: Vec::new(), likes: Vec::new(), order_by: None, limit: None };
    loop {
        let field = cursor.name()?;
        if cursor.symbol('=') {
            let value = cursor.literal()?;
            soql.conditions.push((field, literal_text(&value)));
        } else if cursor.keyword("LIKE") {
            soql.likes.push((field, cursor.literal()?));
        } else {
            return None;
        }
        if !cursor.keyword("AND") {
            break;
        }
    }
    if cursor.keyword("ORDER") {
        if !cursor.keyword("BY") {
            return None;
        }
        let field = cursor.name()?;
        let descending = if cursor.keyword("DESC") {
            true
        } else {
            cursor.keyword("ASC");
            false
        };
        soql.order_by = Some((field, descending));
    }
    if cursor.keyword("LIMIT") {
        cursor.skip_space();
        let end = cursor.0.find(|c: char| !c.is_ascii_digit()).unwrap_or(cursor.0.len());
        soql.limit = Some(cursor.0.get(..end)?.parse().ok()?);
        cursor.0 = cursor.0.get(end..)?;
    }
    cursor.skip_space();
    cursor.0.is_empty().then_some(soql)
}

/// `SELECT … FROM Opportunity WHERE Name LIKE '…' [AND F = '…'] [ORDER BY F [ASC|DESC]] [LIMIT n]`:
/// the opportunities `user` may see that match, as rows of the selected fields.
fn opportunity_rows(vendor: &Vendor, user: &str, soql: &Soql) -> Result<Vec<Value>, Response> {
    let opportunities: Vec<&super::Record> = vendor
        .records
        .iter()
        .filter(|r| r.object == "Opportunity" && !r.hidden_from.iter().any(|h| h == user))
        .collect();
    let known = |field: &str| {
        ["Id", "CreatedDate", "LastModifiedDate"].contains(&field)
            || opportunities.iter().any(|r| r.fields.contains_key(field))
    };
    let order_field = soql.order_by.as_ref().map(|(field, _)| field.as_str());
    let named = soql
        .fields
        .iter()
        .map(String::as_str)
        .chain(soql.conditions.iter().map(|(f, _)| f.as_str()))
        .chain(soql.likes.iter().map(|(f, _)| f.as_str()))
        .chain(order_field);
    if let Some(bad) = named.into_iter().find(|f| !known(f)) {
        return Err(errors(400, "INVALID_FIELD", &format!("No such column '{bad}' on entity 'Opportunity'.")));
    }
    let value = |r: &super::Record, field: &str| match field {
        "Id" => json!(r.id),
        "CreatedDate" => json!(sf_time(r.created_micros)),
        "LastModifiedDate" => json!(sf_time(r.updated_micros)),
        other => r.fields.get(other).cloned().unwrap_or(Value::Null),
    };
    let text_of = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut rows: Vec<&super::Record> = opportunities
        .into_iter()
        .filter(|r| {
            soql.conditions.iter().all(|(field, wanted)| match (field.as_str(), text_of(&value(r, field))) {
                ("Id", _) => same_id(&r.id, wanted),
                (_, Some(actual)) => actual.eq_ignore_ascii_case(wanted),
                _ => false,
            })
        })
        .filter(|r| {
            soql.likes
                .iter()
                .all(|(field, pattern)| text_of(&value(r, field)).is_some_and(|t| like_matches(pattern, &t)))
        })
        .collect();
    if let Some((field, descending)) = &soql.order_by {
        // Stable: records that compare equal keep their order. Nulls sort first ascending, as SOQL's default.
        rows.sort_by(|a, b| {
            let order = match field.as_str() {
                "CreatedDate" => a.created_micros.cmp(&b.created_micros),
                "LastModifiedDate" => a.updated_micros.cmp(&b.updated_micros),
                _ => match (value(a, field), value(b, field)) {
                    (Value::Number(x), Value::Number(y)) => {
                        x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal)
                    }
                    (x, y) => text_of(&x).map(|t| t.to_lowercase()).cmp(&text_of(&y).map(|t| t.to_lowercase())),
                },
            };
            if *descending {
                order.reverse()
            } else {
                order
            }
        });
    }
    Ok(rows
        .into_iter()
        .take(soql.limit.unwrap_or(usize::MAX))
        .map(|r| {
            let mut row = Map::new();
            row.insert(
                "attributes".into(),
                json!({"type": "Opportunity", "url": format!("{API}/sobjects/Opportunity/{}", r.id)}),
            );
            for field in &soql.fields {
                row.insert(field.clone(), value(r, field));
            }
            Value::Object(row)
        })
        .collect())
}

fn query(app: &App, user: &str, request: &Request) -> Response {
    let Some(text) = request.query("q") else {
        return errors(400, "MALFORMED_QUERY", "A query string has to be specified");
    };
    let Some(soql) = parse_soql(&text) else {
        return errors(400, "MALFORMED_QUERY", &format!("unexpected token in: {text}"));
    };
    let state = app.state();
    let vendor = &state.vendors.salesforce;
    let condition = |name: &str| soql.conditions.iter().find(|(f, _)| f == name).map(|(_, v)| v.as_str());
    let plain = soql.likes.is_empty() && soql.order_by.is_none() && soql.limit.is_none();
    if !plain && soql.object != "Opportunity" {
        return errors(400, "MALFORMED_QUERY", "the sandbox reads LIKE, ORDER BY and LIMIT on Opportunity only");
    }
    let records: Vec<Value> = match soql.object.as_str() {
        "Opportunity" => match opportunity_rows(vendor, user, &soql) {
            Ok(rows) => rows,
            Err(response) => return response,
        },
        "OpportunityContactRole" => {
            let allowed = ["Id", "OpportunityId", "ContactId", "IsPrimary", "Role"];
            if let Some(bad) = soql
                .fields
                .iter()
                .chain(soql.conditions.iter().map(|(f, _)| f))
                .find(|f| !allowed.contains(&f.as_str()))
            {
                return errors(
                    400,
                    "INVALID_FIELD",
                    &format!("No such column '{bad}' on entity 'OpportunityContactRole'."),
                );
            }
            vendor
                .records
                .iter()
                .filter(|r| r.object == "OpportunityContactRole")
                .filter(|r| {
                    soql.conditions.iter().all(|(field, value)| match r.fields.get(field) {
                        Some(Value::String(actual)) => same_id(actual, value) || actual == value,
                        _ => false,
                    })
                })
                .filter(|r| {
                    // Roles of opportunities the user cannot see are not visible either.
                    let opportunity = r.fields.get("OpportunityId").and_then(Value::as_str).unwrap_or_default();
                    vendor.record("Opportunity", opportunity).is_some_and(|o| !o.hidden_from.iter().any(|h| h == user))
                })
                .map(|r| {
                    let mut row = Map::new();
                    row.insert("attributes".into(), json!({"type": "OpportunityContactRole", "url": format!("{API}/sobjects/OpportunityContactRole/{}", r.id)}));
                    for field in &soql.fields {
                        let value = if field == "Id" { json!(r.id) } else { r.fields.get(field).cloned().unwrap_or(Value::Null) };
                        row.insert(field.clone(), value);
                    }
                    Value::Object(row)
                })
                .collect()
        }
        "UserRecordAccess" => {
            let (Some(user_id), Some(record_id)) = (condition("UserId"), condition("RecordId")) else {
                return errors(400, "MALFORMED_QUERY", "UserRecordAccess needs UserId = '…' AND RecordId = '…'");
            };
            let Some(target) = vendor.records.iter().find(|r| same_id(&r.id, record_id)) else {
                return Response::json(200, &json!({"totalSize": 0, "done": true, "records": []}));
            };
            if vendor.users.iter().all(|u| !same_id(&u.id, user_id)) {
                return errors(400, "INVALID_QUERY_FILTER_OPERATOR", &format!("invalid ID field: {user_id}"));
            }
            let can_read = !target.hidden_from.iter().any(|h| same_id(h, user_id));
            let mut row = Map::new();
            row.insert("attributes".into(), json!({"type": "UserRecordAccess"}));
            for field in &soql.fields {
                let value = match field.as_str() {
                    "RecordId" => json!(target.id),
                    "HasReadAccess" => json!(can_read),
                    "HasEditAccess" => json!(can_read),
                    other => {
                        return errors(
                            400,
                            "INVALID_FIELD",
                            &format!("No such column '{other}' on entity 'UserRecordAccess'."),
                        )
                    }
                };
                row.insert(field.clone(), value);
            }
            vec![Value::Object(row)]
        }
        "ContentDocumentLink" | "Task" => {
            match super::record_activity::salesforce_rows(vendor, user, &soql.object, &soql.fields, &soql.conditions) {
                Ok(rows) => rows,
                Err(response) => return response,
            }
        }
        other => return errors(400, "INVALID_TYPE", &format!("sObject type '{other}' is not supported.")),
    };
    Response::json(200, &json!({"totalSize": records.len(), "done": true, "records": records}))
}
