//! The shipped templates (as v2.1 `CfPublicDescriptor` lists) and validation of a create
//! request's `contract_data` against them.
//!
//! v2.1 descriptors have no `currency`/`duration` types, so those are modelled the way nested
//! fields work in SpotDraft: child descriptors `parent.child` with `parent_variable` and a
//! `parent_type` of `currency`/`duration`/`object`; the value is an object under the parent key.

use crate::state::Template;
use serde_json::{json, Map, Value};

fn field(variable: &str, label: &str, kind: &str, required: bool) -> Value {
    json!({ "variable": variable, "display_label": label, "type": kind, "required": required })
}

fn options(pairs: &[(&str, &str)]) -> Value {
    Value::Array(pairs.iter().map(|(label, value)| json!({ "label": label, "value": value })).collect())
}

fn choice(variable: &str, label: &str, required: bool, choices: &[(&str, &str)]) -> Value {
    let mut descriptor = field(variable, label, "enum", required);
    descriptor["options"] = options(choices);
    descriptor
}

fn child(parent: &str, parent_type: &str, parent_required: bool, mut descriptor: Value) -> Value {
    let variable = descriptor["variable"].as_str().unwrap_or_default().to_string();
    descriptor["variable"] = json!(format!("{parent}.{variable}"));
    descriptor["parent_variable"] = json!(parent);
    descriptor["parent_type"] = json!(parent_type);
    descriptor["parent_required"] = json!(parent_required);
    descriptor["child_variable"] = json!(variable);
    descriptor
}

const CURRENCIES: &[(&str, &str)] =
    &[("US Dollar", "USD"), ("Euro", "EUR"), ("Pound Sterling", "GBP"), ("Indian Rupee", "INR")];
const DURATION_UNITS: &[(&str, &str)] = &[("Days", "DAYS"), ("Months", "MONTHS"), ("Years", "YEARS")];

fn duration(parent: &str, label: &str, required: bool) -> Vec<Value> {
    vec![
        child(parent, "duration", required, choice("type", &format!("{label} unit"), true, DURATION_UNITS)),
        child(parent, "duration", required, field("value", &format!("{label} length"), "int", true)),
        child(parent, "duration", required, field("days", &format!("{label} in days"), "int", false)),
    ]
}

fn mutual_nda_attributes() -> Vec<Value> {
    let mut attributes = vec![
        field("effective_date", "Effective date", "date", true),
        choice("nda_kind", "Kind of NDA", true, &[("Mutual", "mutual"), ("One-way (we disclose)", "one_way")]),
        field("purpose", "Purpose of disclosure", "string", true),
        choice(
            "governing_law",
            "Governing law",
            true,
            &[("Delaware, USA", "US-DE"), ("California, USA", "US-CA"), ("England and Wales", "GB"), ("India", "IN")],
        ),
        field("non_solicitation", "Include non-solicitation clause", "boolean", false),
    ];
    attributes.extend(duration("confidentiality_term", "Confidentiality term", true));
    attributes
}

fn msa_attributes() -> Vec<Value> {
    let mut attributes = vec![
        field("agreement_date", "Agreement date", "date", true),
        field("customer_legal_name", "Customer legal name", "string", true),
        child("contract_value", "currency", true, choice("type", "Contract value currency", true, CURRENCIES)),
        child("contract_value", "currency", true, field("value", "Contract value amount", "float", true)),
    ];
    attributes.extend(duration("subscription_term", "Subscription term", true));
    attributes.extend([
        choice(
            "billing_frequency",
            "Billing frequency",
            true,
            &[("Monthly", "monthly"), ("Quarterly", "quarterly"), ("Annually", "annually")],
        ),
        field("auto_renewal", "Renews automatically", "boolean", true),
        field("payment_terms_days", "Payment terms (days)", "int", false),
        {
            let mut regions = field("service_regions", "Service regions", "array of options", false);
            regions["options"] = options(&[
                ("United States", "US"),
                ("European Union", "EU"),
                ("United Kingdom", "UK"),
                ("India", "IN"),
            ]);
            regions
        },
        child("billing_contact", "object", false, field("name", "Billing contact name", "string", true)),
        child("billing_contact", "object", false, field("email", "Billing contact email", "string", true)),
        {
            let mut schedule = field("pricing_schedule", "Pricing schedule", "repeating", false);
            schedule["attributes"] = json!([
                field("milestone", "Milestone", "string", true),
                field("due_date", "Due date", "date", true),
                field("amount", "Amount", "float", true),
            ]);
            schedule
        },
        field("special_terms", "Special terms", "string", false),
    ]);
    attributes
}

