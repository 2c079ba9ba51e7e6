//! A CRM emulator in HubSpot's CRM v3 shape: deals (get, list, create, patch, search),
//! companies, contacts and deal associations (v3 and v4 forms), bearer-token auth and
//! HubSpot's error body `{"status":"error","message","correlationId","category"}`.

use crate::app::{lock, App};
use crate::clock;
use crate::http::{Request, Response};
use crate::journal::CrmWriteEntry;
use crate::state::{CrmObject, CrmState};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

static CORRELATION: AtomicU64 = AtomicU64::new(1);

#[derive(Clone, Copy, PartialEq)]
enum ObjectType {
    Deals,
    Companies,
    Contacts,
}

impl ObjectType {
    fn parse(segment: &str) -> Option<Self> {
        match segment {
            "deals" | "deal" | "0-3" => Some(Self::Deals),
            "companies" | "company" | "0-2" => Some(Self::Companies),
            "contacts" | "contact" | "0-1" => Some(Self::Contacts),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Deals => "deals",
            Self::Companies => "companies",
            Self::Contacts => "contacts",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Self::Deals => "deal",
            Self::Companies => "company",
            Self::Contacts => "contact",
        }
    }

    /// The properties a search's `query` is matched against (HubSpot's default searchable properties).
    fn searchable_properties(self) -> &'static [&'static str] {
        match self {
            Self::Deals => &["dealname", "pipeline", "dealstage", "description", "dealtype"],
            Self::Companies => &["website", "phone", "name", "domain"],
            Self::Contacts => {
                &["firstname", "lastname", "email", "phone", "hs_additional_emails", "fax", "mobilephone", "company"]
            }
        }
    }

    fn default_properties(self) -> &'static [&'static str] {
        match self {
            Self::Deals => &[
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ],
            Self::Companies => &["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
            Self::Contacts => &["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
        }
    }
}

/// HubSpot's error body. Categories used: INVALID_AUTHENTICATION, OBJECT_NOT_FOUND,
/// VALIDATION_ERROR, RATE_LIMITS, INTERNAL_ERROR.
pub fn error(status: u16, category: &str, message: &str) -> Response {
    let sequence = CORRELATION.fetch_add(1, Ordering::Relaxed);
    let correlation = format!("5a1d0c2e-0000-4000-8000-{sequence:012x}");
    Response::json(
        status,
        &json!({ "status": "error", "message": message, "correlationId": correlation, "category": category }),
    )
}

fn not_found() -> Response {
    error(404, "OBJECT_NOT_FOUND", "resource not found")
}

/// HubSpot timestamps carry milliseconds.
fn hubspot_time(micros: i64) -> String {
    let full = clock::format_rfc3339(micros);
    match full.get(..23) {
        Some(prefix) => format!("{prefix}Z"),
        None => full,
    }
}

fn collection(state: &CrmState, kind: ObjectType) -> &Vec<CrmObject> {
    match kind {
        ObjectType::Deals => &state.deals,
        ObjectType::Companies => &state.companies,
        ObjectType::Contacts => &state.contacts,
    }
}

fn collection_mut(state: &mut CrmState, kind: ObjectType) -> &mut Vec<CrmObject> {
    match kind {
        ObjectType::Deals => &mut state.deals,
        ObjectType::Companies => &mut state.companies,
        ObjectType::Contacts => &mut state.contacts,
    }
}

fn property_value(object: &CrmObject, name: &str) -> Option<String> {
    match name {
        "hs_object_id" => Some(object.id.to_string()),
        "createdate" => Some(hubspot_time(object.created_micros)),
        "hs_lastmodifieddate" | "lastmodifieddate" => Some(hubspot_time(object.updated_micros)),
        _ => object.properties.get(name).filter(|value| !value.is_empty()).cloned(),
    }
}

fn object_json(object: &CrmObject, kind: ObjectType, wanted: &[String], associations: &[ObjectType]) -> Value {
    let mut properties = Map::new();
    let names: Vec<String> = if wanted.is_empty() {
        kind.default_properties().iter().map(|name| name.to_string()).collect()
    } else {
        let mut names = wanted.to_vec();
        for always in ["createdate", "hs_lastmodifieddate", "hs_object_id"] {
            if !names.iter().any(|name| name == always) {
                names.push(always.to_string());
            }
        }
        names
    };
    for name in names {
        properties.insert(name.clone(), property_value(object, &name).map_or(Value::Null, Value::String));
    }
    let mut body = json!({
        "id": object.id.to_string(),
        "properties": properties,
        "createdAt": hubspot_time(object.created_micros),
        "updatedAt": hubspot_time(object.updated_micros),
        "archived": false,
    });
    if !associations.is_empty() {
        let mut map = Map::new();
        for target in associations {
            let results = v3_associations(object, kind, *target);
            if !results.is_empty() {
                map.insert(target.name().into(), json!({ "results": results }));
            }
        }
        body["associations"] = Value::Object(map);
    }
    body
}

fn associated_ids(object: &CrmObject, kind: ObjectType, target: ObjectType) -> Vec<u64> {
    match (kind, target) {
        (ObjectType::Deals | ObjectType::Contacts, ObjectType::Companies) => object.company_ids.clone(),
        (ObjectType::Deals | ObjectType::Companies, ObjectType::Contacts) => object.contact_ids.clone(),
        _ => Vec::new(),
    }
}

fn v3_associations(object: &CrmObject, kind: ObjectType, target: ObjectType) -> Vec<Value> {
    associated_ids(object, kind, target)
        .into_iter()
        .map(|id| json!({ "id": id.to_string(), "type": format!("{}_to_{}", kind.singular(), target.singular()) }))
        .collect()
}

/// HubSpot-defined association type ids for the deal associations the sandbox models.
fn v4_types(kind: ObjectType, target: ObjectType, first: bool) -> Vec<Value> {
    match (kind, target) {
        (ObjectType::Deals, ObjectType::Companies) if first => vec![
            json!({ "category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary" }),
            json!({ "category": "HUBSPOT_DEFINED", "typeId": 341, "label": null }),
        ],
        (ObjectType::Deals, ObjectType::Companies) => {
            vec![json!({ "category": "HUBSPOT_DEFINED", "typeId": 341, "label": null })]
        }
        (ObjectType::Deals, ObjectType::Contacts) => {
            vec![json!({ "category": "HUBSPOT_DEFINED", "typeId": 3, "label": null })]
        }
        (ObjectType::Contacts, ObjectType::Companies) => {
            vec![json!({ "category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary" })]
        }
        (ObjectType::Companies, ObjectType::Contacts) => {
            vec![json!({ "category": "HUBSPOT_DEFINED", "typeId": 2, "label": "Primary" })]
        }
        _ => Vec::new(),
    }
}

fn list_parameter(request: &Request, name: &str) -> Vec<String> {
    request
        .query_pairs()
        .into_iter()
        .filter(|(key, _)| key == name)
        .flat_map(|(_, value)| value.split(',').map(|part| part.trim().to_string()).collect::<Vec<_>>())
        .filter(|value| !value.is_empty())
        .collect()
}

pub fn authenticate(app: &App, request: &Request) -> Result<(), Response> {
    let token = request.header("authorization").and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    let Some(token) = token else {
        return Err(error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        ));
    };
    // A private app's token, or an access token HubSpot's OAuth endpoint issued (it expires).
    if token == app.state().crm.bearer_token {
        return Ok(());
    }
    match crate::vendors::check_token(app, "hubspot", Some(&token)) {
        crate::vendors::TokenCheck::User(_) => Ok(()),
        crate::vendors::TokenCheck::Expired => Err(error(
            401,
            "EXPIRED_AUTHENTICATION",
            "The OAuth token used to make this call expired. Refresh it and try again.",
        )),
        _ => Err(error(401, "INVALID_AUTHENTICATION", "The access token provided is invalid or has expired.")),
    }
}

