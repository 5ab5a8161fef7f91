//! Operator endpoints (`Authorization: Bearer <token>`). Another operator's objects answer 404.

use super::rate_limit::RateLimited;
use rocket::http::ContentType;
use rocket::serde::json::Json;

use super::context::Mutation;
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::responder::JsonBody;
use rocket::{get, patch, post, Responder, State};
use serde::Deserialize;

use super::guards::{Admin, Authorized, Guide, Staff};
use super::responder::ErrorResponse;
use super::views::{
    push_manifest_csv_rows, BookingView, DepartureView, ManifestEntryView, ManifestView,
    ScheduleView, TourView, MANIFEST_CSV_HEADER,
};
use crate::clock::Clock;
use crate::domain::ids::{DepartureId, TourId};
use crate::domain::schedule_draft::ScheduleDraft;
use crate::domain::tour::{TourDraft, TourPatch};
use crate::error::AppError;
use crate::service::guarantees::{self, MinimumChange};
use crate::service::{bookings, catalogue};
use crate::storage::Store;

fn tour_id(id: &str) -> Result<TourId, AppError> {
    TourId::parse(id).ok_or(AppError::NotFound)
}

fn departure_id(id: &str) -> Result<DepartureId, AppError> {
    DepartureId::parse(id).ok_or(AppError::NotFound)
}

#[utoipa::path(
    post,
    path = "/v1/tours",
    tag = "operator",
    summary = "Create a tour",
    params(IdempotencyKey),
    request_body = TourDraft,
    responses((status = 201, description = "Created", body = TourView)),
    security(("operator_token" = []))
)]
#[post("/v1/tours", data = "<body>")]
pub async fn create_tour(
    _rate: RateLimited,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, draft: TourDraft, _| async move {
            let tour = catalogue::create_tour(ctx.store, ctx.now(), &by, draft).await?;
            Ok(ApiResponse::created(
                format!("/v1/tours/{}", tour.id),
                &TourView::from(&tour),
            ))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/tours",
    tag = "operator",
    summary = "The operator's tours",
    responses((status = 200, description = "Tours", body = Vec<TourView>)),
    security(("operator_token" = []))
)]
#[get("/v1/tours")]
pub async fn list_tours(
    _rate: RateLimited,
    auth: Result<Authorized<Staff>, AppError>,
    store: &State<Store>,
) -> Result<Json<Vec<TourView>>, AppError> {
    let tours = catalogue::list_tours(store, &auth?.0.operator).await?;
    Ok(Json(tours.iter().map(TourView::from).collect()))
}

#[utoipa::path(
    patch,
    path = "/v1/tours/{id}",
    tag = "operator",
    summary = "Change a tour (not its time zone or currency)",
    params(("id" = String, Path, description = "Tour id"), IdempotencyKey),
    request_body = TourPatch,
    responses((status = 200, description = "Updated", body = TourView)),
    security(("operator_token" = []))
)]
#[patch("/v1/tours/<id>", data = "<body>")]
pub async fn update_tour(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, patch: TourPatch, _| async move {
            let tour =
                catalogue::update_tour(ctx.store, ctx.now(), &by, &tour_id(id)?, patch).await?;
            Ok(ApiResponse::ok(&TourView::from(&tour)))
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/tours/{id}/archive",
    tag = "operator",
    summary = "Archive a tour: no longer sold, gone from the public catalogue; its bookings stay",
    params(("id" = String, Path, description = "Tour id"), IdempotencyKey),
    responses((status = 200, description = "Archived", body = TourView)),
    security(("operator_token" = []))
)]
#[post("/v1/tours/<id>/archive")]
pub async fn archive_tour(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    set_archived(id, auth, mutation, true).await
}

#[utoipa::path(
    post,
    path = "/v1/tours/{id}/restore",
    tag = "operator",
    summary = "Put an archived tour back on sale",
    params(("id" = String, Path, description = "Tour id"), IdempotencyKey),
    responses((status = 200, description = "On sale again", body = TourView)),
    security(("operator_token" = []))
)]
#[post("/v1/tours/<id>/restore")]
pub async fn restore_tour(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    set_archived(id, auth, mutation, false).await
}

