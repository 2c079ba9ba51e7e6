//! The relay's audit log: one entry per action taken for someone (a contract created, linked, sent,
//! its signed document handed out, a contract created at a milestone), saying who asked, as whom
//! SpotDraft was called, which deal and contract, and how it ended. An admin reads it at
//! `GET /admin/{env}/audit` (`adminSecret`). Entries hold ids, emails and error codes, never
//! secrets, tokens or signed URLs. Kept in an [`EntryLog`](super::entry_log::EntryLog) (Redis, a file per environment, or memory).

use serde::Serialize;

use serde_json::{json, Value};

use super::entry_log::MAX_ENTRIES;
use super::{EnvironmentRuntime, Relay, RelayRequest};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// Who asked for an action.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Requester {
    /// The CRM the request came from (`hubspot`, `salesforce`, …, `demo`).
    pub host: String,
    /// The CRM user, as the host names them (an id or an email); none for a CRM event.
    pub user: Option<String>,
    /// The user's email when the relay knows it.
    pub email: Option<String>,
    /// `sidebar` (a seller's click, from the sidebar or an app card) or `milestone` (a CRM event).
    pub via: &'static str,
}

/// One action, as the log keeps it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// RFC 3339, UTC.
    pub at: String,
    pub environment: String,
    /// `create`, `link`, `send`, `downloadLink`, `milestoneCreate`.
    pub action: &'static str,
    pub deal: String,
    pub contract: Option<String>,
    pub template_id: Option<u64>,
    pub requested_by: Requester,
    /// The SpotDraft user the action was made as: the seller's email, or `null` for the
    /// integration user.
    pub acting_as: Option<String>,
    /// `ok`, or the error code the requester was answered with.
    pub outcome: String,
    pub status: u16,
}

/// At most this many entries per answer.
const MAX_READ: usize = 1_000;

/// Adds `entry` to the log. A log that cannot be written is said in the request's log line, and
/// does not undo or fail what was done.
pub(super) async fn record<T: Transport>(relay: &Relay<T>, entry: &Entry, log: &mut Value) {
    let text = json!(entry).to_string();
    if let Err(error) = relay.audit.append(&entry.environment, text).await {
        if let Value::Object(map) = log {
            map.insert("auditError".into(), Value::String(error.to_string()));
        }
    }
}

/// The time of `now_ms` as the log writes it.
pub(super) fn timestamp(now_ms: u64) -> String {
    let micros = i64::try_from(now_ms).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
    crate::time::format_timestamp(micros).unwrap_or_default()
}

/// `GET /admin/{env}/audit[?limit=&deal=&action=]` (the admin checked by the route): the newest
/// entries first.
pub(super) async fn read<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
) -> Result<Value> {
    let limit = match request.query("limit").map(|text| text.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=MAX_READ).contains(&n) => n,
        Some(_) => return Err(Error::invalid_input("limit", format!("must be a whole number from 1 to {MAX_READ}"))),
    };
    let deal = request.query("deal");
    let action = request.query("action");
    let environment = env.config.environment.as_str();
    // Filters read further back, so a filtered answer is not cut short by other deals' entries.
    let scanned = if deal.is_some() || action.is_some() { MAX_ENTRIES } else { limit };
    let entries = relay.audit.recent(environment, scanned).await?;
    let wanted: Vec<Value> = entries
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(|entry| deal.as_deref().is_none_or(|d| entry.get("deal").and_then(Value::as_str) == Some(d)))
        .filter(|entry| action.as_deref().is_none_or(|a| entry.get("action").and_then(Value::as_str) == Some(a)))
        .take(limit)
        .collect();
    Ok(json!({"entries": wanted}))
}