pub fn handle(app: &App, request: &Request) -> Response {
    let path = request.path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let method = request.method.as_str();
    match segments.as_slice() {
        ["files", "v3", "files"] if method == "POST" => crate::vendors::record_activity::hubspot_upload(app, request),
        ["crm", "v3", "objects", "notes"] if method == "POST" => {
            crate::vendors::record_activity::hubspot_create_note(app, request)
        }
        ["crm", "v3", "objects", "notes", "batch", "read"] if method == "POST" => {
            crate::vendors::record_activity::hubspot_batch_read_notes(app, request)
        }
        ["crm", "v4", "objects", "deals" | "deal" | "0-3", id, "associations", "notes"] if method == "GET" => {
            crate::vendors::record_activity::hubspot_deal_notes(app, request, id)
        }
        ["crm", "v3", "objects", kind, "search"] if method == "POST" => {
            with_kind(kind, |kind| search(app, request, kind))
        }
        ["crm", "v3", "objects", kind] if method == "POST" => with_kind(kind, |kind| create(app, request, kind)),
        ["crm", "v3", "objects", kind] if method == "GET" => with_kind(kind, |kind| list(app, request, kind)),
        ["crm", "v3", "objects", kind, id] if method == "GET" => with_kind(kind, |kind| get(app, request, kind, id)),
        ["crm", "v3", "objects", kind, id] if method == "PATCH" => {
            with_kind(kind, |kind| patch(app, request, kind, id))
        }
        ["crm", "v3", "properties", kind] => crate::crm_properties::handle(app, request, kind, false),
        ["crm", "v3", "pipelines", kind] => crate::vendors::schema::hubspot_pipelines(request, kind),
        ["crm", "v3", "properties", kind, "groups"] => crate::crm_properties::handle(app, request, kind, true),
        ["crm", version @ ("v3" | "v4"), "objects", kind, id, "associations", target] if method == "GET" => {
            with_kind(kind, |kind| match ObjectType::parse(target) {
                Some(target) => associations(app, kind, id, target, *version == "v4"),
                None => error(400, "VALIDATION_ERROR", &format!("Unknown object type: {target}")),
            })
        }
        ["crm", ..] => error(405, "VALIDATION_ERROR", &format!("{method} is not supported on {path}")),
        _ => not_found(),
    }
}

