//! Waitlist (issue 19 §4): travelers join a sold-out departure's line; freed seats are owed to
//! them in the order they joined, never sold to a rush meanwhile; berth holds them for the first
//! who fit and tells them; a lapsed offer moves the line on; seats beyond what the line wants go
//! back on sale; operators see and prune the line.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    a_cancellation_racing_a_rush_serves_the_waitlisted_traveler_first,
    offers_go_in_join_order_lapse_and_move_on_and_extra_seats_go_on_sale,
    two_instances_offering_at_once_make_one_offer_per_traveler,
    joining_is_checked_and_operators_see_and_prune_the_line,
    an_offer_whose_payment_cannot_start_keeps_the_travelers_place,
    when_sales_close_the_line_ends_and_each_traveler_is_told_once,
    a_move_onto_the_departure_does_not_take_seats_owed_to_the_line,
    a_late_payment_does_not_take_seats_owed_to_the_line,
    a_line_beyond_the_first_batch_of_departures_is_offered_its_seats,
);

fn adults(quantity: i64) -> Value {
    json!([{"unit": "adult", "quantity": quantity}])
}

/// Joins the line as `who`; the test clock then moves a second, so the order of joining is
/// the order of the calls.
async fn join(app: &TestApp, departure: &str, who: &str, quantity: i64) -> Reply {
    let reply = app
        .post(
            &format!("/v1/departures/{departure}/waitlist"),
            json!({"name": who, "email": format!("{}@example.com", who.to_lowercase()),
                   "phone": format!("+3519123{:05}", who.bytes().map(u32::from).sum::<u32>()),
                   "items": adults(quantity)}),
        )
        .await;
    app.clock.advance(Duration::seconds(1));
    reply
}

async fn offer(app: &TestApp) -> usize {
    berth::workers::waitlist::run_once(
        &app.store,
        &app.payments,
        app.clock.now(),
        app.config.waitlist_offer_ttl(),
    )
    .await
    .expect("offers")
}

async fn line(app: &TestApp, token: &str, departure: &str) -> Vec<Value> {
    let reply = app
        .get_as(token, &format!("/v1/departures/{departure}/waitlist"))
        .await;
    reply.expect(200);
    reply.body.as_array().expect("a list").clone()
}

