//! `Idempotency-Key` on mutating endpoints: replay, reuse, concurrent duplicates, failures that
//! do not poison a key, and expiry.

use std::sync::Arc;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::fake_stripe::FakeStripe;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    a_replayed_booking_request_books_once_and_answers_the_same,
    a_key_reused_for_a_different_request_is_refused,
    fifty_concurrent_retries_make_one_booking,
    operator_endpoints_replay_instead_of_acting_twice,
    a_failed_request_does_not_poison_its_key,
    keys_expire_and_are_purged,
    keys_are_scoped_per_operator,
    a_traveler_key_replays_only_to_the_same_token,
    a_claim_taken_over_by_a_retry_cannot_complete_or_release,
    stored_responses_keep_no_token_secret_or_contact_in_clear,
);

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("Idempotency-Key", key);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::reply(request).await
}

fn hold_body(departure: &str, quantity: u32) -> Value {
    json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": quantity}],
           "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}})
}

async fn a_replayed_booking_request_books_once_and_answers_the_same(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let first = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "order-1",
        None,
        Some(hold_body(&departure, 3)),
    )
    .await;
    first.expect(201);
    assert!(first.headers.get("idempotent-replayed").is_none());
    // The same request with its keys in another order and other whitespace is the same request.
    let reordered: Value = serde_json::from_str(&format!(
        r#"{{"customer": {{"email": "ada@example.com", "name": "Ada Lovelace"}}, "items": [{{"quantity": 3, "unit": "adult"}}], "departure_id": "{departure}"}}"#
    ))
    .unwrap();
    let again = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "order-1",
        None,
        Some(reordered),
    )
    .await;
    again.expect(201);
    assert_eq!(
        again.text, first.text,
        "same status, same body (access token included)"
    );
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(app.available(&departure).await, 7, "booked once");
    app.assert_seat_invariant().await;

    // A request without a key is not deduplicated.
    app.hold(&departure, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);
    assert_eq!(app.available(&departure).await, 4);

    // Keys must be printable ASCII, 1–255 characters.
    let bad = send(
        &app,
        Method::POST,
        "/v1/bookings",
        &"k".repeat(256),
        None,
        Some(hold_body(&departure, 1)),
    )
    .await;
    bad.expect_error(400, "invalid_idempotency_key");
    assert_eq!(app.available(&departure).await, 4);
}

async fn a_key_reused_for_a_different_request_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    send(
        &app,
        Method::POST,
        "/v1/bookings",
        "k-1",
        None,
        Some(hold_body(&departure, 2)),
    )
    .await
    .expect(201);
    send(
        &app,
        Method::POST,
        "/v1/bookings",
        "k-1",
        None,
        Some(hold_body(&departure, 3)),
    )
    .await
    .expect_error(422, "idempotency_key_reused");
    assert_eq!(app.available(&departure).await, 8);
    // 4xx answers are stored too: the retry of a refused request is refused the same way.
    let refused = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "k-2",
        None,
        Some(hold_body(&departure, 9)),
    )
    .await;
    refused.expect_error(422, "validation_failed");
    let replay = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "k-2",
        None,
        Some(hold_body(&departure, 9)),
    )
    .await;
    assert_eq!(
        (replay.status, replay.text.as_str()),
        (refused.status, refused.text.as_str())
    );
}

