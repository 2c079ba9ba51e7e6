//! The sidebar's API: everything a seller's clicks need, for the one record the caller is bound to.
//!
//! `GET  /api/{env}/config`                                  what the sidebar offers (no secrets)
//! `GET  /api/{env}/deals/{deal}`                            the deal, read from the CRM (hosts without record data)
//! `GET  /api/{env}/deals/{deal}/sidebar`                    a sidebar's first view in one round trip
//! `POST /api/{env}/deals/{deal}/session`                    HubSpot card → a session token for the full sidebar
//! `POST /api/{env}/deals/{deal}/card`                       {cardId, event} → the sidebar run here for a card
//! `GET  /api/{env}/deals/{deal}/contracts`                  the deal's contracts, newest first
//! `POST /api/{env}/deals/{deal}/preview`                    {templateId} → what create would send
//! `POST /api/{env}/deals/{deal}/contracts`                  {templateId} → the deal's contract (never two)
//! `GET  /api/{env}/deals/{deal}/contracts/{id}/status`      current status
//! `POST /api/{env}/deals/{deal}/contracts/{id}/download-link`  a fresh signed URL
//! `POST /api/{env}/deals/{deal}/contracts/{id}/send`        send to the counterparty for review
//!
//! Nothing else is proxied. Contract routes check the contract belongs to the deal first. Preview
//! and create read the deal from the CRM, the system of record: whatever deal a browser sends is
//! ignored, so the stage gate and every mapped value come from the CRM.

use serde_json::{json, Value};

use super::audit::Requester;
use super::{contract_cache, EnvironmentRuntime, Proof, Relay, RelayRequest, RelayResponse, Verified, METADATA_TTL_MS};
use crate::auth::Caller;
use crate::deal::Deal;
use crate::error::{Error, Result};
use crate::flows::{self, CreateOutcome, SendOptions};
use crate::mapping;
use crate::model::{ContractId, ContractSummary, CrmHost, RecordKey};
use crate::spotdraft::types::TemplateMetadata;
use crate::sync::Observation;
use crate::time;
use crate::transport::Transport;

