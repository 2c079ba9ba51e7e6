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
use spotdraft_crm::sync::{
    apply_patch, decide, decide_confirmed, decide_from_read, needs_confirmation, Decision, Observation,
};
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

// ---- With creates and reconciliation interleaved ----
//
// The relay writes the record from three places under one rule, and any interleaving of them must
// end right:
// - **create** (`relay::api::write_through`): the status a create or a lookup answered, read at some
//   SpotDraft state, stamped with the contract's creation time (SpotDraft's), applied as a read;
// - **webhooks**, as above;
// - **reconcile** (`relay::reconcile::repair`): every contract listed at some state, oldest first,
//   ordered just after what the record shows, a change confirmed by a status read at a later state.
// Deliveries may be lost here (one in five), as webhooks are.
// What holds: after everything, and a last reconcile pass once SpotDraft is quiet, the record shows
// the deal's oldest live contract (or, with none live, one of its contracts) with its final status,
// never an execution time beside another status, and an execution time only from the execution's
// own activity.

/// The contract's creation time: its first event's.
fn created_at(events: &[Event], contract: u64) -> Option<i64> {
    events.iter().find(|e| e.contract == contract).map(|e| e.at_micros)
}

fn write(fields: &mut ContractFields, decision: Decision) {
    if let Decision::Write { patch } = decision {
        apply_patch(fields, &patch);
    }
}

/// The write after a create: the lookup read the contract at state `now`.
fn create_write(fields: &mut ContractFields, events: &[Event], contract: u64, now: usize) {
    let (Some(status), Some(created)) = (status_after(events, now, contract), created_at(events, contract)) else {
        return;
    };
    let observation =
        Observation { contract: ContractId::template(contract), status, at_micros: created, link: link(contract) };
    write(fields, decide_from_read(fields, &observation));
}

/// One reconcile pass listing SpotDraft at state `now`, its confirming reads at state `read`.
fn reconcile(fields: &mut ContractFields, events: &[Event], now: usize, read: usize) {
    let mut listed: Vec<u64> = events.iter().take(now + 1).map(|e| e.contract).collect();
    listed.sort_unstable();
    listed.dedup();
    for contract in listed {
        let (Some(status), Some(created)) = (status_after(events, now, contract), created_at(events, contract)) else {
            continue;
        };
        let shown_at = fields.status_at.as_deref().and_then(spotdraft_crm::time::parse_timestamp);
        let at_micros = shown_at.map_or(created, |shown| (shown + 1).max(created));
        let mut observation =
            Observation { contract: ContractId::template(contract), status, at_micros, link: link(contract) };
        let mut decision = decide_from_read(fields, &observation);
        if needs_confirmation(&decision) {
            observation.status = status_after(events, read, contract).unwrap_or(observation.status);
            decision = decide_from_read(fields, &observation);
        }
        write(fields, decision);
    }
}

fn run_with_creates_and_reconciles(seed: u64, cases: usize) {
    let mut rng = Rng(seed);
    for case in 0..cases {
        let events = history(&mut rng);
        let last = events.len() - 1;
        let mut contracts: Vec<u64> = events.iter().map(|e| e.contract).collect();
        contracts.sort_unstable();
        contracts.dedup();
        // Deliveries as before, with a create write for each contract and reconcile passes slipped
        // in at random points, each meeting SpotDraft in some state at or after the latest so far.
        // Some deliveries are lost altogether: reconciliation must make up for them.
        let mut steps: Vec<(u8, usize, usize)> = Vec::new();
        for (event, now) in schedule(&mut rng, &events) {
            if !rng.chance(20) {
                steps.push((0, event, now));
            }
        }
        for &contract in &contracts {
            let first = events.iter().position(|e| e.contract == contract).unwrap_or(0);
            let at = first + rng.below(events.len() - first);
            let position = rng.below(steps.len() + 1);
            steps.insert(position, (1, contract as usize, at));
        }
        for _ in 0..rng.below(3) {
            let now = rng.below(events.len());
            let position = rng.below(steps.len() + 1);
            steps.insert(position, (2, now, now + rng.below(events.len() - now)));
        }
        let mut fields = ContractFields::default();
        for &(kind, a, b) in &steps {
            match kind {
                0 => {
                    deliver(&mut fields, &events, a, b);
                }
                1 => create_write(&mut fields, &events, a as u64, b),
                _ => reconcile(&mut fields, &events, a, b),
            }
        }
        // SpotDraft is quiet now: one last pass settles the record.
        reconcile(&mut fields, &events, last, last);
        let context =
            || format!("seed {seed} case {case}\nevents {events:#?}\nsteps (kind, a, b) {steps:?}\ngot {fields:#?}");
        let live: Vec<u64> = contracts
            .iter()
            .copied()
            .filter(|&c| status_after(&events, last, c).is_some_and(|s| s.is_live()))
            .collect();
        let Some(number) = fields.contract_id.as_deref().and_then(ContractId::parse).map(|id| id.number) else {
            panic!("nothing written: {}", context());
        };
        if let Some(oldest) = live.first() {
            assert_eq!(number, *oldest, "the record follows the oldest live contract: {}", context());
        }
        let truth = status_after(&events, last, number);
        assert_eq!(fields.status.as_deref(), truth.as_ref().map(ContractStatus::as_str), "{}", context());
        if let Some(executed_at) = &fields.executed_at {
            assert_eq!(truth, Some(ContractStatus::Executed), "executed_at beside another status: {}", context());
            let execution_times: Vec<Option<String>> = events
                .iter()
                .filter(|e| e.contract == number && e.status == ContractStatus::Executed && e.status_activity)
                .map(|e| spotdraft_crm::time::format_timestamp(e.at_micros))
                .collect();
            assert!(
                execution_times.contains(&Some(executed_at.clone())),
                "an execution time that is not the execution's: {}",
                context()
            );
        }
    }
}

#[test]
fn creates_webhooks_and_reconciles_in_any_interleaving_end_on_spotdrafts_state() {
    let seed = std::env::var("SYNC_PROPERTY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0xC0FF_EE5A);
    let cases = std::env::var("SYNC_PROPERTY_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    run_with_creates_and_reconciles(seed, cases);
}
