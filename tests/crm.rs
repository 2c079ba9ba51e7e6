//! CRM write-back requests and answers for HubSpot, Salesforce, Zoho CRM and Pipedrive: exact method,
//! URL, headers and body; realistic answers (written for these tests in the shapes the vendors
//! document), empty fields, each vendor's error shape, and validation.

use serde_json::{json, Value};
use spotdraft_crm::crm::{
    self, check_write, parse_read, read_request, write_request, ContractFields, CrmEndpoint, CrmPatch, FieldNames,
};
use spotdraft_crm::model::CrmHost;
use spotdraft_crm::transport::{HttpRequest, HttpResponse, Method};
use spotdraft_crm::Error;

fn endpoint(host: CrmHost, base_url: &str, token: &str) -> CrmEndpoint {
    CrmEndpoint { host, base_url: base_url.into(), token: token.into(), timeout_ms: 8_000 }
}

fn hubspot() -> CrmEndpoint {
    endpoint(CrmHost::Hubspot, "https://api.hubapi.com", "pat-na1-11111111-2222")
}

fn salesforce() -> CrmEndpoint {
    endpoint(CrmHost::Salesforce, "https://acme.my.salesforce.com/", "00D5g000004XyZ!AQ4AQ.sf-token")
}

fn zoho() -> CrmEndpoint {
    endpoint(CrmHost::Zoho, "https://www.zohoapis.eu", "1000.abc123.def456")
}

fn pipedrive() -> CrmEndpoint {
    endpoint(CrmHost::Pipedrive, "https://acme.pipedrive.com", "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432")
}

fn salesforce_names() -> FieldNames {
    FieldNames {
        contract_id: "SpotDraft_Contract_Id__c".into(),
        status: "SpotDraft_Status__c".into(),
        status_at: "SpotDraft_Status_At__c".into(),
        link: "SpotDraft_Link__c".into(),
        executed_at: "SpotDraft_Executed_At__c".into(),
    }
}

fn zoho_names() -> FieldNames {
    FieldNames {
        contract_id: "SpotDraft_Contract_ID".into(),
        status: "SpotDraft_Status".into(),
        status_at: "SpotDraft_Status_At".into(),
        link: "SpotDraft_Link".into(),
        executed_at: "SpotDraft_Executed_At".into(),
    }
}

const PD_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345601";
const PD_STATUS: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345602";
const PD_STATUS_AT: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345603";
const PD_LINK: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345604";
const PD_EXECUTED: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345605";

fn pipedrive_names() -> FieldNames {
    FieldNames {
        contract_id: PD_ID.into(),
        status: PD_STATUS.into(),
        status_at: PD_STATUS_AT.into(),
        link: PD_LINK.into(),
        executed_at: PD_EXECUTED.into(),
    }
}

fn patch() -> CrmPatch {
    CrmPatch {
        contract_id: Some("T-4322".into()),
        status: Some("SIGN".into()),
        status_at: Some("2026-11-20T10:15:00Z".into()),
        link: None,
        executed_at: None,
    }
}

fn answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse { status, headers: vec![], body: body.to_string().into_bytes() }
}

fn empty_answer(status: u16) -> HttpResponse {
    HttpResponse { status, headers: vec![], body: vec![] }
}

fn body_json(request: &HttpRequest) -> Value {
    serde_json::from_slice(request.body.as_deref().expect("a body")).expect("JSON body")
}

fn assert_read_headers(request: &HttpRequest, auth: (&str, &str)) {
    assert_eq!(
        request.headers,
        vec![("Accept".to_string(), "application/json".to_string()), (auth.0.to_string(), auth.1.to_string())]
    );
    assert_eq!(request.body, None);
    assert_eq!((request.timeout_ms, request.max_response_bytes), (8_000, crm::MAX_RESPONSE_BYTES));
    assert_eq!(crm::MAX_RESPONSE_BYTES, 1024 * 1024);
}

