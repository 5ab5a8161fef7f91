//! Recurring schedules: created, previewed, listed, and materialized into departures.

use chrono::{DateTime, Duration, Utc};

use std::collections::HashSet;

use crate::domain::ids::{DepartureId, OperatorId, ScheduleId, TourId};
use crate::domain::records::{ScheduleRecord, TourRecord};
use crate::domain::schedule::PreviewDeparture;
use crate::domain::schedule_draft::ScheduleDraft;
use crate::domain::webhook::EventType;
use crate::error::AppError;
use crate::service::audit::{self, Action, Target};
use crate::service::principal::Principal;
use crate::service::resources;
use crate::service::webhooks::events as webhook_events;
use crate::storage::{catalogue, departures, Store, WriteTx};

use super::{own_tour, MAX_MATERIALIZED};

/// Creates a recurring schedule and materializes its departures up to the horizon.
pub async fn create_schedule(
    store: &Store,
    now: DateTime<Utc>,
    horizon_days: u32,
    by: &Principal,
    tour_id: &TourId,
    draft: ScheduleDraft,
) -> Result<(ScheduleRecord, usize), AppError> {
    let tour = own_tour(store, &by.operator, tour_id).await?;
    tour.check_on_sale()?;
    let valid = draft.validate(tour.tour.timezone)?;
    let record = ScheduleRecord {
        id: ScheduleId::generate(),
        tour_id: tour_id.clone(),
        rrule: valid.schedule.recurrence.to_string(),
        start_date: valid.schedule.start_date.to_string(),
        until: valid.schedule.until.map(|d| d.to_string()),
        times: valid
            .schedule
            .times
            .iter()
            .map(|t| t.format("%H:%M").to_string())
            .collect(),
        exceptions: valid
            .schedule
            .exceptions
            .iter()
            .map(|d| d.to_string())
            .collect(),
        capacity: valid.capacity,
        materialized_until: None,
    };
    // The schedule and its departures commit together: a retry after a failure never finds a
    // schedule without departures, nor creates a second one.
    let created = transaction!(store, |tx| {
        catalogue::insert_schedule(&mut tx, &record, now).await?;
        let detail = serde_json::json!({
            "tour": tour_id.as_str(), "rrule": record.rrule, "capacity": record.capacity,
        });
        audit::record(
            &mut tx,
            by,
            now,
            Action::ScheduleCreate,
            Target::Schedule(record.id.as_str()),
            Some(&detail.to_string()),
        )
        .await?;
        materialize_in(&mut tx, now, horizon_days, &tour, &record, OnClash::Refuse).await
    })
    .await?;
    tracing::info!(schedule = %record.id, tour = %tour_id, created, "schedule created");
    Ok((record, created))
}

/// How many departures a schedule preview lists.
pub const PREVIEW_DEPARTURES: usize = 20;

/// The next departures `draft` would create for `tour`, each marked where a daylight-saving
/// change comes before it, for the operator to check before saving. Validates as
/// [`create_schedule`] does, so a draft that previews is one that saves.
pub fn preview_schedule(
    tour: &TourRecord,
    draft: &ScheduleDraft,
    now: DateTime<Utc>,
) -> Result<Vec<PreviewDeparture>, AppError> {
    let valid = draft.validate(tour.tour.timezone)?;
    Ok(valid.schedule.preview(now, PREVIEW_DEPARTURES))
}

pub async fn list_schedules(
    store: &Store,
    operator: &OperatorId,
    tour_id: &TourId,
) -> Result<Vec<ScheduleRecord>, AppError> {
    own_tour(store, operator, tour_id).await?;
    Ok(catalogue::list_schedules_for_tour(store, tour_id).await?)
}

/// The local start times (`HH:MM`) of a tour's schedules, for channels that list them.
pub async fn schedule_times(store: &Store, tour_id: &TourId) -> Result<Vec<String>, AppError> {
    Ok(catalogue::list_schedules_for_tour(store, tour_id)
        .await?
        .into_iter()
        .flat_map(|schedule| schedule.times)
        .collect())
}

/// Creates the schedule's departures from now up to `now + horizon_days`. Idempotent: a
/// departure that already exists (even one since cancelled or resized) is left alone.
pub async fn materialize(
    store: &Store,
    now: DateTime<Utc>,
    horizon_days: u32,
    tour: &TourRecord,
    schedule: &ScheduleRecord,
) -> Result<usize, AppError> {
    transaction!(store, |tx| {
        materialize_in(&mut tx, now, horizon_days, tour, schedule, OnClash::Skip).await
    })
    .await
}

/// What materializing does with a departure that would overdraw a resource drawn on whole (a
/// guide already leading another departure then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnClash {
    /// Refuse the whole change (`409 resource_over_capacity`): an operator is editing it.
    Refuse,
    /// Leave that departure out and log it: the horizon worker extends the schedule unattended.
    Skip,
}

pub(crate) async fn materialize_in(
    tx: &mut WriteTx,
    now: DateTime<Utc>,
    horizon_days: u32,
    tour: &TourRecord,
    schedule: &ScheduleRecord,
    on_clash: OnClash,
) -> Result<usize, AppError> {
    // From the schedule as it is under its lock: a change committed since the caller read it
    // (`service::schedules::replace_schedule`) wins, and the two never interleave.
    let schedule = &catalogue::lock_schedule(tx, &schedule.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let draft = ScheduleDraft {
        rrule: schedule.rrule.clone(),
        start_date: schedule.start_date.clone(),
        until: schedule.until.clone(),
        times: schedule.times.clone(),
        capacity: i64::from(schedule.capacity),
        exceptions: schedule.exceptions.clone(),
    };
    let valid = draft.validate(tour.tour.timezone)?;
    let horizon = now + Duration::days(i64::from(horizon_days));
    let mut starts = valid.schedule.departures_between(now, horizon);
    starts.truncate(MAX_MATERIALIZED);
    let existing: HashSet<DateTime<Utc>> =
        departures::scheduled_starts(tx, &schedule.id, now, horizon)
            .await?
            .into_iter()
            .collect();
    let mut units =
        resources::UnitBudget::lock(tx, tour, Some(&schedule.id), (now, horizon), now).await?;
    let mut created = Vec::new();
    for starts_at in starts.into_iter().filter(|s| !existing.contains(s)) {
        let departure = departures::NewDeparture {
            id: DepartureId::generate(),
            tour_id: &tour.id,
            schedule_id: Some(&schedule.id),
            starts_at,
            capacity: valid.capacity,
        };
        if let Err(clash) = units.take(&departure.id, starts_at) {
            match on_clash {
                OnClash::Refuse => return Err(clash),
                OnClash::Skip => {
                    tracing::warn!(schedule = %schedule.id, %starts_at, "departure left out: a resource it draws on is taken then");
                    continue;
                }
            }
        }
        departures::insert(tx, &departure, now).await?;
        created.push(departure.id);
    }
    catalogue::set_materialized_until(tx, &schedule.id, horizon).await?;
    webhook_events::departures_changed(
        tx,
        &tour.operator_id,
        &created,
        EventType::DepartureCreated,
        now,
    )
    .await?;
    Ok(created.len())
}
