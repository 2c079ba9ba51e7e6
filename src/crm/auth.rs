//! CRM credentials that outlive any one access token.
//!
//! A connection is either a **static token** (HubSpot private-app token, Pipedrive API token, or an
//! access token an operator renews by hand) or an **OAuth client with a refresh token**, from which
//! access tokens are fetched, cached and renewed:
//!
//! - before expiry: a token is renewed once less than a margin of its lifetime is left (60 s, or a
//!   fifth of the lifetime for short-lived tokens); a token whose answer carried no lifetime
//!   (Salesforce's refresh grant names none) is kept until the CRM refuses it;
//! - on a 401: the refused token is dropped, a new one fetched and the request sent once more;
//! - one refresh at a time: callers that need a token while a refresh is running wait for it and
//!   share its outcome (the relay runs in one JavaScript thread, so `Rc<RefCell<…>>` and wakers);
//! - secrets (client secret, refresh and access tokens) never appear in `Debug` output or in errors.
//!
//! Token endpoints, by CRM (each CRM's OAuth documentation; the sandbox emulates all four):
//! - HubSpot: `POST https://api.hubapi.com/oauth/v1/token`, form body with `grant_type=refresh_token`,
//!   `client_id`, `client_secret`, `refresh_token`; answer `{access_token, refresh_token, expires_in}`;
//! - Salesforce: `POST https://login.salesforce.com/services/oauth2/token` (or `test.salesforce.com`,
//!   or the org's My Domain), same form; answer `{access_token, instance_url, issued_at, …}` without a
//!   lifetime; errors `{"error", "error_description"}`;
//! - Zoho CRM: `POST https://accounts.zoho.<dc>/oauth/v2/token` on the data centre's accounts domain,
//!   same parameters (sent in the form body); answer `{access_token, api_domain, token_type,
//!   expires_in}`; a refused refresh can come back as HTTP 200 with `{"error": "invalid_code"}`;
//! - Pipedrive: `POST https://oauth.pipedrive.com/oauth/token` with `Authorization: Basic
//!   base64(client_id:client_secret)` and a form body `grant_type=refresh_token&refresh_token=…`;
//!   answer `{access_token, token_type, refresh_token, scope, expires_in, api_domain}`.
//!
//! A refresh token returned with a new access token replaces the configured one for the life of the
//! process (HubSpot and Pipedrive return one; it is usually the same).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use base64::Engine;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::CrmHost;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport};
use crate::url;

/// Renew this long before a token's stated expiry (or a fifth of its lifetime, if that is shorter).
pub const REFRESH_MARGIN_MS: u64 = 60_000;

/// The OAuth client of one CRM connection.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// The full token endpoint URL (`…/oauth/v2/token` for Zoho).
    pub token_url: String,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// The token endpoint a CRM uses when the configuration names none. Zoho has none: its accounts
    /// domain depends on the data centre (`accounts.zoho.com`, `.eu`, `.in`, `.com.au`, `.jp`, …).
    pub fn default_token_url(host: CrmHost) -> Option<&'static str> {
        match host {
            CrmHost::Hubspot => Some("https://api.hubapi.com/oauth/v1/token"),
            CrmHost::Salesforce => Some("https://login.salesforce.com/services/oauth2/token"),
            CrmHost::Pipedrive => Some("https://oauth.pipedrive.com/oauth/token"),
            CrmHost::Zoho => None,
        }
    }
}

/// Zoho's accounts domains, one per data centre.
pub const ZOHO_ACCOUNTS_DOMAINS: [&str; 9] = [
    "https://accounts.zoho.com",
    "https://accounts.zoho.eu",
    "https://accounts.zoho.in",
    "https://accounts.zoho.com.au",
    "https://accounts.zoho.jp",
    "https://accounts.zoho.com.cn",
    "https://accounts.zohocloud.ca",
    "https://accounts.zoho.sa",
    "https://accounts.zoho.uk",
];

#[derive(Clone)]
struct Access {
    token: String,
    /// Renew at or after this time (ms since the epoch); `None` = until refused.
    renew_at_ms: Option<u64>,
}

#[derive(Default)]
struct State {
    access: Option<Access>,
    /// The newest refresh token (rotated ones replace the configured one).
    refresh_token: Option<String>,
    refreshing: bool,
    /// Counts finished refreshes (successful or not).
    generation: u64,
    /// The failure of the refresh that finished at `generation`, shared with its waiters.
    failure: Option<(u64, Error)>,
    waiters: Vec<Waker>,
    /// Token-endpoint calls made, for tests and diagnostics.
    refreshes: u64,
}

// Always behind an `Rc`, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Static(String),
    OAuth { client: OAuthClient, state: RefCell<State> },
}

/// How the relay authenticates to one CRM: a static token or an OAuth client whose access tokens
/// are fetched and renewed. Cloning shares the token cache.
#[derive(Clone)]
pub struct CrmAuth(Rc<Kind>);

impl From<&str> for CrmAuth {
    fn from(token: &str) -> CrmAuth {
        CrmAuth::static_token(token)
    }
}

