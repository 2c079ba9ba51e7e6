//! The relay: the server half of the plugin, as a request → response function over the core.
//!
//! It holds the SpotDraft credentials (never sent to a browser), answers the sidebar's calls for
//! exactly one CRM record per caller, makes create idempotent per deal, receives SpotDraft webhooks
//! and writes status back to the CRM, and reconciles drift. The JS host (www/relay) only turns
//! HTTP into `RelayRequest`s and `RelayResponse`s into HTTP.

mod admin;
mod api;
pub mod audit;
mod card;
pub mod config;
mod console;
mod contract_cache;
mod documents;
pub mod entry_log;
mod expiring_map;
mod keyed_lock;
pub mod limiter;
#[cfg(feature = "link")]
mod link;
mod milestones;
mod provision;
mod reconcile;
pub mod setup;
pub mod shared;
mod terms;
mod timeline;
mod webhooks;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::{self, Caller};
use crate::error::Error;
use crate::model::Environment;
use crate::spotdraft::types::TemplateMetadata;
use crate::spotdraft::{ClientOptions, SpotDraftClient};
use crate::transport::Transport;
pub use config::{EnvironmentConfig, RelayConfig};
use entry_log::{EntryLog, MemoryEntryLog};
use expiring_map::{ExpiringMap, ExpiringSet};
use keyed_lock::KeyedLock;
use limiter::RateLimited;
pub use reconcile::ReconcileReport;
pub use shared::{MemoryState, SharedState};

/// Where the relay keeps what must outlive a restart: the audit log and the setup history.
pub struct Logs {
    pub audit: Rc<dyn EntryLog>,
    pub setup_history: Rc<dyn EntryLog>,
}

/// SpotDraft's documented limit per workspace.
const SPOTDRAFT_REQUESTS_PER_SECOND: u32 = 10;
/// Sidebar calls carry a deal and a few ids; anything larger is not ours.
const MAX_API_BODY_BYTES: usize = 64 * 1024;
/// A setup with many templates and their mappings is larger than a sidebar call (the host caps every
/// body at 1 MiB).
const MAX_ADMIN_BODY_BYTES: usize = 1000 * 1024;
/// Template metadata changes rarely; re-read it at most this often per template.
const METADATA_TTL_MS: u64 = 5 * 60 * 1000;

pub type Client<T> = SpotDraftClient<RateLimited<Rc<T>>>;

/// One HTTP request as the host received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayRequest {
    pub method: String,
    /// The full URL as received (scheme, host, path, query): HubSpot signs it.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RelayRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::transport::find_header(&self.headers, name)
    }

    /// The path without the query string.
    fn path(&self) -> &str {
        let after_scheme = self.url.split_once("://").map_or(self.url.as_str(), |(_, rest)| rest);
        let path = after_scheme.find('/').and_then(|i| after_scheme.get(i..)).unwrap_or("/");
        path.split('?').next().unwrap_or("/")
    }

    fn query(&self, name: &str) -> Option<String> {
        let query = self.url.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then(|| crate::url::decode_query_value(value))
        })
    }
}

/// The answer, plus fields for the host's one-line request log (never secrets or signed URLs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelayResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(skip)]
    pub body: Vec<u8>,
    pub log: Value,
}

impl RelayResponse {
    fn json(status: u16, body: &impl Serialize, log: Value) -> RelayResponse {
        let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
        RelayResponse { status, headers: vec![("content-type".into(), "application/json".into())], body, log }
    }

    fn error(error: &Error, log: Value) -> RelayResponse {
        let mut log = log;
        if let Value::Object(map) = &mut log {
            map.insert("error".into(), Value::String(error.code().into()));
            // What the CRM said, for the admin reading the log (the CRM's words and the relay's
            // hint; never a credential).
            if let Error::Crm { message, .. } = error {
                map.insert("crmError".into(), Value::String(message.clone()));
            }
        }
        RelayResponse::json(http_status(error), &error_envelope(error), log)
    }

    fn plain_error(status: u16, code: &str, message: &str, log: Value) -> RelayResponse {
        let mut log = log;
        if let Value::Object(map) = &mut log {
            map.insert("error".into(), Value::String(code.into()));
        }
        RelayResponse::json(status, &envelope(code, message, &[], false), log)
    }
}

/// The one shape every failed relay answer (and every failed part of one) has, declared once in
/// `error::RemoteError`: `{"error": {code, message, problems, transient}}`.
fn envelope(code: &str, message: &str, problems: &[crate::error::Problem], transient: bool) -> Value {
    let report = crate::error::RemoteError {
        code: code.to_string(),
        message: message.to_string(),
        problems: problems.to_vec(),
        transient,
    };
    report.envelope()
}

