//! The OCTO supplier API at `/octo`: resellers sell an operator's seats through the open
//! standard of tour and activity channels (octo.travel). Its wire rules differ from `/v1`, so
//! they live here: a reseller's key in `Authorization`, every error a `400` with
//! `{"error": CODE, "errorMessage": …}` (and the offending id), the `Octo-Capabilities` header
//! echoed on every answer with the capabilities applied, and collection paths served with or
//! without a trailing slash. What each endpoint must do is in `tests/octo/README.md`, taken
//! from the specification and the public validator.

mod availability;
mod bookings;
mod catalogue;
pub mod openapi;
mod pricing;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::response::{self, Responder};
use rocket::{catch, catchers, Data, Request, Response, Route};
use serde::Serialize;

use crate::domain::reseller::Reseller;
use crate::error::AppError;
use crate::service::resellers;
use crate::storage::Store;

pub use catalogue::{Capability, OctoProduct, OctoSupplier};

/// Where the OCTO API is mounted.
pub const BASE: &str = "/octo";

/// The capabilities berth can apply, in the order it lists them.
pub const SUPPORTED: [&str; 1] = [pricing::PRICING];

/// Lists each OCTO handler once, as `http::api!` does for `/v1`: `documented` ones are mounted
/// and described in `/octo/openapi.json`, `plumbing` ones (the document itself) only mounted.
macro_rules! octo_api {
    (
        documented: [$($module:ident :: $handler:ident),* $(,)?],
        plumbing: [$($p_module:ident :: $p_handler:ident),* $(,)?] $(,)?
    ) => {
        pub fn routes() -> Vec<Route> {
            rocket::routes![$($module::$handler,)* $($p_module::$p_handler),*]
        }

        /// The documented operations; `openapi::document` adds the info, tags and shared parts.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($module::$handler),*))]
        pub struct Operations;
    };
}

octo_api! {
    documented: [
        catalogue::supplier,
        catalogue::products,
        catalogue::product_by_id,
        catalogue::capabilities,
        availability::calendar,
        availability::check,
        bookings::reserve,
        bookings::get_booking,
        bookings::confirm,
        bookings::extend,
        bookings::update,
        bookings::cancel,
        bookings::list,
    ],
    plumbing: [openapi::openapi_json],
}

/// OCTO's answers for what the router or a guard refused before a handler ran.
pub fn catchers() -> Vec<rocket::Catcher> {
    catchers![caught]
}

#[catch(default)]
fn caught(status: Status, request: &Request<'_>) -> OctoError {
    let error = match status.code {
        401 => OctoError::new(
            "UNAUTHORIZED",
            "send the reseller key as Authorization: Bearer …",
        ),
        403 => OctoError::new("FORBIDDEN", "this key may not do that"),
        404 => OctoError::new(
            "BAD_REQUEST",
            format!("no such endpoint: {}", request.uri().path()),
        ),
        429 => {
            let wait = request.local_cache(|| super::rate_limit::RetryAfter(1)).0;
            OctoError {
                retry_after: Some(wait),
                ..OctoError::new("BAD_REQUEST", "too many requests: retry after Retry-After")
            }
        }
        500..=599 => OctoError::new("INTERNAL_SERVER_ERROR", "internal error"),
        _ => OctoError::new("BAD_REQUEST", "the request could not be read"),
    };
    error
}

