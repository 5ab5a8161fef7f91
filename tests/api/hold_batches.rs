//! Group commit per departure (issue 18): holds of one departure that arrive while a
//! transaction of it is in flight are written together, their seats taken by one guarded
//! `UPDATE`, and committed once. Each test makes the batch deterministic by holding, from
//! another connection, the lock the first batch needs until every hold waits for a batch.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::wait::eventually;
use crate::support::webhook_receiver::WebhookReceiver;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    holds_arriving_together_commit_in_one_transaction,
    a_batch_that_does_not_fit_is_sold_one_hold_at_a_time,
    a_hold_refused_in_a_batch_does_not_fail_the_others,
    batched_holds_replay_under_their_idempotency_keys,
    batching_can_be_turned_off,
    each_batched_hold_is_its_own_webhook_event,
);

/// Traveler `i`'s hold of one adult seat for `email`, optionally under an idempotency key,
/// through the public API from an address of its own (forwarded by the test client, which the
/// hold-limit test trusts as a proxy).
async fn hold_one(
    app: &TestApp,
    departure: &str,
    i: usize,
    email: &str,
    key: Option<&str>,
) -> Reply {
    let mut request = app
        .client
        .post(format!("{}/v1/bookings", app.base))
        .header("X-Forwarded-For", format!("203.0.113.{}", i + 1))
        .json(&json!({
            "departure_id": departure,
            "items": [{"unit": "adult", "quantity": 1}],
            "customer": {"name": "Grace Hopper", "email": email}
        }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    TestApp::reply(request).await
}

/// A lock wait long enough for the holds to queue on a busy machine: the first batch waits for
/// the test's lock instead of failing.
fn patient() -> Vec<(&'static str, Value)> {
    vec![("database_lock_timeout_seconds", json!(30))]
}

/// Sends `count` one-seat holds (traveler `i` as `email(i)`) while another connection holds the
/// lock the first batch needs; lets go once every hold waits, in that first batch (whatever had
/// queued when its task started: at least one hold) or queued behind it, and returns the
/// replies in the order of `i`.
async fn rush_behind_a_lock(
    app: &Arc<TestApp>,
    departure: &str,
    count: usize,
    email: fn(usize) -> String,
    key: fn(usize) -> Option<String>,
) -> Vec<Reply> {
    let blocker = app.lock_departure_elsewhere(departure).await;
    let mut racers = JoinSet::new();
    for i in 0..count {
        let (app, departure) = (app.clone(), departure.to_owned());
        racers.spawn(async move {
            let reply = hold_one(&app, &departure, i, &email(i), key(i).as_deref()).await;
            (i, reply)
        });
    }
    eventually(
        "every hold waits for a batch",
        Duration::from_secs(20),
        || async { (app.store.metrics().holds_queued.get() == count as i64).then_some(()) },
    )
    .await;
    drop(blocker);
    let mut replies: Vec<Option<Reply>> = (0..count).map(|_| None).collect();
    while let Some(joined) = racers.join_next().await {
        let (i, reply) = joined.expect("racer finished");
        assert!(
            reply.status.as_u16() < 500,
            "5xx in a batch: {}",
            reply.text
        );
        replies[i] = Some(reply);
    }
    assert_eq!(
        app.store.metrics().holds_queued.get(),
        0,
        "nothing left queued"
    );
    replies
        .into_iter()
        .map(|r| r.expect("every reply"))
        .collect()
}

fn traveler(i: usize) -> String {
    format!("traveler{i}@example.com")
}

fn no_key(_: usize) -> Option<String> {
    None
}

/// (commits, holds committed) of batches so far.
fn batches(app: &TestApp) -> (u64, f64) {
    let size = &app.store.metrics().hold_batch_size;
    (size.get_sample_count(), size.get_sample_sum())
}

async fn holds_arriving_together_commit_in_one_transaction(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &patient()).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(50).await;

    let replies = rush_behind_a_lock(&app, &departure, 20, traveler, no_key).await;
    let mut references: Vec<String> = replies
        .iter()
        .map(|reply| {
            reply.expect(201);
            reply.str("reference")
        })
        .collect();
    // The first batch held what had queued when its task started (on a quiet machine, the
    // first hold alone); all the others queued behind it and shared the next commit.
    let (commits, held) = batches(&app);
    assert_eq!(held, 20.0, "every hold committed in a batch");
    assert!(commits <= 2, "20 holds in {commits} commits");
    references.sort();
    references.dedup();
    assert_eq!(references.len(), 20, "each hold is its own booking");
    assert_eq!(app.available(&departure).await, 30);
    let held = app
        .query_i64(&format!(
            "SELECT COUNT(*) FROM bookings WHERE departure_id = '{departure}' AND status = 'held'"
        ))
        .await;
    assert_eq!(held, 20);
    app.assert_seat_invariant().await;
}

async fn a_batch_that_does_not_fit_is_sold_one_hold_at_a_time(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &patient()).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(10).await;

    // 30 travelers for 10 seats: the first batch takes what had queued when its task started;
    // the batch behind it does not fit, so it is rolled back and each hold runs alone in the
    // classic order.
    let replies = rush_behind_a_lock(&app, &departure, 30, traveler, no_key).await;
    let sold = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(sold, 10, "every seat sold, none twice");
    for reply in replies.iter().filter(|r| r.status.as_u16() != 201) {
        reply.expect_error(409, "sold_out");
        assert_eq!(reply.body["error"]["available"], 0, "{}", reply.text);
    }
    let split = app.store.metrics().hold_batches_split.get();
    let (committed, held_in_batches) = batches(&app);
    assert!(split >= 1, "the batch that did not fit was split");
    assert_eq!(committed + split, 2, "two batches, each committed or split");
    assert!(held_in_batches <= 10.0);
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;
}

