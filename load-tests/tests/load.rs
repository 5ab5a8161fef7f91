//! The CI-sized load test: berth in-process on both backends, the tool's `run` against it, and
//! proof that the verifier catches what it must. No test here asserts a duration.

mod support;

use std::time::Duration;

use berth_load::api::Api;
use berth_load::ledger::{Entry, State};
use berth_load::{Config, RunResult, Scenario};
use support::{Backend, Berth};

async fn small_rush(berth: &Berth, capacity: u32, requests: u64) -> RunResult {
    let mut config = Config::new(&berth.base, Some(berth.token.clone()), Scenario::Rush);
    config.capacity = Some(capacity);
    config.requests = requests;
    config.concurrency = 32;
    config.max_quantity = 4;
    config.seed = 7;
    // A bound so the test always ends, far above what 500 requests take.
    config.duration = Duration::from_secs(120);
    berth_load::run(&config).await.expect("the run happens")
}

fn api(berth: &Berth) -> Api {
    Api::new(
        &berth.base,
        Some(berth.token.clone()),
        Duration::from_secs(30),
        4,
    )
    .unwrap()
}

/// 500 clients' worth of requests race for 50 seats: every seat is sold exactly once.
async fn a_rush_sells_every_seat_exactly_once(backend: Backend) {
    let Some(berth) = Berth::spawn(backend).await else {
        return;
    };
    let result = small_rush(&berth, 50, 500).await;
    let report = berth_load::report::text(&result);
    assert!(result.passed, "the run failed:\n{report}");
    assert_eq!(result.summary.server_errors, 0, "{report}");
    assert_eq!(result.summary.requests, 500, "{report}");
    let verification = result.verification.as_ref().expect("verified");
    assert!(verification.violations.is_empty(), "{report}");
    let departure = &verification.departures[0];
    assert_eq!(departure.capacity, 50);
    assert_eq!(departure.sold, 50, "{report}");
    assert_eq!(departure.manifest_seats, 50, "{report}");
    let ledger = departure
        .ledger
        .as_ref()
        .expect("checked against the ledger");
    assert_eq!(ledger.booked_seats, 50, "{report}");
    assert_eq!(result.ledger.entries.len() as u64, result.summary.bookings);
    // Only 201s and sold-out 409s.
    let statuses: Vec<&str> = result.summary.statuses.keys().map(String::as_str).collect();
    assert_eq!(statuses, ["201", "409"], "{report}");
    assert!(
        result.summary.errors.keys().all(|code| code == "sold_out"),
        "{report}"
    );
    // And berth's own audit agrees.
    let violations = berth::service::check::seat_invariant(&berth.store)
        .await
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
    // The HTML report is self-contained.
    let html = berth_load::report::html(&result);
    assert!(html.contains("<svg") && !html.contains("http://cdn") && !html.contains("<script"));
}

/// A seat count changed behind berth's back no longer matches the manifest: the verifier says so.
async fn the_verifier_catches_a_corrupted_seat_count(backend: Backend) {
    let Some(berth) = Berth::spawn(backend).await else {
        return;
    };
    let result = small_rush(&berth, 10, 60).await;
    assert!(result.passed, "{}", berth_load::report::text(&result));
    let fixtures = result.fixtures.as_ref().unwrap();
    let id = &fixtures.departures[0].id;
    berth
        .execute_sql(&format!(
            "UPDATE departures SET seats_taken = seats_taken - 1 WHERE id = '{id}'"
        ))
        .await;
    let verification =
        berth_load::verify::verify(&api(&berth), fixtures, Some(&result.ledger), None)
            .await
            .unwrap();
    assert!(!verification.passed);
    assert!(
        verification
            .violations
            .iter()
            .any(|v| v.contains("but capacity 10 - available")),
        "{:?}",
        verification.violations
    );
}