fn with_kind(segment: &str, run: impl FnOnce(ObjectType) -> Response) -> Response {
    match ObjectType::parse(segment) {
        Some(kind) => run(kind),
        None => error(400, "VALIDATION_ERROR", &format!("Unable to infer object type from: {segment}")),
    }
}

fn parse_id(raw: &str) -> Option<u64> {
    raw.parse().ok()
}

fn get(app: &App, request: &Request, kind: ObjectType, raw_id: &str) -> Response {
    let wanted = list_parameter(request, "properties");
    let associations: Vec<ObjectType> =
        list_parameter(request, "associations").iter().filter_map(|name| ObjectType::parse(name)).collect();
    let state = app.state();
    match parse_id(raw_id).and_then(|id| collection(&state.crm, kind).iter().find(|object| object.id == id)) {
        Some(object) => Response::json(200, &object_json(object, kind, &wanted, &associations)),
        None => not_found(),
    }
}

fn list(app: &App, request: &Request, kind: ObjectType) -> Response {
    let wanted = list_parameter(request, "properties");
    let limit = request.query("limit").and_then(|text| text.parse::<usize>().ok()).unwrap_or(10).clamp(1, 100);
    let after = request.query("after").and_then(|text| text.parse::<usize>().ok()).unwrap_or(0);
    let state = app.state();
    let objects = collection(&state.crm, kind);
    let results: Vec<Value> =
        objects.iter().skip(after).take(limit).map(|object| object_json(object, kind, &wanted, &[])).collect();
    let mut body = json!({ "results": results });
    if after + limit < objects.len() {
        body["paging"] = json!({ "next": { "after": (after + limit).to_string() } });
    }
    Response::json(200, &body)
}

fn associations(app: &App, kind: ObjectType, raw_id: &str, target: ObjectType, v4: bool) -> Response {
    let state = app.state();
    let Some(object) =
        parse_id(raw_id).and_then(|id| collection(&state.crm, kind).iter().find(|object| object.id == id))
    else {
        return not_found();
    };
    let results: Vec<Value> = if v4 {
        associated_ids(object, kind, target)
            .into_iter()
            .enumerate()
            .map(|(index, id)| json!({ "toObjectId": id, "associationTypes": v4_types(kind, target, index == 0) }))
            .collect()
    } else {
        v3_associations(object, kind, target)
    };
    Response::json(200, &json!({ "results": results }))
}

fn parse_body(request: &Request) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(error(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")),
        Err(problem) => Err(error(
            400,
            "VALIDATION_ERROR",
            &format!("Invalid input JSON on line {}, column {}: {problem}", problem.line(), problem.column()),
        )),
    }
}

