//! An operator's booking search (`GET /v1/bookings`) and sending a confirmation again
//! (`POST /v1/bookings/{reference}/resend-confirmation`), on both backends.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    operators_find_their_bookings_by_text_status_tour_and_date,
    a_page_at_a_time_every_booking_once,
    a_confirmation_is_sent_again_on_request,
);

/// Holds `adults` on a departure for `name` <`email`>; confirms it when asked. The reference.
async fn booked(
    app: &TestApp,
    departure: &str,
    (name, email): (&str, &str),
    adults: u32,
    confirm: bool,
) -> String {
    let hold = app
        .post(
            "/v1/bookings",
            json!({
                "departure_id": departure,
                "items": [{"unit": "adult", "quantity": adults}],
                "customer": {"name": name, "email": email}
            }),
        )
        .await;
    hold.expect(201);
    let reference = hold.str("reference");
    if confirm {
        app.post_with_booking_token(
            &format!("/v1/bookings/{reference}/confirm"),
            &hold.str("access_token"),
        )
        .await
        .expect(200);
    }
    reference
}

async fn search(app: &TestApp, token: &str, query: &str) -> Reply {
    app.get_as(token, &format!("/v1/bookings?{query}")).await
}

/// The references of a search's page, in its order.
fn references(reply: &Reply) -> Vec<String> {
    reply.expect(200);
    reply.body["bookings"]
        .as_array()
        .expect("bookings")
        .iter()
        .map(|b| b["reference"].as_str().unwrap().to_owned())
        .collect()
}

async fn operators_find_their_bookings_by_text_status_tour_and_date(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Search Tours").await;
    let lisbon = app.tour(&token, json!({})).await;
    // Twelve or more hours ahead of UTC: a departure's local date is often not its UTC date.
    let auckland = app
        .tour(
            &token,
            json!({"name": "Harbour at dawn", "timezone": "Pacific/Auckland"}),
        )
        .await;
    let near = app.departure(&token, &lisbon, 10, 48).await;
    let far = app.departure(&token, &auckland, 10, 24 * 6).await;
    let ada = booked(&app, &near, ("Ada Lovelace", "ada@example.com"), 2, true).await;
    let bob = booked(&app, &near, ("Bob Percent", "bob@example.org"), 1, false).await;
    let carol = booked(&app, &far, ("Carol Shaw", "carol@example.net"), 3, true).await;
    app.post_as(&token, &format!("/v1/bookings/{carol}/cancel"), json!({}))
        .await
        .expect(200);
    // Another operator's traveler with the same name and email is never found here.
    let (other, _, elsewhere) = app.fresh_departure(10).await;
    let foreign = booked(
        &app,
        &elsewhere,
        ("Ada Lovelace", "ada@example.com"),
        1,
        true,
    )
    .await;

    let all = search(&app, &token, "").await;
    assert_eq!(
        references(&all),
        vec![carol.clone(), bob.clone(), ada.clone()],
        "newest first"
    );
    assert_eq!(all.body["next_cursor"], Value::Null);
    let first = &all.body["bookings"][2];
    assert_eq!(
        first["items"],
        json!([{"unit": "adult", "quantity": 2, "unit_price": 3500}])
    );
    assert_eq!(first["total"], 7000);
    assert_eq!(first["timezone"], "Europe/Lisbon");
    let starts = first["departure_starts_at"].as_str().unwrap();
    let local = first["departure_local"].as_str().unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(starts).unwrap(),
        chrono::DateTime::parse_from_rfc3339(local).unwrap(),
        "the same instant, written in the tour's zone"
    );

    // Text: part of the name or email in any case, or the whole reference.
    assert_eq!(
        references(&search(&app, &token, "q=lovel").await),
        vec![ada.clone()]
    );
    assert_eq!(
        references(&search(&app, &token, "q=BOB%40EXAMPLE").await),
        vec![bob.clone()]
    );
    let lower = ada.to_lowercase();
    assert_eq!(
        references(&search(&app, &token, &format!("q={lower}")).await),
        vec![ada.clone()]
    );
    assert_eq!(
        references(&search(&app, &token, "q=example").await).len(),
        3
    );
    // LIKE's wildcards are plain characters here.
    assert!(references(&search(&app, &token, "q=%25").await).is_empty());
    assert!(references(&search(&app, &token, "q=a_a").await).is_empty());
    assert_eq!(
        references(&search(&app, &other, "q=ada").await),
        vec![foreign]
    );

    // Status, as a reader sees it: a lapsed hold is expired, not held.
    assert_eq!(
        references(&search(&app, &token, "status=cancelled").await),
        vec![carol.clone()]
    );
    assert_eq!(
        references(&search(&app, &token, "status=held").await),
        vec![bob.clone()]
    );
    assert_eq!(
        references(&search(&app, &token, "status=confirmed").await),
        vec![ada.clone()]
    );
    assert_eq!(
        references(&search(&app, &token, &format!("tour={auckland}")).await),
        vec![carol.clone()]
    );

    // Dates: each departure's local date in its own tour's zone.
    let local_date = |reply: &Reply, index: usize| -> NaiveDate {
        let local = reply.body["bookings"][index]["departure_local"]
            .as_str()
            .unwrap();
        chrono::DateTime::parse_from_rfc3339(local)
            .unwrap()
            .date_naive()
    };
    let carol_day = local_date(&all, 0);
    let ada_day = local_date(&all, 2);
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    assert_eq!(
        references(
            &search(
                &app,
                &token,
                &format!("from={}&to={}", day(carol_day), day(carol_day))
            )
            .await
        ),
        vec![carol.clone()]
    );
    assert_eq!(
        references(
            &search(
                &app,
                &token,
                &format!("from={}&to={}", day(ada_day), day(ada_day))
            )
            .await
        ),
        vec![bob.clone(), ada.clone()]
    );
    let before = day(ada_day - Duration::days(1));
    assert!(references(&search(&app, &token, &format!("to={before}")).await).is_empty());
    assert_eq!(
        references(
            &search(
                &app,
                &token,
                &format!("from={}", day(ada_day + Duration::days(1)))
            )
            .await
        ),
        vec![carol.clone()]
    );

    app.clock.advance(Duration::hours(2));
    assert!(references(&search(&app, &token, "status=held").await).is_empty());
    assert_eq!(
        references(&search(&app, &token, "status=expired").await),
        vec![bob.clone()]
    );

    // Each bad filter is named.
    for (query, field) in [
        ("status=lost", "status"),
        ("tour=not-a-tour", "tour"),
        ("from=2026-02-30", "from"),
        ("to=soon", "to"),
        ("from=2026-05-02&to=2026-05-01", "to"),
        ("cursor=nonsense", "cursor"),
        ("limit=0", "limit"),
        ("limit=500", "limit"),
    ] {
        let reply = search(&app, &token, query).await;
        reply.expect(422);
        assert_eq!(reply.code(), "validation_failed", "{query}");
        assert!(
            reply.body["error"]["fields"][field].is_string(),
            "{query}: {}",
            reply.text
        );
    }
    let long = "a".repeat(201);
    search(&app, &token, &format!("q={long}")).await.expect(422);

    // Guides see manifests, not the booking list.
    let (guide, _) = app.signed_in(&token, "guide@search.example", "guide").await;
    search(&app, &guide, "").await.expect(403);
    app.assert_seat_invariant().await;
}

