//! Property test: random sequences of book / confirm / cancel / check-in / expire / capacity
//! change / departure cancellation. After every step the seat invariant holds in the database,
//! and the public `available` equals capacity minus the seats on the manifest.

use chrono::Duration;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(the_seat_invariant_holds_after_every_step);

#[derive(Debug, Clone)]
enum Op {
    Book { adults: u8, children: u8 },
    Confirm(usize),
    CancelByTraveler(usize),
    CancelByOperator(usize),
    CheckIn(usize),
    AdvanceMinutes(u16),
    RunExpiryWorker,
    SetCapacity(u8),
    CancelDeparture,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..=3, 0u8..=2).prop_map(|(adults, children)| Op::Book { adults, children }),
        3 => any::<usize>().prop_map(Op::Confirm),
        2 => any::<usize>().prop_map(Op::CancelByTraveler),
        1 => any::<usize>().prop_map(Op::CancelByOperator),
        1 => any::<usize>().prop_map(Op::CheckIn),
        2 => (1u16..=12).prop_map(Op::AdvanceMinutes),
        1 => Just(Op::RunExpiryWorker),
        2 => (0u8..=14).prop_map(Op::SetCapacity),
        1 => Just(Op::CancelDeparture),
    ]
}

struct Booking {
    reference: String,
    token: String,
}

fn check(condition: bool, message: String) -> Result<(), TestCaseError> {
    if condition {
        Ok(())
    } else {
        Err(TestCaseError::fail(message))
    }
}

async fn run_case(app: &TestApp, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (token, _, departure) = app.fresh_departure(10).await;
    let mut bookings: Vec<Booking> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        let pick = |i: usize| (!bookings.is_empty()).then(|| &bookings[i % bookings.len()]);
        let reply = match &op {
            Op::Book { adults, children } => {
                let mut items = Vec::new();
                if *adults > 0 {
                    items.push(json!({"unit": "adult", "quantity": adults}));
                }
                if *children > 0 {
                    items.push(json!({"unit": "child", "quantity": children}));
                }
                let reply = app.hold(&departure, json!(items)).await;
                if reply.status == 201 {
                    bookings.push(Booking {
                        reference: reply.str("reference"),
                        token: reply.str("access_token"),
                    });
                }
                Some(reply)
            }
            Op::Confirm(i) => match pick(*i) {
                Some(b) => Some(
                    app.post_with_booking_token(
                        &format!("/v1/bookings/{}/confirm", b.reference),
                        &b.token,
                    )
                    .await,
                ),
                None => None,
            },
            Op::CancelByTraveler(i) => match pick(*i) {
                Some(b) => Some(
                    app.post_with_booking_token(
                        &format!("/v1/bookings/{}/cancel", b.reference),
                        &b.token,
                    )
                    .await,
                ),
                None => None,
            },
            Op::CancelByOperator(i) => match pick(*i) {
                Some(b) => Some(
                    app.post_as(
                        &token,
                        &format!("/v1/bookings/{}/cancel", b.reference),
                        json!({}),
                    )
                    .await,
                ),
                None => None,
            },
            Op::CheckIn(i) => match pick(*i) {
                Some(b) => Some(
                    app.post_as(
                        &token,
                        &format!("/v1/bookings/{}/check-in", b.reference),
                        json!({}),
                    )
                    .await,
                ),
                None => None,
            },
            Op::AdvanceMinutes(minutes) => {
                app.clock.advance(Duration::minutes(i64::from(*minutes)));
                None
            }
            Op::RunExpiryWorker => {
                berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
                    .await
                    .map_err(|e| TestCaseError::fail(format!("worker failed: {e}")))?;
                None
            }
            Op::SetCapacity(capacity) => Some(
                app.patch_as(
                    &token,
                    &format!("/v1/departures/{departure}"),
                    json!({"capacity": capacity}),
                )
                .await,
            ),
            Op::CancelDeparture => Some(
                app.post_as(
                    &token,
                    &format!("/v1/departures/{departure}/cancel"),
                    json!({}),
                )
                .await,
            ),
        };
        if let Some(reply) = reply {
            let status = reply.status.as_u16();
            check(
                status < 500,
                format!("step {step} {op:?}: {status} {}", reply.text),
            )?;
            let allowed = [
                "validation_failed",
                "sold_out",
                "sales_closed",
                "invalid_transition",
                "hold_expired",
                "capacity_below_taken",
                "departure_cancelled",
            ];
            check(
                status < 400 || allowed.contains(&reply.code()),
                format!("step {step} {op:?}: {}", reply.text),
            )?;
        }

        // Scoped to this case's departure, so shrinking is not misled by an earlier case.
        let violations: Vec<_> = berth::service::check::seat_invariant(&app.store)
            .await
            .expect("check runs")
            .into_iter()
            .filter(|v| v.subject == format!("departure {departure}"))
            .collect();
        check(
            violations.is_empty(),
            format!("step {step} {op:?}: {violations:?}"),
        )?;
        let view = app.get(&format!("/v1/departures/{departure}")).await;
        let manifest = app
            .get_as(&token, &format!("/v1/departures/{departure}/manifest"))
            .await;
        let on_manifest: i64 = manifest.body["bookings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["seats"].as_i64().unwrap())
            .sum();
        let capacity = view.body["capacity"].as_i64().unwrap();
        let available = view.body["available"].as_i64().unwrap();
        check(
            on_manifest <= capacity && available == capacity - on_manifest,
            format!("step {step} {op:?}: capacity {capacity}, available {available}, manifest seats {on_manifest}"),
        )?;
    }
    Ok(())
}

async fn the_seat_invariant_holds_after_every_step(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = std::env::var("BERTH_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let result = runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
        tokio::task::block_in_place(|| handle.block_on(run_case(&app, ops)))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
