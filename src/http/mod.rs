//! Rocket only: routes, guards, response bodies and catchers. No SQL and no business rules.

// Rocket handlers take one argument per request guard; eight is the shape of a mutating
// operator endpoint (rate limit, path, auth, body, idempotency, store, clock, config).
#![allow(clippy::too_many_arguments)]

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{catchers, routes, Request, Response};

pub mod account;
pub mod aliases;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod calendar_feeds;
pub mod catalogue;
pub mod context;
pub mod cors;
pub mod guards;
pub mod guides;
pub mod health;
pub mod idempotency;
pub mod messages;
pub mod method_override;
pub mod metrics;
pub mod octo;
pub mod openapi;
pub mod operator;
pub mod operator_bookings;
pub mod payment_settings;
pub mod payments;
pub mod prices;
pub mod promo_codes;
pub mod rate_limit;
pub mod reports;
pub mod reschedule;
pub mod resellers;
pub mod resources;
pub mod responder;
pub mod responses;
pub mod schedules;
pub mod tokens;
pub mod users;
pub mod views;
pub mod waitlist;
pub mod webhook_endpoints;
pub mod webhooks;

/// Lists each handler once: `documented` ones are mounted and described in `/openapi.json`
/// (their `#[utoipa::path]`), `plumbing` ones (CORS preflight, the document itself) are only
/// mounted. Adding an endpoint is one line here (see docs/adding-an-endpoint.md).
macro_rules! api {
    (
        documented: [$($module:ident :: $handler:ident),* $(,)?],
        plumbing: [$($p_module:ident :: $p_handler:ident),* $(,)?] $(,)?
    ) => {
        /// Every API route, deprecated aliases aside.
        fn api_routes() -> Vec<rocket::Route> {
            routes![$($module::$handler,)* $($p_module::$p_handler),*]
        }

        /// The documented operations; `openapi::document` adds the info, tags and shared parts.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($module::$handler),*))]
        pub struct Operations;
    };
}

api! {
    documented: [
        health::health,
        health::ready,
        metrics::metrics,
        catalogue::get_tour,
        catalogue::availability,
        catalogue::get_departure,
        bookings::place_hold,
        bookings::get_booking,
        bookings::confirm,
        bookings::extend,
        bookings::cancel,
        reschedule::cancellation_quote,
        reschedule::reschedule,
        operator::create_tour,
        operator::list_tours,
        operator::update_tour,
        operator::archive_tour,
        operator::restore_tour,
        operator::create_schedule,
        operator::list_schedules,
        schedules::replace_schedule,
        calendar_feeds::create_feed,
        calendar_feeds::list_feeds,
        calendar_feeds::revoke_feed,
        calendar_feeds::feed,
        calendar_feeds::guide_feed,
        calendar_feeds::create_my_feed,
        calendar_feeds::list_my_feeds,
        calendar_feeds::revoke_my_feed,
        guides::set_guides,
        guides::list_guides,
        guides::my_assignments,
        webhook_endpoints::create_endpoint,
        webhook_endpoints::list_endpoints,
        webhook_endpoints::get_endpoint,
        webhook_endpoints::update_endpoint,
        webhook_endpoints::delete_endpoint,
        webhook_endpoints::rotate_secret,
        webhook_endpoints::test_endpoint,
        webhook_endpoints::replay,
        webhook_endpoints::list_attempts,
        webhook_endpoints::list_deliveries,
        prices::add_price_rule,
        prices::list_price_rules,
        prices::remove_price_rule,
        prices::set_departure_prices,
        operator::create_departure,
        operator::update_departure,
        operator::cancel_departure,
        operator::guarantee_departure,
        operator::manifest,
        operator::check_in,
        operator_bookings::search_bookings,
        operator_bookings::resend_confirmation,
        account::get_operator,
        account::update_operator,
        account::set_embed_origins,
        account::set_reseller_messages,
        reports::revenue,
        promo_codes::create_promo_code,
        promo_codes::list_promo_codes,
        promo_codes::get_promo_code,
        promo_codes::update_promo_code,
        resources::create_resource,
        resources::list_resources,
        resources::get_resource,
        resources::update_resource,
        resources::assign_resource,
        resources::unassign_resource,
        resources::resource_load,
        waitlist::join_waitlist,
        waitlist::list_waitlist,
        waitlist::remove_from_waitlist,
        messages::list_messages,
        messages::retry_message,
        webhooks::twilio_status,
        payments::stripe_webhook,
        payments::operator_stripe_webhook,
        payment_settings::get_payment_settings,
        payment_settings::set_payment_keys,
        payment_settings::remove_payment_keys,
        payment_settings::check_payment_keys,
        payments::create_refund,
        resellers::create_reseller,
        resellers::list_resellers,
        resellers::revoke_reseller,
        tokens::create_token,
        tokens::list_tokens,
        tokens::revoke_token,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::verify_second_factor,
        auth::setup_two_factor,
        auth::confirm_two_factor,
        auth::require_two_factor,
        auth::request_password_reset,
        auth::confirm_password_reset,
        auth::change_password,
        users::create_user,
        users::list_users,
        users::update_user,
        users::deactivate_user,
        users::reset_two_factor,
        audit::list_audit,
    ],
    plumbing: [cors::preflight, openapi::openapi_json, openapi::docs],
}

/// Mounts every route and JSON catcher, and adds the security headers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("HTTP", |rocket| async {
        let mut routes = api_routes();
        let aliases = aliases::routes(&routes);
        routes.extend(aliases);
        rocket
            .mount("/", routes)
            .mount("/", octo::routes())
            .register(octo::BASE, octo::catchers())
            .attach(octo::TrailingSlash)
            .register(
                "/",
                catchers![
                    responder::bad_request,
                    responder::unauthorized,
                    responder::forbidden,
                    responder::not_found,
                    responder::payload_too_large,
                    responder::too_many_requests,
                    responder::unprocessable,
                    responder::internal,
                    responder::other,
                ],
            )
            .attach(method_override::NoMethodOverride)
            .attach(SecurityHeaders)
            .attach(metrics::RequestMetrics)
    })
}

/// Headers every response carries; the request id ties a client report to the server log.
struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let request_id = request.local_cache(guards::RequestId::generate);
        response.set_header(Header::new("X-Request-Id", request_id.0.clone()));
        response.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        response.set_header(Header::new("X-Frame-Options", "DENY"));
        response.set_header(Header::new("Referrer-Policy", "no-referrer"));
        response.set_header(Header::new("Cache-Control", "no-store"));
        response.set_header(Header::new(
            "Content-Security-Policy",
            "frame-ancestors 'none'",
        ));
        response.remove_header("Server");
        if let Some(config) = request.rocket().state::<crate::config::AppConfig>() {
            if config.hsts() {
                response.set_header(Header::new(
                    "Strict-Transport-Security",
                    "max-age=31536000; includeSubDomains",
                ));
            }
        }
        cors::apply(request, response);
    }
}
