//! The operator console in headless Chromium: signing in (with and without a second factor),
//! the Today board, the menu and pages by role, signing out; axe-core and screenshots. Cookie
//! flags in release: tests/api/config.rs.

use chrono::{Datelike, Duration, TimeZone};
use fantoccini::Locator;
use serde_json::json;

use super::browser::Browser;
use super::{tour, ZONE};
use crate::on_both_backends;
use crate::support::wait::eventually;
use crate::support::{Backend, TestApp, PASSWORD};

on_both_backends!(
    an_owner_signs_in_sees_today_and_the_team_and_signs_out,
    a_user_with_two_factor_sign_in_enters_a_code_from_their_app,
    a_guide_sees_neither_the_menu_entry_nor_the_page_of_owners,
    a_console_form_posted_without_its_csrf_token_is_refused,
    every_console_page_serves_exactly_the_roles_its_menu_entry_names,
    a_guide_on_a_phone_finds_a_traveler_and_checks_them_in,
    a_guide_pages_through_a_long_manifest_and_checks_in_on_the_second_page,
    an_admin_changes_capacity_and_cancels_a_departure_seeing_the_refunds_first,
    an_admin_creates_a_tour_and_a_weekly_schedule_and_sees_its_departures_on_the_calendar,
    a_guide_turns_on_two_factor_from_the_qr_code_and_changes_their_password,
    staff_find_a_booking_by_email_and_resend_its_confirmation_and_an_admin_refunds_part,
    an_admin_sees_an_undelivered_message_and_sends_it_again,
    an_admin_reads_revenue_by_day_and_tour_with_the_load_factor_and_downloads_it,
    an_owner_adds_a_user_changes_roles_and_makes_and_revokes_an_api_token,
    when_two_factor_is_required_a_user_without_it_is_led_to_turn_it_on,
    an_owner_sets_the_sender_the_widget_sites_and_resellers_messages_and_reads_the_audit_log,
    an_owner_connects_its_own_stripe_account,
    an_owner_adds_a_reseller_for_one_tour_and_revokes_it,
    an_admin_archives_a_tour_and_puts_it_back_on_sale,
    a_user_who_forgot_their_password_resets_it_with_the_emailed_code,
    staff_move_a_booking_to_another_departure_of_its_tour,
    an_admin_registers_a_webhook_sends_a_test_and_reads_the_attempt,
    an_admin_assigns_a_guide_who_subscribes_to_a_calendar_of_their_departures,
    an_admin_sees_a_departure_short_of_its_minimum_and_runs_it_anyway,
    an_admin_sets_a_departures_own_minimum_and_clears_it_back_to_the_tours,
    an_admin_makes_a_promo_code_a_traveler_books_with_it_and_staff_only_read_it,
    an_admin_gives_a_promo_code_a_minimum_spend_in_a_currency_and_takes_it_away,
    an_admin_adds_weekend_prices_on_the_tour_page_and_staff_only_read_them,
    an_admin_sets_a_departures_own_price_and_the_booking_page_offers_it,
    an_admin_shares_a_boat_between_two_tours_and_staff_only_read_its_load,
);

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::MySql => "mysql",
    }
}

/// Fills and sends the password step.
async fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/console/sign-in")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", password).await;
    submit(browser, "form.stacked").await;
}

/// Submits `form` and waits until the next page has loaded.
async fn submit(browser: &Browser, form: &str) {
    browser
        .click_and_wait(&format!("{form} button[type=submit]"))
        .await;
}

async fn path(browser: &Browser) -> String {
    browser
        .client
        .current_url()
        .await
        .expect("current url")
        .path()
        .to_owned()
}

async fn menu(browser: &Browser) -> Vec<String> {
    let items = browser
        .client
        .find_all(Locator::Css(".console-nav li a"))
        .await
        .expect("menu items");
    let mut labels = Vec::new();
    for item in items {
        labels.push(item.text().await.expect("label"));
    }
    labels
}

