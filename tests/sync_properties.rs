//! Property tests of `sync`: SpotDraft's webhooks for one deal, delivered in any order, each any
//! number of times, each handled while SpotDraft is in any state at or after its event.
//!
//! The relay is modelled as it runs (`relay::webhooks::apply_to_record` with `confirm`): decide on
//! the record as read; if the write would change the status or the contract shown
//! (`sync::needs_confirmation`), read the contract's status and decide again with it
//! (`sync::decide_confirmed`); write the patch. SpotDraft's state at a delivery is its state after
//! some event at or after the delivered one, and moves only forward. Activities that are not status
//! activities are dropped before `decide`, as there. Activity times are non-decreasing, with ties.
//!
//! What holds, and is asserted:
//! - **One contract** (the usual deal): the contract, status, link and execution time end exactly
//!   as in-order delivery leaves them, and the CRM is written at most once per status change, plus
//!   once when a fresh read showed EXECUTED before the execution's own activity arrived (that write
//!   brings the execution time, which the read cannot give).
//! - **Several contracts** (a lost create race, a replacement after a void): the record never shows
//!   a status that is stale for the contract it names, nor another contract's execution time; at
//!   most two more writes per extra contract (moving to an older live one, moving off a voided one).
//!   The final contract is *not* always the in-order one, and should not be: in-order delivery
//!   itself can leave the record on a voided or a newer contract when the older live contract has
//!   no activity after the switch, where another order happens to land on the right one.
//!   Reconciliation (every listed contract, oldest first) settles that.
//! - **`status_at`** is the record's ordering watermark: always one of the deal's activity times,
//!   but not order-independent. It moves only with a visible change (so a write always shows
//!   something new), hence it is the time of whichever delivery first showed the current status.
//!   Making it the latest activity time would cost a write per activity, against the write bound.
//!
//! Seeded and bounded: `SYNC_PROPERTY_SEED` and `SYNC_PROPERTY_CASES` override the defaults; a
//! failure prints the seed and case, the events, the delivery schedule and both records.

mod support;

use spotdraft_crm::crm::ContractFields;
use spotdraft_crm::model::{ContractId, ContractStatus};
use spotdraft_crm::sync::{apply_patch, decide, decide_confirmed, needs_confirmation, Decision, Observation};
use support::Rng;

/// One thing SpotDraft reports about a contract of the deal.
#[derive(Debug, Clone)]
struct Event {
    contract: u64,
    status: ContractStatus,
    at_micros: i64,
    /// Status activities reach `decide`; others (emails, comments) are dropped by the relay.
    status_activity: bool,
}

/// What happens next to a contract in `status`.
fn next_status(rng: &mut Rng, status: &ContractStatus) -> ContractStatus {
    use ContractStatus::*;
    let choices: &[ContractStatus] = match status {
        Draft => &[Redlining, Sign, OnHold, Voided, Draft],
        Redlining => &[Redlining, Sign, OnHold, Voided, Draft],
        Sign => &[Sign, Executed, Redlining, Voided],
        OnHold => &[Redlining, Draft, Voided],
        Executed | Voided => &[],
        Other(_) => &[Draft, Sign],
    };
    if choices.is_empty() {
        return status.clone();
    }
    choices[rng.below(choices.len())].clone()
}

/// A deal's history: usually one contract, sometimes a second one (a create race the relay lost,
/// voided, or a replacement after a void), with non-decreasing activity times.
fn history(rng: &mut Rng) -> Vec<Event> {
    let contracts: Vec<u64> = match rng.below(6) {
        0 => vec![11, 12],
        1 => vec![12, 11, 13],
        _ => vec![11],
    };
    let mut statuses: Vec<Option<ContractStatus>> = vec![None; contracts.len()];
    let mut events = Vec::new();
    let mut at = 1_750_000_000_000_000_i64;
    for _ in 0..2 + rng.below(9) {
        let which = rng.below(contracts.len());
        // Now and then two activities share a timestamp (SpotDraft's are microseconds; a last
        // signature and the execution it causes can coincide).
        if !rng.chance(10) {
            at += 1 + rng.below(5_000_000) as i64;
        }
        let status = match &statuses[which] {
            None if rng.chance(10) => ContractStatus::Other("AWAITING_APPROVAL".into()),
            None => ContractStatus::Draft,
            Some(current) => next_status(rng, current),
        };
        // Once executed or voided, SpotDraft sends no further status activity for the contract
        // (redeliveries of the one it sent are the schedule's duplicates); emails and the like can
        // still come. Before that, an activity may leave the status as it was (one of several
        // signatures, a resend).
        let terminal = statuses[which].as_ref().is_some_and(ContractStatus::is_terminal);
        let status_activity = !terminal && (statuses[which].as_ref() != Some(&status) || rng.chance(50));
        statuses[which] = Some(status.clone());
        events.push(Event { contract: contracts[which], status, at_micros: at, status_activity });
    }
    events
}

fn link(number: u64) -> String {
    format!("https://app.spotdraft.com/contracts/v2/{number}")
}

