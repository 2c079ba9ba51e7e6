//! The sidebar's calls to the relay (never to SpotDraft: the browser holds no SpotDraft credential).
//! An effect is described as a `RelayCall` (plain data), sent through one untyped request path, and
//! its outcome worded as the message the state machine reads next. Keeping the async part to one
//! non-generic function matters: it is the largest code in the sidebar's build. Every failure
//! becomes a `RemoteError` with the relay's stable code, so the state machine can word it for a
//! seller and decide whether a retry makes sense.

use std::cell::RefCell;

use serde_json::Value;

use super::{wire, Effect, Msg};
use crate::json_output::object as fields;
use crate::model::Environment;
use crate::transport::{HttpRequest, Method, Transport, TransportError};
use crate::url;

pub use crate::error::RemoteError;

/// A failed relay call as the sidebar words it: the relay's own report, or one made here for a
/// network failure or an answer it could not read.
impl RemoteError {
    pub(crate) fn new(code: &str, message: impl Into<String>, transient: bool) -> RemoteError {
        RemoteError { code: code.into(), message: message.into(), problems: Vec::new(), transient }
    }

    pub(crate) fn unreadable(reason: impl std::fmt::Display) -> RemoteError {
        RemoteError::new("bad_response", format!("the relay's answer was not understood ({reason})"), false)
    }
}

/// One request to the relay: a path under `/api/{environment}` and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayCall {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

impl Effect {
    /// The relay call that carries out this effect, or `None` for the effects the shell runs itself
    /// (timers, opening a URL).
    pub fn relay_call(&self, deal_id: &str) -> Option<RelayCall> {
        let deal_path = format!("/deals/{}", url::encode_path_segment(deal_id));
        // Only the template: the relay reads the deal from the CRM, never from the browser.
        let with_template = |template_id: u64| Some(fields([("templateId", template_id.into())]));
        // Each call as (method, its contract if it is about one, the path's tail, body): one place
        // writes the paths, where a `format!` per call would each be code in the sidebar's download.
        let (method, contract, tail, body) = match self {
            Effect::LoadFirstView => (Method::Get, None, "/sidebar", None),
            Effect::LoadConfig => return Some(RelayCall { method: Method::Get, path: "/config".into(), body: None }),
            // The deal as the CRM holds it: what the sidebar decides on, never the host's copy.
            Effect::LoadDeal => (Method::Get, None, "", None),
            Effect::LoadContracts => (Method::Get, None, "/contracts", None),
            Effect::LoadPreview { template_id } => (Method::Post, None, "/preview", with_template(*template_id)),
            Effect::Create { template_id } => (Method::Post, None, "/contracts", with_template(*template_id)),
            Effect::Send { contract_id } => (Method::Post, Some(contract_id), "/send", Some(fields([]))),
            Effect::Download { contract_id } => (Method::Post, Some(contract_id), "/download-link", None),
            Effect::LoadApprovals { contract_id } => (Method::Get, Some(contract_id), "/approvals", None),
            Effect::RequestApprovals { contract_id } => {
                (Method::Post, Some(contract_id), "/approvals", Some(fields([])))
            }
            #[cfg(feature = "link")]
            Effect::Link(link) => {
                let (method, path, body) = link.relay_call(&deal_path);
                return Some(RelayCall { method, path, body });
            }
            Effect::OpenUrl { .. } | Effect::ScheduleTick { .. } | Effect::CancelTick => return None,
        };
        let mut path = deal_path;
        if let Some(contract_id) = contract {
            path.push_str("/contracts/");
            path.push_str(&contract_id.to_string());
        }
        path.push_str(tail);
        Some(RelayCall { method, path, body })
    }

    /// The messages that report how this effect's relay call went, read from the answer once,
    /// here. An answer that cannot be read becomes the effect's failure (`bad_response`), never a
    /// message that throws. Nothing for the effects the shell runs.
    pub fn outcome(&self, answer: Result<Value, RemoteError>) -> Vec<Msg> {
        if *self == Effect::LoadFirstView {
            return first_view(answer);
        }
        self.single_outcome(answer).into_iter().collect()
    }

