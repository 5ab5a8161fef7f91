//! Operator endpoints: tours, departures, capacity, cancellation, manifests, tenant isolation.

use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    operators_create_list_and_patch_their_own_tours,
    another_operators_objects_are_not_found,
    capacity_never_drops_below_the_seats_taken,
    cancelling_a_departure_cancels_its_bookings_and_frees_the_seats,
    sales_close_at_the_booking_cutoff,
    the_manifest_lists_who_holds_seats_as_json_and_csv,
    manifest_pages_concatenate_to_every_booking_once,
    a_large_manifest_pages_by_default_and_its_csv_holds_every_row,
    api_tokens_are_created_listed_and_revoked,
);

async fn operators_create_list_and_patch_their_own_tours(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let other = app.operator("Other Tours").await;
    let tour = app
        .tour(
            &token,
            json!({"name": "Castle walk", "timezone": "America/New_York", "currency": "USD"}),
        )
        .await;
    app.tour(&other, json!({"name": "Not mine"})).await;

    let public = app.get(&format!("/v1/tours/{tour}")).await;
    public.expect(200);
    assert_eq!(public.body["name"], "Castle walk");
    assert_eq!(public.body["timezone"], "America/New_York");
    assert_eq!(
        public.body["units"][0],
        json!({"code": "adult", "label": "Adult", "price": 3500})
    );

    let listed = app.get_as(&token, "/v1/tours").await;
    listed.expect(200);
    let names: Vec<_> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Castle walk"]);

    let patched = app
        .patch_as(
            &token,
            &format!("/v1/tours/{tour}"),
            json!({"name": "Castle night walk", "units": [
                {"code": "adult", "label": "Adult", "price": 4200}
            ]}),
        )
        .await;
    patched.expect(200);
    assert_eq!(patched.body["name"], "Castle night walk");
    assert_eq!(patched.body["units"].as_array().unwrap().len(), 1);
    assert_eq!(patched.body["currency"], "USD");
    // New prices apply to new bookings.
    let departure = app.departure(&token, &tour, 5, 24).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    hold.expect(201);
    assert_eq!(hold.body["total"], 8400);
    assert_eq!(hold.body["currency"], "USD");

    app.patch_as(
        &token,
        &format!("/v1/tours/{tour}"),
        json!({"currency": "EUR"}),
    )
    .await
    .expect_error(422, "validation_failed");
    app.get("/v1/tours").await.expect_error(401, "unauthorized");
}

async fn another_operators_objects_are_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, departure) = app.fresh_departure(10).await;
    let intruder = app.operator("Intruder").await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    let reference = hold.str("reference");
    // Valid bodies, so that only the tenancy can refuse them.
    let soon = app.clock.now() + chrono::Duration::days(30);

    for reply in [
        app.patch_as(&intruder, &format!("/v1/tours/{tour}"), json!({"name": "Pwned"})).await,
        app.post_as(&intruder, &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": soon.to_rfc3339(), "capacity": 5})).await,
        app.post_as(&intruder, &format!("/v1/tours/{tour}/schedules"),
            json!({"rrule": "FREQ=DAILY", "start_date": soon.date_naive().to_string(), "times": ["10:00"], "capacity": 5})).await,
        app.get_as(&intruder, &format!("/v1/tours/{tour}/schedules")).await,
        app.patch_as(&intruder, &format!("/v1/departures/{departure}"), json!({"capacity": 1})).await,
        app.post_as(&intruder, &format!("/v1/departures/{departure}/cancel"), json!({})).await,
        app.get_as(&intruder, &format!("/v1/departures/{departure}/manifest")).await,
        app.post_as(&intruder, &format!("/v1/bookings/{reference}/cancel"), json!({})).await,
        app.post_as(&intruder, &format!("/v1/bookings/{reference}/check-in"), json!({})).await,
        app.get_as(&intruder, &format!("/v1/bookings/{reference}")).await,
    ] {
        reply.expect_error(404, "not_found");
    }
    // Nothing changed.
    assert_eq!(
        app.get(&format!("/v1/tours/{tour}")).await.body["name"],
        "Harbour cruise"
    );
    let view = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(
        (
            view.body["capacity"].as_i64(),
            view.body["available"].as_i64()
        ),
        (Some(10), Some(9))
    );
    assert_eq!(view.body["status"], "open");
    let mine = app
        .get_as(&owner, &format!("/v1/bookings/{reference}"))
        .await;
    assert_eq!(mine.body["status"], "held");
}