fn states(line: &[Value]) -> Vec<(String, String)> {
    line.iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Sells `capacity` seats out in holds of two; returns (reference, access token) of each.
async fn sell_out(app: &TestApp, departure: &str, holds: usize) -> Vec<(String, String)> {
    let mut sold = Vec::new();
    for _ in 0..holds {
        let reply = app.hold(departure, adults(2)).await;
        reply.expect(201);
        sold.push((reply.str("reference"), reply.str("access_token")));
    }
    assert_eq!(app.available(departure).await, 0);
    sold
}

async fn assert_check_clean(app: &TestApp) {
    let violations = berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

async fn a_cancellation_racing_a_rush_serves_the_waitlisted_traveler_first(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (token, _tour, departure) = app.fresh_departure(10).await;
    join(&app, &departure, "Early", 2)
        .await
        .expect_error(409, "seats_available");
    let sold = sell_out(&app, &departure, 5).await;
    let joined = join(&app, &departure, "Grace", 2).await;
    joined.expect(201);
    assert_eq!(joined.body["position"], 1);
    assert_eq!(joined.body["seats"], 2);

    // One traveler cancels two seats while 60 others rush for one seat each.
    let mut racers = JoinSet::new();
    let (reference, access) = sold[0].clone();
    {
        let app = app.clone();
        racers.spawn(async move {
            let reply = app
                .post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &access)
                .await;
            reply.expect(200);
            None
        });
    }
    for _ in 0..60 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move { Some(app.hold(&departure, adults(1)).await) });
    }
    let mut refused = 0;
    while let Some(done) = racers.join_next().await {
        if let Some(reply) = done.unwrap() {
            assert!(
                !reply.status.is_server_error(),
                "{} {}",
                reply.status,
                reply.text
            );
            reply.expect_error(409, "sold_out");
            assert_eq!(reply.body["error"]["available"], 0, "{}", reply.text);
            refused += 1;
        }
    }
    assert_eq!(
        refused, 60,
        "the freed seats are owed to Grace, not the rush"
    );
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;

    assert_eq!(offer(&app).await, 1);
    let line = line(&app, &token, &departure).await;
    assert_eq!(states(&line), [("Grace".to_owned(), "offered".to_owned())]);
    let reference = line[0]["booking_reference"].as_str().unwrap().to_owned();
    let booking = app
        .get_as(&token, &format!("/v1/bookings/{reference}"))
        .await;
    booking.expect(200);
    assert_eq!(booking.body["status"], "held");
    assert_eq!(booking.body["seats"], 2);
    assert_eq!(booking.body["customer"]["name"], "Grace");
    let offers = app
        .query_i64(&format!(
            "SELECT COUNT(*) FROM outbox o JOIN bookings b ON b.id = o.booking_id \
             WHERE o.kind = 'waitlist_offer' AND b.reference = '{reference}'"
        ))
        .await;
    assert_eq!(offers, 2, "an email and an SMS tell Grace");
    assert_eq!(offer(&app).await, 0, "one offer per traveler");
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;

    // Cancelled before the dispatcher got to it, the offer is not sent.
    app.post_as(
        &token,
        &format!("/v1/bookings/{reference}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .unwrap();
    let sent = app
        .query_strings("SELECT status FROM outbox WHERE kind = 'waitlist_offer' ORDER BY status")
        .await;
    assert_eq!(sent, ["failed", "failed"], "not sent: the hold is gone");
}

async fn offers_go_in_join_order_lapse_and_move_on_and_extra_seats_go_on_sale(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _tour, departure) = app.fresh_departure(6).await;
    let sold = sell_out(&app, &departure, 3).await;
    join(&app, &departure, "Ana", 4).await.expect(201);
    let bea = join(&app, &departure, "Bea", 2).await;
    bea.expect(201);
    assert_eq!(bea.body["position"], 2);
    join(&app, &departure, "Cai", 1).await.expect(201);

    // Two seats free: Ana (four) does not fit, Bea (two) is served; nothing left for sale.
    let (reference, access) = &sold[0];
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), access)
        .await
        .expect(200);
    assert_eq!(app.available(&departure).await, 0, "owed to Bea");
    assert_eq!(offer(&app).await, 1);
    assert_eq!(
        states(&line(&app, &token, &departure).await),
        [
            ("Ana".to_owned(), "waiting".to_owned()),
            ("Bea".to_owned(), "offered".to_owned()),
            ("Cai".to_owned(), "waiting".to_owned()),
        ]
    );

    // Capacity raised by six: Ana's four and Cai's one are owed, one seat goes on sale.
    app.patch_as(
        &token,
        &format!("/v1/departures/{departure}"),
        json!({"capacity": 12}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.available(&departure).await,
        1,
        "beyond the line, for sale"
    );
    app.hold(&departure, adults(2))
        .await
        .expect_error(409, "sold_out");
    app.hold(&departure, adults(1)).await.expect(201);
    assert_eq!(offer(&app).await, 2);

    // Dan joins the full departure. Every offer (and every other hold) then lapses; the expiry
    // worker frees the seats, and the only one still waiting, Dan, is served.
    join(&app, &departure, "Dan", 2).await.expect(201);
    app.clock
        .advance(app.config.waitlist_offer_ttl() + Duration::minutes(1));
    berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(offer(&app).await, 1);
    let listed = line(&app, &token, &departure).await;
    let by_name: Vec<(String, String)> = states(&listed);
    assert_eq!(
        by_name,
        [
            ("Ana".to_owned(), "lapsed".to_owned()),
            ("Bea".to_owned(), "lapsed".to_owned()),
            ("Cai".to_owned(), "lapsed".to_owned()),
            ("Dan".to_owned(), "offered".to_owned()),
        ]
    );
    // The offer email names the hold and links the manage page.
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .unwrap();
    let dan = listed[3]["booking_reference"].as_str().unwrap();
    let mails: Vec<String> = std::fs::read_dir(app.files.path().join("mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|mail| mail.replace("=\r\n", "").replace("=\n", ""))
        .filter(|mail| mail.contains(dan))
        .collect();
    assert_eq!(mails.len(), 1, "one email to Dan");
    assert!(mails[0].contains("Seats for you"), "{}", mails[0]);
    assert!(mails[0].contains("/manage/"), "{}", mails[0]);
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;
}

async fn two_instances_offering_at_once_make_one_offer_per_traveler(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let (token, _tour, departure) = app.fresh_departure(8).await;
    let sold = sell_out(&app, &departure, 4).await;
    for who in ["Ana", "Bea", "Cai"] {
        join(&app, &departure, who, 2).await.expect(201);
    }
    for (reference, access) in &sold[..3] {
        app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), access)
            .await
            .expect(200);
    }
    let mut passes = JoinSet::new();
    for _ in 0..4 {
        let app = app.clone();
        passes.spawn(async move { offer(&app).await });
    }
    let mut offered = 0;
    while let Some(done) = passes.join_next().await {
        offered += done.unwrap();
    }
    offered += offer(&app).await;
    assert_eq!(offered, 3, "each traveler offered once");
    let listed = line(&app, &token, &departure).await;
    assert!(listed.iter().all(|e| e["state"] == "offered"), "{listed:?}");
    let held = app
        .query_i64(&format!(
            "SELECT COUNT(*) FROM bookings WHERE departure_id = '{departure}' AND status = 'held'"
        ))
        .await;
    assert_eq!(held, 4, "one of the first four holds plus three offers");
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;

    // `berth check` notices an offer whose hold is not what the traveler waited for.
    let entry = listed[0]["id"].as_str().unwrap();
    app.execute_sql(&format!(
        "UPDATE waitlist_entries SET seats = 3 WHERE id = '{entry}'"
    ))
    .await;
    let violations = berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].subject, format!("waitlist entry {entry}"));
    assert!(
        violations[0].detail.contains("wanted 3 seats"),
        "{violations:?}"
    );
}

