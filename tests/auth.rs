//! Relay authentication: the HS256 session token (minted here and Pipedrive's `get_signed_token`
//! form), scoping to one record, and HubSpot's v3 request signature.
//!
//! Crafted tokens are signed by a small HS256 signer in this file (the `hmac` crate directly), and
//! the fixed vectors below were computed independently with Python's `hmac`/`hashlib`/`base64`:
//!
//! ```text
//! python3 -c 'import hmac,hashlib,base64; s="POST"+"https://relay.example.com/hubspot/contracts:create?portalId=4411223&dealId=1001&note=a,b%20c"+"{\"templateId\":202,\"dealId\":\"1001\"}"+"1764290000000"; print(base64.b64encode(hmac.new(b"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", s.encode(), hashlib.sha256).digest()).decode())'
//! ```
//!
//! (and likewise for the GET vector and the Pipedrive token: header `{"alg":"HS256","typ":"JWT"}`,
//! payload `{"userId":12345678,"companyId":7654321,"iat":1764290000,"exp":1764290300}`, both compact
//! JSON, base64url without padding, keyed with `pipedrive-extension-jwt-secret-0001`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use spotdraft_crm::auth::{self, check_scope, mint_token, verify_hubspot_v3, verify_token, Caller};
use spotdraft_crm::Error;

const NOW: u64 = 1_764_290_000;
const DEMO_SECRET: &[u8] = b"demo-host-secret-0123456789abcdef";
const SF_SECRET: &[u8] = b"salesforce-apex-secret-0123456789";
const PD_SECRET: &[u8] = b"pipedrive-extension-jwt-secret-0001";

fn secrets(host: &str) -> Option<Vec<u8>> {
    match host {
        "demo" => Some(DEMO_SECRET.to_vec()),
        "salesforce" => Some(SF_SECRET.to_vec()),
        "pipedrive" => Some(PD_SECRET.to_vec()),
        _ => None,
    }
}

fn caller() -> Caller {
    Caller {
        host: "demo".into(),
        tenant: "4411223".into(),
        record: "1001".into(),
        user: Some("seller@acme.example".into()),
        expires_at: None,
    }
}

fn verify(token: &str, now: u64) -> Result<Caller, Error> {
    verify_token(token, &secrets, now)
}

