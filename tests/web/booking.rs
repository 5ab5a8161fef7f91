//! Booking in a browser: the form with the server's total, the hold and its payment, the
//! confirmation with its calendar file; every failure a page with the traveler's input kept.
//! Each new page is checked with axe-core and photographed at 375 and 1280 px.

use chrono::{Duration, TimeZone};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::json;

use super::browser::Browser;
use super::{departure_on, hidden_field, local_today, set_cookies, tour};
use crate::on_both_backends;
use crate::support::fake_stripe::{self, FakeStripe, Mode};
use crate::support::{Backend, TestApp};

on_both_backends!(
    a_traveler_books_a_seat_end_to_end_paying_on_arrival,
    paid_online_the_page_gets_the_holds_client_secret_and_the_webhook_confirms,
    two_browsers_race_for_the_last_seat_and_the_loser_keeps_their_input,
    a_keyboard_alone_books_a_seat,
    an_expired_hold_and_closed_sales_show_the_form_again_with_the_input_kept,
    a_double_submitted_form_holds_once,
    a_hold_the_operator_cancelled_shows_a_closed_page,
    the_booking_form_prints_operator_text_as_text_and_keeps_input_when_rate_limited,
    a_promo_code_refused_at_the_hold_is_marked_with_the_input_kept_and_holds_nothing,
    a_code_below_its_minimum_spend_says_the_minimum_in_the_travelers_language,
    a_booking_a_code_makes_free_says_there_is_nothing_to_pay,
);

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::MySql => "mysql",
    }
}

/// A tour and one departure three days out at 10:00 with `capacity` seats: (tour, departure).
async fn bookable(app: &TestApp, capacity: i64) -> (String, String) {
    let (token, tour) = tour(app, json!({})).await;
    let day = local_today(app) + Duration::days(3);
    let departure = departure_on(app, &token, &tour, day, 10, capacity).await;
    (tour, departure)
}

async fn click(browser: &Browser, css: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{css} not clickable: {e}"));
}

async fn wait_for(browser: &Browser, css: &str) {
    let found = browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await;
    if let Err(error) = found {
        let url = browser.client.current_url().await.map(|u| u.to_string());
        let text = browser.run("return document.body.innerText;").await;
        panic!("{css} never appeared ({error}) on {url:?}:\n{text}");
    }
}

/// Waits for the notice above the form and checks it says `words`.
async fn notice_says(browser: &Browser, words: &str) {
    wait_for(browser, ".notice").await;
    let notice = browser.text(".notice").await;
    assert!(notice.contains(words), "{notice}");
}

