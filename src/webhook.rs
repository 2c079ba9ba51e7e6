//! SpotDraft webhook deliveries: signature verification and payload parsing.
//!
//! Scheme (docs/spotdraft-api.md §11.4): `X-SD-WEBHOOK-CONTENT-HASH` is the lowercase hex HMAC-SHA512 of the
//! raw body bytes, keyed with the base64-*decoded* `hmac_key`. Verification runs on the bytes as
//! received, before any parsing, and compares in constant time.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha512;

use crate::error::{Error, Problem, Result};
use crate::json_input::{type_name, Checker};
use crate::json_pruned::{self, Shape};
use crate::model::{ContractId, ContractStatus, Environment, RecordKey};
use crate::time;

pub const SIGNATURE_HEADER: &str = "X-SD-WEBHOOK-CONTENT-HASH";
/// Real payloads are a few KB; anything near this is not SpotDraft.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

type HmacSha512 = Hmac<Sha512>;

/// The HMAC key of one environment's SpotDraft workspace, ready to verify deliveries.
#[derive(Clone)]
pub struct WebhookKey {
    keyed: HmacSha512,
    key_len: usize,
}

impl std::fmt::Debug for WebhookKey {
    // Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookKey({} bytes)", self.key_len)
    }
}

impl WebhookKey {
    /// From the `hmac_key` that `GET /api/v2.1/public/webhooks/hmac_key/` returns.
    pub fn from_base64(text: &str) -> Result<WebhookKey> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|e| {
            Error::invalid_input(
                "hmacKey",
                format!("is not base64 ({e}); use hmac_key exactly as SpotDraft returns it"),
            )
        })?;
        if bytes.len() < 16 {
            return Err(Error::invalid_input(
                "hmacKey",
                "decodes to fewer than 16 bytes; use hmac_key exactly as SpotDraft returns it",
            ));
        }
        WebhookKey::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<WebhookKey> {
        let keyed = HmacSha512::new_from_slice(bytes)
            .map_err(|_| Error::invalid_input("hmacKey", "is not a usable HMAC key"))?;
        Ok(WebhookKey { keyed, key_len: bytes.len() })
    }

    fn mac(&self, body: &[u8]) -> HmacSha512 {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac
    }

    /// The header value SpotDraft would send for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        hex(&self.mac(body).finalize().into_bytes())
    }

    /// Checks a delivery's signature header against its raw body.
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> Result<()> {
        let invalid = |reason: &str| Err(Error::InvalidSignature { reason: reason.to_string() });
        let Some(signature) = signature.map(str::trim).filter(|s| !s.is_empty()) else {
            return invalid("the X-SD-WEBHOOK-CONTENT-HASH header is missing");
        };
        let Some(expected) = unhex(signature).filter(|bytes| bytes.len() == 64) else {
            return invalid("the X-SD-WEBHOOK-CONTENT-HASH header is not 128 hex digits");
        };
        match self.mac(body).verify_slice(&expected) {
            Ok(()) => Ok(()),
            Err(_) => {
                invalid("the signature does not match the body (wrong environment's key, or the body was altered)")
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let nibble = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes().chunks(2).map(|pair| Some((nibble(*pair.first()?)? << 4) | nibble(*pair.get(1)?)?)).collect()
}

/// The activity a delivery reports. Values SpotDraft adds later are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity(pub String);

impl Activity {
    pub const CREATED: &'static str = "CONTRACT_CREATED";
    pub const SENT_TO_COUNTERPARTY: &'static str = "CONTRACT_SENT_TO_COUNTERPARTY";
    pub const SIGNATURE_REQUESTED: &'static str = "CONTRACT_SIGNATURE_REQUESTED";
    pub const SIGNED: &'static str = "CONTRACT_SIGNED";
    pub const EXECUTED: &'static str = "CONTRACT_EXECUTED";
    pub const SIGNATURE_DECLINED: &'static str = "CONTRACT_SIGNATURE_DECLINED";
    pub const VOIDED: &'static str = "CONTRACT_VOIDED";
    pub const DELETED: &'static str = "CONTRACT_DELETED";

    pub const APPROVAL_REQUESTED: &'static str = "CONTRACT_APPROVAL_REQUESTED";
    pub const APPROVAL_COMPLETED: &'static str = "CONTRACT_APPROVAL_COMPLETED";
    /// The activities that change a contract's approvals (told on the timeline; sidebars read them again).
    pub const APPROVAL_ACTIVITIES: [&'static str; 2] = [Activity::APPROVAL_REQUESTED, Activity::APPROVAL_COMPLETED];

    pub const KEY_POINTER_CREATION: &'static str = "CONTRACT_KEY_POINTER_CREATION";
    pub const KEY_POINTER_UPDATION: &'static str = "CONTRACT_KEY_POINTER_UPDATION";
    /// The activities that change a contract's metadata values (key terms on the record).
    pub const KEY_POINTER_ACTIVITIES: [&'static str; 2] =
        [Activity::KEY_POINTER_CREATION, Activity::KEY_POINTER_UPDATION];

    /// Everything the relay subscribes to: status changes, key-pointer changes (acknowledged and
    /// left when no key terms are configured) and approval changes (told on the timeline).
    pub fn subscribed() -> Vec<String> {
        Activity::STATUS_ACTIVITIES
            .iter()
            .chain(Activity::KEY_POINTER_ACTIVITIES.iter())
            .chain(Activity::APPROVAL_ACTIVITIES.iter())
            .map(|a| (*a).to_string())
            .collect()
    }

    /// The activities the CRM status sync subscribes to.
    pub const STATUS_ACTIVITIES: [&'static str; 8] = [
        Activity::CREATED,
        Activity::SENT_TO_COUNTERPARTY,
        Activity::SIGNATURE_REQUESTED,
        Activity::SIGNED,
        Activity::EXECUTED,
        Activity::SIGNATURE_DECLINED,
        Activity::VOIDED,
        Activity::DELETED,
    ];

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Activity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// One verified delivery, reduced to what sync needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    #[cfg_attr(feature = "typescript", ts(type = "string"))]
    pub activity: Activity,
    #[cfg_attr(feature = "typescript", ts(type = "string"))]
    pub contract_id: ContractId,
    #[cfg_attr(feature = "typescript", ts(type = "ContractStatus"))]
    pub contract_status: ContractStatus,
    pub contract_title: Option<String>,
    /// `activity_data.timestamp` as sent.
    pub occurred_at: String,
    /// The same instant in UTC microseconds: what ordering decisions compare.
    pub occurred_at_micros: i64,
    /// `external_metadata.id`, when the contract has one.
    pub external_id: Option<String>,
    /// The CRM record, when the external id is one this plugin wrote.
    #[serde(skip)]
    pub record: Option<RecordKey>,
    /// `external_metadata.record_data.environment`, when it is exactly `uat` or `production`.
    pub environment: Option<Environment>,
    /// `external_metadata.record_data.environment` as sent, whatever it says (`"Production"`,
    /// `"staging"`): ownership compares this exactly.
    pub environment_text: Option<String>,
    /// `external_metadata.integration_name` as sent: this plugin writes its own name there.
    pub integration_name: Option<String>,
    pub contract_kind: Option<String>,
    pub contract_type_id: Option<u64>,
    /// The template the contract was made from: SpotDraft's `contract_template_id`, else what this
    /// plugin wrote at create (`external_metadata.record_data.template_id`).
    pub template_id: Option<u64>,
    /// Who acted (`activity_data.performed_by`): "Name <email>", the name alone, or `None` for
    /// SpotDraft itself (`SYSTEM`).
    pub performed_by: Option<String>,
    /// Whom a send to the counterparty went to (`counterparty_email_recipients.to_recipients`).
    pub recipients: Vec<String>,
    /// Stable across redeliveries of the same activity: `(contract, activity, timestamp[, recipient])`.
    pub dedupe_key: String,
}

/// What [`parse_event`] reads of a delivery: the rest of it (signatories, comments, users) is
/// checked as UTF-8 and JSON syntax and skipped, never stored (about half the parse's time,
/// `bench/js/webhook.mjs`).
const DELIVERY_READ: Shape = Shape::Keys(&[
    ("activity", Shape::All),
    ("contract_id", Shape::All),
    ("contract_status", Shape::All),
    ("contract_title", Shape::All),
    ("contract_kind", Shape::All),
    ("contract_type_id", Shape::All),
    ("contract_template_id", Shape::All),
    (
        "external_metadata",
        Shape::Keys(&[
            ("id", Shape::All),
            ("integration_name", Shape::All),
            ("record_data", Shape::Keys(&[("environment", Shape::All), ("template_id", Shape::All)])),
        ]),
    ),
    (
        "activity_data",
        Shape::Keys(&[
            ("timestamp", Shape::All),
            ("performed_by", Shape::All),
            ("email_event_data", Shape::All),
            ("signatory", Shape::All),
            ("counterparty_email_recipients", Shape::All),
        ]),
    ),
]);

/// Parses a delivery body (verify first). Unknown fields, activities and statuses are tolerated;
/// the fields sync cannot do without are required.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::InvalidWebhook(vec![Problem::new(
            "",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )]));
    }
    let value = json_pruned::from_slice(body, DELIVERY_READ)
        .map_err(|e| Error::InvalidWebhook(vec![Problem::new("", format!("the body is not JSON ({e})"))]))?;
    let mut check = Checker::default();
    let Some(map) = check.object(&value, "payload") else { return Err(Error::InvalidWebhook(check.problems)) };
    let activity = check.required_text(map, "", "activity", 100);
    let contract_number = check.required(map, "", "contract_id").and_then(|v| check.positive_id(v, "contract_id"));
    let contract_status = check.required_text(map, "", "contract_status", 50).map(|s| ContractStatus::parse(&s));
    let activity_data = check.required(map, "", "activity_data").and_then(|v| check.object(v, "activity_data"));
    let occurred_at = activity_data.and_then(|data| check.required_text(data, "activity_data", "timestamp", 64));
    let occurred_at_micros = occurred_at.as_deref().and_then(|text| {
        let micros = time::parse_timestamp(text);
        if micros.is_none() {
            check.problem("activity_data.timestamp", format!("\"{text}\" is not an ISO 8601 timestamp"));
        }
        micros
    });
    let metadata = match map.get("external_metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            check.problem("external_metadata", format!("expected an object, found {}", type_name(other)));
            None
        }
    };
    let (Some(activity), Some(number), Some(contract_status), Some(occurred_at), Some(occurred_at_micros)) =
        (activity, contract_number, contract_status, occurred_at, occurred_at_micros)
    else {
        return Err(Error::InvalidWebhook(check.problems));
    };
    let external_id = metadata.and_then(|m| match m.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    });
    let environment_text = metadata
        .and_then(|m| m.get("record_data"))
        .and_then(|d| d.get("environment"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let environment = environment_text.as_deref().and_then(Environment::parse);
    let integration_name = metadata.and_then(|m| m.get("integration_name")).and_then(Value::as_str).map(str::to_string);
    let recipient = activity_data
        .and_then(|d| {
            d.get("email_event_data")
                .and_then(|e| e.get("recipient_email"))
                .or_else(|| d.get("signatory").and_then(|s| s.get("email")))
        })
        .and_then(Value::as_str);
    let performed_by = activity_data.and_then(|d| d.get("performed_by")).and_then(|person| {
        let name = person.get("name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty());
        let email = person.get("email").and_then(Value::as_str).map(str::trim).filter(|e| !e.is_empty());
        match (name, email) {
            (Some("SYSTEM"), _) | (None, None) => None,
            (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
            (Some(name), None) => Some(name.to_string()),
            (None, Some(email)) => Some(email.to_string()),
        }
    });
    let recipients = activity_data
        .and_then(|d| d.get("counterparty_email_recipients"))
        .and_then(|r| r.get("to_recipients"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| r.as_str().or_else(|| r.get("email").and_then(Value::as_str)))
                .map(str::to_string)
                .take(20)
                .collect()
        })
        .unwrap_or_default();
    let mut dedupe_key = format!("{number}:{activity}:{occurred_at_micros}");
    if let Some(recipient) = recipient {
        dedupe_key.push(':');
        dedupe_key.push_str(&recipient.to_ascii_lowercase());
    }
    Ok(WebhookEvent {
        record: external_id.as_deref().and_then(RecordKey::parse),
        activity: Activity(activity),
        contract_id: ContractId::template(number),
        contract_status,
        contract_title: map.get("contract_title").and_then(Value::as_str).map(str::to_string),
        occurred_at,
        occurred_at_micros,
        external_id,
        environment,
        environment_text,
        integration_name,
        contract_kind: map.get("contract_kind").and_then(Value::as_str).map(str::to_string),
        contract_type_id: map.get("contract_type_id").and_then(Value::as_u64),
        template_id: map.get("contract_template_id").and_then(Value::as_u64).or_else(|| {
            metadata.and_then(|m| m.get("record_data")).and_then(|d| d.get("template_id")).and_then(Value::as_u64)
        }),
        performed_by,
        recipients,
        dedupe_key,
    })
}

/// Verifies, then parses: the only order in which a delivery may be trusted.
pub fn verify_and_parse(key: &WebhookKey, body: &[u8], signature: Option<&str>) -> Result<WebhookEvent> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::InvalidWebhook(vec![Problem::new(
            "",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )]));
    }
    key.verify(body, signature)?;
    parse_event(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    // docs/spotdraft-api.md §11.4.
    const SPEC_KEY: &str = "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==";
    const SPEC_BODY: &[u8] = br#"{"contract_id":19589,"activity":"CONTRACT_EXECUTED"}"#;
    const SPEC_SIGNATURE: &str = "c169ee44fbcb0f3dd5c364825364740bc0f21f5bd40d2e55ca5be1ee2c70229343137885d10891b98c2c4d5d5937ee0d0b7b961057960838577a25f720345b6c";
    const WRONG_KEY_SIGNATURE: &str = "8cac3dd8f2df03fd262625161b46db6a65b2772d2e677fd01bc4a97886583166094ede898673be5efe705496123e6da94cf129d1946de1720004d94b55a890b5";

    #[test]
    fn spec_test_vector_verifies() {
        let key = WebhookKey::from_base64(SPEC_KEY).unwrap();
        assert_eq!(key.sign(SPEC_BODY), SPEC_SIGNATURE);
        key.verify(SPEC_BODY, Some(SPEC_SIGNATURE)).unwrap();
        key.verify(SPEC_BODY, Some(&SPEC_SIGNATURE.to_uppercase())).unwrap();
        key.verify(SPEC_BODY, Some(&format!(" {SPEC_SIGNATURE}\t"))).unwrap();
    }

    #[test]
    fn wrong_key_variant_fails() {
        // The variant signed with the base64 *text* as key must not verify under the decoded key...
        let key = WebhookKey::from_base64(SPEC_KEY).unwrap();
        assert_eq!(key.verify(SPEC_BODY, Some(WRONG_KEY_SIGNATURE)).unwrap_err().code(), "invalid_signature");
        // ...and is exactly what keying with the text would produce.
        let text_keyed = WebhookKey::from_bytes(SPEC_KEY.as_bytes()).unwrap();
        assert_eq!(text_keyed.sign(SPEC_BODY), WRONG_KEY_SIGNATURE);
    }

    #[test]
    fn rejects_altered_missing_and_malformed_signatures() {
        let key = WebhookKey::from_base64(SPEC_KEY).unwrap();
        let altered = br#"{"contract_id":19589,"activity":"CONTRACT_VOIDED"}"#;
        let spaced = br#"{"contract_id": 19589,"activity":"CONTRACT_EXECUTED"}"#;
        for (body, signature) in [
            (&altered[..], Some(SPEC_SIGNATURE)),
            (&spaced[..], Some(SPEC_SIGNATURE)),
            (SPEC_BODY, None),
            (SPEC_BODY, Some("")),
            (SPEC_BODY, Some("sha512=c169ee44")),
            (SPEC_BODY, Some(&SPEC_SIGNATURE[..126])),
            (SPEC_BODY, Some(&format!("{}zz", &SPEC_SIGNATURE[..126]))),
        ] {
            assert_eq!(key.verify(body, signature).unwrap_err().code(), "invalid_signature", "{signature:?}");
        }
    }

    #[test]
    fn keys_must_be_base64_of_real_bytes() {
        assert!(WebhookKey::from_base64("not base64!").is_err());
        assert!(WebhookKey::from_base64("c2hvcnQ=").is_err());
        assert!(format!("{:?}", WebhookKey::from_base64(SPEC_KEY).unwrap()).contains("64 bytes"));
    }

    fn executed_payload() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "contract_id": 19589, "contract_kind": "TEMPLATE_CONTRACT", "contract_title": "SpotDraft Standard DPA",
            "contract_type": "Data Processing Agreement", "contract_type_name": "Data Processing Agreement", "contract_type_id": 135,
            "contract_status": "EXECUTED", "business_user": {"name": "Owner", "email": "owner@yourco.example"},
            "created_at": "2021-08-22T03:48:52.370635Z",
            "external_metadata": {"id": "hubspot:4411223:deal:1001", "integration_name": "spotdraft-crm", "record_type": "deals",
                                  "record_data": {"environment": "uat"}},
            "activity_data": {"performed_by": {"name": "SYSTEM"}, "timestamp": "2021-08-22T03:53:52.201442Z"},
            "activity": "CONTRACT_EXECUTED", "some_future_field": {"x": 1}
        }))
        .unwrap()
    }

    #[test]
    fn parses_a_delivery() {
        let event = parse_event(&executed_payload()).unwrap();
        assert_eq!(event.activity.as_str(), Activity::EXECUTED);
        assert_eq!(event.contract_id.to_string(), "T-19589");
        assert_eq!(event.contract_status, ContractStatus::Executed);
        assert_eq!(event.record.as_ref().map(|r| r.id.as_str()), Some("1001"));
        assert_eq!(event.environment, Some(Environment::Uat));
        assert_eq!(event.occurred_at_micros, time::parse_timestamp("2021-08-22T03:53:52.201442Z").unwrap());
        assert_eq!(event.dedupe_key, format!("19589:CONTRACT_EXECUTED:{}", event.occurred_at_micros));
    }

    #[test]
    fn tolerates_unknown_values_but_not_missing_essentials() {
        let mut value: Value = serde_json::from_slice(&executed_payload()).unwrap();
        value["activity"] = "CONTRACT_TELEPORTED".into();
        value["contract_status"] = "IN_ORBIT".into();
        value["external_metadata"] = serde_json::json!({"id": "hubspot-deal-10024"});
        let event = parse_event(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(event.contract_status, ContractStatus::Other("IN_ORBIT".into()));
        assert_eq!(event.record, None, "ids this plugin did not write are not CRM records");

        let err = parse_event(
            br#"{"activity": "CONTRACT_SIGNED", "contract_id": "abc", "activity_data": {"timestamp": "yesterday"}}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["contract_id", "contract_status", "activity_data.timestamp"]);
        for bad in [&b"not json"[..], b"[]", b"", b"{\"activity\": 5}"] {
            assert_eq!(parse_event(bad).unwrap_err().code(), "invalid_webhook");
        }
        assert_eq!(parse_event(&vec![b' '; MAX_BODY_BYTES + 1]).unwrap_err().code(), "invalid_webhook");
    }

    #[test]
    fn reads_only_what_sync_uses_but_checks_all_of_it() {
        let mut value: Value = serde_json::from_slice(&executed_payload()).unwrap();
        value["activity_data"]["signatories"] = serde_json::json!([{"name": "A", "email": "a@x.example"}]);
        value["external_metadata"]["record_data"]["unread"] = serde_json::json!({"deep": [1, 2, 3]});
        let text = serde_json::to_string(&value).unwrap();
        let full = parse_event(text.as_bytes()).unwrap();
        assert_eq!(full, parse_event(&executed_payload()).unwrap(), "unread fields change nothing");
        // A syntax error in a part that is skipped still fails the delivery.
        let broken = text.replacen(r#""deep":[1,2,3]"#, r#""deep":[1,2,]"#, 1);
        assert_ne!(broken, text);
        assert_eq!(parse_event(broken.as_bytes()).unwrap_err().code(), "invalid_webhook");
        // A kept key of the wrong kind is named, as before.
        value["activity_data"] = "yesterday".into();
        let err = parse_event(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert_eq!(err.problems().first().map(|p| p.path.as_str()), Some("activity_data"));
    }

    #[test]
    fn per_recipient_events_have_distinct_keys() {
        let body = |email: &str| {
            serde_json::to_vec(&serde_json::json!({
                "activity": "SIGNING_EMAIL_OPENED", "contract_id": 7, "contract_status": "SIGN",
                "activity_data": {"timestamp": "2026-01-01T00:00:00Z", "email_event_data": {"recipient_email": email}}
            }))
            .unwrap()
        };
        assert_ne!(
            parse_event(&body("a@x.example")).unwrap().dedupe_key,
            parse_event(&body("b@x.example")).unwrap().dedupe_key
        );
    }
}
