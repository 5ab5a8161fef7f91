//! The traveler's side: holding seats, reading, confirming and cancelling a booking.

use rocket::response::status::Created;
use rocket::serde::json::Json;

use super::responder::{parse_body, JsonBody};
use rocket::{get, post, State};

use super::guards::BookingCaller;
use super::views::BookingView;
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::service::{bookings, holds};
use crate::storage::Store;

/// Holds seats; the response carries the access token the traveler needs for everything else.
#[post("/v1/bookings", data = "<body>")]
pub async fn place_hold(
    body: JsonBody<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<Created<Json<BookingView>>, AppError> {
    let request: holds::HoldRequest = parse_body(body)?;
    let now = clock.now();
    let placed = holds::place_hold(store, now, config.hold_ttl(), request).await?;
    let mut view = BookingView::new(&placed.booking, now);
    view.access_token = Some(placed.access_token);
    Ok(Created::new(format!("/v1/bookings/{}", view.reference)).body(Json(view)))
}

#[get("/v1/bookings/<reference>")]
pub async fn get_booking(
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<BookingView>, AppError> {
    let booking = bookings::get(store, reference, &caller?.0).await?;
    Ok(Json(BookingView::new(&booking, clock.now())))
}

#[post("/v1/bookings/<reference>/confirm")]
pub async fn confirm(
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<BookingView>, AppError> {
    let now = clock.now();
    let booking = bookings::confirm(store, now, reference, &caller?.0).await?;
    Ok(Json(BookingView::new(&booking, now)))
}

#[post("/v1/bookings/<reference>/cancel")]
pub async fn cancel(
    reference: &str,
    caller: Result<BookingCaller, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<BookingView>, AppError> {
    let now = clock.now();
    let booking = bookings::cancel(store, now, reference, &caller?.0).await?;
    Ok(Json(BookingView::new(&booking, now)))
}
