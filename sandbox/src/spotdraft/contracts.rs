//! Contract operations: create, list, status, lookup by external metadata, external metadata
//! read/write, send to counterparties and void.

use super::{errors, parse_composite_id, Caller};
use crate::app::App;
use crate::clock;
use crate::http::{percent_decode, Request, Response};
use crate::lifecycle;
use crate::state::{Contract, SandboxState, Template};
use crate::templates::{add_error, validate_contract_data, FieldErrors};
use serde_json::{json, Map, Value};

const STATUSES: &[&str] = &["DRAFT", "REDLINING", "SIGN", "EXECUTED", "ON_HOLD", "VOIDED"];
const LOOKUP_LIMIT: usize = 50;
const MAX_PAGE_SIZE: u64 = 100;

fn either(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|response| response)
}

fn valid_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn nonempty_string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
    required: bool,
) -> Option<&'a str> {
    match object.get(key) {
        None | Some(Value::Null) => {
            if required {
                add_error(errors, key, "This field is required.");
            }
            None
        }
        Some(Value::String(text)) if text.trim().is_empty() => {
            if required {
                add_error(errors, key, "This field may not be blank.");
            }
            None
        }
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            add_error(errors, key, "Not a valid string.");
            None
        }
    }
}

fn nest(errors: &mut FieldErrors, key: &str, nested: FieldErrors) {
    if !nested.is_empty() {
        errors.insert(key.to_string(), Value::Object(nested));
    }
}

/// One `counter_party_details` item (`ExternalCounterPartyDetailsSerializerV2_1`).
fn check_counterparty(party: &Value, template: Option<&Template>) -> FieldErrors {
    let mut errors = Map::new();
    let Some(party) = party.as_object() else {
        add_error(&mut errors, "non_field_errors", "Invalid data. Expected a dictionary.");
        return errors;
    };
    let individual = match party.get("is_individual") {
        Some(Value::Bool(flag)) => Some(*flag),
        None | Some(Value::Null) => {
            add_error(&mut errors, "is_individual", "This field is required.");
            None
        }
        Some(_) => {
            add_error(&mut errors, "is_individual", "Must be a valid boolean.");
            None
        }
    };
    if individual == Some(false) {
        nonempty_string(party, "organization_name", &mut errors, true);
    } else {
        nonempty_string(party, "organization_name", &mut errors, false);
    }
    nonempty_string(party, "organization_type", &mut errors, false);
    if let Some(kind) = template.map(|template| template.counter_party_kind.as_str()) {
        if individual == Some(true) && kind == "Organisation" {
            add_error(&mut errors, "is_individual", "This template accepts only organisation counterparties.");
        }
        if individual == Some(false) && kind == "Individual" {
            add_error(&mut errors, "is_individual", "This template accepts only individual counterparties.");
        }
    }
    match party.get("poc_details") {
        None | Some(Value::Null) => add_error(&mut errors, "poc_details", "This field is required."),
        Some(Value::Object(poc)) => {
            let mut poc_errors = Map::new();
            nonempty_string(poc, "first_name", &mut poc_errors, true);
            if poc.get("last_name").is_some_and(|value| !value.is_string() && !value.is_null()) {
                add_error(&mut poc_errors, "last_name", "Not a valid string.");
            }
            if let Some(email) = nonempty_string(poc, "email", &mut poc_errors, true) {
                if !valid_email(email) {
                    add_error(&mut poc_errors, "email", "Enter a valid email address.");
                }
            }
            nest(&mut errors, "poc_details", poc_errors);
        }
        Some(_) => add_error(&mut errors, "poc_details", "Invalid data. Expected a dictionary."),
    }
    match party.get("organization_details") {
        None | Some(Value::Null) => {}
        Some(Value::Object(details)) => {
            let mut detail_errors = Map::new();
            nonempty_string(details, "jurisdiction", &mut detail_errors, false);
            nonempty_string(details, "jurisdiction_iso_code", &mut detail_errors, false);
            match details.get("address") {
                None | Some(Value::Null) => {}
                Some(Value::Object(address)) => {
                    let mut address_errors = Map::new();
                    for key in ["city", "country_iso_code", "line_one"] {
                        nonempty_string(address, key, &mut address_errors, true);
                    }
                    for key in ["state", "country", "zipcode", "line_two", "email", "phone", "gst_number", "tax_id"] {
                        if address.get(key).is_some_and(|value| !value.is_string() && !value.is_null()) {
                            add_error(&mut address_errors, key, "Not a valid string.");
                        }
                    }
                    nest(&mut detail_errors, "address", address_errors);
                }
                Some(_) => add_error(&mut detail_errors, "address", "Invalid data. Expected a dictionary."),
            }
            nest(&mut errors, "organization_details", detail_errors);
        }
        Some(_) => add_error(&mut errors, "organization_details", "Invalid data. Expected a dictionary."),
    }
    errors
}