async fn fifty_concurrent_retries_make_one_booking(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(10).await;
    let mut retries = JoinSet::new();
    for _ in 0..50 {
        let (app, departure) = (app.clone(), departure.clone());
        retries.spawn(async move {
            send(
                &app,
                Method::POST,
                "/v1/bookings",
                "double-click",
                None,
                Some(hold_body(&departure, 2)),
            )
            .await
        });
    }
    // What the README promises: racing copies wait for the first and replay its answer.
    let mut replies = Vec::new();
    while let Some(reply) = retries.join_next().await {
        replies.push(reply.unwrap());
    }
    for reply in &replies {
        assert_eq!(
            reply.status, 201,
            "every copy is answered 201: {}",
            reply.text
        );
        assert_eq!(reply.text, replies[0].text, "every copy gets the same body");
    }
    let replayed = |reply: &&Reply| {
        reply
            .headers
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true")
    };
    assert_eq!(
        replies.iter().filter(replayed).count(),
        49,
        "all but the first are replays"
    );
    let last = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "double-click",
        None,
        Some(hold_body(&departure, 2)),
    )
    .await;
    assert_eq!(last.text, replies[0].text);
    assert_eq!(bookings_stored(&app).await, 1, "exactly one booking");
    assert_eq!(
        app.available(&departure).await,
        8,
        "one booking of two seats"
    );
    app.assert_seat_invariant().await;
}

/// Bookings in the database, counted directly.
async fn bookings_stored(app: &TestApp) -> i64 {
    use sqlx::Connection;
    let sql = "SELECT COUNT(*) FROM bookings";
    if app.backend == Backend::Sqlite {
        let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::MySqlConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }
}

async fn operator_endpoints_replay_instead_of_acting_twice(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(10).await;
    let tour_body = json!({"name": "Night walk", "timezone": "UTC", "duration_minutes": 60, "currency": "EUR",
                           "units": [{"code": "adult", "label": "Adult", "price": 1000}]});
    let a = send(
        &app,
        Method::POST,
        "/v1/tours",
        "tour-1",
        Some(&token),
        Some(tour_body.clone()),
    )
    .await;
    let b = send(
        &app,
        Method::POST,
        "/v1/tours",
        "tour-1",
        Some(&token),
        Some(tour_body),
    )
    .await;
    a.expect(201);
    assert_eq!(a.text, b.text);
    assert_eq!(
        app.get_as(&token, "/v1/tours")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2,
        "one new tour, not two"
    );

    let path = format!("/v1/tours/{tour}/departures");
    let body =
        json!({"starts_at": (app.clock.now() + Duration::days(3)).to_rfc3339(), "capacity": 4});
    let first = send(
        &app,
        Method::POST,
        &path,
        "dep-1",
        Some(&token),
        Some(body.clone()),
    )
    .await;
    let second = send(&app, Method::POST, &path, "dep-1", Some(&token), Some(body)).await;
    assert_eq!(
        (first.status.as_u16(), first.text.clone()),
        (201, second.text)
    );

    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    let confirm = format!("/v1/bookings/{}/confirm", hold.str("reference"));
    let with_token = |key: &'static str| {
        app.client
            .post(format!("{}{confirm}", app.base))
            .header("X-Booking-Token", hold.str("access_token"))
            .header("Idempotency-Key", key)
    };
    let confirmed = TestApp::reply(with_token("confirm-1")).await;
    confirmed.expect(200);
    let replayed = TestApp::reply(with_token("confirm-1")).await;
    assert_eq!(
        (replayed.status.as_u16(), replayed.text.as_str()),
        (200, confirmed.text.as_str()),
        "a replay, not a 409"
    );
    TestApp::reply(with_token("confirm-2"))
        .await
        .expect_error(409, "invalid_transition");

    let cancel = format!("/v1/departures/{departure}/cancel");
    let once = send(&app, Method::POST, &cancel, "cancel-1", Some(&token), None).await;
    let twice = send(&app, Method::POST, &cancel, "cancel-1", Some(&token), None).await;
    once.expect(200);
    assert_eq!(once.text, twice.text);
    app.assert_seat_invariant().await;
}

async fn a_failed_request_does_not_poison_its_key(backend: Backend) {
    let Some(app) =
        TestApp::spawn_with(backend, &[("database_lock_timeout_seconds", json!(1))]).await
    else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let blocker = app.lock_departure_elsewhere(&departure).await;
    // On SQLite even the claim cannot be written while another process holds the write lock.
    let failed = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "retry-me",
        None,
        Some(hold_body(&departure, 1)),
    )
    .await;
    failed.expect_error(503, "busy");
    drop(blocker);
    let retried = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "retry-me",
        None,
        Some(hold_body(&departure, 1)),
    )
    .await;
    retried.expect(201);
    assert!(
        retried.headers.get("idempotent-replayed").is_none(),
        "the retry ran again"
    );
    assert_eq!(app.available(&departure).await, 9);
}

