//! Bad input: a clear 4xx JSON error with a stable code and a human message, never a 5xx, never
//! internals, and the server keeps serving.

use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{merge, Backend, Reply, TestApp};

on_both_backends!(
    malformed_json_is_a_400_malformed_json,
    json_of_the_wrong_shape_is_a_422_naming_the_body,
    client_sent_prices_and_totals_are_refused_and_book_nothing,
    bad_items_are_refused_with_the_offending_field,
    bad_customer_details_are_refused_by_field,
    a_hold_on_a_malformed_or_unknown_departure_is_refused,
    invalid_tours_are_refused_by_field_and_create_nothing,
    invalid_departures_and_capacities_are_refused_by_field,
    invalid_schedules_are_refused_by_field_and_create_nothing,
    availability_refuses_bad_date_ranges,
    unknown_and_malformed_ids_are_not_found,
    an_oversized_body_is_413_payload_too_large,
    unknown_routes_and_wrong_methods_answer_json_not_found,
    operator_endpoints_refuse_missing_or_bad_bearer_tokens,
    another_operators_objects_are_not_found_and_stay_unchanged,
    every_error_carries_its_request_id_and_the_security_headers,
    the_server_keeps_serving_after_a_burst_of_bad_requests,
);

/// Nothing of the implementation may show in an error.
const LEAKS: [&str; 6] = ["sqlx", "SELECT", "INSERT", "/src/", "panicked", ".rs:"];
/// A well-formed ULID that names nothing.
const UNKNOWN_ULID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// Sends `body` verbatim as `application/json`, with an optional bearer token.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::reply(request).await
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A well-formed error body with matching request id, security headers and no internals.
#[track_caller]
fn assert_clean_error(reply: &Reply) {
    let body = &reply.text;
    assert!(
        reply.status.is_client_error(),
        "expected a 4xx, got {}: {body}",
        reply.status
    );
    assert!(
        header(reply, "content-type").starts_with("application/json"),
        "not JSON: {:?} {body}",
        reply.headers
    );
    let error = &reply.body["error"];
    for key in ["code", "message", "request_id"] {
        assert!(
            error[key].as_str().is_some_and(|s| !s.is_empty()),
            "error.{key} missing: {body}"
        );
    }
    assert_eq!(header(reply, "x-request-id"), error["request_id"], "{body}");
    assert_eq!(header(reply, "x-content-type-options"), "nosniff");
    assert_eq!(header(reply, "x-frame-options"), "DENY");
    for leak in LEAKS {
        assert!(!body.contains(leak), "error leaks {leak:?}: {body}");
    }
}

#[track_caller]
fn refused(reply: &Reply, status: u16, code: &str) {
    reply.expect_error(status, code);
    assert_clean_error(reply);
}

/// 422 `validation_failed` whose `fields` names `field` with a message.
#[track_caller]
fn invalid(reply: &Reply, field: &str) {
    refused(reply, 422, "validation_failed");
    assert!(
        reply.body["error"]["fields"][field]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "no fields.{field}: {}",
        reply.text
    );
}