fn error_envelope(error: &Error) -> Value {
    envelope(error.code(), &error.to_string(), error.problems(), error.is_transient())
}

/// How each core error reads to an HTTP client of the relay.
fn http_status(error: &Error) -> u16 {
    match error {
        Error::InvalidInput(_) | Error::InvalidWebhook(_) => 400,
        Error::Unauthorized { .. } | Error::InvalidSignature { .. } => 401,
        Error::Forbidden { .. } => 403,
        Error::Conflict { .. } => 409,
        Error::UnknownTemplate { .. } => 404,
        Error::StageNotAllowed { .. } | Error::MappingFailed(_) => 422,
        Error::SpotDraft(api) => match api.status {
            404 => 404,
            400 | 402 | 409 | 422 => 422,
            429 => 503,
            _ => 502,
        },
        Error::Crm { status: 404, .. } => 404,
        Error::Timeout { .. } => 504,
        Error::InvalidConfig(_) => 500,
        _ => 502,
    }
}

struct EnvironmentRuntime<T: Transport> {
    config: EnvironmentConfig,
    /// The plugin configuration in effect: the file's, or the newest setup an admin saved (`setup`).
    current: RefCell<setup::Current>,
    client: Client<T>,
    metadata_cache: RefCell<HashMap<u64, (u64, TemplateMetadata)>>,
    /// "deal user" pairs the CRM said may see each other, for a minute (see `api::check_visible`).
    visible_to: RefCell<ExpiringSet>,
}

/// Calls one caller may start per window: 4 of the 10 requests SpotDraft allows a second, so a
/// caller that sends many leaves most of the allowance to everyone else (kept in the shared state,
/// so a caller gets no more by reaching several instances).
const CALLS_PER_CALLER: u32 = 4;
const CALLER_WINDOW_MS: u64 = 1_200;

/// How long an applied delivery is remembered (in the shared state, so a replay to any instance
/// costs nothing): longer than SpotDraft retries a delivery.
const APPLIED_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// How long the CRM's "this user may see this deal" is taken as still true.
const VISIBILITY_TTL_MS: u64 = 60_000;
const VISIBILITY_CAPACITY: usize = 10_000;

pub struct Relay<T: Transport> {
    transport: Rc<T>,
    environments: Vec<EnvironmentRuntime<T>>,
    /// What every instance must agree on: leases, allowances, deliveries applied.
    state: Rc<dyn SharedState>,
    /// Serialises creates per deal and CRM read-modify-writes per record.
    locks: KeyedLock,
    /// The sidebars this instance runs for app cards (`card`), soft state.
    card_sessions: RefCell<ExpiringMap<crate::sidebar::Sidebar>>,
    /// Who did what (`audit`).
    audit: Rc<dyn EntryLog>,
    /// Every setup version an admin saved (`setup`).
    setup_history: Rc<dyn EntryLog>,
}

impl<T: Transport> EnvironmentRuntime<T> {
    /// The plugin configuration in effect now (a saved setup replaces the file's without a restart).
    fn plugin(&self) -> Rc<crate::config::Config> {
        Rc::clone(&self.current.borrow().config)
    }
}

impl<T: Transport> Relay<T> {
    pub fn new(config: RelayConfig, transport: T) -> crate::Result<Relay<T>> {
        Relay::with_options(config, transport, ClientOptions::default())
    }

    pub fn with_options(config: RelayConfig, transport: T, options: ClientOptions) -> crate::Result<Relay<T>> {
        Relay::with_state(config, transport, options, Rc::new(MemoryState::default()))
    }

    /// A relay whose locks, allowances and applied deliveries live in `state`: several instances
    /// given one shared store behave as one relay.
    pub fn with_state(
        config: RelayConfig,
        transport: T,
        options: ClientOptions,
        state: Rc<dyn SharedState>,
    ) -> crate::Result<Relay<T>> {
        let memory = || -> Rc<dyn EntryLog> { Rc::new(MemoryEntryLog::default()) };
        Relay::with_parts(config, transport, options, state, Logs { audit: memory(), setup_history: memory() })
    }

