//! The sidebar's calls to the relay (never to SpotDraft: the browser holds no SpotDraft credential).
//! Every failure becomes a `RemoteError` with the relay's stable code, so the state machine can
//! word it for a seller and decide whether a retry makes sense.

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::SidebarConfig;
use crate::deal::Deal;
use crate::error::Problem;
use crate::flows::{CreateOutcome, DownloadLink, StatusReport};
use crate::model::{ContractId, ContractSummary, Environment};
use crate::transport::{HttpRequest, Method, Transport, TransportError};
use crate::url;

/// A failed relay call, as the relay (or the network) reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub problems: Vec<Problem>,
    #[serde(default)]
    pub transient: bool,
}

impl RemoteError {
    fn new(code: &str, message: impl Into<String>, transient: bool) -> RemoteError {
        RemoteError { code: code.into(), message: message.into(), problems: Vec::new(), transient }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: RemoteError,
}

/// `POST …/contracts` answers the outcome plus whether the CRM record was updated at once.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub contract: ContractSummary,
    pub created: bool,
}

pub struct RelayClient<T> {
    transport: T,
    base: String,
    environment: Environment,
    token: RefCell<String>,
    timeout_ms: u64,
}

impl<T: Transport> RelayClient<T> {
    pub fn new(transport: T, relay_url: &str, environment: Environment, token: &str) -> crate::Result<Self> {
        let base = relay_url.trim_end_matches('/').to_string();
        if url::parse(&base).is_none_or(|u| !url::is_secure_or_loopback(&u)) {
            return Err(crate::Error::invalid_input("relayUrl", "must be an https URL (http only on loopback)"));
        }
        Ok(RelayClient { transport, base, environment, token: RefCell::new(token.to_string()), timeout_ms: 20_000 })
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// A fresh session token from the host (after expiry).
    pub fn set_token(&self, token: &str) {
        *self.token.borrow_mut() = token.to_string();
    }

    /// One typed call: a thin wrapper, so the async request machinery below exists once rather than
    /// once per answer type (it is the largest code in the sidebar's build).
    async fn call<R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<R, RemoteError> {
        let value = self.call_json(method, path, body).await?;
        serde_json::from_value(value).map_err(|e| {
            RemoteError::new("bad_response", format!("the relay's answer was not understood ({e})"), false)
        })
    }

    async fn call_json(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, RemoteError> {
        let mut headers = vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("Authorization".to_string(), format!("Bearer {}", self.token.borrow())),
        ];
        if body.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        let request = HttpRequest {
            method,
            url: format!("{}/api/{}{path}", self.base, self.environment.as_str()),
            headers,
            body: body.map(|b| serde_json::to_vec(&b).unwrap_or_default()),
            timeout_ms: self.timeout_ms,
            max_response_bytes: 1024 * 1024,
        };
        let response = self.transport.send(request).await.map_err(|error| match error {
            TransportError::Timeout => RemoteError::new("timeout", "the relay did not answer in time", true),
            TransportError::Connection(message) => {
                RemoteError::new("network_error", format!("could not reach the relay ({message})"), true)
            }
            TransportError::TooLarge { .. } => {
                RemoteError::new("bad_response", "the relay's answer was too large", false)
            }
        })?;
        if (200..300).contains(&response.status) {
            return parse_body(&response.body).map_err(|e| {
                RemoteError::new("bad_response", format!("the relay's answer was not understood ({e})"), false)
            });
        }
        Err(
            match parse_body(&response.body)
                .and_then(|v| serde_json::from_value::<ErrorBody>(v).map_err(|e| e.to_string()))
            {
                Ok(body) => body.error,
                Err(_) => RemoteError::new(
                    "bad_response",
                    format!("the relay answered HTTP {}", response.status),
                    response.status >= 500,
                ),
            },
        )
    }

    pub async fn config(&self) -> Result<SidebarConfig, RemoteError> {
        self.call(Method::Get, "/config", None).await
    }

    pub async fn contracts(&self, deal_id: &str) -> Result<Vec<ContractSummary>, RemoteError> {
        self.call(Method::Get, &format!("/deals/{}/contracts", url::encode_path_segment(deal_id)), None).await
    }

    pub async fn preview(&self, deal: &Deal, template_id: u64) -> Result<Value, RemoteError> {
        let body = json!({"deal": deal, "templateId": template_id});
        self.call(Method::Post, &format!("/deals/{}/preview", url::encode_path_segment(&deal.id)), Some(body)).await
    }

    pub async fn create(&self, deal: &Deal, template_id: u64) -> Result<CreateOutcome, RemoteError> {
        let body = json!({"deal": deal, "templateId": template_id});
        let created: Created = self
            .call(Method::Post, &format!("/deals/{}/contracts", url::encode_path_segment(&deal.id)), Some(body))
            .await?;
        Ok(CreateOutcome { contract: created.contract, created: created.created })
    }

    pub async fn send(&self, deal_id: &str, id: ContractId) -> Result<StatusReport, RemoteError> {
        let path = format!("/deals/{}/contracts/{id}/send", url::encode_path_segment(deal_id));
        let report: StatusWire = self.call(Method::Post, &path, Some(json!({}))).await?;
        Ok(report.into())
    }

    pub async fn download_link(&self, deal_id: &str, id: ContractId) -> Result<DownloadLink, RemoteError> {
        let path = format!("/deals/{}/contracts/{id}/download-link", url::encode_path_segment(deal_id));
        let link: DownloadWire = self.call(Method::Post, &path, None).await?;
        Ok(DownloadLink { url: link.url, file_name: link.file_name })
    }
}

/// JSON from the relay's bytes, through the same text parser the boundary uses: one parser in the
/// sidebar's build instead of a second one for byte slices.
fn parse_body(body: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusWire {
    id: ContractId,
    status: crate::model::ContractStatus,
    name: Option<String>,
    link: String,
    read_at: String,
}

impl From<StatusWire> for StatusReport {
    fn from(wire: StatusWire) -> StatusReport {
        StatusReport {
            id: wire.id,
            status_label: wire.status.label(),
            status: wire.status,
            name: wire.name,
            link: wire.link,
            read_at: wire.read_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadWire {
    url: String,
    file_name: String,
}
