use serde_json::json;

use serde_json::Value;

use super::*;
use crate::json_output::ToJson;
use crate::transport::Method;

fn deal(stage: &str) -> Deal {
    Deal::from_json(&json!({"id": "1001", "name": "Acme renewal", "stage": stage, "closeDate": "2026-03-28"})).unwrap()
}

/// What a host hands over: the record id and its name, nothing a decision could rest on.
fn host() -> HostDeal {
    HostDeal { id: "1001".into(), name: Some("Acme renewal".into()) }
}

fn crm_error(message: &str, transient: bool) -> RemoteError {
    RemoteError { code: "crm_error".into(), message: message.into(), problems: vec![], transient }
}

fn config(templates: &[(u64, &str)]) -> SidebarConfig {
    SidebarConfig {
        environment: Environment::Uat,
        creation_stages: vec!["contractsent".into()],
        stage_labels: crate::shell_types::StageLabels(vec![("contractsent".into(), "Contract sent".into())]),
        templates: templates
            .iter()
            .map(|(id, label)| TemplateChoice { template_id: *id, label: (*label).into(), slot: None })
            .collect(),
        download_origins: vec!["https://storage.googleapis.com".into()],
    }
}

fn contract(number: u64, status: &str) -> ContractSummary {
    let status = ContractStatus::parse(status);
    ContractSummary {
        id: ContractId::template(number),
        number,
        name: format!("Mutual NDA – Acme #{number}"),
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

fn ready(stage: &str, contracts: Vec<ContractSummary>) -> Sidebar {
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    sidebar.update(Msg::Start, 0);
    sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal(stage))) }, 5);
    sidebar.update(Msg::ConfigLoaded { config: config(&[(1101, "Mutual NDA")]) }, 10);
    sidebar.update(Msg::ContractsLoaded { contracts }, 20);
    sidebar
}

fn preview_ok(sidebar: &mut Sidebar) {
    sidebar.update(
        Msg::PreviewLoaded { template_id: 1101, preview: PreviewResult { can_create: true, problems: vec![] } },
        30,
    );
}

#[test]
fn start_loads_the_first_view_in_one_call_and_shows_loading() {
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    assert_eq!(sidebar.update(Msg::Start, 0), vec![Effect::LoadFirstView]);
    let view = sidebar.view(0, 0);
    assert_eq!(view.phase, view::Phase::Loading);
    assert_eq!(view.environment_badge.as_deref(), Some("UAT"));
    let effects = sidebar.update(Msg::ConfigLoaded { config: config(&[(1101, "Mutual NDA")]) }, 5);
    assert_eq!(effects, vec![Effect::LoadPreview { template_id: 1101 }], "a single template is chosen and checked");
}

#[test]
fn create_is_disabled_with_reasons_until_the_preview_says_yes() {
    let mut sidebar = ready("contractsent", vec![]);
    let create = sidebar.view(20, 0).create.unwrap();
    assert!(!create.enabled);
    assert_eq!(create.reasons, ["Checking the deal's fields…"]);
    assert!(!create.show_picker, "one template: no picker");
    sidebar.update(
        Msg::PreviewLoaded {
            template_id: 1101,
            preview: PreviewResult {
                can_create: false,
                problems: vec![
                    Problem::new(
                        "contract_data.effective_date",
                        "Effective date is required, but the deal has no close date",
                    ),
                    Problem::new(
                        "deal.primaryContact",
                        "associate a primary contact with the deal: SpotDraft sends the contract to them",
                    ),
                ],
            },
        },
        30,
    );
    let create = sidebar.view(30, 0).create.unwrap();
    assert!(!create.enabled);
    assert_eq!(
        create.reasons,
        [
            "Effective date is required, but the deal has no close date.",
            "Associate a primary contact with the deal: SpotDraft sends the contract to them."
        ]
    );
    assert!(sidebar.update(Msg::CreateClicked, 40).is_empty(), "a disabled button does nothing");
}

#[test]
fn stage_gate_is_explained() {
    let mut sidebar = ready("appointmentscheduled", vec![]);
    preview_ok(&mut sidebar);
    let create = sidebar.view(30, 0).create.unwrap();
    assert!(!create.enabled);
    assert_eq!(
        create.reasons,
        ["Contracts can be created at Contract sent; this deal is at appointmentscheduled."],
        "labels where the CRM gave them, the stage value otherwise"
    );
}

#[test]
fn stage_gate_names_stages_as_sellers_know_them() {
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    sidebar.update(Msg::Start, 0);
    sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal("appointmentscheduled"))) }, 5);
    let mut labelled = config(&[(1101, "Mutual NDA")]);
    labelled.creation_stages = vec!["qualifiedtobuy".into(), "decisionmakerboughtin".into(), "contractsent".into()];
    labelled.stage_labels = crate::shell_types::StageLabels(vec![
        ("appointmentscheduled".into(), "Appointment scheduled".into()),
        ("qualifiedtobuy".into(), "Qualified to buy".into()),
        ("decisionmakerboughtin".into(), "Decision maker bought-in".into()),
        ("contractsent".into(), "Contract sent".into()),
    ]);
    sidebar.update(Msg::ConfigLoaded { config: labelled }, 10);
    sidebar.update(Msg::ContractsLoaded { contracts: vec![] }, 20);
    preview_ok(&mut sidebar);
    assert_eq!(
        sidebar.view(30, 0).create.unwrap().reasons,
        ["Contracts can be created at Qualified to buy, Decision maker bought-in or Contract sent; this deal is at Appointment scheduled."]
    );
}

#[test]
fn create_runs_once_and_shows_progress() {
    let mut sidebar = ready("contractsent", vec![]);
    preview_ok(&mut sidebar);
    assert!(sidebar.view(30, 0).create.unwrap().enabled);
    assert_eq!(sidebar.update(Msg::CreateClicked, 40), vec![Effect::Create { template_id: 1101 }]);
    assert!(sidebar.update(Msg::CreateClicked, 41).is_empty(), "a second click while creating does nothing");
    let create = sidebar.view(41, 0).create.unwrap();
    assert_eq!((create.label.as_str(), create.busy, create.enabled), ("Creating…", true, false));
    let effects = sidebar.update(Msg::Created { contract: Box::new(contract(4301, "DRAFT")), created: true }, 1_000);
    assert_eq!(effects, vec![Effect::ScheduleTick { in_ms: QUICK_REFRESH_MS }]);
    let view = sidebar.view(1_000, 0);
    assert!(view.create.is_none(), "a live contract: no second create offered");
    assert_eq!(view.contracts[0].status_label, "Draft");
    assert_eq!(view.banner.unwrap().text, "Contract created in SpotDraft.");
}

