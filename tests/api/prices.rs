//! Prices by date: a tour's seasonal rules (dates, weekdays, start times, priorities) and a
//! departure's own prices decide what each departure shows and sells at; the price is frozen at
//! hold time; a reschedule keeps the price or is refused.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Weekday};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};
use crate::web::ZONE;

on_both_backends!(
    rules_and_a_departures_own_prices_decide_what_it_sells_at,
    a_held_price_never_moves_and_a_move_keeps_the_price,
    price_rules_are_checked_and_belong_to_their_operator,
    from_prices_are_the_lowest_of_the_departures_on_sale,
);

/// The first `weekday` at least `days` days after the test clock's local date.
fn next(app: &TestApp, weekday: Weekday, days: i64) -> NaiveDate {
    let mut day = app.clock.now().with_timezone(&ZONE).date_naive() + Duration::days(days);
    while day.weekday() != weekday {
        day = day.succ_opt().unwrap();
    }
    day
}

/// A departure of `tour` on `day` at `time` (local).
async fn departure_on(
    app: &TestApp,
    token: &str,
    tour: &str,
    day: NaiveDate,
    time: &str,
) -> String {
    let local = day.and_time(time.parse().unwrap());
    let starts_at = ZONE.from_local_datetime(&local).single().unwrap();
    let reply = app
        .post_as(
            token,
            &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": starts_at.to_rfc3339(), "capacity": 20}),
        )
        .await;
    reply.expect(201);
    reply.str("id")
}

/// (adult, child) as the departure's public view prices them.
async fn shown(app: &TestApp, departure: &str) -> (i64, i64) {
    let reply = app.get(&format!("/v1/departures/{departure}")).await;
    reply.expect(200);
    let of = |unit: &str| {
        reply.body["prices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["unit"] == unit)
            .unwrap()["price"]
            .as_i64()
            .unwrap()
    };
    (of("adult"), of("child"))
}

async fn rule(app: &TestApp, token: &str, tour: &str, body: Value) -> Reply {
    app.post_as(token, &format!("/v1/tours/{tour}/price-rules"), body)
        .await
}

async fn rules_and_a_departures_own_prices_decide_what_it_sells_at(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let wednesday = next(&app, Weekday::Wed, 3);
    let saturday = next(&app, Weekday::Sat, 3);
    let season_end = wednesday.max(saturday) + Duration::days(30);
    let weekday_morning = departure_on(&app, &token, &tour, wednesday, "10:00").await;
    let weekday_evening = departure_on(&app, &token, &tour, wednesday, "19:00").await;
    let weekend = departure_on(&app, &token, &tour, saturday, "10:00").await;
    let after = departure_on(&app, &token, &tour, season_end + Duration::days(1), "10:00").await;

    let season = json!({"name": "High season", "from_date": wednesday.min(saturday).to_string(),
                        "to_date": season_end.to_string(), "prices": {"adult": 4500}});
    rule(&app, &token, &tour, season).await.expect(201);
    let weekends = json!({"name": "Weekends", "weekdays": ["sat", "sun"], "priority": 10,
                          "prices": {"adult": 5000, "child": 2000}});
    rule(&app, &token, &tour, weekends).await.expect(201);
    let evenings = json!({"name": "Evenings", "from_time": "18:00", "to_time": "23:00",
                          "prices": {"adult": 3000}});
    let listed = rule(&app, &token, &tour, evenings).await;
    listed.expect(201);
    assert_eq!(listed.body.as_array().unwrap().len(), 3);
    assert_eq!(listed.body[1]["weekdays"], json!(["sat", "sun"]));

    assert_eq!(
        shown(&app, &weekday_morning).await,
        (4500, 1500),
        "the season, adults only"
    );
    assert_eq!(
        shown(&app, &weekday_evening).await,
        (3000, 1500),
        "equal priority: the rule added last"
    );
    assert_eq!(
        shown(&app, &weekend).await,
        (5000, 2000),
        "the higher priority"
    );
    assert_eq!(
        shown(&app, &after).await,
        (3500, 1500),
        "past the season: the base"
    );

    // A hold is priced as shown.
    let held = app
        .hold(
            &weekend,
            json!([{"unit": "adult", "quantity": 2}, {"unit": "child", "quantity": 1}]),
        )
        .await;
    held.expect(201);
    assert_eq!(held.body["total"], 12000);
    assert_eq!(held.body["items"][0]["unit_price"], 5000);

    // The departure's own price wins, unit by unit, and shows in availability.
    let own = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/departures/{weekend}/prices"),
            Some(&token),
            Some(json!({"prices": {"adult": 2900}})),
        )
        .await;
    own.expect(200);
    assert_eq!(own.body["prices"][0]["price"], 2900);
    assert_eq!(shown(&app, &weekend).await, (2900, 2000));
    let availability = app
        .get(&format!(
            "/v1/tours/{tour}/availability?from={saturday}&to={saturday}"
        ))
        .await;
    availability.expect(200);
    assert_eq!(
        availability.body["departures"][0]["prices"][0]["price"],
        2900
    );
    let cheaper = app
        .hold(&weekend, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    assert_eq!(cheaper.body["total"], 2900);
    // The booking page offers the same prices.
    let page = app.get(&format!("/book/{weekend}")).await;
    page.expect(200);
    assert!(
        page.text.contains("29.00") && page.text.contains("20.00"),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains("50.00"),
        "the rule's adult price is overridden"
    );
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/departures/{weekend}/prices"),
        Some(&token),
        Some(json!({"prices": null})),
    )
    .await
    .expect(200);
    assert_eq!(
        shown(&app, &weekend).await,
        (5000, 2000),
        "back to the rules"
    );

    // A rule removed stops applying.
    let weekends_id = listed.body[1]["id"].as_str().unwrap().to_owned();
    let left = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/tours/{tour}/price-rules/{weekends_id}"),
            Some(&token),
            None,
        )
        .await;
    left.expect(200);
    assert_eq!(left.body.as_array().unwrap().len(), 2);
    let expected = if saturday <= season_end { 4500 } else { 3500 };
    assert_eq!(shown(&app, &weekend).await, (expected, 1500));
    assert_eq!(
        app.query_strings(
            "SELECT action FROM audit_log WHERE action IN ('tour.price_rules', 'departure.prices') \
             ORDER BY created_at, id"
        )
        .await,
        [
            "tour.price_rules",
            "tour.price_rules",
            "tour.price_rules",
            "departure.prices",
            "departure.prices",
            "tour.price_rules"
        ]
    );
    app.assert_seat_invariant().await;
}

