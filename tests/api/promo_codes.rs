//! Promo codes: operators create and change them; a hold applies one server-side; a rush never
//! redeems a code past its maximum, and a lapsed or cancelled booking gives its use back; a
//! discounted booking is charged, recorded and reported at its discounted price.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::fake_stripe::{succeeded, FakeStripe};
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    two_hundred_clients_racing_for_a_ten_use_code_redeem_it_ten_times,
    a_code_applies_only_within_its_rules,
    lapsed_and_cancelled_bookings_give_their_use_back,
    operators_create_list_and_change_their_codes,
    a_discounted_booking_is_charged_recorded_and_reported_discounted,
    the_limit_per_traveler_counts_the_email_a_code_was_redeemed_with,
    a_change_gives_a_percent_code_a_currency_and_minimum_spend_or_takes_them_away,
    a_late_payment_takes_its_code_back_only_while_the_code_is_on_and_in_its_window,
);

const HOLD_TTL: i64 = 901;

async fn code(app: &TestApp, token: &str, body: Value) -> String {
    let reply = app.post_as(token, "/v1/promo-codes", body).await;
    reply.expect(201);
    reply.str("id")
}

async fn hold_with(app: &TestApp, departure: &str, adults: u32, email: &str, promo: &str) -> Reply {
    app.post(
        "/v1/bookings",
        json!({
            "departure_id": departure,
            "items": [{"unit": "adult", "quantity": adults}],
            "customer": {"name": "Ada Lovelace", "email": email},
            "promo_code": promo,
        }),
    )
    .await
}

async fn live_redemptions(app: &TestApp, token: &str, id: &str) -> u64 {
    let reply = app.get_as(token, &format!("/v1/promo-codes/{id}")).await;
    reply.expect(200);
    reply.body["redemptions"].as_u64().expect("redemptions")
}

