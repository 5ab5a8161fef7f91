//! Guaranteed departures: a departure with a minimum of participants is decided once at its
//! decision time: cancelled and refunded below the minimum (travelers told why), guaranteed at
//! or above it (travelers told it runs), safely with two instances and bookings racing the
//! decision; the decision time is real hours before the start across a daylight-saving change;
//! operators set a departure's own minimum and may guarantee it early. Driven by the test clock.

use chrono::{Duration, TimeZone};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};
use crate::web::{book, ZONE};

on_both_backends!(
    below_its_minimum_a_departure_is_cancelled_and_refunded_at_its_decision_time,
    at_its_minimum_a_departure_is_guaranteed_once_with_two_instances_and_bookings_racing,
    the_decision_is_real_hours_before_the_start_across_a_daylight_saving_change,
    operators_set_a_departures_own_minimum_and_guarantee_it_early,
);

async fn decide(app: &TestApp) -> usize {
    berth::workers::guarantees::run_once(&app.store, app.clock.now())
        .await
        .expect("decision round")
}

async fn messages(app: &TestApp, kind: &str) -> i64 {
    app.query_i64(&format!(
        "SELECT COUNT(DISTINCT booking_id) FROM outbox WHERE kind = '{kind}'"
    ))
    .await
}

async fn below_its_minimum_a_departure_is_cancelled_and_refunded_at_its_decision_time(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app
        .tour(&token, json!({"min_participants": 4, "decision_hours": 24}))
        .await;
    let departure = app.departure(&token, &tour, 10, 30).await;
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(shown.body["run_status"], "needs_participants");
    assert_eq!(shown.body["min_participants"], 4);
    assert_eq!(shown.body["participants_needed"], 4);
    let starts: chrono::DateTime<chrono::Utc> = shown.str("starts_at").parse().unwrap();
    let decided_at: chrono::DateTime<chrono::Utc> = shown.str("decided_at").parse().unwrap();
    assert_eq!(starts - decided_at, Duration::hours(24));

    let paid = book(&app, &departure, 2).await;
    let held = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    held.expect(201);
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(
        shown.body["participants_needed"], 1,
        "held seats count on the page"
    );

    assert_eq!(decide(&app).await, 0, "not yet its time");
    app.clock.advance(Duration::hours(6) + Duration::minutes(1));
    // Only confirmed seats count for the decision: 2 of 4.
    assert_eq!(decide(&app).await, 1);
    assert_eq!(decide(&app).await, 0, "decided once");
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(shown.body["status"], "cancelled");
    let status = |reply: &Reply| {
        let (app, reply) = (&app, reply.clone());
        async move {
            app.get_with_booking_token(
                &format!("/v1/bookings/{}", reply.str("reference")),
                &reply.str("access_token"),
            )
            .await
            .body
        }
    };
    let booking = status(&paid).await;
    assert_eq!(booking["status"], "cancelled");
    assert_eq!(booking["cancel_reason"], "minimum_not_reached");
    // The hold lapsed before the decision: released, not cancelled.
    assert_eq!(status(&held).await["status"], "expired");
    assert_eq!(messages(&app, "departure_not_running").await, 1);
    assert_eq!(
        app.query_strings("SELECT actor FROM audit_log WHERE action = 'departure.cancel'")
            .await,
        ["berth"]
    );
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(409);
    app.assert_seat_invariant().await;
}

async fn at_its_minimum_a_departure_is_guaranteed_once_with_two_instances_and_bookings_racing(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app
        .tour(&token, json!({"min_participants": 2, "decision_hours": 24}))
        .await;
    let departure = app.departure(&token, &tour, 12, 30).await;
    book(&app, &departure, 1).await;
    book(&app, &departure, 1).await;
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(
        shown.body["run_status"], "minimum_reached",
        "not decided yet"
    );
    app.clock.advance(Duration::hours(7));
    let other = app.another_instance(&[]).await;
    let app = std::sync::Arc::new(app);
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move {
            app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                .await
        });
    }
    let (one, two) = tokio::join!(decide(&app), decide(&other));
    assert_eq!(one + two, 1, "one instance decides");
    let mut held = 0;
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        match reply.status.as_u16() {
            201 => held += 1,
            409 => assert_eq!(reply.code(), "sold_out"),
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert_eq!(held, 10);
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(shown.body["run_status"], "guaranteed");
    assert!(shown.body.get("participants_needed").is_none());
    assert_eq!(messages(&app, "departure_guaranteed").await, 2);
    assert_eq!(decide(&app).await, 0);
    app.assert_seat_invariant().await;
}

