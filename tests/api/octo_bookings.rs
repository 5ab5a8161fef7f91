//! A reseller's bookings through OCTO (`/octo/bookings`): reserve, extend, confirm, change,
//! cancel, read and list, each answer checked against the OCTO schemas and berth's profile,
//! and the seats and rows behind it checked in the database. Also `/v1`'s hold extension.

use std::sync::Arc;

use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::octo::{
    assert_valid, capabilities_header, departures, octo, octo_id, octo_post, selling, take,
};
use crate::on_both_backends;
use crate::support::wait::eventually;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    a_reseller_sells_a_booking_end_to_end,
    booking_requests_are_refused_with_octos_codes,
    a_reused_uuid_is_one_booking_even_under_twenty_concurrent_copies,
    copies_of_a_uuid_in_one_batch_are_one_booking_and_the_batch_commits,
    a_reseller_reaches_only_its_own_bookings,
    a_hold_never_outlives_the_sales_cutoff,
    changes_move_and_resize_a_booking_without_overselling,
    travelers_and_operators_extend_holds_through_v1,
    a_busy_database_is_octos_internal_error_with_retry_after,
    what_a_reseller_sells_is_owed_on_account_and_reported_by_channel,
    octo_pricing_shows_retail_and_the_resellers_net,
    the_operators_setting_decides_whether_berth_tells_resellers_travellers,
    resellers_and_direct_travellers_racing_for_the_last_seats_never_oversell,
    a_list_answers_newest_first_with_each_bookings_units,
);

async fn octo_patch(app: &TestApp, key: &str, path: &str, body: Value) -> Reply {
    TestApp::reply(
        app.client
            .patch(format!("{}/octo{path}", app.base))
            .bearer_auth(key)
            .header("Octo-Capabilities", "")
            .json(&body),
    )
    .await
}

/// Checks a booking answer: 200, the response schema, berth's profile, the header.
fn assert_booking(reply: &Reply, response_schema: &str) {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_valid(response_schema, &reply.body);
    assert_valid("profiles/berth.schema.json#/$defs/Booking", &reply.body);
    assert_eq!(capabilities_header(reply).as_deref(), Some(""));
}

fn assert_octo_error(reply: &Reply, code: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
    assert_eq!(reply.body["error"], code, "{}", reply.text);
    assert_valid("responses/error.schema.json", &reply.body);
}

fn utc(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("a time").parse().expect("UTC time")
}

fn adults(n: usize) -> Value {
    Value::Array(vec![json!({"unitId": "adult"}); n])
}

/// A reservation of `n` adults on the departure starting at `at`.
async fn reserve(app: &TestApp, key: &str, tour: &str, at: DateTime<Utc>, n: usize) -> Reply {
    octo_post(
        app,
        key,
        "/bookings",
        json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": octo_id(at), "unitItems": adults(n)}),
    )
    .await
}

async fn available(app: &TestApp, departure: &str) -> i64 {
    app.available(departure).await
}

