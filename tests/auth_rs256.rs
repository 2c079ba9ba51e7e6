//! RS256 session tokens: a host that signs with a private key it keeps (Salesforce's certificate from
//! Certificate and Key Management) is verified with the public key the relay is configured with, in
//! any of the PEM forms an admin may have it in; the algorithm is the configured key's, never the
//! token's. Tokens are signed here with the sandbox's TEST-ONLY key (`sandbox/keys/`), whose
//! self-signed certificate was made with `openssl req -x509 -key salesforce-jwt-test.key.pem`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};
use sha2::Sha256;
use spotdraft_crm::auth::{verify_token_with_keys, HostKey, PublicKey, PUBLIC_KEY_PROBLEM};
use spotdraft_crm::Error;

const NOW: u64 = 1_764_290_000;
const PRIVATE_KEY: &str = include_str!("../sandbox/keys/salesforce-jwt-test.key.pem");
const PUBLIC_KEY: &str = include_str!("../sandbox/keys/salesforce-jwt-test.pub.pem");
const CERTIFICATE: &str = include_str!("../sandbox/keys/salesforce-jwt-test.cert.pem");
/// A 1024-bit key: too weak to be accepted.
const WEAK_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC4vMZKaEqh4HxxG/kwKJA9B/+c
7GcqMUVxJXsrvUD47tXCAZK93qecNRApLleM8g3C2Tryj69lnoZBffebIGiYNcH5
Nscj0UQxrsi41Uz05aLQIHttJZLZ8XJoq3qIU6v8D1Db2+Fh7g5+NEtfJMvcOPfc
ReNPYgV+x5sXUiRDFwIDAQAB
-----END PUBLIC KEY-----";

fn claims() -> Value {
    json!({"iss": "salesforce", "aud": "spotdraft-crm-relay", "tenant": "00DHs0000000001MAA",
           "record": "006Hs00000A1b2cIAB", "sub": "005Hs00000Xyz12IAC", "iat": NOW, "exp": NOW + 300})
}

fn encode(header: &Value, claims: &Value) -> String {
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// What Apex's `Crypto.signWithCertificate('RSA-SHA256', …)` makes of the signing input.
fn rs256(claims: &Value) -> String {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(PRIVATE_KEY).expect("the test key");
    let input = encode(&json!({"alg": "RS256", "typ": "JWT"}), claims);
    let signature = rsa::pkcs1v15::SigningKey::<Sha256>::new(key).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    let input = encode(&json!({"alg": "HS256", "typ": "JWT"}), claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn public(pem: &str) -> impl Fn(&str) -> Option<HostKey> {
    let key = PublicKey::from_pem(pem).expect("a public key");
    move |host: &str| (host == "salesforce").then(|| HostKey::Public(key.clone()))
}

fn reason(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Unauthorized { reason }) => reason,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[test]
fn an_rs256_token_verifies_with_the_key_in_each_pem_form() {
    let token = rs256(&claims());
    let pkcs1 = rsa::RsaPublicKey::from_public_key_pem(PUBLIC_KEY)
        .expect("spki")
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .expect("pem");
    let one_line = CERTIFICATE.trim().replace('\n', "\\n");
    for pem in [PUBLIC_KEY, CERTIFICATE, pkcs1.as_str(), one_line.as_str()] {
        let caller = verify_token_with_keys(&token, &public(pem), NOW + 10).expect("verified");
        assert_eq!(caller.host, "salesforce");
        assert_eq!(caller.tenant, "00DHs0000000001MAA");
        assert_eq!(caller.record, "006Hs00000A1b2cIAB");
        assert_eq!(caller.user.as_deref(), Some("005Hs00000Xyz12IAC"));
    }
    assert_eq!(PublicKey::from_pem(CERTIFICATE), PublicKey::from_pem(PUBLIC_KEY), "the certificate holds that key");
}

#[test]
fn the_configured_key_decides_the_algorithm() {
    // A host configured with a public key: an HS256 token is refused, whatever it is keyed with
    // (the public key's own text included: the classic algorithm-confusion forgery).
    let forged = hs256(&claims(), PUBLIC_KEY.as_bytes());
    assert_eq!(
        reason(verify_token_with_keys(&forged, &public(PUBLIC_KEY), NOW)),
        "tokens for host salesforce are RS256 (its configured public key), not HS256"
    );
    // A host configured with a secret: an RS256 token is refused.
    let secret =
        |host: &str| (host == "salesforce").then(|| HostKey::Secret(b"salesforce-secret-0123456789abcdef".to_vec()));
    assert_eq!(
        reason(verify_token_with_keys(&rs256(&claims()), &secret, NOW)),
        "tokens for host salesforce are HS256, not RS256"
    );
    let none = encode(&json!({"alg": "none"}), &claims()) + ".";
    assert_eq!(
        reason(verify_token_with_keys(&none, &public(PUBLIC_KEY), NOW)),
        "algorithm none is not accepted; tokens are HS256 or RS256"
    );
}

#[test]
fn a_changed_token_or_signature_is_refused() {
    let token = rs256(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut changed = claims();
    changed["record"] = json!("006Hs00000Z9y8xIAB");
    parts[1] = URL_SAFE_NO_PAD.encode(changed.to_string());
    assert_eq!(
        reason(verify_token_with_keys(&parts.join("."), &public(PUBLIC_KEY), NOW)),
        "the token signature does not match"
    );
    // One bit of the signature changed.
    let mut signature = URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap_or_default()).expect("b64");
    if let Some(byte) = signature.last_mut() {
        *byte ^= 1;
    }
    let flipped = format!(
        "{}.{}",
        token.rsplit_once('.').map(|(input, _)| input).unwrap_or_default(),
        URL_SAFE_NO_PAD.encode(&signature)
    );
    assert_eq!(
        reason(verify_token_with_keys(&flipped, &public(PUBLIC_KEY), NOW)),
        "the token signature does not match"
    );
    // Times are checked as for HS256, after the signature.
    assert_eq!(reason(verify_token_with_keys(&token, &public(PUBLIC_KEY), NOW + 400)), "the token has expired");
}

#[test]
fn unusable_key_texts_are_refused_by_name_without_quoting_them() {
    let truncated_certificate = CERTIFICATE.replacen("MI", "MJ", 1);
    for pem in [
        "",
        "not a key",
        PRIVATE_KEY,
        WEAK_PUBLIC_KEY,
        truncated_certificate.as_str(),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    ] {
        assert_eq!(PublicKey::from_pem(pem).err(), Some(PUBLIC_KEY_PROBLEM), "{pem:.40}");
    }
}
