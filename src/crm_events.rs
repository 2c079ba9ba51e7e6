//! A CRM telling the relay that deals changed, so it can create contracts at a milestone without a
//! click (`templates[].createAtStages`). Each CRM calls in its own way, verified here by its own
//! scheme; all that is taken from a call is which deals changed. Their stage and fields are read
//! from the CRM afterwards, so a duplicated, late or reordered call changes nothing: every call
//! means "look at this deal as it is now".
//!
//! - HubSpot: the app's webhook subscriptions (`deal.creation`, `deal.propertyChange` on `dealstage`
//!   and the mapped properties), a JSON array of up to 100 events signed with
//!   `X-HubSpot-Signature-v3` (the app's client secret; [`crate::auth::verify_hubspot_v3`]). Events of
//!   another portal the app is installed in are not this relay's, and are skipped.
//! - Pipedrive: a webhook (v2) on `change.deal`/`create.deal`, with the HTTP Basic credentials the
//!   admin gave it when creating it (`crmEvents.pipedrive` in the relay's configuration).
//! - Salesforce (an Apex trigger's queued callout) and Zoho (a workflow rule's function): a token
//!   minted like a session token, by the org's certificate or host secret, for
//!   [`crate::auth::EVENTS_AUDIENCE`], naming the one deal that changed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::auth::{self, HostKey};
use crate::error::{Error, Result};
use crate::model::{is_valid_crm_id, CrmHost};

/// At most this many deals per call are looked at (HubSpot batches up to 100 events).
pub const MAX_DEALS_PER_CALL: usize = 100;

/// Pipedrive webhook credentials, as the admin set them on the webhook (`http_auth_user`,
/// `http_auth_password`).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// What verifies a CRM's call, per host: what the relay's configuration holds.
pub struct EventKeys<'a> {
    pub hubspot_client_secret: Option<&'a str>,
    pub pipedrive: Option<&'a BasicCredentials>,
    pub host_key: &'a dyn Fn(&str) -> Option<HostKey>,
}

/// One call as it arrived: the URL the CRM called (for HubSpot's signature), headers, raw body.
pub struct EventCall<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub body: &'a [u8],
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
}

/// The deals a verified call says changed, in the order first named, each once; and how many of its
/// events were about something else (another account, another object, a deletion).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangedDeals {
    pub deal_ids: Vec<String>,
    pub skipped: usize,
}

impl ChangedDeals {
    fn add(&mut self, id: String) {
        if !self.deal_ids.contains(&id) {
            self.deal_ids.push(id);
        }
    }
}

/// Verifies a call from `host` for the CRM account `account_id` and names the deals it is about.
/// A call that fails verification is `Unauthorized`; one that verifies but is malformed is
/// `InvalidWebhook`, naming what is wrong.
pub fn changed_deals(
    host: CrmHost,
    account_id: &str,
    call: &EventCall<'_>,
    keys: &EventKeys<'_>,
    now_ms: u64,
) -> Result<ChangedDeals> {
    let changed = match host {
        CrmHost::Hubspot => hubspot(account_id, call, keys, now_ms)?,
        CrmHost::Pipedrive => pipedrive(account_id, call, keys)?,
        CrmHost::Salesforce | CrmHost::Zoho => token_call(host, account_id, call, keys, now_ms)?,
    };
    if changed.deal_ids.len() > MAX_DEALS_PER_CALL {
        return Err(invalid(format!("the call names {} deals; at most {MAX_DEALS_PER_CALL}", changed.deal_ids.len())));
    }
    Ok(changed)
}

fn unauthorized(reason: impl Into<String>) -> Error {
    Error::Unauthorized { reason: reason.into() }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidWebhook(vec![crate::Problem::new("", reason.into())])
}

fn json_body(body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON ({e})")))
}

/// An id given as text or as a whole number (HubSpot's and Pipedrive's ids are numbers).
fn id_of(value: Option<&Value>) -> Option<String> {
    let id = match value? {
        Value::String(text) => text.clone(),
        Value::Number(n) => n.as_u64()?.to_string(),
        _ => return None,
    };
    is_valid_crm_id(&id).then_some(id)
}

