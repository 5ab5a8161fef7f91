//! Shared resources (issue 19 §1): a boat two tours share is never overdrawn by a rush on both,
//! a guide is never given two departures at once (refused when assigned, naming the clash, and
//! when a departure is added), and operators manage resources and read their load.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    two_tours_sharing_one_boat_rushed_at_once_never_overdraw_it,
    a_guide_double_booked_by_two_schedules_is_refused_naming_the_clash,
    admins_racing_to_give_a_guide_two_clashing_schedules_give_it_one,
    operators_create_change_assign_and_read_the_load_of_resources,
);

async fn resource(app: &TestApp, token: &str, body: Value) -> String {
    let reply = app.post_as(token, "/v1/resources", body).await;
    reply.expect(201);
    reply.str("id")
}

async fn assign(app: &TestApp, token: &str, resource: &str, body: Value) -> Reply {
    app.post_as(
        token,
        &format!("/v1/resources/{resource}/assignments"),
        body,
    )
    .await
}

async fn hold_one(app: &TestApp, departure: &str) -> Reply {
    app.hold(departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
}

/// A departure `minutes_ahead` from now.
async fn departure_in(
    app: &TestApp,
    token: &str,
    tour: &str,
    capacity: i64,
    minutes: i64,
) -> Reply {
    let starts_at = (app.clock.now() + Duration::minutes(minutes)).to_rfc3339();
    app.post_as(
        token,
        &format!("/v1/tours/{tour}/departures"),
        json!({"starts_at": starts_at, "capacity": capacity}),
    )
    .await
}

/// A daily schedule at `time` (Lisbon) for three days from three days ahead.
async fn schedule_at(app: &TestApp, token: &str, tour: &str, time: &str) -> Reply {
    let lisbon = app.clock.now().with_timezone(&chrono_tz::Europe::Lisbon);
    let start = lisbon.date_naive() + Duration::days(3);
    let until = start + Duration::days(2);
    app.post_as(
        token,
        &format!("/v1/tours/{tour}/schedules"),
        json!({"rrule": "FREQ=DAILY", "start_date": start.to_string(), "until": until.to_string(),
               "times": [time], "capacity": 12}),
    )
    .await
}

async fn assert_check_clean(app: &TestApp) {
    let violations = berth::service::check::all(&app.store, app.clock.now())
        .await
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

async fn two_tours_sharing_one_boat_rushed_at_once_never_overdraw_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let token = app.operator("Bay Boats").await;
    let dolphins = app.tour(&token, json!({"name": "Dolphins"})).await;
    let sunset = app.tour(&token, json!({"name": "Sunset"})).await;
    // 90-minute tours half an hour apart: they are aboard together. Each departure alone has
    // 30 seats, the boat 40.
    let base = 48 * 60;
    let morning = departure_in(&app, &token, &dolphins, 30, base)
        .await
        .str("id");
    let later = departure_in(&app, &token, &sunset, 30, base + 30)
        .await
        .str("id");
    let evening = departure_in(&app, &token, &sunset, 30, base + 240)
        .await
        .str("id");
    let boat = resource(
        &app,
        &token,
        json!({"name": "Boat Marlin", "capacity": 40, "draw": "seats"}),
    )
    .await;
    for tour in [&dolphins, &sunset] {
        assign(&app, &token, &boat, json!({"tour_id": tour}))
            .await
            .expect(201);
    }
    assert_eq!(app.available(&morning).await, 30, "own seats are tighter");

    let mut racers = JoinSet::new();
    for i in 0..100 {
        let (app, departure) = (
            app.clone(),
            if i % 2 == 0 { &morning } else { &later }.clone(),
        );
        racers.spawn(async move { hold_one(&app, &departure).await });
    }
    let mut sold = 0;
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        match reply.status.as_u16() {
            201 => sold += 1,
            409 => {
                reply.expect_error(409, "sold_out");
            }
            other => panic!("unexpected {other} in the rush: {}", reply.text),
        }
    }
    assert_eq!(sold, 40, "exactly the boat's 40 seats are sold");
    let seats = |id: &str| {
        let app = app.clone();
        let sql = format!("SELECT seats_taken FROM departures WHERE id = '{id}'");
        async move { app.query_i64(&sql).await }
    };
    let (aboard_morning, aboard_later) = (seats(&morning).await, seats(&later).await);
    assert_eq!(aboard_morning + aboard_later, 40);
    assert!(aboard_morning <= 30 && aboard_later <= 30);
    // Both read sold out: the boat, not their own seats, is the limit.
    assert_eq!(app.available(&morning).await, 0);
    assert_eq!(app.available(&later).await, 0);
    hold_one(&app, &later).await.expect_error(409, "sold_out");
    // The evening departure is not aboard with them: it sells its own 30.
    assert_eq!(app.available(&evening).await, 30);
    hold_one(&app, &evening).await.expect(201);
    // The load report sees the boat full while both run.
    let from = (app.clock.now() + Duration::minutes(base - 60)).to_rfc3339();
    let to = (app.clock.now() + Duration::minutes(base + 180)).to_rfc3339();
    let load = TestApp::reply(
        app.client
            .get(format!("{}/v1/resources/{boat}/load", app.base))
            .bearer_auth(&token)
            .query(&[("from", &from), ("to", &to)]),
    )
    .await;
    load.expect(200);
    assert_eq!(load.body["peak"], 40);
    assert_eq!(load.body["free_at_peak"], 0);
    assert_eq!(load.body["departures"].as_array().unwrap().len(), 2);
    // A capacity cut below what is drawn is refused and changes nothing.
    app.patch_as(
        &token,
        &format!("/v1/resources/{boat}"),
        json!({"capacity": 39}),
    )
    .await
    .expect_error(409, "capacity_below_drawn");
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;
    // `berth check` sees a boat drawn past its capacity (written behind berth's back).
    app.execute_sql(&format!(
        "UPDATE resources SET capacity = 39 WHERE id = '{boat}'"
    ))
    .await;
    let found = berth::service::check::resources(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].subject, format!("resource {boat}"));
    assert!(found[0].detail.contains("40 drawn"), "{}", found[0].detail);
}

