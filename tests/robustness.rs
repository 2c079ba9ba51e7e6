//! Every parser of outside data, fed mutated versions of realistic inputs: it may refuse them, it
//! must never panic (in WebAssembly a panic kills the sidebar for the page's life). A seeded
//! generator keeps runs repeatable; failures print the input that caused them.

mod support;

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz_bodies;

use serde_json::{json, Value};
use spotdraft_crm::auth;
use spotdraft_crm::config::Config;
use spotdraft_crm::deal::Deal;
use spotdraft_crm::relay::RelayConfig;
use spotdraft_crm::spotdraft::error_body;
use spotdraft_crm::webhook::{self, WebhookKey};
use support::Rng;

const ROUNDS: usize = 3_000;

const INTERESTING: &[&[u8]] = &[
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e309",
    b"\"\"",
    b"[]",
    b"{}",
    b"\"T-1\"",
    b"\"\\u0000\"",
    b"18446744073709551616",
    b"\"\xff\xfe\"",
    b"\"2026-02-30\"",
    b"\"9999-12-31T23:59:60Z\"",
    b"{\"type\":\"start\"}",
];

/// A byte-level mutation: flip, insert, delete, splice an interesting token, or truncate.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => bytes.insert(at, rng.next() as u8),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => {
                let token = INTERESTING[rng.below(INTERESTING.len())];
                bytes.splice(at..at, token.iter().copied());
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// Structure-aware: replaces a random value somewhere in the JSON with an odd one.
fn mutate_json(rng: &mut Rng, value: &Value) -> Value {
    let odd = [
        json!(null),
        json!(-1),
        json!(1.5e300),
        json!(""),
        json!("x".repeat(5000)),
        json!([]),
        json!({}),
        json!(true),
        json!("T-0"),
        json!(u64::MAX),
    ];
    let mut out = value.clone();
    let mut node = &mut out;
    loop {
        let keys: Vec<String> = match node {
            Value::Object(map) => map.keys().cloned().collect(),
            Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
            _ => Vec::new(),
        };
        if keys.is_empty() || rng.below(3) == 0 {
            *node = odd[rng.below(odd.len())].clone();
            return out;
        }
        let key = &keys[rng.below(keys.len())];
        node = match node {
            Value::Object(map) => map.get_mut(key).unwrap(),
            Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
}

fn run(name: &str, seeds: &[Vec<u8>], mut target: impl FnMut(&[u8])) {
    let mut rng = Rng(0x5EED_0000 ^ name.len() as u64);
    for seed in seeds {
        target(seed);
    }
    for round in 0..ROUNDS {
        let seed = &seeds[round % seeds.len()];
        let input = if round % 2 == 0 {
            mutate(&mut rng, seed)
        } else {
            match serde_json::from_slice::<Value>(seed) {
                Ok(value) => serde_json::to_vec(&mutate_json(&mut rng, &value)).unwrap(),
                Err(_) => mutate(&mut rng, seed),
            }
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input)));
        assert!(outcome.is_ok(), "{name} panicked on {:?}", String::from_utf8_lossy(&input));
    }
}

fn seeds(values: &[Value]) -> Vec<Vec<u8>> {
    values.iter().map(|v| serde_json::to_vec(v).unwrap()).collect()
}

fn config_seed() -> Value {
    json!({
        "environment": "uat", "crm": {"host": "hubspot", "accountId": "42"}, "api": {"region": "eu"},
        "creationStages": ["contractsent"], "allowedOrigins": ["https://app.hubspot.com"],
        "templates": [{"templateId": 1, "label": "NDA", "contractTypeId": 2, "fields": [
            {"variable": "a.b", "source": "deal.closeDate", "encoding": "date"},
            {"variable": "t", "value": 3, "encoding": "duration", "unit": "MONTHS"},
            {"variable": "k", "source": "custom.k", "encoding": "enum", "options": {"x": "y"}}]}]
    })
}

#[test]
fn webhook_verification_and_parsing() {
    let key = WebhookKey::from_base64(
        "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==",
    )
    .unwrap();
    let payload = json!({"activity": "CONTRACT_EXECUTED", "contract_id": 7, "contract_status": "EXECUTED",
        "external_metadata": {"id": "hubspot:42:deal:1", "record_data": {"environment": "uat"}},
        "activity_data": {"timestamp": "2026-01-01T00:00:00.5Z", "email_event_data": {"recipient_email": "a@b.example"}}});
    run("webhook", &seeds(&[payload]), |body| {
        let signature = key.sign(body);
        let _ = webhook::verify_and_parse(&key, body, Some(&signature));
        let _ = webhook::parse_event(body);
        let _ = key.verify(body, std::str::from_utf8(body).ok());
    });
}

