//! THE mapping from [`AppError`] to an HTTP status and a stable `code`, and the JSON catchers
//! that give Rocket's own errors (unknown route, oversized body, …) the same shape.

use rocket::data::{self, Data, FromData};
use rocket::http::{Header, Status};
use rocket::outcome::Outcome;
use rocket::response::{self, Responder};
use rocket::serde::json::{self, Json};
use rocket::{catch, Request};
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::guards::RequestId;
use crate::error::AppError;

impl AppError {
    /// The only place an error becomes an HTTP status and a machine-readable code.
    pub fn status_and_code(&self) -> (Status, &'static str) {
        match self {
            Self::Validation(_) => (Status::UnprocessableEntity, "validation_failed"),
            Self::BadRequest { code, .. } => (Status::BadRequest, code),
            Self::PayloadTooLarge => (Status::PayloadTooLarge, "payload_too_large"),
            Self::UnsupportedMediaType => (Status::UnsupportedMediaType, "unsupported_media_type"),
            Self::Unauthorized => (Status::Unauthorized, "unauthorized"),
            Self::Forbidden => (Status::Forbidden, "forbidden"),
            Self::TwoFactorRequired => (Status::Forbidden, "two_factor_required"),
            Self::TooManyAttempts { .. } => (Status::TooManyRequests, "rate_limited"),
            Self::NotFound => (Status::NotFound, "not_found"),
            Self::SoldOut { .. } => (Status::Conflict, "sold_out"),
            Self::HoldLimitReached { .. } => (Status::TooManyRequests, "hold_limit_reached"),
            Self::SalesClosed { .. } => (Status::Conflict, "sales_closed"),
            Self::InvalidTransition { .. } => (Status::Conflict, "invalid_transition"),
            Self::HoldExpired => (Status::Conflict, "hold_expired"),
            Self::CancellationClosed => (Status::Conflict, "cancellation_closed"),
            Self::DepartureCancelled => (Status::Conflict, "departure_cancelled"),
            Self::Refused { code, .. } => (Status::Conflict, code),
            Self::PromoCodeRefused { code, .. } => (Status::UnprocessableEntity, code),
            Self::CapacityBelowTaken { .. } => (Status::Conflict, "capacity_below_taken"),
            Self::IdempotencyKeyReused => (Status::UnprocessableEntity, "idempotency_key_reused"),
            Self::IdempotencyInProgress => (Status::Conflict, "idempotency_in_progress"),
            Self::PaymentRequired => (Status::Conflict, "payment_required"),
            Self::PaymentUnavailable => (Status::BadGateway, "payment_unavailable"),
            Self::Busy | Self::CommitUnknown => (Status::ServiceUnavailable, "busy"),
            Self::Internal(_) => (Status::InternalServerError, "internal"),
        }
    }

    /// Turns a failed JSON body into a client error: broken JSON is 400, JSON of the wrong
    /// shape (types, missing or unknown fields) is 422, and a body over the limit is 413.
    pub fn from_json(error: json::Error<'_>) -> AppError {
        match error {
            json::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                AppError::PayloadTooLarge
            }
            json::Error::Io(_) => {
                AppError::bad_request("malformed_json", "the request body could not be read")
            }
            json::Error::Parse(_, e) => match e.classify() {
                serde_json::error::Category::Data => AppError::invalid("body", e.to_string()),
                _ => AppError::bad_request(
                    "malformed_json",
                    format!("the request body is not valid JSON: {e}"),
                ),
            },
        }
    }
}

/// A request body before it is parsed: every JSON handler takes this and calls [`body_text`].
/// Only a body sent as `Content-Type: application/json` is read: a browser form can post
/// anything cross-site without a preflight except that content type, so JSON-only routes take
/// no form a hostile page could submit (415 `unsupported_media_type` otherwise).
pub struct JsonBody<'r>(Result<Json<Box<serde_json::value::RawValue>>, BodyError<'r>>);

pub enum BodyError<'r> {
    NotJson,
    Json(json::Error<'r>),
}

/// Whether a request declares a JSON body (`application/json`, parameters such as `charset`
/// allowed).
pub fn declares_json(request: &Request<'_>) -> bool {
    request.content_type().is_some_and(|ct| ct.is_json())
}