async fn a_reseller_sells_a_booking_end_to_end(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Acme Tours").await;
    let slots = departures(&app, &tour).await;
    let (departure, at) = slots[0].clone();

    // Reserve: ON_HOLD, seats taken, no payment started, nothing sent to anyone.
    let held = reserve(&app, &key, &tour, at, 4).await;
    assert_booking(&held, "responses/booking-reservation.schema.json");
    let booking = &held.body;
    assert_eq!(booking["status"], "ON_HOLD");
    assert_eq!(booking["productId"], tour.as_str());
    assert_eq!(booking["availabilityId"], octo_id(at));
    assert_eq!(booking["availability"]["id"], octo_id(at));
    assert_eq!(booking["resellerReference"], Value::Null);
    let items = booking["unitItems"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let mut uuids: Vec<&str> = items.iter().map(|i| i["uuid"].as_str().unwrap()).collect();
    uuids.sort_unstable();
    uuids.dedup();
    assert_eq!(uuids.len(), 4, "each traveller has a uuid of its own");
    let uuid = booking["uuid"].as_str().unwrap().to_owned();
    assert_eq!(uuid, uuid.to_ascii_lowercase());
    let created = utc(&booking["utcCreatedAt"]);
    let expires = utc(&booking["utcExpiresAt"]);
    assert_eq!(
        (expires - created).num_seconds(),
        900,
        "without expirationMinutes a hold lasts BERTH_HOLD_TTL_SECONDS"
    );
    assert_eq!(available(&app, &departure).await, 16);
    let reference = booking["supplierReference"].as_str().unwrap().to_owned();
    let payments = app
        .query_strings(&format!(
            "SELECT p.booking_id FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE b.reference = '{reference}'"
        ))
        .await;
    assert!(
        payments.is_empty(),
        "a reseller's booking is paid on account"
    );

    // Get.
    let read = octo(&app, Some(&key), &format!("/bookings/{uuid}"), Some("")).await;
    assert_booking(&read, "responses/get-booking.schema.json");
    assert_eq!(read.body["uuid"], uuid.as_str());

    // Extend by 31 minutes: a later expiry.
    app.clock.advance(Duration::minutes(5));
    let before = app.clock.now().with_nanosecond_zero();
    let extended = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/extend"),
        json!({"expirationMinutes": 31}),
    )
    .await;
    assert_booking(&extended, "responses/booking-extend.schema.json");
    assert_eq!(extended.body["status"], "ON_HOLD");
    assert_within(
        utc(&extended.body["utcExpiresAt"]),
        before,
        app.clock.now(),
        Duration::minutes(31),
    );
    assert!(utc(&extended.body["utcUpdatedAt"]) >= created);

    // Confirm with a contact, and ask for an email receipt.
    let confirmed = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"firstName": "John", "lastName": "Doe", "emailAddress": "johndoe@mail.com", "fullName": "John Doe", "notes": "Test note", "phoneNumber": "+00000000", "country": "GB", "locales": ["en"]}, "resellerReference": "RES-1001", "emailReceipt": true}),
    )
    .await;
    assert_booking(&confirmed, "responses/booking-confirmation.schema.json");
    let body = &confirmed.body;
    assert_eq!(body["status"], "CONFIRMED");
    assert_eq!(body["resellerReference"], "RES-1001");
    assert_eq!(body["contact"]["fullName"], "John Doe");
    assert_eq!(body["contact"]["phoneNumber"], "+00000000", "kept as sent");
    assert_eq!(body["contact"]["notes"], "Test note");
    assert_eq!(
        body["voucher"]["deliveryOptions"][0]["deliveryValue"],
        reference.as_str()
    );
    assert_eq!(
        available(&app, &departure).await,
        16,
        "confirming keeps the seats"
    );
    let names = app
        .query_strings(&format!(
            "SELECT customer_name FROM bookings WHERE reference = '{reference}'"
        ))
        .await;
    assert_eq!(names, ["John Doe"], "the manifest shows the traveller");
    let sent = app
        .query_strings(&format!(
            "SELECT o.channel FROM outbox o JOIN bookings b ON b.id = o.booking_id WHERE b.reference = '{reference}'"
        ))
        .await;
    assert_eq!(sent, ["email"], "the receipt asked for, by email only");
    // The receipt names the seller and carries no manage link: changes go through the reseller.
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch");
    let mails: Vec<String> = std::fs::read_dir(app.files.path().join("mail"))
        .expect("a mail was written")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1);
    let mail = mails[0].replace("=\r\n", "").replace("=\n", "");
    assert!(mail.contains("To: johndoe@mail.com"), "{mail}");
    assert!(mail.contains("booked it through Harbour OTA"), "{mail}");
    assert!(!mail.contains("/manage/"), "{mail}");

    // List by berth's reference and by the reseller's.
    for query in [
        format!("supplierReference={reference}"),
        "resellerReference=RES-1001".to_owned(),
        format!("localDate={}", &octo_id(at)[..10]),
    ] {
        let listed = octo(&app, Some(&key), &format!("/bookings?{query}"), Some("")).await;
        assert_eq!(listed.status.as_u16(), 200, "{}", listed.text);
        assert_valid("responses/get-bookings.schema.json", &listed.body);
        let list = listed.body.as_array().unwrap();
        assert_eq!(list.len(), 1, "{query}: {}", listed.text);
        assert_eq!(list[0]["uuid"], uuid.as_str());
    }
    let other_day = octo(
        &app,
        Some(&key),
        &format!(
            "/bookings?localDate={}",
            &octo_id(slots.last().unwrap().1)[..10]
        ),
        Some(""),
    )
    .await;
    assert_eq!(other_day.body, json!([]), "another day lists none");

    // Cancel: the seats come back, the policy's refund and the reason are reported.
    let cancelled = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/cancel"),
        json!({"reason": "Reason for cancellation"}),
    )
    .await;
    assert_booking(&cancelled, "responses/booking-cancellation.schema.json");
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert_eq!(
        cancelled.body["cancellation"]["reason"],
        "Reason for cancellation"
    );
    assert_eq!(cancelled.body["cancellation"]["refund"], "FULL");
    assert_eq!(cancelled.body["cancellable"], false);
    assert_eq!(available(&app, &departure).await, 20);

    // A hold confirmed without a receipt sends nothing; one left alone expires.
    let quiet = reserve(&app, &key, &tour, at, 2).await;
    let quiet_uuid = quiet.body["uuid"].as_str().unwrap().to_owned();
    let done = octo_post(
        &app,
        &key,
        &format!("/bookings/{quiet_uuid}/confirm"),
        json!({"contact": {"fullName": "Jane Roe", "emailAddress": "jane@example.com"}}),
    )
    .await;
    assert_booking(&done, "responses/booking-confirmation.schema.json");
    let quiet_ref = done.body["supplierReference"].as_str().unwrap();
    let sent = app
        .query_strings(&format!(
            "SELECT o.channel FROM outbox o JOIN bookings b ON b.id = o.booking_id WHERE b.reference = '{quiet_ref}'"
        ))
        .await;
    assert!(sent.is_empty(), "no receipt asked for, none sent: {sent:?}");
    let lapsing = reserve(&app, &key, &tour, at, 1).await;
    let lapsing_uuid = lapsing.body["uuid"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(16));
    let expired = octo(
        &app,
        Some(&key),
        &format!("/bookings/{lapsing_uuid}"),
        Some(""),
    )
    .await;
    assert_booking(&expired, "responses/get-booking.schema.json");
    assert_eq!(expired.body["status"], "EXPIRED");
    let late = octo_post(
        &app,
        &key,
        &format!("/bookings/{lapsing_uuid}/confirm"),
        json!({"contact": {}}),
    )
    .await;
    assert_octo_error(&late, "UNPROCESSABLE_ENTITY");
    app.assert_seat_invariant().await;
}

/// `at` is `length` after a moment between `before` and `after` (the server's clock reading).
fn assert_within(at: DateTime<Utc>, before: DateTime<Utc>, after: DateTime<Utc>, length: Duration) {
    assert!(
        at >= before + length && at <= after + length,
        "{at} is not {length} after a moment in [{before}, {after}]"
    );
}

trait NanosZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl NanosZero for DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        self.with_nanosecond(0).unwrap()
    }
}

