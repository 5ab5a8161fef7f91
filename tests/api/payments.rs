//! Online payments through a fake Stripe that speaks Stripe's wire format: PaymentIntents made
//! once per booking whatever the retries, verified webhooks, late payments, refunds per the
//! cancellation policy, and a ledger that always adds up.

use std::sync::Arc;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::fake_stripe::{self, event, signature, succeeded, FakeStripe, Mode};
use crate::support::wait::eventually;
use crate::support::{Backend, Reply, TestApp};

/// How long a test waits on the fake Stripe before failing.
const SECONDS_10: std::time::Duration = std::time::Duration::from_secs(10);

on_both_backends!(
    a_hold_gets_one_intent_and_the_payment_confirms_it,
    webhooks_are_verified_before_anything_changes,
    stripe_unreachable_releases_the_hold_with_502,
    a_timeout_after_stripe_did_the_work_leaves_one_intent,
    a_500_once_is_retried_with_the_same_key,
    fifty_concurrent_retries_make_one_booking_and_one_intent,
    a_payment_reported_before_the_hold_response_confirms_it,
    late_payments_take_the_seats_again_or_are_refunded,
    failed_and_canceled_payments_release_the_hold,
    refunds_follow_the_cancellation_policy,
    operators_refund_part_and_cancel_departures_in_full,
    refunds_stripe_cannot_take_now_are_sent_by_the_worker,
    dashboard_refunds_are_recorded_once,
    operator_refunds_are_idempotent,
    a_paid_rush_never_oversells,
    an_unanswered_refund_is_recorded_from_its_event,
    a_failure_racing_a_success_never_undoes_the_payment,
    a_payment_for_a_cancelled_booking_is_refunded,
    a_payment_of_the_wrong_amount_is_refunded,
    a_duplicate_waits_for_the_first_answer_then_gives_up_with_409,
    the_logs_of_a_paid_booking_carry_no_secrets,
    a_retry_after_a_crash_mid_hold_carries_on_with_the_same_booking,
    late_payments_racing_new_holds_never_oversell,
);

pub(crate) async fn stripe_app(backend: Backend) -> Option<(TestApp, FakeStripe)> {
    let stripe = FakeStripe::start().await;
    let app = TestApp::spawn_stripe(backend, &stripe, &[]).await?;
    Some((app, stripe))
}

pub(crate) struct Held {
    pub(crate) reference: String,
    pub(crate) access: String,
    reply: Reply,
}

async fn hold(app: &TestApp, departure: &str, adults: i64) -> Held {
    let reply = app
        .hold(departure, json!([{"unit": "adult", "quantity": adults}]))
        .await;
    reply.expect(201);
    Held {
        reference: reply.str("reference"),
        access: reply.str("access_token"),
        reply,
    }
}

async fn booking(app: &TestApp, held: &Held) -> Value {
    let reply = app
        .get_with_booking_token(&format!("/v1/bookings/{}", held.reference), &held.access)
        .await;
    reply.expect(200);
    reply.body
}

/// Holds and pays: the webhook reports the payment. Returns the hold and its intent.
pub(crate) async fn paid(
    app: &TestApp,
    stripe: &FakeStripe,
    departure: &str,
    adults: i64,
) -> (Held, Value) {
    let held = hold(app, departure, adults).await;
    let intent = stripe.intent_for(&held.reference).expect("intent created");
    let ack = app
        .stripe_event(&succeeded(&format!("evt_paid_{}", held.reference), &intent))
        .await;
    ack.expect(200);
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    (held, intent)
}

async fn assert_books_balance(app: &TestApp) {
    let violations = berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

async fn a_hold_gets_one_intent_and_the_payment_confirms_it(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let held = hold(&app, &departure, 2).await;
    let payment = &held.reply.body["payment"];
    assert_eq!(payment["provider"], "stripe");
    assert_eq!(payment["status"], "requires_payment_method");
    assert_eq!(held.reply.body["status"], "held");

    // One intent, for the server's total, with the booking's key and metadata.
    let requests = stripe.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "POST /v1/payment_intents");
    assert_eq!(
        request.authorization,
        format!("Bearer {}", fake_stripe::SECRET_KEY)
    );
    let field = |name: &str| {
        request
            .form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("amount").as_deref(), Some("7000"));
    assert_eq!(field("currency").as_deref(), Some("eur"));
    assert_eq!(
        field("automatic_payment_methods[enabled]").as_deref(),
        Some("true")
    );
    assert_eq!(
        field("metadata[booking_reference]"),
        Some(held.reference.clone())
    );
    let intent = stripe.intent_for(&held.reference).unwrap();
    assert_eq!(
        request.idempotency_key,
        format!(
            "berth-pi-{}",
            intent["metadata"]["booking_id"].as_str().unwrap()
        )
    );
    assert_eq!(payment["client_secret"], intent["client_secret"]);

    // The traveler cannot confirm without paying; the payment confirms.
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", held.reference),
        &held.access,
    )
    .await
    .expect_error(409, "payment_required");
    // Nor can the operator: the open PaymentIntent could still be paid after cash at the desk.
    app.post_as(
        &token,
        &format!("/v1/bookings/{}/confirm", held.reference),
        json!({}),
    )
    .await
    .expect_error(409, "payment_required");
    let body = succeeded("evt_1", &intent);
    let ack = app.stripe_event(&body).await;
    ack.expect(200);
    assert_eq!(ack.body["outcome"], "confirmed");
    let after = booking(&app, &held).await;
    assert_eq!(after["status"], "confirmed");
    assert_eq!(after["payment"]["status"], "succeeded");
    assert_eq!(after["payment"]["paid"], 7000);
    // The operator sees the payment, not the client secret.
    let seen = app
        .get_as(&token, &format!("/v1/bookings/{}", held.reference))
        .await;
    assert_eq!(seen.body["payment"]["paid"], 7000);
    assert!(seen.body["payment"].get("client_secret").is_none());

    // Redelivered: acknowledged, nothing twice.
    let again = app.stripe_event(&body).await;
    again.expect(200);
    assert_eq!(again.body["outcome"], "duplicate");
    let revenue = revenue(&app, &token).await;
    revenue.expect(200);
    assert!(revenue.text.contains("7000"), "{}", revenue.text);
    assert_eq!(booking(&app, &held).await["payment"]["paid"], 7000);
    let messages = app.get_as(&token, "/v1/messages").await;
    let confirmations = messages.body["messages"]
        .as_array()
        .or(messages.body.as_array())
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "booking_confirmed" && m["channel"] == "email")
        .count();
    assert_eq!(confirmations, 1, "{}", messages.text);
    let metrics = app.get("/metrics").await.text;
    for line in [
        r#"berth_stripe_events_total{outcome="confirmed"} 1"#,
        r#"berth_stripe_events_total{outcome="duplicate"} 1"#,
        r#"berth_stripe_calls_total{call="payment_intent",result="ok"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from {metrics}");
    }
    assert_eq!(app.available(&departure).await, 8);
    assert_books_balance(&app).await;
    app.assert_seat_invariant().await;
}

