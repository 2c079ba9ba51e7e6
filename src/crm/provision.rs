//! Provisioning: the CRM fields the write-back fills, made where the CRM's API allows it (HubSpot
//! deal properties in a group of their own, Pipedrive deal fields, Zoho CRM Deals fields).
//!
//! It reads what exists first and creates only what is missing; it never changes, renames or deletes
//! a field, so running it twice creates each field once. Every conflict (a configured field that
//! exists with a type that cannot hold text) is found before anything is created, so a refused run
//! changes nothing. With `dry_run` it only reports what it would create. Salesforce's fields come
//! with its package (`www/hosts/salesforce`), so there is nothing to provision through its API.
//!
//! Pipedrive names a new custom field with a key of its own and Zoho derives the API name from the
//! label, so where a configured name is not found a field with the same label is taken (the only
//! identity an admin gives a field there), and the report gives the names `crm.fields` must hold.

use crate::shell_types::{shell_enum, shell_struct};

use super::{
    checked_base, crm_error, error_from_answer, hubspot, json_body, pipedrive, request, send, zoho, CrmEndpoint,
    FieldNames,
};
use crate::error::{Error, Problem, Result};
use crate::model::CrmHost;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport};

shell_enum! {
    /// What a field holds, as far as provisioning tells types apart.
    pub enum FieldKind as "ProvisionFieldKind" {
        Text => "text",
        Date => "date",
        Number => "number",
    }
}

impl FieldKind {
    /// The kind a key term's values are written as (`crate::key_terms`): dates as dates, amounts and
    /// durations as numbers, the rest (text, currency codes, yes/no, options) as text.
    pub fn of_key_term(conversion: &crate::key_terms::Conversion) -> FieldKind {
        use crate::key_terms::Conversion;
        match conversion {
            Conversion::Date => FieldKind::Date,
            Conversion::Amount | Conversion::Months | Conversion::Days => FieldKind::Number,
            _ => FieldKind::Text,
        }
    }

    /// Whether an existing field of kind `found` can hold what is written as `self` (text holds
    /// anything the relay writes).
    fn fits_in(self, found: Option<FieldKind>) -> bool {
        found == Some(self) || found == Some(FieldKind::Text)
    }

    fn name(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Date => "a date",
            FieldKind::Number => "a number",
        }
    }
}

/// One SpotDraft value's field, as provisioning creates it.
pub struct FieldSpec {
    /// Where its name is configured: `crm.fields.<key>`, or `crm.keyTerms[i].field`.
    pub key: String,
    /// The label admins and sellers see; Zoho derives the API name from it.
    pub label: String,
    pub description: String,
    pub kind: FieldKind,
}

const CONTRACT_FIELDS: [(&str, &str, &str); 5] = [
    ("contractId", "SpotDraft Contract ID", "The SpotDraft contract (T-…) this deal's contract is."),
    ("status", "SpotDraft Status", "The contract's status in SpotDraft, kept current by the relay."),
    ("statusAt", "SpotDraft Status At", "When SpotDraft last changed the contract's status."),
    ("link", "SpotDraft Link", "The contract in SpotDraft's web app."),
    ("executedAt", "SpotDraft Executed At", "When the contract was executed."),
];

/// The five values the write-back fills, in `crm.fields` order, then the key terms' fields.
pub fn field_specs(key_terms: &[crate::key_terms::KeyTerm]) -> Vec<FieldSpec> {
    let contract = CONTRACT_FIELDS.iter().map(|(key, label, description)| FieldSpec {
        key: format!("crm.fields.{key}"),
        label: (*label).into(),
        description: (*description).into(),
        kind: FieldKind::Text,
    });
    let terms = key_terms.iter().enumerate().map(|(index, term)| FieldSpec {
        key: format!("crm.keyTerms[{index}].field"),
        label: format!("SpotDraft {}", words(&term.key_pointer)),
        description: format!("SpotDraft's key pointer {} of the executed contract.", term.key_pointer),
        kind: FieldKind::of_key_term(&term.conversion),
    });
    contract.chain(terms).collect()
}

