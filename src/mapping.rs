//! Deal + template metadata → the create-contract request.
//!
//! Every value is encoded the way SpotDraft documents for its field type (docs/spotdraft-api.md §7), the
//! counterparty comes from the deal's account and primary contact with normalised names, and the
//! CRM ids go into `external_metadata`. All problems are collected, so a seller sees the whole list
//! of what to fix at once, and nothing is sent while any remain.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Map, Number, Value};

use crate::config::{Config, DealField, DurationUnit, Encoding, FieldMapping, FieldSource, TemplateConfig};
use crate::deal::{is_plausible_email, normalise_date, parse_decimal, Deal};
use crate::error::{Error, Problem, Result};
use crate::json_input::describe;
use crate::model::RecordKey;
use crate::names;
use crate::spotdraft::types::{
    CounterParty, CreateContractRequest, ExternalMetadata, OrganizationAddress, OrganizationDetails, PocDetails,
    TemplateAttribute, TemplateMetadata,
};
use crate::time;

/// Written to `external_metadata.integration_name`.
pub const INTEGRATION_NAME: &str = "spotdraft-crm";
pub const PLUGIN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What creating a contract from this deal would send, and everything standing in the way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub template_id: u64,
    pub template_label: String,
    /// True when there are no problems: the request below is exactly what create sends.
    pub can_create: bool,
    pub fields: Vec<PreviewField>,
    /// Blocking: missing required values, wrong types, unknown options, stage not allowed.
    #[cfg_attr(feature = "typescript", ts(type = "Array<Problem>"))]
    pub problems: Vec<Problem>,
    /// Not blocking, but worth knowing (e.g. an incomplete address left out).
    #[cfg_attr(feature = "typescript", ts(type = "Array<Problem>"))]
    pub warnings: Vec<Problem>,
    pub request: Option<CreateContractRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PreviewField {
    pub variable: String,
    pub label: String,
    /// The encoded `contract_data` value; null when the deal has no value for it.
    pub value: Value,
    /// Where the value came from (`deal.closeDate`, `custom.term_months`, `constant`).
    pub source: String,
}

/// Maps a deal onto a template without sending anything.
pub fn preview(config: &Config, template: &TemplateConfig, deal: &Deal, metadata: &TemplateMetadata) -> Preview {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if !config.stage_allows_creation(deal.stage.as_deref()) {
        problems.push(Problem::new("deal.stage", config.stage_not_allowed(deal.stage.as_deref()).to_string()));
    }
    let (contract_data, fields) = map_fields(template, deal, metadata, &mut problems);
    let counterparty = counterparty(template, deal, metadata, &mut problems, &mut warnings);
    let request = match counterparty {
        Some(counterparty) if problems.is_empty() => Some(CreateContractRequest {
            contract_template_id: template.template_id,
            contract_name: contract_name(template, deal),
            contract_data,
            counter_party_details: vec![counterparty],
            external_metadata: external_metadata(config, deal, Some(template.template_id)),
        }),
        _ => None,
    };
    Preview {
        template_id: template.template_id,
        template_label: template.label.clone(),
        can_create: request.is_some(),
        fields,
        problems,
        warnings,
        request,
    }
}

/// The request create sends, or every reason it can't be sent.
pub fn create_request(
    config: &Config,
    template_id: u64,
    deal: &Deal,
    metadata: &TemplateMetadata,
) -> Result<CreateContractRequest> {
    let template = config.template(template_id)?;
    if !config.stage_allows_creation(deal.stage.as_deref()) {
        return Err(config.stage_not_allowed(deal.stage.as_deref()));
    }
    let preview = preview(config, template, deal, metadata);
    preview.request.ok_or(Error::MappingFailed(preview.problems))
}

/// The key SpotDraft stores for this deal, e.g. `hubspot:4411223:deal:1001`.
pub fn record_key(config: &Config, deal: &Deal) -> RecordKey {
    RecordKey::for_deal(config.crm.host, &config.crm.account_id, &deal.id)
}

