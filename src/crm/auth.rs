//! CRM credentials that outlive any one access token.
//!
//! A connection is either a **static token** (HubSpot private-app token, Pipedrive API token, or an
//! access token an operator renews by hand), an **OAuth client with a refresh token**, or (Salesforce
//! only) a **connected app with a certificate** that signs an RS256 JWT for each new access token
//! (the OAuth 2.0 JWT bearer grant: server to server, no user consent that a password reset
//! revokes). Access tokens are fetched, cached and renewed the same way for both OAuth forms:
//!
//! - before expiry: a token is renewed once less than a margin of its lifetime is left (60 s, or a
//!   fifth of the lifetime for short-lived tokens); a token whose answer carried no lifetime
//!   (Salesforce's refresh grant names none) is kept until the CRM refuses it;
//! - on a 401: the refused token is dropped, a new one fetched and the request sent once more;
//! - one refresh at a time: callers that need a token while a refresh is running wait for it and
//!   share its outcome (the relay runs in one JavaScript thread, so `Rc<RefCell<…>>` and wakers);
//! - secrets (client secret, refresh and access tokens, the private key) never appear in `Debug`
//!   output or in errors.
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
//! Salesforce's JWT bearer grant posts `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and
//! `assertion=<JWT>` to the same token endpoint; the JWT's header is `{"alg":"RS256"}` and its claims
//! `iss` (the connected app's consumer key), `sub` (the integration user's username), `aud`
//! (`https://login.salesforce.com`, `https://test.salesforce.com` for sandboxes) and `exp` (three
//! minutes ahead). The answer is the refresh grant's, without a lifetime and without a refresh token.
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

use super::rs256::SigningKey;

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

/// How long a JWT bearer assertion is valid for (Salesforce accepts up to three minutes).
pub const ASSERTION_LIFETIME_S: u64 = 180;

/// A Salesforce connected app that signs in with its certificate: the OAuth 2.0 JWT bearer grant.
/// The private key is parsed once (`new`) and never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtBearerClient {
    /// The connected app's consumer key (the JWT's `iss`).
    pub client_id: String,
    /// The integration user's Salesforce username (the JWT's `sub`); the user must be pre-authorised
    /// for the connected app.
    pub username: String,
    private_key: SigningKey,
    /// The JWT's `aud`: `https://login.salesforce.com`, or `https://test.salesforce.com` for a sandbox.
    pub audience: String,
    /// The full token endpoint URL.
    pub token_url: String,
}

impl std::fmt::Debug for JwtBearerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtBearerClient")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("audience", &self.audience)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl JwtBearerClient {
    /// Parses `private_key_pem` (PKCS#8 or PKCS#1 PEM; one line with `\n` escapes is accepted). The
    /// error says what is wrong with the key and never quotes it. `audience` defaults to
    /// `default_audience(token_url)`.
    pub fn new(
        client_id: &str,
        username: &str,
        private_key_pem: &str,
        token_url: &str,
        audience: Option<&str>,
    ) -> std::result::Result<JwtBearerClient, &'static str> {
        let private_key = SigningKey::from_pem(private_key_pem)?;
        Ok(JwtBearerClient {
            client_id: client_id.to_string(),
            username: username.to_string(),
            private_key,
            audience: audience.map_or_else(|| Self::default_audience(token_url).to_string(), str::to_string),
            token_url: token_url.to_string(),
        })
    }

    /// Salesforce's sandbox login host for a token URL on it, else the production login host (which
    /// a My Domain token URL also takes).
    pub fn default_audience(token_url: &str) -> &'static str {
        match url::parse_origin_of(token_url).as_deref() {
            Some("https://test.salesforce.com") => "https://test.salesforce.com",
            _ => "https://login.salesforce.com",
        }
    }

    /// A signed assertion valid from `now_ms` for `ASSERTION_LIFETIME_S`.
    pub fn assertion(&self, now_ms: u64) -> String {
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = encode(br#"{"alg":"RS256"}"#);
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": now_ms / 1000 + ASSERTION_LIFETIME_S,
        });
        let claims = encode(claims.to_string().as_bytes());
        let signing_input = format!("{header}.{claims}");
        let signature = encode(&self.private_key.sign(signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
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

/// The grant an OAuth connection renews its access token with (held once per connection, behind
/// `CrmAuth`'s `Rc`, so the variants' sizes do not matter).
#[derive(Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
enum Grant {
    Refresh(OAuthClient),
    JwtBearer(JwtBearerClient),
}

// Always behind an `Rc`, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Static(String),
    OAuth { client: Grant, state: RefCell<State> },
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
            Kind::OAuth { client: Grant::Refresh(client), .. } => {
                f.debug_tuple("CrmAuth::OAuth").field(client).finish()
            }
            Kind::OAuth { client: Grant::JwtBearer(client), .. } => {
                f.debug_tuple("CrmAuth::JwtBearer").field(client).finish()
            }
        }
    }
}