async fn an_owner_signs_in_sees_today_and_the_team_and_signs_out(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({"cutoff_minutes": 5})).await;
    app.add_user(&token, "owner@harbour.example", "owner").await;
    app.add_user(&token, "guide@harbour.example", "guide").await;
    // One departure in half an hour, one a day later: each on the board under the local day it
    // falls on (in the last half hour of a day, both are "tomorrow" or later).
    let now = app.clock.now();
    let mut expected = Vec::new();
    for (offset, capacity) in [(Duration::minutes(30), 12), (Duration::hours(24), 8)] {
        let starts_at = now + offset;
        let reply = app
            .post_as(
                &token,
                &format!("/v1/tours/{tour}/departures"),
                json!({"starts_at": starts_at.to_rfc3339(), "capacity": capacity}),
            )
            .await;
        reply.expect(201);
        let days_ahead = (starts_at.with_timezone(&ZONE).date_naive()
            - now.with_timezone(&ZONE).date_naive())
        .num_days();
        expected.push((reply.str("id"), capacity, days_ahead));
    }
    let first = &expected[0].0;
    super::book(&app, first, 3).await;
    app.hold(first, json!([{"unit": "adult", "quantity": 2}]))
        .await
        .expect(201);

    // Not signed in: to the sign-in page.
    browser.goto(&format!("{}/console", app.base)).await;
    assert_eq!(path(&browser).await, "/console/sign-in");
    browser.assert_accessible("console sign-in").await;

    // A wrong password: the form again, the email kept, both fields marked, nothing told
    // about whether the account exists.
    sign_in(
        &browser,
        &app.base,
        "owner@harbour.example",
        "not the password",
    )
    .await;
    assert_eq!(path(&browser).await, "/console/sign-in");
    assert!(browser
        .text(".form-problem")
        .await
        .starts_with("Email or password not recognised."));
    let kept = browser
        .client
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("owner@harbour.example"));
    assert_eq!(
        browser
            .client
            .find(Locator::Css("#password"))
            .await
            .unwrap()
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    browser.assert_accessible("console sign-in, refused").await;

    sign_in(&browser, &app.base, "owner@harbour.example", PASSWORD).await;
    assert_eq!(path(&browser).await, "/console");
    assert_eq!(
        menu(&browser).await,
        [
            "Today",
            "Calendar",
            "My departures",
            "Bookings",
            "Tours",
            "Promo codes",
            "Resources",
            "Messages",
            "Webhooks",
            "Reports",
            "Audit log",
            "Team",
            "Settings",
            "Account"
        ]
    );
    assert!(browser
        .text(".signed-in-as")
        .await
        .contains("owner@harbour.example (owner)"));
    // The board: each departure under its day, seats taken (3 booked + 2 held) of capacity.
    for (id, capacity, days_ahead) in &expected {
        let row = format!("tr[data-departure=\"{id}\"]");
        if *days_ahead > 1 {
            continue;
        }
        let heading = browser
            .run(&format!(
                "return document.querySelector('{row}').closest('section').querySelector('h2').textContent;"
            ))
            .await;
        let day = if *days_ahead == 0 {
            "Today"
        } else {
            "Tomorrow"
        };
        assert_eq!(heading, json!(day), "{id}");
        let seats = browser.text(&format!("{row} .seats")).await;
        if id == first {
            assert_eq!(seats, format!("5 of {capacity}"));
            assert_eq!(browser.text(&format!("{row} .held")).await, "2");
        } else {
            assert_eq!(seats, format!("0 of {capacity}"));
        }
    }
    browser.assert_accessible("console today").await;
    browser
        .screenshots(&format!("console-today-{}", backend_name(backend)))
        .await;

    // The team page lists the operator's users.
    browser
        .client
        .find(Locator::LinkText("Team"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(path(&browser).await, "/console/team");
    let team = browser.text("table.team").await;
    assert!(
        team.contains("guide@harbour.example") && team.contains("owner@harbour.example"),
        "{team}"
    );
    browser.assert_accessible("console team").await;

    // Signing out ends the session: the console asks to sign in again, and the session's
    // tokens no longer work anywhere.
    submit(&browser, "form.sign-out").await;
    assert_eq!(path(&browser).await, "/console/sign-in");
    browser.goto(&format!("{}/console", app.base)).await;
    assert_eq!(path(&browser).await, "/console/sign-in");
    let live = app
        .query_i64("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")
        .await;
    assert_eq!(live, 0, "the console's session was revoked");
    browser.close().await;
}

async fn a_user_with_two_factor_sign_in_enters_a_code_from_their_app(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, _) = tour(&app, json!({})).await;
    let (access, _) = app
        .signed_in(&token, "admin@harbour.example", "admin")
        .await;
    let setup = app.post_as(&access, "/v1/auth/2fa/setup", json!({})).await;
    setup.expect(200);
    let secret = setup.str("secret");
    app.post_as(
        &access,
        "/v1/auth/2fa/confirm",
        json!({"code": totp(&app, &secret)}),
    )
    .await
    .expect(200);
    // The code used to enrol may not be used again: the next one.
    app.clock.advance(Duration::seconds(30));

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    assert_eq!(path(&browser).await, "/console/sign-in");
    assert!(browser.text("#code-help").await.contains("six-digit code"));
    browser.assert_accessible("console code step").await;
    browser.fill("#code", "000000").await;
    submit(&browser, "form.stacked").await;
    assert!(browser
        .text(".form-problem")
        .await
        .starts_with("That code was not accepted."));

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser.fill("#code", &totp(&app, &secret)).await;
    submit(&browser, "form.stacked").await;
    assert_eq!(
        path(&browser).await,
        "/console",
        "{}",
        browser.text("main").await
    );
    assert_eq!(
        menu(&browser).await,
        [
            "Today",
            "Calendar",
            "My departures",
            "Bookings",
            "Tours",
            "Promo codes",
            "Resources",
            "Messages",
            "Webhooks",
            "Reports",
            "Audit log",
            "Account"
        ]
    );
    browser.close().await;
}

fn totp(app: &TestApp, secret: &str) -> String {
    use berth::domain::auth::{base32_decode, totp_code, totp_step, TOTP_DIGITS};
    let secret = base32_decode(secret).expect("base32 secret");
    totp_code(&secret, totp_step(app.clock.now().timestamp()), TOTP_DIGITS)
}

async fn a_guide_sees_neither_the_menu_entry_nor_the_page_of_owners(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, _) = tour(&app, json!({})).await;
    app.add_user(&token, "guide@harbour.example", "guide").await;
    sign_in(&browser, &app.base, "guide@harbour.example", PASSWORD).await;
    assert_eq!(path(&browser).await, "/console");
    assert_eq!(
        menu(&browser).await,
        ["Today", "Calendar", "My departures", "Account"]
    );
    browser.goto(&format!("{}/console/team", app.base)).await;
    assert_eq!(path(&browser).await, "/console/team");
    assert!(
        browser
            .client
            .find(Locator::Css("table.team"))
            .await
            .is_err(),
        "the team is not shown to a guide"
    );
    browser.assert_accessible("console refusal page").await;
    // Over HTTP with the same session: a 403 page, not the team.
    let cookie = browser
        .client
        .get_named_cookie("berth_session")
        .await
        .expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()).as_deref(),
        Some("Strict")
    );
    let reply = app
        .client
        .get(format!("{}/console/team", app.base))
        .header("Cookie", format!("berth_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 403);
    let html = reply.text().await.unwrap();
    assert!(!html.contains("<table class=\"board team\">"), "{html}");
    let today = app
        .client
        .get(format!("{}/console", app.base))
        .header("Cookie", format!("berth_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(today.status(), 200);
    browser.close().await;
}

async fn a_console_form_posted_without_its_csrf_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _) = tour(&app, json!({})).await;
    app.add_user(&token, "owner@harbour.example", "owner").await;
    // The right password, posted without the token (and without the CSRF cookie): refused
    // before the password is looked at, so no session starts.
    let reply = app
        .client
        .post(format!("{}/console/sign-in", app.base))
        .form(&[("email", "owner@harbour.example"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 403);
    assert!(reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("berth_session=")));
    let sessions = app.query_i64("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(sessions, 0);
}

/// The console's part of the authorization matrix (tests/api/authz.rs lists its routes): every
/// page of the menu table (`berth::web::console::MENU`) × no session, a revoked session, and each
/// role of the owning and of another operator. Without a live session: to the sign-in page (303);
/// below the page's role: 403; at or above it: the page, showing only the caller's own
/// operator.
async fn every_console_page_serves_exactly_the_roles_its_menu_entry_names(backend: Backend) {
    use berth::domain::auth::Role;
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, _) = tour(&app, json!({})).await;
    let other = app.operator("Elsewhere Tours").await;
    let roles = [Role::Owner, Role::Admin, Role::Staff, Role::Guide];
    let mut sessions = Vec::new();
    for role in roles {
        let (own, _) = app
            .signed_in(
                &owner,
                &format!("{}@harbour.example", role.as_str()),
                role.as_str(),
            )
            .await;
        let (foreign, _) = app
            .signed_in(
                &other,
                &format!("{}@elsewhere.example", role.as_str()),
                role.as_str(),
            )
            .await;
        sessions.push((role, own, false));
        sessions.push((role, foreign, true));
    }
    let (revoked, _) = app.signed_in(&owner, "gone@harbour.example", "owner").await;
    app.post_as(&revoked, "/v1/auth/logout", json!({}))
        .await
        .expect(204);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str, session: Option<&str>| {
        let mut request = client.get(format!("{}{path}", app.base));
        if let Some(session) = session {
            request = request.header("Cookie", format!("berth_session={session}"));
        }
        async move { request.send().await.unwrap() }
    };
    let mut failures = Vec::new();
    assert!(berth::web::console::MENU.len() >= 2);
    for (path, _, least) in berth::web::console::MENU {
        for session in [None, Some(revoked.as_str())] {
            let reply = get(path, session).await;
            let location = reply
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            if reply.status() != 303 || location.as_deref() != Some("/console/sign-in") {
                failures.push(format!(
                    "{path} with {session:?}: {} {location:?}",
                    reply.status()
                ));
            }
        }
        for (role, session, foreign) in &sessions {
            let reply = get(path, Some(session)).await;
            let status = reply.status().as_u16();
            let html = reply.text().await.unwrap();
            let want = if role.at_least(least) { 200 } else { 403 };
            if status != want {
                failures.push(format!(
                    "{path} as {role:?} (foreign: {foreign}): {status}, want {want}"
                ));
            }
            let leak = ["@harbour.example", "Harbour cruise"];
            if *foreign && leak.iter().any(|marker| html.contains(marker)) {
                failures.push(format!(
                    "{path} as a foreign {role:?} shows the other operator"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A traveler books through the API; a guide with a 375 px screen opens the departure from the
/// Today board, finds the traveler by name and checks them in. The manifest downloads as CSV;
/// another operator's guide finds no such departure.
async fn a_guide_on_a_phone_finds_a_traveler_and_checks_them_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({"cutoff_minutes": 5})).await;
    app.add_user(&token, "guide@harbour.example", "guide").await;
    let departure = app.departure(&token, &tour, 10, 2).await;
    let mut references = Vec::new();
    for name in ["Grace Hopper", "Alan Turing"] {
        references
            .push(super::booked_for(&app, &departure, (name, "traveler@example.com"), 2).await);
    }

    browser
        .client
        .set_window_size(375, 800)
        .await
        .expect("phone width");
    sign_in(&browser, &app.base, "guide@harbour.example", PASSWORD).await;
    browser
        .client
        .find(Locator::Css(&format!(
            "tr[data-departure=\"{departure}\"] a"
        )))
        .await
        .expect("the departure on the board")
        .click()
        .await
        .unwrap();
    eventually(
        "the departure page",
        std::time::Duration::from_secs(10),
        || async {
            (path(&browser).await == format!("/console/departures/{departure}")).then_some(())
        },
    )
    .await;
    assert!(browser
        .text(".departure-load")
        .await
        .starts_with("4 of 10 seats taken, 0 checked in"));
    browser.fill("#q", "hopper").await;
    submit(&browser, "form.search").await;
    let listed = browser
        .client
        .find_all(Locator::Css(".traveler"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "only the matching traveler");
    assert_eq!(browser.text(".traveler .name").await, "Grace Hopper");
    browser.assert_accessible("console manifest").await;
    let overflow = browser
        .run("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await;
    assert_eq!(overflow, json!(0), "the manifest fits 375 px");
    submit(&browser, ".traveler form").await;
    assert_eq!(
        browser.text(".notice").await,
        format!("{} is checked in.", references[0])
    );
    // The search is kept, and the traveler now shows as checked in.
    assert_eq!(
        browser
            .client
            .find(Locator::Css("#q"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("hopper")
    );
    assert_eq!(browser.text(".traveler .state").await, "checked in");
    assert!(browser
        .text(".departure-load")
        .await
        .ends_with("2 checked in"));
    browser
        .screenshots(&format!("console-check-in-{}", backend_name(backend)))
        .await;
    let booking = app
        .get_as(&token, &format!("/v1/bookings/{}", references[0]))
        .await;
    assert_eq!(booking.body["status"], "checked_in");
    let other = app
        .get_as(&token, &format!("/v1/bookings/{}", references[1]))
        .await;
    assert_eq!(other.body["status"], "confirmed");

    // The CSV, with the same session; another operator's guide finds nothing.
    let session = browser
        .client
        .get_named_cookie("berth_session")
        .await
        .unwrap()
        .value()
        .to_owned();
    let csv = app
        .client
        .get(format!(
            "{}/console/departures/{departure}/manifest.csv",
            app.base
        ))
        .header("Cookie", format!("berth_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("reference,status,seats"), "{csv}");
    assert!(
        csv.contains("Alan Turing") && csv.contains("checked_in"),
        "{csv}"
    );
    let elsewhere = app.operator("Elsewhere Tours").await;
    let (foreign, _) = app
        .signed_in(&elsewhere, "guide@elsewhere.example", "guide")
        .await;
    for path in [
        format!("/console/departures/{departure}"),
        format!("/console/departures/{departure}/manifest.csv"),
    ] {
        let reply = app
            .client
            .get(format!("{}{path}", app.base))
            .header("Cookie", format!("berth_session={foreign}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 404, "{path}");
        assert!(!reply.text().await.unwrap().contains("Grace Hopper"));
    }
    browser.close().await;
}

/// A manifest longer than a page (500): the page links to the next, the totals count every
/// page, a search looks through all of them, and a check-in on the second page comes back to it.
async fn a_guide_pages_through_a_long_manifest_and_checks_in_on_the_second_page(backend: Backend) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({"cutoff_minutes": 5}),
        &[("guide@harbour.example", "guide")],
    )
    .await
    else {
        return;
    };
    let departure = app.departure(&token, &tour, 1000, 2).await;
    let reference =
        super::booked_for(&app, &departure, ("Grace Hopper", "grace@example.com"), 2).await;
    // 520 more, by SQL: confirmed, one seat each, made at the same instant as hers.
    crate::operator::copies_of_booking(&app, &reference, 520).await;
    sign_in(&browser, &app.base, "guide@harbour.example", PASSWORD).await;
    let page = format!("{}/console/departures/{departure}", app.base);
    browser.client.goto(&page).await.unwrap();
    let travelers = || async {
        browser
            .client
            .find_all(Locator::Css(".traveler"))
            .await
            .unwrap()
            .len()
    };
    assert_eq!(travelers().await, 500, "a page of 500");
    assert!(browser
        .text(".departure-load")
        .await
        .starts_with("522 of 1000 seats taken, 0 checked in"));
    // The last of them is on the second page (same instant: by id, hers the highest).
    browser.fill("#q", &reference).await;
    submit(&browser, "form.search").await;
    assert_eq!(travelers().await, 1, "the search covers every page");
    browser.client.goto(&page).await.unwrap();
    browser
        .client
        .find(Locator::Css("a.next-page"))
        .await
        .expect("a link to the next page")
        .click()
        .await
        .unwrap();
    eventually(
        "the second page",
        std::time::Duration::from_secs(10),
        || async { (travelers().await == 21).then_some(()) },
    )
    .await;
    assert!(
        browser
            .client
            .find_all(Locator::Css("a.next-page"))
            .await
            .unwrap()
            .is_empty(),
        "the last page links nowhere"
    );
    assert!(browser
        .text(".departure-load")
        .await
        .starts_with("522 of 1000 seats taken"));
    submit(
        &browser,
        &format!(".traveler[data-reference=\"{reference}\"] form"),
    )
    .await;
    assert_eq!(
        browser.text(".notice").await,
        format!("{reference} is checked in.")
    );
    assert_eq!(travelers().await, 21, "back on the second page");
    assert!(browser
        .text(".departure-load")
        .await
        .ends_with("2 checked in"));
    // A booking of another departure, its reference slipped into the form, is not checked in
    // from this page.
    let elsewhere = app.departure(&token, &tour, 10, 3).await;
    let foreign = super::booked_for(&app, &elsewhere, ("Alan Turing", "alan@example.com"), 1).await;
    browser
        .run(&format!(
            "document.querySelector('.traveler form input[name=reference]').value = '{foreign}'; return null;"
        ))
        .await;
    submit(&browser, ".traveler form").await;
    let booking = app.get_as(&token, &format!("/v1/bookings/{foreign}")).await;
    assert_eq!(booking.body["status"], "confirmed", "not on this manifest");
    browser.close().await;
}

/// An admin changes a departure's capacity (refused below the seats taken, with the reason and
/// the value typed kept), then cancels it, seeing first how many bookings and travelers it
/// affects and what goes back; the refunds then reach the fake Stripe. Staff get neither form.
async fn an_admin_changes_capacity_and_cancels_a_departure_seeing_the_refunds_first(
    backend: Backend,
) {
    use crate::support::fake_stripe::{succeeded, FakeStripe};
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, tour) = tour(&app, json!({"cutoff_minutes": 5})).await;
    app.add_user(&token, "admin@harbour.example", "admin").await;
    app.add_user(&token, "staff@harbour.example", "staff").await;
    let departure = app.departure(&token, &tour, 10, 3).await;
    for n in 0..2 {
        let hold = app
            .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
            .await;
        hold.expect(201);
        let reference = hold.str("reference");
        let intent = stripe.intent_for(&reference).expect("an intent");
        app.stripe_event(&succeeded(&format!("evt_console_{n}"), &intent))
            .await
            .expect(200);
    }
    let page = format!("{}/console/departures/{departure}", app.base);

    // Staff see the manifest, without the admin's forms, and cannot post them.
    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    browser.goto(&page).await;
    assert!(browser
        .client
        .find(Locator::Css("form.capacity"))
        .await
        .is_err());
    assert!(browser
        .client
        .find(Locator::Css("a.cancel-departure"))
        .await
        .is_err());
    browser.goto(&format!("{page}/cancel")).await;
    assert!(browser.client.find(Locator::Css(".preview")).await.is_err());
    browser.goto(&page).await;
    submit(&browser, "form.sign-out").await;

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser.goto(&page).await;
    browser.fill("#capacity", "1").await;
    submit(&browser, "form.capacity").await;
    assert_eq!(
        browser.text("#capacity-problem").await,
        "2 seats are taken: the capacity cannot be lower."
    );
    let capacity = browser
        .client
        .find(Locator::Css("#capacity"))
        .await
        .unwrap();
    assert_eq!(capacity.prop("value").await.unwrap().as_deref(), Some("1"));
    assert_eq!(
        capacity.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    browser.assert_accessible("console capacity refused").await;
    assert_eq!(
        app.get(&format!("/v1/departures/{departure}")).await.body["capacity"],
        10
    );
    browser.fill("#capacity", "6").await;
    submit(&browser, "form.capacity").await;
    assert_eq!(browser.text(".notice").await, "Capacity changed.");
    assert_eq!(
        app.get(&format!("/v1/departures/{departure}")).await.body["capacity"],
        6
    );

    browser
        .client
        .find(Locator::Css("a.cancel-departure"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(
        "the cancellation preview",
        std::time::Duration::from_secs(10),
        || async { (path(&browser).await.ends_with("/cancel")).then_some(()) },
    )
    .await;
    assert_eq!(
        browser.text(".preview .bookings").await,
        "2 bookings are cancelled"
    );
    assert_eq!(
        browser.text(".preview .travelers").await,
        "2 travelers are told"
    );
    assert_eq!(
        browser.text(".preview .refund").await,
        "€70.00 goes back to travelers"
    );
    browser
        .assert_accessible("console cancellation preview")
        .await;
    browser
        .screenshots(&format!("console-cancel-{}", backend_name(backend)))
        .await;
    assert!(
        stripe.refunds().is_empty(),
        "nothing refunded before the confirmation"
    );
    submit(&browser, "form.stacked").await;
    assert!(browser
        .text(".notice")
        .await
        .starts_with("The departure is cancelled"));
    assert_eq!(
        app.get(&format!("/v1/departures/{departure}")).await.body["status"],
        "cancelled"
    );
    berth::workers::refunds::run_once(&app.store, &app.payments, app.clock.now())
        .await
        .expect("refunds sent");
    let refunded: i64 = stripe
        .refunds()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(refunded, 7000, "what the preview said");
    browser.close().await;
}

/// The issue's first console scenario: an admin creates a tour (a price typed wrong first: the
/// form comes back with it kept and marked), then a weekly schedule previewed before saving, and
/// finds its departures on the calendar, each opening its manifest. Staff see tours but not the
/// forms.
async fn an_admin_creates_a_tour_and_a_weekly_schedule_and_sees_its_departures_on_the_calendar(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, _) = tour(&app, json!({})).await;
    app.add_user(&token, "admin@harbour.example", "admin").await;
    app.add_user(&token, "staff@harbour.example", "staff").await;
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser.goto(&format!("{}/console/tours", app.base)).await;
    browser.click_and_wait("a[href='/console/tours/new']").await;
    browser.fill("#f-name", "Sunset <sail>").await;
    browser.fill("#f-timezone", ZONE.name()).await;
    browser.fill("#f-currency", "EUR").await;
    browser.fill("#f-duration_minutes", "90").await;
    browser.fill("#f-units-0-code", "adult").await;
    browser.fill("#f-units-0-label", "Adult").await;
    browser.fill("#f-units-0-price", "25.505").await;
    browser.fill("#f-policy-0-hours_before", "24").await;
    browser.fill("#f-policy-0-refund_percent", "100").await;
    submit(&browser, "form.tour-form").await;
    assert_eq!(path(&browser).await, "/console/tours");
    let price = browser
        .client
        .find(Locator::Css("#f-units-0-price"))
        .await
        .unwrap();
    assert_eq!(
        price.prop("value").await.unwrap().as_deref(),
        Some("25.505")
    );
    assert_eq!(
        price.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(browser
        .text("#f-units-0-price-problem")
        .await
        .contains("at most 2 decimals"));
    let name = browser.client.find(Locator::Css("#f-name")).await.unwrap();
    assert_eq!(
        name.prop("value").await.unwrap().as_deref(),
        Some("Sunset <sail>"),
        "the rest of the form is kept"
    );
    browser.assert_accessible("console tour form refused").await;
    browser.fill("#f-units-0-price", "25.50").await;
    browser.fill("#f-min_participants", "4").await;
    browser.fill("#f-decision_hours", "36").await;
    submit(&browser, "form.tour-form").await;
    assert_eq!(browser.text(".notice").await, "Tour created.");
    assert_eq!(browser.text("h1").await, "Sunset <sail>", "shown as text");
    let tour_path = path(&browser).await;
    let tour_id = tour_path.trim_start_matches("/console/tours/").to_owned();
    let api = app
        .get_as(&token, &format!("/v1/tours/{tour_id}"))
        .await
        .body;
    assert_eq!(api["units"][0]["price"], 2550, "minor units");
    assert_eq!(api["cancellation_policy"][0]["refund_percent"], 100);
    assert_eq!(
        (
            api["min_participants"].clone(),
            api["decision_hours"].clone()
        ),
        (json!(4), json!(36))
    );

    // A weekly schedule on Mondays and Thursdays, previewed, then saved.
    browser
        .click_and_wait(&format!("a[href='/console/tours/{tour_id}/schedules/new']"))
        .await;
    for day in ["MO", "TH"] {
        browser
            .client
            .find(Locator::Css(&format!("input[name=days][value={day}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    browser.fill("#f-times", "10:00, 16:30").await;
    browser.fill("#f-capacity", "12").await;
    browser
        .click_and_wait("button[name=action][value=preview]")
        .await;
    let rows = browser
        .client
        .find_all(Locator::Css("tr.preview-departure"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 20, "the next 20 departures");
    let first_date = rows[0]
        .find(Locator::Css("td"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first_date = first_date.rsplit(' ').next().unwrap().to_owned();
    let first = chrono::NaiveDate::parse_from_str(&first_date, "%Y-%m-%d").unwrap();
    assert!(first >= super::local_today(&app));
    assert!(
        ["Mon", "Thu"].contains(&first.format("%a").to_string().as_str()),
        "{first}"
    );
    browser.assert_accessible("console schedule preview").await;
    browser
        .screenshots(&format!("console-schedule-{}", backend_name(backend)))
        .await;
    assert!(
        app.get_as(&token, &format!("/v1/tours/{tour_id}/schedules"))
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty(),
        "a preview saves nothing"
    );
    // The same form posted twice at once, as a double click sends it: one schedule. Then the
    // browser's own click of the same form replays the first answer.
    let cookies = browser.client.get_all_cookies().await.unwrap();
    let cookie_header = cookies
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ");
    let form = browser
        .run("return new URLSearchParams(new FormData(document.querySelector('form.schedule-form'))).toString() + '&action=save'")
        .await;
    let post = || {
        app.client
            .post(format!("{}/console/tours/{tour_id}/schedules", app.base))
            .header("Cookie", &cookie_header)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.as_str().unwrap().to_owned())
            .send()
    };
    let (one, two) = tokio::join!(post(), post());
    for reply in [one, two] {
        let status = reply.unwrap().status();
        assert!(status == 200 || status.is_redirection(), "{status}");
    }
    browser
        .click_and_wait("button[name=action][value=save]")
        .await;
    assert_eq!(
        browser.text(".notice").await,
        "Schedule saved; its departures are on sale."
    );
    let schedules = app
        .get_as(&token, &format!("/v1/tours/{tour_id}/schedules"))
        .await
        .body;
    assert_eq!(schedules.as_array().unwrap().len(), 1);
    assert_eq!(schedules[0]["capacity"], 12);

    // A traveler books the first departure; the admin then moves the schedule's times: the
    // booked departure is kept, and the page says so.
    let first_departure = app
        .get(&format!(
            "/v1/tours/{tour_id}/availability?from={first}&to={first}"
        ))
        .await
        .body["departures"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.hold(&first_departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    browser.click_and_wait("a.edit-schedule").await;
    let times = browser.client.find(Locator::Css("#f-times")).await.unwrap();
    assert_eq!(
        times.prop("value").await.unwrap().as_deref(),
        Some("10:00, 16:30"),
        "the builder shows the saved schedule"
    );
    browser.fill("#f-times", "11:00").await;
    browser
        .click_and_wait("button[name=action][value=save]")
        .await;
    assert_eq!(
        browser.text(".notice").await,
        "Schedule changed. 1 departure with travelers does not match it and was kept: see the calendar."
    );
    let departure = app.get(&format!("/v1/departures/{first_departure}")).await;
    departure.expect(200);
    assert_eq!(departure.body["status"], "open");

    // The calendar of the first departure's month lists every departure of the tour in it.
    let month = first.format("%Y-%m").to_string();
    browser
        .goto(&format!("{}/console/calendar?month={month}", app.base))
        .await;
    let links = browser
        .client
        .find_all(Locator::Css(".day-departures a"))
        .await
        .unwrap();
    let last_day = (first.with_day(1).unwrap() + Duration::days(40))
        .with_day(1)
        .unwrap()
        .pred_opt()
        .unwrap();
    let availability = app
        .get(&format!(
            "/v1/tours/{tour_id}/availability?from={}&to={last_day}",
            first.with_day(1).unwrap()
        ))
        .await
        .body;
    let in_month = availability["departures"].as_array().unwrap().len();
    assert!(in_month > 0);
    assert_eq!(links.len(), in_month, "{availability}");
    browser.assert_accessible("console calendar").await;
    // The week view of the first departure's week lists that week's departures, by day.
    let monday = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
    browser
        .goto(&format!("{}/console/calendar?week={first}", app.base))
        .await;
    let week_links = browser
        .client
        .find_all(Locator::Css(".week .day-departures a"))
        .await
        .unwrap();
    let in_week = app
        .get(&format!(
            "/v1/tours/{tour_id}/availability?from={monday}&to={}",
            monday + Duration::days(6)
        ))
        .await
        .body["departures"]
        .as_array()
        .unwrap()
        .len();
    assert!(in_week > 0);
    assert_eq!(week_links.len(), in_week);
    assert_eq!(browser.text("h1").await, format!("Week of {monday}"));
    browser.assert_accessible("console week").await;
    browser
        .goto(&format!("{}/console/calendar?month={month}", app.base))
        .await;
    browser.click_and_wait(".day-departures a").await;
    assert!(path(&browser).await.starts_with("/console/departures/"));
    assert_eq!(browser.text("h1").await, "Sunset <sail>");
    submit(&browser, "form.sign-out").await;

    // Staff see the tour but neither form.
    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    browser.goto(&format!("{}{tour_path}", app.base)).await;
    assert!(browser
        .client
        .find(Locator::Css("a[href$='/edit']"))
        .await
        .is_err());
    browser
        .goto(&format!(
            "{}/console/tours/{tour_id}/schedules/new",
            app.base
        ))
        .await;
    assert!(browser
        .client
        .find(Locator::Css("form.schedule-form"))
        .await
        .is_err());
    // Over HTTP with the staff session: the admins' pages answer 403, and the tour of another
    // operator 404.
    let cookies = browser.client.get_all_cookies().await.unwrap();
    let cookie_header = cookies
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ");
    let (_, other_tour) = tour(&app, json!({})).await;
    for (path, status) in [
        ("/console/tours/new".to_owned(), 403),
        (format!("/console/tours/{tour_id}/edit"), 403),
        (format!("/console/tours/{tour_id}/schedules/new"), 403),
        (format!("/console/tours/{tour_id}"), 200),
        (format!("/console/tours/{other_tour}"), 404),
    ] {
        let reply = app
            .client
            .get(format!("{}{path}", app.base))
            .header("Cookie", &cookie_header)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), status, "{path}");
    }
    browser.close().await;
}

/// A guide's own account: two-factor sign-in turned on from the page (a wrong first code is
/// refused, the QR code is there, the key in text gives the codes), recovery codes shown once,
/// the next sign-in asks for a code; a password change refused for a wrong current password,
/// then made.
async fn a_guide_turns_on_two_factor_from_the_qr_code_and_changes_their_password(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (token, _) = tour(&app, json!({})).await;
    app.add_user(&token, "guide@harbour.example", "guide").await;
    sign_in(&browser, &app.base, "guide@harbour.example", PASSWORD).await;
    browser.goto(&format!("{}/console/account", app.base)).await;
    assert_eq!(
        browser.text(".two-factor-state").await,
        "Two-factor sign-in is off."
    );
    submit(&browser, "form.two-factor-start").await;
    assert!(browser.client.find(Locator::Css(".qr svg")).await.is_ok());
    browser
        .assert_accessible("console two-factor enrolment")
        .await;
    browser.fill("#f-code", "000000").await;
    submit(&browser, "form.two-factor-confirm").await;
    assert!(browser
        .text(".form-problem")
        .await
        .contains("is not the current code"));
    submit(&browser, "form.two-factor-start").await;
    let secret = browser.text(".totp-secret").await;
    browser.fill("#f-code", &totp(&app, &secret)).await;
    submit(&browser, "form.two-factor-confirm").await;
    let codes = browser
        .client
        .find_all(Locator::Css(".recovery-codes li"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    browser.goto(&format!("{}/console/account", app.base)).await;
    assert!(
        browser
            .client
            .find(Locator::Css(".recovery-codes"))
            .await
            .is_err(),
        "shown once"
    );
    assert!(browser
        .text(".two-factor-state")
        .await
        .starts_with("Two-factor sign-in is on"));

    // The password: a wrong current one is refused beside its field; then changed.
    browser
        .fill("#f-current_password", "not my password at all")
        .await;
    browser
        .fill("#f-new_password", "a brand new harbour passphrase")
        .await;
    submit(&browser, "form.password-change").await;
    assert_eq!(
        browser
            .client
            .find(Locator::Css("#f-current_password"))
            .await
            .unwrap()
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    browser.fill("#f-current_password", PASSWORD).await;
    browser
        .fill("#f-new_password", "a brand new harbour passphrase")
        .await;
    submit(&browser, "form.password-change").await;
    assert!(browser
        .text(".notice")
        .await
        .starts_with("Password changed."));
    submit(&browser, "form.sign-out").await;

    // Signing in again takes the new password, then a code from the app.
    app.clock.advance(Duration::seconds(30));
    sign_in(
        &browser,
        &app.base,
        "guide@harbour.example",
        "a brand new harbour passphrase",
    )
    .await;
    assert_eq!(path(&browser).await, "/console/sign-in");
    browser.fill("#code", &totp(&app, &secret)).await;
    submit(&browser, "form.stacked").await;
    assert_eq!(path(&browser).await, "/console");
    browser.close().await;
}

/// A test app with an operator, its tour (`changes` applied), the console users named (email,
/// role), and a browser: (app, browser, owner's API token, tour). `None` when the backend or
/// Chromium is not there (and may be skipped).
async fn console_with(
    backend: Backend,
    changes: serde_json::Value,
    users: &[(&str, &str)],
) -> Option<(TestApp, Browser, String, String)> {
    let app = TestApp::spawn(backend).await?;
    let browser = Browser::start().await?;
    let (token, tour) = tour(&app, changes).await;
    for (email, role) in users {
        app.add_user(&token, email, role).await;
    }
    Some((app, browser, token, tour))
}

/// How many confirmation emails of `reference` were delivered.
fn confirmations_of(app: &TestApp, reference: &str) -> usize {
    std::fs::read_dir(app.files.path().join("mail"))
        .map(|dir| {
            dir.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .filter(|m| m.contains(&format!("Subject: Booking {reference} confirmed")))
                .count()
        })
        .unwrap_or(0)
}

async fn staff_find_a_booking_by_email_and_resend_its_confirmation_and_an_admin_refunds_part(
    backend: Backend,
) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({"cutoff_minutes": 5}),
        &[
            ("staff@harbour.example", "staff"),
            ("admin@harbour.example", "admin"),
        ],
    )
    .await
    else {
        return;
    };
    let departure = app.departure(&token, &tour, 10, 30).await;
    let mut references = Vec::new();
    for (name, email) in [
        ("Grace Hopper", "grace@navy.example"),
        ("Alan Turing", "alan@bletchley.example"),
    ] {
        references.push(super::booked_for(&app, &departure, (name, email), 2).await);
    }
    let grace = references[0].clone();
    // Checked in at the desk: paid on arrival, so there is money to refund.
    app.post_as(&token, &format!("/v1/bookings/{grace}/check-in"), json!({}))
        .await
        .expect(200);
    let dispatch =
        || berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now());
    dispatch().await.expect("dispatch");
    assert_eq!(confirmations_of(&app, &grace), 1);

    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Bookings".to_owned()));
    browser
        .goto(&format!("{}/console/bookings", app.base))
        .await;
    let rows = browser
        .client
        .find_all(Locator::Css("tr.booking-row"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "every booking, newest first");
    browser.fill("#f-q", "GRACE@navy").await;
    submit(&browser, "form.booking-search").await;
    let rows = browser
        .client
        .find_all(Locator::Css("tr.booking-row"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only the traveler whose email matches");
    assert_eq!(
        rows[0].attr("data-reference").await.unwrap().as_deref(),
        Some(grace.as_str())
    );
    browser.assert_accessible("console bookings").await;
    browser
        .screenshots(&format!("console-bookings-{}", backend_name(backend)))
        .await;
    browser
        .click_and_wait(&format!("tr[data-reference=\"{grace}\"] a"))
        .await;
    assert_eq!(path(&browser).await, format!("/console/bookings/{grace}"));
    assert_eq!(browser.text("h1").await, format!("Booking {grace}"));
    assert_eq!(browser.text(".booking-status").await, "checked in");
    assert!(browser.text(".paid").await.contains("€70.00"));
    let messages = browser.text("table.messages").await;
    assert!(messages.contains("booking_confirmed"), "{messages}");
    // Staff may not refund: no refund form.
    assert!(browser
        .client
        .find_all(Locator::Css("#refund-submit"))
        .await
        .unwrap()
        .is_empty());
    browser.assert_accessible("console booking").await;
    browser.click_and_wait("#resend-submit").await;
    assert!(browser
        .text("#notice-resent")
        .await
        .contains("on its way again"));
    dispatch().await.expect("dispatch");
    assert_eq!(confirmations_of(&app, &grace), 2, "sent again, once");
    assert!(browser
        .text("ol.history")
        .await
        .contains("booking.resend_confirmation"));

    // A bad filter: the form again, the field marked.
    browser
        .goto(&format!(
            "{}/console/bookings?q=grace&from=someday",
            app.base
        ))
        .await;
    let invalid = browser
        .run("return document.querySelector('#f-from').getAttribute('aria-invalid');")
        .await;
    assert_eq!(invalid, json!("true"));
    assert_eq!(
        browser
            .run("return document.querySelector('#f-q').value;")
            .await,
        json!("grace"),
        "what was typed is kept"
    );

    // An admin refunds part of it; too much is refused beside the field, the amount kept.
    submit(&browser, "form.sign-out").await;
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/bookings/{grace}", app.base))
        .await;
    browser.fill("#f-amount", "100").await;
    browser.click_and_wait("#refund-submit").await;
    assert!(browser
        .text("#f-amount-problem")
        .await
        .contains("refundable"));
    assert_eq!(
        browser
            .run("return document.querySelector('#f-amount').value;")
            .await,
        json!("100")
    );
    browser.fill("#f-amount", "15.00").await;
    browser.click_and_wait("#refund-submit").await;
    assert!(browser.text("#notice-refunded").await.contains("refund"));
    assert!(browser.text(".refunded").await.contains("€15.00"));
    let booking = app.get_as(&token, &format!("/v1/bookings/{grace}")).await;
    assert_eq!(booking.body["payment"]["refunded"], 1500);
    browser
        .screenshots(&format!("console-booking-{}", backend_name(backend)))
        .await;
    browser.close().await;
    app.assert_seat_invariant().await;
}

async fn an_admin_sees_an_undelivered_message_and_sends_it_again(backend: Backend) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({"cutoff_minutes": 5}),
        &[("admin@harbour.example", "admin")],
    )
    .await
    else {
        return;
    };
    let departure = app.departure(&token, &tour, 10, 30).await;
    let reference =
        super::booked_for(&app, &departure, ("Ada Lovelace", "ada@example.com"), 1).await;
    // The relay refused the confirmation for good (what the dispatcher records on a 5xx reply).
    app.execute_sql(
        "UPDATE outbox SET status = 'failed', attempts = 1, last_error = '550 mailbox unavailable' \
         WHERE kind = 'booking_confirmed'",
    )
    .await;

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Messages".to_owned()));
    assert_eq!(browser.text("#undelivered-link").await, "1");
    browser.click_and_wait("#undelivered-link").await;
    assert_eq!(path(&browser).await, "/console/messages");
    let row = browser.text("tr.message-row").await;
    assert!(row.contains(&reference), "{row}");
    assert!(row.contains("550 mailbox unavailable"), "{row}");
    assert!(row.contains("Failed"), "{row}");
    browser.assert_accessible("console messages").await;
    browser
        .screenshots(&format!("console-messages-{}", backend_name(backend)))
        .await;
    browser
        .click_and_wait("form.retry button[type=submit]")
        .await;
    assert!(browser
        .text("#notice-retried")
        .await
        .contains("queued again"));
    assert!(
        browser
            .client
            .find_all(Locator::Css("tr.message-row"))
            .await
            .unwrap()
            .is_empty(),
        "nothing undelivered left"
    );
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch");
    assert_eq!(confirmations_of(&app, &reference), 1, "sent on the retry");
    browser
        .goto(&format!("{}/console/messages?status=sent", app.base))
        .await;
    assert!(browser.text("tr.message-row").await.contains(&reference));
    browser.close().await;
}

async fn an_admin_reads_revenue_by_day_and_tour_with_the_load_factor_and_downloads_it(
    backend: Backend,
) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({"cutoff_minutes": 5}),
        &[("admin@harbour.example", "admin")],
    )
    .await
    else {
        return;
    };
    let departure = app.departure(&token, &tour, 10, 30).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    hold.expect(201);
    let reference = hold.str("reference");
    app.post_with_booking_token(
        &format!("/v1/bookings/{reference}/confirm"),
        &hold.str("access_token"),
    )
    .await
    .expect(200);
    // Paid at the desk (€70.00), then €15.00 handed back.
    app.post_as(
        &token,
        &format!("/v1/bookings/{reference}/check-in"),
        json!({}),
    )
    .await
    .expect(200);
    app.post_as(
        &token,
        &format!("/v1/bookings/{reference}/refunds"),
        json!({"amount": 1500}),
    )
    .await
    .expect(201);
    // A reseller sells one adult on account (€35.00, 20 % commission).
    let key = app
        .post_as(
            &token,
            "/v1/resellers",
            json!({"name": "Harbour OTA", "commission_percent": 20}),
        )
        .await
        .str("key");
    let starts: chrono::DateTime<chrono::Utc> = app
        .get(&format!("/v1/departures/{departure}"))
        .await
        .str("starts_at")
        .parse()
        .unwrap();
    let slot = starts
        .with_timezone(&ZONE)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let octo = |path: &str, body: serde_json::Value| {
        app.client
            .post(format!("{}/octo{path}", app.base))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let sold: serde_json::Value = octo(
        "/bookings",
        json!({"productId": tour, "optionId": "DEFAULT", "availabilityId": slot, "unitItems": [{"unitId": "adult"}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let uuid = sold["uuid"].as_str().expect("reserved").to_owned();
    let confirmed = octo(
        &format!("/bookings/{uuid}/confirm"),
        json!({"contact": {"fullName": "Ada"}}),
    )
    .await
    .unwrap();
    assert_eq!(confirmed.status().as_u16(), 200);
    let today = app.clock.now().date_naive();
    let to = today + Duration::days(3);

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Reports".to_owned()));
    browser
        .goto(&format!(
            "{}/console/reports?from={today}&to={to}",
            app.base
        ))
        .await;
    let totals = browser.text("tr.total-row").await;
    assert!(
        totals.contains("€70.00") && totals.contains("-€15.00") && totals.contains("€55.00"),
        "{totals}"
    );
    let bars = browser
        .run("return document.querySelectorAll('svg.chart rect').length;")
        .await;
    assert_eq!(bars, json!(4), "a bar per day of the range");
    let tip = browser
        .run("return document.querySelector('svg.chart rect title').textContent;")
        .await;
    assert_eq!(tip, json!(format!("{today}: €55.00")));
    let day = browser.text("tr.day-row").await;
    assert!(
        day.contains(&today.to_string()) && day.contains("€55.00"),
        "{day}"
    );
    let channels = browser.text("table.channels tbody").await;
    assert!(
        channels.contains("Direct") && channels.contains("€55.00"),
        "{channels}"
    );
    assert!(
        channels.contains("Harbour OTA")
            && channels.contains("€35.00")
            && channels.contains("€7.00")
            && channels.contains("€28.00"),
        "{channels}"
    );
    let load = browser.text("tr.tour-report-row .load").await;
    assert_eq!(
        load, "30 % (3 of 10 seats sold)",
        "the reseller's seat counts"
    );
    browser.assert_accessible("console reports").await;
    browser
        .screenshots(&format!("console-reports-{}", backend_name(backend)))
        .await;
    let csv = browser
        .run(&format!(
            "return fetch('/console/reports.csv?from={today}&to={to}&kind=tours').then(r => r.text());"
        ))
        .await;
    assert_eq!(
        csv,
        json!("tour,departures,seats_offered,seats_sold,load_percent,currency,payments,refunds,net\r\nHarbour cruise,1,10,3,30,EUR,70.00,-15.00,55.00\r\n")
    );
    // A bad date: the form again, the field marked.
    browser
        .goto(&format!("{}/console/reports?from=yesterday", app.base))
        .await;
    let invalid = browser
        .run("return document.querySelector('#f-from').getAttribute('aria-invalid');")
        .await;
    assert_eq!(invalid, json!("true"));
    browser.close().await;
}

/// Sets a `<select>` to `value` (WebDriver cannot type into one).
async fn select(browser: &Browser, css: &str, value: &str) {
    let script = format!("document.querySelector('{css}').value = '{value}'; return null;");
    browser.run(&script).await;
}

async fn an_owner_adds_a_user_changes_roles_and_makes_and_revokes_an_api_token(backend: Backend) {
    let Some((app, browser, token, _)) =
        console_with(backend, json!({}), &[("owner@harbour.example", "owner")]).await
    else {
        return;
    };
    sign_in(&browser, &app.base, "owner@harbour.example", PASSWORD).await;
    browser.goto(&format!("{}/console/team", app.base)).await;

    // A password below the policy: the form again, name and email kept, the password marked.
    browser.fill("#f-name", "Grace Hopper").await;
    browser.fill("#f-email", "grace@harbour.example").await;
    select(&browser, "#f-role", "guide").await;
    browser.fill("#f-password", "short").await;
    browser
        .click_and_wait("form.add-user button[type=submit]")
        .await;
    assert!(browser
        .text("#f-password-problem")
        .await
        .contains("12 characters"));
    assert_eq!(
        browser
            .run("return document.querySelector('#f-email').value;")
            .await,
        json!("grace@harbour.example")
    );
    assert_eq!(
        browser
            .run("return document.querySelector('#f-password').value;")
            .await,
        json!(""),
        "a password is never sent back"
    );
    browser
        .fill("#f-password", "a long enough first passphrase")
        .await;
    browser
        .click_and_wait("form.add-user button[type=submit]")
        .await;
    assert!(browser.text("#team-notice").await.contains("added"));
    let row = "tr.user[data-email=\"grace@harbour.example\"]";
    assert_eq!(
        browser
            .run(&format!(
                "return document.querySelector('{row} select').value;"
            ))
            .await,
        json!("guide")
    );

    // Promoted to staff; the API sees it.
    select(&browser, &format!("{row} select"), "staff").await;
    browser
        .click_and_wait(&format!("{row} form.user-role button"))
        .await;
    assert!(browser
        .text("#team-notice")
        .await
        .contains("role is changed"));
    let users = app.get_as(&token, "/v1/users").await;
    let grace = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "grace@harbour.example")
        .unwrap()
        .clone();
    assert_eq!(grace["role"], "staff");

    // The last owner cannot demote themself: the reason, nothing changed.
    let owner_row = "tr.user[data-email=\"owner@harbour.example\"]";
    select(&browser, &format!("{owner_row} select"), "guide").await;
    browser
        .click_and_wait(&format!("{owner_row} form.user-role button"))
        .await;
    assert!(browser.text("#team-problem").await.contains("last owner"));

    // Deactivated: signed out everywhere, shown as inactive.
    browser
        .click_and_wait(&format!("{row} form.user-deactivate button"))
        .await;
    assert!(browser.text("#team-notice").await.contains("deactivated"));
    assert!(
        browser.text(row).await.ends_with("no"),
        "{}",
        browser.text(row).await
    );
    browser.assert_accessible("console team").await;

    // An API token, shown once; it works until it is revoked.
    browser.fill("#f-label", "booking website").await;
    select(&browser, "#f-token-role", "staff").await;
    browser
        .click_and_wait("form.create-token button[type=submit]")
        .await;
    let made = browser.text("#new-token").await;
    assert!(made.starts_with("brt_"), "{made}");
    app.get_as(&made, "/v1/tours").await.expect(200);
    browser
        .screenshots(&format!("console-team-{}", backend_name(backend)))
        .await;
    browser.goto(&format!("{}/console/team", app.base)).await;
    assert!(
        !browser
            .run("return document.body.innerText;")
            .await
            .as_str()
            .unwrap()
            .contains(&made),
        "the token is never shown again"
    );
    browser
        .click_and_wait("tr.token-row[data-label=\"booking website\"] form.revoke-token button")
        .await;
    assert!(browser.text("#team-notice").await.contains("revoked"));
    app.get_as(&made, "/v1/tours").await.expect(401);
    app.get_as(&token, "/v1/tours").await.expect(200);
    browser.close().await;
}

async fn when_two_factor_is_required_a_user_without_it_is_led_to_turn_it_on(backend: Backend) {
    let Some((app, browser, _, _)) = console_with(
        backend,
        json!({}),
        &[
            ("owner@harbour.example", "owner"),
            ("guide@harbour.example", "guide"),
        ],
    )
    .await
    else {
        return;
    };
    // The owner requires a second factor from the Team page.
    sign_in(&browser, &app.base, "owner@harbour.example", PASSWORD).await;
    browser.goto(&format!("{}/console/team", app.base)).await;
    browser
        .run("document.querySelector('form.require-two-factor input[name=required]').checked = true; return null;")
        .await;
    browser
        .click_and_wait("form.require-two-factor button[type=submit]")
        .await;
    // The owner has no second factor either: every page leads to the Account page.
    assert_eq!(path(&browser).await, "/console/account");
    assert!(browser
        .text("#enrol-first")
        .await
        .contains("requires two-factor"));
    submit(&browser, "form.sign-out").await;

    // The guide signs in and cannot reach Today until the second factor is on.
    sign_in(&browser, &app.base, "guide@harbour.example", PASSWORD).await;
    browser.goto(&format!("{}/console", app.base)).await;
    assert_eq!(path(&browser).await, "/console/account");
    browser
        .assert_accessible("console account, enrolment required")
        .await;
    submit(&browser, "form.two-factor-start").await;
    let secret = browser.text(".totp-secret").await;
    browser.fill("#f-code", &totp(&app, &secret)).await;
    submit(&browser, "form.two-factor-confirm").await;
    browser.goto(&format!("{}/console", app.base)).await;
    assert_eq!(path(&browser).await, "/console", "the console is open now");
    assert_eq!(browser.text("h1").await, "Today");
    browser.close().await;
}

async fn an_owner_sets_the_sender_the_widget_sites_and_resellers_messages_and_reads_the_audit_log(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (id, token) = app.operator_with_id("Harbour Tours").await;
    let operator = berth::domain::ids::OperatorId::parse(&id).unwrap();
    berth::service::operators::allow_sender_domain(
        &app.store,
        app.clock.now(),
        &operator,
        "harbour.example",
    )
    .await
    .expect("approved");
    app.add_user(&token, "owner@harbour.example", "owner").await;
    sign_in(&browser, &app.base, "owner@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/settings", app.base))
        .await;
    assert!(browser.text("section").await.contains("harbour.example"));

    // A domain not approved: refused beside the field, what was typed kept.
    browser
        .fill("#f-mail_from", "bookings@elsewhere.example")
        .await;
    browser
        .click_and_wait("form.settings-sender button[type=submit]")
        .await;
    assert!(!browser.text("#f-mail_from-problem").await.is_empty());
    assert_eq!(
        browser
            .run("return document.querySelector('#f-mail_from').value;")
            .await,
        json!("bookings@elsewhere.example")
    );
    browser
        .fill("#f-mail_from", "bookings@harbour.example")
        .await;
    browser.fill("#f-reply_to", "desk@harbour.example").await;
    browser
        .click_and_wait("form.settings-sender button[type=submit]")
        .await;
    assert!(browser
        .text("#settings-notice")
        .await
        .contains("sender is saved"));
    let profile = app.get_as(&token, "/v1/operator").await;
    assert_eq!(profile.body["mail_from"], "bookings@harbour.example");
    assert_eq!(profile.body["reply_to"], "desk@harbour.example");

    // The widget's sites: a bad one refused, then two saved, one per line.
    browser.fill("#f-origins", "ftp://harbour.example").await;
    browser
        .click_and_wait("form.settings-origins button[type=submit]")
        .await;
    assert!(!browser.text("#f-origins-problem").await.is_empty());
    browser
        .fill(
            "#f-origins",
            "https://harbour-tours.example\nhttp://localhost:8080",
        )
        .await;
    browser
        .click_and_wait("form.settings-origins button[type=submit]")
        .await;
    assert!(browser
        .text("#settings-notice")
        .await
        .contains("sites are saved"));
    assert_eq!(
        browser
            .run("return document.querySelector('#f-origins').value;")
            .await,
        json!("http://localhost:8080\nhttps://harbour-tours.example"),
        "stored canonical, in order"
    );
    browser.assert_accessible("console settings").await;

    // Messages to resellers' travellers: on request until the owner says otherwise.
    assert_eq!(profile.body["reseller_messages"], "on_request");
    browser
        .run("document.querySelector('#f-reseller-messages').value = 'always';")
        .await;
    browser
        .click_and_wait("form.settings-reseller-messages button[type=submit]")
        .await;
    assert!(browser
        .text("#settings-notice")
        .await
        .contains("resellers' travelers is saved"));
    assert_eq!(
        browser
            .run("return document.querySelector('#f-reseller-messages').value;")
            .await,
        json!("always")
    );
    let profile = app.get_as(&token, "/v1/operator").await;
    assert_eq!(profile.body["reseller_messages"], "always");

    browser.goto(&format!("{}/console/audit", app.base)).await;
    let log = browser.text("table.audit").await;
    assert!(
        log.contains("operator.embed_origins")
            && log.contains("operator.mail_identity")
            && log.contains("operator.reseller_messages"),
        "{log}"
    );
    browser.assert_accessible("console audit log").await;
    browser
        .screenshots(&format!("console-audit-{}", backend_name(backend)))
        .await;
    browser.close().await;
}

async fn an_owner_connects_its_own_stripe_account(backend: Backend) {
    let stripe = crate::support::fake_stripe::FakeStripe::start().await;
    let settings = [("stripe_api_base", json!(stripe.base.clone()))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (secret, publishable, webhook) = (
        "sk_test_51HarbourConsoleKey00004242",
        "pk_test_51HarbourConsoleKey00000000",
        "whsec_HarbourConsoleSecret0000",
    );
    stripe.add_account(secret);
    let (id, token) = app.operator_with_id("Harbour Tours").await;
    app.add_user(&token, "owner@harbour.example", "owner").await;
    sign_in(&browser, &app.base, "owner@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/settings", app.base))
        .await;
    assert_eq!(
        browser.run("return document.title;").await,
        json!("Settings · berth console")
    );
    assert!(browser
        .text("#payments-in-force")
        .await
        .contains("pay on arrival"));
    assert!(browser
        .text("#payments-webhook-url")
        .await
        .ends_with(&format!("/v1/webhooks/stripe/{id}")));

    // Keys of two modes: refused beside the field; the publishable key kept, the secrets not
    // written back into the page.
    browser.fill("#f-secret_key", secret).await;
    browser
        .fill("#f-publishable_key", "pk_live_51HarbourConsoleKey00000000")
        .await;
    browser.fill("#f-webhook_secret", webhook).await;
    browser
        .click_and_wait("form.settings-payments button[type=submit]")
        .await;
    assert!(browser
        .text("#f-publishable_key-problem")
        .await
        .contains("live-mode key"));
    assert!(browser
        .text("#f-secret_key-problem")
        .await
        .contains("type it again"));
    let values = browser
        .run("return ['#f-secret_key', '#f-publishable_key', '#f-webhook_secret'].map(s => document.querySelector(s).value);")
        .await;
    assert_eq!(
        values,
        json!(["", "pk_live_51HarbourConsoleKey00000000", ""])
    );
    browser
        .assert_accessible("console settings, payment keys refused")
        .await;

    browser.fill("#f-secret_key", secret).await;
    browser.fill("#f-publishable_key", publishable).await;
    browser.fill("#f-webhook_secret", webhook).await;
    browser
        .click_and_wait("form.settings-payments button[type=submit]")
        .await;
    assert!(browser
        .text("#settings-notice")
        .await
        .contains("Stripe keys are saved"));
    assert!(browser
        .text("#payments-in-force")
        .await
        .contains("your own Stripe account"));
    let keys = browser.text("dl.payment-keys").await;
    assert!(
        keys.contains("sk_test_…4242") && keys.contains(publishable),
        "{keys}"
    );
    let html = browser
        .run("return document.documentElement.outerHTML;")
        .await;
    let html = html.as_str().unwrap();
    assert!(!html.contains(secret) && !html.contains(webhook));
    let shown = app.get_as(&token, "/v1/operator/payments").await;
    assert_eq!(shown.body["in_force"], "operator");

    // The check: one call to Stripe with the operator's key.
    browser
        .click_and_wait("form[action='/console/settings/payments/check'] button")
        .await;
    assert!(browser.text("#payments-check").await.contains("acct_fake"));
    let call = stripe.requests().into_iter().last().unwrap();
    assert_eq!(
        (call.path.as_str(), call.authorization),
        ("GET /v1/account", format!("Bearer {secret}"))
    );
    browser
        .assert_accessible("console settings, payments")
        .await;
    browser
        .screenshots(&format!("console-payments-{}", backend_name(backend)))
        .await;

    browser
        .click_and_wait("form[action='/console/settings/payments/remove'] button")
        .await;
    assert!(browser
        .text("#settings-notice")
        .await
        .contains("no longer used"));
    assert!(browser
        .text("#payments-in-force")
        .await
        .contains("pay on arrival"));
    browser.close().await;
}

async fn an_owner_adds_a_reseller_for_one_tour_and_revokes_it(backend: Backend) {
    let Some((app, browser, token, first)) =
        console_with(backend, json!({}), &[("owner@harbour.example", "owner")]).await
    else {
        return;
    };
    let second = app.tour(&token, json!({"name": "Sunset cruise"})).await;
    sign_in(&browser, &app.base, "owner@harbour.example", PASSWORD).await;
    browser.goto(&format!("{}/console/team", app.base)).await;
    assert_eq!(
        browser.run("return document.title;").await,
        json!("Team · berth console")
    );
    let octo_products = |key: String| {
        let app = &app;
        async move {
            let reply = TestApp::reply(
                app.client
                    .get(format!("{}/octo/products", app.base))
                    .bearer_auth(key),
            )
            .await;
            reply.body.clone()
        }
    };

    // Refused: no name, a commission over 100; what was typed is kept, the fields marked.
    browser.fill("#f-reseller_commission_percent", "150").await;
    browser
        .click_and_wait("form.create-reseller button[type=submit]")
        .await;
    assert!(!browser.text("#f-reseller_name-problem").await.is_empty());
    assert!(!browser
        .text("#f-reseller_commission_percent-problem")
        .await
        .is_empty());
    assert_eq!(
        browser
            .run("return document.querySelector('#f-reseller_commission_percent').value;")
            .await,
        json!("150")
    );
    browser
        .assert_accessible("console team, reseller refused")
        .await;

    browser.fill("#f-reseller_name", "Harbour OTA").await;
    browser.fill("#f-reseller_commission_percent", "15").await;
    browser
        .run(&format!(
            "document.querySelector('input[name=reseller_tours][value=\"{second}\"]').click(); return null;"
        ))
        .await;
    browser
        .click_and_wait("form.create-reseller button[type=submit]")
        .await;
    let key = browser.text("#new-reseller-key").await;
    assert!(key.starts_with("brs_"), "{key}");
    let row = browser.text("tr.reseller-row").await;
    assert!(
        row.contains("Harbour OTA") && row.contains("15 %") && row.contains("1 tour"),
        "{row}"
    );
    let products = octo_products(key.clone()).await;
    let ids: Vec<&str> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str()], "only the ticked tour");
    assert!(!ids.contains(&first.as_str()));
    browser
        .assert_accessible("console team, reseller added")
        .await;
    browser
        .screenshots(&format!("console-resellers-{}", backend_name(backend)))
        .await;

    // The key is not shown again; revoked, it stops working.
    browser.goto(&format!("{}/console/team", app.base)).await;
    let html = browser
        .run("return document.documentElement.outerHTML;")
        .await;
    assert!(!html.as_str().unwrap().contains(&key));
    browser
        .click_and_wait("tr.reseller-row form.revoke-token button")
        .await;
    assert!(browser
        .text("#team-notice")
        .await
        .contains("no longer works"));
    assert_eq!(octo_products(key).await["error"], "FORBIDDEN");
    browser.close().await;
}

async fn an_admin_archives_a_tour_and_puts_it_back_on_sale(backend: Backend) {
    let Some((app, browser, _, tour)) =
        console_with(backend, json!({}), &[("admin@harbour.example", "admin")]).await
    else {
        return;
    };
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/tours/{tour}", app.base))
        .await;
    browser.click_and_wait("#archive-submit").await;
    assert!(browser.text("#tour-notice").await.contains("archived"));
    assert!(browser
        .text(".archived-state")
        .await
        .starts_with("Archived on"));
    app.get(&format!("/v1/tours/{tour}")).await.expect(404);
    browser.assert_accessible("console archived tour").await;
    browser.goto(&format!("{}/console/tours", app.base)).await;
    assert!(browser.text("table.tours").await.contains("archived"));
    browser
        .goto(&format!("{}/console/tours/{tour}", app.base))
        .await;
    browser.click_and_wait("#archive-submit").await;
    assert!(browser.text("#tour-notice").await.contains("on sale again"));
    app.get(&format!("/v1/tours/{tour}")).await.expect(200);
    browser.close().await;
}

async fn a_user_who_forgot_their_password_resets_it_with_the_emailed_code(backend: Backend) {
    let Some((app, browser, _, _)) = console_with(
        backend,
        json!({"cutoff_minutes": 5}),
        &[("guide@harbour.example", "guide")],
    )
    .await
    else {
        return;
    };
    browser.goto(&format!("{}/console/sign-in", app.base)).await;
    browser.click_and_wait("#forgot").await;
    browser.assert_accessible("console password reset").await;
    browser.fill("#email", "guide@harbour.example").await;
    submit(&browser, "form.reset-request").await;
    assert!(browser
        .text("#reset-sent")
        .await
        .contains("guide@harbour.example"));
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch");
    let mail = std::fs::read_dir(app.files.path().join("mail"))
        .expect("mail was written")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains("guide@harbour.example") && m.contains("Your code: "))
        .expect("the reset email");
    let at = mail.find("Your code: ").unwrap() + "Your code: ".len();
    let code: String = mail[at..].chars().take(8).collect();

    // A weak password: the form again, the code kept, the password marked.
    browser.fill("#f-code", &code).await;
    browser.fill("#f-new_password", "short").await;
    submit(&browser, "form.reset-confirm").await;
    assert!(!browser.text("#f-new_password-problem").await.is_empty());
    assert_eq!(
        browser
            .run("return document.querySelector('#f-code').value;")
            .await,
        json!(code)
    );
    browser
        .fill("#f-new_password", "a fresh harbour passphrase")
        .await;
    submit(&browser, "form.reset-confirm").await;
    assert_eq!(path(&browser).await, "/console/sign-in");
    assert!(browser
        .text("#reset-done")
        .await
        .contains("password is changed"));
    sign_in(
        &browser,
        &app.base,
        "guide@harbour.example",
        "a fresh harbour passphrase",
    )
    .await;
    assert_eq!(path(&browser).await, "/console");
    browser.close().await;
}

async fn staff_move_a_booking_to_another_departure_of_its_tour(backend: Backend) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({"cutoff_minutes": 5}),
        &[("staff@harbour.example", "staff")],
    )
    .await
    else {
        return;
    };
    let first = app.departure(&token, &tour, 10, 30).await;
    let later = app.departure(&token, &tour, 2, 54).await;
    let mut references = Vec::new();
    for _ in 0..2 {
        references
            .push(super::booked_for(&app, &first, ("Ada Lovelace", "ada@example.com"), 2).await);
    }
    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/bookings/{}", app.base, references[0]))
        .await;
    select(&browser, "#f-departure_id", &later).await;
    browser.click_and_wait("#move-submit").await;
    assert!(browser.text("#notice-moved").await.contains("moved"));
    assert_eq!(app.available(&first).await, 8);
    assert_eq!(app.available(&later).await, 0);
    let told = app
        .query_i64(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'booking_rescheduled' AND channel = 'email'",
        )
        .await;
    assert_eq!(told, 1, "the traveler is told");
    // The later departure is full now: the other booking has nowhere to go.
    browser
        .goto(&format!("{}/console/bookings/{}", app.base, references[1]))
        .await;
    assert!(browser
        .text("#no-targets")
        .await
        .contains("No other departure"));
    browser
        .assert_accessible("console booking, nowhere to move")
        .await;
    browser.close().await;
    app.assert_seat_invariant().await;
}

async fn an_admin_registers_a_webhook_sends_a_test_and_reads_the_attempt(backend: Backend) {
    let Some((app, browser, _token, _tour)) =
        console_with(backend, json!({}), &[("admin@harbour.example", "admin")]).await
    else {
        return;
    };
    let receiver = crate::support::webhook_receiver::WebhookReceiver::start(vec![]).await;
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Webhooks".to_owned()));
    browser
        .goto(&format!("{}/console/webhooks", app.base))
        .await;
    assert_eq!(path(&browser).await, "/console/webhooks");

    // Refused: no event chosen. The form comes back with what was typed and the field marked.
    browser.fill("#f-url", &receiver.url("/crm")).await;
    browser.fill("#f-description", "CRM").await;
    browser
        .click_and_wait("form.register-endpoint button[type=submit]")
        .await;
    assert_eq!(
        browser
            .run("return document.querySelector('#f-url').value")
            .await,
        json!(receiver.url("/crm"))
    );
    assert!(browser
        .text("#event-types-problem")
        .await
        .contains("at least one event type"));
    browser.assert_accessible("console webhooks, refused").await;

    browser
        .run("document.querySelector('input[value=\"booking.confirmed\"]').click()")
        .await;
    browser
        .click_and_wait("form.register-endpoint button[type=submit]")
        .await;
    let secret = browser.text("#secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(browser
        .text("section.webhook-endpoint")
        .await
        .contains(&receiver.url("/crm")));

    browser
        .click_and_wait("form.send-test button[type=submit]")
        .await;
    assert!(browser.text("#notice").await.contains("test event"));
    assert!(
        !browser.text("main").await.contains(&secret),
        "the secret is shown once"
    );
    berth::workers::webhooks::run_once(&app.store, &app.webhooks, app.clock.now())
        .await
        .expect("dispatch");
    let received = receiver.all();
    assert_eq!(received.len(), 1);
    crate::support::webhook_receiver::verify(&secret, &received[0], app.clock.now().timestamp())
        .expect("signed with the secret the page showed");
    browser
        .goto(&format!("{}/console/webhooks", app.base))
        .await;
    let attempt = browser.text("tr.attempt").await;
    assert!(
        attempt.contains("webhook.test") && attempt.contains("HTTP 200"),
        "{attempt}"
    );
    browser.assert_accessible("console webhooks").await;
    browser
        .screenshots(&format!("console-webhooks-{}", backend_name(backend)))
        .await;

    browser
        .click_and_wait("form.disable button[type=submit]")
        .await;
    assert!(browser.text(".state").await.contains("Disabled"));
    browser
        .click_and_wait("form.delete button[type=submit]")
        .await;
    assert!(browser.text("#notice").await.contains("deleted"));
    assert!(browser
        .text("main")
        .await
        .contains("No webhook endpoints yet"));
    browser.close().await;
}

async fn an_admin_assigns_a_guide_who_subscribes_to_a_calendar_of_their_departures(
    backend: Backend,
) {
    let Some((app, browser, token, tour)) =
        console_with(backend, json!({}), &[("admin@harbour.example", "admin")]).await
    else {
        return;
    };
    let ana = app.add_user(&token, "ana@harbour.example", "guide").await;
    let first = app.departure(&token, &tour, 10, 30).await;
    // 90 minutes long, an hour later: overlapping.
    let second = app.departure(&token, &tour, 10, 31).await;
    let ana_box = format!("form.guides-form input[value=\"{ana}\"]");

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/departures/{first}", app.base))
        .await;
    browser
        .run(&format!("document.querySelector('{ana_box}').click()"))
        .await;
    submit(&browser, "form.guides-form").await;
    assert!(browser.text(".notice").await.contains("Guides saved"));
    assert!(browser.text(".guides .leading").await.contains("Test User"));

    // The overlapping departure: refused, Ana still ticked, the reason beside the choices.
    browser
        .goto(&format!("{}/console/departures/{second}", app.base))
        .await;
    browser
        .run(&format!("document.querySelector('{ana_box}').click()"))
        .await;
    submit(&browser, "form.guides-form").await;
    assert!(browser
        .text("#guides-problem")
        .await
        .contains("already leads Harbour cruise"));
    assert_eq!(
        browser
            .run(&format!(
                "return document.querySelector('{ana_box}').checked"
            ))
            .await,
        json!(true)
    );
    browser.assert_accessible("console guides, refused").await;
    submit(&browser, "form.sign-out").await;

    // Ana, on her phone: her departures and a calendar address of her own.
    sign_in(&browser, &app.base, "ana@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"My departures".to_owned()));
    browser
        .goto(&format!("{}/console/my-departures", app.base))
        .await;
    let led = browser.text("ul.led-departures").await;
    assert!(led.contains("Harbour cruise"), "{led}");
    assert_eq!(
        browser
            .run("return document.querySelectorAll('li.led').length")
            .await,
        json!(1)
    );
    submit(&browser, "form.make-feed").await;
    assert!(browser
        .text("#f-label-problem")
        .await
        .contains("1 to 100 characters"));
    browser.fill("#f-label", "My phone").await;
    submit(&browser, "form.make-feed").await;
    let url = browser.text("#feed-url").await;
    assert!(url.contains("/feeds/guide.ics?key=bcf_"), "{url}");
    let feed_path = url[url.find("/feeds/").unwrap()..].to_owned();
    let webcal = browser
        .run("return document.querySelector('#new-feed a').getAttribute('href')")
        .await;
    assert!(
        webcal.as_str().unwrap().starts_with("webcal://"),
        "{webcal}"
    );
    let feed = app.get(&feed_path).await;
    feed.expect(200);
    assert!(feed.text.contains(&format!("UID:{first}.guide@berth")));
    assert!(!feed.text.contains(&second));
    browser.assert_accessible("console my departures").await;
    browser
        .screenshots(&format!("console-my-departures-{}", backend_name(backend)))
        .await;

    browser
        .goto(&format!("{}/console/my-departures", app.base))
        .await;
    assert!(
        !browser.text("main").await.contains("bcf_"),
        "the address is shown once"
    );
    submit(&browser, "form.revoke-feed").await;
    assert!(browser.text("#notice").await.contains("revoked"));
    app.get(&feed_path).await.expect(404);
    browser.close().await;
}

async fn an_admin_sees_a_departure_short_of_its_minimum_and_runs_it_anyway(backend: Backend) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({"min_participants": 3, "decision_hours": 24}),
        &[("admin@harbour.example", "admin")],
    )
    .await
    else {
        return;
    };
    let departure = app.departure(&token, &tour, 10, 30).await;
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/departures/{departure}", app.base))
        .await;
    let status = browser.text(".run-status").await;
    assert!(status.contains("Needs 3 more travelers to run"), "{status}");
    browser
        .assert_accessible("console departure short of its minimum")
        .await;
    submit(&browser, "form.guarantee").await;
    assert!(browser.text(".notice").await.contains("guaranteed"));
    assert_eq!(browser.text(".run-status").await, "Guaranteed to run.");
    let shown = app.get(&format!("/v1/departures/{departure}")).await;
    assert_eq!(shown.body["run_status"], "guaranteed");
    browser.close().await;
}

/// An admin sets a departure's own minimum on its page (refused first with numbers out of range:
/// the form comes back as typed, the fields marked, nothing saved), sees it marked as the
/// departure's own beside the tour's decision time, then goes back to the tour's minimum; a
/// staff member reads the minimum without the form.
async fn an_admin_sets_a_departures_own_minimum_and_clears_it_back_to_the_tours(backend: Backend) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({"min_participants": 3, "decision_hours": 24}),
        &[
            ("admin@harbour.example", "admin"),
            ("staff@harbour.example", "staff"),
        ],
    )
    .await
    else {
        return;
    };
    let departure = app.departure(&token, &tour, 10, 30).await;
    let api = format!("/v1/departures/{departure}");
    let page = format!("{}/console/departures/{departure}", app.base);
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser.goto(&page).await;
    assert_eq!(browser.text(".min-participants").await, "3 the tour's");
    assert_eq!(browser.text(".decision-hours").await, "24 the tour's");
    assert_eq!(value_of(&browser, "#f-min_participants").await, "");
    assert!(!present(&browser, "button.use-tour").await);

    browser.fill("#f-min_participants", "-1").await;
    browser.fill("#f-decision_hours", "1000").await;
    submit(&browser, "form.own-minimum").await;
    assert!(marked(&browser, "#f-min_participants").await);
    assert!(marked(&browser, "#f-decision_hours").await);
    assert_eq!(value_of(&browser, "#f-min_participants").await, "-1");
    assert_eq!(value_of(&browser, "#f-decision_hours").await, "1000");
    browser
        .assert_accessible("console departure minimum refused")
        .await;
    assert_eq!(app.get(&api).await.body["min_participants"], 3);

    browser.fill("#f-min_participants", "5").await;
    browser.fill("#f-decision_hours", "").await;
    submit(&browser, "form.own-minimum").await;
    assert_eq!(
        browser.text("#minimum-notice").await,
        "This departure's minimum is saved."
    );
    assert_eq!(
        browser.text(".min-participants").await,
        "5 this departure's own"
    );
    assert_eq!(browser.text(".decision-hours").await, "24 the tour's");
    assert!(browser
        .text(".run-status")
        .await
        .contains("Needs 5 more travelers to run"));
    assert_eq!(value_of(&browser, "#f-min_participants").await, "5");
    assert_eq!(app.get(&api).await.body["min_participants"], 5);

    browser.goto(&page).await;
    submit(&browser, "form.sign-out").await;
    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    browser.goto(&page).await;
    assert_eq!(
        browser.text(".min-participants").await,
        "5 this departure's own"
    );
    assert!(!present(&browser, "form.own-minimum").await);
    submit(&browser, "form.sign-out").await;

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser.goto(&page).await;
    browser.click_and_wait("button.use-tour").await;
    assert_eq!(
        browser.text("#minimum-notice").await,
        "This departure follows its tour's minimum again."
    );
    assert_eq!(browser.text(".min-participants").await, "3 the tour's");
    assert!(!present(&browser, "button.use-tour").await);
    assert_eq!(app.get(&api).await.body["min_participants"], 3);
    browser.close().await;
}

/// The value of the form field `css`.
async fn value_of(browser: &Browser, css: &str) -> serde_json::Value {
    browser
        .run(&format!("return document.querySelector('{css}').value;"))
        .await
}

/// An admin makes a code in the console (a refused form first, with what was typed kept and the
/// field marked; the window typed in the tours' zone and stored as the instant it means); a
/// traveler mistypes it on the booking form (the field marked, the input kept), then applies it
/// and sees the subtotal, the discount and the lower total, which the hold charges and its page
/// shows; the admin sees it in use, changes its most uses and switches it off; a staff member
/// reads the list without the forms.
async fn an_admin_makes_a_promo_code_a_traveler_books_with_it_and_staff_only_read_it(
    backend: Backend,
) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({}),
        &[
            ("admin@harbour.example", "admin"),
            ("staff@harbour.example", "staff"),
        ],
    )
    .await
    else {
        return;
    };
    let name = backend_name(backend);
    let day = super::local_today(&app) + Duration::days(3);
    let departure = super::departure_on(&app, &token, &tour, day, 10, 10).await;
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Promo codes".to_owned()));
    browser
        .goto(&format!("{}/console/promo-codes", app.base))
        .await;
    assert_eq!(path(&browser).await, "/console/promo-codes");
    assert!(browser.text("main").await.contains("No promo codes yet."));
    // The form starts in the tours' zone and currency.
    assert_eq!(value_of(&browser, "#f-zone").await, json!("Europe/Lisbon"));
    assert_eq!(value_of(&browser, "#f-currency").await, json!("EUR"));
    browser.assert_accessible("console promo codes").await;

    // Refused: a percent and an amount. The form again, as typed, the field marked.
    let until = day + Duration::days(30);
    browser.fill("#f-code", "summer10").await;
    browser.fill("#f-percent_off", "10").await;
    browser.fill("#f-amount_off", "5").await;
    select(&browser, "#f-valid_until", &format!("{until}T00:00")).await;
    browser.fill("#f-max_redemptions", "5").await;
    browser.fill("#f-max_per_customer", "1").await;
    submit(&browser, "form.create-promo").await;
    assert!(browser
        .text("#f-percent_off-problem")
        .await
        .contains("exactly one"));
    assert_eq!(
        browser
            .client
            .find(Locator::Css("#f-percent_off"))
            .await
            .unwrap()
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    assert_eq!(value_of(&browser, "#f-code").await, json!("summer10"));
    assert_eq!(value_of(&browser, "#f-amount_off").await, json!("5"));
    assert_eq!(
        value_of(&browser, "#f-valid_until").await,
        json!(format!("{until}T00:00"))
    );
    browser
        .assert_accessible("console promo codes, refused")
        .await;

    browser.fill("#f-amount_off", "").await;
    submit(&browser, "form.create-promo").await;
    assert!(browser.text("#notice").await.contains("created"));
    let row = "tr.promo-code[data-code=\"SUMMER10\"]";
    assert_eq!(browser.text(&format!("{row} .discount")).await, "10 % off");
    assert_eq!(browser.text(&format!("{row} .tour")).await, "All tours");
    let window = browser.text(&format!("{row} .window")).await;
    assert!(
        window.contains(&format!("until {until} 00:00")) && window.contains("Europe/Lisbon"),
        "{window}"
    );
    assert!(browser
        .text(&format!("{row} .limits"))
        .await
        .contains("at most 5 uses"));
    // Midnight in Lisbon, stored as the instant it is.
    let midnight = ZONE
        .from_local_datetime(&until.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap();
    let codes = app.get_as(&token, "/v1/promo-codes").await;
    codes.expect(200);
    let stored = codes.body[0]["valid_until"].as_str().unwrap().to_owned();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&stored).unwrap(),
        midnight,
        "{stored}"
    );
    assert_eq!(codes.body[0]["max_per_customer"], json!(1));

    // The same code again: refused on its field.
    browser.fill("#f-code", "Summer10").await;
    browser.fill("#f-percent_off", "5").await;
    submit(&browser, "form.create-promo").await;
    assert!(browser
        .text("#f-code-problem")
        .await
        .contains("already have a promo code SUMMER10"));
    browser
        .screenshots(&format!("console-promo-codes-{name}"))
        .await;

    // A traveler mistypes the code: the field marked, everything kept, nothing held.
    browser
        .goto(&format!("{}/book/{departure}", app.base))
        .await;
    browser.fill("#qty-adult", "2").await;
    browser.fill("#field-promo_code", "SUMMER1").await;
    browser.click_and_wait("button[value=quote]").await;
    assert!(browser
        .text("#promo_code-error")
        .await
        .contains("We do not know this promo code"));
    assert_eq!(
        value_of(&browser, "#field-promo_code").await,
        json!("SUMMER1")
    );
    assert_eq!(value_of(&browser, "#qty-adult").await, json!("2"));
    assert_eq!(
        browser
            .run("return document.querySelector('#field-promo_code').getAttribute('aria-describedby');")
            .await,
        json!("promo_code-error")
    );
    assert_eq!(browser.text(".quote-total").await, "€70.00");
    assert!(browser
        .client
        .find(Locator::Css(".quote-discount"))
        .await
        .is_err());
    browser
        .assert_accessible("booking form, promo code refused")
        .await;

    // Typed right (in any case): the subtotal, the discount with its code, the total to pay.
    browser.fill("#field-promo_code", "summer10").await;
    browser.click_and_wait("button[value=quote]").await;
    assert_eq!(browser.text(".quote-subtotal td").await, "€70.00");
    let discount = browser.text(".quote-discount").await;
    assert!(
        discount.contains("SUMMER10") && discount.contains("-€7.00"),
        "{discount}"
    );
    assert_eq!(browser.text(".quote-total").await, "€63.00");
    assert!(browser.text("button[value=hold]").await.contains("€63.00"));
    browser
        .assert_accessible("booking form with a promo code")
        .await;
    browser
        .screenshots(&format!("book-form-promo-{name}"))
        .await;
    browser.fill("#field-name", "Ada Lovelace").await;
    browser.fill("#field-email", "ada@example.com").await;
    browser.click_and_wait("button[value=hold]").await;
    let reference = browser.text(".reference").await;
    assert_eq!(browser.text(".booking-total").await, "€63.00");
    assert!(browser.text(".booking-discount").await.contains("SUMMER10"));
    assert_eq!(browser.text(".booking-subtotal td").await, "€70.00");
    let total = app
        .query_i64(&format!(
            "SELECT total FROM bookings WHERE reference = '{reference}'"
        ))
        .await;
    assert_eq!(total, 6300);
    browser
        .assert_accessible("hold page with a promo code")
        .await;

    // The admin sees it in use; a maximum the rules refuse is marked on the row, as typed.
    browser
        .goto(&format!("{}/console/promo-codes", app.base))
        .await;
    assert_eq!(
        browser.text(&format!("{row} .redemptions")).await,
        "1 in use"
    );
    let max = browser
        .run(&format!(
            "return document.querySelector('{} form.promo-limit input[name=max_redemptions]').id;",
            row.replace('"', "\\\"")
        ))
        .await;
    let max = format!("#{}", max.as_str().unwrap());
    browser.fill(&max, "0").await;
    submit(&browser, &format!("{row} form.promo-limit")).await;
    assert!(browser
        .text(&format!("{max}-problem"))
        .await
        .contains("between 1 and"));
    assert_eq!(value_of(&browser, &max).await, json!("0"));
    browser
        .assert_accessible("console promo codes, change refused")
        .await;
    browser.fill(&max, "3").await;
    submit(&browser, &format!("{row} form.promo-limit")).await;
    assert!(browser.text("#notice").await.contains("most uses"));
    assert!(browser
        .text(&format!("{row} .limits"))
        .await
        .contains("at most 3 uses"));

    // Switched off: travelers' new bookings are refused it.
    submit(&browser, &format!("{row} form.promo-switch")).await;
    assert!(browser.text("#notice").await.contains("switched off"));
    assert_eq!(
        browser.text(&format!("{row} .active .state")).await,
        "switched off"
    );
    let refused = app
        .post(
            "/v1/bookings",
            json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
                   "customer": {"name": "Bo", "email": "bo@example.com"}, "promo_code": "SUMMER10"}),
        )
        .await;
    refused.expect_error(422, "promo_code_unknown");

    // Staff read the codes, without the forms; a post of theirs is refused.
    submit(&browser, "form.sign-out").await;
    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Promo codes".to_owned()));
    browser
        .goto(&format!("{}/console/promo-codes", app.base))
        .await;
    assert_eq!(
        browser.text(&format!("{row} .redemptions")).await,
        "1 in use"
    );
    for form in [
        "form.create-promo",
        "form.promo-switch",
        "form.promo-limit",
        "form.promo-spend",
    ] {
        assert!(
            browser.client.find(Locator::Css(form)).await.is_err(),
            "{form} shown to staff"
        );
    }
    browser
        .assert_accessible("console promo codes, staff")
        .await;
    browser.close().await;
    app.assert_seat_invariant().await;
}

/// An admin gives a percent code a minimum spend on its row of the console (refused first without
/// a currency: the field marked, what was typed kept, nothing saved), then takes both away; the
/// API reads each change back.
async fn an_admin_gives_a_promo_code_a_minimum_spend_in_a_currency_and_takes_it_away(
    backend: Backend,
) {
    let Some((app, browser, token, _tour)) =
        console_with(backend, json!({}), &[("admin@harbour.example", "admin")]).await
    else {
        return;
    };
    let created = app
        .post_as(
            &token,
            "/v1/promo-codes",
            json!({"code": "SPRING", "percent_off": 10}),
        )
        .await;
    created.expect(201);
    let id = created.str("id");
    let api = format!("/v1/promo-codes/{id}");
    let row = r#"tr[data-code="SPRING"]"#;
    let (spend, currency) = (format!("#min_spend-{id}"), format!("#currency-{id}"));
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/promo-codes", app.base))
        .await;
    assert_eq!(
        browser.text(&format!("{row} .code-currency")).await,
        "any currency"
    );
    assert_eq!(value_of(&browser, &spend).await, json!(""));

    browser.fill(&spend, "50").await;
    submit(&browser, &format!("{row} form.promo-spend")).await;
    assert!(marked(&browser, &currency).await);
    assert!(browser
        .text(&format!("{currency}-problem"))
        .await
        .contains("required"));
    assert_eq!(value_of(&browser, &spend).await, json!("50"));
    browser
        .assert_accessible("console promo codes, minimum spend refused")
        .await;
    let stored = app.get_as(&token, &api).await;
    assert_eq!(
        (&stored.body["min_spend"], &stored.body["currency"]),
        (&json!(0), &json!(null))
    );

    browser.fill(&currency, "eur").await;
    submit(&browser, &format!("{row} form.promo-spend")).await;
    assert!(browser.text("#notice").await.contains("minimum spend"));
    assert_eq!(
        browser.text(&format!("{row} .code-currency")).await,
        "in EUR only"
    );
    assert_eq!(value_of(&browser, &spend).await, json!("50.00"));
    let stored = app.get_as(&token, &api).await;
    assert_eq!(
        (&stored.body["min_spend"], &stored.body["currency"]),
        (&json!(5000), &json!("EUR"))
    );

    browser.fill(&spend, "").await;
    browser.fill(&currency, "").await;
    submit(&browser, &format!("{row} form.promo-spend")).await;
    assert!(browser.text("#notice").await.contains("minimum spend"));
    assert_eq!(
        browser.text(&format!("{row} .code-currency")).await,
        "any currency"
    );
    let stored = app.get_as(&token, &api).await;
    assert_eq!(
        (&stored.body["min_spend"], &stored.body["currency"]),
        (&json!(0), &json!(null))
    );
    browser.close().await;
}

/// Whether `css` matches an element on the page.
async fn present(browser: &Browser, css: &str) -> bool {
    browser.client.find(Locator::Css(css)).await.is_ok()
}

/// Whether the field `css` is marked as refused.
async fn marked(browser: &Browser, css: &str) -> bool {
    let invalid = browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no field {css}: {e}"))
        .attr("aria-invalid")
        .await
        .unwrap();
    invalid.as_deref() == Some("true")
}

/// An admin adds weekend prices on the tour page (refused first with the dates the wrong way
/// round, then with a price of too many decimals: each time the form comes back as typed, the
/// field marked); a Saturday departure's page then shows the rule's price, a Wednesday's the
/// tour's; a rule made through the API is removed with its button; a staff member reads the
/// rules and the departure's prices without any of the forms.
async fn an_admin_adds_weekend_prices_on_the_tour_page_and_staff_only_read_them(backend: Backend) {
    let Some((app, browser, token, tour)) = console_with(
        backend,
        json!({}),
        &[
            ("admin@harbour.example", "admin"),
            ("staff@harbour.example", "staff"),
        ],
    )
    .await
    else {
        return;
    };
    let name = backend_name(backend);
    // The first Saturday at least two days ahead, and the Wednesday before it.
    let mut saturday = super::local_today(&app) + Duration::days(2);
    while saturday.weekday() != chrono::Weekday::Sat {
        saturday += Duration::days(1);
    }
    let wednesday = saturday + Duration::days(4);
    let weekend = super::departure_on(&app, &token, &tour, saturday, 10, 10).await;
    let midweek = super::departure_on(&app, &token, &tour, wednesday, 10, 10).await;
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/tours/{tour}", app.base))
        .await;
    assert!(browser
        .text("#seasonal-prices")
        .await
        .contains("No seasonal prices yet"));
    browser.assert_accessible("console tour, no rules").await;

    // Refused: the last date before the first. Everything comes back as typed.
    let (first, last) = (saturday, saturday + Duration::days(60));
    browser.fill("#f-name", "Weekends").await;
    select(&browser, "#f-from_date", &last.to_string()).await;
    select(&browser, "#f-to_date", &first.to_string()).await;
    for day in ["#f-day-sat", "#f-day-sun"] {
        browser
            .client
            .find(Locator::Css(day))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    browser.fill("#f-prices-adult", "45").await;
    browser.fill("#f-priority", "5").await;
    submit(&browser, "form.add-rule").await;
    assert!(browser
        .text("#f-to_date-problem")
        .await
        .contains("must not be before"));
    assert!(marked(&browser, "#f-to_date").await);
    assert_eq!(value_of(&browser, "#f-name").await, json!("Weekends"));
    assert_eq!(
        value_of(&browser, "#f-from_date").await,
        json!(last.to_string())
    );
    assert_eq!(value_of(&browser, "#f-prices-adult").await, json!("45"));
    assert_eq!(value_of(&browser, "#f-priority").await, json!("5"));
    let ticked = browser
        .run("return [...document.querySelectorAll('input[name=weekdays]:checked')].map(e => e.value);")
        .await;
    assert_eq!(ticked, json!(["sat", "sun"]));
    assert!(browser.text("#rule-problems").await.contains("Some fields"));
    browser
        .assert_accessible("console tour, rule refused")
        .await;

    // Refused: a child's price with three decimals, marked on its field.
    select(&browser, "#f-from_date", &first.to_string()).await;
    select(&browser, "#f-to_date", &last.to_string()).await;
    browser.fill("#f-prices-child", "12.345").await;
    submit(&browser, "form.add-rule").await;
    assert!(browser
        .text("#f-prices-child-problem")
        .await
        .contains("at most 2 decimals"));
    assert!(marked(&browser, "#f-prices-child").await);
    assert!(!marked(&browser, "#f-to_date").await);
    assert_eq!(value_of(&browser, "#f-prices-child").await, json!("12.345"));
    assert_eq!(
        value_of(&browser, "#f-to_date").await,
        json!(last.to_string())
    );

    // The child's price left empty: the rule prices adults only.
    browser.fill("#f-prices-child", "").await;
    submit(&browser, "form.add-rule").await;
    assert!(browser.text("#seasonal-notice").await.contains("added"));
    let row = "tr.price-rule[data-name=\"Weekends\"]";
    assert_eq!(browser.text(&format!("{row} .days")).await, "Sat, Sun");
    assert_eq!(
        browser.text(&format!("{row} .dates")).await,
        format!("{first} – {last}")
    );
    assert_eq!(
        browser.text(&format!("{row} .times")).await,
        "any start time"
    );
    assert_eq!(
        browser.text(&format!("{row} .priority")).await,
        "priority 5"
    );
    // Adults only: the child's price is left as it is.
    let adult = format!("{row} .rule-unit-prices li[data-unit=adult]");
    assert_eq!(browser.text(&format!("{adult} .price")).await, "€45.00");
    assert!(browser.text(&adult).await.starts_with("Adult:"));
    assert!(
        !present(
            &browser,
            &format!("{row} .rule-unit-prices li[data-unit=child]")
        )
        .await
    );
    let rules = app
        .get_as(&token, &format!("/v1/tours/{tour}/price-rules"))
        .await;
    rules.expect(200);
    assert_eq!(
        rules.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        rules.body
    );
    assert_eq!(rules.body[0]["prices"], json!({"adult": 4500}));
    assert_eq!(rules.body[0]["weekdays"], json!(["sat", "sun"]));

    // The Saturday departure sells adults at the rule's price, the Wednesday at the tour's.
    let sells = |unit: &str| format!("tr.sells-unit[data-unit={unit}] .price");
    browser
        .goto(&format!("{}/console/departures/{weekend}", app.base))
        .await;
    assert_eq!(browser.text(&sells("adult")).await, "€45.00");
    assert_eq!(browser.text(&sells("child")).await, "€15.00");
    assert!(!present(&browser, "tr.sells-unit[data-own]").await);
    browser
        .goto(&format!("{}/console/departures/{midweek}", app.base))
        .await;
    assert_eq!(browser.text(&sells("adult")).await, "€35.00");

    // A rule made through the API, removed with its button.
    app.post_as(
        &token,
        &format!("/v1/tours/{tour}/price-rules"),
        json!({"name": "Evenings", "from_time": "18:00", "prices": {"child": 1000}, "priority": -2}),
    )
    .await
    .expect(201);
    browser
        .goto(&format!("{}/console/tours/{tour}", app.base))
        .await;
    let evenings = "tr.price-rule[data-name=\"Evenings\"]";
    assert_eq!(
        browser.text(&format!("{evenings} .times")).await,
        "starting at 18:00 or later"
    );
    assert_eq!(
        browser.text(&format!("{evenings} .days")).await,
        "every day"
    );
    browser.assert_accessible("console tour, two rules").await;
    browser
        .screenshots(&format!("console-tour-seasonal-prices-{name}"))
        .await;
    submit(&browser, &format!("{evenings} form.remove-rule")).await;
    assert!(browser.text("#seasonal-notice").await.contains("removed"));
    assert!(!present(&browser, evenings).await);
    assert!(present(&browser, row).await);

    // Staff read the rules and the prices, without the forms.
    submit(&browser, "form.sign-out").await;
    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    browser
        .goto(&format!("{}/console/tours/{tour}", app.base))
        .await;
    assert_eq!(browser.text(&format!("{adult} .price")).await, "€45.00");
    for form in ["form.add-rule", "form.remove-rule"] {
        assert!(!present(&browser, form).await, "{form} shown to staff");
    }
    browser.assert_accessible("console tour, staff").await;
    browser
        .goto(&format!("{}/console/departures/{weekend}", app.base))
        .await;
    assert_eq!(browser.text(&sells("adult")).await, "€45.00");
    for form in ["form.own-prices", "form.clear-prices"] {
        assert!(!present(&browser, form).await, "{form} shown to staff");
    }
    browser.close().await;
}

/// An admin gives a departure its own adult price (a price the rules refuse first: marked, as
/// typed); the departure page marks it as its own, and the public booking page offers and
/// quotes it; cleared, the departure sells at the tour's price again.
async fn an_admin_sets_a_departures_own_price_and_the_booking_page_offers_it(backend: Backend) {
    let Some((app, browser, token, tour)) =
        console_with(backend, json!({}), &[("admin@harbour.example", "admin")]).await
    else {
        return;
    };
    let name = backend_name(backend);
    let day = super::local_today(&app) + Duration::days(3);
    let departure = super::departure_on(&app, &token, &tour, day, 10, 10).await;
    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    let page = format!("{}/console/departures/{departure}", app.base);
    browser.goto(&page).await;
    let sells = |unit: &str| format!("tr.sells-unit[data-unit={unit}] .price");
    assert_eq!(browser.text(&sells("adult")).await, "€35.00");
    assert_eq!(value_of(&browser, "#f-prices-adult").await, json!(""));
    assert!(!present(&browser, "form.clear-prices").await);

    // Refused: not an amount. Marked, as typed, nothing saved.
    browser.fill("#f-prices-adult", "-3").await;
    submit(&browser, "form.own-prices").await;
    assert!(browser
        .text("#f-prices-adult-problem")
        .await
        .contains("must be an amount"));
    assert!(marked(&browser, "#f-prices-adult").await);
    assert_eq!(value_of(&browser, "#f-prices-adult").await, json!("-3"));
    assert_eq!(browser.text(&sells("adult")).await, "€35.00");
    browser
        .assert_accessible("console departure, own prices refused")
        .await;

    browser.fill("#f-prices-adult", "29.50").await;
    submit(&browser, "form.own-prices").await;
    assert!(browser.text("#prices-notice").await.contains("saved"));
    assert_eq!(browser.text(&sells("adult")).await, "€29.50");
    assert!(
        present(
            &browser,
            "tr.sells-unit[data-unit=adult][data-own] .tag.own"
        )
        .await
    );
    assert_eq!(browser.text(&sells("child")).await, "€15.00");
    assert!(!present(&browser, "tr.sells-unit[data-unit=child][data-own]").await);
    assert_eq!(value_of(&browser, "#f-prices-adult").await, json!("29.50"));
    browser
        .assert_accessible("console departure with its own price")
        .await;
    browser
        .screenshots(&format!("console-departure-own-prices-{name}"))
        .await;

    // The booking page offers it, and quotes it.
    browser
        .goto(&format!("{}/book/{departure}", app.base))
        .await;
    assert_eq!(
        browser.text("label[for=qty-adult] .unit-price").await,
        "€29.50"
    );
    browser.fill("#qty-adult", "2").await;
    browser.click_and_wait("button[value=quote]").await;
    assert_eq!(browser.text(".quote-total").await, "€59.00");

    // Cleared: the tour's price again.
    browser.goto(&page).await;
    submit(&browser, "form.clear-prices").await;
    assert!(browser.text("#prices-notice").await.contains("again"));
    assert_eq!(browser.text(&sells("adult")).await, "€35.00");
    assert!(!present(&browser, "tr.sells-unit[data-own]").await);
    assert!(!present(&browser, "form.clear-prices").await);
    browser.close().await;
    app.assert_seat_invariant().await;
}

/// An admin creates a boat in the console (a refused form first, what was typed kept and the
/// field marked), assigns it to one tour and sees that tour's departure in the next seven days'
/// load, in the tour's local time; assigning it to a second tour whose departure overlaps with
/// more seats than the boat has is refused beside the choice, naming the clash, the choice kept;
/// so is a capacity below what is drawn; with a larger capacity both tours draw on it, and one
/// assignment is ended again. A staff member reads the page without any of the forms.
async fn an_admin_shares_a_boat_between_two_tours_and_staff_only_read_its_load(backend: Backend) {
    let Some((app, browser, token, harbour)) = console_with(
        backend,
        json!({}),
        &[
            ("admin@harbour.example", "admin"),
            ("staff@harbour.example", "staff"),
        ],
    )
    .await
    else {
        return;
    };
    let name = backend_name(backend);
    let sunset = app.tour(&token, json!({"name": "Sunset cruise"})).await;
    // 90-minute cruises half an hour apart, two days ahead: aboard together from 10:30.
    let day = super::local_today(&app) + Duration::days(2);
    let morning = super::departure_on(&app, &token, &harbour, day, 10, 10).await;
    let later = {
        let local = day.and_hms_opt(10, 30, 0).unwrap();
        let starts_at = ZONE.from_local_datetime(&local).earliest().unwrap();
        let reply = app
            .post_as(
                &token,
                &format!("/v1/tours/{sunset}/departures"),
                json!({"starts_at": starts_at.to_rfc3339(), "capacity": 10}),
            )
            .await;
        reply.expect(201);
        reply.str("id")
    };
    super::book(&app, &morning, 6).await;
    super::book(&app, &later, 5).await;

    sign_in(&browser, &app.base, "admin@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Resources".to_owned()));
    browser
        .goto(&format!("{}/console/resources", app.base))
        .await;
    assert_eq!(path(&browser).await, "/console/resources");
    assert!(browser.text("main").await.contains("No resources yet."));
    browser.assert_accessible("console resources").await;

    // Refused: a capacity that is not a number. The form again, as typed, the field marked.
    browser.fill("#f-name", "Boat Marlin").await;
    browser.fill("#f-capacity", "eight").await;
    select(&browser, "#f-draw", "seats").await;
    submit(&browser, "form.create-resource").await;
    assert!(browser
        .text("#f-capacity-problem")
        .await
        .contains("whole number"));
    assert!(marked(&browser, "#f-capacity").await);
    assert_eq!(value_of(&browser, "#f-name").await, json!("Boat Marlin"));
    assert_eq!(value_of(&browser, "#f-capacity").await, json!("eight"));
    browser
        .assert_accessible("console resources, create refused")
        .await;
    browser.fill("#f-capacity", "8").await;
    submit(&browser, "form.create-resource").await;
    assert!(browser.text("#notice").await.contains("created"));
    let listed = app.get_as(&token, "/v1/resources").await;
    listed.expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "created once");
    let boat = listed.body[0]["id"].as_str().unwrap().to_owned();
    let section = "section.resource[data-resource=\"Boat Marlin\"]";
    assert_eq!(
        browser.text(&format!("{section} .resource-capacity")).await,
        "8 seats"
    );
    assert!(browser
        .text(&format!("{section} .draw"))
        .await
        .contains("the seats held or booked on it"));
    assert!(browser
        .text(&format!("{section} .empty"))
        .await
        .contains("No tour draws on it yet."));

    // Assigned to the harbour cruise: its departure is in the load, in Lisbon time.
    select(&browser, &format!("#tour-{boat}"), &harbour).await;
    submit(&browser, &format!("{section} form.assign-resource")).await;
    assert!(browser.text("#notice").await.contains("assigned"));
    let assignment = browser.text(&format!("{section} li.assignment")).await;
    assert!(
        assignment.contains("Harbour cruise") && assignment.contains("every departure"),
        "{assignment}"
    );
    let row = format!("{section} tr.drawing[data-departure=\"{morning}\"]");
    let starts = browser.text(&format!("{row} .starts")).await;
    assert!(
        starts.contains(&format!("{day} 10:00")) && starts.contains("Europe/Lisbon"),
        "{starts}"
    );
    assert_eq!(browser.text(&format!("{row} .draws")).await, "6 seats");
    assert!(browser
        .text(&format!("{section} .peak"))
        .await
        .contains("6 of 8 seats"));

    // The sunset cruise too: 6 + 5 seats aboard at 10:30 is more than 8. Refused beside the
    // choice, naming both departures, the choice kept.
    select(&browser, &format!("#tour-{boat}"), &sunset).await;
    submit(&browser, &format!("{section} form.assign-resource")).await;
    let problem = browser.text(&format!("#tour-{boat}-problem")).await;
    for named in [
        "Boat Marlin",
        "Harbour cruise",
        "Sunset cruise",
        "10:00",
        "10:30",
    ] {
        assert!(problem.contains(named), "names {named}: {problem}");
    }
    assert!(marked(&browser, &format!("#tour-{boat}")).await);
    assert_eq!(
        value_of(&browser, &format!("#tour-{boat}")).await,
        json!(sunset)
    );
    assert_eq!(
        browser
            .run(&format!(
                "return document.querySelector('#tour-{boat}').getAttribute('aria-describedby');"
            ))
            .await,
        json!(format!("tour-{boat}-problem"))
    );
    browser
        .assert_accessible("console resources, assignment refused")
        .await;
    browser
        .screenshots(&format!("console-resources-refused-{name}"))
        .await;
    // Usable on a 360 px phone: nothing scrolls sideways.
    browser.client.set_window_size(360, 900).await.unwrap();
    let overflow = browser
        .run("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await;
    assert_eq!(
        overflow,
        json!(0),
        "the resources page scrolls sideways at 360 px"
    );
    browser.client.set_window_size(1280, 900).await.unwrap();

    // A capacity below the 6 seats drawn: refused beside the field, as typed.
    browser.fill(&format!("#capacity-{boat}"), "5").await;
    submit(&browser, &format!("{section} form.change-resource")).await;
    assert!(browser
        .text(&format!("#capacity-{boat}-problem"))
        .await
        .contains("Harbour cruise"));
    assert!(marked(&browser, &format!("#capacity-{boat}")).await);
    assert_eq!(
        value_of(&browser, &format!("#capacity-{boat}")).await,
        json!("5")
    );
    browser
        .assert_accessible("console resources, capacity refused")
        .await;
    // Room for both: 12 seats, and the sunset cruise aboard too.
    browser.fill(&format!("#capacity-{boat}"), "12").await;
    submit(&browser, &format!("{section} form.change-resource")).await;
    assert!(browser.text("#notice").await.contains("changed"));
    select(&browser, &format!("#tour-{boat}"), &sunset).await;
    submit(&browser, &format!("{section} form.assign-resource")).await;
    assert!(browser.text("#notice").await.contains("assigned"));
    assert!(browser
        .text(&format!("{section} .peak"))
        .await
        .contains("11 of 12 seats"));
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css(&format!("{section} li.assignment")))
            .await
            .unwrap()
            .len(),
        2
    );
    let later_row = format!("{section} tr.drawing[data-departure=\"{later}\"]");
    assert!(browser
        .text(&format!("{later_row} .starts"))
        .await
        .contains(&format!("{day} 10:30")));
    browser
        .screenshots(&format!("console-resources-{name}"))
        .await;

    // The sunset cruise's assignment ended: only the harbour cruise draws on the boat.
    submit(
        &browser,
        &format!("{section} li.assignment[data-tour=\"{sunset}\"] form.end-assignment"),
    )
    .await;
    assert!(browser.text("#notice").await.contains("ended"));
    let detail = app.get_as(&token, &format!("/v1/resources/{boat}")).await;
    detail.expect(200);
    assert_eq!(detail.body["capacity"], json!(12));
    let assigned = detail.body["assignments"].as_array().unwrap();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0]["tour_id"], json!(harbour));

    // Staff read the resource and its load, without the forms.
    submit(&browser, "form.sign-out").await;
    sign_in(&browser, &app.base, "staff@harbour.example", PASSWORD).await;
    assert!(menu(&browser).await.contains(&"Resources".to_owned()));
    browser
        .goto(&format!("{}/console/resources", app.base))
        .await;
    assert!(browser
        .text(&format!("{section} .peak"))
        .await
        .contains("6 of 12 seats"));
    for form in [
        "form.create-resource",
        "form.change-resource",
        "form.assign-resource",
        "form.end-assignment",
    ] {
        assert!(!present(&browser, form).await, "{form} shown to staff");
    }
    browser.assert_accessible("console resources, staff").await;
    browser.close().await;
    app.assert_seat_invariant().await;
}
