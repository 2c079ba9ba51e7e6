//! Deal-change events from the CRM emulators, as each CRM (or the package the admin installed in
//! it) sends them to the relay's `/crm-events/{env}`, for milestone creation:
//!
//! - HubSpot: the developer project's webhook subscriptions, a JSON array with one event per changed
//!   property (`object.propertyChange`, `object.creation`, `objectTypeId` "0-3" for deals), signed `X-HubSpot-Signature-v3` with the app's client
//!   secret; retried on failure with a growing `attemptNumber`.
//! - Pipedrive: a webhook v2 (`meta.version` "2.0", `entity` deal, `action` change/create) with the
//!   HTTP Basic credentials given when it was created.
//! - Salesforce (the package's Apex trigger) and Zoho (its workflow function): a POST with an event
//!   token, RS256 with the org's certificate key or HS256 with the org's host secret.
//!
//! `PUT /__sandbox/crm/vendors/{vendor}/event-subscription` sets where and how (see [`subscribe`]);
//! each deal write through the vendor's API or the control routes then sends its event from a thread
//! of its own, after `delayMs`, twice when `duplicate` is set, retrying failures (5xx, refused
//! connections) up to 3 times. `GET …/event-deliveries` lists what was sent and answered.
//!
//! Pipedrive's webhooks can also be made as an admin makes them, through the emulator's Webhooks API
//! (`crate::vendors::pipedrive_webhooks`): every one for deals (`deal` or `*`) whose action matches
//! gets the event too, in its own payload version, with its own Basic credentials (none when it has
//! none), `meta.webhook_id` its id, sent once, at once. Those webhooks live in the persisted state; a
//! copy is kept here ([`mirror_pipedrive_webhooks`]) because deal writes are told of while the state
//! lock is held.

use crate::app::{lock, App};
use crate::http::{Request, Response};
use crate::vendors::pipedrive::COMPANY_ID;
use crate::vendors::pipedrive_webhooks::Webhook;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const ATTEMPTS: u32 = 4;
const EVENTS_AUDIENCE: &str = "spotdraft-crm-relay/crm-events";

/// What proves an event is the CRM's (`Unsigned`: a Pipedrive webhook made without credentials, sent
/// with no `Authorization` header).
#[derive(Clone)]
pub enum Signing {
    HubspotV3 { client_secret: String },
    Basic { username: String, password: String },
    Hs256 { secret: String },
    Rs256 { pkcs8: Arc<Vec<u8>> },
    Unsigned,
}

#[derive(Clone)]
pub struct Subscription {
    pub url: String,
    pub account: String,
    pub signing: Signing,
    pub duplicate: bool,
    pub delay_ms: u64,
    /// The Pipedrive webhook (made through its Webhooks API) this is, if any.
    pub webhook_id: Option<u64>,
}

#[derive(Default)]
pub struct CrmEvents {
    subscriptions: std::sync::Mutex<BTreeMap<String, Subscription>>,
    /// A copy of the Pipedrive webhooks in the state (see the module's notes).
    pipedrive_webhooks: std::sync::Mutex<Vec<Webhook>>,
    deliveries: std::sync::Mutex<Vec<Value>>,
    next_event: AtomicU64,
}

/// Keeps the copy of Pipedrive's webhooks the events are sent to: call after every change to
/// `vendors.pipedrive_webhooks` (with the state lock held, so copies never go out of order), after a
/// reset and at start.
pub fn mirror_pipedrive_webhooks(app: &App, hooks: &[Webhook]) {
    *lock(&app.crm_events.pipedrive_webhooks) = hooks.to_vec();
}

/// When the webhook's last event was answered (or failed), and with which status.
pub fn last_delivery(app: &App, webhook_id: u64) -> (Option<i64>, Option<u64>) {
    lock(&app.crm_events.deliveries)
        .iter()
        .rev()
        .find(|d| d.get("webhook_id").and_then(Value::as_u64) == Some(webhook_id))
        .map_or((None, None), |d| (d.get("at_micros").and_then(Value::as_i64), d.get("status").and_then(Value::as_u64)))
}

