//! The booking state machine: one transition function, one stored spelling per state.

use std::fmt;
use std::str::FromStr;

/// Where a booking is in its life. Only `Held`, `Confirmed` and `CheckedIn` occupy seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingStatus {
    Held,
    Confirmed,
    CheckedIn,
    Expired,
    Cancelled,
}

/// Something that happens to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingEvent {
    Confirm,
    CheckIn,
    Expire,
    Cancel,
    /// A payment arrived for a released booking and its seats were free again.
    Reinstate,
    /// A payment arrived for a released booking and its seats were gone (refunded).
    PaidTooLate,
}

impl BookingEvent {
    pub const ALL: [BookingEvent; 6] = [
        Self::Confirm,
        Self::CheckIn,
        Self::Expire,
        Self::Cancel,
        Self::Reinstate,
        Self::PaidTooLate,
    ];

    pub fn past_tense(self) -> &'static str {
        match self {
            Self::Confirm => "confirmed",
            Self::CheckIn => "checked in",
            Self::Expire => "expired",
            Self::Cancel => "cancelled",
            Self::Reinstate => "reinstated",
            Self::PaidTooLate => "cancelled after a late payment",
        }
    }
}

/// Why a booking was cancelled; stored and shown as [`CancelReason::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The traveler cancelled (refund per the tour's policy).
    Traveler,
    /// The operator cancelled this booking (full refund).
    Operator,
    /// The operator cancelled the whole departure (full refund).
    DepartureCancelled,
    /// Stripe reported the payment failed; the hold was released.
    PaymentFailed,
    /// The PaymentIntent was canceled; the hold was released.
    PaymentCanceled,
    /// Stripe could not be reached to set up the payment; the hold was released.
    PaymentUnavailable,
    /// The payment arrived after the hold lapsed and the seats were gone; refunded in full.
    SoldOutAfterPayment,
    /// Too few booked by the decision time: the departure was cancelled (full refund).
    MinimumNotReached,
}

impl CancelReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Traveler => "traveler",
            Self::Operator => "operator",
            Self::DepartureCancelled => "departure_cancelled",
            Self::PaymentFailed => "payment_failed",
            Self::PaymentCanceled => "payment_canceled",
            Self::PaymentUnavailable => "payment_unavailable",
            Self::SoldOutAfterPayment => "sold_out_after_payment",
            Self::MinimumNotReached => "minimum_not_reached",
        }
    }

    /// Whether the booking was released by the payment path (not by a person): a payment that
    /// still arrives for it may take its seats back.
    pub fn released_by_payment(reason: Option<&str>) -> bool {
        [
            Self::PaymentFailed,
            Self::PaymentCanceled,
            Self::PaymentUnavailable,
        ]
        .iter()
        .any(|r| Some(r.as_str()) == reason)
    }
}

impl BookingStatus {
    /// The only place that decides which transitions exist; storage writes what this returns.
    pub fn apply(
        self,
        event: BookingEvent,
    ) -> Result<BookingStatus, (BookingStatus, BookingEvent)> {
        use {BookingEvent as E, BookingStatus as S};
        match (self, event) {
            (S::Held, E::Confirm) => Ok(S::Confirmed),
            (S::Held, E::Expire) => Ok(S::Expired),
            (S::Confirmed, E::CheckIn) => Ok(S::CheckedIn),
            (S::Held | S::Confirmed, E::Cancel) => Ok(S::Cancelled),
            (S::Expired | S::Cancelled, E::Reinstate) => Ok(S::Confirmed),
            (S::Expired | S::Cancelled, E::PaidTooLate) => Ok(S::Cancelled),
            (from, event) => Err((from, event)),
        }
    }

    /// Whether a booking in this state counts toward the departure's `seats_taken`.
    pub const fn occupies_seats(self) -> bool {
        matches!(self, Self::Held | Self::Confirmed | Self::CheckedIn)
    }