async fn joining_is_checked_and_operators_see_and_prune_the_line(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _tour, departure) = app.fresh_departure(2).await;
    sell_out(&app, &departure, 1).await;
    let path = format!("/v1/departures/{departure}/waitlist");
    let reply = app
        .post(&path, json!({"name": "Ada", "items": adults(1)}))
        .await;
    reply.expect_error(422, "validation_failed");
    assert!(reply.text.contains("email"), "{}", reply.text);
    app.post(
        &path,
        json!({"name": "Ada", "email": "not-an-email", "items": adults(1)}),
    )
    .await
    .expect_error(422, "validation_failed");
    app.post(
        &path,
        json!({"name": "Ada", "email": "ada@example.com", "items": [{"unit": "dragon", "quantity": 1}]}),
    )
    .await
    .expect_error(422, "validation_failed");
    let unknown = app
        .post(
            &path,
            json!({"name": "Ada", "email": "ada@example.com", "items": adults(1), "price": 0}),
        )
        .await;
    assert!(unknown.status.is_client_error(), "{}", unknown.text);
    app.post(
        "/v1/departures/01JD3Z8Q4W7N5X2R6T9V0B1C3D/waitlist",
        json!({"name": "Ada", "email": "ada@example.com", "items": adults(1)}),
    )
    .await
    .expect_error(404, "not_found");
    // A phone alone is enough, in Spanish by the request's language.
    let by_phone = TestApp::reply(
        app.client
            .post(format!("{}{path}", app.base))
            .header("Accept-Language", "es")
            .json(&json!({"name": "Bo", "phone": "+34600111222", "items": adults(1)})),
    )
    .await;
    by_phone.expect(201);
    app.clock.advance(Duration::seconds(1));
    let ada = app
        .post(
            &path,
            json!({"name": "Ada", "email": "Ada@Example.com", "items": adults(1)}),
        )
        .await;
    ada.expect(201);
    assert_eq!(ada.body["position"], 2);
    app.post(
        &path,
        json!({"name": "Ada again", "email": "ada@example.com", "items": adults(2)}),
    )
    .await
    .expect_error(409, "already_waiting");

    let listed = line(&app, &token, &departure).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["phone"], "+34600111222");
    assert_eq!(listed[0]["email"], Value::Null);
    assert_eq!(listed[0]["language"], "es");
    assert_eq!(listed[1]["email"], "Ada@Example.com", "as typed");

    // Another operator sees nothing of it, and cannot remove from it.
    let other = app.operator("Other Tours").await;
    app.get_as(&other, &path)
        .await
        .expect_error(404, "not_found");
    let entry = listed[1]["id"].as_str().unwrap();
    let entry_path = format!("{path}/{entry}");
    let delete = reqwest::Method::DELETE;
    app.request(delete.clone(), &entry_path, Some(&other), None)
        .await
        .expect_error(404, "not_found");
    app.request(delete.clone(), &entry_path, Some(&token), None)
        .await
        .expect(204);
    app.request(delete, &entry_path, Some(&token), None)
        .await
        .expect_error(409, "not_waiting");
    let listed = line(&app, &token, &departure).await;
    assert_eq!(listed[1]["state"], "removed");
    // Traveler-facing reads never show the line's people.
    let public = app.get(&format!("/v1/departures/{departure}")).await;
    assert!(!public.text.contains("ada@example.com"));
    app.get(&path).await.expect_error(401, "unauthorized");
    assert_check_clean(&app).await;

    // Thirty days after the departure the line is deleted, names and addresses with it.
    let count = "SELECT COUNT(*) FROM waitlist_entries";
    app.clock.advance(Duration::days(31));
    berth::workers::waitlist::purge_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        app.query_i64(count).await,
        2,
        "the departure left 29 days ago"
    );
    app.clock.advance(Duration::days(2));
    let purged = berth::workers::waitlist::purge_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(purged, 2);
    assert_eq!(app.query_i64(count).await, 0);
}

