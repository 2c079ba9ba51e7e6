//! `spotdraft-bench`: the native measurements behind `scripts/bench.sh`. Prints JSON on stdout.
//!
//!   spotdraft-bench webhook <events.json> <repeats>   verify + parse + sync decision per event
//!   spotdraft-bench reconcile <deals> <changed> <repeats>
//!   spotdraft-bench sidebar                            contract loads per simulated hour

mod reconcile_scenario;
mod sidebar_scenario;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{json, Value};
use spotdraft_crm::crm::ContractFields;
use spotdraft_crm::flows;
use spotdraft_crm::sync::{self, Decision, Observation};
use spotdraft_crm::webhook::{self, Activity, WebhookKey};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["webhook", path, repeats] => webhook_bench(path, repeats),
        ["reconcile", deals, changed, repeats] => reconcile_bench(deals, changed, repeats),
        ["sidebar"] => sidebar_counts(),
        _ => Err(
            "usage: spotdraft-bench webhook <events.json> <repeats> | reconcile <deals> <changed> <repeats> | sidebar"
                .into(),
        ),
    };
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("spotdraft-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn number(text: &str, what: &str) -> Result<usize, String> {
    text.parse().map_err(|_| format!("{what} must be a whole number, found {text:?}"))
}

struct Delivery {
    body: Vec<u8>,
    signature: String,
}

fn load_events(path: &str) -> Result<(WebhookKey, Vec<Delivery>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let document: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let key_text = document.get("hmacKey").and_then(Value::as_str).ok_or("the events file has no hmacKey")?;
    let key = WebhookKey::from_base64(key_text).map_err(|e| format!("hmacKey: {e}"))?;
    let events = document.get("events").and_then(Value::as_array).ok_or("the events file has no events array")?;
    let deliveries = events
        .iter()
        .map(|event| {
            let body = event.get("body").and_then(Value::as_str).ok_or("an event has no body")?;
            let signature = event.get("signature").and_then(Value::as_str).ok_or("an event has no signature")?;
            Ok(Delivery { body: body.as_bytes().to_vec(), signature: signature.to_string() })
        })
        .collect::<Result<Vec<_>, &str>>()?;
    Ok((key, deliveries))
}

/// What one pass over the events did; the same tallies come out of the wasm and JS passes.
#[derive(Default)]
struct Tally {
    rejected: usize,
    ignored: usize,
    writes: usize,
    unchanged: usize,
}

/// The relay's webhook path without I/O: verify, parse, ownership, decide, apply in memory.
fn webhook_pass(key: &WebhookKey, deliveries: &[Delivery], portal: &str) -> Tally {
    let mut records: HashMap<String, ContractFields> = HashMap::new();
    let mut tally = Tally::default();
    for delivery in deliveries {
        let event = match webhook::verify_and_parse(key, &delivery.body, Some(&delivery.signature)) {
            Ok(event) => event,
            Err(_) => {
                tally.rejected += 1;
                continue;
            }
        };
        let record = event.record.as_ref().filter(|r| r.tenant == portal);
        let Some(record) = record.filter(|_| Activity::STATUS_ACTIVITIES.contains(&event.activity.as_str())) else {
            tally.ignored += 1;
            continue;
        };
        let observation = Observation {
            contract: event.contract_id,
            status: event.contract_status.clone(),
            at_micros: event.occurred_at_micros,
            link: flows::deep_link(None, event.contract_id.number),
        };
        let fields = records.entry(record.id.clone()).or_default();
        match sync::decide(fields, &observation) {
            Decision::Write { patch } => {
                sync::apply_patch(fields, &patch);
                tally.writes += 1;
            }
            Decision::Unchanged => tally.unchanged += 1,
            Decision::Ignore { .. } => tally.ignored += 1,
        }
    }
    tally
}

fn webhook_bench(path: &str, repeats: &str) -> Result<String, String> {
    let repeats = number(repeats, "repeats")?.max(1);
    let (key, deliveries) = load_events(path)?;
    let portal = reconcile_scenario::PORTAL;
    // One untimed pass warms caches and gives the tallies to cross-check with the other runtimes.
    let tally = webhook_pass(&key, &deliveries, portal);
    let mut full_ms = Vec::with_capacity(repeats);
    let mut verify_parse_ms = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let started = Instant::now();
        std::hint::black_box(webhook_pass(&key, &deliveries, portal));
        full_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        for delivery in &deliveries {
            let _ = std::hint::black_box(webhook::verify_and_parse(&key, &delivery.body, Some(&delivery.signature)));
        }
        verify_parse_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(json!({
        "events": deliveries.len(),
        "tally": {"rejected": tally.rejected, "ignored": tally.ignored, "writes": tally.writes, "unchanged": tally.unchanged},
        "fullMs": full_ms,
        "verifyParseMs": verify_parse_ms,
    })
    .to_string())
}

fn reconcile_bench(deals: &str, changed: &str, repeats: &str) -> Result<String, String> {
    let deals = number(deals, "deals")?;
    let changed = number(changed, "changed")?;
    let repeats = number(repeats, "repeats")?.max(1);
    let mut wall_ms = Vec::with_capacity(repeats);
    let mut last = None;
    for _ in 0..repeats {
        let outcome = reconcile_scenario::run(deals, changed)?;
        wall_ms.push(outcome.wall_ms);
        last = Some(outcome);
    }
    let outcome = last.ok_or("no run")?;
    Ok(json!({
        "deals": outcome.deals,
        "changed": outcome.changed,
        "spotdraftRequests": outcome.requests.spotdraft,
        "crmReads": outcome.requests.crm_reads,
        "crmWrites": outcome.requests.crm_writes,
        "crmRequests": outcome.requests.crm(),
        "pages": outcome.pages,
        "recordsRepaired": outcome.records_repaired,
        "failures": outcome.failures,
        "rateLimitWaitMs": outcome.rate_limit_wait_ms,
        "wallMs": wall_ms,
    })
    .to_string())
}

fn sidebar_counts() -> Result<String, String> {
    use sidebar_scenario::{contract, contract_loads_in_an_hour};
    Ok(json!({
        "openExecuted": contract_loads_in_an_hour(vec![contract(7, "EXECUTED")], false)?,
        "hiddenLive": contract_loads_in_an_hour(vec![contract(7, "SIGN")], true)?,
        "openLive": contract_loads_in_an_hour(vec![contract(7, "SIGN")], false)?,
    })
    .to_string())
}