fn hubspot(account_id: &str, call: &EventCall<'_>, keys: &EventKeys<'_>, now_ms: u64) -> Result<ChangedDeals> {
    let secret = keys
        .hubspot_client_secret
        .ok_or_else(|| unauthorized("HubSpot calls are not configured for this environment (hubspotClientSecret)"))?;
    auth::verify_hubspot_v3(
        secret,
        call.method,
        call.url,
        call.body,
        (call.header)("x-hubspot-signature-v3"),
        (call.header)("x-hubspot-request-timestamp"),
        now_ms,
    )?;
    let Value::Array(events) = json_body(call.body)? else {
        return Err(invalid("a HubSpot webhook body is a JSON array of events"));
    };
    let mut changed = ChangedDeals::default();
    for (i, event) in events.iter().enumerate() {
        let portal = id_of(event.get("portalId")).ok_or_else(|| invalid(format!("event {i} has no portalId")))?;
        let kind = event.get("subscriptionType").and_then(Value::as_str).unwrap_or_default();
        // `deal.*` on the classic subscriptions; `object.*` with the deal object type (0-3) on the
        // generic ones.
        let about_deal = kind.starts_with("deal.")
            || (kind.starts_with("object.") && event.get("objectTypeId").and_then(Value::as_str) == Some("0-3"));
        // Gone, merged, or an association (which names no single deal): nothing to look at.
        let removed = kind.ends_with(".deletion")
            || kind.ends_with(".privacyDeletion")
            || kind.ends_with(".merge")
            || kind.contains("association");
        // The relay's own write-back (its `spotdraft_*` properties) is not a change to look at.
        let own_write =
            event.get("propertyName").and_then(Value::as_str).is_some_and(|name| name.starts_with("spotdraft_"));
        if portal != account_id || !about_deal || removed || own_write {
            changed.skipped += 1;
            continue;
        }
        let deal = id_of(event.get("objectId")).ok_or_else(|| invalid(format!("event {i} has no objectId")))?;
        changed.add(deal);
    }
    Ok(changed)
}

fn pipedrive(account_id: &str, call: &EventCall<'_>, keys: &EventKeys<'_>) -> Result<ChangedDeals> {
    let expected = keys.pipedrive.ok_or_else(|| {
        unauthorized("Pipedrive webhooks are not configured for this environment (crmEvents.pipedrive)")
    })?;
    let given = (call.header)("authorization")
        .and_then(|value| value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")))
        .ok_or_else(|| unauthorized("a Pipedrive webhook carries HTTP Basic credentials; this call has none"))?;
    let decoded = STANDARD.decode(given.trim()).map_err(|_| unauthorized("the Basic credentials are not base64"))?;
    let wanted = format!("{}:{}", expected.username, expected.password);
    if !auth::constant_time_eq(&decoded, wanted.as_bytes()) {
        return Err(unauthorized("the Pipedrive webhook's credentials do not match crmEvents.pipedrive"));
    }
    let body = json_body(call.body)?;
    let meta = body.get("meta").ok_or_else(|| invalid("a Pipedrive webhook body has meta"))?;
    if meta.get("version").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(
            "only Pipedrive webhooks v2 (meta.version \"2.0\") are read; create the webhook with version 2.0",
        ));
    }
    let mut changed = ChangedDeals::default();
    let company = id_of(meta.get("company_id")).ok_or_else(|| invalid("meta.company_id is missing"))?;
    let entity = meta.get("entity").and_then(Value::as_str).unwrap_or_default();
    let action = meta.get("action").and_then(Value::as_str).unwrap_or_default();
    if company != account_id || entity != "deal" || !matches!(action, "create" | "change") {
        changed.skipped += 1;
        return Ok(changed);
    }
    changed.add(id_of(meta.get("entity_id")).ok_or_else(|| invalid("meta.entity_id is not a deal id"))?);
    Ok(changed)
}