/// The name a signatory's `counterparty_name` must equal for this counterparty.
fn counterparty_display_name(party: &Value) -> Option<String> {
    if party.get("is_individual").and_then(Value::as_bool) == Some(true) {
        let poc = party.get("poc_details")?;
        let first = poc.get("first_name").and_then(Value::as_str).unwrap_or_default();
        let last = poc.get("last_name").and_then(Value::as_str).unwrap_or_default();
        Some(format!("{first} {last}").trim().to_string())
    } else {
        party.get("organization_name").and_then(Value::as_str).map(str::to_string)
    }
}

/// Signatory rules: fields present; `sign_order` on all or none (then at least one counterparty
/// signatory); `counterparty_name` required for counterparty signatories and must name a listed
/// counterparty.
fn check_signatories(signatories: &Value, parties: &[Value], errors: &mut FieldErrors) {
    let Some(items) = signatories.as_array() else {
        add_error(errors, "signatories", "Expected a list of items.");
        return;
    };
    let names: Vec<String> = parties.iter().filter_map(counterparty_display_name).collect();
    let mut item_errors = Map::new();
    let mut with_order = 0;
    let mut counterparty_signatories = 0;
    for (index, item) in items.iter().enumerate() {
        let mut errs = Map::new();
        let Some(signatory) = item.as_object() else {
            add_error(&mut errs, "non_field_errors", "Invalid data. Expected a dictionary.");
            item_errors.insert(index.to_string(), Value::Object(errs));
            continue;
        };
        nonempty_string(signatory, "name", &mut errs, true);
        if let Some(email) = nonempty_string(signatory, "email", &mut errs, true) {
            if !valid_email(email) {
                add_error(&mut errs, "email", "Enter a valid email address.");
            }
        }
        let is_counterparty = match signatory.get("is_counterparty_signatory") {
            Some(Value::Bool(flag)) => *flag,
            None | Some(Value::Null) => {
                add_error(&mut errs, "is_counterparty_signatory", "This field is required.");
                false
            }
            Some(_) => {
                add_error(&mut errs, "is_counterparty_signatory", "Must be a valid boolean.");
                false
            }
        };
        match signatory.get("sign_order") {
            None | Some(Value::Null) => {}
            Some(value) if value.is_u64() => with_order += 1,
            Some(_) => add_error(&mut errs, "sign_order", "A valid integer is required."),
        }
        if is_counterparty {
            counterparty_signatories += 1;
            match nonempty_string(signatory, "counterparty_name", &mut errs, true) {
                Some(name) if !names.iter().any(|known| known == name) => add_error(
                    &mut errs,
                    "counterparty_name",
                    "Must match the organization_name of a counterparty (or first_name last_name of an individual).",
                ),
                _ => {}
            }
        }
        if !errs.is_empty() {
            item_errors.insert(index.to_string(), Value::Object(errs));
        }
    }
    if with_order != 0 && with_order != items.len() {
        add_error(&mut item_errors, "non_field_errors", "sign_order must be set for all signatories or for none.");
    }
    if with_order != 0 && counterparty_signatories == 0 {
        add_error(
            &mut item_errors,
            "non_field_errors",
            "At least one counterparty signatory is required when sign_order is used.",
        );
    }
    nest(errors, "signatories", item_errors);
}

fn integer_field(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) => text.parse().ok(),
        _ => None,
    }
}

fn check_send_config(config: &Value, key: &str, errors: &mut FieldErrors) {
    let mut errs = Map::new();
    match config.as_object() {
        Some(config) => check_send_fields(config, &mut errs),
        None => add_error(&mut errs, "non_field_errors", "Invalid data. Expected a dictionary."),
    }
    nest(errors, key, errs);
}