async fn value_of(browser: &Browser, css: &str) -> String {
    browser
        .run(&format!("return document.querySelector('{css}').value;"))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Opens the booking form, asks for `adults` adults and sees the total.
async fn quote(browser: &Browser, app: &TestApp, departure: &str, adults: u32) {
    browser
        .goto(&format!("{}/book/{departure}", app.base))
        .await;
    browser.fill("#qty-adult", &adults.to_string()).await;
    click(browser, "button[value=quote]").await;
    wait_for(browser, ".quote-total").await;
}

async fn status_of(app: &TestApp, reference: &str) -> String {
    app.query_strings(&format!(
        "SELECT status FROM bookings WHERE reference = '{reference}'"
    ))
    .await
    .pop()
    .unwrap_or_default()
}

async fn reference_on_page(browser: &Browser) -> String {
    browser.text(".reference").await
}

async fn a_traveler_books_a_seat_end_to_end_paying_on_arrival(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let name = backend_name(backend);
    let (tour, departure) = bookable(&app, 10).await;
    let day = local_today(&app) + Duration::days(3);

    // From the tour page's day to the booking form.
    browser
        .goto(&format!("{}/tours/{tour}?day={day}", app.base))
        .await;
    assert!(browser.text(".timezone").await.contains("Europe/Lisbon"));
    click(&browser, ".departures .book-link").await;
    wait_for(&browser, "#qty-adult").await;
    assert!(browser
        .text(".booking-departure")
        .await
        .contains("Europe/Lisbon"));
    browser.assert_accessible("booking form").await;
    browser.screenshots(&format!("book-form-{name}")).await;

    // The total comes from the server before anything is held.
    browser.fill("#qty-adult", "2").await;
    browser.fill("#qty-child", "1").await;
    click(&browser, "button[value=quote]").await;
    wait_for(&browser, ".quote-total").await;
    assert_eq!(browser.text(".quote-total").await, "€85.00");
    assert_eq!(app.available(&departure).await, 10, "a quote holds nothing");

    // A bad email is marked next to its field, the rest kept.
    browser.fill("#field-name", "Ada Lovelace").await;
    browser.fill("#field-email", "ada@").await;
    browser.fill("#field-phone", "+351 912 345 678").await;
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, "#email-error").await;
    let marked = browser
        .run(
            "const f = document.querySelector('#field-email');
             return [f.getAttribute('aria-invalid'), f.getAttribute('aria-describedby'),
                     document.getElementById(f.getAttribute('aria-describedby')).textContent];",
        )
        .await;
    assert_eq!(marked[0], json!("true"));
    assert_eq!(marked[1], json!("email-error"));
    assert!(marked[2].as_str().unwrap().contains("ada@example.com"));
    assert_eq!(value_of(&browser, "#field-name").await, "Ada Lovelace");
    assert_eq!(value_of(&browser, "#field-email").await, "ada@");
    assert_eq!(value_of(&browser, "#qty-adult").await, "2");
    assert_eq!(
        browser
            .run("return document.querySelector('#field-name').hasAttribute('aria-invalid');")
            .await,
        json!(false)
    );
    assert_eq!(app.available(&departure).await, 10);
    browser
        .assert_accessible("booking form with a marked field")
        .await;
    browser
        .screenshots(&format!("book-form-invalid-{name}"))
        .await;

    // Held: the countdown runs, and the seats are taken.
    browser.fill("#field-email", "ada@example.com").await;
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, ".confirm-form").await;
    assert_eq!(app.available(&departure).await, 7);
    let reference = reference_on_page(&browser).await;
    assert_eq!(status_of(&app, &reference).await, "held");
    assert_eq!(browser.text(".booking-total").await, "€85.00");
    let countdown = browser.text(".countdown-left").await;
    let (minutes, seconds) = countdown
        .strip_prefix("Time left: ")
        .and_then(|left| left.split_once(':'))
        .unwrap_or_else(|| panic!("no countdown: {countdown}"));
    let left = minutes.parse::<i64>().unwrap() * 60 + seconds.parse::<i64>().unwrap();
    let ttl = app.config.hold_ttl().num_seconds();
    assert!((ttl - 60..=ttl).contains(&left), "{countdown} of {ttl} s");
    browser.assert_accessible("hold page (offline)").await;
    browser.screenshots(&format!("book-hold-{name}")).await;

    // Reserve, pay on arrival: confirmed through the API's service.
    click(&browser, ".confirm-form button").await;
    wait_for(&browser, ".confirmed-lead").await;
    assert!(browser.text(".confirmed-lead").await.contains(&reference));
    assert_eq!(status_of(&app, &reference).await, "confirmed");
    let booking = app
        .query_i64(&format!(
            "SELECT seats FROM bookings WHERE reference = '{reference}'"
        ))
        .await;
    assert_eq!(booking, 3);
    // The confirmation email's calendar entry, downloaded.
    let ics = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('.calendar-download').href)
               .then(r => r.text().then(t => done([r.headers.get('content-type'), t])));",
            vec![],
        )
        .await
        .expect("the .ics downloads");
    assert!(
        ics[0].as_str().unwrap().starts_with("text/calendar"),
        "{ics}"
    );
    let ics = ics[1].as_str().unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
    assert!(ics.contains("SUMMARY:Harbour cruise"), "{ics}");
    assert!(ics.contains(&format!("Booking {reference}")), "{ics}");
    browser.assert_accessible("confirmation page").await;
    browser.screenshots(&format!("book-confirmed-{name}")).await;

    // Another browser (no cookie) cannot open the hold's pages.
    let stranger = app
        .client
        .get(format!("{}/book/hold/{reference}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status().as_u16(), 404);
    app.assert_seat_invariant().await;
    browser.close().await;
}

async fn paid_online_the_page_gets_the_holds_client_secret_and_the_webhook_confirms(
    backend: Backend,
) {
    let stripe = FakeStripe::start().await;
    let settings = [("stripe_publishable_key", json!("pk_test_berthfake"))];
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &settings).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_, departure) = bookable(&app, 10).await;

    // Stripe unreachable: 502, nothing held, the form kept.
    stripe.set_mode(Mode::Fail(503));
    quote(&browser, &app, &departure, 2).await;
    browser.fill("#field-name", "Grace Hopper").await;
    browser.fill("#field-email", "grace@example.com").await;
    click(&browser, "button[value=hold]").await;
    notice_says(&browser, "payment service could not be reached").await;
    assert_eq!(
        value_of(&browser, "#field-email").await,
        "grace@example.com"
    );
    assert_eq!(app.available(&departure).await, 10);
    browser.assert_accessible("payment unavailable").await;

    // Stripe back: the hold's page mounts the Payment Element with the hold's client secret.
    stripe.set_mode(Mode::Normal);
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, "#payment-form").await;
    let reference = reference_on_page(&browser).await;
    let intent = stripe
        .intent_for(&reference)
        .expect("an intent for the hold");
    let form = browser
        .run(
            "const f = document.querySelector('#payment-form');
             return [f.dataset.clientSecret, f.dataset.publishableKey,
                     [...document.scripts].map(s => s.src).filter(s => s.startsWith('https://'))];",
        )
        .await;
    assert_eq!(form[0], intent["client_secret"]);
    assert_eq!(form[1], json!("pk_test_berthfake"));
    assert_eq!(form[2], json!(["https://js.stripe.com/v3/"]));
    assert_eq!(intent["amount"], json!(7000));
    // Stripe.js cannot load here (no network): the page says so instead of a dead form.
    wait_for(&browser, "#payment-message:not(:empty)").await;
    browser.assert_accessible("payment page (Stripe)").await;
    browser
        .screenshots(&format!("book-pay-stripe-{}", backend_name(backend)))
        .await;

    // Stripe's webhook confirms; the page Stripe returns to shows the confirmation.
    app.stripe_event(&fake_stripe::succeeded("evt_web_1", &intent))
        .await
        .expect(200);
    browser.client.refresh().await.unwrap();
    wait_for(&browser, ".confirmed-lead").await;
    assert!(browser.text(".confirmed-lead").await.contains(&reference));
    assert_eq!(status_of(&app, &reference).await, "confirmed");
    browser
        .assert_accessible("confirmation page (Stripe)")
        .await;

    // A second hold whose payment fails: its page is the form again, filled in.
    quote(&browser, &app, &departure, 1).await;
    browser.fill("#field-name", "Grace Hopper").await;
    browser.fill("#field-email", "grace@example.com").await;
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, "#payment-form").await;
    let second = reference_on_page(&browser).await;
    let intent = stripe
        .intent_for(&second)
        .expect("an intent for the second hold");
    let failed = fake_stripe::event("evt_web_2", "payment_intent.payment_failed", intent);
    app.stripe_event(&failed).await.expect(200);
    browser.client.refresh().await.unwrap();
    notice_says(&browser, "The payment did not go through").await;
    assert_eq!(value_of(&browser, "#field-name").await, "Grace Hopper");
    assert_eq!(value_of(&browser, "#qty-adult").await, "1");
    assert_eq!(app.available(&departure).await, 8);
    browser.assert_accessible("payment failed").await;
    browser.close().await;
}