/// The CRM ids SpotDraft keeps with the contract, and the template it was made from (which
/// SpotDraft's contract listings do not carry; `crate::slots` needs it; `None` for a contract made
/// outside the CRM and linked to the deal afterwards, whose slot its contract type says).
pub fn external_metadata(config: &Config, deal: &Deal, template_id: Option<u64>) -> ExternalMetadata {
    let key = record_key(config, deal);
    ExternalMetadata {
        id: Some(Value::String(key.to_string())),
        integration_name: Some(INTEGRATION_NAME.to_string()),
        record_type: Some(config.crm.host.record_type().to_string()),
        record_data: Some(json!({
            "crm": config.crm.host.as_str(),
            "crm_account_id": config.crm.account_id,
            "deal_id": deal.id,
            "company_id": deal.account.as_ref().and_then(|a| a.id.clone()),
            "environment": config.environment.as_str(),
            "template_id": template_id,
            "plugin_version": PLUGIN_VERSION,
        })),
    }
}

fn contract_name(template: &TemplateConfig, deal: &Deal) -> String {
    let party = deal.account.as_ref().map(|a| names::organization_name(&a.name)).unwrap_or_else(|| deal.name.clone());
    format!("{} – {}", template.label, party)
}

/// How a configured variable is found in the template's metadata.
enum Target<'m> {
    /// A field of its own (possibly nested: `parent.child`).
    Field(&'m TemplateAttribute),
    /// A composite value SpotDraft describes as child fields (`fee.type`, `fee.value` with
    /// `parent_type: currency`).
    Group { parent_type: Option<&'m str> },
}

fn find_target<'m>(metadata: &'m TemplateMetadata, variable: &str) -> Option<Target<'m>> {
    if let Some(attribute) = metadata.attributes.iter().find(|a| a.variable == variable) {
        return Some(Target::Field(attribute));
    }
    let mut children = metadata.attributes.iter().filter(|a| a.parent_variable.as_deref() == Some(variable));
    let first = children.next()?;
    Some(Target::Group { parent_type: first.parent_type.as_deref() })
}

/// What a seller calls a composite field (a currency, a duration): the words its parts' labels
/// share ("Contract value amount", "Contract value currency" → "Contract value"), else its variable
/// name made readable (`contract_value` → "Contract value"); never the raw variable name.
fn group_label(metadata: &TemplateMetadata, variable: &str) -> String {
    let mut labels = metadata
        .attributes
        .iter()
        .filter(|a| a.parent_variable.as_deref() == Some(variable))
        .filter_map(|a| a.display_label.as_deref());
    let mut shared: Vec<&str> = labels.next().map(|first| first.split_whitespace().collect()).unwrap_or_default();
    for label in labels {
        let words: Vec<&str> = label.split_whitespace().collect();
        let common = shared.iter().zip(&words).take_while(|(a, b)| a.eq_ignore_ascii_case(b)).count();
        shared.truncate(common);
    }
    if !shared.is_empty() {
        return shared.join(" ");
    }
    let readable = variable.rsplit('.').next().unwrap_or(variable).replace('_', " ");
    let mut chars = readable.trim().chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_else(|| variable.to_string())
}

