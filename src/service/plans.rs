//! Executes the plans of `domain::booking_plan` inside the caller's transaction, with the
//! booking's departure locked: the status, the seat counter, the refund, the message, the
//! payment taken at the desk. Nothing here decides; every branch is the plan's. The bulk
//! changes (lapsed holds, a cancelled departure's bookings) live here too, so every path that
//! moves seats is in one place.

use chrono::{DateTime, Utc};

use super::notifications;
use crate::domain::booking_plan::{Facts, Plan};
use crate::domain::ids::{BookingId, DepartureId};
use crate::domain::records::{BookingRecord, ReleasedSeats};
use crate::error::AppError;
use crate::storage::payments::{self as store_payments, NewRefund};
use crate::storage::{bookings, departures, ledger, reseller_bookings, WriteTx};

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
        };
        ledger::append(tx, &entry, now).await?;
    }
    departures::add_seats(tx, &booking.departure_id, plan.seat_delta, now).await?;
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
            },
            now,
        )
        .await?;
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
    Ok(seats)
}

pub(crate) fn total_seats(released: &[ReleasedSeats]) -> u32 {
    released.iter().map(|r| r.seats).sum()
}
