//! Changing or ending a recurring schedule (`PUT /v1/schedules/{id}`): the schedule takes the
//! new rule, dates, times, exceptions and capacity; its future departures follow where nobody
//! is booked, and those with travelers are kept and listed (`domain::schedule_change`).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::catalogue::{materialize_in, own_tour, OnClash};
use super::plans::release_lapsed;
use super::principal::Principal;
use super::webhooks::events as webhook_events;
use crate::domain::capacity::DepartureStatus;
use crate::domain::ids::{DepartureId, OperatorId, ScheduleId};
use crate::domain::records::{ScheduleRecord, TourRecord};
use crate::domain::schedule_change::{plan, DepartureChange, FutureDeparture};
use crate::domain::schedule_draft::ScheduleDraft;
use crate::domain::webhook::EventType;
use crate::error::AppError;
use crate::storage::{catalogue, departures, Store};

/// A departure kept although the new schedule would not have it as it is: travelers are on it.
#[derive(Debug, Clone)]
pub struct KeptDeparture {
    pub id: DepartureId,
    pub starts_at: DateTime<Utc>,
    pub capacity: u32,
    pub seats_taken: u32,
}

/// What a schedule change did.
#[derive(Debug, Clone)]
pub struct ScheduleChange {
    pub schedule: ScheduleRecord,
    /// Departures the new rule added.
    pub created: usize,
    /// Departures without travelers that the new rule no longer has: deleted, or cancelled when
    /// an expired or cancelled booking still names them.
    pub removed: usize,
    /// Departures given the new capacity.
    pub resized: usize,
    /// Departures with travelers that do not match the new schedule, kept unchanged.
    pub kept: Vec<KeptDeparture>,
}

/// A schedule of `operator` and its tour; another operator's schedule is "not found".
pub async fn own_schedule(
    store: &Store,
    operator: &OperatorId,
    id: &ScheduleId,
) -> Result<(ScheduleRecord, TourRecord), AppError> {
    let schedule = catalogue::get_schedule(store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tour = own_tour(store, operator, &schedule.tour_id).await?;
    Ok((schedule, tour))
}

/// Replaces schedule `id` of the caller's operator with `draft` (to end it, send it with an
/// `until` date). One transaction: the schedule and each future departure are locked (the
/// departures in id order, as every path that locks several does), lapsed holds released, and
/// the plan applied; then departures the new rule adds up to the horizon are created.
pub async fn replace_schedule(
    store: &Store,
    now: DateTime<Utc>,
    horizon_days: u32,
    by: &Principal,
    id: &ScheduleId,
    draft: ScheduleDraft,
) -> Result<ScheduleChange, AppError> {
    let (_, tour) = own_schedule(store, &by.operator, id).await?;
    let valid = draft.validate(tour.tour.timezone)?;
    let horizon = now + Duration::days(i64::from(horizon_days));
    let new_starts: BTreeSet<DateTime<Utc>> = valid
        .schedule
        .departures_between(now, horizon)
        .into_iter()
        .collect();
    let change = transaction!(store, |tx| {
        let mut record = catalogue::lock_schedule(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        record.rrule = valid.schedule.recurrence.to_string();
        record.start_date = valid.schedule.start_date.to_string();
        record.until = valid.schedule.until.map(|d| d.to_string());
        record.times = valid
            .schedule
            .times
            .iter()
            .map(|t| t.format("%H:%M").to_string())
            .collect();
        record.exceptions = valid
            .schedule
            .exceptions
            .iter()
            .map(|d| d.to_string())
            .collect();
        record.capacity = valid.capacity;
        catalogue::update_schedule(&mut tx, &record).await?;
        let mut future = Vec::new();
        for departure in departures::future_of_schedule(&mut tx, id, now).await? {
            let Some(locked) = departures::lock(&mut tx, &departure).await? else {
                continue;
            };
            let released = release_lapsed(&mut tx, now, &departure).await?;
            let occupancy = &locked.occupancy;
            future.push(FutureDeparture {
                id: departure,
                starts_at: occupancy.starts_at,
                capacity: occupancy.capacity,
                seats_taken: occupancy.seats_taken.saturating_sub(released),
                scheduled: occupancy.status == DepartureStatus::Scheduled,
            });
        }
        let (mut removed, mut resized, mut kept) = (0, 0, Vec::new());
        let (mut changed, mut cancelled) = (Vec::new(), Vec::new());
        for (departure, change) in future
            .iter()
            .zip(plan(&future, &new_starts, record.capacity))
        {
            match change {
                DepartureChange::Keep => {}
                DepartureChange::Resize(capacity) => {
                    departures::set_capacity(&mut tx, &departure.id, capacity, now).await?;
                    changed.push(departure.id.clone());
                    resized += 1;
                }
                DepartureChange::Remove => {
                    let last = departures::read_in(&mut tx, &departure.id, now).await?;
                    if departures::delete_unbooked(&mut tx, &departure.id).await? {
                        if let Some(last) = last {
                            webhook_events::departure_removed(
                                &mut tx,
                                &tour.operator_id,
                                &last,
                                now,
                            )
                            .await?;
                        }
                    } else {
                        departures::set_status(
                            &mut tx,
                            &departure.id,
                            DepartureStatus::Cancelled,
                            now,
                        )
                        .await?;
                        cancelled.push(departure.id.clone());
                    }
                    removed += 1;
                }
                DepartureChange::KeepBooked => kept.push(KeptDeparture {
                    id: departure.id.clone(),
                    starts_at: departure.starts_at,
                    capacity: departure.capacity,
                    seats_taken: departure.seats_taken,
                }),
            }
        }
        let operator = &tour.operator_id;
        webhook_events::departures_changed(
            &mut tx,
            operator,
            &changed,
            EventType::DepartureChanged,
            now,
        )
        .await?;
        webhook_events::departures_changed(
            &mut tx,
            operator,
            &cancelled,
            EventType::DepartureCancelled,
            now,
        )
        .await?;
        let created =
            materialize_in(&mut tx, now, horizon_days, &tour, &record, OnClash::Refuse).await?;
        let detail = serde_json::json!({
            "rrule": record.rrule, "until": record.until, "capacity": record.capacity,
            "created": created, "removed": removed, "kept": kept.len(),
        });
        audit::record(
            &mut tx,
            by,
            now,
            Action::ScheduleUpdate,
            Target::Schedule(id.as_str()),
            Some(&detail.to_string()),
        )
        .await?;
        let schedule = catalogue::lock_schedule(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok::<_, AppError>(ScheduleChange {
            schedule,
            created,
            removed,
            resized,
            kept,
        })
    })
    .await?;
    tracing::info!(
        schedule = %id,
        created = change.created,
        removed = change.removed,
        kept = change.kept.len(),
        "schedule changed"
    );
    Ok(change)
}
