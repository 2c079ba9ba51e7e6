//! A contract's approvals, as a seller sees them from the deal: SpotDraft's approval steps (its
//! contract approvals API: each step's name, who holds it, its state), and the ad-hoc approvals the
//! admin configured for the template (`templates[].approvals`), which a seller may request when
//! SpotDraft allows it. SpotDraft's refusals are worded for the seller ([`seller_error`]).

use serde::Deserialize;

use crate::config::AdHocApproval;
use crate::error::{Error, Result};
use crate::model::ContractStatus;
use crate::shell_types::shell_struct;

/// A step as SpotDraft answers it (`PublicContractApprovalExpandedResponse.approval`), what is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Step {
    #[serde(default)]
    pub approval_name: String,
    /// `PRE_SEND`, `PRE_SIGN`, `AD_HOC`, `APPROVAL_V5`.
    #[serde(default)]
    pub approval_type: String,
    /// `NOT_STARTED`, `PENDING`, `REJECTED`, `SUGGESTED`, `APPROVED`, `SKIPPED`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub org_user: Option<Person>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Person {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
}

/// `PublicContractApprovalListResponse`.
#[derive(Debug, Deserialize)]
pub(crate) struct StepList {
    #[serde(default)]
    pub results: Vec<StepEntry>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StepEntry {
    pub approval: Step,
}

shell_struct! {
    /// A contract's approvals, as the relay answers the sidebar: ready to show.
    pub struct ApprovalsView as "ApprovalsView" {
        /// One line per step: its name, who holds it (when a person does) and its state, e.g.
        /// "Legal · Jane Legal: Pending".
        steps: Vec<String> => "steps",
        /// Whether the seller may request the configured approvals now.
        can_request: bool => "canRequest",
        /// What requesting sends ("Request Legal and Finance"); none when nothing is configured.
        request_label: Option<String> => "requestLabel",
        /// Why requesting is not possible now, in a seller's words.
        reason: Option<String> => "reason",
    }
}

const OPEN: [&str; 2] = ["NOT_STARTED", "PENDING"];

fn status_label(status: &str) -> &'static str {
    match status {
        "NOT_STARTED" => "Not sent yet",
        "PENDING" => "Pending",
        "APPROVED" => "Approved",
        "REJECTED" => "Rejected",
        "SUGGESTED" => "Changes suggested",
        "SKIPPED" => "Skipped",
        _ => "Unknown",
    }
}

/// The view of `steps` on a contract at `status`, with what may be requested.
pub fn view(steps: &[Step], status: &ContractStatus, configured: &[AdHocApproval]) -> ApprovalsView {
    let lines = steps
        .iter()
        .map(|step| {
            let label = status_label(&step.status);
            match step.org_user.as_ref().map(|p| if p.name.trim().is_empty() { &p.email } else { &p.name }) {
                Some(who) => format!("{} · {who}: {label}", step.approval_name),
                None => format!("{}: {label}", step.approval_name),
            }
        })
        .collect();
    let request_label = (!configured.is_empty()).then(|| {
        let names: Vec<&str> = configured.iter().map(|a| a.name.as_str()).collect();
        format!("Request {}", join_names(&names))
    });
    let reason = if configured.is_empty() {
        None
    } else if !status.is_live() || *status == ContractStatus::Executed {
        Some(format!("Approvals cannot be requested on a contract that is {}.", status.label().to_lowercase()))
    } else if steps.iter().any(|s| OPEN.contains(&s.status.as_str())) {
        Some("An approval is in progress; a new one can be requested once it is decided.".into())
    } else if steps.iter().any(|s| s.approval_type == "APPROVAL_V5") {
        Some("This contract's approvals follow SpotDraft's approval workflow; manage them in SpotDraft.".into())
    } else {
        None
    };
    ApprovalsView { steps: lines, can_request: request_label.is_some() && reason.is_none(), request_label, reason }
}