async fn assert_books_balance(app: &TestApp) {
    let violations = berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

async fn two_hundred_clients_racing_for_a_ten_use_code_redeem_it_ten_times(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (token, tour, departure) = app.fresh_departure(500).await;
    // Spread over ten departures: the departures' locks do not order the racers, only the
    // code's does.
    let mut departures = vec![departure.clone()];
    for hours in 49..58 {
        departures.push(app.departure(&token, &tour, 100, hours).await);
    }
    let id = code(
        &app,
        &token,
        json!({"code": "RUSH10", "percent_off": 10, "max_redemptions": 10}),
    )
    .await;

    let mut racers = JoinSet::new();
    for i in 0..200u32 {
        let (app, departure) = (app.clone(), departures[i as usize % 10].clone());
        racers.spawn(async move {
            let email = format!("traveler{i}@example.com");
            hold_with(&app, &departure, 1 + i % 2, &email, "rush10").await
        });
    }
    let mut redeemed = 0;
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        assert!(
            reply.status.as_u16() < 500,
            "5xx in the rush: {}",
            reply.text
        );
        match reply.status.as_u16() {
            201 => {
                redeemed += 1;
                assert_eq!(reply.body["promo_code"], "RUSH10");
                let subtotal = reply.body["subtotal"].as_i64().unwrap();
                assert_eq!(reply.body["discount"].as_i64().unwrap(), subtotal / 10);
            }
            422 => {
                reply.expect_error(422, "promo_code_exhausted");
                assert!(reply.body["error"]["fields"]["promo_code"].is_string());
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(redeemed, 10, "exactly the code's ten uses");
    assert_eq!(live_redemptions(&app, &token, &id).await, 10);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM bookings WHERE promo_code = 'RUSH10'")
            .await,
        10,
        "a refused code keeps nothing of its hold"
    );
    hold_with(&app, &departure, 1, "late@example.com", "RUSH10")
        .await
        .expect_error(422, "promo_code_exhausted");
    // A hold without the code still sells: the code, not the departure, is used up.
    hold_with(&app, &departure, 1, "late@example.com", "")
        .await
        .expect(201);

    // The ten holds lapse: the code is free again at once, before any worker released them.
    app.clock.advance(Duration::seconds(HOLD_TTL));
    assert_eq!(live_redemptions(&app, &token, &id).await, 0);
    hold_with(&app, &departure, 1, "next@example.com", "RUSH10")
        .await
        .expect(201);
    berth::service::holds::release_expired_holds(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM promo_redemptions WHERE released_at IS NULL")
            .await,
        1,
        "the expiry worker released the lapsed ten"
    );
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}

async fn a_code_applies_only_within_its_rules(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(40).await;
    let other_tour = app.tour(&token, json!({"name": "Sunset"})).await;
    let now = app.clock.now();
    code(
        &app,
        &token,
        json!({"code": "TENOFF", "amount_off": 1000, "currency": "EUR", "min_spend": 7000,
               "tour_id": tour, "max_per_customer": 1}),
    )
    .await;
    code(
        &app,
        &token,
        json!({"code": "SOON", "percent_off": 50,
               "valid_from": (now + Duration::days(1)).to_rfc3339(),
               "valid_until": (now + Duration::days(2)).to_rfc3339()}),
    )
    .await;
    code(
        &app,
        &token,
        json!({"code": "ONLYSUNSET", "percent_off": 5, "tour_id": other_tour}),
    )
    .await;
    code(
        &app,
        &token,
        json!({"code": "DOLLARS", "amount_off": 500, "currency": "USD"}),
    )
    .await;
    code(
        &app,
        &token,
        json!({"code": "OFF", "percent_off": 5, "active": false}),
    )
    .await;
    code(
        &app,
        &token,
        json!({"code": "BIGSPENDER", "percent_off": 5, "min_spend": 100, "currency": "USD"}),
    )
    .await;
    app.post_as(
        &token,
        "/v1/promo-codes",
        json!({"code": "NOCURRENCY", "percent_off": 5, "min_spend": 100}),
    )
    .await
    .expect_error(422, "validation_failed");
    let rival = app.operator("Rival Tours").await;
    code(&app, &rival, json!({"code": "RIVAL", "percent_off": 50})).await;

    let refused = |promo: &'static str, adults: u32, why: &'static str| {
        let (app, departure) = (&app, departure.clone());
        async move {
            let reply = hold_with(app, &departure, adults, "ada@example.com", promo).await;
            reply.expect_error(422, why);
            assert!(
                reply.body["error"]["fields"]["promo_code"].is_string(),
                "the field is named: {}",
                reply.text
            );
        }
    };
    refused("NOPE", 2, "promo_code_unknown").await;
    refused("no spaces allowed", 2, "promo_code_unknown").await;
    refused("RIVAL", 2, "promo_code_unknown").await;
    refused("OFF", 2, "promo_code_unknown").await;
    refused("TENOFF", 1, "promo_code_minimum_spend").await;
    refused("ONLYSUNSET", 2, "promo_code_not_applicable").await;
    refused("DOLLARS", 2, "promo_code_not_applicable").await;
    refused("SOON", 2, "promo_code_not_valid_now").await;
    refused("BIGSPENDER", 2, "promo_code_not_applicable").await;

    let held = hold_with(&app, &departure, 2, "ada@example.com", " tenoff ").await;
    held.expect(201);
    assert_eq!(
        (
            held.body["subtotal"].as_i64(),
            held.body["discount"].as_i64(),
            held.body["total"].as_i64()
        ),
        (Some(7000), Some(1000), Some(6000))
    );
    assert_eq!(held.body["promo_code"], "TENOFF");
    // Once per traveler email, however it is capitalized.
    hold_with(&app, &departure, 2, "ADA@example.com", "TENOFF")
        .await
        .expect_error(422, "promo_code_customer_limit");
    hold_with(&app, &departure, 2, "grace@example.com", "TENOFF")
        .await
        .expect(201);

    app.clock.advance(Duration::days(1));
    let half = hold_with(&app, &departure, 1, "ada@example.com", "soon").await;
    half.expect(201);
    assert_eq!(half.body["total"], 1750);
    app.clock.advance(Duration::days(1));
    refused("SOON", 1, "promo_code_not_valid_now").await;

    // Prices stay the server's: a client cannot send a discount of its own.
    app.post(
        "/v1/bookings",
        json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
               "customer": {"name": "Ada", "email": "ada@example.com"}, "discount": 3500}),
    )
    .await
    .expect_error(422, "validation_failed");
    app.assert_seat_invariant().await;
}

