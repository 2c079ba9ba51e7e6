//! What an admin's setup needs from the relay (`/admin/{env}/…`, the environment's `adminSecret`):
//! SpotDraft's templates with their variables, and a preview of a draft template mapping on a real
//! deal, computed by the same core code a create runs (`mapping::preview`) before anything is
//! saved. Nothing here changes the configuration.
//!
//! - `GET /admin/{env}/templates`: every template of the workspace, whether the configuration offers
//!   it, and its variables (name, label, type, required) from its metadata.
//! - `POST /admin/{env}/preview` `{"template": {…a templates[] entry…}, "dealId": "…"}`: the draft
//!   read exactly as the configuration reader reads a template (its problems located under
//!   `template.`), the deal read from the CRM, and what a create would send, variable by variable,
//!   or the exact problem.

use serde_json::{json, Value};

use super::{EnvironmentRuntime, Relay, RelayRequest};
use crate::config::TemplateConfig;
use crate::error::{Error, Result};
use crate::transport::Transport;

/// The workspace's templates (the admin checked by the route).
pub(super) async fn templates<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>) -> Result<Value> {
    let offered = &env.config.plugin.templates;
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
        }));
    }
    Ok(json!({ "templates": out }))
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
    let mut plugin = env.config.plugin.clone();
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
