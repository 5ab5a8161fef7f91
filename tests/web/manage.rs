//! The manage page in headless Chromium, opened from the link in the delivered email: the
//! booking, its cancellation after the quote, a move to another departure, and the pages a
//! tampered or outdated link gets.

use chrono::Duration;
use fantoccini::Locator;
use serde_json::json;

use super::browser::Browser;
use super::{departure_on, hidden_field, local_today, set_cookies, tour};
use crate::on_both_backends;
use crate::reschedule::manage_path;
use crate::support::{Backend, TestApp};

on_both_backends!(
    the_emailed_link_opens_the_booking_and_cancels_it_after_the_quote,
    a_booking_moves_to_another_departure_from_the_page,
    a_tampered_or_outdated_link_gets_a_clear_page,
    a_double_submitted_move_or_cancel_acts_once,
    a_waitlist_offer_is_completed_from_the_emailed_link,
);

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::MySql => "mysql",
    }
}

/// A confirmed booking of two adults and the manage link its confirmation email carries:
/// (reference, absolute link).
async fn booked_from_email(app: &TestApp, departure: &str) -> (String, String) {
    let hold = app
        .hold(departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    hold.expect(201);
    let reference = hold.str("reference");
    app.post_with_booking_token(
        &format!("/v1/bookings/{reference}/confirm"),
        &hold.str("access_token"),
    )
    .await
    .expect(200);
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch");
    let mail = delivered(app, &format!("Subject: Booking {reference} confirmed"));
    (
        reference.clone(),
        format!("{}{}", app.base, manage_path(&mail)),
    )
}

/// The delivered email that contains `needle`.
fn delivered(app: &TestApp, needle: &str) -> String {
    std::fs::read_dir(app.files.path().join("mail"))
        .expect("mail was written")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains(needle))
        .unwrap_or_else(|| panic!("no email with {needle:?}"))
}

/// Clicks `css`, a control that does not leave the page (a choice in a form).
async fn choose(browser: &Browser, css: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .expect("clicked");
}

/// Clicks `css` and waits until the page it leads to has loaded.
async fn submit(browser: &Browser, css: &str) {
    browser.click_and_wait(css).await;
}

async fn the_emailed_link_opens_the_booking_and_cancels_it_after_the_quote(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    // 30 hours out: the policy (100 % from 72 h, 50 % from 24 h) refunds half now.
    let (token, tour) = tour(&app, json!({})).await;
    let starts = app.clock.now() + Duration::hours(30);
    let departure = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": starts.to_rfc3339(), "capacity": 10}),
        )
        .await;
    departure.expect(201);
    let departure = departure.str("id");
    let (reference, link) = booked_from_email(&app, &departure).await;

    browser.goto(&link).await;
    assert_eq!(browser.text("h1").await, format!("Booking {reference}"));
    assert_eq!(browser.text(".booking-status").await, "Confirmed");
    assert_eq!(browser.text(".tour-name").await, "Harbour cruise");
    let items = browser.text(".items").await;
    assert!(items.contains("2 × Adult"), "{items}");
    assert!(browser.text(".total").await.contains("€70.00"));
    assert!(browser.text(".paid").await.contains("pay on arrival"));
    // Nothing was paid (pay on arrival), so the policy's half of it is nothing.
    let quote = browser.text(".cancel-quote").await;
    assert!(quote.contains("€0.00") && quote.contains("50 %"), "{quote}");
    let ics = browser
        .run("return document.querySelector('a.ics').getAttribute('href');")
        .await;
    assert!(ics.as_str().unwrap().ends_with("/booking.ics"));
    browser.assert_accessible("manage page").await;
    browser
        .screenshots(&format!("manage-page-{}", backend_name(backend)))
        .await;

    submit(&browser, "#cancel-submit").await;
    assert!(browser.text("#done-cancelled").await.contains("cancelled"));
    assert_eq!(browser.text(".booking-status").await, "Cancelled");
    let cancelled = app
        .get_as(&token, &format!("/v1/bookings/{reference}"))
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancel_reason"], "traveler");
    assert_eq!(app.available(&departure).await, 10);
    // A cancelled booking offers neither cancelling nor moving.
    assert!(browser
        .client
        .find_all(Locator::Css("#cancel-submit, #reschedule-submit"))
        .await
        .unwrap()
        .is_empty());
    browser.assert_accessible("manage page, cancelled").await;
    browser.close().await;
    app.assert_seat_invariant().await;
}