async fn the_decision_is_real_hours_before_the_start_across_a_daylight_saving_change(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The next day, from the test clock on, whose local offset differs from the day before.
    let today = app.clock.now().with_timezone(&ZONE).date_naive() + Duration::days(3);
    let offset = |date: chrono::NaiveDate| {
        ZONE.from_local_datetime(&date.and_hms_opt(12, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .format("%z")
            .to_string()
    };
    let changed = (0..400)
        .map(|d| today + Duration::days(d))
        .find(|d| offset(*d) != offset(*d - Duration::days(1)))
        .expect("a daylight-saving change within a year");
    let token = app.operator("Harbour Tours").await;
    let tour = app
        .tour(&token, json!({"min_participants": 1, "decision_hours": 24}))
        .await;
    let departure = crate::web::departure_on(&app, &token, &tour, changed, 10, 8).await;
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    let starts: chrono::DateTime<chrono::Utc> = shown.str("starts_at").parse().unwrap();
    let decided_at: chrono::DateTime<chrono::Utc> = shown.str("decided_at").parse().unwrap();
    assert_eq!(starts - decided_at, Duration::hours(24));
    let local = decided_at.with_timezone(&ZONE).format("%H:%M").to_string();
    assert_ne!(
        local, "10:00",
        "24 real hours, not the same clock time the day before"
    );
    book(&app, &departure, 1).await;
    let until = decided_at - app.clock.now() - Duration::minutes(1);
    app.clock.advance(until);
    assert_eq!(decide(&app).await, 0, "a minute early");
    app.clock.advance(Duration::minutes(1));
    assert_eq!(decide(&app).await, 1, "at its time");
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(shown.body["run_status"], "guaranteed");
}

async fn operators_set_a_departures_own_minimum_and_guarantee_it_early(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(10).await;
    let path = format!("/v1/departures/{departure}");
    assert_eq!(app.get(&path).await.body["run_status"], "scheduled");
    let set = app
        .patch_as(
            &token,
            &path,
            json!({"min_participants": 3, "decision_hours": 12}),
        )
        .await;
    set.expect(200);
    assert_eq!(set.body["run_status"], "needs_participants");
    assert_eq!(set.body["participants_needed"], 3);
    for bad in [
        json!({"min_participants": -1}),
        json!({"min_participants": 10_001}),
        json!({"decision_hours": 0}),
        json!({}),
    ] {
        app.patch_as(&token, &path, bad)
            .await
            .expect_error(422, "validation_failed");
    }
    // Back to the tour's (none).
    let cleared = app
        .patch_as(&token, &path, json!({"min_participants": null}))
        .await;
    cleared.expect(200);
    assert_eq!(cleared.body["run_status"], "scheduled");
    // The tour's own, changed later, applies to its undecided departures.
    app.patch_as(
        &token,
        &format!("/v1/tours/{tour}"),
        json!({"min_participants": 5}),
    )
    .await
    .expect(200);
    assert_eq!(app.get(&path).await.body["participants_needed"], 5);
    app.patch_as(
        &token,
        &format!("/v1/tours/{tour}"),
        json!({"decision_hours": 0}),
    )
    .await
    .expect_error(422, "validation_failed");

    // Guaranteed by hand: its confirmed travelers are told once.
    book(&app, &departure, 1).await;
    let guaranteed = app
        .post_as(&token, &format!("{path}/guarantee"), json!({}))
        .await;
    guaranteed.expect(200);
    assert_eq!(guaranteed.body["run_status"], "guaranteed");
    app.post_as(&token, &format!("{path}/guarantee"), json!({}))
        .await
        .expect(200);
    assert_eq!(messages(&app, "departure_guaranteed").await, 1);
    app.clock.advance(Duration::hours(40));
    assert_eq!(decide(&app).await, 0, "already decided");
    let other = app.operator("Other Tours").await;
    app.post_as(&other, &format!("{path}/guarantee"), json!({}))
        .await
        .expect(404);
    let leaving = app.departure(&token, &tour, 10, 1).await;
    app.clock.advance(Duration::hours(2));
    app.post_as(
        &token,
        &format!("/v1/departures/{leaving}/guarantee"),
        json!({}),
    )
    .await
    .expect_error(409, "departure_started");
    let cancelled = app.departure(&token, &tour, 10, 50).await;
    app.post_as(
        &token,
        &format!("/v1/departures/{cancelled}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    app.post_as(
        &token,
        &format!("/v1/departures/{cancelled}/guarantee"),
        json!({}),
    )
    .await
    .expect_error(409, "departure_cancelled");
}
