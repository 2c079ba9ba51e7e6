//! The SpotDraft client and the flows over a scripted transport: exactly which requests go out,
//! in which order, and what happens when answers are bad or missing.

mod support;

use serde_json::json;
use spotdraft_crm::flows::{self, SendOptions};
use spotdraft_crm::model::{ContractId, ContractStatus};
use spotdraft_crm::spotdraft::{ClientOptions, Credentials, ListQuery, RetryPolicy, SpotDraftClient};
use spotdraft_crm::transport::TransportError;
use support::*;

const LOOKUP: &str = "GET /api/v2.1/public/contracts/by_external_metadata/hubspot:4411223:deal:1001";
const METADATA: &str = "GET /api/v2.1/public/templates/202/metadata";
const CREATE: &str = "POST /api/v2.1/public/contracts/";

fn client(transport: &ScriptedTransport) -> SpotDraftClient<&ScriptedTransport> {
    let options = ClientOptions { jitter_seed: Some(42), ..ClientOptions::default() };
    SpotDraftClient::new(transport, "http://127.0.0.1:9", None, options).expect("valid client")
}

fn metadata_reply() -> Reply {
    Reply::Json(200, msa_metadata_json())
}

fn create(transport: &ScriptedTransport) -> spotdraft_crm::Result<flows::CreateOutcome> {
    pollster::block_on(flows::create_for_deal(&client(transport), &config(), &deal(), MSA_TEMPLATE))
}

#[test]
fn lookup_hit_returns_the_live_contract_without_creating() {
    let transport = ScriptedTransport::new().expect(METADATA, metadata_reply()).expect(
        LOOKUP,
        Reply::Json(
            200,
            json!([looked_up_contract(30, "VOIDED", DEAL_KEY), looked_up_contract(31, "REDLINING", DEAL_KEY)]),
        ),
    );
    let outcome = create(&transport).unwrap();
    assert!(!outcome.created);
    assert_eq!(outcome.contract.id.to_string(), "T-31");
    assert_eq!(outcome.contract.status, ContractStatus::Redlining);
    assert_eq!(outcome.contract.link, "https://app.spotdraft.com/contracts/v2/31");
    assert_eq!(transport.count(CREATE), 0);
}

#[test]
fn lookup_miss_creates_exactly_once() {
    let transport = ScriptedTransport::new()
        .expect(METADATA, metadata_reply())
        .expect(LOOKUP, Reply::Json(200, json!([looked_up_contract(30, "VOIDED", DEAL_KEY)])))
        .expect(CREATE, Reply::Json(201, created_contract(32, DEAL_KEY)));
    let outcome = create(&transport).unwrap();
    assert!(outcome.created);
    assert_eq!(outcome.contract.id.to_string(), "T-32");
    assert_eq!(transport.request_lines(), [METADATA, LOOKUP, CREATE]);
    let sent = transport.sent.borrow();
    let body: serde_json::Value = serde_json::from_slice(sent[2].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["external_metadata"]["id"], json!(DEAL_KEY));
    assert_eq!(sent[2].header("content-type"), Some("application/json"));
    assert_eq!(sent[2].header("client-id"), None, "no credentials unless server-side");
}

#[test]
fn a_404_lookup_means_no_contracts() {
    let transport = ScriptedTransport::new()
        .expect(METADATA, metadata_reply())
        .expect(LOOKUP, Reply::Json(404, json!({"detail": "Not Found"})))
        .expect(CREATE, Reply::Json(201, created_contract(40, DEAL_KEY)));
    assert!(create(&transport).unwrap().created);
}

#[test]
fn create_timeout_then_lookup_finds_it_so_no_second_create() {
    let transport = ScriptedTransport::new()
        .expect(METADATA, metadata_reply())
        .expect(LOOKUP, Reply::Json(200, json!([])))
        .expect(CREATE, Reply::Fail(TransportError::Timeout))
        .expect(LOOKUP, Reply::Json(200, json!([looked_up_contract(33, "DRAFT", DEAL_KEY)])));
    let outcome = create(&transport).unwrap();
    assert_eq!(outcome.contract.id.to_string(), "T-33");
    assert_eq!(transport.count(CREATE), 1);
    assert_eq!(transport.sleeps.borrow().len(), 1, "waited once before looking again");
}

