//! Browser tests of the sidebar's boundary in headless Chromium: plain JS objects in and out, the
//! whole loop run inside (relay calls against the loopback relay stand-in in
//! tests/support/loopback-server.mjs, their outcomes applied), and bad input refused with a JS
//! `Error` instead of a trap. scripts/test.sh runs this against the sidebar's own build
//! (`--no-default-features`), where JSON text goes through the browser's `JSON.parse`/`JSON.stringify`
//! and decimals through `parseFloat`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Object, Reflect};
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

fn sidebar(id: &str) -> JsSidebar {
    JsSidebar::new(init(), deal(id), JsValue::UNDEFINED, JsValue::UNDEFINED).expect("sidebar")
}

/// The id of the relay call named `name` among an output's effects.
fn call(output: &JsValue, name: &str) -> u32 {
    let effects: js_sys::Array = get(output, "effects").unchecked_into();
    let found = effects.iter().find(|effect| text(effect, "type") == "call" && text(effect, "call") == name);
    found.and_then(|effect| get(&effect, "id").as_f64()).map(|id| id as u32).expect("the call is among the effects")
}

async fn perform(sidebar: &JsSidebar, id: u32) -> JsValue {
    JsFuture::from(sidebar.perform(id)).await.expect("a call the sidebar handed out runs")
}

#[wasm_bindgen_test]
fn takes_and_returns_plain_objects() {
    let sidebar = sidebar("1001");
    let output = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
    assert_eq!(text(&output, "view.dealName"), "Acme renewal");
    assert_eq!(text(&output, "view.phase"), "loading");
    assert_eq!(text(&output, "effects.0.type"), "call");
    assert_eq!(text(&output, "effects.0.call"), "loadFirstView");
    assert!(get(&output, "effects.1").is_undefined(), "one call for the first view");
    assert!(get(&output, "view.banner").is_null(), "absent values are null, not undefined");
    let view = sidebar.view().expect("view");
    assert_eq!(text(&view, "environmentBadge"), text(&output, "view.environmentBadge"));
}