/// Paid online, an offer whose payment the provider cannot start is given up at once (as any
/// hold is); the traveler keeps their place and a later pass offers again.
async fn an_offer_whose_payment_cannot_start_keeps_the_travelers_place(backend: Backend) {
    use crate::support::fake_stripe::{FakeStripe, Mode};
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let (token, _tour, departure) = app.fresh_departure(2).await;
    let sold = sell_out(&app, &departure, 1).await;
    join(&app, &departure, "Grace", 2).await.expect(201);
    let (reference, access) = &sold[0];
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), access)
        .await
        .expect(200);

    stripe.set_mode(Mode::Fail(500));
    assert_eq!(offer(&app).await, 0);
    let waiting = line(&app, &token, &departure).await;
    assert_eq!(
        states(&waiting),
        [("Grace".to_owned(), "waiting".to_owned())]
    );
    assert_eq!(app.available(&departure).await, 0, "still owed to Grace");

    stripe.set_mode(Mode::Normal);
    assert_eq!(offer(&app).await, 1);
    let offered = line(&app, &token, &departure).await;
    assert_eq!(
        states(&offered),
        [("Grace".to_owned(), "offered".to_owned())]
    );
    let held = offered[0]["booking_reference"].as_str().unwrap();
    assert!(
        stripe.intent_for(held).is_some(),
        "the offer's payment was started"
    );
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;
}

/// The `waitlist_closed` messages about a departure's line: (traveler, channel), in order.
async fn closed_messages(app: &TestApp, departure: &str) -> Vec<String> {
    app.query_strings(&format!(
        "SELECT CONCAT(w.customer_name, ' ', o.channel) FROM outbox o \
         JOIN waitlist_entries w ON w.id = o.subject_id \
         WHERE o.kind = 'waitlist_closed' AND w.departure_id = '{departure}' \
         ORDER BY w.customer_name, o.channel"
    ))
    .await
}

