//! Moving a booking to another departure of its tour, the cancellation quote, and the manage
//! link every message carries.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    a_traveler_moves_a_confirmed_booking_and_the_email_links_the_manage_page,
    moves_that_break_a_rule_are_refused_with_stable_codes,
    the_cancellation_quote_is_what_the_cancellation_refunds,
    racing_moves_and_holds_in_both_directions_never_oversell_or_deadlock,
);

/// A confirmed (pay on arrival) booking of `adults` on `departure`: (reference, access token).
async fn confirmed(app: &TestApp, departure: &str, adults: i64) -> (String, String) {
    let hold = app
        .hold(departure, json!([{"unit": "adult", "quantity": adults}]))
        .await;
    hold.expect(201);
    let (reference, access) = (hold.str("reference"), hold.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &access)
        .await
        .expect(200);
    (reference, access)
}

async fn reschedule(app: &TestApp, reference: &str, access: &str, to: &str) -> Reply {
    TestApp::reply(
        app.client
            .post(format!("{}/v1/bookings/{reference}/reschedule", app.base))
            .header("X-Booking-Token", access)
            .json(&json!({ "departure_id": to })),
    )
    .await
}

async fn dispatch(app: &TestApp) -> usize {
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch")
}

fn mails(app: &TestApp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(app.files.path().join("mail")) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// The manage link's path in a delivered email (`/manage/{reference}/{token}`), read from the
/// plain-text part, its quoted-printable soft line breaks undone.
pub fn manage_path(mail: &str) -> String {
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    let at = mail.find("/manage/").expect("a manage link in the email");
    mail[at..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

async fn a_traveler_moves_a_confirmed_booking_and_the_email_links_the_manage_page(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let first = app.departure(&token, &tour, 10, 48).await;
    let second = app.departure(&token, &tour, 10, 72).await;
    let (reference, access) = confirmed(&app, &first, 2).await;
    dispatch(&app).await;
    let confirmation = mails(&app)
        .into_iter()
        .find(|m| m.contains("confirmed"))
        .expect("confirmation");
    let old_link = manage_path(&confirmation);
    assert!(
        old_link.starts_with(&format!("/manage/{reference}/")),
        "{old_link}"
    );
    assert!(!confirmation.contains(&format!("/bookings/{reference}")));

    let moved = reschedule(&app, &reference, &access, &second).await;
    moved.expect(200);
    assert_eq!(moved.body["departure_id"], second.as_str());
    assert_eq!(moved.body["status"], "confirmed");
    assert_eq!(moved.body["total"], 7000);
    assert_eq!(app.available(&first).await, 10);
    assert_eq!(app.available(&second).await, 8);
    app.assert_seat_invariant().await;

    // The traveler is told, with the calendar entry for the new time and a new link.
    dispatch(&app).await;
    let told = mails(&app)
        .into_iter()
        .find(|m| m.contains(&format!("Subject: Booking {reference} moved")))
        .expect("the reschedule email");
    assert!(told.contains("BEGIN:VCALENDAR"), "{told}");
    let starts_at = app.get(&format!("/v1/departures/{second}")).await.body["starts_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let dtstart = chrono::DateTime::parse_from_rfc3339(&starts_at)
        .unwrap()
        .format("DTSTART:%Y%m%dT%H%M%SZ")
        .to_string();
    assert!(told.contains(&dtstart), "{dtstart} in {told}");
    let new_link = manage_path(&told);
    assert_ne!(new_link, old_link, "the link follows the new departure");
    // Both links open the booking; a page never leaks the link to other sites.
    for link in [&new_link, &old_link] {
        let page = app
            .client
            .get(format!("{}{link}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{link}");
        assert_eq!(
            page.headers()["referrer-policy"].to_str().unwrap(),
            "no-referrer"
        );
        let html = page.text().await.unwrap();
        assert!(html.contains(&reference) && html.contains("Harbour cruise"));
    }
    let ics = app
        .client
        .get(format!("{}{new_link}/booking.ics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ics.status(), 200);
    assert!(ics.text().await.unwrap().contains(&dtstart));
    // The move is idempotent per key, and moving back works too.
    let back = reschedule(&app, &reference, &access, &first).await;
    back.expect(200);
    assert_eq!(app.available(&first).await, 8);
    assert_eq!(app.available(&second).await, 10);
    dispatch(&app).await;
    let moves = mails(&app)
        .into_iter()
        .filter(|m| m.contains(&format!("Subject: Booking {reference} moved")))
        .count();
    assert_eq!(moves, 2, "one email per move");
    app.assert_seat_invariant().await;
}

async fn moves_that_break_a_rule_are_refused_with_stable_codes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let tour = app.tour(&token, json!({"cutoff_minutes": 120})).await;
    let first = app.departure(&token, &tour, 10, 48).await;
    let small = app.departure(&token, &tour, 1, 72).await;
    let closing = app.departure(&token, &tour, 10, 1).await;
    let open = app.departure(&token, &tour, 10, 96).await;
    let other_tour = app.tour(&token, json!({"name": "Other"})).await;
    let elsewhere = app.departure(&token, &other_tour, 10, 72).await;
    let (reference, access) = confirmed(&app, &first, 2).await;

    reschedule(&app, &reference, &access, &small)
        .await
        .expect_error(409, "sold_out");
    reschedule(&app, &reference, &access, &closing)
        .await
        .expect_error(409, "sales_closed");
    for target in [elsewhere.as_str(), first.as_str(), "not-an-id"] {
        let reply = reschedule(&app, &reference, &access, target).await;
        reply.expect_error(422, "validation_failed");
        assert!(reply.body["error"]["fields"]["departure_id"].is_string());
    }
    // Without the booking's token it does not exist.
    reschedule(&app, &reference, "bkt_wrong", &open)
        .await
        .expect_error(404, "not_found");
    // A hold moves only once it is confirmed.
    let hold = app
        .hold(&first, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    reschedule(
        &app,
        &hold.str("reference"),
        &hold.str("access_token"),
        &open,
    )
    .await
    .expect_error(409, "reschedule_not_allowed");
    // Prices changed since the booking: a move would change what it costs.
    app.patch_as(
        &token,
        &format!("/v1/tours/{tour}"),
        json!({"units": [{"code": "adult", "label": "Adult", "price": 3900}, {"code": "child", "label": "Child", "price": 1500}]}),
    )
    .await
    .expect(200);
    reschedule(&app, &reference, &access, &open)
        .await
        .expect_error(409, "reschedule_price_differs");
    app.patch_as(
        &token,
        &format!("/v1/tours/{tour}"),
        json!({"units": [{"code": "adult", "label": "Adult", "price": 3500}, {"code": "child", "label": "Child", "price": 1500}], "reschedule_allowed": false}),
    )
    .await
    .expect(200);
    // The operator forbids travelers' moves; the operator may still move the booking.
    reschedule(&app, &reference, &access, &open)
        .await
        .expect_error(409, "reschedule_not_allowed");
    let shown = app.get(&format!("/v1/tours/{tour}")).await;
    assert_eq!(shown.body["reschedule_allowed"], false);
    app.post_as(
        &token,
        &format!("/v1/bookings/{reference}/reschedule"),
        json!({"departure_id": open}),
    )
    .await
    .expect(200);
    let audit = app.get_as(&token, "/v1/audit").await;
    assert!(audit.text.contains("booking.reschedule"), "{}", audit.text);
    // Nothing refused moved a seat.
    assert_eq!(app.available(&first).await, 9, "the hold of one remains");
    assert_eq!(app.available(&open).await, 8);
    assert_eq!(app.available(&small).await, 1);
    app.assert_seat_invariant().await;
}

async fn the_cancellation_quote_is_what_the_cancellation_refunds(backend: Backend) {
    let Some((app, stripe)) = crate::payments::stripe_app(backend).await else {
        return;
    };
    let token = app.operator("Policy Tours").await;
    let tour = app
        .tour(
            &token,
            json!({"cancellation_policy": [{"hours_before": 24, "refund_percent": 50}, {"hours_before": 72, "refund_percent": 100}]}),
        )
        .await;
    let departure = app.departure(&token, &tour, 10, 48).await;
    let (held, _) = crate::payments::paid(&app, &stripe, &departure, 2).await;
    let path = format!("/v1/bookings/{}/cancellation-quote", held.reference);
    let quote = app.get_with_booking_token(&path, &held.access).await;
    quote.expect(200);
    assert_eq!(
        (
            &quote.body["cancellable"],
            &quote.body["refundable"],
            &quote.body["refund"],
            &quote.body["refund_percent"],
            &quote.body["currency"]
        ),
        (
            &json!(true),
            &json!(7000),
            &json!(3500),
            &json!(50),
            &json!("EUR")
        ),
        "{}",
        quote.text
    );
    // The operator's cancellation refunds in full, and the quote says so.
    let operator = app.get_as(&token, &path).await;
    assert_eq!(operator.body["refund"], 7000);
    // Quoting changes nothing; cancelling refunds exactly the quote.
    let cancelled = app
        .post_with_booking_token(
            &format!("/v1/bookings/{}/cancel", held.reference),
            &held.access,
        )
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["payment"]["refunded"], 3500);
    let after = app.get_with_booking_token(&path, &held.access).await;
    assert_eq!(
        (&after.body["cancellable"], &after.body["refund"]),
        (&json!(false), &json!(0))
    );
    // After the departure starts a traveler cannot cancel.
    let (late, _) = crate::payments::paid(&app, &stripe, &departure, 1).await;
    app.clock.advance(Duration::hours(49));
    let quote = app
        .get_with_booking_token(
            &format!("/v1/bookings/{}/cancellation-quote", late.reference),
            &late.access,
        )
        .await;
    assert_eq!(quote.body["cancellable"], false, "{}", quote.text);
    app.get(&path).await.expect_error(404, "not_found");
}

/// Confirmed bookings moving between two departures in both directions at once, while new
/// holds race for the same seats: never more seats taken than exist, never a 5xx (so no
/// deadlock survived the retries), and the counters match the bookings.
async fn racing_moves_and_holds_in_both_directions_never_oversell_or_deadlock(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let token = app.operator("Acme Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let a = app.departure(&token, &tour, 16, 48).await;
    let b = app.departure(&token, &tour, 16, 72).await;
    let mut bookings = Vec::new();
    for i in 0..16 {
        let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let (reference, access) = confirmed(&app, from, 1).await;
        bookings.push((reference, access, to.clone()));
    }
    let mut racers = JoinSet::new();
    for (reference, access, to) in bookings {
        let app = app.clone();
        racers.spawn(async move {
            let reply = reschedule(&app, &reference, &access, &to).await;
            ("move", reply)
        });
    }
    for i in 0..12 {
        let (app, target) = (app.clone(), if i % 2 == 0 { a.clone() } else { b.clone() });
        racers.spawn(async move {
            let reply = app
                .hold(&target, json!([{"unit": "adult", "quantity": 1}]))
                .await;
            ("hold", reply)
        });
    }
    let (mut moved, mut held) = (0, 0);
    while let Some(joined) = racers.join_next().await {
        let (what, reply) = joined.expect("racer finished");
        let status = reply.status.as_u16();
        assert!(status < 500, "{what}: 5xx under contention: {}", reply.text);
        match (what, status) {
            ("move", 200) => moved += 1,
            ("hold", 201) => held += 1,
            (_, 409) => assert_eq!(reply.code(), "sold_out", "{what}: {}", reply.text),
            _ => panic!("{what}: unexpected {status}: {}", reply.text),
        }
    }
    // Each departure keeps at least two seats free whatever the holds do, so the first two
    // moves into it cannot be refused.
    assert!(moved >= 2, "only {moved} moves went through");
    let over = app
        .query_i64(
            "SELECT COUNT(*) FROM departures WHERE seats_taken > capacity OR seats_taken < 0",
        )
        .await;
    assert_eq!(over, 0, "a departure went over capacity");
    let live = |departure: &str| {
        format!(
            "SELECT CAST(COALESCE(SUM(seats), 0) AS SIGNED) FROM bookings \
             WHERE departure_id = '{departure}' AND status IN ('held', 'confirmed', 'checked_in')"
        )
    };
    let (on_a, on_b) = (
        app.query_i64(&live(&a)).await,
        app.query_i64(&live(&b)).await,
    );
    assert!(on_a <= 16 && on_b <= 16, "{on_a} on a, {on_b} on b");
    assert_eq!(
        on_a + on_b,
        16 + held,
        "every booking and hold is on one departure"
    );
    let available = app.available(&a).await + app.available(&b).await;
    assert_eq!(available, 32 - on_a - on_b);
    app.assert_seat_invariant().await;
}