async fn lapsed_and_cancelled_bookings_give_their_use_back(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(40).await;
    let id = code(
        &app,
        &token,
        json!({"code": "TWO", "percent_off": 20, "max_redemptions": 2}),
    )
    .await;
    let first = hold_with(&app, &departure, 1, "a@example.com", "TWO").await;
    first.expect(201);
    let second = hold_with(&app, &departure, 1, "b@example.com", "TWO").await;
    second.expect(201);
    hold_with(&app, &departure, 1, "c@example.com", "TWO")
        .await
        .expect_error(422, "promo_code_exhausted");

    // The traveler cancels: the use comes back in the same transaction.
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", first.str("reference")),
        &first.str("access_token"),
    )
    .await
    .expect(200);
    assert_eq!(live_redemptions(&app, &token, &id).await, 1);
    let third = hold_with(&app, &departure, 1, "c@example.com", "TWO").await;
    third.expect(201);

    // The operator cancels the departure: every use on it comes back.
    app.post_as(
        &token,
        &format!("/v1/departures/{departure}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(live_redemptions(&app, &token, &id).await, 0);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM promo_redemptions WHERE released_at IS NULL")
            .await,
        0
    );
    let next = app.departure(&token, &tour, 10, 72).await;
    hold_with(&app, &next, 1, "d@example.com", "TWO")
        .await
        .expect(201);
    hold_with(&app, &next, 1, "e@example.com", "TWO")
        .await
        .expect(201);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;

    // `berth check` finds a code redeemed past its maximum, and a use never given back.
    app.execute_sql(&format!(
        "UPDATE promo_codes SET max_redemptions = 1 WHERE id = '{id}'"
    ))
    .await;
    app.execute_sql(&format!(
        "UPDATE promo_redemptions SET released_at = NULL WHERE booking_id = \
         (SELECT id FROM bookings WHERE reference = '{}')",
        first.str("reference")
    ))
    .await;
    let found = berth::service::check::promo_codes(&app.store, app.clock.now())
        .await
        .unwrap();
    let subjects: Vec<&str> = found.iter().map(|v| v.subject.as_str()).collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(subjects[0], format!("promo code {id}"));
    assert!(subjects[1].starts_with("booking "), "{found:?}");
}