fn reason(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Unauthorized { reason }) => reason,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An HS256 token over arbitrary header and claims, signed independently of the code under test.
fn sign(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

fn claims() -> Value {
    json!({
        "iss": "demo", "aud": "spotdraft-crm-relay", "tenant": "4411223", "record": "1001",
        "sub": "seller@acme.example", "iat": NOW, "exp": NOW + 300
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

// ------------------------------------------------------------------------------------------ own tokens

#[test]
fn mint_then_verify_round_trips() {
    let token = mint_token(DEMO_SECRET, &caller(), NOW, 300).unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert!(!token.contains('='));
    let verified = verify(&token, NOW + 10).unwrap();
    assert_eq!(verified, Caller { expires_at: Some(NOW + 300), ..caller() });

    // The header and claims are exactly the documented ones.
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).unwrap(), br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload, claims());

    // No user: no `sub`.
    let anonymous = Caller { user: None, host: "salesforce".into(), ..caller() };
    let token = mint_token(SF_SECRET, &anonymous, NOW, 3600).unwrap();
    assert_eq!(verify(&token, NOW).unwrap(), Caller { expires_at: Some(NOW + 3600), ..anonymous });

    // The independent signer and mint agree.
    assert_eq!(verify(&sign(&hs256(), &claims(), DEMO_SECRET), NOW).unwrap().record, "1001");
}

#[test]
fn mint_refuses_bad_input() {
    let bad =
        Caller { host: "evil".into(), tenant: "a b".into(), record: "".into(), user: Some("".into()), ..caller() };
    let error = mint_token(b"short", &bad, NOW, 7200).unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    let paths: Vec<&str> = error.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, vec!["secret", "host", "tenant", "record", "user", "ttlSeconds"]);
    assert!(mint_token(DEMO_SECRET, &caller(), NOW, 0).is_err());
}

#[test]
fn tampered_tokens_are_refused() {
    let token = mint_token(DEMO_SECRET, &caller(), NOW, 300).unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    // Payload swapped for deal B, signature kept.
    let other = b64(with(claims(), "record", json!("1002")).to_string().as_bytes());
    let forged = format!("{}.{}.{}", parts[0], other, parts[2]);
    assert_eq!(reason(verify(&forged, NOW)), "the token signature does not match");

    // One signature character changed.
    let mut signature = parts[2].to_string();
    let last = if signature.ends_with('A') { "B" } else { "A" };
    signature.replace_range(signature.len() - 1.., last);
    let forged = format!("{}.{}.{}", parts[0], parts[1], signature);
    assert!(verify(&forged, NOW).is_err());

    // Signature stripped.
    let forged = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(reason(verify(&forged, NOW)), "the token signature does not match");
}

#[test]
fn a_host_with_a_secret_accepts_only_hs256() {
    let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(claims().to_string().as_bytes()));
    assert_eq!(reason(verify(&none, NOW)), "algorithm none is not accepted; tokens are HS256 or RS256");
    // RS256 is for hosts configured with a public key (tests/auth_rs256.rs); this one has a secret.
    let rs256 = sign(&json!({"alg": "RS256", "typ": "JWT"}), &claims(), DEMO_SECRET);
    assert_eq!(reason(verify(&rs256, NOW)), "tokens for host demo are HS256, not RS256");
    let hs512 = sign(&json!({"alg": "HS512"}), &claims(), DEMO_SECRET);
    assert!(reason(verify(&hs512, NOW)).contains("HS512"));
    let missing = sign(&json!({"typ": "JWT"}), &claims(), DEMO_SECRET);
    assert_eq!(reason(verify(&missing, NOW)), "the token header names no algorithm");
    let wrong_typ = sign(&json!({"alg": "HS256", "typ": "JWE"}), &claims(), DEMO_SECRET);
    assert!(verify(&wrong_typ, NOW).is_err());
    let crit = sign(&json!({"alg": "HS256", "crit": ["exp"]}), &claims(), DEMO_SECRET);
    assert!(verify(&crit, NOW).is_err());
    // `typ` may be left out.
    assert!(verify(&sign(&json!({"alg": "HS256"}), &claims(), DEMO_SECRET), NOW).is_ok());
}

#[test]
fn times_are_enforced() {
    let token = mint_token(DEMO_SECRET, &caller(), NOW, 300).unwrap();
    // 30 s of skew past exp, then no more.
    assert!(verify(&token, NOW + 300 + 29).is_ok());
    assert_eq!(reason(verify(&token, NOW + 300 + 30)), "the token has expired");

    let future = mint_token(DEMO_SECRET, &caller(), NOW + 31, 300).unwrap();
    assert_eq!(reason(verify(&future, NOW)), "the token is not valid yet (iat is in the future)");
    assert!(verify(&mint_token(DEMO_SECRET, &caller(), NOW + 30, 300).unwrap(), NOW).is_ok());

    let long = sign(&hs256(), &with(claims(), "exp", json!(NOW + 3601)), DEMO_SECRET);
    assert_eq!(reason(verify(&long, NOW)), "the token lives longer than 3600 seconds");
    let backwards = sign(&hs256(), &with(claims(), "exp", json!(NOW)), DEMO_SECRET);
    assert!(verify(&backwards, NOW - 5).is_err());
    let nbf = sign(&hs256(), &with(claims(), "nbf", json!(NOW + 120)), DEMO_SECRET);
    assert_eq!(reason(verify(&nbf, NOW)), "the token is not valid yet (nbf)");
    let text_exp = sign(&hs256(), &with(claims(), "exp", json!("soon")), DEMO_SECRET);
    assert_eq!(reason(verify(&text_exp, NOW)), "the token's exp is not a time");
    let fractional = sign(&hs256(), &with(claims(), "exp", json!(1.5e9)), DEMO_SECRET);
    assert!(verify(&fractional, NOW).is_err());
}

