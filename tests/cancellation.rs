//! A request may be dropped at any await point (its client went away, the runtime cancelled it, a
//! timeout fired). Whatever point it stopped at, it must leave nothing held: the next create or
//! webhook for the same deal proceeds at once (no waiting out a lock's lease). Every upstream call
//! here is an await point that is pending once before it answers, and each test drops a request
//! after 1, 2, 3, … polls until one runs to completion.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use serde_json::{json, Value};
use spotdraft_crm::auth::{mint_token, Caller};
use spotdraft_crm::relay::config::RelayConfig;
use spotdraft_crm::relay::{Relay, RelayRequest, RelayResponse};
use spotdraft_crm::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
use spotdraft_crm::webhook::WebhookKey;

const PORTAL: &str = "4411223";
const HMAC_KEY: &str = "Y2FuY2VsbGF0aW9uLXRlc3QtaG1hYy1rZXktMDEyMzQ1";
const HOST_SECRET: &str = "cancellation-test-host-secret-0123456789";
const START_MS: u64 = 1_800_000_000_000;

/// SpotDraft and a HubSpot-shaped CRM in memory, just enough for create and webhooks on deal 1001.
struct World {
    clock_ms: Cell<u64>,
    contracts: RefCell<Vec<Value>>,
    crm_fields: RefCell<serde_json::Map<String, Value>>,
    spotdraft_calls: Cell<usize>,
}

/// Pending once, then ready: an await point.
struct Once(bool);
impl Future for Once {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

fn json_answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

impl World {
    fn new() -> World {
        World {
            clock_ms: Cell::new(START_MS),
            contracts: RefCell::new(Vec::new()),
            crm_fields: RefCell::default(),
            spotdraft_calls: Cell::new(0),
        }
    }

    fn answer(&self, request: &HttpRequest) -> HttpResponse {
        let path = request.url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or("");
        let path = path.split('?').next().unwrap_or(path);
        match (request.method, path) {
            (Method::Get, "/crm/v3/objects/deals/1001") => {
                let mut properties = json!({"dealname": "Acme renewal", "dealstage": "contractsent",
                    "closedate": "2026-12-15", "amount": "48000", "deal_currency_code": "USD"});
                if let Value::Object(map) = &mut properties {
                    map.extend(self.crm_fields.borrow().clone());
                }
                json_answer(
                    200,
                    json!({"id": "1001", "properties": properties,
                    "associations": {"companies": {"results": [{"id": "2001"}]}, "contacts": {"results": [{"id": "3001"}]}}}),
                )
            }
            (Method::Get, "/crm/v3/objects/companies/2001") => json_answer(
                200,
                json!({"id": "2001", "properties": {"name": "Acme Widgets, Inc.", "country": "United States"}}),
            ),
            (Method::Get, "/crm/v3/objects/contacts/3001") => json_answer(
                200,
                json!({"id": "3001", "properties": {"firstname": "Avery", "lastname": "Stone", "email": "avery@acme.example"}}),
            ),
            (Method::Patch, "/crm/v3/objects/deals/1001") => {
                let body: Value =
                    serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap_or_default();
                if let Some(Value::Object(properties)) = body.get("properties") {
                    self.crm_fields.borrow_mut().extend(properties.clone());
                }
                json_answer(200, json!({"id": "1001", "properties": {}}))
            }
            (Method::Get, p) if p.starts_with("/api/v2.1/public/contracts/by_external_metadata/") => {
                json_answer(200, Value::Array(self.contracts.borrow().clone()))
            }
            (Method::Get, "/api/v2.1/public/templates/101/metadata") => json_answer(
                200,
                json!({"counter_party_kind": "Organisation", "attributes": [
                    {"variable": "effective_date", "display_label": "Effective date", "type": "date", "required": true}]}),
            ),
            (Method::Post, "/api/v2.1/public/contracts/") => {
                let number = self.contracts.borrow().len() as u64 + 1;
                let contract = json!({"id": format!("T-{number}"), "contract_id": number, "contract_status": "DRAFT",
                    "created": "2026-11-30T10:00:00Z", "contract_name": "Mutual NDA – Acme Widgets, Inc.",
                    "contract_link": format!("https://app.spotdraft.com/contracts/v2/{number}"),
                    "external_metadata": {"id": format!("hubspot:{PORTAL}:deal:1001"), "integration_name": "spotdraft-crm"}});
                self.contracts.borrow_mut().push(contract.clone());
                json_answer(201, contract)
            }
            (Method::Get, "/api/v2.1/public/contracts/T-1/status") => {
                json_answer(200, json!({"contract_status": "REDLINING", "contract_name": "Mutual NDA"}))
            }
            _ => json_answer(404, json!({"detail": format!("not in this test's world: {path}")})),
        }
    }
}

impl Transport for World {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if request.url.contains("/api/v2.1/") {
            self.spotdraft_calls.set(self.spotdraft_calls.get() + 1);
        }
        Once(false).await;
        Ok(self.answer(&request))
    }
    async fn sleep(&self, ms: u64) {
        self.clock_ms.set(self.clock_ms.get() + ms);
        Once(false).await;
    }
    fn now_ms(&self) -> u64 {
        self.clock_ms.get()
    }
}

