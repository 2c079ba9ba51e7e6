//! The Salesforce, Zoho CRM and Pipedrive emulators: every route, OAuth token endpoints (refresh and
//! Salesforce's JWT bearer grant), access-token expiry, per-user visibility, error bodies, injected
//! rate limits, the write journal; and the core's CRM client (OAuth refresh included) against them.

mod common;

use base64::Engine;
use common::{raw_request, Reply, Sandbox};
use serde_json::{json, Value};
use spotdraft_crm::crm::{self, ContractFields, CrmAuth, CrmEndpoint, FieldNames, OAuthClient};
use spotdraft_crm::deal::Deal;
use spotdraft_crm::model::CrmHost;
use spotdraft_crm::native_transport::NativeTransport;

const SF: &str = "/services/data/v62.0";

fn vendors(sandbox: &Sandbox) -> Value {
    sandbox.control("GET", "/__sandbox/crm/vendors", None).json()
}

fn form(sandbox: &Sandbox, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    raw_request(&sandbox.crm, "POST", path, &all, body.as_bytes()).unwrap()
}

fn call(sandbox: &Sandbox, method: &str, path: &str, auth: (&str, &str), body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    raw_request(&sandbox.crm, method, path, &[auth, ("Content-Type", "application/json")], body.as_bytes()).unwrap()
}

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn salesforce_token(sandbox: &Sandbox, v: &Value, user: usize) -> String {
    let sf = &v["salesforce"];
    let reply = form(
        sandbox,
        "/services/oauth2/token",
        &[],
        &format!(
            "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
            enc(sf["client_id"].as_str().unwrap()),
            enc(sf["client_secret"].as_str().unwrap()),
            enc(sf["users"][user]["refresh_token"].as_str().unwrap())
        ),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], sandbox.crm);
    assert!(body.get("expires_in").is_none(), "Salesforce names no lifetime");
    body["access_token"].as_str().unwrap().to_string()
}

fn sf_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body[0]["errorCode"], code, "{body}");
    assert!(body[0]["message"].is_string());
}

#[test]
fn salesforce_records_query_and_write_journal() {
    let sandbox = Sandbox::start(&[]);
    let v = vendors(&sandbox);
    let deals: Vec<String> = serde_json::from_value(v["salesforce"]["deal_ids"].clone()).unwrap();
    assert_eq!(deals.len(), 5);
    assert!(deals.iter().all(|id| id.len() == 18 && id.starts_with("006")), "{deals:?}");
    let token = salesforce_token(&sandbox, &v, 0);
    let auth = format!("Bearer {token}");
    let bearer = ("Authorization", auth.as_str());

    let opp = call(&sandbox, "GET", &format!("{SF}/sobjects/Opportunity/{}", deals[0]), bearer, None).json();
    assert_eq!(opp["attributes"]["type"], "Opportunity");
    assert_eq!(opp["Name"], "Acme Widgets — Platform subscription");
    assert_eq!((opp["Amount"].as_f64(), opp["CurrencyIsoCode"].as_str()), (Some(48000.0), Some("USD")));
    assert_eq!(opp["StageName"], "Negotiation/Review");
    assert_eq!(opp["SpotDraft_Status__c"], Value::Null);
    // The 15-character form of the id works too; ?fields= picks fields.
    let short = &deals[2][..15];
    let picked =
        call(&sandbox, "GET", &format!("{SF}/sobjects/Opportunity/{short}?fields=Name,CloseDate"), bearer, None).json();
    assert_eq!(picked["CloseDate"], Value::Null, "Initech has no close date");
    assert!(picked.get("StageName").is_none());
    sf_error(
        &call(&sandbox, "GET", &format!("{SF}/sobjects/Opportunity/{}?fields=Nope__c", deals[0]), bearer, None),
        400,
        "INVALID_FIELD",
    );
    sf_error(
        &call(&sandbox, "GET", &format!("{SF}/sobjects/Opportunity/006Hs0000099999AAA"), bearer, None),
        404,
        "NOT_FOUND",
    );
    sf_error(&call(&sandbox, "GET", &format!("{SF}/sobjects/Widget__c/{}", deals[0]), bearer, None), 404, "NOT_FOUND");
    let account_id = opp["AccountId"].as_str().unwrap();
    let account = call(&sandbox, "GET", &format!("{SF}/sobjects/Account/{account_id}"), bearer, None).json();
    assert_eq!(account["BillingCountry"], "United States");

    let soql =
        format!("SELECT ContactId, IsPrimary, Role FROM OpportunityContactRole WHERE OpportunityId = '{}'", deals[0]);
    let roles = call(&sandbox, "GET", &format!("{SF}/query?q={}", enc(&soql)), bearer, None).json();
    assert_eq!((roles["totalSize"].as_u64(), roles["done"].as_bool()), (Some(1), Some(true)));
    assert_eq!(roles["records"][0]["IsPrimary"], true);
    let contact_id = roles["records"][0]["ContactId"].as_str().unwrap();
    let contact = call(
        &sandbox,
        "GET",
        &format!("{SF}/sobjects/Contact/{contact_id}?fields=FirstName,LastName,Email"),
        bearer,
        None,
    )
    .json();
    assert_eq!(contact["Email"], "avery.stone@acme.example");
    sf_error(
        &call(&sandbox, "GET", &format!("{SF}/query?q={}", enc("SELECT Id FROM Lead WHERE Id = '1'")), bearer, None),
        400,
        "INVALID_TYPE",
    );
    sf_error(
        &call(&sandbox, "GET", &format!("{SF}/query?q={}", enc("DELETE everything")), bearer, None),
        400,
        "MALFORMED_QUERY",
    );

    let write = json!({"SpotDraft_Contract_Id__c": "T-4301", "SpotDraft_Status__c": "DRAFT"});
    let patched =
        call(&sandbox, "PATCH", &format!("{SF}/sobjects/Opportunity/{}", deals[0]), bearer, Some(write.clone()));
    assert_eq!((patched.status, patched.body.len()), (204, 0));
    assert_eq!(
        call(&sandbox, "PATCH", &format!("{SF}/sobjects/Opportunity/{}", deals[0]), bearer, Some(write)).status,
        204
    );
    sf_error(
        &call(
            &sandbox,
            "PATCH",
            &format!("{SF}/sobjects/Opportunity/{}", deals[0]),
            bearer,
            Some(json!({"Colour__c": "red"})),
        ),
        400,
        "INVALID_FIELD",
    );
    let writes = sandbox.control("GET", &format!("/__sandbox/crm/writes?object_id={}", deals[0]), None).json();
    assert_eq!(writes.as_array().unwrap().len(), 2);
    assert_eq!(writes[0]["object_type"], "salesforce:Opportunity");
    assert_eq!(writes[0]["changed"].as_array().unwrap().len(), 2);
    assert_eq!(writes[1]["changed"], json!([]), "the second write changed nothing");
    let read = call(
        &sandbox,
        "GET",
        &format!("{SF}/sobjects/Opportunity/{}?fields=SpotDraft_Status__c", deals[0]),
        bearer,
        None,
    )
    .json();
    assert_eq!(read["SpotDraft_Status__c"], "DRAFT");
}