fn assert_write_headers(request: &HttpRequest, auth: (&str, &str)) {
    assert_eq!(
        request.headers,
        vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("Content-Type".to_string(), "application/json".to_string()),
            (auth.0.to_string(), auth.1.to_string()),
        ]
    );
    assert_eq!((request.timeout_ms, request.max_response_bytes), (8_000, crm::MAX_RESPONSE_BYTES));
}

fn crm_error(result: Result<impl std::fmt::Debug, Error>) -> (u16, String) {
    match result {
        Err(Error::Crm { status, message }) => (status, message),
        other => panic!("expected a CRM error, got {other:?}"),
    }
}

fn input_problems(result: Result<impl std::fmt::Debug, Error>) -> Vec<String> {
    match result {
        Err(Error::InvalidInput(problems)) => problems.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------- HubSpot

#[test]
fn hubspot_read_request() {
    let request = read_request(&hubspot(), &FieldNames::hubspot_defaults(), "1001").unwrap();
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.url,
        "https://api.hubapi.com/crm/v3/objects/deals/1001?properties=spotdraft_contract_id,spotdraft_status,\
         spotdraft_status_at,spotdraft_contract_link,spotdraft_executed_at"
    );
    assert_read_headers(&request, ("Authorization", "Bearer pat-na1-11111111-2222"));
}

#[test]
fn hubspot_read_answer_with_empty_properties() {
    let body = json!({
        "id": "1001",
        "properties": {
            "createdate": "2026-11-01T09:00:00.000Z",
            "hs_lastmodifieddate": "2026-11-20T10:15:03.120Z",
            "hs_object_id": "1001",
            "spotdraft_contract_id": "T-4322",
            "spotdraft_status": "SIGN",
            "spotdraft_status_at": "2026-11-20T10:15:00Z",
            "spotdraft_contract_link": "",
            "spotdraft_executed_at": null
        },
        "createdAt": "2026-11-01T09:00:00.000Z",
        "updatedAt": "2026-11-20T10:15:03.120Z",
        "archived": false
    });
    let fields = parse_read(&hubspot(), &FieldNames::hubspot_defaults(), &answer(200, body)).unwrap();
    assert_eq!(
        fields,
        ContractFields {
            contract_id: Some("T-4322".into()),
            status: Some("SIGN".into()),
            status_at: Some("2026-11-20T10:15:00Z".into()),
            link: None,
            executed_at: None,
        }
    );
    // A fresh deal: HubSpot returns the requested properties as null.
    let fresh = json!({"id": "1002", "properties": {"hs_object_id": "1002", "spotdraft_status": null}});
    assert_eq!(
        parse_read(&hubspot(), &FieldNames::hubspot_defaults(), &answer(200, fresh)).unwrap(),
        ContractFields::default()
    );
}

#[test]
fn hubspot_write_request_sends_only_some_values() {
    let request = write_request(&hubspot(), &FieldNames::hubspot_defaults(), "1001", &patch()).unwrap();
    assert_eq!(request.method, Method::Patch);
    assert_eq!(request.url, "https://api.hubapi.com/crm/v3/objects/deals/1001");
    assert_write_headers(&request, ("Authorization", "Bearer pat-na1-11111111-2222"));
    assert_eq!(
        body_json(&request),
        json!({"properties": {
            "spotdraft_contract_id": "T-4322",
            "spotdraft_status": "SIGN",
            "spotdraft_status_at": "2026-11-20T10:15:00Z"
        }})
    );
}

#[test]
fn hubspot_write_answers() {
    let ok = json!({"id": "1001", "properties": {"spotdraft_status": "SIGN"}, "archived": false});
    assert_eq!(check_write(&hubspot(), &answer(200, ok)), Ok(()));

    let invalid = json!({
        "status": "error",
        "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"spotdraft_status\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"spotdraft_status\"}]",
        "correlationId": "7f3e5a64-3a39-4a4a-9d3e-1f0b9c7a2d11",
        "category": "VALIDATION_ERROR"
    });
    let error = check_write(&hubspot(), &answer(400, invalid)).unwrap_err();
    assert_eq!(error.code(), "crm_error");
    assert!(!error.is_transient());
    let text = error.to_string();
    assert!(text.contains("HTTP 400") && text.contains("HubSpot") && text.contains("PROPERTY_DOESNT_EXIST"), "{text}");
    assert!(text.contains("[VALIDATION_ERROR]"), "{text}");

    let limited =
        json!({"status": "error", "message": "You have reached your secondly limit.", "category": "RATE_LIMITS"});
    let error = check_write(&hubspot(), &answer(429, limited)).unwrap_err();
    assert!(error.is_transient());

    let missing = json!({"status": "error", "message": "Object not found.  objectId are usually numeric.", "category": "OBJECT_NOT_FOUND"});
    let (status, message) = crm_error(parse_read(&hubspot(), &FieldNames::hubspot_defaults(), &answer(404, missing)));
    assert_eq!(status, 404);
    assert_eq!(message, "HubSpot: Object not found.  objectId are usually numeric. [OBJECT_NOT_FOUND]");
}

#[test]
fn hubspot_odd_answers_are_clear_errors() {
    let (status, message) =
        crm_error(parse_read(&hubspot(), &FieldNames::hubspot_defaults(), &answer(200, json!({"id": "1001"}))));
    assert_eq!((status, message.as_str()), (200, "HubSpot: the answer has no properties object"));
    let not_json = HttpResponse { status: 200, headers: vec![], body: b"<html>".to_vec() };
    let (_, message) = crm_error(parse_read(&hubspot(), &FieldNames::hubspot_defaults(), &not_json));
    assert!(message.starts_with("HubSpot: the answer is not JSON"), "{message}");
    let gateway =
        HttpResponse { status: 502, headers: vec![], body: b"<html>\n<h1>502 Bad Gateway</h1></html>".to_vec() };
    let error = check_write(&hubspot(), &gateway).unwrap_err();
    assert!(error.is_transient());
    assert_eq!(error.to_string(), "CRM request failed (HTTP 502): HubSpot: <html> <h1>502 Bad Gateway</h1></html>");
    let list = json!({"id": "1001", "properties": {"spotdraft_status": ["SIGN"]}});
    let (_, message) = crm_error(parse_read(&hubspot(), &FieldNames::hubspot_defaults(), &answer(200, list)));
    assert!(message.contains("spotdraft_status holds an array"), "{message}");
}

// ------------------------------------------------------------------------------------------- Salesforce

#[test]
fn salesforce_read_request() {
    let request = read_request(&salesforce(), &salesforce_names(), "0065g00000AbCdEAAV").unwrap();
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.url,
        "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Opportunity/0065g00000AbCdEAAV?fields=\
         SpotDraft_Contract_Id__c,SpotDraft_Status__c,SpotDraft_Status_At__c,SpotDraft_Link__c,SpotDraft_Executed_At__c"
    );
    assert_read_headers(&request, ("Authorization", "Bearer 00D5g000004XyZ!AQ4AQ.sf-token"));
}