async fn two_browsers_race_for_the_last_seat_and_the_loser_keeps_their_input(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (Some(first), Some(second)) = (Browser::start().await, Browser::start().await) else {
        return;
    };
    let (_, departure) = bookable(&app, 1).await;
    for (browser, who) in [(&first, "Ada"), (&second, "Grace")] {
        quote(browser, &app, &departure, 1).await;
        browser.fill("#field-name", who).await;
        browser
            .fill(
                "#field-email",
                &format!("{}@example.com", who.to_lowercase()),
            )
            .await;
    }
    let hold = |browser: &Browser| {
        let client = browser.client.clone();
        async move {
            client
                .find(Locator::Css("button[value=hold]"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
    };
    tokio::join!(hold(&first), hold(&second));
    let mut outcomes = Vec::new();
    for browser in [&first, &second] {
        browser
            .client
            .wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Css(".confirm-form, .notice"))
            .await
            .expect("a page after holding");
        let held = browser
            .run("return document.querySelector('.confirm-form') !== null;")
            .await;
        outcomes.push(held == json!(true));
    }
    assert_eq!(
        outcomes.iter().filter(|held| **held).count(),
        1,
        "exactly one browser holds the last seat: {outcomes:?}"
    );
    let loser = if outcomes[0] { &second } else { &first };
    let notice = loser.text(".notice").await;
    assert!(
        notice.contains("sold out while you were choosing"),
        "{notice}"
    );
    let who = value_of(loser, "#field-name").await;
    assert!(who == "Ada" || who == "Grace", "{who}");
    assert_eq!(
        value_of(loser, "#field-email").await,
        format!("{}@example.com", who.to_lowercase())
    );
    assert_eq!(value_of(loser, "#qty-adult").await, "1");
    loser.assert_accessible("sold-out page").await;
    loser
        .screenshots(&format!("book-sold-out-{}", backend_name(backend)))
        .await;
    assert_eq!(app.available(&departure).await, 0);
    app.assert_seat_invariant().await;
    first.close().await;
    second.close().await;
}

async fn a_keyboard_alone_books_a_seat(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_, departure) = bookable(&app, 10).await;
    browser
        .goto(&format!("{}/book/{departure}", app.base))
        .await;
    /// Tabs until the element with `id` has focus.
    async fn tab_to(browser: &Browser, id: &str) {
        for _ in 0..40 {
            if browser.focused_attr("id").await.as_deref() == Some(id) {
                return;
            }
            browser.press(Key::Tab).await;
        }
        panic!("Tab never reached #{id}");
    }
    async fn type_text(browser: &Browser, text: &str) {
        let focused = browser.client.active_element().await.unwrap();
        focused.send_keys(text).await.unwrap();
    }
    tab_to(&browser, "qty-adult").await;
    type_text(&browser, "1").await;
    // Enter in a field sends the form with its first button: "See the total".
    browser.press(Key::Enter).await;
    wait_for(&browser, ".quote-total").await;
    tab_to(&browser, "field-name").await;
    type_text(&browser, "Ada Lovelace").await;
    browser.press(Key::Tab).await;
    type_text(&browser, "ada@example.com").await;
    // Now the first button is "Hold my seats".
    browser.press(Key::Enter).await;
    wait_for(&browser, ".confirm-form").await;
    let mut tabs = 0;
    while browser
        .run("return document.activeElement.closest('.confirm-form') !== null && document.activeElement.tagName === 'BUTTON';")
        .await
        != json!(true)
    {
        tabs += 1;
        assert!(tabs < 40, "Tab never reached the reserve button");
        browser.press(Key::Tab).await;
    }
    browser.press(Key::Enter).await;
    wait_for(&browser, ".confirmed-lead").await;
    let reference = reference_on_page(&browser).await;
    assert_eq!(status_of(&app, &reference).await, "confirmed");
    browser.close().await;
}

async fn an_expired_hold_and_closed_sales_show_the_form_again_with_the_input_kept(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_, departure) = bookable(&app, 10).await;
    quote(&browser, &app, &departure, 2).await;
    browser.fill("#field-name", "Ada Lovelace").await;
    browser.fill("#field-email", "ada@example.com").await;
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, ".confirm-form").await;

    // The hold lapses before the traveler confirms.
    app.clock
        .advance(app.config.hold_ttl() + Duration::seconds(1));
    click(&browser, ".confirm-form button").await;
    wait_for(&browser, ".notice").await;
    assert!(browser.text(".notice").await.contains("hold expired"));
    assert_eq!(value_of(&browser, "#field-name").await, "Ada Lovelace");
    assert_eq!(value_of(&browser, "#field-email").await, "ada@example.com");
    assert_eq!(value_of(&browser, "#qty-adult").await, "2");
    browser.assert_accessible("hold expired").await;
    browser
        .screenshots(&format!("book-expired-{}", backend_name(backend)))
        .await;

    // Sales close (two hours before the departure) while the form is open.
    click(&browser, "button[value=quote]").await;
    wait_for(&browser, ".quote-total").await;
    let day = local_today(&app) + Duration::days(3);
    let starts = super::ZONE
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&chrono::Utc);
    app.clock
        .advance(starts - app.clock.now() - Duration::minutes(90));
    click(&browser, "button[value=hold]").await;
    notice_says(&browser, "Sales for this departure have closed").await;
    assert_eq!(value_of(&browser, "#field-email").await, "ada@example.com");
    browser.close().await;
}