/// `governing_law` → `Governing Law`.
fn words(name: &str) -> String {
    name.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// HubSpot's property group for them.
pub const HUBSPOT_GROUP: (&str, &str) = ("spotdraft", "SpotDraft");

shell_struct! {
    /// What one provisioning run found and did.
    pub struct ProvisionReport as "ProvisionReport" {
        crm: String => "crm",
        dry_run: bool => "dryRun",
        steps: Vec<ProvisionStep> => "steps",
        /// The names `crm.fields` must hold, once every field exists (after a dry run that would
        /// create a Pipedrive or Zoho field, its name is not known yet: null).
        fields: Option<FieldNames> => "fields",
        /// The name each key term's `field` must hold, in `crm.keyTerms` order (null: not known yet).
        key_term_fields: Vec<Option<String>> => "keyTermFields",
        /// Whether `fields` or a key term's field differs from the configured names: the
        /// configuration must then be changed.
        configuration_changes: bool => "configurationChanges",
    }
}

shell_struct! {
    /// One thing provisioning found or made: HubSpot's property group, or one value's field.
    pub struct ProvisionStep as "ProvisionStep" {
        kind: StepKind => "kind",
        /// Where the field's name is configured (`crm.fields.status`, `crm.keyTerms[0].field`); null
        /// for the group.
        value: Option<String> => "value",
        /// What the field holds; null for the group.
        holds: Option<FieldKind> => "holds",
        /// The CRM's name for it (property name, field key, API name); empty until a new Pipedrive
        /// or Zoho field is made.
        name: String => "name",
        label: String => "label",
        action: StepAction => "action",
    }
}

shell_enum! {
    /// HubSpot's property group, or a field.
    pub enum StepKind as "ProvisionStepKind" {
        Group => "group",
        Field => "field",
    }
}

shell_enum! {
    /// Already there as configured; there under the same label with another name than the
    /// configured one; missing (a dry run stops here); created.
    pub enum StepAction as "ProvisionAction" {
        Exists => "exists",
        FoundByLabel => "foundByLabel",
        WouldCreate => "wouldCreate",
        Created => "created",
    }
}

/// A field as the CRM lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExistingField {
    pub name: String,
    pub label: String,
    /// The CRM's type name, for messages.
    pub type_name: String,
    /// What it holds, when it is text, a date or a number.
    pub holds: Option<FieldKind>,
}

/// The most pages of Pipedrive's field list read (500 fields each).
const MAX_PAGES: u32 = 20;

/// Reads the CRM's fields, plans, and (unless `dry_run`) creates what is missing.
pub async fn provision_fields<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    configured: &FieldNames,
    key_terms: &[crate::key_terms::KeyTerm],
    dry_run: bool,
) -> Result<ProvisionReport> {
    let base = checked_base(endpoint)?;
    let host = endpoint.host;
    if host == CrmHost::Salesforce {
        return Err(Error::invalid_input(
            "crm",
            "Salesforce's fields come with its package (www/hosts/salesforce); deploy it instead of provisioning",
        ));
    }
    let existing = list_fields(transport, endpoint, &base).await?;
    let specs = field_specs(key_terms);
    let configured_names: Vec<&str> = configured
        .pairs()
        .iter()
        .map(|(_, name)| *name)
        .chain(key_terms.iter().map(|term| term.field.as_str()))
        .collect();
    let mut plan = Vec::new();
    let mut problems = Vec::new();
    for (spec, name) in specs.iter().zip(configured_names.iter()) {
        let by_name = existing.iter().find(|field| field.name == *name);
        // HubSpot names its properties as configured, so only there is a missing name made as is.
        let by_label = || {
            (host != CrmHost::Hubspot)
                .then(|| existing.iter().find(|field| field.label.eq_ignore_ascii_case(&spec.label)))
                .flatten()
        };
        let (found, action) = match by_name {
            Some(field) => (Some(field), StepAction::Exists),
            None => match by_label() {
                Some(field) => (Some(field), StepAction::FoundByLabel),
                None => (None, StepAction::WouldCreate),
            },
        };
        if let Some(field) = found.filter(|field| !spec.kind.fits_in(field.holds)) {
            problems.push(Problem::new(
                spec.key.clone(),
                format!(
                    "{} has a field \"{}\" ({}) of type {}, which cannot hold {}; choose another field or change its type",
                    host.display_name(),
                    field.name,
                    field.label,
                    field.type_name,
                    spec.kind.name()
                ),
            ));
        }
        let name = match (found, host) {
            (Some(field), _) => field.name.clone(),
            (None, CrmHost::Hubspot) => name.to_string(),
            (None, _) => String::new(),
        };
        plan.push(ProvisionStep {
            kind: StepKind::Field,
            value: Some(spec.key.clone()),
            holds: Some(spec.kind),
            name,
            label: spec.label.clone(),
            action,
        });
    }
    if !problems.is_empty() {
        return Err(Error::InvalidConfig(problems));
    }
    let mut steps = Vec::new();
    let creating = plan.iter().any(|step| step.action == StepAction::WouldCreate);
    if host == CrmHost::Hubspot && creating {
        let groups = hubspot_groups(transport, endpoint, &base).await?;
        let (group, label) = HUBSPOT_GROUP;
        let exists = groups.iter().any(|name| name == group);
        let mut step = ProvisionStep {
            kind: StepKind::Group,
            value: None,
            holds: None,
            name: group.into(),
            label: label.into(),
            action: if exists { StepAction::Exists } else { StepAction::WouldCreate },
        };
        if !exists && !dry_run {
            let (url, body) = hubspot::create_group(&base, group, label);
            create(transport, endpoint, url, body).await?;
            step.action = StepAction::Created;
        }
        steps.push(step);
    }
    for (mut step, spec) in plan.into_iter().zip(specs.iter()) {
        if step.action == StepAction::WouldCreate && !dry_run {
            let (url, body) = match host {
                CrmHost::Hubspot => hubspot::create_property(&base, &step.name, spec, HUBSPOT_GROUP.0),
                CrmHost::Pipedrive => pipedrive::create_field(&base, spec),
                _ => zoho::create_field(&base, spec),
            };
            let answer = create(transport, endpoint, url, body).await?;
            step.action = StepAction::Created;
            if host == CrmHost::Pipedrive {
                step.name = pipedrive::created_key(&answer).map_err(|reason| crm_error(host, 200, reason))?;
            }
        }
        steps.push(step);
    }
    // Zoho names a new field itself: read the list again to learn what it chose.
    if host == CrmHost::Zoho && steps.iter().any(|step| step.action == StepAction::Created && step.name.is_empty()) {
        let now = list_fields(transport, endpoint, &base).await?;
        for step in steps.iter_mut().filter(|step| step.kind == StepKind::Field && step.name.is_empty()) {
            match now.iter().find(|field| field.label.eq_ignore_ascii_case(&step.label)) {
                Some(field) => step.name = field.name.clone(),
                None => {
                    return Err(crm_error(
                        host,
                        200,
                        format!("the field \"{}\" was created but is not in the field list", step.label),
                    ))
                }
            }
        }
    }
    let names: Vec<&str> =
        steps.iter().filter(|step| step.kind == StepKind::Field).map(|step| step.name.as_str()).collect();
    let (contract_names, term_names) = names.split_at(names.len().min(CONTRACT_FIELDS.len()));
    let key_term_fields: Vec<Option<String>> =
        term_names.iter().map(|name| (!name.is_empty()).then(|| name.to_string())).collect();
    let fields = match contract_names {
        [contract_id, status, status_at, link, executed_at] if contract_names.iter().all(|name| !name.is_empty()) => {
            Some(FieldNames {
                contract_id: contract_id.to_string(),
                status: status.to_string(),
                status_at: status_at.to_string(),
                link: link.to_string(),
                executed_at: executed_at.to_string(),
            })
        }
        _ => None,
    };
    let terms_differ =
        key_terms.iter().zip(&key_term_fields).any(|(term, found)| found.as_deref() != Some(term.field.as_str()));
    let configuration_changes = fields.as_ref() != Some(configured) || terms_differ;
    Ok(ProvisionReport {
        crm: host.display_name().into(),
        dry_run,
        steps,
        fields,
        key_term_fields,
        configuration_changes,
    })
}