pub(super) async fn route<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    verified: &Verified,
    method: &str,
    rest: &[&str],
    request: &RelayRequest,
    mut log: Value,
) -> RelayResponse {
    if let Value::Object(map) = &mut log {
        let caller = &verified.caller;
        map.insert("caller".into(), json!({"host": caller.host, "tenant": caller.tenant, "record": caller.record}));
    }
    if let ["deals", deal, ..] = rest {
        if let Err(error) = check_visible(relay, env, &verified.caller, deal).await {
            return RelayResponse::error(&error, log);
        }
    }
    // Routes that reach SpotDraft wait for the caller's fair share of the workspace's allowance; a
    // contract list waits only when it is not answered from what the relay knows.
    let listing = method == "GET" && matches!(rest, ["deals", _, "contracts"]);
    if let ["deals", deal, "contracts" | "preview" | "linkable" | "links", ..] = rest {
        if !listing {
            if let Err(error) = fair_share(relay, env, &verified.caller, deal).await {
                return RelayResponse::error(&error, log);
            }
        }
    }
    let outcome: Result<(u16, Value)> = match (method, rest) {
        ("GET", ["config"]) => Ok((200, sidebar_config(env))),
        ("GET", ["deals", deal]) => crm_deal(relay, env, deal).await.map(|deal| (200, json!(deal))),
        ("GET", ["deals", deal, "sidebar"]) => Ok((200, first_view(relay, env, &verified.caller, deal).await)),
        ("POST", ["deals", deal, "session"]) => {
            hubspot_session(relay, env, &verified.caller, verified.proof, deal).map(|session| (200, session))
        }
        ("POST", ["deals", deal, "card"]) => {
            let (answer, calls) = super::card::answer(relay, env, verified, deal, request).await;
            if let Value::Object(map) = &mut log {
                map.insert("calls".into(), Value::Array(calls));
            }
            answer.map(|output| (200, output))
        }
        ("GET", ["deals", deal, "contracts"]) => {
            contracts_with_record_times(relay, env, &verified.caller, deal).await.map(|list| (200, json!(list)))
        }
        #[cfg(feature = "link")]
        ("GET", ["deals", deal, "linkable"]) => {
            super::link::search(env, deal, request).await.map(|found| (200, json!(found)))
        }
        #[cfg(feature = "link")]
        ("POST", ["deals", deal, "links"]) => super::link::link(relay, env, deal, request).await,
        ("POST", ["deals", deal, "preview"]) => preview(relay, env, deal, request).await.map(|p| (200, p)),
        ("POST", ["deals", deal, "contracts"]) => {
            let asker = requester(relay, env, verified).await;
            let created = create(relay, env, deal, request, &asker).await;
            // Whatever happened, what the relay knew of the deal's contracts may be out of date.
            let _ = contract_cache::changed(relay, env, deal).await;
            created.map(|(status, body, crm_error)| {
                // The admin's clue when the record did not show the new contract at once (the
                // CRM's own words; no secrets or signed URLs reach them).
                if let (Some(message), Value::Object(map)) = (crm_error, &mut log) {
                    map.insert("crmWriteError".into(), Value::String(message));
                }
                (status, body)
            })
        }
        ("GET", ["deals", deal, "contracts", id, "status"]) => {
            owned(env, deal, id).await.map(|contract| (200, json!(status_of(relay, &contract))))
        }
        ("POST", ["deals", deal, "contracts", id, "download-link"]) => match owned(env, deal, id).await {
            Ok(contract) => download_link(env, contract.id).await.map(|link| (200, json!(link))),
            Err(error) => Err(error),
        },
        ("GET", ["deals", deal, "contracts", id, "approvals"]) => match owned(env, deal, id).await {
            Ok(contract) => approvals_of(env, &contract).await.map(|view| (200, json!(view))),
            Err(error) => Err(error),
        },
        ("POST", ["deals", deal, "contracts", id, "approvals"]) => match owned(env, deal, id).await {
            Ok(contract) => request_approvals(relay, env, verified, &contract).await.map(|view| (201, json!(view))),
            Err(error) => Err(error),
        },
        ("POST", ["deals", deal, "contracts", id, "send"]) => match (owned(env, deal, id).await, send_options(request))
        {
            (Ok(contract), Ok(mut options)) => {
                let sent = match actor_for(relay, env, &requester(relay, env, verified).await).await {
                    Ok(actor) => {
                        options.acting_as = actor.acting_as;
                        flows::send_to_counterparty(&env.client, contract.id, &options).await
                    }
                    Err(error) => Err(error),
                };
                let _ = contract_cache::changed(relay, env, deal).await;
                sent.map(|report| (200, json!(report)))
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        },
        _ => return RelayResponse::plain_error(404, "not_found", "no such route", log),
    };
    if let Some(action) = audited_action(method, rest) {
        audit_route(relay, env, verified, action, rest, request, &outcome, &mut log).await;
    }
    match outcome {
        Ok((status, body)) => RelayResponse::json(status, &body, log),
        Err(error) => RelayResponse::error(&error, log),
    }
}

/// The routes that act for the caller, by the name the audit log gives them.
fn audited_action(method: &str, rest: &[&str]) -> Option<&'static str> {
    match (method, rest) {
        ("POST", ["deals", _, "contracts"]) => Some("create"),
        ("POST", ["deals", _, "links"]) => Some("link"),
        ("POST", ["deals", _, "contracts", _, "send"]) => Some("send"),
        ("POST", ["deals", _, "contracts", _, "download-link"]) => Some("downloadLink"),
        ("POST", ["deals", _, "contracts", _, "approvals"]) => Some("requestApprovals"),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn audit_route<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    verified: &Verified,
    action: &'static str,
    rest: &[&str],
    request: &RelayRequest,
    outcome: &Result<(u16, Value)>,
    log: &mut Value,
) {
    let deal = rest.get(1).copied().unwrap_or_default().to_string();
    let body = outcome.as_ref().ok().map(|(_, body)| body);
    // The contract acted on: in the path, or the one a create or link answered with.
    let contract = rest
        .get(3)
        .map(|id| (*id).to_string())
        .or_else(|| body.and_then(|b| b.pointer("/contract/id")).and_then(Value::as_str).map(str::to_string));
    let template_id = (action == "create").then(|| template_of(request).ok()).flatten();
    let requested_by = requester(relay, env, verified).await;
    // As whom SpotDraft was asked (the seller when a SpotDraft user: `actor_for`), for what it did.
    let acting_as = match (action, &requested_by.email, outcome.is_ok()) {
        ("create" | "send" | "requestApprovals", Some(email), true) => {
            let key = format!("sduser:{}:{}", env.config.environment.as_str(), email.trim().to_ascii_lowercase());
            let known = relay.state.get(&key, relay.now_ms()).await.ok().flatten();
            (known.as_deref() == Some("1")).then(|| email.clone())
        }
        _ => None,
    };
    let (outcome_code, status) = match outcome {
        Ok((status, _)) => ("ok".to_string(), *status),
        Err(error) => (error.code().to_string(), super::http_status(error)),
    };
    let entry = super::audit::Entry {
        at: super::audit::timestamp(relay.now_ms()),
        environment: env.config.environment.as_str().to_string(),
        action,
        deal,
        contract,
        template_id,
        requested_by,
        acting_as,
        outcome: outcome_code,
        status,
    };
    super::audit::record(relay, &entry, log).await;
}

/// Waits for the caller's (deal and user) share of the workspace's SpotDraft allowance, kept in the
/// shared state so a caller gets no more by reaching several instances.
async fn fair_share<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    caller: &Caller,
    deal_id: &str,
) -> Result<()> {
    let user = caller.user.as_deref().unwrap_or("");
    let key = format!("caller:{}:{deal_id} {user}", env.config.environment.as_str());
    let wait = relay.state.reserve(&key, super::CALLS_PER_CALLER, super::CALLER_WINDOW_MS, relay.now_ms()).await?;
    if wait > 0 {
        relay.transport.sleep(wait).await;
    }
    Ok(())
}

