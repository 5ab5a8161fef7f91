//! The waiting line in the browser: a traveler joins a sold-out departure's line from its
//! booking page (a missing contact marked, a second join refused with the form kept, a
//! double-submitted form joining once, in the page's language); staff read the line on the
//! console's departure page; an admin removes a waiting traveler, and one already taken out is
//! refused beside it; a line ended by the close of sales shows so. Each page axe-checked and photographed.

use chrono::Duration;
use fantoccini::Locator;
use serde_json::{json, Value};

use super::browser::Browser;
use super::{book, departure_on, hidden_field, local_today, set_cookies, tour};
use crate::on_both_backends;
use crate::support::{Backend, TestApp, PASSWORD};

on_both_backends!(
    a_traveler_joins_a_sold_out_departures_line_and_an_admin_removes_them,
    a_double_submitted_join_form_joins_once_in_the_pages_language,
    the_place_in_line_is_read_from_the_line_never_from_the_url,
);

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::MySql => "mysql",
    }
}

/// A tour with one departure three days out, its two seats sold: (owner token, departure).
async fn sold_out(app: &TestApp) -> (String, String) {
    let (token, tour) = tour(app, json!({})).await;
    let day = local_today(app) + Duration::days(3);
    let departure = departure_on(app, &token, &tour, day, 10, 2).await;
    book(app, &departure, 2).await;
    assert_eq!(app.available(&departure).await, 0);
    (token, departure)
}

