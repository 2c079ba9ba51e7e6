//! An open sidebar over an hour on a virtual clock: the core's state machine with its effects
//! answered by a pretend relay. Counts the contract loads it would send. Shared by the benchmark
//! binary and `tests/budgets.rs` (included there by path).

use serde_json::json;
use spotdraft_crm::deal::Deal;
use spotdraft_crm::model::{ContractId, ContractStatus, ContractSummary, Environment};
use spotdraft_crm::sidebar::{CrmDeal, Effect, Msg, PreviewResult, Sidebar, SidebarConfig, TemplateChoice};

const HOUR_MS: u64 = 3_600_000;
/// The relay's answer arrives this long after the sidebar asks.
const ANSWER_DELAY_MS: u64 = 150;

pub fn contract(number: u64, status: &str) -> ContractSummary {
    let status = ContractStatus::parse(status);
    ContractSummary {
        id: ContractId::template(number),
        number,
        name: format!("Mutual NDA #{number}"),
        status_label: status.label(),
        status,
        link: format!("https://app.spotdraft.com/contracts/v2/{number}"),
        counterparty_name: None,
        contract_type_name: None,
        created: Some("2026-01-01T00:00:00Z".into()),
        external_id: None,
        status_at: None,
        executed_at: None,
        as_of: None,
        template_id: None,
        contract_type_id: None,
        slot: None,
    }
}

/// Runs the sidebar's effects against a relay that always answers `contracts`, on a virtual clock,
/// for an hour after the first load; returns how many times it asked for contracts in that hour.
pub fn contract_loads_in_an_hour(contracts: Vec<ContractSummary>, hidden: bool) -> Result<usize, String> {
    let deal = Deal::from_json(&json!({"id": "1001", "name": "Acme renewal", "stage": "contractsent"}))
        .map_err(|e| format!("deal: {e}"))?;
    let mut sidebar = Sidebar::new(Environment::Uat, (&deal).into());
    let config = SidebarConfig {
        environment: Environment::Uat,
        creation_stages: vec!["contractsent".into()],
        stage_labels: spotdraft_crm::shell_types::StageLabels(vec![("contractsent".into(), "Contract sent".into())]),
        templates: vec![TemplateChoice { template_id: 101, label: "Mutual NDA".into(), slot: None }],
        download_origins: Vec::new(),
    };
    let mut now = 0;
    let mut pending: Vec<(u64, Msg)> = Vec::new();
    let mut tick_at: Option<u64> = None;
    let mut loads_after_start = 0;
    let mut queue = sidebar.update(Msg::Start, now);
    let mut steps = 0;
    let mut hide_after_first_load = hidden;
    loop {
        steps += 1;
        if steps > 100_000 {
            return Err("the simulation did not end".into());
        }
        let ready = || PreviewResult { can_create: true, problems: Vec::new() };
        for effect in queue.drain(..) {
            match effect {
                // One answer carrying four (the sort below keeps their order).
                Effect::LoadFirstView => pending.extend([
                    (now + ANSWER_DELAY_MS, Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal)) }),
                    (now + ANSWER_DELAY_MS, Msg::PreviewLoaded { template_id: 101, preview: ready() }),
                    (now + ANSWER_DELAY_MS, Msg::ConfigLoaded { config: config.clone() }),
                    (now + ANSWER_DELAY_MS, Msg::ContractsLoaded { contracts: contracts.clone() }),
                ]),
                Effect::LoadConfig => {
                    pending.push((now + ANSWER_DELAY_MS, Msg::ConfigLoaded { config: config.clone() }))
                }
                Effect::LoadDeal => {
                    pending.push((now + ANSWER_DELAY_MS, Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal)) }))
                }
                Effect::LoadContracts => {
                    if now > ANSWER_DELAY_MS {
                        loads_after_start += 1;
                    }
                    pending.push((now + ANSWER_DELAY_MS, Msg::ContractsLoaded { contracts: contracts.clone() }));
                }
                Effect::LoadPreview { template_id } => {
                    pending.push((now + ANSWER_DELAY_MS, Msg::PreviewLoaded { template_id, preview: ready() }))
                }
                Effect::ScheduleTick { in_ms } => tick_at = Some(now + in_ms),
                Effect::CancelTick => tick_at = None,
                other => return Err(format!("nobody clicked, yet the sidebar asked for {other:?}")),
            }
        }
        pending.sort_by_key(|(at, _)| *at);
        let next_answer = pending.first().map(|(at, _)| *at);
        let next = match (next_answer, tick_at) {
            (Some(answer), Some(tick)) => answer.min(tick),
            (Some(answer), None) => answer,
            (None, Some(tick)) => tick,
            (None, None) => break,
        };
        if next > HOUR_MS + ANSWER_DELAY_MS {
            break;
        }
        now = next;
        if next_answer == Some(next) {
            let (_, msg) = pending.remove(0);
            let contracts_arrived = matches!(msg, Msg::ContractsLoaded { .. });
            queue = sidebar.update(msg, now);
            // Hidden once the first load is shown: the seller switched tabs.
            if contracts_arrived && hide_after_first_load {
                hide_after_first_load = false;
                queue.extend(sidebar.update(Msg::VisibilityChanged { visible: false }, now));
            }
        } else {
            tick_at = None;
            queue = sidebar.update(Msg::Tick, now);
        }
    }
    Ok(loads_after_start)
}