fn token_call(
    host: CrmHost,
    account_id: &str,
    call: &EventCall<'_>,
    keys: &EventKeys<'_>,
    now_ms: u64,
) -> Result<ChangedDeals> {
    let token = (call.header)("authorization")
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .ok_or_else(|| unauthorized("an Authorization: Bearer event token is required"))?;
    let caller = auth::verify_token_for(token.trim(), keys.host_key, now_ms / 1000, auth::EVENTS_AUDIENCE)?;
    if caller.host != host.as_str() {
        return Err(unauthorized(format!(
            "the token is from {}, and this environment's CRM is {}",
            caller.host,
            host.as_str()
        )));
    }
    if caller.tenant != account_id {
        return Err(unauthorized("the token is for another CRM account"));
    }
    let mut changed = ChangedDeals::default();
    changed.add(caller.record);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{mint_token_for, Caller};
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    const SECRET: &str = "hubspot-client-secret";
    const NOW_MS: u64 = 1_780_000_000_000;

    fn no_keys(_: &str) -> Option<HostKey> {
        None
    }

    fn hubspot_call(body: &str, signature: Option<String>, timestamp: u64) -> ChangedResult {
        let ts = timestamp.to_string();
        let url = "https://relay.example.com/crm-events/uat";
        let header = move |name: &str| -> Option<String> {
            match name {
                "x-hubspot-signature-v3" => signature.clone(),
                "x-hubspot-request-timestamp" => Some(ts.clone()),
                _ => None,
            }
        };
        run(
            CrmHost::Hubspot,
            "4411223",
            url,
            body,
            &header,
            &EventKeys { hubspot_client_secret: Some(SECRET), pipedrive: None, host_key: &no_keys },
        )
    }

    type ChangedResult = Result<ChangedDeals>;

    fn run(
        host: CrmHost,
        account: &str,
        url: &str,
        body: &str,
        header: &dyn Fn(&str) -> Option<String>,
        keys: &EventKeys<'_>,
    ) -> ChangedResult {
        let headers: Vec<(String, String)> = ["authorization", "x-hubspot-signature-v3", "x-hubspot-request-timestamp"]
            .iter()
            .filter_map(|name| header(name).map(|value| (name.to_string(), value)))
            .collect();
        let lookup = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let call = EventCall { method: "POST", url, body: body.as_bytes(), header: &lookup };
        changed_deals(host, account, &call, keys, NOW_MS)
    }

    fn sign(body: &str, timestamp: u64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("POSThttps://relay.example.com/crm-events/uat{body}{timestamp}").as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn hubspot_events_name_this_portals_deals_once() {
        let body = r#"[
          {"portalId": 4411223, "objectId": 1001, "subscriptionType": "deal.propertyChange", "propertyName": "dealstage"},
          {"portalId": 4411223, "objectId": 1001, "subscriptionType": "deal.propertyChange", "propertyName": "closedate"},
          {"portalId": 4411223, "objectId": 1002, "subscriptionType": "deal.creation"},
          {"portalId": 999, "objectId": 1003, "subscriptionType": "deal.propertyChange"},
          {"portalId": 4411223, "objectId": 55, "subscriptionType": "contact.propertyChange"},
          {"portalId": 4411223, "objectId": 1004, "subscriptionType": "deal.deletion"},
          {"portalId": 4411223, "objectId": 1001, "subscriptionType": "deal.propertyChange", "propertyName": "spotdraft_status"},
          {"portalId": 4411223, "objectId": 1005, "subscriptionType": "object.propertyChange", "objectTypeId": "0-3"},
          {"portalId": 4411223, "objectId": 77, "subscriptionType": "object.propertyChange", "objectTypeId": "0-1"},
          {"portalId": 4411223, "subscriptionType": "object.associationChange", "objectTypeId": "0-3", "fromObjectId": 1001}
        ]"#;
        let changed = hubspot_call(body, Some(sign(body, NOW_MS)), NOW_MS).unwrap();
        assert_eq!(changed.deal_ids, ["1001", "1002", "1005"]);
        assert_eq!(changed.skipped, 6);
    }

    #[test]
    fn hubspot_calls_must_be_signed_recently_and_well_formed() {
        let body = r#"[{"portalId": 4411223, "objectId": 1001, "subscriptionType": "deal.creation"}]"#;
        assert!(matches!(hubspot_call(body, None, NOW_MS), Err(Error::Unauthorized { .. })));
        let forged = body.replace("1001", "1009");
        assert!(matches!(hubspot_call(&forged, Some(sign(body, NOW_MS)), NOW_MS), Err(Error::Unauthorized { .. })));
        let old = NOW_MS - 6 * 60 * 1000;
        assert!(matches!(hubspot_call(body, Some(sign(body, old)), old), Err(Error::Unauthorized { .. })));
        let object = r#"{"portalId": 4411223}"#;
        assert!(matches!(hubspot_call(object, Some(sign(object, NOW_MS)), NOW_MS), Err(Error::InvalidWebhook(_))));
        let no_deal = r#"[{"portalId": 4411223, "subscriptionType": "deal.creation"}]"#;
        let error = hubspot_call(no_deal, Some(sign(no_deal, NOW_MS)), NOW_MS).unwrap_err();
        assert!(error.to_string().contains("event 0 has no objectId"), "{error}");
    }

    fn pipedrive_call(body: &str, authorization: Option<&str>) -> ChangedResult {
        let credentials = BasicCredentials { username: "sdx".into(), password: "a-long-webhook-password".into() };
        let authorization = authorization.map(str::to_string);
        let header = move |name: &str| if name == "authorization" { authorization.clone() } else { None };
        run(
            CrmHost::Pipedrive,
            "7001",
            "https://relay.example.com/crm-events/uat",
            body,
            &header,
            &EventKeys { hubspot_client_secret: None, pipedrive: Some(&credentials), host_key: &no_keys },
        )
    }

    #[test]
    fn pipedrive_v2_webhooks_with_the_configured_credentials() {
        let good = format!("Basic {}", STANDARD.encode("sdx:a-long-webhook-password"));
        let body = r#"{"meta": {"action": "change", "entity": "deal", "entity_id": "42", "company_id": "7001", "version": "2.0"}, "data": {"stage_id": 3}}"#;
        assert_eq!(pipedrive_call(body, Some(&good)).unwrap().deal_ids, ["42"]);
        let numeric = r#"{"meta": {"action": "create", "entity": "deal", "entity_id": 43, "company_id": 7001, "version": "2.0"}}"#;
        assert_eq!(pipedrive_call(numeric, Some(&good)).unwrap().deal_ids, ["43"]);
        for skipped in [
            r#"{"meta": {"action": "delete", "entity": "deal", "entity_id": "42", "company_id": "7001", "version": "2.0"}}"#,
            r#"{"meta": {"action": "change", "entity": "person", "entity_id": "42", "company_id": "7001", "version": "2.0"}}"#,
            r#"{"meta": {"action": "change", "entity": "deal", "entity_id": "42", "company_id": "8000", "version": "2.0"}}"#,
        ] {
            let changed = pipedrive_call(skipped, Some(&good)).unwrap();
            assert!(changed.deal_ids.is_empty() && changed.skipped == 1, "{skipped}");
        }
        let v1 = r#"{"meta": {"action": "updated", "object": "deal", "id": 42, "company_id": 7001, "v": 1}}"#;
        assert!(pipedrive_call(v1, Some(&good)).unwrap_err().to_string().contains("version 2.0"));
        let wrong = format!("Basic {}", STANDARD.encode("sdx:guess"));
        assert!(matches!(pipedrive_call(body, Some(&wrong)), Err(Error::Unauthorized { .. })));
        assert!(matches!(pipedrive_call(body, None), Err(Error::Unauthorized { .. })));
    }

    #[test]
    fn salesforce_and_zoho_send_an_event_token_for_one_deal() {
        let secret = b"zoho-host-secret-of-32-characters!!";
        let key = |host: &str| (host == "zoho").then(|| HostKey::Secret(secret.to_vec()));
        let keys = EventKeys { hubspot_client_secret: None, pipedrive: None, host_key: &key };
        let caller = |host: &str, tenant: &str| Caller {
            host: host.into(),
            tenant: tenant.into(),
            record: "5725767000000412001".into(),
            user: Some("crm-event".into()),
            expires_at: None,
        };
        let now = NOW_MS / 1000;
        let call = |token: String| {
            let authorization = format!("Bearer {token}");
            let header = move |name: &str| (name == "authorization").then(|| authorization.clone());
            run(CrmHost::Zoho, "org-1", "https://relay.example.com/crm-events/uat", "{}", &header, &keys)
        };
        let event = mint_token_for(secret, &caller("zoho", "org-1"), now, 300, auth::EVENTS_AUDIENCE).unwrap();
        assert_eq!(call(event).unwrap().deal_ids, ["5725767000000412001"]);
        // A seller's session token is not an event, and an event token of another org is refused.
        let session = mint_token_for(secret, &caller("zoho", "org-1"), now, 300, auth::AUDIENCE).unwrap();
        assert!(call(session).unwrap_err().to_string().contains("aud"));
        let other = mint_token_for(secret, &caller("zoho", "org-2"), now, 300, auth::EVENTS_AUDIENCE).unwrap();
        assert!(matches!(call(other), Err(Error::Unauthorized { .. })));
        let demo = mint_token_for(secret, &caller("demo", "org-1"), now, 300, auth::EVENTS_AUDIENCE).unwrap();
        assert!(matches!(call(demo), Err(Error::Unauthorized { .. })));
    }
}
