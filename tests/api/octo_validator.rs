//! The public OCTO validator's supplier sequence (octotravel/validator), replayed against berth
//! as tests/octo/README.md writes it down, scenario by scenario: supplier → products → calendar →
//! availability → reserve → extend → confirm → update → cancel → get → list, with the seed data
//! it needs (two tours with departures over the next 30 days, one departure sold out). Every
//! answer is checked against the OCTO schemas and berth's profile, and every value the
//! validator compares is compared here.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::octo::{assert_valid, octo, octo_post, take};
use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(the_octo_validators_sequence_passes);

const PROFILE: &str = "profiles/berth.schema.json#/$defs/";

fn ok<'a>(reply: &'a Reply, schema: &str) -> &'a Value {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_valid(schema, &reply.body);
    &reply.body
}

fn booking<'a>(reply: &'a Reply, schema: &str) -> &'a Value {
    let body = ok(reply, schema);
    assert_valid(&format!("{PROFILE}Booking"), body);
    let items = body["unitItems"].as_array().unwrap();
    let mut uuids: Vec<&str> = items.iter().map(|i| i["uuid"].as_str().unwrap()).collect();
    uuids.sort_unstable();
    uuids.dedup();
    assert_eq!(uuids.len(), items.len(), "unit item uuids are unique");
    assert_eq!(body["availabilityId"], body["availability"]["id"]);
    assert_eq!(body["product"]["deliveryMethods"], body["deliveryMethods"]);
    body
}

fn error(reply: &Reply, code: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
    assert_valid("responses/error.schema.json", &reply.body);
    assert_valid(&format!("{PROFILE}Error"), &reply.body);
    assert_eq!(reply.body["error"], code, "{}", reply.text);
}

async fn patch(app: &TestApp, key: &str, path: &str, body: Value) -> Reply {
    TestApp::reply(
        app.client
            .patch(format!("{}/octo{path}", app.base))
            .bearer_auth(key)
            .header("Octo-Capabilities", "")
            .json(&body),
    )
    .await
}