#[test]
fn create_reset_and_5xx_then_nothing_found_retries_create() {
    let transport = ScriptedTransport::new()
        .expect(METADATA, metadata_reply())
        .expect(LOOKUP, Reply::Json(200, json!([])))
        .expect(CREATE, Reply::Fail(TransportError::Connection("connection reset".into())))
        .expect(LOOKUP, Reply::Json(200, json!([])))
        .expect(CREATE, Reply::Json(502, json!({"detail": "Bad gateway"})))
        .expect(LOOKUP, Reply::Json(200, json!([])))
        .expect(CREATE, Reply::Json(201, created_contract(34, DEAL_KEY)));
    let outcome = create(&transport).unwrap();
    assert_eq!(outcome.contract.id.to_string(), "T-34");
    assert_eq!(transport.unused_replies(), 0);
}

#[test]
fn create_400_is_a_clear_error_and_never_retried() {
    let transport = ScriptedTransport::new().expect(METADATA, metadata_reply()).expect(LOOKUP, Reply::Json(200, json!([]))).expect(
        CREATE,
        Reply::Json(400, json!({"detail": "Invalid template", "status_code": 400, "code": "SD_CONTRACTS_00093", "message": "Template is not published."})),
    );
    let err = create(&transport).unwrap_err();
    assert_eq!(err.code(), "spotdraft_error");
    assert_eq!(err.to_string(), "SpotDraft answered 400 (SD_CONTRACTS_00093): Template is not published.");
    assert_eq!(transport.count(CREATE), 1);
    assert!(transport.sleeps.borrow().is_empty());
}

#[test]
fn create_429_is_retried_because_nothing_was_done() {
    let transport = ScriptedTransport::new()
        .expect(METADATA, metadata_reply())
        .expect(LOOKUP, Reply::Json(200, json!([])))
        .expect(
            CREATE,
            Reply::Raw(
                429,
                vec![("Retry-After".into(), "2".into())],
                b"{\"detail\": \"Request was throttled.\"}".to_vec(),
            ),
        )
        .expect(CREATE, Reply::Json(201, created_contract(35, DEAL_KEY)));
    assert_eq!(create(&transport).unwrap().contract.number, 35);
    assert_eq!(*transport.sleeps.borrow(), [2_000], "Retry-After honoured");
}

#[test]
fn invalid_input_sends_nothing() {
    let transport = ScriptedTransport::new();
    let client = client(&transport);
    let early = deal_with(|d| d["stage"] = json!("closedlost"));
    let err = pollster::block_on(flows::create_for_deal(&client, &config(), &early, MSA_TEMPLATE)).unwrap_err();
    assert_eq!(err.code(), "stage_not_allowed");
    let err = pollster::block_on(flows::create_for_deal(&client, &config(), &deal(), 999)).unwrap_err();
    assert_eq!(err.code(), "unknown_template");
    let err = pollster::block_on(flows::contracts_for_deal(&client, &config(), "../templates")).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let err = pollster::block_on(client.list_contracts(&ListQuery { page: 1, limit: 500, ..Default::default() }))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let bad_email = SendOptions { to_emails: vec!["not-an-email".into()], ..Default::default() };
    let err =
        pollster::block_on(flows::send_to_counterparty(&client, ContractId::template(1), &bad_email)).unwrap_err();
    assert_eq!(err.problems()[0].path, "toEmails[0]");
    assert!(transport.request_lines().is_empty());
}

#[test]
fn mapping_problems_stop_before_any_write() {
    let transport = ScriptedTransport::new().expect(METADATA, metadata_reply());
    let no_date = deal_with(|d| d["closeDate"] = serde_json::Value::Null);
    let err =
        pollster::block_on(flows::create_for_deal(&client(&transport), &config(), &no_date, MSA_TEMPLATE)).unwrap_err();
    assert_eq!(err.code(), "mapping_failed");
    assert_eq!(transport.request_lines(), [METADATA]);
}

