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

use serde::Serialize;

use super::{
    checked_base, crm_error, error_from_answer, hubspot, json_body, pipedrive, request, send, zoho, CrmEndpoint,
    FieldNames,
};
use crate::error::{Error, Problem, Result};
use crate::model::CrmHost;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport};

/// One SpotDraft value's field, as provisioning creates it.
pub struct FieldSpec {
    /// The value's key in `crm.fields`.
    pub key: &'static str,
    /// The label admins and sellers see; Zoho derives the API name from it.
    pub label: &'static str,
    pub description: &'static str,
}

/// The five values the write-back fills, in `crm.fields` order.
pub const FIELD_SPECS: [FieldSpec; 5] = [
    FieldSpec {
        key: "contractId",
        label: "SpotDraft Contract ID",
        description: "The SpotDraft contract (T-…) this deal's contract is.",
    },
    FieldSpec {
        key: "status",
        label: "SpotDraft Status",
        description: "The contract's status in SpotDraft, kept current by the relay.",
    },
    FieldSpec {
        key: "statusAt",
        label: "SpotDraft Status At",
        description: "When SpotDraft last changed the contract's status.",
    },
    FieldSpec { key: "link", label: "SpotDraft Link", description: "The contract in SpotDraft's web app." },
    FieldSpec { key: "executedAt", label: "SpotDraft Executed At", description: "When the contract was executed." },
];

/// HubSpot's property group for them.
pub const HUBSPOT_GROUP: (&str, &str) = ("spotdraft", "SpotDraft");

/// What one provisioning run found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionReport {
    pub crm: &'static str,
    pub dry_run: bool,
    pub steps: Vec<ProvisionStep>,
    /// The names `crm.fields` must hold, once every field exists (after a dry run that would create a
    /// Pipedrive or Zoho field, its name is not known yet: `None`).
    pub fields: Option<FieldNames>,
    /// Whether `fields` differs from the configured names: the configuration must then be changed.
    pub configuration_changes: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionStep {
    /// `group` (HubSpot's property group) or `field`.
    pub kind: &'static str,
    /// The `crm.fields` key, for a field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'static str>,
    /// The CRM's name for it (property name, field key, API name); empty until a new one is made.
    pub name: String,
    pub label: String,
    pub action: StepAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StepAction {
    /// Already there, as configured.
    Exists,
    /// Already there under the same label, with another name than the configured one.
    FoundByLabel,
    /// Missing; a dry run stops here.
    WouldCreate,
    Created,
}

/// A field as the CRM lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExistingField {
    pub name: String,
    pub label: String,
    /// The CRM's type name, for messages.
    pub type_name: String,
    /// Whether it holds plain text (the write-back writes text).
    pub holds_text: bool,
}

/// The most pages of Pipedrive's field list read (500 fields each).
const MAX_PAGES: u32 = 20;

/// Reads the CRM's fields, plans, and (unless `dry_run`) creates what is missing.
pub async fn provision_fields<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    configured: &FieldNames,
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
    let configured_names = configured.pairs();
    let mut plan = Vec::new();
    let mut problems = Vec::new();
    for (spec, (_, name)) in FIELD_SPECS.iter().zip(configured_names.iter()) {
        let by_name = existing.iter().find(|field| field.name == *name);
        // HubSpot names its properties as configured, so only there is a missing name made as is.
        let by_label = || {
            (host != CrmHost::Hubspot)
                .then(|| existing.iter().find(|field| field.label.eq_ignore_ascii_case(spec.label)))
                .flatten()
        };
        let (found, action) = match by_name {
            Some(field) => (Some(field), StepAction::Exists),
            None => match by_label() {
                Some(field) => (Some(field), StepAction::FoundByLabel),
                None => (None, StepAction::WouldCreate),
            },
        };
        if let Some(field) = found.filter(|field| !field.holds_text) {
            problems.push(Problem::new(
                format!("crm.fields.{}", spec.key),
                format!(
                    "{} has a field \"{}\" ({}) of type {}, which cannot hold text; choose another field or change its type",
                    host.display_name(),
                    field.name,
                    field.label,
                    field.type_name
                ),
            ));
        }
        let name = match (found, host) {
            (Some(field), _) => field.name.clone(),
            (None, CrmHost::Hubspot) => name.to_string(),
            (None, _) => String::new(),
        };
        plan.push(ProvisionStep { kind: "field", value: Some(spec.key), name, label: spec.label.into(), action });
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
            kind: "group",
            value: None,
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
    for (mut step, spec) in plan.into_iter().zip(FIELD_SPECS.iter()) {
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
        for step in steps.iter_mut().filter(|step| step.kind == "field" && step.name.is_empty()) {
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
    let names: Vec<&str> = steps.iter().filter(|step| step.kind == "field").map(|step| step.name.as_str()).collect();
    let fields = match names.as_slice() {
        [contract_id, status, status_at, link, executed_at] if names.iter().all(|name| !name.is_empty()) => {
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
    let configuration_changes = fields.as_ref() != Some(configured);
    Ok(ProvisionReport { crm: host.display_name(), dry_run, steps, fields, configuration_changes })
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