async fn webhooks_are_verified_before_anything_changes(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let held = hold(&app, &departure, 2).await;
    let intent = stripe.intent_for(&held.reference).unwrap();
    let body = succeeded("evt_sig", &intent);
    let now = app.clock.now().timestamp();
    let refused = [
        (
            "forged",
            signature("whsec_someone_else", now, &body),
            body.clone(),
        ),
        (
            "stale",
            signature(fake_stripe::WEBHOOK_SECRET, now - 301, &body),
            body.clone(),
        ),
        (
            "from the future",
            signature(fake_stripe::WEBHOOK_SECRET, now + 301, &body),
            body.clone(),
        ),
        (
            "tampered",
            signature(fake_stripe::WEBHOOK_SECRET, now, &body),
            body.replace("7000", "1"),
        ),
        ("malformed", "v1=deadbeef".to_owned(), body.clone()),
        // Validly signed, but at the ends of i64: `now - t` would overflow (a panic, so a 500).
        (
            "at i64::MIN",
            signature(fake_stripe::WEBHOOK_SECRET, i64::MIN, &body),
            body.clone(),
        ),
        (
            "at i64::MAX",
            signature(fake_stripe::WEBHOOK_SECRET, i64::MAX, &body),
            body.clone(),
        ),
    ];
    for (what, header, payload) in refused {
        let reply = app.stripe_event_signed(&payload, &header).await;
        assert_eq!(reply.status.as_u16(), 400, "{what}: {}", reply.text);
        assert_eq!(reply.code(), "invalid_signature", "{what}");
    }
    let unsigned = TestApp::reply(
        app.client
            .post(format!("{}/v1/webhooks/stripe", app.base))
            .body(body.clone()),
    )
    .await;
    unsigned.expect_error(400, "invalid_signature");
    assert_eq!(
        booking(&app, &held).await["status"],
        "held",
        "nothing changed"
    );

    // Several v1 signatures while the secret is rolled: any one that matches will do.
    let rotated = format!(
        "t={now},v1={},v1={}",
        berth::integrations::stripe::sign("whsec_old_secret_value", now, body.as_bytes()),
        berth::integrations::stripe::sign(fake_stripe::WEBHOOK_SECRET, now, body.as_bytes())
    );
    let ok = app.stripe_event_signed(&body, &rotated).await;
    ok.expect(200);
    assert_eq!(booking(&app, &held).await["status"], "confirmed");

    // Types berth does not act on are acknowledged and ignored.
    let other = app
        .stripe_event(&event(
            "evt_other",
            "customer.created",
            json!({"id": "cus_1"}),
        ))
        .await;
    other.expect(200);
    assert_eq!(other.body["outcome"], "ignored");
    // A signed body that is not an event is a client error, not a crash.
    let junk = app.stripe_event("[1, 2, 3]").await;
    junk.expect_error(400, "malformed_event");
}

async fn stripe_unreachable_releases_the_hold_with_502(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    stripe.set_mode(Mode::Fail(500));
    let reply = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    reply.expect_error(502, "payment_unavailable");
    assert_eq!(reply.headers["retry-after"], "5");
    assert_eq!(
        app.available(&departure).await,
        10,
        "the seats were released"
    );
    // Three attempts, one key: had any of them reached Stripe, the others found the same intent.
    let requests = stripe.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.idempotency_key == requests[0].idempotency_key));

    // A refusal (4xx) is not retried; the hold is released all the same.
    stripe.set_mode(Mode::Fail(400));
    let reply = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    reply.expect_error(502, "payment_unavailable");
    assert_eq!(stripe.requests().len(), 4);
    assert_eq!(app.available(&departure).await, 10);

    // Stripe back: a new attempt (the key of a 502 is released) books.
    stripe.set_mode(Mode::Normal);
    hold(&app, &departure, 2).await;
    assert_eq!(app.available(&departure).await, 8);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}

async fn a_timeout_after_stripe_did_the_work_leaves_one_intent(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    stripe.set_mode(Mode::TimeoutAfterWork(1));
    let held = hold(&app, &departure, 1).await;
    assert_eq!(stripe.requests().len(), 2, "one timeout, one retry");
    assert_eq!(stripe.intents().len(), 1, "the retry found the same intent");
    let intent = stripe.intent_for(&held.reference).unwrap();
    assert_eq!(
        held.reply.body["payment"]["client_secret"],
        intent["client_secret"]
    );
}

async fn a_500_once_is_retried_with_the_same_key(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    stripe.set_mode(Mode::Fail500Once);
    hold(&app, &departure, 1).await;
    let requests = stripe.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].idempotency_key, requests[1].idempotency_key);
    assert_eq!(stripe.intents().len(), 1);
}

async fn fifty_concurrent_retries_make_one_booking_and_one_intent(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(10).await;
    // Stripe answers slowly, so the retries arrive while the first request is in flight.
    stripe.set_mode(Mode::SlowAnswer(300));
    let mut retries = JoinSet::new();
    for _ in 0..50 {
        let (app, departure) = (app.clone(), departure.clone());
        retries.spawn(async move {
            let request = app
                .client
                .request(Method::POST, format!("{}/v1/bookings", app.base))
                .header("Idempotency-Key", "pay-double-click")
                .json(
                    &json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 2}],
                              "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}}),
                );
            TestApp::reply(request).await
        });
    }
    let mut bodies = Vec::new();
    while let Some(reply) = retries.join_next().await {
        let reply = reply.unwrap();
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
        bodies.push(reply.text);
    }
    assert_eq!(bodies.len(), 50);
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "identical responses"
    );
    assert_eq!(stripe.intents().len(), 1, "one intent");
    assert_eq!(
        app.available(&departure).await,
        8,
        "one booking of two seats"
    );
    app.assert_seat_invariant().await;
}