async fn a_page_at_a_time_every_booking_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(40).await;
    let later = app.departure(&token, &tour, 40, 24 * 9).await;
    let mut made = BTreeSet::new();
    for i in 0..7 {
        let on = if i % 2 == 0 { &departure } else { &later };
        let email = format!("traveler{i}@example.com");
        made.insert(booked(&app, on, ("Paged Traveler", &email), 1, i % 3 != 0).await);
    }
    let today = format!("from={}", app.clock.now().date_naive());
    for (query, expected) in [(String::new(), made.len()), (today, made.len())] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("limit=3&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = search(&app, &token, &path).await;
            let refs = references(&page);
            assert!(refs.len() <= 3);
            seen.extend(refs);
            pages += 1;
            assert!(pages < 10, "the pages end");
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no booking twice: {seen:?}");
        assert_eq!(unique.len(), expected, "{query}");
        assert_eq!(unique, made);
    }
}

async fn a_confirmation_is_sent_again_on_request(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    hold.expect(201);
    let reference = hold.str("reference");
    // Only a confirmed booking has a confirmation to send.
    let early = app
        .post_as(
            &token,
            &format!("/v1/bookings/{reference}/resend-confirmation"),
            json!({}),
        )
        .await;
    early.expect(409);
    assert_eq!(early.code(), "not_confirmed");
    app.post_with_booking_token(
        &format!("/v1/bookings/{reference}/confirm"),
        &hold.str("access_token"),
    )
    .await
    .expect(200);
    let dispatch =
        || berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now());
    dispatch().await.expect("dispatch");

    let resent = app
        .post_as(
            &token,
            &format!("/v1/bookings/{reference}/resend-confirmation"),
            json!({}),
        )
        .await;
    resent.expect(202);
    assert_eq!(resent.body["reference"], reference.as_str());
    dispatch().await.expect("dispatch");
    let confirmations = std::fs::read_dir(app.files.path().join("mail"))
        .expect("mail was written")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains(&format!("Subject: Booking {reference} confirmed")))
        .count();
    assert_eq!(confirmations, 2, "the first email and the one sent again");
    let sent = app
        .query_strings(&format!(
            "SELECT channel FROM outbox WHERE kind = 'booking_confirmed' AND status = 'sent' \
             AND booking_id = (SELECT id FROM bookings WHERE reference = '{reference}') ORDER BY channel"
        ))
        .await;
    assert_eq!(
        sent,
        vec!["email", "email", "sms"],
        "the SMS is not sent again"
    );

    // Another operator's staff cannot resend it; the resend is in the audit log.
    let other = app.operator("Other Tours").await;
    app.post_as(
        &other,
        &format!("/v1/bookings/{reference}/resend-confirmation"),
        json!({}),
    )
    .await
    .expect(404);
    let audit = app.get_as(&token, "/v1/audit").await;
    audit.expect(200);
    let entries = audit.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "booking.resend_confirmation"
                && e["target"] == format!("booking:{reference}").as_str()),
        "{}",
        audit.text
    );
}
