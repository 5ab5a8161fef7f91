//! `GET /openapi.json` (OpenAPI 3.1, generated from the handlers' annotations and the route list
//! in `http/mod.rs`, so it cannot drift)
//! and `GET /docs`, a self-contained page that renders it (no CDN, works offline).

use super::rate_limit::RateLimited;
use rocket::get;
use rocket::http::ContentType;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "berth",
        description = "Seat reservation engine for tours and scheduled activities that never overbooks. \
            Money is integer minor units with an ISO 4217 currency; times are RFC 3339 (UTC, plus the tour's local time).",
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "catalogue", description = "Public: tours, departures, availability"),
        (name = "bookings", description = "Travelers: hold, confirm, cancel, reschedule"),
        (name = "operator", description = "Operators (bearer token): tours, schedules, departures, manifests"),
        (name = "auth", description = "Operator users: sign in, refresh, sign out"),
        (name = "users", description = "An operator's users and their roles (owners only)"),
        (name = "health", description = "Liveness, readiness, metrics"),
        (name = "webhooks", description = "Provider callbacks, verified by signature"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("brt_… (API token) or bra_… (access token from /v1/auth/login)")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "booking_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Booking-Token",
                "The access_token returned when the booking was created",
            ))),
        );
        components.add_security_scheme(
            "twilio_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Twilio-Signature",
                "Twilio's request signature, verified with the account's auth token",
            ))),
        );
        components.add_security_scheme(
            "stripe_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Stripe-Signature",
                "Stripe's webhook signature, verified with the endpoint's signing secret",
            ))),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as JSON text.
pub fn document() -> String {
    let mut openapi = ApiDoc::openapi();
    openapi.merge(super::Operations::openapi());
    super::responses::StandardResponses.modify(&mut openapi);
    super::aliases::document(&mut openapi);
    openapi.to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}

#[get("/openapi.json")]
pub fn openapi_json(_rate: RateLimited) -> (ContentType, String) {
    (ContentType::JSON, document())
}

#[get("/docs")]
pub fn docs(_rate: RateLimited) -> (ContentType, &'static str) {
    (ContentType::HTML, include_str!("docs.html"))
}