/// Seeds what the validator needs: two tours of one operator (maxUnits 10, no required contact
/// fields), a departure a day at 10:00 from today + 2 to today + 29 with 15 seats, and the
/// second tour's first departure sold out. Returns the reseller's key.
async fn seed(app: &TestApp, today: NaiveDate) -> String {
    let owner = app.operator("Validator Tours").await;
    let mut tours = Vec::new();
    for name in ["Dolphin watch", "Sunset sail"] {
        let tour = app
            .tour(&owner, json!({"name": name, "max_per_booking": 10}))
            .await;
        app.post_as(
            &owner,
            &format!("/v1/tours/{tour}/schedules"),
            json!({"rrule": "FREQ=DAILY;COUNT=28", "start_date": (today + Duration::days(2)).to_string(), "times": ["10:00"], "capacity": 15}),
        )
        .await
        .expect(201);
        tours.push(tour);
    }
    let first_of_second = app
        .get(&format!("/v1/tours/{}/availability", tours[1]))
        .await;
    let sold_out = first_of_second.body["departures"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    take(app, &sold_out, 15).await;
    app.post_as(&owner, "/v1/resellers", json!({"name": "Validator"}))
        .await
        .str("key")
}

async fn the_octo_validators_sequence_passes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let today = app.clock.now().date_naive();
    let key = seed(&app, today).await;
    let window = json!({"localDateStart": today.to_string(), "localDateEnd": (today + Duration::days(30)).to_string()});
    let with = |base: &Value, extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    // 1. Supplier.
    let supplier = octo(&app, Some(&key), "/supplier", Some("")).await;
    let supplier = ok(&supplier, "responses/get-supplier.schema.json");
    assert_valid(&format!("{PROFILE}Supplier"), supplier);

    // 2. Products.
    let products = octo(&app, Some(&key), "/products", Some("")).await;
    let products = ok(&products, "responses/get-products.schema.json")
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(products.len(), 2);
    for product in &products {
        assert_valid(&format!("{PROFILE}Product"), product);
    }
    let first = products[0]["id"].as_str().unwrap().to_owned();
    let one = octo(&app, Some(&key), &format!("/products/{first}"), Some("")).await;
    assert_valid(
        &format!("{PROFILE}Product"),
        ok(&one, "responses/get-product.schema.json"),
    );
    error(
        &octo(&app, Some(&key), "/products/invalidProductId", Some("")).await,
        "INVALID_PRODUCT_ID",
    );

    // 3. Calendar, for the first product's default option.
    let base = json!({"productId": first, "optionId": "DEFAULT"});
    let calendar = octo_post(
        &app,
        &key,
        "/availability/calendar",
        with(&base, window.clone()),
    )
    .await;
    let days = ok(&calendar, "responses/availability-calendar.schema.json")
        .as_array()
        .unwrap();
    assert_eq!(days.len(), 31);
    for day in days {
        assert_valid(&format!("{PROFILE}AvailabilityCalendarDay"), day);
    }
    let bad_product = with(&base, json!({"productId": "invalidProductId"}));
    error(
        &octo_post(
            &app,
            &key,
            "/availability/calendar",
            with(&bad_product, window.clone()),
        )
        .await,
        "INVALID_PRODUCT_ID",
    );
    let bad_option = with(&base, json!({"optionId": "invalidOptionId"}));
    error(
        &octo_post(
            &app,
            &key,
            "/availability/calendar",
            with(&bad_option, window.clone()),
        )
        .await,
        "INVALID_OPTION_ID",
    );
    let no_start = with(&base, json!({"localDateEnd": window["localDateEnd"]}));
    error(
        &octo_post(&app, &key, "/availability/calendar", no_start).await,
        "BAD_REQUEST",
    );

    // 4. Availability: by interval, date and id; then every product's status.
    let interval = octo_post(&app, &key, "/availability", with(&base, window.clone())).await;
    let slots = ok(&interval, "responses/availability-check.schema.json")
        .as_array()
        .unwrap()
        .clone();
    assert!(!slots.is_empty());
    for slot in &slots {
        assert_valid(&format!("{PROFILE}Availability"), slot);
    }
    let kept = &slots[slots.len() / 2];
    let kept_id = kept["id"].as_str().unwrap();
    let by_date = octo_post(
        &app,
        &key,
        "/availability",
        with(&base, json!({"localDate": &kept_id[..10]})),
    )
    .await;
    let by_date = ok(&by_date, "responses/availability-check.schema.json");
    assert!(by_date
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == kept["id"]));
    let by_id = octo_post(
        &app,
        &key,
        "/availability",
        with(&base, json!({"availabilityIds": [kept_id]})),
    )
    .await;
    let by_id = ok(&by_id, "responses/availability-check.schema.json");
    assert_eq!(by_id.as_array().unwrap().len(), 1);
    let mut sold_out: Option<(String, String)> = None;
    let mut bookable: Vec<(String, Vec<Value>)> = Vec::new();
    for product in &products {
        let id = product["id"].as_str().unwrap();
        let reply = octo_post(
            &app,
            &key,
            "/availability",
            with(
                &json!({"productId": id, "optionId": "DEFAULT"}),
                window.clone(),
            ),
        )
        .await;
        let list = ok(&reply, "responses/availability-check.schema.json")
            .as_array()
            .unwrap()
            .clone();
        if sold_out.is_none() {
            if let Some(slot) = list.iter().find(|s| s["status"] == "SOLD_OUT") {
                sold_out = Some((id.to_owned(), slot["id"].as_str().unwrap().to_owned()));
            }
        }
        let open: Vec<Value> = list
            .into_iter()
            .filter(|s| s["available"] == true)
            .collect();
        if open.len() > 1 {
            bookable.push((id.to_owned(), open));
        }
    }
    let (sold_product, sold_slot) = sold_out.expect("a sold-out slot is seeded");
    assert_eq!(bookable.len(), 2, "both tours are bookable");
    error(
        &octo_post(
            &app,
            &key,
            "/availability",
            with(&bad_product, window.clone()),
        )
        .await,
        "INVALID_PRODUCT_ID",
    );
    error(
        &octo_post(
            &app,
            &key,
            "/availability",
            with(&bad_option, window.clone()),
        )
        .await,
        "INVALID_OPTION_ID",
    );
    let every_form = with(
        &with(&base, window.clone()),
        json!({"localDate": today.to_string(), "availabilityIds": [kept_id]}),
    );
    error(
        &octo_post(&app, &key, "/availability", every_form).await,
        "BAD_REQUEST",
    );

    // 5. Capacity pre-check: about 15 reservations of maxUnits each must fit.
    let (p1, p1_slots) = bookable[0].clone();
    let max_units = products[0]["options"][0]["restrictions"]["maxUnits"]
        .as_u64()
        .unwrap_or(5);
    assert_eq!(max_units, 10);
    let vacancies: u64 = p1_slots
        .iter()
        .map(|s| s["vacancies"].as_u64().unwrap())
        .sum();
    assert!(15 * max_units <= vacancies, "{vacancies} vacancies");

    // 6. Reservations: 8 adults (the validator's count for option DEFAULT with maxUnits 10), on
    // the next slot with room, round-robin.
    let n = 8;
    let mut next = 0;
    let p1_base = json!({"productId": p1, "optionId": "DEFAULT"});
    let mut reserve = |units: usize| {
        let slot = p1_slots[next % p1_slots.len()]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        next += 1;
        with(
            &p1_base,
            json!({"availabilityId": slot, "unitItems": vec![json!({"unitId": "adult"}); units]}),
        )
    };
    let valid = reserve(n);
    let held = octo_post(&app, &key, "/bookings", valid.clone()).await;
    let held_body = booking(&held, "responses/booking-reservation.schema.json").clone();
    assert_eq!(held_body["status"], "ON_HOLD");
    assert_eq!(held_body["unitItems"].as_array().unwrap().len(), n);
    assert!(held_body["unitItems"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["unitId"] == "adult"));
    assert_eq!(held_body["productId"], valid["productId"]);
    assert_eq!(held_body["optionId"], "DEFAULT");
    assert_eq!(held_body["availabilityId"], valid["availabilityId"]);
    let sold = json!({"productId": sold_product, "optionId": "DEFAULT", "availabilityId": sold_slot, "unitItems": [{"unitId": "adult"}]});
    error(
        &octo_post(&app, &key, "/bookings", sold).await,
        "UNPROCESSABLE_ENTITY",
    );
    let a_valid = reserve(n);
    for (change, code) in [
        (
            json!({"productId": "invalidProductId"}),
            "INVALID_PRODUCT_ID",
        ),
        (json!({"optionId": "invalidOptionId"}), "INVALID_OPTION_ID"),
        (
            json!({"availabilityId": "invalidAvailabilityId"}),
            "INVALID_AVAILABILITY_ID",
        ),
        (json!({"unitItems": []}), "UNPROCESSABLE_ENTITY"),
        (
            json!({"unitItems": [{"unitId": "invalidUnitId"}]}),
            "INVALID_UNIT_ID",
        ),
    ] {
        error(
            &octo_post(&app, &key, "/bookings", with(&a_valid, change)).await,
            code,
        );
    }
    let mut no_items = a_valid.clone();
    no_items.as_object_mut().unwrap().remove("unitItems");
    error(
        &octo_post(&app, &key, "/bookings", no_items).await,
        "UNPROCESSABLE_ENTITY",
    );

    // 7. Extend.
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let held = booking(&held, "responses/booking-reservation.schema.json").clone();
    let uuid = held["uuid"].as_str().unwrap();
    app.clock.advance(Duration::seconds(2));
    let extended = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/extend"),
        json!({"expirationMinutes": 31}),
    )
    .await;
    let extended = booking(&extended, "responses/booking-extend.schema.json");
    assert_eq!(extended["status"], "ON_HOLD");
    assert!(extended["utcExpiresAt"].as_str().unwrap() > held["utcExpiresAt"].as_str().unwrap());
    error(
        &octo_post(
            &app,
            &key,
            "/bookings/invalidUUID/extend",
            json!({"expirationMinutes": 31}),
        )
        .await,
        "INVALID_BOOKING_UUID",
    );

    // 8. Confirmation.
    let contact = json!({"firstName": "John", "lastName": "Doe", "emailAddress": "johndoe@mail.com", "fullName": "John Doe", "notes": "Test note"});
    let confirm_body =
        |reference: &str| json!({"contact": contact, "resellerReference": reference});
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let confirmed = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        confirm_body("R-8-1"),
    )
    .await;
    let confirmed = booking(&confirmed, "responses/booking-confirmation.schema.json");
    assert_eq!(confirmed["status"], "CONFIRMED");
    assert_eq!(confirmed["resellerReference"], "R-8-1");
    for field in ["firstName", "lastName", "emailAddress", "fullName", "notes"] {
        assert_eq!(confirmed["contact"][field], contact[field], "{field}");
    }
    let two = octo_post(&app, &key, "/bookings", reserve(2)).await;
    let two_uuid = two.body["uuid"].as_str().unwrap().to_owned();
    let mut three = confirm_body("R-8-2");
    three["unitItems"] = json!([{"unitId": "adult"}, {"unitId": "adult"}, {"unitId": "adult"}]);
    let grown = octo_post(&app, &key, &format!("/bookings/{two_uuid}/confirm"), three).await;
    assert_eq!(
        booking(&grown, "responses/booking-confirmation.schema.json")["unitItems"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    error(
        &octo_post(
            &app,
            &key,
            "/bookings/invalidUUID/confirm",
            json!({"contact": {}}),
        )
        .await,
        "INVALID_BOOKING_UUID",
    );
    let two = octo_post(&app, &key, "/bookings", reserve(2)).await;
    let two_uuid = two.body["uuid"].as_str().unwrap().to_owned();
    let mut bad_units = confirm_body("R-8-4");
    bad_units["unitItems"] = json!([{"unitId": "invalidUnitId"}, {"unitId": "invalidUnitId"}]);
    error(
        &octo_post(
            &app,
            &key,
            &format!("/bookings/{two_uuid}/confirm"),
            bad_units,
        )
        .await,
        "INVALID_UNIT_ID",
    );

    // 9. Update, on holds.
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    // Another available slot with room: the last of the window (no reservation reaches it).
    let other_slot = p1_slots[p1_slots.len() - 1]["id"].as_str().unwrap();
    assert_ne!(Some(other_slot), held.body["availabilityId"].as_str());
    let moved = patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"availabilityId": other_slot}),
    )
    .await;
    let moved = booking(&moved, "responses/booking-update.schema.json");
    assert_eq!(moved["availabilityId"], other_slot);
    assert_eq!(moved["availability"]["id"], other_slot);
    let two = octo_post(&app, &key, "/bookings", reserve(2)).await;
    let two_uuid = two.body["uuid"].as_str().unwrap().to_owned();
    let grown = patch(
        &app,
        &key,
        &format!("/bookings/{two_uuid}"),
        json!({"unitItems": [{"unitId": "adult"}, {"unitId": "adult"}, {"unitId": "adult"}]}),
    )
    .await;
    assert_eq!(
        booking(&grown, "responses/booking-update.schema.json")["unitItems"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let new_contact = json!({"fullName": "John Doe", "firstName": "John", "lastName": "Doe", "emailAddress": "johndoe@email.com", "phoneNumber": "+00000000", "country": "GB", "notes": "Test notes contact", "locales": ["en"]});
    let changed = patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"contact": new_contact, "notes": "Test note"}),
    )
    .await;
    let changed = booking(&changed, "responses/booking-update.schema.json");
    for (field, value) in new_contact.as_object().unwrap() {
        assert_eq!(&changed["contact"][field], value, "{field}");
    }
    assert_eq!(changed["notes"], "Test note");
    let (p2, p2_slots) = bookable[1].clone();
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let p2_slot = p2_slots[p2_slots.len() - 1]["id"].as_str().unwrap();
    let crossed = patch(
        &app,
        &key,
        &format!("/bookings/{uuid}"),
        json!({"productId": p2, "optionId": "DEFAULT", "unitItems": [{"unitId": "adult"}], "availabilityId": p2_slot}),
    )
    .await;
    let crossed = booking(&crossed, "responses/booking-update.schema.json");
    assert_eq!(crossed["productId"], p2.as_str());
    assert_eq!(crossed["optionId"], "DEFAULT");
    assert_eq!(crossed["availabilityId"], p2_slot);

    // 10. Cancellation: a hold, a confirmed booking, an unknown uuid.
    let reason = json!({"reason": "Reason for cancellation"});
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let cancelled = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/cancel"),
        reason.clone(),
    )
    .await;
    let cancelled = booking(&cancelled, "responses/booking-cancellation.schema.json");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancellation"]["reason"], reason["reason"]);
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        confirm_body("R-10-2"),
    )
    .await;
    let cancelled = octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/cancel"),
        reason.clone(),
    )
    .await;
    let cancelled = booking(&cancelled, "responses/booking-cancellation.schema.json");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancellation"]["reason"], reason["reason"]);
    assert_eq!(
        cancelled["cancellation"]["refund"], "FULL",
        "well before the departure"
    );
    error(
        &octo_post(&app, &key, "/bookings/invalidUUID/cancel", json!({})).await,
        "INVALID_BOOKING_UUID",
    );

    // 11. Get: a hold, a confirmed booking, an unknown uuid.
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    booking(
        &octo(&app, Some(&key), &format!("/bookings/{uuid}"), Some("")).await,
        "responses/get-booking.schema.json",
    );
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        confirm_body("R-11-2"),
    )
    .await;
    let read = octo(&app, Some(&key), &format!("/bookings/{uuid}"), Some("")).await;
    assert_eq!(
        booking(&read, "responses/get-booking.schema.json")["status"],
        "CONFIRMED"
    );
    error(
        &octo(&app, Some(&key), "/bookings/invalidUUID", Some("")).await,
        "INVALID_BOOKING_UUID",
    );

    // 12. List by berth's reference, by the reseller's, and with neither.
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let supplier_reference = held.body["supplierReference"].as_str().unwrap().to_owned();
    octo_post(
        &app,
        &key,
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "John Doe"}, "resellerReference": "R-12-1"}),
    )
    .await;
    let listed = octo(
        &app,
        Some(&key),
        &format!("/bookings?supplierReference={supplier_reference}"),
        Some(""),
    )
    .await;
    let listed = ok(&listed, "responses/get-bookings.schema.json")
        .as_array()
        .unwrap();
    assert!(!listed.is_empty());
    for one in listed {
        assert_valid(&format!("{PROFILE}Booking"), one);
    }
    let held = octo_post(&app, &key, "/bookings", reserve(n)).await;
    let uuid = held.body["uuid"].as_str().unwrap().to_owned();
    let confirmed = octo_post(&app, &key, &format!("/bookings/{uuid}/confirm"), json!({"contact": {"fullName": "John Doe", "emailAddress": "johndoe@example.com"}, "resellerReference": "R-12-2"})).await;
    assert_eq!(confirmed.body["resellerReference"], "R-12-2");
    let listed = octo(
        &app,
        Some(&key),
        "/bookings?resellerReference=R-12-2",
        Some(""),
    )
    .await;
    assert_eq!(
        ok(&listed, "responses/get-bookings.schema.json")
            .as_array()
            .unwrap()
            .len(),
        1
    );
    error(
        &octo(&app, Some(&key), "/bookings", Some("")).await,
        "BAD_REQUEST",
    );

    app.assert_seat_invariant().await;
}