async fn keys_expire_and_are_purged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    send(
        &app,
        Method::POST,
        "/v1/bookings",
        "old-key",
        None,
        Some(hold_body(&departure, 1)),
    )
    .await
    .expect(201);
    let purge = berth::workers::idempotency_purge::run_once;
    assert_eq!(
        purge(&app.store, app.clock.now()).await.unwrap(),
        0,
        "not yet expired"
    );
    app.clock.advance(Duration::hours(25));
    assert_eq!(purge(&app.store, app.clock.now()).await.unwrap(), 1);
    // After expiry the key is free for a new request.
    let fresh = send(
        &app,
        Method::POST,
        "/v1/bookings",
        "old-key",
        None,
        Some(hold_body(&departure, 2)),
    )
    .await;
    fresh.expect(201);
    assert!(fresh.headers.get("idempotent-replayed").is_none());
}

async fn keys_are_scoped_per_operator(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let first = app.operator("First").await;
    let second = app.operator("Second").await;
    let body = json!({"label": "widget"});
    let a = send(
        &app,
        Method::POST,
        "/v1/tokens",
        "same-key",
        Some(&first),
        Some(body.clone()),
    )
    .await;
    let b = send(
        &app,
        Method::POST,
        "/v1/tokens",
        "same-key",
        Some(&second),
        Some(body),
    )
    .await;
    a.expect(201);
    b.expect(201);
    assert_ne!(
        a.str("token"),
        b.str("token"),
        "another operator's key is another key"
    );
}

async fn a_traveler_key_replays_only_to_the_same_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    let other = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    let confirm = format!("{}/v1/bookings/{}/confirm", app.base, hold.str("reference"));
    let attempt = |token: Option<String>| {
        let mut request = app
            .client
            .post(&confirm)
            .header("Idempotency-Key", "confirm-it");
        if let Some(token) = token {
            request = request.header("X-Booking-Token", token);
        }
        TestApp::reply(request)
    };
    attempt(Some(hold.str("access_token"))).await.expect(200);
    // Someone who learns the key but lacks the token gets nothing, not a replay with the
    // traveler's details.
    let stranger = attempt(None).await;
    stranger.expect_error(404, "not_found");
    assert!(!stranger.text.contains("ada@example.com"));
    attempt(Some(other.str("access_token")))
        .await
        .expect_error(404, "not_found");
    let replay = attempt(Some(hold.str("access_token"))).await;
    replay.expect(200);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
}

async fn a_claim_taken_over_by_a_retry_cannot_complete_or_release(backend: Backend) {
    use berth::service::idempotency::{begin, complete_in, finish, Begin};
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ttl = Duration::hours(24);
    let keys = app.config.keyring();
    let print = "f".repeat(64);
    let claim = |outcome: Begin| match outcome {
        Begin::Proceed(claim) => claim,
        Begin::Replay { .. } => panic!("expected a claim"),
    };
    let stalled = claim(
        begin(
            &app.store,
            &keys,
            app.clock.now(),
            ttl,
            "scope",
            "key",
            &print,
        )
        .await
        .unwrap(),
    );
    // While the first request runs, a retry is told to wait…
    assert!(matches!(
        begin(
            &app.store,
            &keys,
            app.clock.now(),
            ttl,
            "scope",
            "key",
            &print
        )
        .await,
        Err(berth::error::AppError::IdempotencyInProgress)
    ));
    // …but once the first has gone quiet for a minute, the retry takes the claim over.
    app.clock.advance(Duration::seconds(61));
    let retry = claim(
        begin(
            &app.store,
            &keys,
            app.clock.now(),
            ttl,
            "scope",
            "key",
            &print,
        )
        .await
        .unwrap(),
    );
    // The stalled request wakes up: it can neither release the retry's claim nor commit work.
    finish(&app.store, &stalled, None).await.unwrap();
    let mut tx = app.store.begin_write().await.unwrap();
    assert!(matches!(
        complete_in(&mut tx, &stalled, 201, "{\"stale\":true}").await,
        Err(berth::error::AppError::IdempotencyInProgress)
    ));
    tx.rollback().await.unwrap();
    finish(&app.store, &stalled, Some((201, "{\"stale\":true}")))
        .await
        .unwrap();
    finish(&app.store, &retry, Some((201, "{\"fresh\":true}")))
        .await
        .unwrap();
    match begin(
        &app.store,
        &keys,
        app.clock.now(),
        ttl,
        "scope",
        "key",
        &print,
    )
    .await
    .unwrap()
    {
        Begin::Replay { status, body } => {
            assert_eq!((status, body.as_str()), (201, "{\"fresh\":true}"))
        }
        Begin::Proceed(_) => panic!("the retry's response was stored"),
    }
}

