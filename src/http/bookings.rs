//! The traveler's side: holding seats, reading, extending, confirming and cancelling a booking.

use super::rate_limit::{ClientIp, RateLimited};
use rocket::serde::json::Json;
use rocket::{get, post, State};

use super::context::Mutation;
use super::guards::{AcceptLanguage, BookingCaller};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey, PUBLIC_BOOKINGS_SCOPE};
use super::responder::ErrorResponse;
use super::responder::JsonBody;
use super::views::BookingView;
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::service::bookings::Caller;
use crate::service::payments::{PaymentSummary, Payments};
use crate::service::{bookings, holds, payments};
use crate::storage::Store;

/// Holds seats; the response carries the access token the traveler needs for everything else.
#[utoipa::path(
    post,
    path = "/v1/bookings",
    tag = "bookings",
    summary = "Hold seats (prices computed by the server)",
    params(IdempotencyKey),
    request_body = holds::HoldRequest,
    responses((status = 404, description = "No departure or unit with the given id (`not_found`)", body = ErrorResponse), (status = 201, description = "Held; `access_token` appears only here, with `payment.client_secret` when paid online", body = BookingView), (status = 502, description = "Online payments: Stripe could not be reached; no seats were held (`payment_unavailable`); retry after `Retry-After`", body = ErrorResponse), (status = 409, description = "Conflict: `sold_out` (with `available`), `sales_closed`, `idempotency_in_progress`", body = ErrorResponse), (status = 429, description = "Rate limited (`rate_limited`), or this client address or customer email already holds as many seats as the hold limits allow (`hold_limit_reached`, with `seats_held` and `hold_limit`); retry after `Retry-After` (when its first hold lapses)", body = ErrorResponse))
)]
#[post("/v1/bookings", data = "<body>")]
pub async fn place_hold(
    _rate: RateLimited,
    client: ClientIp,
    accept_language: AcceptLanguage,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
    payments: &State<Payments>,
) -> Result<ApiResponse, AppError> {
    let scope = PUBLIC_BOOKINGS_SCOPE.to_owned();
    mutation
        .json(
            scope,
            body,
            |ctx, mut request: holds::HoldRequest, claim| async move {
                if let (None, Some(lang)) = (&request.customer.language, accept_language.0) {
                    request.customer.language = Some(lang.code().to_owned());
                }
                let now = ctx.now();
                let render = |booking: &BookingRecord, token: &str, payment: &PaymentSummary| {
                    let response = created(booking, token, payment, now);
                    (response.status.code, response.body)
                };
                let claim = claim
                    .as_ref()
                    .map(|claim| (claim, &render as holds::RenderHold<'_>));
                let stored = claim.is_some();
                let (limits, keys) = (hold_limits(ctx.config)?, ctx.config.keyring());
                let requester = holds::Requester {
                    address: client.0,
                    limits: &limits,
                    keys: Some(&keys),
                };
                let placed = holds::place_hold_for(
                    ctx.store,
                    payments,
                    now,
                    ctx.config.hold_ttl(),
                    request,
                    claim,
                    requester,
                )
                .await?;
                let mut response =
                    created(&placed.booking, &placed.access_token, &placed.payment, now);
                response.stored = stored;
                Ok(response)
            },
        )
        .await
}

/// The hold limits; the configuration was checked at start-up, so this cannot fail then.
fn hold_limits(config: &AppConfig) -> Result<crate::domain::hold_limits::HoldLimits, AppError> {
    config
        .hold_limits()
        .map_err(|error| AppError::Internal(anyhow::anyhow!(error)))
}

fn created(
    booking: &BookingRecord,
    access_token: &str,
    payment: &PaymentSummary,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResponse {
    let mut view = BookingView::new(booking, now).with_payment(payment, true);
    view.access_token = Some(access_token.to_owned());
    ApiResponse::created(format!("/v1/bookings/{}", view.reference), &view)
}

#[utoipa::path(
    get,
    path = "/v1/bookings/{reference}",
    tag = "bookings",
    summary = "A booking (traveler token or the operator)",
    params(("reference" = String, Path, description = "Booking reference")),
    responses((status = 200, description = "The booking", body = BookingView), (status = 401, description = "An invalid operator bearer token (`unauthorized`); without any credentials the answer is 404", body = ErrorResponse), (status = 403, description = "The operator's role is below staff (`forbidden`), or the user must enrol in two-factor sign-in first", body = ErrorResponse)),
    security(("booking_token" = []), ("operator_token" = []))
)]
#[get("/v1/bookings/<reference>")]
pub async fn get_booking(
    _rate: RateLimited,
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<BookingView>, AppError> {
    let caller = caller?.0;
    let booking = bookings::get(store, reference, &caller).await?;
    Ok(Json(view(store, &booking, &caller, clock.now()).await?))
}

/// A booking with its payment; the client secret only for the traveler.
pub(super) async fn view(
    store: &Store,
    booking: &BookingRecord,
    caller: &Caller,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<BookingView, AppError> {
    let summary = payments::summary(store, booking).await?;
    let traveler = caller
        .operator
        .as_ref()
        .is_none_or(|p| p.operator != booking.operator_id);
    Ok(BookingView::new(booking, now).with_payment(&summary, traveler))
}

/// An operator's keys live with the operator; a traveler's with their access token, so a key
/// replays only to the holder of the token that made the first request.
pub(super) fn scope_of(caller: &Caller) -> String {
    match (&caller.operator, &caller.access_token) {
        (Some(operator), _) => operator_scope(&operator.operator),
        (None, Some(token)) => format!("traveler:{}", &crate::secrets::hash_token(token)[..48]),
        (None, None) => PUBLIC_BOOKINGS_SCOPE.to_owned(),
    }
}

#[utoipa::path(
    post,
    path = "/v1/bookings/{reference}/confirm",
    tag = "bookings",
    summary = "Confirm a hold (pay on arrival; online payments confirm by themselves)",
    params(("reference" = String, Path, description = "Booking reference"), IdempotencyKey),
    responses((status = 200, description = "Confirmed", body = BookingView), (status = 401, description = "An invalid operator bearer token (`unauthorized`); without any credentials the answer is 404", body = ErrorResponse), (status = 403, description = "The operator's role is below staff (`forbidden`), or the user must enrol in two-factor sign-in first", body = ErrorResponse), (status = 409, description = "Conflict: `invalid_transition`, `hold_expired`, `payment_required` (paid online: the payment confirms), `idempotency_in_progress`", body = ErrorResponse)),
    security(("booking_token" = []), ("operator_token" = []))
)]
#[post("/v1/bookings/<reference>/confirm")]
pub async fn confirm(
    _rate: RateLimited,
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let caller = caller?.0;
    mutation
        .run(scope_of(&caller), |ctx, _| async move {
            let now = ctx.now();
            let booking = bookings::confirm(ctx.store, now, reference, &caller).await?;
            Ok(ApiResponse::ok(
                &view(ctx.store, &booking, &caller, now).await?,
            ))
        })
        .await
}

/// `POST /v1/bookings/{reference}/extend`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"minutes": 30}))]
pub struct ExtendRequest {
    /// How long the hold should last from now, in minutes (1 to `BERTH_HOLD_MAX_SECONDS`);
    /// absent: `BERTH_HOLD_TTL_SECONDS`. Never past the departure's sales cutoff.
    #[serde(default)]
    pub minutes: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/v1/bookings/{reference}/extend",
    tag = "bookings",
    summary = "Extend a hold (from now; never past the departure's sales cutoff)",
    params(("reference" = String, Path, description = "Booking reference"), IdempotencyKey),
    request_body = ExtendRequest,
    responses((status = 200, description = "Extended: `expires_at` is the new expiry", body = BookingView), (status = 401, description = "An invalid operator bearer token (`unauthorized`); without any credentials the answer is 404", body = ErrorResponse), (status = 403, description = "The operator's role is below staff (`forbidden`), or the user must enrol in two-factor sign-in first", body = ErrorResponse), (status = 409, description = "Conflict: `not_on_hold`, `hold_expired`, `hold_at_cutoff` (the hold already lasts until the sales cutoff), `hold_at_maximum` (a hold lasts at most `BERTH_HOLD_MAX_SECONDS` from when it was made), `hold_not_longer`, `idempotency_in_progress`", body = ErrorResponse), (status = 422, description = "`minutes` is not a whole number from 1 to the maximum (`validation_failed`)", body = ErrorResponse)),
    security(("booking_token" = []), ("operator_token" = []))
)]
#[post("/v1/bookings/<reference>/extend", data = "<body>")]
pub async fn extend(
    _rate: RateLimited,
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let caller = caller?.0;
    mutation
        .json(
            scope_of(&caller),
            body,
            |ctx, request: ExtendRequest, _| async move {
                let now = ctx.now();
                let times = ctx.config.hold_times();
                let asked = match request.minutes {
                    None => None,
                    Some(m) if m >= 1 && chrono::Duration::minutes(m) <= times.max => {
                        Some(chrono::Duration::minutes(m))
                    }
                    Some(_) => {
                        return Err(AppError::invalid(
                            "minutes",
                            format!(
                                "must be a whole number from 1 to {}",
                                times.max.num_minutes()
                            ),
                        ))
                    }
                };
                let booking =
                    bookings::extend(ctx.store, now, reference, &caller, &times, asked).await?;
                Ok(ApiResponse::ok(
                    &view(ctx.store, &booking, &caller, now).await?,
                ))
            },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/v1/bookings/{reference}/cancel",
    tag = "bookings",
    summary = "Cancel a booking (refund per the tour's policy; in full when the operator cancels, which needs an admin when money was paid)",
    params(("reference" = String, Path, description = "Booking reference"), IdempotencyKey),
    responses((status = 200, description = "Cancelled", body = BookingView), (status = 401, description = "An invalid operator bearer token (`unauthorized`); without any credentials the answer is 404", body = ErrorResponse), (status = 403, description = "The operator's role is below staff, or staff cancelling a booking with money paid (refunds need an admin) (`forbidden`); or the user must enrol in two-factor sign-in first", body = ErrorResponse), (status = 409, description = "Conflict: `invalid_transition`, `cancellation_closed`, `idempotency_in_progress`", body = ErrorResponse)),
    security(("booking_token" = []), ("operator_token" = []))
)]
#[post("/v1/bookings/<reference>/cancel")]
pub async fn cancel(
    _rate: RateLimited,
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    mutation: Mutation<'_>,
    payments: &State<Payments>,
) -> Result<ApiResponse, AppError> {
    let caller = caller?.0;
    mutation
        .run(scope_of(&caller), |ctx, _| async move {
            let now = ctx.now();
            let booking = bookings::cancel(ctx.store, payments, now, reference, &caller).await?;
            Ok(ApiResponse::ok(
                &view(ctx.store, &booking, &caller, now).await?,
            ))
        })
        .await
}