async fn set_archived(
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
    archived: bool,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let tour =
                catalogue::set_archived(ctx.store, ctx.now(), &by, &tour_id(id)?, archived).await?;
            Ok(ApiResponse::ok(&TourView::from(&tour)))
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/tours/{id}/schedules",
    tag = "operator",
    summary = "Create a recurring schedule and materialize its departures",
    params(("id" = String, Path, description = "Tour id"), IdempotencyKey),
    request_body = ScheduleDraft,
    responses((status = 201, description = "Created", body = ScheduleView)),
    security(("operator_token" = []))
)]
#[post("/v1/tours/<id>/schedules", data = "<body>")]
pub async fn create_schedule(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, draft: ScheduleDraft, _| async move {
            let horizon = ctx.config.schedule_horizon_days;
            let tour = tour_id(id)?;
            let (schedule, created) =
                catalogue::create_schedule(ctx.store, ctx.now(), horizon, &by, &tour, draft)
                    .await?;
            Ok(ApiResponse::created(
                format!("/v1/tours/{id}/schedules"),
                &ScheduleView::new(&schedule, Some(created)),
            ))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/tours/{id}/schedules",
    tag = "operator",
    summary = "A tour's schedules",
    params(("id" = String, Path, description = "Tour id")),
    responses((status = 200, description = "Schedules", body = Vec<ScheduleView>)),
    security(("operator_token" = []))
)]
#[get("/v1/tours/<id>/schedules")]
pub async fn list_schedules(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Staff>, AppError>,
    store: &State<Store>,
) -> Result<Json<Vec<ScheduleView>>, AppError> {
    let schedules = catalogue::list_schedules(store, &auth?.0.operator, &tour_id(id)?).await?;
    Ok(Json(
        schedules
            .iter()
            .map(|s| ScheduleView::new(s, None))
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/tours/{id}/departures",
    tag = "operator",
    summary = "Create a one-off departure",
    params(("id" = String, Path, description = "Tour id"), IdempotencyKey),
    request_body = catalogue::DepartureDraft,
    responses((status = 201, description = "Created", body = DepartureView)),
    security(("operator_token" = []))
)]
#[post("/v1/tours/<id>/departures", data = "<body>")]
pub async fn create_departure(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(
            scope,
            body,
            |ctx, draft: catalogue::DepartureDraft, _| async move {
                let now = ctx.now();
                let (tour, departure) =
                    catalogue::create_departure(ctx.store, now, &by, &tour_id(id)?, draft).await?;
                let view = DepartureView::new(&tour, &departure, now);
                Ok(ApiResponse::created(
                    format!("/v1/departures/{}", departure.id),
                    &view,
                ))
            },
        )
        .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"capacity": 16, "min_participants": 6}))]
pub struct DeparturePatch {
    /// Never below the seats taken.
    #[serde(default)]
    capacity: Option<i64>,
    /// The departure's own minimum of participants (0: none), or `null` for its tour's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    min_participants: Option<Option<i64>>,
    /// The departure's own decision time in hours before it starts (1 to 720), or `null` for its
    /// tour's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    decision_hours: Option<Option<i64>>,
}

