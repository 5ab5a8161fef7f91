//! Public catalogue: tours, departures and availability. No authentication.

use super::rate_limit::RateLimited;
use rocket::serde::json::Json;
use rocket::{get, State};

use super::responder::ErrorResponse;
use super::views::{AvailabilityView, DepartureView, TourView};
use crate::clock::Clock;
use crate::domain::ids::{DepartureId, TourId};
use crate::error::AppError;
use crate::service::catalogue;
use crate::storage::Store;

#[utoipa::path(
    get,
    path = "/v1/tours/{id}",
    tag = "catalogue",
    summary = "A tour with its units and prices",
    params(("id" = String, Path, description = "Tour id")),
    responses((status = 200, description = "The tour", body = TourView))
)]
#[get("/v1/tours/<id>")]
pub async fn get_tour(
    _rate: RateLimited,
    id: &str,
    store: &State<Store>,
) -> Result<Json<TourView>, AppError> {
    let id = TourId::parse(id).ok_or(AppError::NotFound)?;
    let tour = catalogue::public_tour(store, &id).await?;
    Ok(Json(TourView::from(&tour)))
}

/// Departures on the tour-local dates `from..=to` (default: the next 31 days).
#[utoipa::path(
    get,
    path = "/v1/tours/{id}/availability",
    tag = "catalogue",
    summary = "Departures on tour-local dates from..=to",
    params(("id" = String, Path, description = "Tour id"), ("from" = Option<String>, Query, description = "YYYY-MM-DD, tour-local; default today"), ("to" = Option<String>, Query, description = "YYYY-MM-DD, tour-local; default from + 30 days; at most 93 days")),
    responses((status = 200, description = "Departures with seats and prices", body = AvailabilityView), (status = 422, description = "`from` or `to` not a YYYY-MM-DD date, or not a range of at most 93 days (`validation_failed` with `fields`)", body = ErrorResponse))
)]
#[get("/v1/tours/<id>/availability?<from>&<to>")]
pub async fn availability(
    _rate: RateLimited,
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<AvailabilityView>, AppError> {
    let id = TourId::parse(id).ok_or(AppError::NotFound)?;
    let now = clock.now();
    let (tour, departures) = catalogue::availability(store, now, &id, from, to).await?;
    let departures: Vec<DepartureView> = departures
        .iter()
        .map(|o| DepartureView::new(&tour, o, now))
        .collect();
    Ok(Json(AvailabilityView {
        tour_id: tour.id.to_string(),
        timezone: tour.tour.timezone.name().to_owned(),
        occurrences: departures.clone(),
        departures,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/departures/{id}",
    tag = "catalogue",
    summary = "One departure",
    params(("id" = String, Path, description = "Departure id")),
    responses((status = 200, description = "The departure", body = DepartureView))
)]
#[get("/v1/departures/<id>")]
pub async fn get_departure(
    _rate: RateLimited,
    id: &str,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<DepartureView>, AppError> {
    let id = DepartureId::parse(id).ok_or(AppError::NotFound)?;
    let now = clock.now();
    let (tour, departure) = catalogue::public_departure(store, now, &id).await?;
    Ok(Json(DepartureView::new(&tour, &departure, now)))
}
