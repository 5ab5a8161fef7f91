//! Archiving a tour: it is no longer sold (no holds, departures or schedules, and its schedules
//! make no new departures) and leaves the public catalogue, while its bookings stay; restoring
//! puts it back on sale.

use chrono::Duration;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(an_archived_tour_sells_nothing_new_and_keeps_its_bookings);

async fn an_archived_tour_sells_nothing_new_and_keeps_its_bookings(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (operator, token) = app.operator_with_id("Archive Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let departure = app.departure(&token, &tour, 10, 48).await;
    let other = app.tour(&token, json!({"name": "Sunset sail"})).await;
    let start = (app.clock.now() + Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    app.post_as(
        &token,
        &format!("/v1/tours/{tour}/schedules"),
        json!({"rrule": "FREQ=DAILY", "start_date": start, "times": ["09:00"], "capacity": 6}),
    )
    .await
    .expect(201);
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    hold.expect(201);
    let (reference, access) = (hold.str("reference"), hold.str("access_token"));

    let archived = app
        .post_as(&token, &format!("/v1/tours/{tour}/archive"), json!({}))
        .await;
    archived.expect(200);
    assert!(archived.body["archived_at"].is_string());
    let listed = app.get_as(&token, "/v1/tours").await;
    let mine = listed.body.as_array().unwrap();
    assert_eq!(mine.len(), 2, "the operator still sees it");
    assert!(mine
        .iter()
        .any(|t| t["id"] == tour.as_str() && t["archived_at"].is_string()));

    // Gone from the public catalogue.
    app.get(&format!("/v1/tours/{tour}")).await.expect(404);
    app.get(&format!("/v1/tours/{tour}/availability"))
        .await
        .expect(404);
    let page = app.get(&format!("/tours/{tour}")).await;
    assert_eq!(page.status.as_u16(), 404);
    app.get(&format!("/v1/departures/{departure}"))
        .await
        .expect(404);
    let form = app.get(&format!("/book/{departure}")).await;
    assert_eq!(form.status.as_u16(), 404, "the booking form is gone too");
    let catalogue = app.get(&format!("/tours?operator={operator}")).await;
    assert!(!catalogue.text.contains(&tour) && catalogue.text.contains(&other));

    // Nothing new is sold on it.
    let refused = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    refused.expect(409);
    assert_eq!(refused.code(), "sales_closed");
    let starts_at = (app.clock.now() + Duration::days(5)).to_rfc3339();
    let new_departure = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": starts_at, "capacity": 4}),
        )
        .await;
    new_departure.expect(409);
    assert_eq!(new_departure.code(), "tour_archived");
    let new_schedule = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/schedules"),
            json!({"rrule": "FREQ=WEEKLY", "start_date": start, "times": ["10:00"], "capacity": 4}),
        )
        .await;
    new_schedule.expect(409);
    assert_eq!(new_schedule.code(), "tour_archived");
    let count_sql = format!("SELECT COUNT(*) FROM departures WHERE tour_id = '{tour}'");
    let count = || app.query_i64(&count_sql);
    let before = count().await;
    // A horizon a year out: far past what the schedule made when it was created.
    berth::workers::horizon::run_once(&app.store, app.clock.now(), 365)
        .await
        .expect("horizon");
    assert_eq!(
        count().await,
        before,
        "its schedule makes no departures while archived"
    );

    // Its bookings stay: the traveler still reads theirs.
    let mine = app
        .get_with_booking_token(&format!("/v1/bookings/{reference}"), &access)
        .await;
    mine.expect(200);

    // Back on sale.
    app.post_as(&token, &format!("/v1/tours/{tour}/restore"), json!({}))
        .await
        .expect(200);
    app.get(&format!("/v1/tours/{tour}")).await.expect(200);
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    berth::workers::horizon::run_once(&app.store, app.clock.now(), 365)
        .await
        .expect("horizon");
    assert!(
        count().await > before,
        "the schedule catches up once restored"
    );
    app.assert_seat_invariant().await;
}