    /// The spelling stored in the database and shown in the API; never change an existing one.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Confirmed => "confirmed",
            Self::CheckedIn => "checked_in",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    pub const ALL: [BookingStatus; 5] = [
        Self::Held,
        Self::Confirmed,
        Self::CheckedIn,
        Self::Expired,
        Self::Cancelled,
    ];

    /// The statuses `event` moves a booking out of, per [`BookingStatus::apply`]: what a bulk
    /// change (every lapsed hold, every booking of a cancelled departure) selects.
    pub fn sources_of(event: BookingEvent) -> Vec<BookingStatus> {
        Self::ALL
            .into_iter()
            .filter(|status| status.apply(event).is_ok())
            .collect()
    }

    /// A change of many bookings at once by `event`: the statuses it selects and the one
    /// status they all move to. `None` if the state machine has no such single move.
    pub fn bulk(event: BookingEvent) -> Option<(Vec<BookingStatus>, BookingStatus)> {
        let sources = Self::sources_of(event);
        let mut targets = sources.iter().filter_map(|status| status.apply(event).ok());
        let to = targets.next()?;
        targets.all(|other| other == to).then_some((sources, to))
    }

    /// The statuses that count toward `seats_taken`, per [`BookingStatus::occupies_seats`].
    pub fn occupying() -> Vec<BookingStatus> {
        Self::ALL
            .into_iter()
            .filter(|status| status.occupies_seats())
            .collect()
    }
}

/// Renders statuses as an SQL list of constant literals (`'held', 'confirmed'`), so queries
/// state the domain's sets instead of repeating them. Only the fixed spellings of
/// [`BookingStatus::as_str`] reach the SQL, never input.
pub fn sql_list(statuses: &[BookingStatus]) -> String {
    statuses
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for BookingStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown booking status {text:?}"))
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingEvent as E;
    use BookingStatus as S;

    #[test]
    fn the_documented_transitions_and_no_others_exist() {
        let allowed = [
            (S::Held, E::Confirm, S::Confirmed),
            (S::Held, E::Expire, S::Expired),
            (S::Held, E::Cancel, S::Cancelled),
            (S::Confirmed, E::Cancel, S::Cancelled),
            (S::Confirmed, E::CheckIn, S::CheckedIn),
            (S::Expired, E::Reinstate, S::Confirmed),
            (S::Cancelled, E::Reinstate, S::Confirmed),
            (S::Expired, E::PaidTooLate, S::Cancelled),
            (S::Cancelled, E::PaidTooLate, S::Cancelled),
        ];
        for from in S::ALL {
            for event in [
                E::Confirm,
                E::CheckIn,
                E::Expire,
                E::Cancel,
                E::Reinstate,
                E::PaidTooLate,
            ] {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                assert_eq!(from.apply(event).ok(), expected, "{from} + {event:?}");
            }
        }
    }

    #[test]
    fn stored_spellings_round_trip() {
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(status));
        }
        assert!("HELD".parse::<S>().is_err());
    }

    #[test]
    fn bulk_changes_select_what_the_state_machine_allows() {
        assert_eq!(S::sources_of(E::Expire), [S::Held]);
        assert_eq!(S::sources_of(E::Cancel), [S::Held, S::Confirmed]);
        assert_eq!(sql_list(&S::sources_of(E::Cancel)), "'held', 'confirmed'");
        assert_eq!(
            S::bulk(E::Cancel),
            Some((vec![S::Held, S::Confirmed], S::Cancelled))
        );
        assert_eq!(S::bulk(E::Expire), Some((vec![S::Held], S::Expired)));
        assert_eq!(S::bulk(E::Reinstate).map(|(_, to)| to), Some(S::Confirmed));
        assert_eq!(
            sql_list(&S::occupying()),
            "'held', 'confirmed', 'checked_in'"
        );
    }

    #[test]
    fn only_live_bookings_occupy_seats() {
        let occupying: Vec<_> = S::ALL.into_iter().filter(|s| s.occupies_seats()).collect();
        assert_eq!(occupying, [S::Held, S::Confirmed, S::CheckedIn]);
    }
}
