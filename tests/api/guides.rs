//! Guides on departures: an admin names who leads each departure, a guide never leads two at
//! once (also when two admins assign at the same moment), and a guide subscribes to a secret
//! calendar feed of their own departures, parsed here by an independent RFC 5545 parser (the
//! `icalendar` crate).

use chrono::Duration;
use icalendar::{CalendarComponent, Component, EventStatus};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    a_guide_subscribes_to_a_calendar_of_the_departures_they_lead,
    a_guide_never_leads_two_departures_at_once,
);

async fn set_guides(app: &TestApp, token: &str, departure: &str, users: Value) -> Reply {
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/departures/{departure}/guides"),
        Some(token),
        Some(json!({ "user_ids": users })),
    )
    .await
}

/// A departure of `tour` starting `minutes` from now.
async fn departure_in(app: &TestApp, token: &str, tour: &str, minutes: i64) -> String {
    let starts_at = (app.clock.now() + Duration::minutes(minutes)).to_rfc3339();
    let reply = app
        .post_as(
            token,
            &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": starts_at, "capacity": 10}),
        )
        .await;
    reply.expect(201);
    reply.str("id")
}

/// The feed at `url` (served by the test's own server), parsed: its events by UID.
async fn feed_events(app: &TestApp, url: &str) -> Vec<(String, String, Option<EventStatus>)> {
    let path = &url[url.find("/feeds/").expect("a feed URL")..];
    let reply = app.get(path).await;
    reply.expect(200);
    assert_eq!(
        reply.headers["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let unfolded = icalendar::parser::unfold(&reply.text);
    let calendar: icalendar::Calendar = icalendar::parser::read_calendar(&unfolded)
        .expect("a valid iCalendar")
        .into();
    calendar
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some((
                e.get_uid().unwrap().to_owned(),
                e.get_summary().unwrap().to_owned(),
                e.get_status(),
            )),
            _ => None,
        })
        .collect()
}

async fn a_guide_subscribes_to_a_calendar_of_the_departures_they_lead(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Harbour Tours").await;
    let cruise = app.tour(&owner, json!({"name": "Dolphin cruise"})).await;
    let walk = app.tour(&owner, json!({"name": "Old town walk"})).await;
    let first = app.departure(&owner, &cruise, 10, 30).await;
    let unled = app.departure(&owner, &cruise, 10, 40).await;
    let second = app.departure(&owner, &walk, 8, 54).await;
    let (guide, login) = app.signed_in(&owner, "ana@harbour.example", "guide").await;
    let ana = login.str("user_id");
    app.hold(&first, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);

    for departure in [&first, &second] {
        let set = set_guides(&app, &owner, departure, json!([ana])).await;
        set.expect(200);
        assert_eq!(set.body, json!([{"user_id": ana, "name": "Test User"}]));
    }
    let listed = app
        .get_as(&guide, &format!("/v1/departures/{first}/guides"))
        .await;
    listed.expect(200);
    assert_eq!(listed.body[0]["user_id"], ana.as_str());
    let mine = app.get_as(&guide, "/v1/me/assignments").await;
    mine.expect(200);
    let ids: Vec<&str> = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()], "in start order");

    // The guide makes their own feed; an API token is nobody's guide.
    app.post_as(&owner, "/v1/me/calendar-feeds", json!({"label": "Phone"}))
        .await
        .expect_error(409, "user_required");
    let created = app
        .post_as(
            &guide,
            "/v1/me/calendar-feeds",
            json!({"label": "Ana's phone"}),
        )
        .await;
    created.expect(201);
    let url = created.str("url");
    assert!(url.contains("/feeds/guide.ics?key=bcf_"), "{url}");
    let key = &url[url.find("key=").unwrap() + 4..];
    let stored = app
        .query_strings("SELECT token_hash FROM calendar_feeds")
        .await;
    assert!(
        stored.len() == 1 && !stored[0].contains(&key["bcf_".len()..]),
        "only the key's hash is kept"
    );
    assert_eq!(created.body["user_id"], ana.as_str());
    let own = app.get_as(&guide, "/v1/me/calendar-feeds").await;
    own.expect(200);
    assert_eq!(own.body.as_array().unwrap().len(), 1);
    assert!(own.body[0].get("url").is_none(), "the URL is shown once");

    app.post_as(
        &owner,
        &format!("/v1/departures/{second}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    let events = feed_events(&app, &url).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let of = |id: &str| {
        events
            .iter()
            .find(|e| e.0 == format!("{id}.guide@berth"))
            .unwrap_or_else(|| panic!("no {id}: {events:?}"))
            .clone()
    };
    let led = of(&first);
    assert_eq!(led.1, "Dolphin cruise (3/10)");
    assert_eq!(led.2, Some(EventStatus::Confirmed));
    assert_eq!(of(&second).2, Some(EventStatus::Cancelled));
    assert!(!events.iter().any(|e| e.0.starts_with(unled.as_str())));
    let text = app.get(&url[url.find("/feeds/").unwrap()..]).await.text;
    for personal in ["Ada Lovelace", "ada@example.com", "912 345 678"] {
        assert!(!text.contains(personal), "{personal} in the feed");
    }

    // A guide's key opens only the guide feed; a tour's only the tour feed.
    app.get(&format!("/feeds/tour.ics?key={key}"))
        .await
        .expect(404);
    let tour_feed = app
        .post_as(
            &owner,
            &format!("/v1/tours/{cruise}/calendar-feeds"),
            json!({"label": "Office"}),
        )
        .await;
    tour_feed.expect(201);
    let tour_url = tour_feed.str("url");
    let tour_key = &tour_url[tour_url.find("key=").unwrap() + 4..];
    app.get(&format!("/feeds/guide.ics?key={tour_key}"))
        .await
        .expect(404);
    // The guide cannot revoke the office's feed through their own list.
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/me/calendar-feeds/{}", tour_feed.str("id")),
        Some(&guide),
        None,
    )
    .await
    .expect(404);

    // Taken off a departure: it leaves the calendar.
    set_guides(&app, &owner, &first, json!([]))
        .await
        .expect(200);
    let events = feed_events(&app, &url).await;
    assert_eq!(events.len(), 1, "{events:?}");

    // The guide revokes a feed; a deactivated guide's feeds close too.
    let spare = app
        .post_as(&guide, "/v1/me/calendar-feeds", json!({"label": "Tablet"}))
        .await;
    spare.expect(201);
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/me/calendar-feeds/{}", spare.str("id")),
        Some(&guide),
        None,
    )
    .await
    .expect(204);
    feed_events(&app, &url).await;
    // An admin may revoke any guide's feed.
    let third = app
        .post_as(&guide, "/v1/me/calendar-feeds", json!({"label": "Watch"}))
        .await;
    third.expect(201);
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/calendar-feeds/{}", third.str("id")),
        Some(&owner),
        None,
    )
    .await
    .expect(204);
    let third_path = third.str("url");
    app.get(&third_path[third_path.find("/feeds/").unwrap()..])
        .await
        .expect(404);
    let spare_path = spare.str("url");
    app.get(&spare_path[spare_path.find("/feeds/").unwrap()..])
        .await
        .expect(404);
    app.post_as(&owner, &format!("/v1/users/{ana}/deactivate"), json!({}))
        .await
        .expect(200);
    app.get(&url[url.find("/feeds/").unwrap()..])
        .await
        .expect(404);
}