fn map_fields(
    template: &TemplateConfig,
    deal: &Deal,
    metadata: &TemplateMetadata,
    problems: &mut Vec<Problem>,
) -> (BTreeMap<String, Value>, Vec<PreviewField>) {
    let mut data: BTreeMap<String, Value> = BTreeMap::new();
    let mut fields = Vec::new();
    let mut provided: BTreeSet<String> = BTreeSet::new();
    for mapping in &template.fields {
        let path = format!("contract_data.{}", mapping.variable);
        let Some(target) = find_target(metadata, &mapping.variable) else {
            problems.push(Problem::new(
                path,
                format!("the template has no field \"{}\"; check the configuration", mapping.variable),
            ));
            continue;
        };
        let label = match &target {
            Target::Field(attribute) => attribute.label().to_string(),
            Target::Group { .. } => group_label(metadata, &mapping.variable),
        };
        let source_name = source_name(&mapping.source);
        let raw = resolve(&mapping.source, deal);
        let encoded = match &raw {
            None => None,
            Some(raw) => match encode(mapping, &target, raw, deal) {
                Ok(value) => Some(value),
                Err(message) => {
                    let from = describe_source(&mapping.source);
                    problems.push(Problem::new(&path, format!("{label}: {message} (from the deal's {from})")));
                    None
                }
            },
        };
        if raw.is_none() && target_is_required(&target, metadata, &mapping.variable) {
            problems.push(Problem::new(
                &path,
                format!("{label} is required, but the deal has no {}", describe_source(&mapping.source)),
            ));
        }
        fields.push(PreviewField {
            variable: mapping.variable.clone(),
            label,
            value: encoded.clone().unwrap_or(Value::Null),
            source: source_name,
        });
        if let Some(value) = encoded {
            mark_provided(&mut provided, metadata, &mapping.variable);
            insert_nested(&mut data, metadata, &mapping.variable, value);
        }
    }
    for attribute in unmapped(template, metadata, &provided) {
        problems.push(Problem::new(
            format!("contract_data.{}", attribute.variable),
            format!(
                "{} is required by the template but not mapped from any deal field; ask an admin to map it",
                attribute.label()
            ),
        ));
    }
    (data, fields)
}

/// The template's required variables no mapping fills, given the variables that have values.
fn unmapped<'m>(
    template: &TemplateConfig,
    metadata: &'m TemplateMetadata,
    provided: &BTreeSet<String>,
) -> Vec<&'m TemplateAttribute> {
    metadata
        .attributes
        .iter()
        .filter(|attribute| !provided.contains(&attribute.variable) && is_required_given(attribute, provided))
        .filter(|attribute| {
            !template.fields.iter().any(|f| {
                f.variable == attribute.variable || Some(f.variable.as_str()) == attribute.parent_variable.as_deref()
            })
        })
        .collect()
}

/// The required template variables the template's mapping leaves unfilled whatever the deal holds
/// (what an admin must still map), as `unmapped` finds them for a deal that fills every mapping.
pub fn required_unmapped(template: &TemplateConfig, metadata: &TemplateMetadata) -> Vec<String> {
    let mut provided = BTreeSet::new();
    for mapping in &template.fields {
        mark_provided(&mut provided, metadata, &mapping.variable);
    }
    unmapped(template, metadata, &provided).into_iter().map(|a| a.variable.clone()).collect()
}

fn target_is_required(target: &Target<'_>, metadata: &TemplateMetadata, variable: &str) -> bool {
    match target {
        Target::Field(attribute) => {
            attribute.is_required() && (attribute.parent_variable.is_none() || attribute.parent_required == Some(true))
        }
        Target::Group { .. } => metadata
            .attributes
            .iter()
            .filter(|a| a.parent_variable.as_deref() == Some(variable))
            .any(|a| a.is_required() && a.parent_required != Some(false)),
    }
}

/// Whether an attribute must be present, given which variables the mapping already provides:
/// a nested field is required only if its parent is required or a sibling is present.
fn is_required_given(attribute: &TemplateAttribute, provided: &BTreeSet<String>) -> bool {
    if !attribute.is_required() {
        return false;
    }
    match &attribute.parent_variable {
        None => true,
        Some(parent) => {
            attribute.parent_required == Some(true)
                || provided.iter().any(|v| v.strip_prefix(parent.as_str()).is_some_and(|rest| rest.starts_with('.')))
        }
    }
}

fn mark_provided(provided: &mut BTreeSet<String>, metadata: &TemplateMetadata, variable: &str) {
    provided.insert(variable.to_string());
    for child in metadata.attributes.iter().filter(|a| a.parent_variable.as_deref() == Some(variable)) {
        provided.insert(child.variable.clone());
    }
}