/// Templates for a workspace whose ids start at `id_base` (e.g. 1100 → templates 1101, 1102 and
/// contract types 110, 111). Ids differ per workspace, as they do between UAT and production.
pub fn shipped_templates(id_base: u64) -> (Vec<crate::state::ContractType>, Vec<Template>) {
    let nda_type = id_base / 10;
    let msa_type = id_base / 10 + 1;
    let contract_types = vec![
        crate::state::ContractType { id: nda_type, name: "Non-Disclosure Agreement".into() },
        crate::state::ContractType { id: msa_type, name: "Master Services Agreement".into() },
    ];
    let templates = vec![
        Template {
            id: id_base + 1,
            name: "Mutual Non-Disclosure Agreement".into(),
            contract_type_id: nda_type,
            tags: vec!["NDA".into(), "Sales".into()],
            counter_party_kind: "Both".into(),
            attributes: mutual_nda_attributes(),
        },
        Template {
            id: id_base + 2,
            name: "Master Services Agreement".into(),
            contract_type_id: msa_type,
            tags: vec!["MSA".into(), "Sales".into()],
            counter_party_kind: "Organisation".into(),
            attributes: msa_attributes(),
        },
    ];
    (contract_types, templates)
}

/// Field-keyed validation errors, shaped like SpotDraft's third error form
/// (`{"field": ["message"]}`, nested objects for nested fields).
pub type FieldErrors = Map<String, Value>;

pub fn add_error(errors: &mut FieldErrors, key: &str, message: &str) {
    let entry = errors.entry(key.to_string()).or_insert_with(|| json!([]));
    if let Value::Array(messages) = entry {
        messages.push(json!(message));
    }
}

fn descriptor_required(descriptor: &Value) -> bool {
    descriptor.get("required").and_then(Value::as_bool).unwrap_or(true)
}

fn option_values(descriptor: &Value) -> Vec<Value> {
    descriptor
        .get("options")
        .and_then(Value::as_array)
        .map(|options| options.iter().filter_map(|option| option.get("value").cloned()).collect())
        .unwrap_or_default()
}