#[test]
fn reads_retry_transient_failures_within_the_policy() {
    let transport = ScriptedTransport::new()
        .expect("GET /api/v2.1/public/contracts/T-7/status", Reply::Json(503, json!({"detail": "unavailable"})))
        .expect("GET /api/v2.1/public/contracts/T-7/status", Reply::Fail(TransportError::Timeout))
        .expect(
            "GET /api/v2.1/public/contracts/T-7/status",
            Reply::Json(200, json!({"contract_status": "SIGN", "contract_name": "MSA"})),
        );
    let report = pollster::block_on(flows::status(&client(&transport), ContractId::template(7))).unwrap();
    assert_eq!(report.status, ContractStatus::Sign);
    assert_eq!(report.link, "https://app.spotdraft.com/contracts/v2/7");
    assert!(report.read_at.ends_with('Z'));
    let sleeps = transport.sleeps.borrow();
    assert_eq!(sleeps.len(), 2);
    let policy = RetryPolicy::default();
    assert!(sleeps[0] >= policy.window_ms(1) / 2 && sleeps[0] <= policy.window_ms(1));
    assert!(sleeps[1] >= policy.window_ms(2) / 2 && sleeps[1] <= policy.window_ms(2));
}

#[test]
fn retries_stop_at_the_attempt_limit() {
    let mut transport = ScriptedTransport::new();
    for _ in 0..RetryPolicy::default().max_attempts {
        transport = transport.expect("GET /api/v2.1/public/templates/", Reply::Json(500, json!({"detail": "boom"})));
    }
    let err = pollster::block_on(client(&transport).templates()).unwrap_err();
    assert_eq!(err.code(), "spotdraft_error");
    assert!(err.is_transient());
    assert_eq!(transport.count("GET"), RetryPolicy::default().max_attempts as usize);
}

#[test]
fn redirects_are_reported_not_followed() {
    let transport = ScriptedTransport::new().expect(
        "GET /api/v2.1/public/templates/",
        Reply::Raw(
            302,
            vec![("Location".into(), "https://api.us.spotdraft.com/api/v2.1/public/templates/".into())],
            vec![],
        ),
    );
    let err = pollster::block_on(client(&transport).templates()).unwrap_err();
    assert_eq!(err.code(), "redirected");
    assert!(err.to_string().contains("https://api.us.spotdraft.com"));
    assert_eq!(transport.count("GET"), 1);
}

