//! Deal → contract mapping: `{"deal": …, "metadata": …, "config"?: …, "templateId"?: …}`.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use spotdraft_crm::config::Config;
use spotdraft_crm::deal::Deal;
use spotdraft_crm::json_output::ToJson;
use spotdraft_crm::mapping;
use spotdraft_crm::model::RecordKey;
use spotdraft_crm::spotdraft::types::TemplateMetadata;

fn default_config() -> Value {
    json!({
        "environment": "uat", "crm": {"host": "hubspot", "accountId": "42"}, "api": {"region": "eu"},
        "creationStages": ["contractsent"], "allowedOrigins": ["https://app.hubspot.com"],
        "templates": [{"templateId": 1, "label": "NDA", "contractTypeId": 2, "organizationType": "Company", "fields": [
            {"variable": "a.b", "source": "deal.closeDate", "encoding": "date"},
            {"variable": "fees", "source": "deal.amount", "encoding": "currency"},
            {"variable": "t", "value": 3, "encoding": "duration", "unit": "MONTHS"},
            {"variable": "k", "source": "custom.k", "encoding": "enum", "options": {"x": "y"}},
            {"variable": "m", "source": "custom.m", "encoding": "multiSelect"},
            {"variable": "addr", "source": "account.address", "encoding": "address"},
            {"variable": "who", "source": "contact.fullName", "encoding": "string"},
            {"variable": "n", "source": "custom.n", "encoding": "number"},
            {"variable": "ok", "source": "custom.ok", "encoding": "boolean"},
            {"variable": "at", "source": "custom.at", "encoding": "datetime"}]}]
    })
}

pub fn mapping(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<Value>(data) else { return };
    let config = match Config::from_json(input.get("config").unwrap_or(&default_config())) {
        Ok(config) => config,
        Err(_) => return,
    };
    let Some(Ok(metadata)) = input.get("metadata").map(|m| serde_json::from_value::<TemplateMetadata>(m.clone()))
    else {
        return;
    };
    let Ok(deal) = Deal::from_json(input.get("deal").unwrap_or(&Value::Null)) else { return };
    // The sidebar sends its deal to the relay as `to_json`: it must read back as the same deal.
    assert_eq!(Deal::from_json(&deal.to_json()).as_ref(), Ok(&deal), "the deal does not survive being sent");
    let template_id = input.get("templateId").and_then(Value::as_u64);
    let Some(template) = config.templates.iter().find(|t| template_id.is_none_or(|id| id == t.template_id)) else {
        return;
    };

    let preview = mapping::preview(&config, template, &deal, &metadata);
    assert!(serde_json::to_string(&preview).is_ok());
    assert_eq!(preview.can_create, preview.problems.is_empty(), "create is possible exactly when nothing blocks it");
    assert_eq!(preview.can_create, preview.request.is_some());
    assert!(preview.fields.len() <= template.fields.len());

    let created = mapping::create_request(&config, template.template_id, &deal, &metadata);
    assert_eq!(created.as_ref().ok(), preview.request.as_ref(), "create sends exactly what the preview showed");

    let Some(request) = &preview.request else { return };
    // Only template keys: every contract_data key is a template variable or the parent of one,
    // and one the configuration maps (itself or through a child).
    let template_keys: BTreeSet<&str> = metadata
        .attributes
        .iter()
        .flat_map(|a| [Some(a.variable.as_str()), a.parent_variable.as_deref()])
        .flatten()
        .collect();
    let configured: BTreeSet<&str> = template.fields.iter().map(|f| f.variable.as_str()).collect();
    for key in request.contract_data.keys() {
        assert!(template_keys.contains(key.as_str()), "contract_data.{key} is not a template variable");
        let from_config = configured.contains(key.as_str())
            || metadata.attributes.iter().any(|a| {
                a.parent_variable.as_deref() == Some(key.as_str()) && configured.contains(a.variable.as_str())
            });
        assert!(from_config, "contract_data.{key} was not configured");
    }
    // Required top-level fields are all there when create is allowed (for well-formed metadata,
    // where each variable is described once).
    let variables: BTreeSet<&str> = metadata.attributes.iter().map(|a| a.variable.as_str()).collect();
    if variables.len() == metadata.attributes.len() {
        for attribute in &metadata.attributes {
            if attribute.is_required() && attribute.parent_variable.is_none() {
                assert!(
                    request.contract_data.contains_key(&attribute.variable),
                    "required {} missing from a creatable request",
                    attribute.variable
                );
            }
        }
    }
    assert_eq!(request.contract_template_id, template.template_id);
    assert_eq!(request.counter_party_details.len(), 1);
    let id = request.external_metadata.id.as_ref().and_then(Value::as_str).and_then(RecordKey::parse);
    assert_eq!(id, Some(mapping::record_key(&config, &deal)), "external_metadata.id names this deal");
    assert!(serde_json::to_string(request).is_ok());
}