async fn operators_create_list_and_change_their_codes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(40).await;
    let bad = app
        .post_as(
            &token,
            "/v1/promo-codes",
            json!({"code": "has space", "percent_off": 0, "min_spend": -5}),
        )
        .await;
    bad.expect_error(422, "validation_failed");
    for field in ["code", "percent_off", "min_spend"] {
        assert!(
            bad.body["error"]["fields"][field].is_string(),
            "{}",
            bad.text
        );
    }
    app.post_as(
        &token,
        "/v1/promo-codes",
        json!({"code": "X", "amount_off": 100}),
    )
    .await
    .expect_error(422, "validation_failed");
    let id = code(
        &app,
        &token,
        json!({"code": "Spring", "percent_off": 15, "max_redemptions": 5}),
    )
    .await;
    app.post_as(
        &token,
        "/v1/promo-codes",
        json!({"code": "SPRING", "percent_off": 5}),
    )
    .await
    .expect_error(409, "promo_code_taken");

    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        hold_with(&app, &departure, 1, email, "SPRING")
            .await
            .expect(201);
    }
    let listed = app.get_as(&token, "/v1/promo-codes").await;
    listed.expect(200);
    let listed = listed.body.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["code"], "SPRING");
    assert_eq!(listed[0]["redemptions"], 3);

    let path = format!("/v1/promo-codes/{id}");
    app.patch_as(&token, &path, json!({"max_redemptions": 2}))
        .await
        .expect_error(409, "below_redeemed");
    let changed = app
        .patch_as(
            &token,
            &path,
            json!({"max_redemptions": 3, "active": false}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["max_redemptions"], 3);
    assert_eq!(changed.body["active"], false);
    hold_with(&app, &departure, 1, "d@example.com", "SPRING")
        .await
        .expect_error(422, "promo_code_unknown");
    let reopened = app
        .patch_as(
            &token,
            &path,
            json!({"active": true, "max_redemptions": null}),
        )
        .await;
    reopened.expect(200);
    assert_eq!(reopened.body["max_redemptions"], Value::Null);
    hold_with(&app, &departure, 1, "d@example.com", "SPRING")
        .await
        .expect(201);
    app.patch_as(&token, &path, json!({"code": "RENAMED"}))
        .await
        .expect_error(422, "validation_failed");

    // Another operator sees none of it.
    let rival = app.operator("Rival Tours").await;
    app.get_as(&rival, &path)
        .await
        .expect_error(404, "not_found");
    app.patch_as(&rival, &path, json!({"active": false}))
        .await
        .expect_error(404, "not_found");
    assert_eq!(app.get_as(&rival, "/v1/promo-codes").await.body, json!([]));
    assert_eq!(
        app.query_strings(
            "SELECT action FROM audit_log WHERE action LIKE 'promo_code.%' ORDER BY created_at, id"
        )
        .await,
        [
            "promo_code.create",
            "promo_code.update",
            "promo_code.update"
        ]
    );
}

async fn a_discounted_booking_is_charged_recorded_and_reported_discounted(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(3).await;
    code(
        &app,
        &token,
        json!({"code": "QUARTER", "percent_off": 25, "max_redemptions": 1}),
    )
    .await;
    code(&app, &token, json!({"code": "FREE", "percent_off": 100})).await;

    let held = hold_with(&app, &departure, 2, "ada@example.com", "QUARTER").await;
    held.expect(201);
    assert_eq!(held.body["total"], 5250);
    let reference = held.str("reference");
    let intent = stripe.intent_for(&reference).expect("intent created");
    assert_eq!(intent["amount"], 5250, "charged the discounted total");
    let ack = app.stripe_event(&succeeded("evt_quarter", &intent)).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    assert_eq!(
        app.query_i64("SELECT discount FROM ledger_entries WHERE kind = 'payment'")
            .await,
        1750,
        "the ledger records the discount beside the payment"
    );
    let today = app.clock.now().date_naive();
    let report = app
        .get_as(
            &token,
            &format!("/v1/reports/revenue?from={today}&to={today}"),
        )
        .await;
    report.expect(200);
    let eur = &report.body["currencies"][0];
    assert_eq!(
        (
            &eur["gross"],
            &eur["discounts"],
            &eur["payments"],
            &eur["net"]
        ),
        (&json!(7000), &json!(1750), &json!(5250), &json!(5250))
    );

    // Nothing to pay: no payment is started at Stripe.
    let intents = stripe.intents().len();
    app.post_with_booking_token(
        &format!("/v1/bookings/{reference}/cancel"),
        &held.str("access_token"),
    )
    .await
    .expect(200);
    let free = hold_with(&app, &departure, 1, "grace@example.com", "free").await;
    free.expect(201);
    assert_eq!(free.body["total"], 0);
    assert_eq!(stripe.intents().len(), intents, "no intent for nothing");
    // Confirmed like a booking paid on arrival, with nothing to collect.
    let confirmed = app
        .post_with_booking_token(
            &format!("/v1/bookings/{}/confirm", free.str("reference")),
            &free.str("access_token"),
        )
        .await;
    confirmed.expect(200);
    assert_eq!(confirmed.body["status"], "confirmed");

    // A paid hold lapses and its code is used up meanwhile: the late payment is refunded even
    // though seats are free.
    let late = hold_with(&app, &departure, 1, "late@example.com", "QUARTER").await;
    late.expect(201);
    app.clock.advance(Duration::seconds(HOLD_TTL));
    hold_with(&app, &departure, 1, "quick@example.com", "QUARTER")
        .await
        .expect(201);
    let intent = stripe.intent_for(&late.str("reference")).unwrap();
    assert_eq!(app.available(&departure).await, 1, "a seat is free for it");
    let ack = app.stripe_event(&succeeded("evt_late", &intent)).await;
    assert_eq!(ack.body["outcome"], "refunded", "{}", ack.text);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}

