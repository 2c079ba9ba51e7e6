//! Provisioning's reading of the CRMs' field lists and create answers, with a scripted transport:
//! every odd answer is a clear error that names the CRM, a refused create stops the run, and
//! Pipedrive's pages are followed to the end.

mod support;

use serde_json::json;
use spotdraft_crm::crm::{provision_fields, CrmEndpoint, FieldNames, StepAction};
use spotdraft_crm::model::CrmHost;
use spotdraft_crm::Error;
use support::{Reply, ScriptedTransport};

fn endpoint(host: CrmHost) -> CrmEndpoint {
    CrmEndpoint { host, base_url: "https://crm.example".into(), token: "token-1".into(), timeout_ms: 8_000 }
}

fn names(prefix: &str) -> FieldNames {
    FieldNames {
        contract_id: format!("{prefix}contract_id"),
        status: format!("{prefix}status"),
        status_at: format!("{prefix}status_at"),
        link: format!("{prefix}link"),
        executed_at: format!("{prefix}executed_at"),
    }
}

fn crm_message(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Crm { message, .. }) => message,
        other => panic!("expected a CRM error, got {other:?}"),
    }
}

#[test]
fn hubspot_answers_without_a_results_list_are_named() {
    let transport =
        ScriptedTransport::new().expect("GET /crm/v3/properties/deals", Reply::Json(200, json!({"items": []})));
    let result =
        pollster::block_on(provision_fields(&transport, &endpoint(CrmHost::Hubspot), &names("sd_"), &[], true));
    assert_eq!(crm_message(result), "HubSpot: the answer has no results list");
}

#[test]
fn a_refused_create_stops_the_run_with_the_crms_words() {
    let transport = ScriptedTransport::new()
        .expect("GET /crm/v3/properties/deals", Reply::Json(200, json!({"results": []})))
        .expect("GET /crm/v3/properties/deals/groups", Reply::Json(200, json!({"results": [{"name": "spotdraft"}]})))
        .expect(
            "POST /crm/v3/properties/deals",
            Reply::Json(403, json!({"status": "error", "message": "missing scopes", "category": "MISSING_SCOPES"})),
        );
    let result =
        pollster::block_on(provision_fields(&transport, &endpoint(CrmHost::Hubspot), &names("sd_"), &[], false));
    let message = crm_message(result);
    assert!(message.contains("missing scopes [MISSING_SCOPES]"), "{message}");
    assert_eq!(transport.count("POST"), 1, "nothing after the refusal");
}

#[test]
fn pipedrive_pages_are_followed_and_a_page_without_its_next_start_is_refused() {
    let page = |keys: &[&str], more: bool, next: Option<u64>| {
        let data: Vec<_> = keys
            .iter()
            .map(|key| json!({"key": key, "name": format!("Field {key}"), "field_type": "varchar"}))
            .collect();
        let mut pagination = json!({"start": 0, "limit": 500, "more_items_in_collection": more});
        if let Some(next) = next {
            pagination["next_start"] = json!(next);
        }
        json!({"success": true, "data": data, "additional_data": {"pagination": pagination}})
    };
    let configured = names("pd_");
    let transport = ScriptedTransport::new()
        .expect(
            "GET /api/v1/dealFields?start=0",
            Reply::Json(200, page(&["pd_contract_id", "pd_status"], true, Some(2))),
        )
        .expect(
            "GET /api/v1/dealFields?start=2",
            Reply::Json(200, page(&["pd_status_at", "pd_link", "pd_executed_at"], false, None)),
        );
    let report =
        pollster::block_on(provision_fields(&transport, &endpoint(CrmHost::Pipedrive), &configured, &[], false))
            .expect("report");
    assert!(report.steps.iter().all(|step| step.action == StepAction::Exists));
    assert_eq!(report.fields, Some(configured.clone()));
    assert!(!report.configuration_changes);

    let transport = ScriptedTransport::new()
        .expect("GET /api/v1/dealFields?start=0", Reply::Json(200, page(&["pd_contract_id"], true, None)));
    let result =
        pollster::block_on(provision_fields(&transport, &endpoint(CrmHost::Pipedrive), &configured, &[], false));
    assert_eq!(crm_message(result), "Pipedrive: the answer says more fields follow but gives no next_start");
}

#[test]
fn zoho_reports_a_field_it_refused_to_create() {
    let transport = ScriptedTransport::new()
        .expect("GET /crm/v8/settings/fields?module=Deals", Reply::Json(200, json!({"fields": []})))
        .expect(
            "POST /crm/v8/settings/fields?module=Deals",
            Reply::Json(
                201,
                json!({"fields": [{"code": "DUPLICATE_DATA", "message": "duplicate data", "status": "error", "details": {"api_name": "field_label"}}]}),
            ),
        );
    let result = pollster::block_on(provision_fields(&transport, &endpoint(CrmHost::Zoho), &names("Z_"), &[], false));
    assert_eq!(crm_message(result), "Zoho CRM: duplicate data [DUPLICATE_DATA] (field field_label)");
}

#[test]
fn a_key_terms_field_that_cannot_hold_its_values_stops_the_run_naming_the_key_term() {
    use spotdraft_crm::key_terms::{Conversion, KeyTerm};
    let term = |pointer: &str, field: &str, conversion| KeyTerm {
        key_pointer: pointer.into(),
        field: field.into(),
        conversion,
    };
    let terms = [
        term("governing_law", "sd_law", Conversion::Text),
        term("effective_date", "sd_effective", Conversion::Date),
        term("contract_value", "sd_value", Conversion::Amount),
    ];
    let property = |name: &str, kind: &str| json!({"name": name, "label": name, "type": kind});
    let mut existing: Vec<_> = ["contract_id", "status", "status_at", "link", "executed_at"]
        .iter()
        .map(|n| property(&format!("sd_{n}"), "string"))
        .collect();
    // A date key term may go to a text property; an amount may not go to a yes/no one.
    existing.extend([property("sd_law", "string"), property("sd_effective", "string"), property("sd_value", "bool")]);
    let transport =
        ScriptedTransport::new().expect("GET /crm/v3/properties/deals", Reply::Json(200, json!({"results": existing})));
    let result =
        pollster::block_on(provision_fields(&transport, &endpoint(CrmHost::Hubspot), &names("sd_"), &terms, false));
    match result {
        Err(Error::InvalidConfig(problems)) => {
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].path, "crm.keyTerms[2].field");
            assert!(
                problems[0].message.contains("of type bool, which cannot hold a number"),
                "{}",
                problems[0].message
            );
        }
        other => panic!("expected the clash, got {other:?}"),
    }
    assert_eq!(transport.count("POST"), 0, "nothing made");
}
