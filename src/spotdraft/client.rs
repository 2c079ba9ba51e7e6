//! Typed calls to SpotDraft's v2.1 public API, with the retry policy applied.
//!
//! Paths are copied exactly from the spec, trailing slashes included (docs/spotdraft-api.md §2): a wrong
//! slash earns a 302, which is reported as a configuration error rather than followed.

use std::cell::Cell;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::ContractId;
use crate::spotdraft::error_body;
use crate::spotdraft::retry::{is_retryable_status, parse_retry_after, RetryPolicy};
use crate::spotdraft::types::{
    ContractPage, ContractRecord, DownloadUrl, ExternalMetadata, ExternalMetadataEnvelope, HmacKeyResponse,
    KeyPointerValue, SendToCounterparties, StatusResponse, TemplateList, TemplateMetadata, TemplateSummary,
    WebhookCreateRequest, WebhookSubscription,
};
use crate::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
use crate::url;

/// SpotDraft API credentials. Only server-side code (the relay) ever holds these.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    /// Act as this workspace user (audit attribution and permission checks).
    pub user_email: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // The secret never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("user_email", &self.user_email)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
    /// Seeds the jitter generator; tests fix it so waits repeat.
    pub jitter_seed: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy::default(),
            timeout_ms: 15_000,
            max_response_bytes: 2 * 1024 * 1024,
            jitter_seed: None,
        }
    }
}

/// Whether a failed try may simply be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Reads and idempotent writes: repeat on any transient failure.
    Safe,
    /// Writes that must not happen twice: repeat only when SpotDraft said it did nothing (429).
    /// An unknown outcome goes back to the caller, which must look before trying again.
    RejectedOnly,
}

/// Filters for `GET /api/v2.1/public/contracts/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// 1-based.
    pub page: u32,
    /// At most 100.
    pub limit: u32,
    /// ISO 8601 timestamp: only contracts updated at or after it (`filter__last_updated_on[$gte]`).
    pub updated_since: Option<String>,
    /// `filter__display_status`.
    pub status: Option<String>,
    /// `query`: SpotDraft's search over contract names and counterparties.
    pub search: Option<String>,
    /// `filter__contract_id`: one contract, by its integer id.
    pub contract_id: Option<u64>,
}

pub struct SpotDraftClient<T> {
    transport: T,
    base_url: String,
    credentials: Option<Credentials>,
    options: ClientOptions,
    rng_state: Cell<u64>,
}