async fn booking_requests_are_refused_with_octos_codes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Acme Tours").await;
    let slots = departures(&app, &tour).await;
    let (full, full_at) = slots[1].clone();
    take(&app, &full, 20).await;
    let at = slots[0].1;
    let good = json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": octo_id(at), "unitItems": adults(2)});
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("productId", json!("invalidProductId")),
            "INVALID_PRODUCT_ID",
            Some(("productId", "invalidProductId")),
        ),
        (
            with("optionId", json!("invalidOptionId")),
            "INVALID_OPTION_ID",
            Some(("optionId", "invalidOptionId")),
        ),
        (
            with("availabilityId", json!("invalidAvailabilityId")),
            "INVALID_AVAILABILITY_ID",
            Some(("availabilityId", "invalidAvailabilityId")),
        ),
        (
            with("unitItems", json!([{"unitId": "invalidUnitId"}])),
            "INVALID_UNIT_ID",
            Some(("unitId", "invalidUnitId")),
        ),
        (with("unitItems", json!([])), "UNPROCESSABLE_ENTITY", None),
        (
            with("availabilityId", json!(octo_id(full_at))),
            "UNPROCESSABLE_ENTITY",
            None,
        ),
        (with("unitItems", adults(9)), "UNPROCESSABLE_ENTITY", None),
        (with("expirationMinutes", json!(0)), "BAD_REQUEST", None),
    ];
    for (body, code, field) in cases {
        let reply = octo_post(&app, &key, "/bookings", body.clone()).await;
        assert_octo_error(&reply, code);
        if let Some((name, value)) = field {
            assert_eq!(reply.body[name], value, "{body}");
        }
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("unitItems");
    assert_octo_error(
        &octo_post(&app, &key, "/bookings", missing).await,
        "UNPROCESSABLE_ENTITY",
    );
    assert_eq!(
        available(&app, &slots[0].0).await,
        20,
        "no refusal took a seat"
    );

    for (path, body) in [
        ("/bookings/invalidUUID/confirm", json!({"contact": {}})),
        (
            "/bookings/invalidUUID/extend",
            json!({"expirationMinutes": 31}),
        ),
        ("/bookings/invalidUUID/cancel", json!({})),
    ] {
        let reply = octo_post(&app, &key, path, body).await;
        assert_octo_error(&reply, "INVALID_BOOKING_UUID");
        assert_eq!(reply.body["uuid"], "invalidUUID");
    }
    assert_octo_error(
        &octo(&app, Some(&key), "/bookings/invalidUUID", Some("")).await,
        "INVALID_BOOKING_UUID",
    );
    assert_octo_error(
        &octo_patch(&app, &key, "/bookings/invalidUUID", json!({"notes": "x"})).await,
        "INVALID_BOOKING_UUID",
    );
    assert_octo_error(
        &octo(&app, Some(&key), "/bookings", Some("")).await,
        "BAD_REQUEST",
    );
    // Dates beyond what berth stores are refused, not a failure.
    for query in [
        "localDate=%2B262143-12-31",
        "localDateStart=-262143-01-01&localDateEnd=2030-01-01",
    ] {
        assert_octo_error(
            &octo(&app, Some(&key), &format!("/bookings?{query}"), Some("")).await,
            "BAD_REQUEST",
        );
    }
    // A uuid is letters, digits, dashes and underscores: compared byte for byte on both backends.
    let mut odd = good.clone();
    odd["uuid"] = json!("café 1");
    assert_octo_error(
        &octo_post(&app, &key, "/bookings", odd).await,
        "UNPROCESSABLE_ENTITY",
    );

    // Confirming with an unknown unit refuses and leaves the hold holding its seats.
    let held = reserve(&app, &key, &tour, at, 2).await;
    let uuid = held.body["uuid"].as_str().unwrap();
    let reply = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "John Doe"}, "unitItems": [{"unitId": "invalidUnitId"}, {"unitId": "invalidUnitId"}]}),
    )
    .await;
    assert_octo_error(&reply, "INVALID_UNIT_ID");
    let read = octo(&app, Some(&key), &format!("/bookings/{uuid}"), Some("")).await;
    assert_eq!(read.body["status"], "ON_HOLD");
    assert_eq!(available(&app, &slots[0].0).await, 18);
    // Confirming twice: the second is refused.
    let first = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "John Doe"}}),
    )
    .await;
    assert_booking(&first, "responses/booking-confirmation.schema.json");
    let again = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "John Doe"}}),
    )
    .await;
    assert_octo_error(&again, "UNPROCESSABLE_ENTITY");
    let extend = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/extend"),
        json!({"expirationMinutes": 31}),
    )
    .await;
    assert_octo_error(&extend, "UNPROCESSABLE_ENTITY");
}

async fn a_reused_uuid_is_one_booking_even_under_twenty_concurrent_copies(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Acme Tours").await;
    let (departure, at) = departures(&app, &tour).await[0].clone();
    let body = json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": octo_id(at), "unitItems": adults(3), "uuid": "5E0F3C2A-9B8D-4E7F-A6B5-C4D3E2F1A0B9"});
    let app = Arc::new(app);
    let mut copies = JoinSet::new();
    for _ in 0..20 {
        let (app, key, body) = (app.clone(), key.clone(), body.clone());
        copies.spawn(async move { octo_post(&app, &key, "/bookings", body).await });
    }
    let mut replies = Vec::new();
    while let Some(joined) = copies.join_next().await {
        replies.push(joined.expect("copy finished"));
    }
    let mut ids: Vec<String> = replies
        .iter()
        .map(|reply| {
            assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
            assert_eq!(
                reply.body["uuid"], "5e0f3c2a-9b8d-4e7f-a6b5-c4d3e2f1a0b9",
                "lowercased"
            );
            reply.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one booking: {ids:?}");
    assert_eq!(
        available(&app, &departure).await,
        17,
        "its seats taken once"
    );
    app.assert_seat_invariant().await;
}

/// Copies of one uuid queued in one batch of holds (group commit per departure) with other
/// bookings: the batch cannot write its rows together (the second copy's uuid is taken), so it
/// writes them one by one: the copies are one booking and every other booking still commits in
/// that batch, not one transaction each.
async fn copies_of_a_uuid_in_one_batch_are_one_booking_and_the_batch_commits(backend: Backend) {
    let patient = [("database_lock_timeout_seconds", json!(30))];
    let Some(app) = TestApp::spawn_with(backend, &patient).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Acme Tours").await;
    let (departure, at) = departures(&app, &tour).await[0].clone();
    let app = Arc::new(app);
    let before = available(&app, &departure).await;
    let blocker = app.lock_departure_elsewhere(&departure).await;
    let mut racers = JoinSet::new();
    for i in 0..12u32 {
        let uuid = match i {
            0..4 => "5e0f3c2a-9b8d-4e7f-a6b5-c4d3e2f1a0b9".to_owned(),
            _ => format!("00000000-0000-4000-8000-{i:012}"),
        };
        let body = json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": octo_id(at), "unitItems": adults(1), "uuid": uuid});
        let (app, key) = (app.clone(), key.clone());
        racers.spawn(async move { octo_post(&app, &key, "/bookings", body).await });
    }
    eventually(
        "every booking waits for a batch",
        std::time::Duration::from_secs(20),
        || async { (app.store.metrics().holds_queued.get() == 12).then_some(()) },
    )
    .await;
    drop(blocker);
    let mut ids = Vec::new();
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 9, "the four copies are one booking: {ids:?}");
    assert_eq!(available(&app, &departure).await, before - 9);
    let size = &app.store.metrics().hold_batch_size;
    assert_eq!(size.get_sample_sum(), 9.0, "every booking held in a batch");
    assert!(
        size.get_sample_count() <= 2,
        "9 bookings in {} commits",
        size.get_sample_count()
    );
    app.assert_seat_invariant().await;
}

async fn a_reseller_reaches_only_its_own_bookings(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, key) = selling(&app, "Acme Tours").await;
    let other_key = app
        .post_as(&owner, "/v1/resellers", json!({"name": "Second OTA"}))
        .await
        .str("key");
    let (_, rival_tour, rival_key) = selling(&app, "Rival Tours").await;
    let (departure, at) = departures(&app, &tour).await[0].clone();
    let held = reserve(&app, &key, &tour, at, 2).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let reference = held.body["supplierReference"].as_str().unwrap().to_owned();
    let direct = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    direct.expect(201);
    let direct_ref = direct.str("reference");
    let direct_id = app
        .query_strings(&format!(
            "SELECT id FROM bookings WHERE reference = '{direct_ref}'"
        ))
        .await
        .remove(0);

    for (who, outsider) in [
        ("same operator", &other_key),
        ("another operator", &rival_key),
    ] {
        for target in [uuid.as_str(), direct_id.as_str(), direct_ref.as_str()] {
            let read = octo(
                &app,
                Some(outsider),
                &format!("/bookings/{target}"),
                Some(""),
            )
            .await;
            assert_octo_error(&read, "INVALID_BOOKING_UUID");
            for (path, body) in [
                (
                    format!("/bookings/{target}/confirm"),
                    json!({"contact": {}}),
                ),
                (format!("/bookings/{target}/extend"), json!({})),
                (format!("/bookings/{target}/cancel"), json!({})),
            ] {
                let reply = octo_post(&app, outsider, &path, body).await;
                assert_octo_error(&reply, "INVALID_BOOKING_UUID");
            }
            let patch = octo_patch(
                &app,
                outsider,
                &format!("/bookings/{target}"),
                json!({"notes": "mine"}),
            )
            .await;
            assert_octo_error(&patch, "INVALID_BOOKING_UUID");
        }
        let listed = octo(
            &app,
            Some(outsider),
            &format!("/bookings?supplierReference={reference}"),
            Some(""),
        )
        .await;
        assert_eq!(listed.body, json!([]), "{who} lists none of it");
    }
    // The direct booking is no reseller's, not even its operator's first reseller.
    let direct_read = octo(
        &app,
        Some(&key),
        &format!("/bookings/{direct_id}"),
        Some(""),
    )
    .await;
    assert_octo_error(&direct_read, "INVALID_BOOKING_UUID");
    // Nor can a reseller book another operator's tour.
    let foreign = reserve(&app, &key, &rival_tour, at, 1).await;
    assert_octo_error(&foreign, "INVALID_PRODUCT_ID");
    let own = octo(&app, Some(&key), &format!("/bookings/{uuid}"), Some("")).await;
    assert_eq!(own.body["status"], "ON_HOLD", "untouched by the others");
    assert_eq!(own.body["notes"], Value::Null);
    assert_eq!(available(&app, &departure).await, 17);
}

