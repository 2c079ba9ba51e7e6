//! What an admin's setup needs from the relay (`/admin/{env}/…`, the environment's `adminSecret`):
//! SpotDraft's templates with their variables, and a preview of a draft template mapping on a real
//! deal, computed by the same core code a create runs (`mapping::preview`) before anything is
//! saved. Nothing here changes the configuration.
//!
//! - `GET /admin/{env}/templates`: every template of the workspace, whether the configuration offers
//!   it, and its variables (name, label, type, required) from its metadata.
//! - `GET /admin/{env}/deal?id=…&custom=…`: a deal as the relay reads it from the CRM (what the
//!   console's own preview maps, in the page's WebAssembly).
//! - `POST /admin/{env}/preview` `{"template": {…a templates[] entry…}, "dealId": "…"}`: the draft
//!   read exactly as the configuration reader reads a template (its problems located under
//!   `template.`), the deal read from the CRM, and what a create would send, variable by variable,
//!   or the exact problem.
//! - `GET /admin/{env}/crm`: the CRM's deal pipelines and stages (each stage's value is what
//!   `creationStages` compare), its deal, company and contact field definitions (a deal field's name
//!   is what a mapping's `custom.<name>` reads) and the CRM field behind each canonical source, read
//!   from the CRM's own API (`crm::read_schema`).
//! - `GET /admin/{env}/deals?q=…`: up to 10 deals whose name matches `q` (2 to 100 characters), found
//!   by the CRM's own search API (`crm::search_deals`), each with its id, name, stage (the value the
//!   deal reader reads) and that stage's configured label, for the console's deal picker.

use serde_json::{json, Value};

use super::{EnvironmentRuntime, Relay, RelayRequest};
use crate::config::TemplateConfig;
use crate::error::{Error, Result};
use crate::transport::Transport;

/// The workspace's templates (the admin checked by the route).
pub(super) async fn templates<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>) -> Result<Value> {
    let offered = &env.plugin().templates;
    let mut out = Vec::new();
    for template in env.client.templates().await? {
        let metadata = super::api::metadata(env, template.id, relay.now_ms()).await?;
        let variables: Vec<Value> = metadata
            .attributes
            .iter()
            .map(|a| {
                json!({
                    "variable": a.variable,
                    "label": a.display_label,
                    "type": a.kind,
                    // The spec's default is true.
                    "required": a.required.unwrap_or(true),
                    "parent": a.parent_variable,
                })
            })
            .collect();
        out.push(json!({
            "templateId": template.id,
            "name": template.name,
            "contractTypeId": template.contract_type_id,
            "offered": offered.iter().any(|t| t.template_id == template.id),
            "variables": variables,
            // As SpotDraft answers it: what the console's own preview (the core, in the page) maps onto.
            "metadata": metadata,
        }));
    }
    Ok(json!({ "templates": out }))
}

/// `GET /admin/{env}/deal?id=…[&custom=a,b]`: the canonical deal as the relay reads it from the CRM,
/// with the custom deal properties a draft maps (each a CRM property name), for the console's preview.
pub(super) async fn deal<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
) -> Result<Value> {
    let deal_id = request
        .query("id")
        .filter(|id| crate::model::is_valid_crm_id(id))
        .ok_or_else(|| Error::invalid_input("id", "the CRM id of a deal is required"))?;
    let custom: Vec<String> = request
        .query("custom")
        .map(|list| list.split(',').map(str::trim).filter(|name| !name.is_empty()).map(String::from).collect())
        .unwrap_or_default();
    let property_name = |name: &str| name.len() <= 100 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if let Some(name) = custom.iter().find(|name| !property_name(name)) {
        return Err(Error::invalid_input("custom", format!("\"{name}\" is not a CRM property name")));
    }
    if custom.len() > 100 {
        return Err(Error::invalid_input("custom", "at most 100 properties"));
    }
    let value = crate::crm::read_deal(&*relay.transport, &env.config.crm, deal_id.as_str(), &custom).await?;
    // Read as a create reads it, so a deal the core cannot read is said here, not at the preview.
    crate::deal::Deal::from_json(&value)?;
    Ok(json!({ "deal": value }))
}

/// A draft template previewed on a deal (the admin checked by the route).
pub(super) async fn preview<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
) -> Result<Value> {
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| Error::invalid_input("body", format!("is not JSON ({e})")))?;
    let deal_id = body
        .get("dealId")
        .and_then(Value::as_str)
        .filter(|id| crate::model::is_valid_crm_id(id))
        .ok_or_else(|| Error::invalid_input("dealId", "the CRM id of a deal to preview on is required"))?;
    let draft =
        body.get("template").ok_or_else(|| Error::invalid_input("template", "the draft template is required"))?;
    let template = TemplateConfig::from_json(draft, "template")?;
    // The draft stands in for the saved template of the same id (or joins the offered ones), so the
    // plugin-wide rules (creation stages, slots) apply to it as they would once saved.
    let mut plugin = (*env.plugin()).clone();
    plugin.templates.retain(|t| t.template_id != template.template_id);
    plugin.templates.push(template.clone());
    let deal = super::api::crm_deal(relay, env, deal_id).await?;
    let metadata = super::api::metadata(env, template.template_id, relay.now_ms()).await?;
    Ok(json!({
        "dealId": deal.id,
        "dealName": deal.name,
        "preview": crate::mapping::preview(&plugin, &template, &deal, &metadata),
    }))
}

/// The CRM's stages and field definitions (the admin checked by the route): `{"crm": "<host>",
/// "stages", "dealFields", "companyFields", "contactFields", "standard"}`.
pub(super) async fn crm_schema<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>) -> Result<Value> {
    let schema = crate::crm::read_schema(&*relay.transport, &env.config.crm).await?;
    Ok(json!({
        "crm": env.config.crm.host.as_str(),
        "stages": schema.stages,
        "dealFields": schema.deal_fields,
        "companyFields": schema.company_fields,
        "contactFields": schema.contact_fields,
        "standard": schema.standard,
    }))
}

/// How many deals the picker offers for one search.
const DEAL_PICKS: usize = 10;

/// `GET /admin/{env}/deals?q=…` (the admin checked by the route): `{"deals": [{"id", "name", "stage",
/// "stageLabel"}]}`, the stage's configured label, else its value (`null` for a deal without one).
pub(super) async fn deals<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
) -> Result<Value> {
    let text = request.query("q").unwrap_or_default();
    let hits = crate::crm::search_deals(&*relay.transport, &env.config.crm, &text, DEAL_PICKS).await?;
    let plugin = env.plugin();
    let deals: Vec<Value> = hits
        .iter()
        .map(|hit| {
            json!({
                "id": hit.id,
                "name": hit.name,
                "stage": hit.stage,
                "stageLabel": hit.stage.as_deref().map(|stage| plugin.stage_label(stage)),
            })
        })
        .collect();
    Ok(json!({ "deals": deals }))
}