/// HubSpot stores every property value as a string; numbers and booleans are converted.
fn property_updates(body: &Map<String, Value>, known: Option<&[String]>) -> Result<BTreeMap<String, String>, Response> {
    let Some(properties) = body.get("properties").and_then(Value::as_object) else {
        return Err(error(400, "VALIDATION_ERROR", "Invalid input JSON: 'properties' must be an object"));
    };
    let mut updates = BTreeMap::new();
    let mut invalid = Vec::new();
    for (name, value) in properties {
        if known.is_some_and(|known| !known.iter().any(|known_name| known_name == name)) {
            invalid.push(json!({ "isValid": false, "message": format!("Property \"{name}\" does not exist"), "error": "PROPERTY_DOESNT_EXIST", "name": name }));
            continue;
        }
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => String::new(),
            _ => {
                invalid.push(json!({ "isValid": false, "message": format!("{value} is not a valid value for {name}"), "error": "INVALID_OPTION", "name": name }));
                continue;
            }
        };
        if name == "closedate"
            && !text.is_empty()
            && clock::parse_datetime(&text).is_none()
            && text.parse::<i64>().is_err()
        {
            invalid.push(json!({ "isValid": false, "message": format!("{text} was not a valid long or date"), "error": "INVALID_DATE", "name": name }));
            continue;
        }
        if name == "amount" && !text.is_empty() && text.parse::<f64>().is_err() {
            invalid.push(json!({ "isValid": false, "message": format!("{text} was not a valid number"), "error": "INVALID_FLOAT", "name": name }));
            continue;
        }
        updates.insert(name.clone(), text);
    }
    if !invalid.is_empty() {
        return Err(error(
            400,
            "VALIDATION_ERROR",
            &format!("Property values were not valid: {}", Value::Array(invalid)),
        ));
    }
    Ok(updates)
}

fn known_properties(state: &CrmState, kind: ObjectType) -> Option<Vec<String>> {
    (kind == ObjectType::Deals).then(|| state.deal_properties.clone())
}

fn record_write(
    app: &App,
    request: &Request,
    kind: ObjectType,
    id: u64,
    properties: BTreeMap<String, String>,
    changed: Vec<String>,
) {
    if kind == ObjectType::Deals {
        let created = request.method == "POST";
        crate::crm_events::deal_written(app, "hubspot", &id.to_string(), &changed, created);
    }
    lock(&app.journal).record_crm_write(CrmWriteEntry {
        seq: 0,
        at: clock::format_rfc3339(clock::now_micros()),
        method: request.method.clone(),
        path: request.path.clone(),
        object_type: kind.name().into(),
        object_id: id.to_string(),
        properties,
        changed,
    });
}

fn patch(app: &App, request: &Request, kind: ObjectType, raw_id: &str) -> Response {
    let body = match parse_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let mut state = app.state();
    let known = known_properties(&state.crm, kind);
    let Some(id) = parse_id(raw_id).filter(|id| collection(&state.crm, kind).iter().any(|object| object.id == *id))
    else {
        return not_found();
    };
    let updates = match property_updates(&body, known.as_deref()) {
        Ok(updates) => updates,
        Err(response) => return response,
    };
    let Some(object) = collection_mut(&mut state.crm, kind).iter_mut().find(|object| object.id == id) else {
        return not_found();
    };
    let mut changed = Vec::new();
    for (name, value) in &updates {
        let current = object.properties.get(name).cloned().unwrap_or_default();
        if &current != value {
            changed.push(name.clone());
            object.properties.insert(name.clone(), value.clone());
        }
    }
    if !changed.is_empty() {
        object.updated_micros = clock::now_micros().max(object.updated_micros + 1);
    }
    let names: Vec<String> =
        kind.default_properties().iter().map(|name| name.to_string()).chain(updates.keys().cloned()).collect();
    let response = object_json(object, kind, &names, &[]);
    app.persist(&state);
    // Journaled before the record is released: whoever sees the write can find it in the journal.
    record_write(app, request, kind, id, updates, changed);
    drop(state);
    Response::json(200, &response)
}

