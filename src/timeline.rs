//! What a contract's activity says on the deal's timeline (`crate::crm::record_notes`): one entry
//! per meaningful activity, in a seller's words, with the contract's name, who acted and a link;
//! its reference names the environment, contract, activity and SpotDraft's time of it, so a
//! redelivery finds the entry already there.

use crate::crm::record_notes::Note;
use crate::model::{ContractId, Environment};
use crate::webhook::{Activity, WebhookEvent};

/// An entry for each activity that changes where a contract stands; none for the rest (emails
/// opened, key pointers, comments).
pub fn entry(event: &WebhookEvent, environment: Environment, link: Option<String>) -> Option<Note> {
    let name = contract_name(event.contract_title.as_deref(), event.contract_id);
    let who = event.performed_by.as_deref();
    let by = |verb: &str| match who {
        Some(person) => format!("{name} {verb} by {person}"),
        None => format!("{name} {verb}"),
    };
    let mut lines = Vec::new();
    let title = match event.activity.as_str() {
        Activity::CREATED => by("created"),
        Activity::SENT_TO_COUNTERPARTY => {
            if !event.recipients.is_empty() {
                lines.push(format!("To {}", event.recipients.join(", ")));
            }
            by("sent to the counterparty")
        }
        Activity::SIGNATURE_REQUESTED => by("sent for signature"),
        Activity::SIGNED => by("signed"),
        Activity::EXECUTED => {
            lines.push("All signatures are in; the signed copy is in SpotDraft.".into());
            format!("{name} executed")
        }
        Activity::SIGNATURE_DECLINED => by("declined for signature"),
        Activity::VOIDED => by("voided"),
        Activity::DELETED => by("deleted"),
        Activity::APPROVAL_REQUESTED => by("sent for approval"),
        Activity::APPROVAL_COMPLETED => format!("{name}: approvals decided"),
        _ => return None,
    };
    Some(Note {
        title,
        lines,
        link,
        at_ms: event.occurred_at_micros.div_euclid(1000),
        reference: reference(environment, event.contract_id, event.activity.as_str(), event.occurred_at_micros),
    })
}

/// SpotDraft sends no activity when a contract is put on hold; reconciliation sees the status and
/// adds this, once per time SpotDraft last changed the contract.
pub fn on_hold(
    title: Option<&str>,
    contract: ContractId,
    environment: Environment,
    changed_at_micros: i64,
    link: Option<String>,
) -> Note {
    Note {
        title: format!("{} put on hold", contract_name(title, contract)),
        lines: Vec::new(),
        link,
        at_ms: changed_at_micros.div_euclid(1000),
        reference: reference(environment, contract, "ON_HOLD", changed_at_micros),
    }
}

fn contract_name(title: Option<&str>, contract: ContractId) -> String {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(title) => format!("{title} ({contract})"),
        None => format!("Contract {contract}"),
    }
}

/// `production/T-12/CONTRACT_SIGNED/1700000000000000`: what the entry records, exactly.
pub fn reference(environment: Environment, contract: ContractId, activity: &str, at_micros: i64) -> String {
    let activity: String = activity.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    format!("{}/{contract}/{activity}/{at_micros}", environment.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::parse_event;

    fn event(activity: &str, performed_by: serde_json::Value) -> WebhookEvent {
        let body = serde_json::json!({
            "contract_id": 12, "contract_title": "Mutual NDA", "contract_status": "SIGN",
            "contract_type": "NDA", "contract_type_name": "NDA", "contract_type_id": 1, "contract_kind": "TEMPLATE_CONTRACT",
            "business_user": {"name": "B"}, "created_at": "2026-12-01T10:00:00Z", "activity": activity,
            "activity_data": {"performed_by": performed_by, "timestamp": "2026-12-03T10:00:00.5Z",
                "counterparty_email_recipients": {"to_recipients": ["pat@buyer.example"], "cc_recipients": []}},
        });
        parse_event(body.to_string().as_bytes()).expect("a valid delivery")
    }

    #[test]
    fn meaningful_activities_read_as_a_seller_would_say_them() {
        let signed = entry(
            &event("CONTRACT_SIGNED", serde_json::json!({"name": "Pat Buyer", "email": "pat@buyer.example"})),
            Environment::Production,
            None,
        );
        let signed = signed.expect("signing is on the timeline");
        assert_eq!(signed.title, "Mutual NDA (T-12) signed by Pat Buyer <pat@buyer.example>");
        assert_eq!(signed.reference, "production/T-12/CONTRACT_SIGNED/1796292000500000");
        assert_eq!(signed.at_ms, 1_796_292_000_500);
        let sent = entry(
            &event("CONTRACT_SENT_TO_COUNTERPARTY", serde_json::json!({"name": "SYSTEM"})),
            Environment::Uat,
            None,
        );
        let sent = sent.expect("sending is on the timeline");
        assert_eq!(sent.title, "Mutual NDA (T-12) sent to the counterparty");
        assert_eq!(sent.lines, vec!["To pat@buyer.example".to_string()]);
        assert!(sent.reference.starts_with("uat/T-12/"));
    }

    #[test]
    fn the_rest_stays_off_the_timeline() {
        assert!(entry(
            &event("SIGNING_EMAIL_OPENED", serde_json::json!({"name": "SYSTEM"})),
            Environment::Production,
            None
        )
        .is_none());
        assert!(entry(
            &event("CONTRACT_KEY_POINTER_UPDATION", serde_json::json!({"name": "SYSTEM"})),
            Environment::Production,
            None
        )
        .is_none());
    }
}
