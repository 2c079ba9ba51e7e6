//! SpotDraft webhook deliveries: `X-SD-WEBHOOK-CONTENT-HASH` verification and payload parsing.

use spotdraft_crm::time;
use spotdraft_crm::webhook::{self, WebhookKey};

const KEY: &str = "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==";
const OTHER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The input is a delivery body; its first line also serves as a forged signature header.
pub fn webhook(body: &[u8]) {
    let (Ok(key), Ok(other_key)) = (WebhookKey::from_base64(KEY), WebhookKey::from_base64(OTHER_KEY)) else {
        panic!("the fixed test keys must load");
    };
    let signature = key.sign(body);
    assert_eq!(signature.len(), 128);
    assert!(signature.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

    // verify(sign(x)) holds, whatever the case or surrounding spaces of the header.
    assert!(key.verify(body, Some(&signature)).is_ok());
    assert!(key.verify(body, Some(&signature.to_ascii_uppercase())).is_ok());
    assert!(key.verify(body, Some(&format!(" {signature}\t"))).is_ok());
    // ...and nothing else does: no header, another key, one changed bit of the body or header.
    assert!(key.verify(body, None).is_err());
    assert!(other_key.verify(body, Some(&signature)).is_err());
    let at = super::spot(body);
    if !body.is_empty() {
        let mut altered = body.to_vec();
        altered[at % body.len()] ^= 1 << (at % 8);
        assert!(key.verify(&altered, Some(&signature)).is_err(), "a one-bit change of the body verified");
    }
    let mut forged = signature.clone().into_bytes();
    let digit = at % forged.len();
    forged[digit] = if forged[digit] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).unwrap_or_default();
    assert!(key.verify(body, Some(&forged)).is_err(), "a one-digit change of the signature verified");

    // A header taken from the input is accepted only if it is the signature, in some case.
    let first_line = body.split(|b| *b == b'\n').next().unwrap_or_default();
    let candidate = String::from_utf8_lossy(first_line);
    if key.verify(body, Some(&candidate)).is_ok() {
        assert_eq!(candidate.trim().to_ascii_lowercase(), signature, "accepted a header that is not the HMAC");
    }

    // Verifying first never changes what parsing finds.
    let parsed = webhook::parse_event(body);
    match (&parsed, webhook::verify_and_parse(&key, body, Some(&signature))) {
        (Ok(plain), Ok(verified)) => assert_eq!(plain, &verified),
        (Err(_), Err(_)) => {}
        (plain, verified) => panic!("verify_and_parse disagrees with parse_event: {plain:?} vs {verified:?}"),
    }
    assert!(webhook::verify_and_parse(&other_key, body, Some(&signature)).is_err());

    let Ok(event) = parsed else { return };
    assert!(body.len() <= webhook::MAX_BODY_BYTES);
    assert!(event.contract_id.number > 0);
    assert_eq!(time::parse_timestamp(&event.occurred_at), Some(event.occurred_at_micros));
    if let Some(formatted) = time::format_timestamp(event.occurred_at_micros) {
        assert_eq!(time::parse_timestamp(&formatted), Some(event.occurred_at_micros), "{formatted}");
    }
    let prefix = format!("{}:{}:{}", event.contract_id.number, event.activity.as_str(), event.occurred_at_micros);
    assert!(event.dedupe_key.starts_with(&prefix), "{} vs {prefix}", event.dedupe_key);
    if let Some(record) = &event.record {
        assert_eq!(event.external_id.as_deref(), Some(record.to_string().as_str()), "record keys round-trip");
    }
    assert!(serde_json::to_string(&event).is_ok());
}
