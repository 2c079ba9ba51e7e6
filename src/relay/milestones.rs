//! `POST /crm-events/{env}`: a CRM says deals changed (`crate::crm_events` verifies it and names
//! them); each deal is read from the CRM, and for every template that opts in with
//! `createAtStages` naming the deal's stage now, the deal's contract is created exactly as a
//! seller's Create would (`super::api::create_contract`: the same checks, lock per slot, lookup
//! before create and race settlement). So a duplicated, late or reordered event, a click at the
//! same moment or another instance handling the same event all end in one contract.
//!
//! A slot that already has a contract, live or voided, is left alone: someone decided about it.
//! When the mapping fails (a required field missing), nothing is created; the problem is kept in
//! the shared state and, with `crm.timeline` on, told once on the deal's timeline; the seller's
//! sidebar shows the same problems under Create. The CRM's next event about the deal (the fix is a
//! change too) tries again.

use serde::Serialize;
use serde_json::{json, Value};

use super::audit::{Entry, Requester};
use super::{EnvironmentRuntime, Relay, RelayRequest, RelayResponse};
use crate::crm::record_notes::Note;
use crate::crm_events::{self, EventCall, EventKeys};
use crate::error::{Error, Result};
use crate::model::ContractStatus;
use crate::transport::Transport;

/// A HubSpot batch of 100 events is about 30 KB.
const MAX_EVENT_BODY_BYTES: usize = 512 * 1024;
/// How long a deal's unresolved milestone problem is remembered (for its timeline note).
const PROBLEM_TTL_MS: u64 = 30 * 24 * 3600 * 1000;

/// What a milestone did for one deal.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct DealOutcome {
    deal: String,
    /// The deal's stage, read from the CRM.
    stage: Option<String>,
    /// Contracts created now.
    created: Vec<String>,
    /// Templates whose slot already had a contract (the one created earlier, by a click or an
    /// earlier event, or one someone voided).
    already: Vec<String>,
    /// Per template, why it could not be created.
    problems: Vec<TemplateProblem>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateProblem {
    template_id: u64,
    label: String,
    problems: Vec<String>,
}

pub(super) async fn receive<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    request: &RelayRequest,
    mut log: Value,
) -> RelayResponse {
    if request.body.len() > MAX_EVENT_BODY_BYTES {
        return RelayResponse::plain_error(413, "too_large", "the event body is too large", log);
    }
    let config = &env.config;
    let host_key = |host: &str| super::host_key(config, host);
    let keys = EventKeys {
        hubspot_client_secret: config.hubspot_client_secret.as_deref(),
        pipedrive: config.pipedrive_events.as_ref(),
        host_key: &host_key,
    };
    let header = |name: &str| request.header(name);
    let call = EventCall { method: &request.method, url: &request.url, body: &request.body, header: &header };
    // The setup in effect (an admin may have added createAtStages in the console since the start).
    let plugin = env.plugin();
    let changed = match crm_events::changed_deals(plugin.crm.host, &plugin.crm.account_id, &call, &keys, relay.now_ms())
    {
        Ok(changed) => changed,
        Err(error) => return RelayResponse::error(&error, log),
    };
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    let mut retry = false;
    // Nothing to do unless some template creates at a milestone: the deals are not even read.
    if plugin.templates.iter().any(|t| !t.create_at_stages.is_empty()) {
        for deal in &changed.deal_ids {
            match at_milestone(relay, env, deal).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    retry |= error.is_transient();
                    failed.push(json!({"deal": deal, "code": error.code(), "error": error.to_string()}));
                }
            }
        }
    }
    if let Value::Object(map) = &mut log {
        map.insert("deals".into(), json!(changed.deal_ids.len()));
        map.insert("skippedEvents".into(), json!(changed.skipped));
        let created: usize = outcomes.iter().map(|o| o.created.len()).sum();
        map.insert("created".into(), json!(created));
        if !failed.is_empty() {
            map.insert("failed".into(), json!(failed));
        }
    }
    let body = json!({"deals": outcomes, "skippedEvents": changed.skipped, "failed": failed});
    // A deal that could not be looked at for a passing reason (the CRM or SpotDraft down, rate
    // limits) is asked for again: the CRM redelivers the whole call, and the deals done already cost
    // a lookup each. A refusal that a redelivery would only repeat is answered, and logged.
    let status = if retry { 503 } else { 200 };
    RelayResponse::json(status, &body, log)
}