fn field_names(reply: &Reply) -> Vec<String> {
    reply.body["error"]["fields"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn hold_body(occurrence: &str, items: Value) -> Value {
    json!({
        "occurrence_id": occurrence,
        "items": items,
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}
    })
}

fn tour_body(changes: Value) -> Value {
    let mut body = json!({
        "name": "Harbour cruise", "timezone": "Europe/Lisbon", "duration_minutes": 90,
        "currency": "EUR", "min_per_booking": 1, "max_per_booking": 8,
        "units": [{"code": "adult", "label": "Adult", "price": 3500}]
    });
    merge(&mut body, changes);
    body
}

fn schedule_body(changes: Value) -> Value {
    let mut body = json!({
        "rrule": "FREQ=DAILY;COUNT=3", "start_date": "2099-06-01", "times": ["09:00"], "capacity": 10
    });
    merge(&mut body, changes);
    body
}

async fn malformed_json_is_a_400_malformed_json(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, occurrence) = app.departure(10).await;
    let valid = hold_body(&occurrence, json!([{"unit": "adult", "quantity": 1}])).to_string();
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"occurrence_id\": }".to_vec(),
        valid.as_bytes()[..valid.len() / 2].to_vec(),
        Vec::new(),
        b"   ".to_vec(),
        b"not json".to_vec(),
        b"{'occurrence_id': 'x'}".to_vec(),
        format!("{valid} trailing").into_bytes(),
        vec![b'"', 0xff, 0xfe, b'"'],
    ];
    for body in bodies {
        let reply = send(&app, Method::POST, "/v1/bookings", None, body.clone()).await;
        refused(&reply, 400, "malformed_json");
        let reply = send(&app, Method::POST, "/v1/tours", Some(&token), body).await;
        refused(&reply, 400, "malformed_json");
    }
    assert_eq!(app.available(&occurrence).await, 10);
    assert_eq!(
        app.get_as(&token, "/v1/tours")
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn json_of_the_wrong_shape_is_a_422_naming_the_body(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, occurrence) = app.departure(10).await;
    let customer = json!({"name": "Ada", "email": "ada@example.com"});
    let adult = json!([{"unit": "adult", "quantity": 1}]);
    let bookings = [
        json!({"occurrence_id": occurrence, "items": [{"unit": "adult", "quantity": "2"}], "customer": customer}),
        json!({"occurrence_id": occurrence, "items": {"unit": "adult", "quantity": 2}, "customer": customer}),
        json!({"occurrence_id": occurrence, "items": [{"unit": "adult", "quantity": 2.5}], "customer": customer}),
        json!({"occurrence_id": occurrence, "items": [{"unit": "adult", "quantity": null}], "customer": customer}),
        json!({"occurrence_id": occurrence, "items": [{"unit": "adult"}], "customer": customer}),
        json!({"occurrence_id": occurrence, "customer": customer}),
        json!({"occurrence_id": occurrence, "items": adult}),
        json!({"items": adult, "customer": customer}),
        json!({"occurrence_id": 42, "items": adult, "customer": customer}),
        json!({"occurrence_id": occurrence, "items": adult, "customer": "Ada"}),
        json!({"occurrence_id": occurrence, "items": adult, "customer": {"name": "Ada"}}),
        json!([occurrence, adult, customer]),
        json!(null),
        json!("hold please"),
    ];
    for body in bookings {
        invalid(
            &send(&app, Method::POST, "/v1/bookings", None, body.to_string()).await,
            "body",
        );
    }
    let duplicate = format!(
        r#"{{"occurrence_id":"{occurrence}","occurrence_id":"{occurrence}","items":{adult},"customer":{customer}}}"#
    );
    invalid(
        &send(&app, Method::POST, "/v1/bookings", None, duplicate).await,
        "body",
    );
    let tours = [
        tour_body(json!({"units": [{"code": "adult", "label": "Adult", "price": "35.00"}]})),
        tour_body(json!({"duration_minutes": "90"})),
        tour_body(json!({"units": null})),
        json!({"name": "No units or zone"}),
    ];
    for body in tours {
        invalid(&app.post_as(&token, "/v1/tours", body).await, "body");
    }
    assert_eq!(app.available(&occurrence).await, 10);
}

async fn client_sent_prices_and_totals_are_refused_and_book_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, occurrence) = app.departure(10).await;
    let customer = json!({"name": "Ada", "email": "ada@example.com"});
    let adult = json!([{"unit": "adult", "quantity": 2}]);
    let cases = [
        (
            "price",
            json!({"occurrence_id": occurrence, "items": [{"unit": "adult", "quantity": 2, "price": 1}], "customer": customer}),
        ),
        (
            "unit_price",
            json!({"occurrence_id": occurrence, "items": [{"unit": "adult", "quantity": 2, "unit_price": 1}], "customer": customer}),
        ),
        (
            "total",
            json!({"occurrence_id": occurrence, "items": adult, "customer": customer, "total": 2}),
        ),
        (
            "amount",
            json!({"occurrence_id": occurrence, "items": adult, "customer": customer, "amount": 2}),
        ),
    ];
    for (key, body) in cases {
        let reply = app.post("/v1/bookings", body).await;
        invalid(&reply, "body");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(key),
            "{}",
            reply.text
        );
    }
    assert_eq!(app.available(&occurrence).await, 10);
    let manifest = app
        .get_as(&token, &format!("/v1/occurrences/{occurrence}/manifest"))
        .await;
    manifest.expect(200);
    assert_eq!(manifest.body["bookings"], json!([]));
    // Without the price, the same request books at the server's price.
    let held = app
        .post("/v1/bookings", hold_body(&occurrence, adult))
        .await;
    held.expect(201);
    assert_eq!(held.body["total"], 7000);
}

