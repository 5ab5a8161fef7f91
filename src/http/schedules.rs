//! Changing or ending a schedule: `PUT /v1/schedules/{id}` (creating and listing them are with
//! the tour, in `operator`).

use rocket::put;
use serde::Serialize;
use utoipa::ToSchema;

use super::context::Mutation;
use super::guards::{Admin, Authorized};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::JsonBody;
use super::views::{rfc3339, ScheduleView};
use crate::domain::ids::ScheduleId;
use crate::domain::schedule_draft::ScheduleDraft;
use crate::error::AppError;
use crate::service::schedules::{self, KeptDeparture};

/// A departure kept unchanged because travelers are on it.
#[derive(Serialize, ToSchema)]
pub struct KeptDepartureView {
    id: String,
    starts_at: String,
    capacity: u32,
    seats_taken: u32,
}

impl From<&KeptDeparture> for KeptDepartureView {
    fn from(kept: &KeptDeparture) -> Self {
        KeptDepartureView {
            id: kept.id.to_string(),
            starts_at: rfc3339(kept.starts_at),
            capacity: kept.capacity,
            seats_taken: kept.seats_taken,
        }
    }
}

/// The schedule as changed, and what happened to its future departures.
#[derive(Serialize, ToSchema)]
pub struct ScheduleChangeView {
    schedule: ScheduleView,
    /// Departures the new schedule added (up to the horizon).
    departures_created: usize,
    /// Departures without travelers it no longer has, taken off sale.
    departures_removed: usize,
    /// Departures given the new capacity.
    departures_resized: usize,
    /// Departures with travelers that no longer match the schedule (out of the rule, or more
    /// seats taken than the new capacity): kept as they were, for the operator to handle.
    departures_kept: Vec<KeptDepartureView>,
}

#[utoipa::path(
    put,
    path = "/v1/schedules/{id}",
    tag = "operator",
    summary = "Change or end a schedule",
    description = "Replaces the schedule's rule, dates, times, exceptions and capacity (send `until` to end it). Future departures follow: those the new schedule no longer has are taken off sale when nobody is on them, and kept and listed in `departures_kept` when travelers are; those it keeps take the new capacity when their seats taken fit. Past departures never change.",
    params(("id" = String, Path, description = "Schedule id"), IdempotencyKey),
    request_body = ScheduleDraft,
    responses((status = 200, description = "Changed", body = ScheduleChangeView)),
    security(("operator_token" = []))
)]
#[put("/v1/schedules/<id>", data = "<body>")]
pub async fn replace_schedule(
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
            let schedule = ScheduleId::parse(id).ok_or(AppError::NotFound)?;
            let horizon = ctx.config.schedule_horizon_days;
            let change =
                schedules::replace_schedule(ctx.store, ctx.now(), horizon, &by, &schedule, draft)
                    .await?;
            Ok(ApiResponse::ok(&ScheduleChangeView {
                schedule: ScheduleView::new(&change.schedule, None),
                departures_created: change.created,
                departures_removed: change.removed,
                departures_resized: change.resized,
                departures_kept: change.kept.iter().map(KeptDepartureView::from).collect(),
            }))
        })
        .await
}