/// The capabilities a request asked for that berth applies: what the response's
/// `Octo-Capabilities` says. Absent or empty asks for none.
pub fn applied_capabilities(request: &Request<'_>) -> String {
    let asked = request.headers().get_one("Octo-Capabilities").unwrap_or("");
    let asked: Vec<&str> = asked.split(',').map(str::trim).collect();
    SUPPORTED
        .iter()
        .filter(|id| asked.contains(id))
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// An OCTO error: always `400`, with a stable code, a message for people, and the id that was
/// wrong (`productId`, `optionId`, `unitId`, `availabilityId`, `uuid`) echoed as sent.
#[derive(Debug)]
pub struct OctoError {
    pub code: &'static str,
    pub message: String,
    pub field: Option<(&'static str, String)>,
    pub retry_after: Option<u64>,
}

impl OctoError {
    pub fn new(code: &'static str, message: impl Into<String>) -> OctoError {
        OctoError {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn invalid_product(id: &str) -> OctoError {
        OctoError {
            field: Some(("productId", id.to_owned())),
            ..OctoError::new("INVALID_PRODUCT_ID", "no such product")
        }
    }
}

impl From<AppError> for OctoError {
    fn from(error: AppError) -> OctoError {
        match error {
            AppError::Unauthorized => OctoError::new("UNAUTHORIZED", error.to_string()),
            AppError::Forbidden => OctoError::new("FORBIDDEN", error.to_string()),
            AppError::Validation(_)
            | AppError::BadRequest { .. }
            | AppError::PayloadTooLarge
            | AppError::UnsupportedMediaType
            | AppError::NotFound => OctoError::new("BAD_REQUEST", error.to_string()),
            AppError::Busy | AppError::CommitUnknown => OctoError {
                // OCTO has no 503: the code says it, and Retry-After says when to come back.
                retry_after: Some(1),
                ..OctoError::new(
                    "INTERNAL_SERVER_ERROR",
                    "the database stayed busy; nothing was done, retry after Retry-After",
                )
            },
            // The one status mapping decides what is a server failure (no 5xx of its own here).
            other if other.status_and_code().0.code >= 500 => {
                tracing::error!(error = ?other, "OCTO request failed");
                OctoError::new("INTERNAL_SERVER_ERROR", "internal error")
            }
            other => OctoError::new("UNPROCESSABLE_ENTITY", other.to_string()),
        }
    }
}

/// Every OCTO error: `400`, a stable code, a message, and the offending id when one was wrong.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OctoErrorBody {
    /// `UNAUTHORIZED`, `FORBIDDEN`, `BAD_REQUEST`, `INVALID_PRODUCT_ID`, `INVALID_OPTION_ID`,
    /// `INVALID_UNIT_ID`, `INVALID_AVAILABILITY_ID`, `INVALID_BOOKING_UUID`,
    /// `UNPROCESSABLE_ENTITY` or `INTERNAL_SERVER_ERROR` (then with `Retry-After`).
    error: String,
    error_message: String,
    /// With `INVALID_PRODUCT_ID`: the id sent (likewise `optionId`, `unitId`,
    /// `availabilityId`, `uuid` with their codes).
    product_id: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
}

impl<'r> Responder<'r, 'static> for OctoError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut body = serde_json::to_value(ErrorBody {
            error: self.code,
            error_message: &self.message,
        })
        .unwrap_or_default();
        if let (Some((name, value)), Some(object)) = (&self.field, body.as_object_mut()) {
            object.insert((*name).to_owned(), value.clone().into());
        }
        let mut response = json_response(request, Status::BadRequest, &body);
        if let Some(seconds) = self.retry_after {
            response.set_header(Header::new("Retry-After", seconds.to_string()));
        }
        Ok(response)
    }
}

/// A successful OCTO answer: `200`, JSON, `Octo-Capabilities`.
pub struct Octo<T>(pub T);

impl<'r, T: Serialize> Responder<'r, 'static> for Octo<T> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let body = serde_json::to_value(&self.0).map_err(|_| Status::InternalServerError)?;
        Ok(json_response(request, Status::Ok, &body))
    }
}

fn json_response(
    request: &Request<'_>,
    status: Status,
    body: &serde_json::Value,
) -> Response<'static> {
    let text = body.to_string();
    Response::build()
        .status(status)
        .header(ContentType::JSON)
        .header(Header::new(
            "Octo-Capabilities",
            applied_capabilities(request),
        ))
        .sized_body(text.len(), std::io::Cursor::new(text))
        .finalize()
}

async fn caller(request: &Request<'_>) -> Result<Reseller, OctoError> {
    let Some(header) = request.headers().get_one("Authorization") else {
        return Err(OctoError::new(
            "UNAUTHORIZED",
            "send the reseller key as Authorization: Bearer …",
        ));
    };
    let key = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or("")
        .trim();
    let Some(store) = request.rocket().state::<Store>() else {
        return Err(OctoError::new("INTERNAL_SERVER_ERROR", "internal error"));
    };
    match resellers::authenticate(store, key).await {
        Ok(Some(reseller)) => Ok(reseller),
        Ok(None) => Err(OctoError::new(
            "FORBIDDEN",
            "the key is not a live reseller key",
        )),
        Err(error) => Err(error.into()),
    }
}

/// The reseller whose key a request carries, or the OCTO error that refuses it: no
/// `Authorization` is `UNAUTHORIZED`, an unknown or revoked key `FORBIDDEN`. Handlers `?` it,
/// so a refusal is answered in OCTO's shape.
pub struct ResellerKey(pub Result<Reseller, OctoError>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ResellerKey {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(ResellerKey(caller(request).await))
    }
}

/// Serves OCTO's collection paths with a trailing slash too (`/octo/products/`), as its
/// OpenAPI document writes them, by routing them as the same path without it.
pub struct TrailingSlash;

#[rocket::async_trait]
impl Fairing for TrailingSlash {
    fn info(&self) -> Info {
        Info {
            name: "OCTO trailing slashes",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        let path = request.uri().path().as_str();
        if path.len() > BASE.len() + 1 && path.starts_with(BASE) && path.ends_with('/') {
            let trimmed = path.trim_end_matches('/').to_owned();
            let uri = match request.uri().query() {
                Some(query) => format!("{trimmed}?{query}"),
                None => trimmed,
            };
            if let Ok(origin) = rocket::http::uri::Origin::parse_owned(uri) {
                request.set_uri(origin);
            }
        }
    }
}