#[test]
fn salesforce_read_answer() {
    let body = json!({
        "attributes": {"type": "Opportunity", "url": "/services/data/v62.0/sobjects/Opportunity/0065g00000AbCdEAAV"},
        "SpotDraft_Contract_Id__c": "T-4322",
        "SpotDraft_Status__c": "EXECUTED",
        "SpotDraft_Status_At__c": "2026-11-21T08:00:00.000+0000",
        "SpotDraft_Link__c": "https://app.spotdraft.com/contracts/v2/4322",
        "SpotDraft_Executed_At__c": null,
        "Id": "0065g00000AbCdEAAV"
    });
    let fields = parse_read(&salesforce(), &salesforce_names(), &answer(200, body)).unwrap();
    assert_eq!(fields.status.as_deref(), Some("EXECUTED"));
    assert_eq!(fields.status_at.as_deref(), Some("2026-11-21T08:00:00.000+0000"));
    assert_eq!(fields.link.as_deref(), Some("https://app.spotdraft.com/contracts/v2/4322"));
    assert_eq!(fields.executed_at, None);
}

#[test]
fn salesforce_write_request_and_answers() {
    let request = write_request(&salesforce(), &salesforce_names(), "0065g00000AbCdEAAV", &patch()).unwrap();
    assert_eq!(request.method, Method::Patch);
    assert_eq!(
        request.url,
        "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Opportunity/0065g00000AbCdEAAV"
    );
    assert_write_headers(&request, ("Authorization", "Bearer 00D5g000004XyZ!AQ4AQ.sf-token"));
    assert_eq!(
        body_json(&request),
        json!({
            "SpotDraft_Contract_Id__c": "T-4322",
            "SpotDraft_Status__c": "SIGN",
            "SpotDraft_Status_At__c": "2026-11-20T10:15:00Z"
        })
    );

    assert_eq!(check_write(&salesforce(), &empty_answer(204)), Ok(()));

    let invalid = json!([{
        "message": "Status At: invalid date/time: 20 November",
        "errorCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "fields": ["SpotDraft_Status_At__c"]
    }]);
    let (status, message) = crm_error(check_write(&salesforce(), &answer(400, invalid)));
    assert_eq!(status, 400);
    assert_eq!(
        message,
        "Salesforce: Status At: invalid date/time: 20 November [INVALID_TYPE_ON_FIELD_IN_RECORD] (fields: SpotDraft_Status_At__c)"
    );

    let session = json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
    let error = check_write(&salesforce(), &answer(401, session)).unwrap_err();
    assert!(!error.is_transient());
    assert!(error.to_string().contains("Session expired or invalid [INVALID_SESSION_ID]"));

    let missing = json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]);
    let (status, message) = crm_error(parse_read(&salesforce(), &salesforce_names(), &answer(404, missing)));
    assert_eq!((status, message.as_str()), (404, "Salesforce: The requested resource does not exist [NOT_FOUND]"));

    let busy = json!([{"message": "Unable to lock row", "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]);
    assert!(check_write(&salesforce(), &answer(503, busy)).unwrap_err().is_transient());
}

// -------------------------------------------------------------------------------------------------- Zoho

#[test]
fn zoho_read_request_and_answer() {
    let request = read_request(&zoho(), &zoho_names(), "3000000032096").unwrap();
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.url,
        "https://www.zohoapis.eu/crm/v6/Deals/3000000032096?fields=SpotDraft_Contract_ID,SpotDraft_Status,\
         SpotDraft_Status_At,SpotDraft_Link,SpotDraft_Executed_At"
    );
    assert_read_headers(&request, ("Authorization", "Zoho-oauthtoken 1000.abc123.def456"));

    let body = json!({"data": [{
        "id": "3000000032096",
        "SpotDraft_Contract_ID": "T-4322",
        "SpotDraft_Status": "REDLINING",
        "SpotDraft_Status_At": "2026-11-19T16:40:00+05:30",
        "SpotDraft_Link": null,
        "SpotDraft_Executed_At": null
    }]});
    let fields = parse_read(&zoho(), &zoho_names(), &answer(200, body)).unwrap();
    assert_eq!(
        fields,
        ContractFields {
            contract_id: Some("T-4322".into()),
            status: Some("REDLINING".into()),
            status_at: Some("2026-11-19T16:40:00+05:30".into()),
            link: None,
            executed_at: None,
        }
    );
    // No record: Zoho answers 204 with no body.
    let (status, message) = crm_error(parse_read(&zoho(), &zoho_names(), &empty_answer(204)));
    assert_eq!(status, 204);
    assert!(message.starts_with("Zoho CRM: the answer is empty"), "{message}");
}

#[test]
fn zoho_write_request() {
    let request = write_request(&zoho(), &zoho_names(), "3000000032096", &patch()).unwrap();
    assert_eq!(request.method, Method::Put);
    assert_eq!(request.url, "https://www.zohoapis.eu/crm/v6/Deals/3000000032096");
    assert_write_headers(&request, ("Authorization", "Zoho-oauthtoken 1000.abc123.def456"));
    assert_eq!(
        body_json(&request),
        json!({"data": [{
            "SpotDraft_Contract_ID": "T-4322",
            "SpotDraft_Status": "SIGN",
            "SpotDraft_Status_At": "2026-11-20T10:15:00Z"
        }]})
    );
}

#[test]
fn zoho_write_answers_checked_per_record() {
    let ok = json!({"data": [{
        "code": "SUCCESS",
        "details": {"Modified_Time": "2026-11-20T15:45:03+05:30", "id": "3000000032096"},
        "message": "record updated",
        "status": "success"
    }]});
    assert_eq!(check_write(&zoho(), &answer(200, ok)), Ok(()));

    // HTTP 200, but the record was not updated.
    let per_record = json!({"data": [{
        "code": "INVALID_DATA",
        "details": {"expected_data_type": "datetime", "api_name": "SpotDraft_Status_At", "json_path": "$.data[0].SpotDraft_Status_At"},
        "message": "invalid data",
        "status": "error"
    }]});
    let (status, message) = crm_error(check_write(&zoho(), &answer(200, per_record.clone())));
    assert_eq!((status, message.as_str()), (200, "Zoho CRM: invalid data [INVALID_DATA] (field SpotDraft_Status_At)"));
    // The same per-record error with a 4xx status.
    let (status, message) = crm_error(check_write(&zoho(), &answer(400, per_record)));
    assert_eq!((status, message.as_str()), (400, "Zoho CRM: invalid data [INVALID_DATA] (field SpotDraft_Status_At)"));

    let token = json!({"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"});
    let (status, message) = crm_error(check_write(&zoho(), &answer(401, token)));
    assert_eq!((status, message.as_str()), (401, "Zoho CRM: invalid oauth token [INVALID_TOKEN]"));

    let (_, message) = crm_error(check_write(&zoho(), &answer(200, json!({"data": []}))));
    assert!(message.contains("no per-record status"), "{message}");
    let (_, message) = crm_error(check_write(&zoho(), &empty_answer(200)));
    assert!(message.contains("empty"), "{message}");
}

// --------------------------------------------------------------------------------------------- Pipedrive

#[test]
fn pipedrive_read_request_and_answer() {
    let request = read_request(&pipedrive(), &pipedrive_names(), "512").unwrap();
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.url,
        format!("https://acme.pipedrive.com/api/v2/deals/512?custom_fields={PD_ID},{PD_STATUS},{PD_STATUS_AT},{PD_LINK},{PD_EXECUTED}")
    );
    assert_read_headers(&request, ("x-api-token", "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"));

    let body = json!({
        "success": true,
        "data": {
            "id": 512,
            "title": "Acme renewal",
            "custom_fields": {
                PD_ID: "T-4322",
                PD_STATUS: "EXECUTED",
                PD_STATUS_AT: "2026-11-22T12:00:00Z",
                PD_LINK: "https://app.spotdraft.com/contracts/v2/4322",
                PD_EXECUTED: null
            }
        },
        "additional_data": null
    });
    let fields = parse_read(&pipedrive(), &pipedrive_names(), &answer(200, body)).unwrap();
    assert_eq!(fields.contract_id.as_deref(), Some("T-4322"));
    assert_eq!(fields.status.as_deref(), Some("EXECUTED"));
    assert_eq!(fields.executed_at, None);

    // Keys Pipedrive leaves out are empty too.
    let sparse = json!({"success": true, "data": {"id": 513, "custom_fields": {PD_STATUS: "DRAFT"}}});
    let fields = parse_read(&pipedrive(), &pipedrive_names(), &answer(200, sparse)).unwrap();
    assert_eq!(fields, ContractFields { status: Some("DRAFT".into()), ..ContractFields::default() });
}