/// Puts `value` at `variable`, nesting `parent.child` variables under their parent object.
fn insert_nested(data: &mut BTreeMap<String, Value>, metadata: &TemplateMetadata, variable: &str, value: Value) {
    let attribute = metadata.attributes.iter().find(|a| a.variable == variable);
    let split = match attribute.and_then(|a| Some((a.parent_variable.as_deref()?, a.child_variable.as_deref()))) {
        Some((parent, Some(child))) => Some((parent.to_string(), child.to_string())),
        Some((parent, None)) => variable
            .strip_prefix(parent)
            .and_then(|r| r.strip_prefix('.'))
            .map(|child| (parent.to_string(), child.to_string())),
        None => None,
    };
    match split {
        Some((parent, child)) => {
            let slot = data.entry(parent).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(object) = slot {
                object.insert(child, value);
            }
        }
        None => {
            data.insert(variable.to_string(), value);
        }
    }
}

fn source_name(source: &FieldSource) -> String {
    match source {
        FieldSource::Deal(field) => field.name().to_string(),
        FieldSource::Custom(name) => format!("custom.{name}"),
        FieldSource::Constant(_) => "constant".to_string(),
    }
}

fn describe_source(source: &FieldSource) -> String {
    match source {
        FieldSource::Deal(field) => {
            let words = match field {
                DealField::DealId => "id",
                DealField::DealName => "name",
                DealField::Amount => "amount",
                DealField::Currency => "currency",
                DealField::Stage => "stage",
                DealField::CloseDate => "close date",
                DealField::OwnerName => "owner name",
                DealField::OwnerEmail => "owner email",
                DealField::AccountId => "company",
                DealField::AccountName => "company name",
                DealField::AccountAddress => "company address",
                DealField::AccountJurisdiction => "company jurisdiction",
                DealField::ContactFirstName => "primary contact first name",
                DealField::ContactLastName => "primary contact last name",
                DealField::ContactFullName => "primary contact name",
                DealField::ContactEmail => "primary contact email",
            };
            // Sellers read these: the words, not the configuration's `deal.closeDate` (which the
            // problem's path and the preview's `source` still carry for admins).
            words.to_string()
        }
        FieldSource::Custom(name) => format!("value for CRM property \"{name}\""),
        FieldSource::Constant(_) => "value".to_string(),
    }
}

/// The deal's raw value for a source; `None` when it is empty.
fn resolve(source: &FieldSource, deal: &Deal) -> Option<Value> {
    let text = |s: Option<&String>| s.filter(|s| !s.trim().is_empty()).map(|s| Value::String(s.clone()));
    let contact = deal.primary_contact.as_ref();
    let account = deal.account.as_ref();
    match source {
        FieldSource::Constant(value) => Some(value.clone()),
        FieldSource::Custom(name) => match deal.custom.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::Array(items)) if items.is_empty() => None,
            Some(value) => Some(value.clone()),
        },
        FieldSource::Deal(field) => match field {
            DealField::DealId => Some(Value::String(deal.id.clone())),
            DealField::DealName => Some(Value::String(deal.name.clone())),
            DealField::Amount => deal.amount.and_then(Number::from_f64).map(Value::Number),
            DealField::Currency => text(deal.currency.as_ref()),
            DealField::Stage => text(deal.stage.as_ref()),
            DealField::CloseDate => text(deal.close_date.as_ref()),
            DealField::OwnerName => text(deal.owner.as_ref().and_then(|o| o.name.as_ref())),
            DealField::OwnerEmail => text(deal.owner.as_ref().and_then(|o| o.email.as_ref())),
            DealField::AccountId => text(account.and_then(|a| a.id.as_ref())),
            DealField::AccountName => account.map(|a| Value::String(names::organization_name(&a.name))),
            DealField::AccountJurisdiction => text(account.and_then(|a| a.jurisdiction_iso_code.as_ref())),
            DealField::AccountAddress => account.and_then(|a| a.address.as_ref()).map(|address| {
                let parts = [
                    ("line_one", &address.line_one),
                    ("line_two", &address.line_two),
                    ("city", &address.city),
                    ("state", &address.state),
                    ("country", if address.country.is_some() { &address.country } else { &address.country_iso_code }),
                    ("zipcode", &address.zipcode),
                ];
                let fields =
                    parts.into_iter().filter_map(|(key, value)| Some((key.to_string(), Value::String(value.clone()?))));
                Value::Object(fields.collect())
            }),
            DealField::ContactFirstName => {
                contact.and_then(|c| c.first_name.as_ref()).map(|n| Value::String(names::person_name(n)))
            }
            DealField::ContactLastName => {
                contact.and_then(|c| c.last_name.as_ref()).map(|n| Value::String(names::person_name(n)))
            }
            DealField::ContactFullName => contact.and_then(|c| {
                let full = [c.first_name.as_deref(), c.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                (!full.trim().is_empty()).then(|| Value::String(names::person_name(&full)))
            }),
            DealField::ContactEmail => text(contact.and_then(|c| c.email.as_ref())),
        },
    }
}