async fn a_double_submitted_form_holds_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, departure) = bookable(&app, 10).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/book/{departure}", app.base);
    let first = client.get(&url).send().await.unwrap();
    let mut jar = set_cookies(first.headers());
    let form = first.text().await.unwrap();
    let fields: Vec<(&str, String)> = vec![
        ("csrf_token", hidden_field(&form, "csrf_token")),
        ("idempotency_key", hidden_field(&form, "idempotency_key")),
        ("items[adult]", "2".into()),
        ("name", "Ada Lovelace".into()),
        ("email", "ada@example.com".into()),
        ("quoted_total", "7000".into()),
        ("step", "hold".into()),
    ];
    let mut locations = Vec::new();
    for _ in 0..2 {
        // A browser set to Spanish: the traveler's messages will be written in Spanish.
        let reply = client
            .post(&url)
            .header("Cookie", jar.join("; "))
            .header("Accept-Language", "es")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 303, "{:?}", reply.text().await);
        locations.push(reply.headers()["location"].to_str().unwrap().to_owned());
        jar.extend(set_cookies(reply.headers()));
    }
    assert_eq!(
        locations[0], locations[1],
        "the second click replays the first hold"
    );
    assert_eq!(app.available(&departure).await, 8);
    assert_eq!(
        app.query_strings("SELECT customer_language FROM bookings")
            .await,
        vec!["es".to_owned()],
        "the page's language is the messages' language"
    );
    // The hold's page opens with the cookie the replay set too.
    let page = client
        .get(format!("{}{}", app.base, locations[1]))
        .header("Cookie", jar.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        !csp.contains("stripe"),
        "offline pages load nothing from Stripe: {csp}"
    );

    // A total other than the one shown holds nothing: the new total is shown instead.
    let mut changed = fields.clone();
    changed[1].1 = "another-form-key-0001".into();
    changed[2].1 = "3".into();
    let reply = client
        .post(&url)
        .header("Cookie", jar.join("; "))
        .form(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let text = reply.text().await.unwrap();
    assert!(text.contains("here is the new total"), "{text}");
    assert!(text.contains("€105.00"), "{text}");
    assert_eq!(app.available(&departure).await, 8);
}