#[test]
fn pipedrive_write_request_and_answers() {
    let request = write_request(&pipedrive(), &pipedrive_names(), "512", &patch()).unwrap();
    assert_eq!(request.method, Method::Patch);
    assert_eq!(request.url, "https://acme.pipedrive.com/api/v2/deals/512");
    assert_write_headers(&request, ("x-api-token", "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"));
    // Text custom fields take a plain string in v2.
    assert_eq!(
        body_json(&request),
        json!({"custom_fields": {PD_ID: "T-4322", PD_STATUS: "SIGN", PD_STATUS_AT: "2026-11-20T10:15:00Z"}})
    );

    let ok = json!({"success": true, "data": {"id": 512, "custom_fields": {PD_STATUS: "SIGN"}}});
    assert_eq!(check_write(&pipedrive(), &answer(200, ok)), Ok(()));

    let refused = json!({"success": false, "error": "Deal not found", "error_info": "Please check developers.pipedrive.com for more information", "data": null, "additional_data": null});
    let (status, message) = crm_error(check_write(&pipedrive(), &answer(404, refused.clone())));
    assert_eq!(status, 404);
    assert_eq!(message, "Pipedrive: Deal not found (Please check developers.pipedrive.com for more information)");
    // success:false even under a 2xx status is a failure.
    let (status, _) = crm_error(check_write(&pipedrive(), &answer(200, refused)));
    assert_eq!(status, 200);

    let unauthorized = json!({"success": false, "error": "unauthorized access", "errorCode": 401, "error_info": "Please check developers.pipedrive.com"});
    let (status, message) = crm_error(parse_read(&pipedrive(), &pipedrive_names(), &answer(401, unauthorized)));
    assert_eq!(status, 401);
    assert!(message.contains("unauthorized access"), "{message}");

    let limited = json!({"success": false, "error": "Request over limit"});
    assert!(check_write(&pipedrive(), &answer(429, limited)).unwrap_err().is_transient());
}

