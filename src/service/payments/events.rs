//! The payment provider's webhook events: a verified event confirms, releases or refunds.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::booking::{BookingStatus, CancelReason};
use crate::domain::booking_plan::{self, PaymentDecision};
use crate::domain::ids::BookingId;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::integrations::stripe::{Charge, PaymentIntent};
use crate::service::plans::{self, queue_refund, release_lapsed};
use crate::storage::payments::{self as store_payments, NewRefund};
use crate::storage::{bookings, departures, ledger, Store, WriteTx};

use super::checkout::{release_unpaid_in, Release};
use super::refunds::record_accepted;
use super::{count_call, send_refunds_now, Payments, StripePayments};

/// A Stripe event, as much of it as berth reads.
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// What a webhook event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// Seen before: nothing happened again.
    Duplicate,
    /// Not something berth acts on (another type, or a payment berth does not know).
    Ignored,
    Confirmed,
    Released,
    /// Paid for a booking that cannot be honoured: refunded in full.
    Refunded,
    /// Recorded (a payment or refund) with no change to the booking.
    Recorded,
}

impl EventOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
            Self::Refunded => "refunded",
            Self::Recorded => "recorded",
        }
    }
}

/// Applies a verified webhook body. The signature is the caller's to check first.
pub async fn handle_event(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    body: &[u8],
) -> Result<EventOutcome, AppError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|_| AppError::bad_request("malformed_event", "the event is not a Stripe event"))?;
    if event.id.is_empty() || event.id.len() > 255 || event.kind.len() > 100 {
        return Err(AppError::bad_request(
            "malformed_event",
            "the event id or type is out of range",
        ));
    }
    let object = event.data.object.clone();
    let malformed = |_| {
        AppError::bad_request(
            "malformed_event",
            "the event's object is not what its type says",
        )
    };
    let outcome = match event.kind.as_str() {
        "payment_intent.succeeded" => {
            let intent: PaymentIntent = serde_json::from_value(object).map_err(malformed)?;
            intent_succeeded(store, payments, &event, &intent, now).await?
        }
        "payment_intent.payment_failed" | "payment_intent.canceled" => {
            let intent: PaymentIntent = serde_json::from_value(object).map_err(malformed)?;
            let reason = if event.kind.ends_with("canceled") {
                CancelReason::PaymentCanceled
            } else {
                CancelReason::PaymentFailed
            };
            intent_released(store, &event, &intent, reason, now).await?
        }
        "charge.refunded" => {
            let charge: Charge = serde_json::from_value(object).map_err(malformed)?;
            match payments.stripe() {
                Some(stripe) => charge_refunded(store, stripe, &event, &charge, now).await?,
                None => record_only(store, &event, now).await?,
            }
        }
        _ => record_only(store, &event, now).await?,
    };
    tracing::info!(event = %event.id, kind = %event.kind, outcome = outcome.as_str(), "Stripe event");
    store
        .metrics()
        .stripe_events
        .with_label_values(&[outcome.as_str()])
        .inc();
    Ok(outcome)
}

async fn record_only(
    store: &Store,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    transaction!(store, |tx| {
        Ok(
            if store_payments::record_event(&mut tx, &event.id, &event.kind, now).await? {
                EventOutcome::Ignored
            } else {
                EventOutcome::Duplicate
            },
        )
    })
    .await
}

/// The booking an intent pays for: by its stored intent id, else by the booking id in its
/// metadata (the webhook may arrive before berth stored the intent), provided that booking's
/// payment has no other intent.
async fn booking_for_intent(
    store: &Store,
    intent: &PaymentIntent,
) -> Result<Option<BookingRecord>, AppError> {
    let id = match store_payments::booking_of_intent(store, &intent.id).await? {
        Some(id) => id,
        None => match intent.metadata.get("booking_id") {
            Some(id) if id.len() <= 64 => BookingId::from_stored(id.clone()),
            _ => return Ok(None),
        },
    };
    let Some(booking) = bookings::find_by_id(store, id.as_str()).await? else {
        return Ok(None);
    };
    let payment = store_payments::get(store, &booking.id).await?;
    let ours = payment.is_some_and(|p| p.intent_id.as_deref().is_none_or(|i| i == intent.id));
    Ok(ours.then_some(booking))
}