/// Checks one value against one descriptor's type; returns messages for that key.
fn check_value(descriptor: &Value, value: &Value) -> Option<Value> {
    let kind = descriptor.get("type").and_then(Value::as_str).unwrap_or("string");
    let problem = match kind {
        "string" if !value.is_string() => Some("Not a valid string."),
        "boolean" if !value.is_boolean() => Some("Must be a valid boolean."),
        "int" if !(value.is_i64() || value.is_u64()) => Some("A valid integer is required."),
        "float" if !value.is_number() => Some("A valid number is required."),
        "date" => match value.as_str() {
            Some(text) if crate::clock::parse_date(text).is_some() => None,
            _ => Some("Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
        },
        "enum" => {
            if option_values(descriptor).contains(value) {
                None
            } else {
                return Some(json!([format!("\"{}\" is not a valid choice.", display(value))]));
            }
        }
        "array of strings" => match value.as_array() {
            Some(items) if items.iter().all(Value::is_string) => None,
            _ => Some("Expected a list of strings."),
        },
        "array of options" => match value.as_array() {
            Some(items) => {
                let allowed = option_values(descriptor);
                let invalid: Vec<Value> = items
                    .iter()
                    .filter(|item| !allowed.contains(item))
                    .map(|item| json!(format!("\"{}\" is not a valid choice.", display(item))))
                    .collect();
                return if invalid.is_empty() { None } else { Some(Value::Array(invalid)) };
            }
            None => Some("Expected a list of items."),
        },
        "array of files" => match value.as_array() {
            Some(items) if items.iter().all(|item| item.get("file_name").is_some_and(Value::is_string)) => None,
            _ => Some("Expected a list of file objects with a file_name."),
        },
        "repeating" => return check_rows(descriptor, value),
        _ => None,
    };
    problem.map(|message| json!([message]))
}

fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn check_rows(descriptor: &Value, value: &Value) -> Option<Value> {
    let Some(rows) = value.as_array() else {
        return Some(json!(["Expected a list of row objects."]));
    };
    let row_descriptors = descriptor.get("attributes").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut row_errors = Map::new();
    for (index, row) in rows.iter().enumerate() {
        let errors = match row.as_object() {
            Some(row) => check_object(&row_descriptors, row),
            None => {
                let mut errors = Map::new();
                add_error(&mut errors, "non_field_errors", "Expected an object for each row.");
                errors
            }
        };
        if !errors.is_empty() {
            row_errors.insert(index.to_string(), Value::Object(errors));
        }
    }
    if row_errors.is_empty() {
        None
    } else {
        Some(Value::Object(row_errors))
    }
}

/// Validates an object against flat descriptors (no nesting), reporting missing, null, wrongly
/// typed and unknown keys.
fn check_object(descriptors: &[Value], data: &Map<String, Value>) -> FieldErrors {
    let mut errors = Map::new();
    for descriptor in descriptors {
        let key = descriptor
            .get("child_variable")
            .or_else(|| descriptor.get("variable"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        match data.get(key) {
            None if descriptor_required(descriptor) => add_error(&mut errors, key, "This field is required."),
            None => {}
            Some(Value::Null) if descriptor_required(descriptor) => {
                add_error(&mut errors, key, "This field may not be null.")
            }
            Some(Value::Null) => {}
            Some(value) => {
                if let Some(problem) = check_value(descriptor, value) {
                    errors.insert(key.to_string(), problem);
                }
            }
        }
    }
    for key in data.keys() {
        let known = descriptors.iter().any(|descriptor| {
            descriptor.get("child_variable").or_else(|| descriptor.get("variable")).and_then(Value::as_str)
                == Some(key.as_str())
        });
        if !known {
            add_error(&mut errors, key, "This field is not a variable of the template.");
        }
    }
    errors
}

/// Validates `contract_data` against a template; an empty map means valid.
pub fn validate_contract_data(template: &Template, data: &Value) -> FieldErrors {
    let Some(data) = data.as_object() else {
        let mut errors = Map::new();
        add_error(&mut errors, "non_field_errors", "Invalid data. Expected a dictionary.");
        return errors;
    };
    let top_level: Vec<Value> =
        template.attributes.iter().filter(|descriptor| descriptor.get("parent_variable").is_none()).cloned().collect();
    let mut parents: Vec<String> = Vec::new();
    for descriptor in &template.attributes {
        if let Some(parent) = descriptor.get("parent_variable").and_then(Value::as_str) {
            if !parents.iter().any(|known| known == parent) {
                parents.push(parent.to_string());
            }
        }
    }
    let flat_data: Map<String, Value> = data
        .iter()
        .filter(|(key, _)| !parents.contains(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut errors = check_object(&top_level, &flat_data);
    for parent in &parents {
        let children: Vec<Value> = template
            .attributes
            .iter()
            .filter(|descriptor| descriptor.get("parent_variable").and_then(Value::as_str) == Some(parent.as_str()))
            .cloned()
            .collect();
        let parent_required = children
            .iter()
            .any(|descriptor| descriptor.get("parent_required").and_then(Value::as_bool).unwrap_or(false));
        match data.get(parent) {
            None | Some(Value::Null) if parent_required => add_error(&mut errors, parent, "This field is required."),
            None | Some(Value::Null) => {}
            Some(Value::Object(object)) => {
                let child_errors = check_object(&children, object);
                if !child_errors.is_empty() {
                    errors.insert(parent.clone(), Value::Object(child_errors));
                }
            }
            Some(_) => add_error(&mut errors, parent, "Invalid data. Expected a dictionary."),
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msa() -> Template {
        shipped_templates(1100).1.remove(1)
    }

    fn valid_msa_data() -> Value {
        json!({
            "agreement_date": "2026-03-28",
            "customer_legal_name": "Acme Widgets, Inc.",
            "contract_value": {"type": "USD", "value": 48000},
            "subscription_term": {"type": "MONTHS", "value": 12, "days": 365},
            "billing_frequency": "annually",
            "auto_renewal": true,
            "service_regions": ["US", "EU"],
            "billing_contact": {"name": "Avery Stone", "email": "ap@acme.example"},
            "pricing_schedule": [{"milestone": "Kickoff", "due_date": "2026-04-01", "amount": 12000.5}]
        })
    }

    #[test]
    fn accepts_a_complete_msa() {
        assert_eq!(validate_contract_data(&msa(), &valid_msa_data()), Map::new());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let mut data = valid_msa_data();
        data["agreement_date"] = json!("28/03/2026");
        data["billing_frequency"] = json!("weekly");
        data["contract_value"] = json!({"type": "XYZ"});
        data["pricing_schedule"] = json!([{"milestone": 3}]);
        data["mystery"] = json!(1);
        let object = data.as_object_mut().unwrap();
        object.remove("auto_renewal");
        let errors = validate_contract_data(&msa(), &data);
        for key in
            ["agreement_date", "billing_frequency", "contract_value", "pricing_schedule", "mystery", "auto_renewal"]
        {
            assert!(errors.contains_key(key), "missing error for {key}: {errors:?}");
        }
        assert!(errors["contract_value"].get("value").is_some());
    }
}
