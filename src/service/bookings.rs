//! A booking after it is placed: reading it, confirming, cancelling, checking in.

use chrono::{DateTime, Utc};

use super::audit::{self, Action, Target};
use super::auth::Principal;
use super::catalogue::release_lapsed;
use super::notifications;
use super::payments::{self, Payments};
use super::{finish, with_retry};
use crate::domain::auth::Role;
use crate::domain::booking::CancelReason;
use crate::domain::booking::{BookingEvent, BookingStatus};
use crate::domain::ids::BookingRef;
use crate::domain::message::MessageKind;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::secrets;
use crate::storage::{bookings, departures, ledger, payments as store_payments, Store};

/// Who is asking. A traveler proves it with the booking's access token; an operator with a
/// bearer token, and only for bookings on their own tours.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub access_token: Option<String>,
    /// An operator's user or token (staff role or above: the request guard checked it).
    pub operator: Option<Principal>,
    /// The booking a verified manage link names (`service::manage_link::verify`): its holder
    /// acts as the traveler.
    pub manage_link: Option<BookingRef>,
}

impl Caller {
    fn is_traveler_of(&self, booking: &BookingRecord) -> bool {
        self.manage_link.as_ref() == Some(&booking.reference)
            || self.access_token.as_deref().is_some_and(|token| {
                secrets::constant_time_eq(&secrets::hash_token(token), &booking.access_token_hash)
            })
    }

    pub(crate) fn is_operator_of(&self, booking: &BookingRecord) -> bool {
        self.operator
            .as_ref()
            .is_some_and(|p| p.operator == booking.operator_id)
    }
}