async fn a_held_price_never_moves_and_a_move_keeps_the_price(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let first = app.departure(&token, &tour, 10, 72).await;
    let same_price = app.departure(&token, &tour, 10, 96).await;
    let dearer = app.departure(&token, &tour, 10, 120).await;
    let held = app
        .hold(&first, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    held.expect(201);
    let (reference, access) = (held.str("reference"), held.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &access)
        .await
        .expect(200);

    // Every departure of the tour gets dearer, except the one it moves to below.
    rule(
        &app,
        &token,
        &tour,
        json!({"name": "Everything", "prices": {"adult": 9900}}),
    )
    .await
    .expect(201);
    for departure in [&first, &same_price] {
        app.request(
            reqwest::Method::PUT,
            &format!("/v1/departures/{departure}/prices"),
            Some(&token),
            Some(json!({"prices": if *departure == same_price { json!({"adult": 3500}) } else { json!({"adult": 100}) }})),
        )
        .await
        .expect(200);
    }
    let booking = app
        .get_with_booking_token(&format!("/v1/bookings/{reference}"), &access)
        .await;
    assert_eq!(booking.body["total"], 7000, "frozen at hold time");
    assert_eq!(booking.body["items"][0]["unit_price"], 3500);

    let reschedule = |to: String| {
        let (app, reference, access) = (&app, reference.clone(), access.clone());
        async move {
            TestApp::reply(
                app.client
                    .post(format!("{}/v1/bookings/{reference}/reschedule", app.base))
                    .header("X-Booking-Token", access)
                    .json(&json!({ "departure_id": to })),
            )
            .await
        }
    };
    reschedule(dearer.clone())
        .await
        .expect_error(409, "reschedule_price_differs");
    let moved = reschedule(same_price.clone()).await;
    moved.expect(200);
    assert_eq!(moved.body["departure_id"], same_price);
    assert_eq!(moved.body["total"], 7000);
    app.assert_seat_invariant().await;
}

async fn price_rules_are_checked_and_belong_to_their_operator(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(10).await;
    let bad = rule(
        &app,
        &token,
        &tour,
        json!({"name": "", "from_date": "2027-02-30", "weekdays": ["funday"],
               "from_time": "25:00", "prices": {"senior": 100}, "priority": 5000}),
    )
    .await;
    bad.expect_error(422, "validation_failed");
    for field in [
        "name",
        "from_date",
        "weekdays[0]",
        "from_time",
        "prices.senior",
        "priority",
    ] {
        assert!(
            bad.body["error"]["fields"][field].is_string(),
            "{field}: {}",
            bad.text
        );
    }
    rule(
        &app,
        &token,
        &tour,
        json!({"name": "x", "prices": {"adult": 1}, "price": 5}),
    )
    .await
    .expect_error(422, "validation_failed");
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/departures/{departure}/prices"),
        Some(&token),
        Some(json!({"prices": {"adult": -5}})),
    )
    .await
    .expect_error(422, "validation_failed");
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/tours/{tour}/price-rules/01JD3Z8Q4W7N5X2R6T9V0B1C3D"),
        Some(&token),
        None,
    )
    .await
    .expect_error(404, "not_found");

    let added = rule(
        &app,
        &token,
        &tour,
        json!({"name": "Mine", "prices": {"adult": 4000}}),
    )
    .await;
    added.expect(201);
    let rival = app.operator("Rival Tours").await;
    rule(
        &app,
        &rival,
        &tour,
        json!({"name": "Theirs", "prices": {"adult": 1}}),
    )
    .await
    .expect_error(404, "not_found");
    app.get_as(&rival, &format!("/v1/tours/{tour}/price-rules"))
        .await
        .expect_error(404, "not_found");
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/departures/{departure}/prices"),
        Some(&rival),
        Some(json!({"prices": {"adult": 1}})),
    )
    .await
    .expect_error(404, "not_found");
    let listed = app
        .get_as(&token, &format!("/v1/tours/{tour}/price-rules"))
        .await;
    listed.expect(200);
    assert_eq!(listed.body[0]["name"], "Mine");
    assert_eq!(shown(&app, &departure).await, (4000, 1500));
    for i in 1..50 {
        rule(
            &app,
            &token,
            &tour,
            json!({"name": format!("Rule {i}"), "prices": {"child": 1000 + i}}),
        )
        .await
        .expect(201);
    }
    rule(
        &app,
        &token,
        &tour,
        json!({"name": "One too many", "prices": {"adult": 1}}),
    )
    .await
    .expect_error(409, "price_rule_limit");
    assert_eq!(
        shown(&app, &departure).await,
        (4000, 1049),
        "the last added of equal priority"
    );
}