/// The relay acts only on deals the calling user may see in the CRM, asked of the CRM itself
/// (`crm::user_can_see_deal`): Pipedrive's signed token names a user of the company and no deal;
/// Salesforce's Apex minter checks record access before it mints, and the relay asks again, so a
/// changed sharing rule or a modified minter cannot widen access; Zoho's functions run with the org's
/// rights whoever calls them, so the minter's token names the user and the relay checks Zoho's sharing
/// model. A HubSpot signature proves the portal and user the card runs for, no more (see the README).
/// A yes is remembered for a minute.
async fn check_visible<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    caller: &Caller,
    deal_id: &str,
) -> Result<()> {
    let host = env.plugin().crm.host;
    let asks = !matches!(host, crate::model::CrmHost::Hubspot);
    if !asks || caller.host != host.as_str() {
        return Ok(());
    }
    let user = caller.user.clone().ok_or_else(|| Error::Unauthorized {
        reason: format!("the {} session names no user, so access to the deal can't be checked", host.display_name()),
    })?;
    let key = format!("{deal_id} {user}");
    let now = relay.now_ms();
    if env.visible_to.borrow().contains(&key, now) {
        return Ok(());
    }
    if !crate::crm::user_can_see_deal(&*relay.transport, &env.config.crm, deal_id, &user).await? {
        return Err(Error::Forbidden {
            reason: format!("{} says user {user} may not see deal {deal_id}", host.display_name()),
        });
    }
    env.visible_to.borrow_mut().insert(key, now.saturating_add(super::VISIBILITY_TTL_MS), now);
    Ok(())
}

/// The parts of the plugin configuration a sidebar needs; nothing secret.
fn sidebar_config<T: Transport>(env: &EnvironmentRuntime<T>) -> Value {
    let plugin = &env.plugin();
    let config = crate::sidebar::SidebarConfig {
        environment: plugin.environment,
        creation_stages: plugin.creation_stages.clone(),
        stage_labels: crate::shell_types::StageLabels(
            plugin.stage_labels.iter().map(|(stage, label)| (stage.clone(), label.clone())).collect(),
        ),
        templates: plugin
            .templates
            .iter()
            .map(|t| crate::sidebar::TemplateChoice {
                template_id: t.template_id,
                label: t.label.clone(),
                slot: Some(plugin.slot_of_template(t.template_id)),
            })
            .collect(),
        // The sidebar opens a download only on these origins (checked again there).
        download_origins: env.config.download_origins.clone(),
    };
    crate::json_output::ToJson::to_json(&config)
}

/// A fresh signed URL, handed out only when it points to an expected document host: the relay never
/// passes a browser on to wherever an answer says (no open redirect). The URL itself is never logged.
async fn download_link<T: Transport>(env: &EnvironmentRuntime<T>, id: ContractId) -> Result<flows::DownloadLink> {
    let mut link = flows::download_link(&env.client, id).await?;
    if let Some(url) = crate::url::allowed_document_url(&link.url, &env.config.download_origins) {
        link.url = url;
        return Ok(link);
    }
    let host = crate::url::parse(&link.url).map_or_else(|| "an unparsable URL".to_string(), |u| u.origin());
    Err(Error::BadResponse {
        status: 200,
        reason: format!(
            "the download URL points to {host}, which is not one of the configured download origins (spotdraft.downloadOrigins)"
        ),
    })
}

