//! Reconciliation: repair CRM drift from SpotDraft's list of contracts changed since a checkpoint.
//!
//! Webhooks can be dropped; this pass makes the CRM equal to SpotDraft anyway. Its cost grows with
//! the number of contracts changed since the checkpoint (one list page per 100, then one CRM read
//! per affected record and a write only where something differs), never with the number of deals.

use std::collections::BTreeMap;

use super::{EnvironmentRuntime, Relay};
use crate::crm::ContractFields;
use crate::error::Result;
use crate::model::{ContractSummary, Environment, RecordKey};
use crate::spotdraft::ListQuery;
use crate::sync::{self, Decision, Observation};
use crate::time;
use crate::transport::Transport;

/// Contracts changed in this window before the checkpoint are listed again: SpotDraft's
/// `last_updated_on` and the relay's clock are different clocks.
const OVERLAP_MS: u64 = 60_000;
const PAGE_SIZE: u32 = 100;

crate::shell_types::shell_struct! {
    /// What one reconciliation pass did.
    pub struct ReconcileReport as "ReconcileReport" {
        environment: Environment => "environment",
        /// Pass this to the next run. It never passes a record that failed: after any failure it is
        /// the checkpoint this pass started from (null: list everything again), so the failed records
        /// are listed, and repaired, next time.
        checkpoint: Option<String> => "checkpoint",
        pages: u32 => "pages",
        contracts_seen: usize => "contractsSeen",
        records_checked: usize => "recordsChecked",
        records_repaired: usize => "recordsRepaired",
        /// Records that could not be read or written; the next run retries them.
        failures: Vec<String> => "failures",
    }
}

impl<T: Transport> Relay<T> {
    /// Repairs the CRM for contracts changed since `since` (ISO 8601; `None` = everything).
    pub async fn reconcile(&self, environment: Environment, since: Option<String>) -> Result<ReconcileReport> {
        let env = self.environments.iter().find(|e| e.config.environment == environment).ok_or_else(|| {
            crate::Error::invalid_input("environment", format!("{} is not configured", environment.as_str()))
        })?;
        super::setup::refresh(self, env, &mut serde_json::Value::Null).await;
        let started = self.now_ms();
        let mut by_record: BTreeMap<String, Vec<ContractSummary>> = BTreeMap::new();
        let mut page = 1;
        let mut seen = 0;
        loop {
            let query = ListQuery { page, limit: PAGE_SIZE, updated_since: since.clone(), ..ListQuery::default() };
            let listing = crate::flows::list_contracts(&env.client, &query).await?;
            let count = listing.contracts.len();
            seen += count;
            for contract in listing.contracts {
                if let Some(deal) = ours(env, &contract) {
                    by_record.entry(deal).or_default().push(env.plugin().with_slot(contract));
                }
            }
            let more = count == PAGE_SIZE as usize
                && listing.total_results.is_none_or(|total| u64::from(page) * u64::from(PAGE_SIZE) < total);
            if !more {
                break;
            }
            page += 1;
        }
        let mut repaired = 0;
        let mut failures = Vec::new();
        for (deal_id, contracts) in &by_record {
            // Listed: changed in SpotDraft since the checkpoint, so what sidebars were answered
            // from may be behind.
            super::contract_cache::changed(self, env, deal_id).await?;
            // Two live contracts in one slot of a deal: a creator died (or stalled past its lease) before it
            // could settle the race; settle it here.
            let live: Vec<&Option<String>> = contracts.iter().filter(|c| c.status.is_live()).map(|c| &c.slot).collect();
            if live.iter().enumerate().any(|(i, slot)| live.iter().skip(i + 1).any(|other| other == slot)) {
                if let Err(error) = settle_duplicates(env, deal_id).await {
                    failures.push(format!("{deal_id}: {error}"));
                    continue;
                }
            }
            let repaired_record = match repair(self, env, deal_id, contracts).await {
                Ok(written) => written,
                Err(error) => {
                    failures.push(format!("{deal_id}: {error}"));
                    continue;
                }
            };
            // Key terms of the contract the record shows, when it is among those changed.
            let mut terms_written = 0;
            for contract in contracts {
                match super::terms::sync(self, env, deal_id, contract.id).await {
                    Ok(written) => terms_written += written,
                    Err(error) => failures.push(format!("{deal_id}: key terms: {error}")),
                }
            }
            // Executed contracts' signed PDFs (every slot's), when their delivery was lost.
            let mut attached = 0;
            for contract in contracts.iter().filter(|c| c.status == crate::model::ContractStatus::Executed) {
                match super::documents::attach_signed(self, env, deal_id, contract.id, Some(&contract.name)).await {
                    Ok(super::documents::Attachment::Attached) => attached += 1,
                    Ok(_) => {}
                    // Too large stays too large: the webhook path logged it; not retried for ever.
                    Err(crate::Error::Crm { status: 413, .. }) => {}
                    Err(error) => failures.push(format!("{deal_id}: signed PDF of {}: {error}", contract.id)),
                }
            }
            if repaired_record || terms_written > 0 || attached > 0 {
                repaired += 1;
            }
        }
        let checkpoint_ms = i64::try_from(started.saturating_sub(OVERLAP_MS)).unwrap_or(0).saturating_mul(1000);
        let checkpoint = if failures.is_empty() { time::format_timestamp(checkpoint_ms) } else { since };
        if failures.is_empty() {
            // Nothing else changed since the checkpoint: every other answer the relay keeps is
            // right as of this pass's start.
            super::contract_cache::reconciled(self, env, started).await?;
        }
        Ok(ReconcileReport {
            environment,
            checkpoint,
            pages: page,
            contracts_seen: seen,
            records_checked: by_record.len(),
            records_repaired: repaired,
            failures,
        })
    }
}

