//! Online payments (Stripe PaymentIntents), their webhooks, and refunds.
//!
//! The rules:
//! - A hold in `stripe` mode is paid through a PaymentIntent for the server-computed total. The
//!   intent is created after the hold commits (never inside a transaction), with an idempotency
//!   key derived from the booking, so any retry finds the same intent.
//! - If Stripe cannot be reached while the hold is created, the hold is released and the client
//!   gets 502 `payment_unavailable`: a hold nobody can pay for would only keep seats from others.
//! - `payment_intent.succeeded` confirms the hold. If the hold lapsed (or was released because a
//!   payment attempt failed) the seats are taken again when they are free; when they are not,
//!   the booking is cancelled `sold_out_after_payment` and refunded in full.
//! - Refunds are rows written in the transaction that decides them and then sent to Stripe with
//!   an idempotency key derived from the row (a transactional outbox for money); the ledger
//!   records a refund once Stripe accepted it.
//! - Each webhook event is recorded under a unique key in the transaction that applies it, so a
//!   redelivery changes nothing.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::audit::{self, Action, Target};
use super::auth::Principal;
use super::plans::{self, queue_refund, refundable, release_lapsed};
use crate::domain::booking_plan::{self, Decision, PaymentDecision};
use super::idempotency::{self, Claim};
use crate::config::Secret;
use crate::domain::booking::{BookingStatus, CancelReason};
use crate::domain::ids::{BookingId, BookingRef, OperatorId};
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::integrations::stripe::{Charge, NewIntent, PaymentIntent, Stripe, StripeError};
use crate::storage::payments::{self as store_payments, NewRefund, PaymentRow, RefundRow};
use crate::storage::{bookings, departures, ledger, Store, WriteTx};

/// How travelers pay, chosen at start-up (`BERTH_PAYMENTS`).
#[derive(Clone)]
pub enum Payments {
    /// Pay on arrival: the traveler confirms, the operator records the payment at check-in.
    Offline,
    Stripe(Arc<StripePayments>),
}

pub struct StripePayments {
    pub api: Stripe,
    pub webhook_secret: Secret,
}

impl Payments {
    pub fn stripe(&self) -> Option<&StripePayments> {
        match self {
            Payments::Offline => None,
            Payments::Stripe(stripe) => Some(stripe),
        }
    }
}

/// The idempotency key of a booking's PaymentIntent: one intent per booking, whatever retries.
fn intent_key(booking: &BookingId) -> String {
    format!("berth-pi-{booking}")
}

fn refund_key(refund_id: &str) -> String {
    format!("berth-refund-{refund_id}")
}

fn count_call<T>(store: &Store, call: &str, result: &Result<T, StripeError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(StripeError::Unavailable(_)) => "unavailable",
        Err(StripeError::Rejected { .. }) => "rejected",
    };
    store
        .metrics()
        .stripe_calls
        .with_label_values(&[call, outcome])
        .inc();
}