/// Every field of the CRM's deal object.
async fn list_fields<T: Transport>(transport: &T, endpoint: &CrmEndpoint, base: &str) -> Result<Vec<ExistingField>> {
    let host = endpoint.host;
    let mut fields = Vec::new();
    let mut page = 0;
    let mut next = Some(0u64);
    while let Some(start) = next {
        page += 1;
        if page > MAX_PAGES {
            return Err(crm_error(host, 200, format!("the deal field list runs past {MAX_PAGES} pages")));
        }
        let url = match host {
            CrmHost::Hubspot => hubspot::properties_url(base),
            CrmHost::Pipedrive => pipedrive::fields_url(base, start),
            _ => zoho::fields_url(base),
        };
        let body = get(transport, endpoint, url).await?;
        let read = match host {
            CrmHost::Hubspot => hubspot::read_properties(&body).map(|found| (found, None)),
            CrmHost::Pipedrive => pipedrive::read_fields(&body),
            _ => zoho::read_fields(&body).map(|found| (found, None)),
        };
        let (found, more) = read.map_err(|reason| crm_error(host, 200, reason))?;
        fields.extend(found);
        next = more;
    }
    Ok(fields)
}

async fn hubspot_groups<T: Transport>(transport: &T, endpoint: &CrmEndpoint, base: &str) -> Result<Vec<String>> {
    let body = get(transport, endpoint, hubspot::groups_url(base)).await?;
    hubspot::read_groups(&body).map_err(|reason| crm_error(endpoint.host, 200, reason))
}

async fn get<T: Transport>(transport: &T, endpoint: &CrmEndpoint, url: String) -> Result<serde_json::Value> {
    let answer = send(transport, endpoint, request(endpoint, Method::Get, url, None)).await?;
    successful_json(endpoint, &answer)
}

async fn create<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    url: String,
    body: serde_json::Value,
) -> Result<serde_json::Value> {
    let bytes = serde_json::to_vec(&body).map_err(|e| Error::invalid_input("field", e.to_string()))?;
    let post: HttpRequest = request(endpoint, Method::Post, url, Some(bytes));
    let answer = send(transport, endpoint, post).await?;
    let body = successful_json(endpoint, &answer)?;
    // Zoho answers 2xx for the request and reports each field's outcome on its own.
    if endpoint.host == CrmHost::Zoho {
        zoho::check_created(&body).map_err(|reason| crm_error(endpoint.host, answer.status, reason))?;
    }
    if endpoint.host == CrmHost::Pipedrive {
        pipedrive::check_write(&body).map_err(|reason| crm_error(endpoint.host, answer.status, reason))?;
    }
    Ok(body)
}

fn successful_json(endpoint: &CrmEndpoint, answer: &HttpResponse) -> Result<serde_json::Value> {
    if !(200..300).contains(&answer.status) {
        return Err(error_from_answer(endpoint.host, answer));
    }
    json_body(endpoint.host, answer)
}
