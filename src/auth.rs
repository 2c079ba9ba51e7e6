//! Who may call the relay, for which CRM record.
//!
//! Every sidebar call is authenticated and scoped to one record, by one of two mechanisms, both pure
//! functions over the request's parts:
//!
//! - a short-lived HS256 JWT binding host, tenant, record and user, signed with a per-host secret (what
//!   the demo host, a Salesforce Apex controller or a Zoho function mints with [`mint_token`]), or the
//!   JWT Pipedrive's `get_signed_token` returns (see [`verify_token`] for how its claims map);
//! - HubSpot's `X-HubSpot-Signature-v3` on `hubspot.fetch` calls from an app card ([`verify_hubspot_v3`]).
//!
//! After either, the relay checks the verified identity against the record the call names with
//! [`check_scope`], so a session for deal A can never act on deal B or on another tenant.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::model::is_valid_crm_id;

mod host_key;

pub use host_key::{HostKey, PublicKey, PUBLIC_KEY_PROBLEM};

type HmacSha256 = Hmac<Sha256>;

/// The `aud` of every token this plugin mints: a token for anything else is never accepted here.
pub const AUDIENCE: &str = "spotdraft-crm-relay";
/// The `aud` of a CRM's "this deal changed" call (`crate::crm_events`), minted by the host's own
/// server side (a Salesforce trigger, a Zoho workflow function) like a session token.
pub const EVENTS_AUDIENCE: &str = "spotdraft-crm-relay/crm-events";
/// The hosts a token may name in `iss`.
pub const HOSTS: [&str; 5] = ["hubspot", "pipedrive", "salesforce", "zoho", "demo"];
/// Clock skew tolerated between the minting host and the relay.
pub const CLOCK_SKEW_SECONDS: u64 = 30;
/// Tokens are for one sidebar session, not for storing: at most an hour between `iat` and `exp`.
pub const MAX_LIFETIME_SECONDS: u64 = 3600;
/// HubSpot's replay window for `X-HubSpot-Request-Timestamp`, both ways.
pub const HUBSPOT_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Real tokens are a few hundred bytes; refuse to decode anything much larger.
const MAX_TOKEN_LEN: usize = 4096;
/// Shorter HMAC keys are guessable.
const MIN_SECRET_LEN: usize = 16;

/// Who is calling, for which record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// `hubspot`, `pipedrive`, `salesforce`, `zoho` or `demo`.
    pub host: String,
    /// The CRM installation (HubSpot portal, Salesforce org, Pipedrive company, …).
    pub tenant: String,
    /// The record the session is for; empty for a Pipedrive token, which names no record (see
    /// [`verify_token`]) until [`check_scope`] fills it in.
    pub record: String,
    pub user: Option<String>,
    /// Unix seconds.
    pub expires_at: Option<u64>,
}

/// Whether two secrets are equal, in time that depends neither on where they differ nor on their
/// lengths (admins choose their secrets' lengths): their SHA-256 digests are compared, byte by byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::Digest;
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(b.iter()).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(reason: impl Into<String>) -> Error {
    Error::Unauthorized { reason: reason.into() }
}

/// Mints the relay's session token for `caller` (its `expires_at` is ignored: the token expires
/// `ttl_seconds` after `issued_at`).
pub fn mint_token(secret: &[u8], caller: &Caller, issued_at: u64, ttl_seconds: u64) -> Result<String> {
    mint_token_for(secret, caller, issued_at, ttl_seconds, AUDIENCE)
}

/// [`mint_token`] for `audience`: a session ([`AUDIENCE`]) or a CRM event ([`EVENTS_AUDIENCE`]).
pub fn mint_token_for(
    secret: &[u8],
    caller: &Caller,
    issued_at: u64,
    ttl_seconds: u64,
    audience: &str,
) -> Result<String> {
    let mut problems = Vec::new();
    if secret.len() < MIN_SECRET_LEN {
        problems.push(crate::Problem::new("secret", format!("must be at least {MIN_SECRET_LEN} bytes")));
    }
    if !HOSTS.contains(&caller.host.as_str()) {
        problems.push(crate::Problem::new("host", format!("must be one of: {}", HOSTS.join(", "))));
    }
    for (name, id) in [("tenant", &caller.tenant), ("record", &caller.record)] {
        if !is_valid_crm_id(id) {
            problems.push(crate::Problem::new(name, format!("\"{id}\" is not a CRM id")));
        }
    }
    if caller.user.as_deref().is_some_and(|u| !is_valid_user(u)) {
        problems.push(crate::Problem::new("user", "must be 1 to 256 characters without control characters"));
    }
    if ttl_seconds == 0 || ttl_seconds > MAX_LIFETIME_SECONDS {
        problems.push(crate::Problem::new("ttlSeconds", format!("must be between 1 and {MAX_LIFETIME_SECONDS}")));
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems));
    }
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(caller.host));
    claims.insert("aud".into(), json!(audience));
    claims.insert("tenant".into(), json!(caller.tenant));
    claims.insert("record".into(), json!(caller.record));
    if let Some(user) = &caller.user {
        claims.insert("sub".into(), json!(user));
    }
    claims.insert("iat".into(), json!(issued_at));
    claims.insert("exp".into(), json!(issued_at.saturating_add(ttl_seconds)));
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string());
    let signing_input = format!("{header}.{payload}");
    let signature =
        URL_SAFE_NO_PAD.encode(keyed(secret)?.chain_update(signing_input.as_bytes()).finalize().into_bytes());
    Ok(format!("{signing_input}.{signature}"))
}