async fn a_payment_reported_before_the_hold_response_confirms_it(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(10).await;
    // Stripe makes the intent at once but answers late; meanwhile the traveler pays and the
    // webhook arrives, before berth has stored the intent.
    stripe.set_mode(Mode::SlowAnswer(700));
    let pending = {
        let (app, departure) = (app.clone(), departure.clone());
        tokio::spawn(async move { hold(&app, &departure, 2).await })
    };
    let intent = eventually(
        "Stripe is asked for the PaymentIntent",
        SECONDS_10,
        || async { stripe.intents().pop() },
    )
    .await;
    let ack = app.stripe_event(&succeeded("evt_early", &intent)).await;
    ack.expect(200);
    assert_eq!(ack.body["outcome"], "confirmed");
    let held = pending.await.unwrap();
    assert_eq!(
        held.reply.body["reference"],
        intent["metadata"]["booking_reference"]
    );
    let after = booking(&app, &held).await;
    assert_eq!(after["status"], "confirmed");
    assert_eq!(
        after["payment"]["status"], "succeeded",
        "the webhook's news is kept"
    );
    assert_eq!(after["payment"]["client_secret"], intent["client_secret"]);
    assert_eq!(app.available(&departure).await, 8);
    assert_books_balance(&app).await;
}

async fn late_payments_take_the_seats_again_or_are_refunded(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(2).await;
    let ttl = Duration::seconds(901);

    // The hold lapses; the payment arrives while the seats are still free: it is confirmed.
    let first = hold(&app, &departure, 2).await;
    app.clock.advance(ttl);
    let intent = stripe.intent_for(&first.reference).unwrap();
    let ack = app.stripe_event(&succeeded("evt_late_1", &intent)).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    assert_eq!(booking(&app, &first).await["status"], "confirmed");
    assert_eq!(app.available(&departure).await, 0);

    // Cancelled (refunded per policy: full, two days ahead) to free the seats again.
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", first.reference),
        &first.access,
    )
    .await
    .expect(200);

    // The next hold lapses, someone else takes the seats, then the payment arrives: refunded.
    let second = hold(&app, &departure, 2).await;
    app.clock.advance(ttl);
    let third = hold(&app, &departure, 2).await;
    let intent = stripe.intent_for(&second.reference).unwrap();
    let ack = app.stripe_event(&succeeded("evt_late_2", &intent)).await;
    assert_eq!(ack.body["outcome"], "refunded", "{}", ack.text);
    let after = booking(&app, &second).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["cancel_reason"], "sold_out_after_payment");
    assert_eq!(after["payment"]["paid"], 7000);
    assert_eq!(after["payment"]["refunded"], 7000);
    let refund = stripe
        .refunds()
        .into_iter()
        .find(|r| r["payment_intent"] == intent["id"])
        .expect("refunded at Stripe");
    assert_eq!(refund["amount"], 7000);
    assert_eq!(
        booking(&app, &third).await["status"],
        "held",
        "the seats stay sold once"
    );
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}

async fn failed_and_canceled_payments_release_the_hold(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(4).await;
    let held = hold(&app, &departure, 2).await;
    let intent = stripe.intent_for(&held.reference).unwrap();
    let mut failed = intent.clone();
    failed["status"] = json!("requires_payment_method");
    let ack = app
        .stripe_event(&event("evt_fail", "payment_intent.payment_failed", failed))
        .await;
    assert_eq!(ack.body["outcome"], "released", "{}", ack.text);
    let after = booking(&app, &held).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["cancel_reason"], "payment_failed");
    assert_eq!(app.available(&departure).await, 4);

    // The traveler retries with another card and it succeeds: seats free, so taken again.
    let ack = app.stripe_event(&succeeded("evt_retry_ok", &intent)).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    assert_eq!(booking(&app, &held).await["status"], "confirmed");
    assert_eq!(app.available(&departure).await, 2);

    // A failure reported after the success (out of order) changes nothing.
    let mut stale = intent.clone();
    stale["status"] = json!("requires_payment_method");
    let ack = app
        .stripe_event(&event(
            "evt_fail_late",
            "payment_intent.payment_failed",
            stale,
        ))
        .await;
    assert_eq!(ack.body["outcome"], "ignored");
    assert_eq!(booking(&app, &held).await["status"], "confirmed");

    // payment_intent.canceled releases a hold the same way.
    let other = hold(&app, &departure, 1).await;
    let mut canceled = stripe.intent_for(&other.reference).unwrap();
    canceled["status"] = json!("canceled");
    let ack = app
        .stripe_event(&event("evt_cancel", "payment_intent.canceled", canceled))
        .await;
    assert_eq!(ack.body["outcome"], "released");
    assert_eq!(
        booking(&app, &other).await["cancel_reason"],
        "payment_canceled"
    );
    assert_eq!(app.available(&departure).await, 2);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}