#[test]
fn secrets_are_per_host() {
    // Signed with the demo secret but claiming salesforce: checked against salesforce's secret.
    let token = sign(&hs256(), &with(claims(), "iss", json!("salesforce")), DEMO_SECRET);
    assert_eq!(reason(verify(&token, NOW)), "the token signature does not match");
    // Wrong secret altogether.
    let token = mint_token(b"another-secret-0123456789abcdef", &caller(), NOW, 300).unwrap();
    assert_eq!(reason(verify(&token, NOW)), "the token signature does not match");
    // A known host with no secret configured, and an unknown host.
    let zoho = sign(&hs256(), &with(claims(), "iss", json!("zoho")), DEMO_SECRET);
    assert_eq!(reason(verify(&zoho, NOW)), "no key is configured for host zoho");
    let unknown = sign(&hs256(), &with(claims(), "iss", json!("evilcrm")), DEMO_SECRET);
    assert_eq!(reason(verify(&unknown, NOW)), "unknown host \"evilcrm\"");
}

#[test]
fn malformed_tokens_are_refused() {
    let good = mint_token(DEMO_SECRET, &caller(), NOW, 300).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    assert_eq!(reason(verify("", NOW)), "no token");
    assert_eq!(reason(verify(parts[0], NOW)), "a token has 3 dot-separated parts; this one has 1");
    assert_eq!(
        reason(verify(&format!("{}.{}", parts[0], parts[1]), NOW)),
        "a token has 3 dot-separated parts; this one has 2"
    );
    assert_eq!(reason(verify(&format!("{good}.x"), NOW)), "a token has 3 dot-separated parts; this one has 4");
    assert_eq!(
        reason(verify(&format!("{}!.{}.{}", parts[0], parts[1], parts[2]), NOW)),
        "the token header is not unpadded base64url"
    );
    // Padding is not base64url-without-padding.
    let padded = format!("{}.{}.{}=", parts[0], parts[1], parts[2]);
    assert_eq!(reason(verify(&padded, NOW)), "the token signature is not unpadded base64url");
    let not_json = format!("{}.{}.{}", parts[0], b64(b"not json"), parts[2]);
    assert_eq!(reason(verify(&not_json, NOW)), "the token payload is not a JSON object");
    let array = format!("{}.{}.{}", b64(b"[1]"), parts[1], parts[2]);
    assert_eq!(reason(verify(&array, NOW)), "the token header is not a JSON object");
    assert_eq!(reason(verify(&"a".repeat(5000), NOW)), "the token is too long");
}

#[test]
fn required_claims_must_be_present_and_valid() {
    for (key, expected) in [
        ("iss", "the token has no iss naming its host"),
        ("tenant", "the token has no tenant"),
        ("record", "the token has no record"),
        ("exp", "the token has no exp"),
        ("iat", "the token has no iat"),
        ("aud", "the token's aud is not spotdraft-crm-relay"),
    ] {
        let token = sign(&hs256(), &without(claims(), key), DEMO_SECRET);
        assert_eq!(reason(verify(&token, NOW)), expected, "{key}");
    }
    let wrong_aud = sign(&hs256(), &with(claims(), "aud", json!("another-service")), DEMO_SECRET);
    assert!(verify(&wrong_aud, NOW).is_err());
    let listed_aud = sign(&hs256(), &with(claims(), "aud", json!(["x", "spotdraft-crm-relay"])), DEMO_SECRET);
    assert!(verify(&listed_aud, NOW).is_ok());
    let bad_record = sign(&hs256(), &with(claims(), "record", json!("1001/../1002")), DEMO_SECRET);
    assert_eq!(reason(verify(&bad_record, NOW)), "the token's record is not a valid CRM id");
    let bad_tenant = sign(&hs256(), &with(claims(), "tenant", json!(true)), DEMO_SECRET);
    assert_eq!(reason(verify(&bad_tenant, NOW)), "the token's tenant is not an id");
    let bad_sub = sign(&hs256(), &with(claims(), "sub", json!(42)), DEMO_SECRET);
    assert_eq!(reason(verify(&bad_sub, NOW)), "the token's sub is not a user id");
    let no_sub = sign(&hs256(), &without(claims(), "sub"), DEMO_SECRET);
    assert_eq!(verify(&no_sub, NOW).unwrap().user, None);
}

// ------------------------------------------------------------------------------------ Pipedrive tokens

