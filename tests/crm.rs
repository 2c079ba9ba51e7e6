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
    assert_eq!(message, "HubSpot: the deal does not exist (deleted or merged), or the connection cannot see it; HubSpot said: Object not found.  objectId are usually numeric. [OBJECT_NOT_FOUND]");
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
    assert_eq!(error.to_string(), "CRM request failed (HTTP 502): HubSpot: the CRM failed to answer; try again shortly; HubSpot said: <html> <h1>502 Bad Gateway</h1></html>");
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
    assert_eq!((status, message.as_str()), (404, "Salesforce: the deal does not exist (deleted or merged), or the connection cannot see it; Salesforce said: The requested resource does not exist [NOT_FOUND]"));

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
        "https://www.zohoapis.eu/crm/v8/Deals/3000000032096?fields=SpotDraft_Contract_ID,SpotDraft_Status,\
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
    assert_eq!(request.url, "https://www.zohoapis.eu/crm/v8/Deals/3000000032096");
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
    assert_eq!((status, message.as_str()), (400, "Zoho CRM: a configured field is missing or has the wrong type; an admin must check the relay's crm.fields; Zoho CRM said: invalid data [INVALID_DATA] (field SpotDraft_Status_At)"));

    let token = json!({"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"});
    let (status, message) = crm_error(check_write(&zoho(), &answer(401, token)));
    assert_eq!((status, message.as_str()), (401, "Zoho CRM: the connection's token is invalid or has expired; an admin must reconnect Zoho CRM; Zoho CRM said: invalid oauth token [INVALID_TOKEN]"));

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
    assert_eq!(message, "Pipedrive: the deal does not exist (deleted or merged), or the connection cannot see it; Pipedrive said: Deal not found (Please check developers.pipedrive.com for more information)");
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

// ---------------------------------------------------------------------------------------------
// OAuth connections: tokens fetched, cached, renewed before expiry and on a 401, one refresh at a
// time, secrets never shown; and the server-side deal readers for Salesforce and Zoho.

mod oauth {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use serde_json::{json, Value};
    use spotdraft_crm::crm::{self, CrmAuth, CrmEndpoint, OAuthClient};
    use spotdraft_crm::deal::Deal;
    use spotdraft_crm::model::CrmHost;
    use spotdraft_crm::transport::{HttpRequest, HttpResponse, Transport, TransportError};

    const SECRET: &str = "client-secret-do-not-print";
    const REFRESH: &str = "1000.refresh-token-do-not-print";

    /// Plays back answers in order; answers marked `slow` stay pending for one poll, so two callers
    /// can overlap. Time is virtual.
    #[derive(Default)]
    struct Script {
        answers: RefCell<VecDeque<(String, u16, Value, bool)>>,
        sent: RefCell<Vec<HttpRequest>>,
        clock: Cell<u64>,
    }