async fn refunds_follow_the_cancellation_policy(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let token = app.operator("Policy Tours").await;
    let tour = app
        .tour(
            &token,
            json!({"cancellation_policy": [{"hours_before": 24, "refund_percent": 50}, {"hours_before": 72, "refund_percent": 100}]}),
        )
        .await;
    let shown = app.get(&format!("/v1/tours/{tour}")).await;
    assert_eq!(
        shown.body["cancellation_policy"],
        json!([{"hours_before": 72, "refund_percent": 100}, {"hours_before": 24, "refund_percent": 50}])
    );
    // The test clock runs with real time: boundaries are approached with a margin larger than
    // the time the requests in between take (exact boundaries: domain::refund's unit tests).
    let created = app.clock.now();
    let departure = app.departure(&token, &tour, 10, 100).await;
    let (full, _) = paid(&app, &stripe, &departure, 2).await;
    let (half, _) = paid(&app, &stripe, &departure, 1).await;
    let (none, _) = paid(&app, &stripe, &departure, 1).await;
    let cancel = |held: &Held| {
        let path = format!("/v1/bookings/{}/cancel", held.reference);
        let access = held.access.clone();
        let app = &app;
        async move { app.post_with_booking_token(&path, &access).await }
    };

    // Half a minute before the 72 h boundary passes: still a full refund.
    app.clock
        .advance(created + Duration::hours(28) - Duration::seconds(30) - app.clock.now());
    let reply = cancel(&full).await;
    reply.expect(200);
    assert_eq!(reply.body["cancel_reason"], "traveler");
    assert_eq!(reply.body["payment"]["refunded"], 7000);
    // Past it: half.
    app.clock.advance(Duration::seconds(60));
    let reply = cancel(&half).await;
    assert_eq!(reply.body["payment"]["refunded"], 1750);
    // The cancellation message tells the traveler what comes back. A message whose sending
    // failed for a passing reason (the database busy under CI's load) waits for its retry: the
    // clock moves past it, a few times at most, far from the 24 h boundary below.
    for _ in 0..4 {
        berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
            .await
            .unwrap();
        let waiting = app
            .query_i64("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            .await;
        if waiting == 0 {
            break;
        }
        app.clock.advance(Duration::minutes(15));
    }
    let mails: Vec<String> = std::fs::read_dir(app.files.path().join("mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains(&half.reference) && m.contains("cancelled"))
        .collect();
    assert!(!mails.is_empty());
    assert!(
        mails
            .iter()
            .all(|m| m.contains("refund of") && m.contains("17.50")),
        "{mails:?}"
    );
    let sms = std::fs::read_to_string(app.files.path().join("sms").join("sms.jsonl")).unwrap();
    assert!(
        sms.lines()
            .any(|l| l.contains(&half.reference) && l.contains("Refund") && l.contains("17.50")),
        "{sms}"
    );
    // Under 24 h: nothing back, and Stripe is not asked.
    app.clock.advance(Duration::hours(48));
    let before = stripe.refunds().len();
    let reply = cancel(&none).await;
    reply.expect(200);
    assert_eq!(reply.body["payment"]["refunded"], 0);
    assert_eq!(reply.body["payment"]["paid"], 3500);
    assert_eq!(stripe.refunds().len(), before);
    // Each refund went out once, keyed by its own id.
    let keys: Vec<String> = stripe
        .requests()
        .into_iter()
        .filter(|r| r.path == "POST /v1/refunds")
        .map(|r| r.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.starts_with("berth-refund-")) && keys[0] != keys[1]);
    // Revenue nets payments and refunds from the ledger.
    let revenue = revenue(&app, &token).await;
    revenue.expect(200);
    assert!(
        revenue.text.contains("14000") && revenue.text.contains("-8750"),
        "{}",
        revenue.text
    );
    assert_books_balance(&app).await;
    app.assert_seat_invariant().await;
}

async fn operators_refund_part_and_cancel_departures_in_full(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let (first, _) = paid(&app, &stripe, &departure, 2).await;
    let path = format!("/v1/bookings/{}/refunds", first.reference);
    let refund = app.post_as(&token, &path, json!({"amount": 1000})).await;
    refund.expect(201);
    assert_eq!(refund.body["amount"], 1000);
    // Answered as decided (and stored under the key); sent to Stripe right after.
    assert_eq!(refund.body["status"], "pending");
    assert_eq!(booking(&app, &first).await["payment"]["refunded"], 1000);
    assert_eq!(refund.body["provider"], "stripe");
    app.post_as(&token, &path, json!({"amount": 6001}))
        .await
        .expect_error(422, "validation_failed");
    app.post_as(&token, &path, json!({"amount": 0}))
        .await
        .expect_error(422, "validation_failed");
    // Another operator's booking is not found; a traveler cannot refund.
    let other = app.operator("Other Tours").await;
    app.post_as(&other, &path, json!({"amount": 100}))
        .await
        .expect_error(404, "not_found");
    app.post(&path, json!({"amount": 100}))
        .await
        .expect_error(401, "unauthorized");

    // The operator cancels the departure: everyone gets back everything left.
    let (second, _) = paid(&app, &stripe, &departure, 1).await;
    let departure_cancel = app
        .post_as(
            &token,
            &format!("/v1/departures/{departure}/cancel"),
            json!({}),
        )
        .await;
    departure_cancel.expect(200);
    berth::workers::refunds::run_once(&app.store, &app.payments, app.clock.now())
        .await
        .unwrap();
    let a = booking(&app, &first).await;
    assert_eq!(a["cancel_reason"], "departure_cancelled");
    assert_eq!(
        (
            a["payment"]["paid"].clone(),
            a["payment"]["refunded"].clone()
        ),
        (json!(7000), json!(7000))
    );
    let b = booking(&app, &second).await;
    assert_eq!(
        (
            b["payment"]["paid"].clone(),
            b["payment"]["refunded"].clone()
        ),
        (json!(3500), json!(3500))
    );
    assert_books_balance(&app).await;
}

async fn refunds_stripe_cannot_take_now_are_sent_by_the_worker(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let (held, _) = paid(&app, &stripe, &departure, 2).await;
    stripe.set_mode(Mode::Fail(503));
    let reply = app
        .post_with_booking_token(
            &format!("/v1/bookings/{}/cancel", held.reference),
            &held.access,
        )
        .await;
    reply.expect(200);
    assert_eq!(reply.body["status"], "cancelled");
    assert_eq!(reply.body["payment"]["refund_pending"], 7000);
    assert_eq!(reply.body["payment"]["refunded"], 0);
    assert_books_balance(&app).await;

    stripe.set_mode(Mode::Normal);

    assert_eq!(refund_worker(&app).await, 0, "not due before its backoff");
    app.clock.advance(Duration::minutes(5));
    assert_eq!(refund_worker(&app).await, 1);
    let after = booking(&app, &held).await;
    assert_eq!(after["payment"]["refunded"], 7000);
    assert_eq!(after["payment"]["refund_pending"], 0);
    let keys: Vec<String> = stripe
        .requests()
        .into_iter()
        .filter(|r| r.path == "POST /v1/refunds")
        .map(|r| r.idempotency_key)
        .collect();
    assert!(
        keys.len() >= 2 && keys.iter().all(|k| *k == keys[0]),
        "{keys:?}"
    );
    assert_eq!(stripe.refunds().len(), 1);
    assert_eq!(refund_worker(&app).await, 0, "nothing left");
    assert_books_balance(&app).await;
}

async fn dashboard_refunds_are_recorded_once(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let (held, intent) = paid(&app, &stripe, &departure, 2).await;
    let charge = |refunded: i64| {
        json!({"id": "ch_fake1", "object": "charge", "payment_intent": intent["id"],
               "amount": 7000, "amount_refunded": refunded, "currency": "eur", "refunded": false})
    };
    // Refunded in the dashboard: recorded once, however often the event comes.
    stripe.dashboard_refund(&intent, 2000);
    let body = event("evt_dash_1", "charge.refunded", charge(2000));
    assert_eq!(app.stripe_event(&body).await.body["outcome"], "recorded");
    assert_eq!(app.stripe_event(&body).await.body["outcome"], "duplicate");
    assert_eq!(booking(&app, &held).await["payment"]["refunded"], 2000);

    // A refund of berth's own is pending (Stripe was down when it was sent) while another is
    // made in the dashboard: the event tells them apart by refund id, not by amounts.
    stripe.set_mode(Mode::Fail(503));
    let path = format!("/v1/bookings/{}/refunds", held.reference);
    app.post_as(&token, &path, json!({"amount": 1000}))
        .await
        .expect(201);
    stripe.set_mode(Mode::Normal);
    stripe.dashboard_refund(&intent, 500);
    let body = event("evt_dash_2", "charge.refunded", charge(2500));
    assert_eq!(app.stripe_event(&body).await.body["outcome"], "recorded");
    let now = booking(&app, &held).await;
    assert_eq!(now["payment"]["refunded"], 2500);
    assert_eq!(now["payment"]["refund_pending"], 1000);
    // Berth's refund goes through; its own charge.refunded event then adds nothing.
    app.clock.advance(Duration::minutes(5));
    assert_eq!(refund_worker(&app).await, 1);
    let body = event("evt_dash_3", "charge.refunded", charge(3500));
    assert_eq!(app.stripe_event(&body).await.body["outcome"], "recorded");
    let now = booking(&app, &held).await;
    assert_eq!(now["payment"]["refunded"], 3500);
    assert_eq!(now["payment"]["refund_pending"], 0);
    assert_books_balance(&app).await;
}

/// A refund Stripe accepted whose answer berth never saw (a timeout) is found by its event.
async fn an_unanswered_refund_is_recorded_from_its_event(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let (held, intent) = paid(&app, &stripe, &departure, 2).await;
    stripe.set_mode(Mode::TimeoutAfterWork(1));
    let path = format!("/v1/bookings/{}/refunds", held.reference);
    app.post_as(&token, &path, json!({"amount": 1500}))
        .await
        .expect(201);
    assert_eq!(stripe.refunds().len(), 1, "Stripe made it");
    assert_eq!(
        booking(&app, &held).await["payment"]["refund_pending"],
        1500
    );
    let charge = json!({"id": "ch_fake1", "object": "charge", "payment_intent": intent["id"],
                        "amount": 7000, "amount_refunded": 1500, "currency": "eur"});
    app.stripe_event(&event("evt_re_1", "charge.refunded", charge))
        .await
        .expect(200);
    let now = booking(&app, &held).await;
    assert_eq!(
        (
            now["payment"]["refunded"].clone(),
            now["payment"]["refund_pending"].clone()
        ),
        (json!(1500), json!(0))
    );
    // The worker's retry finds nothing left to send.
    app.clock.advance(Duration::minutes(5));
    assert_eq!(refund_worker(&app).await, 0);
    assert_eq!(stripe.refunds().len(), 1);
    assert_books_balance(&app).await;
}

/// A failure and a success for the same intent processed at once: the success always stands.
async fn a_failure_racing_a_success_never_undoes_the_payment(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(20).await;
    let mut holds = Vec::new();
    for _ in 0..10 {
        let held = hold(&app, &departure, 1).await;
        let intent = stripe.intent_for(&held.reference).unwrap();
        holds.push((held, intent));
    }
    let mut races = JoinSet::new();
    for (i, (_, intent)) in holds.iter().enumerate() {
        let mut failed = intent.clone();
        failed["status"] = json!("requires_payment_method");
        for body in [
            event(
                &format!("evt_race_fail_{i}"),
                "payment_intent.payment_failed",
                failed,
            ),
            succeeded(&format!("evt_race_ok_{i}"), intent),
        ] {
            let app = app.clone();
            races.spawn(async move { app.stripe_event(&body).await });
        }
    }
    while let Some(reply) = races.join_next().await {
        reply.unwrap().expect(200);
    }
    for (held, _) in &holds {
        // Whichever ran first, the money stands: confirmed (seats taken again if released).
        let after = booking(&app, held).await;
        assert_eq!(after["status"], "confirmed", "{after}");
        assert_eq!(after["payment"]["status"], "succeeded", "{after}");
        assert_eq!(after["payment"]["paid"], 3500);
    }
    assert_eq!(app.available(&departure).await, 10);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}

/// Paid for a hold the traveler had cancelled: all of it goes back.
async fn a_payment_for_a_cancelled_booking_is_refunded(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let held = hold(&app, &departure, 2).await;
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", held.reference),
        &held.access,
    )
    .await
    .expect(200);
    let intent = stripe.intent_for(&held.reference).unwrap();
    let ack = app
        .stripe_event(&succeeded("evt_after_cancel", &intent))
        .await;
    assert_eq!(ack.body["outcome"], "refunded", "{}", ack.text);
    let after = booking(&app, &held).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["cancel_reason"], "traveler");
    assert_eq!(
        (
            after["payment"]["paid"].clone(),
            after["payment"]["refunded"].clone()
        ),
        (json!(7000), json!(7000))
    );
    assert_eq!(app.available(&departure).await, 10);
    assert_books_balance(&app).await;
}

