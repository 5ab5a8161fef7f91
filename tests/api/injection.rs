//! SQL injection strings in every free-text field are stored and returned verbatim, on both
//! backends, and the schema is intact afterwards.

use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, PASSWORD};

on_both_backends!(injection_strings_in_every_text_field_come_back_verbatim);

/// Classic payloads for both dialects: quote breaking, stacked statements, comments, MySQL
/// backslash escapes and wildcards, and non-ASCII text.
const PAYLOADS: [&str; 6] = [
    "Robert'); DROP TABLE tours;--",
    "x' OR '1'='1",
    "\"; DELETE FROM bookings WHERE \"\"=\"",
    "\\'; SELECT SLEEP(5); -- \\",
    "100% _wild_ /* comment */ #hash",
    "Zürich ⛴ 'quoted' \"double\"",
];

async fn injection_strings_in_every_text_field_come_back_verbatim(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (i, payload) in PAYLOADS.iter().enumerate() {
        // Operator name (stored by `berth operator create`, shown by GET /v1/operator).
        let (_, owner) = berth::service::operators::create_operator(
            &app.store,
            app.clock.now(),
            payload,
            &format!("ops{i}@injection.example"),
        )
        .await
        .expect("operator created");
        let profile = app.get_as(&owner, "/v1/operator").await;
        profile.expect(200);
        assert_eq!(profile.body["name"], *payload);

        // Tour name, description, meeting point and unit label.
        let tour = app
            .tour(
                &owner,
                json!({
                    "name": payload, "description": payload, "meeting_point": payload,
                    "units": [{"code": "adult", "label": payload, "price": 1000}]
                }),
            )
            .await;
        let public = app.get(&format!("/v1/tours/{tour}")).await;
        public.expect(200);
        for field in ["name", "description", "meeting_point"] {
            assert_eq!(public.body[field], *payload, "{field}");
        }
        assert_eq!(public.body["units"][0]["label"], *payload);
        let patched = app
            .patch_as(
                &owner,
                &format!("/v1/tours/{tour}"),
                json!({"name": format!("{payload}!")}),
            )
            .await;
        patched.expect(200);
        assert_eq!(patched.body["name"], format!("{payload}!"));

        // Customer name on a booking.
        let departure = app.departure(&owner, &tour, 5, 48).await;
        let hold = app
            .post(
                "/v1/bookings",
                json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
                       "customer": {"name": payload, "email": "ada@example.com"}}),
            )
            .await;
        hold.expect(201);
        let booking = app
            .get_with_booking_token(
                &format!("/v1/bookings/{}", hold.str("reference")),
                &hold.str("access_token"),
            )
            .await;
        booking.expect(200);
        assert_eq!(booking.body["customer"]["name"], *payload);
        let manifest = app
            .get_as(&owner, &format!("/v1/departures/{departure}/manifest"))
            .await;
        assert_eq!(manifest.body["bookings"][0]["customer"]["name"], *payload);

        // API token label.
        app.post_as(&owner, "/v1/tokens", json!({"label": payload}))
            .await
            .expect(201);
        let tokens = app.get_as(&owner, "/v1/tokens").await;
        assert_eq!(tokens.body[1]["label"], *payload);

        // User name.
        let email = format!("user{i}@injection.example");
        let created = app
            .post_as(
                &owner,
                "/v1/users",
                json!({"email": email, "name": payload, "role": "staff", "password": PASSWORD}),
            )
            .await;
        created.expect(201);
        assert_eq!(created.body["name"], *payload);
        let users = app.get_as(&owner, "/v1/users").await;
        assert_eq!(users.body[0]["name"], *payload);
        // Login with an injection string as the email or password: refused, nothing else.
        app.login(payload, payload)
            .await
            .expect_error(401, "unauthorized");
        app.login(&email, payload)
            .await
            .expect_error(401, "unauthorized");
    }
    // Every table the payloads named is still there and whole.
    let (_, token) = berth::service::operators::create_operator(
        &app.store,
        app.clock.now(),
        "After",
        "after@injection.example",
    )
    .await
    .expect("operator created");
    app.tour(&token, json!({})).await;
    app.assert_seat_invariant().await;
}
