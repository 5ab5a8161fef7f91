//! Page tests (src/web). They live in the `api` test binary, mounted from tests/api/main.rs,
//! rather than in a second `[[test]]` target: each test binary links the whole crate, which
//! costs minutes on a 2-core machine, and these tests share `TestApp` and its fake servers.
//!
//! - `pages`: over plain HTTP: headers, CSRF, errors, languages, assets.
//! - `booking`: in headless Chromium: booking a departure, offline and with (fake) Stripe,
//!   and every failure a page with the input kept.
//! - `console`: in headless Chromium: the operator console, by role.
//! - `traveler`: in headless Chromium: what a traveler sees and can do, axe-clean, with
//!   screenshots.
//! - `manage`: the manage-booking page opened from the emailed link, in Chromium.
//! - `waitlist`: joining a sold-out departure's waiting line from its booking page, and the
//!   line on the console's departure page, in Chromium and over HTTP.
//! - `widget`: the booking pages framed by an operator's site, in Chromium and over HTTP.

mod booking;
mod browser;
mod console;
mod manage;
mod pages;
mod traveler;
mod waitlist;
mod widget;

use chrono::{NaiveDate, TimeZone};
use serde_json::{json, Value};

use crate::support::TestApp;

/// The zone every test tour runs in.
pub const ZONE: chrono_tz::Tz = chrono_tz::Europe::Lisbon;

/// Today in the tours' zone, by the test clock.
pub fn local_today(app: &TestApp) -> NaiveDate {
    app.clock.now().with_timezone(&ZONE).date_naive()
}

/// An operator and a tour made through the API (two units, a two-step cancellation policy,
/// sales closing two hours before departure): (operator token, tour id).
pub async fn tour(app: &TestApp, changes: Value) -> (String, String) {
    let token = app.operator("Harbour Tours").await;
    let mut body = json!({
        "name": "Harbour cruise",
        "description": "Ninety minutes around the bay.\nBring a jacket.",
        "meeting_point": "Pier 3",
        "cutoff_minutes": 120,
        "cancellation_policy": [
            {"hours_before": 72, "refund_percent": 100},
            {"hours_before": 24, "refund_percent": 50}
        ]
    });
    crate::support::merge(&mut body, changes);
    let tour = app.tour(&token, body).await;
    (token, tour)
}

/// A departure at `hour`:00 tour-local time on `date`: its id.
pub async fn departure_on(
    app: &TestApp,
    token: &str,
    tour: &str,
    date: NaiveDate,
    hour: u32,
    capacity: i64,
) -> String {
    let local = date.and_hms_opt(hour, 0, 0).expect("a valid time");
    let starts_at = ZONE
        .from_local_datetime(&local)
        .earliest()
        .expect("the hour exists in the zone")
        .to_rfc3339();
    let reply = app
        .post_as(
            token,
            &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": starts_at, "capacity": capacity}),
        )
        .await;
    reply.expect(201);
    reply.str("id")
}

/// Holds and confirms `seats` adult seats on a departure, as a traveler would through the API.
pub async fn book(app: &TestApp, departure: &str, seats: u32) -> crate::support::Reply {
    let hold = app
        .hold(departure, json!([{"unit": "adult", "quantity": seats}]))
        .await;
    hold.expect(201);
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", hold.str("reference")),
        &hold.str("access_token"),
    )
    .await
    .expect(200);
    hold
}

/// Holds `seats` adult seats for `name` <`email`> and confirms them through the API, as a
/// traveler paying on arrival would: the booking's reference.
pub async fn booked_for(
    app: &TestApp,
    departure: &str,
    (name, email): (&str, &str),
    seats: u32,
) -> String {
    let hold = app
        .post(
            "/v1/bookings",
            json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": seats}],
                   "customer": {"name": name, "email": email}}),
        )
        .await;
    hold.expect(201);
    let reference = hold.str("reference");
    app.post_with_booking_token(
        &format!("/v1/bookings/{reference}/confirm"),
        &hold.str("access_token"),
    )
    .await
    .expect(200);
    reference
}

/// The `value="…"` of the hidden input `name` in a page, unescaped.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    let value = &html[start..];
    value[..value.find('"').expect("closing quote")]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The `name=value` pairs a response sets as cookies.
pub fn set_cookies(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
        .collect()
}
