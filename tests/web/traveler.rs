//! What a traveler sees, in headless Chromium: the tour page, its calendar, the keyboard path to
//! a day's departures, operator text shown as text, the CSRF guard, axe-core and screenshots.

use chrono::{Datelike, Duration, NaiveDate};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::json;

use super::browser::Browser;
use super::{book, departure_on, local_today, tour};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    the_tour_page_shows_the_tour_its_prices_and_policy_in_both_languages,
    the_calendar_marks_sold_out_closed_and_few_seats_days,
    a_keyboard_alone_reaches_a_days_departures_through_the_calendar,
    an_operators_script_in_the_description_is_shown_as_text_and_never_runs,
    a_form_posted_without_its_csrf_token_gets_the_refusal_page,
    a_departure_with_a_minimum_shows_how_many_more_it_needs_or_that_it_runs,
);

/// Two consecutive days at least three days out, in the same month, by the test clock.
fn two_days_in_one_month(app: &TestApp) -> (NaiveDate, NaiveDate) {
    let mut first = local_today(app) + Duration::days(3);
    if (first + Duration::days(1)).month() != first.month() {
        first += Duration::days(2);
    }
    (first, first + Duration::days(1))
}

async fn the_tour_page_shows_the_tour_its_prices_and_policy_in_both_languages(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let (day, _) = two_days_in_one_month(&app);
    departure_on(&app, &token, &tour, day, 10, 12).await;
    departure_on(&app, &token, &tour, day, 18, 12).await;
    let page = format!("{}/tours/{tour}/harbour-cruise?day={day}", app.base);
    browser.goto(&page).await;

    assert_eq!(browser.text("h1").await, "Harbour cruise");
    assert_eq!(
        browser.text(".tour-description").await,
        "Ninety minutes around the bay.\nBring a jacket."
    );
    assert_eq!(browser.text(".meeting-point").await, "Pier 3");
    assert_eq!(browser.text(".duration").await, "1 h 30 min");
    let prices = browser.text(".prices").await;
    assert!(
        prices.contains("Adult") && prices.contains("€35.00"),
        "{prices}"
    );
    assert!(
        prices.contains("Child") && prices.contains("€15.00"),
        "{prices}"
    );
    assert_eq!(
        browser.text(".policy").await,
        "Cancel 72 hours or more before the departure: full refund.\n\
         Cancel between 24 hours and 72 hours before: 50 % refund.\n\
         Cancel less than 24 hours before: no refund.\n\
         Bookings cannot be cancelled once the departure has started."
    );
    // The picked day lists its departures at tour-local times, the zone named.
    assert_eq!(departure_times(&browser).await, ["10:00 AM", "6:00 PM"]);
    let departures = browser.text(".departures").await;
    assert!(departures.contains("12 seats available"), "{departures}");
    assert!(browser.text(".timezone").await.contains("Europe/Lisbon"));
    browser.assert_accessible("tour page (en)").await;
    browser
        .screenshots(&format!("tour-page-{}", backend_name(backend)))
        .await;

    // The page in Spanish: its own words, money and times; the operator's text as written.
    browser.goto(&format!("{page}&lang=es")).await;
    assert_eq!(browser.text("h1").await, "Harbour cruise");
    assert!(browser.text(".prices").await.contains("35,00 €"));
    assert!(browser
        .text(".policy")
        .await
        .starts_with("Si cancelas con 72 horas o más de antelación: reembolso completo."));
    assert_eq!(departure_times(&browser).await, ["10:00", "18:00"]);
    assert_eq!(
        browser.run("return document.documentElement.lang;").await,
        json!("es")
    );
    browser.assert_accessible("tour page (es)").await;

    // Light: the whole first load (HTML, CSS, script) stays well under 100 KB.
    let bytes = browser
        .run(
            "return performance.getEntries()
               .filter(e => e.entryType === 'navigation' || e.entryType === 'resource')
               .reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0);",
        )
        .await
        .as_u64()
        .expect("a byte count");
    assert!(
        (1_000..100_000).contains(&bytes),
        "first load was {bytes} bytes"
    );
    browser.close().await;
}