fn keyed(secret: &[u8]) -> Result<HmacSha256> {
    HmacSha256::new_from_slice(secret).map_err(|_| Error::invalid_input("secret", "is not a usable HMAC key"))
}

fn is_valid_user(user: &str) -> bool {
    !user.is_empty() && user.chars().count() <= 256 && !user.chars().any(char::is_control)
}

/// Verifies a session token whose host is verified with an HMAC secret (HS256); see
/// [`verify_token_with_keys`].
pub fn verify_token(token: &str, secrets: &dyn Fn(&str) -> Option<Vec<u8>>, now: u64) -> Result<Caller> {
    verify_token_with_keys(token, &|host| secrets(host).map(HostKey::Secret), now)
}

/// Verifies a session token and returns who it is for.
///
/// The algorithm is the one the host's configured key is for: HS256 with a secret, RS256 with a
/// public key ([`HostKey`]). A token naming any other (`none`, or the other of the two) is refused, so
/// a token can never choose its own verification. Two claim sets are accepted:
///
/// - **The relay's own** (from [`mint_token`]): `iss` = host, `aud` = [`AUDIENCE`], `tenant`, `record`,
///   optional `sub` = user, `iat`, `exp`.
/// - **Pipedrive's `get_signed_token`** (<https://github.com/pipedrive/app-extensions-sdk> README, "Get
///   signed token"; Pipedrive's developer community, "JWT Secret in Json Panel", reads `userId` and
///   `companyId` from the verified payload): a 5-minute JWT signed
///   with the extension's JWT secret (or the app's client secret), with no `iss`, `aud` or record. It is
///   recognised by `companyId` with no `tenant`, verified with the `pipedrive` secret, and mapped
///   `companyId` → tenant, `userId` → user, `record` → `""`. Pipedrive vouches for the user and
///   company only, so the record must come from the request path: [`check_scope`] fills it in, and the
///   relay reads that deal with the company's own Pipedrive credentials, so a deal of another
///   company is not reachable.
///
/// The key is chosen by the (still unverified) `iss` through `keys`; an unknown host is refused.
/// Claims are checked only after the signature: `now < exp` (with [`CLOCK_SKEW_SECONDS`]), `iat` not in
/// the future, at most [`MAX_LIFETIME_SECONDS`] of lifetime, ids valid.
pub fn verify_token_with_keys(token: &str, keys: &dyn Fn(&str) -> Option<HostKey>, now: u64) -> Result<Caller> {
    verify_token_for(token, keys, now, AUDIENCE)
}

