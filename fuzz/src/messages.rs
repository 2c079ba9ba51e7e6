//! Shell events and relay answers into the sidebar state machine: a JSON array of values (or one),
//! each applied in order to one sidebar as an event and as every kind of relay answer.

use serde_json::{json, Value};
use spotdraft_crm::deal::Deal;
use spotdraft_crm::json_output::ToJson;
use spotdraft_crm::model::{ContractId, Environment};
use spotdraft_crm::sidebar::{Effect, Msg, Sidebar, MAX_REFRESH_MS};

/// What the sidebar may open: https only, spelled canonically, so no message can smuggle a
/// `javascript:` or `data:` URL into a window.
fn is_https(url: &str) -> bool {
    url.starts_with("https://") && url.len() > 8
}

/// What the sidebar links to: SpotDraft's web app, byte for byte.
fn is_app_link(url: &str) -> bool {
    url.starts_with("https://app.spotdraft.com/contracts/")
}

pub fn sidebar_messages(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<Value>(data) else { return };
    let values = match input {
        Value::Array(items) => items,
        one => vec![one],
    };
    let Ok(deal) = Deal::from_json(&json!({"id": "1", "name": "Acme renewal", "stage": "contractsent"})) else {
        panic!("the fixed deal must load");
    };
    let mut sidebar = Sidebar::new(Environment::Uat, (&deal).into());
    let mut now_ms: u64 = 1_800_000_000_000;
    // Every relay call the sidebar can make, so each value is also read as every kind of answer.
    let calls = [
        Effect::LoadFirstView,
        Effect::LoadConfig,
        Effect::LoadDeal,
        Effect::LoadContracts,
        Effect::LoadPreview { template_id: 1 },
        Effect::Create { template_id: 1 },
        Effect::Send { contract_id: ContractId::template(1) },
        Effect::Download { contract_id: ContractId::template(1) },
    ];
    for (i, value) in values.iter().take(64).enumerate() {
        now_ms += 700 * (i as u64 + 1);
        let mut effects = Msg::from_json(value).map(|msg| sidebar.update(msg, now_ms)).unwrap_or_default();
        // The value as the relay's answer, and each of its fields as one (older corpus entries wrap
        // an answer in a message: `{"type": "contractsLoaded", "contracts": [...]}`). A garbled
        // answer becomes the call's failure; whatever it becomes, the sidebar applies it safely.
        let answers = std::iter::once(value).chain(value.as_object().into_iter().flat_map(|map| map.values()));
        for answer in answers.take(8) {
            for call in &calls {
                for msg in call.outcome(Ok(answer.clone())) {
                    effects.extend(sidebar.update(msg, now_ms));
                }
            }
        }
        for effect in &effects {
            match effect {
                Effect::OpenUrl { url } => assert!(is_https(url), "the sidebar opened {url:?}"),
                Effect::ScheduleTick { in_ms } => assert!(*in_ms <= MAX_REFRESH_MS, "tick in {in_ms} ms"),
                _ => {}
            }
        }
        let view = sidebar.view(now_ms, 60);
        for contract in &view.contracts {
            for action in &contract.actions {
                if let Some(href) = &action.href {
                    assert!(is_app_link(href), "the sidebar links to {href:?}");
                }
            }
        }
        assert!(view.to_json().get("contracts").is_some_and(Value::is_array));
    }
}
