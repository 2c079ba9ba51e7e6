//! What a seller's clicks do, as sequences of SpotDraft calls.
//!
//! The important one is create: SpotDraft has no idempotency key and never deduplicates creates
//! (docs/spotdraft-api.md §9.4), so the deal's contracts are looked up by external id first, and a create
//! whose outcome is unknown is followed by another lookup, never by a blind second create.

use crate::config::Config;
use crate::deal::{is_plausible_email, Deal};
use crate::error::{Error, Problem, Result};
use crate::mapping;
use crate::model::{ContractId, ContractStatus, ContractSummary};
use crate::shell_types::shell_struct;
use crate::spotdraft::client::SpotDraftClient;
use crate::spotdraft::types::{ContractRecord, SendToCounterparties, TemplateMetadata};
use crate::time;
use crate::transport::Transport;
use crate::url;

/// The web-app host contract links must point at.
const APP_HOST: &str = "app.spotdraft.com";

shell_struct! {
    /// What a create answers: the deal's contract in the template's slot.
    pub struct CreateOutcome as "CreateOutcome" {
        contract: ContractSummary => "contract",
        /// False when the deal already had a live contract in the template's slot and that one is
        /// returned instead.
        created: bool => "created",
    }
}

/// Creates the deal's contract from a template, or returns the live one it already has in that
/// template's slot (`crate::slots`).
pub async fn create_for_deal<T: Transport>(
    client: &SpotDraftClient<T>,
    config: &Config,
    deal: &Deal,
    template_id: u64,
) -> Result<CreateOutcome> {
    creatable(config, deal, template_id)?;
    let metadata = client.template_metadata(template_id).await?;
    create_with_metadata(client, config, deal, template_id, &metadata, &Actor::default()).await
}

/// Who a contract is made for. `acting_as`: the SpotDraft user the create runs as (`user-email`),
/// the seller when they are one; `None` runs it as the credential's own user. `requested_by`: how the
/// requester is named in the contract's record data (`external_metadata.record_data.requested_by`),
/// so SpotDraft shows who asked even when the integration user made it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actor {
    pub acting_as: Option<String>,
    pub requested_by: Option<serde_json::Value>,
}

/// The one rule for whether a contract may be created: the template is one this configuration
/// offers, and the deal is at a stage that allows creation.
pub fn creatable(config: &Config, deal: &Deal, template_id: u64) -> Result<()> {
    config.template(template_id)?;
    if !config.stage_allows_creation(deal.stage.as_deref()) {
        return Err(config.stage_not_allowed(deal.stage.as_deref()));
    }
    Ok(())
}