/// "A", "A and B", "A, B and C".
fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// SpotDraft's refusals of an approval request, in a seller's words (as `Conflict`); anything else
/// as it was.
pub fn seller_error(error: Error) -> Error {
    let Error::SpotDraft(api) = &error else { return error };
    let reason = match api.code.as_deref() {
        Some("SD_CONTRACT_APPROVALS_00001") => {
            "This contract's approvals follow SpotDraft's approval workflow, which takes no approvals requested from here; manage them in SpotDraft."
        }
        Some("SD_CONTRACTS_00152") => "An approval is already in progress on this contract; request again once it is decided.",
        _ => return error,
    };
    Error::Conflict { reason: reason.into() }
}

/// The request body SpotDraft takes (`ExternalCreateContractApprovalRequestList`), in order.
pub fn request_body(configured: &[AdHocApproval]) -> serde_json::Value {
    let approvals: Vec<serde_json::Value> = configured
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut item = serde_json::json!({"name": a.name, "notes": a.notes, "order": i + 1});
            if let Some(map) = item.as_object_mut() {
                match (a.approver_user_id, a.approver_role_id) {
                    (Some(user), _) => map.insert("approver_user_id".into(), user.into()),
                    (None, Some(role)) => map.insert("approver_role_id".into(), role.into()),
                    (None, None) => None,
                };
            }
            item
        })
        .collect();
    serde_json::json!({ "approvals": approvals })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn step(name: &str, status: &str, who: Option<&str>) -> Step {
        Step {
            approval_name: name.into(),
            approval_type: "AD_HOC".into(),
            status: status.into(),
            org_user: who.map(|n| Person { name: n.into(), email: format!("{}@x.example", n.to_lowercase()) }),
        }
    }

    fn legal() -> Vec<AdHocApproval> {
        vec![
            AdHocApproval {
                name: "Legal".into(),
                approver_user_id: Some(1002),
                approver_role_id: None,
                notes: "Please".into(),
            },
            AdHocApproval {
                name: "Finance".into(),
                approver_user_id: None,
                approver_role_id: Some(7),
                notes: "Thanks".into(),
            },
        ]
    }

    #[test]
    fn steps_read_for_a_seller_and_requests_only_when_spotdraft_would_take_them() {
        let draft = ContractStatus::parse("DRAFT");
        let open = view(&[step("Legal", "PENDING", Some("Jane Legal"))], &draft, &legal());
        assert_eq!(open.steps, ["Legal · Jane Legal: Pending"]);
        assert!(!open.can_request);
        assert!(open.reason.unwrap().contains("in progress"));
        let done = view(&[step("Legal", "APPROVED", None)], &draft, &legal());
        assert_eq!(done.steps, ["Legal: Approved"]);
        assert!(done.can_request);
        assert_eq!(done.request_label.as_deref(), Some("Request Legal and Finance"));
        let executed = view(&[], &ContractStatus::parse("EXECUTED"), &legal());
        assert!(!executed.can_request);
        let nothing = view(&[], &draft, &[]);
        assert!(!nothing.can_request && nothing.request_label.is_none() && nothing.reason.is_none());
    }

    #[test]
    fn refusals_are_worded_for_the_seller_and_bodies_follow_the_spec() {
        let refusal = |code: &str| {
            Error::SpotDraft(ApiError {
                status: 400,
                code: Some(code.into()),
                message: "x".into(),
                field_errors: Vec::new(),
            })
        };
        assert!(
            matches!(seller_error(refusal("SD_CONTRACTS_00152")), Error::Conflict { reason } if reason.contains("already in progress"))
        );
        assert!(
            matches!(seller_error(refusal("SD_CONTRACT_APPROVALS_00001")), Error::Conflict { reason } if reason.contains("workflow"))
        );
        assert!(matches!(seller_error(refusal("SD_OTHER")), Error::SpotDraft(_)));
        let body = request_body(&legal());
        assert_eq!(
            body["approvals"][0],
            serde_json::json!({"name": "Legal", "notes": "Please", "order": 1, "approver_user_id": 1002})
        );
        assert_eq!(body["approvals"][1]["approver_role_id"], 7);
        assert!(body["approvals"][1].get("approver_user_id").is_none());
    }
}