#[test]
fn failed_create_offers_retry_only_when_it_makes_sense() {
    let mut sidebar = ready("contractsent", vec![]);
    preview_ok(&mut sidebar);
    sidebar.update(Msg::CreateClicked, 40);
    sidebar.update(
        Msg::CreateFailed {
            error: RemoteError { code: "timeout".into(), message: "x".into(), problems: vec![], transient: true },
        },
        50,
    );
    let banner = sidebar.view(50, 0).banner.unwrap();
    assert_eq!(
        (banner.tone.as_str(), banner.text.as_str(), banner.retry),
        ("error", "SpotDraft can't be reached right now.", true)
    );
    assert!(sidebar.view(50, 0).create.unwrap().enabled, "the button is usable again");
    sidebar.update(Msg::CreateClicked, 60);
    sidebar.update(
        Msg::CreateFailed {
            error: RemoteError {
                code: "mapping_failed".into(),
                message: "the deal can't fill this template".into(),
                problems: vec![Problem::new("contract_data.purpose", "Purpose is required")],
                transient: false,
            },
        },
        70,
    );
    let banner = sidebar.view(70, 0).banner.unwrap();
    assert!(!banner.retry);
    assert_eq!(banner.details, ["Purpose is required."]);
}

#[test]
fn refresh_backs_off_while_nothing_changes_and_stops_when_done() {
    let mut sidebar = ready("contractsent", vec![contract(7, "REDLINING")]);
    let mut now = 20;
    let mut interval = 2 * CALM_REFRESH_MS;
    for _ in 0..6 {
        now += interval;
        assert_eq!(sidebar.update(Msg::Tick, now), vec![Effect::LoadContracts]);
        let effects = sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(7, "REDLINING")] }, now);
        interval = (interval * 2).min(MAX_REFRESH_MS);
        assert_eq!(effects, vec![Effect::ScheduleTick { in_ms: interval }]);
    }
    assert_eq!(interval, MAX_REFRESH_MS);
    now += interval;
    sidebar.update(Msg::Tick, now);
    let effects = sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(7, "SIGN")] }, now);
    assert_eq!(effects, vec![Effect::ScheduleTick { in_ms: QUICK_REFRESH_MS }], "a change brings it back to quick");
    assert_eq!(sidebar.view(now, 0).contracts[0].updated_text, "updated just now");
    now += QUICK_REFRESH_MS;
    sidebar.update(Msg::Tick, now);
    let effects = sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(7, "EXECUTED")] }, now);
    assert_eq!(effects, vec![Effect::CancelTick], "executed: nothing left to watch");
}

#[test]
fn hidden_sidebars_do_not_refresh() {
    let mut sidebar = ready("contractsent", vec![contract(7, "SIGN")]);
    assert_eq!(sidebar.update(Msg::VisibilityChanged { visible: false }, 100), vec![Effect::CancelTick]);
    for t in [100_000, 1_000_000] {
        assert!(!sidebar.update(Msg::Tick, t).contains(&Effect::LoadContracts));
    }
    assert_eq!(
        sidebar.update(Msg::VisibilityChanged { visible: true }, 2_000_000),
        vec![Effect::LoadContracts],
        "shown again after a while: look at once"
    );
}

#[test]
fn a_record_change_while_hidden_is_read_when_shown_not_before() {
    let mut sidebar = ready("contractsent", vec![contract(7, "SIGN")]);
    sidebar.update(Msg::VisibilityChanged { visible: false }, 100);
    assert!(sidebar.update(Msg::RecordChanged, 200).is_empty(), "hidden: nothing is read");
    let shown = sidebar.update(Msg::VisibilityChanged { visible: true }, 300);
    assert!(shown.contains(&Effect::LoadDeal) && shown.contains(&Effect::LoadContracts), "{shown:?}");
}

#[test]
fn a_record_change_reloads_the_deal_and_rechecks_it_only_when_it_changed() {
    let mut sidebar = ready("contractsent", vec![]);
    preview_ok(&mut sidebar);
    let effects = sidebar.update(Msg::RecordChanged, 500);
    assert_eq!(effects, vec![Effect::LoadDeal, Effect::LoadContracts], "the CRM is asked again, at once");
    sidebar.update(Msg::ContractsLoaded { contracts: vec![] }, 550);
    assert!(
        sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal("contractsent"))) }, 600).is_empty(),
        "same deal: nothing to recheck"
    );
    assert!(sidebar.view(600, 0).create.unwrap().enabled);

    sidebar.update(Msg::RecordChanged, 700);
    let changed = Deal::from_json(
        &json!({"id": "1001", "name": "Acme renewal", "stage": "contractsent", "closeDate": "2026-04-30"}),
    )
    .unwrap();
    let effects = sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&changed)) }, 800);
    assert_eq!(
        effects,
        vec![Effect::LoadPreview { template_id: 1101 }],
        "another deal may fill the template differently"
    );
    assert_eq!(sidebar.view(800, 0).create.unwrap().reasons, ["Checking the deal's fields…"]);
    assert_eq!(sidebar.deal(), Some(&CrmDeal::from(&changed)));
}

#[test]
fn the_host_deal_is_only_a_first_render() {
    // The host may know only the id, or the id and a name; any decision waits for the CRM's deal.
    let mut sidebar = Sidebar::new(Environment::Uat, HostDeal { id: "1001".into(), name: Some("Acme (host)".into()) });
    assert_eq!(sidebar.update(Msg::Start, 0), vec![Effect::LoadFirstView]);
    assert_eq!(sidebar.view(0, 0).deal_name, "Acme (host)");
    sidebar.update(Msg::ConfigLoaded { config: config(&[(1101, "Mutual NDA")]) }, 10);
    sidebar.update(Msg::ContractsLoaded { contracts: vec![] }, 20);
    preview_ok(&mut sidebar);
    let create = sidebar.view(30, 0).create.unwrap();
    assert!(!create.enabled, "no create on the host's word");
    assert_eq!(create.reasons, ["Reading the deal from your CRM…"]);
    assert!(sidebar.update(Msg::CreateClicked, 35).is_empty());

    sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal("appointmentscheduled"))) }, 40);
    let view = sidebar.view(40, 0);
    assert_eq!(view.deal_name, "Acme renewal", "the CRM's name replaces the host's");
    assert_eq!(
        view.create.unwrap().reasons,
        ["Contracts can be created at Contract sent; this deal is at appointmentscheduled."],
        "the stage gate reads the CRM's stage"
    );

    let id_only = Sidebar::new(Environment::Uat, HostDeal { id: "1001".into(), name: None });
    assert_eq!(id_only.view(0, 0).deal_name, "");
    assert_eq!(id_only.deal(), None);
    assert_eq!(id_only.deal_id(), "1001");
}

#[test]
fn hosts_hand_over_an_id_and_perhaps_a_name() {
    assert_eq!(wire::host_deal(&json!({"id": "1001"}), "deal"), Ok(HostDeal { id: "1001".into(), name: None }));
    assert_eq!(
        wire::host_deal(&json!({"id": "006Hs00001AbCdEIAV", "name": "  Acme renewal "}), "deal"),
        Ok(HostDeal { id: "006Hs00001AbCdEIAV".into(), name: Some("Acme renewal".into()) })
    );
    // An older host's whole mapped deal: only the id and name are kept, the rest is never read.
    let older = json!({"id": "1001", "name": "Acme", "stage": "closedwon", "amount": "12,000", "colour": "red"});
    assert_eq!(wire::host_deal(&older, "deal"), Ok(HostDeal { id: "1001".into(), name: Some("Acme".into()) }));
    assert_eq!(wire::host_deal(&json!({"id": "1001", "name": ""}), "deal").map(|d| d.name), Ok(None));
    for (bad, path) in [
        (json!({"name": "Acme"}), "deal.id"),
        (json!({"id": "10 01"}), "deal.id"),
        (json!({"id": 1001}), "deal.id"),
        (json!({"id": "1001", "name": 5}), "deal.name"),
        (json!({"id": "1001", "name": "x".repeat(501)}), "deal.name"),
        (json!("1001"), "deal"),
    ] {
        let error = wire::host_deal(&bad, "deal").unwrap_err();
        assert!(error.starts_with(path), "{bad}: {error}");
    }
}