/// A ledger that disagrees with berth (a 201 berth never gave, a 201 the tool forgot) fails.
async fn the_verifier_catches_a_ledger_that_disagrees(backend: Backend) {
    let Some(berth) = Berth::spawn(backend).await else {
        return;
    };
    let result = small_rush(&berth, 10, 60).await;
    assert!(result.passed, "{}", berth_load::report::text(&result));
    let fixtures = result.fixtures.as_ref().unwrap();
    let api = api(&berth);

    let mut invented = result.ledger.clone();
    invented.entries.push(Entry {
        reference: "BKZZZZZZZZ".to_owned(),
        departure_id: fixtures.departures[0].id.clone(),
        seats: 3,
        state: State::Held,
        uncertain: false,
    });
    let verification = berth_load::verify::verify(&api, fixtures, Some(&invented), None)
        .await
        .unwrap();
    assert!(!verification.passed);
    assert!(
        verification
            .violations
            .iter()
            .any(|v| v.contains("BKZZZZZZZZ")),
        "{:?}",
        verification.violations
    );

    let mut forgotten = result.ledger.clone();
    let dropped = forgotten.entries.pop().expect("at least one booking");
    let verification = berth_load::verify::verify(&api, fixtures, Some(&forgotten), None)
        .await
        .unwrap();
    assert!(!verification.passed);
    assert!(
        verification
            .violations
            .iter()
            .any(|v| v.contains(&dropped.reference) && v.contains("never answered 201")),
        "{:?}",
        verification.violations
    );

    // Without a ledger, a wrong total reported by another tool fails too.
    let verification = berth_load::verify::verify(&api, fixtures, None, Some(9))
        .await
        .unwrap();
    assert!(!verification.passed, "{:?}", verification);
    let verification = berth_load::verify::verify(&api, fixtures, None, Some(10))
        .await
        .unwrap();
    assert!(verification.passed, "{:?}", verification.violations);
}

/// Reads, holds, confirms and cancels at a set rate: the ledger still balances.
async fn mixed_traffic_balances(backend: Backend) {
    let Some(berth) = Berth::spawn(backend).await else {
        return;
    };
    let mut config = Config::new(&berth.base, Some(berth.token.clone()), Scenario::Mixed);
    config.rate = 150.0;
    config.requests = 300;
    config.departures = Some(3);
    config.capacity = Some(20);
    config.seed = 11;
    config.duration = Duration::from_secs(60);
    let result = berth_load::run(&config).await.expect("the run happens");
    let report = berth_load::report::text(&result);
    assert!(result.passed, "{report}");
    assert!(result.summary.kinds.contains_key("confirm"), "{report}");
    assert!(result.summary.kinds.contains_key("cancel"), "{report}");
    assert!(result
        .ledger
        .entries
        .iter()
        .any(|e| e.state == State::Cancelled));
}

/// Each booking sent three times at once with one Idempotency-Key, then once more: one booking
/// per key, the late copy replays it, and the seats still add up.
async fn every_idempotency_key_makes_one_booking(backend: Backend) {
    let Some(berth) = Berth::spawn(backend).await else {
        return;
    };
    let mut config = Config::new(&berth.base, Some(berth.token.clone()), Scenario::Retry);
    config.capacity = Some(30);
    config.requests = 100;
    config.copies = 3;
    config.seed = 5;
    config.duration = Duration::from_secs(120);
    let result = berth_load::run(&config).await.expect("the run happens");
    let report = berth_load::report::text(&result);
    assert!(result.passed, "{report}");
    assert_eq!(result.ledger.keys, 100, "{report}");
    assert!(result.ledger.idempotency_violations.is_empty(), "{report}");
    assert_eq!(
        result.ledger.keys_booked,
        result.ledger.entries.len() as u64
    );
    let verification = result.verification.as_ref().unwrap();
    assert_eq!(verification.departures[0].manifest_seats, 30, "{report}");
    let replays = &result.summary.kinds["hold_replay"];
    assert_eq!(replays.count, 100, "{report}");
}

