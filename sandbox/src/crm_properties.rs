//! HubSpot's CRM properties API (v3) for deals, next to its objects API (`crate::crm`): property
//! definitions and property groups, listed and created, with HubSpot's answers for a name or group
//! that already exists and for a type and field type that do not go together.
//!
//! The deal properties a PATCH may name are `CrmState::deal_properties`; a property created here
//! joins them, so the write-back can fill it at once. Company and contact properties are listed
//! (HubSpot's own, and any other the seeded records carry), not created.

use crate::app::App;
use crate::clock;
use crate::crm::error;
use crate::http::{Request, Response};
use crate::state::{CrmState, PropertyDefinition, PropertyGroup};
use serde_json::{json, Map, Value};

/// HubSpot's own deal group, which always exists.
const DEAL_INFORMATION: (&str, &str) = ("dealinformation", "Deal information");

/// Property types and the field types each may be shown as.
const TYPES: [(&str, &[&str]); 6] = [
    ("string", &["text", "textarea", "html", "phonenumber", "file"]),
    ("number", &["number", "calculation_equation"]),
    ("date", &["date"]),
    ("datetime", &["date"]),
    ("enumeration", &["select", "radio", "checkbox", "booleancheckbox"]),
    ("bool", &["booleancheckbox"]),
];

fn hubspot_time(micros: i64) -> String {
    let full = clock::format_rfc3339(micros);
    match full.get(..23) {
        Some(prefix) => format!("{prefix}Z"),
        None => full,
    }
}

/// A property as HubSpot lists it. Names without a stored definition (the seeded standard and
/// SpotDraft ones) are described as HubSpot describes its own.
fn property_json(state: &CrmState, name: &str) -> Value {
    let defined = state.property_definitions.iter().find(|definition| definition.name == name);
    let standard = |kind: &str, field: &str| (kind.to_string(), field.to_string());
    let (kind, field_type) = match (defined, name) {
        (Some(definition), _) => (definition.kind.clone(), definition.field_type.clone()),
        (None, "amount") => standard("number", "number"),
        (None, "closedate") => standard("datetime", "date"),
        (None, "dealstage" | "pipeline" | "dealtype" | "deal_currency_code" | "hubspot_owner_id") => {
            standard("enumeration", "select")
        }
        (None, _) => standard("string", "text"),
    };
    let label = defined.map(|definition| definition.label.clone()).unwrap_or_else(|| name.replace('_', " "));
    let group = defined.map(|definition| definition.group_name.clone()).unwrap_or_else(|| {
        if name.starts_with("spotdraft_") {
            "spotdraft".into()
        } else {
            DEAL_INFORMATION.0.into()
        }
    });
    let created = hubspot_time(defined.map_or(0, |definition| definition.created_micros));
    json!({
        "name": name, "label": label, "type": kind, "fieldType": field_type,
        "description": defined.map(|definition| definition.description.clone()).unwrap_or_default(),
        "groupName": group, "options": [], "displayOrder": -1, "calculated": false, "externalOptions": false,
        "hasUniqueValue": false, "hidden": false, "formField": defined.is_some(),
        "hubspotDefined": defined.is_none() && !name.starts_with("spotdraft_"),
        "modificationMetadata": { "archivable": defined.is_some(), "readOnlyDefinition": defined.is_none(), "readOnlyValue": false },
        "createdAt": created, "updatedAt": created, "archived": false,
    })
}

fn group_json(group: &PropertyGroup) -> Value {
    json!({ "name": group.name, "label": group.label, "displayOrder": group.display_order, "archived": false })
}

fn groups(state: &CrmState) -> Vec<PropertyGroup> {
    let standard =
        PropertyGroup { name: DEAL_INFORMATION.0.into(), label: DEAL_INFORMATION.1.into(), display_order: -1 };
    std::iter::once(standard).chain(state.property_groups.iter().cloned()).collect()
}

/// HubSpot's own company and contact properties: (name, label, type, field type).
const COMPANY_PROPERTIES: [(&str, &str, &str, &str); 10] = [
    ("name", "Company name", "string", "text"),
    ("domain", "Company domain name", "string", "text"),
    ("address", "Street address", "string", "text"),
    ("city", "City", "string", "text"),
    ("state", "State/Region", "string", "text"),
    ("zip", "Postal code", "string", "text"),
    ("country", "Country/Region", "string", "text"),
    ("phone", "Phone number", "string", "phonenumber"),
    ("industry", "Industry", "enumeration", "select"),
    ("numberofemployees", "Number of employees", "number", "number"),
];
const CONTACT_PROPERTIES: [(&str, &str, &str, &str); 7] = [
    ("firstname", "First name", "string", "text"),
    ("lastname", "Last name", "string", "text"),
    ("email", "Email", "string", "text"),
    ("jobtitle", "Job title", "string", "text"),
    ("phone", "Phone number", "string", "phonenumber"),
    ("company", "Company name", "string", "text"),
    ("lifecyclestage", "Lifecycle stage", "enumeration", "radio"),
];