#[test]
fn a_deal_that_cannot_be_read_is_said_in_a_sellers_words_and_retried() {
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    sidebar.update(Msg::Start, 0);
    sidebar.update(
        Msg::DealFailed { error: crm_error("Pipedrive: the deal does not exist (deleted or merged)", false) },
        5,
    );
    let view = sidebar.view(5, 0);
    assert_eq!(view.phase, view::Phase::Failed);
    let banner = view.banner.unwrap();
    assert_eq!(
        banner.text,
        "This deal couldn't be read from your CRM: Pipedrive: the deal does not exist (deleted or merged)"
    );
    assert!(banner.retry);

    sidebar.update(Msg::ConfigLoaded { config: config(&[(1101, "Mutual NDA")]) }, 10);
    sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(7, "VOIDED")] }, 20);
    preview_ok(&mut sidebar);
    let view = sidebar.view(30, 0);
    assert_eq!(view.phase, view::Phase::Ready, "the contracts still show");
    assert_eq!(view.contracts.len(), 1);
    assert!(view.banner.unwrap().text.starts_with("This deal couldn't be read from your CRM"));
    assert_eq!(view.create.unwrap().reasons, ["The deal couldn't be read from your CRM."]);

    let effects = sidebar.update(Msg::RetryClicked, 40);
    assert!(effects.contains(&Effect::LoadDeal), "{effects:?}");
    assert!(sidebar.view(40, 0).banner.is_none(), "retrying: the error goes");
    sidebar.update(Msg::DealFailed { error: crm_error("HubSpot is down", true) }, 50);
    assert_eq!(sidebar.view(50, 0).banner.unwrap().text, "Your CRM can't be reached right now.");
    sidebar.update(Msg::RetryClicked, 60);
    sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal("contractsent"))) }, 70);
    let view = sidebar.view(70, 0);
    assert!(view.banner.is_none());
    assert!(view.create.unwrap().enabled);
    // Once the deal is in, a retry after another failure does not read it again.
    sidebar.update(
        Msg::ContractsFailed {
            error: RemoteError { code: "timeout".into(), message: "x".into(), problems: vec![], transient: true },
        },
        80,
    );
    assert_eq!(sidebar.update(Msg::RetryClicked, 90), vec![Effect::LoadContracts]);
}

#[test]
fn a_deal_answer_for_another_record_is_refused() {
    let mut sidebar = ready("contractsent", vec![]);
    preview_ok(&mut sidebar);
    let other = Deal::from_json(&json!({"id": "9999", "name": "Other", "stage": "contractsent"})).unwrap();
    sidebar.update(Msg::RecordChanged, 100);
    sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&other)) }, 110);
    assert_eq!(sidebar.deal().map(|d| d.id.as_str()), Some("1001"), "a different record's data is never taken");
    let view = sidebar.view(110, 0);
    assert_eq!(view.banner.unwrap().text, "This deal couldn't be read from your CRM.");
    assert!(!view.create.unwrap().enabled);
}

#[test]
fn old_data_says_how_old_it_is() {
    let mut sidebar = ready("contractsent", vec![contract(7, "SIGN")]);
    assert_eq!(sidebar.view(60_000, 0).freshness, None);
    // 14:02 UTC+1 = 13:02 UTC; read at 13:02:00 UTC.
    let read_at = 46_920_000;
    sidebar.update(Msg::Tick, read_at);
    sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(7, "SIGN")] }, read_at);
    sidebar.update(Msg::VisibilityChanged { visible: false }, read_at + 1);
    sidebar.update(Msg::VisibilityChanged { visible: true }, read_at + 200_000);
    assert_eq!(sidebar.view(read_at + 200_000, 60).freshness.as_deref(), Some("as of 14:02 — refreshing…"));
}

#[test]
fn a_list_the_relay_answered_from_what_it_knew_is_as_old_as_that() {
    let mut sidebar = ready("contractsent", vec![]);
    // Received at 13:05:00 UTC; the relay last knew it at 13:02:00 UTC (14:02 at UTC+1).
    let received = 47_100_000;
    let mut known = contract(7, "SIGN");
    known.as_of = Some("1970-01-01T13:02:00Z".into());
    sidebar.update(Msg::ContractsLoaded { contracts: vec![known] }, received);
    assert_eq!(sidebar.view(received, 60).freshness.as_deref(), Some("as of 14:02 — may be out of date"));
    // Read just now: nothing to say.
    let mut fresh = contract(7, "SIGN");
    fresh.as_of = Some("1970-01-01T13:05:00Z".into());
    sidebar.update(Msg::ContractsLoaded { contracts: vec![fresh] }, received + 1_000);
    assert_eq!(sidebar.view(received + 1_000, 60).freshness, None);
}

#[test]
fn actions_follow_the_status() {
    let mut sidebar = ready("contractsent", vec![contract(9, "EXECUTED"), contract(8, "DRAFT"), contract(7, "VOIDED")]);
    let view = sidebar.view(20, 0);
    let actions = |i: usize| view.contracts[i].actions.iter().map(|a| a.action.as_str()).collect::<Vec<_>>();
    assert_eq!(actions(0), ["open", "download"]);
    assert_eq!(actions(1), ["open", "send", "approvals"]);
    assert_eq!(view.contracts[1].actions[1].label, "Send to counterparty");
    assert_eq!(actions(2), ["open"]);
    assert_eq!(view.contracts[2].tone, view::StatusTone::Muted);
    assert_eq!(
        sidebar.update(Msg::SendClicked { contract_id: ContractId::template(9) }, 30),
        vec![],
        "executed: nothing to send"
    );
    assert_eq!(
        sidebar.update(Msg::DownloadClicked { contract_id: ContractId::template(8) }, 30),
        vec![],
        "draft: nothing to download"
    );
    assert_eq!(
        sidebar.update(Msg::SendClicked { contract_id: ContractId::template(8) }, 30),
        vec![Effect::Send { contract_id: ContractId::template(8) }]
    );
    assert!(sidebar.update(Msg::SendClicked { contract_id: ContractId::template(8) }, 31).is_empty(), "no double send");
    assert_eq!(sidebar.view(31, 0).contracts[1].actions[1].label, "Sending…");
    sidebar.update(Msg::Sent { contract_id: ContractId::template(8), status: ContractStatus::Redlining }, 40);
    let view = sidebar.view(40, 0);
    assert_eq!(view.contracts[1].status_label, "In review");
    assert!(
        view.contracts[1].actions.iter().all(|a| a.action != view::Action::Send),
        "sent for review: the button goes (signatures are requested in SpotDraft)"
    );
    assert_eq!(
        view.banner.unwrap().text,
        "Sent to the counterparty for review. The contract is now In review.",
        "the outcome the seller will see, not a promise of signatures"
    );
    assert_eq!(
        sidebar.update(Msg::DownloadClicked { contract_id: ContractId::template(9) }, 50),
        vec![Effect::Download { contract_id: ContractId::template(9) }]
    );
    let url = "https://storage.googleapis.com/x?signature=abc".to_string();
    assert_eq!(
        sidebar.update(Msg::DownloadReady { contract_id: ContractId::template(9), url: url.clone() }, 60),
        vec![Effect::OpenUrl { url }]
    );
    assert_eq!(
        sidebar.update(Msg::OpenClicked { contract_id: ContractId::template(8) }, 70),
        vec![Effect::OpenUrl { url: "https://app.spotdraft.com/contracts/v2/8".into() }]
    );
}