async fn a_hold_never_outlives_the_sales_cutoff(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, key) = selling(&app, "Acme Tours").await;
    // Starts in 50 minutes; sales close 30 minutes before, so in 20.
    let starts = (app.clock.now() + Duration::minutes(50)).with_nanosecond_zero();
    app.post_as(
        &owner,
        &format!("/v1/tours/{tour}/departures"),
        json!({"starts_at": starts.to_rfc3339(), "capacity": 10}),
    )
    .await
    .expect(201);
    let close = starts - Duration::minutes(30);
    let held = octo_post(
        &app,
        &key,
        "/bookings",
        json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": octo_id(starts), "unitItems": adults(1), "expirationMinutes": 60}),
    )
    .await;
    assert_booking(&held, "responses/booking-reservation.schema.json");
    assert_eq!(
        utc(&held.body["utcExpiresAt"]),
        close,
        "capped at the cutoff"
    );
    let uuid = held.body["uuid"].as_str().unwrap();
    let extend = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/extend"),
        json!({"expirationMinutes": 31}),
    )
    .await;
    assert_octo_error(&extend, "UNPROCESSABLE_ENTITY");
    assert!(
        extend.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("cutoff"),
        "{}",
        extend.text
    );
}

async fn changes_move_and_resize_a_booking_without_overselling(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, key) = selling(&app, "Acme Tours").await;
    let second_tour = app.tour(&owner, json!({"name": "Sunset sail"})).await;
    let at_second = app.departure(&owner, &second_tour, 12, 72).await;
    let receiver = crate::support::webhook_receiver::WebhookReceiver::start(vec![]).await;
    app.post_as(
        &owner,
        "/v1/webhook-endpoints",
        json!({"url": receiver.url("/octo"), "event_types": ["booking.rescheduled"]}),
    )
    .await
    .expect(201);
    let slots = departures(&app, &tour).await;
    let (first, first_at) = slots[0].clone();
    let (target, target_at) = slots[1].clone();

    // Reserve 2, confirm with 3 items: 3 seats, 3 unique uuids.
    let held = reserve(&app, &key, &tour, first_at, 2).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let kept = held.body["unitItems"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmed = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "John Doe"}, "unitItems": [{"unitId": "adult", "uuid": kept}, {"unitId": "adult"}, {"unitId": "child"}]}),
    )
    .await;
    assert_booking(&confirmed, "responses/booking-confirmation.schema.json");
    let items = confirmed.body["unitItems"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["uuid"], kept.as_str(), "a known uuid is kept");
    assert_eq!(available(&app, &first).await, 17);
    let total = app
        .query_strings(&format!(
            "SELECT CAST(total AS CHAR) FROM bookings WHERE id = '{}'",
            confirmed.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(total, ["8500"], "re-priced: two adults and a child");

    // Move it to another departure: the seats follow.
    let moved = octo_patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"availabilityId": octo_id(target_at)}),
    )
    .await;
    assert_booking(&moved, "responses/booking-update.schema.json");
    assert_eq!(moved.body["status"], "CONFIRMED", "the status stays");
    assert_eq!(moved.body["availabilityId"], octo_id(target_at));
    assert_eq!(available(&app, &first).await, 20);
    assert_eq!(available(&app, &target).await, 17);

    // And to the other tour.
    let second_at: DateTime<Utc> = app
        .get(&format!("/v1/departures/{at_second}"))
        .await
        .str("starts_at")
        .parse()
        .unwrap();
    let crossed = octo_patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"productId": second_tour, "optionId": "DEFAULT", "availabilityId": octo_id(second_at), "unitItems": adults(2), "notes": "Test note"}),
    )
    .await;
    assert_booking(&crossed, "responses/booking-update.schema.json");
    assert_eq!(crossed.body["productId"], second_tour.as_str());
    assert_eq!(crossed.body["notes"], "Test note");
    assert_eq!(available(&app, &target).await, 20);
    assert_eq!(available(&app, &at_second).await, 10);
    // Each move by the reseller's PATCH is an operator's `booking.rescheduled`.
    berth::workers::webhooks::run_once(&app.store, &app.webhooks, app.clock.now())
        .await
        .expect("dispatch");
    let mut moved_to: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| {
            let body = r.json();
            assert_eq!(body["type"], "booking.rescheduled");
            body["data"]["booking"]["departure_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    moved_to.sort();
    let mut expected = vec![target.clone(), at_second.clone()];
    expected.sort();
    assert_eq!(moved_to, expected);

    // A change that does not fit is refused and changes nothing.
    take(&app, &target, 19).await;
    let too_big = octo_patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"productId": tour, "availabilityId": octo_id(target_at)}),
    )
    .await;
    assert_octo_error(&too_big, "UNPROCESSABLE_ENTITY");
    assert_eq!(available(&app, &at_second).await, 10);

    // A race: holds on the target's last seats against a move of 4 seats into it.
    let (race, race_at) = slots[2].clone();
    take(&app, &race, 14).await;
    let mut movers = Vec::new();
    for _ in 0..3 {
        let r = reserve(&app, &key, &tour, slots[3].1, 2).await;
        movers.push(r.body["uuid"].as_str().unwrap().to_owned());
    }
    let app = Arc::new(app);
    let mut racers = JoinSet::new();
    for u in &movers {
        let (app, key, path) = (app.clone(), key.clone(), format!("/bookings/{u}"));
        let body = json!({"availabilityId": octo_id(race_at)});
        racers.spawn(async move { (true, octo_patch(&app, &key, &path, body).await) });
    }
    for _ in 0..6 {
        let (app, race) = (app.clone(), race.clone());
        racers.spawn(async move {
            (
                false,
                app.hold(&race, json!([{"unit": "adult", "quantity": 1}]))
                    .await,
            )
        });
    }
    let (mut moved, mut held) = (Vec::new(), Vec::new());
    while let Some(joined) = racers.join_next().await {
        match joined.expect("racer finished") {
            (true, reply) => moved.push(reply),
            (false, reply) => held.push(reply),
        }
    }
    let moved_ok = moved.iter().filter(|r| r.status.as_u16() == 200).count();
    let held_ok = held.iter().filter(|r| r.status.as_u16() == 201).count();
    for reply in moved.iter().filter(|r| r.status.as_u16() != 200) {
        assert_octo_error(reply, "UNPROCESSABLE_ENTITY");
    }
    for reply in held.iter().filter(|r| r.status.as_u16() != 201) {
        reply.expect_error(409, "sold_out");
    }
    assert!(
        moved_ok * 2 + held_ok <= 6,
        "never beyond capacity: {moved_ok} moves, {held_ok} holds"
    );
    assert_eq!(
        available(&app, &race).await,
        6 - (moved_ok as i64) * 2 - held_ok as i64
    );
    app.assert_seat_invariant().await;
}