async fn a_booking_moves_to_another_departure_from_the_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(4);
    let first = departure_on(&app, &token, &tour, day, 10, 10).await;
    let full = departure_on(&app, &token, &tour, day, 14, 1).await;
    let later = departure_on(&app, &token, &tour, day + Duration::days(1), 18, 10).await;
    let (reference, link) = booked_from_email(&app, &first).await;

    browser.goto(&link).await;
    // Only departures with room for two are offered.
    let offered = browser
        .run("return [...document.querySelectorAll('input[name=departure_id]')].map(i => i.value);")
        .await;
    assert_eq!(offered, json!([later]));
    assert!(!offered.to_string().contains(&full));
    browser
        .screenshots(&format!("manage-reschedule-{}", backend_name(backend)))
        .await;
    choose(&browser, &format!("#target-{later}")).await;
    submit(&browser, "#reschedule-submit").await;
    assert!(browser
        .text("#done-rescheduled")
        .await
        .contains("has moved"));
    assert!(browser.text(".departure-when").await.contains("6:00 PM"));
    // The page reopened under the link for the new departure.
    let url = browser.client.current_url().await.unwrap().to_string();
    assert!(url.contains(&format!("/manage/{reference}/")) && url.ends_with("?done=rescheduled"));
    assert_ne!(url.split('?').next().unwrap(), link);
    let moved = app
        .get_as(&token, &format!("/v1/bookings/{reference}"))
        .await;
    assert_eq!(moved.body["departure_id"], later.as_str());
    assert_eq!(app.available(&first).await, 10);
    assert_eq!(app.available(&later).await, 8);
    browser.assert_accessible("manage page, moved").await;

    // Sold out while the page was open: the page again, the choice kept, no seat moved.
    let earlier = departure_on(&app, &token, &tour, day + Duration::days(2), 9, 2).await;
    browser.goto(&url).await;
    app.hold(&earlier, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    choose(&browser, &format!("#target-{earlier}")).await;
    submit(&browser, "#reschedule-submit").await;
    assert!(browser
        .text("#problem")
        .await
        .contains("no longer has enough seats"));
    let kept = browser
        .run(&format!(
            "return document.getElementById('target-{earlier}') === null || document.getElementById('target-{earlier}').checked;"
        ))
        .await;
    assert_eq!(kept, json!(true));
    assert_eq!(app.available(&later).await, 8);
    browser.assert_accessible("manage page, refused move").await;
    browser.close().await;
    app.assert_seat_invariant().await;
}

async fn a_tampered_or_outdated_link_gets_a_clear_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &token, &tour, day, 10, 10).await;
    let (reference, link) = booked_from_email(&app, &departure).await;
    let get = |url: String| {
        let client = app.client.clone();
        async move {
            let reply = client.get(url).send().await.unwrap();
            let status = reply.status().as_u16();
            let csp = reply.headers().contains_key("content-security-policy");
            (status, csp, reply.text().await.unwrap())
        }
    };
    let (status, _, html) = get(link.clone()).await;
    assert_eq!(status, 200);
    assert!(html.contains(&reference));

    let mut tampered = link.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let other = link.replace(&reference, "ABCDEFGH");
    for url in [
        tampered,
        other,
        format!("{}/manage/{reference}/nonsense", app.base),
    ] {
        let (status, csp, html) = get(url.clone()).await;
        assert_eq!(status, 404, "{url}");
        assert!(csp, "an HTML page with the pages' headers");
        assert!(html.contains("This link does not open a booking"), "{html}");
        assert!(
            !html.contains("Harbour cruise"),
            "nothing about the booking: {html}"
        );
    }
    // Thirty days after the departure the link has expired.
    app.clock.advance(Duration::days(34));
    let (status, _, html) = get(link.clone()).await;
    assert_eq!(status, 410);
    assert!(html.contains("This link has expired"), "{html}");
    let (status, _, _) = get(format!("{link}/booking.ics")).await;
    assert_eq!(status, 410);
}