pub(super) fn record_key<T: Transport>(env: &EnvironmentRuntime<T>, deal_id: &str) -> Result<RecordKey> {
    if !crate::model::is_valid_crm_id(deal_id) {
        return Err(Error::invalid_input("dealId", format!("\"{deal_id}\" is not a CRM record id")));
    }
    let plugin = &env.plugin();
    Ok(RecordKey::for_deal(plugin.crm.host, &plugin.crm.account_id, deal_id))
}

/// The deal's contracts, newest first, each with the slot it fills.
async fn contracts<T: Transport>(env: &EnvironmentRuntime<T>, deal_id: &str) -> Result<Vec<ContractSummary>> {
    let plugin = &env.plugin();
    let list = flows::contracts_for_deal(&env.client, plugin, deal_id).await?;
    Ok(list.into_iter().map(|c| plugin.with_slot(c)).collect())
}

/// The deal's contracts with the times the CRM record holds for the one it shows (when its status
/// became true, when it was executed: SpotDraft's activity times, which its contract records lack),
/// so a seller reads "executed 3 days ago" rather than when the contract was created. The times are
/// a courtesy: when the CRM can't be read the list is answered without them.
///
/// Answered from what the relay knows when it may be (`contract_cache`): opening or refreshing a
/// sidebar then costs neither a SpotDraft nor a CRM request.
async fn contracts_with_record_times<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    caller: &Caller,
    deal_id: &str,
) -> Result<Vec<ContractSummary>> {
    if let Some(list) = contract_cache::cached(relay, env, deal_id).await? {
        return Ok(list);
    }
    fair_share(relay, env, caller, deal_id).await?;
    let read_at = relay.now_ms();
    let list = read_with_record_times(relay, env, deal_id).await?;
    Ok(contract_cache::store(relay, env, deal_id, list, read_at).await)
}

async fn read_with_record_times<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
) -> Result<Vec<ContractSummary>> {
    let mut list = contracts(env, deal_id).await?;
    if list.is_empty() {
        return Ok(list);
    }
    if let Ok(fields) = super::webhooks::read_fields(relay, env, deal_id).await {
        let shown = list.iter_mut().find(|c| fields.contract_id.as_deref() == Some(c.id.to_string().as_str()));
        if let Some(contract) = shown {
            // A record that shows another status is behind; its time would belong to that status.
            if fields.status.as_deref() == Some(contract.status.as_str()) {
                contract.status_at = fields.status_at.filter(|t| time::parse_timestamp(t).is_some());
            }
            if contract.status == crate::model::ContractStatus::Executed {
                contract.executed_at = fields.executed_at.filter(|t| time::parse_timestamp(t).is_some());
            }
        }
    }
    Ok(list)
}