async fn travelers_and_operators_extend_holds_through_v1(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, departure) = app.fresh_departure(10).await;
    let held = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    held.expect(201);
    let reference = held.str("reference");
    let token = held.str("access_token");
    let app = &app;
    let extend = |minutes: Value| {
        let path = format!("{}/v1/bookings/{reference}/extend", app.base);
        let token = token.clone();
        async move {
            TestApp::reply(
                app.client
                    .post(path)
                    .header("X-Booking-Token", token)
                    .json(&json!({"minutes": minutes})),
            )
            .await
        }
    };
    let before = app.clock.now().with_nanosecond_zero();
    let longer = extend(json!(45)).await;
    longer.expect(200);
    assert_within(
        utc(&longer.body["expires_at"]),
        before,
        app.clock.now(),
        Duration::minutes(45),
    );
    extend(json!(61))
        .await
        .expect_error(422, "validation_failed");
    extend(json!(10)).await.expect_error(409, "hold_not_longer");
    // An operator extends too, with its own token.
    let by_operator = app
        .post_as(
            &owner,
            &format!("/v1/bookings/{reference}/extend"),
            json!({}),
        )
        .await;
    by_operator.expect_error(409, "hold_not_longer");
    // A stranger's token finds nothing.
    let stranger = app.operator("Rival").await;
    app.post_as(
        &stranger,
        &format!("/v1/bookings/{reference}/extend"),
        json!({"minutes": 50}),
    )
    .await
    .expect(404);
    // Half an hour later, 45 more minutes would pass the hour a hold may last from when it was
    // made (BERTH_HOLD_MAX_SECONDS): it is extended to that hour, and then no further.
    let made: DateTime<Utc> = held.str("created_at").parse().unwrap();
    app.clock.advance(Duration::minutes(30));
    let capped = extend(json!(45)).await;
    capped.expect(200);
    assert_eq!(utc(&capped.body["expires_at"]), made + Duration::hours(1));
    extend(json!(45)).await.expect_error(409, "hold_at_maximum");
    app.clock.advance(Duration::minutes(31));
    extend(json!(30)).await.expect_error(409, "hold_expired");
    let _ = tour;
}

