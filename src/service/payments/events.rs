//! The payment provider's webhook events: a verified event confirms, releases or refunds.

use chrono::{DateTime, Utc};

use crate::domain::booking::{BookingStatus, CancelReason};
use crate::domain::booking_plan::{self, PaymentDecision};
use crate::domain::ids::{BookingId, PaymentAccountId};
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::integrations::payments::{EventKind, PaymentEvent, PaymentProvider, ProviderPayment};
use crate::service::plans::{self, queue_refund, release_lapsed};
use crate::service::promos;
use crate::service::resources::Draws;
use crate::storage::payments::{self as store_payments, NewRefund, PaymentRow};
use crate::storage::{bookings, departures, ledger, Store, WriteTx};

use super::checkout::{release_unpaid_in, Release};
use super::refunds::record_accepted;
use super::{count_call, send_refunds_now, Gateway, Payments};

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

/// Of the accounts whose secret verified an event, the one its payment was made under: keys
/// rolled within one Stripe account keep its webhook secret, so an event may verify with several
/// of an operator's accounts. `None` when none of them took that payment (the event is then
/// applied as the first's, which acts on nothing of another account's).
pub async fn gateway_for_event<'a>(
    store: &Store,
    verified: &'a [Gateway],
    event: &PaymentEvent,
) -> Result<Option<&'a Gateway>, AppError> {
    if verified.len() < 2 {
        return Ok(verified.first());
    }
    let (payment_id, booking_id) = match &event.what {
        EventKind::Succeeded(p) | EventKind::Failed(p) | EventKind::Canceled(p) => {
            (Some(p.id.as_str()), p.booking_id.as_deref())
        }
        EventKind::Refunded { payment_id } => (payment_id.as_deref(), None),
        EventKind::Other => (None, None),
    };
    let booking = match payment_id {
        Some(id) => store_payments::booking_of_provider_payment(store, id).await?,
        None => None,
    };
    let booking = booking.or_else(|| {
        booking_id
            .filter(|id| id.len() <= 64)
            .map(|id| BookingId::from_stored(id.to_owned()))
    });
    let stored = match &booking {
        Some(booking) => store_payments::get(store, booking).await?,
        None => None,
    };
    Ok(match stored {
        Some(payment) => verified
            .iter()
            .find(|g| same_account(&payment, g.account.as_ref()))
            .or(verified.first()),
        None => verified.first(),
    })
}

/// Applies a verified webhook event: `gateway` is the account whose secret verified it, and
/// only payments made under that account are touched by it.
pub async fn handle_event(
    store: &Store,
    payments: &Payments,
    gateway: &Gateway,
    now: DateTime<Utc>,
    event: &PaymentEvent,
) -> Result<EventOutcome, AppError> {
    // Recorded under the account's key: event ids are unique within one account only.
    let event = &PaymentEvent {
        id: gateway.event_key(&event.id),
        ..event.clone()
    };
    let provider = gateway.provider.as_ref();
    let account = gateway.account.as_ref();
    let outcome = match &event.what {
        EventKind::Succeeded(payment) => {
            payment_succeeded(store, provider, account, payments, event, payment, now).await?
        }
        EventKind::Failed(payment) => {
            let reason = CancelReason::PaymentFailed;
            payment_released(store, account, event, payment, reason, now).await?
        }
        EventKind::Canceled(payment) => {
            let reason = CancelReason::PaymentCanceled;
            payment_released(store, account, event, payment, reason, now).await?
        }
        EventKind::Refunded {
            payment_id: Some(payment_id),
        } => refunds_changed(store, provider, account, event, payment_id, now).await?,
        _ => record_only(store, event, now).await?,
    };
    tracing::info!(event = %event.id, kind = %event.kind, outcome = outcome.as_str(), "payment event");
    store
        .metrics()
        .stripe_events
        .with_label_values(&[outcome.as_str()])
        .inc();
    Ok(outcome)
}