async fn bad_items_are_refused_with_the_offending_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, occurrence) = app.departure(10).await; // max_per_booking 8
    let item = |unit: &str, quantity: Value| json!({"unit": unit, "quantity": quantity});
    let cases = [
        (json!([item("senior", json!(1))]), "items[0].unit"),
        (json!([item("", json!(1))]), "items[0].unit"),
        (
            json!([item("adult", json!(1)), item("ADULT", json!(1))]),
            "items[1].unit",
        ),
        (
            json!([item("adult", json!(1)), item("adult", json!(1))]),
            "items[1].unit",
        ),
        (json!([item("adult", json!(0))]), "items[0].quantity"),
        (json!([item("adult", json!(-1))]), "items[0].quantity"),
        (json!([item("adult", json!(i64::MIN))]), "items[0].quantity"),
        (json!([item("adult", json!(i64::MAX))]), "items[0].quantity"),
        (
            json!([item("child", json!(1)), item("adult", json!(9))]),
            "items[1].quantity",
        ),
        (
            json!([item("adult", json!(5)), item("child", json!(4))]),
            "items",
        ),
        (json!([]), "items"),
        (Value::Array(vec![item("adult", json!(1)); 21]), "items"),
        (json!([item("adult", json!(1e20))]), "body"),
        (json!([item("adult", json!(u64::MAX))]), "body"),
    ];
    for (items, field) in cases {
        invalid(
            &app.post("/v1/bookings", hold_body(&occurrence, items))
                .await,
            field,
        );
    }
    assert_eq!(app.available(&occurrence).await, 10);
}

async fn bad_customer_details_are_refused_by_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, occurrence) = app.departure(10).await;
    let long_name = "x".repeat(201);
    let cases = [
        (
            json!({"name": "Ada", "email": "not-an-email"}),
            "customer.email",
        ),
        (
            json!({"name": "Ada", "email": "ada@example"}),
            "customer.email",
        ),
        (json!({"name": "Ada", "email": ""}), "customer.email"),
        (
            json!({"name": "Ada", "email": "ada@example.com", "phone": "12345"}),
            "customer.phone",
        ),
        (
            json!({"name": "Ada", "email": "ada@example.com", "phone": "+351 91x 345 678"}),
            "customer.phone",
        ),
        (
            json!({"name": "", "email": "ada@example.com"}),
            "customer.name",
        ),
        (
            json!({"name": "   ", "email": "ada@example.com"}),
            "customer.name",
        ),
        (
            json!({"name": long_name, "email": "ada@example.com"}),
            "customer.name",
        ),
    ];
    let items = json!([{"unit": "adult", "quantity": 1}]);
    for (customer, field) in cases {
        let body = json!({"occurrence_id": occurrence, "items": items, "customer": customer});
        invalid(&app.post("/v1/bookings", body).await, field);
    }
    let all_bad = json!({"name": "", "email": "nope", "phone": "0"});
    let reply = app
        .post(
            "/v1/bookings",
            json!({"occurrence_id": occurrence, "items": items, "customer": all_bad}),
        )
        .await;
    invalid(&reply, "customer.name");
    assert_eq!(
        field_names(&reply),
        ["customer.email", "customer.name", "customer.phone"]
    );
    assert_eq!(app.available(&occurrence).await, 10);
}

async fn a_hold_on_a_malformed_or_unknown_departure_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, occurrence) = app.departure(10).await;
    let items = json!([{"unit": "adult", "quantity": 1}]);
    for bad in [
        "abc",
        "",
        "' OR '1'='1",
        "../../etc/passwd",
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    ] {
        invalid(
            &app.post("/v1/bookings", hold_body(bad, items.clone()))
                .await,
            "occurrence_id",
        );
    }
    for unknown in [UNKNOWN_ULID, tour.as_str()] {
        refused(
            &app.post("/v1/bookings", hold_body(unknown, items.clone()))
                .await,
            404,
            "not_found",
        );
    }
    assert_eq!(app.available(&occurrence).await, 10);
}