async fn intent_succeeded(
    store: &Store,
    payments: &Payments,
    event: &Event,
    intent: &PaymentIntent,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    let Some(booking) = booking_for_intent(store, intent).await? else {
        return record_only(store, event, now).await;
    };
    let received = if intent.amount_received > 0 {
        intent.amount_received
    } else {
        intent.amount
    };
    let outcome = transaction!(store, |tx| {
        if !store_payments::record_event(&mut tx, &event.id, &event.kind, now).await? {
            return Ok(EventOutcome::Duplicate);
        }
        let locked = departures::lock(&mut tx, &booking.departure_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let current = bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let expected = store_payments::get_in(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_payments::set_status(&mut tx, &booking.id, Some(&intent.id), "succeeded", now)
            .await?;
        if !ledger::has(&mut tx, "stripe", "payment", &intent.id).await? {
            ledger::append(
                &mut tx,
                &ledger::NewEntry {
                    operator: &current.operator_id,
                    booking: &current.id,
                    kind: "payment",
                    amount: received,
                    currency: &current.currency,
                    provider: "stripe",
                    provider_reference: Some(&intent.id),
                },
                now,
            )
            .await?;
        }
        let facts = plans::facts(&mut tx, &current, locked.occupancy.starts_at, now).await?;
        let decision = booking_plan::payment_succeeded(
            &facts,
            (received, &intent.currency),
            (expected.amount, &expected.currency),
            CancelReason::released_by_payment(current.cancel_reason.as_deref()),
        )?;
        let outcome = match decision {
            PaymentDecision::RefundOnly { reason } => {
                if reason == "amount_mismatch" {
                    tracing::error!(booking = %current.reference, intent = %intent.id, received, expected = expected.amount, "payment does not match the booking; refunding it");
                }
                queue_refund(&mut tx, &current, None, reason, now).await?;
                EventOutcome::Refunded
            }
            PaymentDecision::Apply(plan) => {
                plans::execute(&mut tx, &current, &plan, now).await?;
                EventOutcome::Confirmed
            }
            PaymentDecision::LatePayment => {
                late_payment(&mut tx, locked.occupancy, &current, now).await?
            }
            PaymentDecision::Record => EventOutcome::Recorded,
        };
        Ok(outcome)
    })
    .await?;
    if outcome == EventOutcome::Refunded {
        send_refunds_now(store, payments, &booking.id, now).await;
    }
    Ok(outcome)
}

/// A payment for a booking whose hold is gone: with the departure's lapsed holds released,
/// the rules take the seats again if they are free, else cancel and refund everything.
async fn late_payment(
    tx: &mut WriteTx,
    mut occupancy: crate::domain::capacity::Occupancy,
    current: &BookingRecord,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    // Releasing lapsed holds (this one included) frees their seats before the check.
    let lapsed = current.is_lapsed_hold(now);
    let released = release_lapsed(tx, now, &current.departure_id).await?;
    occupancy.seats_taken = occupancy.seats_taken.saturating_sub(released);
    let current = BookingRecord {
        status: if lapsed {
            BookingStatus::Expired
        } else {
            current.status
        },
        ..current.clone()
    };
    let plan = booking_plan::late_payment(current.status, current.seats, &occupancy, now)?;
    plans::execute(tx, &current, &plan, now).await?;
    if plan.to == BookingStatus::Confirmed {
        tracing::info!(booking = %current.reference, "late payment: seats taken again");
        Ok(EventOutcome::Confirmed)
    } else {
        tracing::info!(booking = %current.reference, "late payment: sold out, refunding");
        Ok(EventOutcome::Refunded)
    }
}

async fn intent_released(
    store: &Store,
    event: &Event,
    intent: &PaymentIntent,
    reason: CancelReason,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    let Some(booking) = booking_for_intent(store, intent).await? else {
        return record_only(store, event, now).await;
    };
    transaction!(store, |tx| {
        if !store_payments::record_event(&mut tx, &event.id, &event.kind, now).await? {
            return Ok(EventOutcome::Duplicate);
        }
        let released = release_unpaid_in(
            &mut tx,
            &booking,
            now,
            reason,
            Some((Some(&intent.id), &intent.status)),
        )
        .await?;
        Ok(match released {
            Release::Released => EventOutcome::Released,
            Release::NotHeld => EventOutcome::Recorded,
            // A failure reported after the payment succeeded (out of order) is old news.
            Release::Paid => EventOutcome::Ignored,
        })
    })
    .await
}

/// Reconciles a charge's refunds with Stripe's list of them, by refund id: a refund berth asked
/// for (its `metadata[refund_id]`) is recorded as accepted if it was still pending; any other
/// (made in the Stripe dashboard) is recorded once. The event's cumulative `amount_refunded`
/// alone cannot tell the two apart while one of berth's refunds is in flight.
async fn charge_refunded(
    store: &Store,
    stripe: &StripePayments,
    event: &Event,
    charge: &Charge,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    let Some(intent) = charge.payment_intent.as_deref() else {
        return record_only(store, event, now).await;
    };
    let Some(booking) = store_payments::booking_of_intent(store, intent).await? else {
        return record_only(store, event, now).await;
    };
    let Some(booking) = bookings::find_by_id(store, booking.as_str()).await? else {
        return record_only(store, event, now).await;
    };
    let listed = stripe.api.list_refunds(intent).await;
    count_call(store, "list_refunds", &listed);
    let listed = listed.map_err(|error| {
        // Stripe redelivers the event later; nothing was recorded.
        tracing::warn!(%error, "could not list a charge's refunds");
        AppError::PaymentUnavailable
    })?;
    let ours = store_payments::refunds_of(store, &booking.id).await?;
    transaction!(store, |tx| {
        if !store_payments::record_event(&mut tx, &event.id, &event.kind, now).await? {
            return Ok(EventOutcome::Duplicate);
        }
        bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        for refund in listed
            .iter()
            .filter(|r| r.status == "succeeded" || r.status == "pending")
        {
            let own = refund
                .metadata
                .get("refund_id")
                .and_then(|id| ours.iter().find(|row| &row.id == id));
            if let Some(row) = own {
                record_accepted(&mut tx, row, &booking.id, &refund.id, now).await?;
                continue;
            }
            if ledger::has(&mut tx, "stripe", "refund", &refund.id).await? {
                continue;
            }
            let id = ulid::Ulid::new().to_string();
            store_payments::insert_refund(
                &mut tx,
                &NewRefund {
                    id: &id,
                    booking: &booking.id,
                    operator: &booking.operator_id,
                    amount: refund.amount,
                    currency: &booking.currency,
                    provider: "stripe",
                    reason: "external",
                    status: "succeeded",
                    provider_refund_id: Some(&refund.id),
                },
                now,
            )
            .await?;
            ledger::append(
                &mut tx,
                &ledger::NewEntry {
                    operator: &booking.operator_id,
                    booking: &booking.id,
                    kind: "refund",
                    amount: -refund.amount,
                    currency: &booking.currency,
                    provider: "stripe",
                    provider_reference: Some(&refund.id),
                },
                now,
            )
            .await?;
            tracing::info!(booking = %booking.reference, amount = refund.amount, "refund made outside berth recorded");
        }
        Ok(EventOutcome::Recorded)
    })
    .await
}
