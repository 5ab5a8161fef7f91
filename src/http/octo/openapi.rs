//! `GET /octo/openapi.json`: the OCTO API as berth serves it (OpenAPI 3.1), generated from the
//! handlers' annotations, so it lists exactly the mounted `/octo` routes. The shapes follow the
//! OCTO specification; `tests/octo/schemas` holds the JSON Schemas every answer is tested
//! against.

use rocket::get;
use rocket::http::ContentType;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::bookings;
use crate::http::rate_limit::RateLimited;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "berth OCTO supplier API",
        description = "Resellers sell an operator's seats through OCTO (octo.travel) with a key of their own. \
            Every success is 200; every error is 400 with `error` and `errorMessage`. Money is integer minor units. \
            Every request may send `Octo-Capabilities` (comma-separated; berth offers `octo/pricing`), and every \
            answer says in `Octo-Capabilities` which it applied.",
    ),
    components(schemas(bookings::OctoBooking, super::OctoErrorBody)),
    modifiers(&ResellerKeyScheme),
    tags((name = "octo", description = "OCTO core and octo/pricing"))
)]
pub struct OctoDoc;

struct ResellerKeyScheme;

impl Modify for ResellerKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "reseller_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("brs_… (a reseller key)")
                    .build(),
            ),
        );
    }
}

/// The document as JSON text.
pub fn document() -> String {
    let mut openapi = OctoDoc::openapi();
    openapi.merge(super::Operations::openapi());
    openapi.to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}

/// `GET /octo/openapi.json`: public, like `/openapi.json`.
#[get("/octo/openapi.json")]
pub fn openapi_json(_rate: RateLimited) -> (ContentType, String) {
    (ContentType::JSON, document())
}
