//! `POST /api/{env}/deals/{deal}/card`: the sidebar for a host that cannot run it (HubSpot's app card
//! runs in HubSpot's worker, with no DOM and no WebAssembly). The relay runs the sidebar's own state
//! machine for the card and answers exactly what the browser's shell is given, `{view, effects}`
//! (`SidebarOutput`), with every relay call already made: the card only renders the view in its
//! host's components and runs the timers and URLs. No rule lives in the card.
//!
//! The calls the state machine makes go through this relay's own routes in-process, as the caller of
//! the card request (same visibility check, fair share and refusals as the browser's sidebar gets),
//! never over the network and never with a wider grant: only the card's own deal, and not this route
//! or the session route again.
//!
//! The sidebar's state (notices, the refresh back-off, what is busy) is kept per card for a while, keyed
//! by who asks (host, tenant, user), the deal and the card's own id. It is soft state: a card that
//! reaches an instance that does not hold it (after a restart, or another instance behind a load
//! balancer) starts again from the CRM and SpotDraft, the systems of record, and loses only a notice
//! and the back-off.

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};

use super::{EnvironmentRuntime, Relay, RelayRequest, RelayResponse, Verified};
use crate::error::{Error, Result};
use crate::json_output::ToJson;
use crate::shell_types::{shell_struct, FromShell};
use crate::sidebar::{self, Event, HostDeal, Msg, RelayClient, Sidebar, SidebarOutput};
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// How long a card's sidebar is kept after its last request (a card refreshes at most every two
/// minutes while it is open).
const CARD_KEPT_MS: u64 = 30 * 60 * 1000;
pub(super) const CARD_CAPACITY: usize = 5_000;
/// The base the in-process relay client is given; never dialled.
const IN_PROCESS_BASE: &str = "http://127.0.0.1";

shell_struct! {
    /// What a card sends: one event for its sidebar.
    pub struct CardRequest as "SidebarCardRequest" {
        /// The card's own id for this open record (letters, digits, `-`, `_`; 8 to 64), so two open
        /// cards of one seller keep their own state.
        card_id: String => "cardId",
        event: Event => "event",
        /// The template the seller chose, so an instance that has not seen this card yet picks up the
        /// same choice (a choice only: the relay decides what may be created, from the CRM's deal).
        template_id: Option<u64> => "templateId",
        /// The viewer's offset from UTC, for times shown in their day.
        tz_offset_minutes: Option<i32> => "tzOffsetMinutes",
    }
}

impl CardRequest {
    fn read(body: &[u8]) -> Result<CardRequest> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| Error::invalid_input("body", format!("is not JSON ({e})")))?;
        let request = CardRequest::from_value(&value, "").map_err(|reason| Error::invalid_input("body", reason))?;
        let id_ok = (8..=64).contains(&request.card_id.len())
            && request.card_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(Error::invalid_input("cardId", "must be 8 to 64 letters, digits, '-' or '_'"));
        }
        if request.tz_offset_minutes.is_some_and(|minutes| !(-14 * 60..=14 * 60).contains(&minutes)) {
            return Err(Error::invalid_input("tzOffsetMinutes", "must be between -840 and 840"));
        }
        Ok(request)
    }
}