/// Every response body stored under an idempotency key, as the database holds it.
async fn stored_bodies(app: &TestApp) -> Vec<String> {
    let bodies: Vec<Option<String>> = match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT response_body FROM idempotency_keys")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT response_body FROM idempotency_keys")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    bodies.into_iter().flatten().collect()
}

/// A hold's response is kept under its key so a retry gets the same access token (and, paid
/// online, the same client secret); the stored copy is sealed, so a copy of the database shows
/// neither, nor the traveler's contact details.
async fn stored_responses_keep_no_token_secret_or_contact_in_clear(backend: Backend) {
    let stripe = FakeStripe::start().await;
    for online in [false, true] {
        let app = if online {
            TestApp::spawn_stripe(backend, &stripe, &[]).await
        } else {
            TestApp::spawn(backend).await
        };
        let Some(app) = app else {
            return;
        };
        let (_, _, departure) = app.fresh_departure(10).await;
        let mut body = hold_body(&departure, 2);
        body["customer"]["phone"] = json!("+351912345678");
        let first = send(
            &app,
            Method::POST,
            "/v1/bookings",
            "sealed-1",
            None,
            Some(body.clone()),
        )
        .await;
        first.expect(201);
        let token = first.str("access_token");
        let mut secrets = vec![
            token[4..].to_owned(),
            "ada@example.com".to_owned(),
            "912345678".to_owned(),
        ];
        if online {
            let client_secret = first.body["payment"]["client_secret"]
                .as_str()
                .expect("a client secret");
            secrets.push(client_secret.to_owned());
        }
        let stored = stored_bodies(&app).await;
        assert_eq!(stored.len(), 1, "the response is stored: {stored:?}");
        for secret in &secrets {
            assert!(
                stored.iter().all(|b| !b.contains(secret.as_str())),
                "online {online}: {secret:?} stored in clear: {stored:?}"
            );
        }
        assert!(stored[0].starts_with("2."), "sealed: {}", stored[0]);
        // The retry still gets the very same answer, token and client secret included.
        let again = send(
            &app,
            Method::POST,
            "/v1/bookings",
            "sealed-1",
            None,
            Some(body.clone()),
        )
        .await;
        again.expect(201);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.text, first.text);
        assert_eq!(app.available(&departure).await, 8, "booked once");
        // A sealed response copied under another key does not open there.
        app.execute_sql(
            "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, response_status, response_body, locked_at, created_at, expires_at) \
             SELECT scope, 'sealed-2', fingerprint, state, response_status, response_body, locked_at, created_at, expires_at FROM idempotency_keys WHERE idem_key = 'sealed-1'",
        )
        .await;
        let moved = send(
            &app,
            Method::POST,
            "/v1/bookings",
            "sealed-2",
            None,
            Some(body),
        )
        .await;
        moved.expect_error(500, "internal");
        assert!(!moved.text.contains(&token), "{}", moved.text);
    }
}
