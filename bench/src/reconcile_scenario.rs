//! Reconcile at scale without a server: a transport that plays SpotDraft and a HubSpot-shaped CRM
//! from memory, counting every request. SpotDraft's list honours `filter__last_updated_on[$gte]`
//! and pages of 100, so only contracts changed since the checkpoint are listed — as the real API
//! does. Shared by the benchmark binary and `tests/budgets.rs` (included there by path).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use serde_json::{json, Map, Value};
use spotdraft_crm::model::Environment;
use spotdraft_crm::relay::{Relay, RelayConfig};
use spotdraft_crm::time;
use spotdraft_crm::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

pub const PORTAL: &str = "4411223";
const SPOTDRAFT_BASE: &str = "http://127.0.0.1:9";
const CRM_BASE: &str = "http://127.0.0.1:10";
/// Every contract was last synced at this instant; the checkpoint is one hour later.
const SYNCED_AT_MS: i64 = 1_790_000_000_000;
const CHECKPOINT_MS: i64 = SYNCED_AT_MS + 3_600_000;
const CHANGED_AT_MS: i64 = CHECKPOINT_MS + 600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestCounts {
    pub spotdraft: usize,
    pub crm_reads: usize,
    pub crm_writes: usize,
}

impl RequestCounts {
    pub fn crm(&self) -> usize {
        self.crm_reads + self.crm_writes
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioOutcome {
    pub deals: usize,
    pub changed: usize,
    pub requests: RequestCounts,
    pub pages: u32,
    pub records_repaired: usize,
    pub failures: usize,
    /// Time the relay's SpotDraft rate limiter made the pass wait (virtual here, real in production).
    pub rate_limit_wait_ms: u64,
    /// Wall time of the reconcile pass alone (the in-memory emulation included).
    pub wall_ms: f64,
}

struct StoredContract {
    status: &'static str,
    updated_micros: i64,
}

/// SpotDraft contracts `T-1..=T-deals` on deals `1..=deals`, one per deal.
pub struct InMemoryServices {
    contracts: Vec<StoredContract>,
    /// Indexes into `contracts`, oldest change first: what the `$gte` filter walks.
    by_update: Vec<usize>,
    crm: RefCell<HashMap<u64, Map<String, Value>>>,
    counts: Cell<RequestCounts>,
    clock_ms: Cell<u64>,
    slept_ms: Cell<u64>,
}

fn timestamp(ms: i64) -> String {
    time::format_timestamp(ms.saturating_mul(1000)).unwrap_or_default()
}

impl InMemoryServices {
    /// `changed` contracts (spread evenly over the deals) moved to SIGN after the checkpoint;
    /// every other one is still REDLINING, as the CRM shows.
    pub fn new(deals: usize, changed: usize) -> InMemoryServices {
        let stride = deals.checked_div(changed).map_or(usize::MAX, |s| s.max(1));
        let mut contracts = Vec::with_capacity(deals);
        let mut crm = HashMap::with_capacity(deals);
        for index in 0..deals {
            let is_changed = changed > 0 && index % stride == 0 && index / stride < changed;
            let (status, updated_ms) = if is_changed { ("SIGN", CHANGED_AT_MS) } else { ("REDLINING", SYNCED_AT_MS) };
            contracts.push(StoredContract { status, updated_micros: updated_ms.saturating_mul(1000) });
            let number = index as u64 + 1;
            let mut fields = Map::new();
            fields.insert("spotdraft_contract_id".into(), json!(format!("T-{number}")));
            fields.insert("spotdraft_status".into(), json!("REDLINING"));
            fields.insert("spotdraft_status_at".into(), json!(timestamp(SYNCED_AT_MS)));
            fields.insert(
                "spotdraft_contract_link".into(),
                json!(format!("https://app.spotdraft.com/contracts/v2/{number}")),
            );
            crm.insert(number, fields);
        }
        let mut by_update: Vec<usize> = (0..deals).collect();
        by_update.sort_by_key(|&i| contracts[i].updated_micros);
        InMemoryServices {
            contracts,
            by_update,
            crm: RefCell::new(crm),
            counts: Cell::new(RequestCounts::default()),
            clock_ms: Cell::new(u64::try_from(CHECKPOINT_MS + 3_600_000).unwrap_or(0)),
            slept_ms: Cell::new(0),
        }
    }

    pub fn counts(&self) -> RequestCounts {
        self.counts.get()
    }

    fn bump(&self, change: impl FnOnce(&mut RequestCounts)) {
        let mut counts = self.counts.get();
        change(&mut counts);
        self.counts.set(counts);
    }

    fn list_page(&self, query: &HashMap<String, String>) -> Value {
        let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
        let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100).clamp(1, 100);
        let since = query.get("filter__last_updated_on[$gte]").and_then(|s| time::parse_timestamp(s));
        let first =
            since.map_or(0, |since| self.by_update.partition_point(|&i| self.contracts[i].updated_micros < since));
        let matching = &self.by_update[first..];
        let results: Vec<Value> = matching
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(|&index| {
                let number = index as u64 + 1;
                json!({
                    "id": format!("T-{number}"), "contract_id": number, "contract_name": format!("Mutual NDA #{number}"),
                    "contract_status": self.contracts[index].status,
                    "contract_link": format!("https://app.spotdraft.com/contracts/v2/{number}"),
                    "external_metadata": {"id": format!("hubspot:{PORTAL}:deal:{number}")}
                })
            })
            .collect();
        json!({"page": page, "limit": limit, "total_results": matching.len(), "results": results})
    }
}

fn path_and_query(url: &str) -> (String, HashMap<String, String>) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = after_scheme.find('/').and_then(|i| after_scheme.get(i..)).unwrap_or("/");
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let pairs = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect();
    (path.to_string(), pairs)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn answer(status: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

impl Transport for InMemoryServices {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (path, query) = path_and_query(&request.url);
        if request.url.starts_with(SPOTDRAFT_BASE) {
            self.bump(|c| c.spotdraft += 1);
            if request.method == Method::Get && path == "/api/v2.1/public/contracts/" {
                return Ok(answer(200, &self.list_page(&query)));
            }
            // The fresh read reconcile confirms a change with: `GET …/contracts/T-{n}/status`.
            let status_of = path
                .strip_prefix("/api/v2.1/public/contracts/T-")
                .and_then(|rest| rest.strip_suffix("/status"))
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|index| self.contracts.get(index));
            if let (Method::Get, Some(contract)) = (request.method, status_of) {
                return Ok(answer(200, &json!({"contract_status": contract.status})));
            }
            return Ok(answer(404, &json!({"detail": "not emulated"})));
        }
        let deal = path.strip_prefix("/crm/v3/objects/deals/").and_then(|id| id.parse::<u64>().ok());
        let Some(deal) = deal else { return Ok(answer(404, &json!({"message": "no such path"}))) };
        match request.method {
            Method::Get => {
                self.bump(|c| c.crm_reads += 1);
                let properties = self.crm.borrow().get(&deal).cloned();
                Ok(match properties {
                    Some(properties) => answer(200, &json!({"id": deal.to_string(), "properties": properties})),
                    None => answer(404, &json!({"message": "no such deal"})),
                })
            }
            Method::Patch => {
                self.bump(|c| c.crm_writes += 1);
                let body: Value =
                    serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap_or(Value::Null);
                let mut crm = self.crm.borrow_mut();
                let (Some(record), Some(written)) =
                    (crm.get_mut(&deal), body.get("properties").and_then(Value::as_object))
                else {
                    return Ok(answer(400, &json!({"message": "bad write"})));
                };
                record.extend(written.clone());
                Ok(answer(200, &json!({"id": deal.to_string(), "properties": record.clone()})))
            }
            _ => Ok(answer(405, &json!({"message": "method not emulated"}))),
        }
    }

