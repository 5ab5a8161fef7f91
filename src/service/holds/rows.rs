//! The rows a hold writes in its transaction besides the seats: the booking and its items, what
//! else it carries (promo redemption, reseller record, payment or idempotent answer, waiting-line
//! offer) and its `booking.held` event. Shared by a hold alone and a batch of holds (`batch`).

use chrono::{DateTime, Utc};

use super::limits::Holder;
use super::{promos, PaymentSummary, PromoClaim, RenderHold, UUID_TAKEN};
use crate::domain::ids::{PaymentAccountId, WaitlistEntryId};
use crate::domain::message::MessageKind;
use crate::domain::records::BookingRecord;
use crate::domain::reseller::Resale;
use crate::error::AppError;
use crate::service::idempotency::{self, Claim};
use crate::storage::{
    bookings, outbox, payments as store_payments, reseller_bookings, waitlist as store_waitlist,
    StorageError, WriteTx,
};

/// The rows a hold writes besides the seats.
#[derive(Clone, Copy)]
pub(super) struct HoldRows<'a> {
    pub(super) booking: &'a BookingRecord,
    pub(super) holder: &'a Holder,
    pub(super) resale: Option<&'a Resale>,
    pub(super) promo: Option<&'a PromoClaim>,
    /// Paid online: the provider's name and the operator's account (`None`: the instance's).
    pub(super) paid: Option<(&'a str, Option<&'a PaymentAccountId>)>,
    pub(super) idempotent: Option<(&'a Claim, RenderHold<'a>)>,
    pub(super) access_token: &'a str,
    pub(super) waitlist: Option<&'a WaitlistEntryId>,
}

/// Writes a hold's rows in its transaction: the booking and its items, what else the hold
/// carries (see [`write_hold_extras`]) and its `booking.held` event.
pub(super) async fn write_hold(
    tx: &mut WriteTx,
    rows: HoldRows<'_>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    bookings::insert(tx, rows.booking, rows.holder.keys())
        .await
        .map_err(reference_taken_is_busy)?;
    write_hold_extras(tx, rows, now).await?;
    // On MySQL's hot path this runs before the departure is locked: the event and the
    // insert-only availability mark add nothing to the time the lock is held.
    crate::service::webhooks::events::booking_held(tx, rows.booking, now).await
}

/// A booking reference taken meanwhile (very rare: they are random) is retried like contention.
fn reference_taken_is_busy(error: StorageError) -> AppError {
    match error {
        StorageError::Duplicate => AppError::Busy,
        other => other.into(),
    }
}

/// What a hold writes besides its booking and its event: the promo code's redemption, the
/// reseller's record, and the payment to start or, paid on arrival, the answer kept for the
/// idempotency key; for an offer, the waiting-line entry marked offered.
pub(super) async fn write_hold_extras(
    tx: &mut WriteTx,
    rows: HoldRows<'_>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let booking = rows.booking;
    if let Some(claim) = rows.promo {
        promos::redeem(tx, claim, booking, now).await?;
    }
    if let Some(resale) = rows.resale {
        reseller_bookings::insert(tx, &booking.id, resale, now)
            .await
            .map_err(|error| match error {
                StorageError::Duplicate => AppError::Refused {
                    code: UUID_TAKEN,
                    message: "this uuid already names one of your bookings".to_owned(),
                },
                other => other.into(),
            })?;
    }
    match (rows.paid, rows.idempotent) {
        (Some((provider, account)), idempotent) => {
            // The key learns the booking with the booking: a retry that takes over a stalled
            // claim carries on with this hold instead of making another.
            if let Some((claim, _)) = idempotent {
                idempotency::attach_in(tx, claim, booking.id.as_str()).await?;
            }
            store_payments::insert(
                tx,
                &store_payments::NewPaymentRow {
                    booking: &booking.id,
                    operator: &booking.operator_id,
                    provider,
                    account,
                    amount: booking.total,
                    currency: &booking.currency,
                },
                now,
            )
            .await?;
        }
        (None, Some((claim, render))) => {
            let (status, body) =
                render(booking, rows.access_token, &PaymentSummary::new_hold(None));
            idempotency::complete_in(tx, claim, status, &body).await?;
        }
        (None, None) => {}
    }
    if let Some(entry) = rows.waitlist {
        // Removed by the operator since the line was read: no offer.
        if !store_waitlist::set_offered(tx, entry, &booking.id, now).await? {
            return Err(AppError::Refused {
                code: crate::service::waitlist::NOT_SERVED,
                message: "the traveler no longer waits".to_owned(),
            });
        }
        outbox::enqueue(tx, &booking.id, MessageKind::WaitlistOffer, now).await?;
    }
    Ok(())
}
