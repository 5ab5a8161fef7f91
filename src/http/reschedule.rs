//! The traveler's (or operator's) decisions about a booking before the trip: what cancelling
//! now would refund, and moving the booking to another departure of its tour.

use rocket::serde::json::Json;
use rocket::{get, post, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::bookings::{scope_of, view};
use super::guards::BookingCaller;
use super::idempotency::{ApiResponse, Idempotency, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{body_text, parse_text, ErrorResponse, JsonBody};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::service::reschedule::{self as moves, RescheduleRequest};
use crate::storage::Store;

/// What cancelling the booking now would refund, by the tour's cancellation policy (the
/// traveler) or in full (an operator): the rule `POST …/cancel` applies.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"reference": "BK7X2M4Q", "cancellable": true, "refundable": 7000, "refund": 3500, "refund_percent": 50, "currency": "EUR"}))]
pub struct CancellationQuoteView {
    pub reference: String,
    /// Whether the caller may cancel now (a traveler: until the departure starts).
    pub cancellable: bool,
    /// Paid and not yet refunded, in minor units.
    pub refundable: i64,
    /// What a cancellation now would refund, in minor units.
    pub refund: i64,
    /// The policy's share of `refundable`, in percent.
    pub refund_percent: i64,
    pub currency: String,
}

#[utoipa::path(
    get,
    path = "/v1/bookings/{reference}/cancellation-quote",
    tag = "bookings",
    summary = "What cancelling now would refund (changes nothing)",
    params(("reference" = String, Path, description = "Booking reference")),
    responses((status = 200, description = "The quote", body = CancellationQuoteView), (status = 401, description = "An invalid operator bearer token (`unauthorized`); without any credentials the answer is 404", body = ErrorResponse), (status = 403, description = "The operator's role is below staff (`forbidden`), or the user must enrol in two-factor sign-in first", body = ErrorResponse), (status = 404, description = "Unknown, malformed or another operator's id (`not_found`)", body = ErrorResponse), (status = 429, description = "Rate limited (`rate_limited`)", body = ErrorResponse), (status = 503, description = "Database busy after retries (`busy`); retry after `Retry-After`", body = ErrorResponse)),
    security(("booking_token" = []), ("operator_token" = []))
)]
#[get("/v1/bookings/<reference>/cancellation-quote")]
pub async fn cancellation_quote(
    _rate: RateLimited,
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<CancellationQuoteView>, AppError> {
    let caller = caller?.0;
    let (booking, quote) =
        moves::cancellation_quote(store, clock.now(), reference, &caller).await?;
    Ok(Json(CancellationQuoteView {
        reference: booking.reference.to_string(),
        cancellable: quote.cancellable,
        refundable: quote.refundable,
        refund: quote.refund,
        refund_percent: quote.refund_percent,
        currency: booking.currency,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/bookings/{reference}/reschedule",
    tag = "bookings",
    summary = "Move a confirmed booking to another departure of its tour (same price; the seats move in one transaction)",
    params(("reference" = String, Path, description = "Booking reference"), IdempotencyKey),
    request_body = RescheduleRequest,
    responses((status = 200, description = "Moved; the traveler is told by email (and SMS with a phone)", body = super::views::BookingView), (status = 400, description = "Malformed JSON or an invalid Idempotency-Key (`malformed_json`, `invalid_idempotency_key`)", body = ErrorResponse), (status = 401, description = "An invalid operator bearer token (`unauthorized`); without any credentials the answer is 404", body = ErrorResponse), (status = 403, description = "The operator's role is below staff (`forbidden`), or the user must enrol in two-factor sign-in first", body = ErrorResponse), (status = 404, description = "Unknown, malformed or another operator's booking (`not_found`)", body = ErrorResponse), (status = 409, description = "Conflict: `reschedule_not_allowed` (not confirmed, the tour forbids it, or the departure started), `reschedule_price_differs`, `sold_out` (with `available`), `sales_closed`, `idempotency_in_progress`", body = ErrorResponse), (status = 413, description = "Body over the JSON limit (`payload_too_large`)", body = ErrorResponse), (status = 422, description = "Invalid fields (`validation_failed`: `departure_id` unknown, of another tour, or the current one), or `idempotency_key_reused`", body = ErrorResponse), (status = 429, description = "Rate limited (`rate_limited`)", body = ErrorResponse), (status = 503, description = "Database busy after retries (`busy`); retry after `Retry-After`", body = ErrorResponse)),
    security(("booking_token" = []), ("operator_token" = []))
)]
#[post("/v1/bookings/<reference>/reschedule", data = "<body>")]
pub async fn reschedule(
    _rate: RateLimited,
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    body: JsonBody<'_>,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let caller = caller?.0;
    let text = body_text(body)?;
    let text = text.as_str();
    idempotency?
        .run(store, clock, config, scope_of(&caller), text, |_| async {
            let request: RescheduleRequest = parse_text(text)?;
            let now = clock.now();
            let booking = moves::reschedule(store, now, reference, &caller, request).await?;
            Ok(ApiResponse::ok(&view(store, &booking, &caller, now).await?))
        })
        .await
}