/// A payment of another amount than the booking's (berth set it) confirms nothing and goes back.
async fn a_payment_of_the_wrong_amount_is_refunded(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let held = hold(&app, &departure, 2).await;
    let mut intent = stripe.intent_for(&held.reference).unwrap();
    intent["amount"] = json!(100);
    let ack = app.stripe_event(&succeeded("evt_short", &intent)).await;
    assert_eq!(ack.body["outcome"], "refunded", "{}", ack.text);
    let after = booking(&app, &held).await;
    assert_eq!(after["status"], "held", "not confirmed by a short payment");
    assert_eq!(after["payment"]["refunded"], 100);
    let refund = stripe.refunds().pop().expect("refunded at Stripe");
    assert_eq!(refund["amount"], 100);
}

async fn refund_worker(app: &TestApp) -> usize {
    berth::workers::refunds::run_once(&app.store, &app.payments, app.clock.now())
        .await
        .unwrap()
}

/// The operator's revenue report around today.
async fn revenue(app: &TestApp, token: &str) -> Reply {
    let today = app.clock.now().date_naive();
    let path = format!(
        "/v1/reports/revenue?from={}&to={}",
        today - Duration::days(5),
        today + Duration::days(5)
    );
    app.get_as(token, &path).await
}

/// Stripe settings are checked at start-up: the error names the setting, never its value.
#[test]
fn stripe_settings_are_checked_at_start_up() {
    use rocket::figment::providers::Serialized;
    let config = |settings: &[(&str, &str)]| {
        let mut figment = berth::config::figment();
        for (key, value) in settings {
            figment = figment.merge(Serialized::global(key, value));
        }
        berth::config::AppConfig::from_figment(&figment)
    };
    let key = fake_stripe::SECRET_KEY;
    let hook = fake_stripe::WEBHOOK_SECRET;
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("payments", "stripe")], "BERTH_STRIPE_SECRET_KEY"),
        (
            &[("payments", "stripe"), ("stripe_secret_key", key)],
            "BERTH_STRIPE_WEBHOOK_SECRET",
        ),
        (
            &[
                ("payments", "stripe"),
                ("stripe_secret_key", "pk_test_publishableKey0000000"),
                ("stripe_webhook_secret", hook),
            ],
            "BERTH_STRIPE_SECRET_KEY",
        ),
        (
            &[
                ("payments", "stripe"),
                ("stripe_secret_key", key),
                ("stripe_webhook_secret", "not-a-signing-secret"),
            ],
            "BERTH_STRIPE_WEBHOOK_SECRET",
        ),
        (&[("payments", "paypal")], "BERTH_PAYMENTS"),
        // A secret key where the publishable one goes (it would be sent to every browser).
        (
            &[
                ("payments", "stripe"),
                ("stripe_secret_key", key),
                ("stripe_webhook_secret", hook),
                ("stripe_publishable_key", "sk_test_secretKeyInTheWrongPlace"),
            ],
            "BERTH_STRIPE_PUBLISHABLE_KEY",
        ),
        // A live publishable key with a test secret key.
        (
            &[
                ("payments", "stripe"),
                ("stripe_secret_key", key),
                ("stripe_webhook_secret", hook),
                ("stripe_publishable_key", "pk_live_TYooMQauvdEDq54NiTphI7jx"),
            ],
            "BERTH_STRIPE_PUBLISHABLE_KEY",
        ),
    ];
    for (settings, named) in cases {
        let error = config(settings).expect_err("refused");
        assert!(error.contains(named), "{error}");
        for (_, value) in settings {
            if value.len() > 12 {
                assert!(!error.contains(value), "the value leaked: {error}");
            }
        }
    }
    let ok = config(&[
        ("payments", "stripe"),
        ("stripe_secret_key", key),
        ("stripe_webhook_secret", hook),
    ])
    .expect("valid");
    config(&[
        ("payments", "stripe"),
        ("stripe_secret_key", key),
        ("stripe_webhook_secret", hook),
        ("stripe_publishable_key", "pk_test_TYooMQauvdEDq54NiTphI7jx"),
    ])
    .expect("a publishable key of the secret key's mode");
    assert_eq!(
        berth::payments(&ok).unwrap().instance().map(|p| p.name()),
        Some("stripe")
    );
    assert!(berth::payments(&config(&[]).unwrap())
        .unwrap()
        .instance()
        .is_none());
}

