//! End to end: the core's SpotDraft client and flows (native transport, real loopback HTTP) against
//! the emulator. Both sides are held to the same spec independently, so agreement here checks paths,
//! bodies, ids and error shapes from both ends; the faults check the no-duplicate create rule.

mod common;

use common::{Receiver, Sandbox, Workspace};
use serde_json::{json, Value};
use spotdraft_crm::config::Config;
use spotdraft_crm::deal::Deal;
use spotdraft_crm::flows::{self, SendOptions};
use spotdraft_crm::model::ContractStatus;
use spotdraft_crm::native_transport::NativeTransport;
use spotdraft_crm::spotdraft::{ClientOptions, Credentials, ListQuery, RetryPolicy, SpotDraftClient};
use spotdraft_crm::webhook::{self, WebhookKey};

const CONTRACTS: &str = "/api/v2.1/public/contracts/";

fn config(sandbox: &Sandbox, workspace: &Workspace) -> Config {
    Config::from_json(&json!({
        "environment": workspace.name,
        "crm": {"host": "hubspot", "accountId": "4411223"},
        "api": {"baseUrl": sandbox.spotdraft},
        "creationStages": ["contractsent"],
        "templates": [{
            "templateId": workspace.msa_template, "label": "Master Services Agreement", "contractTypeId": 111,
            "fields": [
                {"variable": "agreement_date", "source": "deal.closeDate", "encoding": "date"},
                {"variable": "customer_legal_name", "source": "account.name", "encoding": "string"},
                {"variable": "contract_value", "source": "deal.amount", "encoding": "currency"},
                {"variable": "subscription_term", "source": "custom.term_months", "encoding": "duration", "unit": "MONTHS"},
                {"variable": "billing_frequency", "source": "custom.billing", "encoding": "enum"},
                {"variable": "auto_renewal", "source": "custom.auto_renew", "encoding": "boolean"},
                {"variable": "service_regions", "source": "custom.regions", "encoding": "multiSelect"},
                {"variable": "billing_contact.email", "source": "contact.email", "encoding": "string"},
                {"variable": "billing_contact.name", "source": "contact.fullName", "encoding": "string"}
            ]
        }]
    }))
    .expect("config for the sandbox")
}

fn deal(id: &str) -> Deal {
    Deal::from_json(&json!({
        "id": id, "name": "Acme platform", "amount": "48000", "currency": "USD", "stage": "contractsent",
        "closeDate": "2026-06-30",
        "account": {"id": "2001", "name": "  acme   widgets, inc. ", "address": {"lineOne": "1 Main St", "city": "Austin", "countryIsoCode": "US"}},
        "primaryContact": {"firstName": "avery", "lastName": "stone", "email": "avery@acme.example"},
        "custom": {"term_months": "24", "billing": "Annually", "auto_renew": "true", "regions": "US;European Union"}
    }))
    .expect("deal")
}

fn client(sandbox: &Sandbox, workspace: &Workspace, retry: RetryPolicy) -> SpotDraftClient<NativeTransport> {
    let credentials = Credentials {
        client_id: workspace.client_id.clone(),
        client_secret: workspace.client_secret.clone(),
        user_email: None,
    };
    let options = ClientOptions { retry, timeout_ms: 5_000, jitter_seed: Some(7), ..ClientOptions::default() };
    SpotDraftClient::new(NativeTransport::new(), &sandbox.spotdraft, Some(credentials), options).expect("client")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy { max_attempts: 8, base_delay_ms: 20, max_delay_ms: 200, total_budget_ms: 20_000 }
}

fn contracts_for(sandbox: &Sandbox, workspace: &Workspace, key: &str) -> Vec<Value> {
    let reply = sandbox.sd(workspace, "GET", &format!("{CONTRACTS}by_external_metadata/{key}"), None);
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json().as_array().cloned().unwrap_or_default()
}

/// Live contracts for a record key, read through the control API (which faults never touch).
fn live_in_emulator(sandbox: &Sandbox, key: &str) -> usize {
    let all = sandbox.control("GET", "/__sandbox/contracts", None).json();
    all.as_array()
        .map(|list| {
            list.iter().filter(|c| c["external_metadata"]["id"] == json!(key) && c["status"] != json!("VOIDED")).count()
        })
        .unwrap_or(0)
}

fn creates(sandbox: &Sandbox) -> usize {
    sandbox
        .requests(&format!("?method=POST&path={CONTRACTS}"))
        .iter()
        .filter(|r| r["handler_ran"] == json!(true))
        .count()
}

