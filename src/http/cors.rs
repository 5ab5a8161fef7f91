//! CORS for booking widgets on operators' sites: an explicit allowlist of origins
//! (`BERTH_CORS_ORIGINS`), never a wildcard in release.

use rocket::http::{Header, Method, Status};
use rocket::{options, Request, Response};

use crate::config::AppConfig;

/// Preflight requests: the CORS headers are added by [`apply`]; the answer itself is empty.
#[options("/<_..>")]
pub fn preflight() -> Status {
    Status::NoContent
}

/// Adds the CORS headers when the request's `Origin` is on the allowlist; otherwise none, and
/// the browser refuses the response to the page.
pub fn apply(request: &Request<'_>, response: &mut Response<'_>) {
    let Some(origin) = request.headers().get_one("Origin") else {
        return;
    };
    let Some(config) = request.rocket().state::<AppConfig>() else {
        return;
    };
    response.adjoin_header(Header::new("Vary", "Origin"));
    if !config.cors_allows(origin) {
        return;
    }
    response.set_header(Header::new(
        "Access-Control-Allow-Origin",
        origin.to_owned(),
    ));
    response.set_header(Header::new(
        "Access-Control-Expose-Headers",
        "X-Request-Id, Idempotent-Replayed, Retry-After, Location",
    ));
    if request.method() == Method::Options {
        response.set_header(Header::new(
            "Access-Control-Allow-Methods",
            "GET, POST, PATCH, DELETE",
        ));
        response.set_header(Header::new(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Idempotency-Key, X-Booking-Token",
        ));
        response.set_header(Header::new("Access-Control-Max-Age", "600"));
    }
}