async fn operator_refunds_are_idempotent(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let (held, _) = paid(&app, &stripe, &departure, 2).await;
    let path = format!("{}/v1/bookings/{}/refunds", app.base, held.reference);
    let send = |amount: i64| {
        let request = app
            .client
            .post(&path)
            .bearer_auth(&token)
            .header("Idempotency-Key", "refund-once")
            .json(&json!({"amount": amount}));
        TestApp::reply(request)
    };
    let first = send(1500).await;
    first.expect(201);
    let again = send(1500).await;
    again.expect(201);
    assert_eq!(again.text, first.text, "replayed byte for byte");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    send(2000).await.expect_error(422, "idempotency_key_reused");
    assert_eq!(stripe.refunds().len(), 1, "refunded once");
    assert_eq!(booking(&app, &held).await["payment"]["refunded"], 1500);
    assert_books_balance(&app).await;
}

/// Many travelers race for the last seats with online payment on, and every webhook (with
/// duplicates) arrives at once: never more seats sold than exist, never a 5xx.
async fn a_paid_rush_never_oversells(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(20).await;
    let mut rush = JoinSet::new();
    for _ in 0..60 {
        let (app, departure) = (app.clone(), departure.clone());
        rush.spawn(async move {
            app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                .await
        });
    }
    let mut held = 0;
    while let Some(reply) = rush.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            201 => held += 1,
            409 => assert_eq!(reply.code(), "sold_out"),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(held, 20);
    assert_eq!(
        stripe.intents().len(),
        20,
        "an intent per hold, none for refused requests"
    );
    let mut webhooks = JoinSet::new();
    for (i, intent) in stripe.intents().into_iter().enumerate() {
        for copy in 0..2 {
            let app = app.clone();
            let body = succeeded(&format!("evt_rush_{i}"), &intent);
            webhooks.spawn(async move { (copy, app.stripe_event(&body).await) });
        }
    }
    let mut confirmed = 0;
    while let Some(result) = webhooks.join_next().await {
        let (_, reply) = result.unwrap();
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        match reply.body["outcome"].as_str().unwrap() {
            "confirmed" => confirmed += 1,
            "duplicate" => {}
            other => panic!("unexpected outcome {other}"),
        }
    }
    assert_eq!(confirmed, 20, "each payment confirmed once");
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}

