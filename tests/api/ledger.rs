//! The ledger: pay-on-arrival payments recorded at check-in, the revenue report derived from
//! the ledger, and `berth check` catching a ledger that disagrees with a booking.

use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    check_in_records_the_payment_and_revenue_comes_from_the_ledger,
    berth_check_catches_a_ledger_that_disagrees
);

async fn checked_in(
    app: &TestApp,
    token: &str,
    departure: &str,
    items: serde_json::Value,
) -> String {
    let hold = app.hold(departure, items).await;
    let (reference, access) = (hold.str("reference"), hold.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &access)
        .await
        .expect(200);
    app.post_as(
        token,
        &format!("/v1/bookings/{reference}/check-in"),
        json!({}),
    )
    .await
    .expect(200);
    reference
}

async fn check_in_records_the_payment_and_revenue_comes_from_the_ledger(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    checked_in(
        &app,
        &token,
        &departure,
        json!([{"unit": "adult", "quantity": 2}]),
    )
    .await;
    checked_in(
        &app,
        &token,
        &departure,
        json!([{"unit": "adult", "quantity": 2}, {"unit": "child", "quantity": 1}]),
    )
    .await;
    // Confirmed but not yet arrived: not paid.
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", hold.str("reference")),
        &hold.str("access_token"),
    )
    .await
    .expect(200);

    let report = app.get_as(&token, "/v1/reports/revenue").await;
    report.expect(200);
    assert_eq!(
        report.body["currencies"],
        json!([{"currency": "EUR", "gross": 15500, "discounts": 0, "payments": 15500, "refunds": 0, "fees": 0, "net": 15500, "entries": 2}])
    );
    let today = app.clock.now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let earlier = app
        .get_as(
            &token,
            &format!("/v1/reports/revenue?from={yesterday}&to={yesterday}"),
        )
        .await;
    assert_eq!(
        earlier.body["currencies"],
        json!([]),
        "nothing was paid yesterday"
    );
    let stranger = app.operator("Stranger").await;
    assert_eq!(
        app.get_as(&stranger, "/v1/reports/revenue").await.body["currencies"],
        json!([])
    );
    app.get_as(
        &token,
        &format!("/v1/reports/revenue?from={today}&to={yesterday}"),
    )
    .await
    .expect_error(422, "validation_failed");
    let six_years_ago = today - chrono::Duration::days(6 * 365);
    app.get_as(
        &token,
        &format!("/v1/reports/revenue?from={six_years_ago}&to={today}"),
    )
    .await
    .expect_error(422, "validation_failed");
    app.get("/v1/reports/revenue")
        .await
        .expect_error(401, "unauthorized");
    assert!(berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap()
        .is_empty());
}

async fn berth_check_catches_a_ledger_that_disagrees(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let reference = checked_in(
        &app,
        &token,
        &departure,
        json!([{"unit": "adult", "quantity": 2}]),
    )
    .await;
    assert!(berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap()
        .is_empty());
    app.execute_sql(&format!(
        "INSERT INTO ledger_entries (id, operator_id, booking_id, kind, amount, currency, provider, created_at) \
         SELECT '01HZZZZZZZZZZZZZZZZZZZZZZZ', operator_id, id, 'refund', -500, currency, 'offline', created_at \
         FROM bookings WHERE reference = '{reference}'"
    ))
    .await;
    let violations = berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].detail.contains(&format!(
        "booking {reference} is checked_in: its ledger has payments 7000 and refunds 500, expected 7000 and 0"
    )));
}
