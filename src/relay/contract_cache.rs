//! What the relay last read of each deal's contracts, so opening or refreshing a sidebar costs no
//! SpotDraft request while nothing has changed. Kept in the shared state (every instance sees one
//! cache) and kept honest by what tells the relay something changed:
//!
//! - a webhook delivery for the deal, a create and a send mark the deal changed;
//! - a reconcile pass marks every record it checks changed, and a pass without failures vouches for
//!   every other entry as of when it started (nothing else changed since its checkpoint);
//! - an entry read before the deal's last change is never served (a read that raced a webhook
//!   cannot put stale contracts back), and no entry is served once it is `FRESH_FOR_MS` old by its
//!   own read and the last clean reconcile pass, whichever is later.
//!
//! Every answer carries `asOf`: when the relay last knew the list to be right, which the sidebar
//! shows once it is old.

use serde::{Deserialize, Serialize};

use super::{EnvironmentRuntime, Relay};
use crate::error::Result;
use crate::model::ContractSummary;
use crate::time;
use crate::transport::Transport;

/// How long a list may be served without a fresh read or a clean reconcile pass vouching for it.
pub const FRESH_FOR_MS: u64 = 5 * 60 * 1000;
/// How long the store keeps entries and change marks (longer than they can be served).
const KEEP_MS: u64 = 60 * 60 * 1000;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    /// When the read behind this entry started (the relay's clock).
    read_at_ms: u64,
    contracts: Vec<ContractSummary>,
}

fn entry_key<T: Transport>(env: &EnvironmentRuntime<T>, deal_id: &str) -> String {
    format!("contracts:{}:{deal_id}", env.config.environment.as_str())
}

fn changed_key<T: Transport>(env: &EnvironmentRuntime<T>, deal_id: &str) -> String {
    format!("contracts-changed:{}:{deal_id}", env.config.environment.as_str())
}

fn reconciled_key<T: Transport>(env: &EnvironmentRuntime<T>) -> String {
    format!("reconciled:{}", env.config.environment.as_str())
}

fn iso(ms: u64) -> Option<String> {
    i64::try_from(ms).ok().and_then(|ms| ms.checked_mul(1000)).and_then(time::format_timestamp)
}

async fn time_at<T: Transport>(relay: &Relay<T>, key: &str) -> Result<Option<u64>> {
    Ok(relay.state.get(key, relay.now_ms()).await?.and_then(|text| text.parse().ok()))
}

/// The deal's contracts as last read, if they may still be served, each with `as_of` set.
pub(super) async fn cached<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
) -> Result<Option<Vec<ContractSummary>>> {
    let now = relay.now_ms();
    let Some(text) = relay.state.get(&entry_key(env, deal_id), now).await? else { return Ok(None) };
    // An entry that no longer parses (another version wrote it) is simply not used.
    let Ok(entry) = serde_json::from_str::<Entry>(&text) else { return Ok(None) };
    if time_at(relay, &changed_key(env, deal_id)).await?.is_some_and(|changed| changed >= entry.read_at_ms) {
        return Ok(None);
    }
    let vouched = time_at(relay, &reconciled_key(env)).await?.unwrap_or(0);
    let as_of = entry.read_at_ms.max(vouched);
    if now.saturating_sub(as_of) >= FRESH_FOR_MS {
        return Ok(None);
    }
    Ok(Some(with_as_of(entry.contracts, as_of)))
}

/// Keeps `contracts`, read starting at `read_at_ms`; answers them with `as_of` set.
pub(super) async fn store<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    contracts: Vec<ContractSummary>,
    read_at_ms: u64,
) -> Vec<ContractSummary> {
    let entry = Entry { read_at_ms, contracts };
    if let Ok(text) = serde_json::to_string(&entry) {
        // A store that fails to keep it only costs the next open a SpotDraft read.
        let _ = relay.state.put(&entry_key(env, deal_id), text, KEEP_MS, relay.now_ms()).await;
    }
    with_as_of(entry.contracts, read_at_ms)
}

/// Something about the deal's contracts changed (or may have): no entry read before now is served.
pub(super) async fn changed<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>, deal_id: &str) -> Result<()> {
    let now = relay.now_ms();
    relay.state.put(&changed_key(env, deal_id), now.to_string(), KEEP_MS, now).await
}

/// A reconcile pass that started at `started_ms` finished without failures: it vouches for every
/// entry it did not mark changed, as of when it started.
pub(super) async fn reconciled<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    started_ms: u64,
) -> Result<()> {
    relay.state.put(&reconciled_key(env), started_ms.to_string(), KEEP_MS, relay.now_ms()).await
}

fn with_as_of(mut contracts: Vec<ContractSummary>, as_of_ms: u64) -> Vec<ContractSummary> {
    let as_of = iso(as_of_ms);
    for contract in &mut contracts {
        contract.as_of.clone_from(&as_of);
    }
    contracts
}