#[test]
fn salesforce_users_see_only_their_records_and_user_record_access_says_so() {
    let sandbox = Sandbox::start(&[]);
    let v = vendors(&sandbox);
    let hidden = v["salesforce"]["hidden_deal"]["id"].as_str().unwrap().to_string();
    let sam = v["salesforce"]["users"][1]["id"].as_str().unwrap().to_string();
    let sam_auth = format!("Bearer {}", salesforce_token(&sandbox, &v, 1));
    let admin_auth = format!("Bearer {}", salesforce_token(&sandbox, &v, 0));
    sf_error(
        &call(&sandbox, "GET", &format!("{SF}/sobjects/Opportunity/{hidden}"), ("Authorization", &sam_auth), None),
        404,
        "NOT_FOUND",
    );
    assert_eq!(
        call(&sandbox, "GET", &format!("{SF}/sobjects/Opportunity/{hidden}"), ("Authorization", &admin_auth), None)
            .status,
        200
    );
    let soql = |user: &str| {
        format!(
            "SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE UserId = '{user}' AND RecordId = '{hidden}'"
        )
    };
    let denied =
        call(&sandbox, "GET", &format!("{SF}/query?q={}", enc(&soql(&sam))), ("Authorization", &admin_auth), None)
            .json();
    assert_eq!(denied["records"][0]["HasReadAccess"], false);
    let admin = v["salesforce"]["users"][0]["id"].as_str().unwrap();
    let allowed =
        call(&sandbox, "GET", &format!("{SF}/query?q={}", enc(&soql(admin))), ("Authorization", &admin_auth), None)
            .json();
    assert_eq!(allowed["records"][0]["HasReadAccess"], true);
}