impl From<String> for CrmAuth {
    fn from(token: String) -> CrmAuth {
        CrmAuth(Rc::new(Kind::Static(token)))
    }
}

impl PartialEq for CrmAuth {
    /// Same credentials (the cached access token does not count).
    fn eq(&self, other: &CrmAuth) -> bool {
        match (&*self.0, &*other.0) {
            (Kind::Static(a), Kind::Static(b)) => a == b,
            (Kind::OAuth { client: a, .. }, Kind::OAuth { client: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Eq for CrmAuth {}

impl std::fmt::Debug for CrmAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            Kind::Static(_) => f.write_str("CrmAuth::Static(..)"),
            Kind::OAuth { client, .. } => f.debug_tuple("CrmAuth::OAuth").field(client).finish(),
        }
    }
}

impl CrmAuth {
    pub fn static_token(token: &str) -> CrmAuth {
        CrmAuth(Rc::new(Kind::Static(token.to_string())))
    }

    pub fn oauth(client: OAuthClient) -> CrmAuth {
        CrmAuth(Rc::new(Kind::OAuth { client, state: RefCell::new(State::default()) }))
    }

    pub fn is_oauth(&self) -> bool {
        matches!(&*self.0, Kind::OAuth { .. })
    }

    /// How many times the token endpoint was called (0 for a static token).
    pub fn refresh_count(&self) -> u64 {
        match &*self.0 {
            Kind::Static(_) => 0,
            Kind::OAuth { state, .. } => state.borrow().refreshes,
        }
    }

    /// Problems with the credential itself (for `checked_base`), by key.
    pub(crate) fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let single_line = |text: &str| {
            !text.is_empty()
                && text.len() <= 4096
                && !text.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        };
        match &*self.0 {
            Kind::Static(token) if !single_line(token) => vec![("token", "must be a non-empty single-line token")],
            Kind::Static(_) => Vec::new(),
            Kind::OAuth { client, .. } => {
                let mut problems = Vec::new();
                if !single_line(&client.client_id) {
                    problems.push(("oauth.clientId", "must be a non-empty single-line value"));
                }
                if !single_line(&client.client_secret) {
                    problems.push(("oauth.clientSecret", "must be a non-empty single-line value"));
                }
                if !single_line(&client.refresh_token) {
                    problems.push(("oauth.refreshToken", "must be a non-empty single-line value"));
                }
                if url::parse(&client.token_url).is_none_or(|u| !url::is_secure_or_loopback(&u)) {
                    problems.push(("oauth.tokenUrl", "must be an https URL (http only on loopback)"));
                }
                problems
            }
        }
    }

    /// The token to send now without asking anyone: the static token, or the cached access token
    /// (`None` before the first refresh or after a refusal).
    pub(crate) fn current_token(&self) -> Option<String> {
        match &*self.0 {
            Kind::Static(token) => Some(token.clone()),
            Kind::OAuth { state, .. } => state.borrow().access.as_ref().map(|a| a.token.clone()),
        }
    }

    /// A token fit to send: the static token, or a cached access token that is not due for renewal,
    /// or a fresh one (one refresh at a time; concurrent callers share it).
    pub(crate) async fn token<T: Transport>(&self, transport: &T, host: CrmHost, timeout_ms: u64) -> Result<String> {
        let (client, state) = match &*self.0 {
            Kind::Static(token) => return Ok(token.clone()),
            Kind::OAuth { client, state } => (client, state),
        };
        loop {
            let waiting_for = {
                let current = state.borrow();
                if let Some(access) = &current.access {
                    if access.renew_at_ms.is_none_or(|at| transport.now_ms() < at) {
                        return Ok(access.token.clone());
                    }
                }
                current.refreshing.then_some(current.generation)
            };
            match waiting_for {
                Some(generation) => {
                    Finished { state, generation }.await;
                    let current = state.borrow();
                    if let Some((failed_at, error)) = &current.failure {
                        if *failed_at == current.generation && current.access.is_none() {
                            return Err(error.clone());
                        }
                    }
                }
                None => return refresh(transport, host, client, state, timeout_ms).await,
            }
        }
    }

    /// Forgets `refused` (the token a 401 answered), unless a newer one has already replaced it.
    /// `false` for a static token: there is nothing to renew.
    pub(crate) fn drop_refused(&self, refused: &str) -> bool {
        match &*self.0 {
            Kind::Static(_) => false,
            Kind::OAuth { state, .. } => {
                let mut current = state.borrow_mut();
                if current.access.as_ref().is_some_and(|a| a.token == refused) {
                    current.access = None;
                }
                true
            }
        }
    }
}

/// Resolves once the refresh running at `generation` has finished.
struct Finished<'a> {
    state: &'a RefCell<State>,
    generation: u64,
}

