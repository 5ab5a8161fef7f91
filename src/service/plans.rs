//! Executes the plans of `domain::booking_plan` inside the caller's transaction, with the
//! booking's departure locked: the status, the seat counter, the refund, the message, the
//! payment taken at the desk. Nothing here decides; every branch is the plan's. The bulk
//! changes (lapsed holds, a cancelled departure's bookings) live here too, so every path that
//! moves seats is in one place.

use chrono::{DateTime, Utc};

use super::notifications;
use super::promos;
use super::webhooks::events as webhook_events;
use crate::domain::booking_plan::{Facts, Plan};
use crate::domain::ids::{BookingId, DepartureId, OperatorId};
use crate::domain::records::{BookingRecord, DepartureRecord, ReleasedSeats};
use crate::domain::webhook::EventType;
use crate::error::AppError;
use crate::storage::payments::{self as store_payments, NewRefund};
use crate::storage::{bookings, departures, ledger, reseller_bookings, Store, WriteTx};

/// Reads what the rules need about a locked booking of a departure starting at `starts_at`.
pub(crate) async fn facts(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Facts, AppError> {
    Ok(Facts {
        status: booking.status,
        lapsed: booking.is_lapsed_hold(now),
        seats: booking.seats,
        total: booking.total,
        paid: ledger::net(tx, &booking.id).await?,
        paid_online: paid_online(tx, &booking.id).await?,
        on_account: reseller_bookings::sold_on_account(tx, &booking.id).await?,
        starts_at,
    })
}

/// Carries out `plan` for the locked `booking`.
pub(crate) async fn execute(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    bookings::set_status(tx, &booking.id, plan.from, plan.to, now).await?;
    if let Some(reason) = plan.cancel_reason {
        bookings::set_cancel_reason(tx, &booking.id, reason.as_str()).await?;
    }
    if let Some(refund) = plan.refund {
        queue_refund(tx, booking, refund.amount, refund.reason, now).await?;
    }
    if let Some(kind) = plan.message {
        // The traveler hears about it through the outbox, committed with the change.
        notifications::enqueue(tx, &booking.id, kind, now).await?;
    }
    if let Some(amount) = plan.collect_offline {
        let entry = ledger::NewEntry {
            operator: &booking.operator_id,
            booking: &booking.id,
            kind: "payment",
            amount,
            currency: &booking.currency,
            provider: "offline",
            provider_reference: None,
            discount: booking.promo.as_ref().map_or(0, |promo| promo.discount),
        };
        ledger::append(tx, &entry, now).await?;
    }
    departures::add_seats(tx, &booking.departure_id, plan.seat_delta, now).await?;
    if plan.from.occupies_seats() && !plan.to.occupies_seats() {
        // Its promo code's redemption goes with its seats.
        promos::release(tx, std::slice::from_ref(&booking.id), now).await?;
    }
    if plan.seat_delta != 0 {
        let departure = [booking.departure_id.clone()];
        webhook_events::availability_changed(tx, &booking.operator_id, &departure, now).await?;
    }
    if plan.to != plan.from {
        webhook_events::booking_changed(tx, booking, EventType::of_status(plan.to), now).await?;
    }
    Ok(())
}

/// Whether the booking's online payment has succeeded (it is then paid, whatever its status).
pub async fn paid_online(tx: &mut WriteTx, booking: &BookingId) -> Result<bool, AppError> {
    Ok(paid_through(tx, booking).await?.is_some())
}

/// The provider that took the booking's payment, once it succeeded.
async fn paid_through(tx: &mut WriteTx, booking: &BookingId) -> Result<Option<String>, AppError> {
    Ok(store_payments::get_in(tx, booking)
        .await?
        .filter(|p| p.status == "succeeded")
        .map(|p| p.provider))
}

/// What can still be refunded: the ledger's net minus refunds already on their way.
pub(crate) async fn refundable(tx: &mut WriteTx, booking: &BookingId) -> Result<i64, AppError> {
    let net = ledger::net(tx, booking).await?;
    let pending = store_payments::refunds_pending(tx, booking).await?;
    Ok((net - pending).max(0))
}

/// Queues a refund of `amount` (capped at what is refundable) in the caller's transaction;
/// returns its id, or `None` when nothing is to be refunded. An online payment is refunded
/// through the payment provider (sent after commit); an offline one is recorded as paid back
/// at once.
pub async fn queue_refund(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    amount: Option<i64>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, AppError> {
    let refundable = refundable(tx, &booking.id).await?;
    let amount = amount.unwrap_or(refundable).min(refundable);
    if amount <= 0 {
        return Ok(None);
    }
    // Paid back the way it was paid: through the provider that took it, else at the desk.
    let paid_through = paid_through(tx, &booking.id).await?;
    let online = paid_through.is_some();
    let id = ulid::Ulid::new().to_string();
    let provider = paid_through.as_deref().unwrap_or("offline");
    store_payments::insert_refund(
        tx,
        &NewRefund {
            id: &id,
            booking: &booking.id,
            operator: &booking.operator_id,
            amount,
            currency: &booking.currency,
            provider,
            reason,
            status: if online { "pending" } else { "succeeded" },
            provider_refund_id: None,
        },
        now,
    )
    .await?;
    if !online {
        // Cash handed back at the desk: the ledger records it now.
        ledger::append(
            tx,
            &ledger::NewEntry {
                operator: &booking.operator_id,
                booking: &booking.id,
                kind: "refund",
                amount: -amount,
                currency: &booking.currency,
                provider: "offline",
                provider_reference: Some(&id),
                discount: 0,
            },
            now,
        )
        .await?;
        webhook_events::booking_refunded(tx, booking, &id, amount, now).await?;
    }
    tracing::info!(booking = %booking.reference, refund = %id, amount, reason, provider, "refund queued");
    Ok(Some(id))
}

/// Releases the lapsed holds of a locked departure, updating its counter; returns the seats freed.
pub(crate) async fn release_lapsed(
    tx: &mut WriteTx,
    now: DateTime<Utc>,
    id: &DepartureId,
) -> Result<u32, AppError> {
    let released = bookings::release_lapsed_holds(tx, id, now).await?;
    let seats = total_seats(&released);
    departures::add_seats(tx, id, -i64::from(seats), now).await?;
    for hold in &released {
        tracing::info!(booking = %hold.reference, departure = %id, seats = hold.seats, "hold expired");
    }
    if let Some(first) = released.first() {
        // One departure's holds: one operator's.
        let ids: Vec<BookingId> = released.iter().map(|h| h.booking_id.clone()).collect();
        promos::release(tx, &ids, now).await?;
        let operator = &first.operator_id;
        webhook_events::bookings_changed(tx, operator, &ids, EventType::BookingExpired, now)
            .await?;
        if seats > 0 {
            webhook_events::availability_changed(tx, operator, std::slice::from_ref(id), now)
                .await?;
        }
    }
    Ok(seats)
}

/// A booking and the departures a change moves it between (the same one when it stays),
/// locked in the order every writer takes them: the target's shared resources, departures by
/// id, then the booking.
pub(crate) struct MoveLocks {
    pub from: DepartureRecord,
    /// Where it goes, its lapsed holds freed (its counter read after); `None`: no such departure.
    pub to: Option<DepartureRecord>,
    pub booking: BookingRecord,
}

/// The departure a booking is on now, read before a move's transaction: the move locks it and
/// [`lock_move`] checks it did not change in between.
pub(crate) async fn departure_now(
    store: &Store,
    booking: &BookingId,
) -> Result<DepartureId, AppError> {
    Ok(bookings::find_by_id(store, booking.as_str())
        .await?
        .ok_or(AppError::NotFound)?
        .departure_id)
}

/// Locks what moving `booking` from `source` to `target` touches, so two opposite moves, or a
/// move and holds, never deadlock. A booking that left `source` since it was read is `Busy`
/// (what the caller computed from the old state would be wrong; `with_retry` reads again).
pub(crate) async fn lock_move(
    tx: &mut WriteTx,
    now: DateTime<Utc>,
    booking: &BookingId,
    source: &DepartureId,
    target: &DepartureId,
) -> Result<MoveLocks, AppError> {
    // The target's shared resources first: the seats arrive there.
    let target_now = departures::read_in(tx, target, now).await?;
    let mut target_resources = None;
    if let Some(record) = &target_now {
        let draws = super::resources::Draws::of_tour_in(tx, &record.tour_id).await?;
        let locked = draws.lock(tx, record).await?;
        target_resources = Some((draws, locked));
    }
    let (first, second) = if source <= target {
        (source, target)
    } else {
        (target, source)
    };
    let first_row = departures::lock(tx, first).await?;
    let second_row = if second == first {
        first_row.clone()
    } else {
        departures::lock(tx, second).await?
    };
    let (from, to) = if first == source {
        (first_row, second_row)
    } else {
        (second_row, first_row)
    };
    let from = from.ok_or(AppError::NotFound)?;
    let booking = bookings::lock(tx, booking)
        .await?
        .ok_or(AppError::NotFound)?;
    if booking.departure_id != from.id {
        return Err(AppError::Busy);
    }
    let mut to = to;
    if let Some(to) = to.as_mut() {
        // Under the lock `seats_expired` reads 0: free lapsed holds for real first. (A lapsed
        // hold being moved is freed too; its move is then refused and rolled back.)
        let freed = release_lapsed(tx, now, &to.id).await?;
        to.occupancy.seats_taken = to.occupancy.seats_taken.saturating_sub(freed);
        if let Some((draws, locked)) = &target_resources {
            // On one resource, the seats still counted where they come from (conservative).
            to.occupancy.resource_room = draws.room_locked(tx, locked, to, now).await?;
        }
        // Seats owed to the target's waiting line are nobody else's.
        super::waitlist::hold_back_locked(tx, &to.id, &mut to.occupancy).await?;
    }
    Ok(MoveLocks { from, to, booking })
}

/// Moves a booking's seats between two locked departures: `before` leave `from` and `after`
/// join `to` (on one departure, the difference).
pub(crate) async fn shift_seats(
    tx: &mut WriteTx,
    operator: &OperatorId,
    from: &DepartureId,
    to: &DepartureId,
    before: u32,
    after: u32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let (before, after) = (i64::from(before), i64::from(after));
    if from == to {
        if after != before {
            departures::add_seats(tx, to, after - before, now).await?;
            webhook_events::availability_changed(tx, operator, std::slice::from_ref(to), now)
                .await?;
        }
    } else {
        departures::add_seats(tx, from, -before, now).await?;
        departures::add_seats(tx, to, after, now).await?;
        let both = [from.clone(), to.clone()];
        webhook_events::availability_changed(tx, operator, &both, now).await?;
    }
    Ok(())
}

pub(crate) fn total_seats(released: &[ReleasedSeats]) -> u32 {
    released.iter().map(|r| r.seats).sum()
}