#[test]
fn salesforce_tokens_expire_refresh_and_refuse_in_salesforce_shapes() {
    let sandbox = Sandbox::start(&["--crm-token-ttl", "1"]);
    let v = vendors(&sandbox);
    assert_eq!(v["token_ttl_secs"], 1);
    let deal = v["salesforce"]["deal_ids"][0].as_str().unwrap().to_string();
    let token = salesforce_token(&sandbox, &v, 0);
    let path = format!("{SF}/sobjects/Opportunity/{deal}?fields=Name");
    assert_eq!(call(&sandbox, "GET", &path, ("Authorization", &format!("Bearer {token}")), None).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    sf_error(
        &call(&sandbox, "GET", &path, ("Authorization", &format!("Bearer {token}")), None),
        401,
        "INVALID_SESSION_ID",
    );
    let fresh = salesforce_token(&sandbox, &v, 0);
    assert_ne!(fresh, token);
    assert_eq!(call(&sandbox, "GET", &path, ("Authorization", &format!("Bearer {fresh}")), None).status, 200);
    sf_error(&call(&sandbox, "GET", &path, ("Authorization", "Bearer 00Dnope"), None), 401, "INVALID_SESSION_ID");
    sf_error(&call(&sandbox, "GET", &path, ("X-Nothing", "x"), None), 401, "INVALID_SESSION_ID");

    let sf = &v["salesforce"];
    let attempt = |client: &str, secret: &str, refresh: &str, grant: &str| {
        form(
            &sandbox,
            "/services/oauth2/token",
            &[],
            &format!(
                "grant_type={grant}&client_id={}&client_secret={}&refresh_token={}",
                enc(client),
                enc(secret),
                enc(refresh)
            ),
        )
    };
    let (id, secret, refresh) = (
        sf["client_id"].as_str().unwrap(),
        sf["client_secret"].as_str().unwrap(),
        sf["users"][0]["refresh_token"].as_str().unwrap(),
    );
    let cases = [
        (attempt(id, secret, "5Aep861wrong", "refresh_token"), "invalid_grant"),
        (attempt("3MVG9wrong", secret, refresh, "refresh_token"), "invalid_client_id"),
        (attempt(id, "WRONG", refresh, "refresh_token"), "invalid_client"),
        (attempt(id, secret, refresh, "password"), "unsupported_grant_type"),
    ];
    for (reply, error) in cases {
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert_eq!(reply.json()["error"], error);
        assert!(reply.json()["error_description"].is_string());
    }
    // The control route changes the lifetime of tokens issued from then on.
    assert_eq!(sandbox.control("PUT", "/__sandbox/crm/token-ttl", Some(json!({"seconds": 3600}))).status, 200);
    let lasting = salesforce_token(&sandbox, &v, 0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(call(&sandbox, "GET", &path, ("Authorization", &format!("Bearer {lasting}")), None).status, 200);
    assert_eq!(sandbox.control("POST", "/__sandbox/crm/expire-tokens", None).status, 200);
    sf_error(
        &call(&sandbox, "GET", &path, ("Authorization", &format!("Bearer {lasting}")), None),
        401,
        "INVALID_SESSION_ID",
    );
}

fn jwt(claims: Value) -> String {
    let key_path = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/salesforce-jwt-test.key.pem");
    let pem = std::fs::read_to_string(key_path).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let signed = format!("{}.{}", b64(br#"{"alg":"RS256"}"#), b64(claims.to_string().as_bytes()));
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signed.as_bytes(), &mut signature)
        .unwrap();
    format!("{signed}.{}", b64(&signature))
}

#[test]
fn salesforce_jwt_bearer_grant_checks_signature_issuer_audience_expiry_and_user() {
    let sandbox = Sandbox::start(&[]);
    let v = vendors(&sandbox);
    let sf = &v["salesforce"];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = |iss: &str, sub: &str, aud: &str, exp: u64| json!({"iss": iss, "sub": sub, "aud": aud, "exp": exp});
    let client = sf["client_id"].as_str().unwrap();
    let user = sf["users"][1]["email"].as_str().unwrap();
    let grant = |assertion: String| {
        form(
            &sandbox,
            "/services/oauth2/token",
            &[],
            &format!("grant_type={}&assertion={assertion}", enc("urn:ietf:params:oauth:grant-type:jwt-bearer")),
        )
    };
    let good = grant(jwt(claims(client, user, "https://login.salesforce.com", now + 180)));
    assert_eq!(good.status, 200, "{}", good.text());
    let token = good.json()["access_token"].as_str().unwrap().to_string();
    assert!(good.json().get("refresh_token").is_none());
    // The token acts as that user: the deal hidden from them stays hidden.
    let hidden = v["salesforce"]["hidden_deal"]["id"].as_str().unwrap();
    sf_error(
        &call(
            &sandbox,
            "GET",
            &format!("{SF}/sobjects/Opportunity/{hidden}"),
            ("Authorization", &format!("Bearer {token}")),
            None,
        ),
        404,
        "NOT_FOUND",
    );
    assert_eq!(
        grant(jwt(claims(client, user, &sandbox.crm, now + 60))).status,
        200,
        "the emulator's own origin is an audience"
    );
    let refusals = [
        (jwt(claims(client, user, "https://example.com", now + 180)), "invalid_grant"),
        (jwt(claims(client, user, "https://login.salesforce.com", now - 10)), "invalid_grant"),
        (jwt(claims("3MVG9other", user, "https://login.salesforce.com", now + 180)), "invalid_client_id"),
        (jwt(claims(client, "nobody@example.com", "https://login.salesforce.com", now + 180)), "invalid_grant"),
        (format!("{}x", jwt(claims(client, user, "https://login.salesforce.com", now + 180))), "invalid_grant"),
        ("not.a.jwt".to_string(), "invalid_grant"),
    ];
    for (assertion, error) in refusals {
        let reply = grant(assertion);
        assert_eq!(
            (reply.status, reply.json()["error"].as_str().unwrap().to_string()),
            (400, error.to_string()),
            "{}",
            reply.text()
        );
    }
}

fn zoho_token(sandbox: &Sandbox, v: &Value, user: usize) -> Value {
    let z = &v["zoho"];
    // Zoho documents the parameters in the query string; a form body works the same.
    let reply = form(
        sandbox,
        &format!(
            "/oauth/v2/token?refresh_token={}&client_id={}&client_secret={}&grant_type=refresh_token",
            enc(z["users"][user]["refresh_token"].as_str().unwrap()),
            enc(z["client_id"].as_str().unwrap()),
            enc(z["client_secret"].as_str().unwrap())
        ),
        &[],
        "",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn zoho_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!((body["code"].as_str(), body["status"].as_str()), (Some(code), Some("error")), "{body}");
}

#[test]
fn zoho_v8_records_tokens_visibility_and_errors() {
    let sandbox = Sandbox::start(&[]);
    let v = vendors(&sandbox);
    let answer = zoho_token(&sandbox, &v, 0);
    assert_eq!(
        (answer["api_domain"].as_str(), answer["expires_in"].as_u64()),
        (Some(sandbox.crm.as_str()), Some(3600))
    );
    let auth = format!("Zoho-oauthtoken {}", answer["access_token"].as_str().unwrap());
    let zoho = ("Authorization", auth.as_str());
    let deals: Vec<String> = serde_json::from_value(v["zoho"]["deal_ids"].clone()).unwrap();
    assert!(deals.iter().all(|id| id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit())), "{deals:?}");

    let deal = call(&sandbox, "GET", &format!("/crm/v8/Deals/{}", deals[1]), zoho, None).json();
    let record = &deal["data"][0];
    assert_eq!(
        (record["Deal_Name"].as_str(), record["Amount"].as_f64(), record["Currency"].as_str()),
        (Some("Globex Rahmenvertrag 2027"), Some(125000.5), Some("EUR"))
    );
    assert_eq!(record["Stage"], "Identify Decision Makers");
    let account_id = record["Account_Name"]["id"].as_str().unwrap();
    let account = call(&sandbox, "GET", &format!("/crm/v8/Accounts/{account_id}"), zoho, None).json();
    assert_eq!(account["data"][0]["Billing_Country"], "Germany");
    let contact_id = record["Contact_Name"]["id"].as_str().unwrap();
    let contact =
        call(&sandbox, "GET", &format!("/crm/v8/Contacts/{contact_id}?fields=First_Name,Last_Name,Email"), zoho, None)
            .json();
    assert_eq!(contact["data"][0]["Last_Name"], "Müller");
    assert!(contact["data"][0].get("Owner").is_none());
    let gone = call(&sandbox, "GET", "/crm/v8/Deals/5725767000000999999", zoho, None);
    assert_eq!((gone.status, gone.body.len()), (204, 0));
    zoho_error(&call(&sandbox, "GET", "/crm/v8/Widgets/1", zoho, None), 400, "INVALID_MODULE");
    zoho_error(
        &call(&sandbox, "GET", &format!("/crm/v8/Deals/{}?fields=Nope", deals[0]), zoho, None),
        400,
        "INVALID_DATA",
    );

    let put = call(
        &sandbox,
        "PUT",
        &format!("/crm/v8/Deals/{}", deals[0]),
        zoho,
        Some(json!({"data": [{"SpotDraft_Status": "SIGN"}]})),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        (put.json()["data"][0]["code"].as_str(), put.json()["data"][0]["status"].as_str()),
        (Some("SUCCESS"), Some("success"))
    );
    let bad =
        call(&sandbox, "PUT", &format!("/crm/v8/Deals/{}", deals[0]), zoho, Some(json!({"data": [{"Colour": "red"}]})));
    assert_eq!(bad.status, 400);
    assert_eq!(
        (bad.json()["data"][0]["code"].as_str(), bad.json()["data"][0]["details"]["api_name"].as_str()),
        (Some("INVALID_DATA"), Some("Colour"))
    );
    zoho_error(
        &call(&sandbox, "PUT", &format!("/crm/v8/Deals/{}", deals[0]), zoho, Some(json!({"nodata": 1}))),
        400,
        "MANDATORY_NOT_FOUND",
    );
    let writes = sandbox.control("GET", &format!("/__sandbox/crm/writes?object_id={}", deals[0]), None).json();
    assert_eq!(
        (writes[0]["object_type"].as_str(), writes[0]["changed"].clone()),
        (Some("zoho:Deals"), json!(["SpotDraft_Status"]))
    );

    // The second user may not see one deal.
    let sam = format!("Zoho-oauthtoken {}", zoho_token(&sandbox, &v, 1)["access_token"].as_str().unwrap());
    let hidden = v["zoho"]["hidden_deal"]["id"].as_str().unwrap();
    zoho_error(
        &call(&sandbox, "GET", &format!("/crm/v8/Deals/{hidden}"), ("Authorization", &sam), None),
        403,
        "NO_PERMISSION",
    );
    assert_eq!(call(&sandbox, "GET", &format!("/crm/v8/Deals/{hidden}"), zoho, None).status, 200);

    zoho_error(
        &call(
            &sandbox,
            "GET",
            &format!("/crm/v8/Deals/{}", deals[0]),
            ("Authorization", "Zoho-oauthtoken 1000.bad"),
            None,
        ),
        401,
        "INVALID_TOKEN",
    );
    zoho_error(
        &call(&sandbox, "GET", &format!("/crm/v8/Deals/{}", deals[0]), ("X-None", "x"), None),
        401,
        "AUTHENTICATION_FAILURE",
    );
    assert_eq!(sandbox.control("POST", "/__sandbox/crm/expire-tokens", None).status, 200);
    zoho_error(&call(&sandbox, "GET", &format!("/crm/v8/Deals/{}", deals[0]), zoho, None), 401, "INVALID_TOKEN");
    // Refusals come back as HTTP 200 with an error member.
    let z = &v["zoho"];
    let refused = form(
        &sandbox,
        "/oauth/v2/token",
        &[],
        &format!(
            "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token=1000.nope",
            enc(z["client_id"].as_str().unwrap()),
            enc(z["client_secret"].as_str().unwrap())
        ),
    );
    assert_eq!((refused.status, refused.json()), (200, json!({"error": "invalid_code"})));
    let wrong_client =
        form(&sandbox, "/oauth/v2/token", &[], "grant_type=refresh_token&client_id=x&client_secret=y&refresh_token=z");
    assert_eq!(wrong_client.json(), json!({"error": "invalid_client"}));
}

fn pipedrive_oauth(sandbox: &Sandbox, v: &Value, user: usize) -> Value {
    let p = &v["pipedrive"];
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        p["client_id"].as_str().unwrap(),
        p["client_secret"].as_str().unwrap()
    ));
    let reply = form(
        sandbox,
        "/oauth/token",
        &[("Authorization", &format!("Basic {basic}"))],
        &format!("grant_type=refresh_token&refresh_token={}", enc(p["users"][user]["refresh_token"].as_str().unwrap())),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[test]
fn pipedrive_deals_organizations_persons_permitted_users_and_auth() {
    let sandbox = Sandbox::start(&[]);
    let v = vendors(&sandbox);
    let p = &v["pipedrive"];
    let api_token = p["api_token"].as_str().unwrap();
    let key = ("x-api-token", api_token);
    let fields = &p["fields"];
    let status_key = fields["status"].as_str().unwrap();

    let deal = call(&sandbox, "GET", "/api/v2/deals/101", key, None);
    assert_eq!(deal.status, 200);
    assert!(deal.header("x-ratelimit-limit").is_some() && deal.header("x-ratelimit-remaining").is_some());
    let data = &deal.json()["data"];
    assert_eq!(
        (data["id"].as_u64(), data["title"].as_str(), data["value"].as_f64()),
        (Some(101), Some("Acme Widgets — Platform subscription"), Some(48000.0))
    );
    assert_eq!(
        (data["org_id"].as_u64(), data["person_id"].as_u64(), data["stage_id"].as_u64()),
        (Some(201), Some(301), Some(4))
    );
    assert!(data["custom_fields"].as_object().unwrap().contains_key(status_key));
    let picked = call(&sandbox, "GET", &format!("/api/v2/deals/101?custom_fields={status_key}"), key, None).json();
    assert_eq!(picked["data"]["custom_fields"].as_object().unwrap().len(), 1);
    let by_query =
        call(&sandbox, "GET", &format!("/api/v2/organizations/201?api_token={api_token}"), ("X-None", "x"), None)
            .json();
    assert_eq!(
        (by_query["success"].as_bool(), by_query["data"]["address"]["locality"].as_str()),
        (Some(true), Some("New York"))
    );
    let person = call(&sandbox, "GET", "/api/v2/persons/301", key, None).json();
    assert_eq!(
        person["data"]["emails"][0],
        json!({"value": "avery.stone@acme.example", "primary": true, "label": "work"})
    );
    let lone = call(&sandbox, "GET", "/api/v2/deals/105", key, None).json();
    assert_eq!(lone["data"]["org_id"], Value::Null, "the individual buyer has no organization");
    let missing = call(&sandbox, "GET", "/api/v2/deals/999", key, None);
    assert_eq!(
        (missing.status, missing.json()["success"].as_bool(), missing.json()["error"].as_str()),
        (404, Some(false), Some("Deal not found"))
    );

    let patched =
        call(&sandbox, "PATCH", "/api/v2/deals/101", key, Some(json!({"custom_fields": {status_key: "DRAFT"}})));
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["data"]["custom_fields"][status_key], "DRAFT");
    call(&sandbox, "PATCH", "/api/v2/deals/101", key, Some(json!({"custom_fields": {status_key: "DRAFT"}})));
    let unknown = call(&sandbox, "PATCH", "/api/v2/deals/101", key, Some(json!({"custom_fields": {"ffff": "x"}})));
    assert_eq!((unknown.status, unknown.json()["success"].as_bool()), (400, Some(false)));
    let writes = sandbox.control("GET", "/__sandbox/crm/writes?object_id=101", None).json();
    assert_eq!((writes[0]["changed"].clone(), writes[1]["changed"].clone()), (json!([status_key]), json!([])));

    // Visibility: user 13002 may not see deal 102; permittedUsers says so.
    let permitted = call(&sandbox, "GET", "/v1/deals/102/permittedUsers", key, None).json();
    assert_eq!(permitted, json!({"success": true, "data": [13001], "additional_data": null}));
    assert_eq!(call(&sandbox, "GET", "/v1/deals/101/permittedUsers", key, None).json()["data"], json!([13001, 13002]));
    let sam = pipedrive_oauth(&sandbox, &v, 1);
    assert_eq!((sam["api_domain"].as_str(), sam["token_type"].as_str()), (Some(sandbox.crm.as_str()), Some("Bearer")));
    assert_eq!(sam["refresh_token"], p["users"][1]["refresh_token"]);
    let sam_auth = format!("Bearer {}", sam["access_token"].as_str().unwrap());
    assert_eq!(call(&sandbox, "GET", "/api/v2/deals/102", ("Authorization", &sam_auth), None).status, 403);
    assert_eq!(call(&sandbox, "GET", "/api/v2/deals/101", ("Authorization", &sam_auth), None).status, 200);

    // Auth failures and token endpoint refusals.
    let unauthorized = call(&sandbox, "GET", "/api/v2/deals/101", ("x-api-token", "nope"), None);
    assert_eq!((unauthorized.status, unauthorized.json()["error"].as_str()), (401, Some("unauthorized access")));
    assert_eq!(sandbox.control("POST", "/__sandbox/crm/expire-tokens", None).status, 200);
    assert_eq!(call(&sandbox, "GET", "/api/v2/deals/101", ("Authorization", &sam_auth), None).status, 401);
    assert_eq!(call(&sandbox, "GET", "/api/v2/deals/101", key, None).status, 200, "API tokens do not expire");
    let no_basic = form(&sandbox, "/oauth/token", &[], "grant_type=refresh_token&refresh_token=x");
    assert_eq!((no_basic.status, no_basic.json()["error"].as_str()), (401, Some("invalid_client")));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        p["client_id"].as_str().unwrap(),
        p["client_secret"].as_str().unwrap()
    ));
    let bad_refresh = form(
        &sandbox,
        "/oauth/token",
        &[("Authorization", &format!("Basic {basic}"))],
        "grant_type=refresh_token&refresh_token=x",
    );
    assert_eq!((bad_refresh.status, bad_refresh.json()["error"].as_str()), (400, Some("invalid_grant")));
}

