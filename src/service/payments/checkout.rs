//! Checkout: the payment of a new hold is created and stored, or the hold is released when it
//! cannot be paid.

use chrono::{DateTime, Utc};

use crate::domain::booking::CancelReason;
use crate::domain::booking_plan::{self, Decision};
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::integrations::payments::{NewPayment, PaymentProvider, ProviderPayment};
use crate::service::idempotency::{self, Claim};
use crate::service::plans::{self, release_lapsed};
use crate::storage::payments::{self as store_payments, PaymentRow};
use crate::storage::{bookings, departures, Store, WriteTx};

use super::{count_call, payment_key};

/// Creates the payment of a just-placed hold at the provider. On failure the hold is released
/// and the answer is 502 `payment_unavailable`.
pub async fn create_payment(
    store: &Store,
    provider: &dyn PaymentProvider,
    booking: &BookingRecord,
    tour_name: &str,
    now: DateTime<Utc>,
) -> Result<ProviderPayment, AppError> {
    let payment = NewPayment {
        amount: booking.total,
        currency: &booking.currency,
        booking_id: booking.id.as_str(),
        booking_reference: booking.reference.as_str(),
        operator_id: booking.operator_id.as_str(),
        description: tour_name,
    };
    let created = provider
        .create_payment(&payment, &payment_key(&booking.id))
        .await;
    count_call(store, "payment_intent", &created);
    match created {
        Ok(payment) => {
            tracing::info!(booking = %booking.reference, provider = provider.name(), payment = %payment.id, "payment created");
            Ok(payment)
        }
        Err(error) => {
            tracing::warn!(booking = %booking.reference, %error, "payment not created; releasing the hold");
            release_unpaid(
                store,
                booking,
                now,
                CancelReason::PaymentUnavailable,
                Some((None, "failed")),
            )
            .await?;
            Err(AppError::PaymentUnavailable)
        }
    }
}

/// Renders a paid hold's response (booking and payment row) for its idempotency key.
pub type RenderPaidHold<'a> =
    &'a (dyn Fn(&BookingRecord, &PaymentRow) -> (u16, String) + Send + Sync);

/// Stores a created payment on its payment row and, in the same transaction, the hold's
/// idempotent response. Returns the booking and payment as they stand after the write (a
/// webhook may have confirmed the booking already).
pub async fn store_payment(
    store: &Store,
    booking: &BookingRecord,
    created: &ProviderPayment,
    now: DateTime<Utc>,
    idempotent: Option<(&Claim, RenderPaidHold<'_>)>,
) -> Result<(BookingRecord, PaymentRow), AppError> {
    transaction!(store, |tx| {
        // The booking's lock first, as every writer of its payment row takes it.
        let current = bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_payments::set_provider_payment(
            &mut tx,
            &booking.id,
            &created.id,
            created.client_secret.as_deref(),
            &created.status,
            now,
        )
        .await?;
        let payment = store_payments::get_in(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let booking = BookingRecord {
            status: current.status,
            cancel_reason: current.cancel_reason,
            updated_at: current.updated_at,
            ..booking.clone()
        };
        if let Some((claim, render)) = idempotent {
            let (status, body) = render(&booking, &payment);
            idempotency::complete_in(&mut tx, claim, status, &body).await?;
        }
        Ok((booking, payment))
    })
    .await
}

/// Releases a hold that will not be paid (provider unreachable, payment failed or canceled).
/// A booking that is no longer held is left alone.
pub(super) async fn release_unpaid(
    store: &Store,
    booking: &BookingRecord,
    now: DateTime<Utc>,
    reason: CancelReason,
    payment_status: Option<(Option<&str>, &str)>,
) -> Result<Release, AppError> {
    transaction!(store, |tx| {
        release_unpaid_in(&mut tx, booking, now, reason, payment_status).await
    })
    .await
}

/// What releasing an unpaid hold found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Release {
    Released,
    /// No longer held (confirmed, cancelled, expired): nothing to release.
    NotHeld,
    /// The payment succeeded meanwhile: nothing may be released.
    Paid,
}

pub(super) async fn release_unpaid_in(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    now: DateTime<Utc>,
    reason: CancelReason,
    payment_status: Option<(Option<&str>, &str)>,
) -> Result<Release, AppError> {
    let locked = departures::lock(tx, &booking.departure_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = bookings::lock(tx, &booking.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let facts = plans::facts(tx, &current, locked.occupancy.starts_at, now).await?;
    // Checked under the locks: a success committed while this waited must win.
    if facts.paid_online {
        return Ok(Release::Paid);
    }
    if let Some((payment_id, status)) = payment_status {
        store_payments::set_status(tx, &booking.id, payment_id, status, now).await?;
    }
    match booking_plan::release_unpaid(&facts, reason)? {
        None => return Ok(Release::NotHeld),
        Some(Decision::ReleaseLapsed) => {
            release_lapsed(tx, now, &booking.departure_id).await?;
            return Ok(Release::Released);
        }
        Some(Decision::Apply(plan)) => plans::execute(tx, &current, &plan, now).await?,
    }
    tracing::info!(booking = %current.reference, reason = reason.as_str(), "hold released");
    Ok(Release::Released)
}
