//! The sidebar package's TypeScript for what crosses between the sidebar and its shell is generated
//! from the Rust declarations (`spotdraft_crm::sidebar::typescript`, built by `shell_types`), and the
//! package carries it as `wasm/src/sidebar.generated.d.ts`. This fails when that file is not what
//! the declarations generate; `SDX_WRITE_TYPESCRIPT=1 cargo test --test shell_typescript` rewrites it.

use std::path::Path;

use serde_json::json;
use spotdraft_crm::json_output::ToJson;
use spotdraft_crm::model::ContractId;
use spotdraft_crm::shell_types::FromShell;
use spotdraft_crm::sidebar::{
    typescript, Action, ActionView, Banner, BannerTone, CallName, ContractView, CreateView, Event, LinkView, Phase,
    ShellEffect, SidebarOutput, StatusTone, TemplateOption, ViewModel,
};

#[test]
fn the_shells_typescript_is_generated_from_the_declarations() {
    let generated = typescript();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("wasm/src/sidebar.generated.d.ts");
    if std::env::var_os("SDX_WRITE_TYPESCRIPT").is_some() {
        std::fs::write(&path, &generated).expect("write the generated TypeScript");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "wasm/src/sidebar.generated.d.ts is not what the declarations generate; run \
         `SDX_WRITE_TYPESCRIPT=1 cargo test --test shell_typescript` and commit it.\n--- generated ---\n{generated}"
    );
    // Spot checks of the shapes the shell relies on.
    assert!(generated.contains(r#"{ type: "call"; id: number; call: SidebarCallName; }"#), "{generated}");
    assert!(generated.contains("export type SidebarPhase = \"loading\" | \"ready\" | \"failed\";"), "{generated}");
    assert!(generated.contains("banner: SidebarBanner | null;"), "{generated}");
    assert!(generated.contains("actions: SidebarAction[];"), "{generated}");
}

/// Every output, written and read back through the same declaration, is what it was: the writer and
/// the reader (and so the TypeScript) name the same keys.
#[test]
fn what_the_sidebar_writes_reads_back_through_its_declaration() {
    let view = ViewModel {
        phase: Phase::Ready,
        environment_badge: Some("UAT".into()),
        deal_name: "Acme – Müller renewal".into(),
        banner: Some(Banner {
            tone: BannerTone::Success,
            text: "Contract created in SpotDraft.".into(),
            details: vec!["one".into()],
            retry: false,
            dismissible: true,
        }),
        freshness: None,
        create: Some(CreateView {
            templates: vec![TemplateOption { template_id: 101, label: "Mutual NDA".into(), selected: true }],
            show_picker: false,
            label: "Create contract".into(),
            enabled: false,
            busy: false,
            reasons: vec!["Choose a template.".into()],
        }),
        contracts: vec![ContractView {
            id: "T-9".into(),
            name: "Mutual NDA".into(),
            status_label: "Draft".into(),
            tone: StatusTone::Neutral,
            updated_text: "created just now".into(),
            actions: vec![ActionView {
                action: Action::Open,
                href: Some("https://app.spotdraft.com/contracts/v2/9".into()),
                label: "Open in SpotDraft".into(),
                enabled: true,
                busy: false,
            }],
            approvals: Some(spotdraft_crm::approvals::ApprovalsView {
                steps: vec!["Legal · Jane Legal: Pending".into()],
                can_request: false,
                request_label: Some("Request Legal".into()),
                reason: Some("An approval is in progress.".into()),
            }),
        }],
        empty_text: None,
        link: Some(LinkView {
            query: "Globex".into(),
            searching: false,
            results: Some(vec![ContractView {
                id: "T-7".into(),
                name: "Globex paper NDA".into(),
                status_label: "Out for signature".into(),
                tone: StatusTone::Warning,
                updated_text: "Globex".into(),
                actions: vec![ActionView {
                    action: Action::Link,
                    href: None,
                    label: "Link".into(),
                    enabled: true,
                    busy: false,
                }],
                approvals: None,
            }]),
            message: None,
        }),
    };
    let output = SidebarOutput {
        view,
        effects: vec![
            ShellEffect::ScheduleTick { in_ms: 3000 },
            ShellEffect::CancelTick {},
            ShellEffect::OpenUrl { url: "https://storage.googleapis.com/x.pdf".into() },
            ShellEffect::Call { id: 7, call: CallName::Download },
        ],
    };
    let written = output.to_json();
    assert_eq!(written["effects"][3], json!({"type": "call", "id": 7, "call": "download"}));
    assert_eq!(written["view"]["banner"]["tone"], "success");
    assert!(written["view"]["freshness"].is_null(), "absent values are written as null");
    assert_eq!(SidebarOutput::from_value(&written, ""), Ok(output));

    let event = Event::SendClicked { contract_id: ContractId::template(8) };
    assert_eq!(event.to_json(), json!({"type": "sendClicked", "contractId": "T-8"}));
    assert_eq!(Event::from_value(&event.to_json(), ""), Ok(event));
    assert_eq!(
        Event::from_value(&json!({"type": "templateSelected", "templateId": -1}), ""),
        Err("templateId: expected a non-negative integer, found a number".into())
    );
    assert_eq!(
        SidebarOutput::from_value(&json!({"view": {"phase": "idle"}, "effects": []}), ""),
        Err("view.phase: \"idle\" is not one of loading, ready, failed".into())
    );
}
