//! Refunds: sent to the provider after the transaction that queued them, recorded once
//! accepted, and asked for by operators.

use chrono::{DateTime, Duration, Utc};

use crate::domain::ids::{BookingId, BookingRef, OperatorId};
use crate::error::AppError;
use crate::integrations::payments::ProviderError;
use crate::service::audit::{self, Action, Target};
use crate::service::auth::Principal;
use crate::service::idempotency::{self, Claim};
use crate::service::plans::{queue_refund, refundable};
use crate::storage::payments::{self as store_payments, RefundRow};
use crate::storage::{bookings, ledger, Store, WriteTx};

use super::{count_call, refund_key, Gateway, Payments};

/// Sends due refunds to the provider (those of one booking, or all); returns how many were
/// tried. Safe to run anywhere at once: each refund is claimed (its next attempt moved past the
/// call's longest duration) before it is sent, the idempotency key makes the provider create it
/// once however often it is sent, and recording it is conditional on the row still being
/// pending.
pub async fn send_refunds(
    store: &Store,
    payments: &Payments,
    booking: Option<&BookingId>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let due = store_payments::due_refunds(store, now, booking, 100).await?;
    let mut sent = 0;
    for refund in &due {
        let lease = now + Duration::minutes(2);
        let claimed = transaction!(store, |tx| {
            Ok(store_payments::claim_refund(&mut tx, &refund.id, now, lease).await?)
        })
        .await?;
        if !claimed {
            continue;
        }
        sent += 1;
        // Sent through the account that took the payment. One that cannot be reached from here
        // (no instance key configured, keys that no longer open) is an attempt that failed: the
        // refund moves back in the queue with its backoff instead of blocking the others.
        let sending = async {
            let (payment_id, gateway) = account_of(store, payments, refund).await?;
            send_refund(store, &gateway, &payment_id, refund, now).await
        };
        if let Err(error) = sending.await {
            tracing::warn!(refund = %refund.id, %error, "refund not sent; will retry");
            let failed = transaction!(store, |tx| {
                let next = retry_at(refund, now);
                let detail = error.to_string();
                store_payments::refund_attempt_failed(
                    &mut tx,
                    &refund.id,
                    &detail,
                    Some(next),
                    now,
                )
                .await?;
                Ok(())
            })
            .await;
            if let Err(error) = failed {
                tracing::warn!(refund = %refund.id, %error, "refund attempt not recorded");
            }
        }
    }
    Ok(sent)
}

/// When a refund that failed now is tried again: 30 s doubling per attempt, up to about an
/// hour. Never given up: the refund may have happened, and only the same key can tell.
fn retry_at(refund: &RefundRow, now: DateTime<Utc>) -> DateTime<Utc> {
    let attempts = refund.attempts + 1;
    now + Duration::seconds(30 << attempts.min(7))
}

/// The provider's payment a refund is of, and the account that took it.
async fn account_of(
    store: &Store,
    payments: &Payments,
    refund: &RefundRow,
) -> Result<(String, Gateway), AppError> {
    let booking = BookingId::from_stored(refund.booking_id.clone());
    let payment = store_payments::get(store, &booking).await?;
    let unreachable =
        |why: &str| AppError::Internal(anyhow::anyhow!("refund {}: {why}", refund.id));
    let payment = payment.ok_or_else(|| unreachable("its booking has no online payment"))?;
    let payment_id = payment
        .provider_payment_id
        .clone()
        .ok_or_else(|| unreachable("the payment has no id at the provider"))?;
    let gateway = payments
        .for_payment(store, &payment)
        .await?
        .ok_or_else(|| unreachable("the account that took the payment is not configured here"))?;
    Ok((payment_id, gateway))
}

/// Sends a booking's due refunds after the transaction that decided them, best effort: what
/// fails here is retried by the refund worker, and the decision is already committed, so the
/// caller's answer must not turn into an error.
pub async fn send_refunds_now(
    store: &Store,
    payments: &Payments,
    booking: &BookingId,
    now: DateTime<Utc>,
) {
    if let Err(error) = send_refunds(store, payments, Some(booking), now).await {
        tracing::warn!(booking = %booking, %error, "refunds left to the refund worker");
    }
}

