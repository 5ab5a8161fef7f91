//! Booking decisions as plans: given the facts read under the departure's lock, what a change
//! to one booking does — its new status, the seats it moves, the refund, the message to the
//! traveler, the payment taken at the desk. Pure: the service reads the facts, asks for the
//! plan and executes it in the same transaction, deciding nothing itself.

use chrono::{DateTime, Utc};

use super::auth::Role;
use super::booking::{BookingEvent, BookingStatus, CancelReason};
use super::capacity::Occupancy;
use super::message::MessageKind;
use super::refund::CancellationPolicy;
use crate::error::AppError;

/// Who asks for a change, as the rules see them.
#[derive(Debug, Clone, Copy)]
pub enum Asker<'a> {
    /// The traveler (with the booking's access token): cancelling follows the tour's policy.
    Traveler { policy: &'a CancellationPolicy },
    /// An operator's user or token: cancelling refunds in full, which needs the admin role.
    Operator { role: Role },
}

/// What the service read about the booking, under its departure's lock.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub status: BookingStatus,
    /// A hold past its expiry that the expiry worker has not released yet.
    pub lapsed: bool,
    pub seats: u32,
    /// The booking's price, in minor units.
    pub total: i64,
    /// What the ledger says was paid and not refunded, in minor units.
    pub paid: i64,
    /// Whether an online payment for it succeeded.
    pub paid_online: bool,
    /// Sold by a reseller on account: the reseller pays the operator, never the traveler at
    /// the desk.
    pub on_account: bool,
    pub starts_at: DateTime<Utc>,
}

/// Money to send back, decided with the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundDecision {
    /// At most this much (capped at what is still refundable when queued); `None`: all of it.
    pub amount: Option<i64>,
    pub reason: &'static str,
}

/// One booking's change, to be executed as a whole in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub from: BookingStatus,
    pub to: BookingStatus,
    /// What the departure's `seats_taken` moves by.
    pub seat_delta: i64,
    pub cancel_reason: Option<CancelReason>,
    pub refund: Option<RefundDecision>,
    /// What the traveler hears, through the outbox.
    pub message: Option<MessageKind>,
    /// Pay on arrival: the amount the ledger records as paid at the desk.
    pub collect_offline: Option<i64>,
}

impl Plan {
    /// Moves a booking of `seats` by `event`; the seat delta follows from whether the old and
    /// the new status occupy seats, never from the caller.
    pub fn moving(from: BookingStatus, event: BookingEvent, seats: u32) -> Result<Plan, AppError> {
        let to = from
            .apply(event)
            .map_err(|(from, event)| AppError::InvalidTransition { from, event })?;
        let seat_delta = match (from.occupies_seats(), to.occupies_seats()) {
            (true, false) => -i64::from(seats),
            (false, true) => i64::from(seats),
            _ => 0,
        };
        Ok(Plan {
            from,
            to,
            seat_delta,
            cancel_reason: None,
            refund: None,
            message: None,
            collect_offline: None,
        })
    }

    fn cancelled_because(mut self, reason: CancelReason) -> Plan {
        self.cancel_reason = Some(reason);
        self
    }

    fn telling(mut self, message: MessageKind) -> Plan {
        self.message = Some(message);
        self
    }

    fn refunding(mut self, amount: Option<i64>, reason: &'static str) -> Plan {
        self.refund = Some(RefundDecision { amount, reason });
        self
    }
}

/// What a request to change a booking comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Apply(Plan),
    /// The booking is a lapsed hold: release it (with the departure's other lapsed holds)
    /// and refuse the request.
    ReleaseLapsed,
}

/// What a traveler or an operator may ask of a booking. Reinstating or expiring one is the
/// payment path's and the expiry worker's, never a request's: a request cannot take seats
/// without the capacity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Pay on arrival.
    Confirm,
    Cancel,
    CheckIn,
}

impl Change {
    pub const ALL: [Change; 3] = [Change::Confirm, Change::Cancel, Change::CheckIn];

    pub const fn event(self) -> BookingEvent {
        match self {
            Change::Confirm => BookingEvent::Confirm,
            Change::Cancel => BookingEvent::Cancel,
            Change::CheckIn => BookingEvent::CheckIn,
        }
    }
}