async fn at_milestone<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
) -> Result<DealOutcome> {
    let plugin = &env.plugin();
    let mut outcome = DealOutcome { deal: deal_id.to_string(), ..DealOutcome::default() };
    let deal = match super::api::crm_deal(relay, env, deal_id).await {
        Ok(deal) => deal,
        // Deleted since (or never visible to the integration user): nothing to create.
        Err(Error::Crm { status: 404, .. }) => return Ok(outcome),
        Err(error) => return Err(error),
    };
    outcome.stage = deal.stage.clone();
    let Some(stage) = deal.stage.as_deref() else { return Ok(outcome) };
    let due: Vec<_> = plugin.templates.iter().filter(|t| t.create_at_stages.iter().any(|s| s == stage)).collect();
    if due.is_empty() {
        return Ok(outcome);
    }
    let key = super::api::record_key(env, deal_id)?;
    let existing: Vec<_> = crate::flows::contracts_by_external_id(&env.client, &key.to_string())
        .await?
        .into_iter()
        .map(|c| plugin.with_slot(c))
        .collect();
    for template in due {
        let slot = plugin.slot_of_template(template.template_id);
        if let Some(contract) = existing.iter().find(|c| c.slot.as_deref() == Some(slot.as_str())) {
            let voided = if contract.status == ContractStatus::Voided { " (voided)" } else { "" };
            outcome.already.push(format!("{}{voided}", contract.id));
            continue;
        }
        let requester =
            Requester { host: plugin.crm.host.as_str().to_string(), user: None, email: None, via: "milestone" };
        let created = super::api::create_contract(relay, env, deal_id, template.template_id, &requester).await;
        audit(relay, env, deal_id, template.template_id, requester, &created).await;
        match created {
            Ok((created, _synced)) => {
                let id = created.contract.id.to_string();
                if created.created {
                    outcome.created.push(id);
                } else {
                    outcome.already.push(id);
                }
                forget_problem(relay, env, deal_id, template.template_id).await?;
            }
            Err(Error::MappingFailed(problems)) => {
                let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
                tell_problem(relay, env, deal_id, template, stage, &problems).await?;
                outcome.problems.push(TemplateProblem {
                    template_id: template.template_id,
                    label: template.label.clone(),
                    problems,
                });
            }
            Err(Error::StageNotAllowed { .. }) => {
                // Moved on between the read above and the create's own read under the lock.
            }
            Err(error) => return Err(error),
        }
    }
    Ok(outcome)
}

/// One audit entry per attempt that reached a create (a slot already filled is not an action).
async fn audit<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    template_id: u64,
    requested_by: Requester,
    created: &Result<(crate::flows::CreateOutcome, std::result::Result<(), String>)>,
) {
    let (contract, outcome, status) = match created {
        Ok((created, _)) => {
            (Some(created.contract.id.to_string()), "ok".to_string(), if created.created { 201 } else { 200 })
        }
        Err(error) => (None, error.code().to_string(), super::http_status(error)),
    };
    let entry = Entry {
        at: super::audit::timestamp(relay.now_ms()),
        environment: env.config.environment.as_str().to_string(),
        action: "milestoneCreate",
        deal: deal_id.to_string(),
        contract,
        template_id: Some(template_id),
        requested_by,
        acting_as: None,
        outcome,
        status,
    };
    super::audit::record(relay, &entry, &mut serde_json::Value::Null).await;
}

fn problem_key<T: Transport>(env: &EnvironmentRuntime<T>, deal_id: &str, template_id: u64) -> String {
    format!("milestone:{}:{deal_id}:{template_id}", env.config.environment.as_str())
}

async fn forget_problem<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    template_id: u64,
) -> Result<()> {
    let key = problem_key(env, deal_id, template_id);
    if relay.state.get(&key, relay.now_ms()).await?.is_some() {
        // Kept for a millisecond: the store has no delete, and an empty value reads as "none".
        relay.state.put(&key, String::new(), 1, relay.now_ms()).await?;
    }
    Ok(())
}

/// Remembers the problem and, the first time this exact problem is seen for the deal, tells it on
/// the deal's timeline (when `crm.timeline` is on): the record shows why no contract came.
async fn tell_problem<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    template: &crate::config::TemplateConfig,
    stage: &str,
    problems: &[String],
) -> Result<()> {
    let key = problem_key(env, deal_id, template.template_id);
    let text = problems.join("; ");
    let now = relay.now_ms();
    if relay.state.get(&key, now).await?.as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    relay.state.put(&key, text.clone(), PROBLEM_TTL_MS, now).await?;
    let plugin = &env.plugin();
    let note = Note {
        title: format!("{} was not created at {}", template.label, plugin.stage_label(stage)),
        lines: problems
            .iter()
            .map(|p| format!("- {p}"))
            .chain(std::iter::once("Fix the deal: its next change tries again.".to_string()))
            .collect(),
        link: None,
        at_ms: i64::try_from(now).unwrap_or(i64::MAX),
        reference: milestone_reference(env, deal_id, template.template_id, &text),
    };
    super::timeline::add(relay, env, deal_id, &note).await.map(|_| ())
}

/// One timeline entry per deal, template and set of problems.
fn milestone_reference<T: Transport>(
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    template_id: u64,
    text: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}/milestone/{deal_id}/{template_id}/{short}", env.config.environment.as_str())
}