async fn capacity_never_drops_below_the_seats_taken(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    app.hold(&departure, json!([{"unit": "adult", "quantity": 6}]))
        .await
        .expect(201);
    let path = format!("/v1/departures/{departure}");
    let refused = app.patch_as(&token, &path, json!({"capacity": 5})).await;
    refused.expect_error(409, "capacity_below_taken");
    assert_eq!(refused.body["error"]["seats_taken"], 6);
    let resized = app.patch_as(&token, &path, json!({"capacity": 6})).await;
    resized.expect(200);
    assert_eq!(
        (
            resized.body["capacity"].as_i64(),
            resized.body["available"].as_i64()
        ),
        (Some(6), Some(0))
    );
    assert_eq!(resized.body["status"], "sold_out");
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect_error(409, "sold_out");
    let grown = app.patch_as(&token, &path, json!({"capacity": 12})).await;
    assert_eq!(grown.body["available"], 6);
    app.patch_as(&token, &path, json!({"capacity": -1}))
        .await
        .expect_error(422, "validation_failed");
    app.assert_seat_invariant().await;
}

async fn cancelling_a_departure_cancels_its_bookings_and_frees_the_seats(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let held = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    let confirmed = app
        .hold(&departure, json!([{"unit": "child", "quantity": 3}]))
        .await;
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", confirmed.str("reference")),
        &confirmed.str("access_token"),
    )
    .await
    .expect(200);

    let cancel = app
        .post_as(
            &token,
            &format!("/v1/departures/{departure}/cancel"),
            json!({}),
        )
        .await;
    cancel.expect(200);
    assert_eq!(cancel.body["departure"]["status"], "cancelled");
    assert_eq!(cancel.body["departure"]["available"], 10);
    let mut cancelled: Vec<_> = cancel.body["cancelled_bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    cancelled.sort();
    let mut expected = vec![held.str("reference"), confirmed.str("reference")];
    expected.sort();
    assert_eq!(cancelled, expected);
    for booking in [&held, &confirmed] {
        let read = app
            .get_with_booking_token(
                &format!("/v1/bookings/{}", booking.str("reference")),
                &booking.str("access_token"),
            )
            .await;
        assert_eq!(read.body["status"], "cancelled");
    }
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect_error(409, "sales_closed");
    app.post_as(
        &token,
        &format!("/v1/departures/{departure}/cancel"),
        json!({}),
    )
    .await
    .expect_error(409, "departure_cancelled");
    app.assert_seat_invariant().await;
}

async fn sales_close_at_the_booking_cutoff(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let tour = app.tour(&token, json!({"cutoff_minutes": 120})).await;
    let departure = app.departure(&token, &tour, 10, 3).await;
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    app.clock.advance(chrono::Duration::minutes(61));
    let view = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(view.body["status"], "closed");
    let refused = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    refused.expect_error(409, "sales_closed");
    app.assert_seat_invariant().await;
}

async fn the_manifest_lists_who_holds_seats_as_json_and_csv(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let first = app
        .hold(
            &departure,
            json!([{"unit": "adult", "quantity": 2}, {"unit": "child", "quantity": 1}]),
        )
        .await;
    let tricky = app
        .post(
            "/v1/bookings",
            json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
                   "customer": {"name": "=HYPERLINK(\"http://evil\"), \"Bob\"", "email": "bob@example.com"}}),
        )
        .await;
    tricky.expect(201);
    let gone = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", gone.str("reference")),
        &gone.str("access_token"),
    )
    .await
    .expect(200);

    let manifest = app
        .get_as(&token, &format!("/v1/departures/{departure}/manifest"))
        .await;
    manifest.expect(200);
    assert_eq!(manifest.body["departure"]["id"], departure.as_str());
    assert_eq!(manifest.body["seats_taken"], 4);
    let bookings = manifest.body["bookings"].as_array().unwrap();
    assert_eq!(
        bookings.len(),
        2,
        "cancelled bookings are not on the manifest"
    );
    assert_eq!(bookings[0]["reference"], first.str("reference").as_str());
    assert_eq!(bookings[0]["items"][0]["unit"], "adult");
    assert_eq!(bookings[0]["items"][0]["quantity"], 2);
    assert_eq!(bookings[0]["customer"]["email"], "ada@example.com");
    let seats: i64 = bookings.iter().map(|b| b["seats"].as_i64().unwrap()).sum();
    assert_eq!(seats, 10 - app.available(&departure).await);

    let csv = app
        .get_as(
            &token,
            &format!("/v1/departures/{departure}/manifest?format=csv"),
        )
        .await;
    csv.expect(200);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "reference,status,seats,items,name,email,phone");
    assert!(lines[1].starts_with(&format!(
        "{},held,3,adult x2; child x1,Ada Lovelace,ada@example.com,+351912345678",
        first.str("reference")
    )));
    assert!(
        lines[2].contains("\"'=HYPERLINK(\"\"http://evil\"\"), \"\"Bob\"\"\""),
        "formula neutralized: {}",
        lines[2]
    );
    app.get_as(
        &token,
        &format!("/v1/departures/{departure}/manifest?format=pdf"),
    )
    .await
    .expect_error(422, "validation_failed");
}