/// `SendToCounterparty`: `attachment_formats` required (DOCX/PDF/TEMPLATE), email lists of strings.
fn check_send_fields(config: &Map<String, Value>, errors: &mut FieldErrors) {
    match config.get("attachment_formats") {
        None | Some(Value::Null) => add_error(errors, "attachment_formats", "This field is required."),
        Some(Value::Array(formats)) => {
            if formats.is_empty() {
                add_error(errors, "attachment_formats", "This list may not be empty.");
            }
            for format in formats {
                if !matches!(format.as_str(), Some("DOCX" | "PDF" | "TEMPLATE")) {
                    add_error(
                        errors,
                        "attachment_formats",
                        &format!("\"{}\" is not a valid choice.", format.as_str().unwrap_or("?")),
                    );
                }
            }
        }
        Some(_) => add_error(errors, "attachment_formats", "Expected a list of items."),
    }
    for key in ["to_emails", "cc_emails", "bcc_emails"] {
        match config.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                if items.iter().any(|item| !item.as_str().is_some_and(valid_email)) {
                    add_error(errors, key, "Enter a valid email address.");
                }
            }
            Some(_) => add_error(errors, key, "Expected a list of items."),
        }
    }
    for key in ["custom_message", "subject"] {
        if config.get(key).is_some_and(|value| !value.is_string() && !value.is_null()) {
            add_error(errors, key, "Not a valid string.");
        }
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Validates `external_metadata`; the sandbox has no native-integration object configurations,
/// so any `object_configuration_id` is unknown (404 `SD_INTEGRATIONS_00021`).
fn check_external_metadata(metadata: &Value) -> Result<(), Response> {
    let Some(object) = metadata.as_object() else {
        return Err(errors::field("external_metadata", "Invalid data. Expected a dictionary."));
    };
    let mut errs = Map::new();
    for key in ["integration_name", "record_type"] {
        if object.get(key).is_some_and(|value| !value.is_string() && !value.is_null()) {
            add_error(&mut errs, key, "Not a valid string.");
        }
    }
    if object.get("record_data").is_some_and(|value| !value.is_object() && !value.is_null()) {
        add_error(&mut errs, "record_data", "Invalid data. Expected a dictionary.");
    }
    if object.get("id").is_some_and(|value| value.is_object() || value.is_array()) {
        add_error(&mut errs, "id", "Not a valid string.");
    }
    if !errs.is_empty() {
        let mut outer = Map::new();
        outer.insert("external_metadata".into(), Value::Object(errs));
        return Err(errors::fields(outer));
    }
    if let Some(configuration) = object.get("object_configuration_id").and_then(Value::as_str) {
        return Err(errors::public_error(
            404,
            &format!("The entity does not exists for the given object_configuration_id: {configuration}"),
            Some("SD_INTEGRATIONS_00021"),
        ));
    }
    Ok(())
}

pub fn create(app: &App, caller: &Caller, request: &Request) -> Response {
    either(create_contract(app, caller, request))
}

fn create_contract(app: &App, caller: &Caller, request: &Request) -> Result<Response, Response> {
    let body = errors::parse_object(&request.body)?;
    let mut state = app.state();
    let workspace = state.workspaces.get(caller.workspace_index).ok_or_else(errors::not_found)?;
    let mut errs: FieldErrors = Map::new();

    let template = match body.get("contract_template_id") {
        None | Some(Value::Null) => {
            add_error(&mut errs, "contract_template_id", "This field is required.");
            None
        }
        Some(value) => match integer_field(value) {
            None => {
                add_error(&mut errs, "contract_template_id", "A valid integer is required.");
                None
            }
            Some(id) => {
                let template = workspace.template(id).cloned();
                if template.is_none() {
                    add_error(
                        &mut errs,
                        "contract_template_id",
                        &format!("Invalid pk \"{id}\" - object does not exist."),
                    );
                }
                template
            }
        },
    };
    match (body.get("contract_data"), &template) {
        (None | Some(Value::Null), _) => add_error(&mut errs, "contract_data", "This field is required."),
        (Some(data), Some(template)) => nest(&mut errs, "contract_data", validate_contract_data(template, data)),
        (Some(data), None) if !data.is_object() => {
            add_error(&mut errs, "contract_data", "Invalid data. Expected a dictionary.")
        }
        _ => {}
    }
    let parties: Vec<Value> = match body.get("counter_party_details") {
        None | Some(Value::Null) => {
            add_error(&mut errs, "counter_party_details", "This field is required.");
            Vec::new()
        }
        Some(Value::Array(parties)) if parties.is_empty() => {
            add_error(&mut errs, "counter_party_details", "This list may not be empty.");
            Vec::new()
        }
        Some(Value::Array(parties)) => {
            let mut party_errors = Map::new();
            for (index, party) in parties.iter().enumerate() {
                let found = check_counterparty(party, template.as_ref());
                if !found.is_empty() {
                    party_errors.insert(index.to_string(), Value::Object(found));
                }
            }
            nest(&mut errs, "counter_party_details", party_errors);
            parties.clone()
        }
        Some(_) => {
            add_error(&mut errs, "counter_party_details", "Expected a list of items.");
            Vec::new()
        }
    };
    let signatories = match body.get("signatories") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => {
            check_signatories(value, &parties, &mut errs);
            value.as_array().cloned().unwrap_or_default()
        }
    };
    let contract_name = nonempty_string(&body, "contract_name", &mut errs, false).map(str::to_string);
    nonempty_string(&body, "entity_reference_id", &mut errs, false);
    let mut auto_send = false;
    match body.get("workflow_config") {
        None | Some(Value::Null) => {}
        Some(Value::Object(config)) => {
            let mut config_errors = Map::new();
            for key in [
                "auto_send_to_counterparty",
                "api_only_contract_edits",
                "skip_cp_info_collection",
                "skip_creator_info_collection",
            ] {
                match config.get(key) {
                    None | Some(Value::Null) | Some(Value::Bool(_)) => {}
                    Some(_) => add_error(&mut config_errors, key, "Must be a valid boolean."),
                }
            }
            auto_send = config.get("auto_send_to_counterparty").and_then(Value::as_bool).unwrap_or(false);
            nest(&mut errs, "workflow_config", config_errors);
        }
        Some(_) => add_error(&mut errs, "workflow_config", "Invalid data. Expected a dictionary."),
    }
    if let Some(config) = body.get("send_to_counterparty_config").filter(|value| !value.is_null()) {
        check_send_config(config, "send_to_counterparty_config", &mut errs);
    }
    if body.get("is_embedded_contract").is_some_and(|value| !value.is_boolean() && !value.is_null()) {
        add_error(&mut errs, "is_embedded_contract", "Must be a valid boolean.");
    }
    if !errs.is_empty() {
        return Err(errors::fields(errs));
    }
    let external_metadata = body.get("external_metadata").filter(|value| !value.is_null()).cloned();
    if let Some(metadata) = &external_metadata {
        check_external_metadata(metadata)?;
    }
    let Some(template) = template else {
        return Err(errors::not_found());
    };

    let contract_type_name = workspace
        .contract_types
        .iter()
        .find(|kind| kind.id == template.contract_type_id)
        .map(|kind| kind.name.clone())
        .unwrap_or_default();
    let counter_party_name = parties.first().and_then(counterparty_display_name).unwrap_or_default();
    let id = state.next_contract_id;
    state.next_contract_id += 1;
    let now = clock::now_micros();
    let contract = Contract {
        id,
        name: contract_name.unwrap_or_else(|| format!("{} - {}", template.name, counter_party_name)),
        status: "DRAFT".into(),
        status_before_hold: None,
        template_id: template.id,
        contract_type_id: template.contract_type_id,
        contract_type_name,
        created_micros: now,
        last_updated_micros: now,
        created_by: caller.user.email.clone(),
        created_by_name: caller.user.name.clone(),
        counter_party_name,
        counterparties: parties,
        signatories,
        contract_data: body.get("contract_data").cloned().unwrap_or_default(),
        external_metadata: external_metadata.clone(),
        version: 1,
        document_padding: 0,
        key_pointers: Vec::new(),
        approval_v5: false,
    };
    let first_value_id = super::key_pointers::next_value_id(&state);
    let workspace = state.workspaces.get_mut(caller.workspace_index).ok_or_else(errors::not_found)?;
    let mut contract = contract;
    contract.key_pointers = super::key_pointers::initial_values(
        workspace,
        contract.contract_type_id,
        &contract.contract_data,
        first_value_id,
    );
    workspace.contracts.push(contract);
    let actor = json!({ "name": caller.user.name, "email": caller.user.email });
    lifecycle::emit(app, &mut state, caller.workspace_index, id, "CONTRACT_CREATED", actor.clone(), Map::new());
    if external_metadata.is_some() {
        lifecycle::emit(
            app,
            &mut state,
            caller.workspace_index,
            id,
            "CONTRACT_EXTERNAL_METADATA_CREATED",
            actor.clone(),
            Map::new(),
        );
    }
    if auto_send {
        let config = body.get("send_to_counterparty_config");
        let to = string_list(config.and_then(|config| config.get("to_emails")));
        let cc = string_list(config.and_then(|config| config.get("cc_emails")));
        lifecycle::send_to_counterparty(app, &mut state, caller.workspace_index, id, actor, to, cc);
    }
    app.persist(&state);
    let contract = state
        .workspaces
        .get(caller.workspace_index)
        .and_then(|workspace| workspace.contract(id))
        .ok_or_else(errors::not_found)?;
    let mut response = summary(contract, caller_workspace_id(&state, caller));
    response["id"] = json!(contract.composite_id());
    response["contract_id"] = json!(contract.id);
    Ok(Response::json(201, &response))
}