async fn invalid_tours_are_refused_by_field_and_create_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let unit = |code: &str, label: &str, price: Value| json!({"code": code, "label": label, "price": price});
    let cases = [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"timezone": ""}), "timezone"),
        (json!({"currency": "EURO"}), "currency"),
        (json!({"currency": "eur"}), "currency"),
        (json!({"units": []}), "units"),
        (
            json!({"units": [unit("Adult!", "Adult", json!(1))]}),
            "units[0].code",
        ),
        (
            json!({"units": [unit("adult", "A", json!(1)), unit("adult", "B", json!(2))]}),
            "units[1].code",
        ),
        (
            json!({"units": [unit("adult", "Adult", json!(-1))]}),
            "units[0].price",
        ),
        (
            json!({"units": [unit("adult", "Adult", json!(i64::MAX))]}),
            "units[0].price",
        ),
        (
            json!({"units": [unit("adult", "", json!(1))]}),
            "units[0].label",
        ),
        (
            json!({"min_per_booking": 5, "max_per_booking": 2}),
            "min_per_booking",
        ),
        (json!({"max_per_booking": 101}), "max_per_booking"),
        (json!({"duration_minutes": 0}), "duration_minutes"),
        (json!({"name": ""}), "name"),
    ];
    for (changes, field) in cases {
        invalid(
            &app.post_as(&token, "/v1/tours", tour_body(changes)).await,
            field,
        );
    }
    let all_bad =
        json!({"timezone": "Nowhere", "currency": "XYZ", "min_per_booking": 9, "units": []});
    let reply = app.post_as(&token, "/v1/tours", tour_body(all_bad)).await;
    invalid(&reply, "timezone");
    assert_eq!(
        field_names(&reply),
        ["currency", "min_per_booking", "timezone", "units"]
    );
    assert_eq!(app.get_as(&token, "/v1/tours").await.body, json!([]));
    app.post_as(&token, "/v1/tours", tour_body(json!({})))
        .await
        .expect(201);
}

async fn invalid_departures_and_capacities_are_refused_by_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, occurrence) = app.departure(10).await;
    let path = format!("/v1/tours/{tour}/occurrences");
    let past = (app.clock.now() - chrono::Duration::hours(1)).to_rfc3339();
    let cases = [
        (
            json!({"starts_at": "tomorrow", "capacity": 10}),
            "starts_at",
        ),
        (
            json!({"starts_at": "2099-02-30T09:00:00Z", "capacity": 10}),
            "starts_at",
        ),
        (json!({"starts_at": past, "capacity": 10}), "starts_at"),
        (
            json!({"starts_at": "2099-06-01T09:00:00Z", "capacity": 0}),
            "capacity",
        ),
        (
            json!({"starts_at": "2099-06-01T09:00:00Z", "capacity": i64::MAX}),
            "capacity",
        ),
    ];
    for (body, field) in cases {
        invalid(&app.post_as(&token, &path, body).await, field);
    }
    let far = app
        .post_as(
            &token,
            &path,
            json!({"starts_at": "9999-12-31T23:00:00-05:00", "capacity": 5}),
        )
        .await;
    assert!(
        far.status == 201 || far.status == 422,
        "{} {}",
        far.status,
        far.text
    );
    let patch = format!("/v1/occurrences/{occurrence}");
    for capacity in [json!(-1), json!(i64::MAX)] {
        invalid(
            &app.patch_as(&token, &patch, json!({"capacity": capacity}))
                .await,
            "capacity",
        );
    }
    invalid(
        &app.patch_as(&token, &patch, json!({"capacity": "ten"}))
            .await,
        "body",
    );
    let tour_path = format!("/v1/tours/{tour}");
    invalid(
        &app.patch_as(&token, &tour_path, json!({"timezone": "Europe/Paris"}))
            .await,
        "timezone",
    );
    invalid(
        &app.patch_as(&token, &tour_path, json!({"max_per_booking": 0}))
            .await,
        "max_per_booking",
    );
    let manifest = format!("/v1/occurrences/{occurrence}/manifest?format=xml");
    invalid(&app.get_as(&token, &manifest).await, "format");
    let departure = app.get(&patch).await;
    assert_eq!(
        (
            departure.body["capacity"].as_i64(),
            app.available(&occurrence).await
        ),
        (Some(10), 10)
    );
    assert_eq!(app.get(&tour_path).await.body["timezone"], "Europe/Lisbon");
}