fn create(app: &App, request: &Request, kind: ObjectType) -> Response {
    let body = match parse_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let mut state = app.state();
    let known = known_properties(&state.crm, kind);
    let properties = match property_updates(&body, known.as_deref()) {
        Ok(properties) => properties,
        Err(response) => return response,
    };
    let mut company_ids = Vec::new();
    let mut contact_ids = Vec::new();
    if let Some(associations) = body.get("associations").and_then(Value::as_array) {
        for association in associations {
            let Some(target_id) = association.pointer("/to/id").and_then(|id| match id {
                Value::String(text) => text.parse::<u64>().ok(),
                other => other.as_u64(),
            }) else {
                return error(400, "VALIDATION_ERROR", "Each association needs to.id");
            };
            if state.crm.companies.iter().any(|company| company.id == target_id) {
                company_ids.push(target_id);
            } else if state.crm.contacts.iter().any(|contact| contact.id == target_id) {
                contact_ids.push(target_id);
            } else {
                return error(400, "VALIDATION_ERROR", &format!("No object with id {target_id} to associate"));
            }
        }
    }
    let id = state.crm.next_object_id;
    state.crm.next_object_id += 1;
    let now = clock::now_micros();
    let object = CrmObject {
        id,
        properties: properties.clone(),
        created_micros: now,
        updated_micros: now,
        company_ids,
        contact_ids,
    };
    let names: Vec<String> =
        kind.default_properties().iter().map(|name| name.to_string()).chain(properties.keys().cloned()).collect();
    let response = object_json(&object, kind, &names, &[]);
    collection_mut(&mut state.crm, kind).push(object);
    app.persist(&state);
    let changed = properties.keys().cloned().collect();
    // Journaled before the record is released: whoever sees the write can find it in the journal.
    record_write(app, request, kind, id, properties, changed);
    drop(state);
    Response::json(201, &response)
}

fn compare(actual: Option<&str>, operator: &str, filter: &Value) -> bool {
    let value = filter.get("value").map(|value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    });
    let numeric = |text: &str| {
        text.parse::<f64>().ok().or_else(|| clock::parse_datetime(text).map(|micros| (micros / 1000) as f64))
    };
    let ordered = |want: fn(std::cmp::Ordering) -> bool| match (actual, value.as_deref()) {
        (Some(actual), Some(expected)) => match (numeric(actual), numeric(expected)) {
            (Some(left), Some(right)) => left.partial_cmp(&right).is_some_and(want),
            _ => want(actual.cmp(expected)),
        },
        _ => false,
    };
    match operator {
        "EQ" => {
            actual.is_some_and(|actual| Some(actual.to_lowercase()) == value.as_ref().map(|value| value.to_lowercase()))
        }
        "NEQ" => actual.map(str::to_lowercase) != value.as_ref().map(|value| value.to_lowercase()),
        "HAS_PROPERTY" => actual.is_some(),
        "NOT_HAS_PROPERTY" => actual.is_none(),
        "CONTAINS_TOKEN" => actual.is_some_and(|actual| {
            value.as_ref().is_some_and(|token| actual.to_lowercase().contains(&token.trim_matches('*').to_lowercase()))
        }),
        "GT" => ordered(|order| order.is_gt()),
        "GTE" => ordered(|order| order.is_ge()),
        "LT" => ordered(|order| order.is_lt()),
        "LTE" => ordered(|order| order.is_le()),
        "IN" | "NOT_IN" => {
            let values: Vec<String> = filter
                .get("values")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_string).to_lowercase())
                        .collect()
                })
                .unwrap_or_default();
            let hit = actual.is_some_and(|actual| values.contains(&actual.to_lowercase()));
            if operator == "IN" {
                hit
            } else {
                !hit
            }
        }
        _ => false,
    }
}

