//! Deal → create-contract request: every encoding, counterparty normalisation, external metadata,
//! and the preview that reports all problems at once.

mod support;

use serde_json::{json, Value};
use spotdraft_crm::config::DurationUnit;
use spotdraft_crm::mapping::{self, duration_days};
use support::*;

fn msa_request() -> Value {
    let config = config();
    let request = mapping::create_request(&config, MSA_TEMPLATE, &deal(), &msa_metadata()).expect("maps");
    serde_json::to_value(request).expect("serialises")
}

#[test]
fn every_encoding_lands_in_contract_data() {
    let body = msa_request();
    assert_eq!(
        body["contract_data"],
        json!({
            "effective_date": "2026-03-28",
            "customer_name": "Acme Widgets, Inc.",
            "contract_value": 12000.5,
            "seats": 25,
            "auto_renewal": true,
            "kickoff_at": "2026-03-28T10:00:00Z",
            "billing_frequency": "annual_invoice",
            "service_countries": ["US", "IN"],
            "fees": {"type": "USD", "value": 12000.5},
            "subscription_term": {"days": 365, "type": "MONTHS", "value": 12},
            "billing_address": {"line_one": "350 Fifth Avenue", "city": "New York", "state": "NY", "country": "US", "zipcode": "10118"},
            "billing": {"contact_email": "avery@acme.example"}
        })
    );
    assert_eq!(body["contract_template_id"], json!(MSA_TEMPLATE));
    assert_eq!(body["contract_name"], json!("Master Services Agreement – Acme Widgets, Inc."));
}

#[test]
fn counterparty_comes_from_account_and_contact_with_normalised_names() {
    let body = msa_request();
    assert_eq!(
        body["counter_party_details"],
        json!([{
            "is_individual": false,
            "organization_name": "Acme Widgets, Inc.",
            "poc_details": {"first_name": "Avery", "last_name": "Stone", "email": "avery@acme.example"},
            "organization_details": {
                "jurisdiction_iso_code": "US",
                "address": {"line_one": "350 Fifth Avenue", "city": "New York", "state": "NY", "country_iso_code": "US", "zipcode": "10118"}
            }
        }])
    );
    let nda = mapping::create_request(&config(), NDA_TEMPLATE, &deal(), &nda_metadata()).unwrap();
    assert_eq!(nda.counter_party_details[0].organization_type.as_deref(), Some("company"));
    assert_eq!(
        serde_json::to_value(&nda.contract_data).unwrap(),
        json!({"effective_date": "2026-03-28", "nda_kind": "mutual"})
    );
}

#[test]
fn external_metadata_carries_the_crm_ids_and_environment() {
    let body = msa_request();
    let metadata = &body["external_metadata"];
    assert_eq!(metadata["id"], json!(DEAL_KEY));
    assert_eq!(metadata["integration_name"], json!("spotdraft-crm"));
    assert_eq!(metadata["record_type"], json!("deals"));
    assert_eq!(metadata["record_data"]["crm"], json!("hubspot"));
    assert_eq!(metadata["record_data"]["crm_account_id"], json!("4411223"));
    assert_eq!(metadata["record_data"]["deal_id"], json!("1001"));
    assert_eq!(metadata["record_data"]["company_id"], json!("77"));
    assert_eq!(metadata["record_data"]["environment"], json!("uat"));
}

#[test]
fn preview_reports_every_problem_at_once_and_builds_nothing() {
    let config = config();
    let deal = deal_with(|d| {
        d["stage"] = json!("appointmentscheduled");
        d["closeDate"] = Value::Null;
        d["custom"]["seats"] = json!("25.5");
        d["custom"]["billing"] = json!("Every fortnight");
        d["custom"]["countries"] = json!("US;Narnia");
        d["custom"]["auto_renew"] = json!("perhaps");
        d["custom"]["term_months"] = json!(-3);
    });
    let template = config.template(MSA_TEMPLATE).unwrap();
    let preview = mapping::preview(&config, template, &deal, &msa_metadata());
    assert!(!preview.can_create);
    assert!(preview.request.is_none());
    let paths: Vec<&str> = preview.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "deal.stage",
            "contract_data.effective_date",
            "contract_data.seats",
            "contract_data.auto_renewal",
            "contract_data.billing_frequency",
            "contract_data.service_countries",
            "contract_data.subscription_term",
        ]
    );
    let text =
        |path: &str| preview.problems.iter().find(|p| p.path == path).map(|p| p.message.clone()).unwrap_or_default();
    assert!(
        text("contract_data.effective_date").contains("required, but the deal has no close date"),
        "{}",
        text("contract_data.effective_date")
    );
    assert!(text("contract_data.seats").contains("whole number"));
    assert!(text("contract_data.billing_frequency")
        .contains("Annual invoice (annual_invoice), Monthly card (monthly_card)"));
    assert!(text("contract_data.service_countries").contains("\"Narnia\""));
    // The preview still shows what did map.
    let customer = preview.fields.iter().find(|f| f.variable == "customer_name").unwrap();
    assert_eq!(customer.value, json!("Acme Widgets, Inc."));
    assert_eq!(customer.source, "account.name");
}