    async fn sleep(&self, ms: u64) {
        // Virtual time: the relay's rate limiter waits without slowing the benchmark.
        self.clock_ms.set(self.clock_ms.get().saturating_add(ms));
        self.slept_ms.set(self.slept_ms.get().saturating_add(ms));
    }

    fn now_ms(&self) -> u64 {
        self.clock_ms.get()
    }
}

pub fn relay_config() -> Value {
    json!({"environments": {"uat": {
        "plugin": {
            "environment": "uat",
            "crm": {"host": "hubspot", "accountId": PORTAL},
            "api": {"baseUrl": SPOTDRAFT_BASE},
            "creationStages": ["contractsent"],
            "templates": [{"templateId": 101, "label": "Mutual NDA", "contractTypeId": 11, "fields": []}]
        },
        "spotdraft": {"clientId": "bench-client", "clientSecret": "bench-secret", "hmacKey": "YmVuY2gtaG1hYy1rZXktMDEyMzQ1Njc4OWFiY2RlZg=="},
        "crm": {"baseUrl": CRM_BASE, "token": "bench-crm-token"},
        "hostSecrets": {"demo": "bench-host-secret-0123456789abcdef0123"}
    }}})
}

/// One reconcile pass from the checkpoint over `deals` deals of which `changed` moved.
pub fn run(deals: usize, changed: usize) -> Result<ScenarioOutcome, String> {
    let services = InMemoryServices::new(deals, changed);
    let config = RelayConfig::from_json(&relay_config()).map_err(|e| format!("relay config: {e}"))?;
    let relay = Relay::new(config, &services).map_err(|e| format!("relay: {e}"))?;
    let started = std::time::Instant::now();
    let report = pollster::block_on(relay.reconcile(Environment::Uat, Some(timestamp(CHECKPOINT_MS))))
        .map_err(|e| format!("reconcile: {e}"))?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(ScenarioOutcome {
        deals,
        changed,
        requests: services.counts(),
        pages: report.pages,
        records_repaired: report.records_repaired,
        failures: report.failures.len(),
        rate_limit_wait_ms: services.slept_ms.get(),
        wall_ms,
    })
}