async fn a_busy_database_is_octos_internal_error_with_retry_after(backend: Backend) {
    let settings = [("database_lock_timeout_seconds", json!(1))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Acme Tours").await;
    let (departure, at) = departures(&app, &tour).await[0].clone();
    // Another client holds the lock a reservation needs, longer than berth waits and retries.
    let blocker = app.lock_departure_elsewhere(&departure).await;
    let reply = reserve(&app, &key, &tour, at, 1).await;
    assert_octo_error(&reply, "INTERNAL_SERVER_ERROR");
    assert_eq!(reply.headers["retry-after"], "1");
    drop(blocker);
    assert_eq!(available(&app, &departure).await, 20, "nothing was taken");
    assert_booking(
        &reserve(&app, &key, &tour, at, 1).await,
        "responses/booking-reservation.schema.json",
    );
}

async fn what_a_reseller_sells_is_owed_on_account_and_reported_by_channel(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    // Half back from 24 hours before the start: the first departures (in 1 to 3 days) are there.
    let policy = json!([{"hours_before": 24, "refund_percent": 50}, {"hours_before": 72, "refund_percent": 100}]);
    let tour = app
        .tour(&owner, json!({"cancellation_policy": policy}))
        .await;
    let start = (app.clock.now() + Duration::days(2)).date_naive();
    app.post_as(
        &owner,
        &format!("/v1/tours/{tour}/schedules"),
        json!({"rrule": "FREQ=DAILY;COUNT=2", "start_date": start.to_string(), "times": ["09:30"], "capacity": 20}),
    )
    .await
    .expect(201);
    let key = app
        .post_as(
            &owner,
            "/v1/resellers",
            json!({"name": "Harbour OTA", "commission_percent": 20}),
        )
        .await
        .str("key");
    let at = departures(&app, &tour).await[0].1;
    // A hold owes nothing; confirmed, the price less 20 %.
    let held = reserve(&app, &key, &tour, at, 2).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    assert_eq!(owed(&app, &owner).await, None);
    octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "Ada"}}),
    )
    .await
    .expect(200);
    assert_eq!(
        owed(&app, &owner).await,
        Some((json!("Harbour OTA"), 7000, 1400, 5600))
    );
    // A third traveller re-prices it.
    let grown = octo_patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"unitItems": adults(3)}),
    )
    .await;
    assert_booking(&grown, "responses/booking-update.schema.json");
    assert_eq!(
        owed(&app, &owner).await,
        Some((json!("Harbour OTA"), 10500, 2100, 8400))
    );
    // Inside the policy's partial window, a move to a later departure (which would buy a full
    // refund) is refused; the booking and what is owed stay.
    let later = departures(&app, &tour).await[1].1;
    let moved = octo_patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"availabilityId": octo_id(later)}),
    )
    .await;
    assert_octo_error(&moved, "UNPROCESSABLE_ENTITY");
    assert_eq!(
        owed(&app, &owner).await,
        Some((json!("Harbour OTA"), 10500, 2100, 8400))
    );
    // Cancelled inside 72 hours: the policy gives half back, so half is still owed.
    let cancelled = octo_post(&app, &key, &format!("/bookings/{uuid}/cancel"), json!({})).await;
    assert_booking(&cancelled, "responses/booking-cancellation.schema.json");
    assert_eq!(cancelled.body["cancellation"]["refund"], "PARTIAL");
    assert_eq!(
        owed(&app, &owner).await,
        Some((json!("Harbour OTA"), 5250, 1050, 4200))
    );
    // A hold cancelled adds nothing.
    let other = reserve(&app, &key, &tour, at, 1).await;
    let other_uuid = other.body["uuid"].as_str().unwrap();
    octo_post(
        &app,
        &key,
        &format!("/bookings/{other_uuid}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        owed(&app, &owner).await,
        Some((json!("Harbour OTA"), 5250, 1050, 4200))
    );
    let rows = app
        .query_strings(
            "SELECT CAST(gross AS CHAR) FROM reseller_receivables ORDER BY created_at, id",
        )
        .await;
    assert_eq!(
        rows,
        ["7000", "3500", "-5250"],
        "append-only: each change adds its difference"
    );

    // When the operator cancels, the reseller owes nothing for the booking: one booking
    // cancelled by hand, another with its whole departure.
    let second = departures(&app, &tour).await[1].clone();
    let mut references = Vec::new();
    for slot in [at, second.1] {
        let held = reserve(&app, &key, &tour, slot, 1).await;
        let uuid = held.body["uuid"].as_str().unwrap().to_owned();
        octo_post(&app, &key, &format!("/bookings/{uuid}/confirm"), json!({}))
            .await
            .expect(200);
        references.push(held.body["supplierReference"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        owed(&app, &owner).await,
        Some((json!("Harbour OTA"), 5250 + 7000, 1050 + 1400, 4200 + 5600))
    );
    app.post_as(
        &owner,
        &format!("/v1/bookings/{}/cancel", references[0]),
        json!({}),
    )
    .await
    .expect(200);
    app.post_as(
        &owner,
        &format!("/v1/departures/{}/cancel", second.0),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        owed(&app, &owner).await,
        Some((json!("Harbour OTA"), 5250, 1050, 4200))
    );
}

/// The reseller row of the revenue report's channels: (name, gross, commission, net).
async fn owed(app: &TestApp, owner: &str) -> Option<(Value, i64, i64, i64)> {
    let report = app.get_as(owner, "/v1/reports/revenue").await;
    report.expect(200);
    let channels = report.body["channels"].as_array().unwrap().clone();
    channels
        .into_iter()
        .find(|c| c["channel"] == "reseller")
        .map(|c| {
            (
                c["reseller_name"].clone(),
                c["gross"].as_i64().unwrap(),
                c["commission"].as_i64().unwrap(),
                c["net"].as_i64().unwrap(),
            )
        })
}

async fn priced_post(app: &TestApp, key: &str, path: &str, body: Value) -> Reply {
    TestApp::reply(
        app.client
            .post(format!("{}/octo{path}", app.base))
            .bearer_auth(key)
            .header("Octo-Capabilities", "octo/pricing")
            .json(&body),
    )
    .await
}

/// One price as OCTO's pricing shows it: (retail, net), in EUR cents.
fn price(value: &Value) -> (i64, i64) {
    assert_eq!(value["currency"], "EUR");
    assert_eq!(value["currencyPrecision"], 2);
    assert_eq!(value["original"], value["retail"], "no discounts");
    assert_eq!(value["includedTaxes"], json!([]));
    (
        value["retail"].as_i64().unwrap(),
        value["net"].as_i64().unwrap(),
    )
}

async fn octo_pricing_shows_retail_and_the_resellers_net(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Adults €35.00 and children €15.00; the reseller keeps 20 %.
    let (owner, tour, key) = selling(&app, "Acme Tours").await;
    let products = octo(&app, Some(&key), "/products", Some("octo/pricing")).await;
    assert_eq!(
        capabilities_header(&products).as_deref(),
        Some("octo/pricing")
    );
    assert_valid("responses/pricing/get-products.schema.json", &products.body);
    let product = &products.body[0];
    assert_valid(
        "profiles/berth.schema.json#/$defs/ProductWithPricing",
        product,
    );
    assert_eq!(product["defaultCurrency"], "EUR");
    assert_eq!(product["availableCurrencies"], json!(["EUR"]));
    assert_eq!(product["includeTax"], true);
    let units = product["options"][0]["units"].as_array().unwrap();
    assert_eq!(price(&units[0]["pricingFrom"][0]), (3500, 2800));
    assert_eq!(price(&units[1]["pricingFrom"][0]), (1500, 1200));

    let (_, at) = departures(&app, &tour).await[0];
    let day = octo_id(at)[..10].to_owned();
    let checked = priced_post(
        &app,
        &key,
        "/availability",
        json!({"productId": tour, "optionId": "DEFAULT", "localDate": day, "units": [{"id": "adult", "quantity": 2}, {"id": "child", "quantity": 1}]}),
    )
    .await;
    checked.expect(200);
    assert_valid(
        "responses/pricing/availability-check.schema.json",
        &checked.body,
    );
    let slot = &checked.body[0];
    assert_eq!(price(&slot["unitPricing"][0]), (3500, 2800));
    assert_eq!(slot["unitPricing"][0]["unitId"], "adult");
    assert_eq!(
        price(&slot["pricing"]),
        (8500, 6800),
        "two adults and a child"
    );
    let unknown = priced_post(
        &app,
        &key,
        "/availability",
        json!({"productId": tour, "optionId": "DEFAULT", "localDate": day, "units": [{"id": "pensioner", "quantity": 1}]}),
    )
    .await;
    assert_octo_error(&unknown, "INVALID_UNIT_ID");
    let calendar = priced_post(
        &app,
        &key,
        "/availability/calendar",
        json!({"productId": tour, "optionId": "DEFAULT", "localDateStart": day, "localDateEnd": day}),
    )
    .await;
    calendar.expect(200);
    assert_valid(
        "responses/pricing/availability-calendar.schema.json",
        &calendar.body,
    );
    assert_eq!(price(&calendar.body[0]["unitPricingFrom"][1]), (1500, 1200));

    // A booking: each traveller's price and the total, which is their sum.
    let held = priced_post(
        &app,
        &key,
        "/bookings",
        json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": octo_id(at), "unitItems": [{"unitId": "adult"}, {"unitId": "child"}, {"unitId": "adult"}]}),
    )
    .await;
    held.expect(200);
    assert_valid("responses/pricing/booking.schema.json", &held.body);
    assert_valid("profiles/berth.schema.json#/$defs/Booking", &held.body);
    let items: Vec<(i64, i64)> = held.body["unitItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| price(&i["pricing"]))
        .collect();
    assert_eq!(items, [(3500, 2800), (1500, 1200), (3500, 2800)]);
    assert_eq!(price(&held.body["pricing"]), (8500, 6800));
    // The price is the one frozen at the hold: a later price change does not move it.
    app.patch_as(&owner, &format!("/v1/tours/{tour}"), json!({"units": [{"code": "adult", "label": "Adult", "price": 4000}, {"code": "child", "label": "Child", "price": 1500}]}))
        .await
        .expect(200);
    let uuid = held.body["uuid"].as_str().unwrap();
    let confirmed = priced_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "Ada"}}),
    )
    .await;
    assert_valid("responses/pricing/booking.schema.json", &confirmed.body);
    assert_eq!(price(&confirmed.body["pricing"]), (8500, 6800));
    // A change of notes keeps the frozen prices.
    let noted = octo_patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"notes": "window seats"}),
    )
    .await;
    assert_booking(&noted, "responses/booking-update.schema.json");
    let read = TestApp::reply(
        app.client
            .get(format!("{}/octo/bookings/{uuid}", app.base))
            .bearer_auth(&key)
            .header("Octo-Capabilities", "octo/pricing"),
    )
    .await;
    assert_eq!(read.body["notes"], "window seats");
    assert_eq!(price(&read.body["pricing"]), (8500, 6800), "not re-priced");
    // The operator cannot confirm a reseller's hold (the reseller does, with its contact), and
    // checking in a reseller's booking takes no money at the desk.
    let other = priced_post(
        &app,
        &key,
        "/bookings",
        json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": octo_id(at), "unitItems": [{"unitId": "adult"}]}),
    )
    .await;
    let other_ref = other.body["supplierReference"].as_str().unwrap().to_owned();
    app.post_as(
        &owner,
        &format!("/v1/bookings/{other_ref}/confirm"),
        json!({}),
    )
    .await
    .expect_error(409, "sold_by_reseller");
    let reference = confirmed.body["supplierReference"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_as(
        &owner,
        &format!("/v1/bookings/{reference}/check-in"),
        json!({}),
    )
    .await
    .expect(200);
    let desk = app
        .query_strings(&format!(
            "SELECT l.kind FROM ledger_entries l JOIN bookings b ON b.id = l.booking_id WHERE b.reference = '{reference}'"
        ))
        .await;
    assert!(desk.is_empty(), "{desk:?}");
    app.assert_seat_invariant().await;
    // What the reseller owes is the same net.
    assert_eq!(owed(&app, &owner).await.map(|o| o.3), Some(6800));
    // Without the capability, no price keys.
    let plain = octo(&app, Some(&key), &format!("/bookings/{uuid}"), Some("")).await;
    assert!(plain.body.get("pricing").is_none());
    assert!(plain.body["unitItems"][0].get("pricing").is_none());

    // Prices per availability: a departure's own price shows on its slot, and the day shows
    // the lowest of its departures' (09:30 at 50.00, 14:00 at 45.00; the tour's is 40.00).
    let listed = departures(&app, &tour).await;
    for ((departure, starts), adult) in listed[..2].iter().zip([5000, 4500]) {
        assert_eq!(octo_id(*starts)[..10], day, "both on the day");
        app.request(
            reqwest::Method::PUT,
            &format!("/v1/departures/{departure}/prices"),
            Some(&owner),
            Some(json!({"prices": {"adult": adult}})),
        )
        .await
        .expect(200);
    }
    let checked = priced_post(
        &app,
        &key,
        "/availability",
        json!({"productId": tour, "optionId": "DEFAULT", "localDate": day, "units": [{"id": "adult", "quantity": 2}, {"id": "child", "quantity": 1}]}),
    )
    .await;
    checked.expect(200);
    let slot = &checked.body[0];
    assert_eq!(price(&slot["unitPricing"][0]), (5000, 4000));
    assert_eq!(price(&slot["unitPricing"][1]), (1500, 1200));
    assert_eq!(price(&slot["pricing"]), (11500, 9200));
    let calendar = priced_post(
        &app,
        &key,
        "/availability/calendar",
        json!({"productId": tour, "optionId": "DEFAULT", "localDateStart": day, "localDateEnd": day}),
    )
    .await;
    assert_eq!(price(&calendar.body[0]["unitPricingFrom"][0]), (4500, 3600));
}