/// The template field types each encoding may fill (v2.1 `CfPublicDescriptorType`).
fn accepts(encoding: &Encoding, kind: &str) -> bool {
    const KNOWN: &[&str] = &[
        "string",
        "boolean",
        "int",
        "float",
        "array of strings",
        "array of options",
        "enum",
        "date",
        "repeating",
        "array of files",
    ];
    match encoding {
        Encoding::String | Encoding::Datetime => kind == "string",
        Encoding::Number => kind == "int" || kind == "float",
        Encoding::Boolean => kind == "boolean",
        Encoding::Date => kind == "date",
        Encoding::Enum { .. } => kind == "enum",
        Encoding::MultiSelect { .. } => kind == "array of options" || kind == "array of strings",
        // v2.1 has no type name for these composite values; a field carrying one is described by
        // its v1 type name or as child fields (see `Target::Group`).
        Encoding::Currency { .. } => kind == "currency" || !KNOWN.contains(&kind),
        Encoding::Duration { .. } => kind == "duration" || !KNOWN.contains(&kind),
        Encoding::Address => kind == "address" || !KNOWN.contains(&kind),
    }
}

fn encoding_name(encoding: &Encoding) -> &'static str {
    match encoding {
        Encoding::String => "string",
        Encoding::Number => "number",
        Encoding::Boolean => "boolean",
        Encoding::Date => "date",
        Encoding::Datetime => "datetime",
        Encoding::Enum { .. } => "enum",
        Encoding::MultiSelect { .. } => "multiSelect",
        Encoding::Currency { .. } => "currency",
        Encoding::Duration { .. } => "duration",
        Encoding::Address => "address",
    }
}

