//! Deciding what the CRM record should show, given what it shows now and something newly observed
//! about one of the deal's contracts (a webhook, a status read, a reconciliation listing).
//!
//! The rules make redelivery, duplication and reordering harmless:
//! - an observation older than the record's `status_at`, or as old with the same status, is ignored
//!   (a late one or a duplicate; the same time with another status is a tie the relay's read settles);
//! - nothing is written unless a shown value actually changes;
//! - of several contracts on one deal the record follows the oldest live one (the same rule the
//!   relay uses when it resolves a create race), and a voided contract never displaces a live one;
//!   moving to another contract clears the previous one's execution time.
//!
//! A webhook can be stale even when newer than the record (SpotDraft orders nothing), so the relay
//! confirms a change of status or of contract with a fresh read before writing
//! ([`needs_confirmation`], [`decide_confirmed`]); see `relay::webhooks`. `tests/sync_properties.rs`
//! states and checks what this guarantees under any delivery order.

use serde::Serialize;

use crate::crm::{ContractFields, CrmPatch};
use crate::model::{ContractId, ContractStatus};
use crate::time;

/// Something known about a contract at an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub contract: ContractId,
    pub status: ContractStatus,
    /// When the status was true: the activity timestamp, or the time SpotDraft was read.
    pub at_micros: i64,
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Decision {
    /// Write these fields (only the ones that change).
    Write { patch: CrmPatch },
    /// The record already shows this.
    Unchanged,
    /// The observation must not change the record; `reason` says why (for the log).
    Ignore { reason: &'static str },
}

/// What to do with `observation` given the record's current `fields`.
pub fn decide(fields: &ContractFields, observation: &Observation) -> Decision {
    decide_with(fields, observation, true)
}

/// Whether the relay must read the contract's status before applying `decision`: whenever the
/// write would change the status shown *or the contract it belongs to*. (A switch to another
/// contract whose delivered status happens to equal the one shown changes no status text, yet
/// names a status for a contract that may since have been voided.)
pub fn needs_confirmation(decision: &Decision) -> bool {
    matches!(decision, Decision::Write { patch } if patch.status.is_some() || patch.contract_id.is_some())
}

/// What to do with a delivery whose change (see [`needs_confirmation`]) the relay checked with a
/// fresh read that found `current`. A delivery can be stale even when newer than the record, so
/// the read status wins. When it differs from the delivery's, the time it became true is unknown:
/// the delivery's time still orders it (a later delivery is checked the same way), but no
/// execution time is taken from it. Otherwise a late `CONTRACT_SIGNED` confirmed as EXECUTED would
/// record the signing time as the execution time for good; the execution's own delivery (or
/// reconciliation) brings it instead.
pub fn decide_confirmed(fields: &ContractFields, observation: &Observation, current: &ContractStatus) -> Decision {
    if *current == observation.status {
        return decide(fields, observation);
    }
    let confirmed = Observation { status: current.clone(), ..observation.clone() };
    decide_with(fields, &confirmed, false)
}

/// What to do with a status SpotDraft answered on a read (a listing, a status call) rather than in an
/// activity: its time is not SpotDraft's activity time, so it orders the observation but is never
/// recorded as the execution time (the execution's own delivery brings that).
pub fn decide_from_read(fields: &ContractFields, observation: &Observation) -> Decision {
    decide_with(fields, observation, false)
}

/// `execution_time_known`: whether `observation.at_micros` may be recorded as the execution time.
fn decide_with(fields: &ContractFields, observation: &Observation, execution_time_known: bool) -> Decision {
    let shown = fields.contract_id.as_deref().and_then(ContractId::parse);
    let shown_status = fields.status.as_deref().map(ContractStatus::parse);
    let shown_at = fields.status_at.as_deref().and_then(time::parse_timestamp);
    match shown {
        Some(id) if id == observation.contract => {
            let execution_time_missing = shown_status == Some(ContractStatus::Executed) && fields.executed_at.is_none();
            if execution_time_missing && execution_time_known && observation.status == ContractStatus::Executed {
                // The record took EXECUTED from a fresh read, without its time; the execution's own
                // activity brings it whenever it arrives, and leaves the status time where it is.
                return match time::format_timestamp(observation.at_micros) {
                    Some(at) => Decision::Write { patch: CrmPatch { executed_at: Some(at), ..CrmPatch::default() } },
                    None => Decision::Unchanged,
                };
            }
            // Two activities can share a timestamp (a last signature and the execution it causes).
            // One with the same time but another status is not a duplicate: it goes on, and the
            // relay's fresh read settles which status is current.
            let duplicate_or_older = |at: i64| {
                observation.at_micros < at
                    || (observation.at_micros == at && shown_status.as_ref() == Some(&observation.status))
            };
            if shown_at.is_some_and(duplicate_or_older) {
                return Decision::Ignore { reason: "not newer than what the record shows" };
            }
            patch_for(fields, observation, execution_time_known)
        }
        Some(id) => {
            let shown_live = shown_status.as_ref().is_none_or(ContractStatus::is_live);
            let adopt = match (shown_live, observation.status.is_live()) {
                (_, false) => false,
                (false, true) => true,
                (true, true) => observation.contract.number < id.number,
            };
            if adopt {
                patch_for(fields, observation, execution_time_known)
            } else {
                Decision::Ignore { reason: "the record follows another contract of this deal" }
            }
        }
        None => patch_for(fields, observation, execution_time_known),
    }
}

/// The record after a write of `patch` (only its `Some` fields are written; `Some("")` clears).
pub fn apply_patch(fields: &mut ContractFields, patch: &CrmPatch) {
    for (slot, value) in [
        (&mut fields.contract_id, &patch.contract_id),
        (&mut fields.status, &patch.status),
        (&mut fields.status_at, &patch.status_at),
        (&mut fields.link, &patch.link),
        (&mut fields.executed_at, &patch.executed_at),
    ] {
        match value.as_deref() {
            // An empty value clears the field, which then reads back as empty.
            Some("") => *slot = None,
            Some(_) => *slot = value.clone(),
            None => {}
        }
    }
}

/// The fields that differ from what the record shows.
fn patch_for(fields: &ContractFields, observation: &Observation, execution_time_known: bool) -> Decision {
    let wanted = target_fields(fields, observation, execution_time_known);
    let mut patch = CrmPatch::default();
    let mut changed = false;
    let mut take = |current: &Option<String>, desired: &Option<String>, slot: &mut Option<String>| {
        if desired.is_some() && desired != current {
            *slot = desired.clone();
            changed = true;
        }
    };
    take(&fields.contract_id, &wanted.contract_id, &mut patch.contract_id);
    take(&fields.status, &wanted.status, &mut patch.status);
    take(&fields.link, &wanted.link, &mut patch.link);
    take(&fields.executed_at, &wanted.executed_at, &mut patch.executed_at);
    if !changed {
        return Decision::Unchanged;
    }
    // The time only moves with a shown change, so a write always means a visible difference.
    patch.status_at = wanted.status_at;
    Decision::Write { patch }
}

fn target_fields(fields: &ContractFields, observation: &Observation, execution_time_known: bool) -> ContractFields {
    let at = time::format_timestamp(observation.at_micros);
    let same_contract = fields.contract_id.as_deref().and_then(ContractId::parse) == Some(observation.contract);
    let executed_at = if observation.status == ContractStatus::Executed && same_contract && fields.executed_at.is_some()
    {
        // Keep the first execution time we recorded for this contract.
        fields.executed_at.clone()
    } else if observation.status == ContractStatus::Executed && execution_time_known {
        at.clone()
    } else if !same_contract && fields.executed_at.is_some() {
        // Another contract's execution time must not stay beside this one's status: clear it.
        Some(String::new())
    } else {
        None
    };
    ContractFields {
        contract_id: Some(observation.contract.to_string()),
        status: Some(observation.status.as_str().to_string()),
        status_at: at,
        link: Some(observation.link.clone()),
        executed_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(number: u64, status: &str, at: i64) -> Observation {
        Observation {
            contract: ContractId::template(number),
            status: ContractStatus::parse(status),
            at_micros: at * 1_000_000,
            link: format!("https://app.spotdraft.com/contracts/v2/{number}"),
        }
    }

    /// Decides and applies like the relay would; true when it wrote.
    fn step(fields: &mut ContractFields, observation: &Observation) -> bool {
        match decide(fields, observation) {
            Decision::Write { patch } => {
                apply_patch(fields, &patch);
                true
            }
            _ => false,
        }
    }

    #[test]
    fn first_observation_writes_everything() {
        let decision = decide(&ContractFields::default(), &observe(7, "DRAFT", 100));
        let Decision::Write { patch } = decision else { panic!("{decision:?}") };
        assert_eq!(patch.contract_id.as_deref(), Some("T-7"));
        assert_eq!(patch.status.as_deref(), Some("DRAFT"));
        assert_eq!(patch.status_at.as_deref(), Some("1970-01-01T00:01:40Z"));
        assert_eq!(patch.link.as_deref(), Some("https://app.spotdraft.com/contracts/v2/7"));
        assert_eq!(patch.executed_at, None);
    }

    #[test]
    fn duplicates_and_late_events_change_nothing() {
        let mut fields = ContractFields::default();
        assert!(step(&mut fields, &observe(7, "SIGN", 200)));
        assert_eq!(
            decide(&fields, &observe(7, "SIGN", 200)),
            Decision::Ignore { reason: "not newer than what the record shows" }
        );
        assert!(matches!(decide(&fields, &observe(7, "REDLINING", 150)), Decision::Ignore { .. }));
        assert_eq!(decide(&fields, &observe(7, "SIGN", 300)), Decision::Unchanged);
    }

    #[test]
    fn execution_records_its_time_once() {
        let mut fields = ContractFields::default();
        step(&mut fields, &observe(7, "EXECUTED", 500));
        assert_eq!(fields.executed_at.as_deref(), Some("1970-01-01T00:08:20Z"));
        assert_eq!(decide(&fields, &observe(7, "EXECUTED", 900)), Decision::Unchanged);
    }

    #[test]
    fn the_oldest_live_contract_wins_and_voided_never_displaces_live() {
        let mut fields = ContractFields::default();
        step(&mut fields, &observe(9, "DRAFT", 100));
        assert!(
            matches!(decide(&fields, &observe(12, "DRAFT", 200)), Decision::Ignore { .. }),
            "newer duplicate ignored"
        );
        assert!(matches!(decide(&fields, &observe(8, "VOIDED", 200)), Decision::Ignore { .. }));
        assert!(step(&mut fields, &observe(8, "REDLINING", 50)), "an older live contract takes over");
        assert_eq!(fields.contract_id.as_deref(), Some("T-8"));
        step(&mut fields, &observe(8, "VOIDED", 300));
        assert!(step(&mut fields, &observe(12, "DRAFT", 250)), "a live one replaces a voided one");
        assert_eq!((fields.contract_id.as_deref(), fields.status.as_deref()), (Some("T-12"), Some("DRAFT")));
    }

    /// Every permutation of a realistic sequence, with a duplicate, ends where the in-order
    /// sequence ends, with no more writes than the sequence has status changes.
    #[test]
    fn order_and_duplication_do_not_matter_for_monotonic_sequences() {
        let events = [
            observe(5, "DRAFT", 10),
            observe(5, "REDLINING", 20),
            observe(5, "SIGN", 30),
            observe(5, "SIGN", 35),
            observe(5, "EXECUTED", 40),
        ];
        let mut in_order = ContractFields::default();
        for event in &events {
            step(&mut in_order, event);
        }
        let mut indices: Vec<usize> = (0..events.len()).collect();
        let mut permutations = 0;
        loop {
            let mut fields = ContractFields::default();
            let mut writes = 0;
            for &i in indices.iter().chain(indices.first()) {
                writes += usize::from(step(&mut fields, &events[i]));
            }
            assert_eq!(
                (fields.contract_id.as_ref(), fields.status.as_ref()),
                (in_order.contract_id.as_ref(), in_order.status.as_ref()),
                "{indices:?}"
            );
            assert_eq!(fields.executed_at, in_order.executed_at);
            assert!(writes <= 4, "{indices:?}: {writes} writes");
            permutations += 1;
            if !next_permutation(&mut indices) {
                break;
            }
        }
        assert_eq!(permutations, 120);
    }

    /// Found by `tests/sync_properties.rs`: a late delivery confirmed as EXECUTED by a fresh read
    /// recorded its own (earlier) time as the execution time, for good.
    #[test]
    fn a_confirmed_execution_waits_for_its_own_time() {
        let mut fields = ContractFields::default();
        step(&mut fields, &observe(7, "SIGN", 100));
        let late = observe(7, "REDLINING", 150);
        let Decision::Write { patch } = decide_confirmed(&fields, &late, &ContractStatus::Executed) else { panic!() };
        assert_eq!((patch.status.as_deref(), patch.executed_at.as_deref()), (Some("EXECUTED"), None));
        apply_patch(&mut fields, &patch);
        // The execution's own delivery fills the time in, even though it is older than the record,
        // and leaves the status time alone.
        let Decision::Write { patch } = decide(&fields, &observe(7, "EXECUTED", 120)) else { panic!() };
        assert_eq!(patch, CrmPatch { executed_at: Some("1970-01-01T00:02:00Z".into()), ..CrmPatch::default() });
        apply_patch(&mut fields, &patch);
        assert_eq!(fields.status_at.as_deref(), Some("1970-01-01T00:02:30Z"));
        assert!(matches!(decide(&fields, &observe(7, "EXECUTED", 120)), Decision::Ignore { .. }), "a redelivery");
    }

    /// Found by `tests/sync_properties.rs`: of two activities with the same timestamp, the second
    /// one delivered was dropped as a duplicate even though it carried another status.
    #[test]
    fn same_time_other_status_is_not_a_duplicate() {
        let mut fields = ContractFields::default();
        step(&mut fields, &observe(7, "SIGN", 100));
        assert!(matches!(decide(&fields, &observe(7, "SIGN", 100)), Decision::Ignore { .. }));
        let Decision::Write { patch } = decide(&fields, &observe(7, "EXECUTED", 100)) else { panic!() };
        assert_eq!(patch.status.as_deref(), Some("EXECUTED"));
    }

    /// Found by `tests/sync_properties.rs`: a switch to another contract whose status text equals
    /// the one shown was written unconfirmed (that contract may be voided since), and kept the
    /// previous contract's execution time.
    #[test]
    fn a_switch_of_contract_is_confirmed_and_clears_the_execution_time() {
        let mut fields = ContractFields::default();
        step(&mut fields, &observe(12, "EXECUTED", 100));
        let older = decide(&fields, &observe(11, "EXECUTED", 90));
        assert!(needs_confirmation(&older), "{older:?}");
        assert_eq!(
            decide_confirmed(&fields, &observe(11, "EXECUTED", 90), &ContractStatus::Voided),
            Decision::Ignore { reason: "the record follows another contract of this deal" }
        );
        let Decision::Write { patch } = decide(&fields, &observe(11, "DRAFT", 90)) else { panic!() };
        assert_eq!(patch.executed_at.as_deref(), Some(""), "cleared");
        apply_patch(&mut fields, &patch);
        assert_eq!((fields.contract_id.as_deref(), fields.executed_at), (Some("T-11"), None));
    }

    fn next_permutation(items: &mut [usize]) -> bool {
        let Some(i) = (1..items.len()).rev().find(|&i| items[i - 1] < items[i]) else { return false };
        let j = (i..items.len()).rev().find(|&j| items[j] > items[i - 1]).unwrap_or(i);
        items.swap(i - 1, j);
        items[i..].reverse();
        true
    }
}