async fn a_hold_refused_in_a_batch_does_not_fail_the_others(backend: Backend) {
    let mut settings = patient();
    settings.push(("hold_limits", json!("departure=2,overall=32")));
    settings.push(("trusted_proxies", json!("127.0.0.1")));
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(50).await;

    // Travelers 0–3 share one email, whose limit is two seats on a departure; 4–11 differ.
    // Each comes from its own address, so only the email's limit binds.
    let email = |i: usize| {
        if i < 4 {
            "shared@example.com".to_owned()
        } else {
            traveler(i)
        }
    };
    let replies = rush_behind_a_lock(&app, &departure, 12, email, no_key).await;
    let refused: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status.as_u16() != 201)
        .collect();
    assert_eq!(
        refused.len(),
        2,
        "two of the shared email's four holds pass its limit"
    );
    for reply in refused {
        reply.expect_error(429, "hold_limit_reached");
    }
    for reply in &replies[4..] {
        reply.expect(201);
    }
    assert_eq!(app.available(&departure).await, 40);
    app.assert_seat_invariant().await;
}

async fn batched_holds_replay_under_their_idempotency_keys(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(50).await;

    let key = |i: usize| Some(format!("batched-hold-{i}"));
    // The keys' claims are writes, which would queue behind a test's lock before they reach a
    // batch (on SQLite), so here the holds simply race: every one goes through a batch.
    let mut racers = JoinSet::new();
    for i in 0..8 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move {
            (
                i,
                hold_one(&app, &departure, i, &traveler(i), key(i).as_deref()).await,
            )
        });
    }
    let mut replies = racers.join_all().await;
    replies.sort_by_key(|(i, _)| *i);
    let replies: Vec<Reply> = replies.into_iter().map(|(_, reply)| reply).collect();
    assert_eq!(batches(&app).1, 8.0, "all eight committed through batches");
    for (i, first) in replies.iter().enumerate() {
        first.expect(201);
        let again = hold_one(&app, &departure, i, &traveler(i), key(i).as_deref()).await;
        again.expect(201);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.str("reference"), first.str("reference"));
    }
    assert_eq!(
        app.available(&departure).await,
        42,
        "a replay takes no seat"
    );
    app.assert_seat_invariant().await;
}

async fn batching_can_be_turned_off(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("hold_batch", json!(1))]).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(50).await;

    let mut racers = JoinSet::new();
    for i in 0..20 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move { hold_one(&app, &departure, i, &traveler(i), None).await });
    }
    while let Some(joined) = racers.join_next().await {
        joined.expect("racer finished").expect(201);
    }
    assert_eq!(batches(&app), (0, 0.0), "no hold went through a batch");
    assert_eq!(app.available(&departure).await, 30);
    app.assert_seat_invariant().await;
}

/// Holds written together (one multi-row `INSERT` for the batch) are still one `booking.held`
/// event each, and their departure's availability is marked changed, in the batch's commit.
async fn each_batched_hold_is_its_own_webhook_event(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &patient()).await else {
        return;
    };
    let app = Arc::new(app);
    let (token, _, departure) = app.fresh_departure(50).await;
    let receiver = WebhookReceiver::start(vec![]).await;
    app.post_as(
        &token,
        "/v1/webhook-endpoints",
        json!({"url": receiver.url("/hook"), "event_types": ["booking.held", "availability.changed"]}),
    )
    .await
    .expect(201);

    let replies = rush_behind_a_lock(&app, &departure, 12, traveler, no_key).await;
    let (commits, held) = batches(&app);
    assert_eq!(held, 12.0);
    assert!(commits <= 2, "12 holds in {commits} commits");
    let mut booked: Vec<String> = app
        .query_strings(&format!(
            "SELECT id FROM bookings WHERE departure_id = '{departure}'"
        ))
        .await;
    booked.sort();
    let mut events = app
        .query_strings("SELECT subject_id FROM webhook_events WHERE type = 'booking.held'")
        .await;
    events.sort();
    assert_eq!(events, booked, "one booking.held per hold: {replies:?}");
    let marks = app
        .query_i64(&format!(
            "SELECT COUNT(*) FROM webhook_availability_marks WHERE departure_id = '{departure}'"
        ))
        .await;
    assert!(marks >= 1, "availability marked changed");
}
