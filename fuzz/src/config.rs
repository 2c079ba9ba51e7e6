//! The plugin configuration document and the relay's configuration.

use serde_json::{json, Map, Value};
use spotdraft_crm::config::{ApiTarget, Config, Encoding, FieldSource};
use spotdraft_crm::relay::RelayConfig;

/// A parsed configuration, written back as the document an admin would write.
pub fn config_document(config: &Config) -> Value {
    let api = match &config.api {
        ApiTarget::Relay { url } => json!({ "relayUrl": url }),
        ApiTarget::SpotDraft { region: Some(region), .. } => json!({ "region": region }),
        ApiTarget::SpotDraft { base_url, region: None } => json!({ "baseUrl": base_url }),
    };
    let templates: Vec<Value> = config
        .templates
        .iter()
        .map(|template| {
            let fields: Vec<Value> = template
                .fields
                .iter()
                .map(|field| {
                    let mut out = Map::new();
                    out.insert("variable".into(), json!(field.variable));
                    match &field.source {
                        FieldSource::Deal(deal_field) => out.insert("source".into(), json!(deal_field.name())),
                        FieldSource::Custom(name) => out.insert("source".into(), json!(format!("custom.{name}"))),
                        FieldSource::Constant(value) => out.insert("value".into(), value.clone()),
                    };
                    let encoding = serde_json::to_value(&field.encoding).unwrap_or(Value::Null);
                    out.insert("encoding".into(), encoding.get("type").cloned().unwrap_or(Value::Null));
                    match &field.encoding {
                        Encoding::Enum { options } | Encoding::MultiSelect { options } => {
                            out.insert("options".into(), json!(options));
                        }
                        Encoding::Currency { currency: Some(code) } => {
                            out.insert("currency".into(), json!(code));
                        }
                        Encoding::Duration { unit } => {
                            out.insert("unit".into(), json!(unit));
                        }
                        _ => {}
                    }
                    Value::Object(out)
                })
                .collect();
            let mut out = json!({
                "templateId": template.template_id,
                "label": template.label,
                "contractTypeId": template.contract_type_id,
                "fields": fields,
            });
            if let (Some(kind), Value::Object(map)) = (&template.organization_type, &mut out) {
                map.insert("organizationType".into(), json!(kind));
            }
            out
        })
        .collect();
    json!({
        "environment": config.environment.as_str(),
        "crm": { "host": config.crm.host.as_str(), "accountId": config.crm.account_id },
        "api": api,
        "creationStages": config.creation_stages,
        "stageLabels": config.stage_labels,
        "allowedOrigins": config.allowed_origins,
        "templates": templates,
    })
}

/// Round trip: a valid document, written back and read again, is the same configuration, and
/// reading depends only on the JSON value, not on how it was formatted.
fn assert_round_trip(config: &Config) {
    let document = config_document(config);
    match Config::from_json(&document) {
        Ok(again) => assert_eq!(&again, config, "the configuration changed in a round trip via {document}"),
        Err(error) => panic!("the written-back configuration {document} was refused: {error:?}"),
    }
}

pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = Config::parse(&text);
    match &parsed {
        Ok(config) => assert_round_trip(config),
        Err(error) => {
            assert!(!error.problems().is_empty(), "a refusal names its problems");
            assert!(error.problems().iter().all(|p| !p.message.is_empty()));
        }
    }
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        let compact = Config::parse(&value.to_string());
        assert_eq!(parsed.is_ok(), compact.is_ok(), "reformatting changed the outcome");
        if let (Ok(a), Ok(b)) = (&parsed, &compact) {
            assert_eq!(a, b);
        }
    }
}

pub fn relay_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = RelayConfig::parse(&text);
    let Ok(relay) = &parsed else {
        if let Err(error) = &parsed {
            assert!(!error.problems().is_empty(), "a refusal names its problems");
        }
        return;
    };
    assert!(matches!(relay.environments.len(), 1 | 2));
    for (i, env) in relay.environments.iter().enumerate() {
        assert!(relay.environments.iter().skip(i + 1).all(|other| other.environment != env.environment));
        assert_eq!(env.plugin.environment, env.environment, "an environment's plugin config is for it");
        assert_round_trip(&env.plugin);
        let probe = env.spotdraft_base_url.as_bytes();
        assert!(env.webhook_key.verify(probe, Some(&env.webhook_key.sign(probe))).is_ok());
        assert!(
            env.spotdraft_base_url.starts_with("https://") || env.spotdraft_base_url.starts_with("http://"),
            "{}",
            env.spotdraft_base_url
        );
        assert!(env.host_secrets.values().all(|secret| secret.len() >= 32), "host secrets are long enough");
    }
    if let [uat, production] = relay.environments.as_slice() {
        // A delivery signed for one environment never verifies in the other.
        let probe = b"{\"contract_id\": 1}";
        assert!(production.webhook_key.verify(probe, Some(&uat.webhook_key.sign(probe))).is_err());
        assert_ne!(uat.credentials.client_secret, production.credentials.client_secret);
    }
}