/// `GET …/crm/v3/properties/{companies|contacts}`: HubSpot's own, then any other property the
/// records carry (as text).
fn list_other(app: &App, companies: bool) -> Response {
    let state = app.state();
    let (own, records, group) = if companies {
        (&COMPANY_PROPERTIES[..], &state.crm.companies, "companyinformation")
    } else {
        (&CONTACT_PROPERTIES[..], &state.crm.contacts, "contactinformation")
    };
    let mut listed: Vec<(String, String, &str, &str)> =
        own.iter().map(|(name, label, kind, field)| (name.to_string(), label.to_string(), *kind, *field)).collect();
    for record in records {
        for name in record.properties.keys() {
            if !listed.iter().any(|(known, ..)| known == name) {
                listed.push((name.clone(), name.replace('_', " "), "string", "text"));
            }
        }
    }
    let created = hubspot_time(0);
    let results: Vec<Value> = listed
        .iter()
        .enumerate()
        .map(|(order, (name, label, kind, field_type))| {
            json!({
                "name": name, "label": label, "type": kind, "fieldType": field_type, "description": "",
                "groupName": group, "options": [], "displayOrder": order, "calculated": false, "externalOptions": false,
                "hasUniqueValue": name == "domain", "hidden": false, "formField": true, "hubspotDefined": true,
                "modificationMetadata": { "archivable": false, "readOnlyDefinition": true, "readOnlyValue": false },
                "createdAt": created, "updatedAt": created, "archived": false,
            })
        })
        .collect();
    Response::json(200, &json!({ "results": results }))
}

/// `…/crm/v3/properties/{objectType}[/groups]`: deals in full; companies and contacts listed only.
pub fn handle(app: &App, request: &Request, kind: &str, groups_route: bool) -> Response {
    let other = match kind {
        "deals" | "deal" | "0-3" => None,
        "companies" | "company" | "0-2" => Some(true),
        "contacts" | "contact" | "0-1" => Some(false),
        _ => return error(400, "VALIDATION_ERROR", &format!("Unable to infer object type from: {kind}")),
    };
    if let Some(companies) = other {
        return match (request.method.as_str(), groups_route) {
            ("GET", false) => list_other(app, companies),
            (method, _) => error(405, "VALIDATION_ERROR", &format!("{method} is not supported on {}", request.path)),
        };
    }
    match (request.method.as_str(), groups_route) {
        ("GET", false) => list(app),
        ("POST", false) => create_property(app, request),
        ("GET", true) => {
            let state = app.state();
            Response::json(200, &json!({ "results": groups(&state.crm).iter().map(group_json).collect::<Vec<_>>() }))
        }
        ("POST", true) => create_group(app, request),
        (method, _) => error(405, "VALIDATION_ERROR", &format!("{method} is not supported on {}", request.path)),
    }
}

fn list(app: &App) -> Response {
    let state = app.state();
    let results: Vec<Value> = state.crm.deal_properties.iter().map(|name| property_json(&state.crm, name)).collect();
    Response::json(200, &json!({ "results": results }))
}

fn body_object(request: &Request) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(body)) => Ok(body),
        _ => Err(error(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")),
    }
}

fn text<'b>(body: &'b Map<String, Value>, key: &str) -> Result<&'b str, Response> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| error(400, "VALIDATION_ERROR", &format!("Invalid input JSON: '{key}' is required")))
}

/// HubSpot's internal names: lower case letters, digits and `_`, starting with a letter.
fn valid_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.len() <= 100
}

fn create_property(app: &App, request: &Request) -> Response {
    let body = match body_object(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let read = || -> Result<PropertyDefinition, Response> {
        let name = text(&body, "name")?;
        if !valid_name(name) {
            return Err(error(
                400,
                "VALIDATION_ERROR",
                &format!("Property name '{name}' is not valid: use lower-case letters, digits and underscores"),
            ));
        }
        let kind = text(&body, "type")?;
        let field_type = text(&body, "fieldType")?;
        match TYPES.iter().find(|(known, _)| *known == kind) {
            None => return Err(error(400, "VALIDATION_ERROR", &format!("Unknown property type '{kind}'"))),
            Some((_, fields)) if !fields.contains(&field_type) => {
                return Err(error(
                    400,
                    "VALIDATION_ERROR",
                    &format!("fieldType '{field_type}' is not valid for a property of type '{kind}'"),
                ))
            }
            Some(_) => {}
        }
        Ok(PropertyDefinition {
            name: name.into(),
            label: text(&body, "label")?.into(),
            kind: kind.into(),
            field_type: field_type.into(),
            group_name: text(&body, "groupName")?.into(),
            description: body.get("description").and_then(Value::as_str).unwrap_or_default().into(),
            created_micros: clock::now_micros(),
        })
    };
    let definition = match read() {
        Ok(definition) => definition,
        Err(response) => return response,
    };
    let mut state = app.state();
    if state.crm.deal_properties.contains(&definition.name) {
        return error(409, "OBJECT_ALREADY_EXISTS", &format!("A property named '{}' already exists.", definition.name));
    }
    if !groups(&state.crm).iter().any(|group| group.name == definition.group_name) {
        return error(
            400,
            "VALIDATION_ERROR",
            &format!("The property group '{}' does not exist.", definition.group_name),
        );
    }
    state.crm.deal_properties.push(definition.name.clone());
    let name = definition.name.clone();
    state.crm.property_definitions.push(definition);
    let answer = property_json(&state.crm, &name);
    app.persist(&state);
    Response::json(201, &answer)
}

fn create_group(app: &App, request: &Request) -> Response {
    let body = match body_object(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (name, label) = match (text(&body, "name"), text(&body, "label")) {
        (Ok(name), Ok(label)) => (name.to_string(), label.to_string()),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    if !valid_name(&name) {
        return error(
            400,
            "VALIDATION_ERROR",
            &format!("Group name '{name}' is not valid: use lower-case letters, digits and underscores"),
        );
    }
    let mut state = app.state();
    if groups(&state.crm).iter().any(|group| group.name == name) {
        return error(409, "OBJECT_ALREADY_EXISTS", &format!("A property group named '{name}' already exists."));
    }
    let display_order = body.get("displayOrder").and_then(Value::as_i64).unwrap_or(-1);
    let group = PropertyGroup { name, label, display_order };
    let answer = group_json(&group);
    state.crm.property_groups.push(group);
    app.persist(&state);
    Response::json(201, &answer)
}