/// Creates the PaymentIntent of a just-placed hold. On failure the hold is released and the
/// answer is 502 `payment_unavailable`.
pub async fn create_intent(
    store: &Store,
    stripe: &StripePayments,
    booking: &BookingRecord,
    tour_name: &str,
    now: DateTime<Utc>,
) -> Result<PaymentIntent, AppError> {
    let intent = NewIntent {
        amount: booking.total,
        currency: &booking.currency,
        booking_id: booking.id.as_str(),
        booking_reference: booking.reference.as_str(),
        operator_id: booking.operator_id.as_str(),
        description: tour_name,
    };
    let created = stripe
        .api
        .create_payment_intent(&intent, &intent_key(&booking.id))
        .await;
    count_call(store, "payment_intent", &created);
    match created {
        Ok(intent) => {
            tracing::info!(booking = %booking.reference, intent = %intent.id, "payment intent created");
            Ok(intent)
        }
        Err(error) => {
            tracing::warn!(booking = %booking.reference, %error, "payment intent not created; releasing the hold");
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

/// Stores a created intent on its payment row and, in the same transaction, the hold's
/// idempotent response. Returns the booking and payment as they stand after the write (a
/// webhook may have confirmed the booking already).
pub async fn store_intent(
    store: &Store,
    booking: &BookingRecord,
    intent: &PaymentIntent,
    now: DateTime<Utc>,
    idempotent: Option<(&Claim, RenderPaidHold<'_>)>,
) -> Result<(BookingRecord, PaymentRow), AppError> {
    transaction!(store, |tx| {
        // The booking's lock first, as every writer of its payment row takes it.
        let current = bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_payments::set_intent(
            &mut tx,
            &booking.id,
            &intent.id,
            intent.client_secret.as_deref(),
            &intent.status,
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

/// Releases a hold that will not be paid (Stripe unreachable, payment failed or canceled).
/// A booking that is no longer held is left alone.
async fn release_unpaid(
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
enum Release {
    Released,
    /// No longer held (confirmed, cancelled, expired): nothing to release.
    NotHeld,
    /// The payment succeeded meanwhile: nothing may be released.
    Paid,
}

async fn release_unpaid_in(
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
    if let Some((intent, status)) = payment_status {
        store_payments::set_status(tx, &booking.id, intent, status, now).await?;
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

/// What a booking has paid and got back, for the API.
#[derive(Debug, Clone)]
pub struct PaymentSummary {
    /// `offline` or `stripe`.
    pub provider: String,
    /// Offline: `pay_on_arrival` or `paid`. Stripe: the PaymentIntent's status (`creating`
    /// before Stripe answered).
    pub status: String,
    pub client_secret: Option<String>,
    pub paid: i64,
    pub refunded: i64,
    pub refund_pending: i64,
}

impl PaymentSummary {
    /// The summary of a booking as it is created (nothing paid yet).
    pub fn new_hold(payment: Option<&PaymentRow>) -> PaymentSummary {
        match payment {
            Some(row) => PaymentSummary {
                provider: row.provider.clone(),
                status: row.status.clone(),
                client_secret: row.client_secret.clone(),
                paid: 0,
                refunded: 0,
                refund_pending: 0,
            },
            None => PaymentSummary {
                provider: "offline".into(),
                status: "pay_on_arrival".into(),
                client_secret: None,
                paid: 0,
                refunded: 0,
                refund_pending: 0,
            },
        }
    }
}

pub async fn summary(store: &Store, booking: &BookingRecord) -> Result<PaymentSummary, AppError> {
    let payment = store_payments::get(store, &booking.id).await?;
    let (paid, refunded) = ledger::booking_totals(store, &booking.id).await?;
    let refunds = store_payments::refunds_of(store, &booking.id).await?;
    let refund_pending = refunds
        .iter()
        .filter(|r| r.status == "pending")
        .map(|r| r.amount)
        .sum();
    let mut summary = PaymentSummary::new_hold(payment.as_ref());
    if payment.is_none() && paid > 0 {
        summary.status = "paid".into();
    }
    summary.paid = paid;
    summary.refunded = refunded;
    summary.refund_pending = refund_pending;
    Ok(summary)
}

/// Sends due refunds to Stripe (those of one booking, or all); returns how many were tried.
/// Safe to run anywhere at once: each refund is claimed (its next attempt moved past the call's
/// longest duration) before it is sent, the idempotency key makes Stripe create it once however
/// often it is sent, and recording it is conditional on the row still being pending.
pub async fn send_refunds(
    store: &Store,
    payments: &Payments,
    booking: Option<&BookingId>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let Some(stripe) = payments.stripe() else {
        return Ok(0);
    };
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
        if let Err(error) = send_refund(store, stripe, refund, now).await {
            tracing::warn!(refund = %refund.id, %error, "refund not sent; will retry");
        }
    }
    Ok(sent)
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

async fn send_refund(
    store: &Store,
    stripe: &StripePayments,
    refund: &RefundRow,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let booking = BookingId::from_stored(refund.booking_id.clone());
    let intent = store_payments::get(store, &booking)
        .await?
        .and_then(|p| p.intent_id)
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("refund of a booking without an intent"))
        })?;
    let result = stripe
        .api
        .create_refund(&intent, refund.amount, &refund.id, &refund_key(&refund.id))
        .await;
    count_call(store, "refund", &result);
    transaction!(store, |tx| {
        match &result {
            Ok(accepted) => {
                record_accepted(&mut tx, refund, &booking, &accepted.id, now).await?;
            }
            Err(StripeError::Unavailable(detail)) => {
                // Never given up: the refund may have happened (a timeout after Stripe did
                // the work), and only the same key finds out. Backoff grows to an hour.
                let attempts = refund.attempts + 1;
                let next = now + Duration::seconds(30 << attempts.min(7));
                store_payments::refund_attempt_failed(
                    &mut tx,
                    &refund.id,
                    detail,
                    Some(next),
                    now,
                )
                .await?;
                if attempts >= 10 {
                    tracing::error!(refund = %refund.id, attempts, "Stripe keeps refusing a refund; still retrying");
                }
            }
            Err(rejected @ StripeError::Rejected { .. }) => {
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
            tracing::info!(refund = %refund.id, provider_refund = %accepted.id, amount = refund.amount, "refund accepted by Stripe")
        }
        Err(error) => tracing::warn!(refund = %refund.id, %error, "refund attempt failed"),
    }
    Ok(())
}

/// Records a refund Stripe accepted: the row becomes `succeeded` and the ledger gets the refund,
/// once, under the booking's lock.
async fn record_accepted(
    tx: &mut WriteTx,
    refund: &RefundRow,
    booking: &BookingId,
    provider_refund_id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    bookings::lock(tx, booking).await?;
    if store_payments::refund_succeeded(tx, &refund.id, provider_refund_id, now).await?
        && !ledger::has(tx, "stripe", "refund", provider_refund_id).await?
    {
        ledger::append(
            tx,
            &ledger::NewEntry {
                operator: &OperatorId::from_stored(refund.operator_id.clone()),
                booking,
                kind: "refund",
                amount: -refund.amount,
                currency: &refund.currency,
                provider: "stripe",
                provider_reference: Some(provider_refund_id),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

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
