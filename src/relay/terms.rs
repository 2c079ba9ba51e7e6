//! Key terms on the record (`crate::key_terms`): the values of the contract the CRM record shows,
//! read fresh from SpotDraft under the record's lock and written where they differ. Run when a
//! contract is executed, on SpotDraft's key-pointer activities, and by reconcile.

use super::{EnvironmentRuntime, Relay};
use crate::error::Result;
use crate::model::ContractId;
use crate::transport::Transport;

/// Brings the record's key-term fields in line with SpotDraft; how many fields were written.
/// Nothing is written for a contract the record does not show (another slot's, or an older one).
pub(super) async fn sync<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    contract: ContractId,
) -> Result<usize> {
    let terms = &env.config.key_terms;
    if terms.is_empty() {
        return Ok(0);
    }
    let guard =
        relay.locks.lock(&format!("record:{}:{deal_id}", env.config.environment.as_str()), &*relay.transport).await?;
    let shown = super::webhooks::read_fields(relay, env, deal_id).await?;
    if shown.contract_id.as_deref().and_then(ContractId::parse) != Some(contract) {
        return Ok(0);
    }
    let values = env.client.contract_key_pointers(contract).await?;
    let names: Vec<String> = terms.iter().map(|t| t.field.clone()).collect();
    let current = crate::crm::read_values(&*relay.transport, &env.config.crm, deal_id, &names).await?;
    let writes = crate::key_terms::plan(terms, &values, &current)?;
    if writes.is_empty() {
        return Ok(0);
    }
    let host = env.config.crm.host;
    let typed: Vec<(String, serde_json::Value)> =
        writes.iter().map(|w| (w.field.clone(), crate::crm::typed_value(host, &w.text, w.numeric))).collect();
    super::webhooks::fence(relay, &guard).await?;
    crate::crm::write_values(&*relay.transport, &env.config.crm, deal_id, &typed).await?;
    Ok(writes.len())
}