/// `create_for_deal` with the template's metadata already in hand (the relay caches it), so the
/// happy path costs SpotDraft only the lookup and the create.
pub async fn create_with_metadata<T: Transport>(
    client: &SpotDraftClient<T>,
    config: &Config,
    deal: &Deal,
    template_id: u64,
    metadata: &TemplateMetadata,
    actor: &Actor,
) -> Result<CreateOutcome> {
    creatable(config, deal, template_id)?;
    let mut request = mapping::create_request(config, template_id, deal, metadata)?;
    if let (Some(requested_by), Some(serde_json::Value::Object(data))) =
        (&actor.requested_by, request.external_metadata.record_data.as_mut())
    {
        data.insert("requested_by".into(), requested_by.clone());
    }
    let external_id = mapping::record_key(config, deal).to_string();
    let slot = config.slot_of_template(template_id);
    if let Some(existing) = live_contract(client, config, &external_id, &slot).await? {
        return Ok(CreateOutcome { contract: existing, created: false });
    }
    let started = client.transport().now_ms();
    let mut unknown_outcomes: u32 = 0;
    loop {
        match client.create_contract_as(&request, actor.acting_as.as_deref()).await {
            Ok(record) => {
                let contract = summarise(&record).map(|c| config.with_slot(c)).ok_or_else(|| Error::BadResponse {
                    status: 201,
                    reason: format!("the created contract has an unusable id {:?}", record.id),
                })?;
                return Ok(CreateOutcome { contract, created: true });
            }
            Err(error) if outcome_unknown(&error) => {
                unknown_outcomes += 1;
                // Wait first: a create still being processed must have time to become visible.
                let delay = client.retry_delay_ms(unknown_outcomes, started);
                client.transport().sleep(delay.unwrap_or(0)).await;
                if let Some(existing) = live_contract(client, config, &external_id, &slot).await? {
                    return Ok(CreateOutcome { contract: existing, created: true });
                }
                if delay.is_none() {
                    return Err(error);
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether SpotDraft may have acted on a request that did not get a clear answer.
fn outcome_unknown(error: &Error) -> bool {
    match error {
        Error::Timeout { .. } | Error::Network { .. } => true,
        Error::SpotDraft(api) => api.status >= 500,
        _ => false,
    }
}

/// The deal's oldest contract in `slot` that is not voided.
async fn live_contract<T: Transport>(
    client: &SpotDraftClient<T>,
    config: &Config,
    external_id: &str,
    slot: &str,
) -> Result<Option<ContractSummary>> {
    let contracts = contracts_by_external_id(client, external_id).await?;
    Ok(contracts
        .into_iter()
        .map(|c| config.with_slot(c))
        .filter(|c| c.status.is_live() && c.slot.as_deref() == Some(slot))
        .min_by_key(|c| c.number))
}

/// The deal's contracts, newest first.
pub async fn contracts_for_deal<T: Transport>(
    client: &SpotDraftClient<T>,
    config: &Config,
    deal_id: &str,
) -> Result<Vec<ContractSummary>> {
    if !crate::model::is_valid_crm_id(deal_id) {
        return Err(Error::invalid_input("dealId", format!("\"{deal_id}\" is not a CRM record id")));
    }
    let key = crate::model::RecordKey::for_deal(config.crm.host, &config.crm.account_id, deal_id);
    contracts_by_external_id(client, &key.to_string()).await
}

/// Contracts whose `external_metadata.id` is exactly `external_id`, newest first.
pub async fn contracts_by_external_id<T: Transport>(
    client: &SpotDraftClient<T>,
    external_id: &str,
) -> Result<Vec<ContractSummary>> {
    let records = client.contracts_by_external_id(external_id).await?;
    let mut contracts: Vec<ContractSummary> = records
        .iter()
        // The lookup is an exact match; a record claiming another id is not this deal's.
        .filter(|r| r.external_metadata.as_ref().and_then(|m| m.id_text()).is_none_or(|id| id == external_id))
        .filter_map(summarise)
        .collect();
    contracts.sort_by_key(|c| std::cmp::Reverse(c.number));
    Ok(contracts)
}

/// A contract record from any of the create, lookup and list answers, as the plugin shows it.
pub fn summarise(record: &ContractRecord) -> Option<ContractSummary> {
    let id = record.id.contract_id()?;
    let number = record.contract_id.unwrap_or(id.number);
    Some(ContractSummary {
        id,
        number,
        name: record.contract_name.clone().unwrap_or_else(|| id.to_string()),
        status_label: record.contract_status.label(),
        status: record.contract_status.clone(),
        link: deep_link(record.contract_link.as_deref(), number),
        counterparty_name: record.counter_party_name.clone(),
        contract_type_name: record.contract_type_name.clone(),
        created: record.created.clone(),
        external_id: record.external_metadata.as_ref().and_then(|m| m.id_text()),
        // SpotDraft's contract records carry no activity times; the relay adds the CRM record's.
        status_at: None,
        executed_at: None,
        as_of: None,
        template_id: record
            .external_metadata
            .as_ref()
            .and_then(|m| m.record_data.as_ref())
            .and_then(|data| data.get("template_id"))
            .and_then(serde_json::Value::as_u64),
        contract_type_id: record.contract_type_id,
        slot: None,
    })
}

/// The link into SpotDraft's web app, always `https://app.spotdraft.com/…` byte for byte: the API's
/// `contract_link` rewritten in that canonical form when it is a plain link into the app's contracts
/// (scheme and host compared without case, no userinfo, port, backslash, percent-escape or dot
/// segment), otherwise the documented `https://app.spotdraft.com/contracts/v2/{n}`.
pub fn deep_link(contract_link: Option<&str>, number: u64) -> String {
    contract_link.and_then(canonical_app_link).unwrap_or_else(|| format!("https://{APP_HOST}/contracts/v2/{number}"))
}

fn canonical_app_link(link: &str) -> Option<String> {
    let parsed = url::parse(link)?;
    let (path, query) = parsed.rest.split_once('?').unwrap_or((&parsed.rest, ""));
    let plain_path = path.strip_prefix("/contracts/").is_some_and(|tail| {
        tail.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
    });
    let plain_query = query.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'&' | b'-' | b'_' | b'.'));
    let canonical = parsed.scheme == "https" && parsed.host == APP_HOST && parsed.port.is_none();
    (canonical && plain_path && plain_query).then(|| format!("https://{APP_HOST}{}", parsed.rest))
}

shell_struct! {
    /// One page of the workspace's contracts, as the plugin shows them.
    pub struct ContractListing as "ContractListing" {
        page: u64 => "page",
        limit: u64 => "limit",
        total_results: Option<u64> => "totalResults",
        contracts: Vec<ContractSummary> => "contracts",
    }
}

/// A page of contracts, e.g. those changed since a reconciliation checkpoint.
pub async fn list_contracts<T: Transport>(
    client: &SpotDraftClient<T>,
    query: &crate::spotdraft::ListQuery,
) -> Result<ContractListing> {
    let page = client.list_contracts(query).await?;
    Ok(ContractListing {
        page: page.page.unwrap_or(u64::from(query.page)),
        limit: page.limit.unwrap_or(u64::from(query.limit)),
        total_results: page.total_results,
        contracts: page.results.iter().filter_map(summarise).collect(),
    })
}

shell_struct! {
    /// A contract's status as SpotDraft answered it just now.
    pub struct StatusReport as "StatusReport" {
        id: ContractId => "id",
        status: ContractStatus => "status",
        status_label: String => "statusLabel",
        name: Option<String> => "name",
        link: String => "link",
        /// When SpotDraft was asked (ISO 8601 UTC), so a shown status can say how fresh it is.
        read_at: String => "readAt",
    }
}

pub async fn status<T: Transport>(client: &SpotDraftClient<T>, id: ContractId) -> Result<StatusReport> {
    let response = client.contract_status(id).await?;
    let read_at_ms = client.transport().now_ms();
    let read_at = i64::try_from(read_at_ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1000))
        .and_then(time::format_timestamp)
        .unwrap_or_default();
    Ok(StatusReport {
        id,
        status_label: response.contract_status.label(),
        status: response.contract_status,
        name: response.contract_name,
        link: deep_link(None, id.number),
        read_at,
    })
}

shell_struct! {
    /// A fresh link to the contract's current PDF.
    pub struct DownloadLink as "DownloadLink" {
        /// Short-lived signed URL: use at once; never store or log it.
        url: String => "url",
        file_name: String => "fileName",
    }
}

/// A fresh link to the contract's current PDF on every call.
pub async fn download_link<T: Transport>(client: &SpotDraftClient<T>, id: ContractId) -> Result<DownloadLink> {
    let answer = client.download_link(id).await?;
    match url::parse(&answer.url) {
        Some(parsed) if url::is_secure_or_loopback(&parsed) => {
            Ok(DownloadLink { url: answer.url, file_name: answer.file_name })
        }
        _ => Err(Error::BadResponse { status: 200, reason: "the download URL is not an https URL".into() }),
    }
}

/// Who receives the contract when it is sent to the counterparty; empty means SpotDraft's
/// counterparty contacts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendOptions {
    pub to_emails: Vec<String>,
    pub cc_emails: Vec<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    /// The SpotDraft user it is sent as (`user-email`: the seller, when they are one); none for the
    /// credential's own user.
    pub acting_as: Option<String>,
}

/// SpotDraft's `send_to_counterparties` sends a draft to the counterparty for review: the contract
/// moves to In review. Once sent, the next steps (edits, signatures) happen in SpotDraft.
pub fn can_send_to_counterparty(status: &ContractStatus) -> bool {
    matches!(status, ContractStatus::Draft)
}

/// Sends the contract to its counterparties for review, if it is still a draft; answers its status
/// afterwards (In review when SpotDraft took it).
pub async fn send_to_counterparty<T: Transport>(
    client: &SpotDraftClient<T>,
    id: ContractId,
    options: &SendOptions,
) -> Result<StatusReport> {
    let mut problems = Vec::new();
    for (field, emails) in [("toEmails", &options.to_emails), ("ccEmails", &options.cc_emails)] {
        for (index, email) in emails.iter().enumerate() {
            if !is_plausible_email(email) {
                problems
                    .push(Problem::new(format!("{field}[{index}]"), format!("\"{email}\" is not an email address")));
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems));
    }
    let current = status(client, id).await?;
    if !can_send_to_counterparty(&current.status) {
        let reason = match current.status {
            ContractStatus::Redlining => {
                "this contract was already sent to the counterparty and is in review; continue in SpotDraft".to_string()
            }
            _ => format!(
                "only a draft can be sent to the counterparty; this contract is {}",
                current.status_label.to_lowercase()
            ),
        };
        return Err(Error::invalid_input("status", reason));
    }
    let request = SendToCounterparties {
        attachment_formats: vec!["PDF".into()],
        to_emails: options.to_emails.clone(),
        cc_emails: options.cc_emails.clone(),
        subject: options.subject.clone(),
        custom_message: options.message.clone(),
    };
    client.send_to_counterparties_as(id, &request, options.acting_as.as_deref()).await?;
    status(client, id).await
}
