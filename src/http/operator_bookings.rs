//! An operator's bookings: the search (by reference, traveler, status, tour and departure
//! dates) and sending a confirmation again.

use chrono::SecondsFormat;
use rocket::serde::json::Json;
use rocket::{get, post, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::context::Mutation;
use super::guards::{Authorized, Staff};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::ErrorResponse;
use super::views::BookingView;
use crate::clock::Clock;
use crate::error::AppError;
use crate::service::booking_search::{self, Found, SearchRequest};
use crate::service::notifications;
use crate::storage::Store;

/// A booking a search found, with when its departure starts.
#[derive(Serialize, ToSchema)]
pub struct FoundBookingView {
    #[serde(flatten)]
    pub booking: BookingView,
    /// The departure's start, UTC.
    pub departure_starts_at: String,
    /// The same instant in the tour's zone, with its offset.
    pub departure_local: String,
    /// The tour's IANA time zone.
    pub timezone: String,
}

impl FoundBookingView {
    pub fn new(found: &Found, now: chrono::DateTime<chrono::Utc>) -> FoundBookingView {
        FoundBookingView {
            booking: BookingView::new(&found.booking, now),
            departure_starts_at: found.starts_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            departure_local: found
                .local_start()
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            timezone: found.timezone.name().to_owned(),
        }
    }
}

/// A page of bookings, newest first.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"bookings": [], "next_cursor": "1764806400123456789.01JD3Z8Q4W7N5X2R6T9V0B1C3D"}))]
pub struct BookingSearchView {
    pub bookings: Vec<FoundBookingView>,
    /// Present when more may follow: send it as `cursor` for the next page. A page may hold
    /// fewer than `limit` bookings and still have one (date filters are checked per tour zone).
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/bookings",
    tag = "operator",
    summary = "Search the operator's bookings (newest first, a page at a time)",
    params(
        ("q" = Option<String>, Query, description = "Part of the traveler's name or email, or the whole reference (any case; at most 200 characters)"),
        ("status" = Option<String>, Query, description = "held, confirmed, checked_in, cancelled or expired (a lapsed hold counts as expired)"),
        ("tour" = Option<String>, Query, description = "A tour id"),
        ("from" = Option<String>, Query, description = "First departure date, YYYY-MM-DD, in each tour's time zone"),
        ("to" = Option<String>, Query, description = "Last departure date, YYYY-MM-DD, inclusive"),
        ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor`"),
        ("limit" = Option<String>, Query, description = "1 to 200; 50 when not given")
    ),
    responses(
        (status = 200, description = "A page of bookings", body = BookingSearchView),
        (status = 422, description = "A bad filter, named in `fields` (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/bookings?<q>&<status>&<tour>&<from>&<to>&<cursor>&<limit>")]
#[allow(clippy::too_many_arguments)]
pub async fn search_bookings(
    _rate: RateLimited,
    q: Option<&str>,
    status: Option<&str>,
    tour: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    cursor: Option<&str>,
    limit: Option<&str>,
    auth: Result<Authorized<Staff>, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<BookingSearchView>, AppError> {
    let by = auth?.0;
    let now = clock.now();
    let request = SearchRequest {
        q,
        status,
        tour,
        from,
        to,
        cursor,
        limit,
    };
    let page = booking_search::search(store, now, &by.operator, &request).await?;
    Ok(Json(BookingSearchView {
        bookings: page
            .bookings
            .iter()
            .map(|found| FoundBookingView::new(found, now))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/bookings/{reference}/resend-confirmation",
    tag = "operator",
    summary = "Email a booking's confirmation again (a new message; the earlier ones stay in its history)",
    params(("reference" = String, Path, description = "Booking reference"), IdempotencyKey),
    responses(
        (status = 202, description = "Queued", body = BookingView),
        (status = 404, description = "Unknown or another operator's booking (`not_found`)", body = ErrorResponse),
        (status = 409, description = "The booking is not confirmed (`not_confirmed`), or `idempotency_in_progress`", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/bookings/<reference>/resend-confirmation")]
pub async fn resend_confirmation(
    _rate: RateLimited,
    reference: &str,
    auth: Result<Authorized<Staff>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let now = ctx.now();
            let booking =
                notifications::resend_confirmation(ctx.store, now, &by, reference).await?;
            Ok(ApiResponse::json(
                rocket::http::Status::Accepted,
                &BookingView::new(&booking, now),
            ))
        })
        .await
}
