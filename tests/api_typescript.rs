//! The full JS API's TypeScript for the values it hands out (the configuration as read, a preview
//! and the create request in it, SpotDraft's template metadata and webhook subscriptions, a verified
//! webhook event) is generated from the Rust declarations by ts-rs, which reads serde's names, and the
//! package carries it as `wasm/src/api.generated.d.ts`. This fails when that file is not what the
//! declarations generate; `SDX_WRITE_TYPESCRIPT=1 cargo test --features typescript --test
//! api_typescript` rewrites it. (The sidebar's types come from `shell_types`, and documents an admin
//! writes, read by the configuration reader, keep their TypeScript in `wasm/src/typescript.rs`.)

use std::path::Path;

use spotdraft_crm::config::{
    AdHocApproval, ApiTarget, Config, CrmConnection, DealField, DurationUnit, Encoding, FieldMapping, FieldSource,
    Region, TemplateConfig,
};
use spotdraft_crm::mapping::{Preview, PreviewField};
use spotdraft_crm::model::CrmHost;
use spotdraft_crm::slots::ContractsPerDeal;
use spotdraft_crm::spotdraft::js_options::{ClientOptionsInput, CredentialsInput, ListQueryInput, SendOptionsInput};
use spotdraft_crm::spotdraft::types::{
    CounterParty, CreateContractRequest, ExternalMetadata, OrganizationAddress, OrganizationDetails, PocDetails,
    TemplateAttribute, TemplateMetadata, TemplateOption, TemplateSummary, WebhookSubscription,
};
use spotdraft_crm::webhook::WebhookEvent;
use ts_rs::TS;

fn declarations() -> String {
    // JS numbers: every id and count the API hands out is far below 2^53.
    let config = ts_rs::Config::new().with_large_int("number");
    let declarations = [
        <serde_json::Value as TS>::decl(&config),
        CrmHost::decl(&config),
        Region::decl(&config),
        Config::decl(&config),
        CrmConnection::decl(&config),
        ApiTarget::decl(&config),
        TemplateConfig::decl(&config),
        AdHocApproval::decl(&config),
        FieldMapping::decl(&config),
        FieldSource::decl(&config),
        DealField::decl(&config),
        Encoding::decl(&config),
        DurationUnit::decl(&config),
        ContractsPerDeal::decl(&config),
        Preview::decl(&config),
        PreviewField::decl(&config),
        TemplateSummary::decl(&config),
        TemplateMetadata::decl(&config),
        TemplateAttribute::decl(&config),
        TemplateOption::decl(&config),
        CreateContractRequest::decl(&config),
        CounterParty::decl(&config),
        PocDetails::decl(&config),
        OrganizationDetails::decl(&config),
        OrganizationAddress::decl(&config),
        ExternalMetadata::decl(&config),
        WebhookSubscription::decl(&config),
        WebhookEvent::decl(&config),
        ClientOptionsInput::decl(&config),
        CredentialsInput::decl(&config),
        SendOptionsInput::decl(&config),
        ListQueryInput::decl(&config),
    ];
    let mut out =
        String::from("// Generated from the Rust declarations by ts-rs (tests/api_typescript.rs); do not edit.\n");
    for declaration in declarations {
        out.push_str("export ");
        out.push_str(declaration.trim());
        out.push('\n');
    }
    out
}

#[test]
fn the_apis_typescript_is_generated_from_the_declarations() {
    let generated = declarations();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("wasm/src/api.generated.d.ts");
    if std::env::var_os("SDX_WRITE_TYPESCRIPT").is_some() {
        std::fs::write(&path, &generated).expect("write the generated TypeScript");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "wasm/src/api.generated.d.ts is not what the declarations generate; run \
         `SDX_WRITE_TYPESCRIPT=1 cargo test --features typescript --test api_typescript` and commit it.\n\
         --- generated ---\n{generated}"
    );
    // Spot checks of shapes the package promises.
    assert!(generated.contains("type ApiTarget = "), "{generated}");
    assert!(generated.contains("canCreate: boolean"), "{generated}");
    assert!(generated.contains("problems: Array<Problem>"), "{generated}");
}