#[test]
fn create_for_deal_fills_the_template_and_never_duplicates() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let config = config(&sandbox, uat);
    let client = client(&sandbox, uat, RetryPolicy::default());

    let first =
        pollster::block_on(flows::create_for_deal(&client, &config, &deal("1001"), uat.msa_template)).expect("created");
    assert!(first.created);
    assert_eq!(first.contract.status, ContractStatus::Draft);
    assert_eq!(first.contract.link, format!("https://app.spotdraft.com/contracts/v2/{}", first.contract.number));
    let again =
        pollster::block_on(flows::create_for_deal(&client, &config, &deal("1001"), uat.msa_template)).expect("found");
    assert!(!again.created, "a second click returns the first contract");
    assert_eq!(again.contract.id, first.contract.id);
    assert_eq!(creates(&sandbox), 1);

    let stored = sandbox.control("GET", "/__sandbox/contracts", None).json();
    let stored = stored
        .as_array()
        .and_then(|list| list.iter().find(|c| c["id"] == json!(first.contract.id.to_string())))
        .cloned()
        .expect("in the emulator");
    let text = stored.to_string();
    for expected in [
        r#""id":"hubspot:4411223:deal:1001""#,
        r#""customer_legal_name":"Acme Widgets, Inc.""#,
        r#""contract_value":{"type":"USD","value":48000.0}"#,
        r#""subscription_term":{"days":730,"type":"MONTHS","value":24}"#,
        r#""service_regions":["US","EU"]"#,
        r#""billing_frequency":"annually""#,
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
}

#[test]
fn a_reset_after_the_create_is_resolved_by_lookup() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let reply = sandbox.control(
        "PUT",
        "/__sandbox/faults",
        Some(json!({"rules": [{"route": "POST /api/v2.1/public/contracts/", "kind": "reset", "times": 1}]})),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let outcome = pollster::block_on(flows::create_for_deal(
        &client(&sandbox, uat, fast_retries()),
        &config(&sandbox, uat),
        &deal("1002"),
        uat.msa_template,
    ))
    .expect("the contract the reset hid is found");
    assert!(outcome.created);
    assert_eq!(creates(&sandbox), 1);
    assert_eq!(contracts_for(&sandbox, uat, "hubspot:4411223:deal:1002").len(), 1);
}

#[test]
fn heavy_transient_faults_still_end_with_exactly_one_contract() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let reply = sandbox.control(
        "PUT",
        "/__sandbox/faults",
        Some(json!({"seed": 11, "rules": [
            {"route": "*", "kind": "503", "rate": 0.3},
            {"route": "*", "kind": "429", "rate": 0.2},
            {"route": "POST /api/v2.1/public/contracts/", "kind": "reset", "rate": 0.3}
        ]})),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let client = client(&sandbox, uat, fast_retries());
    let config = config(&sandbox, uat);
    let mut created = 0;
    for deal_id in ["2001", "2002", "2003", "2004", "2005"] {
        let outcome = pollster::block_on(flows::create_for_deal(&client, &config, &deal(deal_id), uat.msa_template));
        let live = live_in_emulator(&sandbox, &format!("hubspot:4411223:deal:{deal_id}"));
        match outcome {
            Ok(_) => {
                created += 1;
                assert_eq!(live, 1, "deal {deal_id}");
            }
            // Giving up is allowed under this much failure; duplicating is not.
            Err(error) => assert!(live <= 1 && error.is_transient(), "deal {deal_id}: {error}"),
        }
    }
    let faulted = sandbox.requests("").iter().filter(|r| !r["fault"].is_null()).count();
    assert!(faulted >= 5, "faults were injected ({faulted})");
    assert!(created >= 3, "retries carried most creates through ({created} of 5)");
}