/// The canonical deal read from the CRM: what preview and create map and gate on, and what sidebars
/// whose host gives no record data (Pipedrive panels, HubSpot's modal) show. Only the properties the
/// mappings use are read.
pub(super) async fn crm_deal<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
) -> Result<Deal> {
    record_key(env, deal_id)?;
    let custom: Vec<String> = env
        .config
        .plugin
        .templates
        .iter()
        .flat_map(|t| t.fields.iter())
        .filter_map(|f| match &f.source {
            crate::config::FieldSource::Custom(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let value = crate::crm::read_deal(&*relay.transport, &env.config.crm, deal_id, &custom).await?;
    Deal::from_json(&value)
}

/// Everything a sidebar's first view needs, in one round trip: the configuration, the CRM's deal,
/// the deal's contracts and, when the plugin has one template (which the sidebar then selects), its
/// preview. Each part is `{"ok": …}` or its own error envelope, so one failed part never hides the
/// others; the deal and the contracts are read at the same time.
async fn first_view<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    caller: &Caller,
    deal_id: &str,
) -> Value {
    let (deal, contracts) =
        both(crm_deal(relay, env, deal_id), contracts_with_record_times(relay, env, caller, deal_id)).await;
    let preview = match (env.plugin().templates.as_slice(), &deal) {
        ([only], Ok(deal)) => {
            let previewed = match fair_share(relay, env, caller, deal_id).await {
                Ok(()) => preview_of(env, only, deal).await,
                Err(error) => Err(error),
            };
            let mut part = answer_part(previewed);
            if let Value::Object(map) = &mut part {
                map.insert("templateId".into(), only.template_id.into());
            }
            part
        }
        _ => Value::Null,
    };
    json!({
        "config": answer_part(Ok(sidebar_config(env))),
        "deal": answer_part(deal),
        "contracts": answer_part(contracts),
        "preview": preview,
    })
}

/// A part of an answer that carries several: `{"ok": value}` or `{"error": …}`, the same envelope
/// as a failed answer's body.
fn answer_part(outcome: Result<impl serde::Serialize>) -> Value {
    match outcome {
        Ok(value) => json!({"ok": value}),
        Err(error) => super::error_envelope(&error),
    }
}

/// Runs two futures at the same time (the relay's I/O interleaves; nothing here needs threads).
async fn both<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut first, mut second) = (None, None);
    std::future::poll_fn(move |context| {
        if first.is_none() {
            if let std::task::Poll::Ready(value) = a.as_mut().poll(context) {
                first = Some(value);
            }
        }
        if second.is_none() {
            if let std::task::Poll::Ready(value) = b.as_mut().poll(context) {
                second = Some(value);
            }
        }
        match (first.take(), second.take()) {
            (Some(a), Some(b)) => std::task::Poll::Ready((a, b)),
            (a, b) => {
                (first, second) = (a, b);
                std::task::Poll::Pending
            }
        }
    })
    .await
}

/// HubSpot's app card runs in HubSpot's worker and opens the full sidebar in an iframe modal, which
/// has no way to receive a session from the card except its URL. The card (verified by its request
/// signature) asks here for a short-lived token bound to its deal and puts it in the URL fragment.
/// Only HubSpot's signature can start a session: a token, this relay's own included, cannot mint the
/// next one, so a session never outlives the host proof it came from.
fn hubspot_session<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    caller: &Caller,
    proof: Proof,
    deal_id: &str,
) -> Result<Value> {
    if caller.host != "hubspot" || proof != Proof::HubspotSignature {
        return Err(Error::Unauthorized {
            reason: "a session is started only by a request HubSpot signed (the app card), never by a token".into(),
        });
    }
    let secret = env
        .config
        .host_secrets
        .get("hubspot")
        .ok_or_else(|| Error::Unauthorized { reason: "no hubspot host secret is configured".into() })?;
    const TTL_SECONDS: u64 = 600;
    let now = relay.now_ms() / 1000;
    let bound = Caller { record: deal_id.to_string(), expires_at: None, ..caller.clone() };
    let token = crate::auth::mint_token(secret, &bound, now, TTL_SECONDS)?;
    Ok(json!({"token": token, "expiresAt": now + TTL_SECONDS}))
}

/// The contract, if it is one of this deal's; a contract of another deal is "not found".
async fn owned<T: Transport>(env: &EnvironmentRuntime<T>, deal_id: &str, contract_id: &str) -> Result<ContractSummary> {
    let id = ContractId::parse(contract_id).ok_or_else(|| {
        Error::invalid_input("contractId", format!("\"{contract_id}\" is not a contract id such as T-123"))
    })?;
    let list = contracts(env, deal_id).await?;
    list.into_iter().find(|c| c.id == id).ok_or_else(|| {
        Error::SpotDraft(crate::error::ApiError {
            status: 404,
            code: None,
            message: format!("{id} is not a contract of this deal"),
            field_errors: Vec::new(),
        })
    })
}

fn status_of<T: Transport>(relay: &Relay<T>, contract: &ContractSummary) -> flows::StatusReport {
    flows::StatusReport {
        id: contract.id,
        status: contract.status.clone(),
        status_label: contract.status_label.clone(),
        name: Some(contract.name.clone()),
        link: contract.link.clone(),
        read_at: now_iso(relay),
    }
}

fn now_iso<T: Transport>(relay: &Relay<T>) -> String {
    i64::try_from(relay.now_ms())
        .ok()
        .and_then(|ms| ms.checked_mul(1000))
        .and_then(time::format_timestamp)
        .unwrap_or_default()
}