async fn invalid_schedules_are_refused_by_field_and_create_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let path = format!("/v1/tours/{tour}/schedules");
    let cases = [
        (json!({"rrule": "FREQ=HOURLY"}), "rrule"),
        (
            json!({"rrule": "FREQ=DAILY;COUNT=3;UNTIL=20991231"}),
            "rrule",
        ),
        (json!({"rrule": "every tuesday, please"}), "rrule"),
        (json!({"rrule": ""}), "rrule"),
        (json!({"rrule": "FREQ=WEEKLY;BYDAY=XX"}), "rrule"),
        (json!({"rrule": "FREQ=DAILY;INTERVAL=0"}), "rrule"),
        (json!({"times": ["25:00"]}), "times[0]"),
        (json!({"times": ["09:60"]}), "times[0]"),
        (json!({"times": ["9am"]}), "times[0]"),
        (json!({"times": ["09:00", "09:00"]}), "times[1]"),
        (json!({"times": []}), "times"),
        (json!({"start_date": "2099-02-30"}), "start_date"),
        (json!({"start_date": "01/06/2099"}), "start_date"),
        (json!({"until": "2099-13-01"}), "until"),
        (json!({"until": "2099-05-01"}), "until"),
        (json!({"exceptions": ["not-a-date"]}), "exceptions[0]"),
        (json!({"capacity": 0}), "capacity"),
    ];
    for (changes, field) in cases {
        invalid(
            &app.post_as(&token, &path, schedule_body(changes)).await,
            field,
        );
    }
    assert_eq!(app.get_as(&token, &path).await.body, json!([]));
    app.post_as(&token, &path, schedule_body(json!({})))
        .await
        .expect(201);
    assert_eq!(
        app.get_as(&token, &path)
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn availability_refuses_bad_date_ranges(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, _) = app.departure(10).await;
    let cases = [
        ("from=2027-03-10&to=2027-03-01", "from"),
        ("from=2027-01-01&to=2027-04-04", "to"),
        ("from=2027-01-01&to=2028-01-01", "to"),
        ("from=2027-13-01", "from"),
        ("from=2027-02-30&to=2027-03-01", "from"),
        ("from=2027-1-1", "from"),
        ("from=", "from"),
        ("to=tomorrow", "to"),
    ];
    for (query, field) in cases {
        invalid(
            &app.get(&format!("/v1/tours/{tour}/availability?{query}"))
                .await,
            field,
        );
    }
    // 93 dates is the most one request may ask for.
    app.get(&format!(
        "/v1/tours/{tour}/availability?from=2027-01-01&to=2027-04-03"
    ))
    .await
    .expect(200);
    for query in [
        "from=9999-12-30&to=9999-12-31",
        "from=0000-01-01&to=0000-01-02",
    ] {
        let reply = app
            .get(&format!("/v1/tours/{tour}/availability?{query}"))
            .await;
        assert!(
            reply.status == 200 || reply.status == 422,
            "{query}: {} {}",
            reply.status,
            reply.text
        );
    }
}

async fn unknown_and_malformed_ids_are_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, occurrence) = app.departure(10).await;
    let hold = app
        .hold(&occurrence, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    let access_token = hold.str("access_token");
    let ids = [
        "abc",
        UNKNOWN_ULID,
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "ABCDEFGH",
        "..%2F..%2Fetc%2Fpasswd",
        "1%27%20OR%20%271%27%3D%271",
        "x%27%3B%20DROP%20TABLE%20bookings%3B%20--",
        "%00",
    ];
    for id in ids {
        for path in [
            format!("/v1/tours/{id}"),
            format!("/v1/tours/{id}/availability"),
            format!("/v1/occurrences/{id}"),
        ] {
            refused(&app.get(&path).await, 404, "not_found");
        }
        let booking = format!("/v1/bookings/{id}");
        refused(&app.get(&booking).await, 404, "not_found");
        refused(
            &app.get_with_booking_token(&booking, &access_token).await,
            404,
            "not_found",
        );
        refused(
            &app.post_with_booking_token(&format!("{booking}/confirm"), &access_token)
                .await,
            404,
            "not_found",
        );
    }
    assert_eq!(app.available(&occurrence).await, 9);
}