/// Held from the page, then cancelled by the operator before payment: the hold's page says the
/// booking is closed and offers nothing to pay, instead of a pay form for seats it no longer has.
async fn a_hold_the_operator_cancelled_shows_a_closed_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &token, &tour, day, 10, 10).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/book/{departure}", app.base);
    let first = client.get(&url).send().await.unwrap();
    let mut jar = set_cookies(first.headers());
    let form = first.text().await.unwrap();
    let reply = client
        .post(&url)
        .header("Cookie", jar.join("; "))
        .form(&[
            ("csrf_token", hidden_field(&form, "csrf_token")),
            ("idempotency_key", hidden_field(&form, "idempotency_key")),
            ("items[adult]", "1".into()),
            ("name", "Ada Lovelace".into()),
            ("email", "ada@example.com".into()),
            ("quoted_total", "3500".into()),
            ("step", "hold".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 303);
    let hold_page = format!(
        "{}{}",
        app.base,
        reply.headers()["location"].to_str().unwrap()
    );
    jar.extend(set_cookies(reply.headers()));
    let open = |jar: Vec<String>| {
        let client = client.clone();
        let hold_page = hold_page.clone();
        async move {
            let reply = client
                .get(&hold_page)
                .header("Cookie", jar.join("; "))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status().as_u16(), 200);
            reply.text().await.unwrap()
        }
    };
    let held = open(jar.clone()).await;
    assert!(held.contains("class=\"confirm-form\""), "{held}");
    let reference = app.query_strings("SELECT reference FROM bookings").await[0].clone();

    app.post_as(
        &token,
        &format!("/v1/bookings/{reference}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    let closed = open(jar).await;
    assert!(closed.contains("This booking is closed"), "{closed}");
    assert!(
        closed.contains(&format!("Booking {reference} is no longer active.")),
        "{closed}"
    );
    assert!(
        !closed.contains("confirm-form") && !closed.contains("payment-form"),
        "nothing to pay or confirm: {closed}"
    );
    assert_eq!(app.available(&departure).await, 10);
}

async fn the_booking_form_prints_operator_text_as_text_and_keeps_input_when_rate_limited(
    backend: Backend,
) {
    // The form counts against the bookings bucket, as `POST /v1/bookings` does (the operator's
    // set-up calls are writes, left unlimited here): a few posts, then the limit.
    let settings = [("rate_limits", json!("bookings=3/min"))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (token, tour) = tour(
        &app,
        json!({"name": "Cruise <script>window.injected = 1</script>", "meeting_point": "<b>Pier</b>"}),
    )
    .await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &token, &tour, day, 10, 10).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/book/{departure}", app.base);
    let first = client.get(&url).send().await.unwrap();
    let jar = set_cookies(first.headers());
    let form = first.text().await.unwrap();
    assert!(!form.contains("<script>window"), "{form}");
    assert!(form.contains("Cruise &lt;script&gt;window.injected = 1&lt;&#x2f;script&gt;"));
    let fields = [
        ("csrf_token", hidden_field(&form, "csrf_token")),
        ("idempotency_key", hidden_field(&form, "idempotency_key")),
        ("items[adult]", "1".into()),
        ("name", "Ada <i>Lovelace</i>".into()),
        ("email", "ada@example.com".into()),
        ("step", "quote".into()),
    ];
    let mut replies: Vec<(u16, Option<String>, String)> = Vec::new();
    while replies.last().is_none_or(|r| r.0 != 429) {
        assert!(replies.len() < 8, "never rate-limited");
        let reply = client
            .post(&url)
            .header("Cookie", jar.join("; "))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let retry_after = reply
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        replies.push((status, retry_after, reply.text().await.unwrap()));
    }
    let (quoted, limited) = (&replies[0], replies.last().unwrap());
    assert_eq!(quoted.0, 200);
    assert!(quoted.2.contains("€35.00"), "{}", quoted.2);
    // The traveler's own text is escaped as well, and kept.
    assert!(
        quoted
            .2
            .contains("value=\"Ada &lt;i&gt;Lovelace&lt;&#x2f;i&gt;\""),
        "{}",
        quoted.2
    );
    assert_eq!(limited.0, 429);
    let wait: u64 = limited.1.as_deref().expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert!(
        limited.2.contains(&format!("wait {wait} seconds")),
        "{}",
        limited.2
    );
    assert!(
        limited.2.contains("value=\"ada@example.com\""),
        "input kept: {}",
        limited.2
    );
}

/// A code applied on the quote and switched off before the hold: the form again with the code
/// marked and every input kept, the total without the discount, nothing held; without the code
/// the traveler holds at the total shown. The code is part of what the form's idempotency key
/// protects: the same key sent again with another code is refused, not replayed.
async fn a_promo_code_refused_at_the_hold_is_marked_with_the_input_kept_and_holds_nothing(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &token, &tour, day, 10, 10).await;
    let code = app
        .post_as(
            &token,
            "/v1/promo-codes",
            json!({"code": "HALF", "percent_off": 50}),
        )
        .await;
    code.expect(201);

    quote(&browser, &app, &departure, 2).await;
    browser.fill("#field-promo_code", " half ").await;
    click(&browser, "button[value=quote]").await;
    wait_for(&browser, ".quote-discount").await;
    assert_eq!(browser.text(".quote-total").await, "€35.00");
    browser.fill("#field-name", "Ada Lovelace").await;
    browser.fill("#field-email", "ada@example.com").await;
    app.patch_as(
        &token,
        &format!("/v1/promo-codes/{}", code.str("id")),
        json!({"active": false}),
    )
    .await
    .expect(200);
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, "#promo_code-error").await;
    assert!(browser
        .text("#promo_code-error")
        .await
        .contains("We do not know this promo code"));
    assert_eq!(value_of(&browser, "#field-promo_code").await, " half ");
    assert_eq!(value_of(&browser, "#field-name").await, "Ada Lovelace");
    assert_eq!(value_of(&browser, "#field-email").await, "ada@example.com");
    assert_eq!(value_of(&browser, "#qty-adult").await, "2");
    assert_eq!(browser.text(".quote-total").await, "€70.00");
    assert!(browser
        .client
        .find(Locator::Css(".quote-discount"))
        .await
        .is_err());
    assert_eq!(app.available(&departure).await, 10, "nothing held");
    browser
        .assert_accessible("booking form, promo code refused at the hold")
        .await;

    // Without the code: held at the total shown, no discount line.
    browser.fill("#field-promo_code", "").await;
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, ".confirm-form").await;
    assert_eq!(browser.text(".booking-total").await, "€70.00");
    assert!(browser
        .client
        .find(Locator::Css(".booking-discount"))
        .await
        .is_err());
    assert_eq!(app.available(&departure).await, 8);
    browser.close().await;

    // Over HTTP: one form's key, sent with a code and then without it.
    app.post_as(
        &token,
        "/v1/promo-codes",
        json!({"code": "TENOFF", "amount_off": 1000, "currency": "EUR"}),
    )
    .await
    .expect(201);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/book/{departure}", app.base);
    let first = client.get(&url).send().await.unwrap();
    let jar = set_cookies(first.headers());
    let form = first.text().await.unwrap();
    let post = |code: &'static str, quoted: &'static str| {
        let fields: Vec<(&str, String)> = vec![
            ("csrf_token", hidden_field(&form, "csrf_token")),
            ("idempotency_key", hidden_field(&form, "idempotency_key")),
            ("items[adult]", "1".into()),
            ("name", "Grace Hopper".into()),
            ("email", "grace@example.com".into()),
            ("promo_code", code.into()),
            ("quoted_total", quoted.into()),
            ("step", "hold".into()),
        ];
        client
            .post(&url)
            .header("Cookie", jar.join("; "))
            .form(&fields)
            .send()
    };
    let held = post("tenoff", "2500").await.unwrap();
    assert_eq!(held.status().as_u16(), 303, "{:?}", held.text().await);
    assert_eq!(
        app.query_i64("SELECT total FROM bookings WHERE customer_email = 'grace@example.com'")
            .await,
        2500
    );
    let again = post("", "3500").await.unwrap();
    assert_eq!(again.status().as_u16(), 422, "refused, not replayed");
    assert_eq!(app.available(&departure).await, 7);
    app.assert_seat_invariant().await;
}

