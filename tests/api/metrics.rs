//! `GET /metrics`: the counters move with a booking flow, and the token guards them.

use chrono::Duration;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    metrics_count_a_booking_flow,
    metrics_require_the_configured_token
);

/// The value of one sample line, e.g. `berth_seats_held_total` or `…{transition="held"}`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("{series} not in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn metrics_count_a_booking_flow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(5).await;
    let first = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", first.str("reference")),
        &first.str("access_token"),
    )
    .await
    .expect(200);
    let second = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", second.str("reference")),
        &second.str("access_token"),
    )
    .await
    .expect(200);
    app.hold(&departure, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect_error(409, "sold_out");
    app.clock.advance(Duration::minutes(20));
    berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
        .await
        .unwrap();

    let scrape = app.get("/metrics").await;
    scrape.expect(200);
    assert!(scrape.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = &scrape.text;
    assert_eq!(
        sample(
            text,
            r#"berth_booking_transitions_total{transition="held"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            text,
            r#"berth_booking_transitions_total{transition="confirmed"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            text,
            r#"berth_booking_transitions_total{transition="cancelled"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            text,
            r#"berth_booking_transitions_total{transition="expired"}"#
        ),
        1.0
    );
    assert_eq!(sample(text, "berth_seats_held_total"), 6.0);
    assert_eq!(sample(text, "berth_sold_out_rejections_total"), 1.0);
    assert_eq!(
        sample(
            text,
            r#"berth_http_requests_total{method="POST",route="place_hold",status="201"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            text,
            r#"berth_http_requests_total{method="POST",route="place_hold",status="409"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            text,
            r#"berth_http_request_duration_seconds_count{method="POST",route="place_hold"}"#
        ),
        4.0
    );
    assert!(sample(text, "berth_db_pool_connections") >= 1.0);
    // One confirmation and one cancellation, each an email and an SMS, wait in the outbox.
    assert_eq!(
        sample(
            text,
            r#"berth_outbox_messages{channel="email",status="pending"}"#
        ),
        2.0
    );
    assert_eq!(
        sample(
            text,
            r#"berth_outbox_messages{channel="sms",status="pending"}"#
        ),
        2.0
    );
    assert_eq!(
        sample(
            text,
            r#"berth_outbox_messages{channel="sms",status="sent"}"#
        ),
        0.0
    );
}

async fn metrics_require_the_configured_token(backend: Backend) {
    let token = "metrics-token-0123456789";
    let Some(app) = TestApp::spawn_with(backend, &[("metrics_token", json!(token))]).await else {
        return;
    };
    app.get("/metrics").await.expect_error(401, "unauthorized");
    app.get_as("wrong-token-0123456789", "/metrics")
        .await
        .expect_error(401, "unauthorized");
    let scrape = app.get_as(token, "/metrics").await;
    scrape.expect(200);
    assert!(scrape.text.contains("berth_http_requests_total"));
}