impl CrmAuth {
    pub fn static_token(token: &str) -> CrmAuth {
        CrmAuth(Rc::new(Kind::Static(token.to_string())))
    }

    pub fn oauth(client: OAuthClient) -> CrmAuth {
        CrmAuth(Rc::new(Kind::OAuth { client: Grant::Refresh(client), state: RefCell::new(State::default()) }))
    }

    /// A Salesforce connection that gets its access tokens with the JWT bearer grant.
    pub fn jwt_bearer(client: JwtBearerClient) -> CrmAuth {
        CrmAuth(Rc::new(Kind::OAuth { client: Grant::JwtBearer(client), state: RefCell::new(State::default()) }))
    }

    /// An OAuth connection (refresh token or JWT bearer): its access tokens are renewed.
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
            Kind::OAuth { client: Grant::JwtBearer(client), .. } => {
                let mut problems = Vec::new();
                if !single_line(&client.client_id) {
                    problems.push(("oauth.clientId", "must be a non-empty single-line value"));
                }
                if !single_line(&client.username) {
                    problems.push(("oauth.username", "must be a non-empty single-line value"));
                }
                if url::parse(&client.audience).is_none_or(|u| !url::is_secure_or_loopback(&u)) {
                    problems.push(("oauth.audience", "must be an https URL (http only on loopback)"));
                }
                if url::parse(&client.token_url).is_none_or(|u| !url::is_secure_or_loopback(&u)) {
                    problems.push(("oauth.tokenUrl", "must be an https URL (http only on loopback)"));
                }
                problems
            }
            Kind::OAuth { client: Grant::Refresh(client), .. } => {
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
    client: &Grant,
    state: &RefCell<State>,
    timeout_ms: u64,
) -> Result<String> {
    let refresh_token = {
        let mut current = state.borrow_mut();
        current.refreshing = true;
        current.refreshes += 1;
        match client {
            Grant::Refresh(client) => current.refresh_token.clone().unwrap_or_else(|| client.refresh_token.clone()),
            Grant::JwtBearer(_) => String::new(),
        }
    };
    let mut guard = RefreshGuard { state, outcome: None, new_refresh_token: None };
    let sent_at = transport.now_ms();
    let request = match client {
        Grant::Refresh(client) => token_request(host, client, &refresh_token, timeout_ms),
        Grant::JwtBearer(client) => jwt_bearer_request(client, sent_at, timeout_ms),
    };
    let outcome = match transport.send(request).await {
        Ok(response) => read_token_answer(host, client, &response, sent_at),
        Err(error) => Err(super::transport_failure(host, error)),
    };
    let result = match outcome {
        Ok((access, rotated)) => {
            if matches!(client, Grant::Refresh(_)) {
                guard.new_refresh_token = rotated.filter(|t| *t != refresh_token);
            }
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

/// Salesforce's JWT bearer grant: a fresh assertion for every token request.
fn jwt_bearer_request(client: &JwtBearerClient, now_ms: u64, timeout_ms: u64) -> HttpRequest {
    let assertion = client.assertion(now_ms);
    HttpRequest {
        method: Method::Post,
        url: client.token_url.clone(),
        headers: vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string()),
        ],
        body: Some(form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &assertion)])),
        timeout_ms,
        max_response_bytes: 64 * 1024,
    }
}

/// The access token (and a rotated refresh token) from a token endpoint's answer. Errors name the CRM
/// and say what an admin does about it; they never carry a token.
fn read_token_answer(
    host: CrmHost,
    client: &Grant,
    response: &HttpResponse,
    sent_at_ms: u64,
) -> Result<(Access, Option<String>)> {
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
                let remedy = match client {
                    Grant::Refresh(_) => format!("an admin must reconnect {name} (new refresh token or client credentials)"),
                    Grant::JwtBearer(_) => format!(
                        "an admin must check the {name} connected app: its consumer key (crm.oauth.clientId), the certificate matching crm.oauth.privateKeyPem, and that the user crm.oauth.username is pre-authorised for it"
                    ),
                };
                format!(
                    "{name}: the CRM connection's authorization was refused when renewing its access token ({said}); {remedy}"
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
