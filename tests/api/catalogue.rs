//! The public catalogue: tours, departures and availability, plus health and readiness.

use chrono::Duration;
use serde_json::json;

use crate::on_both_backends;
use crate::support::calendar::{departure_at, next_dst_transitions, offset_on};
use crate::support::{Backend, TestApp};

on_both_backends!(
    availability_shows_each_departure_with_status_prices_and_seats,
    availability_uses_the_tours_local_dates,
    health_and_readiness_answer_without_auth,
);

async fn availability_shows_each_departure_with_status_prices_and_seats(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let tour = app.tour(&token, json!({"cutoff_minutes": 60})).await;
    let open = app.departure(&token, &tour, 10, 48).await;
    let sold_out = app.departure(&token, &tour, 2, 50).await;
    let closing = app.departure(&token, &tour, 10, 1).await;
    let cancelled = app.departure(&token, &tour, 10, 52).await;
    app.hold(&open, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);
    app.hold(&sold_out, json!([{"unit": "child", "quantity": 2}]))
        .await
        .expect(201);
    app.post_as(
        &token,
        &format!("/v1/departures/{cancelled}/cancel"),
        json!({}),
    )
    .await
    .expect(200);

    let reply = app.get(&format!("/v1/tours/{tour}/availability")).await;
    reply.expect(200);
    assert_eq!(reply.body["timezone"], "Europe/Lisbon");
    let listed = reply.body["departures"].as_array().unwrap();
    let by_id = |id: &str| {
        listed
            .iter()
            .find(|o| o["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[0]["id"], closing.as_str(), "in start order");
    assert_eq!(
        (
            by_id(&open)["status"].as_str(),
            by_id(&open)["available"].as_i64()
        ),
        (Some("open"), Some(7))
    );
    assert_eq!(
        (
            by_id(&sold_out)["status"].as_str(),
            by_id(&sold_out)["available"].as_i64()
        ),
        (Some("sold_out"), Some(0))
    );
    assert_eq!(by_id(&closing)["status"], "closed");
    assert_eq!(by_id(&cancelled)["status"], "cancelled");
    assert_eq!(
        by_id(&open)["prices"],
        json!([
            {"unit": "adult", "label": "Adult", "price": 3500},
            {"unit": "child", "label": "Child", "price": 1500}
        ])
    );
    assert_eq!(by_id(&open)["currency"], "EUR");

    let one = app.get(&format!("/v1/departures/{open}")).await;
    one.expect(200);
    assert_eq!(one.body["capacity"], 10);
    assert_eq!(one.body["tour_id"], tour.as_str());
    let starts =
        chrono::DateTime::parse_from_rfc3339(one.body["starts_at"].as_str().unwrap()).unwrap();
    let local = chrono::DateTime::parse_from_rfc3339(one.body["local_starts_at"].as_str().unwrap())
        .unwrap();
    assert_eq!(starts, local, "the same instant, shown in the tour's zone");
}

async fn availability_uses_the_tours_local_dates(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("schedule_horizon_days", json!(400))]).await
    else {
        return;
    };
    let token = app.operator("Acme").await;
    let tour = app
        .tour(&token, json!({"timezone": "Pacific/Auckland"}))
        .await;
    // A day about forty days ahead whose neighbours keep its offset (no DST change among them).
    let now = app.clock.now();
    let mut day = (now + Duration::days(40)).date_naive();
    let dst = next_dst_transitions(chrono_tz::Pacific::Auckland, now);
    while [dst.spring.date(), dst.fall.date()]
        .iter()
        .any(|change| (*change - day).num_days().abs() <= 1)
    {
        day += Duration::days(7);
    }
    let (eve, next) = (day - Duration::days(1), day + Duration::days(1));
    let offset = offset_on(chrono_tz::Pacific::Auckland, day);
    // 00:30 and 23:30 local: in UTC they fall on the previous day and on the same day.
    app.post_as(&token, &format!("/v1/tours/{tour}/schedules"), json!({
        "rrule": "FREQ=DAILY", "start_date": eve.to_string(), "until": next.to_string(), "times": ["00:30", "23:30"], "capacity": 4
    }))
    .await
    .expect(201);
    let reply = app
        .get(&format!(
            "/v1/tours/{tour}/availability?from={day}&to={day}"
        ))
        .await;
    let starts: Vec<(&str, &str)> = reply.body["departures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["starts_at"].as_str().unwrap(),
                o["local_starts_at"].as_str().unwrap(),
            )
        })
        .collect();
    let (early, late) = (
        departure_at(day, 0, 30, offset),
        departure_at(day, 23, 30, offset),
    );
    assert_eq!(
        starts,
        [
            (early.0.as_str(), early.1.as_str()),
            (late.0.as_str(), late.1.as_str())
        ]
    );
    assert!(early.0.starts_with(&eve.to_string()) && late.0.starts_with(&day.to_string()));
    let full = app
        .get(&format!(
            "/v1/tours/{tour}/availability?from={eve}&to={next}"
        ))
        .await;
    assert_eq!(full.body["departures"].as_array().unwrap().len(), 6);
}

async fn health_and_readiness_answer_without_auth(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let health = app.get("/health").await;
    health.expect(200);
    assert_eq!(health.body, json!({"status": "ok"}));
    let ready = app.get("/ready").await;
    ready.expect(200);
    assert_eq!(ready.body, json!({"status": "ready"}));
    // Readiness reads a table, not just `SELECT 1` (which a Galera node out of sync still
    // answers; see db_faults.rs): a database where berth's tables cannot be read is not ready.
    let (away, back) = match backend {
        Backend::Sqlite => (
            "ALTER TABLE operators RENAME TO operators_away",
            "ALTER TABLE operators_away RENAME TO operators",
        ),
        Backend::MySql => (
            "RENAME TABLE operators TO operators_away",
            "RENAME TABLE operators_away TO operators",
        ),
    };
    app.execute_sql(away).await;
    let unreadable = app.get("/ready").await;
    unreadable.expect(503);
    assert_eq!(unreadable.body, json!({"status": "unavailable"}));
    app.execute_sql(back).await;
    app.get("/ready").await.expect(200);
    // With the database gone, readiness says so without details, and liveness stays up.
    app.store.close().await;
    let down = app.get("/ready").await;
    down.expect(503);
    assert_eq!(down.body, json!({"status": "unavailable"}));
    app.get("/health").await.expect(200);
}
