//! Browser tests of the sidebar's boundary in headless Chromium: plain JS objects in and out, the
//! relay calls behind its effects (against the loopback relay stand-in in
//! tests/support/loopback-server.mjs), and bad input refused with a JS `Error` instead of a trap.
//! scripts/test.sh runs this against the sidebar's own build (`--no-default-features`), where JSON
//! text goes through the browser's `JSON.parse`/`JSON.stringify` and decimals through `parseFloat`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Reflect};
use spotdraft_crm_wasm::JsSidebar;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "support/browser.rs"]
mod browser;
use browser::{get, js, text, SERVER};

fn init() -> JsValue {
    js(&format!(r#"{{"environment": "uat", "relayUrl": "{SERVER}", "token": "t", "tzOffsetMinutes": 60}}"#))
}

/// What a host hands over: the record id and its name; the deal itself is read through the relay.
fn deal(id: &str) -> JsValue {
    js(&format!(r#"{{"id": "{id}", "name": "Acme renewal"}}"#))
}

async fn perform(sidebar: &JsSidebar, effect: &str) -> JsValue {
    JsFuture::from(sidebar.perform(js(effect))).await.expect("perform never rejects a well-formed effect")
}

#[wasm_bindgen_test]
fn takes_and_returns_plain_objects() {
    let sidebar = JsSidebar::new(init(), deal("1001")).expect("sidebar");
    let output = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
    assert_eq!(text(&output, "view.dealName"), "Acme renewal");
    assert_eq!(text(&output, "view.phase"), "loading");
    assert_eq!(text(&output, "effects.0.type"), "loadDeal");
    assert_eq!(text(&output, "effects.1.type"), "loadConfig");
    assert_eq!(text(&output, "effects.2.type"), "loadContracts");
    assert!(get(&output, "view.banner").is_null(), "absent values are null, not undefined");
    let view = sidebar.view().expect("view");
    assert_eq!(text(&view, "environmentBadge"), text(&output, "view.environmentBadge"));
}

#[wasm_bindgen_test]
fn bad_input_is_an_error_naming_the_key() {
    let error = JsSidebar::new(js(r#"{"environment": "uat", "relayUrl": 5, "token": "t"}"#), deal("1001"))
        .err()
        .expect("refused");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&error, "code"), "invalid_input");
    assert_eq!(text(&error, "problems.0.path"), "init.relayUrl");

    let error = JsSidebar::new(init(), js(r#"{"id": "10 01", "name": "x"}"#)).err().expect("refused");
    assert_eq!(text(&error, "problems.0.path"), "deal");
    assert!(text(&error, "message").contains("deal.id"), "{}", text(&error, "message"));
    // Only the id and the name are read from the host: the rest of an older host's deal is ignored.
    assert!(JsSidebar::new(init(), js(r#"{"id": "1001", "name": "x", "amount": "12,5"}"#)).is_ok());
    assert!(JsSidebar::new(init(), js(r#"{"id": "1001"}"#)).is_ok());

    let sidebar = JsSidebar::new(init(), deal("1001")).expect("sidebar");
    let error = sidebar.update(js(r#"{"type": "sendClicked", "contractId": 8}"#)).err().expect("refused");
    assert!(text(&error, "message").contains("contractId: expected a string"), "{}", text(&error, "message"));

    // A circular object is refused, not followed until the stack runs out.
    let circular = Object::new();
    Reflect::set(&circular, &"type".into(), &"recordChanged".into()).unwrap();
    Reflect::set(&circular, &"deal".into(), &circular).unwrap();
    let error = sidebar.update(circular.into()).err().expect("refused");
    assert!(text(&error, "message").contains("circular"), "{}", text(&error, "message"));

    let not_json = sidebar.update(js(r#"{"type": "visibilityChanged"}"#)).err().expect("refused");
    assert_eq!(text(&not_json, "code"), "invalid_input");
    // The sidebar still works after all of that.
    assert!(sidebar.update(js(r#"{"type": "tick"}"#)).is_ok());
    let nan = Object::new();
    Reflect::set(&nan, &"type".into(), &"templateSelected".into()).unwrap();
    Reflect::set(&nan, &"templateId".into(), &JsValue::from_f64(f64::NAN)).unwrap();
    assert!(sidebar.update(nan.into()).is_err());
}

#[wasm_bindgen_test]
async fn relay_answers_become_messages() {
    let sidebar = JsSidebar::new(init(), deal("1001")).expect("sidebar");
    // The deal comes from the relay (the CRM's copy), checked when applied (decimals through
    // parseFloat), Unicode intact.
    let loaded = perform(&sidebar, r#"{"type": "loadDeal"}"#).await;
    assert_eq!(text(&loaded, "type"), "dealLoaded");
    assert_eq!(text(&loaded, "deal.amount"), "1234.50", "the relay's answer, as sent; read when applied");
    let output = sidebar.update(loaded).expect("the deal applies");
    assert_eq!(text(&output, "view.dealName"), "Acme – Müller renewal");

    let config = perform(&sidebar, r#"{"type": "loadConfig"}"#).await;
    assert_eq!(text(&config, "type"), "configLoaded");
    assert_eq!(get(&config, "config.templates.0.templateId").as_f64(), Some(101.0));
    sidebar.update(config).expect("config applies");

    let contracts = perform(&sidebar, r#"{"type": "loadContracts"}"#).await;
    assert_eq!(text(&contracts, "type"), "contractsLoaded");
    assert_eq!(text(&contracts, "contracts.0.name"), "Mutual NDA – Acme");
    let output = sidebar.update(contracts).expect("contracts apply");
    assert_eq!(text(&output, "view.contracts.0.id"), "T-9");

    // Only the template goes out (the relay reads the deal from the CRM); the answer's Unicode comes
    // back intact.
    let created = perform(&sidebar, r#"{"type": "create", "templateId": 101}"#).await;
    assert_eq!(text(&created, "type"), "created");
    assert_eq!(text(&created, "contract.name"), "Rahmenvertrag – Müller · templateId · 101");
    assert_eq!(get(&created, "created").as_bool(), Some(true));

    let failed = perform(&sidebar, r#"{"type": "download", "contractId": "T-9"}"#).await;
    assert_eq!(text(&failed, "type"), "downloadFailed");
    assert_eq!(text(&failed, "error.code"), "unauthorized");
    assert_eq!(text(&failed, "contractId"), "T-9");

    let ticks = perform(&sidebar, r#"{"type": "scheduleTick", "inMs": 5}"#).await;
    assert!(ticks.is_null(), "not a relay call");
    let malformed = JsFuture::from(sidebar.perform(js(r#"{"type": "send"}"#))).await;
    assert_eq!(text(&malformed.err().expect("rejected"), "code"), "invalid_input");
}

#[wasm_bindgen_test]
async fn an_unreadable_answer_is_the_effects_failure() {
    let sidebar = JsSidebar::new(init(), deal("1002")).expect("sidebar");
    // A deal without a name is not a canonical deal: its load failed, in words a seller reads.
    let message = perform(&sidebar, r#"{"type": "loadDeal"}"#).await;
    assert_eq!(text(&message, "type"), "dealFailed");
    assert_eq!(text(&message, "error.code"), "bad_response");
    let output = sidebar.update(message).expect("the failure applies");
    assert_eq!(text(&output, "view.banner.text"), "This deal couldn't be read from your CRM.");
    assert_eq!(get(&output, "view.banner.retry").as_bool(), Some(true));

    let message = perform(&sidebar, r#"{"type": "loadContracts"}"#).await;
    assert_eq!(text(&message, "type"), "contractsFailed");
    assert_eq!(text(&message, "error.code"), "bad_response");
    assert!(sidebar.update(message).is_ok());
}
