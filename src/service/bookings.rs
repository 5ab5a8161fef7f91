//! A booking after it is placed: reading it, extending its hold, confirming, cancelling,
//! checking in.

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::payments::Payments;
use super::plans::{self, release_lapsed};
use super::principal::Principal;
use crate::domain::booking::{BookingEvent, BookingStatus};
use crate::domain::booking_plan::{self, Asker, Change, Decision, Plan};
use crate::domain::hold_expiry::{ExtendRefused, HoldTimes};
use crate::domain::ids::BookingRef;
use crate::domain::records::{BookingRecord, Customer};
use crate::domain::refund::CancellationPolicy;
use crate::domain::reseller::{Owed, Resale};
use crate::error::AppError;
use crate::secrets;
use crate::storage::{
    bookings, departures, payments as store_payments, reseller_bookings, reseller_receivables,
    Store,
};

/// Who is asking. A traveler proves it with the booking's access token; an operator with a
/// bearer token, and only for bookings on their own tours.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub access_token: Option<String>,
    /// An operator's user or token (staff role or above: the request guard checked it).
    pub operator: Option<Principal>,
    /// A booking whose traveler the caller acts for, proven by other means: a verified manage
    /// link (`service::manage_link::verify`), or the key of the reseller that sold it.
    pub traveler_of: Option<BookingRef>,
}

impl Caller {
    fn is_traveler_of(&self, booking: &BookingRecord) -> bool {
        self.traveler_of.as_ref() == Some(&booking.reference)
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
    // A reseller's hold is confirmed by the reseller, with its traveler's contact and what it
    // owes for it (`service::resales::confirm`).
    if reseller_bookings::find_by_booking(store, &booking.id)
        .await?
        .is_some()
    {
        return Err(AppError::Refused {
            code: "sold_by_reseller",
            message: "a reseller sold this hold: the reseller confirms it".to_owned(),
        });
    }
    transition(store, now, reference, caller, Change::Confirm, None).await
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
    let booking = transition(store, now, reference, caller, Change::Cancel, None).await?;
    super::payments::send_refunds_now(store, payments, &booking.id, now).await;
    Ok(booking)
}

/// Extends a live hold: `asked` from now (or the instance's default), never longer than the
/// instance's maximum, never past the departure's sales cutoff. A lapsed hold cannot be
/// extended (`hold_expired`), nor a booking that is no longer a hold (`not_on_hold`), nor a
/// hold that already runs until the cutoff (`hold_at_cutoff`).
pub async fn extend(
    store: &Store,
    now: DateTime<Utc>,
    reference: &str,
    caller: &Caller,
    times: &HoldTimes,
    asked: Option<Duration>,
) -> Result<BookingRecord, AppError> {
    let booking = accessible(store, reference, caller).await?;
    let cutoff = super::catalogue::tour(store, &booking.tour_id)
        .await?
        .tour
        .cutoff_minutes;
    let until = transaction!(store, |tx| {
        let departure = departures::lock(&mut tx, &booking.departure_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let current = bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.departure_id != booking.departure_id {
            // Moved between the read and the lock: its cutoff is another departure's.
            return Err(AppError::Busy);
        }
        if current.status == BookingStatus::Expired || current.is_lapsed_hold(now) {
            return Err(AppError::HoldExpired);
        }
        let (BookingStatus::Held, Some(expires_at)) = (current.status, current.expires_at) else {
            return Err(AppError::Refused {
                code: "not_on_hold",
                message: format!(
                    "only a hold can be extended; this booking is {}",
                    current.status
                ),
            });
        };
        let close = departure.occupancy.sales_close_at(cutoff);
        let until = times
            .extended(now, current.created_at, expires_at, asked, close)
            .map_err(|refused| AppError::Refused {
                code: match refused {
                    ExtendRefused::AtCutoff => "hold_at_cutoff",
                    ExtendRefused::AtMaximum => "hold_at_maximum",
                    ExtendRefused::NotLonger => "hold_not_longer",
                },
                message: refused.message().to_owned(),
            })?;
        bookings::set_expiry(&mut tx, &current.id, until, now).await?;
        Ok(until)
    })
    .await?;
    tracing::info!(booking = %booking.reference, until = %until, "hold extended");
    Ok(BookingRecord {
        expires_at: Some(until),
        updated_at: now,
        ..booking
    })
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
        traveler_of: None,
    };
    transition(store, now, reference, &caller, Change::CheckIn, None).await
}

enum Outcome {
    Changed(Plan),
    Lapsed,
}

/// What a reseller's confirmation or cancellation writes with the change, in its transaction:
/// the resale's new state and, when it changes, the traveller as the booking row keeps them.
pub(crate) struct ResaleChange<'a> {
    pub resale: &'a Resale,
    pub customer: Option<&'a Customer>,
    /// What the reseller owes for the booking once the change is made.
    pub owed: Owed,
}