fn caller_workspace_id(state: &SandboxState, caller: &Caller) -> u64 {
    state.workspaces.get(caller.workspace_index).map_or(0, |workspace| workspace.id)
}

/// The fields shared by the create response, list items and lookup items.
fn summary(contract: &Contract, workspace_id: u64) -> Value {
    json!({
        "id": contract.id,
        "created": clock::format_rfc3339(contract.created_micros),
        "contract_name": contract.name,
        "contract_link": contract.link(),
        "contract_status": contract.status,
        "created_by": contract.created_by,
        "counter_party_name": contract.counter_party_name,
        "contract_type_name": contract.contract_type_name,
        "contract_type_id": contract.contract_type_id,
        "created_by_workspace": workspace_id,
        "external_metadata": contract.external_metadata.clone().unwrap_or_else(|| json!({})),
        "reference_id": contract.reference_id(),
    })
}

/// Finds a caller's contract by composite id; contracts of other workspaces are invisible.
fn find<'a>(state: &'a SandboxState, caller: &Caller, raw_id: &str) -> Option<&'a Contract> {
    let id = parse_composite_id(&percent_decode(raw_id))?;
    state.workspaces.get(caller.workspace_index)?.contract(id)
}

fn page_parameter(request: &Request, name: &str, default: u64) -> Result<u64, Response> {
    match request.query(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(value) if value >= 1 => Ok(value),
            _ => Err(errors::detail(400, "Invalid page number or page limit too big.")),
        },
    }
}

