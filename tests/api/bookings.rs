//! Holds, confirmation, cancellation, check-in, expiry and access to a booking.

use chrono::Duration;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    a_hold_takes_seats_at_server_prices,
    the_traveler_confirms_and_cancels_with_the_access_token,
    a_booking_is_hidden_without_its_token,
    an_expired_hold_frees_its_seats_before_and_after_the_worker,
    confirming_an_expired_hold_is_refused,
    check_in_is_for_the_operator_of_a_confirmed_booking,
    invalid_transitions_are_conflicts,
    travelers_cannot_cancel_after_departure,
    the_hold_expiry_worker_releases_every_lapsed_hold,
    the_background_worker_expires_holds_without_being_asked,
);

async fn a_hold_takes_seats_at_server_prices(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let reply = app
        .hold(
            &departure,
            json!([{"unit": "adult", "quantity": 2}, {"unit": "child", "quantity": 1}]),
        )
        .await;
    reply.expect(201);
    let body = &reply.body;
    assert_eq!(body["status"], "held");
    assert_eq!(body["total"], 2 * 3500 + 1500);
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["seats"], 3);
    assert_eq!(body["departure_id"], departure.as_str());
    assert_eq!(body["customer"]["phone"], "+351912345678");
    let reference = reply.str("reference");
    assert_eq!(reference.len(), 8);
    assert!(reply.str("access_token").starts_with("bkt_"));
    assert_eq!(
        reply.headers["location"],
        format!("/v1/bookings/{reference}").as_str()
    );
    let expires_at = chrono::DateTime::parse_from_rfc3339(&reply.str("expires_at")).unwrap();
    let ttl = expires_at.with_timezone(&chrono::Utc) - app.clock.now();
    assert!(
        ttl > Duration::seconds(890) && ttl <= Duration::seconds(900),
        "hold ttl {ttl}"
    );
    assert_eq!(app.available(&departure).await, 7);
    app.assert_seat_invariant().await;
}

async fn the_traveler_confirms_and_cancels_with_the_access_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 4}]))
        .await;
    let (reference, token) = (hold.str("reference"), hold.str("access_token"));

    let confirmed = app
        .post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &token)
        .await;
    confirmed.expect(200);
    assert_eq!(confirmed.body["status"], "confirmed");
    assert!(confirmed.body["expires_at"].is_null());
    assert!(
        confirmed.body.get("access_token").is_none(),
        "the token is shown only once"
    );
    assert_eq!(app.available(&departure).await, 6);

    // Confirmed seats do not expire.
    app.clock.advance(Duration::hours(1));
    assert_eq!(app.available(&departure).await, 6);

    let read = app
        .get_with_booking_token(
            &format!("/v1/bookings/{}", reference.to_lowercase()),
            &token,
        )
        .await;
    read.expect(200);
    assert_eq!(read.body["status"], "confirmed");

    let cancelled = app
        .post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &token)
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(app.available(&departure).await, 10);
    app.assert_seat_invariant().await;
}

async fn a_booking_is_hidden_without_its_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, _, departure) = app.fresh_departure(10).await;
    let stranger = app.operator("Other Tours").await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    let reference = hold.str("reference");
    let path = format!("/v1/bookings/{reference}");
    app.get(&path).await.expect_error(404, "not_found");
    app.get_with_booking_token(&path, "bkt_0000")
        .await
        .expect_error(404, "not_found");
    let other = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    app.get_with_booking_token(&path, &other.str("access_token"))
        .await
        .expect_error(404, "not_found");
    app.get_as(&stranger, &path)
        .await
        .expect_error(404, "not_found");
    app.post_with_booking_token(&format!("{path}/cancel"), &other.str("access_token"))
        .await
        .expect_error(404, "not_found");
    // The tour's operator sees it, and nothing was changed by the failed attempts.
    let read = app.get_as(&owner, &path).await;
    read.expect(200);
    assert_eq!(read.body["status"], "held");
    assert_eq!(app.available(&departure).await, 8);
}

async fn an_expired_hold_frees_its_seats_before_and_after_the_worker(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(4).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 4}]))
        .await;
    hold.expect(201);
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect_error(409, "sold_out");

    app.clock.advance(Duration::seconds(901));
    // Before any worker ran: availability already ignores the lapsed hold…
    assert_eq!(app.available(&departure).await, 4);
    let read = app
        .get_with_booking_token(
            &format!("/v1/bookings/{}", hold.str("reference")),
            &hold.str("access_token"),
        )
        .await;
    assert_eq!(read.body["status"], "expired");
    // …and a new booking can take the seats; the lapsed hold is released in the same transaction.
    app.hold(&departure, json!([{"unit": "adult", "quantity": 4}]))
        .await
        .expect(201);
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;
}