/// Computed with Python (see the top of this file).
const PIPEDRIVE_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOjEyMzQ1Njc4LCJjb21wYW55SWQiOjc2NTQzMjEsImlhdCI6MTc2NDI5MDAwMCwiZXhwIjoxNzY0MjkwMzAwfQ.0wduKOMFCIqnXb48o-TGu7EAmYWCxnYnaYVPND5xyEA";

#[test]
fn pipedrive_signed_tokens_map_company_and_user() {
    let verified = verify(PIPEDRIVE_TOKEN, NOW + 60).unwrap();
    assert_eq!(
        verified,
        Caller {
            host: "pipedrive".into(),
            tenant: "7654321".into(),
            record: "".into(),
            user: Some("12345678".into()),
            expires_at: Some(NOW + 300),
        }
    );
    assert_eq!(reason(verify(PIPEDRIVE_TOKEN, NOW + 330)), "the token has expired");

    // Signed with another host's secret.
    let pd_claims = json!({"userId": 1, "companyId": 2, "iat": NOW, "exp": NOW + 300});
    let forged = sign(&hs256(), &pd_claims, DEMO_SECRET);
    assert_eq!(reason(verify(&forged, NOW)), "the token signature does not match");
    // String ids, and no iat (lifetime then counted from now).
    let strings = sign(&hs256(), &json!({"userId": "77", "companyId": "88", "exp": NOW + 300}), PD_SECRET);
    assert_eq!(verify(&strings, NOW).unwrap().tenant, "88");
    let forever = sign(&hs256(), &json!({"userId": "77", "companyId": "88", "exp": NOW + 86_400}), PD_SECRET);
    assert!(verify(&forever, NOW).is_err());
    let no_user = sign(&hs256(), &json!({"companyId": 2, "iat": NOW, "exp": NOW + 300}), PD_SECRET);
    assert_eq!(reason(verify(&no_user, NOW)), "the token has no userId");
    // companyId under another host's iss is not the Pipedrive form.
    let other_iss = sign(&hs256(), &json!({"iss": "demo", "companyId": 2, "userId": 1, "exp": NOW + 300}), DEMO_SECRET);
    assert_eq!(reason(verify(&other_iss, NOW)), "the token has no tenant");
}

// ------------------------------------------------------------------------------------------------ scope

#[test]
fn scope_binds_host_tenant_and_record() {
    let verified = verify(&mint_token(DEMO_SECRET, &caller(), NOW, 300).unwrap(), NOW).unwrap();
    assert_eq!(check_scope(&verified, "demo", "4411223", "1001").unwrap(), verified);
    assert_eq!(reason(check_scope(&verified, "demo", "4411223", "1002")), "the session is for another record");
    assert_eq!(reason(check_scope(&verified, "demo", "9999999", "1001")), "the session is for another tenant");
    assert_eq!(reason(check_scope(&verified, "hubspot", "4411223", "1001")), "the session is for demo, not hubspot");

    // A Pipedrive session is scoped to the record the request names, within its company.
    let pipedrive = verify(PIPEDRIVE_TOKEN, NOW).unwrap();
    assert_eq!(check_scope(&pipedrive, "pipedrive", "7654321", "512").unwrap().record, "512");
    assert!(check_scope(&pipedrive, "pipedrive", "1111111", "512").is_err());
    assert!(check_scope(&pipedrive, "pipedrive", "7654321", "5/12").is_err());
}

#[test]
fn unauthorized_errors_have_a_stable_code() {
    let error = verify("x.y.z", NOW).unwrap_err();
    assert_eq!(error.code(), "unauthorized");
    assert!(!error.is_transient());
    assert!(error.to_string().starts_with("not authorized: "), "{error}");
}

// ------------------------------------------------------------------------------------------ HubSpot v3

const HS_SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const HS_URL: &str = "https://relay.example.com/hubspot/contracts%3Acreate?portalId=4411223&dealId=1001&note=a%2Cb%20c";
const HS_BODY: &[u8] = br#"{"templateId":202,"dealId":"1001"}"#;
const HS_TS: &str = "1764290000000";
const HS_TS_MS: u64 = 1_764_290_000_000;
/// Computed with Python over the URL with `%3A` and `%2C` decoded and `%20` kept (see the top of this file).
const HS_SIG: &str = "ROuw2+pgNLOVp2dbDqSVYzidD8jW3mmPL1VMzDI68Bg=";
const HS_SIG_GET: &str = "GaXyx/bKw1WJhavfHU98W+BO/gKauU5Lsb3Z0PHYpK4=";