async fn an_oversized_body_is_413_payload_too_large(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, occurrence) = app.departure(10).await;
    let with_name = |name: String| {
        json!({"occurrence_id": occurrence, "items": [{"unit": "adult", "quantity": 1}],
               "customer": {"name": name, "email": "ada@example.com"}})
    };
    let big = app
        .post("/v1/bookings", with_name("x".repeat(80 * 1024)))
        .await;
    refused(&big, 413, "payload_too_large");
    let big_tour = app
        .post_as(
            &token,
            "/v1/tours",
            tour_body(json!({"description": "x".repeat(80 * 1024)})),
        )
        .await;
    refused(&big_tour, 413, "payload_too_large");
    // Just under the limit the body is read, and refused for what it says.
    invalid(
        &app.post("/v1/bookings", with_name("x".repeat(60 * 1024)))
            .await,
        "customer.name",
    );
    assert_eq!(app.available(&occurrence).await, 10);
}

async fn unknown_routes_and_wrong_methods_answer_json_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, occurrence) = app.departure(10).await;
    let cases = [
        (Method::GET, "/nope".to_owned()),
        (Method::GET, "/v1".to_owned()),
        (Method::GET, "/v2/tours".to_owned()),
        (Method::GET, "/v1/bookings".to_owned()),
        (Method::POST, format!("/v1/tours/{tour}/nope")),
        (Method::DELETE, format!("/v1/tours/{tour}")),
        (Method::PUT, "/v1/bookings".to_owned()),
        (Method::DELETE, format!("/v1/occurrences/{occurrence}")),
        (Method::POST, "/health".to_owned()),
    ];
    for (method, path) in cases {
        refused(
            &send(&app, method, &path, Some(&token), "{}").await,
            404,
            "not_found",
        );
    }
    assert_eq!(app.get(&format!("/v1/tours/{tour}")).await.status, 200);
}

async fn operator_endpoints_refuse_missing_or_bad_bearer_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, occurrence) = app.departure(10).await;
    let reference = app
        .hold(&occurrence, json!([{"unit": "adult", "quantity": 2}]))
        .await
        .str("reference");
    let too_long = format!("Bearer brt_{}", "a".repeat(200));
    let (wrong_scheme, altered) = (format!("Token {token}"), format!("Bearer {token}x"));
    let authorizations = [
        None,
        Some("Bearer"),
        Some("Bearer garbage"),
        Some("Bearer brt_00000000000000000000000000000000"),
        Some("Basic dXNlcjpwYXNz"),
        Some(wrong_scheme.as_str()),
        Some(altered.as_str()),
        Some(too_long.as_str()),
    ];
    let endpoints = [
        (
            Method::POST,
            "/v1/tours".to_owned(),
            tour_body(json!({})).to_string(),
        ),
        (Method::POST, "/v1/tours".to_owned(), "{".to_owned()),
        (Method::GET, "/v1/tours".to_owned(), String::new()),
        (
            Method::PATCH,
            format!("/v1/tours/{tour}"),
            r#"{"name": "Hijacked"}"#.to_owned(),
        ),
        (
            Method::POST,
            format!("/v1/tours/{tour}/schedules"),
            schedule_body(json!({})).to_string(),
        ),
        (
            Method::GET,
            format!("/v1/tours/{tour}/schedules"),
            String::new(),
        ),
        (
            Method::POST,
            format!("/v1/tours/{tour}/occurrences"),
            r#"{"starts_at": "2099-01-01T09:00:00Z", "capacity": 5}"#.to_owned(),
        ),
        (
            Method::PATCH,
            format!("/v1/occurrences/{occurrence}"),
            r#"{"capacity": 2}"#.to_owned(),
        ),
        (
            Method::POST,
            format!("/v1/occurrences/{occurrence}/cancel"),
            String::new(),
        ),
        (
            Method::GET,
            format!("/v1/occurrences/{occurrence}/manifest"),
            String::new(),
        ),
        (
            Method::POST,
            format!("/v1/bookings/{reference}/check-in"),
            String::new(),
        ),
    ];
    for authorization in authorizations {
        for (method, path, body) in &endpoints {
            let mut request = app
                .client
                .request(method.clone(), format!("{}{path}", app.base))
                .header("Content-Type", "application/json")
                .body(body.clone());
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            let reply = TestApp::reply(request).await;
            refused(&reply, 401, "unauthorized");
        }
    }
    assert_eq!(
        app.get(&format!("/v1/tours/{tour}")).await.body["name"],
        "Harbour cruise"
    );
    let departure = app.get(&format!("/v1/occurrences/{occurrence}")).await;
    assert_eq!(
        (
            departure.body["capacity"].as_i64(),
            departure.body["status"].as_str()
        ),
        (Some(10), Some("open"))
    );
    assert_eq!(
        app.get_as(&token, "/v1/tours")
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        app.get_as(&token, &format!("/v1/bookings/{reference}"))
            .await
            .body["status"],
        "held"
    );
}