/// Every page of a departure's manifest, following `next_cursor` from the first (read with
/// `query`); with `add_between`, a booking is made (a second later) after the first page is
/// read: its reference is returned.
async fn all_pages(
    app: &TestApp,
    token: &str,
    departure: &str,
    query: &str,
    limit: usize,
    add_between: bool,
) -> (Vec<Reply>, Option<String>) {
    let mut added = None;
    let mut pages = Vec::new();
    let mut path = format!("/v1/departures/{departure}/manifest?{query}");
    loop {
        let page = app.get_as(token, &path).await;
        page.expect(200);
        let listed = page.body["bookings"].as_array().unwrap().len();
        assert!(listed <= limit, "{listed} bookings on a page of {limit}");
        let next = page.body["next_cursor"].as_str().map(str::to_owned);
        pages.push(page);
        let Some(next) = next else {
            return (pages, added);
        };
        assert!(pages.len() < 100, "the pages never end");
        if add_between && pages.len() == 1 {
            app.clock.advance(chrono::Duration::seconds(1));
            let hold = app
                .hold(departure, json!([{"unit": "adult", "quantity": 1}]))
                .await;
            hold.expect(201);
            added = Some(hold.str("reference"));
        }
        path = format!("/v1/departures/{departure}/manifest?{query}&cursor={next}");
    }
}

fn references(pages: &[Reply]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.body["bookings"].as_array().unwrap().clone())
        .map(|b| b["reference"].as_str().unwrap().to_owned())
        .collect()
}

async fn manifest_pages_concatenate_to_every_booking_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(30).await;
    // Three bookings made at one instant (the order falls to their ids), then one a second.
    let mut made = Vec::new();
    for n in 0..8 {
        if n >= 3 {
            app.clock.advance(chrono::Duration::seconds(1));
        }
        let hold = app
            .hold(
                &departure,
                json!([{"unit": "adult", "quantity": 1 + n % 2}]),
            )
            .await;
        hold.expect(201);
        made.push(hold.str("reference"));
    }
    let whole = app
        .get_as(&token, &format!("/v1/departures/{departure}/manifest"))
        .await;
    whole.expect(200);
    assert_eq!(whole.body["next_cursor"], serde_json::Value::Null);
    assert_eq!(whole.body["bookings_total"], 8);
    assert_eq!(whole.body["seats_taken"], 12);
    let in_order = references(std::slice::from_ref(&whole));
    assert_eq!(in_order.len(), 8);
    let mut sorted = made.clone();
    sorted.sort();
    let mut listed = in_order.clone();
    listed.sort();
    assert_eq!(listed, sorted);

    // Pages of three: the same bookings in the same order, each once, the totals always the
    // whole departure's.
    let (pages, _) = all_pages(&app, &token, &departure, "limit=3", 3, false).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(references(&pages), in_order);
    for page in &pages {
        assert_eq!(page.body["bookings_total"], 8);
        assert_eq!(page.body["seats_taken"], 12);
    }

    // A booking made between two page reads comes once, on a later page; nothing is skipped
    // or repeated.
    let (pages, added) = all_pages(&app, &token, &departure, "limit=2", 2, true).await;
    let added = added.expect("a booking made between the pages");
    let mut expected = in_order.clone();
    expected.push(added);
    assert_eq!(references(&pages), expected);
    assert_eq!(pages.last().unwrap().body["bookings_total"], 9);

    // A bad cursor or limit is named, never a 500.
    let base = format!("/v1/departures/{departure}/manifest");
    for (query, field) in [
        ("cursor=zzz", "cursor"),
        ("cursor=12.not-a-booking", "cursor"),
        (
            "cursor=99999999999999999999999.01JD3Z8Q4W7N5X2R6T9V0B1C3D",
            "cursor",
        ),
        (
            "cursor=1.01JD3Z8Q4W7N5X2R6T9V0B1C3D%27%20OR%201%3D1",
            "cursor",
        ),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
    ] {
        let reply = app.get_as(&token, &format!("{base}?{query}")).await;
        reply.expect_error(422, "validation_failed");
        assert!(
            reply.body["error"]["fields"][field].is_string(),
            "{query}: {}",
            reply.text
        );
    }
    app.get_as(&token, &format!("{base}?limit=1000"))
        .await
        .expect(200);
    // A well-formed cursor from elsewhere only says where to start.
    let foreign = app
        .get_as(
            &token,
            &format!("{base}?cursor=1.01JD3Z8Q4W7N5X2R6T9V0B1C3D&limit=1000"),
        )
        .await;
    foreign.expect(200);
    assert_eq!(references(std::slice::from_ref(&foreign)), expected);

    // Another operator's departure stays not found, whatever the page asked.
    let other = app.operator("Other Tours").await;
    for query in ["", "?limit=2", "?cursor=zzz", "?format=csv"] {
        app.get_as(&other, &format!("{base}{query}"))
            .await
            .expect_error(404, "not_found");
    }
}