fn hubspot(method: &str, url: &str, body: &[u8], sig: Option<&str>, ts: Option<&str>, now: u64) -> Result<(), Error> {
    verify_hubspot_v3(HS_SECRET, method, url, body, sig, ts, now)
}

#[test]
fn hubspot_v3_valid_signatures() {
    assert_eq!(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), HS_TS_MS + 1_000), Ok(()));
    let get = "https://relay.example.com/hubspot/contracts?dealId=1001";
    assert_eq!(hubspot("GET", get, b"", Some(HS_SIG_GET), Some(HS_TS), HS_TS_MS), Ok(()));
    // The URL as HubSpot signed it (already decoded) verifies the same.
    let decoded = "https://relay.example.com/hubspot/contracts:create?portalId=4411223&dealId=1001&note=a,b%20c";
    assert_eq!(hubspot("POST", decoded, HS_BODY, Some(HS_SIG), Some(HS_TS), HS_TS_MS), Ok(()));
}

#[test]
fn hubspot_v3_uri_decoding_follows_the_list() {
    assert_eq!(
        auth::hubspot_decode_uri("https://x.example/a%3ab%2F%3F%40%21%24%27%28%29%2A%2C%3B?q=%20%25%2B%C3%A9%"),
        "https://x.example/a:b/?@!$'()*,;?q=%20%25%2B%C3%A9%"
    );
}

#[test]
fn hubspot_v3_rejections() {
    let now = HS_TS_MS + 1_000;
    let tampered = br#"{"templateId":202,"dealId":"1002"}"#;
    assert_eq!(
        reason(hubspot("POST", HS_URL, tampered, Some(HS_SIG), Some(HS_TS), now)),
        "the HubSpot signature does not match"
    );
    assert!(hubspot("PUT", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), now).is_err());
    let other_deal = HS_URL.replace("dealId=1001", "dealId=1002");
    assert!(hubspot("POST", &other_deal, HS_BODY, Some(HS_SIG), Some(HS_TS), now).is_err());
    // The timestamp is signed too: moving it breaks the signature.
    assert!(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), Some("1764290000001"), now).is_err());
    assert!(
        verify_hubspot_v3("another-client-secret", "POST", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), now).is_err()
    );

    // Five minutes each way, no more.
    assert!(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), HS_TS_MS + 300_000).is_ok());
    assert_eq!(
        reason(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), HS_TS_MS + 300_001)),
        "the HubSpot request is more than 5 minutes old"
    );
    assert!(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), HS_TS_MS - 300_000).is_ok());
    assert_eq!(
        reason(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), HS_TS_MS - 300_001)),
        "the HubSpot request timestamp is more than 5 minutes in the future"
    );

    assert_eq!(reason(hubspot("POST", HS_URL, HS_BODY, None, Some(HS_TS), now)), "no X-HubSpot-Signature-v3 header");
    assert_eq!(
        reason(hubspot("POST", HS_URL, HS_BODY, Some(" "), Some(HS_TS), now)),
        "no X-HubSpot-Signature-v3 header"
    );
    assert_eq!(
        reason(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), None, now)),
        "no X-HubSpot-Request-Timestamp header"
    );
    assert_eq!(
        reason(hubspot("POST", HS_URL, HS_BODY, Some(HS_SIG), Some("-1764290000000"), now)),
        "X-HubSpot-Request-Timestamp is not a number of milliseconds"
    );
    assert_eq!(
        reason(hubspot("POST", HS_URL, HS_BODY, Some("not base64!"), Some(HS_TS), now)),
        "X-HubSpot-Signature-v3 is not base64"
    );
    assert_eq!(
        verify_hubspot_v3("", "POST", HS_URL, HS_BODY, Some(HS_SIG), Some(HS_TS), now).unwrap_err().code(),
        "invalid_input"
    );
}