// ------------------------------------------------------------------------------------------- Validation

#[test]
fn record_ids_are_validated() {
    for bad in ["", "10/../../admin", "1001?x=1", "a b", "１２３"] {
        for endpoint in [hubspot(), salesforce(), zoho(), pipedrive()] {
            let problems = input_problems(read_request(&endpoint, &FieldNames::hubspot_defaults(), bad));
            assert!(problems.iter().any(|p| p.starts_with("recordId:")), "{bad}: {problems:?}");
            let problems = input_problems(write_request(&endpoint, &FieldNames::hubspot_defaults(), bad, &patch()));
            assert!(problems.iter().any(|p| p.starts_with("recordId:")), "{bad}: {problems:?}");
        }
    }
}

#[test]
fn base_urls_must_be_secure() {
    for bad in [
        "http://api.hubapi.com",
        "ftp://api.hubapi.com",
        "https://user@api.hubapi.com",
        "https://api.hubapi.com/x?y=1",
        "",
    ] {
        let endpoint = endpoint(CrmHost::Hubspot, bad, "t");
        let problems = input_problems(read_request(&endpoint, &FieldNames::hubspot_defaults(), "1"));
        assert!(problems.iter().any(|p| p.starts_with("baseUrl:")), "{bad}: {problems:?}");
    }
    // Loopback emulators may use http, with a path prefix; a trailing slash is dropped.
    let local = endpoint(CrmHost::Hubspot, "http://127.0.0.1:8791/hubspot/", "t");
    let request = read_request(&local, &FieldNames::hubspot_defaults(), "1").unwrap();
    assert!(request.url.starts_with("http://127.0.0.1:8791/hubspot/crm/v3/objects/deals/1?"), "{}", request.url);
}