/// `{templateId}`. A `deal` a browser sends along (older sidebars did) is ignored: the deal comes
/// from the CRM.
fn template_of(request: &RelayRequest) -> Result<u64> {
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| Error::invalid_input("body", format!("is not JSON ({e})")))?;
    body.get("templateId")
        .and_then(Value::as_u64)
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::invalid_input("templateId", "a positive template id is required"))
}

pub(super) async fn metadata<T: Transport>(
    env: &EnvironmentRuntime<T>,
    template_id: u64,
    now: u64,
) -> Result<TemplateMetadata> {
    if let Some((fetched, metadata)) = env.metadata_cache.borrow().get(&template_id) {
        if now.saturating_sub(*fetched) < METADATA_TTL_MS {
            return Ok(metadata.clone());
        }
    }
    let metadata = env.client.template_metadata(template_id).await?;
    env.metadata_cache.borrow_mut().insert(template_id, (now, metadata.clone()));
    Ok(metadata)
}

async fn preview<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    request: &RelayRequest,
) -> Result<Value> {
    let template_id = template_of(request)?;
    let plugin = env.plugin();
    let template = plugin.template(template_id)?;
    let deal = crm_deal(relay, env, deal_id).await?;
    preview_of(env, template, &deal).await.map(|preview| json!(preview))
}

async fn preview_of<T: Transport>(
    env: &EnvironmentRuntime<T>,
    template: &crate::config::TemplateConfig,
    deal: &Deal,
) -> Result<mapping::Preview> {
    let metadata = metadata(env, template.template_id, env.client.transport().now_ms()).await?;
    Ok(mapping::preview(&env.plugin(), template, deal, &metadata))
}

/// Create, idempotent per deal: one create at a time per deal (in every instance sharing the
/// relay's state), gated by `flows::creatable` on the CRM's deal; the core's flow looks up before
/// creating and resolves unknown outcomes by lookup; afterwards a second look catches a creator
/// that raced this one (a lease that ran out), keeping the oldest contract and voiding the rest.
async fn create<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    request: &RelayRequest,
    requester: &Requester,
) -> Result<(u16, Value, Option<String>)> {
    let template_id = template_of(request)?;
    let (outcome, synced) = create_contract(relay, env, deal_id, template_id, requester).await?;
    let status = if outcome.created { 201 } else { 200 };
    let mut body = json!(outcome);
    if let Value::Object(map) = &mut body {
        map.insert("crmSynced".into(), Value::Bool(synced.is_ok()));
    }
    Ok((status, body, synced.err()))
}

/// A seller's click and a deal reaching its milestone (`super::milestones`) both create through
/// here: the deal's contract for `template_id`, or the one its slot already has; and whether the
/// record's fields were written at once (why not, if not).
pub(super) async fn create_contract<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    template_id: u64,
    requester: &Requester,
) -> Result<(CreateOutcome, std::result::Result<(), String>)> {
    let key = record_key(env, deal_id)?;
    let plugin = &env.plugin();
    // One creator at a time per slot: an NDA and an MSA of one deal may be created side by side.
    let slot = plugin.slot_of_template(template_id);
    let guard = relay.locks.lock(&format!("create:{key}:{slot}"), &*relay.transport).await?;
    // Read under the lock, so a create waiting behind another sees the deal as it is now; checked
    // before the template's metadata is fetched, so a refused create costs SpotDraft nothing.
    let deal = crm_deal(relay, env, deal_id).await?;
    flows::creatable(plugin, &deal, template_id)?;
    let metadata = metadata(env, template_id, relay.now_ms()).await?;
    // Still this deal's only creator (an instance that stalled past its lease must not create
    // beside the one that took over), with the lease renewed for the lookup and create ahead.
    super::webhooks::fence(relay, &guard).await?;
    let actor = actor_for(relay, env, requester).await?;
    let mut outcome =
        flows::create_with_metadata(&env.client, plugin, &deal, template_id, &metadata, &actor).await.map_err(
            |error| match (&error, &actor.acting_as) {
                // The seller is a SpotDraft user, and SpotDraft says they may not: that is theirs to
                // sort out with their SpotDraft admin, not something to do as someone else.
                (Error::SpotDraft(api), Some(email)) if api.status == 403 => Error::Forbidden {
                    reason: format!(
                        "SpotDraft does not let {email} create this contract; ask your SpotDraft admin for access to the template"
                    ),
                },
                _ => error,
            },
        )?;
    if outcome.created {
        outcome = settle_race(env, &key, outcome).await?;
    }
    // The record's fields show its own slot's contract only.
    let synced = if outcome.contract.slot.as_deref() == Some(plugin.record_slot().as_str()) {
        write_through(relay, env, deal_id, &outcome.contract).await
    } else {
        Ok(())
    };
    Ok((outcome, synced))
}