/// The deal id, when the contract belongs to a record of this environment's CRM account.
fn ours<T: Transport>(env: &EnvironmentRuntime<T>, contract: &ContractSummary) -> Option<String> {
    let key = RecordKey::parse(contract.external_id.as_deref()?)?;
    let plugin = &env.plugin();
    (key.crm == plugin.crm.host && key.tenant == plugin.crm.account_id).then_some(key.id)
}

async fn settle_duplicates<T: Transport>(env: &EnvironmentRuntime<T>, deal_id: &str) -> Result<()> {
    let key = super::api::record_key(env, deal_id)?;
    super::api::keep_oldest_live(env, &key).await.map(|_| ())
}

/// Applies every listed contract of one record in memory, then writes once if anything changed.
///
/// Under the one write rule, never the relay's clock: a listing carries no activity times, so each
/// listed status is ordered just after what the record shows (or at the contract's creation, for a
/// record that shows nothing), and a change it would make is first confirmed by a fresh status read
/// under the record's lock; what that read says is written. No execution time is invented: the
/// execution's own delivery brings it.
async fn repair<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    contracts: &[ContractSummary],
) -> Result<bool> {
    let guard =
        relay.locks.lock(&format!("record:{}:{deal_id}", env.config.environment.as_str()), &*relay.transport).await?;
    let original = super::webhooks::read_fields(relay, env, deal_id).await?;
    let mut fields = original.clone();
    // The record shows its own slot's contract only (`crate::slots`).
    let record_slot = env.plugin().record_slot();
    let mut ordered: Vec<&ContractSummary> =
        contracts.iter().filter(|c| c.slot.as_deref() == Some(record_slot.as_str())).collect();
    ordered.sort_by_key(|c| c.number);
    for contract in ordered {
        let shown_at = fields.status_at.as_deref().and_then(time::parse_timestamp);
        let created = contract.created.as_deref().and_then(time::parse_timestamp);
        let at_micros = match (shown_at, created) {
            (Some(shown), Some(created)) => (shown + 1).max(created),
            (Some(shown), None) => shown + 1,
            (None, Some(created)) => created,
            (None, None) => 0,
        };
        let mut observation = Observation {
            contract: contract.id,
            status: contract.status.clone(),
            at_micros,
            link: contract.link.clone(),
        };
        let mut decision = sync::decide_from_read(&fields, &observation);
        if sync::needs_confirmation(&decision) {
            observation.status = env.client.contract_status(contract.id).await?.contract_status;
            decision = sync::decide_from_read(&fields, &observation);
        }
        if let Decision::Write { patch } = decision {
            sync::apply_patch(&mut fields, &patch);
        }
    }
    if fields == original {
        return Ok(false);
    }
    let patch = difference(&original, &fields);
    super::webhooks::fence(relay, &guard).await?;
    super::webhooks::write_fields(relay, env, deal_id, &patch).await?;
    drop(guard);
    // SpotDraft sends no activity for a contract put on hold: its timeline entry comes from here,
    // once per time the record was moved to it.
    let on_hold = crate::model::ContractStatus::OnHold;
    if fields.status.as_deref().map(crate::model::ContractStatus::parse) == Some(on_hold) && patch.status.is_some() {
        let shown = fields.contract_id.as_deref().and_then(crate::model::ContractId::parse);
        let at = fields.status_at.as_deref().and_then(time::parse_timestamp);
        if let (Some(contract), Some(at)) = (shown, at) {
            let title = contracts.iter().find(|c| c.id == contract).map(|c| c.name.as_str());
            let link = Some(crate::flows::deep_link(None, contract.number));
            let entry = crate::timeline::on_hold(title, contract, env.config.environment, at, link);
            super::timeline::add(relay, env, deal_id, &entry).await?;
        }
    }
    Ok(true)
}

fn difference(before: &ContractFields, after: &ContractFields) -> ContractFields {
    // A field emptied in memory is written as "" (clear), not left out.
    let changed =
        |a: &Option<String>, b: &Option<String>| if a != b { Some(b.clone().unwrap_or_default()) } else { None };
    ContractFields {
        contract_id: changed(&before.contract_id, &after.contract_id),
        status: changed(&before.status, &after.status),
        status_at: changed(&before.status_at, &after.status_at),
        link: changed(&before.link, &after.link),
        executed_at: changed(&before.executed_at, &after.executed_at),
    }
}
