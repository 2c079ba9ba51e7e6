//! Linking a contract made outside the CRM to a deal: found through SpotDraft's list search (name or
//! counterparty), linked by writing this integration's external metadata on it. Refused when the
//! contract is linked to another record (whatever integration linked it), voided, or of a kind the
//! deal already holds a live contract of (`crate::slots`). Checked and written under a lock per
//! contract and the deal's create lock for its slot, so a link never races a create or another link.

use serde_json::{json, Value};

use super::{EnvironmentRuntime, Relay, RelayRequest};
use crate::error::{Error, Result};
use crate::model::{ContractId, ContractStatus, ContractSummary};
use crate::sidebar::link::{LinkCandidate, Linkable};
use crate::spotdraft::ListQuery;
use crate::transport::Transport;

/// Search text: long enough to mean something, short enough for a query string.
const QUERY_CHARS: std::ops::RangeInclusive<usize> = 2..=100;
/// Results shown at most.
const RESULTS: u32 = 20;

/// `GET …/deals/{id}/linkable?query=`: contracts SpotDraft finds for the text, each with whether it
/// can be linked here.
pub(super) async fn search<T: Transport>(
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    request: &RelayRequest,
) -> Result<Vec<LinkCandidate>> {
    let text = request.query("query").unwrap_or_default();
    let text = text.trim();
    if !QUERY_CHARS.contains(&text.chars().count()) {
        return Err(Error::invalid_input("query", "type 2 to 100 characters of the contract's name or counterparty"));
    }
    let key = super::api::record_key(env, deal_id)?.to_string();
    let query = ListQuery { page: 1, limit: RESULTS, search: Some(text.to_string()), ..ListQuery::default() };
    let listing = crate::flows::list_contracts(&env.client, &query).await?;
    Ok(listing
        .contracts
        .into_iter()
        .map(|contract| {
            let linkable = linkable(&contract, &key);
            LinkCandidate { contract: env.plugin().with_slot(contract), linkable }
        })
        .collect())
}

fn linkable(contract: &ContractSummary, key: &str) -> Linkable {
    match contract.external_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) if id == key => Linkable::ThisDeal,
        Some(_) => Linkable::Elsewhere,
        None if contract.status == ContractStatus::Voided => Linkable::Voided,
        None => Linkable::Free,
    }
}

/// `POST …/deals/{id}/links` with `{contractId}`: links it, or says why not. 201 when linked now,
/// 200 when it already was this deal's.
pub(super) async fn link<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    request: &RelayRequest,
) -> Result<(u16, Value)> {
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| Error::invalid_input("body", format!("is not JSON ({e})")))?;
    let id = body
        .get("contractId")
        .and_then(Value::as_str)
        .and_then(ContractId::parse)
        .ok_or_else(|| Error::invalid_input("contractId", "a contract id such as T-123 is required"))?;
    let key = super::api::record_key(env, deal_id)?;
    let environment = env.config.environment.as_str();
    let _contract_lock = relay.locks.lock(&format!("link:{environment}:{id}"), &*relay.transport).await?;
    // SpotDraft's own view of it, read under the lock: its type (for the slot) and its status.
    let query = ListQuery { page: 1, limit: 1, contract_id: Some(id.number), ..ListQuery::default() };
    let found = crate::flows::list_contracts(&env.client, &query).await?.contracts.into_iter().find(|c| c.id == id);
    let Some(found) = found else {
        return Err(Error::invalid_input("contractId", format!("SpotDraft has no contract {id} in this workspace")));
    };
    // The metadata itself, not the listing's copy of it, decides.
    let current = env.client.external_metadata(id).await?;
    let plugin = &env.plugin();
    match current.id_text().filter(|text| !text.trim().is_empty()) {
        Some(text) if text == key.to_string() => {
            return Ok((200, json!({"contract": plugin.with_slot(found), "linked": false})));
        }
        Some(_) => {
            return Err(Error::Conflict {
                reason: format!("{id} is already linked to another CRM record; unlink it in SpotDraft first"),
            })
        }
        None if found.status == ContractStatus::Voided => {
            return Err(Error::Conflict { reason: format!("{id} is voided; there is nothing to link") });
        }
        None => {}
    }
    let slot = plugin.slot_of_contract(None, found.contract_type_id);
    let create_lock = relay.locks.lock(&format!("create:{key}:{slot}"), &*relay.transport).await?;
    let holder = crate::flows::contracts_by_external_id(&env.client, &key.to_string())
        .await?
        .into_iter()
        .map(|c| plugin.with_slot(c))
        .find(|c| c.status.is_live() && c.slot.as_deref() == Some(slot.as_str()));
    if let Some(holder) = holder {
        return Err(Error::Conflict {
            reason: format!(
                "this deal already has {} ({}) for that kind of contract; only one can be live",
                holder.name, holder.id
            ),
        });
    }
    let deal = super::api::crm_deal(relay, env, deal_id).await?;
    // The template whose slot it fills, when its contract type names exactly one.
    let template = plugin.templates.iter().map(|t| t.template_id).find(|t| plugin.slot_of_template(*t) == slot);
    let template = template.filter(|_| plugin.contracts_per_deal != crate::slots::ContractsPerDeal::One);
    let metadata = crate::mapping::external_metadata(plugin, &deal, template);
    super::webhooks::fence(relay, &create_lock).await?;
    env.client.set_external_metadata(id, &metadata).await?;
    let _ = super::contract_cache::changed(relay, env, deal_id).await;
    let mut contract = plugin.with_slot(found);
    contract.external_id = Some(key.to_string());
    contract.template_id = template;
    let synced = if contract.slot.as_deref() == Some(plugin.record_slot().as_str()) {
        super::api::write_through(relay, env, deal_id, &contract).await.is_ok()
    } else {
        true
    };
    Ok((201, json!({"contract": contract, "linked": true, "crmSynced": synced})))
}