/// `PUT /__sandbox/crm/vendors/{vendor}/event-subscription`:
/// `{"url", "account", "duplicate"?, "delayMs"?}` plus, per vendor, what signs: HubSpot the app's
/// client secret (the emulator's own), Pipedrive `{"username", "password"}`, Zoho `{"hostSecret"}`,
/// Salesforce `{"privateKeyPem"}` (PKCS#8). `DELETE` stops the events.
pub fn subscribe(app: &App, request: &Request, vendor: &str) -> Response {
    if request.method == "DELETE" {
        lock(&app.crm_events.subscriptions).remove(vendor);
        return Response::empty(204);
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(value) => value,
        Err(error) => return Response::json(400, &json!({"error": format!("the body is not JSON: {error}")})),
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let (Some(url), Some(account)) = (text("url"), text("account")) else {
        return Response::json(400, &json!({"error": "url and account are required"}));
    };
    let signing = match vendor {
        "hubspot" => Signing::HubspotV3 { client_secret: app.state().vendors.hubspot.client_secret.clone() },
        "pipedrive" => match (text("username"), text("password")) {
            (Some(username), Some(password)) => Signing::Basic { username, password },
            _ => return Response::json(400, &json!({"error": "username and password are required"})),
        },
        "zoho" => match text("hostSecret") {
            Some(secret) => Signing::Hs256 { secret },
            None => return Response::json(400, &json!({"error": "hostSecret is required"})),
        },
        "salesforce" => match text("privateKeyPem").and_then(|pem| pem_der(&pem)) {
            Some(der) if ring::signature::RsaKeyPair::from_pkcs8(&der).is_ok() => {
                Signing::Rs256 { pkcs8: Arc::new(der) }
            }
            _ => return Response::json(400, &json!({"error": "privateKeyPem must be a PKCS#8 RSA private key"})),
        },
        _ => return Response::json(404, &json!({"error": "vendors are hubspot, salesforce, zoho, pipedrive"})),
    };
    let subscription = Subscription {
        url,
        account,
        signing,
        duplicate: body.get("duplicate").and_then(Value::as_bool).unwrap_or(false),
        delay_ms: body.get("delayMs").and_then(Value::as_u64).unwrap_or(0).min(10_000),
        webhook_id: None,
    };
    lock(&app.crm_events.subscriptions).insert(vendor.to_string(), subscription);
    Response::empty(204)
}

/// `GET /__sandbox/crm/vendors/{vendor}/event-deliveries[?deal=]`: every event call made, in order.
pub fn deliveries(app: &App, request: &Request, vendor: &str) -> Response {
    let deal = request.query("deal");
    let list: Vec<Value> = lock(&app.crm_events.deliveries)
        .iter()
        .filter(|d| d.get("vendor").and_then(Value::as_str) == Some(vendor))
        .filter(|d| deal.as_deref().is_none_or(|id| d.get("deal").and_then(Value::as_str) == Some(id)))
        .cloned()
        .collect();
    Response::json(200, &Value::Array(list))
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    STANDARD.decode(body.trim()).ok()
}

/// A deal of `vendor` was created or changed (`changed`: the field names whose value changed; none
/// means nothing happened, and nothing is sent). May be called with the state lock held.
pub fn deal_written(app: &App, vendor: &str, deal_id: &str, changed: &[String], created: bool) {
    if changed.is_empty() && !created {
        return;
    }
    let event_id = app.crm_events.next_event.fetch_add(1, Ordering::Relaxed) + 1;
    let now_ms = crate::clock::now_micros() / 1000;
    let mut targets: Vec<(Subscription, Value)> = Vec::new();
    if let Some(subscription) = lock(&app.crm_events.subscriptions).get(vendor).cloned() {
        let body = match vendor {
            "hubspot" => hubspot_body(&subscription, deal_id, changed, created, event_id, now_ms),
            "pipedrive" => pipedrive_v2_body(&subscription.account, "1", None, deal_id, created, event_id, now_ms),
            _ => json!({}),
        };
        targets.push((subscription, body));
    }
    if vendor == "pipedrive" {
        for hook in lock(&app.crm_events.pipedrive_webhooks).iter().filter(|hook| hook.wants_deal(created)) {
            let signing = match (&hook.http_auth_user, &hook.http_auth_password) {
                (None, None) => Signing::Unsigned,
                (username, password) => Signing::Basic {
                    username: username.clone().unwrap_or_default(),
                    password: password.clone().unwrap_or_default(),
                },
            };
            let company = COMPANY_ID.to_string();
            let body = if hook.version == "1.0" {
                pipedrive_v1_body(hook, deal_id, created, now_ms)
            } else {
                pipedrive_v2_body(&company, &hook.id.to_string(), Some(hook), deal_id, created, event_id, now_ms)
            };
            let subscription = Subscription {
                url: hook.subscription_url.clone(),
                account: company,
                signing,
                duplicate: false,
                delay_ms: 0,
                webhook_id: Some(hook.id),
            };
            targets.push((subscription, body));
        }
    }
    for (subscription, body) in targets {
        let vendor = vendor.to_string();
        let deal = deal_id.to_string();
        let events = Arc::clone(&app.crm_events);
        thread::spawn(move || {
            if subscription.delay_ms > 0 {
                thread::sleep(Duration::from_millis(subscription.delay_ms));
            }
            let copies = if subscription.duplicate { 2 } else { 1 };
            for copy in 0..copies {
                send(&events, &vendor, &deal, &subscription, &body, copy > 0);
            }
        });
    }
}

/// HubSpot's batch: one event per changed property (or one creation event).
fn hubspot_body(
    subscription: &Subscription,
    deal_id: &str,
    changed: &[String],
    created: bool,
    event_id: u64,
    now_ms: i64,
) -> Value {
    let kinds: Vec<Value> = if created {
        vec![json!({"subscriptionType": "object.creation", "objectTypeId": "0-3"})]
    } else {
        changed
            .iter()
            .map(|name| json!({"subscriptionType": "object.propertyChange", "objectTypeId": "0-3", "propertyName": name}))
            .collect()
    };
    let events: Vec<Value> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, mut event)| {
            if let Value::Object(map) = &mut event {
                map.extend(Map::from_iter([
                    ("eventId".to_string(), json!(event_id * 100 + i as u64)),
                    ("subscriptionId".to_string(), json!(1)),
                    ("portalId".to_string(), json!(subscription.account.parse::<u64>().unwrap_or(0))),
                    ("appId".to_string(), json!(1)),
                    ("occurredAt".to_string(), json!(now_ms)),
                    ("attemptNumber".to_string(), json!(0)),
                    ("objectId".to_string(), json!(deal_id.parse::<u64>().unwrap_or(0))),
                    ("changeSource".to_string(), json!("CRM_UI")),
                ]));
            }
            event
        })
        .collect();
    Value::Array(events)
}

