//! The one error type every core operation returns, with a stable machine-readable `code`.
//!
//! Callers (the sidebar shell, the relay) branch on `code()`; people read `Display`. Errors that
//! describe bad input carry *every* problem found, each with the path of the value at fault.

use std::fmt;

crate::shell_types::shell_struct! {
    /// One thing wrong with an input, located by a path such as `templates[0].fields[2].encoding`.
    pub struct Problem as "Problem" {
        path: String => "path",
        message: String => "message",
    }
}

crate::shell_types::shell_struct! {
    /// A failed relay answer's body, `{"error": …}` (and a failed part of a first view): the relay
    /// writes it and the sidebar reads it through this one declaration.
    pub struct RemoteError as "RelayError" {
        /// Stable and machine-readable (`crm_error`, `unauthorized`, …).
        code: String => "code",
        message: String => "message",
        problems: Vec<Problem> => "problems",
        /// True when trying again later may succeed unchanged.
        transient: bool => "transient",
    }
}

impl RemoteError {
    /// `{"error": {code, message, problems, transient}}`, the envelope of every failed answer.
    pub fn envelope(&self) -> serde_json::Value {
        crate::json_output::object([("error", crate::json_output::ToJson::to_json(self))])
    }
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// An error answer from SpotDraft, whichever of its three body shapes it came in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// SpotDraft's error code (e.g. `SD_PUBLIC_00009`) when the body carried one.
    pub code: Option<String>,
    /// The most specific human message available.
    pub message: String,
    /// Field-keyed validation messages (`{"field": ["msg"]}` bodies), flattened to paths.
    pub field_errors: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The plugin configuration document is unusable.
    InvalidConfig(Vec<Problem>),
    /// An argument (deal data, an id, a host message) is malformed. Nothing was sent.
    InvalidInput(Vec<Problem>),
    /// The template is not one this configuration offers.
    UnknownTemplate { template_id: u64 },
    /// Creation is not allowed at the deal's current stage.
    StageNotAllowed { stage: Option<String>, allowed: Vec<String> },
    /// The deal cannot fill the template: missing required values, wrong types, unknown options.
    MappingFailed(Vec<Problem>),
    /// SpotDraft answered with an error status.
    SpotDraft(ApiError),
    /// No answer in time, after `attempts` tries.
    Timeout { attempts: u32 },
    /// The connection failed, after `attempts` tries.
    Network { message: String, attempts: u32 },
    /// SpotDraft answered with a redirect: the URL is wrong (http instead of https, or a trailing slash).
    Redirected { location: Option<String> },
    /// SpotDraft answered 2xx but the body is not what the API documents (not JSON, too large, wrong shape).
    BadResponse { status: u16, reason: String },
    /// A webhook's signature is missing, malformed or does not match.
    InvalidSignature { reason: String },
    /// A webhook body is not a SpotDraft activity payload.
    InvalidWebhook(Vec<Problem>),
    /// A CRM (HubSpot, Salesforce, Zoho CRM, Pipedrive) refused or failed a read or write-back, or answered
    /// in a shape its API does not document. `message` carries the CRM's own error text.
    Crm { status: u16, message: String },
    /// A call to the relay carries no valid credentials for what it asks (missing, forged, expired or
    /// out-of-scope token or signature).
    Unauthorized { reason: String },
    /// The caller is who they say, but the CRM says they may not see this record.
    Forbidden { reason: String },
    /// The request clashes with what is already so (a contract linked to another record, a slot
    /// already filled); `reason` says what, in a seller's words.
    Conflict { reason: String },
}