async fn the_calendar_marks_sold_out_closed_and_few_seats_days(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let today = local_today(&app);
    let sold_out = today + Duration::days(3);
    let cancelled = today + Duration::days(4);
    let few = today + Duration::days(5);
    let open = today + Duration::days(6);
    let empty = today + Duration::days(7);

    let full = departure_on(&app, &token, &tour, sold_out, 10, 2).await;
    book(&app, &full, 2).await;
    let called_off = departure_on(&app, &token, &tour, cancelled, 10, 10).await;
    app.post_as(
        &token,
        &format!("/v1/departures/{called_off}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    let nearly_full = departure_on(&app, &token, &tour, few, 10, 10).await;
    book(&app, &nearly_full, 8).await;
    departure_on(&app, &token, &tour, open, 10, 20).await;
    // Sales close two hours before departure: one leaving within the hour is closed.
    let leaving = app.clock.now() + Duration::minutes(60);
    let reply = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": leaving.to_rfc3339(), "capacity": 10}),
        )
        .await;
    reply.expect(201);
    let closed = leaving.with_timezone(&super::ZONE).date_naive();

    for (date, state, words) in [
        (sold_out, "sold_out", "Sold out"),
        (cancelled, "closed", "Closed"),
        (few, "few", "2 left"),
        (open, "available", "Seats available"),
        (closed, "closed", "Closed"),
    ] {
        // Open the month of that day with the day picked, as a traveler's link would.
        browser
            .goto(&format!("{}/tours/{tour}?day={date}", app.base))
            .await;
        let cell = browser
            .client
            .find(Locator::Css(&format!(".calendar a[data-date=\"{date}\"]")))
            .await
            .unwrap_or_else(|_| panic!("{date} is not a link in the calendar"));
        assert_eq!(
            cell.attr("data-state").await.unwrap().as_deref(),
            Some(state),
            "{date}"
        );
        let label = cell.text().await.unwrap();
        let spoken = browser
            .run(&format!(
                "return document.querySelector('.calendar a[data-date=\"{date}\"]').textContent;"
            ))
            .await;
        assert!(
            label.contains(words) || spoken.as_str().unwrap_or("").contains(words),
            "{date}: {label:?} / {spoken}"
        );
        assert_eq!(
            browser
                .run("return document.querySelector('[aria-current=date]').dataset.date;")
                .await,
            json!(date.to_string())
        );
        let status = browser.text(".departures").await;
        let expected = match state {
            "sold_out" => "Sold out",
            "few" => "2 seats available",
            "available" => "20 seats available",
            _ if date == cancelled => "Cancelled",
            _ => "Sales closed",
        };
        assert!(status.contains(expected), "{date}: {status}");
    }
    // A day without departures is plain text, not a link.
    browser
        .goto(&format!("{}/tours/{tour}?day={open}", app.base))
        .await;
    if empty.month() == open.month() {
        let links = browser
            .client
            .find_all(Locator::Css(&format!(".calendar a[data-date=\"{empty}\"]")))
            .await
            .unwrap();
        assert!(links.is_empty(), "{empty} has no departures but is a link");
    }
    browser.assert_accessible("calendar").await;
    browser
        .screenshots(&format!("tour-calendar-{}", backend_name(backend)))
        .await;
    browser.close().await;
}

async fn a_keyboard_alone_reaches_a_days_departures_through_the_calendar(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({})).await;
    let (first, second) = two_days_in_one_month(&app);
    departure_on(&app, &token, &tour, first, 9, 10).await;
    departure_on(&app, &token, &tour, second, 11, 10).await;
    browser
        .goto(&format!(
            "{}/tours/{tour}?month={}",
            app.base,
            first.format("%Y-%m")
        ))
        .await;

    // Tab through the page until the first departure day of the calendar has focus.
    let mut tabs = 0;
    while browser.focused_attr("data-date").await.as_deref() != Some(&first.to_string()) {
        tabs += 1;
        assert!(
            tabs < 40,
            "Tab never reached the calendar's first departure day"
        );
        browser.press(Key::Tab).await;
    }
    // The arrow keys move across the grid (calendar.js, allowed by the page's nonce).
    browser.press(Key::Right).await;
    assert_eq!(
        browser.focused_attr("data-date").await.as_deref(),
        Some(second.to_string().as_str())
    );
    browser.press(Key::Left).await;
    browser.press(Key::Right).await;
    browser.press(Key::Enter).await;
    browser
        .client
        .wait()
        .for_element(Locator::Css(".departures time"))
        .await
        .expect("the day's departures appear");
    let url = browser.client.current_url().await.unwrap();
    assert!(url.as_str().contains(&format!("day={second}")), "{url}");
    assert!(browser
        .text("#departures-heading")
        .await
        .contains(&second.day().to_string()));
    assert_eq!(departure_times(&browser).await, ["11:00 AM"]);
    browser.close().await;
}