#[test]
fn problems_name_fields_and_stages_as_people_know_them() {
    let mut doc = config_json();
    doc["stageLabels"] = json!({
        "qualifiedtobuy": "Qualified to buy", "contractsent": "Contract sent", "appointmentscheduled": "Appointment scheduled"
    });
    let config = spotdraft_crm::config::Config::from_json(&doc).unwrap();
    let deal = deal_with(|d| {
        d["stage"] = json!("appointmentscheduled");
        d["amount"] = Value::Null;
    });
    let template = config.template(MSA_TEMPLATE).unwrap();
    let preview = mapping::preview(&config, template, &deal, &msa_metadata());
    let text =
        |path: &str| preview.problems.iter().find(|p| p.path == path).map(|p| p.message.clone()).unwrap_or_default();
    assert_eq!(
        text("deal.stage"),
        "contracts can be created at Qualified to buy or Contract sent; this deal is at Appointment scheduled"
    );
    // A composite field (fees.type + fees.value, labelled "Fee currency" / "Fee amount") is named by
    // the words its parts share, never by its variable name.
    assert!(text("contract_data.fees").starts_with("Fee is required"), "{}", text("contract_data.fees"));
    for problem in &preview.problems {
        assert!(!problem.message.contains("appointmentscheduled"), "{}", problem.message);
        assert!(!problem.message.starts_with("fees"), "{}", problem.message);
    }
    let refused = mapping::create_request(&config, MSA_TEMPLATE, &deal, &msa_metadata()).unwrap_err();
    assert!(refused.to_string().contains("Appointment scheduled"), "{refused}");
}

#[test]
fn wrong_type_and_unmapped_required_fields_are_problems() {
    let mut doc = config_json();
    // A date mapped onto a boolean field, and the required customer_name left unmapped.
    doc["templates"][1]["fields"][4] =
        json!({"variable": "auto_renewal", "source": "deal.closeDate", "encoding": "date"});
    doc["templates"][1]["fields"][1] =
        json!({"variable": "not_in_template", "source": "deal.name", "encoding": "string"});
    let config = spotdraft_crm::config::Config::from_json(&doc).unwrap();
    let template = config.template(MSA_TEMPLATE).unwrap();
    let preview = mapping::preview(&config, template, &deal(), &msa_metadata());
    let messages: Vec<String> = preview.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with("contract_data.not_in_template: the template has no field")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("contract_data.auto_renewal") && m.contains("\"boolean\"")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with("contract_data.customer_name") && m.contains("not mapped")),
        "{messages:#?}"
    );
}

#[test]
fn create_request_errors_are_typed() {
    let config = config();
    let err = mapping::create_request(&config, 999, &deal(), &msa_metadata()).unwrap_err();
    assert_eq!(err.code(), "unknown_template");
    let early = deal_with(|d| d["stage"] = json!("closedlost"));
    let err = mapping::create_request(&config, MSA_TEMPLATE, &early, &msa_metadata()).unwrap_err();
    assert_eq!(err.code(), "stage_not_allowed");
    assert!(err.to_string().contains("this deal is at closedlost"), "{err}");
    let no_contact = deal_with(|d| d["primaryContact"] = Value::Null);
    let err = mapping::create_request(&config, MSA_TEMPLATE, &no_contact, &msa_metadata()).unwrap_err();
    assert_eq!(err.code(), "mapping_failed");
    assert_eq!(err.problems()[0].path, "deal.primaryContact");
}

#[test]
fn nested_fields_are_required_only_with_their_parent() {
    let config = config();
    // Without a contact email the optional `billing` group is simply left out...
    let no_email = deal_with(|d| d["primaryContact"]["email"] = Value::Null);
    let preview = mapping::preview(&config, config.template(MSA_TEMPLATE).unwrap(), &no_email, &msa_metadata());
    assert!(preview.problems.iter().all(|p| !p.path.starts_with("contract_data.billing")), "{:#?}", preview.problems);
    // ...but the counterparty still needs an email to be reachable.
    assert!(preview.problems.iter().any(|p| p.path == "deal.primaryContact.email"));
}

#[test]
fn individuals_and_missing_addresses() {
    let config = config();
    let person = deal_with(|d| d["account"] = Value::Null);
    let request = mapping::create_request(&config, MSA_TEMPLATE, &person, &{
        let mut m = msa_metadata();
        // An individual has no company name to fill this with.
        m.attributes.iter_mut().filter(|a| a.variable == "customer_name").for_each(|a| a.required = Some(false));
        m
    })
    .unwrap();
    let party = &request.counter_party_details[0];
    assert!(party.is_individual && party.organization_name.is_none());

    let nda_without_company = mapping::create_request(&config, NDA_TEMPLATE, &person, &nda_metadata()).unwrap_err();
    assert_eq!(nda_without_company.problems()[0].path, "deal.account");

    let partial = deal_with(|d| d["account"]["address"] = json!({"city": "Austin"}));
    let preview = mapping::preview(&config, config.template(NDA_TEMPLATE).unwrap(), &partial, &nda_metadata());
    assert!(preview.can_create);
    assert_eq!(preview.warnings[0].path, "deal.account.address");
    let details = preview.request.unwrap().counter_party_details[0].organization_details.clone().unwrap();
    assert!(details.address.is_none(), "an incomplete address is never half-sent");
}

#[test]
fn durations_follow_spotdrafts_examples() {
    assert_eq!(duration_days(DurationUnit::Months, 6), 180);
    assert_eq!(duration_days(DurationUnit::Months, 12), 365);
    assert_eq!(duration_days(DurationUnit::Years, 2), 730);
    assert_eq!(duration_days(DurationUnit::Days, 45), 45);
}

#[test]
fn currency_needs_a_code() {
    let config = config();
    let no_currency = deal_with(|d| d["currency"] = Value::Null);
    let preview = mapping::preview(&config, config.template(MSA_TEMPLATE).unwrap(), &no_currency, &msa_metadata());
    assert!(
        preview.problems.iter().any(|p| p.path == "contract_data.fees" && p.message.contains("no currency")),
        "{:#?}",
        preview.problems
    );
}
