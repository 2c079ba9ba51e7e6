//! Deterministic budgets from issue 6 (requests, not speed): how often an open sidebar asks the
//! relay for contracts over an hour, and how a reconcile pass's requests grow.

#[path = "../bench/src/reconcile_scenario.rs"]
mod reconcile_scenario;

#[path = "../bench/src/sidebar_scenario.rs"]
mod sidebar_scenario;

use sidebar_scenario::{contract, contract_loads_in_an_hour};

#[test]
fn an_open_sidebar_on_an_executed_contract_asks_nothing_for_an_hour() {
    assert_eq!(contract_loads_in_an_hour(vec![contract(7, "EXECUTED")], false), Ok(0));
    assert_eq!(contract_loads_in_an_hour(vec![contract(7, "EXECUTED"), contract(8, "VOIDED")], false), Ok(0));
}

#[test]
fn a_hidden_sidebar_asks_nothing_for_an_hour() {
    assert_eq!(contract_loads_in_an_hour(vec![contract(7, "DRAFT")], true), Ok(0));
    assert_eq!(contract_loads_in_an_hour(vec![contract(7, "SIGN")], true), Ok(0));
}

#[test]
fn an_open_sidebar_on_a_live_contract_backs_off_to_the_ceiling() {
    // 15 s, 30 s, 60 s, then every 120 s: 3 + (3600 - 105) / 120 ≈ 32 loads an hour, not 240.
    let loads = contract_loads_in_an_hour(vec![contract(7, "SIGN")], false).expect("simulation");
    assert!((25..=35).contains(&loads), "{loads} loads in an hour");
}

#[test]
fn reconcile_requests_grow_with_changed_contracts_not_deals() {
    let small = reconcile_scenario::run(1_000, 10).expect("1,000 deals reconcile");
    let large = reconcile_scenario::run(20_000, 10).expect("20,000 deals reconcile");
    for outcome in [&small, &large] {
        assert_eq!(outcome.failures, 0);
        assert_eq!(outcome.records_repaired, 10);
        assert_eq!(
            outcome.requests.spotdraft,
            1 + 10,
            "one list page holds 10 changed contracts; each change is confirmed by one status read"
        );
        assert_eq!(outcome.requests.crm_reads, 10, "one read per changed record");
        assert_eq!(outcome.requests.crm_writes, 10, "one write per record that differs");
    }
    assert_eq!(small.requests, large.requests, "20× the deals, same changes: same requests");

    let more_changes = reconcile_scenario::run(20_000, 200).expect("20,000 deals, 200 changed");
    assert_eq!(more_changes.requests.spotdraft, 2 + 200, "pages of 100, and one confirming read per change");
    assert_eq!(more_changes.requests.crm(), 400);
}

#[test]
fn reconcile_with_nothing_changed_lists_once_and_touches_no_record() {
    let outcome = reconcile_scenario::run(5_000, 0).expect("reconcile");
    assert_eq!(outcome.requests.spotdraft, 1);
    assert_eq!(outcome.requests.crm(), 0);
}
