//! Tours, schedules and departures: what operators set up and travelers browse.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;

use std::collections::HashMap;

use super::audit::{self, Action, Target};
use super::notifications;
use super::plans::{release_lapsed, total_seats};
use super::principal::Principal;
use super::resources;
use super::waitlist;
use super::webhooks::events as webhook_events;
use crate::domain::booking::CancelReason;
use crate::domain::capacity::Occupancy;
use crate::domain::capacity::{parse_capacity, DepartureStatus};
use crate::domain::ids::{DepartureId, OperatorId, TourId};
use crate::domain::message::MessageKind;
use crate::domain::records::{DepartureRecord, ReleasedSeats, TourRecord};
use crate::domain::recurrence::parse_date;
use crate::domain::tour::{TourDraft, TourPatch};
use crate::domain::webhook::EventType;
use crate::error::{AppError, Problems};
use crate::storage::{bookings, catalogue, departures, reseller_receivables, Store, WriteTx};

mod manifest;
mod schedules;

pub use self::manifest::*;
pub use self::schedules::*;
pub(crate) use self::schedules::{materialize_in, OnClash};

/// Longest availability window one request may ask for, in days (about a quarter).
pub const MAX_RANGE_DAYS: i64 = 93;
/// How far ahead a one-off departure may be scheduled (ten years): a sanity bound that also
/// keeps every instant inside what both databases store.
pub const MAX_DAYS_AHEAD: i64 = 3653;
/// Most departures one schedule materialization may create at once.
const MAX_MATERIALIZED: usize = 20_000;

pub async fn create_tour(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    draft: TourDraft,
) -> Result<TourRecord, AppError> {
    let operator = &by.operator;
    let tour = draft.validate()?;
    let id = TourId::generate();
    transaction!(store, |tx| {
        catalogue::insert_tour(&mut tx, &id, operator, &tour, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::TourCreate,
            Target::Tour(id.as_str()),
            None,
        )
        .await
    })
    .await?;
    tracing::info!(tour = %id, operator = %operator, "tour created");
    Ok(TourRecord {
        id,
        operator_id: operator.clone(),
        tour,
        created_at: now,
        updated_at: now,
        archived_at: None,
        price_rules: Vec::new(),
    })
}

pub async fn update_tour(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &TourId,
    patch: TourPatch,
) -> Result<TourRecord, AppError> {
    let operator = &by.operator;
    let mut record = own_tour(store, operator, id).await?;
    let detail = Some(patch_detail(&patch));
    record.tour = record.tour.patched(patch)?;
    record.updated_at = now;
    transaction!(store, |tx| {
        catalogue::update_tour(&mut tx, id, &record.tour, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::TourUpdate,
            Target::Tour(id.as_str()),
            detail.as_deref(),
        )
        .await
    })
    .await?;
    tracing::info!(tour = %id, operator = %operator, "tour updated");
    Ok(record)
}