    impl Script {
        fn new() -> Script {
            let script = Script::default();
            script.clock.set(1_790_000_000_000);
            script
        }
        fn then(self, line: &str, status: u16, body: Value) -> Script {
            self.answers.borrow_mut().push_back((line.into(), status, body, false));
            self
        }
        fn then_slowly(self, line: &str, status: u16, body: Value) -> Script {
            self.answers.borrow_mut().push_back((line.into(), status, body, true));
            self
        }
        fn lines(&self) -> Vec<String> {
            self.sent.borrow().iter().map(|r| format!("{} {}", r.method, r.url)).collect()
        }
        fn count(&self, needle: &str) -> usize {
            self.lines().iter().filter(|l| l.contains(needle)).count()
        }
        fn advance(&self, ms: u64) {
            self.clock.set(self.clock.get() + ms);
        }
    }

    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    impl Transport for Script {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            let line = format!("{} {}", request.method, request.url);
            self.sent.borrow_mut().push(request);
            let (expected, status, body, slow) =
                self.answers.borrow_mut().pop_front().unwrap_or_else(|| panic!("unexpected request {line}"));
            assert!(line.contains(&expected), "expected {expected}, got {line}");
            if slow {
                YieldOnce(false).await;
            }
            let body = if body.is_null() { Vec::new() } else { serde_json::to_vec(&body).unwrap() };
            Ok(HttpResponse { status, headers: vec![], body })
        }
        async fn sleep(&self, ms: u64) {
            self.advance(ms);
        }
        fn now_ms(&self) -> u64 {
            self.clock.get()
        }
    }

    /// Polls two futures together until both are done (no executor crate needed).
    fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
        let mut a = Box::pin(a);
        let mut b = Box::pin(b);
        let (mut out_a, mut out_b) = (None, None);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        while out_a.is_none() || out_b.is_none() {
            if out_a.is_none() {
                if let Poll::Ready(v) = a.as_mut().poll(&mut cx) {
                    out_a = Some(v);
                }
            }
            if out_b.is_none() {
                if let Poll::Ready(v) = b.as_mut().poll(&mut cx) {
                    out_b = Some(v);
                }
            }
        }
        (out_a.unwrap(), out_b.unwrap())
    }

    fn oauth_endpoint(host: CrmHost, base: &str, token_url: &str) -> CrmEndpoint {
        CrmEndpoint {
            host,
            base_url: base.into(),
            token: CrmAuth::oauth(OAuthClient {
                client_id: "client-id-1".into(),
                client_secret: SECRET.into(),
                refresh_token: REFRESH.into(),
                token_url: token_url.into(),
            }),
            timeout_ms: 5_000,
        }
    }

    fn zoho() -> CrmEndpoint {
        oauth_endpoint(CrmHost::Zoho, "https://www.zohoapis.eu", "https://accounts.zoho.eu/oauth/v2/token")
    }

    fn salesforce() -> CrmEndpoint {
        oauth_endpoint(
            CrmHost::Salesforce,
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com/services/oauth2/token",
        )
    }

    fn zoho_token(token: &str) -> Value {
        json!({"access_token": token, "api_domain": "https://www.zohoapis.eu", "token_type": "Bearer", "expires_in": 3600})
    }

    fn zoho_fields() -> Value {
        json!({"data": [{"id": "3000000032096", "SpotDraft_Status": "DRAFT"}]})
    }

    fn auth_of(request: &HttpRequest) -> String {
        request.header("Authorization").unwrap_or_default().to_string()
    }

    fn read(script: &Script, endpoint: &CrmEndpoint) -> spotdraft_crm::Result<crm::ContractFields> {
        pollster::block_on(crm::read_fields(script, endpoint, &super::zoho_names(), "3000000032096"))
    }

    #[test]
    fn the_first_call_fetches_a_token_and_later_calls_reuse_it() {
        let endpoint = zoho();
        let script = Script::new()
            .then("POST https://accounts.zoho.eu/oauth/v2/token", 200, zoho_token("1000.access-1"))
            .then("GET https://www.zohoapis.eu/crm/v8/Deals/3000000032096", 200, zoho_fields())
            .then("GET https://www.zohoapis.eu/crm/v8/Deals/3000000032096", 200, zoho_fields());
        assert_eq!(read(&script, &endpoint).unwrap().status.as_deref(), Some("DRAFT"));
        assert_eq!(read(&script, &endpoint).unwrap().status.as_deref(), Some("DRAFT"));
        let sent = script.sent.borrow();
        let token_request = &sent[0];
        assert_eq!(token_request.header("Content-Type"), Some("application/x-www-form-urlencoded"));
        let form = String::from_utf8(token_request.body.clone().unwrap()).unwrap();
        assert_eq!(
            form,
            format!(
                "grant_type=refresh_token&client_id=client-id-1&client_secret={SECRET}&refresh_token=1000.refresh-token-do-not-print"
            )
        );
        assert!(!token_request.url.contains(SECRET), "secrets go in the body, not the URL");
        assert_eq!(auth_of(&sent[1]), "Zoho-oauthtoken 1000.access-1");
        assert_eq!(auth_of(&sent[2]), "Zoho-oauthtoken 1000.access-1");
        assert_eq!(endpoint.token.refresh_count(), 1);
        // A clone of the endpoint shares the cache.
        let copy = endpoint.clone();
        assert_eq!(copy.token.refresh_count(), 1);
    }

    #[test]
    fn a_token_is_renewed_shortly_before_it_expires() {
        let endpoint = zoho();
        let script = Script::new()
            .then("POST", 200, zoho_token("1000.access-1"))
            .then("GET", 200, zoho_fields())
            .then("GET", 200, zoho_fields())
            .then("POST", 200, zoho_token("1000.access-2"))
            .then("GET", 200, zoho_fields());
        read(&script, &endpoint).unwrap();
        script.advance(3_600_000 - crm::REFRESH_MARGIN_MS - 1);
        read(&script, &endpoint).unwrap();
        script.advance(2);
        read(&script, &endpoint).unwrap();
        let sent = script.sent.borrow();
        assert_eq!(auth_of(&sent[2]), "Zoho-oauthtoken 1000.access-1", "still inside the margin");
        assert_eq!(auth_of(&sent[4]), "Zoho-oauthtoken 1000.access-2");
    }

    #[test]
    fn a_401_renews_the_token_and_retries_once() {
        let endpoint = salesforce();
        let expired = json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
        let sf_token = |t: &str| {
            json!({"access_token": t, "instance_url": "https://acme.my.salesforce.com", "id": "https://login.salesforce.com/id/00D/005",
                   "token_type": "Bearer", "issued_at": "1790000000000", "signature": "c2ln"})
        };
        let record = json!({"attributes": {"type": "Opportunity"}, "SpotDraft_Status__c": "SIGN"});
        let script = Script::new()
            .then("POST https://login.salesforce.com/services/oauth2/token", 200, sf_token("00D!first"))
            .then("GET", 200, record.clone())
            .then("GET", 401, expired.clone())
            .then("POST", 200, sf_token("00D!second"))
            .then("GET", 200, record)
            // A token refused right after it was issued: one renewal, one retry, then the error.
            .then("GET", 401, expired.clone())
            .then("POST", 200, sf_token("00D!third"))
            .then("GET", 401, expired);
        let names = super::salesforce_names();
        let read = || pollster::block_on(crm::read_fields(&script, &endpoint, &names, "0065g00000AbCdEAAV"));
        assert_eq!(read().unwrap().status.as_deref(), Some("SIGN"));
        // No lifetime in Salesforce's answer: the token is used until refused, however long.
        script.advance(10 * 3_600_000);
        assert_eq!(read().unwrap().status.as_deref(), Some("SIGN"));
        let error = read().unwrap_err();
        assert!(matches!(error, spotdraft_crm::Error::Crm { status: 401, .. }), "{error}");
        assert!(error.to_string().contains("reconnect Salesforce"), "{error}");
        let sent = script.sent.borrow();
        assert_eq!(auth_of(&sent[2]), "Bearer 00D!first");
        assert_eq!(auth_of(&sent[4]), "Bearer 00D!second");
        assert_eq!(sent.len(), 8);
        assert_eq!(endpoint.token.refresh_count(), 3);
    }

    #[test]
    fn a_static_token_is_not_renewed_on_a_401() {
        let endpoint = super::hubspot();
        let script = Script::new().then(
            "GET",
            401,
            json!({"status": "error", "message": "The access token provided is invalid or has expired.", "category": "INVALID_AUTHENTICATION"}),
        );
        let error =
            pollster::block_on(crm::read_fields(&script, &endpoint, &crm::FieldNames::hubspot_defaults(), "1001"))
                .unwrap_err();
        assert_eq!(script.lines().len(), 1);
        assert!(error.to_string().contains("reconnect HubSpot"), "{error}");
    }

    #[test]
    fn callers_share_one_refresh() {
        let endpoint = zoho();
        let script = Script::new()
            .then_slowly("POST https://accounts.zoho.eu/oauth/v2/token", 200, zoho_token("1000.shared"))
            .then("GET", 200, zoho_fields())
            .then("GET", 200, zoho_fields());
        let names = super::zoho_names();
        let (a, b) = join(
            crm::read_fields(&script, &endpoint, &names, "3000000032096"),
            crm::read_fields(&script, &endpoint, &names, "3000000032096"),
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(script.count("oauth/v2/token"), 1, "{:?}", script.lines());
        assert!(script.sent.borrow()[1..].iter().all(|r| auth_of(r) == "Zoho-oauthtoken 1000.shared"));
    }

    #[test]
    fn waiters_share_a_failed_refresh_too() {
        let endpoint = zoho();
        // Zoho refuses a bad refresh token with HTTP 200 and an error member.
        let script = Script::new().then_slowly("POST", 200, json!({"error": "invalid_code"}));
        let names = super::zoho_names();
        let (a, b) = join(
            crm::read_fields(&script, &endpoint, &names, "3000000032096"),
            crm::read_fields(&script, &endpoint, &names, "3000000032096"),
        );
        for error in [a.unwrap_err(), b.unwrap_err()] {
            assert!(matches!(error, spotdraft_crm::Error::Crm { status: 401, .. }), "{error}");
            assert!(error.to_string().contains("an admin must reconnect Zoho CRM"), "{error}");
            assert!(error.to_string().contains("invalid_code"), "{error}");
        }
        assert_eq!(script.lines().len(), 1);
    }

    #[test]
    fn pipedrive_refreshes_with_basic_client_auth_and_sends_a_bearer_token() {
        let endpoint =
            oauth_endpoint(CrmHost::Pipedrive, "https://acme.pipedrive.com", "https://oauth.pipedrive.com/oauth/token");
        let script = Script::new()
            .then(
                "POST https://oauth.pipedrive.com/oauth/token",
                200,
                json!({"access_token": "v1u:pd-access", "token_type": "Bearer", "refresh_token": "pd-rotated", "scope": "deals:full",
                       "expires_in": 3599, "api_domain": "https://acme.pipedrive.com"}),
            )
            .then("GET https://acme.pipedrive.com/api/v2/deals/42", 401, json!({"success": false, "error": "unauthorized access", "errorCode": 401}))
            .then("POST", 200, json!({"access_token": "v1u:pd-access-2", "token_type": "Bearer", "refresh_token": "pd-rotated", "expires_in": 3599}))
            .then("GET", 200, json!({"success": true, "data": {"id": 42, "custom_fields": {}}}));
        pollster::block_on(crm::read_fields(&script, &endpoint, &super::pipedrive_names(), "42")).unwrap();
        let sent = script.sent.borrow();
        assert_eq!(auth_of(&sent[0]), "Basic Y2xpZW50LWlkLTE6Y2xpZW50LXNlY3JldC1kby1ub3QtcHJpbnQ=");
        assert_eq!(
            String::from_utf8(sent[0].body.clone().unwrap()).unwrap(),
            format!("grant_type=refresh_token&refresh_token={}", "1000.refresh-token-do-not-print")
        );
        assert_eq!(auth_of(&sent[1]), "Bearer v1u:pd-access");
        assert!(sent[1].header("x-api-token").is_none());
        // The rotated refresh token is the one used next.
        assert_eq!(
            String::from_utf8(sent[2].body.clone().unwrap()).unwrap(),
            "grant_type=refresh_token&refresh_token=pd-rotated"
        );
        assert_eq!(auth_of(&sent[3]), "Bearer v1u:pd-access-2");
    }

    #[test]
    fn secrets_never_show_in_debug_output_or_errors() {
        let endpoint = zoho();
        let script = Script::new()
            .then("POST", 200, zoho_token("1000.access-secret-value"))
            .then("GET", 500, json!({"code": "INTERNAL_ERROR", "message": "internal error", "status": "error"}))
            .then("GET", 401, json!({"code": "INVALID_TOKEN", "message": "invalid oauth token", "status": "error"}))
            .then("POST", 400, json!({"error": "invalid_client", "error_description": "bad client"}));
        let first = read(&script, &endpoint).unwrap_err();
        let second = read(&script, &endpoint).unwrap_err();
        let texts = [
            format!("{endpoint:?}"),
            format!("{:?}", endpoint.token),
            first.to_string(),
            format!("{first:?}"),
            second.to_string(),
            format!("{second:?}"),
        ];
        for text in &texts {
            for secret in [SECRET, REFRESH, "1000.access-secret-value"] {
                assert!(!text.contains(secret), "{secret} shown in {text}");
            }
        }
        assert!(texts[0].contains("oauth: true"), "{}", texts[0]);
        assert!(second.to_string().contains("reconnect"), "{second}");
    }

    #[test]
    fn salesforce_deal_from_opportunity_account_and_primary_contact_role() {
        let endpoint = salesforce();
        let base = "https://acme.my.salesforce.com/services/data/v62.0";
        let script = Script::new()
            .then("POST", 200, json!({"access_token": "00D!tok", "instance_url": "https://acme.my.salesforce.com"}))
            .then(&format!("GET {base}/sobjects/Opportunity/006A0000001AbCdIAK"), 200, json!({
                "attributes": {"type": "Opportunity", "url": "/services/data/v62.0/sobjects/Opportunity/006A0000001AbCdIAK"},
                "Id": "006A0000001AbCdIAK", "Name": "Acme Widgets — Platform subscription", "Amount": 48000.0,
                "CurrencyIsoCode": "USD", "StageName": "Negotiation/Review", "CloseDate": "2026-12-15",
                "AccountId": "001A0000001AbCdIAK", "OwnerId": "005A0000001AbCdIAK", "Seats__c": 25.0}))
            .then(&format!("GET {base}/sobjects/Account/001A0000001AbCdIAK"), 200, json!({
                "attributes": {"type": "Account"}, "Name": "  acme   widgets, inc. ", "BillingStreet": "350 Fifth Avenue",
                "BillingCity": "New York", "BillingState": "NY", "BillingPostalCode": "10118", "BillingCountry": "United States"}))
            .then(&format!("GET {base}/query?q=SELECT%20ContactId%2C%20IsPrimary%2C%20Role%20FROM%20OpportunityContactRole%20WHERE%20OpportunityId%20%3D%20%27006A0000001AbCdIAK%27"), 200, json!({
                "totalSize": 2, "done": true, "records": [
                    {"attributes": {"type": "OpportunityContactRole"}, "ContactId": "003A0000001ZzZzIAK", "IsPrimary": false, "Role": "Evaluator"},
                    {"attributes": {"type": "OpportunityContactRole"}, "ContactId": "003A0000001AbCdIAK", "IsPrimary": true, "Role": "Decision Maker"}]}))
            .then(&format!("GET {base}/sobjects/Contact/003A0000001AbCdIAK?fields=FirstName,LastName,Email"), 200, json!({
                "attributes": {"type": "Contact"}, "FirstName": "Avery", "LastName": "Stone", "Email": "avery.stone@acme.example"}));
        let value =
            pollster::block_on(crm::read_deal(&script, &endpoint, "006A0000001AbCdIAK", &["Seats__c".into()])).unwrap();
        let deal = Deal::from_json(&value).unwrap();
        assert_eq!(deal.name, "Acme Widgets — Platform subscription");
        assert_eq!(
            (deal.amount, deal.currency.as_deref(), deal.stage.as_deref()),
            (Some(48000.0), Some("USD"), Some("Negotiation/Review"))
        );
        assert_eq!(deal.close_date.as_deref(), Some("2026-12-15"));
        let account = deal.account.unwrap();
        assert_eq!(account.address.unwrap().country_iso_code.as_deref(), Some("US"));
        assert_eq!(deal.primary_contact.unwrap().email.as_deref(), Some("avery.stone@acme.example"));
        assert_eq!(deal.custom.get("Seats__c"), Some(&json!(25.0)));
    }

    #[test]
    fn zoho_deal_from_v8_records_and_lookups() {
        let endpoint = zoho();
        let script = Script::new()
            .then("POST", 200, zoho_token("1000.tok"))
            .then("GET https://www.zohoapis.eu/crm/v8/Deals/3000000032096", 200, json!({"data": [{
                "id": "3000000032096", "Deal_Name": "Globex Rahmenvertrag 2027", "Amount": 125000.5, "Currency": "EUR",
                "Stage": "Negotiation/Review", "Closing_Date": "2027-01-31",
                "Account_Name": {"name": "Globex GmbH", "id": "3000000031001"},
                "Contact_Name": {"name": "Jürgen Müller", "id": "3000000030002"}}]}))
            .then("GET https://www.zohoapis.eu/crm/v8/Accounts/3000000031001", 200, json!({"data": [{
                "id": "3000000031001", "Account_Name": "Globex GmbH", "Billing_Street": "Friedrichstraße 68",
                "Billing_City": "Berlin", "Billing_Code": "10117", "Billing_Country": "Germany"}]}))
            .then("GET https://www.zohoapis.eu/crm/v8/Contacts/3000000030002?fields=First_Name,Last_Name,Email", 200, json!({"data": [{
                "id": "3000000030002", "First_Name": "Jürgen", "Last_Name": "Müller", "Email": "j.mueller@globex.example"}]}));
        let value = pollster::block_on(crm::read_deal(&script, &endpoint, "3000000032096", &[])).unwrap();
        let deal = Deal::from_json(&value).unwrap();
        assert_eq!((deal.amount, deal.currency.as_deref()), (Some(125000.5), Some("EUR")));
        assert_eq!(deal.account.unwrap().address.unwrap().country_iso_code.as_deref(), Some("DE"));
        assert_eq!(deal.primary_contact.unwrap().last_name.as_deref(), Some("Müller"));
    }

    #[test]
    fn a_deleted_deal_reads_as_not_found_naming_the_crm() {
        let endpoint = zoho();
        let script = Script::new().then("POST", 200, zoho_token("1000.tok")).then("GET", 204, Value::Null);
        let error = pollster::block_on(crm::read_deal(&script, &endpoint, "3000000099999", &[])).unwrap_err();
        assert!(matches!(error, spotdraft_crm::Error::Crm { status: 404, .. }), "{error}");
        assert!(error.to_string().contains("Zoho CRM: the deal does not exist"), "{error}");
        let endpoint = salesforce();
        let script = Script::new().then("POST", 200, json!({"access_token": "00D!tok"})).then(
            "GET",
            403,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
        );
        let error = pollster::block_on(crm::read_deal(&script, &endpoint, "006A0000001AbCdIAK", &[])).unwrap_err();
        assert!(error.to_string().contains("Salesforce: the account has used up its API request allowance"), "{error}");
    }

    #[test]
    fn who_may_see_a_deal() {
        let endpoint =
            oauth_endpoint(CrmHost::Pipedrive, "https://acme.pipedrive.com", "https://oauth.pipedrive.com/oauth/token");
        let script = Script::new()
            .then("POST", 200, json!({"access_token": "pd", "expires_in": 3600}))
            .then(
                "GET https://acme.pipedrive.com/v1/deals/7/permittedUsers",
                200,
                json!({"success": true, "data": [101, 102]}),
            )
            .then(
                "GET https://acme.pipedrive.com/v1/deals/7/permittedUsers",
                200,
                json!({"success": true, "data": [101]}),
            );
        assert!(pollster::block_on(crm::user_can_see_deal(&script, &endpoint, "7", "102")).unwrap());
        assert!(!pollster::block_on(crm::user_can_see_deal(&script, &endpoint, "7", "102")).unwrap());
        let endpoint = salesforce();
        let script = Script::new()
            .then("POST", 200, json!({"access_token": "00D!tok"}))
            .then("GET https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT%20RecordId%2C%20HasReadAccess%20FROM%20UserRecordAccess", 200,
                  json!({"totalSize": 1, "done": true, "records": [{"attributes": {"type": "UserRecordAccess"}, "RecordId": "006A0000001AbCdIAK", "HasReadAccess": false}]}));
        assert!(!pollster::block_on(crm::user_can_see_deal(
            &script,
            &endpoint,
            "006A0000001AbCdIAK",
            "005A0000002XyZwIAK"
        ))
        .unwrap());
        assert!(pollster::block_on(crm::user_can_see_deal(&script, &super::hubspot(), "1", "2")).is_err());
    }

    /// Zoho's API has no "may this user see this record": the answer comes from the sharing model's
    /// parts it does expose, read in order, stopping at the first that decides.
    #[test]
    fn zoho_sharing_model_decides_who_may_see_a_deal() {
        const USERS: &str = "GET https://www.zohoapis.eu/crm/v8/users?type=ActiveUsers&page=1&per_page=200";
        const OWNER: &str = "GET https://www.zohoapis.eu/crm/v8/Deals/3000000032096?fields=Owner";
        let user = |id: &str, email: &str, role: &str, profile: &str| json!({"id": id, "email": email, "status": "active", "role": {"id": role, "name": role}, "profile": {"id": "9", "name": profile}});
        let users = json!({"users": [
            user("1", "ceo@acme.example", "r-ceo", "Administrator"),
            user("2", "manager@acme.example", "r-manager", "Standard"),
            user("3", "rep@acme.example", "r-rep", "Standard"),
            user("4", "peer@acme.example", "r-rep", "Standard"),
        ], "info": {"page": 1, "per_page": 200, "count": 4, "more_records": false}});
        let roles = json!({"roles": [
            {"id": "r-ceo", "name": "CEO", "reporting_to": null, "share_with_peers": true},
            {"id": "r-manager", "name": "Manager", "reporting_to": {"id": "r-ceo", "name": "CEO"}, "share_with_peers": false},
            {"id": "r-rep", "name": "Rep", "reporting_to": {"id": "r-manager", "name": "Manager"}, "share_with_peers": false},
        ]});
        let private = json!({"data_sharing": [{"module": {"api_name": "Deals", "id": "5"}, "type": "private"}]});
        let owned_by_rep = json!({"data": [{"id": "3000000032096", "Owner": {"id": "3", "name": "Rep"}}]});
        let ask = |script: &Script, email: &str| {
            pollster::block_on(crm::user_can_see_deal(script, &zoho(), "3000000032096", email)).unwrap()
        };
        // The Administrator profile sees everything: one read decides.
        let script = Script::new().then("POST", 200, zoho_token("t")).then(USERS, 200, users.clone());
        assert!(ask(&script, "CEO@acme.example"));
        // The owner's manager, two levels up the hierarchy from nothing shared: yes.
        let script = Script::new()
            .then("POST", 200, zoho_token("t"))
            .then(USERS, 200, users.clone())
            .then(OWNER, 200, owned_by_rep.clone())
            .then("GET https://www.zohoapis.eu/crm/v8/settings/data_sharing", 200, private.clone())
            .then("GET https://www.zohoapis.eu/crm/v8/Deals/3000000032096/actions/share", 204, Value::Null)
            .then("GET https://www.zohoapis.eu/crm/v8/users/3", 200, json!({"users": [users["users"][2].clone()]}))
            .then("GET https://www.zohoapis.eu/crm/v8/settings/roles", 200, roles.clone());
        assert!(ask(&script, "manager@acme.example"));
        // A peer in a role without "share with peers": no. Shared with them by hand: yes.
        let peer = |share: (u16, Value)| {
            Script::new()
                .then("POST", 200, zoho_token("t"))
                .then(USERS, 200, users.clone())
                .then(OWNER, 200, owned_by_rep.clone())
                .then("GET https://www.zohoapis.eu/crm/v8/settings/data_sharing", 200, private.clone())
                .then("GET https://www.zohoapis.eu/crm/v8/Deals/3000000032096/actions/share", share.0, share.1)
                .then("GET https://www.zohoapis.eu/crm/v8/users/3", 200, json!({"users": [users["users"][2].clone()]}))
                .then("GET https://www.zohoapis.eu/crm/v8/settings/roles", 200, roles.clone())
        };
        assert!(!ask(&peer((204, Value::Null)), "peer@acme.example"));
        let shared = json!({"share": [{"user": {"id": "4", "full_name": "Peer"}, "permission": "read_only"}]});
        assert!(ask(&peer((200, shared)), "peer@acme.example"));
        // Deals shared org-wide: everyone active sees them.
        let script = Script::new()
            .then("POST", 200, zoho_token("t"))
            .then(USERS, 200, users.clone())
            .then(OWNER, 200, json!({"data": [{"id": "3000000032096", "Owner": {"id": "1"}}]}))
            .then(
                "GET https://www.zohoapis.eu/crm/v8/settings/data_sharing",
                200,
                json!({"data_sharing": [{"module": {"api_name": "Deals"}, "type": "public_read_only"}]}),
            );
        assert!(ask(&script, "rep@acme.example"));
        // Not an active user of the org (the last page says no more): no, and nothing else is read.
        let script = Script::new().then("POST", 200, zoho_token("t")).then(USERS, 200, users.clone());
        assert!(!ask(&script, "gone@acme.example"));
        assert_eq!(script.lines().len(), 2);
        // The user must be named as Zoho's login email.
        let script = Script::new();
        let error = pollster::block_on(crm::user_can_see_deal(&script, &zoho(), "3000000032096", "3")).unwrap_err();
        assert!(error.to_string().contains("is not a Zoho CRM user"), "{error}");
    }

    // ---------------------------------------------------------------- Salesforce JWT bearer grant

    mod jwt_bearer {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs1v15::{Signature, VerifyingKey};
        use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
        use rsa::sha2::Sha256;
        use rsa::signature::Verifier;
        use rsa::{RsaPrivateKey, RsaPublicKey};

        use super::*;
        use base64::Engine;
        use spotdraft_crm::crm::JwtBearerClient;

        /// The sandbox's TEST-ONLY key pair (its Salesforce emulator checks assertions with the public half).
        const PRIVATE_PEM: &str = include_str!("../sandbox/keys/salesforce-jwt-test.key.pem");
        const PUBLIC_PEM: &str = include_str!("../sandbox/keys/salesforce-jwt-test.pub.pem");
        const TOKEN_URL: &str = "https://login.salesforce.com/services/oauth2/token";
        const READ: &str =
            "GET https://acme.my.salesforce.com/services/data/v62.0/sobjects/Opportunity/006A0000001AbCdIAK";

        fn client(pem: &str) -> JwtBearerClient {
            JwtBearerClient::new("3MVG9consumer-key", "integration@acme.example", pem, TOKEN_URL, None).unwrap()
        }

        fn endpoint() -> CrmEndpoint {
            CrmEndpoint {
                host: CrmHost::Salesforce,
                base_url: "https://acme.my.salesforce.com".into(),
                token: CrmAuth::jwt_bearer(client(PRIVATE_PEM)),
                timeout_ms: 5_000,
            }
        }

        fn token(access: &str) -> Value {
            // Salesforce's JWT bearer answer: no lifetime, no refresh token.
            json!({"access_token": access, "instance_url": "https://acme.my.salesforce.com", "token_type": "Bearer",
                   "issued_at": "1790000000000", "scope": "api", "signature": "c2ln"})
        }

        fn fields() -> Value {
            json!({"attributes": {"type": "Opportunity"}, "Id": "006A0000001AbCdIAK", "SpotDraft_Status__c": "DRAFT"})
        }

        fn read(script: &Script, endpoint: &CrmEndpoint) -> spotdraft_crm::Result<crm::ContractFields> {
            pollster::block_on(crm::read_fields(script, endpoint, &crate::salesforce_names(), "006A0000001AbCdIAK"))
        }

        /// The assertion a token request carried, checked with the public key: header and claims.
        fn verified_claims(request: &HttpRequest) -> Value {
            assert_eq!(request.header("Content-Type"), Some("application/x-www-form-urlencoded"));
            let form = String::from_utf8(request.body.clone().unwrap()).unwrap();
            let assertion = form
                .strip_prefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")
                .unwrap_or_else(|| panic!("not a JWT bearer grant: {form}"));
            let decode = |part: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap();
            let parts: Vec<&str> = assertion.split('.').collect();
            assert_eq!(parts.len(), 3, "{assertion}");
            let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
            assert_eq!(header, json!({"alg": "RS256"}));
            let key = VerifyingKey::<Sha256>::new(RsaPublicKey::from_public_key_pem(PUBLIC_PEM).unwrap());
            let signature = Signature::try_from(decode(parts[2]).as_slice()).unwrap();
            let signed = format!("{}.{}", parts[0], parts[1]);
            key.verify(signed.as_bytes(), &signature).expect("the signature verifies with the public key");
            serde_json::from_slice(&decode(parts[1])).unwrap()
        }

        /// Lines of the key's base64 body: none may show up anywhere.
        fn key_fragments() -> Vec<&'static str> {
            PRIVATE_PEM.lines().filter(|l| !l.starts_with("-----") && l.len() > 20).collect()
        }

        fn assert_no_key(text: &str) {
            assert!(!text.contains("-----BEGIN"), "{text}");
            for fragment in key_fragments() {
                assert!(!text.contains(&fragment[..20]), "key material in: {text}");
            }
        }

        #[test]
        fn the_assertion_is_rs256_with_the_claims_salesforce_checks_and_its_token_is_kept_until_a_401() {
            let endpoint = endpoint();
            let script = Script::new()
                .then(&format!("POST {TOKEN_URL}"), 200, token("00D!jwt-1"))
                .then(READ, 200, fields())
                .then(READ, 200, fields())
                .then(READ, 401, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]))
                .then(&format!("POST {TOKEN_URL}"), 200, token("00D!jwt-2"))
                .then(READ, 200, fields());
            let started = script.now_ms();
            assert_eq!(read(&script, &endpoint).unwrap().status.as_deref(), Some("DRAFT"));
            // No lifetime in the answer: the token is kept, hours later too, until the CRM refuses it.
            script.advance(10 * 3_600_000);
            read(&script, &endpoint).unwrap();
            assert_eq!(endpoint.token.refresh_count(), 1);
            let refused_at = script.now_ms();
            read(&script, &endpoint).unwrap();
            assert_eq!(endpoint.token.refresh_count(), 2, "one 401, one new assertion");

            let sent = script.sent.borrow();
            let first = verified_claims(&sent[0]);
            assert_eq!(
                first,
                json!({"iss": "3MVG9consumer-key", "sub": "integration@acme.example",
                       "aud": "https://login.salesforce.com", "exp": started / 1000 + crm::ASSERTION_LIFETIME_S})
            );
            assert_eq!(auth_of(&sent[1]), "Bearer 00D!jwt-1");
            assert_eq!(auth_of(&sent[2]), "Bearer 00D!jwt-1");
            let second = verified_claims(&sent[4]);
            assert_eq!(second["exp"], json!(refused_at / 1000 + 180), "a new assertion, not the old one again");
            assert_eq!(auth_of(&sent[5]), "Bearer 00D!jwt-2");
            assert_eq!(script.count("POST"), 2);
        }

        #[test]
        fn callers_share_one_token_request() {
            let endpoint = endpoint();
            let script = Script::new().then_slowly("POST", 200, token("00D!jwt-1")).then(READ, 200, fields()).then(
                READ,
                200,
                fields(),
            );
            let (a, b) = join(
                crm::read_fields(&script, &endpoint, &crate::salesforce_names(), "006A0000001AbCdIAK"),
                crm::read_fields(&script, &endpoint, &crate::salesforce_names(), "006A0000001AbCdIAK"),
            );
            assert!(a.is_ok() && b.is_ok());
            assert_eq!(script.count("POST"), 1);
        }

        #[test]
        fn the_audience_follows_a_sandbox_login_host_or_is_given() {
            let sandbox = JwtBearerClient::new(
                "id",
                "u@acme.example.sandbox",
                PRIVATE_PEM,
                "https://test.salesforce.com/services/oauth2/token",
                None,
            )
            .unwrap();
            assert_eq!(sandbox.audience, "https://test.salesforce.com");
            let my_domain = JwtBearerClient::new(
                "id",
                "u@acme.example",
                PRIVATE_PEM,
                "https://acme.my.salesforce.com/services/oauth2/token",
                None,
            )
            .unwrap();
            assert_eq!(my_domain.audience, "https://login.salesforce.com");
            let given =
                JwtBearerClient::new("id", "u", PRIVATE_PEM, TOKEN_URL, Some("https://acme.my.site.com")).unwrap();
            assert_eq!(given.audience, "https://acme.my.site.com");
        }

        #[test]
        fn pkcs1_and_one_line_keys_parse_to_the_same_key() {
            let key = RsaPrivateKey::from_pkcs8_pem(PRIVATE_PEM).unwrap();
            let pkcs1 = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
            assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
            assert_eq!(client(&pkcs1), client(PRIVATE_PEM));
            // An environment variable often holds the PEM on one line with \n escapes.
            let one_line = PRIVATE_PEM.trim().replace('\n', "\\n");
            assert_eq!(client(&one_line), client(PRIVATE_PEM));
            // And a PKCS#1 key signs assertions the public key accepts.
            let request = pollster::block_on(async {
                let script = Script::new().then("POST", 200, token("00D!a")).then(READ, 200, fields());
                let endpoint = CrmEndpoint { token: CrmAuth::jwt_bearer(client(&pkcs1)), ..endpoint() };
                read(&script, &endpoint).unwrap();
                let sent = script.sent.borrow()[0].clone();
                sent
            });
            verified_claims(&request);
        }

        #[test]
        fn bad_keys_are_refused_without_quoting_them() {
            let truncated: String = PRIVATE_PEM.lines().take(8).collect::<Vec<_>>().join("\n");
            let body_only: String = PRIVATE_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
            let small = RsaPrivateKey::new(&mut rand_free_rng(), 1024).unwrap();
            let cases = [
                truncated,
                body_only,
                PUBLIC_PEM.to_string(),
                PRIVATE_PEM.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
                "not a key".to_string(),
                small.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap().to_string(),
            ];
            for pem in cases {
                let error: &str = JwtBearerClient::new("id", "u", &pem, TOKEN_URL, None).unwrap_err();
                assert!(error.contains("RSA private key in PEM form"), "{error}");
                assert_no_key(error);
            }
        }

        /// A 1024-bit key for the size check, made from a fixed seed (the test needs no randomness).
        fn rand_free_rng() -> impl rsa::rand_core::CryptoRngCore {
            struct Counter(u64);
            impl rsa::rand_core::RngCore for Counter {
                fn next_u32(&mut self) -> u32 {
                    self.next_u64() as u32
                }
                fn next_u64(&mut self) -> u64 {
                    // splitmix64
                    self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = self.0;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    z ^ (z >> 31)
                }
                fn fill_bytes(&mut self, dest: &mut [u8]) {
                    for chunk in dest.chunks_mut(8) {
                        let bytes = self.next_u64().to_le_bytes();
                        chunk.copy_from_slice(&bytes[..chunk.len()]);
                    }
                }
                fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
                    self.fill_bytes(dest);
                    Ok(())
                }
            }
            impl rsa::rand_core::CryptoRng for Counter {}
            Counter(42)
        }

        #[test]
        fn no_key_material_in_debug_output_or_errors() {
            let endpoint = endpoint();
            assert_no_key(&format!("{endpoint:?} {:?} {:?}", endpoint.token, client(PRIVATE_PEM)));
            let script = Script::new().then(
                "POST",
                400,
                json!({"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}),
            );
            let error = read(&script, &endpoint).unwrap_err();
            let spotdraft_crm::Error::Crm { status, message } = &error else { panic!("{error:?}") };
            assert_eq!(*status, 401);
            assert!(message.contains("user hasn't approved this consumer [invalid_grant]"), "{message}");
            assert!(message.contains("connected app"), "{message}");
            assert_no_key(&format!("{error} {error:?}"));
            // Nor the assertion (it is a credential for three minutes).
            let form = String::from_utf8(script.sent.borrow()[0].body.clone().unwrap()).unwrap();
            let assertion = form.rsplit('=').next().unwrap();
            assert!(!format!("{error:?}").contains(&assertion[..40]));
        }
    }
}
