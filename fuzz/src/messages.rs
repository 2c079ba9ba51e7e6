//! Host/shell messages into the sidebar state machine: a JSON array of messages (or one message),
//! applied in order to one sidebar.

use serde_json::{json, Value};
use spotdraft_crm::deal::Deal;
use spotdraft_crm::json_output::ToJson;
use spotdraft_crm::model::Environment;
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
    let messages = match input {
        Value::Array(items) => items,
        one => vec![one],
    };
    let Ok(deal) = Deal::from_json(&json!({"id": "1", "name": "Acme renewal", "stage": "contractsent"})) else {
        panic!("the fixed deal must load");
    };
    let mut sidebar = Sidebar::new(Environment::Uat, (&deal).into());
    let mut now_ms: u64 = 1_800_000_000_000;
    for (i, message) in messages.iter().take(64).enumerate() {
        let Ok(msg) = Msg::from_json(message) else { continue };
        now_ms += 700 * (i as u64 + 1);
        for effect in sidebar.update(msg, now_ms) {
            // What the shell hands back to `perform` reads as the same effect.
            assert_eq!(Effect::from_json(&effect.to_json()).as_ref(), Ok(&effect));
            // Whatever the relay answers, the outcome is a message the sidebar accepts: a garbled
            // answer becomes the effect's failure, never a message that throws.
            if let Some(outcome) = effect.outcome(Ok(message.clone())) {
                assert!(Msg::from_json(&outcome).is_ok(), "{effect:?} answered {message} gave {outcome}");
            }
            match &effect {
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