/// The catalogue page's "from" price, the tour page's prices and OCTO's `pricingFrom` per unit
/// are the lowest prices the tour's departures on sale sell at (rules and a departure's own
/// prices included), not the base prices; with none on sale, the base prices. The tour page says
/// "from" only for a unit some departure on sale sells higher.
async fn from_prices_are_the_lowest_of_the_departures_on_sale(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (operator, token) = app.operator_with_id("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let reseller = app
        .post_as(
            &token,
            "/v1/resellers",
            json!({"name": "Harbour OTA", "commission_percent": 20}),
        )
        .await;
    reseller.expect(201);
    let key = reseller.str("key");
    let catalogue_from = || async {
        let page = app.get(&format!("/tours?operator={operator}")).await;
        assert_eq!(page.status.as_u16(), 200);
        let at = page.text.find("from €").expect("a from price");
        page.text[at + "from ".len()..]
            .split('<')
            .next()
            .unwrap()
            .trim()
            .to_owned()
    };
    let tour_prices = || async {
        let page = app.get(&format!("/tours/{tour}")).await;
        assert_eq!(page.status.as_u16(), 200);
        let list = page
            .text
            .split_once(r#"<ul class="prices">"#)
            .and_then(|(_, rest)| rest.split_once("</ul>"))
            .expect("the tour page's prices")
            .0;
        let mut text = String::new();
        let mut in_tag = false;
        for c in list.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let vary = page.text.contains(r#"class="prices-vary""#);
        (text.split_whitespace().collect::<Vec<_>>().join(" "), vary)
    };
    let octo_from = || async {
        let reply = crate::octo::octo(
            &app,
            Some(&key),
            &format!("/products/{tour}"),
            Some("octo/pricing"),
        )
        .await;
        reply.expect(200);
        let units = reply.body["options"][0]["units"]
            .as_array()
            .unwrap()
            .clone();
        let of = |unit: &str| {
            units.iter().find(|u| u["id"] == unit).unwrap()["pricingFrom"][0]["retail"]
                .as_i64()
                .unwrap()
        };
        (of("adult"), of("child"))
    };
    assert_eq!(catalogue_from().await, "€15.00", "no departures: the base");
    assert_eq!(
        tour_prices().await,
        ("Adult €35.00 Child €15.00".to_owned(), false)
    );
    assert_eq!(octo_from().await, (3500, 1500));

    let wednesday = next(&app, Weekday::Wed, 3);
    let saturday = next(&app, Weekday::Sat, 3);
    let midweek = departure_on(&app, &token, &tour, wednesday, "10:00").await;
    departure_on(&app, &token, &tour, saturday, "10:00").await;
    let weekends = json!({"name": "Weekends", "weekdays": ["sat", "sun"],
                          "prices": {"adult": 2500, "child": 1200}});
    rule(&app, &token, &tour, weekends).await.expect(201);
    assert_eq!(catalogue_from().await, "€12.00", "the weekend rule");
    assert_eq!(
        tour_prices().await,
        ("Adult from €25.00 Child from €12.00".to_owned(), true),
        "the weekend rule's prices, the midweek's higher"
    );
    assert_eq!(octo_from().await, (2500, 1200));

    app.request(
        reqwest::Method::PUT,
        &format!("/v1/departures/{midweek}/prices"),
        Some(&token),
        Some(json!({"prices": {"child": 1000}})),
    )
    .await
    .expect(200);
    assert_eq!(
        catalogue_from().await,
        "€10.00",
        "the departure's own price"
    );
    assert_eq!(
        tour_prices().await,
        ("Adult from €25.00 Child from €10.00".to_owned(), true)
    );
    assert_eq!(octo_from().await, (2500, 1000));

    // A cancelled departure sells nothing: its price is no longer a "from" price.
    app.post_as(
        &token,
        &format!("/v1/departures/{midweek}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(catalogue_from().await, "€12.00");
    assert_eq!(
        tour_prices().await,
        ("Adult €25.00 Child €12.00".to_owned(), false),
        "only the Saturday on sale: its prices, not the base ones, and no \"from\""
    );
    assert_eq!(octo_from().await, (2500, 1200));
}
