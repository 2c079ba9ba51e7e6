//! Webhook subscriptions, signed deliveries, disabling after failures, re-trigger, and the
//! lifecycle control API with its activities.

mod common;

use base64::Engine;
use common::{Receiver, Sandbox};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha512;

const CONTRACTS: &str = "/api/v2.1/public/contracts/";
const WEBHOOKS: &str = "/api/v2.1/public/webhooks/";

/// An independent implementation of SpotDraft's documented scheme (docs/spotdraft-api.md §11.4):
/// lowercase hex of HMAC-SHA512 over the raw body, keyed with the Base64-decoded `hmac_key`.
fn expected_signature(hmac_key_base64: &str, raw_body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(hmac_key_base64).unwrap();
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).unwrap();
    mac.update(raw_body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_signature_scheme_matches_the_documented_test_vector() {
    let key = "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==";
    let body = br#"{"contract_id":19589,"activity":"CONTRACT_EXECUTED"}"#;
    assert_eq!(
        expected_signature(key, body),
        "c169ee44fbcb0f3dd5c364825364740bc0f21f5bd40d2e55ca5be1ee2c70229343137885d10891b98c2c4d5d5937ee0d0b7b961057960838577a25f720345b6c"
    );
    // Using the Base64 text itself as the key must give the documented wrong-key value.
    let mut mac = Hmac::<Sha512>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    let wrong: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(wrong, "8cac3dd8f2df03fd262625161b46db6a65b2772d2e677fd01bc4a97886583166094ede898673be5efe705496123e6da94cf129d1946de1720004d94b55a890b5");
}

#[test]
fn hmac_keys_are_base64_of_64_bytes_and_repeat_for_a_seed() {
    let first = Sandbox::start(&["--seed", "7"]);
    let second = Sandbox::start(&["--seed", "7"]);
    let other = Sandbox::start(&["--seed", "8"]);
    let key = first.sd(first.uat(), "GET", "/api/v2.1/public/webhooks/hmac_key/", None).json()["hmac_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(&key).unwrap().len(), 64);
    assert_eq!(key, second.uat().hmac_key);
    assert_ne!(key, other.uat().hmac_key);
}

#[test]
fn deliveries_are_signed_raw_json_with_custom_headers_and_filtered_by_activity() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let created_only = Receiver::start(200);
    let executed_only = Receiver::start(200);
    sandbox.register_webhook(uat, &created_only.url, &["CONTRACT_CREATED"]);
    sandbox.register_webhook(uat, &executed_only.url, &["CONTRACT_EXECUTED"]);
    let contract = sandbox.create_nda(uat, "deal-1");
    let delivered = created_only.wait_for(1);
    let first = &delivered[0];
    assert_eq!(first.header("Content-Type"), Some("application/json"));
    assert_eq!(first.header("X-Relay-Key"), Some("k-123"));
    let signature = first.header("X-SD-WEBHOOK-CONTENT-HASH").unwrap();
    assert_eq!(signature, expected_signature(&uat.hmac_key, &first.body));
    assert_ne!(signature, expected_signature(&sandbox.production().hmac_key, &first.body));
    let payload: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(payload["activity"], "CONTRACT_CREATED");
    assert_eq!(payload["contract_id"], contract["contract_id"]);
    assert_eq!(payload["contract_status"], "DRAFT");
    assert_eq!(payload["external_metadata"]["id"], "deal-1");
    assert!(executed_only.received.lock().unwrap().is_empty(), "filtered by only_for_activities");
    // The metadata-created activity exists but nobody subscribed to it.
    let activities =
        sandbox.control("GET", &format!("/__sandbox/activities?contract_id={}", contract["contract_id"]), None).json();
    let names: Vec<&str> = activities.as_array().unwrap().iter().map(|a| a["activity"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["CONTRACT_CREATED", "CONTRACT_EXTERNAL_METADATA_CREATED"]);
}

#[test]
fn webhook_creation_rules() {
    let sandbox = Sandbox::start(&[]);
    let create = |sandbox: &Sandbox, body: Value| sandbox.sd(sandbox.uat(), "POST", WEBHOOKS, Some(body));
    let base =
        json!({"title": "t", "url": "https://relay.example/hooks", "only_for_activities": ["CONTRACT_EXECUTED"]});
    assert_eq!(create(&sandbox, base.clone()).status, 201);
    for (field, value) in [
        ("only_for_activities", json!([])),
        ("only_for_activities", json!(["contract.executed"])),
        ("url", json!("not a url")),
        ("url", json!("ftp://relay.example/x")),
        ("title", json!("")),
        ("custom_headers", json!({"Authorization": "x"})),
        ("custom_headers", json!({"X-SD-Token": "x"})),
        ("custom_headers", json!({"X-Amz-Thing": "x"})),
        ("custom_headers", json!({"X-Forwarded-For": "x"})),
        ("custom_headers", json!({"DEF-ACCESS-KEY": "x"})),
    ] {
        let mut body = base.clone();
        body[field] = value.clone();
        let reply = create(&sandbox, body);
        assert_eq!(reply.status, 400, "{field}={value}: {}", reply.text());
        assert!(reply.json()["detail"].as_str().unwrap().contains(field), "{}", reply.text());
    }
    let mut trimmed = base.clone();
    trimmed["custom_headers"] = json!({"  X-Relay-Key  ": "abc"});
    assert_eq!(create(&sandbox, trimmed).json()["custom_headers"], json!({"X-Relay-Key": "abc"}));
    let mut http = base.clone();
    http["url"] = json!("http://127.0.0.1:9/hook");
    assert_eq!(create(&sandbox, http).status, 201, "local-testing mode accepts http");
}

#[test]
fn http_webhook_urls_need_local_testing_mode() {
    let dir = common::temp_dir();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["--spotdraft-port", "0", "--crm-port", "0", "--state-file"])
        .arg(dir.join("state.json"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.find_map(|line| line.ok().filter(|l| l.starts_with("SANDBOX_READY"))).unwrap();
    let base = ready.split_whitespace().find_map(|p| p.strip_prefix("spotdraft=")).unwrap().to_string();
    let info: Value = common::raw_request(&base, "GET", "/__sandbox/workspaces", &[], b"").unwrap().json();
    let uat = &info["workspaces"][0];
    let reply = common::raw_request(
        &base,
        "POST",
        WEBHOOKS,
        &[("client-id", uat["client_id"].as_str().unwrap()), ("client-secret", uat["client_secret"].as_str().unwrap())],
        json!({"title": "t", "url": "http://127.0.0.1:9/hook", "only_for_activities": ["CONTRACT_CREATED"]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(reply.status, 400);
    assert!(reply.json()["detail"].as_str().unwrap().contains("HTTPS"));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_subscription_is_disabled_after_more_than_five_consecutive_failures() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let failing = Receiver::start(500);
    let hook = sandbox.register_webhook(uat, &failing.url, &["CONTRACT_CREATED"]);
    for n in 0..8 {
        sandbox.create_nda(uat, &format!("deal-{n}"));
    }
    let attempts = sandbox.wait_for_deliveries(&format!("?webhook_id={}", hook["id"]), |list| list.len() >= 6);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let attempts_after =
        sandbox.control("GET", &format!("/__sandbox/deliveries?webhook_id={}", hook["id"]), None).json();
    assert_eq!(attempts_after.as_array().unwrap().len(), 6, "the 7th and 8th are not attempted: {attempts:#?}");
    assert_eq!(failing.received.lock().unwrap().len(), 6);
    let hooks = sandbox.control("GET", "/__sandbox/webhooks?workspace=uat", None).json();
    assert_eq!(hooks[0]["status"], "DISABLED_BY_ERROR");
    // A success resets the failure count: a healthy receiver is unaffected.
    let healthy = Receiver::start(204);
    let other = sandbox.register_webhook(uat, &healthy.url, &["CONTRACT_CREATED"]);
    sandbox.create_nda(uat, "deal-after");
    healthy.wait_for(1);
    let hooks = sandbox.control("GET", "/__sandbox/webhooks?workspace=uat", None).json();
    let status_of = |id: &Value| hooks.as_array().unwrap().iter().find(|h| &h["id"] == id).unwrap()["status"].clone();
    assert_eq!(status_of(&other["id"]), "ACTIVE");
}

#[test]
fn re_trigger_latest_resends_the_most_recent_activity() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let receiver = Receiver::start(200);
    sandbox.register_webhook(uat, &receiver.url, &["CONTRACT_CREATED", "CONTRACT_SENT_TO_COUNTERPARTY"]);
    let contract = sandbox.create_nda(uat, "deal-1");
    let id = contract["contract_id"].as_u64().unwrap();
    let sent = sandbox.sd(
        uat,
        "POST",
        &format!("{CONTRACTS}T-{id}/send_to_counterparties"),
        Some(json!({"attachment_formats": ["PDF"]})),
    );
    assert_eq!((sent.status, sent.body.len()), (200, 0));
    let before = receiver.wait_for(2);
    let reply = sandbox.sd(
        uat,
        "POST",
        "/api/v2.1/public/contracts/webhooks/re_trigger_latest/",
        Some(json!({"contract_ids": [id]})),
    );
    assert_eq!(reply.json(), json!({"message": "Success"}));
    let after = receiver.wait_for(3);
    // The contract's latest activity overall is REDLINING_EMAIL_DELIVERED, which nobody
    // subscribed to; the latest webhook call was CONTRACT_SENT_TO_COUNTERPARTY.
    let latest = sandbox.control("GET", &format!("/__sandbox/activities?contract_id={id}"), None).json();
    assert_eq!(latest.as_array().unwrap().last().unwrap()["activity"], "REDLINING_EMAIL_DELIVERED");
    assert_eq!(after[2].body, before[1].body);
    let resent: Value = serde_json::from_slice(&after[2].body).unwrap();
    assert_eq!(resent["activity"], "CONTRACT_SENT_TO_COUNTERPARTY");
}

#[test]
fn re_trigger_latest_sends_identical_bytes() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let receiver = Receiver::start(200);
    sandbox.register_webhook(uat, &receiver.url, &["CONTRACT_EXTERNAL_METADATA_CREATED"]);
    let contract = sandbox.create_nda(uat, "deal-1");
    let original = receiver.wait_for(1);
    let reply = sandbox.sd(
        uat,
        "POST",
        "/api/v2.1/public/contracts/webhooks/re_trigger_latest/",
        Some(json!({"contract_ids": [contract["contract_id"]]})),
    );
    assert_eq!(reply.status, 200);
    let both = receiver.wait_for(2);
    assert_eq!(both[1].body, original[0].body);
    assert_eq!(both[1].header("X-SD-WEBHOOK-CONTENT-HASH"), original[0].header("X-SD-WEBHOOK-CONTENT-HASH"));
    let deliveries = sandbox.wait_for_deliveries("", |list| list.len() >= 2);
    let kinds: Vec<Value> = deliveries.iter().map(|d| d["kind"].clone()).collect();
    assert_eq!(kinds, vec![json!("original"), json!("re_trigger")]);
    assert_eq!(
        sandbox
            .sd(
                uat,
                "POST",
                "/api/v2.1/public/contracts/webhooks/re_trigger_latest/",
                Some(json!({"contract_ids": ["T-1"]}))
            )
            .status,
        400
    );
    assert_eq!(
        sandbox.sd(uat, "POST", "/api/v2.1/public/contracts/webhooks/re_trigger_latest/", Some(json!({}))).status,
        400
    );
}

fn activities(sandbox: &Sandbox, contract_id: u64) -> Vec<Value> {
    sandbox
        .control("GET", &format!("/__sandbox/activities?contract_id={contract_id}"), None)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn lifecycle_moves_emit_realistic_activities_with_increasing_timestamps() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let receiver = Receiver::start(200);
    let all = [
        "CONTRACT_CREATED",
        "CONTRACT_EXTERNAL_METADATA_CREATED",
        "CONTRACT_SENT_TO_COUNTERPARTY",
        "REDLINING_EMAIL_DELIVERED",
        "CONTRACT_SIGNATURE_REQUESTED",
        "CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT",
        "CONTRACT_SIGNED",
        "CONTRACT_EXECUTED",
        "CONTRACT_SIGNATURE_DECLINED",
        "CONTRACT_VOIDED",
    ];
    sandbox.register_webhook(uat, &receiver.url, &all);
    let contract = sandbox.create_nda(uat, "deal-1");
    let composite = contract["id"].as_str().unwrap();
    let id = contract["contract_id"].as_u64().unwrap();
    let status = |expected: &str| {
        assert_eq!(
            sandbox.sd(uat, "GET", &format!("{CONTRACTS}{composite}/status"), None).json()["contract_status"],
            expected
        );
    };
    let moved = sandbox.transition(composite, "REDLINING").json();
    assert_eq!(moved["activities"], json!(["CONTRACT_SENT_TO_COUNTERPARTY", "REDLINING_EMAIL_DELIVERED"]));
    status("REDLINING");
    assert_eq!(
        sandbox.transition(composite, "SIGN").json()["activities"],
        json!(["CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT"])
    );
    status("SIGN");
    // A declined signature goes back to DRAFT.
    assert_eq!(sandbox.transition(composite, "DRAFT").json()["activities"], json!(["CONTRACT_SIGNATURE_DECLINED"]));
    status("DRAFT");
    sandbox.transition(composite, "SIGN");
    // On hold and back: no public activity, but last_updated_on moves.
    let before_hold = sandbox.control("GET", "/__sandbox/contracts", None).json()[0]["last_updated_on"].clone();
    assert_eq!(sandbox.transition(composite, "ON_HOLD").json()["activities"], json!([]));
    status("ON_HOLD");
    let after_hold = sandbox.control("GET", "/__sandbox/contracts", None).json()[0]["last_updated_on"].clone();
    assert!(after_hold.as_str() > before_hold.as_str());
    sandbox.transition(composite, "SIGN");
    assert_eq!(
        sandbox.transition(composite, "EXECUTED").json()["activities"],
        json!(["CONTRACT_SIGNED", "CONTRACT_EXECUTED"])
    );
    status("EXECUTED");
    // Terminal: no further moves, and void is refused by the public API.
    assert_eq!(sandbox.transition(composite, "VOIDED").status, 409);
    assert_eq!(sandbox.transition(composite, "REDLINING").status, 409);

    let history = activities(&sandbox, id);
    let names: Vec<&str> = history.iter().map(|a| a["activity"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "CONTRACT_CREATED",
            "CONTRACT_EXTERNAL_METADATA_CREATED",
            "CONTRACT_SENT_TO_COUNTERPARTY",
            "REDLINING_EMAIL_DELIVERED",
            "CONTRACT_SIGNATURE_REQUESTED",
            "CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT",
            "CONTRACT_SIGNATURE_DECLINED",
            "CONTRACT_SIGNATURE_REQUESTED",
            "CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT",
            "CONTRACT_SIGNED",
            "CONTRACT_EXECUTED",
        ]
    );
    let stamps: Vec<&str> =
        history.iter().map(|a| a["payload"]["activity_data"]["timestamp"].as_str().unwrap()).collect();
    assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]), "strictly increasing: {stamps:?}");
    let executed = &history.last().unwrap()["payload"];
    assert_eq!(executed["contract_status"], "EXECUTED");
    assert_eq!(executed["activity_data"]["performed_by"], json!({"name": "SYSTEM"}));
    let signed = &history[history.len() - 2]["payload"];
    assert_eq!(signed["activity_data"]["performed_by"]["email"], "avery.stone@acme.example");
    let sent = &history[2]["payload"];
    assert_eq!(
        sent["activity_data"]["counterparty_email_recipients"]["to_recipients"],
        json!(["avery.stone@acme.example"])
    );
    let declined = &history[6]["payload"];
    assert_eq!(declined["contract_status"], "DRAFT");
    receiver.wait_for(history.len());

    // Voiding a live contract through the public API emits CONTRACT_VOIDED.
    let other = sandbox.create_nda(uat, "deal-2");
    let voided = sandbox.sd(
        uat,
        "POST",
        &format!("{CONTRACTS}{}/status/void", other["id"].as_str().unwrap()),
        Some(json!({"note": "Deal lost"})),
    );
    assert_eq!(voided.status, 204);
    let last = activities(&sandbox, other["contract_id"].as_u64().unwrap()).last().unwrap().clone();
    assert_eq!(
        (last["activity"].clone(), last["payload"]["contract_status"].clone()),
        (json!("CONTRACT_VOIDED"), json!("VOIDED"))
    );
    assert_eq!(
        sandbox
            .sd(
                uat,
                "POST",
                &format!("{CONTRACTS}{}/status/void", other["id"].as_str().unwrap()),
                Some(json!({"note": "again"}))
            )
            .status,
        400
    );
}

#[test]
fn auto_send_moves_a_new_contract_to_redlining() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let mut body = common::nda_body(uat.nda_template, "deal-1");
    body["workflow_config"] = json!({"auto_send_to_counterparty": true});
    body["send_to_counterparty_config"] = json!({"attachment_formats": ["PDF"], "to_emails": ["legal@acme.example"], "cc_emails": ["sam@yourco.example"]});
    let created = sandbox.sd(uat, "POST", CONTRACTS, Some(body)).json();
    assert_eq!(created["contract_status"], "REDLINING");
    let history = activities(&sandbox, created["contract_id"].as_u64().unwrap());
    let sent = history.iter().find(|a| a["activity"] == "CONTRACT_SENT_TO_COUNTERPARTY").unwrap();
    assert_eq!(
        sent["payload"]["activity_data"]["counterparty_email_recipients"],
        json!({"to_recipients": ["legal@acme.example"], "cc_recipients": ["sam@yourco.example"]})
    );
}