/// Applies one `filter__<field>[<op>]` to a value; `None` from `compare` means "not comparable".
fn datetime_filter(op: &str, raw: &str, field: &str, actual: i64) -> Result<bool, Response> {
    let values: Vec<&str> = if op == "$in" { raw.split(',').collect() } else { vec![raw] };
    let mut parsed = Vec::new();
    for value in values {
        match clock::parse_datetime(value) {
            Some(micros) => parsed.push(micros),
            None => {
                return Err(errors::field(
                    &format!("filter__{field}"),
                    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                ))
            }
        }
    }
    let first = parsed.first().copied().unwrap_or_default();
    Ok(match op {
        "" | "$eq" => actual == first,
        "$ne" => actual != first,
        "$gt" => actual > first,
        "$gte" => actual >= first,
        "$lt" => actual < first,
        "$lte" => actual <= first,
        _ => parsed.contains(&actual),
    })
}

fn split_filter(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("filter__")?;
    match rest.split_once('[') {
        Some((field, op)) => Some((field, op.strip_suffix(']')?)),
        None => Some((rest, "")),
    }
}

fn matches_filters(contract: &Contract, filters: &[(String, String, String)]) -> Result<bool, Response> {
    for (field, op, value) in filters {
        let keep = match field.as_str() {
            "display_status" => {
                let wanted: Vec<&str> =
                    if op == "$in" { value.split(',').map(str::trim).collect() } else { vec![value.trim()] };
                if let Some(bad) = wanted.iter().find(|status| !STATUSES.contains(status)) {
                    return Err(errors::field(
                        &format!(
                            "filter__display_status{}",
                            if op.is_empty() { String::new() } else { format!("[{op}]") }
                        ),
                        &format!("Select a valid choice. {bad} is not one of the available choices."),
                    ));
                }
                let hit = wanted.contains(&contract.status.as_str());
                if op == "$ne" {
                    !hit
                } else {
                    hit
                }
            }
            "last_updated_on" => datetime_filter(op, value, field, contract.last_updated_micros)?,
            "created_at" => datetime_filter(op, value, field, contract.created_micros)?,
            "contract_type_id" => {
                let wanted: Vec<u64> = value.split(',').filter_map(|part| part.trim().parse().ok()).collect();
                let hit = wanted.contains(&contract.contract_type_id);
                if op == "$ne" {
                    !hit
                } else {
                    hit
                }
            }
            "contract_id" => {
                let wanted: Vec<String> = value.split(',').map(|part| part.trim().to_string()).collect();
                let hit = wanted.contains(&contract.id.to_string()) || wanted.contains(&contract.composite_id());
                if op == "$ne" {
                    !hit
                } else {
                    hit
                }
            }
            // Filters the sandbox does not model are accepted and ignored.
            _ => true,
        };
        if !keep {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn list(app: &App, caller: &Caller, request: &Request) -> Response {
    either(list_contracts(app, caller, request))
}

fn list_contracts(app: &App, caller: &Caller, request: &Request) -> Result<Response, Response> {
    let page = page_parameter(request, "page", 1)?;
    let limit = page_parameter(request, "limit", 10)?;
    if limit > MAX_PAGE_SIZE {
        return Err(errors::detail(400, "Invalid page number or page limit too big."));
    }
    let filters: Vec<(String, String, String)> = request
        .query_pairs()
        .into_iter()
        .filter_map(|(key, value)| split_filter(&key).map(|(field, op)| (field.to_string(), op.to_string(), value)))
        .collect();
    let query = request.query("query").map(|text| text.to_lowercase()).filter(|text| !text.is_empty());
    let state = app.state();
    let workspace = state.workspaces.get(caller.workspace_index).ok_or_else(errors::not_found)?;
    let mut matching = Vec::new();
    for contract in workspace.contracts.iter().rev() {
        if !matches_filters(contract, &filters)? {
            continue;
        }
        if let Some(query) = &query {
            if !contract.name.to_lowercase().contains(query)
                && !contract.counter_party_name.to_lowercase().contains(query)
            {
                continue;
            }
        }
        matching.push(contract);
    }
    let offset = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(take)
        .map(|contract| {
            let mut item = summary(contract, workspace.id);
            item["id"] = json!(contract.composite_id());
            item["created_by_user_name"] = json!(contract.created_by_name);
            item["created_by_user_email"] = json!(contract.created_by);
            item
        })
        .collect();
    Ok(Response::json(
        200,
        &json!({ "page": page, "limit": limit, "total_results": matching.len(), "results": results }),
    ))
}

pub fn status(app: &App, caller: &Caller, raw_id: &str) -> Response {
    let state = app.state();
    match find(&state, caller, raw_id) {
        Some(contract) => {
            Response::json(200, &json!({ "contract_status": contract.status, "contract_name": contract.name }))
        }
        None => errors::not_found(),
    }
}

pub fn by_external_metadata(app: &App, caller: &Caller, raw_id: &str) -> Response {
    let wanted = percent_decode(raw_id);
    let state = app.state();
    let Some(workspace) = state.workspaces.get(caller.workspace_index) else {
        return errors::not_found();
    };
    let found: Vec<Value> = workspace
        .contracts
        .iter()
        .rev()
        .filter(|contract| {
            contract.external_metadata.as_ref().and_then(|metadata| metadata.get("id")).is_some_and(|id| match id {
                Value::String(text) => *text == wanted,
                Value::Number(number) => number.to_string() == wanted,
                _ => false,
            })
        })
        .take(LOOKUP_LIMIT)
        .map(|contract| {
            let mut item = summary(contract, workspace.id);
            item["created_by_user_name"] = json!(contract.created_by_name);
            item["created_by_user_email"] = json!(contract.created_by);
            item
        })
        .collect();
    Response::json(200, &Value::Array(found))
}

pub fn get_external_metadata(app: &App, caller: &Caller, raw_id: &str) -> Response {
    let state = app.state();
    match find(&state, caller, raw_id) {
        Some(contract) => Response::json(
            200,
            &json!({ "external_metadata": contract.external_metadata.clone().unwrap_or_else(|| json!({})) }),
        ),
        None => errors::not_found(),
    }
}

pub fn set_external_metadata(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Response {
    either(write_external_metadata(app, caller, request, raw_id))
}

fn write_external_metadata(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Result<Response, Response> {
    let mut state = app.state();
    let contract_id = find(&state, caller, raw_id).map(|contract| contract.id).ok_or_else(errors::not_found)?;
    let body = errors::parse_object(&request.body)?;
    let metadata = match body.get("external_metadata") {
        None | Some(Value::Null) => return Err(errors::field("external_metadata", "This field is required.")),
        Some(metadata) => metadata.clone(),
    };
    check_external_metadata(&metadata)?;
    let contract = state
        .workspaces
        .get_mut(caller.workspace_index)
        .and_then(|workspace| workspace.contract_mut(contract_id))
        .ok_or_else(errors::not_found)?;
    let had_metadata = contract.external_metadata.is_some();
    contract.external_metadata = Some(metadata.clone());
    let activity =
        if had_metadata { "CONTRACT_EXTERNAL_METADATA_UPDATED" } else { "CONTRACT_EXTERNAL_METADATA_CREATED" };
    let actor = json!({ "name": caller.user.name, "email": caller.user.email });
    lifecycle::emit(app, &mut state, caller.workspace_index, contract_id, activity, actor, Map::new());
    app.persist(&state);
    Ok(Response::json(200, &json!({ "external_metadata": metadata })))
}

pub fn send_to_counterparties(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Response {
    either(send(app, caller, request, raw_id))
}

fn send(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Result<Response, Response> {
    let mut state = app.state();
    let contract = find(&state, caller, raw_id).cloned().ok_or_else(errors::not_found)?;
    let body = errors::parse_object(&request.body)?;
    let mut errs = Map::new();
    check_send_fields(&body, &mut errs);
    if !errs.is_empty() {
        return Err(errors::fields(errs));
    }
    if contract.status != "DRAFT" && contract.status != "REDLINING" {
        return Err(errors::public_error(
            400,
            &format!("Contract in status {} cannot be sent to counterparties.", contract.status),
            None,
        ));
    }
    let actor = json!({ "name": caller.user.name, "email": caller.user.email });
    let to = string_list(body.get("to_emails"));
    let cc = string_list(body.get("cc_emails"));
    lifecycle::send_to_counterparty(app, &mut state, caller.workspace_index, contract.id, actor, to, cc);
    app.persist(&state);
    Ok(Response::empty(200))
}

pub fn void(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Response {
    either(void_contract(app, caller, request, raw_id))
}

fn void_contract(app: &App, caller: &Caller, request: &Request, raw_id: &str) -> Result<Response, Response> {
    let mut state = app.state();
    let contract = find(&state, caller, raw_id).cloned().ok_or_else(errors::not_found)?;
    let body = errors::parse_object(&request.body)?;
    // The spec declares `{"detail": ...}` as this route's only 400 body, so validation problems
    // use that shape too.
    match body.get("note") {
        None | Some(Value::Null) => return Err(errors::detail(400, "note: This field is required.")),
        Some(Value::String(note)) if note.trim().is_empty() => {
            return Err(errors::detail(400, "note: This field may not be blank."))
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(errors::detail(400, "note: Not a valid string.")),
    }
    match contract.status.as_str() {
        "EXECUTED" => return Err(errors::detail(400, "Cannot void an executed contract.")),
        "VOIDED" => return Err(errors::detail(400, "Contract is already voided.")),
        _ => {}
    }
    let actor = json!({ "name": caller.user.name, "email": caller.user.email });
    lifecycle::void(app, &mut state, caller.workspace_index, contract.id, actor);
    app.persist(&state);
    Ok(Response::empty(204))
}