async fn settle_race<T: Transport>(
    env: &EnvironmentRuntime<T>,
    key: &RecordKey,
    outcome: CreateOutcome,
) -> Result<CreateOutcome> {
    let kept = keep_oldest_live(env, key).await?;
    match kept.into_iter().find(|c| c.slot == outcome.contract.slot) {
        Some(oldest) if oldest.id != outcome.contract.id => Ok(CreateOutcome { contract: oldest, created: false }),
        _ => Ok(outcome),
    }
}

/// One live contract per slot: when concurrent creates made more (two instances racing, or one that
/// stalled past its lease), the oldest of each slot is kept and every newer live one in it is voided
/// with a note. Used right after a create, and by reconcile for a creator that died before it could
/// settle. Answers the contract kept in each slot.
pub(super) async fn keep_oldest_live<T: Transport>(
    env: &EnvironmentRuntime<T>,
    key: &RecordKey,
) -> Result<Vec<ContractSummary>> {
    let plugin = &env.plugin();
    let mut live: Vec<ContractSummary> = flows::contracts_by_external_id(&env.client, &key.to_string())
        .await?
        .into_iter()
        .filter(|c| c.status.is_live())
        .map(|c| plugin.with_slot(c))
        .collect();
    live.sort_by_key(|c| c.number);
    let mut kept: Vec<ContractSummary> = Vec::new();
    for contract in live {
        match kept.iter().find(|k| k.slot == contract.slot) {
            Some(oldest) => {
                let note =
                    format!("Created twice for the same CRM deal by concurrent requests; {} is kept.", oldest.id);
                if let Err(error) = env.client.void_contract(contract.id, &note).await {
                    // Another instance settling the same race may have voided it first: settled.
                    let status = env.client.contract_status(contract.id).await.map(|s| s.contract_status);
                    if status.ok() != Some(crate::model::ContractStatus::Voided) {
                        return Err(error);
                    }
                }
            }
            None => kept.push(contract),
        }
    }
    Ok(kept)
}

/// The contract's approvals, with what its template lets a seller request.
async fn approvals_of<T: Transport>(
    env: &EnvironmentRuntime<T>,
    contract: &ContractSummary,
) -> Result<crate::approvals::ApprovalsView> {
    let steps = env.client.contract_approvals(contract.id).await?;
    Ok(crate::approvals::view(&steps, &contract.status, &configured_approvals(env, contract)))
}

/// The ad-hoc approvals configured for the contract's template (none for a contract of no offered template).
fn configured_approvals<T: Transport>(
    env: &EnvironmentRuntime<T>,
    contract: &ContractSummary,
) -> Vec<crate::config::AdHocApproval> {
    let plugin = env.plugin();
    contract
        .template_id
        .and_then(|id| plugin.templates.iter().find(|t| t.template_id == id))
        .map_or_else(Vec::new, |t| t.approvals.clone())
}

/// Sends the template's configured approvals, as the seller when they are a SpotDraft user, once
/// the current state allows it; answers the approvals as they are then.
async fn request_approvals<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    verified: &Verified,
    contract: &ContractSummary,
) -> Result<crate::approvals::ApprovalsView> {
    let before = approvals_of(env, contract).await?;
    if let Some(reason) = before.reason.clone() {
        return Err(Error::Conflict { reason });
    }
    if !before.can_request {
        return Err(Error::Conflict { reason: "No approvals are set up for this contract's template.".into() });
    }
    let actor = actor_for(relay, env, &requester(relay, env, verified).await).await?;
    let body = crate::approvals::request_body(&configured_approvals(env, contract));
    env.client
        .request_approvals(contract.id, &body, actor.acting_as.as_deref())
        .await
        .map_err(crate::approvals::seller_error)?;
    approvals_of(env, contract).await
}

/// How long the relay trusts its answer to "is this email a SpotDraft user".
const USER_CHECK_TTL_MS: u64 = 10 * 60 * 1000;