async fn an_operators_script_in_the_description_is_shown_as_text_and_never_runs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let script = "<script>window.injected = 'description'</script>";
    let image = "<img src=x onerror=\"window.injected = 'image'\">";
    let (_, tour) = tour(
        &app,
        json!({
            "name": "Cruise <script>window.injected = 'name'</script>",
            "description": format!("Fun! {script}{image}"),
        }),
    )
    .await;
    browser.goto(&format!("{}/tours/{tour}", app.base)).await;
    assert_eq!(
        browser.text(".tour-description").await,
        format!("Fun! {script}{image}")
    );
    assert_eq!(
        browser.text("h1").await,
        "Cruise <script>window.injected = 'name'</script>"
    );
    assert_eq!(
        browser.run("return typeof window.injected;").await,
        json!("undefined")
    );
    assert_eq!(
        browser
            .run("return document.querySelectorAll('main script, main img').length;")
            .await,
        json!(0)
    );
    // Even a script element that got into the page would not run without the nonce; with it,
    // it would (so it is the policy that stops the first).
    let verdict = browser
        .run(
            "const plain = document.createElement('script');
             plain.textContent = 'window.inline = 1';
             document.body.appendChild(plain);
             const signed = document.createElement('script');
             signed.nonce = document.querySelector('script[nonce]').nonce;
             signed.textContent = 'window.signed = 1';
             document.body.appendChild(signed);
             return [typeof window.inline, typeof window.signed];",
        )
        .await;
    assert_eq!(verdict, json!(["undefined", "number"]));
    browser.close().await;
}

async fn a_form_posted_without_its_csrf_token_gets_the_refusal_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_, tour) = tour(&app, json!({})).await;
    let page = format!("{}/tours/{tour}", app.base);
    browser.goto(&page).await;
    // Someone strips the token from the language switch and sends it.
    browser
        .run(
            "document.querySelector('.language-switch input[name=csrf_token]').remove();
             document.querySelector('#language').value = 'es';
             return true;",
        )
        .await;
    browser
        .client
        .find(Locator::Css(".language-switch button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::Css(".error-message"))
        .await
        .expect("the refusal page");
    assert!(browser
        .text(".error-message")
        .await
        .starts_with("This form could not be accepted"));
    browser.assert_accessible("CSRF refusal page").await;

    // The real form, with its token, switches the language and comes back to the tour.
    browser.goto(&page).await;
    browser
        .run("document.querySelector('#language').value = 'es'; return true;")
        .await;
    browser
        .client
        .find(Locator::Css(".language-switch button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::Css("html[lang=es]"))
        .await
        .expect("the page in Spanish");
    assert_eq!(
        browser.client.current_url().await.unwrap().as_str(),
        format!("{page}")
    );
    // The choice is remembered without `?lang=`.
    browser.goto(&page).await;
    assert_eq!(
        browser.text("#policy-heading").await,
        "Política de cancelación"
    );
    browser.close().await;
}

/// The departure times listed for the picked day, as written on the page.
async fn departure_times(browser: &Browser) -> Vec<String> {
    let times = browser
        .run("return [...document.querySelectorAll('.departures time')].map(t => t.textContent);")
        .await;
    times
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().replace('\u{a0}', " "))
        .collect()
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::MySql => "mysql",
    }
}

async fn a_departure_with_a_minimum_shows_how_many_more_it_needs_or_that_it_runs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({"min_participants": 4})).await;
    let (day, _) = two_days_in_one_month(&app);
    let morning = departure_on(&app, &token, &tour, day, 10, 12).await;
    let evening = departure_on(&app, &token, &tour, day, 18, 12).await;
    book(&app, &morning, 1).await;
    app.post_as(
        &token,
        &format!("/v1/departures/{evening}/guarantee"),
        json!({}),
    )
    .await
    .expect(200);
    let page = format!("{}/tours/{tour}/harbour-cruise?day={day}", app.base);
    browser.goto(&page).await;
    let statuses = browser
        .run("return [...document.querySelectorAll('.run-status')].map(e => e.textContent.trim())")
        .await;
    assert_eq!(
        statuses,
        json!(["Needs 3 more travelers to run", "Guaranteed to run"])
    );
    browser.assert_accessible("tour page, minimum").await;
    browser.goto(&format!("{}/book/{morning}", app.base)).await;
    assert_eq!(
        browser.text(".run-status").await,
        "Needs 3 more travelers to run"
    );
    browser.goto(&page).await;
    browser.goto(&format!("{page}&lang=es")).await;
    assert!(browser
        .text(".run-status.needs")
        .await
        .contains("Faltan 3 viajeros"));
    browser
        .screenshots(&format!("tour-page-minimum-{}", backend_name(backend)))
        .await;
    browser.close().await;
}