/// The audit detail of a tour change: which fields, and the new prices when units change.
fn patch_detail(patch: &TourPatch) -> String {
    let fields: Vec<&str> = [
        ("name", patch.name.is_some()),
        ("description", patch.description.is_some()),
        ("meeting_point", patch.meeting_point.is_some()),
        ("duration_minutes", patch.duration_minutes.is_some()),
        ("cutoff_minutes", patch.cutoff_minutes.is_some()),
        ("min_per_booking", patch.min_per_booking.is_some()),
        ("max_per_booking", patch.max_per_booking.is_some()),
        ("units", patch.units.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    let prices: Option<serde_json::Map<String, serde_json::Value>> =
        patch.units.as_ref().map(|units| {
            units
                .iter()
                .map(|u| (u.code.clone(), serde_json::json!(u.price)))
                .collect()
        });
    serde_json::json!({ "fields": fields, "prices": prices }).to_string()
}

/// Any tour, archived or not (a booking's tour, a manage page).
pub async fn tour(store: &Store, id: &TourId) -> Result<TourRecord, AppError> {
    catalogue::get_tour(store, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A tour the public catalogue shows: an archived one is "not found" there.
pub async fn public_tour(store: &Store, id: &TourId) -> Result<TourRecord, AppError> {
    let record = tour(store, id).await?;
    if record.archived_at.is_some() {
        return Err(AppError::NotFound);
    }
    Ok(record)
}

/// Archives a tour (`archived`: it is no longer sold, and leaves the public catalogue) or puts
/// it back on sale. Its bookings, departures and schedules stay; schedules make no new
/// departures while it is archived.
pub async fn set_archived(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &TourId,
    archived: bool,
) -> Result<TourRecord, AppError> {
    let operator = &by.operator;
    let mut record = own_tour(store, operator, id).await?;
    let action = if archived {
        Action::TourArchive
    } else {
        Action::TourRestore
    };
    let at = archived.then_some(now);
    transaction!(store, |tx| {
        catalogue::set_tour_archived(&mut tx, id, at, now).await?;
        audit::record(&mut tx, by, now, action, Target::Tour(id.as_str()), None).await
    })
    .await?;
    tracing::info!(tour = %id, operator = %operator, archived, "tour archive state changed");
    record.archived_at = at;
    record.updated_at = now;
    Ok(record)
}

/// A tour of this operator; another operator's tour is "not found".
pub async fn own_tour(
    store: &Store,
    operator: &OperatorId,
    id: &TourId,
) -> Result<TourRecord, AppError> {
    let record = tour(store, id).await?;
    if &record.operator_id != operator {
        return Err(AppError::NotFound);
    }
    Ok(record)
}

pub async fn list_tours(store: &Store, operator: &OperatorId) -> Result<Vec<TourRecord>, AppError> {
    Ok(catalogue::list_tours(store, operator).await?)
}

/// An operator's departures starting in the next [`MAX_RANGE_DAYS`] days and not cancelled, by
/// tour, read in one query (the soonest 5000 in all): what a catalogue's "from" prices are
/// taken over (`TourRecord::prices_from`). Seats are the departures' own; a departure full only
/// because a shared resource is may still count.
pub async fn upcoming_by_tour(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
) -> Result<HashMap<TourId, Vec<DepartureRecord>>, AppError> {
    let until = now + Duration::days(MAX_RANGE_DAYS);
    let listed = departures::list_for_operator(store, operator, now, until, now).await?;
    let mut by_tour: HashMap<TourId, Vec<DepartureRecord>> = HashMap::new();
    for departure in listed {
        by_tour
            .entry(departure.tour_id.clone())
            .or_default()
            .push(departure);
    }
    Ok(by_tour)
}

/// One tour's departures starting in the next [`MAX_RANGE_DAYS`] days, as
/// [`upcoming_by_tour`] reads an operator's: what its tour page's "from" prices are taken over,
/// so the page and the catalogue agree.
pub async fn upcoming_of_tour(
    store: &Store,
    now: DateTime<Utc>,
    tour: &TourRecord,
) -> Result<Vec<DepartureRecord>, AppError> {
    let until = now + Duration::days(MAX_RANGE_DAYS);
    Ok(departures::list_for_tour(store, &tour.id, now, until, now).await?)
}

/// `POST /v1/tours/{id}/departures`: a one-off departure.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_at": "2027-05-01T09:00:00Z", "capacity": 12}))]
pub struct DepartureDraft {
    pub starts_at: String,
    pub capacity: i64,
}

pub async fn create_departure(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    tour_id: &TourId,
    draft: DepartureDraft,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let tour = own_tour(store, &by.operator, tour_id).await?;
    tour.check_on_sale()?;
    let mut p = Problems::new();
    let starts_at = p.check(
        "starts_at",
        DateTime::parse_from_rfc3339(&draft.starts_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| "must be an RFC 3339 time such as 2027-05-01T09:00:00Z"),
    );
    if starts_at.is_some_and(|t| t <= now) {
        p.add("starts_at", "must be in the future");
    } else if starts_at.is_some_and(|t| t > now + Duration::days(MAX_DAYS_AHEAD)) {
        p.add(
            "starts_at",
            format!("must be within {MAX_DAYS_AHEAD} days from now"),
        );
    }
    let capacity = p.check("capacity", parse_capacity(draft.capacity, false));
    p.into_result()?;
    let (Some(starts_at), Some(capacity)) = (starts_at, capacity) else {
        return Err(AppError::invalid("departure", "is invalid"));
    };
    let id = DepartureId::generate();
    let new = departures::NewDeparture {
        id: id.clone(),
        tour_id,
        schedule_id: None,
        starts_at,
        capacity,
    };
    let detail = serde_json::json!({
        "tour": tour_id.as_str(), "starts_at": starts_at.to_rfc3339(), "capacity": capacity,
    })
    .to_string();
    transaction!(store, |tx| {
        resources::UnitBudget::lock(&mut tx, &tour, None, (starts_at, starts_at), now)
            .await?
            .take(&new.id, starts_at)?;
        departures::insert(&mut tx, &new, now).await?;
        let created = std::slice::from_ref(&new.id);
        webhook_events::departures_changed(
            &mut tx,
            &by.operator,
            created,
            EventType::DepartureCreated,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::DepartureCreate,
            Target::Departure(id.as_str()),
            Some(&detail),
        )
        .await
    })
    .await?;
    tracing::info!(departure = %id, tour = %tour_id, capacity, "departure created");
    let occupancy = Occupancy {
        starts_at,
        status: DepartureStatus::Scheduled,
        capacity,
        seats_taken: 0,
        seats_expired: 0,
        resource_room: None,
        held_for_waitlist: 0,
    };
    Ok((
        tour,
        DepartureRecord {
            id,
            tour_id: tour_id.clone(),
            schedule_id: None,
            occupancy,
            min_participants: None,
            decision_hours: None,
            guaranteed_at: None,
            own_prices: None,
        },
    ))
}

/// A departure with its tour, for the public catalogue.
pub async fn departure(
    store: &Store,
    now: DateTime<Utc>,
    id: &DepartureId,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let departure = departures::get(store, id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let tour = tour(store, &departure.tour_id).await?;
    let mut listed = [departure];
    resources::limit(store, &tour, &mut listed, now).await?;
    waitlist::limit(store, &mut listed).await?;
    let [departure] = listed;
    Ok((tour, departure))
}

/// A departure the public catalogue and booking pages show: one of an archived tour is "not
/// found" there, like its tour (its bookings' own pages still load it with [`departure`]).
pub async fn public_departure(
    store: &Store,
    now: DateTime<Utc>,
    id: &DepartureId,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let (tour, departure) = departure(store, now, id).await?;
    if tour.archived_at.is_some() {
        return Err(AppError::NotFound);
    }
    Ok((tour, departure))
}

pub(crate) async fn own_departure(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    id: &DepartureId,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let (tour, departure) = departure(store, now, id).await?;
    if &tour.operator_id != operator {
        return Err(AppError::NotFound);
    }
    Ok((tour, departure))
}

/// Parsed `?from=&to=` of an availability request: local dates in the tour's zone.
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// Defaults: from today (tour-local) for 31 days.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<DateRange, AppError> {
        let mut p = Problems::new();
        let from = match from {
            Some(text) => p.check("from", parse_date(text)),
            None => Some(today),
        };
        let to = match (to, from) {
            (Some(text), _) => p.check("to", parse_date(text)),
            (None, Some(from)) => from.checked_add_signed(Duration::days(30)),
            (None, None) => None,
        };
        if let (Some(from), Some(to)) = (from, to) {
            // Far outside any departure, and beyond what MySQL's DATETIME can hold.
            if from.year() < 1970 || to.year() > 9998 {
                p.add("from", "dates must lie between 1970 and 9998");
            } else if from > to {
                p.add("from", "must not be after to");
            } else if (to - from).num_days() >= MAX_RANGE_DAYS {
                p.add(
                    "to",
                    format!("the range may cover at most {MAX_RANGE_DAYS} days"),
                );
            }
        }
        p.into_result()?;
        match (from, to) {
            (Some(from), Some(to)) => Ok(DateRange { from, to }),
            _ => Err(AppError::invalid("from", "is invalid")),
        }
    }
}

/// Departures of a tour on the local dates `from..=to`.
pub async fn availability(
    store: &Store,
    now: DateTime<Utc>,
    tour_id: &TourId,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(TourRecord, Vec<DepartureRecord>), AppError> {
    let tour = public_tour(store, tour_id).await?;
    let tz = tour.tour.timezone;
    let range = DateRange::parse(from, to, now.with_timezone(&tz).date_naive())?;
    let list = departures_on(store, now, &tour, &range).await?;
    Ok((tour, list))
}

/// Departures of an already loaded tour on the tour-local dates of `range`, in one query (the
/// tour page's month calendar).
pub async fn departures_on(
    store: &Store,
    now: DateTime<Utc>,
    tour: &TourRecord,
    range: &DateRange,
) -> Result<Vec<DepartureRecord>, AppError> {
    let tz = tour.tour.timezone;
    let midnight = chrono::NaiveTime::MIN;
    let start = crate::domain::schedule::resolve_local(tz, range.from, midnight);
    let end_date = range
        .to
        .succ_opt()
        .ok_or_else(|| AppError::invalid("to", "is out of range"))?;
    let end = crate::domain::schedule::resolve_local(tz, end_date, midnight);
    let mut listed = departures::list_for_tour(store, &tour.id, start, end, now).await?;
    resources::limit(store, tour, &mut listed, now).await?;
    waitlist::limit(store, &mut listed).await?;
    Ok(listed)
}

pub async fn set_capacity(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &DepartureId,
    capacity: i64,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let operator = &by.operator;
    let capacity = parse_capacity(capacity, true).map_err(|m| AppError::invalid("capacity", m))?;
    let (tour, _) = own_departure(store, now, operator, id).await?;
    let departure = transaction!(store, |tx| {
        let mut departure = departures::lock(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let released = release_lapsed(&mut tx, now, id).await?;
        let occupancy = &mut departure.occupancy;
        occupancy.seats_taken = occupancy.seats_taken.saturating_sub(released);
        occupancy.check_capacity(capacity)?;
        departures::set_capacity(&mut tx, id, capacity, now).await?;
        let changed = std::slice::from_ref(id);
        webhook_events::departures_changed(
            &mut tx,
            operator,
            changed,
            EventType::DepartureChanged,
            now,
        )
        .await?;
        let detail = serde_json::json!({ "capacity": capacity, "was": occupancy.capacity });
        occupancy.capacity = capacity;
        audit::record(
            &mut tx,
            by,
            now,
            Action::DepartureCapacity,
            Target::Departure(id.as_str()),
            Some(&detail.to_string()),
        )
        .await?;
        Ok(departure)
    })
    .await?;
    tracing::info!(departure = %id, operator = %operator, capacity, "capacity changed");
    Ok((tour, departure))
}

/// Cancels a departure and every held or confirmed booking on it, releasing their seats.
pub async fn cancel_departure(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &DepartureId,
) -> Result<(TourRecord, DepartureRecord, Vec<ReleasedSeats>), AppError> {
    let operator = &by.operator;
    let (tour, _) = own_departure(store, now, operator, id).await?;
    let (departure, cancelled) = transaction!(store, |tx| {
        let departure = departures::lock(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let why = Cancellation {
            reason: CancelReason::DepartureCancelled,
            message: MessageKind::DepartureCancelled,
            detail: serde_json::json!({}),
        };
        cancel_locked(&mut tx, by, departure, why, now).await
    })
    .await?;
    log_cancelled(id, &cancelled);
    Ok((tour, departure, cancelled))
}

/// Logs a committed cancellation (never from inside a transaction that may still be retried).
pub(crate) fn log_cancelled(id: &DepartureId, cancelled: &[ReleasedSeats]) {
    tracing::info!(departure = %id, bookings = cancelled.len(), "departure cancelled");
    for booking in cancelled {
        tracing::info!(booking = %booking.reference, departure = %id, "booking cancelled with its departure");
    }
}

/// Why a departure is cancelled: what its bookings record, what their travelers are told, and
/// what the audit log adds.
pub(crate) struct Cancellation {
    pub reason: CancelReason,
    pub message: MessageKind,
    pub detail: serde_json::Value,
}

/// Cancels a departure the caller's transaction has locked, with every held or confirmed booking
/// on it: whatever was paid goes back in full, resellers owe nothing for them, travelers are
/// told. Returns the departure as it now is and the bookings cancelled.
pub(crate) async fn cancel_locked(
    tx: &mut WriteTx,
    by: &Principal,
    mut departure: DepartureRecord,
    why: Cancellation,
    now: DateTime<Utc>,
) -> Result<(DepartureRecord, Vec<ReleasedSeats>), AppError> {
    let operator = &by.operator;
    let id = &departure.id.clone();
    if departure.occupancy.status == DepartureStatus::Cancelled {
        return Err(AppError::DepartureCancelled);
    }
    let lapsed = release_lapsed(tx, now, id).await?;
    let cancelled = bookings::cancel_live(tx, id, why.reason, now).await?;
    for booking in &cancelled {
        if let Some(record) = bookings::lock(tx, &booking.booking_id).await? {
            super::plans::queue_refund(tx, &record, None, why.reason.as_str(), now).await?;
        }
        reseller_receivables::forgive(tx, &booking.booking_id, now).await?;
        notifications::enqueue(tx, &booking.booking_id, why.message, now).await?;
    }
    let ids: Vec<_> = cancelled.iter().map(|b| b.booking_id.clone()).collect();
    super::promos::release(tx, &ids, now).await?;
    let kind = EventType::BookingCancelled;
    webhook_events::bookings_changed(tx, operator, &ids, kind, now).await?;
    let seats = total_seats(&cancelled);
    departures::add_seats(tx, id, -i64::from(seats), now).await?;
    departures::set_status(tx, id, DepartureStatus::Cancelled, now).await?;
    let cancelled_departure = std::slice::from_ref(id);
    webhook_events::departures_changed(
        tx,
        operator,
        cancelled_departure,
        EventType::DepartureCancelled,
        now,
    )
    .await?;
    let mut detail = why.detail;
    detail["bookings_cancelled"] = cancelled.len().into();
    audit::record(
        tx,
        by,
        now,
        Action::DepartureCancel,
        Target::Departure(id.as_str()),
        Some(&detail.to_string()),
    )
    .await?;
    let occupancy = &mut departure.occupancy;
    occupancy.seats_taken = occupancy.seats_taken.saturating_sub(lapsed + seats);
    occupancy.status = DepartureStatus::Cancelled;
    Ok((departure, cancelled))
}