#[wasm_bindgen_test]
async fn bad_input_is_an_error_naming_the_key() {
    let refused = |init: JsValue, deal: JsValue, refresh: JsValue| {
        JsSidebar::new(init, deal, refresh, JsValue::UNDEFINED).err().expect("refused")
    };
    let error = refused(js(r#"{"environment": "uat", "relayUrl": 5, "token": "t"}"#), deal("1001"), JsValue::UNDEFINED);
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&error, "code"), "invalid_input");
    assert_eq!(text(&error, "problems.0.path"), "init.relayUrl");

    let error = refused(init(), js(r#"{"id": "10 01", "name": "x"}"#), JsValue::UNDEFINED);
    assert_eq!(text(&error, "problems.0.path"), "deal");
    assert!(text(&error, "message").contains("deal.id"), "{}", text(&error, "message"));
    let error = refused(init(), deal("1001"), JsValue::from_str("renew please"));
    assert_eq!(text(&error, "problems.0.path"), "refreshSession");
    // Only the id and the name are read from the host: the rest of an older host's deal is ignored.
    assert!(JsSidebar::new(
        init(),
        js(r#"{"id": "1001", "name": "x", "amount": "12,5"}"#),
        JsValue::NULL,
        JsValue::NULL
    )
    .is_ok());

    let sidebar = sidebar("1001");
    let error = sidebar.update(js(r#"{"type": "sendClicked", "contractId": 8}"#)).err().expect("refused");
    assert!(text(&error, "message").contains("contractId: expected a string"), "{}", text(&error, "message"));
    // An answer cannot be handed in as an event.
    let error = sidebar.update(js(r#"{"type": "dealLoaded", "deal": {"id": "1001"}}"#)).err().expect("refused");
    assert!(text(&error, "message").contains("unknown message type"), "{}", text(&error, "message"));

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
    // Only a call the sidebar handed out can be performed.
    let forged = JsFuture::from(sidebar.perform(4242)).await;
    assert_eq!(text(&forged.err().expect("rejected"), "code"), "invalid_input");
}

#[wasm_bindgen_test]
async fn the_first_view_is_one_call_applied_inside() {
    let sidebar = sidebar("1001");
    let started = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
    let shown = perform(&sidebar, call(&started, "loadFirstView")).await;
    // The CRM's deal replaced the host's name, Unicode intact through JSON.parse and back.
    assert_eq!(text(&shown, "view.dealName"), "Acme – Müller renewal");
    assert_eq!(text(&shown, "view.phase"), "ready");
    assert_eq!(text(&shown, "view.contracts.0.id"), "T-9");
    assert_eq!(text(&shown, "view.contracts.0.name"), "Mutual NDA – Acme");
    assert_eq!(text(&shown, "effects.0.type"), "cancelTick", "an executed contract needs no watching");
}

#[wasm_bindgen_test]
async fn an_expired_session_is_renewed_through_the_host() {
    // Without a way to renew, the 401 stands and the download fails in the view.
    let sidebar = sidebar("1001");
    let started = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
    perform(&sidebar, call(&started, "loadFirstView")).await;
    let clicked = sidebar.update(js(r#"{"type": "downloadClicked", "contractId": "T-9"}"#)).expect("click");
    let failed = perform(&sidebar, call(&clicked, "download")).await;
    assert_eq!(text(&failed, "view.banner.tone"), "error");
    assert!(get(&failed, "effects.0").is_undefined(), "nothing opened");

    // With the host's renewal the call is made again with the fresh token, and the link opens.
    let renew = Function::new_no_args("return Promise.resolve('renewed')");
    let sidebar = JsSidebar::new(init(), deal("1001"), renew.into(), JsValue::UNDEFINED).expect("sidebar");
    let started = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
    perform(&sidebar, call(&started, "loadFirstView")).await;
    let clicked = sidebar.update(js(r#"{"type": "downloadClicked", "contractId": "T-9"}"#)).expect("click");
    let opened = perform(&sidebar, call(&clicked, "download")).await;
    assert_eq!(text(&opened, "effects.0.type"), "openUrl");
    assert_eq!(text(&opened, "effects.0.url"), "https://storage.googleapis.com/sdx/T-9.pdf");
}

#[wasm_bindgen_test]
async fn a_failed_or_unreadable_answer_is_the_calls_failure() {
    let sidebar = sidebar("1002");
    let started = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
    // The deal's part of the first view failed on its own: said in a seller's words, with retry.
    let shown = perform(&sidebar, call(&started, "loadFirstView")).await;
    assert_eq!(
        text(&shown, "view.banner.text"),
        "This deal couldn't be read from your CRM: Zoho CRM: the deal does not exist"
    );
    assert_eq!(text(&shown, "view.contracts.0.id"), "T-9", "the parts that arrived are shown");

    // Read again, the deal comes back without a name (not a canonical deal) and the contracts as
    // broken JSON: each is that call's failure, never a throw.
    let changed = sidebar.update(js(r#"{"type": "recordChanged"}"#)).expect("record changed");
    let deal_failed = perform(&sidebar, call(&changed, "loadDeal")).await;
    assert_eq!(text(&deal_failed, "view.banner.text"), "This deal couldn't be read from your CRM.");
    let contracts_failed = perform(&sidebar, call(&changed, "loadContracts")).await;
    assert_eq!(text(&contracts_failed, "view.banner.tone"), "error");
}

/// An early request (as the page's early.js starts it) answering with `body`: a Response made here,
/// so the view shows which answer the sidebar took.
fn early_request(url: &str, authorization: &str, body: &str) -> JsValue {
    let make = Function::new_with_args(
        "url, authorization, body",
        "return { url, authorization, response: Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })) };",
    );
    make.call3(&JsValue::NULL, &url.into(), &authorization.into(), &body.into()).expect("an early request")
}

const EARLY_FIRST_VIEW: &str = r#"{"config": {"ok": {"environment": "uat", "creationStages": ["contractsent"], "stageLabels": {}, "templates": [{"templateId": 101, "label": "Mutual NDA"}], "downloadOrigins": []}},
  "deal": {"ok": {"id": "1001", "name": "Asked for early", "stage": "contractsent"}}, "contracts": {"ok": []}, "preview": null}"#;

#[wasm_bindgen_test]
async fn the_first_view_asked_for_early_is_taken_only_when_it_is_that_request() {
    let first_view = format!("{SERVER}/api/uat/deals/1001/sidebar");
    // Exactly the request the sidebar would make: its answer is the first view, and no second request.
    let early = early_request(&first_view, "Bearer t", EARLY_FIRST_VIEW);
    let sidebar = JsSidebar::new(init(), deal("1001"), JsValue::UNDEFINED, early).expect("sidebar");
    let started = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
    let shown = perform(&sidebar, call(&started, "loadFirstView")).await;
    assert_eq!(text(&shown, "view.dealName"), "Asked for early");

    // Another token, or another deal: not the sidebar's request, so it asks the relay itself.
    for (url, authorization) in
        [(first_view.as_str(), "Bearer someone-else"), (&*format!("{SERVER}/api/uat/deals/1002/sidebar"), "Bearer t")]
    {
        let early = early_request(url, authorization, EARLY_FIRST_VIEW);
        let sidebar = JsSidebar::new(init(), deal("1001"), JsValue::UNDEFINED, early).expect("sidebar");
        let started = sidebar.update(js(r#"{"type": "start"}"#)).expect("start");
        let shown = perform(&sidebar, call(&started, "loadFirstView")).await;
        assert_eq!(
            text(&shown, "view.dealName"),
            "Acme – Müller renewal",
            "{url} with {authorization}: the relay's own answer"
        );
    }

    // Malformed: refused by name, not ignored.
    let refused = JsSidebar::new(
        init(),
        deal("1001"),
        JsValue::UNDEFINED,
        js(r#"{"url": "x", "authorization": "Bearer t", "response": 1}"#),
    );
    assert_eq!(
        text(&refused.err().expect("refused"), "message"),
        "invalid input: earlyRequest.response: expected a promise"
    );
}