/// The channels queued for a booking's messages, sorted.
async fn queued(app: &TestApp, reference: &str) -> Vec<String> {
    let mut channels = app
        .query_strings(&format!(
            "SELECT o.channel FROM outbox o JOIN bookings b ON b.id = o.booking_id WHERE b.reference = '{reference}'"
        ))
        .await;
    channels.sort();
    channels
}

async fn the_operators_setting_decides_whether_berth_tells_resellers_travellers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, key) = selling(&app, "Acme Tours").await;
    let at = departures(&app, &tour).await[0].1;
    let set = |messages: &'static str| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let reply = app
                .request(
                    reqwest::Method::PUT,
                    "/v1/operator/reseller-messages",
                    Some(&owner),
                    Some(json!({ "messages": messages })),
                )
                .await;
            reply.expect(200);
            assert_eq!(reply.body["messages"], messages);
        }
    };
    let contact = json!({"fullName": "Ana Silva", "emailAddress": "ana@example.com", "phoneNumber": "+351 912 345 678", "locales": ["fr-FR", "es"]});
    let sell = |receipt: bool| {
        let (app, key, tour, contact) = (&app, key.clone(), tour.clone(), contact.clone());
        async move {
            let held = reserve(app, &key, &tour, at, 1).await;
            let uuid = held.body["uuid"].as_str().unwrap().to_owned();
            let done = octo_post(
                app,
                &key,
                &format!("/bookings/{uuid}/confirm"),
                json!({"contact": contact, "emailReceipt": receipt}),
            )
            .await;
            assert_booking(&done, "responses/booking-confirmation.schema.json");
            assert_eq!(
                done.body["contact"]["phoneNumber"], "+351 912 345 678",
                "kept as sent"
            );
            (
                uuid,
                done.body["supplierReference"].as_str().unwrap().to_owned(),
            )
        }
    };

    // The default: an email receipt only when the reseller asks for one.
    let profile = app.get_as(&owner, "/v1/operator").await;
    assert_eq!(profile.body["reseller_messages"], "on_request");
    let (_, asked) = sell(true).await;
    assert_eq!(queued(&app, &asked).await, ["email"]);
    let (_, unasked) = sell(false).await;
    assert!(queued(&app, &unasked).await.is_empty());

    // Always: email and SMS, whatever the reseller asks, in the traveller's language.
    set("always").await;
    let (uuid, always) = sell(false).await;
    assert_eq!(queued(&app, &always).await, ["email", "sms"]);
    let phone = app
        .query_strings(&format!(
            "SELECT customer_phone FROM bookings WHERE reference = '{always}'"
        ))
        .await;
    let language = app
        .query_strings(&format!(
            "SELECT customer_language FROM bookings WHERE reference = '{always}'"
        ))
        .await;
    assert_eq!(
        (phone, language),
        (vec!["+351912345678".to_owned()], vec!["es".to_owned()]),
        "normalized, and in the first locale berth speaks"
    );
    // A change of contact keeps to the setting too: a number berth cannot use is dropped.
    let changed = octo_patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"contact": {"fullName": "Ana Silva", "phoneNumber": "12"}}),
    )
    .await;
    assert_booking(&changed, "responses/booking-update.schema.json");
    let phones = app
        .query_strings(&format!(
            "SELECT COALESCE(customer_phone, 'none') FROM bookings WHERE reference = '{always}'"
        ))
        .await;
    assert_eq!(phones, ["none"]);

    // Never: not even a receipt the reseller asks for; the reseller tells its travellers.
    set("never").await;
    let (_, never) = sell(true).await;
    assert!(queued(&app, &never).await.is_empty());
    let emails = app
        .query_strings(&format!(
            "SELECT customer_email FROM bookings WHERE reference = '{never}'"
        ))
        .await;
    assert_eq!(emails, [""], "no address kept that berth may not write to");

    // Anything else is refused with the field named, the setting unchanged.
    let wrong = app
        .request(
            reqwest::Method::PUT,
            "/v1/operator/reseller-messages",
            Some(&owner),
            Some(json!({"messages": "sometimes"})),
        )
        .await;
    assert_eq!(wrong.status.as_u16(), 422, "{}", wrong.text);
    let profile = app.get_as(&owner, "/v1/operator").await;
    assert_eq!(profile.body["reseller_messages"], "never");
}

