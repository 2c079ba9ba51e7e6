//! Fault injection: error statuses, the rate limit, slow answers, resets after processing,
//! seeded repeatability, command-line faults and webhook delivery faults.

mod common;

use common::{raw_request, Receiver, Sandbox};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CONTRACTS: &str = "/api/v2.1/public/contracts/";
const CONTRACT_TYPES: &str = "/api/v2.1/public/contract_types/";

fn set_faults(sandbox: &Sandbox, settings: Value) {
    let reply = sandbox.control("PUT", "/__sandbox/faults", Some(settings));
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[test]
fn injected_statuses_replace_the_handler() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    set_faults(
        &sandbox,
        json!({"retry_after_seconds": 2, "rules": [
            {"route": "POST /api/v2.1/public/contracts/", "kind": "500", "times": 1},
            {"route": "GET /api/v2.1/public/contract_types/", "kind": "502", "times": 1},
            {"route": "GET /api/v2.1/public/templates/", "kind": "503", "times": 1},
            {"route": "GET /api/v2.1/public/webhooks/*", "kind": "429", "times": 1},
            {"route": "/crm/*", "kind": "429", "times": 1}
        ]}),
    );
    let failed = sandbox.sd(uat, "POST", CONTRACTS, Some(common::nda_body(uat.nda_template, "deal-1")));
    assert_eq!(failed.status, 500);
    assert!(failed.json()["detail"].is_string());
    assert_eq!(sandbox.sd(uat, "GET", CONTRACTS, None).json()["total_results"], 0, "the create did not run");
    let gateway = sandbox.sd(uat, "GET", CONTRACT_TYPES, None);
    assert_eq!(gateway.status, 502);
    assert!(gateway.header("Content-Type").unwrap().starts_with("text/html"), "load-balancer pages are not JSON");
    assert_eq!(sandbox.sd(uat, "GET", "/api/v2.1/public/templates/", None).status, 503);
    let throttled = sandbox.sd(uat, "GET", "/api/v2.1/public/webhooks/hmac_key/", None);
    assert_eq!((throttled.status, throttled.header("Retry-After")), (429, Some("2")));
    let crm = sandbox.crm_call("GET", "/crm/v3/objects/deals/1001", None);
    assert_eq!((crm.status, crm.json()["category"].clone()), (429, json!("RATE_LIMITS")));
    // Each rule was limited to one use.
    assert_eq!(sandbox.sd(uat, "POST", CONTRACTS, Some(common::nda_body(uat.nda_template, "deal-1"))).status, 201);
    assert_eq!(sandbox.sd(uat, "GET", CONTRACT_TYPES, None).status, 200);
    assert_eq!(sandbox.crm_call("GET", "/crm/v3/objects/deals/1001", None).status, 200);
    let journal = sandbox.requests("?method=POST&path=/api/v2.1/public/contracts/");
    assert_eq!(journal.len(), 2);
    assert_eq!((journal[0]["fault"].clone(), journal[0]["handler_ran"].clone()), (json!("500"), json!(false)));
    assert_eq!(sandbox.control("GET", "/__sandbox/faults", None).json()["rules"][0]["times"], 0);
    assert_eq!(sandbox.control("DELETE", "/__sandbox/faults", None).status, 204);
    assert_eq!(sandbox.control("PUT", "/__sandbox/faults", Some(json!({"rules": [{"kind": "418"}]}))).status, 400);
}