/// A move or a cancellation sent twice from one rendered form (a double-click, a reload of the
/// post) acts once, and the second answer leads where the first did; a post without the form's
/// key is an ordinary second request and is refused as the API would refuse it.
async fn a_double_submitted_move_or_cancel_acts_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(4);
    let first = departure_on(&app, &token, &tour, day, 10, 10).await;
    let later = departure_on(&app, &token, &tour, day + Duration::days(1), 18, 10).await;
    let (reference, link) = booked_from_email(&app, &first).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = |url: String| {
        let client = client.clone();
        async move {
            let reply = client.get(url).send().await.unwrap();
            assert_eq!(reply.status().as_u16(), 200);
            let jar = set_cookies(reply.headers()).join("; ");
            (jar, reply.text().await.unwrap())
        }
    };
    let post = |url: String, jar: String, fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        async move {
            let reply = client
                .post(url)
                .header("Cookie", jar)
                .form(&fields)
                .send()
                .await
                .unwrap();
            let location = reply
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (reply.status().as_u16(), location)
        }
    };

    let (jar, page) = open(link.clone()).await;
    let fields = vec![
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("form_key", hidden_field(&page, "form_key")),
        ("departure_id", later.clone()),
    ];
    let mut moved_to = Vec::new();
    for _ in 0..2 {
        let (status, location) =
            post(format!("{link}/reschedule"), jar.clone(), fields.clone()).await;
        assert_eq!(status, 303);
        moved_to.push(location.expect("a redirect"));
    }
    assert_eq!(
        moved_to[0], moved_to[1],
        "the second post leads where the first did"
    );
    assert_eq!(app.available(&first).await, 10);
    assert_eq!(app.available(&later).await, 8);
    let notices = app
        .query_i64(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'booking_rescheduled' AND channel = 'email'",
        )
        .await;
    assert_eq!(notices, 1, "one move, one email");

    let moved_link = format!("{}{}", app.base, moved_to[0].split('?').next().unwrap());
    let (jar, page) = open(moved_link.clone()).await;
    let fields = vec![
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("form_key", hidden_field(&page, "form_key")),
        ("confirm", "true".to_owned()),
    ];
    let mut cancelled_at = Vec::new();
    for _ in 0..2 {
        let (status, location) =
            post(format!("{moved_link}/cancel"), jar.clone(), fields.clone()).await;
        assert_eq!(status, 303);
        cancelled_at.push(location.expect("a redirect"));
    }
    assert_eq!(cancelled_at[0], cancelled_at[1]);
    assert!(
        cancelled_at[0].ends_with("?done=cancelled"),
        "{}",
        cancelled_at[0]
    );
    let status = app
        .query_strings(&format!(
            "SELECT status FROM bookings WHERE reference = '{reference}'"
        ))
        .await;
    assert_eq!(status, vec!["cancelled".to_owned()]);
    assert_eq!(app.available(&later).await, 10);

    // The same post without the form's key: a second cancellation, refused on the page.
    let (status, location) = post(
        format!("{moved_link}/cancel"),
        jar,
        fields[..1]
            .iter()
            .cloned()
            .chain([("confirm", "true".to_owned())])
            .collect(),
    )
    .await;
    assert_eq!((status, location), (409, None));
}

/// A traveler waiting on a sold-out departure gets the seats a cancellation frees: the offer's
/// email links the manage page, which opens the hold on the booking pages to be confirmed.
async fn a_waitlist_offer_is_completed_from_the_emailed_link(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let departure = app.departure(&token, &tour, 2, 48).await;
    let two = json!([{"unit": "adult", "quantity": 2}]);
    let first = app.hold(&departure, two.clone()).await;
    first.expect(201);
    app.post(
        &format!("/v1/departures/{departure}/waitlist"),
        json!({"name": "Grace Hopper", "email": "grace@example.com", "items": two}),
    )
    .await
    .expect(201);
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", first.str("reference")),
        &first.str("access_token"),
    )
    .await
    .expect(200);
    let offered = berth::workers::waitlist::run_once(
        &app.store,
        &app.payments,
        app.clock.now(),
        app.config.waitlist_offer_ttl(),
    )
    .await
    .expect("offers");
    assert_eq!(offered, 1);
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch");
    let mail = delivered(&app, "Subject: Seats for you");
    let link = format!("{}{}", app.base, manage_path(&mail));

    browser.goto(&link).await;
    assert_eq!(
        browser.text(".booking-status").await,
        "Held, awaiting payment"
    );
    let until = browser.text(".complete").await;
    assert!(until.contains("held for you until"), "{until}");
    browser
        .assert_accessible("manage page, waitlist offer")
        .await;
    browser
        .screenshots(&format!("manage-waitlist-offer-{}", backend_name(backend)))
        .await;
    submit(&browser, "#complete-submit").await;
    let url = browser.client.current_url().await.unwrap();
    assert!(url.path().starts_with("/book/hold/"), "{url}");
    submit(&browser, ".confirm-form button").await;
    let reference = url.path().trim_start_matches("/book/hold/").to_owned();
    let booking = app
        .get_as(&token, &format!("/v1/bookings/{reference}"))
        .await;
    assert_eq!(booking.body["status"], "confirmed");
    assert_eq!(booking.body["customer"]["name"], "Grace Hopper");
    let line = app
        .get_as(&token, &format!("/v1/departures/{departure}/waitlist"))
        .await;
    assert_eq!(line.body[0]["state"], "booked");

    // The link of a lapsed or completed offer opens no hold any more.
    browser.goto(&link).await;
    assert!(browser
        .client
        .find_all(Locator::Css("#complete-submit"))
        .await
        .unwrap()
        .is_empty());
    browser.close().await;
    app.assert_seat_invariant().await;
}