/// Sends one refund of `payment_id` through the account that took the payment (the operator's
/// keys of that moment, even if they were replaced since).
async fn send_refund(
    store: &Store,
    gateway: &Gateway,
    payment_id: &str,
    refund: &RefundRow,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let booking = BookingId::from_stored(refund.booking_id.clone());
    let result = gateway
        .provider
        .refund(
            payment_id,
            refund.amount,
            &refund.id,
            &refund_key(&refund.id),
        )
        .await;
    count_call(store, "refund", &result);
    transaction!(store, |tx| {
        match &result {
            Ok(accepted) => {
                record_accepted(&mut tx, refund, &booking, &accepted.id, now).await?;
            }
            Err(ProviderError::Unavailable(detail)) => {
                // Never given up: the refund may have happened (a timeout after the provider
                // did the work), and only the same key finds out. Backoff grows to an hour.
                let attempts = refund.attempts + 1;
                let next = retry_at(refund, now);
                store_payments::refund_attempt_failed(
                    &mut tx,
                    &refund.id,
                    detail,
                    Some(next),
                    now,
                )
                .await?;
                if attempts >= 10 {
                    tracing::error!(refund = %refund.id, attempts, "the payment provider keeps failing a refund; still retrying");
                }
            }
            Err(rejected @ ProviderError::Rejected(_)) => {
                store_payments::refund_attempt_failed(
                    &mut tx,
                    &refund.id,
                    &rejected.to_string(),
                    None,
                    now,
                )
                .await?;
            }
        }
        Ok(())
    })
    .await?;
    match result {
        Ok(accepted) => {
            tracing::info!(refund = %refund.id, provider_refund = %accepted.id, amount = refund.amount, "refund accepted by the payment provider")
        }
        Err(error) => tracing::warn!(refund = %refund.id, %error, "refund attempt failed"),
    }
    Ok(())
}

/// Records a refund the provider accepted: the row becomes `succeeded` and the ledger gets the
/// refund, once, under the booking's lock.
pub(super) async fn record_accepted(
    tx: &mut WriteTx,
    refund: &RefundRow,
    booking: &BookingId,
    provider_refund_id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    bookings::lock(tx, booking).await?;
    if store_payments::refund_succeeded(tx, &refund.id, provider_refund_id, now).await?
        && !ledger::has(tx, &refund.provider, "refund", provider_refund_id).await?
    {
        ledger::append(
            tx,
            &ledger::NewEntry {
                operator: &OperatorId::from_stored(refund.operator_id.clone()),
                booking,
                kind: "refund",
                amount: -refund.amount,
                currency: &refund.currency,
                provider: &refund.provider,
                provider_reference: Some(provider_refund_id),
                discount: 0,
            },
            now,
        )
        .await?;
        if let Some(record) = bookings::read_in(tx, booking).await? {
            crate::service::webhooks::events::booking_refunded(
                tx,
                &record,
                &refund.id,
                refund.amount,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// An operator refunds part or all of what a booking paid (`POST /v1/bookings/{ref}/refunds`).
pub async fn refund_by_operator(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    reference: &str,
    by: &Principal,
    amount: i64,
    idempotent: Option<(&Claim, RenderRefund<'_>)>,
) -> Result<RefundRow, AppError> {
    let operator = &by.operator;
    if amount <= 0 {
        return Err(AppError::invalid(
            "amount",
            "must be a positive amount in minor units",
        ));
    }
    let reference = BookingRef::parse(reference).ok_or(AppError::NotFound)?;
    let booking = bookings::find_by_reference(store, &reference)
        .await?
        .filter(|b| &b.operator_id == operator)
        .ok_or(AppError::NotFound)?;
    let row = transaction!(store, |tx| {
        bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let refundable = refundable(&mut tx, &booking.id).await?;
        if amount > refundable {
            return Err(AppError::invalid(
                "amount",
                format!("exceeds the refundable amount ({refundable})"),
            ));
        }
        let id = queue_refund(&mut tx, &booking, Some(amount), "operator", now)
            .await?
            .ok_or_else(|| AppError::invalid("amount", "nothing is refundable"))?;
        let detail =
            serde_json::json!({ "amount": amount, "currency": booking.currency }).to_string();
        let target = Target::Booking(booking.reference.as_str());
        audit::record(
            &mut tx,
            by,
            now,
            Action::BookingRefund,
            target,
            Some(&detail),
        )
        .await?;
        let row = store_payments::refund_in(&mut tx, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        // The answer is stored with the refund: a retry after a crash or a failed reply finds
        // the refund made, never makes a second one.
        if let Some((claim, render)) = idempotent {
            let (status, body) = render(&row);
            idempotency::complete_in(&mut tx, claim, status, &body).await?;
        }
        Ok(row)
    })
    .await?;
    send_refunds_now(store, payments, &booking.id, now).await;
    Ok(row)
}

/// Renders an operator refund's response for its idempotency key.
pub type RenderRefund<'a> = &'a (dyn Fn(&RefundRow) -> (u16, String) + Send + Sync);
