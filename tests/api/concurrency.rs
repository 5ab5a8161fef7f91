//! Many clients racing for the last seats: never more sold than exist, never a 5xx.

use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    two_hundred_clients_never_oversell_fifty_seats,
    the_last_seat_is_sold_exactly_once,
    racing_cancels_and_holds_keep_the_counter_exact,
    a_departure_locked_too_long_answers_503_with_retry_after,
);

async fn two_hundred_clients_never_oversell_fifty_seats(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(50).await;

    let mut racers = JoinSet::new();
    for i in 0..200u64 {
        let (app, departure) = (app.clone(), departure.clone());
        let quantity = 1 + (i * 7 + i / 3) % 4;
        racers.spawn(async move {
            let reply = app
                .hold(&departure, json!([{"unit": "adult", "quantity": quantity}]))
                .await;
            (quantity, reply)
        });
    }
    let mut sold = 0;
    let mut smallest_refused = u64::MAX;
    while let Some(joined) = racers.join_next().await {
        let (quantity, reply) = joined.expect("racer finished");
        assert!(
            reply.status.as_u16() < 500,
            "5xx under contention: {}",
            reply.text
        );
        match reply.status.as_u16() {
            201 => sold += quantity,
            409 => {
                assert_eq!(reply.code(), "sold_out", "{}", reply.text);
                assert!(reply.body["error"]["available"].as_u64().unwrap() < quantity);
                smallest_refused = smallest_refused.min(quantity);
            }
            other => panic!("unexpected status {other}: {}", reply.text),
        }
    }
    let available = app.available(&departure).await as u64;
    assert_eq!(
        sold + available,
        50,
        "every seat is either sold or available"
    );
    assert!(sold <= 50);
    assert!(
        available == 0 || available < smallest_refused,
        "{available} left but a request for {smallest_refused} was refused"
    );
    app.assert_seat_invariant().await;
}

async fn the_last_seat_is_sold_exactly_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(1).await;
    let mut racers = JoinSet::new();
    for _ in 0..40 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move {
            app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                .await
        });
    }
    let mut winners = 0;
    while let Some(reply) = racers.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            201 => winners += 1,
            409 => assert_eq!(reply.code(), "sold_out"),
            other => panic!("unexpected status {other}: {}", reply.text),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;
}

async fn racing_cancels_and_holds_keep_the_counter_exact(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(20).await;
    let mut held = Vec::new();
    for _ in 0..10 {
        let reply = app
            .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
            .await;
        reply.expect(201);
        held.push((reply.str("reference"), reply.str("access_token")));
    }
    let mut racers = JoinSet::new();
    // Each booking is cancelled twice at once (exactly one must win) while new holds race in.
    for (reference, token) in held.clone() {
        for _ in 0..2 {
            let (app, reference, token) = (app.clone(), reference.clone(), token.clone());
            racers.spawn(async move {
                let reply = app
                    .post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &token)
                    .await;
                ("cancel", reply)
            });
        }
    }
    for _ in 0..30 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move {
            (
                "hold",
                app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                    .await,
            )
        });
    }
    let (mut cancels, mut holds) = (0, 0);
    while let Some(joined) = racers.join_next().await {
        let (kind, reply) = joined.unwrap();
        match (kind, reply.status.as_u16()) {
            ("cancel", 200) => cancels += 1,
            ("cancel", 409) => assert_eq!(reply.code(), "invalid_transition"),
            ("hold", 201) => holds += 1,
            ("hold", 409) => assert_eq!(reply.code(), "sold_out"),
            (kind, status) => panic!("{kind}: unexpected {status}: {}", reply.text),
        }
    }
    assert_eq!(cancels, 10, "each booking is cancelled exactly once");
    assert_eq!(app.available(&departure).await, 20 - holds);
    app.assert_seat_invariant().await;
}

async fn a_departure_locked_too_long_answers_503_with_retry_after(backend: Backend) {
    let settings = [("database_lock_timeout_seconds", json!(1))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    // Another client holds the lock a booking needs, longer than berth waits and retries.
    let blocker = app.lock_departure_elsewhere(&departure).await;
    let reply = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    reply.expect_error(503, "busy");
    assert_eq!(reply.headers["retry-after"], "1");
    // Reads are not blocked, and nothing was taken.
    assert_eq!(app.available(&departure).await, 10);
    drop(blocker);
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    app.assert_seat_invariant().await;
}