impl<T: Transport> SpotDraftClient<T> {
    /// `base_url` is the API host without `/api` (e.g. `https://api.eu.spotdraft.com`, or a loopback
    /// sandbox over http).
    pub fn new(transport: T, base_url: &str, credentials: Option<Credentials>, options: ClientOptions) -> Result<Self> {
        let base_url = base_url.trim_end_matches('/').to_string();
        match url::parse(&base_url) {
            Some(parsed) if url::is_secure_or_loopback(&parsed) && parsed.rest.is_empty() => {}
            _ => return Err(Error::invalid_input("baseUrl", format!("\"{base_url}\" must be an https origin such as https://api.us.spotdraft.com (http only for a loopback sandbox)"))),
        }
        if let Some(credentials) = &credentials {
            let mut problems = Vec::new();
            for (name, value) in [("clientId", &credentials.client_id), ("clientSecret", &credentials.client_secret)] {
                if value.trim().is_empty() || value.chars().any(|c| c.is_control()) {
                    problems.push(crate::error::Problem::new(
                        format!("credentials.{name}"),
                        "must be a non-empty single-line value",
                    ));
                }
            }
            if credentials.user_email.as_deref().is_some_and(|e| !crate::deal::is_plausible_email(e)) {
                problems.push(crate::error::Problem::new("credentials.userEmail", "is not an email address"));
            }
            if !problems.is_empty() {
                return Err(Error::InvalidInput(problems));
            }
        }
        let seed = options.jitter_seed.unwrap_or_else(|| transport.now_ms() ^ 0x9E37_79B9_7F4A_7C15) | 1;
        Ok(SpotDraftClient { transport, base_url, credentials, options, rng_state: Cell::new(seed) })
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// xorshift64*: plenty for spreading retries; not for secrets.
    fn next_random(&self) -> u64 {
        let mut x = self.rng_state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng_state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn build(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> HttpRequest {
        self.build_as(method, path, body, None)
    }

    /// `build`, run as `acting_as` (`user-email`) instead of the configured user when given.
    fn build_as(&self, method: Method, path: &str, body: Option<Vec<u8>>, acting_as: Option<&str>) -> HttpRequest {
        let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
        if body.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        if let Some(credentials) = &self.credentials {
            headers.push(("client-id".to_string(), credentials.client_id.clone()));
            headers.push(("client-secret".to_string(), credentials.client_secret.clone()));
            if let Some(email) = acting_as.or(credentials.user_email.as_deref()) {
                headers.push(("user-email".to_string(), email.to_string()));
            }
        }
        HttpRequest {
            method,
            url: format!("{}{path}", self.base_url),
            headers,
            body,
            timeout_ms: self.options.timeout_ms,
            max_response_bytes: self.options.max_response_bytes,
        }
    }

    /// Sends with retries; `Ok` only for a 2xx answer.
    async fn execute(&self, request: HttpRequest, replay: Replay) -> Result<HttpResponse> {
        let started = self.transport.now_ms();
        let mut failures: u32 = 0;
        loop {
            let outcome = self.transport.send(request.clone()).await;
            failures += 1;
            let (error, retry_after, may_replay) = match outcome {
                Ok(response) if (200..300).contains(&response.status) => return Ok(response),
                Ok(response) if response.status == 0 || (300..400).contains(&response.status) => {
                    return Err(Error::Redirected { location: response.header("location").map(str::to_string) });
                }
                Ok(response) => {
                    let retry_after =
                        response.header("retry-after").and_then(|v| parse_retry_after(v, self.transport.now_ms()));
                    let api = error_body::parse(response.status, &response.body);
                    let may_replay = match replay {
                        Replay::Safe => is_retryable_status(response.status),
                        Replay::RejectedOnly => response.status == 429,
                    };
                    (Error::SpotDraft(api), retry_after, may_replay)
                }
                Err(TransportError::TooLarge { limit }) => {
                    return Err(Error::BadResponse {
                        status: 200,
                        reason: format!("the response is larger than {limit} bytes"),
                    });
                }
                Err(TransportError::Timeout) => (Error::Timeout { attempts: failures }, None, replay == Replay::Safe),
                Err(TransportError::Connection(message)) => {
                    (Error::Network { message, attempts: failures }, None, replay == Replay::Safe)
                }
            };
            if !may_replay {
                return Err(error);
            }
            let elapsed = self.transport.now_ms().saturating_sub(started);
            match self.options.retry.next_delay_ms(failures, elapsed, retry_after, self.next_random()) {
                Some(delay) => self.transport.sleep(delay).await,
                None => return Err(error),
            }
        }
    }

    async fn call_json<R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        replay: Replay,
    ) -> Result<R> {
        let body = body.map(serde_json::to_vec).transpose().map_err(|e| Error::invalid_input("body", e.to_string()))?;
        let response = self.execute(self.build(method, path, body), replay).await?;
        decode(&response)
    }

    async fn call_empty(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        replay: Replay,
    ) -> Result<()> {
        let body = body.map(serde_json::to_vec).transpose().map_err(|e| Error::invalid_input("body", e.to_string()))?;
        self.execute(self.build(method, path, body), replay).await.map(|_| ())
    }

    /// `POST /api/v2.1/public/contracts/`. Not repeated on an unknown outcome: see `flows::create_for_deal`.
    pub async fn create_contract(
        &self,
        request: &crate::spotdraft::types::CreateContractRequest,
    ) -> Result<ContractRecord> {
        self.create_contract_as(request, None).await
    }

    /// `create_contract` as the workspace user `acting_as` (`user-email`): SpotDraft records them as
    /// its creator and checks their permissions. An unknown or inactive user is refused (403).
    pub async fn create_contract_as(
        &self,
        request: &crate::spotdraft::types::CreateContractRequest,
        acting_as: Option<&str>,
    ) -> Result<ContractRecord> {
        let body = serde_json::to_vec(request).map_err(|e| Error::invalid_input("body", e.to_string()))?;
        let built = self.build_as(Method::Post, "/api/v2.1/public/contracts/", Some(body), acting_as);
        decode(&self.execute(built, Replay::RejectedOnly).await?)
    }

    /// `GET /api/v2.1/public/contracts/approvals/{composite_id}/`: the contract's approval steps.
    pub async fn contract_approvals(&self, id: ContractId) -> Result<Vec<crate::approvals::Step>> {
        let path = format!("/api/v2.1/public/contracts/approvals/{id}/");
        let list: crate::approvals::StepList = self.call_json(Method::Get, &path, None::<&()>, Replay::Safe).await?;
        Ok(list.results.into_iter().map(|entry| entry.approval).collect())
    }

    /// `POST /api/v2.1/public/contracts/approvals/{composite_id}/`: creates and sends ad-hoc approvals
    /// (`crate::approvals::request_body`), as `acting_as` when given. Sends emails: never repeated blindly.
    pub async fn request_approvals(
        &self,
        id: ContractId,
        body: &serde_json::Value,
        acting_as: Option<&str>,
    ) -> Result<()> {
        let path = format!("/api/v2.1/public/contracts/approvals/{id}/");
        let bytes = serde_json::to_vec(body).map_err(|e| Error::invalid_input("body", e.to_string()))?;
        self.execute(self.build_as(Method::Post, &path, Some(bytes), acting_as), Replay::RejectedOnly).await.map(|_| ())
    }

    /// `GET /api/v2.1/public/auth/users/?user_email=…`: whether `email` is an active user of the
    /// workspace (compared without regard to case), so actions can be made as them.
    pub async fn is_active_user(&self, email: &str) -> Result<bool> {
        let path = format!("/api/v2.1/public/auth/users/?limit=10&user_email={}", url::encode_component(email.trim()));
        let list: UserList = self.call_json(Method::Get, &path, None::<&()>, Replay::Safe).await?;
        Ok(list.results.iter().any(|user| user.is_active && user.email.eq_ignore_ascii_case(email.trim())))
    }

    /// `GET /api/v2.1/public/contracts/{composite_id}/status`.
    pub async fn contract_status(&self, id: ContractId) -> Result<StatusResponse> {
        self.call_json(Method::Get, &format!("/api/v2.1/public/contracts/{id}/status"), None::<&()>, Replay::Safe).await
    }

    /// `GET /api/v2.1/public/contracts/{composite_id}/key_pointers`: the contract's metadata values.
    pub async fn contract_key_pointers(&self, id: ContractId) -> Result<Vec<KeyPointerValue>> {
        self.call_json(Method::Get, &format!("/api/v2.1/public/contracts/{id}/key_pointers"), None::<&()>, Replay::Safe)
            .await
    }

    /// `GET /api/v2.1/public/contracts/by_external_metadata/{id}`: at most 50 contracts.
    /// No match may come back as `200 []` or as 404; both mean "none".
    pub async fn contracts_by_external_id(&self, external_id: &str) -> Result<Vec<ContractRecord>> {
        if external_id.trim().is_empty() {
            return Err(Error::invalid_input("externalId", "must not be empty"));
        }
        let path = format!("/api/v2.1/public/contracts/by_external_metadata/{}", url::encode_path_segment(external_id));
        match self.call_json(Method::Get, &path, None::<&()>, Replay::Safe).await {
            Err(Error::SpotDraft(api)) if api.status == 404 => Ok(Vec::new()),
            other => other,
        }
    }

    /// `GET /api/v2.1/public/contracts/{contract_id}/external_metadata`.
    pub async fn external_metadata(&self, id: ContractId) -> Result<ExternalMetadata> {
        let path = format!("/api/v2.1/public/contracts/{id}/external_metadata");
        let envelope: ExternalMetadataEnvelope = self.call_json(Method::Get, &path, None::<&()>, Replay::Safe).await?;
        Ok(envelope.external_metadata)
    }

    /// `POST /api/v2.1/public/contracts/{contract_id}/external_metadata`: replaces the whole object,
    /// so repeating it is harmless.
    pub async fn set_external_metadata(&self, id: ContractId, metadata: &ExternalMetadata) -> Result<ExternalMetadata> {
        let path = format!("/api/v2.1/public/contracts/{id}/external_metadata");
        let body = ExternalMetadataEnvelope { external_metadata: metadata.clone() };
        let envelope: ExternalMetadataEnvelope = self.call_json(Method::Post, &path, Some(&body), Replay::Safe).await?;
        Ok(envelope.external_metadata)
    }

    /// `POST /api/v2.1/public/contracts/{composite_id}/download_link`: a short-lived signed URL.
    pub async fn download_link(&self, id: ContractId) -> Result<DownloadUrl> {
        let path = format!("/api/v2.1/public/contracts/{id}/download_link");
        self.call_json(Method::Post, &path, Some(&serde_json::json!({"format": "PDF"})), Replay::Safe).await
    }

    /// `POST /api/v2.1/public/contracts/{composite_id}/send_to_counterparties` (emails people: never repeated blindly).
    pub async fn send_to_counterparties(&self, id: ContractId, request: &SendToCounterparties) -> Result<()> {
        self.send_to_counterparties_as(id, request, None).await
    }

    /// `send_to_counterparties` as the workspace user `acting_as` (`user-email`).
    pub async fn send_to_counterparties_as(
        &self,
        id: ContractId,
        request: &SendToCounterparties,
        acting_as: Option<&str>,
    ) -> Result<()> {
        let path = format!("/api/v2.1/public/contracts/{id}/send_to_counterparties");
        let body = serde_json::to_vec(request).map_err(|e| Error::invalid_input("body", e.to_string()))?;
        self.execute(self.build_as(Method::Post, &path, Some(body), acting_as), Replay::RejectedOnly).await.map(|_| ())
    }

    /// `POST /api/v2.1/public/contracts/{composite_id}/status/void`.
    pub async fn void_contract(&self, id: ContractId, note: &str) -> Result<()> {
        let path = format!("/api/v2.1/public/contracts/{id}/status/void");
        self.call_empty(Method::Post, &path, Some(&serde_json::json!({"note": note})), Replay::RejectedOnly).await
    }

    /// `GET /api/v2.1/public/templates/`.
    pub async fn templates(&self) -> Result<Vec<TemplateSummary>> {
        let list: TemplateList =
            self.call_json(Method::Get, "/api/v2.1/public/templates/", None::<&()>, Replay::Safe).await?;
        Ok(list.items)
    }

    /// `GET /api/v2.1/public/templates/{template_id}/metadata`.
    pub async fn template_metadata(&self, template_id: u64) -> Result<TemplateMetadata> {
        self.call_json(
            Method::Get,
            &format!("/api/v2.1/public/templates/{template_id}/metadata"),
            None::<&()>,
            Replay::Safe,
        )
        .await
    }

    /// `GET /api/v2.1/public/webhooks/hmac_key/`: the workspace's base64 webhook signing key.
    pub async fn webhook_hmac_key(&self) -> Result<String> {
        let answer: HmacKeyResponse =
            self.call_json(Method::Get, "/api/v2.1/public/webhooks/hmac_key/", None::<&()>, Replay::Safe).await?;
        Ok(answer.hmac_key)
    }

    /// `POST /api/v2.1/public/webhooks/`: registers a subscription (not repeated blindly: a repeat
    /// would register a second one).
    pub async fn create_webhook(&self, request: &WebhookCreateRequest) -> Result<WebhookSubscription> {
        self.call_json(Method::Post, "/api/v2.1/public/webhooks/", Some(request), Replay::RejectedOnly).await
    }

    /// One page of `GET /api/v2.1/public/contracts/`.
    pub async fn list_contracts(&self, query: &ListQuery) -> Result<ContractPage> {
        if query.page == 0 || query.limit == 0 || query.limit > 100 {
            return Err(Error::invalid_input("query", "page starts at 1 and limit is between 1 and 100"));
        }
        let mut pairs = vec![("page", query.page.to_string()), ("limit", query.limit.to_string())];
        if let Some(since) = &query.updated_since {
            if crate::time::parse_timestamp(since).is_none() {
                return Err(Error::invalid_input(
                    "query.updatedSince",
                    format!("\"{since}\" is not an ISO 8601 timestamp"),
                ));
            }
            pairs.push(("filter__last_updated_on[$gte]", since.clone()));
        }
        if let Some(status) = &query.status {
            pairs.push(("filter__display_status", status.clone()));
        }
        if let Some(search) = &query.search {
            pairs.push(("query", search.clone()));
        }
        if let Some(number) = query.contract_id {
            pairs.push(("filter__contract_id", number.to_string()));
        }
        let path = format!("/api/v2.1/public/contracts/{}", url::query_string(&pairs));
        self.call_json(Method::Get, &path, None::<&()>, Replay::Safe).await
    }
}

/// `PublicUserWithRolesMinimalListResponse`, what is read of it.
#[derive(serde::Deserialize)]
struct UserList {
    #[serde(default)]
    results: Vec<WorkspaceUser>,
}

#[derive(serde::Deserialize)]
struct WorkspaceUser {
    #[serde(default)]
    email: String,
    #[serde(default)]
    is_active: bool,
}

fn decode<R: DeserializeOwned>(response: &HttpResponse) -> Result<R> {
    if response.body.is_empty() {
        return Err(Error::BadResponse {
            status: response.status,
            reason: "the body is empty where JSON was expected".into(),
        });
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        let reason = if e.is_syntax() || e.is_eof() {
            format!("the body is not JSON ({e})")
        } else {
            format!("the JSON does not have the documented shape ({e})")
        };
        Error::BadResponse { status: response.status, reason }
    })
}

impl<T: Transport> SpotDraftClient<T> {
    /// The wait before the next try of an operation whose retries the caller runs itself
    /// (create after an unknown outcome), under the same policy and budget.
    pub fn retry_delay_ms(&self, failures: u32, started_ms: u64) -> Option<u64> {
        let elapsed = self.transport.now_ms().saturating_sub(started_ms);
        self.options.retry.next_delay_ms(failures, elapsed, None, self.next_random())
    }
}