fn search(app: &App, request: &Request, kind: ObjectType) -> Response {
    let body = match parse_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    const OPERATORS: &[&str] =
        &["EQ", "NEQ", "LT", "LTE", "GT", "GTE", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "IN", "NOT_IN"];
    let groups: Vec<Value> = body.get("filterGroups").and_then(Value::as_array).cloned().unwrap_or_default();
    for filter in groups.iter().filter_map(|group| group.get("filters").and_then(Value::as_array)).flatten() {
        let operator = filter.get("operator").and_then(Value::as_str).unwrap_or_default();
        if !OPERATORS.contains(&operator) || filter.get("propertyName").and_then(Value::as_str).is_none() {
            return error(400, "VALIDATION_ERROR", &format!("Invalid filter: {filter}"));
        }
    }
    let wanted: Vec<String> = body
        .get("properties")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let limit = body.get("limit").and_then(Value::as_u64).unwrap_or(10);
    if !(1..=200).contains(&limit) {
        return error(400, "VALIDATION_ERROR", "limit must be between 1 and 200");
    }
    let after = match body.get("after") {
        None | Some(Value::Null) => 0,
        Some(Value::String(text)) => text.parse::<usize>().unwrap_or(0),
        Some(other) => usize::try_from(other.as_u64().unwrap_or(0)).unwrap_or(0),
    };
    let query = body.get("query").and_then(Value::as_str).map(str::to_lowercase);
    let sorts = match sort_keys(&body) {
        Ok(sorts) => sorts,
        Err(response) => return response,
    };
    let state = app.state();
    let mut matches: Vec<&CrmObject> = collection(&state.crm, kind)
        .iter()
        .filter(|object| {
            groups.is_empty()
                || groups.iter().any(|group| {
                    group.get("filters").and_then(Value::as_array).is_none_or(|filters| {
                        filters.iter().all(|filter| {
                            let name = filter.get("propertyName").and_then(Value::as_str).unwrap_or_default();
                            let operator = filter.get("operator").and_then(Value::as_str).unwrap_or_default();
                            compare(property_value(object, name).as_deref(), operator, filter)
                        })
                    })
                })
        })
        .filter(|object| {
            // The query is matched against the object's default searchable properties only.
            query.as_ref().is_none_or(|query| {
                kind.searchable_properties()
                    .iter()
                    .any(|name| property_value(object, name).is_some_and(|value| value.to_lowercase().contains(query)))
            })
        })
        .collect();
    // A stable sort: records that compare equal keep their order.
    for (name, descending) in sorts.iter().rev() {
        matches.sort_by(|left, right| {
            let order = sort_order(property_value(left, name).as_deref(), property_value(right, name).as_deref());
            if *descending {
                order.reverse()
            } else {
                order
            }
        });
    }
    let take = usize::try_from(limit).unwrap_or(10);
    let results: Vec<Value> =
        matches.iter().skip(after).take(take).map(|object| object_json(object, kind, &wanted, &[])).collect();
    let mut response = json!({ "total": matches.len(), "results": results });
    if after + take < matches.len() {
        response["paging"] = json!({ "next": { "after": (after + take).to_string() } });
    }
    Response::json(200, &response)
}

/// The search's `sorts`: `[{"propertyName", "direction": "ASCENDING" | "DESCENDING"}]` (HubSpot's
/// documented form; a bare property name sorts ascending), at most one.
fn sort_keys(body: &Map<String, Value>) -> Result<Vec<(String, bool)>, Response> {
    let sorts = match body.get("sorts") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(sorts)) => sorts,
        Some(other) => return Err(error(400, "VALIDATION_ERROR", &format!("Invalid sorts: {other}"))),
    };
    if sorts.len() > 1 {
        return Err(error(400, "VALIDATION_ERROR", "There was a problem with the request. Only one sort is allowed"));
    }
    sorts
        .iter()
        .map(|sort| match sort {
            Value::String(name) if !name.is_empty() => Ok((name.clone(), false)),
            Value::Object(sort) => {
                let name = sort.get("propertyName").and_then(Value::as_str).filter(|name| !name.is_empty());
                let descending = match sort.get("direction").and_then(Value::as_str) {
                    None | Some("ASCENDING") => Some(false),
                    Some("DESCENDING") => Some(true),
                    Some(_) => None,
                };
                match (name, descending) {
                    (Some(name), Some(descending)) => Ok((name.to_string(), descending)),
                    _ => Err(error(400, "VALIDATION_ERROR", &format!("Invalid sort: {}", Value::Object(sort.clone())))),
                }
            }
            other => Err(error(400, "VALIDATION_ERROR", &format!("Invalid sort: {other}"))),
        })
        .collect()
}

/// Values compared as numbers (dates as instants) when both are, else as text; a missing value last.
fn sort_order(left: Option<&str>, right: Option<&str>) -> std::cmp::Ordering {
    let numeric =
        |text: &str| text.parse::<f64>().ok().or_else(|| clock::parse_datetime(text).map(|micros| micros as f64));
    match (left, right) {
        (Some(left), Some(right)) => match (numeric(left), numeric(right)) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
            _ => left.to_lowercase().cmp(&right.to_lowercase()),
        },
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}