/// A field sent as `null` (`Some(None)`) apart from one not sent (`None`).
pub(super) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[utoipa::path(
    patch,
    path = "/v1/departures/{id}",
    tag = "operator",
    summary = "Change a departure's capacity, or its own minimum of participants",
    params(("id" = String, Path, description = "Departure id"), IdempotencyKey),
    request_body = DeparturePatch,
    responses((status = 200, description = "Updated", body = DepartureView), (status = 409, description = "Conflict: `capacity_below_taken`, `idempotency_in_progress`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[patch("/v1/departures/<id>", data = "<body>")]
pub async fn update_departure(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, patch: DeparturePatch, _| async move {
            let now = ctx.now();
            let departure = departure_id(id)?;
            // Everything is checked before anything is written.
            let minimum = MinimumChange {
                min_participants: patch.min_participants,
                decision_hours: patch.decision_hours,
            }
            .check()?;
            if patch.capacity.is_none() && !minimum.changes_anything() {
                return Err(AppError::invalid(
                    "capacity",
                    "send capacity, min_participants or decision_hours",
                ));
            }
            if let Some(capacity) = patch.capacity {
                catalogue::set_capacity(ctx.store, now, &by, &departure, capacity).await?;
            }
            if minimum.changes_anything() {
                guarantees::set_minimum(ctx.store, now, &by, &departure, &minimum).await?;
            }
            let (tour, departure) =
                catalogue::own_departure(ctx.store, now, &by.operator, &departure).await?;
            Ok(ApiResponse::ok(&DepartureView::new(&tour, &departure, now)))
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/departures/{id}/guarantee",
    tag = "operator",
    summary = "Decide now that a departure runs, whatever its minimum: its travelers are told",
    params(("id" = String, Path, description = "Departure id"), IdempotencyKey),
    responses((status = 200, description = "Guaranteed (or already was)", body = DepartureView), (status = 409, description = "Conflict: `departure_cancelled`, `idempotency_in_progress`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/departures/<id>/guarantee")]
pub async fn guarantee_departure(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let now = ctx.now();
            let (tour, departure) =
                guarantees::guarantee(ctx.store, now, &by, &departure_id(id)?).await?;
            Ok(ApiResponse::ok(&DepartureView::new(&tour, &departure, now)))
        })
        .await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CancelledDepartureView {
    departure: DepartureView,
    /// Deprecated: `departure`, under its name before 0.2.
    #[schema(deprecated)]
    occurrence: DepartureView,
    cancelled_bookings: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/v1/departures/{id}/cancel",
    tag = "operator",
    summary = "Cancel a departure and its bookings",
    params(("id" = String, Path, description = "Departure id"), IdempotencyKey),
    responses((status = 200, description = "Cancelled", body = CancelledDepartureView), (status = 409, description = "Conflict: `departure_cancelled`, `idempotency_in_progress`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/departures/<id>/cancel")]
pub async fn cancel_departure(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let now = ctx.now();
            let (tour, departure, cancelled) =
                catalogue::cancel_departure(ctx.store, now, &by, &departure_id(id)?).await?;
            let shown = DepartureView::new(&tour, &departure, now);
            Ok(ApiResponse::ok(&CancelledDepartureView {
                occurrence: shown.clone(),
                departure: shown,
                cancelled_bookings: cancelled.iter().map(|c| c.reference.to_string()).collect(),
            }))
        })
        .await
}

#[derive(Responder)]
pub enum Manifest {
    Json(Box<Json<ManifestView>>),
    Csv((ContentType, String)),
}

#[utoipa::path(
    get,
    path = "/v1/departures/{id}/manifest",
    tag = "operator",
    summary = "Who holds seats on a departure (a page at a time; CSV whole)",
    params(
        ("id" = String, Path, description = "Departure id"),
        ("format" = Option<String>, Query, description = "json (default) or csv (the whole manifest in one file; `cursor` and `limit` do not apply)"),
        ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor`"),
        ("limit" = Option<String>, Query, description = "Bookings per page, 1 to 1000; 500 when not given")
    ),
    responses((status = 200, description = "The manifest (JSON, or CSV with format=csv). The totals count the whole departure; the bookings are the page's, oldest first", body = ManifestView, content_type = "application/json"), (status = 422, description = "`format` neither json nor csv, a bad `cursor` or `limit` (`validation_failed` with `fields`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[get("/v1/departures/<id>/manifest?<format>&<cursor>&<limit>")]
#[allow(clippy::too_many_arguments)]
pub async fn manifest(
    _rate: RateLimited,
    id: &str,
    format: Option<&str>,
    cursor: Option<&str>,
    limit: Option<&str>,
    auth: Result<Authorized<Guide>, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Manifest, AppError> {
    let by = auth?.0;
    let operator = by.operator.clone();
    let csv = match format {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::invalid("format", "must be json or csv")),
    };
    let now = clock.now();
    let id = departure_id(id)?;
    if csv {
        let mut out = String::from(MANIFEST_CSV_HEADER);
        catalogue::manifest_in_chunks(store, now, &operator, &id, |chunk| {
            push_manifest_csv_rows(&mut out, chunk, now)
        })
        .await?;
        return Ok(Manifest::Csv((ContentType::CSV, out)));
    }
    let page = catalogue::manifest_page(store, now, &operator, &id, cursor, limit).await?;
    let shown = DepartureView::new(&page.tour, &page.departure, now);
    Ok(Manifest::Json(Box::new(Json(ManifestView {
        seats_taken: page.totals.seats,
        bookings_total: page.totals.bookings,
        seats_checked_in: page.totals.checked_in,
        occurrence: shown.clone(),
        departure: shown,
        bookings: page
            .bookings
            .iter()
            .map(|b| ManifestEntryView::new(b, now))
            .collect(),
        next_cursor: page.next_cursor,
    }))))
}

#[utoipa::path(
    post,
    path = "/v1/bookings/{reference}/check-in",
    tag = "operator",
    summary = "Check in a confirmed booking",
    params(("reference" = String, Path, description = "Booking reference"), IdempotencyKey),
    responses((status = 200, description = "Checked in", body = BookingView), (status = 409, description = "Conflict: `invalid_transition`, `idempotency_in_progress`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/bookings/<reference>/check-in")]
pub async fn check_in(
    _rate: RateLimited,
    reference: &str,
    auth: Result<Authorized<Guide>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let now = ctx.now();
            let booking = bookings::check_in(ctx.store, now, reference, &by).await?;
            Ok(ApiResponse::ok(&BookingView::new(&booking, now)))
        })
        .await
}