/// A Pipedrive webhook v2 body (`meta.version` "2.0"); with `hook`, the webhook's own meta fields.
fn pipedrive_v2_body(
    company: &str,
    webhook_id: &str,
    hook: Option<&Webhook>,
    deal_id: &str,
    created: bool,
    event_id: u64,
    now_ms: i64,
) -> Value {
    let mut body = json!({
        "data": {"id": deal_id.parse::<u64>().unwrap_or(0)},
        "previous": if created { Value::Null } else { json!({}) },
        "meta": {
            "action": if created { "create" } else { "change" },
            "entity": "deal",
            "entity_id": deal_id,
            "company_id": company,
            "id": format!("00000000-0000-4000-8000-{event_id:012}"),
            "timestamp": crate::clock::format_rfc3339(now_ms * 1000),
            "type": "general",
            "version": "2.0",
            "webhook_id": webhook_id,
        }
    });
    if let (Some(hook), Some(meta)) = (hook, body.get_mut("meta").and_then(Value::as_object_mut)) {
        meta.insert("webhook_owner_id".into(), json!(hook.owner_id.to_string()));
        meta.insert("user_id".into(), json!(hook.user_id.to_string()));
        meta.insert("correlation_id".into(), json!(format!("00000000-0000-4000-9000-{event_id:012}")));
        meta.insert("is_bulk_edit".into(), json!(false));
        meta.insert("attempt".into(), json!(1));
    }
    body
}

/// A Pipedrive webhook v1 body (`v` 1, `event` "updated.deal"/"added.deal"), for a webhook made with
/// version 1.0: the relay refuses these, saying to make the webhook with version 2.0.
fn pipedrive_v1_body(hook: &Webhook, deal_id: &str, created: bool, now_ms: i64) -> Value {
    let action = if created { "added" } else { "updated" };
    let deal = deal_id.parse::<u64>().unwrap_or(0);
    json!({
        "v": 1,
        "matches_filters": {"current": [], "previous": []},
        "meta": {
            "v": 1, "action": action, "object": "deal", "id": deal, "company_id": COMPANY_ID,
            "user_id": hook.user_id, "timestamp": now_ms / 1000, "timestamp_micro": now_ms * 1000,
            "type": "general", "webhook_id": hook.id.to_string(), "trans_pending": false, "is_bulk_update": false,
        },
        "retry": 0,
        "current": {"id": deal},
        "previous": if created { Value::Null } else { json!({"id": deal}) },
        "event": format!("{action}.deal"),
    })
}