/// [`verify_token_with_keys`] for tokens minted for `audience`: a session ([`AUDIENCE`]) or a CRM
/// event ([`EVENTS_AUDIENCE`]). A token for one is never accepted as the other. Pipedrive's own
/// tokens carry no audience and are sessions only.
pub fn verify_token_for(
    token: &str,
    keys: &dyn Fn(&str) -> Option<HostKey>,
    now: u64,
    audience: &str,
) -> Result<Caller> {
    if token.is_empty() {
        return Err(unauthorized("no token"));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(unauthorized("the token is too long"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        return Err(unauthorized(format!("a token has 3 dot-separated parts; this one has {}", parts.len())));
    };
    let header = decode_json(header_b64, "header")?;
    let algorithm = match header.get("alg").and_then(Value::as_str) {
        Some(algorithm @ ("HS256" | "RS256")) => algorithm,
        Some(other) => {
            let other: String = other.chars().take(16).collect();
            return Err(unauthorized(format!("algorithm {other} is not accepted; tokens are HS256 or RS256")));
        }
        None => return Err(unauthorized("the token header names no algorithm")),
    };
    if header.get("typ").is_some_and(|typ| typ.as_str() != Some("JWT")) {
        return Err(unauthorized("the token header's typ is not JWT"));
    }
    if header.contains_key("crit") {
        return Err(unauthorized("the token header has critical extensions this relay does not understand"));
    }
    let claims = decode_json(payload_b64, "payload")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| unauthorized("the token signature is not unpadded base64url"))?;

    let pipedrive_form = !claims.contains_key("tenant") && claims.contains_key("companyId");
    let host = match claims.get("iss") {
        Some(Value::String(iss)) => iss.as_str(),
        None if pipedrive_form => "pipedrive",
        _ => return Err(unauthorized("the token has no iss naming its host")),
    };
    if pipedrive_form && host != "pipedrive" {
        return Err(unauthorized("the token has no tenant"));
    }
    if !HOSTS.contains(&host) {
        return Err(unauthorized(format!("unknown host \"{}\"", host.chars().take(32).collect::<String>())));
    }
    let key = keys(host).ok_or_else(|| unauthorized(format!("no key is configured for host {host}")))?;
    let signing_input = format!("{header_b64}.{payload_b64}");
    match (&key, algorithm) {
        (HostKey::Secret(secret), "HS256") => {
            // `verify_slice` compares in constant time.
            HmacSha256::new_from_slice(secret)
                .map_err(|_| unauthorized(format!("the secret for host {host} is not usable")))?
                .chain_update(signing_input.as_bytes())
                .verify_slice(&signature)
                .map_err(|_| unauthorized("the token signature does not match"))?;
        }
        (HostKey::Public(public), "RS256") => {
            if !public.verifies(signing_input.as_bytes(), &signature) {
                return Err(unauthorized("the token signature does not match"));
            }
        }
        (HostKey::Secret(_), other) => {
            return Err(unauthorized(format!("tokens for host {host} are HS256, not {other}")));
        }
        (HostKey::Public(_), other) => {
            return Err(unauthorized(format!(
                "tokens for host {host} are RS256 (its configured public key), not {other}"
            )));
        }
    }

    let exp = check_times(&claims, now, !pipedrive_form)?;
    let caller = if pipedrive_form {
        if audience != AUDIENCE {
            return Err(unauthorized(format!("a Pipedrive session token is not accepted where {audience} is")));
        }
        Caller {
            host: host.to_string(),
            tenant: id_claim(&claims, "companyId")?,
            record: String::new(),
            user: Some(id_claim(&claims, "userId")?),
            expires_at: Some(exp),
        }
    } else {
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !audience_ok {
            return Err(unauthorized(format!("the token's aud is not {audience}")));
        }
        let user = match claims.get("sub") {
            None | Some(Value::Null) => None,
            Some(Value::String(sub)) if is_valid_user(sub) => Some(sub.clone()),
            Some(_) => return Err(unauthorized("the token's sub is not a user id")),
        };
        Caller {
            host: host.to_string(),
            tenant: id_claim(&claims, "tenant")?,
            record: id_claim(&claims, "record")?,
            user,
            expires_at: Some(exp),
        }
    };
    Ok(caller)
}

fn decode_json(segment: &str, what: &str) -> Result<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| unauthorized(format!("the token {what} is not unpadded base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(unauthorized(format!("the token {what} is not a JSON object"))),
    }
}

/// A whole, non-negative number of seconds.
fn seconds_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => {
            value.as_u64().map(Some).ok_or_else(|| unauthorized(format!("the token's {name} is not a time")))
        }
    }
}

/// Checks `exp`, `iat` (required when `iat_required`) and `nbf`; returns `exp`.
fn check_times(claims: &Map<String, Value>, now: u64, iat_required: bool) -> Result<u64> {
    let exp = seconds_claim(claims, "exp")?.ok_or_else(|| unauthorized("the token has no exp"))?;
    let iat = seconds_claim(claims, "iat")?;
    if iat.is_none() && iat_required {
        return Err(unauthorized("the token has no iat"));
    }
    if now >= exp.saturating_add(CLOCK_SKEW_SECONDS) {
        return Err(unauthorized("the token has expired"));
    }
    if let Some(iat) = iat {
        if iat > now.saturating_add(CLOCK_SKEW_SECONDS) {
            return Err(unauthorized("the token is not valid yet (iat is in the future)"));
        }
        if exp <= iat {
            return Err(unauthorized("the token expires before it was issued"));
        }
    }
    if let Some(nbf) = seconds_claim(claims, "nbf")? {
        if nbf > now.saturating_add(CLOCK_SKEW_SECONDS) {
            return Err(unauthorized("the token is not valid yet (nbf)"));
        }
    }
    // Without iat, measure the remaining lifetime from now.
    let lifetime = exp.saturating_sub(iat.unwrap_or(now));
    if lifetime > MAX_LIFETIME_SECONDS {
        return Err(unauthorized(format!("the token lives longer than {MAX_LIFETIME_SECONDS} seconds")));
    }
    Ok(exp)
}