#[test]
fn injected_rate_limits_answer_in_each_vendors_shape() {
    let sandbox = Sandbox::start(&["--retry-after", "2"]);
    let v = vendors(&sandbox);
    let sf_auth = format!("Bearer {}", salesforce_token(&sandbox, &v, 0));
    let zoho_auth = format!("Zoho-oauthtoken {}", zoho_token(&sandbox, &v, 0)["access_token"].as_str().unwrap());
    let api_token = v["pipedrive"]["api_token"].as_str().unwrap().to_string();
    let rules = json!({"retry_after_seconds": 2, "rules": [{"service": "crm", "route": "GET *", "kind": "429"}]});
    assert_eq!(sandbox.control("PUT", "/__sandbox/faults", Some(rules)).status, 200);
    let sf = call(
        &sandbox,
        "GET",
        &format!("{SF}/sobjects/Opportunity/{}", v["salesforce"]["deal_ids"][0].as_str().unwrap()),
        ("Authorization", &sf_auth),
        None,
    );
    sf_error(&sf, 403, "REQUEST_LIMIT_EXCEEDED");
    assert!(sf.header("Sforce-Limit-Info").is_some());
    let zoho = call(
        &sandbox,
        "GET",
        &format!("/crm/v8/Deals/{}", v["zoho"]["deal_ids"][0].as_str().unwrap()),
        ("Authorization", &zoho_auth),
        None,
    );
    zoho_error(&zoho, 429, "TOO_MANY_REQUESTS");
    assert_eq!(zoho.header("Retry-After"), Some("2"));
    let pd = call(&sandbox, "GET", "/api/v2/deals/101", ("x-api-token", &api_token), None);
    assert_eq!((pd.status, pd.json()["errorCode"].as_u64()), (429, Some(429)));
    assert_eq!((pd.header("x-ratelimit-remaining"), pd.header("x-ratelimit-reset")), (Some("0"), Some("2")));
    // Bad credentials are refused before faults, as on the HubSpot emulator.
    assert_eq!(call(&sandbox, "GET", "/api/v2/deals/101", ("x-api-token", "nope"), None).status, 401);
}