/// A duplicate of a request still running waits up to 5 s for its answer; a request slower
/// than that leaves the duplicate a 409 with Retry-After, and the retry then replays.
async fn a_duplicate_waits_for_the_first_answer_then_gives_up_with_409(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) =
        TestApp::spawn_stripe(backend, &stripe, &[("stripe_timeout_seconds", 10.into())]).await
    else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(10).await;
    stripe.set_mode(Mode::SlowAnswer(6_500));
    let send = {
        let (app, departure) = (app.clone(), departure.clone());
        move || {
            let request = app
                .client
                .post(format!("{}/v1/bookings", app.base))
                .header("Idempotency-Key", "slow-one")
                .json(
                    &json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
                              "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}}),
                );
            TestApp::reply(request)
        }
    };
    let first = tokio::spawn(send());
    // The first is running (its key taken) once it has asked Stripe, which answers 6.5 s later.
    eventually("the first request reaches Stripe", SECONDS_10, || async {
        (!stripe.intents().is_empty()).then_some(())
    })
    .await;
    let duplicate = send().await;
    duplicate.expect_error(409, "idempotency_in_progress");
    assert_eq!(duplicate.headers["retry-after"], "1");
    let first = first.await.unwrap();
    first.expect(201);
    let retry = send().await;
    retry.expect(201);
    assert_eq!(retry.text, first.text);
    assert_eq!(stripe.intents().len(), 1);
}

