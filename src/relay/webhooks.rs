//! SpotDraft webhook deliveries → the CRM record.
//!
//! Order of work: size check, signature on the raw bytes, parse, ownership (this integration's
//! record, this CRM account, this environment), then a serialised read-decide-write on the record.
//! Anything not ours is acknowledged (2xx) and logged so SpotDraft does not disable the
//! subscription over it; a failed CRM write answers 5xx and leaves repair to reconciliation.

use serde_json::{json, Value};

use super::{EnvironmentRuntime, Relay, RelayRequest, RelayResponse};
use crate::crm::{self, ContractFields, CrmPatch};
use crate::error::Result;
use crate::flows;
use crate::sync::{self, Decision, Observation};
use crate::transport::Transport;
use crate::webhook::{self, Activity};

fn note(log: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = log {
        map.insert(key.into(), value);
    }
}

pub(super) async fn receive<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
    mut log: Value,
) -> RelayResponse {
    if request.body.len() > webhook::MAX_BODY_BYTES {
        return RelayResponse::plain_error(413, "too_large", "webhook bodies are at most 256 KiB", log);
    }
    if let Err(error) = env.config.webhook_key.verify(&request.body, request.header(webhook::SIGNATURE_HEADER)) {
        return RelayResponse::error(&error, log);
    }
    let event = match webhook::parse_event(&request.body) {
        Ok(event) => event,
        Err(error) => return RelayResponse::error(&error, log),
    };
    note(
        &mut log,
        "event",
        json!({"activity": event.activity.as_str(), "contract": event.contract_id, "dedupe": event.dedupe_key}),
    );
    let ignore = |reason: &str, mut log: Value| {
        note(&mut log, "outcome", json!(format!("ignored: {reason}")));
        RelayResponse::json(200, &json!({"outcome": "ignored", "reason": reason}), log)
    };
    let key_terms_only = Activity::KEY_POINTER_ACTIVITIES.contains(&event.activity.as_str());
    let approvals_only = Activity::APPROVAL_ACTIVITIES.contains(&event.activity.as_str());
    if !key_terms_only && !approvals_only && !Activity::STATUS_ACTIVITIES.contains(&event.activity.as_str()) {
        return ignore("the activity changes neither a contract's status, its approvals nor its key terms", log);
    }
    if key_terms_only && env.config.key_terms.is_empty() {
        return ignore("no key terms are configured", log);
    }
    let plugin = &env.plugin();
    let Some(record) = &event.record else {
        return ignore("the contract is not linked to a record of this integration", log);
    };
    // Exact ownership: this plugin's name, this CRM account, the configured deal object, and this
    // environment spelled exactly as the plugin writes it. Anything else is acknowledged and ignored.
    if event.integration_name.as_deref() != Some(crate::mapping::INTEGRATION_NAME) {
        return ignore("the contract was linked by another integration", log);
    }
    if record.crm != plugin.crm.host || record.tenant != plugin.crm.account_id {
        return ignore("the contract belongs to another CRM account", log);
    }
    if record.object != plugin.crm.host.deal_object() {
        return ignore("the contract is linked to another kind of CRM record than a deal", log);
    }
    if event.environment_text.as_deref() != Some(env.config.environment.as_str()) {
        return ignore("the contract belongs to another environment", log);
    }
    // Keyed by environment too: the same contract number exists in both workspaces.
    let applied_key = format!("applied:{}:{}", env.config.environment.as_str(), event.dedupe_key);
    match relay.state.recalls(&applied_key, relay.now_ms()).await {
        Ok(true) => return ignore("this delivery was already applied", log),
        Ok(false) => {}
        Err(error) => return unavailable(&error, log),
    }
    // SpotDraft says this deal's contract changed: what sidebars are answered from is behind.
    if let Err(error) = super::contract_cache::changed(relay, env, &record.id).await {
        return unavailable(&error, log);
    }
    // The timeline tells every contract of the deal, whichever the record's fields show.
    let link = flows::deep_link(None, event.contract_id.number);
    if let Some(entry) = crate::timeline::entry(&event, env.config.environment, Some(link.clone())) {
        match super::timeline::add(relay, env, &record.id, &entry).await {
            Ok(added) => note(&mut log, "timelineAdded", json!(added)),
            Err(error) => return unavailable(&error, log),
        }
    }
    if approvals_only {
        // Told on the timeline above; the record's fields do not show approvals.
        if let Err(error) = relay.state.remember(&applied_key, super::APPLIED_TTL_MS, relay.now_ms()).await {
            return unavailable(&error, log);
        }
        return ignore("an approval changed: told on the timeline, the record's fields are unchanged", log);
    }
    // A deal may hold several contracts (`crate::slots`); its record's fields show one slot's.
    if plugin.slot_of_contract(event.template_id, event.contract_type_id) != plugin.record_slot() {
        if let Err(response) = attach_when_executed(relay, env, &record.id, &event, &mut log).await {
            return response;
        }
        return ignore("the record shows another of the deal's contracts (recordFollows)", log);
    }
    let observation = Observation {
        contract: event.contract_id,
        status: event.contract_status.clone(),
        at_micros: event.occurred_at_micros,
        link,
    };
    let decision = if key_terms_only {
        json!({"outcome": "keyTerms"})
    } else {
        match apply_to_record(relay, env, &record.id, &observation, Source::Activity).await {
            Ok(decision) => json!(decision),
            Err(error) => return unavailable(&error, log),
        }
    };
    // Key terms after the status (the record then shows the executed contract), before the delivery
    // is remembered: a failure here is retried by SpotDraft's redelivery.
    if key_terms_only || event.contract_status == crate::model::ContractStatus::Executed {
        match super::terms::sync(relay, env, &record.id, event.contract_id).await {
            Ok(written) => note(&mut log, "keyTermsWritten", json!(written)),
            Err(error) => return unavailable(&error, log),
        }
    }
    if let Err(response) = attach_when_executed(relay, env, &record.id, &event, &mut log).await {
        return response;
    }
    // Applied; a store that fails to remember it only costs a redelivery a CRM read.
    if let Err(error) = relay.state.remember(&applied_key, super::APPLIED_TTL_MS, relay.now_ms()).await {
        note(&mut log, "rememberFailed", json!(error.to_string()));
    }
    note(&mut log, "outcome", decision.clone());
    RelayResponse::json(200, &decision, log)
}