/// A code the booking is too small for says the minimum to reach, as money in the traveler's
/// language, beside the code with every input kept.
async fn a_code_below_its_minimum_spend_says_the_minimum_in_the_travelers_language(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &token, &tour, day, 10, 10).await;
    app.post_as(
        &token,
        "/v1/promo-codes",
        json!({"code": "BIG", "percent_off": 10, "min_spend": 5000, "currency": "EUR"}),
    )
    .await
    .expect(201);

    quote(&browser, &app, &departure, 1).await;
    browser.fill("#field-promo_code", "big").await;
    click(&browser, "button[value=quote]").await;
    wait_for(&browser, "#promo_code-error").await;
    let said = browser.text("#promo_code-error").await;
    assert!(said.contains("at least €50.00"), "{said}");
    assert_eq!(value_of(&browser, "#field-promo_code").await, "big");
    assert_eq!(browser.text(".quote-total").await, "€35.00");
    browser
        .assert_accessible("booking form, promo code below its minimum spend")
        .await;
    // Reaching the minimum, the code applies.
    browser.fill("#qty-adult", "2").await;
    click(&browser, "button[value=quote]").await;
    wait_for(&browser, ".quote-discount").await;
    assert_eq!(browser.text(".quote-total").await, "€63.00");
    browser.close().await;

    // In Spanish, over HTTP: the amount as Spanish money.
    let url = format!("{}/book/{departure}", app.base);
    let first = app
        .client
        .get(&url)
        .header("Cookie", "lang=es")
        .send()
        .await
        .unwrap();
    let mut jar = set_cookies(first.headers());
    jar.push("lang=es".to_owned());
    let form = first.text().await.unwrap();
    let fields = [
        ("csrf_token", hidden_field(&form, "csrf_token")),
        ("idempotency_key", hidden_field(&form, "idempotency_key")),
        ("items[adult]", "1".to_owned()),
        ("promo_code", "BIG".to_owned()),
        ("step", "quote".to_owned()),
    ];
    let reply = app
        .client
        .post(&url)
        .header("Cookie", jar.join("; "))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 422);
    let page = reply.text().await.unwrap();
    assert!(
        page.contains("necesita una reserva de al menos 50,00\u{a0}€"),
        "{page}"
    );
    assert_eq!(app.available(&departure).await, 10, "nothing held");
}