#[test]
fn bad_success_bodies_are_clear_errors() {
    for (body, expected) in [
        (b"<html>oops</html>".to_vec(), "not JSON"),
        (b"".to_vec(), "empty"),
        (br#"{"items": "nope"}"#.to_vec(), "documented shape"),
    ] {
        let transport =
            ScriptedTransport::new().expect("GET /api/v2.1/public/templates/", Reply::Raw(200, vec![], body));
        let err = pollster::block_on(client(&transport).templates()).unwrap_err();
        assert_eq!(err.code(), "bad_response");
        assert!(err.to_string().contains(expected), "{err}");
    }
    let transport = ScriptedTransport::new()
        .expect("GET /api/v2.1/public/templates/", Reply::Fail(TransportError::TooLarge { limit: 10 }));
    assert!(pollster::block_on(client(&transport).templates())
        .unwrap_err()
        .to_string()
        .contains("larger than 10 bytes"));
}

#[test]
fn ids_arrive_as_strings_or_integers() {
    let transport = ScriptedTransport::new().expect(
        "GET /api/v2.1/public/contracts/?page=1&limit=100&filter__last_updated_on%5B%24gte%5D=2026-01-01T00%3A00%3A00Z",
        Reply::Json(200, json!({"page": 1, "limit": 100, "total_results": 3, "results": [
            {"id": 1234, "contract_status": "REDLINING", "contract_link": "https://app.spotdraft.com/contracts/v2/1234"},
            {"id": "T-4322", "contract_status": "EXECUTED"},
            {"id": "4323", "contract_status": "SOMETHING_NEW"}
        ]})),
    );
    let query =
        ListQuery { page: 1, limit: 100, updated_since: Some("2026-01-01T00:00:00Z".into()), ..ListQuery::default() };
    let page = pollster::block_on(client(&transport).list_contracts(&query)).unwrap();
    let ids: Vec<String> = page.results.iter().map(|r| r.id.contract_id().unwrap().to_string()).collect();
    assert_eq!(ids, ["T-1234", "T-4322", "T-4323"]);
    assert_eq!(page.results[2].contract_status.label(), "Something new");
}

#[test]
fn deep_links_are_only_ever_https_spotdraft_app_urls() {
    assert_eq!(
        flows::deep_link(Some("https://app.spotdraft.com/contracts/v2/4322"), 4322),
        "https://app.spotdraft.com/contracts/v2/4322"
    );
    assert_eq!(
        flows::deep_link(Some("https://app.spotdraft.com/contracts/v2/4322?workspaceId=1"), 4322),
        "https://app.spotdraft.com/contracts/v2/4322?workspaceId=1"
    );
    for hostile in [
        "http://app.spotdraft.com/contracts/v2/1",
        "https://app.spotdraft.com.evil.example/contracts/v2/1",
        "https://app.spotdraft.com@evil.example/contracts/v2/1",
        "javascript:alert(1)",
        "https://evil.example/contracts/v2/1",
        "https://app.spotdraft.com:8443/contracts/v2/1",
        "",
    ] {
        assert_eq!(flows::deep_link(Some(hostile), 9), "https://app.spotdraft.com/contracts/v2/9", "{hostile}");
    }
    assert_eq!(flows::deep_link(None, 9), "https://app.spotdraft.com/contracts/v2/9");
}

#[test]
fn deep_links_are_canonical_byte_for_byte() {
    // Scheme and host in any case are the same place; the link comes back in its canonical spelling.
    for (given, expected) in [
        ("htTps://app.spotdraft.com/contracts/v2/4322", "https://app.spotdraft.com/contracts/v2/4322"),
        ("HTTPS://APP.SPOTDRAFT.COM/contracts/v2/4322", "https://app.spotdraft.com/contracts/v2/4322"),
        (
            "https://App.SpotDraft.com/contracts/v2/4322?workspaceId=7",
            "https://app.spotdraft.com/contracts/v2/4322?workspaceId=7",
        ),
    ] {
        assert_eq!(flows::deep_link(Some(given), 4322), expected, "{given}");
    }
    // Anything that is not a plain link into the app's contracts becomes the standard link.
    for odd in [
        "https://app.spotdraft.com@evil.example/contracts/v2/1",
        "https://user:pw@app.spotdraft.com/contracts/v2/1",
        "https://app.spotdraft.com:443/contracts/v2/1",
        "https://app.spotdraft.com:8443/contracts/v2/1",
        "https://app.spotdraft.com\\@evil.example/contracts/v2/1",
        "https://app.spotdraft.com/contracts\\..\\..\\evil",
        "https://app.spotdraft.com/contracts/v2/%2e%2e/%2e%2e/logout",
        "https://app.spotdraft.com/contracts/%2Fevil.example",
        "https://app.spotdraft.com/contracts/../logout",
        "https://app.spotdraft.com/contracts/v2//1",
        "https://app.spotdraft.com/contracts/v2/1?next=https://evil.example",
        " https://app.spotdraft.com/contracts/v2/1",
        "https://app.spotdraft.com/contracts/v2/1 ",
        "https://app.spotdraft.com/contracts/v2/1\t",
        "https://app.spotdraft.com/contracts/v2/\u{3000}1",
        "https://app.eu.spotdraft.com/contracts/v2/1",
        "https://app.spotdraft.com/settings",
        "https://app.spotdraft.com/contracts/",
        "https://app.spotdraft.com",
    ] {
        assert_eq!(flows::deep_link(Some(odd), 9), "https://app.spotdraft.com/contracts/v2/9", "{odd}");
    }
}

#[test]
fn download_links_are_fresh_and_must_be_secure() {
    let path = "POST /api/v2.1/public/contracts/T-5/download_link";
    let transport = ScriptedTransport::new()
        .expect(
            path,
            Reply::Json(200, json!({"url": "https://storage.googleapis.com/x?signature=1", "file_name": "MSA.pdf"})),
        )
        .expect(
            path,
            Reply::Json(200, json!({"url": "https://storage.googleapis.com/x?signature=2", "file_name": "MSA.pdf"})),
        )
        .expect(path, Reply::Json(200, json!({"url": "http://storage.example/x", "file_name": "MSA.pdf"})));
    let client = client(&transport);
    let first = pollster::block_on(flows::download_link(&client, ContractId::template(5))).unwrap();
    let second = pollster::block_on(flows::download_link(&client, ContractId::template(5))).unwrap();
    assert_ne!(first.url, second.url, "never cached");
    assert_eq!(
        pollster::block_on(flows::download_link(&client, ContractId::template(5))).unwrap_err().code(),
        "bad_response"
    );
}

#[test]
fn send_to_counterparty_checks_status_first() {
    let status = "GET /api/v2.1/public/contracts/T-8/status";
    let transport = ScriptedTransport::new()
        .expect(status, Reply::Json(200, json!({"contract_status": "DRAFT", "contract_name": "MSA"})))
        .expect("POST /api/v2.1/public/contracts/T-8/send_to_counterparties", Reply::Raw(200, vec![], vec![]))
        .expect(status, Reply::Json(200, json!({"contract_status": "REDLINING", "contract_name": "MSA"})))
        .expect(status, Reply::Json(200, json!({"contract_status": "EXECUTED", "contract_name": "MSA"})));
    let client = client(&transport);
    let report =
        pollster::block_on(flows::send_to_counterparty(&client, ContractId::template(8), &SendOptions::default()))
            .unwrap();
    assert_eq!(report.status, ContractStatus::Redlining);
    let body: serde_json::Value = serde_json::from_slice(transport.sent.borrow()[1].body.as_deref().unwrap()).unwrap();
    assert_eq!(body, json!({"attachment_formats": ["PDF"]}));
    let err =
        pollster::block_on(flows::send_to_counterparty(&client, ContractId::template(8), &SendOptions::default()))
            .unwrap_err();
    assert!(err.to_string().contains("executed"), "{err}");
    assert_eq!(transport.count("POST"), 1);
}

#[test]
fn server_side_credentials_are_sent_as_documented() {
    let transport = ScriptedTransport::new().expect(
        "GET /api/v2.1/public/templates/",
        Reply::Json(200, json!({"items": [{"id": 1, "name": "NDA", "contract_type_id": 10}]})),
    );
    let credentials = Credentials {
        client_id: "id-1".into(),
        client_secret: "s3cret".into(),
        user_email: Some("ops@yourco.example".into()),
    };
    let client = SpotDraftClient::new(
        &transport,
        "https://api.eu.spotdraft.com",
        Some(credentials.clone()),
        ClientOptions::default(),
    )
    .unwrap();
    let templates = pollster::block_on(client.templates()).unwrap();
    assert_eq!(templates[0].contract_type_id, Some(10));
    let sent = transport.sent.borrow();
    assert_eq!(sent[0].url, "https://api.eu.spotdraft.com/api/v2.1/public/templates/");
    assert_eq!(
        (sent[0].header("client-id"), sent[0].header("client-secret"), sent[0].header("user-email")),
        (Some("id-1"), Some("s3cret"), Some("ops@yourco.example"))
    );
    assert!(!format!("{credentials:?}").contains("s3cret"), "secrets never reach Debug output");
}

#[test]
fn client_refuses_insecure_or_malformed_endpoints() {
    let transport = ScriptedTransport::new();
    for base in [
        "http://api.us.spotdraft.com",
        "https://api.us.spotdraft.com/api",
        "api.us.spotdraft.com",
        "https://a.example?x=1",
    ] {
        assert!(SpotDraftClient::new(&transport, base, None, ClientOptions::default()).is_err(), "{base}");
    }
    let blank = Credentials { client_id: " ".into(), client_secret: "x\ny".into(), user_email: Some("nobody".into()) };
    let err = SpotDraftClient::new(&transport, "https://api.us.spotdraft.com", Some(blank), ClientOptions::default())
        .err()
        .unwrap();
    assert_eq!(err.problems().len(), 3);
}