/// Applies the card's event to its sidebar (started afresh when this instance does not hold it) and
/// answers `{view, effects}`, with the log lines of the calls it made for the request's own log.
pub(super) async fn answer<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    verified: &Verified,
    deal_id: &str,
    request: &RelayRequest,
) -> (Result<Value>, Vec<Value>) {
    let ask = match CardRequest::read(&request.body) {
        Ok(ask) => ask,
        Err(error) => return (Err(error), Vec::new()),
    };
    let caller = &verified.caller;
    let key = format!(
        "{}:{}:{}:{}:{}:{deal_id}:{}",
        env.config.environment.as_str(),
        caller.host,
        caller.tenant,
        caller.user.as_deref().unwrap_or(""),
        caller.record,
        ask.card_id
    );
    let kept = relay.card_sessions.borrow_mut().take(&key, relay.now_ms());
    let mut messages = Vec::new();
    let mut sidebar = kept.unwrap_or_else(|| {
        messages.push(Msg::Start);
        if let Some(template_id) = ask.template_id {
            messages.push(Msg::TemplateSelected { template_id });
        }
        Sidebar::new(env.config.environment, HostDeal { id: deal_id.to_string(), name: None })
    });
    let event = Msg::from(ask.event);
    // A fresh sidebar's Start already reads everything a start, a tick or a retry would.
    if messages.is_empty() || !matches!(event, Msg::Start | Msg::Tick | Msg::RetryClicked) {
        messages.push(event);
    }

    let loopback = InProcess { relay, env, verified, deal_id, logs: Default::default() };
    let client = match RelayClient::new(&loopback, IN_PROCESS_BASE, env.config.environment, "") {
        Ok(client) => client,
        Err(error) => return (Err(error), Vec::new()),
    };
    let mut effects = Vec::new();
    for msg in messages {
        effects.extend(sidebar::settle(&mut sidebar, &client, msg).await);
    }
    let now = relay.now_ms();
    let view = sidebar.view(now, ask.tz_offset_minutes.unwrap_or(0));
    relay.card_sessions.borrow_mut().put(key, sidebar, now.saturating_add(CARD_KEPT_MS), now);
    (Ok(SidebarOutput { view, effects }.to_json()), loopback.logs.into_inner())
}

/// This relay's own routes as the sidebar's transport, answering as the card's caller.
struct InProcess<'a, T: Transport> {
    relay: &'a Relay<T>,
    env: &'a EnvironmentRuntime<T>,
    verified: &'a Verified,
    deal_id: &'a str,
    /// Each call's log line (route, status, error code), for the card request's own.
    logs: std::cell::RefCell<Vec<Value>>,
}

impl<T: Transport> InProcess<'_, T> {
    /// The route's answer; boxed, because the route that answers a card is among those it calls.
    fn route<'s>(&'s self, method: &'s str, rest: &'s [&'s str], request: &'s RelayRequest) -> RouteFuture<'s> {
        let env = self.env.config.environment.as_str();
        let segments: Vec<&str> = ["api", env].into_iter().chain(rest.iter().copied()).collect();
        let log = json!({"route": super::route_name(method, &segments), "via": "card"});
        Box::pin(super::api::route(self.relay, self.env, self.verified, method, rest, request, log))
    }
}

type RouteFuture<'s> = Pin<Box<dyn Future<Output = RelayResponse> + 's>>;

impl<T: Transport> Transport for InProcess<'_, T> {
    async fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, TransportError> {
        let prefix = format!("{IN_PROCESS_BASE}/api/{}/", self.env.config.environment.as_str());
        let path = request.url.strip_prefix(&prefix).unwrap_or_default().to_string();
        // The route is the path; a query (a link search's text) stays in the URL for the route to read.
        let rest: Vec<&str> = path.split('?').next().unwrap_or_default().split('/').collect();
        let refusal = match rest.as_slice() {
            ["config"] => None,
            ["deals", deal, tail @ ..] if *deal == self.deal_id => match tail {
                ["card" | "session", ..] => Some("a card's sidebar does not call the card or session routes"),
                _ => super::validate_path_ids(&rest).err().map(|_| "the call's ids are malformed"),
            },
            _ => Some("a card's sidebar calls only its own deal's routes"),
        };
        if let Some(reason) = refusal {
            let body = super::error_envelope(&Error::Forbidden { reason: reason.into() }).to_string().into_bytes();
            return Ok(HttpResponse { status: 403, headers: Vec::new(), body });
        }
        let relayed = RelayRequest {
            method: request.method.as_str().to_string(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone().unwrap_or_default(),
        };
        let response = self.route(&relayed.method, &rest, &relayed).await;
        let mut line = response.log.clone();
        if let Value::Object(map) = &mut line {
            map.insert("status".into(), response.status.into());
        }
        self.logs.borrow_mut().push(line);
        Ok(HttpResponse { status: response.status, headers: response.headers, body: response.body })
    }

    async fn sleep(&self, ms: u64) {
        self.relay.transport.sleep(ms).await;
    }

    fn now_ms(&self) -> u64 {
        self.relay.now_ms()
    }
}