async fn record_only(
    store: &Store,
    event: &PaymentEvent,
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

/// The booking a payment is for: by its stored provider id, else by the booking id it carries
/// (the webhook may arrive before berth stored the payment), provided that booking's payment
/// has no other provider id and was made under `account` (an operator's account cannot speak
/// for another's bookings, nor the instance's for an operator's own).
async fn booking_for_payment(
    store: &Store,
    account: Option<&PaymentAccountId>,
    payment: &ProviderPayment,
) -> Result<Option<BookingRecord>, AppError> {
    let id = match store_payments::booking_of_provider_payment(store, &payment.id).await? {
        Some(id) => id,
        None => match &payment.booking_id {
            Some(id) if id.len() <= 64 => BookingId::from_stored(id.clone()),
            _ => return Ok(None),
        },
    };
    let Some(booking) = bookings::find_by_id(store, id.as_str()).await? else {
        return Ok(None);
    };
    let stored = store_payments::get(store, &booking.id).await?;
    let ours = stored.is_some_and(|p| {
        same_account(&p, account)
            && p.provider_payment_id
                .as_deref()
                .is_none_or(|id| id == payment.id)
    });
    Ok(ours.then_some(booking))
}

fn same_account(payment: &PaymentRow, account: Option<&PaymentAccountId>) -> bool {
    payment.account_id.as_deref() == account.map(PaymentAccountId::as_str)
}

async fn payment_succeeded(
    store: &Store,
    provider: &dyn PaymentProvider,
    account: Option<&PaymentAccountId>,
    payments: &Payments,
    event: &PaymentEvent,
    payment: &ProviderPayment,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    let Some(booking) = booking_for_payment(store, account, payment).await? else {
        return record_only(store, event, now).await;
    };
    let received = payment.received();
    let name = provider.name();
    let outcome = transaction!(store, |tx| {
        if !store_payments::record_event(&mut tx, &event.id, &event.kind, now).await? {
            return Ok(EventOutcome::Duplicate);
        }
        // A late payment may take seats again: the departure's shared resources are locked
        // before it, as every seat-taking writer does.
        let before = departures::read_in(&mut tx, &booking.departure_id, now)
            .await?
            .ok_or(AppError::NotFound)?;
        let draws = Draws::of_tour_in(&mut tx, &before.tour_id).await?;
        let resources = draws.lock(&mut tx, &before).await?;
        let locked = departures::lock(&mut tx, &booking.departure_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let current = bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let expected = store_payments::get_in(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_payments::set_status(&mut tx, &booking.id, Some(&payment.id), "succeeded", now)
            .await?;
        if !ledger::has(&mut tx, name, "payment", &payment.id).await? {
            ledger::append(
                &mut tx,
                &ledger::NewEntry {
                    operator: &current.operator_id,
                    booking: &current.id,
                    kind: "payment",
                    amount: received,
                    currency: &current.currency,
                    provider: name,
                    provider_reference: Some(&payment.id),
                    discount: current.promo.as_ref().map_or(0, |promo| promo.discount),
                },
                now,
            )
            .await?;
        }
        let facts = plans::facts(&mut tx, &current, locked.occupancy.starts_at, now).await?;
        let decision = booking_plan::payment_succeeded(
            &facts,
            (received, &payment.currency),
            (expected.amount, &expected.currency),
            CancelReason::released_by_payment(current.cancel_reason.as_deref()),
        )?;
        let outcome = match decision {
            PaymentDecision::RefundOnly { reason } => {
                if reason == "amount_mismatch" {
                    tracing::error!(booking = %current.reference, payment = %payment.id, received, expected = expected.amount, "payment does not match the booking; refunding it");
                }
                queue_refund(&mut tx, &current, None, reason, now).await?;
                EventOutcome::Refunded
            }
            PaymentDecision::Apply(plan) => {
                plans::execute(&mut tx, &current, &plan, now).await?;
                EventOutcome::Confirmed
            }
            PaymentDecision::LatePayment => {
                let mut occupancy = locked.occupancy;
                occupancy.resource_room =
                    draws.room_locked(&mut tx, &resources, &locked, now).await?;
                late_payment(&mut tx, occupancy, &current, now).await?
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
    // Seats owed to the waiting line are not sold to a late payer either.
    crate::service::waitlist::hold_back_locked(tx, &current.departure_id, &mut occupancy).await?;
    let current = BookingRecord {
        status: if lapsed {
            BookingStatus::Expired
        } else {
            current.status
        },
        ..current.clone()
    };
    let mut plan = booking_plan::late_payment(current.status, current.seats, &occupancy, now)?;
    if plan.to == BookingStatus::Confirmed && !promos::reclaim(tx, &current, now).await? {
        // The seats are free but the promo code was used up, switched off or ended meanwhile:
        // refunded like a departure that sold out.
        plan = booking_plan::paid_too_late(current.status, current.seats)?;
    }
    plans::execute(tx, &current, &plan, now).await?;
    if plan.to == BookingStatus::Confirmed {
        tracing::info!(booking = %current.reference, "late payment: seats taken again");
        Ok(EventOutcome::Confirmed)
    } else {
        tracing::info!(booking = %current.reference, "late payment: sold out, refunding");
        Ok(EventOutcome::Refunded)
    }
}

async fn payment_released(
    store: &Store,
    account: Option<&PaymentAccountId>,
    event: &PaymentEvent,
    payment: &ProviderPayment,
    reason: CancelReason,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    let Some(booking) = booking_for_payment(store, account, payment).await? else {
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
            Some((Some(&payment.id), &payment.status)),
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

/// Reconciles a payment's refunds with the provider's list of them, by refund id: a refund
/// berth asked for (its refund id sent along) is recorded as accepted if it was still pending;
/// any other (made in the provider's dashboard) is recorded once. An event's cumulative refunded
/// amount alone cannot tell the two apart while one of berth's refunds is in flight.
async fn refunds_changed(
    store: &Store,
    provider: &dyn PaymentProvider,
    account: Option<&PaymentAccountId>,
    event: &PaymentEvent,
    payment_id: &str,
    now: DateTime<Utc>,
) -> Result<EventOutcome, AppError> {
    let Some(booking) = store_payments::booking_of_provider_payment(store, payment_id).await?
    else {
        return record_only(store, event, now).await;
    };
    let stored = store_payments::get(store, &booking).await?;
    if !stored.is_some_and(|p| same_account(&p, account)) {
        return record_only(store, event, now).await;
    }
    let Some(booking) = bookings::find_by_id(store, booking.as_str()).await? else {
        return record_only(store, event, now).await;
    };
    let listed = provider.refunds_of(payment_id).await;
    count_call(store, "list_refunds", &listed);
    let listed = listed.map_err(|error| {
        // The provider redelivers the event later; nothing was recorded.
        tracing::warn!(%error, "could not list a payment's refunds");
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
        let name = provider.name();
        for refund in listed.iter().filter(|r| r.stands) {
            let own = refund
                .refund_id
                .as_ref()
                .and_then(|id| ours.iter().find(|row| &row.id == id));
            if let Some(row) = own {
                record_accepted(&mut tx, row, &booking.id, &refund.id, now).await?;
                continue;
            }
            if ledger::has(&mut tx, name, "refund", &refund.id).await? {
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
                    provider: name,
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
                    provider: name,
                    provider_reference: Some(&refund.id),
                    discount: 0,
                },
                now,
            )
            .await?;
            crate::service::webhooks::events::booking_refunded(
                &mut tx,
                &booking,
                &refund.id,
                refund.amount,
                now,
            )
            .await?;
            tracing::info!(booking = %booking.reference, amount = refund.amount, "refund made outside berth recorded");
        }
        Ok(EventOutcome::Recorded)
    })
    .await
}