    /// [`Relay::with_state`], keeping its audit log and setup history in `logs` (the host's durable
    /// stores).
    pub fn with_parts(
        config: RelayConfig,
        transport: T,
        options: ClientOptions,
        state: Rc<dyn SharedState>,
        logs: Logs,
    ) -> crate::Result<Relay<T>> {
        let transport = Rc::new(transport);
        let mut environments = Vec::new();
        for env in config.environments {
            let key = format!("spotdraft:{}", env.environment.as_str());
            let limited =
                RateLimited::new(Rc::clone(&transport), Rc::clone(&state), key, SPOTDRAFT_REQUESTS_PER_SECOND);
            let client =
                SpotDraftClient::new(limited, &env.spotdraft_base_url, Some(env.credentials.clone()), options.clone())?;
            let current = setup::Current { config: Rc::new(env.plugin.clone()), version: 0, checked_at_ms: 0 };
            environments.push(EnvironmentRuntime {
                current: RefCell::new(current),
                config: env,
                client,
                metadata_cache: RefCell::new(HashMap::new()),
                visible_to: RefCell::new(ExpiringSet::new(VISIBILITY_CAPACITY)),
            });
        }
        let locks = KeyedLock::new(Rc::clone(&state));
        let card_sessions = RefCell::new(ExpiringMap::new(card::CARD_CAPACITY));
        let Logs { audit, setup_history } = logs;
        Ok(Relay { transport, environments, state, locks, card_sessions, audit, setup_history })
    }

    fn environment(&self, name: &str) -> Option<&EnvironmentRuntime<T>> {
        let environment = Environment::parse(name)?;
        self.environments.iter().find(|e| e.config.environment == environment)
    }

    fn now_ms(&self) -> u64 {
        self.transport.now_ms()
    }

    /// Answers `request` unless `gone` completes first (its client went away): then the work is
    /// dropped wherever it waits (for a lock, for its share of SpotDraft's allowance), releasing
    /// whatever it holds, and the answer, for the log only, is 499.
    pub async fn handle_until(&self, request: RelayRequest, gone: impl Future<Output = ()>) -> RelayResponse {
        let work = std::pin::pin!(self.handle(request));
        let gone = std::pin::pin!(gone);
        let mut slots = (work, gone);
        std::future::poll_fn(|context| {
            if let Poll::Ready(response) = slots.0.as_mut().poll(context) {
                return Poll::Ready(response);
            }
            slots.1.as_mut().poll(context).map(|()| {
                RelayResponse::plain_error(
                    499,
                    "client_gone",
                    "the client went away before the answer; its work was dropped",
                    json!({"route": "cancelled"}),
                )
            })
        })
        .await
    }