/// Who a click came from, as the audit log and the contract's record data name them: with their
/// email as the proof carries it, else as the CRM has it for the user the session names (Salesforce,
/// Pipedrive; remembered for ten minutes).
pub(super) async fn requester<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    verified: &Verified,
) -> Requester {
    let caller = &verified.caller;
    let email = match (&verified.email, &caller.user) {
        (Some(email), _) => Some(email.clone()),
        (None, Some(user)) if matches!(env.config.crm.host, CrmHost::Salesforce | CrmHost::Pipedrive) => {
            crm_user_email(relay, env, user).await
        }
        _ => None,
    };
    Requester { host: caller.host.clone(), user: caller.user.clone(), email, via: "sidebar" }
}

/// A CRM user's email (`crm::record_access::user_email`), remembered; none when the CRM has none
/// or cannot say (the action then runs as the integration user, which is never wrong).
async fn crm_user_email<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>, user: &str) -> Option<String> {
    let key = format!("crmuser:{}:{user}", env.config.environment.as_str());
    let now = relay.now_ms();
    if let Ok(Some(known)) = relay.state.get(&key, now).await {
        return (!known.is_empty()).then_some(known);
    }
    let email = crate::crm::user_email(&*relay.transport, &env.config.crm, user).await.ok()?;
    let _ = relay.state.put(&key, email.clone().unwrap_or_default(), USER_CHECK_TTL_MS, now).await;
    email
}

/// As whom SpotDraft is asked: the seller when their CRM email is an active user of the workspace
/// (checked with SpotDraft, remembered for ten minutes), else the integration user; either way the
/// contract's record data names who asked.
pub(super) async fn actor_for<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    requester: &Requester,
) -> Result<flows::Actor> {
    let requested_by = json!({
        "crm": requester.host,
        "crm_user": requester.user,
        "email": requester.email,
        "via": requester.via,
    });
    let acting_as = match &requester.email {
        Some(email) if spotdraft_user(relay, env, email).await? => Some(email.clone()),
        _ => None,
    };
    Ok(flows::Actor { acting_as, requested_by: Some(requested_by) })
}

async fn spotdraft_user<T: Transport>(relay: &Relay<T>, env: &EnvironmentRuntime<T>, email: &str) -> Result<bool> {
    let key = format!("sduser:{}:{}", env.config.environment.as_str(), email.trim().to_ascii_lowercase());
    let now = relay.now_ms();
    match relay.state.get(&key, now).await?.as_deref() {
        Some("1") => return Ok(true),
        Some("0") => return Ok(false),
        _ => {}
    }
    let known = env.client.is_active_user(email).await?;
    relay.state.put(&key, if known { "1" } else { "0" }.into(), USER_CHECK_TTL_MS, now).await?;
    Ok(known)
}

/// Shows the contract on the CRM record at once rather than waiting for its webhook. A failure here
/// is reported (`crmSynced: false`, and why in the request's log line) but does not fail the create:
/// webhooks and reconcile repair it.
///
/// Under the same rule as every CRM write (`sync`, on SpotDraft's own times): the status the create
/// or lookup answered is stamped with the contract's creation time, SpotDraft's, never the relay's
/// clock. So it fills an empty record, yet anything a webhook has shown since (In review, say) is newer
/// and stays: a second click can never roll the record back.
pub(super) async fn write_through<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    contract: &ContractSummary,
) -> std::result::Result<(), String> {
    let Some(created_micros) = contract.created.as_deref().and_then(time::parse_timestamp) else {
        // No SpotDraft time to order it by: leave it to the contract's webhooks and reconcile.
        return Err("the contract has no creation time to order the write by; its webhooks will fill the record".into());
    };
    let observation = Observation {
        contract: contract.id,
        status: contract.status.clone(),
        at_micros: created_micros,
        link: contract.link.clone(),
    };
    super::webhooks::apply_to_record(relay, env, deal_id, &observation, super::webhooks::Source::Read)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

fn send_options(request: &RelayRequest) -> Result<SendOptions> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(SendOptions::default());
    }
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| Error::invalid_input("body", format!("is not JSON ({e})")))?;
    let list = |key: &str| -> Result<Vec<String>> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| Error::invalid_input(key, "must be a list of email addresses"))
                })
                .collect(),
            Some(_) => Err(Error::invalid_input(key, "must be a list of email addresses")),
        }
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    Ok(SendOptions {
        to_emails: list("toEmails")?,
        cc_emails: list("ccEmails")?,
        subject: text("subject"),
        message: text("message"),
        acting_as: None,
    })
}
