//! Browser tests: the exported JS API and the fetch transport, in headless Chromium, against a
//! loopback HTTP server (tests/support/loopback-server.mjs, started by scripts/test.sh).
#![cfg(all(target_arch = "wasm32", feature = "full"))]

use spotdraft_crm_wasm::{parse_webhook, verify_and_parse_webhook, verify_webhook, JsClient, JsConfig};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "support/browser.rs"]
mod browser;
use browser::{get, js, text, SERVER};

fn config() -> JsConfig {
    JsConfig::new(js(r#"{
        "environment": "uat", "crm": {"host": "hubspot", "accountId": "4411223"},
        "api": {"relayUrl": "https://relay.example.com"}, "creationStages": ["contractsent"],
        "templates": [{"templateId": 101, "label": "Mutual NDA", "contractTypeId": 11, "fields": [
            {"variable": "effective_date", "source": "deal.closeDate", "encoding": "date"},
            {"variable": "nda_kind", "value": "Mutual", "encoding": "enum"}]}]
    }"#))
    .expect("valid config")
}

fn deal(id: &str) -> JsValue {
    js(&format!(
        r#"{{"id": "{id}", "name": "Acme renewal", "stage": "contractsent", "closeDate": 1774656000000,
        "account": {{"name": "acme  widgets inc"}}, "primaryContact": {{"firstName": "Avery", "email": "avery@acme.example"}}}}"#
    ))
}