async fn another_operators_objects_are_not_found_and_stay_unchanged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, occurrence) = app.departure(10).await;
    let stranger = app.operator("Other Tours").await;
    let hold = app
        .hold(&occurrence, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    let reference = hold.str("reference");
    app.post_with_booking_token(
        &format!("/v1/bookings/{reference}/confirm"),
        &hold.str("access_token"),
    )
    .await
    .expect(200);
    let starts_at = "2099-01-01T09:00:00Z";
    let attempts = [
        app.patch_as(
            &stranger,
            &format!("/v1/tours/{tour}"),
            json!({"name": "Hijacked"}),
        )
        .await,
        app.post_as(
            &stranger,
            &format!("/v1/tours/{tour}/schedules"),
            schedule_body(json!({})),
        )
        .await,
        app.get_as(&stranger, &format!("/v1/tours/{tour}/schedules"))
            .await,
        app.post_as(
            &stranger,
            &format!("/v1/tours/{tour}/occurrences"),
            json!({"starts_at": starts_at, "capacity": 5}),
        )
        .await,
        app.patch_as(
            &stranger,
            &format!("/v1/occurrences/{occurrence}"),
            json!({"capacity": 2}),
        )
        .await,
        app.post_as(
            &stranger,
            &format!("/v1/occurrences/{occurrence}/cancel"),
            json!({}),
        )
        .await,
        app.get_as(&stranger, &format!("/v1/occurrences/{occurrence}/manifest"))
            .await,
        app.post_as(
            &stranger,
            &format!("/v1/bookings/{reference}/check-in"),
            json!({}),
        )
        .await,
        app.get_as(&stranger, &format!("/v1/bookings/{reference}"))
            .await,
    ];
    for reply in &attempts {
        refused(reply, 404, "not_found");
    }
    assert_eq!(
        app.get(&format!("/v1/tours/{tour}")).await.body["name"],
        "Harbour cruise"
    );
    let departure = app.get(&format!("/v1/occurrences/{occurrence}")).await;
    assert_eq!(
        (
            departure.body["capacity"].as_i64(),
            departure.body["status"].as_str()
        ),
        (Some(10), Some("open"))
    );
    assert_eq!(app.available(&occurrence).await, 8);
    assert_eq!(
        app.get_as(&owner, &format!("/v1/tours/{tour}/schedules"))
            .await
            .body,
        json!([])
    );
    assert_eq!(
        app.get_as(&owner, &format!("/v1/bookings/{reference}"))
            .await
            .body["status"],
        "confirmed"
    );
    let availability = app
        .get(&format!(
            "/v1/tours/{tour}/availability?from=2098-12-31&to=2099-01-02"
        ))
        .await;
    assert_eq!(availability.body["occurrences"], json!([]));
}

async fn every_error_carries_its_request_id_and_the_security_headers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, occurrence) = app.departure(1).await;
    app.hold(&occurrence, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    let replies = [
        (
            400,
            "malformed_json",
            send(&app, Method::POST, "/v1/bookings", None, "{").await,
        ),
        (401, "unauthorized", app.get("/v1/tours").await),
        (404, "not_found", app.get("/v1/tours/abc").await),
        (404, "not_found", app.get("/no/such/route").await),
        (
            409,
            "sold_out",
            app.hold(&occurrence, json!([{"unit": "adult", "quantity": 1}]))
                .await,
        ),
        (
            413,
            "payload_too_large",
            send(
                &app,
                Method::POST,
                "/v1/tours",
                Some(&token),
                vec![b' '; 70 * 1024],
            )
            .await,
        ),
        (422, "validation_failed", app.hold("abc", json!([])).await),
    ];
    let mut ids = std::collections::HashSet::new();
    for (status, code, reply) in &replies {
        refused(reply, *status, code);
        assert_eq!(
            reply.body["error"]["request_id"].as_str().map(str::len),
            Some(26),
            "{}",
            reply.text
        );
        assert!(
            ids.insert(reply.body["error"]["request_id"].to_string()),
            "request id reused"
        );
    }
    assert_eq!(replies[4].2.body["error"]["available"], 0);
}