async fn value_of(browser: &Browser, css: &str) -> String {
    browser
        .run(&format!("return document.querySelector('{css}').value;"))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn present(browser: &Browser, css: &str) -> bool {
    browser
        .run(&format!("return document.querySelector('{css}') !== null;"))
        .await
        == json!(true)
}

async fn line(app: &TestApp, token: &str, departure: &str) -> Vec<Value> {
    let reply = app
        .get_as(token, &format!("/v1/departures/{departure}/waitlist"))
        .await;
    reply.expect(200);
    reply.body.as_array().expect("a list").clone()
}

async fn sign_in(browser: &Browser, base: &str, email: &str) {
    browser.goto(&format!("{base}/console/sign-in")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser
        .click_and_wait("form.stacked button[type=submit]")
        .await;
}

async fn a_traveler_joins_a_sold_out_departures_line_and_an_admin_removes_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let name = backend_name(backend);
    let (token, departure) = sold_out(&app).await;
    app.add_user(&token, "admin@harbour.example", "admin").await;
    app.add_user(&token, "staff@harbour.example", "staff").await;
    let book_url = format!("{}/book/{departure}", app.base);

    // Sold out: the page offers the waiting line instead of a booking form.
    browser.goto(&book_url).await;
    assert!(browser.text(".sales-status").await.contains("Sold out"));
    assert!(present(&browser, "form.waitlist-form").await);
    assert!(!present(&browser, "form.booking-form").await);
    browser.assert_accessible("waiting-list form").await;
    browser.screenshots(&format!("waitlist-form-{name}")).await;

    // Neither an email nor a phone: the email field is marked, the input kept, nobody joins.
    browser.fill("#qty-adult", "2").await;
    browser.fill("#field-name", "Grace Hopper").await;
    browser
        .click_and_wait("form.waitlist-form button[type=submit]")
        .await;
    let marked = browser
        .run(
            "const f = document.querySelector('#field-email');
             return [f.getAttribute('aria-invalid'), f.getAttribute('aria-describedby'),
                     document.getElementById(f.getAttribute('aria-describedby')).textContent];",
        )
        .await;
    assert_eq!(marked[0], json!("true"));
    assert_eq!(marked[1], json!("email-error"));
    assert!(
        marked[2].as_str().unwrap().contains("or a phone number"),
        "{marked}"
    );
    assert_eq!(value_of(&browser, "#field-name").await, "Grace Hopper");
    assert_eq!(value_of(&browser, "#qty-adult").await, "2");
    assert!(line(&app, &token, &departure).await.is_empty());
    browser
        .assert_accessible("waiting-list form with a marked field")
        .await;

    // With an email: number 1 in line, told how long the seats will be held, nothing echoed.
    browser.fill("#field-email", "grace@example.com").await;
    browser
        .click_and_wait("form.waitlist-form button[type=submit]")
        .await;
    assert!(browser
        .text(".waitlist-position")
        .await
        .contains("You are number 1 in line."));
    let minutes = app.config.waitlist_offer_ttl().num_minutes();
    let held = match (minutes % 60, minutes / 60) {
        (0, 1) => "1 hour".to_owned(),
        (0, hours) => format!("{hours} hours"),
        _ => format!("{minutes} minutes"),
    };
    let next = browser.text(".waitlist-next").await;
    assert!(
        next.contains(&format!("we hold them for {held}")) && next.contains("email you"),
        "{next}"
    );
    let page = browser.text("main").await;
    assert!(!page.contains("grace@example.com"), "{page}");
    browser.assert_accessible("joined the waiting list").await;
    browser
        .screenshots(&format!("waitlist-joined-{name}"))
        .await;
    let listed = line(&app, &token, &departure).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "Grace Hopper");
    assert_eq!(listed[0]["seats"], 2);
    assert_eq!(listed[0]["language"], "en");

    // The same email again: refused kindly, the form as typed, still one entry.
    browser.goto(&book_url).await;
    browser.fill("#qty-adult", "1").await;
    browser.fill("#field-name", "Grace H.").await;
    browser.fill("#field-email", "Grace@Example.com").await;
    browser
        .click_and_wait("form.waitlist-form button[type=submit]")
        .await;
    let notice = browser.text(".notice").await;
    assert!(notice.contains("already on the waiting list"), "{notice}");
    assert_eq!(
        value_of(&browser, "#field-email").await,
        "Grace@Example.com"
    );
    assert_eq!(value_of(&browser, "#field-name").await, "Grace H.");
    assert_eq!(value_of(&browser, "#qty-adult").await, "1");
    assert!(present(&browser, "form.waitlist-form").await);
    assert_eq!(line(&app, &token, &departure).await.len(), 1);
    browser
        .assert_accessible("waiting-list form, already waiting")
        .await;

    // A second traveler joins through the API.
    app.post(
        &format!("/v1/departures/{departure}/waitlist"),
        json!({"name": "Ada Lovelace", "phone": "+351912345678",
               "items": [{"unit": "adult", "quantity": 1}]}),
    )
    .await
    .expect(201);
    let listed = line(&app, &token, &departure).await;
    let (grace, ada) = (
        listed[0]["id"].as_str().unwrap().to_owned(),
        listed[1]["id"].as_str().unwrap().to_owned(),
    );

    // Staff read the line in join order, without the remove buttons.
    let console = format!("{}/console/departures/{departure}", app.base);
    sign_in(&browser, &app.base, "staff@harbour.example").await;
    browser.goto(&console).await;
    let entries = browser
        .client
        .find_all(Locator::Css("#waitlist li.waitlist-entry"))
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    let first = browser
        .text(&format!("li.waitlist-entry[data-entry=\"{grace}\"]"))
        .await;
    for shown in ["Grace Hopper", "grace@example.com", "2 seats", "Waiting"] {
        assert!(first.contains(shown), "{shown}: {first}");
    }
    let second = browser
        .text(&format!("li.waitlist-entry[data-entry=\"{ada}\"]"))
        .await;
    assert!(
        second.contains("Ada Lovelace") && second.contains("+351912345678"),
        "{second}"
    );
    assert!(!present(&browser, "form.remove-waiting").await);
    browser
        .assert_accessible("console departure with its waiting list, staff")
        .await;
    browser
        .click_and_wait("form.sign-out button[type=submit]")
        .await;

    // An admin: a remove button per waiting traveler.
    sign_in(&browser, &app.base, "admin@harbour.example").await;
    browser.goto(&console).await;
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css("form.remove-waiting"))
            .await
            .unwrap()
            .len(),
        2
    );
    browser
        .assert_accessible("console departure with its waiting list, admin")
        .await;
    browser
        .screenshots(&format!("console-waitlist-{name}"))
        .await;
    // Someone else took Ada out meanwhile: the button on this page is refused beside her entry.
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/departures/{departure}/waitlist/{ada}"),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    browser
        .click_and_wait(&format!(
            "li.waitlist-entry[data-entry=\"{ada}\"] form.remove-waiting button"
        ))
        .await;
    let problem = browser.text(&format!("#waitlist-problem-{ada}")).await;
    assert!(
        problem.contains("Only a traveler still waiting"),
        "{problem}"
    );
    assert!(browser
        .text(&format!("li.waitlist-entry[data-entry=\"{ada}\"] .state"))
        .await
        .contains("Removed"));
    browser
        .assert_accessible("console waiting list, removal refused")
        .await;

    // Grace removed: the notice, her entry removed, and the API agrees.
    browser
        .click_and_wait(&format!(
            "li.waitlist-entry[data-entry=\"{grace}\"] form.remove-waiting button"
        ))
        .await;
    assert!(browser
        .text("#waitlist-notice")
        .await
        .contains("Removed from the waiting list"));
    assert!(browser
        .text(&format!("li.waitlist-entry[data-entry=\"{grace}\"] .state"))
        .await
        .contains("Removed"));
    assert!(!present(&browser, "form.remove-waiting").await);
    let states: Vec<Value> = line(&app, &token, &departure)
        .await
        .iter()
        .map(|e| e["state"].clone())
        .collect();
    assert_eq!(states, [json!("removed"), json!("removed")]);

    // Sales close with a traveler still waiting: the line ends, and the page says so (signed in
    // again: days went by).
    app.post(
        &format!("/v1/departures/{departure}/waitlist"),
        json!({"name": "Cy Young", "email": "cy@example.com", "items": [{"unit": "adult", "quantity": 1}]}),
    )
    .await
    .expect(201);
    let cy = line(&app, &token, &departure).await[2]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::days(4));
    berth::service::waitlist::close_ended(&app.store, app.clock.now())
        .await
        .unwrap();
    sign_in(&browser, &app.base, "admin@harbour.example").await;
    browser.goto(&console).await;
    assert!(browser
        .text(&format!("li.waitlist-entry[data-entry=\"{cy}\"] .state"))
        .await
        .contains("Closed: sales ended"));
    assert!(!present(&browser, "form.remove-waiting").await);
    // Usable on a 360 px phone: nothing scrolls sideways.
    browser.client.set_window_size(360, 900).await.unwrap();
    let overflow = browser
        .run("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await;
    assert_eq!(overflow, json!(0), "the departure page scrolls sideways");
    browser.close().await;
}