#[rocket::async_trait]
impl<'r> FromData<'r> for JsonBody<'r> {
    type Error = std::convert::Infallible;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if !declares_json(request) {
            return Outcome::Success(JsonBody(Err(BodyError::NotJson)));
        }
        match Json::from_data(request, data).await {
            Outcome::Success(body) => Outcome::Success(JsonBody(Ok(body))),
            Outcome::Error((_, error)) => Outcome::Success(JsonBody(Err(BodyError::Json(error)))),
            Outcome::Forward(forward) => Outcome::Forward(forward),
        }
    }
}

/// Reads a JSON body's text, refusing anything but an object. (Deserializing `T` alone would
/// accept `[a, b, c]` as a positional struct at the top level, which no client means to send.)
pub fn body_text(body: JsonBody<'_>) -> Result<String, AppError> {
    let raw = match body.0 {
        Ok(raw) => raw.into_inner(),
        Err(BodyError::NotJson) => return Err(AppError::UnsupportedMediaType),
        Err(BodyError::Json(error)) => return Err(AppError::from_json(error)),
    };
    if !raw.get().trim_start().starts_with('{') {
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    Ok(raw.get().to_owned())
}

/// Parses a body's text straight into `T`, so duplicate keys and unknown fields are refused.
pub fn parse_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AppError> {
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => AppError::invalid("body", e.to_string()),
        _ => AppError::bad_request(
            "malformed_json",
            format!("the request body is not valid JSON: {e}"),
        ),
    })
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `sold_out`, `not_found`, `busy`, …
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
    /// Matches the server log and the `X-Request-Id` header.
    pub request_id: String,
    /// `validation_failed` (and a refused promo code): field → problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// `sold_out`: seats still available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<u32>,
    /// `capacity_below_taken`: seats held by live bookings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats_taken: Option<u32>,
    /// `hold_limit_reached`: seats this client holds now, in the scope of the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats_held: Option<u32>,
    /// `hold_limit_reached`: the most seats it may hold at once there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_limit: Option<u32>,
}

fn error_body(code: &str, message: String, request_id: &str) -> ErrorDetail {
    ErrorDetail {
        code: code.to_owned(),
        message,
        request_id: request_id.to_owned(),
        fields: None,
        available: None,
        seats_taken: None,
        seats_held: None,
        hold_limit: None,
    }
}

fn to_json(detail: ErrorDetail) -> Value {
    serde_json::to_value(ErrorResponse { error: detail }).unwrap_or(Value::Null)
}

impl AppError {
    /// The status and JSON body of this error, as sent and as stored for idempotent replay.
    /// Server-side failures are logged here, once, with the request id the client sees.
    pub fn to_response(&self, request_id: &str) -> (Status, Value) {
        let (status, code) = self.status_and_code();
        let message = if status.code >= 500
            && !matches!(
                self,
                AppError::Busy | AppError::CommitUnknown | AppError::PaymentUnavailable
            ) {
            tracing::error!(%request_id, error = ?self, "request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let mut detail = error_body(code, message, request_id);
        match self {
            AppError::Validation(fields) => detail.fields = Some(fields.clone()),
            AppError::PromoCodeRefused { message, .. } => {
                detail.fields = Some([("promo_code".to_owned(), message.clone())].into());
            }
            AppError::SoldOut { available } => detail.available = Some(*available),
            AppError::CapacityBelowTaken { taken } => detail.seats_taken = Some(*taken),
            AppError::HoldLimitReached { held, limit, .. } => {
                detail.seats_held = Some(*held);
                detail.hold_limit = Some(*limit);
            }
            _ => {}
        }
        (status, to_json(detail))
    }

    /// Errors the client should retry after a pause carry `Retry-After`.
    pub fn retry_after(&self) -> Option<String> {
        match self {
            AppError::Busy | AppError::CommitUnknown | AppError::IdempotencyInProgress => {
                Some("1".into())
            }
            AppError::PaymentUnavailable => Some("5".into()),
            AppError::TooManyAttempts { retry_after }
            | AppError::HoldLimitReached { retry_after, .. } => Some(retry_after.to_string()),
            _ => None,
        }
    }
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let request_id = request.local_cache(RequestId::generate).0.clone();
        if let Some(store) = request.rocket().state::<crate::storage::Store>() {
            match self {
                AppError::SoldOut { .. } => store.metrics().sold_out_rejections.inc(),
                AppError::Busy | AppError::CommitUnknown => store.metrics().busy_responses.inc(),
                _ => {}
            }
        }
        let (status, body) = self.to_response(&request_id);
        let mut response = (status, Json(body)).respond_to(request)?;
        if let Some(seconds) = self.retry_after() {
            response.set_header(Header::new("Retry-After", seconds));
        }
        Ok(response)
    }
}

fn caught(
    status: Status,
    code: &str,
    message: &str,
    request: &Request<'_>,
) -> (Status, Json<Value>) {
    let request_id = request.local_cache(RequestId::generate).0.clone();
    (
        status,
        Json(to_json(error_body(code, message.to_owned(), &request_id))),
    )
}

#[catch(400)]
pub fn bad_request(request: &Request<'_>) -> (Status, Json<Value>) {
    caught(
        Status::BadRequest,
        "bad_request",
        "the request could not be understood",
        request,
    )
}

#[catch(401)]
pub fn unauthorized(request: &Request<'_>) -> (Status, Json<Value>) {
    caught(
        Status::Unauthorized,
        "unauthorized",
        "missing or invalid credentials",
        request,
    )
}

#[catch(403)]
pub fn forbidden(request: &Request<'_>) -> (Status, Json<Value>) {
    caught(
        Status::Forbidden,
        "forbidden",
        "your role does not allow this",
        request,
    )
}

/// A caught error, with the `Allow` header when the path exists under other methods.
pub struct Caught {
    reply: (Status, Json<Value>),
    allow: Option<String>,
    retry_after: Option<String>,
}

impl<'r> Responder<'r, 'static> for Caught {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.reply.respond_to(request)?;
        if let Some(allow) = self.allow {
            response.set_header(Header::new("Allow", allow));
        }
        if let Some(seconds) = self.retry_after {
            response.set_header(Header::new("Retry-After", seconds));
        }
        Ok(response)
    }
}