async fn the_server_keeps_serving_after_a_burst_of_bad_requests(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, occurrence) = app.departure(10).await;
    let hold = |items: Value| hold_body(&occurrence, items).to_string();
    let deep = format!("{{\"occurrence_id\": {}", "[".repeat(20_000));
    let posts: Vec<(&str, String)> = vec![
        ("/v1/bookings", "{\"occurrence_id\": }".to_owned()),
        ("/v1/bookings", String::new()),
        ("/v1/bookings", deep.clone()),
        ("/v1/bookings", "[".repeat(20_000)),
        (
            "/v1/bookings",
            hold(json!([{"unit": "adult", "quantity": "2"}])),
        ),
        ("/v1/bookings", hold(json!({"unit": "adult"}))),
        (
            "/v1/bookings",
            hold(json!([{"unit": "adult", "quantity": 2, "price": 0}])),
        ),
        (
            "/v1/bookings",
            hold(json!([{"unit": "senior", "quantity": 1}])),
        ),
        (
            "/v1/bookings",
            hold(json!([{"unit": "adult", "quantity": i64::MAX}])),
        ),
        (
            "/v1/bookings",
            hold(json!([{"unit": "adult", "quantity": 1e20}])),
        ),
        (
            "/v1/bookings",
            hold(Value::Array(vec![
                json!({"unit": "adult", "quantity": 1});
                21
            ])),
        ),
        (
            "/v1/bookings",
            hold_body(UNKNOWN_ULID, json!([{"unit": "adult", "quantity": 1}])).to_string(),
        ),
        (
            "/v1/bookings",
            hold_body("' OR 1=1 --", json!([])).to_string(),
        ),
        (
            "/v1/bookings",
            format!("{{\"x\": \"{}\"}}", "x".repeat(80 * 1024)),
        ),
        ("/v1/tours", deep),
        (
            "/v1/tours",
            tour_body(json!({"timezone": "Mars/Olympus"})).to_string(),
        ),
        ("/v1/tours", "{".to_owned()),
    ];
    let mut requests: Vec<reqwest::RequestBuilder> = Vec::new();
    for (path, body) in posts {
        let url = format!("{}{path}", app.base);
        requests.push(
            app.client
                .post(url)
                .header("Content-Type", "application/json")
                .bearer_auth(&token)
                .body(body),
        );
    }
    let schedules = format!("{}/v1/tours/{tour}/schedules", app.base);
    for rrule in [
        "FREQ=HOURLY",
        "FREQ=DAILY;COUNT=2;UNTIL=20991231",
        "garbage",
    ] {
        requests.push(
            app.client
                .post(&schedules)
                .bearer_auth(&token)
                .json(&schedule_body(json!({"rrule": rrule}))),
        );
    }
    for path in [
        format!("/v1/tours/{tour}/availability?from=2027-03-10&to=2027-03-01"),
        format!("/v1/tours/{tour}/availability?from=2027-01-01&to=2028-01-01"),
        "/v1/tours/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/v1/occurrences/1%27%20OR%20%271%27%3D%271".to_owned(),
        "/v1/bookings/abc".to_owned(),
        "/definitely/not/here".to_owned(),
    ] {
        requests.push(app.client.get(format!("{}{path}", app.base)));
    }
    requests.push(
        app.client
            .get(format!("{}/v1/tours", app.base))
            .bearer_auth("garbage"),
    );
    let tasks: Vec<_> = requests
        .into_iter()
        .flat_map(|r| [r.try_clone().expect("clonable"), r])
        .map(|r| tokio::spawn(TestApp::reply(r)))
        .collect();
    for task in tasks {
        assert_clean_error(&task.await.expect("request task"));
    }
    app.get("/health").await.expect(200);
    app.get("/ready").await.expect(200);
    assert_eq!(app.available(&occurrence).await, 10);
    let held = app
        .hold(&occurrence, json!([{"unit": "adult", "quantity": 3}]))
        .await;
    held.expect(201);
    assert_eq!(held.body["total"], 3 * 3500);
    assert_eq!(app.available(&occurrence).await, 7);
    app.assert_seat_invariant().await;
}