fn relay(world: &World) -> Relay<&World> {
    let config = RelayConfig::from_json(&json!({"environments": {"uat": {
        "plugin": {"environment": "uat", "crm": {"host": "hubspot", "accountId": PORTAL},
                   "api": {"baseUrl": "http://127.0.0.1:9"}, "creationStages": ["contractsent"],
                   "templates": [{"templateId": 101, "label": "Mutual NDA", "contractTypeId": 11,
                                  "fields": [{"variable": "effective_date", "source": "deal.closeDate", "encoding": "date"}]}]},
        "spotdraft": {"clientId": "cancel-client", "clientSecret": "cancel-secret", "hmacKey": HMAC_KEY},
        "crm": {"baseUrl": "http://127.0.0.1:10", "token": "cancel-crm-token"},
        "hostSecrets": {"demo": HOST_SECRET}
    }}}))
    .expect("test config");
    Relay::new(config, world).expect("relay")
}

fn create_request(world: &World) -> RelayRequest {
    let caller =
        Caller { host: "demo".into(), tenant: PORTAL.into(), record: "1001".into(), user: None, expires_at: None };
    let token = mint_token(HOST_SECRET.as_bytes(), &caller, world.now_ms() / 1000, 300).expect("token");
    RelayRequest {
        method: "POST".into(),
        url: "http://relay.test/api/uat/deals/1001/contracts".into(),
        headers: vec![
            ("authorization".into(), format!("Bearer {token}")),
            ("content-type".into(), "application/json".into()),
        ],
        body: br#"{"templateId": 101}"#.to_vec(),
    }
}

fn webhook_request() -> RelayRequest {
    let body = serde_json::to_vec(&json!({
        "activity": "CONTRACT_SENT_TO_COUNTERPARTY", "contract_id": 1, "contract_status": "REDLINING",
        "external_metadata": {"id": format!("hubspot:{PORTAL}:deal:1001"), "integration_name": "spotdraft-crm",
                              "record_data": {"environment": "uat"}},
        "activity_data": {"timestamp": "2026-11-30T11:00:00Z"}
    }))
    .unwrap_or_default();
    let signature = WebhookKey::from_base64(HMAC_KEY).expect("key").sign(&body);
    RelayRequest {
        method: "POST".into(),
        url: "http://relay.test/webhooks/spotdraft/uat".into(),
        headers: vec![("x-sd-webhook-content-hash".into(), signature)],
        body,
    }
}

/// Polls `future` at most `polls` times; `Some` if it finished.
fn poll_up_to<F: Future>(future: F, polls: usize) -> Option<F::Output> {
    let mut future = Box::pin(future);
    let mut context = Context::from_waker(Waker::noop());
    (0..polls).find_map(|_| match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    })
}

/// Drops the request made by `make` after 1, 2, … polls until one completes; after each drop, the
/// same request run to the end must finish without any lock's lease running out.
fn every_drop_point_leaves_the_deal_free(make: impl Fn(&World) -> RelayRequest, expect: impl Fn(&RelayResponse)) {
    let mut completed = false;
    let mut dropped = 0;
    for polls in 1..200 {
        let world = World::new();
        let relay = relay(&world);
        if poll_up_to(relay.handle(make(&world)), polls).is_some() {
            completed = true;
            break;
        }
        dropped += 1;
        // Dropped mid-flight. The next request for this deal goes through, promptly.
        let before = world.now_ms();
        let next = pollster::block_on(relay.handle(make(&world)));
        expect(&next);
        let waited = world.now_ms() - before;
        assert!(
            waited < 5_000,
            "dropped after {polls} polls: the next request waited {waited} ms (a lock was left held)"
        );
    }
    assert!(completed, "the request completes within 200 polls");
    assert!(dropped >= 3, "dropped at {dropped} await points: the request has that many");
}

#[test]
fn a_create_dropped_at_any_await_point_leaves_the_deal_free() {
    every_drop_point_leaves_the_deal_free(create_request, |response| {
        assert!(
            response.status == 201 || response.status == 200,
            "{} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    });
}

#[test]
fn a_webhook_dropped_at_any_await_point_leaves_the_record_free() {
    every_drop_point_leaves_the_deal_free(
        |world| {
            // A contract exists for the webhook to be about.
            pollster::block_on(relay(world).handle(create_request(world)));
            webhook_request()
        },
        |response| {
            let body = String::from_utf8_lossy(&response.body);
            assert_eq!(response.status, 200, "{body}");
            assert!(!body.contains("ignored"), "the delivery was applied (or found applied), not ignored: {body}");
        },
    );
}

/// A call waiting for its caller's share of SpotDraft's allowance when its client goes away is
/// dropped there: it never reaches SpotDraft. The same call with its client still there does.
#[test]
fn a_call_whose_client_has_gone_never_reaches_spotdraft() {
    let world = World::new();
    let relay = relay(&world);
    // The caller's share for this window, used up (a create, then clicks that find it).
    for _ in 0..4 {
        let answer = pollster::block_on(relay.handle(create_request(&world)));
        assert!(answer.status == 201 || answer.status == 200, "{}", String::from_utf8_lossy(&answer.body));
    }
    let before = world.spotdraft_calls.get();
    let answer = pollster::block_on(relay.handle_until(create_request(&world), std::future::ready(())));
    assert_eq!(answer.status, 499, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(world.spotdraft_calls.get(), before, "nothing went to SpotDraft for a client that had gone");
    let answer = pollster::block_on(relay.handle_until(create_request(&world), std::future::pending()));
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert!(world.spotdraft_calls.get() > before, "a client still there is served");
}