/// The real binary in Stripe mode, logging at debug level: a paid booking, a forged webhook, a
/// cancellation with its refund. No card-flow secret, signature, token or personal data may
/// appear in what it writes.
async fn the_logs_of_a_paid_booking_carry_no_secrets(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let stripe = FakeStripe::start().await;
    let created = crate::cli::berth(&app.database_url)
        .args([
            "operator",
            "create",
            "--name",
            "Paid Leak Tours",
            "--email",
            "ops@paidleak.example",
        ])
        .output()
        .unwrap();
    let token = crate::cli::token_printed_by(created);
    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("berth.log");
    let port = crate::cli::free_port();
    let mut server = crate::cli::berth(&app.database_url)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "normal")
        .env("BERTH_LOG", "debug")
        .env("BERTH_PAYMENTS", "stripe")
        .env("BERTH_STRIPE_SECRET_KEY", fake_stripe::SECRET_KEY)
        .env("BERTH_STRIPE_WEBHOOK_SECRET", fake_stripe::WEBHOOK_SECRET)
        .env("BERTH_STRIPE_API_BASE", &stripe.base)
        .env("BERTH_MAIL_DIR", logs.path().join("mail"))
        .env("BERTH_SMS_DIR", logs.path().join("sms"))
        .stdout(std::fs::File::create(&log_file).unwrap())
        .stderr(std::fs::File::create(logs.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    crate::cli::wait_until_up(&base).await;
    let client = reqwest::Client::new();
    let call = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or_default())
    };
    let (_, tour) = call(client.post(format!("{base}/v1/tours")).bearer_auth(&token).json(&json!({
        "name": "Paid leak walk", "timezone": "Europe/Lisbon", "duration_minutes": 60, "currency": "EUR",
        "units": [{"code": "adult", "label": "Adult", "price": 2000}]}))).await;
    let starts_at = (chrono::Utc::now() + Duration::days(3)).to_rfc3339();
    let (_, departure) = call(
        client
            .post(format!(
                "{base}/v1/tours/{}/departures",
                tour["id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .json(&json!({"starts_at": starts_at, "capacity": 5})),
    )
    .await;
    let (email, phone, name) = (
        "grace.paidwell@example.com",
        "+351 913 222 111",
        "Grace Paidwell",
    );
    let (status, hold) = call(client.post(format!("{base}/v1/bookings")).header("Idempotency-Key", "paid-leak-key-77")
        .json(&json!({"departure_id": departure["id"], "items": [{"unit": "adult", "quantity": 1}],
                      "customer": {"name": name, "email": email, "phone": phone}}))).await;
    assert_eq!(status, 201, "{hold}");
    let reference = hold["reference"].as_str().unwrap();
    let access = hold["access_token"].as_str().unwrap().to_owned();
    let client_secret = hold["payment"]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let intent = stripe.intent_for(reference).unwrap();
    let at = chrono::Utc::now().timestamp();
    let webhook = |body: String, signature: String| {
        client
            .post(format!("{base}/v1/webhooks/stripe"))
            .header("Stripe-Signature", signature)
            .body(body)
    };
    let paid = succeeded("evt_paid_leak", &intent);
    let good = signature(fake_stripe::WEBHOOK_SECRET, at, &paid);
    let forged = signature("whsec_forged_leak_secret", at, &paid);
    assert_eq!(call(webhook(paid.clone(), forged.clone())).await.0, 400);
    let (status, ack) = call(webhook(paid.clone(), good.clone())).await;
    assert_eq!(
        (status, ack["outcome"].as_str()),
        (200, Some("confirmed")),
        "{ack}"
    );
    let (status, cancelled) = call(
        client
            .post(format!("{base}/v1/bookings/{reference}/cancel"))
            .header("X-Booking-Token", &access),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["payment"]["refunded"], 2000);

    // The operator's own keys: set, used for a payment, its webhook verified with them.
    let (own_secret, own_publishable, own_webhook) = (
        "sk_test_51LeakOwnSecretKey000000000",
        "pk_test_51LeakOwnPublishable0000000",
        "whsec_LeakOwnSigningSecret0000",
    );
    stripe.add_account(own_secret);
    let (status, set) = call(
        client
            .put(format!("{base}/v1/operator/payments"))
            .bearer_auth(&token)
            .json(
                &json!({"secret_key": own_secret, "publishable_key": own_publishable,
                          "webhook_secret": own_webhook}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    let (_, operator) = call(
        client
            .get(format!("{base}/v1/operator"))
            .bearer_auth(&token),
    )
    .await;
    let (status, own_hold) = call(client.post(format!("{base}/v1/bookings")).json(
        &json!({"departure_id": departure["id"], "items": [{"unit": "adult", "quantity": 1}],
                      "customer": {"name": name, "email": email, "phone": phone}}),
    ))
    .await;
    assert_eq!(status, 201, "{own_hold}");
    let own_intent = stripe
        .intent_for(own_hold["reference"].as_str().unwrap())
        .unwrap();
    let own_paid = succeeded("evt_paid_leak_own", &own_intent);
    let own_signature = signature(own_webhook, at, &own_paid);
    let (status, ack) = call(
        client
            .post(format!(
                "{base}/v1/webhooks/stripe/{}",
                operator["id"].as_str().unwrap()
            ))
            .header("Stripe-Signature", &own_signature)
            .body(own_paid.clone()),
    )
    .await;
    assert_eq!(
        (status, ack["outcome"].as_str()),
        (200, Some("confirmed")),
        "{ack}"
    );
    server.kill().ok();
    server.wait().ok();
    let text = std::fs::read_to_string(&log_file).unwrap()
        + &std::fs::read_to_string(logs.path().join("stderr.log")).unwrap();
    assert!(
        text.contains("payment created")
            && text.contains("payment event")
            && text.contains("refund accepted"),
        "the flow was logged:\n{text}"
    );
    let good_hmac = good.split("v1=").nth(1).unwrap().to_owned();
    let forged_hmac = forged.split("v1=").nth(1).unwrap().to_owned();
    for secret in [
        email,
        "913222111",
        "913 222 111",
        name,
        token.as_str(),
        access.as_str(),
        client_secret.as_str(),
        "paid-leak-key-77",
        fake_stripe::SECRET_KEY,
        fake_stripe::WEBHOOK_SECRET,
        own_secret,
        own_webhook,
        own_signature.split("v1=").nth(1).unwrap(),
        good_hmac.as_str(),
        forged_hmac.as_str(),
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} appears in the logs:\n{text}"
        );
    }
}

/// The process dies after the hold committed and while Stripe was being asked for the intent
/// (here: the request's future is dropped mid-call). The client's retry, once the claim is
/// stale, carries on with that same booking and intent instead of holding seats twice.
async fn a_retry_after_a_crash_mid_hold_carries_on_with_the_same_booking(backend: Backend) {
    use berth::service::holds::{self, HoldRequest};
    use berth::service::idempotency::{begin, keyed_fingerprint, Begin};
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(4).await;
    let text = json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 2}],
                      "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}})
    .to_string();
    let print = keyed_fingerprint(&app.config.keyring(), "POST", "/v1/bookings", &text);
    let Begin::Proceed(claim) = begin(
        &app.store,
        &app.config.keyring(),
        app.clock.now(),
        Duration::hours(24),
        "public:bookings",
        "crash-key",
        &print,
    )
    .await
    .unwrap() else {
        panic!("a fresh key is claimed");
    };
    stripe.set_mode(Mode::TimeoutAfterWork(1));
    let request: HoldRequest = serde_json::from_str(&text).unwrap();
    let render =
        |_: &berth::domain::records::BookingRecord,
         _: &str,
         _: &berth::service::payments::PaymentSummary| (201u16, String::from("{}"));
    let placing = holds::place_hold(
        &app.store,
        &app.payments,
        app.clock.now(),
        Duration::seconds(900),
        request,
        Some((&claim, &render)),
    );
    let crashed = tokio::time::timeout(std::time::Duration::from_millis(500), placing).await;
    assert!(crashed.is_err(), "cut off while Stripe was being asked");
    assert_eq!(app.available(&departure).await, 2, "the hold was made");
    assert_eq!(stripe.intents().len(), 1, "and Stripe made its intent");

    app.clock.advance(Duration::seconds(61));
    let retry = || {
        TestApp::reply(
            app.client
                .post(format!("{}/v1/bookings", app.base))
                .header("Idempotency-Key", "crash-key")
                .header("Content-Type", "application/json")
                .body(text.clone()),
        )
    };
    let resumed = retry().await;
    resumed.expect(201);
    let intent = stripe.intents().pop().unwrap();
    assert_eq!(
        resumed.body["reference"],
        intent["metadata"]["booking_reference"]
    );
    assert_eq!(
        resumed.body["payment"]["client_secret"],
        intent["client_secret"]
    );
    assert_eq!(stripe.intents().len(), 1, "the same intent");
    assert_eq!(app.available(&departure).await, 2, "one hold, not two");
    // The new access token works (the first never reached the client).
    let held = Held {
        reference: resumed.str("reference"),
        access: resumed.str("access_token"),
        reply: resumed.clone(),
    };
    assert_eq!(booking(&app, &held).await["status"], "held");
    let again = retry().await;
    assert_eq!(again.text, resumed.text, "then replayed as usual");
    app.assert_seat_invariant().await;
}

/// Lapsed holds get paid while other travelers race for the same seats: each late payment
/// either takes its seats back or is refunded, and the departure never holds more than it has.
async fn late_payments_racing_new_holds_never_oversell(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(10).await;
    let mut lapsed = Vec::new();
    for _ in 0..10 {
        lapsed.push(hold(&app, &departure, 1).await);
    }
    app.clock.advance(Duration::seconds(901));
    let mut race = JoinSet::new();
    for (i, held) in lapsed.iter().enumerate() {
        let intent = stripe.intent_for(&held.reference).unwrap();
        let app = app.clone();
        let body = succeeded(&format!("evt_late_race_{i}"), &intent);
        race.spawn(async move { ("payment", app.stripe_event(&body).await) });
    }
    for _ in 0..10 {
        let (app, departure) = (app.clone(), departure.clone());
        race.spawn(async move {
            let reply = app
                .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                .await;
            ("hold", reply)
        });
    }
    let (mut new_holds, mut reinstated, mut refunded) = (0, 0, 0);
    while let Some(result) = race.join_next().await {
        let (what, reply) = result.unwrap();
        assert!(reply.status.as_u16() < 500, "{what}: {}", reply.text);
        match (what, reply.status.as_u16()) {
            ("hold", 201) => new_holds += 1,
            ("hold", 409) => assert_eq!(reply.code(), "sold_out"),
            ("payment", 200) => match reply.body["outcome"].as_str().unwrap() {
                "confirmed" => reinstated += 1,
                "refunded" => refunded += 1,
                other => panic!("unexpected outcome {other}"),
            },
            (what, status) => panic!("{what}: unexpected {status}: {}", reply.text),
        }
    }
    assert_eq!(reinstated + refunded, 10);
    assert_eq!(
        new_holds + reinstated,
        10,
        "every seat sold once, none twice"
    );
    assert_eq!(app.available(&departure).await, 0);
    for held in &lapsed {
        let after = booking(&app, held).await;
        match after["status"].as_str().unwrap() {
            "confirmed" => assert_eq!(after["payment"]["refunded"], 0),
            "cancelled" => {
                assert_eq!(after["cancel_reason"], "sold_out_after_payment");
                assert_eq!(after["payment"]["refunded"], 3500);
            }
            other => panic!("a paid booking ended {other}"),
        }
    }
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}