async fn a_guide_never_leads_two_departures_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Harbour Tours").await;
    let tour = app
        .tour(
            &owner,
            json!({"name": "Dolphin cruise", "duration_minutes": 120}),
        )
        .await;
    let ana = app.add_user(&owner, "ana@harbour.example", "guide").await;
    let leo = app.add_user(&owner, "leo@harbour.example", "staff").await;
    let base = 48 * 60;
    let morning = departure_in(&app, &owner, &tour, base).await;
    let overlapping = departure_in(&app, &owner, &tour, base + 60).await;
    let back_to_back = departure_in(&app, &owner, &tour, base + 120).await;
    set_guides(&app, &owner, &morning, json!([ana]))
        .await
        .expect(200);
    let busy = set_guides(&app, &owner, &overlapping, json!([leo, ana])).await;
    busy.expect_error(409, "guide_busy");
    let message = busy.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Dolphin cruise") && message.contains("Europe/Lisbon"),
        "names the clash: {message}"
    );
    // Refused as a whole: Leo was not assigned either.
    let listed = app
        .get_as(&owner, &format!("/v1/departures/{overlapping}/guides"))
        .await;
    assert_eq!(listed.body, json!([]));
    set_guides(&app, &owner, &back_to_back, json!([ana]))
        .await
        .expect(200);
    // Re-saving a departure's own guides is no clash with itself.
    set_guides(&app, &owner, &morning, json!([ana, leo]))
        .await
        .expect(200);

    // Bad input: a clear 422, nothing changed.
    let other = app.operator("Other Tours").await;
    let stranger = app.add_user(&other, "sam@other.example", "guide").await;
    for users in [
        json!([stranger]),
        json!(["not-an-id"]),
        json!((0..11)
            .map(|_| ulid::Ulid::new().to_string())
            .collect::<Vec<_>>()),
    ] {
        let reply = set_guides(&app, &owner, &overlapping, users).await;
        reply.expect(422);
        assert!(
            reply.body["error"]["fields"]["user_ids"].is_string(),
            "{}",
            reply.text
        );
    }
    set_guides(&app, &other, &morning, json!([stranger]))
        .await
        .expect(404);

    // A cancelled departure holds nobody: one that overlapped only it may now have Ana.
    let early = departure_in(&app, &owner, &tour, base - 60).await;
    set_guides(&app, &owner, &early, json!([ana]))
        .await
        .expect_error(409, "guide_busy");
    app.post_as(
        &owner,
        &format!("/v1/departures/{morning}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    set_guides(&app, &owner, &early, json!([ana]))
        .await
        .expect(200);
    set_guides(&app, &owner, &morning, json!([]))
        .await
        .expect_error(409, "departure_cancelled");

    // Eight admins' requests at once give Ana eight overlapping departures: one wins.
    let mut rush = Vec::new();
    for i in 0..8 {
        rush.push(departure_in(&app, &owner, &tour, base + 24 * 60 + i * 10).await);
    }
    let app = std::sync::Arc::new(app);
    let mut racers = tokio::task::JoinSet::new();
    for departure in &rush {
        let (app, owner, departure, ana) =
            (app.clone(), owner.clone(), departure.clone(), ana.clone());
        racers.spawn(async move { set_guides(&app, &owner, &departure, json!([ana])).await });
    }
    let mut won = 0;
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        match reply.status.as_u16() {
            200 => won += 1,
            409 => assert_eq!(reply.code(), "guide_busy"),
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert_eq!(won, 1);
    let mut led = 0;
    for departure in &rush {
        let guides = app
            .get_as(&owner, &format!("/v1/departures/{departure}/guides"))
            .await;
        led += guides.body.as_array().unwrap().len();
    }
    assert_eq!(led, 1);
}