async fn a_guide_double_booked_by_two_schedules_is_refused_naming_the_clash(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Walks").await;
    let dolphins = app.tour(&token, json!({"name": "Dolphin walk"})).await;
    let old_town = app.tour(&token, json!({"name": "Old town walk"})).await;
    let nine = schedule_at(&app, &token, &dolphins, "09:00").await;
    nine.expect(201);
    let half_past = schedule_at(&app, &token, &old_town, "09:30").await;
    half_past.expect(201);
    let eleven = schedule_at(&app, &token, &old_town, "11:00").await;
    eleven.expect(201);
    let ana = resource(
        &app,
        &token,
        json!({"name": "Guide Ana", "capacity": 1, "draw": "departure"}),
    )
    .await;
    assign(
        &app,
        &token,
        &ana,
        json!({"tour_id": dolphins, "schedule_id": nine.str("id")}),
    )
    .await
    .expect(201);
    let clash = assign(
        &app,
        &token,
        &ana,
        json!({"tour_id": old_town, "schedule_id": half_past.str("id")}),
    )
    .await;
    clash.expect_error(409, "resource_over_capacity");
    let message = clash.body["error"]["message"].as_str().unwrap();
    for named in [
        "Guide Ana",
        "Dolphin walk",
        "Old town walk",
        "09:00",
        "09:30",
        "Europe/Lisbon",
    ] {
        assert!(message.contains(named), "names {named}: {message}");
    }
    // Refused as a whole: Ana's only assignment is the 09:00 one.
    let listed = app.get_as(&token, &format!("/v1/resources/{ana}")).await;
    listed.expect(200);
    assert_eq!(listed.body["assignments"].as_array().unwrap().len(), 1);
    // The 11:00 schedule starts after the 09:00 walk ends (90 minutes): no clash.
    assign(
        &app,
        &token,
        &ana,
        json!({"tour_id": old_town, "schedule_id": eleven.str("id")}),
    )
    .await
    .expect(201);

    // A guide assigned to a whole tour: a departure added during another is refused.
    let leo = resource(
        &app,
        &token,
        json!({"name": "Guide Leo", "capacity": 1, "draw": "departure"}),
    )
    .await;
    let harbour = app.tour(&token, json!({"name": "Harbour walk"})).await;
    assign(&app, &token, &leo, json!({"tour_id": harbour}))
        .await
        .expect(201);
    departure_in(&app, &token, &harbour, 10, 48 * 60)
        .await
        .expect(201);
    let overlapping = departure_in(&app, &token, &harbour, 10, 48 * 60 + 45).await;
    overlapping.expect_error(409, "resource_over_capacity");
    assert!(overlapping.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Guide Leo"));
    departure_in(&app, &token, &harbour, 10, 48 * 60 + 90)
        .await
        .expect(201);
    // A schedule whose departures would need Leo twice is refused whole.
    schedule_at(&app, &token, &harbour, "09:00")
        .await
        .expect(201);
    schedule_at(&app, &token, &harbour, "09:15")
        .await
        .expect_error(409, "resource_over_capacity");
    assert_check_clean(&app).await;
}

async fn admins_racing_to_give_a_guide_two_clashing_schedules_give_it_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let token = app.operator("Walks").await;
    let ana = resource(
        &app,
        &token,
        json!({"name": "Guide Ana", "capacity": 1, "draw": "departure"}),
    )
    .await;
    let mut schedules = Vec::new();
    for (i, time) in ["09:00", "09:20", "09:40", "10:00"].iter().enumerate() {
        let tour = app.tour(&token, json!({"name": format!("Walk {i}")})).await;
        let made = schedule_at(&app, &token, &tour, time).await;
        made.expect(201);
        schedules.push((tour, made.str("id")));
    }
    let mut racers = JoinSet::new();
    for (tour, schedule) in schedules {
        let (app, token, ana) = (app.clone(), token.clone(), ana.clone());
        racers.spawn(async move {
            assign(
                &app,
                &token,
                &ana,
                json!({"tour_id": tour, "schedule_id": schedule}),
            )
            .await
        });
    }
    let mut won = 0;
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        match reply.status.as_u16() {
            201 => won += 1,
            409 => {
                reply.expect_error(409, "resource_over_capacity");
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(
        won, 1,
        "every pair of the four overlaps: one assignment wins"
    );
    assert_check_clean(&app).await;
}

async fn operators_create_change_assign_and_read_the_load_of_resources(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(20).await;
    // Bad input: one 422 naming every field, nothing created.
    let bad = app
        .post_as(
            &token,
            "/v1/resources",
            json!({"name": " ", "capacity": 0, "draw": "crew"}),
        )
        .await;
    bad.expect_error(422, "validation_failed");
    for field in ["name", "capacity", "draw"] {
        assert!(
            bad.body["error"]["fields"][field].is_string(),
            "{}",
            bad.text
        );
    }
    let bus = resource(
        &app,
        &token,
        json!({"name": "Bus 7", "capacity": 12, "draw": "seats"}),
    )
    .await;
    let listed = app.get_as(&token, "/v1/resources").await;
    listed.expect(200);
    assert_eq!(listed.body[0]["name"], "Bus 7");
    assert_eq!(listed.body[0]["draw"], "seats");

    // Assigned, the bus's 12 seats are the departure's limit.
    let assignment = assign(&app, &token, &bus, json!({"tour_id": tour})).await;
    assignment.expect(201);
    assert_eq!(app.available(&departure).await, 12);
    assign(&app, &token, &bus, json!({"tour_id": tour}))
        .await
        .expect_error(409, "already_assigned");
    for (body, field) in [
        (json!({"tour_id": "nope"}), "tour_id"),
        (
            json!({"tour_id": tour, "schedule_id": ulid::Ulid::new().to_string()}),
            "schedule_id",
        ),
    ] {
        let reply = assign(&app, &token, &bus, body).await;
        reply.expect_error(422, "validation_failed");
        assert!(
            reply.body["error"]["fields"][field].is_string(),
            "{}",
            reply.text
        );
    }
    let held = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 5}]))
        .await;
    held.expect(201);
    assert_eq!(app.available(&departure).await, 7);
    // Capacity: not below the 5 drawn, but down to them.
    app.patch_as(
        &token,
        &format!("/v1/resources/{bus}"),
        json!({"capacity": 4}),
    )
    .await
    .expect_error(409, "capacity_below_drawn");
    let changed = app
        .patch_as(
            &token,
            &format!("/v1/resources/{bus}"),
            json!({"capacity": 5, "name": "Bus 8"}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["capacity"], 5);
    assert_eq!(app.available(&departure).await, 0);
    let load = app
        .get_as(&token, &format!("/v1/resources/{bus}/load"))
        .await;
    load.expect(200);
    assert_eq!(load.body["peak"], 5);
    assert_eq!(
        load.body["departures"][0]["departure_id"],
        departure.as_str()
    );
    assert_eq!(load.body["departures"][0]["seats"], 5);
    for query in [
        "from=yesterday",
        "from=9999-12-30",
        "from=2030-01-02&to=2030-01-01",
    ] {
        app.get_as(&token, &format!("/v1/resources/{bus}/load?{query}"))
            .await
            .expect_error(422, "validation_failed");
    }

    // Another operator sees none of it.
    let other = app.operator("Other Tours").await;
    app.get_as(&other, &format!("/v1/resources/{bus}"))
        .await
        .expect(404);
    assert_eq!(app.get_as(&other, "/v1/resources").await.body, json!([]));

    // Unassigned, the departure sells its own seats again.
    let assignment = assignment.str("id");
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/resources/{bus}/assignments/{assignment}"),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    assert_eq!(app.available(&departure).await, 15);
    app.assert_seat_invariant().await;
    assert_check_clean(&app).await;
}
