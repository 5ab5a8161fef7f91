//! The authorization matrix: every mounted route × every kind of caller, each cell asserted.
//!
//! Callers: anonymous; each role of the owning operator; each role of another operator; a
//! revoked API token; an expired access token. The route list comes from the mounted routes, so
//! a route without a row here fails the test, and so does a row whose route is gone.
//!
//! Adding a route is one line in [`rows`]: method, path as mounted, who may call it, which object
//! its path names, and a body that succeeds for an allowed caller.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::fake_stripe::{succeeded, FakeStripe};
use crate::support::{Backend, Reply, TestApp, PASSWORD};

on_both_backends!(
    every_operator_endpoint_checks_role_and_tenant,
    money_goes_back_to_a_traveler_only_on_an_admins_word,
);

const ROLES: [&str; 4] = ["owner", "admin", "staff", "guide"];

fn rank(role: &str) -> usize {
    ROLES.len() - ROLES.iter().position(|r| *r == role).expect("a role")
}

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
enum Access {
    /// No operator credentials (health, catalogue, booking creation, sign-in, webhooks): not
    /// part of the matrix, listed so that the list of routes stays complete.
    Public,
    /// Operator users and tokens of this role and above. `Tenant`: the path names no object, so
    /// another operator's caller acts on its own data (2xx). `Object`: the path names one of the
    /// owning operator's objects, so another operator gets 404.
    Role(&'static str, Scope),
    /// A traveler's own booking (booking token) or staff and above of its operator; without
    /// credentials the booking is "not found".
    Booking,
    /// Signed-in users of any role (a session, not an API token).
    Session,
    /// A console page or form (`/console…`): signed in by cookie, not by bearer token, so not
    /// part of this matrix; `tests/web/console.rs` walks every console page × anonymous, each
    /// role of the owning and of another operator, from the console's own menu table.
    Console,
    /// The OCTO API (`/octo`): a reseller's key, not operator credentials, so not part of this
    /// matrix; `tests/api/octo.rs` checks keys, revocation and each reseller's reach.
    Reseller,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scope {
    Tenant,
    Object,
}

use Access::{Booking, Console, Public, Reseller, Role as R, Session};
use Scope::{Object, Tenant};

/// What a route's path parameter names; `Fresh…` are made anew for each cell because a
/// successful call uses them up.
#[derive(Clone, Copy, Debug)]
enum Target {
    None,
    Tour,
    Departure,
    Booking,
    FreshDeparture,
    FreshHeldBooking,
    FreshConfirmedBooking,
    /// Checked in, so paid on arrival: something to refund.
    FreshCheckedInBooking,
    FailedMessage,
    FreshToken,
    /// A new reseller of the owning operator (a revocation uses it up).
    FreshReseller,
    FreshUser,
    /// A new schedule of the shared tour (each change takes its departures off sale).
    FreshSchedule,
    /// A new calendar feed of the shared tour (a revocation uses it up).
    FreshCalendarFeed,
    /// The owning operator's webhook endpoint.
    WebhookEndpoint,
    /// A new webhook endpoint (a deletion uses it up).
    FreshWebhookEndpoint,
    /// A new promo code of the owning operator.
    FreshPromoCode,
    /// A new price rule of the shared tour, as `<tour id>|<rule id>`.
    FreshPriceRule,
    /// A new shared resource of the owning operator.
    FreshResource,
    /// A new resource assigned to a new tour, as `<resource id>|<assignment id>`.
    FreshResourceAssignment,
    /// A traveler waiting on a new sold-out departure, as `<departure id>|<entry id>`.
    FreshWaitlistEntry,
}

#[derive(Clone)]
struct Row {
    method: &'static str,
    path: &'static str,
    access: Access,
    target: Target,
    /// JSON with `$FUTURE` (a start time in two days) and `$UNIQUE` replaced per request.
    body: &'static str,
    /// What an allowed caller gets when it is not a 2xx (e.g. 422 for a deliberately wrong
    /// code): still proof that authorization let the request through to the service.
    allowed: Option<u16>,
}

const fn row(
    method: &'static str,
    path: &'static str,
    access: Access,
    target: Target,
    body: &'static str,
) -> Row {
    Row {
        method,
        path,
        access,
        target,
        body,
        allowed: None,
    }
}

impl Row {
    const fn answering(self, status: u16) -> Row {
        Row {
            allowed: Some(status),
            ..self
        }
    }
}

const TOUR: &str = r#"{"name": "Matrix walk", "timezone": "Europe/Lisbon", "duration_minutes": 60, "currency": "EUR", "units": [{"code": "adult", "label": "Adult", "price": 2000}]}"#;
const SCHEDULE: &str = r#"{"rrule": "FREQ=DAILY;COUNT=2", "start_date": "$START_DATE", "times": ["09:00"], "capacity": 4}"#;
const USER: &str = r#"{"email": "$UNIQUE@matrix.example", "name": "New", "role": "guide", "password": "correct horse battery staple"}"#;

/// One row per mounted route, one line each (hence no rustfmt here). The payments work adds its
/// rows here (e.g. refunds: admin; the Stripe webhook: public).
#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Target as T;
    let mut rows = vec![
        row("GET", "/health", Public, T::None, ""),
        row("GET", "/ready", Public, T::None, ""),
        row("GET", "/metrics", Public, T::None, ""),
        row("GET", "/v1/tours/<id>", Public, T::None, ""),
        row("GET", "/v1/tours/<id>/availability", Public, T::None, ""),
        row("GET", "/feeds/tour.ics", Public, T::None, ""),
        row("GET", "/feeds/guide.ics", Public, T::None, ""),
        row("GET", "/v1/departures/<id>", Public, T::None, ""),
        row("POST", "/v1/bookings", Public, T::None, ""),
        row("POST", "/v1/webhooks/twilio/status", Public, T::None, ""),
        row("POST", "/v1/auth/login", Public, T::None, ""),
        row("POST", "/v1/auth/refresh", Public, T::None, ""),
        row("POST", "/v1/auth/2fa/verify", Public, T::None, ""),
        row("POST", "/v1/auth/password-reset", Public, T::None, ""),
        row("POST", "/v1/auth/password-reset/confirm", Public, T::None, ""),
        row("POST", "/v1/auth/logout", Session, T::None, ""),
        row("POST", "/v1/auth/2fa/setup", Session, T::None, ""),
        row("POST", "/v1/auth/2fa/confirm", Session, T::None, r#"{"code": "000000"}"#).answering(422),
        row("POST", "/v1/auth/password", Session, T::None, r#"{"current_password": "not it at all", "new_password": "a fine new passphrase"}"#).answering(422),
        row("POST", "/v1/webhooks/stripe", Public, T::None, ""),
        row("POST", "/v1/webhooks/stripe/<operator_id>", Public, T::None, ""),
        row("GET", "/octo/supplier", Reseller, T::None, ""),
        row("GET", "/octo/products", Reseller, T::None, ""),
        row("GET", "/octo/products/<id>", Reseller, T::None, ""),
        row("GET", "/octo/capabilities", Reseller, T::None, ""),
        row("POST", "/octo/availability/calendar", Reseller, T::None, ""),
        row("POST", "/octo/availability", Reseller, T::None, ""),
        row("POST", "/octo/bookings", Reseller, T::None, ""),
        row("GET", "/octo/bookings/<uuid>", Reseller, T::None, ""),
        row("POST", "/octo/bookings/<uuid>/confirm", Reseller, T::None, ""),
        row("POST", "/octo/bookings/<uuid>/extend", Reseller, T::None, ""),
        row("PATCH", "/octo/bookings/<uuid>", Reseller, T::None, ""),
        row("POST", "/octo/bookings/<uuid>/cancel", Reseller, T::None, ""),
        row("GET", "/octo/bookings", Reseller, T::None, ""),
        row("GET", "/octo/openapi.json", Public, T::None, ""),
        // Traveler pages (src/web): public; the language switch needs only its CSRF token.
        row("GET", "/tours", Public, T::None, ""),
        row("GET", "/embed.js", Public, T::None, ""),
        row("GET", "/tours/<id>", Public, T::None, ""),
        row("GET", "/tours/<id>/<slug>", Public, T::None, ""),
        row("POST", "/lang", Public, T::None, ""),
        // Booking pages: public forms; a hold's pages need the access token the browser keeps in
        // a cookie (no operator credentials open them: 404, like the API without a token).
        row("GET", "/book/<departure>", Public, T::None, ""),
        row("POST", "/book/<departure>", Public, T::None, ""),
        row("POST", "/book/<departure>/waitlist", Public, T::None, ""),
        row("GET", "/book/<departure>/waitlist", Public, T::None, ""),
        row("GET", "/book/hold/<reference>", Public, T::None, ""),
        row("POST", "/book/hold/<reference>/confirm", Public, T::None, ""),
        row("GET", "/book/hold/<reference>/calendar.ics", Public, T::None, ""),
        row("GET", "/console/sign-in", Console, T::None, ""),
        row("POST", "/console/sign-in", Console, T::None, ""),
        row("POST", "/console/sign-in/code", Console, T::None, ""),
        row("POST", "/console/sign-out", Console, T::None, ""),
        row("GET", "/console/sign-in/reset", Console, T::None, ""),
        row("POST", "/console/sign-in/reset", Console, T::None, ""),
        row("POST", "/console/sign-in/reset/confirm", Console, T::None, ""),
        row("GET", "/console", Console, T::None, ""),
        row("GET", "/console/team", Console, T::None, ""),
        row("GET", "/console/webhooks", Console, T::None, ""),
        row("POST", "/console/webhooks", Console, T::None, ""),
        row("POST", "/console/webhooks/<id>/<action>", Console, T::None, ""),
        row("POST", "/console/webhooks/<id>/secret", Console, T::None, ""),
        row("GET", "/console/promo-codes", Console, T::None, ""),
        row("POST", "/console/promo-codes", Console, T::None, ""),
        row("POST", "/console/promo-codes/<id>", Console, T::None, ""),
        row("GET", "/console/resources", Console, T::None, ""),
        row("POST", "/console/resources", Console, T::None, ""),
        row("POST", "/console/resources/<id>", Console, T::None, ""),
        row("POST", "/console/resources/<id>/assignments", Console, T::None, ""),
        row("POST", "/console/resources/<id>/assignments/<assignment>/end", Console, T::None, ""),
        row("POST", "/console/team/users", Console, T::None, ""),
        row("GET", "/console/settings", Console, T::None, ""),
        row("POST", "/console/settings/sender", Console, T::None, ""),
        row("POST", "/console/settings/origins", Console, T::None, ""),
        row("POST", "/console/settings/reseller-messages", Console, T::None, ""),
        row("POST", "/console/settings/payments", Console, T::None, ""),
        row("POST", "/console/settings/payments/remove", Console, T::None, ""),
        row("POST", "/console/settings/payments/check", Console, T::None, ""),
        row("GET", "/console/audit", Console, T::None, ""),
        row("POST", "/console/team/users/<id>/<what>", Console, T::None, ""),
        row("POST", "/console/team/two-factor", Console, T::None, ""),
        row("POST", "/console/team/tokens", Console, T::None, ""),
        row("POST", "/console/team/tokens/<id>/revoke", Console, T::None, ""),
        row("POST", "/console/team/resellers", Console, T::None, ""),
        row("POST", "/console/team/resellers/<id>/revoke", Console, T::None, ""),
        row("GET", "/console/departures/<id>", Console, T::None, ""),
        row("GET", "/console/departures/<id>/manifest.csv", Console, T::None, ""),
        row("POST", "/console/departures/<id>/check-in", Console, T::None, ""),
        row("POST", "/console/departures/<id>/capacity", Console, T::None, ""),
        row("POST", "/console/departures/<id>/guides", Console, T::None, ""),
        row("POST", "/console/departures/<id>/guarantee", Console, T::None, ""),
        row("POST", "/console/departures/<id>/minimum", Console, T::None, ""),
        row("POST", "/console/departures/<id>/prices", Console, T::None, ""),
        row("POST", "/console/departures/<id>/prices/clear", Console, T::None, ""),
        row("POST", "/console/departures/<id>/waitlist/<entry>/remove", Console, T::None, ""),
        row("GET", "/console/my-departures", Console, T::None, ""),
        row("POST", "/console/my-departures/calendar-feeds", Console, T::None, ""),
        row("POST", "/console/my-departures/calendar-feeds/<id>/revoke", Console, T::None, ""),
        row("GET", "/console/departures/<id>/cancel", Console, T::None, ""),
        row("POST", "/console/departures/<id>/cancel", Console, T::None, ""),
        row("GET", "/console/calendar", Console, T::None, ""),
        row("GET", "/console/bookings", Console, T::None, ""),
        row("GET", "/console/messages", Console, T::None, ""),
        row("GET", "/console/reports", Console, T::None, ""),
        row("GET", "/console/reports.csv", Console, T::None, ""),
        row("POST", "/console/messages/<id>/retry", Console, T::None, ""),
        row("GET", "/console/bookings/<reference>", Console, T::None, ""),
        row("POST", "/console/bookings/<reference>/resend", Console, T::None, ""),
        row("POST", "/console/bookings/<reference>/cancel", Console, T::None, ""),
        row("POST", "/console/bookings/<reference>/refund", Console, T::None, ""),
        row("POST", "/console/bookings/<reference>/move", Console, T::None, ""),
        row("GET", "/console/account", Console, T::None, ""),
        row("POST", "/console/account/password", Console, T::None, ""),
        row("POST", "/console/account/two-factor", Console, T::None, ""),
        row("POST", "/console/account/two-factor/confirm", Console, T::None, ""),
        row("GET", "/console/tours", Console, T::None, ""),
        row("GET", "/console/tours/new", Console, T::None, ""),
        row("POST", "/console/tours", Console, T::None, ""),
        row("GET", "/console/tours/<id>", Console, T::None, ""),
        row("GET", "/console/tours/<id>/edit", Console, T::None, ""),
        row("POST", "/console/tours/<id>", Console, T::None, ""),
        row("POST", "/console/tours/<id>/<verb>", Console, T::None, ""),
        row("POST", "/console/tours/<id>/price-rules", Console, T::None, ""),
        row("POST", "/console/tours/<id>/price-rules/<rule>/remove", Console, T::None, ""),
        row("GET", "/console/tours/<id>/schedules/new", Console, T::None, ""),
        row("POST", "/console/tours/<id>/schedules", Console, T::None, ""),
        row("GET", "/console/schedules/<id>/edit", Console, T::None, ""),
        row("POST", "/console/schedules/<id>", Console, T::None, ""),
        row("GET", "/assets/<path..>", Public, T::None, ""),
        // The manage page: its link is the credential (tests/web/manage.rs).
        row("GET", "/manage/<reference>/<token>", Public, T::None, ""),
        row("GET", "/manage/<reference>/<token>/booking.ics", Public, T::None, ""),
        row("POST", "/manage/<reference>/<token>/cancel", Public, T::None, ""),
        row("POST", "/manage/<reference>/<token>/complete", Public, T::None, ""),
        row("POST", "/manage/<reference>/<token>/reschedule", Public, T::None, ""),
        row("GET", "/v1/bookings", R("staff", Tenant), T::None, ""),
        row("POST", "/v1/bookings/<reference>/resend-confirmation", R("staff", Object), T::FreshConfirmedBooking, ""),
        row("GET", "/v1/bookings/<reference>", Booking, T::Booking, ""),
        row("POST", "/v1/bookings/<reference>/refunds", R("admin", Object), T::FreshCheckedInBooking, r#"{"amount": 100}"#),
        row("POST", "/v1/bookings/<reference>/confirm", Booking, T::FreshHeldBooking, ""),
        row("POST", "/v1/bookings/<reference>/extend", Booking, T::FreshHeldBooking, r#"{"minutes": 30}"#),
        // Nothing paid (pay on arrival): staff may cancel. A cancellation that refunds money
        // needs an admin, like the refunds row: see `money_goes_back_to_a_traveler_only_on_an_admins_word`.
        row("POST", "/v1/bookings/<reference>/cancel", Booking, T::FreshConfirmedBooking, ""),
        row("GET", "/v1/bookings/<reference>/cancellation-quote", Booking, T::Booking, ""),
        // An unknown target: an allowed caller reaches the rule that refuses it.
        row("POST", "/v1/bookings/<reference>/reschedule", Booking, T::FreshConfirmedBooking, r#"{"departure_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}"#).answering(422),
        row("POST", "/v1/bookings/<reference>/check-in", R("guide", Object), T::FreshConfirmedBooking, ""),
        row("GET", "/v1/departures/<id>/manifest", R("guide", Object), T::Departure, ""),
        row("GET", "/v1/tours", R("staff", Tenant), T::None, ""),
        row("GET", "/v1/tours/<id>/schedules", R("staff", Object), T::Tour, ""),
        row("GET", "/v1/operator", R("staff", Tenant), T::None, ""),
        row("POST", "/v1/tours", R("admin", Tenant), T::None, TOUR),
        row("PATCH", "/v1/tours/<id>", R("admin", Object), T::Tour, r#"{"description": "Changed"}"#),
        row("POST", "/v1/tours/<id>/schedules", R("admin", Object), T::Tour, SCHEDULE),
        row("PUT", "/v1/schedules/<id>", R("admin", Object), T::FreshSchedule, SCHEDULE),
        row("POST", "/v1/tours/<id>/calendar-feeds", R("admin", Object), T::Tour, r#"{"label": "Matrix"}"#),
        row("GET", "/v1/tours/<id>/calendar-feeds", R("admin", Object), T::Tour, ""),
        row("DELETE", "/v1/calendar-feeds/<id>", R("admin", Object), T::FreshCalendarFeed, ""),
        row("POST", "/v1/me/calendar-feeds", Session, T::None, r#"{"label": "Matrix phone"}"#),
        row("GET", "/v1/me/calendar-feeds", Session, T::None, ""),
        // A tour's feed is nobody's own: through `/me` no caller may revoke it.
        row("DELETE", "/v1/me/calendar-feeds/<id>", Session, T::FreshCalendarFeed, "").answering(404),
        row("GET", "/v1/me/assignments", Session, T::None, ""),
        row("PUT", "/v1/departures/<id>/guides", R("admin", Object), T::Departure, r#"{"user_ids": []}"#),
        row("GET", "/v1/departures/<id>/guides", R("guide", Object), T::Departure, ""),
        row("POST", "/v1/webhook-endpoints", R("admin", Tenant), T::None, r#"{"url": "http://127.0.0.1:9/hook", "event_types": ["booking.held"]}"#),
        row("GET", "/v1/webhook-endpoints", R("admin", Tenant), T::None, ""),
        row("POST", "/v1/promo-codes", R("admin", Tenant), T::None, r#"{"code": "P$UNIQUE", "percent_off": 10}"#),
        row("POST", "/v1/tours/<id>/price-rules", R("admin", Object), T::Tour, r#"{"name": "Matrix", "prices": {"adult": 4000}}"#),
        row("GET", "/v1/tours/<id>/price-rules", R("staff", Object), T::Tour, ""),
        row("DELETE", "/v1/tours/<id>/price-rules/<rule>", R("admin", Object), T::FreshPriceRule, ""),
        row("PUT", "/v1/departures/<id>/prices", R("admin", Object), T::Departure, r#"{"prices": {"adult": 3500}}"#),
        row("GET", "/v1/promo-codes", R("staff", Tenant), T::None, ""),
        row("GET", "/v1/promo-codes/<id>", R("staff", Object), T::FreshPromoCode, ""),
        row("PATCH", "/v1/promo-codes/<id>", R("admin", Object), T::FreshPromoCode, r#"{"max_redemptions": 50}"#),
        row("POST", "/v1/resources", R("admin", Tenant), T::None, r#"{"name": "Boat $UNIQUE", "capacity": 10, "draw": "seats"}"#),
        row("GET", "/v1/resources", R("staff", Tenant), T::None, ""),
        row("GET", "/v1/resources/<id>", R("staff", Object), T::FreshResource, ""),
        row("PATCH", "/v1/resources/<id>", R("admin", Object), T::FreshResource, r#"{"capacity": 20}"#),
        // No tour of the caller has that id: a 422 proves authorization let it through.
        row("POST", "/v1/resources/<id>/assignments", R("admin", Object), T::FreshResource, r#"{"tour_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}"#).answering(422),
        row("DELETE", "/v1/resources/<id>/assignments/<assignment>", R("admin", Object), T::FreshResourceAssignment, ""),
        row("GET", "/v1/resources/<id>/load", R("staff", Object), T::FreshResource, ""),
        // The shared departure has seats for sale: a 409 `seats_available` proves the join got
        // through to the service.
        row("POST", "/v1/departures/<id>/waitlist", Public, T::Departure, r#"{"name": "Ada", "email": "ada@example.com", "items": [{"unit": "adult", "quantity": 1}]}"#).answering(409),
        row("GET", "/v1/departures/<id>/waitlist", R("staff", Object), T::Departure, ""),
        row("DELETE", "/v1/departures/<id>/waitlist/<entry>", R("admin", Object), T::FreshWaitlistEntry, ""),
        row("GET", "/v1/webhook-endpoints/<id>", R("admin", Object), T::WebhookEndpoint, ""),
        row("PATCH", "/v1/webhook-endpoints/<id>", R("admin", Object), T::WebhookEndpoint, r#"{"description": "Changed"}"#),
        row("DELETE", "/v1/webhook-endpoints/<id>", R("admin", Object), T::FreshWebhookEndpoint, ""),
        row("POST", "/v1/webhook-endpoints/<id>/rotate-secret", R("admin", Object), T::WebhookEndpoint, ""),
        row("POST", "/v1/webhook-endpoints/<id>/test", R("admin", Object), T::WebhookEndpoint, ""),
        row("POST", "/v1/webhook-endpoints/<id>/replay", R("admin", Object), T::WebhookEndpoint, r#"{"failed_since": "2020-01-01T00:00:00Z"}"#),
        row("GET", "/v1/webhook-endpoints/<id>/attempts", R("admin", Object), T::WebhookEndpoint, ""),
        row("GET", "/v1/webhook-endpoints/<id>/deliveries", R("admin", Object), T::WebhookEndpoint, ""),
        row("POST", "/v1/tours/<id>/departures", R("admin", Object), T::Tour, r#"{"starts_at": "$FUTURE", "capacity": 3}"#),
        row("PATCH", "/v1/departures/<id>", R("admin", Object), T::Departure, r#"{"capacity": 100}"#),
        row("POST", "/v1/departures/<id>/cancel", R("admin", Object), T::FreshDeparture, ""),
        row("POST", "/v1/departures/<id>/guarantee", R("admin", Object), T::FreshDeparture, ""),
        row("GET", "/v1/reports/revenue", R("admin", Tenant), T::None, ""),
        row("GET", "/v1/messages", R("admin", Tenant), T::None, ""),
        row("POST", "/v1/messages/<id>/retry", R("admin", Object), T::FailedMessage, ""),
        row("GET", "/v1/audit", R("admin", Tenant), T::None, ""),
        row("PATCH", "/v1/operator", R("owner", Tenant), T::None, r#"{"reply_to": null}"#),
        row("PUT", "/v1/operator/two-factor", R("owner", Tenant), T::None, r#"{"required": false}"#),
        row("PUT", "/v1/operator/embed-origins", R("owner", Tenant), T::None, r#"{"origins": ["https://matrix.example"]}"#),
        row("PUT", "/v1/operator/reseller-messages", R("owner", Tenant), T::None, r#"{"messages": "always"}"#),
        row("GET", "/v1/operator/payments", R("owner", Tenant), T::None, ""),
        // Before keys are set: with none in force the check calls no one.
        row("POST", "/v1/operator/payments/check", R("owner", Tenant), T::None, ""),
        row("PUT", "/v1/operator/payments", R("owner", Tenant), T::None, r#"{"secret_key": "sk_test_51MatrixKey00000000000", "publishable_key": "pk_test_51MatrixKey00000000000", "webhook_secret": "whsec_MatrixSecret0000000000"}"#),
        row("DELETE", "/v1/operator/payments", R("owner", Tenant), T::None, ""),
        row("POST", "/v1/tokens", R("owner", Tenant), T::None, r#"{"label": "matrix"}"#),
        row("GET", "/v1/tokens", R("owner", Tenant), T::None, ""),
        row("DELETE", "/v1/tokens/<id>", R("owner", Object), T::FreshToken, ""),
        row("POST", "/v1/resellers", R("owner", Tenant), T::None, r#"{"name": "Matrix OTA", "commission_percent": 10}"#),
        row("GET", "/v1/resellers", R("owner", Tenant), T::None, ""),
        row("DELETE", "/v1/resellers/<id>", R("owner", Object), T::FreshReseller, ""),
        row("POST", "/v1/users", R("owner", Tenant), T::None, USER),
        row("GET", "/v1/users", R("owner", Tenant), T::None, ""),
        row("PATCH", "/v1/users/<id>", R("owner", Object), T::FreshUser, r#"{"role": "staff"}"#),
        row("POST", "/v1/users/<id>/deactivate", R("owner", Object), T::FreshUser, ""),
        row("POST", "/v1/users/<id>/reset-two-factor", R("owner", Object), T::FreshUser, ""),
        // Last, and restored at once: an archived tour takes no new departures or schedules,
        // which the rows above create on it.
        row("POST", "/v1/tours/<id>/archive", R("admin", Object), T::Tour, ""),
        row("POST", "/v1/tours/<id>/restore", R("admin", Object), T::Tour, ""),
    ];
    // A deprecated path answers exactly like its new one: the same row under the old path.
    for alias in berth::http::aliases::DEPRECATED {
        let new = rows
            .iter()
            .find(|r| r.method == alias.method.as_str() && r.path == alias.new)
            .unwrap_or_else(|| panic!("no row for {}", alias.new))
            .clone();
        rows.push(Row { path: alias.old, ..new });
    }
    rows
}

/// One kind of caller.
#[derive(Clone, Debug)]
enum Caller {
    Anonymous,
    Own(&'static str),
    Foreign(&'static str),
    Revoked,
    Expired,
}

/// The expected status of a cell: exact, or any 2xx.
#[derive(Debug, PartialEq)]
enum Expect {
    Success,
    Status(u16),
}

fn expected(access: Access, caller: &Caller) -> Expect {
    use Expect::{Status, Success};
    match (access, caller) {
        (Public | Console | Reseller, _) => {
            unreachable!("public, console and reseller routes are not in the matrix")
        }
        (_, Caller::Revoked | Caller::Expired) => Status(401),
        (Booking, Caller::Anonymous) => Status(404),
        (_, Caller::Anonymous) => Status(401),
        (Session, Caller::Own(_) | Caller::Foreign(_)) => Success,
        (Booking, Caller::Own(role) | Caller::Foreign(role)) if rank(role) < rank("staff") => {
            Status(403)
        }
        (Booking, Caller::Own(_)) => Success,
        (Booking, Caller::Foreign(_)) => Status(404),
        (R(min, _), Caller::Own(role) | Caller::Foreign(role)) if rank(role) < rank(min) => {
            Status(403)
        }
        (R(_, _), Caller::Own(_)) => Success,
        (R(_, Tenant), Caller::Foreign(_)) => Success,
        (R(_, Object), Caller::Foreign(_)) => Status(404),
    }
}

/// The operators, their signed-in users, and the objects the rows point at.
struct World {
    app: TestApp,
    owner_token: String,
    /// (own, foreign) access tokens per role, in [`ROLES`] order.
    own: Vec<String>,
    foreign: Vec<String>,
    revoked: String,
    expired: String,
    tour: String,
    departure: String,
    booking: (String, String),
    message: String,
    webhook_endpoint: String,
}

impl World {
    async fn new(app: TestApp) -> World {
        let owner_token = app.operator("Matrix Tours").await;
        let other_token = app.operator("Elsewhere Tours").await;
        // An owner whose access token will be 16 minutes old when the cells run.
        let (expired, _) = app
            .signed_in(&owner_token, "expired@matrix.example", "owner")
            .await;
        app.clock.advance(Duration::minutes(16));
        let mut own = Vec::new();
        let mut foreign = Vec::new();
        for role in ROLES {
            let (token, _) = app
                .signed_in(&owner_token, &format!("{role}@matrix.example"), role)
                .await;
            own.push(token);
            let (token, _) = app
                .signed_in(&other_token, &format!("{role}@elsewhere.example"), role)
                .await;
            foreign.push(token);
        }
        let revoked = app
            .post_as(&owner_token, "/v1/tokens", json!({"label": "to revoke"}))
            .await;
        revoked.expect(201);
        app.request(
            Method::DELETE,
            &format!("/v1/tokens/{}", revoked.str("id")),
            Some(&owner_token),
            None,
        )
        .await
        .expect(204);
        let tour = app.tour(&owner_token, json!({})).await;
        let departure = app.departure(&owner_token, &tour, 100, 48).await;
        let mut world = World {
            app,
            owner_token,
            own,
            foreign,
            revoked: revoked.str("token"),
            expired,
            tour,
            departure,
            booking: (String::new(), String::new()),
            message: String::new(),
            webhook_endpoint: String::new(),
        };
        world.booking = world.booking(true).await;
        world.webhook_endpoint = world.webhook_endpoint().await;
        let messages = world.app.get_as(&world.owner_token, "/v1/messages").await;
        messages.expect(200);
        world.message = messages.body[0]["id"]
            .as_str()
            .expect("a message")
            .to_owned();
        world
    }

    /// A booking on the shared departure: (reference, access token), confirmed or held.
    async fn booking(&self, confirmed: bool) -> (String, String) {
        let held = self
            .app
            .hold(&self.departure, json!([{"unit": "adult", "quantity": 1}]))
            .await;
        held.expect(201);
        let (reference, access) = (held.str("reference"), held.str("access_token"));
        if confirmed {
            self.app
                .post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &access)
                .await
                .expect(200);
        }
        (reference, access)
    }

    /// A new shared resource of the owning operator.
    async fn resource(&self) -> String {
        let reply = self
            .app
            .post_as(
                &self.owner_token,
                "/v1/resources",
                json!({"name": "Matrix boat", "capacity": 10, "draw": "seats"}),
            )
            .await;
        reply.expect(201);
        reply.str("id")
    }

    /// A webhook endpoint of the owning operator (debug lets it name a loopback address).
    async fn webhook_endpoint(&self) -> String {
        let reply = self
            .app
            .post_as(
                &self.owner_token,
                "/v1/webhook-endpoints",
                json!({"url": "http://127.0.0.1:9/hook", "event_types": ["booking.confirmed"]}),
            )
            .await;
        reply.expect(201);
        reply.str("id")
    }

    /// The value of the row's path parameter for one cell.
    async fn target(&self, target: Target) -> String {
        let app = &self.app;
        match target {
            Target::None => String::new(),
            Target::Tour => self.tour.clone(),
            Target::Departure => self.departure.clone(),
            Target::Booking => self.booking.0.clone(),
            Target::FreshDeparture => app.departure(&self.owner_token, &self.tour, 5, 72).await,
            Target::FreshHeldBooking => self.booking(false).await.0,
            Target::FreshConfirmedBooking => self.booking(true).await.0,
            Target::FreshCheckedInBooking => {
                let (reference, _) = self.booking(true).await;
                let path = format!("/v1/bookings/{reference}/check-in");
                app.post_as(&self.owner_token, &path, json!({}))
                    .await
                    .expect(200);
                reference
            }
            Target::FailedMessage => {
                app.execute_sql(&format!(
                    "UPDATE outbox SET status = 'failed' WHERE id = '{}'",
                    self.message
                ))
                .await;
                self.message.clone()
            }
            Target::FreshToken => {
                let reply = app
                    .post_as(&self.owner_token, "/v1/tokens", json!({"label": "fresh"}))
                    .await;
                reply.expect(201);
                reply.str("id")
            }
            Target::FreshReseller => {
                let reply = app
                    .post_as(
                        &self.owner_token,
                        "/v1/resellers",
                        json!({"name": "Fresh OTA"}),
                    )
                    .await;
                reply.expect(201);
                reply.str("id")
            }
            Target::FreshSchedule => {
                let start = (app.clock.now() + Duration::days(2)).date_naive();
                let body = SCHEDULE.replace("$START_DATE", &start.to_string());
                let reply = app
                    .post_as(
                        &self.owner_token,
                        &format!("/v1/tours/{}/schedules", self.tour),
                        serde_json::from_str(&body).unwrap(),
                    )
                    .await;
                reply.expect(201);
                reply.str("id")
            }
            Target::FreshCalendarFeed => {
                let reply = app
                    .post_as(
                        &self.owner_token,
                        &format!("/v1/tours/{}/calendar-feeds", self.tour),
                        json!({"label": "fresh"}),
                    )
                    .await;
                reply.expect(201);
                reply.str("id")
            }
            Target::WebhookEndpoint => self.webhook_endpoint.clone(),
            Target::FreshWebhookEndpoint => self.webhook_endpoint().await,
            Target::FreshPriceRule => {
                let reply = app
                    .post_as(
                        &self.owner_token,
                        &format!("/v1/tours/{}/price-rules", self.tour),
                        json!({"name": "Fresh", "prices": {"adult": 3600}}),
                    )
                    .await;
                reply.expect(201);
                let rules = reply.body.as_array().expect("rules");
                let rule = rules.last().expect("the new rule")["id"].as_str().unwrap();
                format!("{}|{rule}", self.tour)
            }
            Target::FreshPromoCode => {
                let code = format!("P{}", ulid::Ulid::new());
                let reply = app
                    .post_as(
                        &self.owner_token,
                        "/v1/promo-codes",
                        json!({"code": code, "percent_off": 10}),
                    )
                    .await;
                reply.expect(201);
                reply.str("id")
            }
            Target::FreshResource => self.resource().await,
            Target::FreshResourceAssignment => {
                let resource = self.resource().await;
                let tour = app.tour(&self.owner_token, json!({})).await;
                let reply = app
                    .post_as(
                        &self.owner_token,
                        &format!("/v1/resources/{resource}/assignments"),
                        json!({"tour_id": tour}),
                    )
                    .await;
                reply.expect(201);
                format!("{resource}|{}", reply.str("id"))
            }
            Target::FreshWaitlistEntry => {
                let departure = app.departure(&self.owner_token, &self.tour, 1, 72).await;
                app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                    .await
                    .expect(201);
                let reply = app
                    .post(
                        &format!("/v1/departures/{departure}/waitlist"),
                        json!({"name": "Ada", "email": "ada@example.com",
                               "items": [{"unit": "adult", "quantity": 1}]}),
                    )
                    .await;
                reply.expect(201);
                format!("{departure}|{}", reply.str("id"))
            }
            Target::FreshUser => {
                let email = format!(
                    "{}@fresh.example",
                    ulid::Ulid::new().to_string().to_lowercase()
                );
                app.add_user(&self.owner_token, &email, "guide").await
            }
        }
    }

    /// The bearer token of a caller; a `Session` row signs in anew, since a success ends it.
    async fn credential(&self, caller: &Caller, access: Access) -> Option<String> {
        let index = |role: &str| ROLES.iter().position(|r| *r == role).expect("a role");
        let fresh = |email: String| async move {
            let reply = self.app.login(&email, PASSWORD).await;
            reply.expect(200);
            reply.str("access_token")
        };
        match (caller, access) {
            (Caller::Anonymous, _) => None,
            (Caller::Revoked, _) => Some(self.revoked.clone()),
            (Caller::Expired, _) => Some(self.expired.clone()),
            (Caller::Own(role), Session) => Some(fresh(format!("{role}@matrix.example")).await),
            (Caller::Foreign(role), Session) => {
                Some(fresh(format!("{role}@elsewhere.example")).await)
            }
            (Caller::Own(role), _) => Some(self.own[index(role)].clone()),
            (Caller::Foreign(role), _) => Some(self.foreign[index(role)].clone()),
        }
    }

    async fn call(&self, row: &Row, caller: &Caller) -> Reply {
        let value = self.target(row.target).await;
        // A route with two parameters gets both: `<id>|<rule>`.
        let (value, rule) = value.split_once('|').unwrap_or((&value, ""));
        let path = row
            .path
            .replace("<id>", value)
            .replace("<reference>", value)
            .replace("<rule>", rule)
            .replace("<assignment>", rule)
            .replace("<entry>", rule);
        let future = self.app.clock.now() + Duration::days(2);
        let body = row
            .body
            .replace("$FUTURE", &future.to_rfc3339())
            .replace("$START_DATE", &future.date_naive().to_string())
            .replace("$UNIQUE", &ulid::Ulid::new().to_string().to_lowercase());
        let method = Method::from_bytes(row.method.as_bytes()).expect("a method");
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base));
        if let Some(token) = self.credential(caller, row.access).await {
            request = request.bearer_auth(token);
        }
        if !body.is_empty() {
            let json: Value = serde_json::from_str(&body).expect("row body is JSON");
            request = request.json(&json);
        }
        TestApp::reply(request).await
    }
}

async fn every_operator_endpoint_checks_role_and_tenant(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let rows = rows();
    // The rows and the mounted routes must name the same set of endpoints.
    let mounted: Vec<(String, String)> = app
        .routes
        .iter()
        .filter(|(method, path)| method != "OPTIONS" && path != "/openapi.json" && path != "/docs")
        .cloned()
        .collect();
    let missing: Vec<String> = mounted
        .iter()
        .filter(|(m, p)| !rows.iter().any(|r| r.method == m && r.path == p))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "mounted routes without a matrix row: {missing:?}"
    );
    let stale: Vec<String> = rows
        .iter()
        .filter(|r| !mounted.iter().any(|(m, p)| r.method == m && r.path == p))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes that are not mounted: {stale:?}"
    );

    let world = World::new(app).await;
    let mut callers = vec![Caller::Anonymous, Caller::Revoked, Caller::Expired];
    callers.extend(ROLES.into_iter().map(Caller::Own));
    callers.extend(ROLES.into_iter().map(Caller::Foreign));
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in rows
        .iter()
        .filter(|r| !matches!(r.access, Public | Console | Reseller))
    {
        for caller in &callers {
            cells += 1;
            let want = expected(row.access, caller);
            let reply = world.call(row, caller).await;
            let status = reply.status.as_u16();
            let ok = match want {
                Expect::Success if row.allowed.is_some() => Some(status) == row.allowed,
                Expect::Success => (200..300).contains(&status),
                Expect::Status(code) => status == code,
            };
            let code_ok = match status {
                401 => reply.code() == "unauthorized",
                403 => reply.code() == "forbidden",
                404 => reply.code() == "not_found",
                _ => true,
            };
            if !ok || !code_ok {
                failures.push(format!(
                    "{} {} as {caller:?}: expected {want:?}, got {status} {}",
                    row.method, row.path, reply.text
                ));
            }
            // Another operator's successful read must show none of this operator's objects
            // (its users' emails, its tour, departure, booking, message, name).
            if matches!(caller, Caller::Foreign(_))
                && row.method == "GET"
                && (200..300).contains(&status)
            {
                let markers = [
                    "owner@matrix.example",
                    "admin@matrix.example",
                    "staff@matrix.example",
                    "guide@matrix.example",
                    "Matrix Tours",
                    world.tour.as_str(),
                    world.departure.as_str(),
                    world.booking.0.as_str(),
                    world.message.as_str(),
                ];
                if let Some(leak) = markers.iter().find(|m| reply.text.contains(**m)) {
                    failures.push(format!(
                        "{} {} as {caller:?} shows the other operator's {leak:?}: {}",
                        row.method, row.path, reply.text
                    ));
                }
            }
        }
    }
    assert!(cells > 250, "only {cells} cells ran");
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The role rule for money, which the matrix above (pay on arrival, nothing paid before
/// check-in) cannot show: returning money to a traveler needs the admin role, whether asked
/// as a refund or as a cancellation (which refunds in full). Staff may cancel a booking with
/// nothing paid; a guide cannot cancel at all; another operator's admin finds nothing.
async fn money_goes_back_to_a_traveler_only_on_an_admins_word(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let owner = app.operator("Matrix Tours").await;
    let other = app.operator("Elsewhere Tours").await;
    let mut tokens = Vec::new();
    for role in ROLES {
        let (token, _) = app
            .signed_in(&owner, &format!("{role}@matrix.example"), role)
            .await;
        tokens.push((role, token));
    }
    let (foreign_admin, _) = app
        .signed_in(&other, "admin@elsewhere.example", "admin")
        .await;
    let tour = app.tour(&owner, json!({})).await;
    let departure = app.departure(&owner, &tour, 40, 48).await;
    let hold = || async {
        let reply = app
            .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
            .await;
        reply.expect(201);
        (reply.str("reference"), reply.str("access_token"))
    };
    let paid = || async {
        let (reference, access) = hold().await;
        let intent = stripe.intent_for(&reference).expect("an intent");
        app.stripe_event(&succeeded(&format!("evt_{reference}"), &intent))
            .await
            .expect(200);
        (reference, access)
    };
    let app = &app;
    let payment = |reference: String, access: String| async move {
        let reply = app
            .get_with_booking_token(&format!("/v1/bookings/{reference}"), &access)
            .await;
        reply.expect(200);
        reply.body
    };

    for (role, token) in &tokens {
        let (reference, access) = paid().await;
        let cancel = app
            .post_as(
                token,
                &format!("/v1/bookings/{reference}/cancel"),
                json!({}),
            )
            .await;
        let refund = app
            .post_as(
                token,
                &format!("/v1/bookings/{reference}/refunds"),
                json!({"amount": 100}),
            )
            .await;
        let booking = payment(reference.clone(), access.clone()).await;
        if rank(role) >= rank("admin") {
            cancel.expect(200);
            assert_eq!(booking["status"], "cancelled", "{role}");
            // Refunded in full by the cancellation; nothing is left for a second refund.
            let back = booking["payment"]["refunded"].as_i64().unwrap()
                + booking["payment"]["refund_pending"].as_i64().unwrap_or(0);
            assert_eq!(back, 3500, "{role}: {booking}");
            refund.expect_error(422, "validation_failed");
        } else {
            cancel.expect_error(403, "forbidden");
            refund.expect_error(403, "forbidden");
            assert_eq!(booking["status"], "confirmed", "{role}: nothing changed");
            assert_eq!(booking["payment"]["refunded"], 0, "{role}: {booking}");
        }
    }
    // Staff still cancel what has nothing paid: a hold whose payment has not come.
    let staff = &tokens[2].1;
    let (unpaid, access) = hold().await;
    app.post_as(staff, &format!("/v1/bookings/{unpaid}/cancel"), json!({}))
        .await
        .expect(200);
    assert_eq!(payment(unpaid, access).await["status"], "cancelled");
    // Another operator's admin: not found, paid or not.
    let (reference, _) = paid().await;
    app.post_as(
        &foreign_admin,
        &format!("/v1/bookings/{reference}/cancel"),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    // A traveler's own cancellation follows the policy, whatever the roles.
    let (reference, access) = paid().await;
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &access)
        .await
        .expect(200);
}