/// The limit per traveler counts the email each redemption was made with: a booking whose email
/// changes afterwards neither gives the old address its use back nor takes one from the new.
async fn the_limit_per_traveler_counts_the_email_a_code_was_redeemed_with(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(40).await;
    code(
        &app,
        &token,
        json!({"code": "ONCE", "percent_off": 10, "max_per_customer": 1}),
    )
    .await;
    let held = hold_with(&app, &departure, 1, "Ada@Example.com", "ONCE").await;
    held.expect(201);
    // No endpoint changes a discounted booking's email today (a reseller's bookings, whose
    // contact comes later, take no codes), so the change is made in the database, as a contact
    // change or a support edit would make it.
    app.execute_sql(&format!(
        "UPDATE bookings SET customer_email = 'grace@example.com' WHERE reference = '{}'",
        held.str("reference")
    ))
    .await;
    hold_with(&app, &departure, 1, "ada@example.com", "ONCE")
        .await
        .expect_error(422, "promo_code_customer_limit");
    hold_with(&app, &departure, 1, "grace@example.com", "ONCE")
        .await
        .expect(201);
    assert_eq!(
        app.query_strings(
            "SELECT customer_email FROM promo_redemptions ORDER BY redeemed_at, customer_email"
        )
        .await,
        ["ada@example.com", "grace@example.com"],
        "each redemption records the email it was made with, lower-cased"
    );
    app.assert_seat_invariant().await;
}

