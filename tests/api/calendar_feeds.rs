//! A tour's secret calendar feed: made by an admin (the URL shown once), read by a calendar app
//! with nothing but its URL, parsed here by an independent RFC 5545 parser (the `icalendar`
//! crate); revoked, it answers 404.

use icalendar::{CalendarComponent, Component, EventLike, EventStatus};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    a_tour_feed_lists_its_departures_with_their_load_until_it_is_revoked,
    feeds_are_the_operators_own_and_their_labels_are_checked,
);

/// The path and query of a feed URL (the test talks to the server it spawned).
fn path_of(url: &str) -> String {
    let start = url.find("/feeds/").expect("a feed URL");
    url[start..].to_owned()
}

async fn a_tour_feed_lists_its_departures_with_their_load_until_it_is_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app
        .tour(
            &token,
            json!({"name": "Sunset; cruise", "meeting_point": "Pier 3, North quay\nGate B"}),
        )
        .await;
    let other_tour = app.tour(&token, json!({"name": "Other walk"})).await;
    let booked = app.departure(&token, &tour, 10, 30).await;
    let cancelled = app.departure(&token, &tour, 6, 54).await;
    app.departure(&token, &other_tour, 8, 30).await;
    app.hold(&booked, json!([{"unit": "adult", "quantity": 2}]))
        .await
        .expect(201);
    app.post_as(
        &token,
        &format!("/v1/departures/{cancelled}/cancel"),
        json!({}),
    )
    .await
    .expect(200);

    let created = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/calendar-feeds"),
            json!({"label": "Guide phones"}),
        )
        .await;
    created.expect(201);
    let url = created.str("url");
    assert!(url.contains("/feeds/tour.ics?key=bcf_"), "{url}");
    let listed = app
        .get_as(&token, &format!("/v1/tours/{tour}/calendar-feeds"))
        .await;
    listed.expect(200);
    assert_eq!(listed.body[0]["label"], "Guide phones");
    assert!(listed.body[0].get("url").is_none(), "the URL is shown once");

    // A calendar app: no credential but the URL.
    let reply = app.get(&path_of(&url)).await;
    reply.expect(200);
    assert_eq!(
        reply.headers["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    assert!(
        reply.text.lines().all(|l| l.len() <= 76),
        "folded at 75 octets"
    );
    let unfolded = icalendar::parser::unfold(&reply.text);
    let calendar: icalendar::Calendar = icalendar::parser::read_calendar(&unfolded)
        .expect("a valid iCalendar")
        .into();
    let events: Vec<&icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        events.len(),
        2,
        "this tour's departures only: {}",
        reply.text
    );
    let event = |id: &str| {
        let uid = format!("{id}@berth");
        *events
            .iter()
            .find(|e| e.get_uid() == Some(uid.as_str()))
            .unwrap_or_else(|| panic!("no event {uid}: {}", reply.text))
    };
    let sold = event(&booked);
    assert!(
        sold.get_summary().unwrap().ends_with("(2/10)"),
        "{:?}",
        sold.get_summary()
    );
    assert_eq!(sold.get_status(), Some(EventStatus::Confirmed));
    assert!(sold.get_location().unwrap().starts_with("Pier 3"));
    assert_eq!(event(&cancelled).get_status(), Some(EventStatus::Cancelled));
    // Nothing about the travelers on board.
    for personal in ["Ada Lovelace", "ada@example.com", "912 345 678"] {
        assert!(!reply.text.contains(personal), "{personal} in the feed");
    }
    // The operator's text cannot add a property: the semicolon and line break stay in values.
    assert!(!reply.text.contains("\r\nGate B"));

    // The same feed again: the same UIDs, so a subscribed calendar updates its entries.
    let again = app.get(&path_of(&url)).await;
    assert!(again.text.contains(&format!("UID:{booked}@berth")));

    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/calendar-feeds/{}", created.str("id")),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    app.get(&path_of(&url)).await.expect(404);
    app.get("/feeds/tour.ics?key=bcf_0000").await.expect(404);
    app.get("/feeds/tour.ics").await.expect(404);
}

async fn feeds_are_the_operators_own_and_their_labels_are_checked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let reply = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/calendar-feeds"),
            json!({"label": "  "}),
        )
        .await;
    reply.expect(422);
    assert!(
        reply.body["error"]["fields"]["label"].is_string(),
        "{}",
        reply.text
    );
    let created = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/calendar-feeds"),
            json!({"label": "Office"}),
        )
        .await;
    created.expect(201);
    let other = app.operator("Other Tours").await;
    app.post_as(
        &other,
        &format!("/v1/tours/{tour}/calendar-feeds"),
        json!({"label": "Mine now"}),
    )
    .await
    .expect(404);
    app.get_as(&other, &format!("/v1/tours/{tour}/calendar-feeds"))
        .await
        .expect(404);
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/calendar-feeds/{}", created.str("id")),
        Some(&other),
        None,
    )
    .await
    .expect(404);
    app.get(&path_of(&created.str("url"))).await.expect(200);
}