/// Once a departure can no longer be sold (its cutoff passed, it departed, it was cancelled,
/// its tour archived), its waiting travelers' line ends: each is `closed` and told once, by
/// email and SMS in their language, even with passes racing; a departure still on sale keeps
/// its line; and the worker no longer looks at a closed one.
async fn when_sales_close_the_line_ends_and_each_traveler_is_told_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    // Two days out; the tour's cutoff is 30 minutes before departure.
    let (token, tour, soon) = app.fresh_departure(2).await;
    let later = app.departure(&token, &tour, 2, 72).await;
    let cancelled = app.departure(&token, &tour, 2, 96).await;
    let other_tour = app.tour(&token, json!({"name": "Night walk"})).await;
    let archived = app.departure(&token, &other_tour, 2, 96).await;
    // Sold out in confirmed bookings: no hold lapses while the clock moves on.
    for departure in [&soon, &later, &cancelled, &archived] {
        for (reference, access) in sell_out(&app, departure, 1).await {
            app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &access)
                .await
                .expect(200);
        }
    }
    join(&app, &soon, "Ana", 1).await.expect(201);
    // Bea leaves only a phone, and reads Spanish.
    app.post(
        &format!("/v1/departures/{soon}/waitlist"),
        json!({"name": "Bea", "phone": "+34600111222", "language": "es", "items": adults(2)}),
    )
    .await
    .expect(201);
    join(&app, &later, "Cai", 1).await.expect(201);
    join(&app, &cancelled, "Dan", 1).await.expect(201);
    join(&app, &archived, "Eve", 1).await.expect(201);
    let waiting = |name: &str| (name.to_owned(), "waiting".to_owned());
    let closed = |name: &str| (name.to_owned(), "closed".to_owned());

    assert_eq!(offer(&app).await, 0);
    assert_eq!(
        states(&line(&app, &token, &soon).await),
        [waiting("Ana"), waiting("Bea")]
    );
    assert!(closed_messages(&app, &soon).await.is_empty());

    // Past the first departure's cutoff, before it leaves: its sales are closed. Passes on
    // several instances race to end its line.
    app.clock
        .advance(Duration::hours(48) - Duration::minutes(29));
    let mut passes = JoinSet::new();
    for _ in 0..4 {
        let app = app.clone();
        passes.spawn(async move { offer(&app).await });
    }
    for _ in 0..2 {
        let app = app.clone();
        passes.spawn(async move {
            berth::service::waitlist::close_ended(&app.store, app.clock.now())
                .await
                .expect("closes");
            0
        });
    }
    let mut offered = 0;
    while let Some(done) = passes.join_next().await {
        offered += done.unwrap();
    }
    assert_eq!(offered, 0);
    assert_eq!(
        states(&line(&app, &token, &soon).await),
        [closed("Ana"), closed("Bea")]
    );
    assert_eq!(
        closed_messages(&app, &soon).await,
        ["Ana email", "Ana sms", "Bea sms"],
        "each told once, on each channel they left"
    );
    // The operator's message list shows them, about the entries; another operator's does not.
    let listed = app.get_as(&token, "/v1/messages").await;
    listed.expect(200);
    let told: Vec<&Value> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "waitlist_closed")
        .collect();
    assert_eq!(told.len(), 3, "{}", listed.text);
    for message in &told {
        assert_eq!(message["booking_id"], "");
        assert!(message["waitlist_entry_id"].is_string(), "{message}");
    }
    let other = app.operator("Other Tours").await;
    let theirs = app.get_as(&other, "/v1/messages").await;
    theirs.expect(200);
    assert_eq!(theirs.body, json!([]));
    // Still on sale: their lines stand.
    assert_eq!(states(&line(&app, &token, &later).await), [waiting("Cai")]);
    assert_eq!(
        states(&line(&app, &token, &cancelled).await),
        [waiting("Dan")]
    );

    // Later passes tell nobody again, and no longer look at the closed departure.
    assert_eq!(offer(&app).await, 0);
    assert_eq!(closed_messages(&app, &soon).await.len(), 3);
    let looked_at = berth::storage::waitlist::departures_with_waiting(&app.store, None, 100)
        .await
        .unwrap();
    assert!(
        looked_at.iter().all(|(id, _)| id.as_str() != soon),
        "{looked_at:?}"
    );

    // A cancelled departure and an archived tour end their lines at the next pass.
    app.post_as(
        &token,
        &format!("/v1/departures/{cancelled}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    app.post_as(
        &token,
        &format!("/v1/tours/{other_tour}/archive"),
        json!({}),
    )
    .await
    .expect(200);
    offer(&app).await;
    assert_eq!(
        states(&line(&app, &token, &cancelled).await),
        [closed("Dan")]
    );
    assert_eq!(
        states(&line(&app, &token, &archived).await),
        [closed("Eve")]
    );
    assert_eq!(
        closed_messages(&app, &cancelled).await,
        ["Dan email", "Dan sms"]
    );
    assert_eq!(
        closed_messages(&app, &archived).await,
        ["Eve email", "Eve sms"]
    );
    assert_eq!(states(&line(&app, &token, &later).await), [waiting("Cai")]);

    // Once it has departed, so does the one that was still on sale.
    app.clock.advance(Duration::hours(25));
    offer(&app).await;
    assert_eq!(states(&line(&app, &token, &later).await), [closed("Cai")]);
    assert_eq!(
        closed_messages(&app, &later).await,
        ["Cai email", "Cai sms"]
    );

    // What they read: the departure they waited for, in their language.
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .unwrap();
    let statuses = app
        .query_strings("SELECT DISTINCT status FROM outbox WHERE kind = 'waitlist_closed'")
        .await;
    assert_eq!(statuses, ["sent"]);
    let mails: Vec<String> = std::fs::read_dir(app.files.path().join("mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|mail| mail.replace("=\r\n", "").replace("=\n", ""))
        .filter(|mail| mail.contains("Waiting list closed"))
        .collect();
    assert_eq!(mails.len(), 4, "Ana, Cai, Dan and Eve");
    assert!(
        mails
            .iter()
            .any(|m| m.contains("Hello Ana") && m.contains("Harbour cruise")),
        "{mails:?}"
    );
    let sms = std::fs::read_to_string(app.files.path().join("sms").join("sms.jsonl")).unwrap();
    let bea: Vec<&str> = sms.lines().filter(|l| l.contains("+34600111222")).collect();
    assert_eq!(bea.len(), 1, "{sms}");
    assert!(
        bea[0].contains("Lista de espera cerrada: Harbour cruise"),
        "{sms}"
    );
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;
}

/// A confirmed (pay on arrival) booking of `quantity` adults: (reference, access token).
async fn confirmed(app: &TestApp, departure: &str, quantity: i64) -> (String, String) {
    let hold = app.hold(departure, adults(quantity)).await;
    hold.expect(201);
    let (reference, access) = (hold.str("reference"), hold.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &access)
        .await
        .expect(200);
    (reference, access)
}

/// Seats freed on a sold-out departure are owed to the traveler waiting: a booking moved onto
/// it from another departure (`plans::lock_move`, under the departures' locks) is refused, and
/// the seats go to the traveler waiting.
async fn a_move_onto_the_departure_does_not_take_seats_owed_to_the_line(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(2).await;
    let elsewhere = app.departure(&token, &tour, 4, 72).await;
    let (leaving, leaving_access) = confirmed(&app, &departure, 2).await;
    let (mover, mover_access) = confirmed(&app, &elsewhere, 2).await;
    join(&app, &departure, "Grace", 2).await.expect(201);
    app.post_with_booking_token(&format!("/v1/bookings/{leaving}/cancel"), &leaving_access)
        .await
        .expect(200);
    assert_eq!(app.available(&departure).await, 0, "owed to Grace");

    // The traveler of the other departure asks to move onto it: sold out to them.
    let moved = TestApp::reply(
        app.client
            .post(format!("{}/v1/bookings/{mover}/reschedule", app.base))
            .header("X-Booking-Token", &mover_access)
            .json(&json!({ "departure_id": departure })),
    )
    .await;
    moved.expect_error(409, "sold_out");
    // Nor may the operator move it there.
    app.post_as(
        &token,
        &format!("/v1/bookings/{mover}/reschedule"),
        json!({ "departure_id": departure }),
    )
    .await
    .expect_error(409, "sold_out");
    let still = app.get_as(&token, &format!("/v1/bookings/{mover}")).await;
    still.expect(200);
    assert_eq!(still.body["departure_id"], elsewhere.as_str());

    assert_eq!(offer(&app).await, 1);
    assert_eq!(
        states(&line(&app, &token, &departure).await),
        [("Grace".to_owned(), "offered".to_owned())]
    );
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;
}

/// A paid hold that lapsed while a traveler waited: its seats are owed to the line, so the
/// provider's late "payment succeeded" does not take them back (it is refunded), and the seats
/// go to the traveler waiting.
async fn a_late_payment_does_not_take_seats_owed_to_the_line(backend: Backend) {
    use crate::support::fake_stripe::{succeeded, FakeStripe};
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let (token, _tour, departure) = app.fresh_departure(2).await;
    let late = app.hold(&departure, adults(2)).await;
    late.expect(201);
    let late_reference = late.str("reference");
    join(&app, &departure, "Grace", 2).await.expect(201);

    // The hold lapses (its seats free, owed to Grace); then the payment arrives.
    app.clock
        .advance(app.config.hold_ttl() + Duration::minutes(1));
    assert_eq!(app.available(&departure).await, 0, "owed to Grace");
    let intent = stripe.intent_for(&late_reference).expect("an intent");
    let ack = app
        .stripe_event(&succeeded("evt_late_waitlist", &intent))
        .await;
    ack.expect(200);
    assert_eq!(ack.body["outcome"], "refunded", "{}", ack.text);
    let after = app
        .get_as(&token, &format!("/v1/bookings/{late_reference}"))
        .await;
    after.expect(200);
    assert_eq!(after.body["status"], "cancelled", "{}", after.text);
    assert_eq!(after.body["cancel_reason"], "sold_out_after_payment");

    assert_eq!(offer(&app).await, 1);
    let listed = line(&app, &token, &departure).await;
    assert_eq!(
        states(&listed),
        [("Grace".to_owned(), "offered".to_owned())]
    );
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;
}

/// The pass reads the departures with a line a batch at a time (200; two here): seats freed on
/// the third, beyond the first batch, still reach its line, however many earlier lines wait.
async fn a_line_beyond_the_first_batch_of_departures_is_offered_its_seats(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let mut departures = Vec::new();
    for hours in [48, 49, 50] {
        let departure = app.departure(&token, &tour, 2, hours).await;
        let sold = sell_out(&app, &departure, 1).await;
        join(&app, &departure, &format!("Wait{hours}"), 2)
            .await
            .expect(201);
        departures.push((departure, sold));
    }
    // The latest departure gets its two seats back; the two earlier stay sold out.
    let (last, sold) = &departures[2];
    let (reference, access) = &sold[0];
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), access)
        .await
        .expect(200);
    let offered = berth::service::holds::waitlist::offer_freed_seats_reading(
        &app.store,
        &app.payments,
        app.clock.now(),
        app.config.waitlist_offer_ttl(),
        2,
    )
    .await
    .expect("offers");
    assert_eq!(offered, 1, "the third departure's line is served");
    assert_eq!(
        states(&line(&app, &token, last).await),
        [("Wait50".to_owned(), "offered".to_owned())]
    );
    for (departure, _) in &departures[..2] {
        assert_eq!(
            states(&line(&app, &token, departure).await)[0].1,
            "waiting",
            "nothing freed on {departure}"
        );
    }
    assert_check_clean(&app).await;
}