/// The methods of the mounted routes whose path template matches this request's path.
fn allowed_methods(request: &Request<'_>) -> Vec<&'static str> {
    let path: Vec<&str> = request.uri().path().segments().collect();
    let mut methods: Vec<&'static str> = request
        .rocket()
        .routes()
        .filter(|route| route.method != rocket::http::Method::Options)
        .filter(|route| {
            let template: Vec<&str> = route
                .uri
                .path()
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            template.len() == path.len()
                && template
                    .iter()
                    .zip(&path)
                    .all(|(t, p)| t.starts_with('<') || t == p)
        })
        .map(|route| route.method.as_str())
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// Unknown path: 404. Known path, other method: 405 with `Allow`.
#[catch(404)]
pub fn not_found(request: &Request<'_>) -> Caught {
    let allowed = allowed_methods(request);
    if allowed.is_empty() {
        return Caught {
            reply: caught(Status::NotFound, "not_found", "not found", request),
            allow: None,
            retry_after: None,
        };
    }
    let message = format!("this path allows {}", allowed.join(", "));
    Caught {
        reply: caught(
            Status::MethodNotAllowed,
            "method_not_allowed",
            &message,
            request,
        ),
        allow: Some(allowed.join(", ")),
        retry_after: None,
    }
}

#[catch(413)]
pub fn payload_too_large(request: &Request<'_>) -> (Status, Json<Value>) {
    caught(
        Status::PayloadTooLarge,
        "payload_too_large",
        "the request body is too large",
        request,
    )
}

/// Over a rate limit (see `http::rate_limit`): 429 with `Retry-After`.
#[catch(429)]
pub fn too_many_requests(request: &Request<'_>) -> Caught {
    let wait = request.local_cache(|| super::rate_limit::RetryAfter(1)).0;
    Caught {
        reply: caught(
            Status::TooManyRequests,
            "rate_limited",
            "too many requests; retry later",
            request,
        ),
        allow: None,
        retry_after: Some(wait.to_string()),
    }
}

#[catch(422)]
pub fn unprocessable(request: &Request<'_>) -> (Status, Json<Value>) {
    caught(
        Status::UnprocessableEntity,
        "validation_failed",
        "the request is not valid",
        request,
    )
}

#[catch(500)]
pub fn internal(request: &Request<'_>) -> (Status, Json<Value>) {
    caught(
        Status::InternalServerError,
        "internal",
        "internal error",
        request,
    )
}

#[catch(default)]
pub fn other(status: Status, request: &Request<'_>) -> (Status, Json<Value>) {
    let code = match status.code {
        405 => "method_not_allowed",
        415 => "unsupported_media_type",
        503 => "unavailable",
        400..=499 => "bad_request",
        _ => "internal",
    };
    caught(status, code, status.reason_lossy(), request)
}