    /// Answers one request. Never panics; every failure is a JSON error with a stable code.
    pub async fn handle(&self, request: RelayRequest) -> RelayResponse {
        let path = request.path().to_string();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let log = json!({"route": route_name(&request.method, &segments)});
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["healthz"]) => RelayResponse::json(200, &json!({"ok": true}), log),
            ("POST", ["webhooks", "spotdraft", env]) => match self.environment(env) {
                Some(env) => {
                    let mut log = log;
                    setup::refresh(self, env, &mut log).await;
                    webhooks::receive(self, env, &request, log).await
                }
                None => RelayResponse::plain_error(404, "not_found", "no such environment", log),
            },
            (_, ["webhooks", ..]) => RelayResponse::plain_error(405, "method_not_allowed", "webhooks are POSTed", log),
            ("GET" | "POST", ["admin", env, route]) => match self.environment(env) {
                Some(_) if request.body.len() > MAX_ADMIN_BODY_BYTES => {
                    RelayResponse::plain_error(413, "too_large", "the request body is too large", log)
                }
                Some(env) => {
                    // Every admin route is the environment admin's alone: checked here, once.
                    let admin = match admin::check(env, &request) {
                        Ok(admin) => admin,
                        Err(error) => return RelayResponse::error(&error, log),
                    };
                    let mut log = log;
                    setup::refresh(self, env, &mut log).await;
                    let answer = match (request.method.as_str(), *route) {
                        ("GET", "audit") => audit::read(self, env, &request).await,
                        ("GET", "setup") => setup::read(self, env, &admin).await,
                        ("GET", "versions") => setup::versions(self, env).await,
                        ("POST", "setup") => setup::save(self, env, &request, &admin).await,
                        ("POST", "rollback") => setup::rollback(self, env, &request, &admin).await,
                        ("GET", "templates") => console::templates(self, env).await,
                        ("GET", "crm") => console::crm_schema(self, env).await,
                        ("POST", "preview") => console::preview(self, env, &request).await,
                        ("GET", "deal") => console::deal(self, env, &request).await,
                        ("GET", "deals") => console::deals(self, env, &request).await,
                        _ => return RelayResponse::plain_error(404, "not_found", "no such admin route", log),
                    };
                    match answer {
                        Ok(body) => RelayResponse::json(200, &body, log),
                        Err(error) => RelayResponse::error(&error, log),
                    }
                }
                None => RelayResponse::plain_error(404, "not_found", "no such environment", log),
            },
            ("POST", ["crm-events", env]) => match self.environment(env) {
                Some(env) => {
                    let mut log = log;
                    setup::refresh(self, env, &mut log).await;
                    milestones::receive(self, env, &request, log).await
                }
                None => RelayResponse::plain_error(404, "not_found", "no such environment", log),
            },
            (_, ["crm-events", ..]) => {
                RelayResponse::plain_error(405, "method_not_allowed", "CRM events are POSTed", log)
            }
            (method, ["api", env, rest @ ..]) => {
                let Some(env) = self.environment(env) else {
                    return RelayResponse::plain_error(404, "not_found", "no such environment", log);
                };
                let cors = cors_headers(env, &request);
                let mut response = if method == "OPTIONS" {
                    RelayResponse { status: 204, headers: Vec::new(), body: Vec::new(), log }
                } else if request.body.len() > MAX_API_BODY_BYTES {
                    RelayResponse::plain_error(413, "too_large", "the request body is too large", log)
                } else if let Err(error) = validate_path_ids(rest) {
                    // Before authentication and before any upstream call: a malformed id never
                    // reaches a token comparison, the CRM or SpotDraft.
                    RelayResponse::error(&error, log)
                } else {
                    match self.authenticate(env, &request, rest) {
                        Ok(verified) => {
                            let mut log = log;
                            setup::refresh(self, env, &mut log).await;
                            api::route(self, env, &verified, method, rest, &request, log).await
                        }
                        Err(error) => RelayResponse::error(&error, log),
                    }
                };
                response.headers.extend(cors);
                response
            }
            _ => RelayResponse::plain_error(404, "not_found", "no such route", log),
        }
    }

    /// Who is calling, and how that is known. A bearer token (demo, Pipedrive, Salesforce, Zoho
    /// hosts, or a session this relay minted) or HubSpot's request signature; either way the caller is
    /// bound to one tenant and (for record routes) one record.
    fn authenticate(
        &self,
        env: &EnvironmentRuntime<T>,
        request: &RelayRequest,
        rest: &[&str],
    ) -> crate::Result<Verified> {
        let now_ms = self.now_ms();
        let path_record = match rest {
            ["deals", deal, ..] => Some((*deal).to_string()),
            _ => None,
        };
        let (mut caller, proof) = if let Some(signature) = request.header("x-hubspot-signature-v3") {
            let secret = env
                .config
                .hubspot_client_secret
                .as_deref()
                .ok_or_else(|| unauthorized("HubSpot calls are not configured for this environment"))?;
            auth::verify_hubspot_v3(
                secret,
                &request.method,
                &request.url,
                &request.body,
                Some(signature),
                request.header("x-hubspot-request-timestamp"),
                now_ms,
            )?;
            let tenant =
                request.query("portalId").ok_or_else(|| unauthorized("the HubSpot call carries no portalId"))?;
            let caller = Caller {
                host: "hubspot".into(),
                tenant,
                record: path_record.clone().unwrap_or_default(),
                user: request.query("userId"),
                expires_at: None,
            };
            (caller, Proof::HubspotSignature)
        } else {
            let token = request
                .header("authorization")
                .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
                .ok_or_else(|| unauthorized("an Authorization: Bearer token is required"))?;
            let keys = |host: &str| host_key(&env.config, host);
            (auth::verify_token_with_keys(token.trim(), &keys, now_ms / 1000)?, Proof::BearerToken)
        };
        if caller.tenant != env.plugin().crm.account_id {
            return Err(unauthorized("the caller belongs to another CRM account"));
        }
        if let Some(record) = path_record {
            // A token minted without a record (Pipedrive's signed token) is bound by the path.
            if caller.record.is_empty() {
                caller.record = record;
            } else if caller.record != record {
                return Err(unauthorized("the caller may only act on its own record"));
            }
        }
        // The user's email, when the proof carries one: HubSpot signs the `userEmail` it adds to a
        // card's calls; a token's user is an email for hosts that name users so (Zoho, the demo).
        let email = match proof {
            Proof::HubspotSignature => request.query("userEmail"),
            Proof::BearerToken => caller.user.clone(),
        }
        .filter(|email| crate::deal::is_plausible_email(email));
        Ok(Verified { caller, proof, email })
    }
}