#[test]
fn tokens_and_timeouts_are_validated_and_never_printed() {
    let problems =
        input_problems(read_request(&endpoint(CrmHost::Zoho, "https://www.zohoapis.com", ""), &zoho_names(), "1"));
    assert_eq!(problems, vec!["token: must be a non-empty single-line token"]);
    let problems =
        input_problems(read_request(&endpoint(CrmHost::Zoho, "https://www.zohoapis.com", "a\nb"), &zoho_names(), "1"));
    assert_eq!(problems, vec!["token: must be a non-empty single-line token"]);
    let mut slow = zoho();
    slow.timeout_ms = 0;
    assert_eq!(input_problems(read_request(&slow, &zoho_names(), "1")), vec!["timeoutMs: must be greater than 0"]);
    let debug = format!("{:?}", pipedrive());
    assert!(!debug.contains("9f8e7d6c5b4a"), "{debug}");
    assert!(debug.contains("acme.pipedrive.com"), "{debug}");
}

#[test]
fn empty_patches_and_bad_field_names_are_refused() {
    let problems =
        input_problems(write_request(&hubspot(), &FieldNames::hubspot_defaults(), "1", &CrmPatch::default()));
    assert_eq!(problems, vec!["patch: has no values to write"]);
    let mut names = FieldNames::hubspot_defaults();
    names.link = "spotdraft link".into();
    names.executed_at = "spotdraft_status".into();
    let problems = input_problems(read_request(&hubspot(), &names, "1"));
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("fieldNames.link: \"spotdraft link\" is not a CRM field name"), "{problems:?}");
    assert!(problems[1].starts_with("fieldNames.executedAt: \"spotdraft_status\" is used twice"), "{problems:?}");
}