/// A booking a code takes everything off says there is nothing to pay (not "pay €0.00 on
/// arrival") on its hold, confirmation and manage pages.
async fn a_booking_a_code_makes_free_says_there_is_nothing_to_pay(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &token, &tour, day, 10, 10).await;
    app.post_as(
        &token,
        "/v1/promo-codes",
        json!({"code": "FREE", "percent_off": 100}),
    )
    .await
    .expect(201);

    quote(&browser, &app, &departure, 2).await;
    browser.fill("#field-promo_code", "free").await;
    click(&browser, "button[value=quote]").await;
    wait_for(&browser, ".quote-discount").await;
    assert_eq!(browser.text(".quote-total").await, "€0.00");
    browser.fill("#field-name", "Ada Lovelace").await;
    browser.fill("#field-email", "ada@example.com").await;
    click(&browser, "button[value=hold]").await;
    wait_for(&browser, ".confirm-form").await;
    let form = browser.text(".confirm-form").await;
    assert!(form.contains("There is nothing to pay"), "{form}");
    assert!(!form.contains("arrival"), "{form}");
    assert!(browser
        .client
        .find(Locator::Css(".pay-on-arrival"))
        .await
        .is_err());
    browser
        .assert_accessible("hold page with nothing to pay")
        .await;
    let reference = reference_on_page(&browser).await;

    click(&browser, ".confirm-form button").await;
    wait_for(&browser, ".confirmed-lead").await;
    assert_eq!(status_of(&app, &reference).await, "confirmed");
    assert_eq!(
        browser.text(".nothing-to-pay").await,
        "There is nothing to pay."
    );
    let page = browser.run("return document.body.innerText;").await;
    assert!(!page.as_str().unwrap().contains("arrival"), "{page}");
    browser.close().await;

    // The manage page from the confirmation email: nothing to pay, not "pay on arrival".
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch");
    let mail = std::fs::read_dir(app.files.path().join("mail"))
        .expect("mail was written")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains(&format!("Subject: Booking {reference} confirmed")))
        .expect("the confirmation email");
    let manage = app
        .client
        .get(format!(
            "{}{}",
            app.base,
            crate::reschedule::manage_path(&mail)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(manage.status().as_u16(), 200);
    let manage = manage.text().await.unwrap();
    assert!(manage.contains("(nothing to pay)"), "{manage}");
    assert!(!manage.contains("pay on arrival"), "{manage}");
}