#[test]
fn the_rate_limit_allows_ten_requests_per_second_per_workspace() {
    let sandbox = Sandbox::start(&["--rate-limit"]);
    let (uat, production) = (sandbox.uat(), sandbox.production());
    let statuses: Vec<u16> = (0..14).map(|_| sandbox.sd(uat, "GET", CONTRACT_TYPES, None).status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(sandbox.sd(production, "GET", CONTRACT_TYPES, None).status, 200, "other workspace has its own budget");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(sandbox.sd(uat, "GET", CONTRACT_TYPES, None).status, 200);
    let journal = sandbox.requests("?workspace=uat");
    assert_eq!(journal.iter().filter(|r| r["fault"] == "rate_limit").count(), 4);
}

#[test]
fn slow_answers_wait_before_responding() {
    let sandbox = Sandbox::start(&[]);
    set_faults(&sandbox, json!({"rules": [{"route": "GET /api/*/contract_types/", "kind": "slow", "delay_ms": 400}]}));
    let started = Instant::now();
    assert_eq!(sandbox.sd(sandbox.uat(), "GET", CONTRACT_TYPES, None).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let started = Instant::now();
    assert_eq!(sandbox.sd(sandbox.uat(), "GET", "/api/v2.1/public/templates/", None).status, 200);
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[test]
fn a_reset_after_processing_hides_a_successful_create() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    set_faults(
        &sandbox,
        json!({"rules": [{"route": "POST /api/v2.1/public/contracts/", "kind": "reset", "times": 1}]}),
    );
    let outcome = sandbox.try_sd(uat, "POST", CONTRACTS, Some(common::nda_body(uat.nda_template, "deal-1")));
    assert!(outcome.is_err(), "the client must see a broken connection, got {outcome:?}");
    // ...but the contract exists, which is exactly what a lookup-before-retry must find.
    let found = sandbox.sd(uat, "GET", &format!("{CONTRACTS}by_external_metadata/deal-1"), None).json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    let journal = sandbox.requests("?method=POST");
    assert_eq!((journal[0]["status"].clone(), journal[0]["handler_ran"].clone()), (Value::Null, json!(true)));
    // The same thing works for CRM writes.
    set_faults(&sandbox, json!({"rules": [{"service": "crm", "route": "PATCH /crm/*", "kind": "reset", "times": 1}]}));
    let auth = format!("Bearer {}", sandbox.crm_token);
    let patch = raw_request(
        &sandbox.crm,
        "PATCH",
        "/crm/v3/objects/deals/1001",
        &[("Authorization", &auth)],
        br#"{"properties":{"spotdraft_status":"DRAFT"}}"#,
    );
    assert!(patch.is_err());
    let deal = sandbox.crm_call("GET", "/crm/v3/objects/deals/1001?properties=spotdraft_status", None).json();
    assert_eq!(deal["properties"]["spotdraft_status"], "DRAFT");
}

fn fault_pattern(seed: &str) -> Vec<u16> {
    let sandbox = Sandbox::start(&["--fault-seed", seed, "--fault", "503@0.5:GET /api/v2.1/public/contract_types/"]);
    (0..24).map(|_| sandbox.sd(sandbox.uat(), "GET", CONTRACT_TYPES, None).status).collect()
}

#[test]
fn command_line_faults_are_seeded_and_repeat() {
    let first = fault_pattern("42");
    assert_eq!(first, fault_pattern("42"));
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
    assert_ne!(first, fault_pattern("43"));
}

#[test]
fn duplicated_webhooks_arrive_twice_with_the_same_signature() {
    let sandbox = Sandbox::start(&["--webhook-duplicate-rate", "1"]);
    let uat = sandbox.uat();
    let receiver = Receiver::start(200);
    sandbox.register_webhook(uat, &receiver.url, &["CONTRACT_CREATED"]);
    sandbox.create_nda(uat, "deal-1");
    let received = receiver.wait_for(2);
    assert_eq!(received[0].body, received[1].body);
    assert_eq!(received[0].header("X-SD-WEBHOOK-CONTENT-HASH"), received[1].header("X-SD-WEBHOOK-CONTENT-HASH"));
    let kinds: Vec<Value> =
        sandbox.wait_for_deliveries("", |l| l.len() >= 2).iter().map(|d| d["kind"].clone()).collect();
    assert_eq!(kinds, vec![json!("original"), json!("duplicate")]);
}

#[test]
fn dropped_webhooks_never_arrive_but_are_journaled() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    set_faults(&sandbox, json!({"webhooks": {"drop_rate": 1.0}}));
    let receiver = Receiver::start(200);
    sandbox.register_webhook(uat, &receiver.url, &["CONTRACT_CREATED"]);
    sandbox.create_nda(uat, "deal-1");
    let journal = sandbox.wait_for_deliveries("", |l| !l.is_empty());
    assert_eq!(journal[0]["result"], "dropped");
    std::thread::sleep(Duration::from_millis(200));
    assert!(receiver.received.lock().unwrap().is_empty());
    // Drops are not failures: the subscription stays active.
    assert_eq!(sandbox.control("GET", "/__sandbox/webhooks", None).json()[0]["status"], "ACTIVE");
}

#[test]
fn delayed_webhooks_arrive_late() {
    let sandbox = Sandbox::start(&["--webhook-delay-ms", "400"]);
    let uat = sandbox.uat();
    let receiver = Receiver::start(200);
    sandbox.register_webhook(uat, &receiver.url, &["CONTRACT_CREATED"]);
    let started = Instant::now();
    sandbox.create_nda(uat, "deal-1");
    receiver.wait_for(1);
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn shuffled_webhooks_arrive_out_of_order() {
    let sandbox = Sandbox::start(&["--webhook-shuffle", "--fault-seed", "5"]);
    let uat = sandbox.uat();
    let receiver = Receiver::start(200);
    sandbox.register_webhook(
        uat,
        &receiver.url,
        &["CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNATURE_REQUESTED_NOTIFICATION_SENT"],
    );
    let mut body = common::nda_body(uat.nda_template, "deal-1");
    body["signatories"] = json!((1..=6).map(|n| json!({"name": format!("Signer {n}"), "email": format!("signer{n}@acme.example"), "is_counterparty_signatory": true, "counterparty_name": "Acme Widgets, Inc."})).collect::<Vec<_>>());
    let created = sandbox.sd(uat, "POST", CONTRACTS, Some(body)).json();
    sandbox.transition(created["id"].as_str().unwrap(), "SIGN");
    let received = receiver.wait_for(7);
    let order: Vec<String> = received
        .iter()
        .map(|r| {
            let payload: Value = serde_json::from_slice(&r.body).unwrap();
            payload["activity_data"]["timestamp"].as_str().unwrap().to_string()
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_ne!(order, sorted, "deliveries were not reordered");
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "every activity delivered exactly once");
}