fn send(events: &CrmEvents, vendor: &str, deal: &str, subscription: &Subscription, body: &Value, duplicate: bool) {
    for attempt in 0..ATTEMPTS {
        let mut body = body.clone();
        match &mut body {
            Value::Array(list) => {
                for event in list {
                    if let Some(map) = event.as_object_mut() {
                        map.insert("attemptNumber".into(), json!(attempt));
                    }
                }
            }
            // Pipedrive counts from 1 in v2 (`meta.attempt`), from 0 in v1 (`retry`).
            Value::Object(map) if map.contains_key("retry") => {
                map.insert("retry".into(), json!(attempt));
            }
            Value::Object(map) => {
                if let Some(meta) = map.get_mut("meta").and_then(Value::as_object_mut) {
                    if meta.contains_key("attempt") {
                        meta.insert("attempt".into(), json!(attempt + 1));
                    }
                }
            }
            _ => {}
        }
        let text = body.to_string();
        let headers = match headers_for(deal, subscription, &text) {
            Ok(headers) => headers,
            Err(error) => {
                eprintln!("sandbox: cannot sign a {vendor} event: {error}");
                return;
            }
        };
        let outcome = crate::delivery::post(&subscription.url, &headers, text.as_bytes());
        let status = outcome.as_ref().ok().copied();
        let at = crate::clock::now_micros();
        lock(&events.deliveries).push(json!({
            "vendor": vendor, "deal": deal, "url": subscription.url, "attempt": attempt, "duplicate": duplicate,
            "webhook_id": subscription.webhook_id, "at": crate::clock::format_rfc3339(at), "at_micros": at,
            "status": status, "error": outcome.as_ref().err(), "headers": headers, "body": text,
        }));
        println!(
            "{} crm-event {vendor} deal {deal} -> {}",
            crate::clock::format_rfc3339(crate::clock::now_micros()),
            status.map_or_else(|| "failed".to_string(), |s| s.to_string())
        );
        if status.is_some_and(|s| s < 500) {
            return;
        }
        thread::sleep(Duration::from_millis(100 * u64::from(attempt + 1)));
    }
}

fn headers_for(deal: &str, subscription: &Subscription, body: &str) -> Result<BTreeMap<String, String>, String> {
    let mut headers = BTreeMap::from([("Content-Type".to_string(), "application/json".to_string())]);
    let now_ms = u64::try_from(crate::clock::now_micros() / 1000).unwrap_or(0);
    match &subscription.signing {
        Signing::HubspotV3 { client_secret } => {
            let timestamp = now_ms.to_string();
            let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).map_err(|e| e.to_string())?;
            mac.update(format!("POST{}{body}{timestamp}", subscription.url).as_bytes());
            headers.insert("X-HubSpot-Signature-v3".into(), STANDARD.encode(mac.finalize().into_bytes()));
            headers.insert("X-HubSpot-Request-Timestamp".into(), timestamp);
        }
        Signing::Basic { username, password } => {
            headers
                .insert("Authorization".into(), format!("Basic {}", STANDARD.encode(format!("{username}:{password}"))));
        }
        Signing::Unsigned => {}
        Signing::Hs256 { secret } => {
            let input = token_input("HS256", "zoho", &subscription.account, deal, now_ms / 1000);
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
            mac.update(input.as_bytes());
            headers.insert(
                "Authorization".into(),
                format!("Bearer {input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())),
            );
        }
        Signing::Rs256 { pkcs8 } => {
            let input = token_input("RS256", "salesforce", &subscription.account, deal, now_ms / 1000);
            let key = ring::signature::RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| e.to_string())?;
            let mut signature = vec![0_u8; key.public().modulus_len()];
            key.sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| e.to_string())?;
            headers.insert("Authorization".into(), format!("Bearer {input}.{}", URL_SAFE_NO_PAD.encode(signature)));
        }
    }
    Ok(headers)
}

/// The event token's signing input: the relay's claims for `EVENTS_AUDIENCE`, naming the deal.
fn token_input(alg: &str, host: &str, tenant: &str, deal: &str, now: u64) -> String {
    let part = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}",
        part(json!({"alg": alg, "typ": "JWT"})),
        part(
            json!({"iss": host, "aud": EVENTS_AUDIENCE, "tenant": tenant, "record": deal, "sub": "crm-event", "iat": now, "exp": now + 300})
        )
    )
}