    fn single_outcome(&self, answer: Result<Value, RemoteError>) -> Option<Msg> {
        Some(match self {
            Effect::LoadConfig => match read(answer, |v| wire::sidebar_config(v, "config")) {
                Ok(config) => Msg::ConfigLoaded { config },
                Err(error) => Msg::ConfigFailed { error },
            },
            Effect::LoadDeal => match read(answer, wire::crm_deal) {
                Ok(deal) => Msg::DealLoaded { deal: Box::new(deal) },
                Err(error) => Msg::DealFailed { error },
            },
            Effect::LoadContracts => match read(answer, |v| wire::contract_list(v, "contracts")) {
                Ok(contracts) => Msg::ContractsLoaded { contracts },
                Err(error) => Msg::ContractsFailed { error },
            },
            Effect::LoadPreview { template_id } => match read(answer, |v| wire::preview(v, "preview")) {
                Ok(preview) => Msg::PreviewLoaded { template_id: *template_id, preview },
                Err(error) => Msg::PreviewFailed { template_id: *template_id, error },
            },
            Effect::Create { .. } => match read(answer, wire::created) {
                Ok((contract, created)) => Msg::Created { contract: Box::new(contract), created },
                Err(error) => Msg::CreateFailed { error },
            },
            Effect::Send { contract_id } => match read(answer, wire::sent_status) {
                Ok(status) => Msg::Sent { contract_id: *contract_id, status },
                Err(error) => Msg::SendFailed { contract_id: *contract_id, error },
            },
            Effect::Download { contract_id } => match read(answer, wire::download_url) {
                Ok(url) => Msg::DownloadReady { contract_id: *contract_id, url },
                Err(error) => Msg::DownloadFailed { contract_id: *contract_id, error },
            },
            Effect::LoadApprovals { contract_id } | Effect::RequestApprovals { contract_id } => {
                let requested = matches!(self, Effect::RequestApprovals { .. });
                match read(answer, |v| crate::shell_types::FromShell::from_value(v, "")) {
                    Ok(view) => Msg::ApprovalsLoaded { contract_id: *contract_id, view: Box::new(view), requested },
                    Err(error) => Msg::ApprovalsFailed { contract_id: *contract_id, error },
                }
            }
            #[cfg(feature = "link")]
            Effect::Link(link) => Msg::Link(link.outcome(answer)),
            Effect::LoadFirstView | Effect::OpenUrl { .. } | Effect::ScheduleTick { .. } | Effect::CancelTick => {
                return None
            }
        })
    }
}

/// An answer read by `reader`; what it cannot read is the relay's fault (`bad_response`).
pub(super) fn read<T>(
    answer: Result<Value, RemoteError>,
    reader: impl FnOnce(&Value) -> Result<T, String>,
) -> Result<T, RemoteError> {
    answer.and_then(|value| reader(&value).map_err(RemoteError::unreadable))
}

/// The first view's answer, `{config, deal, contracts, preview?}`, each part `{"ok": …}` or the
/// relay's `{"error": …}`, read as the answers to the calls it stands for, in the order that lets
/// the state machine ask for nothing it already has: the deal, the preview, then the configuration
/// (which would ask for the preview) and the contracts (which schedule the next refresh).
fn first_view(answer: Result<Value, RemoteError>) -> Vec<Msg> {
    let mut parts = match answer {
        Ok(Value::Object(parts)) => parts,
        Ok(_) => return first_view(Err(RemoteError::unreadable("the first view is not an object"))),
        Err(error) => {
            let mut failed = Vec::new();
            for effect in [Effect::LoadDeal, Effect::LoadConfig, Effect::LoadContracts] {
                failed.extend(effect.single_outcome(Err(error.clone())));
            }
            return failed;
        }
    };
    // Taken, not removed: a map's removal code would cost the download more than the values' copies.
    let mut take = |key: &str| parts.get_mut(key).map(Value::take);
    let deal = wire::answer_part(take("deal"), "deal");
    let preview = take("preview").filter(|value| !value.is_null());
    let config = wire::answer_part(take("config"), "config");
    let contracts = wire::answer_part(take("contracts"), "contracts");
    let mut messages = Vec::new();
    messages.extend(Effect::LoadDeal.single_outcome(deal));
    if let Some(preview) = preview {
        // The preview names its template; one that does not is left to be asked for on its own.
        if let Some(template_id) = preview.get("templateId").and_then(Value::as_u64) {
            let effect = Effect::LoadPreview { template_id };
            messages.extend(effect.single_outcome(wire::answer_part(Some(preview), "preview")));
        }
    }
    messages.extend(Effect::LoadConfig.single_outcome(config));
    messages.extend(Effect::LoadContracts.single_outcome(contracts));
    messages
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

    /// Sends one call; the answer's JSON, or the relay's error.
    pub async fn call(&self, call: &RelayCall) -> Result<Value, RemoteError> {
        let RelayCall { method, path, body } = call;
        let mut headers = vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("Authorization".to_string(), format!("Bearer {}", self.token.borrow())),
        ];
        if body.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        let request = HttpRequest {
            method: *method,
            url: format!("{}/api/{}{path}", self.base, self.environment.as_str()),
            headers,
            body: body.as_ref().map(|b| crate::json_output::to_text(b).into_bytes()),
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
            return parse_body(&response.body).map_err(RemoteError::unreadable);
        }
        // The relay's error body is `{"error": {code, message, problems?, transient?}}`.
        let reported = parse_body(&response.body)
            .ok()
            .and_then(|body| body.get("error").and_then(|error| wire::remote_error(error, "error").ok()));
        Err(reported.unwrap_or_else(|| {
            RemoteError::new(
                "bad_response",
                format!("the relay answered HTTP {}", u64::from(response.status)),
                response.status >= 500,
            )
        }))
    }
}

/// JSON from the relay's bytes.
fn parse_body(body: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8 text".to_string())?;
    crate::json_input::parse_text(text)
}