async fn confirming_an_expired_hold_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(4).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 3}]))
        .await;
    app.clock.advance(Duration::seconds(900));
    let confirm = app
        .post_with_booking_token(
            &format!("/v1/bookings/{}/confirm", hold.str("reference")),
            &hold.str("access_token"),
        )
        .await;
    confirm.expect_error(409, "hold_expired");
    assert_eq!(app.available(&departure).await, 4);
    app.assert_seat_invariant().await;
}

async fn check_in_is_for_the_operator_of_a_confirmed_booking(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, _, departure) = app.fresh_departure(10).await;
    let stranger = app.operator("Other Tours").await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    let (reference, token) = (hold.str("reference"), hold.str("access_token"));
    let check_in = format!("/v1/bookings/{reference}/check-in");

    app.post_as(&owner, &check_in, json!({}))
        .await
        .expect_error(409, "invalid_transition");
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &token)
        .await
        .expect(200);
    app.post_with_booking_token(&check_in, &token)
        .await
        .expect_error(401, "unauthorized");
    app.post_as(&stranger, &check_in, json!({}))
        .await
        .expect_error(404, "not_found");
    let done = app.post_as(&owner, &check_in, json!({})).await;
    done.expect(200);
    assert_eq!(done.body["status"], "checked_in");
    assert_eq!(
        app.available(&departure).await,
        8,
        "checked-in travelers keep their seats"
    );
    app.post_as(&owner, &check_in, json!({}))
        .await
        .expect_error(409, "invalid_transition");
    app.assert_seat_invariant().await;
}

async fn invalid_transitions_are_conflicts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    let (reference, token) = (hold.str("reference"), hold.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &token)
        .await
        .expect(200);
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &token)
        .await
        .expect_error(409, "invalid_transition");
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &token)
        .await
        .expect_error(409, "invalid_transition");
    assert_eq!(
        app.available(&departure).await,
        10,
        "a refused transition moves no seat"
    );
    app.assert_seat_invariant().await;
}

async fn travelers_cannot_cancel_after_departure(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, _, departure) = app.fresh_departure(10).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    let (reference, token) = (hold.str("reference"), hold.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &token)
        .await
        .expect(200);
    app.clock.advance(Duration::hours(49));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &token)
        .await
        .expect_error(409, "cancellation_closed");
    // The operator still can (a no-show refund, say).
    app.post_as(
        &owner,
        &format!("/v1/bookings/{reference}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    app.assert_seat_invariant().await;
}

async fn the_hold_expiry_worker_releases_every_lapsed_hold(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, first) = app.fresh_departure(10).await;
    let token = app.operator("Second").await;
    let second_tour = app.tour(&token, json!({})).await;
    let second = app.departure(&token, &second_tour, 5, 24).await;
    app.hold(&first, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);
    app.hold(&second, json!([{"unit": "adult", "quantity": 5}]))
        .await
        .expect(201);
    app.clock.advance(Duration::minutes(10));
    let keeper = app
        .hold(&first, json!([{"unit": "child", "quantity": 2}]))
        .await;
    app.clock.advance(Duration::minutes(6));

    let processed = berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(processed, 2);
    assert_eq!(
        berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
            .await
            .unwrap(),
        0
    );
    app.assert_seat_invariant().await;
    assert_eq!(
        app.available(&first).await,
        8,
        "the younger hold is still live"
    );
    assert_eq!(app.available(&second).await, 5);
    let read = app
        .get_with_booking_token(
            &format!("/v1/bookings/{}", keeper.str("reference")),
            &keeper.str("access_token"),
        )
        .await;
    assert_eq!(read.body["status"], "held");
}

async fn the_background_worker_expires_holds_without_being_asked(backend: Backend) {
    let settings = [("background_workers", json!(true))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(4).await;
    app.hold(&departure, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);
    app.clock.advance(Duration::minutes(16));
    // The worker runs every 5 seconds; its committed expiries show in the metrics.
    let expired = r#"berth_booking_transitions_total{transition="expired"} 1"#;
    let mut seen = false;
    for _ in 0..60 {
        if app.get("/metrics").await.text.contains(expired) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(seen, "the hold-expiry worker did not run");
    app.assert_seat_invariant().await;
    assert_eq!(app.available(&departure).await, 4);
}