fn encode(mapping: &FieldMapping, target: &Target<'_>, raw: &Value, deal: &Deal) -> std::result::Result<Value, String> {
    let encoding = &mapping.encoding;
    let attribute = match target {
        Target::Field(attribute) => {
            if !accepts(encoding, &attribute.kind) {
                return Err(format!(
                    "the template field is of type \"{}\", which a {} value can't fill; fix the mapping's encoding",
                    attribute.kind,
                    encoding_name(encoding)
                ));
            }
            Some(*attribute)
        }
        Target::Group { parent_type } => {
            let expected = encoding_name(encoding);
            let composite =
                matches!(encoding, Encoding::Currency { .. } | Encoding::Duration { .. } | Encoding::Address);
            if !composite || parent_type.is_some_and(|t| t != expected) {
                return Err(format!(
                    "the template field is a group of sub-fields ({}), which a {expected} value can't fill",
                    parent_type.unwrap_or("unknown type")
                ));
            }
            None
        }
    };
    match encoding {
        Encoding::String => {
            scalar_text(raw).map(Value::String).ok_or_else(|| format!("expected text, found {}", describe(raw)))
        }
        Encoding::Number => {
            let number = as_number(raw).ok_or_else(|| format!("expected a number, found {}", describe(raw)))?;
            if attribute.is_some_and(|a| a.kind == "int") {
                integer(number).map(Value::from).ok_or_else(|| format!("expected a whole number, found {number}"))
            } else {
                Number::from_f64(number).map(Value::Number).ok_or_else(|| "expected a finite number".to_string())
            }
        }
        Encoding::Boolean => {
            as_bool(raw).map(Value::Bool).ok_or_else(|| format!("expected true or false, found {}", describe(raw)))
        }
        Encoding::Date => normalise_date(raw)
            .map(Value::String)
            .ok_or_else(|| format!("expected a date (YYYY-MM-DD), found {}", describe(raw))),
        Encoding::Datetime => as_datetime(raw)
            .map(Value::String)
            .ok_or_else(|| format!("expected a date and time (ISO 8601), found {}", describe(raw))),
        Encoding::Enum { options } => {
            let text = scalar_text(raw).ok_or_else(|| format!("expected one option, found {}", describe(raw)))?;
            choose_option(attribute, options, &text)
        }
        Encoding::MultiSelect { options } => {
            let choices: Vec<String> = match raw {
                Value::Array(items) => items
                    .iter()
                    .map(|item| scalar_text(item).ok_or_else(|| format!("expected options, found {}", describe(item))))
                    .collect::<std::result::Result<_, _>>()?,
                other => scalar_text(other)
                    .ok_or_else(|| format!("expected a list of options, found {}", describe(other)))?
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            choices
                .iter()
                .map(|choice| choose_option(attribute, options, choice))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Encoding::Currency { currency } => {
            let value = as_number(raw).ok_or_else(|| format!("expected an amount, found {}", describe(raw)))?;
            let code = currency
                .clone()
                .or_else(|| deal.currency.clone())
                .ok_or("the deal has no currency and the mapping names none")?;
            let value = Number::from_f64(value).ok_or("expected a finite amount")?;
            Ok(json!({"type": code, "value": value}))
        }
        Encoding::Duration { unit } => {
            let count = as_number(raw)
                .and_then(integer)
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("expected a whole number of {}, found {}", unit_name(*unit), describe(raw)))?;
            Ok(json!({"days": duration_days(*unit, count), "type": unit_name(*unit).to_uppercase(), "value": count}))
        }
        Encoding::Address => match raw {
            Value::Object(address) if address.get("line_one").is_some() || address.get("city").is_some() => {
                Ok(raw.clone())
            }
            _ => Err(format!("expected an address with at least a street line or city, found {}", describe(raw))),
        },
    }
}

fn unit_name(unit: DurationUnit) -> &'static str {
    match unit {
        DurationUnit::Days => "days",
        DurationUnit::Months => "months",
        DurationUnit::Years => "years",
    }
}