async fn a_double_submitted_join_form_joins_once_in_the_pages_language(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, departure) = sold_out(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/book/{departure}", app.base);
    let first = client.get(&url).send().await.unwrap();
    let jar = set_cookies(first.headers());
    let form = first.text().await.unwrap();
    assert!(form.contains("class=\"waitlist-form\""));
    let fields: Vec<(&str, String)> = vec![
        ("csrf_token", hidden_field(&form, "csrf_token")),
        ("idempotency_key", hidden_field(&form, "idempotency_key")),
        ("items[adult]", "2".into()),
        ("name", "Ada Lovelace".into()),
        ("email", "ada@example.com".into()),
    ];
    let mut locations = Vec::new();
    for _ in 0..2 {
        // A browser set to Spanish: the offer will be written in Spanish.
        let reply = client
            .post(format!("{url}/waitlist"))
            .header("Cookie", jar.join("; "))
            .header("Accept-Language", "es")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 303, "{:?}", reply.text().await);
        locations.push(reply.headers()["location"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        locations[0], locations[1],
        "the second post replays the first"
    );
    let listed = line(&app, &token, &departure).await;
    assert_eq!(listed.len(), 1, "joined once");
    let entry = listed[0]["id"].as_str().unwrap();
    let prefix = format!("/book/{departure}/waitlist?entry={entry}&key=");
    assert!(locations[0].starts_with(&prefix), "{}", locations[0]);
    assert_eq!(locations[0].len(), prefix.len() + 32, "{}", locations[0]);
    assert_eq!(listed[0]["language"], "es");
    let page = client
        .get(format!("{}{}", app.base, locations[0]))
        .header("Accept-Language", "es")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Eres el número 1 de la lista."), "{html}");
    assert!(!html.contains("ada@example.com"));
}

/// Joins `departure`'s line through its booking page's form (plain HTTP); returns where the post
/// leads (the place-in-line page).
async fn join_on_page(
    app: &TestApp,
    client: &reqwest::Client,
    departure: &str,
    name: &str,
) -> String {
    let url = format!("{}/book/{departure}", app.base);
    let first = client.get(&url).send().await.unwrap();
    let jar = set_cookies(first.headers());
    let form = first.text().await.unwrap();
    let email = format!("{}@example.com", name.to_lowercase());
    let fields: Vec<(&str, String)> = vec![
        ("csrf_token", hidden_field(&form, "csrf_token")),
        ("idempotency_key", hidden_field(&form, "idempotency_key")),
        ("items[adult]", "1".into()),
        ("name", name.into()),
        ("email", email),
    ];
    let reply = client
        .post(format!("{url}/waitlist"))
        .header("Cookie", jar.join("; "))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 303, "{:?}", reply.text().await);
    reply.headers()["location"].to_str().unwrap().to_owned()
}