impl Future for Finished<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state.borrow_mut();
        if state.generation != self.generation || !state.refreshing {
            Poll::Ready(())
        } else {
            state.waiters.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Ends a refresh however its future ends (finished, failed or dropped half-way), so waiters are
/// never left behind a refresh that will not finish.
struct RefreshGuard<'a> {
    state: &'a RefCell<State>,
    outcome: Option<Result<Access>>,
    new_refresh_token: Option<String>,
}

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.state.borrow_mut();
        state.refreshing = false;
        state.generation += 1;
        let generation = state.generation;
        match self.outcome.take() {
            Some(Ok(access)) => {
                state.access = Some(access);
                state.failure = None;
            }
            Some(Err(error)) => state.failure = Some((generation, error)),
            None => {
                state.failure = Some((
                    generation,
                    Error::Crm { status: 503, message: "the CRM token refresh was cancelled".into() },
                ))
            }
        }
        if let Some(token) = self.new_refresh_token.take() {
            state.refresh_token = Some(token);
        }
        for waker in state.waiters.drain(..) {
            waker.wake();
        }
    }
}

async fn refresh<T: Transport>(
    transport: &T,
    host: CrmHost,
    client: &OAuthClient,
    state: &RefCell<State>,
    timeout_ms: u64,
) -> Result<String> {
    let refresh_token = {
        let mut current = state.borrow_mut();
        current.refreshing = true;
        current.refreshes += 1;
        current.refresh_token.clone().unwrap_or_else(|| client.refresh_token.clone())
    };
    let mut guard = RefreshGuard { state, outcome: None, new_refresh_token: None };
    let request = token_request(host, client, &refresh_token, timeout_ms);
    let sent_at = transport.now_ms();
    let outcome = match transport.send(request).await {
        Ok(response) => read_token_answer(host, &response, sent_at),
        Err(error) => Err(super::transport_failure(host, error)),
    };
    let result = match outcome {
        Ok((access, rotated)) => {
            guard.new_refresh_token = rotated.filter(|t| *t != refresh_token);
            let token = access.token.clone();
            guard.outcome = Some(Ok(access));
            Ok(token)
        }
        Err(error) => {
            guard.outcome = Some(Err(error.clone()));
            Err(error)
        }
    };
    drop(guard);
    result
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", url::encode_component(key), url::encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn token_request(host: CrmHost, client: &OAuthClient, refresh_token: &str, timeout_ms: u64) -> HttpRequest {
    let mut headers = vec![
        ("Accept".to_string(), "application/json".to_string()),
        ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string()),
    ];
    let body = match host {
        CrmHost::Pipedrive => {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", client.client_id, client.client_secret));
            headers.push(("Authorization".to_string(), format!("Basic {basic}")));
            form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        }
        CrmHost::Hubspot | CrmHost::Salesforce | CrmHost::Zoho => form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("refresh_token", refresh_token),
        ]),
    };
    HttpRequest {
        method: Method::Post,
        url: client.token_url.clone(),
        headers,
        body: Some(body),
        timeout_ms,
        max_response_bytes: 64 * 1024,
    }
}

/// The access token (and a rotated refresh token) from a token endpoint's answer. Errors name the CRM
/// and say what an admin does about it; they never carry a token.
fn read_token_answer(host: CrmHost, response: &HttpResponse, sent_at_ms: u64) -> Result<(Access, Option<String>)> {
    let name = host.display_name();
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let text = |key: &str| {
        body.as_ref()
            .and_then(|b| b.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let access_token =
        text("access_token").filter(|t| !t.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()));
    match (response.status, access_token) {
        (200..=299, Some(token)) => {
            let lifetime_ms = body
                .as_ref()
                .and_then(|b| b.get("expires_in"))
                .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())))
                .filter(|seconds| *seconds > 0)
                .map(|seconds| seconds.saturating_mul(1000));
            let renew_at_ms = lifetime_ms.map(|lifetime| {
                sent_at_ms.saturating_add(lifetime.saturating_sub(REFRESH_MARGIN_MS.min(lifetime / 5)))
            });
            Ok((Access { token, renew_at_ms }, text("refresh_token")))
        }
        (status, _) => {
            let code = text("error").or_else(|| text("errorCode"));
            let detail = text("error_description").or_else(|| text("message"));
            let said = match (&detail, &code) {
                (Some(d), Some(c)) => format!("{d} [{c}]"),
                (Some(d), None) => d.clone(),
                (None, Some(c)) => c.clone(),
                (None, None) if (200..300).contains(&status) => "the answer has no access_token".into(),
                (None, None) => "no error details in the answer".into(),
            };
            let refused = matches!(
                code.as_deref(),
                Some(
                    "invalid_grant"
                        | "invalid_code"
                        | "invalid_client"
                        | "invalid_client_id"
                        | "invalid_client_secret"
                        | "unauthorized_client"
                )
            ) || status == 400
                || status == 401;
            let message = if status == 429 || status >= 500 {
                format!("{name}: could not renew the CRM access token right now ({said}); it will be retried")
            } else if refused {
                format!(
                    "{name}: the CRM connection's authorization was refused when renewing its access token ({said}); an admin must reconnect {name} (new refresh token or client credentials)"
                )
            } else {
                format!("{name}: the CRM token endpoint answered unexpectedly ({said})")
            };
            // A refusal is reported as 401 (reconnect), whatever status carried it (Zoho uses 200).
            let status = if refused && status < 500 && status != 429 { 401 } else { status };
            Err(Error::Crm { status, message })
        }
    }
}