// ---------------------------------------------------------------------------------------------
// The core's CRM client against the emulators, with OAuth refresh.

fn oauth_endpoint(
    sandbox: &Sandbox,
    v: &Value,
    host: CrmHost,
    vendor: &str,
    token_path: &str,
    user: usize,
) -> CrmEndpoint {
    let x = &v[vendor];
    CrmEndpoint {
        host,
        base_url: sandbox.crm.clone(),
        token: CrmAuth::oauth(OAuthClient {
            client_id: x["client_id"].as_str().unwrap().into(),
            client_secret: x["client_secret"].as_str().unwrap().into(),
            refresh_token: x["users"][user]["refresh_token"].as_str().unwrap().into(),
            token_url: format!("{}{token_path}", sandbox.crm),
        }),
        timeout_ms: 5_000,
    }
}

fn names(v: &Value, vendor: &str) -> FieldNames {
    FieldNames::from_json(&v[vendor]["fields"], "fields").unwrap()
}

#[test]
fn the_core_reads_deals_and_writes_back_through_expiring_tokens() {
    let sandbox = Sandbox::start(&["--crm-token-ttl", "1"]);
    let v = vendors(&sandbox);
    let transport = NativeTransport::new();
    let cases = [
        (CrmHost::Salesforce, "salesforce", "/services/oauth2/token"),
        (CrmHost::Zoho, "zoho", "/oauth/v2/token"),
        (CrmHost::Pipedrive, "pipedrive", "/oauth/token"),
    ];
    for (host, vendor, token_path) in cases {
        let endpoint = oauth_endpoint(&sandbox, &v, host, vendor, token_path, 0);
        let fields = names(&v, vendor);
        let deal_ids: Vec<String> = serde_json::from_value(v[vendor]["deal_ids"].clone()).unwrap();
        for (index, id) in deal_ids.iter().enumerate() {
            let value = pollster::block_on(crm::read_deal(&transport, &endpoint, id, &[])).unwrap();
            let deal = Deal::from_json(&value).unwrap_or_else(|e| panic!("{vendor} deal {id}: {e}: {value}"));
            let expected = spotdraft_deals()[index];
            assert_eq!(deal.name, expected.0, "{vendor}");
            assert_eq!(
                deal.amount,
                expected.1.or(if host == CrmHost::Pipedrive { Some(0.0) } else { None }),
                "{vendor} {id}"
            );
            assert_eq!(
                deal.account.as_ref().map(|a| a.name.clone()),
                expected.2.map(|n| n.trim().to_string()),
                "{vendor} {id}"
            );
            assert_eq!(deal.primary_contact.and_then(|c| c.email), Some(expected.3.to_string()), "{vendor} {id}");
        }
        let patch =
            ContractFields { contract_id: Some("T-4301".into()), status: Some("DRAFT".into()), ..Default::default() };
        pollster::block_on(crm::write_fields(&transport, &endpoint, &fields, &deal_ids[0], &patch)).unwrap();
        // Let the access token expire: the next call renews it (before or after a 401) and succeeds.
        std::thread::sleep(std::time::Duration::from_millis(1200));
        let read = pollster::block_on(crm::read_fields(&transport, &endpoint, &fields, &deal_ids[0])).unwrap();
        assert_eq!((read.contract_id.as_deref(), read.status.as_deref()), (Some("T-4301"), Some("DRAFT")), "{vendor}");
        assert!(endpoint.token.refresh_count() >= 2, "{vendor}: {}", endpoint.token.refresh_count());
        // A user who may not see the deal: the CRM refuses, and the error names the CRM.
        let hidden = v[vendor]["hidden_deal"]["id"].as_str().unwrap();
        let restricted = oauth_endpoint(&sandbox, &v, host, vendor, token_path, 1);
        let error = pollster::block_on(crm::read_deal(&transport, &restricted, hidden, &[])).unwrap_err();
        let display = match host {
            CrmHost::Salesforce => "Salesforce",
            CrmHost::Zoho => "Zoho CRM",
            _ => "Pipedrive",
        };
        assert!(error.to_string().contains(&format!("{display}: ")), "{error}");
    }
    let sf = oauth_endpoint(&sandbox, &v, CrmHost::Salesforce, "salesforce", "/services/oauth2/token", 0);
    let hidden = v["salesforce"]["hidden_deal"]["id"].as_str().unwrap();
    let sam = v["salesforce"]["users"][1]["id"].as_str().unwrap();
    assert!(!pollster::block_on(crm::user_can_see_deal(&transport, &sf, hidden, sam)).unwrap());
    let pd = oauth_endpoint(&sandbox, &v, CrmHost::Pipedrive, "pipedrive", "/oauth/token", 0);
    assert!(!pollster::block_on(crm::user_can_see_deal(&transport, &pd, "102", "13002")).unwrap());
    assert!(pollster::block_on(crm::user_can_see_deal(&transport, &pd, "101", "13002")).unwrap());
    // A refresh token the CRM does not know: a clear message for the admin.
    let mut broken = oauth_endpoint(&sandbox, &v, CrmHost::Zoho, "zoho", "/oauth/v2/token", 0);
    broken.token = CrmAuth::oauth(OAuthClient {
        client_id: v["zoho"]["client_id"].as_str().unwrap().into(),
        client_secret: v["zoho"]["client_secret"].as_str().unwrap().into(),
        refresh_token: "1000.revoked".into(),
        token_url: format!("{}/oauth/v2/token", sandbox.crm),
    });
    let error =
        pollster::block_on(crm::read_deal(&transport, &broken, v["zoho"]["deal_ids"][0].as_str().unwrap(), &[]))
            .unwrap_err();
    assert!(error.to_string().contains("an admin must reconnect Zoho CRM"), "{error}");
    assert!(!error.to_string().contains("1000.revoked"));
}