/// Copies of one key answered with two different bookings are caught.
#[test]
fn a_key_answered_with_two_bookings_is_a_violation() {
    use berth_load::api::Reply;
    let created = |reference: &str, replayed: bool| -> berth_load::api::Outcome {
        Ok(Reply {
            status: 201,
            code: None,
            body: serde_json::json!({"reference": reference, "seats": 2}),
            replayed,
        })
    };
    let judge = berth_load::scenario::judge_key;
    let fine = judge(
        "k",
        &[created("BK1", false), created("BK1", true)],
        &created("BK1", true),
    );
    assert!(fine.violation.is_none());
    assert_eq!(fine.bookings.len(), 1);
    let twice = judge(
        "k",
        &[created("BK1", false), created("BK2", false)],
        &created("BK1", true),
    );
    assert!(twice.violation.unwrap().contains("produced 2 bookings"));
    let not_replayed = judge("k", &[created("BK1", false)], &created("BK1", false));
    assert!(not_replayed
        .violation
        .unwrap()
        .contains("Idempotent-Replayed"));
}

/// Each read path, briefly: every answer 200 and what it must say, the bookings made for the
/// manifest and the search verified like any run's.
async fn the_read_paths_answer_what_they_must(backend: Backend) {
    let Some(berth) = Berth::spawn(backend).await else {
        return;
    };
    for scenario in [
        Scenario::Availability,
        Scenario::Manifest,
        Scenario::Revenue,
        Scenario::Search,
    ] {
        let mut config = Config::new(&berth.base, Some(berth.token.clone()), scenario);
        config.requests = 20;
        config.concurrency = 4;
        config.departures = Some(5);
        config.bookings = 12;
        config.max_quantity = 1;
        config.duration = Duration::from_secs(60);
        let result = berth_load::run(&config).await.expect("the run happens");
        let report = berth_load::report::text(&result);
        assert!(result.passed, "{}: {report}", scenario.as_str());
        assert_eq!(result.summary.kinds["read"].count, 20, "{report}");
        assert_eq!(
            result.summary.kinds["read"].statuses.get("200"),
            Some(&20),
            "{report}"
        );
        if scenario == Scenario::Manifest {
            let verification = result.verification.as_ref().expect("verified");
            assert_eq!(verification.departures[0].manifest_seats, 12, "{report}");
        }
    }
}

/// A read answered 200 with the wrong list, or out of order, is caught; RFC 3339 times without a
/// fraction are ordered as instants, not as text.
#[test]
fn a_wrong_read_answer_is_caught() {
    use berth_load::scenario::{judge, ReadCheck};
    use serde_json::json;
    let made: std::collections::BTreeSet<String> = ["AAA", "BBB"].map(str::to_owned).into();
    let manifest = ReadCheck::Manifest(made);
    let both = json!({"bookings": [{"reference": "BBB"}, {"reference": "AAA"}]});
    assert_eq!(judge(&manifest, &both), None);
    let one = json!({"bookings": [{"reference": "AAA"}]});
    assert!(judge(&manifest, &one)
        .unwrap()
        .contains("listed 1 bookings"));

    let search = ReadCheck::Search {
        limit: 2,
        at_least: 1,
    };
    let newest_first = json!({"bookings": [
        {"created_at": "2026-01-01T10:00:01.500Z"}, {"created_at": "2026-01-01T10:00:01Z"}]});
    assert_eq!(judge(&search, &newest_first), None);
    let oldest_first = json!({"bookings": [
        {"created_at": "2026-01-01T10:00:01Z"}, {"created_at": "2026-01-01T10:00:01.500Z"}]});
    assert!(judge(&search, &oldest_first).is_some());
    let empty = json!({"bookings": []});
    assert!(judge(&search, &empty).is_some());

    let departures = ReadCheck::Departures(vec!["D1".into(), "D2".into()]);
    let swapped = json!({"departures": [{"id": "D2"}, {"id": "D1"}]});
    assert!(judge(&departures, &swapped).is_some());
}

on_both_backends!(
    a_rush_sells_every_seat_exactly_once,
    the_verifier_catches_a_corrupted_seat_count,
    the_verifier_catches_a_ledger_that_disagrees,
    mixed_traffic_balances,
    every_idempotency_key_makes_one_booking,
    the_read_paths_answer_what_they_must,
);