impl Error {
    /// Stable identifier for programmatic handling; never changes for a given variant.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidConfig(_) => "invalid_config",
            Error::InvalidInput(_) => "invalid_input",
            Error::UnknownTemplate { .. } => "unknown_template",
            Error::StageNotAllowed { .. } => "stage_not_allowed",
            Error::MappingFailed(_) => "mapping_failed",
            Error::SpotDraft(_) => "spotdraft_error",
            Error::Timeout { .. } => "timeout",
            Error::Network { .. } => "network_error",
            Error::Redirected { .. } => "redirected",
            Error::BadResponse { .. } => "bad_response",
            Error::InvalidSignature { .. } => "invalid_signature",
            Error::InvalidWebhook(_) => "invalid_webhook",
            Error::Crm { .. } => "crm_error",
            Error::Unauthorized { .. } => "unauthorized",
            Error::Forbidden { .. } => "forbidden",
            Error::Conflict { .. } => "conflict",
        }
    }

    /// The located problems, for errors about input.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::InvalidConfig(p) | Error::InvalidInput(p) | Error::MappingFailed(p) | Error::InvalidWebhook(p) => p,
            Error::SpotDraft(api) => &api.field_errors,
            _ => &[],
        }
    }

    /// Whether trying the same thing again later can succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Network { .. } => true,
            Error::SpotDraft(api) => api.status == 429 || api.status >= 500,
            Error::Crm { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    pub fn invalid_input(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidInput(vec![Problem::new(path, message)])
    }
}

fn write_problems(f: &mut fmt::Formatter<'_>, heading: &str, problems: &[Problem]) -> fmt::Result {
    f.write_str(heading)?;
    for (index, problem) in problems.iter().enumerate() {
        f.write_str(if index == 0 { ": " } else { "; " })?;
        write!(f, "{problem}")?;
    }
    Ok(())
}

/// "contracts can be created at Qualified to buy or Contract sent; this deal is at Closed lost",
/// from stage labels (the sidebar and the relay word a stage refusal the same way).
pub fn stage_sentence(stage: Option<&str>, allowed: &[String]) -> String {
    let mut allowed_text = String::new();
    for (index, label) in allowed.iter().enumerate() {
        if index > 0 {
            allowed_text.push_str(if index + 1 == allowed.len() { " or " } else { ", " });
        }
        allowed_text.push_str(label);
    }
    match stage {
        Some(stage) => format!("contracts can be created at {allowed_text}; this deal is at {stage}"),
        None => format!("contracts can be created at {allowed_text}; this deal has no stage"),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig(p) => write_problems(f, "invalid configuration", p),
            Error::InvalidInput(p) => write_problems(f, "invalid input", p),
            Error::UnknownTemplate { template_id } => {
                write!(f, "template {template_id} is not one of the templates configured for this CRM")
            }
            Error::StageNotAllowed { stage, allowed } => write!(f, "{}", stage_sentence(stage.as_deref(), allowed)),
            Error::MappingFailed(p) => write_problems(f, "the deal can't fill this template", p),
            Error::SpotDraft(api) => {
                write!(f, "SpotDraft answered {}", api.status)?;
                if let Some(code) = &api.code {
                    write!(f, " ({code})")?;
                }
                write!(f, ": {}", api.message)
            }
            Error::Timeout { attempts } => write!(f, "SpotDraft did not answer in time ({attempts} attempt(s))"),
            Error::Network { message, attempts } => {
                write!(f, "could not reach SpotDraft ({attempts} attempt(s)): {message}")
            }
            Error::Redirected { location } => write!(
                f,
                "SpotDraft redirected the request{}; the API URL is wrong (https and the exact trailing slash are required)",
                location.as_deref().map(|l| format!(" to {l}")).unwrap_or_default()
            ),
            Error::BadResponse { status, reason } => write!(f, "unexpected response from SpotDraft (HTTP {status}): {reason}"),
            Error::InvalidSignature { reason } => write!(f, "webhook signature rejected: {reason}"),
            Error::InvalidWebhook(p) => write_problems(f, "not a SpotDraft webhook payload", p),
            Error::Crm { status, message } => write!(f, "CRM request failed (HTTP {status}): {message}"),
            Error::Unauthorized { reason } => write!(f, "not authorized: {reason}"),
            Error::Forbidden { reason } => write!(f, "not allowed: {reason}"),
            Error::Conflict { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