/// (name, amount, company, contact email) of the seeded deals, in order.
fn spotdraft_deals() -> [(&'static str, Option<f64>, Option<&'static str>, &'static str); 5] {
    [
        (
            "Acme Widgets — Platform subscription",
            Some(48000.0),
            Some("  acme   widgets, inc. "),
            "avery.stone@acme.example",
        ),
        ("Globex Rahmenvertrag 2027", Some(125000.5), Some("Globex GmbH"), "j.mueller@globex.example"),
        ("Initech pilot", Some(9500.0), Some("Initech Ltd."), "priya@initech.example"),
        (
            "Umbrella Health renewal FY27",
            Some(2500000.0),
            Some("Umbrella Health Pvt. Ltd."),
            "rahul.mehta@umbrella.example",
        ),
        ("Jordan Lee — consulting NDA", None, None, "jordan.lee@freelance.example"),
    ]
}

/// The admin console's read of each CRM: pipelines and stages, field definitions and the standard
/// sources, through the vendor's own APIs; every seeded deal's stage (as the deal reader reads it)
/// is one of the stages listed, and every custom field a deal carries is a listed deal field.
#[test]
fn the_core_reads_each_crms_stages_and_fields() {
    let sandbox = Sandbox::start(&[]);
    let v = vendors(&sandbox);
    let transport = NativeTransport::new();
    let hubspot = CrmEndpoint {
        host: CrmHost::Hubspot,
        base_url: sandbox.crm.clone(),
        token: sandbox.crm_token.as_str().into(),
        timeout_ms: 5_000,
    };
    let cases = [
        (hubspot, "hubspot", vec!["1001".to_string(), "1002".into(), "1003".into(), "1004".into(), "1005".into()]),
        (
            oauth_endpoint(&sandbox, &v, CrmHost::Salesforce, "salesforce", "/services/oauth2/token", 0),
            "salesforce",
            serde_json::from_value(v["salesforce"]["deal_ids"].clone()).unwrap(),
        ),
        (
            oauth_endpoint(&sandbox, &v, CrmHost::Zoho, "zoho", "/oauth/v2/token", 0),
            "zoho",
            serde_json::from_value(v["zoho"]["deal_ids"].clone()).unwrap(),
        ),
        (
            oauth_endpoint(&sandbox, &v, CrmHost::Pipedrive, "pipedrive", "/oauth/token", 0),
            "pipedrive",
            serde_json::from_value(v["pipedrive"]["deal_ids"].clone()).unwrap(),
        ),
    ];
    for (endpoint, vendor, deal_ids) in cases {
        let schema =
            pollster::block_on(crm::read_schema(&transport, &endpoint)).unwrap_or_else(|e| panic!("{vendor}: {e}"));
        let stages: Vec<&str> = schema.stages.iter().map(|s| s.value.as_str()).collect();
        assert!(schema.stages.iter().all(|s| !s.label.is_empty()), "{vendor}: {:?}", schema.stages);
        for id in &deal_ids {
            let value = pollster::block_on(crm::read_deal(&transport, &endpoint, id, &[])).unwrap();
            let stage = Deal::from_json(&value).unwrap().stage.unwrap_or_else(|| panic!("{vendor} {id}: no stage"));
            assert!(stages.contains(&stage.as_str()), "{vendor} {id}: {stage} not in {stages:?}");
        }
        assert!(!schema.company_fields.is_empty() && !schema.contact_fields.is_empty(), "{vendor}");
        // The write-back fields are custom fields every deal carries: each is a listed deal field.
        let contract_id = v[vendor]["fields"]["contractId"].as_str().unwrap_or("spotdraft_contract_id");
        assert!(schema.deal_fields.iter().any(|f| f.name == contract_id), "{vendor}: {:?}", schema.deal_fields);
        let amount = schema.standard.iter().find(|s| s.source == "deal.amount").map(|s| s.crm_field.as_str());
        let expected = match vendor {
            "hubspot" => "amount",
            "salesforce" | "zoho" => "Amount",
            _ => "value",
        };
        assert_eq!(amount, Some(expected), "{vendor}");
    }
    // A CRM that answers something else: the error names what was read and what is wrong.
    let wrong = CrmEndpoint {
        host: CrmHost::Salesforce,
        base_url: format!("{}/nowhere", sandbox.crm),
        token: "nope".into(),
        timeout_ms: 5_000,
    };
    let error = pollster::block_on(crm::read_schema(&transport, &wrong)).unwrap_err().to_string();
    assert!(error.contains("Salesforce: ") && error.contains("(reading the Opportunity description)"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Deal search by name (the admin console's deal picker): each vendor's search API, and the core's
// `crm::search_deals` reading each.

#[test]
fn each_vendor_searches_deals_by_name_for_the_users_who_may_see_them() {
    let sandbox = Sandbox::start(&[]);
    let v = vendors(&sandbox);

    // Salesforce: SOQL `Name LIKE`, its escapes, ORDER BY LastModifiedDate DESC and LIMIT.
    let admin = format!("Bearer {}", salesforce_token(&sandbox, &v, 0));
    let sf = ("Authorization", admin.as_str());
    let soql = |like: &str, limit: u32| {
        format!(
            "{SF}/query?q={}",
            enc(&format!(
                "SELECT Id, Name, StageName FROM Opportunity WHERE Name LIKE '{like}' ORDER BY LastModifiedDate DESC LIMIT {limit}"
            ))
        )
    };
    let found = call(&sandbox, "GET", &soql("%acme%", 10), sf, None);
    assert_eq!(found.status, 200, "{}", found.text());
    let body = found.json();
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["Name"], "Acme Widgets — Platform subscription");
    assert_eq!(body["records"][0]["StageName"], "Negotiation/Review");
    assert_eq!(body["records"][0]["attributes"]["type"], "Opportunity");
    assert!(body["records"][0].get("Amount").is_none(), "only the selected fields");
    let all = call(&sandbox, "GET", &soql("%", 2), sf, None).json();
    assert_eq!(all["records"].as_array().unwrap().len(), 2, "LIMIT");
    // `_` matches one character unless escaped; an escaped quote is part of the text.
    assert_eq!(call(&sandbox, "GET", &soql("%Initech_pilot%", 10), sf, None).json()["totalSize"], 1);
    assert_eq!(call(&sandbox, "GET", &soql("%Initech\\_pilot%", 10), sf, None).json()["totalSize"], 0);
    assert_eq!(call(&sandbox, "GET", &soql("%o\\'brien%", 10), sf, None).json()["totalSize"], 0);
    sf_error(&call(&sandbox, "GET", &soql("%acme\\q%", 10), sf, None), 400, "MALFORMED_QUERY");
    sf_error(
        // An unescaped quote ends the literal: what follows it is not SOQL the emulator reads.
        &call(&sandbox, "GET", &soql("%acme", 10).replace("%25acme", "%25acme%27%27"), sf, None),
        400,
        "MALFORMED_QUERY",
    );
    let unknown = format!("{SF}/query?q={}", enc("SELECT Id, Colour FROM Opportunity WHERE Name LIKE '%a%' LIMIT 5"));
    sf_error(&call(&sandbox, "GET", &unknown, sf, None), 400, "INVALID_FIELD");
    // Touch one opportunity: it is listed first.
    let ids: Vec<String> = serde_json::from_value(v["salesforce"]["deal_ids"].clone()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let touched =
        call(&sandbox, "PATCH", &format!("{SF}/sobjects/Opportunity/{}", ids[2]), sf, Some(json!({"Amount": 9600})));
    assert_eq!(touched.status, 204, "{}", touched.text());
    assert_eq!(call(&sandbox, "GET", &soql("%", 10), sf, None).json()["records"][0]["Id"], ids[2]);
    // The seller does not see the hidden opportunity in a search either.
    let hidden = v["salesforce"]["hidden_deal"]["id"].as_str().unwrap();
    let seller = format!("Bearer {}", salesforce_token(&sandbox, &v, 1));
    let rows = call(&sandbox, "GET", &soql("%", 10), ("Authorization", seller.as_str()), None).json();
    assert_eq!(rows["totalSize"], 4);
    assert!(rows["records"].as_array().unwrap().iter().all(|r| r["Id"] != hidden));

    // Zoho: word search, 204 when none match, its refusals.
    let token = zoho_token(&sandbox, &v, 0);
    let auth = format!("Zoho-oauthtoken {}", token["access_token"].as_str().unwrap());
    let zoho = ("Authorization", auth.as_str());
    let found =
        call(&sandbox, "GET", "/crm/v8/Deals/search?word=initech&fields=Deal_Name,Stage&per_page=10", zoho, None);
    assert_eq!(found.status, 200, "{}", found.text());
    let body = found.json();
    assert_eq!(body["data"][0]["Deal_Name"], "Initech pilot");
    assert_eq!(body["data"][0]["Stage"], "Qualification");
    assert!(body["data"][0]["id"].is_string() && body["data"][0].get("Amount").is_none());
    assert_eq!((body["info"]["count"].as_u64(), body["info"]["more_records"].as_bool()), (Some(1), Some(false)));
    let none = call(&sandbox, "GET", "/crm/v8/Deals/search?word=nothing-like-this", zoho, None);
    assert_eq!((none.status, none.body.len()), (204, 0));
    zoho_error(&call(&sandbox, "GET", "/crm/v8/Deals/search", zoho, None), 400, "REQUIRED_PARAM_MISSING");
    zoho_error(&call(&sandbox, "GET", "/crm/v8/Deals/search?word=a", zoho, None), 400, "INVALID_QUERY");
    zoho_error(&call(&sandbox, "GET", "/crm/v8/Widgets/search?word=acme", zoho, None), 400, "INVALID_MODULE");
    let paged = call(&sandbox, "GET", "/crm/v8/Deals/search?word=in&per_page=1", zoho, None).json();
    assert_eq!(paged["info"]["more_records"], true);
    let hidden = v["zoho"]["hidden_deal"]["id"].as_str().unwrap();
    let seller = zoho_token(&sandbox, &v, 1);
    let seller = format!("Zoho-oauthtoken {}", seller["access_token"].as_str().unwrap());
    let globex = call(&sandbox, "GET", "/crm/v8/Deals/search?word=globex", ("Authorization", seller.as_str()), None);
    assert_eq!(globex.status, 204, "the hidden deal is not found by the seller: {} {hidden}", globex.text());

    // Pipedrive: term search in data.items[].item, best match first, its refusals.
    let key = v["pipedrive"]["api_token"].as_str().unwrap();
    let pd = ("x-api-token", key);
    let found = call(&sandbox, "GET", "/api/v2/deals/search?term=acme&fields=title&limit=10", pd, None);
    assert_eq!(found.status, 200, "{}", found.text());
    let body = found.json();
    assert_eq!(body["success"], true);
    let item = &body["data"]["items"][0]["item"];
    assert_eq!((item["id"].as_u64(), item["type"].as_str()), (Some(101), Some("deal")));
    assert_eq!(item["title"], "Acme Widgets — Platform subscription");
    assert_eq!((item["stage"]["id"].as_u64(), item["stage"]["name"].as_str()), (Some(4), Some("Contract sent")));
    assert!(body["data"]["items"][0]["result_score"].is_number());
    assert!(body["additional_data"]["next_cursor"].is_null());
    let none = call(&sandbox, "GET", "/api/v2/deals/search?term=nothing-like-this", pd, None).json();
    assert_eq!(none["data"]["items"], json!([]));
    for bad in [
        "/api/v2/deals/search",
        "/api/v2/deals/search?term=a",
        "/api/v2/deals/search?term=acme&fields=colour",
        "/api/v2/deals/search?term=acme&limit=501",
    ] {
        let reply = call(&sandbox, "GET", bad, pd, None);
        assert_eq!((reply.status, reply.json()["success"].as_bool()), (400, Some(false)), "{bad}");
    }
    assert_eq!(call(&sandbox, "GET", "/api/v2/deals/search?term=a&exact_match=true", pd, None).status, 200);
    let first = call(&sandbox, "GET", "/api/v2/deals/search?term=in&limit=1", pd, None).json();
    let cursor = first["additional_data"]["next_cursor"].as_str().unwrap().to_string();
    let second =
        call(&sandbox, "GET", &format!("/api/v2/deals/search?term=in&limit=1&cursor={}", enc(&cursor)), pd, None)
            .json();
    assert_ne!(first["data"]["items"][0]["item"]["id"], second["data"]["items"][0]["item"]["id"]);
    assert_eq!(call(&sandbox, "GET", "/api/v2/deals/search?term=acme", ("x-api-token", "nope"), None).status, 401);
    let seller = pipedrive_oauth(&sandbox, &v, 1);
    let seller = format!("Bearer {}", seller["access_token"].as_str().unwrap());
    let globex =
        call(&sandbox, "GET", "/api/v2/deals/search?term=globex", ("Authorization", seller.as_str()), None).json();
    assert_eq!(globex["data"]["items"], json!([]), "the hidden deal is not found by the seller");

    // The core reads each answer: the stage each deal's record carries, and nothing for no match.
    let transport = NativeTransport::new();
    let hubspot = CrmEndpoint {
        host: CrmHost::Hubspot,
        base_url: sandbox.crm.clone(),
        token: sandbox.crm_token.as_str().into(),
        timeout_ms: 5_000,
    };
    let cases = [
        (hubspot, "contractsent"),
        (
            oauth_endpoint(&sandbox, &v, CrmHost::Salesforce, "salesforce", "/services/oauth2/token", 0),
            "Negotiation/Review",
        ),
        (oauth_endpoint(&sandbox, &v, CrmHost::Zoho, "zoho", "/oauth/v2/token", 0), "Negotiation/Review"),
        (oauth_endpoint(&sandbox, &v, CrmHost::Pipedrive, "pipedrive", "/oauth/token", 0), "4"),
    ];
    for (endpoint, stage) in cases {
        let host = endpoint.host;
        let hits = pollster::block_on(crm::search_deals(&transport, &endpoint, " Acme ", 10))
            .unwrap_or_else(|e| panic!("{host:?}: {e}"));
        assert_eq!(hits.len(), 1, "{host:?}: {hits:?}");
        assert_eq!(hits[0].name, "Acme Widgets — Platform subscription", "{host:?}");
        assert_eq!(hits[0].stage.as_deref(), Some(stage), "{host:?}");
        let value = pollster::block_on(crm::read_deal(&transport, &endpoint, &hits[0].id, &[])).unwrap();
        assert_eq!(value["stage"], stage, "{host:?}: the stage the deal reader reads");
        let none = pollster::block_on(crm::search_deals(&transport, &endpoint, "nothing-like-this", 10)).unwrap();
        assert!(none.is_empty(), "{host:?}: {none:?}");
        let error = pollster::block_on(crm::search_deals(&transport, &endpoint, "a", 10)).unwrap_err();
        assert!(error.to_string().contains('q'), "{error}");
    }
}