/// SpotDraft's examples pair 6 MONTHS with 180 days, 12 MONTHS with 365 and 2 YEARS with 730:
/// whole years count 365 days, other months 30.
pub fn duration_days(unit: DurationUnit, count: i64) -> i64 {
    match unit {
        DurationUnit::Days => count,
        DurationUnit::Years => count.saturating_mul(365),
        DurationUnit::Months if count % 12 == 0 => (count / 12).saturating_mul(365),
        DurationUnit::Months => count.saturating_mul(30),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_decimal(s.trim()),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn integer(number: f64) -> Option<i64> {
    (number.fract() == 0.0 && number.abs() < 9.0e15).then_some(number as i64)
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn as_datetime(value: &Value) -> Option<String> {
    let micros = match value {
        Value::String(s) => {
            let s = s.trim();
            time::parse_timestamp(s).or_else(|| s.parse::<i64>().ok().and_then(|ms| ms.checked_mul(1000)))
        }
        Value::Number(n) => n.as_i64().and_then(|ms| ms.checked_mul(1000)),
        _ => None,
    }?;
    time::format_timestamp(micros)
}

/// The option *value* for a CRM value: the mapping's translation first, then an exact option
/// value, then an option label ignoring case.
fn choose_option(
    attribute: Option<&TemplateAttribute>,
    translations: &BTreeMap<String, String>,
    crm_value: &str,
) -> std::result::Result<Value, String> {
    let wanted = translations.get(crm_value).map(String::as_str).unwrap_or(crm_value);
    let options = attribute.and_then(|a| a.options.as_deref()).unwrap_or_default();
    if options.is_empty() {
        return Ok(Value::String(wanted.to_string()));
    }
    let by_value = options.iter().find(|o| scalar_text(&o.value).as_deref() == Some(wanted));
    let by_label =
        || options.iter().find(|o| o.label.as_deref().is_some_and(|l| l.trim().eq_ignore_ascii_case(wanted)));
    match by_value.or_else(by_label) {
        Some(option) => Ok(option.value.clone()),
        None => {
            let listed: Vec<String> = options
                .iter()
                .map(|o| match (&o.label, scalar_text(&o.value)) {
                    (Some(label), Some(value)) if *label != value => format!("{label} ({value})"),
                    (_, Some(value)) => value,
                    (Some(label), None) => label.clone(),
                    (None, None) => "?".into(),
                })
                .collect();
            Err(format!("\"{crm_value}\" is not one of its options: {}", listed.join(", ")))
        }
    }
}

fn counterparty(
    template: &TemplateConfig,
    deal: &Deal,
    metadata: &TemplateMetadata,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<CounterParty> {
    let kind = metadata.counter_party_kind.as_deref().unwrap_or("Both");
    let individual = match (kind, &deal.account) {
        ("Individual", _) => true,
        ("Organisation" | "Organization", None) => {
            problems.push(Problem::new(
                "deal.account",
                "this template is for organisations: associate a company with the deal",
            ));
            return None;
        }
        (_, account) => account.is_none(),
    };
    let Some(contact) = &deal.primary_contact else {
        problems.push(Problem::new(
            "deal.primaryContact",
            "associate a primary contact with the deal: SpotDraft sends the contract to them",
        ));
        return None;
    };
    let first_name = contact.first_name.as_deref().map(names::person_name).filter(|n| !n.is_empty());
    let email = contact.email.clone().filter(|e| is_plausible_email(e));
    if first_name.is_none() {
        problems.push(Problem::new("deal.primaryContact.firstName", "the primary contact needs a first name"));
    }
    if email.is_none() {
        problems.push(Problem::new("deal.primaryContact.email", "the primary contact needs an email address"));
    }
    let poc_details = PocDetails {
        first_name: first_name?,
        last_name: contact.last_name.as_deref().map(names::person_name).unwrap_or_default(),
        email: email?,
    };
    if individual {
        return Some(CounterParty {
            is_individual: true,
            organization_type: None,
            organization_name: None,
            poc_details,
            organization_details: None,
        });
    }
    let account = deal.account.as_ref()?;
    let organization_name = names::organization_name(&account.name);
    let address = account.address.as_ref().and_then(|a| match (&a.line_one, &a.city, &a.country_iso_code) {
        (Some(line_one), Some(city), Some(country)) => Some(OrganizationAddress {
            line_one: line_one.clone(),
            line_two: a.line_two.clone(),
            city: city.clone(),
            state: a.state.clone(),
            country_iso_code: country.clone(),
            zipcode: a.zipcode.clone(),
        }),
        _ => {
            warnings.push(Problem::new(
                "deal.account.address",
                "the company address needs a street line, city and country code; sent without an address",
            ));
            None
        }
    });
    let organization_details = (address.is_some() || account.jurisdiction_iso_code.is_some())
        .then(|| OrganizationDetails { jurisdiction_iso_code: account.jurisdiction_iso_code.clone(), address });
    Some(CounterParty {
        is_individual: false,
        organization_type: template.organization_type.clone(),
        organization_name: Some(organization_name),
        poc_details,
        organization_details,
    })
}