#[test]
fn status_links_sending_and_listing_follow_the_lifecycle() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let client = client(&sandbox, uat, RetryPolicy::default());
    let created =
        pollster::block_on(flows::create_for_deal(&client, &config(&sandbox, uat), &deal("1003"), uat.msa_template))
            .expect("created")
            .contract;

    let sent =
        pollster::block_on(flows::send_to_counterparty(&client, created.id, &SendOptions::default())).expect("sent");
    assert_eq!(sent.status, ContractStatus::Redlining, "sending puts the contract in review");
    let resent =
        pollster::block_on(flows::send_to_counterparty(&client, created.id, &SendOptions::default())).unwrap_err();
    assert!(resent.to_string().contains("already sent"), "{resent}");

    for to in ["SIGN", "EXECUTED"] {
        let reply = sandbox.transition(&created.id.to_string(), to);
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let report = pollster::block_on(flows::status(&client, created.id)).expect("status");
    assert_eq!(report.status, ContractStatus::Executed);

    let link = pollster::block_on(flows::download_link(&client, created.id)).expect("download link");
    let path =
        link.url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string())).expect("path");
    let pdf = common::raw_request(&sandbox.spotdraft, "GET", &path, &[], b"").expect("download");
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with(b"%PDF"), "a real PDF");

    let listing = pollster::block_on(flows::list_contracts(
        &client,
        &ListQuery { page: 1, limit: 50, updated_since: Some("2020-01-01T00:00:00Z".into()), ..ListQuery::default() },
    ))
    .expect("list");
    assert!(listing.contracts.iter().any(|c| c.id == created.id));
    let none = pollster::block_on(flows::list_contracts(
        &client,
        &ListQuery { page: 1, limit: 50, updated_since: Some("2999-01-01T00:00:00Z".into()), ..ListQuery::default() },
    ))
    .expect("list");
    assert!(none.contracts.is_empty());

    let again =
        pollster::block_on(flows::send_to_counterparty(&client, created.id, &SendOptions::default())).unwrap_err();
    assert_eq!(again.code(), "invalid_input", "an executed contract is not sent again");
}

#[test]
fn deliveries_verify_with_the_core_and_other_environments_do_not() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let receiver = Receiver::start(200);
    sandbox.register_webhook(uat, &receiver.url, &webhook::Activity::STATUS_ACTIVITIES);
    let client = client(&sandbox, uat, RetryPolicy::default());
    let created =
        pollster::block_on(flows::create_for_deal(&client, &config(&sandbox, uat), &deal("1004"), uat.msa_template))
            .expect("created")
            .contract;
    sandbox.transition(&created.id.to_string(), "REDLINING");
    let received = receiver.wait_for(2);

    let uat_key = WebhookKey::from_base64(&uat.hmac_key).expect("uat key");
    let production_key = WebhookKey::from_base64(&sandbox.production().hmac_key).expect("production key");
    let mut activities = Vec::new();
    for delivery in &received {
        let signature = delivery.header(webhook::SIGNATURE_HEADER);
        let event = webhook::verify_and_parse(&uat_key, &delivery.body, signature).expect("verifies and parses");
        assert_eq!(event.contract_id, created.id);
        assert_eq!(event.record.as_ref().map(|r| r.id.as_str()), Some("1004"));
        assert_eq!(event.environment, Some(spotdraft_crm::model::Environment::Uat));
        assert_eq!(production_key.verify(&delivery.body, signature).unwrap_err().code(), "invalid_signature");
        activities.push((event.occurred_at_micros, event.activity.as_str().to_string(), event.contract_status));
    }
    activities.sort_by_key(|a| a.0);
    assert_eq!(activities.first().map(|a| a.1.as_str()), Some(webhook::Activity::CREATED));
    assert!(activities
        .iter()
        .any(|a| a.1 == webhook::Activity::SENT_TO_COUNTERPARTY && a.2 == ContractStatus::Redlining));
}

#[test]
fn wrong_credentials_and_unknown_contracts_are_typed_errors() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let mut wrong = Workspace { client_secret: "not-the-secret".into(), ..clone_workspace(uat) };
    wrong.name = "uat".into();
    let err = pollster::block_on(client(&sandbox, &wrong, RetryPolicy::default()).templates()).unwrap_err();
    assert_eq!(err.code(), "spotdraft_error");
    assert!(err.to_string().starts_with("SpotDraft answered 401"), "{err}");
    let err = pollster::block_on(flows::status(
        &client(&sandbox, uat, RetryPolicy::default()),
        spotdraft_crm::model::ContractId::template(999_999),
    ))
    .unwrap_err();
    assert!(err.to_string().starts_with("SpotDraft answered 404"), "{err}");
    let production = sandbox.production();
    let uat_contract = pollster::block_on(flows::create_for_deal(
        &client(&sandbox, uat, RetryPolicy::default()),
        &config(&sandbox, uat),
        &deal("1005"),
        uat.msa_template,
    ))
    .expect("created");
    let err = pollster::block_on(flows::status(
        &client(&sandbox, production, RetryPolicy::default()),
        uat_contract.contract.id,
    ))
    .unwrap_err();
    assert!(err.to_string().starts_with("SpotDraft answered 404"), "production can't see UAT's contract: {err}");
}

fn clone_workspace(w: &Workspace) -> Workspace {
    Workspace {
        name: w.name.clone(),
        id: w.id,
        client_id: w.client_id.clone(),
        client_secret: w.client_secret.clone(),
        hmac_key: w.hmac_key.clone(),
        user_emails: w.user_emails.clone(),
        nda_template: w.nda_template,
        msa_template: w.msa_template,
    }
}
