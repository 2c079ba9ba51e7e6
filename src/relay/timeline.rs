//! Timeline entries on the deal (`crate::timeline`): each added once, whichever instance sees its
//! activity and however often. The shared state remembers entries made (a redelivery costs
//! nothing); the CRM's own notes are the record of truth (an entry made just before a crash is
//! found there, not made again), read under a per-record lock so two instances never both add it.

use super::{EnvironmentRuntime, Relay};
use crate::crm::record_notes::{self, Note};
use crate::error::Result;
use crate::transport::Transport;

/// Adds `note` unless the record has it; whether it was added now.
pub(super) async fn add<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    note: &Note,
) -> Result<bool> {
    if !env.config.timeline {
        return Ok(false);
    }
    let environment = env.config.environment.as_str();
    let made_key = format!("noted:{environment}:{}", note.reference);
    if relay.state.recalls(&made_key, relay.now_ms()).await? {
        return Ok(false);
    }
    let guard = relay.locks.lock(&format!("notes:{environment}:{deal_id}"), &*relay.transport).await?;
    let crm = &env.config.crm;
    let added = if record_notes::has_note(&*relay.transport, crm, deal_id, &note.reference).await? {
        false
    } else {
        super::webhooks::fence(relay, &guard).await?;
        record_notes::add_note(&*relay.transport, crm, deal_id, note, None).await?;
        true
    };
    relay.state.remember(&made_key, super::APPLIED_TTL_MS, relay.now_ms()).await?;
    Ok(added)
}