/// Asks the rules (`domain::booking_plan::request`) what `change` does to a booking, under its
/// departure's lock, and executes the plan in the same transaction (with what a reseller's
/// booking writes alongside).
pub(crate) async fn transition(
    store: &Store,
    now: DateTime<Utc>,
    reference: &str,
    caller: &Caller,
    change: Change,
    resale: Option<&ResaleChange<'_>>,
) -> Result<BookingRecord, AppError> {
    let event = change.event();
    let booking = accessible(store, reference, caller).await?;
    let operator = caller
        .operator
        .as_ref()
        .filter(|_| caller.is_operator_of(&booking));
    let by_traveler = operator.is_none();
    // Only a traveler's cancellation follows the tour's policy (read before the lock).
    let policy = if change == Change::Cancel && by_traveler {
        super::catalogue::tour(store, &booking.tour_id)
            .await?
            .tour
            .cancellation_policy
    } else {
        CancellationPolicy::default()
    };
    let asker = match operator {
        Some(by) => Asker::Operator { role: by.role },
        None => Asker::Traveler { policy: &policy },
    };
    let outcome = transaction!(store, |tx| {
        let departure = departures::lock(&mut tx, &booking.departure_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let current = bookings::lock(&mut tx, &booking.id)
            .await?
            .ok_or(AppError::NotFound)?;
        // Moved, or for a reseller's change anything it computed from changed, between the
        // read and the lock: answered as busy, so the caller reads again.
        let stale = current.departure_id != booking.departure_id
            || (resale.is_some()
                && (current.status != booking.status
                    || current.seats != booking.seats
                    || current.total != booking.total));
        if stale {
            return Err(AppError::Busy);
        }
        let facts = plans::facts(&mut tx, &current, departure.occupancy.starts_at, now).await?;
        let plan = match booking_plan::request(change, asker, &facts, now)? {
            Decision::ReleaseLapsed => {
                release_lapsed(&mut tx, now, &booking.departure_id).await?;
                return Ok(Outcome::Lapsed);
            }
            Decision::Apply(plan) => plan,
        };
        if let Some(resale) = resale {
            // Before the plan: a confirmation's message goes to the address just learnt.
            if let Some(customer) = resale.customer {
                bookings::set_customer(&mut tx, &current.id, customer, now).await?;
            }
            reseller_bookings::update(&mut tx, &current.id, resale.resale).await?;
            reseller_receivables::restate(
                &mut tx,
                &current.operator_id,
                &resale.resale.reseller_id,
                &current.id,
                &current.currency,
                resale.owed,
                now,
            )
            .await?;
        }
        plans::execute(&mut tx, &current, &plan, now).await?;
        if resale.is_none() && operator.is_some() && plan.to == BookingStatus::Cancelled {
            // The operator cancelled a booking a reseller sold: the reseller owes nothing for it.
            reseller_receivables::forgive(&mut tx, &current.id, now).await?;
        }
        if let (Some(by), Some(action)) = (operator, Action::of_booking(event)) {
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
        Ok(Outcome::Changed(plan))
    })
    .await?;
    match outcome {
        Outcome::Lapsed if event == BookingEvent::Confirm => Err(AppError::HoldExpired),
        Outcome::Lapsed => Err(AppError::InvalidTransition {
            from: BookingStatus::Expired,
            event,
        }),
        Outcome::Changed(plan) => {
            // Built from what was read and written, not re-read: a failed read after the
            // commit would answer 5xx for a change that happened.
            let cancel_reason = match plan.cancel_reason {
                Some(reason) => Some(reason.as_str().to_owned()),
                None => booking.cancel_reason.clone(),
            };
            let updated = BookingRecord {
                status: plan.to,
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