/// What verifies `host`'s tokens in this environment: its public key (RS256) or secret (HS256).
fn host_key(config: &EnvironmentConfig, host: &str) -> Option<auth::HostKey> {
    match config.host_keys.get(host) {
        Some(key) => Some(auth::HostKey::Public(key.clone())),
        None => config.host_secrets.get(host).cloned().map(auth::HostKey::Secret),
    }
}

/// A caller, and how the relay knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub caller: Caller,
    pub proof: Proof,
    /// The calling user's email, when the proof vouches for one.
    pub email: Option<String>,
}

/// How the relay knows who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// HubSpot signed this very request (its app card's `hubspot.fetch`).
    HubspotSignature,
    /// A short-lived token: minted by a host's server side with its host secret, or by this relay.
    BearerToken,
}

/// The deal and contract ids in a sidebar route, checked by shape: a CRM record id (letters,
/// digits, `-`, `_`, at most 64) and a SpotDraft composite id (`T-123`/`H-123`).
fn validate_path_ids(rest: &[&str]) -> crate::Result<()> {
    if let ["deals", deal, ..] = rest {
        if !crate::model::is_valid_crm_id(deal) {
            let shown: String = deal.chars().take(80).collect();
            return Err(Error::invalid_input("dealId", format!("\"{shown}\" is not a CRM record id")));
        }
    }
    if let ["deals", _, "contracts", id, ..] = rest {
        if crate::model::ContractId::parse(id).is_none() {
            let shown: String = id.chars().take(80).collect();
            return Err(Error::invalid_input("contractId", format!("\"{shown}\" is not a contract id such as T-123")));
        }
    }
    Ok(())
}

fn unauthorized(reason: &str) -> Error {
    Error::Unauthorized { reason: reason.to_string() }
}

fn cors_headers<T: Transport>(env: &EnvironmentRuntime<T>, request: &RelayRequest) -> Vec<(String, String)> {
    let Some(origin) = request.header("origin") else { return Vec::new() };
    if !env.plugin().allowed_origins.iter().any(|allowed| allowed == origin) {
        return Vec::new();
    }
    vec![
        ("access-control-allow-origin".into(), origin.to_string()),
        ("access-control-allow-headers".into(), "authorization, content-type".into()),
        ("access-control-allow-methods".into(), "GET, POST, OPTIONS".into()),
        ("access-control-max-age".into(), "600".into()),
        ("vary".into(), "Origin".into()),
    ]
}

/// A route label for logs, with ids replaced by placeholders.
fn route_name(method: &str, segments: &[&str]) -> String {
    let shape: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| match (i, segments.first()) {
            (1, Some(&"api")) => ":env",
            (3, Some(&"api")) if segments.get(2) == Some(&"deals") => ":deal",
            (5, Some(&"api")) if segments.get(4) == Some(&"contracts") => ":contract",
            (2, Some(&"webhooks")) => s,
            _ => s,
        })
        .collect();
    format!("{method} /{}", shape.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_named_without_ids() {
        assert_eq!(
            route_name("GET", &["api", "uat", "deals", "1001", "contracts", "T-4", "status"]),
            "GET /api/:env/deals/:deal/contracts/:contract/status"
        );
        assert_eq!(route_name("POST", &["webhooks", "spotdraft", "uat"]), "POST /webhooks/spotdraft/uat");
    }

    #[test]
    fn path_ids_are_checked_by_shape() {
        assert!(validate_path_ids(&["config"]).is_ok());
        assert!(validate_path_ids(&["deals", "1001", "contracts", "T-4", "status"]).is_ok());
        assert!(validate_path_ids(&["deals", "0065g00000AbCdE_x-1"]).is_ok());
        let long = "9".repeat(65);
        for deal in ["..", "..%2F..", "1001%2F..%2Fcontracts", "", "1001;x", "dé", long.as_str()] {
            let error = validate_path_ids(&["deals", deal, "contracts"]).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{deal}");
            assert_eq!(http_status(&error), 400);
        }
        for id in ["4", "T-abc", "T-", "X-4", "T-4%2F..", "T-99999999999999999999999", ".."] {
            let error = validate_path_ids(&["deals", "1001", "contracts", id, "status"]).unwrap_err();
            assert!(error.to_string().contains("is not a contract id"), "{id}: {error}");
        }
    }

    #[test]
    fn request_paths_and_queries() {
        let request = RelayRequest {
            method: "GET".into(),
            url: "https://relay.example/api/uat/deals/1?portalId=42&userId=7".into(),
            headers: vec![],
            body: vec![],
        };
        assert_eq!(request.path(), "/api/uat/deals/1");
        assert_eq!(request.query("portalId").as_deref(), Some("42"));
        assert_eq!(request.query("nope"), None);
    }
}
