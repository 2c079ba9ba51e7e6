//! Relay session tokens (HS256) and HubSpot's v3 request signature.
//!
//! Input forms:
//! - any bytes: a bearer token as received;
//! - `{"sign": {"header": {…}, "claims": {…}}}`: a token with these exact parts, correctly signed,
//!   so the claim checks behind the signature are reached;
//! - `{"mint": {"host", "tenant", "record", "user"?, "iat", "ttl"}}`: minted with `mint_token`;
//! - `{"hubspot": {"secret", "method", "url", "body", "timestamp", "signature"?}}`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use spotdraft_crm::auth::{self, Caller};
use spotdraft_crm::model::is_valid_crm_id;

const NOW: u64 = 1_800_000_100;
const NOW_MS: u64 = NOW * 1000;

/// Every host has its own secret, so a token signed for one host never passes as another's.
fn secret_for(host: &str) -> Option<Vec<u8>> {
    auth::HOSTS.contains(&host).then(|| format!("{host}-secret-0123456789abcdef0123456789").into_bytes())
}

fn wrong_secret(host: &str) -> Option<Vec<u8>> {
    auth::HOSTS.contains(&host).then(|| b"another-secret-0123456789abcdef0123456789".to_vec())
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { panic!("HMAC takes any key length") };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Flips one low bit of one character: still ASCII, so still a `&str`.
fn flip_one_bit(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    if let Some(byte) = bytes.get_mut(at % text.len().max(1)) {
        if byte.is_ascii() {
            *byte ^= 1 << (at % 7);
        }
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// The properties every token the relay accepts must have.
fn check_accepted(token: &str, caller: &Caller) {
    // The signature was made with the caller's host secret over exactly the first two parts.
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else { panic!("accepted a token without 3 parts") };
    let Some(secret) = secret_for(&caller.host) else { panic!("accepted a token for unknown host {}", caller.host) };
    let expected = hmac_sha256(&secret, &[header.as_bytes(), b".", payload.as_bytes()]);
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).ok(), Some(expected), "accepted a signature not made with the key");
    assert!(auth::verify_token(token, &wrong_secret, NOW).is_err(), "accepted under another key");
    assert!(auth::verify_token(&flip_one_bit(token, super::spot(token.as_bytes())), &secret_for, NOW).is_err());
    // What it says is well-formed and current.
    assert!(is_valid_crm_id(&caller.tenant));
    assert!(is_valid_crm_id(&caller.record) || (caller.record.is_empty() && caller.host == "pipedrive"));
    let Some(expires_at) = caller.expires_at else { panic!("an accepted token has an expiry") };
    assert!(NOW < expires_at.saturating_add(auth::CLOCK_SKEW_SECONDS), "accepted an expired token");
    assert!(expires_at.saturating_sub(NOW) <= auth::MAX_LIFETIME_SECONDS, "accepted a long-lived token");
    if !caller.record.is_empty() {
        assert!(auth::check_scope(caller, &caller.host, &caller.tenant, &caller.record).is_ok());
    }
}

fn text(spec: &Value, key: &str) -> String {
    spec.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn signed_token(spec: &Value) {
    let header = spec.get("header").cloned().unwrap_or(Value::Null).to_string();
    let claims = spec.get("claims").cloned().unwrap_or(Value::Null);
    let host = match claims.get("iss").and_then(Value::as_str) {
        Some(iss) => iss.to_string(),
        None => "pipedrive".to_string(),
    };
    let Some(secret) = secret_for(&host) else { return };
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.as_bytes()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(&secret, &[signing_input.as_bytes()]));
    let token = format!("{signing_input}.{signature}");
    if let Ok(caller) = auth::verify_token(&token, &secret_for, NOW) {
        check_accepted(&token, &caller);
        assert_eq!(caller.host, host);
        let exp = claims.get("exp").and_then(Value::as_u64);
        assert_eq!(caller.expires_at, exp, "the expiry is the token's exp");
    }
}

fn minted_token(spec: &Value) {
    let caller = Caller {
        host: text(spec, "host"),
        tenant: text(spec, "tenant"),
        record: text(spec, "record"),
        user: spec.get("user").and_then(Value::as_str).map(str::to_string),
        expires_at: None,
    };
    let issued_at = spec.get("iat").and_then(Value::as_u64).unwrap_or(NOW);
    let ttl = spec.get("ttl").and_then(Value::as_u64).unwrap_or(300);
    let Ok(token) = auth::mint_token(&secret_for(&caller.host).unwrap_or_default(), &caller, issued_at, ttl) else {
        return;
    };
    // A token minted now is accepted now, for exactly the caller it was minted for.
    if issued_at == NOW {
        match auth::verify_token(&token, &secret_for, NOW) {
            Ok(verified) => {
                check_accepted(&token, &verified);
                assert_eq!(verified, Caller { expires_at: Some(NOW + ttl), ..caller });
            }
            Err(error) => panic!("a freshly minted token was refused: {error:?}"),
        }
    } else if let Ok(verified) = auth::verify_token(&token, &secret_for, NOW) {
        check_accepted(&token, &verified);
    }
}

fn hubspot(spec: &Value) {
    let secret = text(spec, "secret");
    let method = text(spec, "method");
    let url = text(spec, "url");
    let body = text(spec, "body").into_bytes();
    let timestamp = text(spec, "timestamp");
    let expected = STANDARD.encode(hmac_sha256(
        secret.as_bytes(),
        &[
            method.to_ascii_uppercase().as_bytes(),
            auth::hubspot_decode_uri(&url).as_bytes(),
            &body,
            timestamp.trim().as_bytes(),
        ],
    ));
    let verify = |body: &[u8], signature: &str, secret: &str| {
        auth::verify_hubspot_v3(secret, &method, &url, body, Some(signature), Some(&timestamp), NOW_MS)
    };
    let in_window = timestamp.trim().parse::<u64>().is_ok_and(|t| t.abs_diff(NOW_MS) <= auth::HUBSPOT_WINDOW_MS)
        && timestamp.trim().bytes().all(|b| b.is_ascii_digit());
    if !secret.is_empty() && in_window {
        assert!(verify(&body, &expected, &secret).is_ok(), "HubSpot's own signature was refused");
        let mut altered = body.clone();
        if let Some(byte) = altered.get_mut(super::spot(&body) % body.len().max(1)) {
            *byte ^= 1;
            assert!(verify(&altered, &expected, &secret).is_err(), "a one-bit change of the body verified");
        }
        assert!(verify(&body, &expected, &format!("{secret}x")).is_err(), "verified under another secret");
    } else {
        assert!(verify(&body, &expected, &secret).is_err(), "verified outside the window or without a secret");
    }
    if let Some(given) = spec.get("signature").and_then(Value::as_str) {
        if verify(&body, given, &secret).is_ok() {
            assert_eq!(
                STANDARD.decode(given.trim()).ok(),
                STANDARD.decode(&expected).ok(),
                "accepted a forged signature"
            );
        }
    }
}

pub fn tokens(data: &[u8]) {
    if let Ok(spec) = serde_json::from_slice::<Value>(data) {
        if let Some(sign) = spec.get("sign") {
            return signed_token(sign);
        }
        if let Some(mint) = spec.get("mint") {
            return minted_token(mint);
        }
        if let Some(v3) = spec.get("hubspot") {
            return hubspot(v3);
        }
    }
    let token = String::from_utf8_lossy(data);
    if let Ok(caller) = auth::verify_token(&token, &secret_for, NOW) {
        check_accepted(&token, &caller);
    }
}
