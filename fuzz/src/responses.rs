//! Answers from SpotDraft (error bodies, contracts, pages, templates, `Retry-After`) and from the
//! CRM (a record's SpotDraft fields). Every input is offered to every parser.

use serde::de::DeserializeOwned;
use serde::Serialize;
use spotdraft_crm::crm::{self, CrmEndpoint, FieldNames};
use spotdraft_crm::flows;
use spotdraft_crm::model::{ContractId, CrmHost};
use spotdraft_crm::spotdraft::error_body;
use spotdraft_crm::spotdraft::retry::parse_retry_after;
use spotdraft_crm::spotdraft::types::{
    ContractPage, ContractRecord, ExternalMetadataEnvelope, StatusResponse, TemplateList, TemplateMetadata,
};
use spotdraft_crm::transport::HttpResponse;

/// For the types SpotDraft sends and we hand back: read → write → read is the identity.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(body: &[u8]) {
    let Ok(first) = serde_json::from_slice::<T>(body) else { return };
    let written = serde_json::to_vec(&first).unwrap_or_default();
    match serde_json::from_slice::<T>(&written) {
        Ok(again) => assert_eq!(again, first, "changed in a round trip"),
        Err(error) => panic!("our own serialisation does not read back: {error}"),
    }
}

fn check_contract(record: &ContractRecord) {
    if let Some(id) = record.id.contract_id() {
        assert!(id.number > 0);
        assert_eq!(ContractId::parse(&id.to_string()), Some(id), "composite ids round-trip");
    }
    if let Some(summary) = flows::summarise(record) {
        // Byte for byte: a link in any other spelling would be shown and compared as another place.
        assert!(
            summary.link.starts_with("https://app.spotdraft.com/contracts/"),
            "a contract link is a canonical SpotDraft app link: {}",
            summary.link
        );
        assert_eq!(flows::deep_link(Some(&summary.link), summary.number), summary.link, "canonical links are kept");
        assert!(serde_json::to_string(&summary).is_ok());
    }
}

pub fn responses(body: &[u8]) {
    for status in [400, 404, 429, 500] {
        let error = error_body::parse(status, body);
        assert_eq!(error.status, status);
        assert!(!error.message.trim().is_empty(), "an error always has a message");
        assert!(error.code.as_deref().is_none_or(|c| !c.trim().is_empty()));
    }

    if let Ok(record) = serde_json::from_slice::<ContractRecord>(body) {
        check_contract(&record);
    }
    if let Ok(page) = serde_json::from_slice::<ContractPage>(body) {
        page.results.iter().for_each(check_contract);
    }
    let _ = serde_json::from_slice::<StatusResponse>(body);
    round_trip::<TemplateMetadata>(body);
    round_trip::<TemplateList>(body);
    round_trip::<ExternalMetadataEnvelope>(body);

    let text = String::from_utf8_lossy(body);
    if let (Some(delay), Ok(seconds)) = (parse_retry_after(&text, 1_800_000_000_000), text.trim().parse::<u64>()) {
        assert_eq!(delay, seconds.saturating_mul(1000), "Retry-After in seconds is taken as given");
    }

    for host in [CrmHost::Hubspot, CrmHost::Salesforce, CrmHost::Zoho, CrmHost::Pipedrive] {
        let endpoint =
            CrmEndpoint { host, base_url: "https://crm.example".into(), token: "t".into(), timeout_ms: 1_000 };
        let names = FieldNames::hubspot_defaults();
        let response = HttpResponse { status: 200, headers: Vec::new(), body: body.to_vec() };
        if let Ok(fields) = crm::parse_read(&endpoint, &names, &response) {
            for value in [&fields.contract_id, &fields.status, &fields.status_at, &fields.link, &fields.executed_at]
                .into_iter()
                .flatten()
            {
                assert!(!value.trim().is_empty(), "blank CRM values read as empty");
            }
        }
        let _ = crm::check_write(&endpoint, &HttpResponse { status: 400, headers: Vec::new(), body: body.to_vec() });
    }
}