/// `count` copies of booking `seed`, made by SQL (the API would take minutes): the same instant,
/// ids and references of their own.
pub(crate) async fn copies_of_booking(app: &TestApp, seed: &str, count: u32) {
    let digits = "(SELECT 0 AS x UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                  UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
                  UNION ALL SELECT 8 UNION ALL SELECT 9)";
    let (id, reference, hash) = match app.backend {
        Backend::Sqlite => (
            "printf('01%024d', n.n)",
            "printf('Z%07d', n.n)",
            "printf('%064d', n.n)",
        ),
        Backend::MySql => (
            "CONCAT('01', LPAD(n.n, 24, '0'))",
            "CONCAT('Z', LPAD(n.n, 7, '0'))",
            "LPAD(n.n, 64, '0')",
        ),
    };
    app.execute_sql(&format!(
        "INSERT INTO bookings (id, reference, access_token_hash, departure_id, tour_id, operator_id, \
         status, seats, total, currency, customer_name, customer_email, customer_phone, \
         customer_language, expires_at, created_at, updated_at, hold_client, hold_email, discount, \
         promo_code) \
         SELECT {id}, {reference}, {hash}, b.departure_id, b.tour_id, b.operator_id, 'confirmed', \
         1, b.total, b.currency, b.customer_name, b.customer_email, b.customer_phone, \
         b.customer_language, NULL, b.created_at, b.updated_at, NULL, NULL, 0, NULL \
         FROM bookings b, (SELECT a.x + 10 * c.x + 100 * d.x + 1000 * e.x + 1 AS n \
           FROM {digits} a, {digits} c, {digits} d, {digits} e) n \
         WHERE b.reference = '{seed}' AND n.n <= {count}"
    ))
    .await;
}

async fn a_large_manifest_pages_by_default_and_its_csv_holds_every_row(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let seed = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    seed.expect(201);
    // More than one chunk of the CSV (1,000) and than two default pages (500).
    copies_of_booking(&app, &seed.str("reference"), 1204).await;
    let (pages, _) = all_pages(&app, &token, &departure, "", 500, false).await;
    assert_eq!(pages.len(), 3, "500 a page when not asked");
    let listed = references(&pages);
    assert_eq!(listed.len(), 1205);
    let unique: std::collections::HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), 1205, "no booking on two pages");
    assert_eq!(pages[0].body["bookings_total"], 1205);
    assert_eq!(pages[2].body["seats_taken"], 1206);

    let csv = app
        .get_as(
            &token,
            &format!("/v1/departures/{departure}/manifest?format=csv"),
        )
        .await;
    csv.expect(200);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "reference,status,seats,items,name,email,phone");
    let rows: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(rows, listed, "the CSV holds every booking once, in order");
}

async fn api_tokens_are_created_listed_and_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let first = app.operator("Acme").await;
    let other = app.operator("Other").await;
    let created = app
        .post_as(&first, "/v1/tokens", json!({"label": "booking widget"}))
        .await;
    created.expect(201);
    let second = created.str("token");
    let second_id = created.str("id");
    assert!(second.starts_with("brt_") && second != first);
    app.get_as(&second, "/v1/tours").await.expect(200);

    let listed = app.get_as(&first, "/v1/tokens").await;
    listed.expect(200);
    let tokens = listed.body.as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens
            .iter()
            .all(|t| t.get("token").is_none() && !listed.text.contains(&second)),
        "never shown again"
    );

    // Another operator cannot revoke it; its owner can, and it stops working at once.
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/tokens/{second_id}"),
        Some(&other),
        None,
    )
    .await
    .expect_error(404, "not_found");
    app.get_as(&second, "/v1/tours").await.expect(200);
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/tokens/{second_id}"),
        Some(&first),
        None,
    )
    .await
    .expect(204);
    app.get_as(&second, "/v1/tours")
        .await
        .expect_error(401, "unauthorized");
    app.get_as(&first, "/v1/tours").await.expect(200);
    let listed = app.get_as(&first, "/v1/tokens").await;
    let revoked = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == second_id.as_str())
        .unwrap();
    assert!(revoked["revoked_at"].is_string());
    app.post_as(&first, "/v1/tokens", json!({"label": ""}))
        .await
        .expect_error(422, "validation_failed");
}