#[test]
fn configuration_documents() {
    let mut relay = json!({"environments": {"uat": {"plugin": config_seed(),
        "spotdraft": {"clientId": "a", "clientSecret": "b", "hmacKey": "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA=="},
        "crm": {"baseUrl": "https://api.hubapi.com", "token": "t"}, "hostSecrets": {"demo": "0123456789abcdef0123456789abcdef"}}}});
    relay["environments"]["production"] = relay["environments"]["uat"].clone();
    run("config", &seeds(&[config_seed(), relay]), |text| {
        let text = String::from_utf8_lossy(text);
        let _ = Config::parse(&text);
        let _ = RelayConfig::parse(&text);
    });
}

#[test]
fn deals_and_mapping() {
    let deal = json!({"id": "1", "name": "Acme", "amount": "12.5", "currency": "usd", "stage": "contractsent", "closeDate": 1774656000000_i64,
        "account": {"name": "  acme  inc ", "address": {"city": "X", "countryIsoCode": "us", "lineOne": "1"}},
        "primaryContact": {"firstName": "a", "email": "a@b.example"}, "custom": {"k": "x", "n": [1]}});
    let config = Config::from_json(&config_seed()).unwrap();
    let metadata: spotdraft_crm::spotdraft::types::TemplateMetadata =
        serde_json::from_value(json!({"counter_party_kind": "Both", "attributes": [
        {"variable": "a.b", "type": "date", "parent_variable": "a", "child_variable": "b"},
        {"variable": "t.type", "type": "enum", "parent_variable": "t", "parent_type": "duration"},
        {"variable": "k", "type": "enum", "options": [{"label": "Y", "value": "y"}]}]}))
        .unwrap();
    run("deal", &seeds(&[deal]), |bytes| {
        if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            if let Ok(deal) = Deal::from_json(&value) {
                let template = config.template(1).unwrap();
                let _ = spotdraft_crm::mapping::preview(&config, template, &deal, &metadata);
            }
        }
    });
}

#[test]
fn spotdraft_error_bodies_and_responses() {
    run(
        "error bodies",
        &seeds(&[json!({"detail": "x", "code": "SD_1", "message": "m"}), json!({"a": {"0": {"b": ["c"]}}})]),
        |body| {
            let _ = error_body::parse(400, body);
            let _ = serde_json::from_slice::<spotdraft_crm::spotdraft::types::ContractRecord>(body);
        },
    );
}

#[test]
fn sidebar_messages() {
    let values = [
        json!({"type": "sendClicked", "contractId": "T-1"}),
        json!({"type": "recordChanged", "deal": {"id": "1", "name": "x"}}),
        json!([{"id": "T-1", "number": 1, "name": "n", "status": "DRAFT", "statusLabel": "Draft", "link": "https://app.spotdraft.com/contracts/v2/1",
            "counterpartyName": null, "contractTypeName": null, "created": null, "externalId": null}]),
        json!({"canCreate": false, "problems": [{"path": "p", "message": "m"}]}),
        json!({"id": "1", "name": "x", "stage": "contractsent"}),
        json!({"config": {"ok": {"environment": "uat", "creationStages": [], "templates": []}}, "deal": {"error": {"code": "crm_error", "message": "m"}},
            "contracts": {"ok": []}}),
    ];
    // The fuzz target's own body, assertions included: each value as an event and as every kind of
    // relay answer, applied to one sidebar.
    run("sidebar", &seeds(&values), fuzz_bodies::sidebar_messages);
}

#[test]
fn relay_tokens() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let caller =
        auth::Caller { host: "demo".into(), tenant: "42".into(), record: "1".into(), user: None, expires_at: None };
    let token = auth::mint_token(secret, &caller, 1_800_000_000, 300).unwrap();
    let secrets = |host: &str| (host == "demo").then(|| secret.to_vec());
    run("tokens", &[token.into_bytes()], |bytes| {
        let _ = auth::verify_token(&String::from_utf8_lossy(bytes), &secrets, 1_800_000_100);
        let _ = auth::verify_hubspot_v3("s", "GET", &String::from_utf8_lossy(bytes), bytes, Some("x"), Some("1"), 0);
    });
}