/// The page after joining says the traveler's place as the line stands now, read on the server:
/// a URL that states a position, or names an entry without berth's key, or another departure's
/// entry, leads to the booking page; the place moves up as the line does; an entry no longer
/// waiting has no place to show.
async fn the_place_in_line_is_read_from_the_line_never_from_the_url(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, departure) = sold_out(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: String| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            let reply = client.get(format!("{base}{path}")).send().await.unwrap();
            let status = reply.status().as_u16();
            let location = reply
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, reply.text().await.unwrap())
        }
    };
    let booking_page = format!("/book/{departure}");
    let ana = join_on_page(&app, &client, &departure, "Ana").await;
    app.clock.advance(Duration::seconds(1));
    let bea = join_on_page(&app, &client, &departure, "Bea").await;
    let (status, _, html) = get(bea.clone()).await;
    assert_eq!(status, 200);
    assert!(html.contains("You are number 2 in line."), "{html}");
    assert!(!html.contains("bea@example.com"));

    // A position in the URL is not shown; nor is a place without berth's key for that entry.
    let forged = [
        format!("/book/{departure}/waitlist?position=1&via=email"),
        bea.split("&key=").next().unwrap().to_owned(),
        format!(
            "{}&key={}",
            bea.split("&key=").next().unwrap(),
            "0".repeat(32)
        ),
        // Ana's entry under Bea's key.
        format!(
            "{}&key={}",
            ana.split("&key=").next().unwrap(),
            bea.split("&key=").nth(1).unwrap()
        ),
    ];
    for path in forged {
        let (status, location, html) = get(path.clone()).await;
        assert_eq!(status, 303, "{path}: {html}");
        assert_eq!(location.as_deref(), Some(booking_page.as_str()), "{path}");
    }
    // Bea's entry and key on another departure's page.
    let (other_token, other_tour) = tour(&app, json!({})).await;
    let other = departure_on(
        &app,
        &other_token,
        &other_tour,
        local_today(&app) + Duration::days(4),
        10,
        2,
    )
    .await;
    let elsewhere = bea.replace(&departure, &other);
    let (status, location, _) = get(elsewhere).await;
    assert_eq!(status, 303);
    assert_eq!(location, Some(format!("/book/{other}")));

    // Ana leaves the line: Bea's page now says she is first.
    let listed = line(&app, &token, &departure).await;
    let ana_id = listed[0]["id"].as_str().unwrap();
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/departures/{departure}/waitlist/{ana_id}"),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    let (_, _, html) = get(bea.clone()).await;
    assert!(html.contains("You are number 1 in line."), "{html}");
    // Ana no longer waits: no place to show.
    let (status, location, _) = get(ana).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(booking_page.as_str()));
}