#[test]
fn field_names_from_json() {
    let names = FieldNames::from_json(
        &json!({
            "contractId": "SpotDraft_Contract_Id__c",
            "status": "SpotDraft_Status__c",
            "statusAt": "SpotDraft_Status_At__c",
            "link": "SpotDraft_Link__c",
            "executedAt": "SpotDraft_Executed_At__c"
        }),
        "crm.fields",
    )
    .unwrap();
    assert_eq!(names, salesforce_names());
    assert_eq!(serde_json::to_value(&names).unwrap()["statusAt"], "SpotDraft_Status_At__c");

    let error = FieldNames::from_json(
        &json!({"contractId": "a", "status": "a", "statusAt": 7, "link": "has space", "exectuedAt": "x"}),
        "crm.fields",
    )
    .unwrap_err();
    assert_eq!(error.code(), "invalid_config");
    let problems: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(
        problems,
        vec![
            "crm.fields.exectuedAt: unknown key; expected one of: contractId, status, statusAt, link, executedAt",
            "crm.fields.statusAt: expected a string, found a number",
            "crm.fields.executedAt: is required",
            "crm.fields.status: \"a\" is used twice (also for contractId); each value needs its own field",
            "crm.fields.link: \"has space\" is not a CRM field name (letters, digits and _ only, at most 100)",
        ]
    );
    let error = FieldNames::from_json(&json!(["a"]), "fields").unwrap_err();
    assert_eq!(error.problems()[0].to_string(), "fields: expected an object, found an array");
}

#[test]
fn contract_fields_serialize_camel_case() {
    let fields = ContractFields { status_at: Some("2026-11-20T10:15:00Z".into()), ..ContractFields::default() };
    assert_eq!(
        serde_json::to_value(&fields).unwrap(),
        json!({"contractId": null, "status": null, "statusAt": "2026-11-20T10:15:00Z", "link": null, "executedAt": null})
    );
}

/// Switching a record to another contract clears the previous one's execution time: `""` is
/// HubSpot's way to empty a property, `null` the others'.
#[test]
fn an_empty_patch_value_clears_the_field() {
    let clear = CrmPatch { executed_at: Some(String::new()), ..CrmPatch::default() };
    let hubspot_body = body_json(&write_request(&hubspot(), &FieldNames::hubspot_defaults(), "1001", &clear).unwrap());
    assert_eq!(hubspot_body, json!({"properties": {"spotdraft_executed_at": ""}}));
    for (endpoint, names) in
        [(salesforce(), salesforce_names()), (zoho(), zoho_names()), (pipedrive(), pipedrive_names())]
    {
        let body = body_json(&write_request(&endpoint, &names, "1001", &clear).unwrap()).to_string();
        assert!(body.contains(&format!("\"{}\":null", names.executed_at)), "{body}");
    }
}