/// A traveler's or operator's request: confirm (pay on arrival), cancel, check in.
pub fn request(
    change: Change,
    asker: Asker<'_>,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<Decision, AppError> {
    let event = change.event();
    let by_traveler = matches!(asker, Asker::Traveler { .. });
    if event == BookingEvent::CheckIn && by_traveler {
        // Travelers do not check themselves in; to them the action does not exist.
        return Err(AppError::NotFound);
    }
    if facts.lapsed {
        return Ok(Decision::ReleaseLapsed);
    }
    let started = now >= facts.starts_at;
    if event == BookingEvent::Cancel && by_traveler && started {
        return Err(AppError::CancellationClosed);
    }
    if event == BookingEvent::Confirm && started {
        return Err(AppError::SalesClosed {
            reason: "the departure has started",
        });
    }
    let mut plan = Plan::moving(facts.status, event, facts.seats)?;
    match plan.to {
        BookingStatus::Confirmed => plan = plan.telling(MessageKind::BookingConfirmed),
        BookingStatus::Cancelled => {
            let reason = if by_traveler {
                CancelReason::Traveler
            } else {
                CancelReason::Operator
            };
            plan = plan
                .cancelled_because(reason)
                .telling(MessageKind::BookingCancelled);
            // Only a traveler's cancellation follows the tour's policy; an operator's refunds
            // in full.
            let amount = match asker {
                Asker::Traveler { policy } => policy.refund_for(facts.paid, facts.starts_at, now),
                Asker::Operator { .. } => facts.paid,
            };
            if amount > 0 {
                // Money goes back on an admin's word (or the traveler's own, per the policy):
                // the same rule as `POST …/refunds`, so staff cannot refund in full by
                // cancelling what they could not refund directly.
                if let Asker::Operator { role } = asker {
                    if !role.at_least(Role::Admin) {
                        return Err(AppError::Forbidden);
                    }
                }
                plan = plan.refunding(Some(amount), reason.as_str());
            }
        }
        BookingStatus::CheckedIn if !facts.paid_online && !facts.on_account => {
            // Pay on arrival: checking in is when the money changes hands.
            plan.collect_offline = Some(facts.total);
        }
        _ => {}
    }
    Ok(Decision::Apply(plan))
}

/// The online payment of a hold failed, was canceled, or could not be set up: the seats go
/// back. `None` when there is nothing to release (it was paid meanwhile, or is no longer held).
pub fn release_unpaid(facts: &Facts, reason: CancelReason) -> Result<Option<Decision>, AppError> {
    if facts.paid_online || facts.status != BookingStatus::Held {
        return Ok(None);
    }
    if facts.lapsed {
        return Ok(Some(Decision::ReleaseLapsed));
    }
    let plan = Plan::moving(facts.status, BookingEvent::Cancel, facts.seats)?;
    Ok(Some(Decision::Apply(plan.cancelled_because(reason))))
}

/// What a successful online payment does to its booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentDecision {
    /// The money is not for this booking as it stands: it all goes back, the booking stays.
    RefundOnly { reason: &'static str },
    /// The booking changes (confirmed, or cancelled with a refund).
    Apply(Plan),
    /// The hold is gone: release the departure's lapsed holds, then decide with
    /// [`late_payment`] on what is free.
    LatePayment,
    /// Already confirmed or checked in: the payment is only recorded.
    Record,
}

/// A payment of `received` in `currency` succeeded for a booking that expected `expected` in
/// `expected_currency`. `released_by_payment`: its cancellation (if any) came from the payment
/// path, not from a person, so the payment may still take its seats back.
pub fn payment_succeeded(
    facts: &Facts,
    received: (i64, &str),
    expected: (i64, &str),
    released_by_payment: bool,
) -> Result<PaymentDecision, AppError> {
    // berth set the amount; a payment of anything else (a bug, or an intent changed behind
    // berth's back) is not a payment for this booking.
    if received.0 < expected.0 || !received.1.eq_ignore_ascii_case(expected.1) {
        return Ok(PaymentDecision::RefundOnly {
            reason: "amount_mismatch",
        });
    }
    Ok(match facts.status {
        BookingStatus::Held if !facts.lapsed => PaymentDecision::Apply(
            Plan::moving(facts.status, BookingEvent::Confirm, facts.seats)?
                .telling(MessageKind::BookingConfirmed),
        ),
        BookingStatus::Held | BookingStatus::Expired => PaymentDecision::LatePayment,
        BookingStatus::Cancelled if released_by_payment => PaymentDecision::LatePayment,
        // Cancelled by a person before the money arrived: it all goes back.
        BookingStatus::Cancelled => PaymentDecision::RefundOnly {
            reason: "cancelled_before_payment",
        },
        BookingStatus::Confirmed | BookingStatus::CheckedIn => PaymentDecision::Record,
    })
}

/// A payment for a booking whose hold is gone (`status` expired, or cancelled by the payment
/// path), with the departure's lapsed holds released: take the seats again if they are free,
/// else cancel `sold_out_after_payment` and refund everything.
pub fn late_payment(
    status: BookingStatus,
    seats: u32,
    occupancy: &Occupancy,
    now: DateTime<Utc>,
) -> Result<Plan, AppError> {
    // The traveler has paid: the booking cutoff does not apply, the departure's start does.
    if occupancy.check_hold(seats, 0, now).is_ok() {
        Ok(Plan::moving(status, BookingEvent::Reinstate, seats)?
            .telling(MessageKind::BookingConfirmed))
    } else {
        paid_too_late(status, seats)
    }
}

/// A payment that arrived after its hold lapsed and cannot take the seats back: the booking is
/// cancelled and everything paid is refunded.
pub fn paid_too_late(status: BookingStatus, seats: u32) -> Result<Plan, AppError> {
    let reason = CancelReason::SoldOutAfterPayment;
    Ok(Plan::moving(status, BookingEvent::PaidTooLate, seats)?
        .cancelled_because(reason)
        .refunding(None, reason.as_str())
        .telling(MessageKind::BookingCancelled))
}

#[cfg(test)]
#[path = "booking_plan_tests.rs"]
mod tests;