/// Finds a booking the caller may see; anything else (unknown, malformed, foreign, wrong
/// token) is the same "not found".
pub(crate) async fn accessible(
    store: &Store,
    reference: &str,
    caller: &Caller,
) -> Result<BookingRecord, AppError> {
    let reference = BookingRef::parse(reference).ok_or(AppError::NotFound)?;
    let booking = bookings::find_by_reference(store, &reference)
        .await?
        .ok_or(AppError::NotFound)?;
    if caller.is_traveler_of(&booking) || caller.is_operator_of(&booking) {
        Ok(booking)
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn get(
    store: &Store,
    reference: &str,
    caller: &Caller,
) -> Result<BookingRecord, AppError> {
    accessible(store, reference, caller).await
}

/// The traveler confirms a hold (pay on arrival); an operator may too. A hold paid online is
/// confirmed by its payment only, whoever asks: confirming it by hand would leave its
/// PaymentIntent open, and a payment after a cash payment at the desk would charge twice.
pub async fn confirm(
    store: &Store,
    now: DateTime<Utc>,
    reference: &str,
    caller: &Caller,
) -> Result<BookingRecord, AppError> {
    let booking = accessible(store, reference, caller).await?;
    // A payment row is written with the hold and never removed, so this read needs no lock.
    if store_payments::get(store, &booking.id).await?.is_some() {
        return Err(AppError::PaymentRequired);
    }
    transition(store, now, reference, caller, BookingEvent::Confirm).await
}

/// Cancels a booking. What was paid comes back per the tour's cancellation policy when the
/// traveler cancels, in full when the operator does; the refund is queued in the cancelling
/// transaction and sent right after it. An operator's cancellation that would refund money
/// needs the admin role, like any refund; staff may cancel what has nothing paid.
pub async fn cancel(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    reference: &str,
    caller: &Caller,
) -> Result<BookingRecord, AppError> {
    let booking = transition(store, now, reference, caller, BookingEvent::Cancel).await?;
    super::payments::send_refunds_now(store, payments, &booking.id, now).await;
    Ok(booking)
}

/// Operators only: the traveler showed up.
pub async fn check_in(
    store: &Store,
    now: DateTime<Utc>,
    reference: &str,
    by: &Principal,
) -> Result<BookingRecord, AppError> {
    let caller = Caller {
        access_token: None,
        operator: Some(by.clone()),
        manage_link: None,
    };
    transition(store, now, reference, &caller, BookingEvent::CheckIn).await
}

enum Outcome {
    Changed(BookingStatus),
    Lapsed,
}

/// Applies `event` to a booking under its departure's lock. The seat counter moves exactly
/// when the state machine moves a booking into or out of a seat-occupying state.
async fn transition(
    store: &Store,
    now: DateTime<Utc>,
    reference: &str,
    caller: &Caller,
    event: BookingEvent,
) -> Result<BookingRecord, AppError> {
    let booking = accessible(store, reference, caller).await?;
    let by_traveler = !caller.is_operator_of(&booking);
    if event == BookingEvent::CheckIn && by_traveler {
        return Err(AppError::NotFound);
    }
    // Only a traveler's cancellation follows the tour's policy; an operator's refunds in full.
    let policy = if event == BookingEvent::Cancel && by_traveler {
        Some(
            super::catalogue::tour(store, &booking.tour_id)
                .await?
                .tour
                .cancellation_policy,
        )
    } else {
        None
    };
    let outcome = with_retry(store, || async {
        let mut tx = store.begin_write().await?;
        let result = async {
            let departure = departures::lock(&mut tx, &booking.departure_id)
                .await?
                .ok_or(AppError::NotFound)?;
            let current = bookings::lock(&mut tx, &booking.id)
                .await?
                .ok_or(AppError::NotFound)?;
            if current.is_lapsed_hold(now) {
                release_lapsed(&mut tx, now, &booking.departure_id).await?;
                return Ok(Outcome::Lapsed);
            }
            let started = now >= departure.occupancy.starts_at;
            if event == BookingEvent::Cancel && by_traveler && started {
                return Err(AppError::CancellationClosed);
            }
            if event == BookingEvent::Confirm && started {
                return Err(AppError::SalesClosed {
                    reason: "the departure has started",
                });
            }
            let next = current
                .status
                .apply(event)
                .map_err(|(from, event)| AppError::InvalidTransition { from, event })?;
            bookings::set_status(&mut tx, &current.id, current.status, next, now).await?;
            // The traveler hears about it through the outbox, committed with the change.
            let message = match next {
                BookingStatus::Confirmed => Some(MessageKind::BookingConfirmed),
                BookingStatus::Cancelled => Some(MessageKind::BookingCancelled),
                _ => None,
            };
            if next == BookingStatus::Cancelled {
                let reason = if by_traveler {
                    CancelReason::Traveler
                } else {
                    CancelReason::Operator
                };
                bookings::set_cancel_reason(&mut tx, &current.id, reason.as_str()).await?;
                // The refund is decided with the cancellation, so the message can tell it.
                let paid = ledger::net(&mut tx, &current.id).await?;
                let amount = match &policy {
                    Some(policy) => policy.refund_for(paid, departure.occupancy.starts_at, now),
                    None => paid,
                };
                if amount > 0 {
                    // Money goes back to a traveler only on an admin's word (or the traveler's
                    // own, per the policy): the same rule as `POST …/refunds`, so staff cannot
                    // refund in full by cancelling what they could not refund directly.
                    if let Some(by) = caller.operator.as_ref().filter(|_| !by_traveler) {
                        if !by.role.at_least(Role::Admin) {
                            return Err(AppError::Forbidden);
                        }
                    }
                    payments::queue_refund(&mut tx, &current, Some(amount), reason.as_str(), now)
                        .await?;
                }
            }
            if let Some(kind) = message {
                notifications::enqueue(&mut tx, &current.id, kind, now).await?;
            }
            // Pay on arrival: checking in is when the money changes hands (unless it already
            // did, online).
            if next == BookingStatus::CheckedIn
                && !payments::paid_online(&mut tx, &current.id).await?
            {
                let entry = ledger::NewEntry {
                    operator: &current.operator_id,
                    booking: &current.id,
                    kind: "payment",
                    amount: current.total,
                    currency: &current.currency,
                    provider: "offline",
                    provider_reference: None,
                };
                ledger::append(&mut tx, &entry, now).await?;
            }
            let delta = match (current.status.occupies_seats(), next.occupies_seats()) {
                (true, false) => -i64::from(current.seats),
                (false, true) => i64::from(current.seats),
                _ => 0,
            };
            departures::add_seats(&mut tx, &booking.departure_id, delta, now).await?;
            let audited = caller.operator.as_ref().filter(|_| !by_traveler);
            if let (Some(by), Some(action)) = (audited, Action::of_booking(event)) {
                audit::record(
                    &mut tx,
                    by,
                    now,
                    action,
                    Target::Booking(current.reference.as_str()),
                    None,
                )
                .await?;
            }
            Ok(Outcome::Changed(next))
        }
        .await;
        finish(tx, result).await
    })
    .await?;
    match outcome {
        Outcome::Lapsed if event == BookingEvent::Confirm => Err(AppError::HoldExpired),
        Outcome::Lapsed => Err(AppError::InvalidTransition {
            from: BookingStatus::Expired,
            event,
        }),
        Outcome::Changed(status) => {
            // Built from what was read and written, not re-read: a failed read after the
            // commit would answer 5xx for a change that happened.
            let cancel_reason = match (status, by_traveler) {
                (BookingStatus::Cancelled, true) => {
                    Some(CancelReason::Traveler.as_str().to_owned())
                }
                (BookingStatus::Cancelled, false) => {
                    Some(CancelReason::Operator.as_str().to_owned())
                }
                _ => booking.cancel_reason.clone(),
            };
            let updated = BookingRecord {
                status,
                cancel_reason,
                updated_at: now,
                ..booking
            };
            tracing::info!(
                booking = %updated.reference, status = %updated.status,
                by = if by_traveler { "traveler" } else { "operator" }, "booking {}", event.past_tense()
            );
            Ok(updated)
        }
    }
}