async fn resellers_and_direct_travellers_racing_for_the_last_seats_never_oversell(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Acme Tours").await;
    let (departure, at) = departures(&app, &tour).await[0].clone();
    take(&app, &departure, 12).await;
    assert_eq!(available(&app, &departure).await, 8);
    // Twelve reseller reservations and twelve traveller holds, one seat each, at once.
    let app = Arc::new(app);
    let mut racers = JoinSet::new();
    for _ in 0..12 {
        let (reseller, key, tour) = (app.clone(), key.clone(), tour.clone());
        racers.spawn(async move { (true, reserve(&reseller, &key, &tour, at, 1).await) });
        let (traveller, departure) = (app.clone(), departure.clone());
        racers.spawn(async move {
            let seat = json!([{"unit": "adult", "quantity": 1}]);
            (false, traveller.hold(&departure, seat).await)
        });
    }
    let (mut resold, mut direct) = (0, 0);
    while let Some(joined) = racers.join_next().await {
        match joined.expect("racer finished") {
            (true, reply) if reply.status.as_u16() == 200 => {
                assert_eq!(reply.body["status"], "ON_HOLD");
                resold += 1;
            }
            (true, reply) => assert_octo_error(&reply, "UNPROCESSABLE_ENTITY"),
            (false, reply) if reply.status.as_u16() == 201 => direct += 1,
            (false, reply) => {
                reply.expect_error(409, "sold_out");
            }
        }
    }
    assert_eq!(
        resold + direct,
        8,
        "every free seat sold once: {resold} through the reseller, {direct} direct"
    );
    assert_eq!(available(&app, &departure).await, 0);
    app.assert_seat_invariant().await;
}

async fn a_list_answers_newest_first_with_each_bookings_units(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Acme Tours").await;
    let at = departures(&app, &tour).await[0].1;
    let mut made = Vec::new();
    for n in 1..=3 {
        let held = reserve(&app, &key, &tour, at, n).await;
        made.push((held.body["uuid"].as_str().unwrap().to_owned(), n));
        // Booking ids order by time to the millisecond.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let listed = octo(
        &app,
        Some(&key),
        &format!("/bookings?localDate={}", &octo_id(at)[..10]),
        Some(""),
    )
    .await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.text);
    assert_valid("responses/get-bookings.schema.json", &listed.body);
    let got: Vec<(String, usize)> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["uuid"].as_str().unwrap().to_owned(),
                b["unitItems"].as_array().unwrap().len(),
            )
        })
        .collect();
    made.reverse();
    assert_eq!(got, made, "newest first, each with its own travellers");
}
