//! Writes webhook events in the transaction of the change they describe, so an event exists
//! exactly when its change committed: a rolled-back hold or a failed confirm sends nothing.
//! An operator without a subscribed endpoint pays one indexed read and nothing is written.
//!
//! Uses only `storage` and `domain`: the booking paths (`holds`, `plans`, `reschedule`, …) call
//! it from inside their transactions.

use chrono::{DateTime, Utc};

use crate::domain::ids::{BookingId, DepartureId, OperatorId};
use crate::domain::records::{BookingRecord, DepartureRecord};
use crate::domain::webhook::{booking_payload, departure_payload, EventType, DELIVERY_WINDOW};
use crate::error::AppError;
use crate::storage::webhooks::{self as store_webhooks, NewEvent, Subscriber};
use crate::storage::{bookings, departures, WriteTx};

/// A new event's id: its `webhook-id` on every attempt and replay.
pub fn new_event_id() -> String {
    format!("msg_{}", ulid::Ulid::new())
}

/// `kind` happened to `booking` (any reading of it: the event carries the booking as this
/// transaction now sees it).
pub(crate) async fn booking_changed(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    kind: EventType,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let endpoints = store_webhooks::subscribers(tx, &booking.operator_id, kind).await?;
    emit(
        tx,
        &booking.operator_id,
        &booking.id,
        kind,
        None,
        &endpoints,
        now,
    )
    .await
}

/// `kind` happened to each of these bookings of `operator` (a departure's lapsed holds, a
/// cancelled departure's bookings).
pub(crate) async fn bookings_changed(
    tx: &mut WriteTx,
    operator: &OperatorId,
    ids: &[BookingId],
    kind: EventType,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let endpoints = store_webhooks::subscribers(tx, operator, kind).await?;
    for id in ids {
        emit(tx, operator, id, kind, None, &endpoints, now).await?;
    }
    Ok(())
}

/// A hold was written: `booking.held`, and its departure's availability changed. One read of the
/// operator's endpoints serves both, since every hold pays for it.
pub(crate) async fn booking_held(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    bookings_held(tx, &[booking], now).await
}

/// Holds of one operator were written (a batch of holds of one departure): `booking.held` for
/// each and the availability of their departures, after one read of the operator's endpoints.
pub(crate) async fn bookings_held(
    tx: &mut WriteTx,
    held: &[&BookingRecord],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(first) = held.first() else {
        return Ok(());
    };
    let operator = &first.operator_id;
    debug_assert!(held.iter().all(|booking| &booking.operator_id == operator));
    let subscriptions = store_webhooks::subscriptions(tx, operator).await?;
    let kind = EventType::BookingHeld;
    let endpoints = subscriptions.to(kind);
    for booking in held {
        emit(tx, operator, &booking.id, kind, None, &endpoints, now).await?;
    }
    if !subscriptions.to(EventType::AvailabilityChanged).is_empty() {
        let mut departures: Vec<DepartureId> = held
            .iter()
            .map(|booking| booking.departure_id.clone())
            .collect();
        departures.sort();
        departures.dedup();
        store_webhooks::mark_availability(tx, operator, &departures, now).await?;
    }
    Ok(())
}

/// A refund of `amount` (minor units) was recorded for `booking`.
pub(crate) async fn booking_refunded(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    refund_id: &str,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let kind = EventType::BookingRefunded;
    let endpoints = store_webhooks::subscribers(tx, &booking.operator_id, kind).await?;
    let refund = Some((refund_id, amount));
    emit(
        tx,
        &booking.operator_id,
        &booking.id,
        kind,
        refund,
        &endpoints,
        now,
    )
    .await
}

/// `kind` happened to each of these departures of one operator (created, changed, cancelled):
/// each event carries the departure as this transaction now sees it. A change or cancellation
/// also changes availability.
pub(crate) async fn departures_changed(
    tx: &mut WriteTx,
    operator: &OperatorId,
    ids: &[DepartureId],
    kind: EventType,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    if kind != EventType::DepartureCreated {
        availability_changed(tx, operator, ids, now).await?;
    }
    let endpoints = store_webhooks::subscribers(tx, operator, kind).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    for id in ids {
        if let Some(departure) = departures::read_in(tx, id, now).await? {
            insert(tx, operator, kind, &departure, false, &endpoints, now).await?;
        }
    }
    Ok(())
}

/// A departure no booking ever named is about to be deleted (a schedule change removed it):
/// `departure.cancelled` with `removed: true`, from its last reading.
pub(crate) async fn departure_removed(
    tx: &mut WriteTx,
    operator: &OperatorId,
    departure: &DepartureRecord,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let kind = EventType::DepartureCancelled;
    let endpoints = store_webhooks::subscribers(tx, operator, kind).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let mut last = departure.clone();
    last.occupancy.status = crate::domain::capacity::DepartureStatus::Cancelled;
    insert(tx, operator, kind, &last, true, &endpoints, now).await
}

/// These departures' seats, capacity or status changed: marks them for the debounced
/// `availability.changed` (written by [`super::availability::emit`]) when the operator has a
/// subscriber. Call it in the change's transaction.
pub(crate) async fn availability_changed(
    tx: &mut WriteTx,
    operator: &OperatorId,
    departures: &[DepartureId],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if departures.is_empty() {
        return Ok(());
    }
    let endpoints =
        store_webhooks::subscribers(tx, operator, EventType::AvailabilityChanged).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    store_webhooks::mark_availability(tx, operator, departures, now).await?;
    Ok(())
}

pub(super) async fn insert(
    tx: &mut WriteTx,
    operator: &OperatorId,
    kind: EventType,
    departure: &DepartureRecord,
    removed: bool,
    endpoints: &[Subscriber],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let id = new_event_id();
    let payload = departure_payload(&id, kind, now, departure, removed);
    let event = NewEvent {
        id: &id,
        operator,
        kind,
        subject: Some(departure.id.as_str()),
        payload: &payload,
        endpoints,
        give_up_at: now + DELIVERY_WINDOW,
    };
    store_webhooks::insert_event(tx, &event, now).await?;
    Ok(())
}

async fn emit(
    tx: &mut WriteTx,
    operator: &OperatorId,
    booking: &BookingId,
    kind: EventType,
    refund: Option<(&str, i64)>,
    endpoints: &[Subscriber],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let sequence = store_webhooks::next_sequence(tx, booking).await?;
    let Some(record) = bookings::read_in(tx, booking).await? else {
        return Ok(());
    };
    let id = new_event_id();
    let payload = booking_payload(&id, kind, now, &record, sequence, refund);
    let event = NewEvent {
        id: &id,
        operator,
        kind,
        subject: Some(booking.as_str()),
        payload: &payload,
        endpoints,
        give_up_at: now + DELIVERY_WINDOW,
    };
    store_webhooks::insert_event(tx, &event, now).await?;
    Ok(())
}