/// `PATCH` sets or clears a code's currency and minimum spend with the rules of creation: a
/// minimum spend needs a currency, and an amount off keeps its own.
async fn a_change_gives_a_percent_code_a_currency_and_minimum_spend_or_takes_them_away(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(40).await;
    let id = code(&app, &token, json!({"code": "PCT", "percent_off": 10})).await;
    let path = format!("/v1/promo-codes/{id}");
    let refused = app
        .patch_as(&token, &path, json!({"min_spend": 5000}))
        .await;
    refused.expect_error(422, "validation_failed");
    assert!(
        refused.body["error"]["fields"]["currency"].is_string(),
        "{}",
        refused.text
    );
    let bad = app
        .patch_as(&token, &path, json!({"currency": "EURO", "min_spend": -1}))
        .await;
    bad.expect_error(422, "validation_failed");
    for field in ["currency", "min_spend"] {
        assert!(
            bad.body["error"]["fields"][field].is_string(),
            "{}",
            bad.text
        );
    }

    let changed = app
        .patch_as(&token, &path, json!({"currency": "EUR", "min_spend": 5000}))
        .await;
    changed.expect(200);
    assert_eq!(
        (&changed.body["currency"], &changed.body["min_spend"]),
        (&json!("EUR"), &json!(5000))
    );
    let stored = app.get_as(&token, &path).await;
    stored.expect(200);
    assert_eq!(
        (&stored.body["currency"], &stored.body["min_spend"]),
        (&json!("EUR"), &json!(5000)),
        "stored, not only answered"
    );
    hold_with(&app, &departure, 1, "ada@example.com", "PCT")
        .await
        .expect_error(422, "promo_code_minimum_spend");
    let held = hold_with(&app, &departure, 2, "ada@example.com", "PCT").await;
    held.expect(201);
    assert_eq!(held.body["discount"], 700);

    // In a currency the tour is not sold in, the code no longer applies to it.
    app.patch_as(&token, &path, json!({"currency": "USD"}))
        .await
        .expect(200);
    hold_with(&app, &departure, 2, "grace@example.com", "PCT")
        .await
        .expect_error(422, "promo_code_not_applicable");
    // The minimum spend still needs its currency; both go together.
    app.patch_as(&token, &path, json!({"currency": null}))
        .await
        .expect_error(422, "validation_failed");
    let cleared = app
        .patch_as(&token, &path, json!({"currency": null, "min_spend": null}))
        .await;
    cleared.expect(200);
    assert_eq!(
        (&cleared.body["currency"], &cleared.body["min_spend"]),
        (&Value::Null, &json!(0))
    );
    hold_with(&app, &departure, 1, "grace@example.com", "PCT")
        .await
        .expect(201);

    // An amount off is in its currency for good; a minimum spend is added in it.
    let amount = code(
        &app,
        &token,
        json!({"code": "TENOFF", "amount_off": 1000, "currency": "EUR"}),
    )
    .await;
    let amount_path = format!("/v1/promo-codes/{amount}");
    for currency in [json!("USD"), Value::Null] {
        let refused = app
            .patch_as(&token, &amount_path, json!({"currency": currency}))
            .await;
        refused.expect_error(422, "validation_failed");
        assert!(refused.body["error"]["fields"]["currency"].is_string());
    }
    let minimum = app
        .patch_as(&token, &amount_path, json!({"min_spend": 4000}))
        .await;
    minimum.expect(200);
    assert_eq!(
        (&minimum.body["currency"], &minimum.body["amount_off"]),
        (&json!("EUR"), &json!(1000))
    );
    assert_eq!(
        app.query_strings(&format!(
            "SELECT detail FROM audit_log WHERE action = 'promo_code.update' AND target = 'promo_code:{id}' \
             ORDER BY created_at, id"
        ))
        .await
        .first()
        .map(String::as_str),
        Some(r#"{"currency":"EUR","min_spend":5000}"#),
        "the audit log names what changed"
    );
}

/// A payment arriving after its hold lapsed takes its code's use back only while the code is
/// still switched on and within its window; otherwise it is refunded like one that found the
/// departure sold out.
async fn a_late_payment_takes_its_code_back_only_while_the_code_is_on_and_in_its_window(
    backend: Backend,
) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let until = app.clock.now() + Duration::seconds(HOLD_TTL / 2);
    code(
        &app,
        &token,
        json!({"code": "ENDING", "percent_off": 10, "valid_until": until.to_rfc3339()}),
    )
    .await;
    let switched_off = code(&app, &token, json!({"code": "OFFSOON", "percent_off": 10})).await;
    code(&app, &token, json!({"code": "STAYS", "percent_off": 10})).await;
    let ending = hold_with(&app, &departure, 1, "a@example.com", "ENDING").await;
    let off = hold_with(&app, &departure, 1, "b@example.com", "OFFSOON").await;
    let stays = hold_with(&app, &departure, 1, "c@example.com", "STAYS").await;
    for held in [&ending, &off, &stays] {
        held.expect(201);
    }
    app.clock.advance(Duration::seconds(HOLD_TTL));
    app.patch_as(
        &token,
        &format!("/v1/promo-codes/{switched_off}"),
        json!({"active": false}),
    )
    .await
    .expect(200);

    for (held, outcome) in [
        (&ending, "refunded"),
        (&off, "refunded"),
        (&stays, "confirmed"),
    ] {
        let reference = held.str("reference");
        let intent = stripe.intent_for(&reference).expect("intent created");
        let ack = app
            .stripe_event(&succeeded(&format!("evt_{reference}"), &intent))
            .await;
        assert_eq!(ack.body["outcome"], outcome, "{reference}: {}", ack.text);
    }
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM promo_redemptions WHERE released_at IS NULL")
            .await,
        1,
        "only the usable code's use was taken back"
    );
    assert_eq!(app.available(&departure).await, 9);
    app.assert_seat_invariant().await;
    assert_books_balance(&app).await;
}