#[test]
fn nothing_loaded_is_an_error_with_retry() {
    let mut sidebar = Sidebar::new(Environment::Production, host());
    sidebar.update(Msg::Start, 0);
    sidebar.update(
        Msg::ContractsFailed {
            error: RemoteError { code: "network_error".into(), message: "x".into(), problems: vec![], transient: true },
        },
        10,
    );
    let view = sidebar.view(10, 0);
    assert_eq!(view.phase, view::Phase::Failed);
    assert_eq!(view.environment_badge, None, "production carries no badge");
    assert!(view.banner.unwrap().retry);
    assert_eq!(sidebar.update(Msg::RetryClicked, 20), vec![Effect::LoadConfig, Effect::LoadContracts]);
}

#[test]
fn names_stay_text() {
    let mut hostile = contract(5, "DRAFT");
    hostile.name = "<img src=x onerror=alert(1)>".into();
    let sidebar = ready("contractsent", vec![hostile]);
    assert_eq!(sidebar.view(20, 0).contracts[0].name, "<img src=x onerror=alert(1)>");
}

#[test]
fn events_arrive_as_json_from_the_shell_and_answers_never_do() {
    let msg = Msg::from_json(&json!({"type": "sendClicked", "contractId": "T-8"})).unwrap();
    assert_eq!(msg, Msg::SendClicked { contract_id: ContractId::template(8) });
    assert!(Msg::from_json(&json!({"type": "sendClicked", "contractId": "8"})).unwrap_err().starts_with("contractId"));
    assert_eq!(Msg::from_json(&json!({"type": "format-disk"})).unwrap_err(), "unknown message type \"format-disk\"");
    assert!(Msg::from_json(&json!({"contractId": "T-8"})).is_err());
    assert!(Msg::from_json(&json!([1])).is_err());
    assert_eq!(
        Msg::from_json(&json!({"type": "recordChanged", "deal": {"id": "1001", "stage": "closedwon"}})),
        Ok(Msg::RecordChanged),
        "what a host sends along with a change is not read"
    );
    assert_eq!(Msg::from_json(&json!({"type": "recordChanged"})), Ok(Msg::RecordChanged));
    // A shell (or a page script posing as one) cannot hand the sidebar a relay answer.
    for posing in [
        json!({"type": "dealLoaded", "deal": {"id": "1001", "name": "Acme", "stage": "contractsent"}}),
        json!({"type": "previewLoaded", "templateId": 1101, "preview": {"canCreate": true}}),
        json!({"type": "downloadReady", "contractId": "T-8", "url": "https://storage.googleapis.com/x"}),
    ] {
        assert!(Msg::from_json(&posing).unwrap_err().starts_with("unknown message type"), "{posing}");
    }
}

#[test]
fn relay_answers_become_the_next_message() {
    let create = Effect::Create { template_id: 1101 };
    let call = create.relay_call("1001").unwrap();
    assert_eq!((call.method, call.path.as_str()), (Method::Post, "/deals/1001/contracts"));
    // Only the template goes out: the relay reads the deal from the CRM, never from the browser.
    assert_eq!(call.body, Some(json!({"templateId": 1101})));

    let answer = json!({"contract": serde_json::to_value(contract(4, "DRAFT")).unwrap(), "created": true});
    assert_eq!(
        create.outcome(Ok(answer)),
        vec![Msg::Created { contract: Box::new(contract(4, "DRAFT")), created: true }]
    );

    // An answer the state machine cannot read is the effect's failure, not a message that throws.
    match create.outcome(Ok(json!({"contract": {"id": "T-4"}}))).as_slice() {
        [Msg::CreateFailed { error }] => {
            assert_eq!(error.code, "bad_response");
            assert!(error.message.contains("contract.number: is required"), "{}", error.message);
        }
        other => panic!("{other:?}"),
    }

    let send = Effect::Send { contract_id: ContractId::template(4) };
    let busy =
        RemoteError { code: "spotdraft_error".into(), message: "busy".into(), problems: vec![], transient: true };
    assert_eq!(
        send.outcome(Err(busy.clone())),
        vec![Msg::SendFailed { contract_id: ContractId::template(4), error: busy }]
    );
    assert_eq!(
        send.outcome(Ok(json!({"status": "REDLINING"}))),
        vec![Msg::Sent { contract_id: ContractId::template(4), status: ContractStatus::Redlining }]
    );
    assert_eq!(Effect::CancelTick.relay_call("1001"), None);

    // The deal: read from the CRM through the relay, and checked like every canonical deal.
    let load = Effect::LoadDeal;
    let call = load.relay_call("1001").unwrap();
    assert_eq!((call.method, call.path.as_str(), call.body), (Method::Get, "/deals/1001", None));
    assert_eq!(
        load.outcome(Ok(deal("contractsent").to_json())),
        vec![Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal("contractsent"))) }]
    );
    match load.outcome(Ok(json!({"id": "1001", "amount": "lots"}))).as_slice() {
        [Msg::DealFailed { error }] => assert_eq!(error.code, "bad_response"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        load.outcome(Err(crm_error("Zoho CRM: the deal does not exist", false))),
        vec![Msg::DealFailed { error: crm_error("Zoho CRM: the deal does not exist", false) }]
    );
    let preview = Effect::LoadPreview { template_id: 1101 };
    assert_eq!(
        preview.outcome(Ok(json!({"canCreate": false, "problems": [{"path": "deal.stage", "message": "m"}]}))),
        vec![Msg::PreviewLoaded {
            template_id: 1101,
            preview: PreviewResult { can_create: false, problems: vec![Problem::new("deal.stage", "m")] }
        }]
    );
    assert_eq!(Effect::CancelTick.outcome(Ok(json!({}))), vec![]);
}

fn first_view_answer() -> Value {
    json!({
        "config": {"ok": {"environment": "uat", "creationStages": ["contractsent"], "stageLabels": {},
            "templates": [{"templateId": 1101, "label": "Mutual NDA"}], "downloadOrigins": ["https://storage.googleapis.com"]}},
        "deal": {"ok": deal("contractsent").to_json()},
        "contracts": {"ok": [serde_json::to_value(contract(4, "SIGN")).unwrap()]},
        "preview": {"templateId": 1101, "ok": {"canCreate": true, "problems": []}},
    })
}

