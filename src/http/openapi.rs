//! `GET /openapi.json` (OpenAPI 3.1, generated from the handlers' annotations so it cannot drift)
//! and `GET /docs`, a self-contained page that renders it (no CDN, works offline).

use super::rate_limit::RateLimited;
use rocket::get;
use rocket::http::ContentType;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    account, audit, auth, bookings, catalogue, health, messages, metrics, operator, payments,
    reports, reschedule, tokens, users, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "berth",
        description = "Seat reservation engine for tours and scheduled activities that never overbooks. \
            Money is integer minor units with an ISO 4217 currency; times are RFC 3339 (UTC, plus the tour's local time).",
    ),
    paths(
        health::health, health::ready, metrics::metrics,
        catalogue::get_tour, catalogue::availability, catalogue::get_departure,
        bookings::place_hold, bookings::get_booking, bookings::confirm, bookings::cancel,
        reschedule::cancellation_quote, reschedule::reschedule,
        operator::create_tour, operator::list_tours, operator::update_tour,
        operator::create_schedule, operator::list_schedules, operator::create_departure,
        operator::update_departure, operator::cancel_departure, operator::manifest, operator::check_in,
        tokens::create_token, tokens::list_tokens, tokens::revoke_token,
        messages::list_messages, messages::retry_message, webhooks::twilio_status,
        account::get_operator, account::update_operator, reports::revenue,
        auth::login, auth::refresh, auth::logout, auth::verify_second_factor,
        auth::setup_two_factor, auth::confirm_two_factor, auth::require_two_factor,
        auth::request_password_reset, auth::confirm_password_reset, auth::change_password,
        users::create_user, users::list_users, users::update_user, users::deactivate_user,
        users::reset_two_factor,
        audit::list_audit,
        payments::stripe_webhook, payments::create_refund,
    ),
    modifiers(&SecuritySchemes, &JsonBodies),
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

/// Every operation with a JSON body (webhooks aside: providers sign what they send) answers 415
/// to a body sent as another content type (see `responder::JsonBody`).
struct JsonBodies;

impl Modify for JsonBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let refused = ResponseBuilder::new()
            .description("The body was not sent as `Content-Type: application/json` (`unsupported_media_type`)")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.starts_with("/v1/webhooks/") {
                continue;
            }
            for operation in [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let takes_json = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json"));
                if takes_json {
                    operation
                        .responses
                        .responses
                        .insert("415".to_owned(), refused.clone().into());
                }
            }
        }
    }
}

/// The OpenAPI document as JSON text.
pub fn document() -> String {
    let mut openapi = ApiDoc::openapi();
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
