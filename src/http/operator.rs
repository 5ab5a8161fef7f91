//! Operator endpoints (`Authorization: Bearer <token>`). Another operator's objects answer 404.

use rocket::http::ContentType;
use rocket::serde::json::Json;

use super::idempotency::{operator_scope, ApiResponse, Idempotency};
use super::responder::{body_text, parse_text, JsonBody};
use rocket::{get, patch, post, Responder, State};
use serde::Deserialize;

use super::guards::OperatorAuth;
use super::views::{
    manifest_csv, BookingView, ManifestEntryView, ManifestView, OccurrenceView, ScheduleView,
    TourView,
};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::ids::{OccurrenceId, TourId};
use crate::domain::schedule_draft::ScheduleDraft;
use crate::domain::tour::{TourDraft, TourPatch};
use crate::error::AppError;
use crate::service::{bookings, catalogue};
use crate::storage::Store;

type Auth = Result<OperatorAuth, AppError>;

fn tour_id(id: &str) -> Result<TourId, AppError> {
    TourId::parse(id).ok_or(AppError::NotFound)
}

fn occurrence_id(id: &str) -> Result<OccurrenceId, AppError> {
    OccurrenceId::parse(id).ok_or(AppError::NotFound)
}

#[post("/v1/tours", data = "<body>")]
pub async fn create_tour(
    auth: Auth,
    body: JsonBody<'_>,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    let text = body_text(body)?;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            &text,
            |_| async {
                let draft: TourDraft = parse_text(&text)?;
                let tour = catalogue::create_tour(store, clock.now(), &operator, draft).await?;
                Ok(ApiResponse::created(
                    format!("/v1/tours/{}", tour.id),
                    &TourView::from(&tour),
                ))
            },
        )
        .await
}

#[get("/v1/tours")]
pub async fn list_tours(auth: Auth, store: &State<Store>) -> Result<Json<Vec<TourView>>, AppError> {
    let tours = catalogue::list_tours(store, &auth?.0).await?;
    Ok(Json(tours.iter().map(TourView::from).collect()))
}

#[patch("/v1/tours/<id>", data = "<body>")]
pub async fn update_tour(
    id: &str,
    auth: Auth,
    body: JsonBody<'_>,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    let text = body_text(body)?;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            &text,
            |_| async {
                let patch: TourPatch = parse_text(&text)?;
                let tour =
                    catalogue::update_tour(store, clock.now(), &operator, &tour_id(id)?, patch)
                        .await?;
                Ok(ApiResponse::ok(&TourView::from(&tour)))
            },
        )
        .await
}

#[post("/v1/tours/<id>/schedules", data = "<body>")]
pub async fn create_schedule(
    id: &str,
    auth: Auth,
    body: JsonBody<'_>,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    let text = body_text(body)?;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            &text,
            |_| async {
                let draft: ScheduleDraft = parse_text(&text)?;
                let horizon = config.schedule_horizon_days;
                let (schedule, created) = catalogue::create_schedule(
                    store,
                    clock.now(),
                    horizon,
                    &operator,
                    &tour_id(id)?,
                    draft,
                )
                .await?;
                Ok(ApiResponse::created(
                    format!("/v1/tours/{id}/schedules"),
                    &ScheduleView::new(&schedule, Some(created)),
                ))
            },
        )
        .await
}

#[get("/v1/tours/<id>/schedules")]
pub async fn list_schedules(
    id: &str,
    auth: Auth,
    store: &State<Store>,
) -> Result<Json<Vec<ScheduleView>>, AppError> {
    let schedules = catalogue::list_schedules(store, &auth?.0, &tour_id(id)?).await?;
    Ok(Json(
        schedules
            .iter()
            .map(|s| ScheduleView::new(s, None))
            .collect(),
    ))
}

#[post("/v1/tours/<id>/occurrences", data = "<body>")]
pub async fn create_occurrence(
    id: &str,
    auth: Auth,
    body: JsonBody<'_>,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    let text = body_text(body)?;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            &text,
            |_| async {
                let draft: catalogue::OccurrenceDraft = parse_text(&text)?;
                let now = clock.now();
                let (tour, occurrence) =
                    catalogue::create_occurrence(store, now, &operator, &tour_id(id)?, draft)
                        .await?;
                let view = OccurrenceView::new(&tour, &occurrence, now);
                Ok(ApiResponse::created(
                    format!("/v1/occurrences/{}", occurrence.id),
                    &view,
                ))
            },
        )
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OccurrencePatch {
    capacity: i64,
}

#[patch("/v1/occurrences/<id>", data = "<body>")]
pub async fn update_occurrence(
    id: &str,
    auth: Auth,
    body: JsonBody<'_>,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    let text = body_text(body)?;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            &text,
            |_| async {
                let patch: OccurrencePatch = parse_text(&text)?;
                let now = clock.now();
                let (tour, occurrence) = catalogue::set_capacity(
                    store,
                    now,
                    &operator,
                    &occurrence_id(id)?,
                    patch.capacity,
                )
                .await?;
                Ok(ApiResponse::ok(&OccurrenceView::new(
                    &tour,
                    &occurrence,
                    now,
                )))
            },
        )
        .await
}

#[derive(serde::Serialize)]
pub struct CancelledOccurrenceView {
    occurrence: OccurrenceView,
    cancelled_bookings: Vec<String>,
}

#[post("/v1/occurrences/<id>/cancel")]
pub async fn cancel_occurrence(
    id: &str,
    auth: Auth,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            "",
            |_| async {
                let now = clock.now();
                let (tour, occurrence, cancelled) =
                    catalogue::cancel_occurrence(store, now, &operator, &occurrence_id(id)?)
                        .await?;
                Ok(ApiResponse::ok(&CancelledOccurrenceView {
                    occurrence: OccurrenceView::new(&tour, &occurrence, now),
                    cancelled_bookings: cancelled.iter().map(|c| c.reference.to_string()).collect(),
                }))
            },
        )
        .await
}

#[derive(Responder)]
pub enum Manifest {
    Json(Json<ManifestView>),
    Csv((ContentType, String)),
}

#[get("/v1/occurrences/<id>/manifest?<format>")]
pub async fn manifest(
    id: &str,
    format: Option<&str>,
    auth: Auth,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Manifest, AppError> {
    let operator = auth?.0;
    let csv = match format {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::invalid("format", "must be json or csv")),
    };
    let now = clock.now();
    let (tour, occurrence, bookings) =
        catalogue::manifest(store, now, &operator, &occurrence_id(id)?).await?;
    if csv {
        return Ok(Manifest::Csv((
            ContentType::CSV,
            manifest_csv(&bookings, now),
        )));
    }
    Ok(Manifest::Json(Json(ManifestView {
        seats_taken: bookings.iter().map(|b| b.seats).sum(),
        occurrence: OccurrenceView::new(&tour, &occurrence, now),
        bookings: bookings
            .iter()
            .map(|b| ManifestEntryView::new(b, now))
            .collect(),
    })))
}

#[post("/v1/bookings/<reference>/check-in")]
pub async fn check_in(
    reference: &str,
    auth: Auth,
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            "",
            |_| async {
                let now = clock.now();
                let booking = bookings::check_in(store, now, reference, &operator).await?;
                Ok(ApiResponse::ok(&BookingView::new(&booking, now)))
            },
        )
        .await
}