#[test]
fn the_first_view_arrives_in_one_answer_and_asks_for_nothing_it_holds() {
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    assert_eq!(Effect::LoadFirstView.relay_call("1001").map(|c| c.path), Some("/deals/1001/sidebar".into()));
    let mut effects = Vec::new();
    for msg in Effect::LoadFirstView.outcome(Ok(first_view_answer())) {
        effects.extend(sidebar.update(msg, 10));
    }
    // Nothing asked again: the preview came with it; only the refresh is scheduled.
    assert_eq!(effects, vec![Effect::ScheduleTick { in_ms: CALM_REFRESH_MS * 2 }]);
    let view = sidebar.view(10, 0);
    assert_eq!(view.phase, view::Phase::Ready);
    assert_eq!(view.contracts.len(), 1);
    // Config, the CRM's deal and the preview all arrived; the one slot is filled by the live contract.
    assert_eq!(sidebar.create_blockers(), vec!["Every contract this deal can have is already under way.".to_string()]);
    assert_eq!(view.create, None);
}

#[test]
fn a_part_of_the_first_view_that_failed_fails_alone() {
    let mut answer = first_view_answer();
    answer["deal"] =
        json!({"error": {"code": "crm_error", "message": "Zoho CRM is down", "problems": [], "transient": true}});
    answer["preview"] = Value::Null;
    let messages = Effect::LoadFirstView.outcome(Ok(answer));
    assert!(matches!(&messages[0], Msg::DealFailed { error } if error.code == "crm_error" && error.transient));
    assert!(matches!(&messages[1], Msg::ConfigLoaded { .. }));
    assert!(matches!(&messages[2], Msg::ContractsLoaded { contracts } if contracts.len() == 1));

    let mut garbled = first_view_answer();
    garbled["contracts"] = json!([]);
    let messages = Effect::LoadFirstView.outcome(Ok(garbled));
    assert!(
        matches!(messages.last(), Some(Msg::ContractsFailed { error }) if error.code == "bad_response" && error.message.contains("contracts")),
        "{messages:?}"
    );

    // The whole call failed: every part reports it, so each can be retried.
    let down = crm_error("the relay did not answer in time", true);
    let messages = Effect::LoadFirstView.outcome(Err(down.clone()));
    assert_eq!(
        messages,
        vec![
            Msg::DealFailed { error: down.clone() },
            Msg::ConfigFailed { error: down.clone() },
            Msg::ContractsFailed { error: down }
        ]
    );
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    sidebar.update(Msg::Start, 0);
    for msg in messages {
        sidebar.update(msg, 5);
    }
    let retried = sidebar.update(Msg::RetryClicked, 6);
    assert_eq!(retried, vec![Effect::LoadDeal, Effect::LoadConfig, Effect::LoadContracts]);
}

/// Found by the `sidebar_messages` fuzz target: a message could make the sidebar open, or render
/// as a link, a URL that is not https (`javascript:` runs in the sidebar's origin).
#[test]
fn only_https_links_are_opened_or_rendered() {
    let mut hostile = contract(8, "EXECUTED");
    hostile.link = "javascript:alert(document.domain)".into();
    let mut sidebar = ready("contractsent", vec![hostile]);
    let href = sidebar.view(30, 0).contracts[0].actions.iter().find_map(|a| a.href.clone());
    assert_eq!(href.as_deref(), Some("https://app.spotdraft.com/contracts/v2/8"));
    assert_eq!(
        sidebar.update(Msg::OpenClicked { contract_id: ContractId::template(8) }, 40),
        vec![Effect::OpenUrl { url: "https://app.spotdraft.com/contracts/v2/8".into() }]
    );
    for url in ["javascript:alert(1)", "data:text/html,x", "http://storage.example/x.pdf", "httpstats://x/y"] {
        sidebar.update(Msg::DownloadClicked { contract_id: ContractId::template(8) }, 50);
        let effects = sidebar.update(Msg::DownloadReady { contract_id: ContractId::template(8), url: url.into() }, 60);
        assert!(effects.is_empty(), "{url}: {effects:?}");
        let banner = sidebar.view(60, 0).banner.map(|b| b.text).unwrap_or_default();
        assert!(banner.contains("was not opened"), "{url}: {banner}");
    }
}

#[test]
fn downloads_open_only_on_the_configured_https_origins() {
    let mut sidebar = ready("contractsent", vec![contract(8, "EXECUTED")]);
    let id = ContractId::template(8);
    let good = "https://storage.googleapis.com/bucket/nda.pdf?signature=abc";
    for (url, opens) in [
        (good, true),
        ("javascript:alert(document.domain)", false),
        ("http://storage.googleapis.com/bucket/nda.pdf", false),
        ("https://evil.example/nda.pdf", false),
        ("https://storage.googleapis.com.evil.example/nda.pdf", false),
        ("https://storage.googleapis.com@evil.example/nda.pdf", false),
    ] {
        assert_eq!(
            sidebar.update(Msg::DownloadClicked { contract_id: id }, 100),
            vec![Effect::Download { contract_id: id }]
        );
        let effects = sidebar.update(Msg::DownloadReady { contract_id: id, url: url.into() }, 110);
        if opens {
            assert_eq!(effects, vec![Effect::OpenUrl { url: url.into() }], "{url}");
        } else {
            assert!(effects.iter().all(|e| !matches!(e, Effect::OpenUrl { .. })), "{url} must not open: {effects:?}");
            let banner = sidebar.view(120, 0).banner.map(|b| b.text).unwrap_or_default();
            assert!(banner.contains("was not opened"), "{url}: {banner}");
        }
    }
}

#[test]
fn a_download_before_the_config_arrived_is_not_opened() {
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    sidebar.update(Msg::Start, 0);
    sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(8, "EXECUTED")] }, 5);
    let id = ContractId::template(8);
    sidebar.update(Msg::DownloadClicked { contract_id: id }, 10);
    let effects = sidebar
        .update(Msg::DownloadReady { contract_id: id, url: "https://storage.googleapis.com/b/nda.pdf".into() }, 20);
    assert!(effects.iter().all(|e| !matches!(e, Effect::OpenUrl { .. })), "{effects:?}");
}

#[test]
fn contract_links_other_than_spotdraft_https_are_replaced_before_showing_or_opening() {
    let mut hostile = contract(9, "DRAFT");
    for link in [
        "javascript:alert(1)",
        "http://app.spotdraft.com/contracts/v2/9",
        "https://evil.example/contracts/v2/9",
        "https://app.spotdraft.com@evil.example/contracts/v2/9",
    ] {
        hostile.link = link.into();
        let mut sidebar = ready("contractsent", vec![hostile.clone()]);
        let view = sidebar.view(30, 0);
        let href = view.contracts[0].actions[0].href.clone().unwrap_or_default();
        assert_eq!(href, "https://app.spotdraft.com/contracts/v2/9", "{link}");
        let effects = sidebar.update(Msg::OpenClicked { contract_id: hostile.id }, 40);
        assert_eq!(effects, vec![Effect::OpenUrl { url: "https://app.spotdraft.com/contracts/v2/9".into() }], "{link}");
    }
}

