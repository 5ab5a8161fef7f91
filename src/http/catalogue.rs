//! Public catalogue: tours, departures and availability. No authentication.

use rocket::serde::json::Json;
use rocket::{get, State};

use super::views::{AvailabilityView, OccurrenceView, TourView};
use crate::clock::Clock;
use crate::domain::ids::{OccurrenceId, TourId};
use crate::error::AppError;
use crate::service::catalogue;
use crate::storage::Store;

#[get("/v1/tours/<id>")]
pub async fn get_tour(id: &str, store: &State<Store>) -> Result<Json<TourView>, AppError> {
    let id = TourId::parse(id).ok_or(AppError::NotFound)?;
    let tour = catalogue::tour(store, &id).await?;
    Ok(Json(TourView::from(&tour)))
}

/// Departures on the tour-local dates `from..=to` (default: the next 31 days).
#[get("/v1/tours/<id>/availability?<from>&<to>")]
pub async fn availability(
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<AvailabilityView>, AppError> {
    let id = TourId::parse(id).ok_or(AppError::NotFound)?;
    let now = clock.now();
    let (tour, occurrences) = catalogue::availability(store, now, &id, from, to).await?;
    Ok(Json(AvailabilityView {
        tour_id: tour.id.to_string(),
        timezone: tour.tour.timezone.name().to_owned(),
        occurrences: occurrences
            .iter()
            .map(|o| OccurrenceView::new(&tour, o, now))
            .collect(),
    }))
}

#[get("/v1/occurrences/<id>")]
pub async fn get_occurrence(
    id: &str,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<OccurrenceView>, AppError> {
    let id = OccurrenceId::parse(id).ok_or(AppError::NotFound)?;
    let now = clock.now();
    let (tour, occurrence) = catalogue::occurrence(store, now, &id).await?;
    Ok(Json(OccurrenceView::new(&tour, &occurrence, now)))
}