fn client(timeout_ms: u32) -> JsClient {
    JsClient::new(js(&format!(r#"{{"baseUrl": "{SERVER}", "timeoutMs": {timeout_ms}, "maxAttempts": 1}}"#)))
        .expect("client")
}

async fn settle(promise: js_sys::Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

#[wasm_bindgen_test]
fn config_errors_are_js_errors_with_code_and_problems() {
    let error = JsConfig::new(JsValue::from_str(r#"{"environment": "staging"}"#)).err().expect("rejected");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&error, "code"), "invalid_config");
    let problems: js_sys::Array = get(&error, "problems").dyn_into().expect("array");
    assert!(problems.length() >= 5, "every problem reported");
    let first = problems.get(0);
    assert!(!text(&first, "path").is_empty() && !text(&first, "message").is_empty());
    let malformed = JsConfig::new(JsValue::from_str("{")).err().expect("rejected");
    assert_eq!(text(&malformed, "code"), "invalid_config");
}

#[wasm_bindgen_test]
fn preview_maps_plain_js_objects() {
    let metadata = js(r#"{"counter_party_kind": "Organisation", "attributes": [
        {"variable": "effective_date", "display_label": "Effective date", "type": "date"},
        {"variable": "nda_kind", "display_label": "Kind", "type": "enum", "options": [{"label": "Mutual", "value": "mutual"}]}]}"#);
    let preview = config().preview(deal("1001"), 101.0, metadata.clone()).expect("preview");
    assert_eq!(get(&preview, "canCreate"), JsValue::TRUE);
    let request = get(&preview, "request");
    let data = get(&request, "contract_data");
    assert_eq!(text(&data, "effective_date"), "2026-03-28");
    assert_eq!(text(&data, "nda_kind"), "mutual");
    assert_eq!(text(&get(&request, "external_metadata"), "id"), "hubspot:4411223:deal:1001");
    let party = js_sys::Array::from(&get(&request, "counter_party_details")).get(0);
    assert_eq!(text(&party, "organization_name"), "Acme Widgets Inc.");

    let bad_deal = config().preview(js(r#"{"id": "1 2", "name": 5}"#), 101.0, metadata.clone()).err().expect("invalid");
    assert_eq!(text(&bad_deal, "code"), "invalid_input");
    let unknown = config().preview(deal("1"), 999.0, metadata.clone()).err().expect("unknown template");
    assert_eq!(text(&unknown, "code"), "unknown_template");
    let fractional = config().preview(deal("1"), 1.5, metadata).err().expect("bad id");
    assert_eq!(text(&fractional, "code"), "invalid_input");
}

#[wasm_bindgen_test]
async fn fetch_transport_reads_a_success() {
    let report = settle(client(2000).status("T-1")).await.expect("status");
    assert_eq!(text(&report, "status"), "EXECUTED");
    assert_eq!(text(&report, "statusLabel"), "Executed");
    assert_eq!(text(&report, "link"), "https://app.spotdraft.com/contracts/v2/1");
}

#[wasm_bindgen_test]
async fn spotdraft_error_bodies_become_typed_errors() {
    let error = settle(client(2000).status("T-2")).await.expect_err("404");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&error, "code"), "spotdraft_error");
    assert_eq!(get(&error, "status").as_f64(), Some(404.0));
    let error = settle(client(2000).download_link("T-4")).await.expect_err("400");
    assert_eq!(text(&error, "spotdraftCode"), "SD_PUBLIC_00009");
    assert_eq!(text(&error, "message"), "SpotDraft answered 400 (SD_PUBLIC_00009): Contract already executed.");
}

#[wasm_bindgen_test]
async fn slow_answers_time_out() {
    let error = settle(client(300).status("T-3")).await.expect_err("timeout");
    assert_eq!(text(&error, "code"), "timeout");
    assert_eq!(get(&error, "transient"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn redirects_are_reported_not_followed() {
    // The stand-in answers this route with SpotDraft's 302 to another URL; fetch must not follow it.
    let error = settle(client(2000).status("T-5")).await.expect_err("302");
    assert_eq!(text(&error, "code"), "redirected");
}

#[wasm_bindgen_test]
async fn create_for_deal_looks_up_then_creates_once() {
    let client = client(3000);
    let config = config();
    let first = settle(client.create_for_deal(&config, deal("7001"), 101.0)).await.expect("created");
    assert_eq!(get(&first, "created"), JsValue::TRUE);
    let contract = get(&first, "contract");
    assert!(text(&contract, "id").starts_with("T-"));
    assert_eq!(text(&contract, "status"), "DRAFT");
    let second = settle(client.create_for_deal(&config, deal("7001"), 101.0)).await.expect("found");
    assert_eq!(get(&second, "created"), JsValue::FALSE, "the second click finds the first contract");
    assert_eq!(text(&get(&second, "contract"), "id"), text(&contract, "id"));
    let listed = settle(client.contracts_for_deal(&config, "7001".into())).await.expect("listed");
    assert_eq!(js_sys::Array::from(&listed).length(), 1);
}

#[wasm_bindgen_test]
async fn bad_arguments_reject_without_a_request() {
    let error = settle(client(2000).status("123")).await.expect_err("bare number refused");
    assert_eq!(text(&error, "code"), "invalid_input");
    assert!(text(&error, "message").contains("T-123"));
    let error =
        settle(client(2000).create_for_deal(&config(), js(r#"{"id": ""}"#), 101.0)).await.expect_err("bad deal");
    assert_eq!(text(&error, "code"), "invalid_input");
}

#[wasm_bindgen_test]
fn credentials_are_refused_in_a_page() {
    let error = JsClient::new(js(r#"{"region": "us", "credentials": {"clientId": "a", "clientSecret": "b"}}"#))
        .err()
        .expect("refused");
    assert_eq!(text(&error, "code"), "invalid_input");
    assert!(text(&error, "message").contains("never be used in a browser"));
    let error = JsClient::new(js(r#"{"region": "us", "baseUrl": "https://x.example"}"#)).err().expect("ambiguous");
    assert_eq!(text(&error, "code"), "invalid_input");
}

const SPEC_KEY: &str = "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==";
const SPEC_SIGNATURE: &str = "c169ee44fbcb0f3dd5c364825364740bc0f21f5bd40d2e55ca5be1ee2c70229343137885d10891b98c2c4d5d5937ee0d0b7b961057960838577a25f720345b6c";

#[wasm_bindgen_test]
fn webhook_exports_verify_before_parsing() {
    let body = br#"{"contract_id":19589,"activity":"CONTRACT_EXECUTED"}"#;
    verify_webhook(body, Some(SPEC_SIGNATURE.into()), SPEC_KEY).expect("spec vector verifies");
    let forged = verify_webhook(body, Some("00".repeat(64)), SPEC_KEY).err().expect("forged");
    assert_eq!(text(&forged, "code"), "invalid_signature");
    let missing = verify_webhook(body, None, SPEC_KEY).err().expect("missing");
    assert_eq!(text(&missing, "code"), "invalid_signature");
    let incomplete = parse_webhook(body).err().expect("no status or timestamp");
    assert_eq!(text(&incomplete, "code"), "invalid_webhook");
    let full = br#"{"activity":"CONTRACT_SIGNED","contract_id":12,"contract_status":"SIGN","activity_data":{"timestamp":"2026-01-02T03:04:05.123456Z"}}"#;
    let signature = spotdraft_crm_wasm::sign_webhook(full, SPEC_KEY).expect("sign");
    let event = verify_and_parse_webhook(full, Some(signature), SPEC_KEY).expect("event");
    assert_eq!(text(&event, "contractId"), "T-12");
    assert_eq!(text(&event, "contractStatus"), "SIGN");
    assert_eq!(get(&event, "occurredAtMicros").as_f64(), Some(1_767_323_045_123_456.0));
}