#[test]
fn the_send_notice_names_the_counterparty() {
    let mut draft = contract(8, "DRAFT");
    draft.counterparty_name = Some("Acme Widgets, Inc.".into());
    let mut sidebar = ready("contractsent", vec![draft]);
    sidebar.update(Msg::SendClicked { contract_id: ContractId::template(8) }, 30);
    sidebar.update(Msg::Sent { contract_id: ContractId::template(8), status: ContractStatus::Redlining }, 40);
    assert_eq!(
        sidebar.view(40, 0).banner.unwrap().text,
        "Sent to Acme Widgets, Inc. for review. The contract is now In review."
    );
}

#[test]
fn a_success_notice_goes_when_a_status_changes_or_after_a_while() {
    let mut sidebar = ready("contractsent", vec![]);
    preview_ok(&mut sidebar);
    sidebar.update(Msg::CreateClicked, 40);
    sidebar.update(Msg::Created { contract: Box::new(contract(4301, "DRAFT")), created: true }, 1_000);
    assert!(sidebar.view(1_000, 0).banner.is_some());
    assert!(sidebar.view(1_000 + NOTICE_SHOWN_MS - 1, 0).banner.is_some());
    assert!(sidebar.view(1_000 + NOTICE_SHOWN_MS, 0).banner.is_none(), "it reported a click; it goes");

    // A refresh that finds the same status keeps it; one that finds a new status removes it at once.
    sidebar.update(Msg::Created { contract: Box::new(contract(4301, "DRAFT")), created: false }, 2_000);
    sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(4301, "DRAFT")] }, 3_000);
    assert!(sidebar.view(3_000, 0).banner.is_some());
    sidebar.update(Msg::ContractsLoaded { contracts: vec![contract(4301, "REDLINING")] }, 4_000);
    assert!(sidebar.view(4_000, 0).banner.is_none(), "never a stale success next to a new status");
}

#[test]
fn times_say_when_the_contract_moved_not_when_it_was_created() {
    let now = crate::time::parse_timestamp("2026-12-02T12:00:00Z").unwrap() as u64 / 1000;
    let mut executed = contract(9, "EXECUTED");
    executed.created = Some("2026-11-01T09:00:00Z".into());
    executed.status_at = Some("2026-11-29T12:00:00Z".into());
    executed.executed_at = Some("2026-11-29T11:59:00Z".into());
    let mut in_review = contract(8, "REDLINING");
    in_review.status_at = Some("2026-12-02T11:57:00Z".into());
    let mut unknown_execution = contract(7, "EXECUTED");
    unknown_execution.created = Some("2026-12-02T11:56:00Z".into());
    let draft = contract(6, "DRAFT");
    let sidebar = ready("contractsent", vec![executed, in_review, unknown_execution, draft]);
    let texts: Vec<String> = sidebar.view(now, 0).contracts.into_iter().map(|c| c.updated_text).collect();
    assert_eq!(texts, ["executed 3 days ago", "updated 3 min ago", "executed", "created 335 days ago"]);
}

/// A relay stand-in for the session's loop: answers in order, and remembers what was asked.
struct ScriptedRelay {
    answers: std::cell::RefCell<std::collections::VecDeque<(u16, Value)>>,
    asked: std::cell::RefCell<Vec<crate::transport::HttpRequest>>,
}

impl ScriptedRelay {
    fn new(answers: Vec<(u16, Value)>) -> ScriptedRelay {
        ScriptedRelay { answers: std::cell::RefCell::new(answers.into()), asked: Default::default() }
    }
}

impl crate::transport::Transport for &ScriptedRelay {
    async fn send(
        &self,
        request: crate::transport::HttpRequest,
    ) -> Result<crate::transport::HttpResponse, crate::transport::TransportError> {
        self.asked.borrow_mut().push(request);
        let (status, body) = self.answers.borrow_mut().pop_front().expect("the test scripted an answer for every call");
        Ok(crate::transport::HttpResponse {
            status,
            headers: vec![],
            body: crate::json_output::to_text(&body).into_bytes(),
        })
    }
    async fn sleep(&self, _ms: u64) {}
    fn now_ms(&self) -> u64 {
        1_800_000_000_000
    }
}