/// A CRM id claim, as a string or (Pipedrive's ids) a whole number.
fn id_claim(claims: &Map<String, Value>, name: &str) -> Result<String> {
    let id = match claims.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
        None | Some(Value::Null) => return Err(unauthorized(format!("the token has no {name}"))),
        Some(_) => return Err(unauthorized(format!("the token's {name} is not an id"))),
    };
    if is_valid_crm_id(&id) {
        Ok(id)
    } else {
        Err(unauthorized(format!("the token's {name} is not a valid CRM id")))
    }
}

/// Confirms a verified caller may act on `tenant`'s `record` at `host`, and returns the caller scoped
/// to it. A token naming a record must name exactly this one; a Pipedrive token (no record) is scoped
/// here to the record from the request path.
pub fn check_scope(caller: &Caller, host: &str, tenant: &str, record: &str) -> Result<Caller> {
    if caller.host != host {
        return Err(unauthorized(format!("the session is for {}, not {host}", caller.host)));
    }
    if caller.tenant != tenant {
        return Err(unauthorized("the session is for another tenant"));
    }
    if !is_valid_crm_id(record) {
        return Err(unauthorized("the request names no valid record"));
    }
    if caller.record.is_empty() {
        return Ok(Caller { record: record.to_string(), ..caller.clone() });
    }
    if caller.record != record {
        return Err(unauthorized("the session is for another record"));
    }
    Ok(caller.clone())
}

/// Verifies HubSpot's `X-HubSpot-Signature-v3` (HubSpot docs, "Validating requests" → "Validate the v3
/// request signature",
/// <https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation>,
/// and the changelog "Introducing version 3 of Webhook signatures"):
///
/// 1. refuse a `X-HubSpot-Request-Timestamp` (milliseconds) more than 5 minutes old (and, here, more
///    than 5 minutes ahead, which the docs do not mention but no honest clock produces);
/// 2. in the full request URL, decode exactly these escapes: `%3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 '
///    %28 ( %29 ) %2A * %2C , %3B ;` (any other escape stays as sent);
/// 3. HMAC-SHA256, keyed with the app's client secret, over `method + url + body + timestamp`
///    (UTF-8, no separators), base64-encoded, compared in constant time.
///
/// `url` must be the URL HubSpot called (scheme, host, path and query as sent); behind a proxy the
/// relay rebuilds it from the public origin. `body` is the raw bytes, before any parsing.
pub fn verify_hubspot_v3(
    client_secret: &str,
    method: &str,
    url: &str,
    body: &[u8],
    signature: Option<&str>,
    timestamp_ms: Option<&str>,
    now_ms: u64,
) -> Result<()> {
    if client_secret.is_empty() {
        return Err(Error::invalid_input("clientSecret", "must not be empty"));
    }
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unauthorized("no X-HubSpot-Signature-v3 header"))?;
    let timestamp = timestamp_ms
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unauthorized("no X-HubSpot-Request-Timestamp header"))?;
    let sent_at: u64 = timestamp
        .parse()
        .ok()
        .filter(|_| timestamp.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| unauthorized("X-HubSpot-Request-Timestamp is not a number of milliseconds"))?;
    if now_ms.saturating_sub(sent_at) > HUBSPOT_WINDOW_MS {
        return Err(unauthorized("the HubSpot request is more than 5 minutes old"));
    }
    if sent_at.saturating_sub(now_ms) > HUBSPOT_WINDOW_MS {
        return Err(unauthorized("the HubSpot request timestamp is more than 5 minutes in the future"));
    }
    let provided = STANDARD.decode(signature).map_err(|_| unauthorized("X-HubSpot-Signature-v3 is not base64"))?;
    let mut mac = keyed(client_secret.as_bytes())?;
    mac.update(method.to_ascii_uppercase().as_bytes());
    mac.update(hubspot_decode_uri(url).as_bytes());
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac.verify_slice(&provided).map_err(|_| unauthorized("the HubSpot signature does not match"))
}

/// Decodes the twelve escapes HubSpot lists for v3 signatures, and nothing else.
pub fn hubspot_decode_uri(url: &str) -> String {
    const DECODED: [(&str, u8); 12] = [
        ("3A", b':'),
        ("2F", b'/'),
        ("3F", b'?'),
        ("40", b'@'),
        ("21", b'!'),
        ("24", b'$'),
        ("27", b'\''),
        ("28", b'('),
        ("29", b')'),
        ("2A", b'*'),
        ("2C", b','),
        ("3B", b';'),
    ];
    // Every escape replaced is ASCII and becomes one ASCII byte, so the bytes stay valid UTF-8.
    let bytes = url.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let decoded = match (byte, bytes.get(index + 1..index + 3)) {
            (b'%', Some(hex)) => DECODED.iter().find(|(code, _)| code.as_bytes().eq_ignore_ascii_case(hex)),
            _ => None,
        };
        match decoded {
            Some((_, c)) => {
                out.push(*c);
                index += 3;
            }
            None => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| url.to_string())
}