/// The contract's status in SpotDraft once `events[..=upto]` have happened.
fn status_after(events: &[Event], upto: usize, contract: u64) -> Option<ContractStatus> {
    events.iter().take(upto + 1).rfind(|e| e.contract == contract).map(|e| e.status.clone())
}

/// One delivery of `events[event]`, handled while SpotDraft is in its state after `events[..=now]`.
/// Returns whether the CRM was written.
fn deliver(fields: &mut ContractFields, events: &[Event], event: usize, now: usize) -> bool {
    let e = &events[event];
    if !e.status_activity {
        return false;
    }
    let observation = Observation {
        contract: ContractId::template(e.contract),
        status: e.status.clone(),
        at_micros: e.at_micros,
        link: link(e.contract),
    };
    let mut decision = decide(fields, &observation);
    if needs_confirmation(&decision) {
        let current = status_after(events, now, e.contract).unwrap_or_else(|| e.status.clone());
        decision = decide_confirmed(fields, &observation, &current);
    }
    match decision {
        Decision::Write { patch } => {
            apply_patch(fields, &patch);
            true
        }
        _ => false,
    }
}

/// Each event at least once plus duplicates, shuffled, each with the SpotDraft state it meets.
fn schedule(rng: &mut Rng, events: &[Event]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    for _ in 0..rng.below(events.len() + 1) {
        order.push(rng.below(events.len()));
    }
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut now = 0;
    order
        .into_iter()
        .map(|event| {
            now = now.max(event);
            if rng.chance(30) {
                now += rng.below(events.len() - now);
            }
            (event, now)
        })
        .collect()
}

/// Status changes across the deal's contracts (each contract's first status is one).
fn status_changes(events: &[Event]) -> usize {
    (0..events.len())
        .filter(|&i| {
            let before = events[..i].iter().rfind(|e| e.contract == events[i].contract);
            before.map(|e| &e.status) != Some(&events[i].status)
        })
        .count()
}

fn run(seed: u64, cases: usize) {
    let mut rng = Rng(seed);
    for case in 0..cases {
        let events = history(&mut rng);
        let mut in_order = ContractFields::default();
        let mut in_order_writes = 0;
        for i in 0..events.len() {
            in_order_writes += usize::from(deliver(&mut in_order, &events, i, i));
        }
        let mut contracts: Vec<u64> = events.iter().map(|e| e.contract).collect();
        contracts.sort_unstable();
        contracts.dedup();
        // With several contracts a write may also move the record to another contract without a
        // status change (to an older live one, or off a voided one): at most two per extra contract.
        // And an executed contract may cost one write more: when a fresh read first shows it
        // executed, the execution time is unknown until the execution's own activity arrives.
        let executed = contracts
            .iter()
            .filter(|&&c| status_after(&events, events.len() - 1, c) == Some(ContractStatus::Executed))
            .count();
        let changes = status_changes(&events) + 2 * (contracts.len() - 1) + executed;
        assert!(
            in_order_writes <= changes,
            "seed {seed} case {case}: in order wrote {in_order_writes} > {changes}\n{events:#?}"
        );

        let plan = schedule(&mut rng, &events);
        let mut fields = ContractFields::default();
        let mut writes = 0;
        for &(event, now) in &plan {
            writes += usize::from(deliver(&mut fields, &events, event, now));
        }
        let context = || {
            format!("seed {seed} case {case}\nevents {events:#?}\nschedule (event, state) {plan:?}\nin order {in_order:#?}\ngot {fields:#?}")
        };
        let shown =
            |f: &ContractFields| (f.contract_id.clone(), f.status.clone(), f.link.clone(), f.executed_at.clone());
        let last = events.len() - 1;
        let named = |f: &ContractFields| f.contract_id.as_deref().and_then(ContractId::parse).map(|id| id.number);
        if contracts.len() == 1 {
            assert_eq!(shown(&fields), shown(&in_order), "final fields differ: {}", context());
        }
        // Whatever the order and however many contracts: the record never shows a stale status
        // for the contract it names, nor another contract's execution time.
        let Some(number) = named(&fields) else { panic!("nothing written: {}", context()) };
        assert!(contracts.contains(&number), "{}", context());
        let truth = status_after(&events, last, number);
        assert_eq!(fields.status.as_deref(), truth.as_ref().map(ContractStatus::as_str), "{}", context());
        if fields.executed_at.is_some() {
            assert_eq!(truth, Some(ContractStatus::Executed), "executed_at beside another status: {}", context());
        }
        // status_at is the record's ordering watermark: the time of one of the deal's activities.
        let times: Vec<Option<String>> =
            events.iter().map(|e| spotdraft_crm::time::format_timestamp(e.at_micros)).collect();
        assert!(times.contains(&fields.status_at), "status_at {:?}: {}", fields.status_at, context());
        assert!(writes <= changes, "{writes} writes for {changes} status changes: {}", context());
    }
}

#[test]
fn any_delivery_order_with_duplicates_ends_like_in_order_delivery() {
    let seed = std::env::var("SYNC_PROPERTY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_5A9C);
    let cases = std::env::var("SYNC_PROPERTY_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    run(seed, cases);
}