struct Renews(&'static str);

impl HostSession for Renews {
    async fn fresh_token(&self) -> Option<String> {
        Some(self.0.to_string())
    }
}

fn session(relay: &ScriptedRelay) -> SidebarSession<&ScriptedRelay> {
    let init = json!({"environment": "uat", "relayUrl": "http://127.0.0.1:9/", "token": "first"});
    SidebarSession::new(relay, &init, &json!({"id": "1001", "name": "Acme (host)"})).unwrap()
}

/// The one call an output hands the shell, by name.
fn call_id(output: &Value, name: &str) -> u32 {
    let effects = output["effects"].as_array().unwrap();
    let call = effects.iter().find(|e| e["type"] == "call" && e["call"] == name).unwrap_or_else(|| panic!("{output}"));
    u32::try_from(call["id"].as_u64().unwrap()).unwrap()
}

#[test]
fn the_session_runs_the_whole_loop_and_the_shell_only_forwards() {
    let relay = ScriptedRelay::new(vec![(200, first_view_answer())]);
    let sidebar = session(&relay);
    let started = sidebar.update(&json!({"type": "start"})).unwrap();
    assert_eq!(started["effects"], json!([{"type": "call", "id": 1, "call": "loadFirstView"}]));
    assert_eq!(started["view"]["phase"], "loading");
    let shown = pollster::block_on(sidebar.perform(1, &())).unwrap();
    assert_eq!(shown["view"]["phase"], "ready");
    assert_eq!(shown["view"]["contracts"].as_array().map(Vec::len), Some(1));
    assert_eq!(shown["effects"], json!([{"type": "scheduleTick", "inMs": CALM_REFRESH_MS * 2}]));
    let asked = relay.asked.borrow();
    assert_eq!(asked.len(), 1, "one round trip for the first view");
    assert_eq!(asked[0].url, "http://127.0.0.1:9/api/uat/deals/1001/sidebar");
    assert_eq!(asked[0].header("authorization"), Some("Bearer first"));
    drop(asked);
    // A call runs once, and only a call the sidebar handed out runs at all.
    for id in [1, 2, 999] {
        let refused = pollster::block_on(sidebar.perform(id, &())).unwrap_err();
        assert_eq!(refused.code(), "invalid_input", "{refused}");
    }
    assert_eq!(relay.asked.borrow().len(), 1);
}

#[test]
fn an_expired_session_is_renewed_once_by_the_host_and_the_call_retried() {
    let expired = json!({"error": {"code": "unauthorized", "message": "the session expired", "problems": [], "transient": false}});
    let relay = ScriptedRelay::new(vec![
        (200, first_view_answer()),
        (401, expired.clone()),
        (200, deal("contractsent").to_json()),
        (200, json!([serde_json::to_value(contract(4, "SIGN")).unwrap()])),
    ]);
    let sidebar = session(&relay);
    let started = sidebar.update(&json!({"type": "start"})).unwrap();
    pollster::block_on(sidebar.perform(call_id(&started, "loadFirstView"), &())).unwrap();
    let changed = sidebar.update(&json!({"type": "recordChanged"})).unwrap();
    let reread = pollster::block_on(sidebar.perform(call_id(&changed, "loadDeal"), &Renews("second"))).unwrap();
    assert!(reread["view"]["banner"].is_null(), "{reread}");
    let asked = relay.asked.borrow();
    assert_eq!(asked[1].header("authorization"), Some("Bearer first"));
    assert_eq!(asked[2].header("authorization"), Some("Bearer second"), "retried with the host's fresh token");
    drop(asked);
    pollster::block_on(sidebar.perform(call_id(&changed, "loadContracts"), &())).unwrap();
    assert_eq!(relay.asked.borrow()[3].header("authorization"), Some("Bearer second"), "and kept");

    // A host with no fresh session to give: the failure stands, worded for the seller.
    let relay = ScriptedRelay::new(vec![(401, expired)]);
    let sidebar = session(&relay);
    let started = sidebar.update(&json!({"type": "start"})).unwrap();
    let failed = pollster::block_on(sidebar.perform(call_id(&started, "loadFirstView"), &())).unwrap();
    assert_eq!(failed["view"]["banner"]["tone"], "error", "{failed}");
    assert_eq!(relay.asked.borrow().len(), 1);
}

#[test]
fn a_session_refuses_bad_input_by_name() {
    let relay = ScriptedRelay::new(vec![]);
    let init = |extra: Value| {
        let mut init = json!({"environment": "uat", "relayUrl": "http://127.0.0.1:9", "token": "t"});
        if let (Some(map), Value::Object(more)) = (init.as_object_mut(), extra) {
            map.extend(more);
        }
        init
    };
    let deal = json!({"id": "1001"});
    let problem = |init: Value, deal: &Value| SidebarSession::new(&relay, &init, deal).err().map(|e| e.to_string());
    assert!(problem(init(json!({"colour": "red"})), &deal).unwrap().contains("init.colour"));
    assert!(problem(init(json!({"environment": "prod"})), &deal).unwrap().contains("init.environment"));
    assert!(problem(init(json!({"tzOffsetMinutes": 100_000})), &deal).unwrap().contains("init.tzOffsetMinutes"));
    assert!(problem(init(json!({"relayUrl": "http://relay.example"})), &deal).unwrap().contains("relayUrl"));
    assert!(problem(init(json!({})), &json!({"id": "10 01"})).unwrap().contains("deal.id"));
    let sidebar = SidebarSession::new(&relay, &init(json!({})), &deal).unwrap();
    let refused = sidebar.update(&json!({"type": "dealLoaded", "deal": {}})).unwrap_err();
    assert!(refused.to_string().contains("unknown message type"), "{refused}");
    assert!(relay.asked.borrow().is_empty());
}

#[test]
fn several_contracts_per_deal_create_is_offered_for_the_free_slots_only() {
    let mut config = config(&[(1101, "Mutual NDA"), (1102, "Master Services Agreement")]);
    for template in &mut config.templates {
        template.slot = Some(format!("template:{}", template.template_id));
    }
    let in_slot = |number: u64, status: &str, template: u64| ContractSummary {
        slot: Some(format!("template:{template}")),
        template_id: Some(template),
        ..contract(number, status)
    };
    let mut sidebar = Sidebar::new(Environment::Uat, host());
    sidebar.update(Msg::Start, 0);
    sidebar.update(Msg::DealLoaded { deal: Box::new(CrmDeal::from(&deal("contractsent"))) }, 5);
    sidebar.update(Msg::ConfigLoaded { config }, 10);
    let effects = sidebar.update(Msg::ContractsLoaded { contracts: vec![in_slot(4, "EXECUTED", 1101)] }, 20);
    // The one template left is chosen for the seller (with one, there is no picker to choose with).
    assert!(effects.contains(&Effect::LoadPreview { template_id: 1102 }), "{effects:?}");
    let create = sidebar.view(20, 0).create.unwrap();
    assert!(!create.show_picker);
    assert_eq!(create.label, "Create Master Services Agreement", "the button says which contract it makes");
    let offered = |sidebar: &Sidebar| -> Vec<u64> {
        sidebar.view(30, 0).create.map(|c| c.templates.iter().map(|t| t.template_id).collect()).unwrap_or_default()
    };
    assert_eq!(offered(&sidebar), vec![1102], "the executed NDA fills its slot; the MSA's is free");
    // A template whose slot is filled cannot be chosen into a create.
    assert_eq!(sidebar.update(Msg::TemplateSelected { template_id: 1101 }, 30), vec![]);
    assert_eq!(sidebar.create_blockers(), vec!["Checking the deal's fields…".to_string()]);
    sidebar.update(
        Msg::PreviewLoaded { template_id: 1102, preview: PreviewResult { can_create: true, problems: vec![] } },
        34,
    );
    assert_eq!(sidebar.update(Msg::CreateClicked, 35), vec![Effect::Create { template_id: 1102 }]);
    sidebar.update(Msg::Created { contract: Box::new(in_slot(5, "DRAFT", 1102)), created: true }, 40);
    assert_eq!(offered(&sidebar), Vec::<u64>::new(), "both slots filled: no Create");
    assert_eq!(sidebar.view(41, 0).contracts.len(), 2, "both contracts are listed");
    // A voided MSA frees its slot again.
    sidebar
        .update(Msg::ContractsLoaded { contracts: vec![in_slot(5, "VOIDED", 1102), in_slot(4, "EXECUTED", 1101)] }, 50);
    assert_eq!(offered(&sidebar), vec![1102]);
}

fn candidate(number: u64, linkable: Linkable) -> LinkCandidate {
    let mut found = contract(number, "SIGN");
    found.counterparty_name = Some("Globex".into());
    LinkCandidate { contract: found, linkable }
}

#[test]
fn a_contract_made_in_spotdraft_is_found_and_linked_once() {
    let mut sidebar = ready("contractsent", vec![]);
    // Too short to search: nothing asked.
    assert!(sidebar.update(Msg::Link(LinkMsg::Searched { query: " g ".into() }), 40).is_empty());
    let effects = sidebar.update(Msg::Link(LinkMsg::Searched { query: " Globex ".into() }), 41);
    assert_eq!(effects, vec![Effect::Link(LinkEffect::Search { query: "Globex".into() })]);
    let call = effects[0].relay_call("1001").unwrap();
    assert_eq!(call.path, "/deals/1001/linkable?query=Globex");
    assert!(sidebar.view(42, 0).link.unwrap().searching);
    // An answer to an older search is not shown.
    sidebar
        .update(Msg::Link(LinkMsg::Found { query: "Glo".into(), candidates: vec![candidate(7, Linkable::Free)] }), 43);
    assert_eq!(sidebar.view(43, 0).link.unwrap().results, None);
    let found = vec![candidate(7, Linkable::Free), candidate(8, Linkable::Elsewhere), candidate(9, Linkable::Voided)];
    sidebar.update(Msg::Link(LinkMsg::Found { query: "Globex".into(), candidates: found }), 44);
    let link = sidebar.view(44, 0).link.unwrap();
    let results = link.results.unwrap();
    assert_eq!((results[0].updated_text.as_str(), results[0].status_label.as_str()), ("Globex", "Out for signature"));
    assert_eq!(results[0].actions.iter().map(|a| a.label.as_str()).collect::<Vec<_>>(), vec!["Link"]);
    assert_eq!(results[1].updated_text, "Linked to another record");
    assert!(results[1].actions.is_empty() && results[2].actions.is_empty());
    // Only a free one is linked, once however often it is clicked.
    assert!(sidebar.update(Msg::Link(LinkMsg::Clicked { contract_id: ContractId::template(8) }), 45).is_empty());
    let link_call = sidebar.update(Msg::Link(LinkMsg::Clicked { contract_id: ContractId::template(7) }), 45);
    assert_eq!(link_call, vec![Effect::Link(LinkEffect::Link { contract_id: ContractId::template(7) })]);
    assert!(sidebar.update(Msg::Link(LinkMsg::Clicked { contract_id: ContractId::template(7) }), 46).is_empty());
    let body = link_call[0].relay_call("1001").unwrap().body.unwrap();
    assert_eq!(body, json!({"contractId": "T-7"}));
    sidebar.update(Msg::Link(LinkMsg::Linked { contract: Box::new(contract(7, "SIGN")) }), 47);
    let view = sidebar.view(47, 0);
    assert_eq!(view.contracts.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec!["T-7"]);
    assert!(view.banner.unwrap().text.contains("is now linked to this deal"));
    // The deal holds its one contract now: nothing more to link or create.
    assert!(view.link.is_none() && view.create.is_none());
}

#[test]
fn a_refused_link_says_why_in_the_relays_words() {
    let mut sidebar = ready("contractsent", vec![]);
    sidebar.update(Msg::Link(LinkMsg::Searched { query: "Globex".into() }), 40);
    sidebar.update(
        Msg::Link(LinkMsg::Found { query: "Globex".into(), candidates: vec![candidate(7, Linkable::Free)] }),
        41,
    );
    sidebar.update(Msg::Link(LinkMsg::Clicked { contract_id: ContractId::template(7) }), 42);
    let conflict = RemoteError {
        code: "conflict".into(),
        message: "T-7 is already linked to another CRM record; unlink it in SpotDraft first".into(),
        problems: vec![],
        transient: false,
    };
    sidebar.update(Msg::Link(LinkMsg::Failed { error: conflict }), 43);
    let link = sidebar.view(43, 0).link.unwrap();
    assert_eq!(
        link.message.as_deref(),
        Some("T-7 is already linked to another CRM record; unlink it in SpotDraft first")
    );
    assert_eq!(link.results.unwrap()[0].actions.first().map(|a| a.enabled), Some(true), "it may be tried again");
    sidebar.update(Msg::Link(LinkMsg::Searched { query: "Nothing".into() }), 44);
    sidebar.update(Msg::Link(LinkMsg::Found { query: "Nothing".into(), candidates: vec![] }), 45);
    assert_eq!(sidebar.view(45, 0).link.unwrap().message.as_deref(), Some("No SpotDraft contract matches “Nothing”."));
}

#[test]
fn link_answers_are_read_once_into_their_messages() {
    let search = Effect::Link(LinkEffect::Search { query: "Globex".into() });
    let answer = json!([{"contract": contract(7, "SIGN").to_json(), "linkable": "free"}]);
    assert_eq!(
        search.outcome(Ok(answer)),
        vec![Msg::Link(LinkMsg::Found {
            query: "Globex".into(),
            candidates: vec![LinkCandidate { contract: contract(7, "SIGN"), linkable: Linkable::Free }]
        })]
    );
    let bad = search.outcome(Ok(json!([{"contract": contract(7, "SIGN").to_json(), "linkable": "maybe"}])));
    assert!(
        matches!(&bad[..], [Msg::Link(LinkMsg::SearchFailed { error })] if error.code == "bad_response" && error.message.contains("linkable"))
    );
    let linked = Effect::Link(LinkEffect::Link { contract_id: ContractId::template(7) })
        .outcome(Ok(json!({"contract": contract(7, "SIGN").to_json(), "linked": true})));
    assert_eq!(linked, vec![Msg::Link(LinkMsg::Linked { contract: Box::new(contract(7, "SIGN")) })]);
    let event = Msg::from_json(&json!({"type": "linkClicked", "contractId": "T-7"})).unwrap();
    assert_eq!(event, Msg::Link(LinkMsg::Clicked { contract_id: ContractId::template(7) }));
}

#[test]
fn approvals_are_shown_on_request_and_requested_once_when_spotdraft_would_take_them() {
    use crate::approvals::ApprovalsView;
    let id = ContractId::template(8);
    let mut sidebar = ready("contractsent", vec![contract(8, "DRAFT")]);
    assert_eq!(
        sidebar.update(Msg::ApprovalsClicked { contract_id: id }, 10),
        vec![Effect::LoadApprovals { contract_id: id }]
    );
    let loading = sidebar.view(11, 0);
    let button = loading.contracts[0].actions.iter().find(|a| a.action == view::Action::Approvals).unwrap();
    assert!(button.busy && button.label == "Hide approvals");
    // Nothing requestable yet: no request effect, whatever the shell sends.
    assert_eq!(sidebar.update(Msg::RequestApprovalClicked { contract_id: id }, 12), vec![]);
    let shown = ApprovalsView {
        steps: vec!["Legal · Jane Legal: Approved".into()],
        can_request: true,
        request_label: Some("Request Legal".into()),
        reason: None,
    };
    sidebar.update(Msg::ApprovalsLoaded { contract_id: id, view: Box::new(shown.clone()), requested: false }, 13);
    let view = sidebar.view(14, 0);
    assert_eq!(view.contracts[0].approvals.as_ref().unwrap().steps, ["Legal · Jane Legal: Approved"]);
    let request = view.contracts[0].actions.iter().find(|a| a.action == view::Action::RequestApproval).unwrap();
    assert!(request.enabled && request.label == "Request Legal");
    assert_eq!(
        sidebar.update(Msg::RequestApprovalClicked { contract_id: id }, 15),
        vec![Effect::RequestApprovals { contract_id: id }]
    );
    assert_eq!(sidebar.update(Msg::RequestApprovalClicked { contract_id: id }, 16), vec![], "one request at a time");
    let pending = ApprovalsView { can_request: false, reason: Some("in progress".into()), ..shown };
    sidebar.update(Msg::ApprovalsLoaded { contract_id: id, view: Box::new(pending), requested: true }, 17);
    let after = sidebar.view(18, 0);
    assert_eq!(after.banner.as_ref().map(|b| b.text.as_str()), Some("Approval requested in SpotDraft."));
    assert!(!after.contracts[0].actions.iter().find(|a| a.action == view::Action::RequestApproval).unwrap().enabled);
    // The record changed (an approver decided): the shown approvals are read again.
    assert!(sidebar.update(Msg::RecordChanged, 19).contains(&Effect::LoadApprovals { contract_id: id }));
    // Hidden again: gone from the view.
    sidebar.update(Msg::ApprovalsClicked { contract_id: id }, 20);
    assert!(sidebar.view(21, 0).contracts[0].approvals.is_none());
}