/// The signed PDF onto the deal when the delivery says executed. A document over the size limit is
/// noted in the log and left (SpotDraft's redelivery would not make it smaller); any other failure
/// answers 503 so the delivery comes again.
async fn attach_when_executed<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    event: &webhook::WebhookEvent,
    log: &mut Value,
) -> std::result::Result<(), RelayResponse> {
    if event.activity.as_str() != Activity::EXECUTED {
        return Ok(());
    }
    match super::documents::attach_signed(relay, env, deal_id, event.contract_id, event.contract_title.as_deref()).await
    {
        Ok(outcome) => {
            note(log, "signedPdf", json!(outcome));
            Ok(())
        }
        Err(error @ crate::Error::Crm { status: 413, .. }) => {
            note(log, "signedPdfError", json!(error.to_string()));
            Ok(())
        }
        Err(error) => Err(unavailable(&error, log.clone())),
    }
}

/// The delivery was fine; the work failed. 503 tells the sender to try again later.
fn unavailable(error: &crate::Error, mut log: Value) -> RelayResponse {
    // What to fix, for the admin reading the log (a key term's value that the mapping cannot
    // convert names the key term and the value).
    if !error.problems().is_empty() {
        note(&mut log, "problems", json!(error.problems()));
    }
    let mut response = RelayResponse::error(error, log);
    if response.status < 500 {
        response.status = 503;
    }
    response
}

/// Where an observation comes from, which decides how it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// A SpotDraft activity (a webhook): its time is SpotDraft's; a change is confirmed by a fresh
    /// read first, because a delivery can be newer than the record yet older than the contract's state.
    Activity,
    /// What a SpotDraft answer said (a create or a lookup), stamped with a SpotDraft time of the
    /// contract's: ordered by it, never taken as an execution time.
    Read,
}

/// Reads the record's SpotDraft fields, decides, and writes only what changes, one at a time per
/// record.
pub(super) async fn apply_to_record<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    observation: &Observation,
    source: Source,
) -> Result<Decision> {
    let guard =
        relay.locks.lock(&format!("record:{}:{deal_id}", env.config.environment.as_str()), &*relay.transport).await?;
    let fields = read_fields(relay, env, deal_id).await?;
    let mut decision = match source {
        Source::Activity => sync::decide(&fields, observation),
        Source::Read => sync::decide_from_read(&fields, observation),
    };
    if source == Source::Activity && sync::needs_confirmation(&decision) {
        let current = env.client.contract_status(observation.contract).await?;
        decision = sync::decide_confirmed(&fields, observation, &current.contract_status);
    }
    if let Decision::Write { patch } = &decision {
        fence(relay, &guard).await?;
        write_fields(relay, env, deal_id, patch).await?;
    }
    Ok(decision)
}

/// Refuses a write whose record lock ran out of lease (its request was stalled long enough for
/// another to take the record over): nothing is written, and the sender's retry, or reconcile,
/// applies it under a fresh lock.
pub(super) async fn fence<T: Transport>(relay: &Relay<T>, guard: &super::keyed_lock::KeyGuard) -> Result<()> {
    if guard.renew(&*relay.transport).await? {
        return Ok(());
    }
    Err(crate::Error::Crm {
        status: 503,
        message: "the record's lock ran out before this write; nothing was written, and a retry applies it".into(),
    })
}

pub(super) async fn read_fields<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
) -> Result<ContractFields> {
    crm::read_fields(&*relay.transport, &env.config.crm, &env.config.crm_fields, deal_id).await
}

pub(super) async fn write_fields<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    patch: &CrmPatch,
) -> Result<()> {
    crm::write_fields(&*relay.transport, &env.config.crm, &env.config.crm_fields, deal_id, patch).await
}
