//! Rescheduling: whether a booking may move to another departure of its tour, and what a
//! traveler's cancellation would refund now. Pure decisions over plain values; the service
//! (`service::reschedule`) reads and locks what they need and writes what they allow.
//!
//! The rules:
//! - only a confirmed booking moves (a hold is paid or released first; a checked-in,
//!   cancelled or expired booking has nothing to move);
//! - a traveler moves it only when the tour allows it (`reschedule_allowed`, default true) and
//!   only until its current departure starts, the same deadline as a traveler's cancellation;
//!   an operator of the tour may move it whatever that setting says;
//! - the target is another departure of the same tour, on sale by the same rules as a new
//!   hold (scheduled, before the tour's booking cutoff, enough seats), but the hold limits do
//!   not apply: a move adds no unpaid seats;
//! - the price does not change: the booking's items priced at the tour's current prices must
//!   equal what was paid for them, else the move is refused (`reschedule_price_differs`)
//!   rather than charging or refunding a difference.

use chrono::{DateTime, Utc};

use super::booking::BookingStatus;
use super::capacity::Occupancy;
use super::price_rules::UnitPrices;
use super::pricing::QuoteLine;
use super::refund::CancellationPolicy;
use super::tour::Tour;
use crate::error::AppError;

/// Who asks for a move or a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    Traveler,
    Operator,
}

/// The facts a move is decided on, read with both departures locked.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    pub status: BookingStatus,
    pub seats: u32,
    /// What the booking costs as stored, and what its items cost at the tour's prices now.
    pub total: i64,
    pub total_at_current_prices: i64,
    pub from: &'a Occupancy,
    pub to: &'a Occupancy,
    pub same_departure: bool,
    pub same_tour: bool,
    pub reschedule_allowed: bool,
    pub cutoff_minutes: u32,
    pub by: Requester,
}

/// Decides whether the move may happen now; `Ok` means: take `seats` from `to`, give them back
/// to `from`, and point the booking at `to`.
pub fn check_move(facts: &Move<'_>, now: DateTime<Utc>) -> Result<(), AppError> {
    if !facts.same_tour {
        return Err(AppError::invalid(
            "departure_id",
            "must be a departure of the booking's tour",
        ));
    }
    if facts.same_departure {
        return Err(AppError::invalid(
            "departure_id",
            "is the booking's current departure",
        ));
    }
    if facts.status != BookingStatus::Confirmed {
        return Err(refused(format!(
            "the booking is {}; only a confirmed booking can be rescheduled",
            facts.status
        )));
    }
    if facts.by == Requester::Traveler {
        if !facts.reschedule_allowed {
            return Err(refused(
                "the operator does not allow rescheduling this tour; contact them",
            ));
        }
        if now >= facts.from.starts_at {
            return Err(refused(
                "the departure has started; the booking can no longer be rescheduled",
            ));
        }
    }
    facts
        .to
        .check_hold(facts.seats, facts.cutoff_minutes, now)?;
    if facts.total != facts.total_at_current_prices {
        return Err(AppError::Refused {
            code: "reschedule_price_differs",
            message: "the tour's prices changed since this booking was made; a move keeps \
                      the price, so contact the operator to reschedule"
                .to_owned(),
        });
    }
    Ok(())
}

/// What `items` cost at a departure's current `prices` (`DepartureRecord::prices`); `None`
/// when a unit no longer exists.
pub fn total_at_current_prices(
    tour: &Tour,
    prices: &UnitPrices,
    items: &[QuoteLine],
) -> Option<i64> {
    items.iter().try_fold(0i64, |total, item| {
        let base = tour.unit(&item.unit)?.price;
        let price = prices.get(&item.unit).copied().unwrap_or(base);
        total.checked_add(price.checked_mul(i64::from(item.quantity))?)
    })
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::Refused {
        code: "reschedule_not_allowed",
        message: message.into(),
    }
}

/// What cancelling now would do, before anything is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancellationQuote {
    /// What was paid and not yet refunded, in minor units.
    pub refundable: i64,
    /// Whether the requester may cancel now at all.
    pub cancellable: bool,
    /// Minor units that would come back (0 when not cancellable).
    pub refund: i64,
    /// The share of `refundable` the policy returns, in percent.
    pub refund_percent: i64,
}

/// The refund a cancellation made now would queue: the same rule `service::bookings::cancel`
/// applies (the tour's policy for the traveler, everything for the operator), over what is
/// still refundable (paid minus refunded).
pub fn quote_cancellation(
    status: BookingStatus,
    refundable: i64,
    starts_at: DateTime<Utc>,
    policy: &CancellationPolicy,
    by: Requester,
    now: DateTime<Utc>,
) -> CancellationQuote {
    let live = matches!(status, BookingStatus::Held | BookingStatus::Confirmed);
    let cancellable = live && (by == Requester::Operator || now < starts_at);
    if !cancellable {
        return CancellationQuote {
            refundable,
            cancellable,
            refund: 0,
            refund_percent: 0,
        };
    }
    let (refund, refund_percent) = match by {
        Requester::Operator => (refundable.max(0), 100),
        Requester::Traveler => (
            policy.refund_for(refundable, starts_at, now),
            policy.refund_percent(starts_at, now),
        ),
    };
    CancellationQuote {
        refundable,
        cancellable,
        refund,
        refund_percent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::capacity::DepartureStatus;
    use crate::domain::refund::RefundRule;
    use crate::error::Problems;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 5, 1, 9, 0, 0).unwrap()
    }

    fn departure(hours_ahead: i64, capacity: u32, taken: u32) -> Occupancy {
        Occupancy {
            starts_at: now() + Duration::hours(hours_ahead),
            status: DepartureStatus::Scheduled,
            capacity,
            seats_taken: taken,
            seats_expired: 0,
            resource_room: None,
            held_for_waitlist: 0,
        }
    }

    fn code(result: Result<(), AppError>) -> String {
        match result {
            Ok(()) => "ok".into(),
            Err(AppError::Refused { code, .. }) => code.into(),
            Err(AppError::SoldOut { .. }) => "sold_out".into(),
            Err(AppError::SalesClosed { .. }) => "sales_closed".into(),
            Err(AppError::Validation(fields)) => format!("invalid:{}", fields.len()),
            Err(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn a_confirmed_booking_moves_to_a_departure_with_room() {
        let (from, to) = (departure(48, 10, 2), departure(72, 10, 8));
        let base = Move {
            status: BookingStatus::Confirmed,
            seats: 2,
            total: 7000,
            total_at_current_prices: 7000,
            from: &from,
            to: &to,
            same_departure: false,
            same_tour: true,
            reschedule_allowed: true,
            cutoff_minutes: 30,
            by: Requester::Traveler,
        };
        assert_eq!(code(check_move(&base, now())), "ok");
        assert_eq!(
            code(check_move(&Move { seats: 3, ..base }, now())),
            "sold_out"
        );
        let full = departure(72, 10, 9);
        assert_eq!(
            code(check_move(&Move { to: &full, ..base }, now())),
            "sold_out"
        );
        let closing = departure(0, 10, 0);
        let closing = Occupancy {
            starts_at: now() + Duration::minutes(29),
            ..closing
        };
        assert_eq!(
            code(check_move(
                &Move {
                    to: &closing,
                    ..base
                },
                now()
            )),
            "sales_closed"
        );
        let cancelled = Occupancy {
            status: DepartureStatus::Cancelled,
            ..to
        };
        assert_eq!(
            code(check_move(
                &Move {
                    to: &cancelled,
                    ..base
                },
                now()
            )),
            "sales_closed"
        );
        for status in [
            BookingStatus::Held,
            BookingStatus::CheckedIn,
            BookingStatus::Cancelled,
            BookingStatus::Expired,
        ] {
            assert_eq!(
                code(check_move(&Move { status, ..base }, now())),
                "reschedule_not_allowed"
            );
        }
        assert_eq!(
            code(check_move(
                &Move {
                    total_at_current_prices: 7500,
                    ..base
                },
                now()
            )),
            "reschedule_price_differs"
        );
        assert_eq!(
            code(check_move(
                &Move {
                    same_tour: false,
                    ..base
                },
                now()
            )),
            "invalid:1"
        );
        assert_eq!(
            code(check_move(
                &Move {
                    same_departure: true,
                    ..base
                },
                now()
            )),
            "invalid:1"
        );
    }

    #[test]
    fn the_tour_setting_and_the_start_bind_travelers_only() {
        let (started, to) = (departure(-1, 10, 2), departure(72, 10, 0));
        let (open, _) = (departure(48, 10, 2), ());
        let traveler = Move {
            status: BookingStatus::Confirmed,
            seats: 2,
            total: 7000,
            total_at_current_prices: 7000,
            from: &open,
            to: &to,
            same_departure: false,
            same_tour: true,
            reschedule_allowed: false,
            cutoff_minutes: 0,
            by: Requester::Traveler,
        };
        assert_eq!(code(check_move(&traveler, now())), "reschedule_not_allowed");
        let operator = Move {
            by: Requester::Operator,
            ..traveler
        };
        assert_eq!(code(check_move(&operator, now())), "ok");
        let late = Move {
            from: &started,
            reschedule_allowed: true,
            ..traveler
        };
        assert_eq!(code(check_move(&late, now())), "reschedule_not_allowed");
        assert_eq!(
            code(check_move(
                &Move {
                    by: Requester::Operator,
                    ..late
                },
                now()
            )),
            "ok"
        );
    }

    #[test]
    fn the_quote_is_the_cancellation_rule() {
        let mut p = Problems::new();
        let rules = [
            RefundRule {
                hours_before: 48,
                refund_percent: 100,
            },
            RefundRule {
                hours_before: 24,
                refund_percent: 50,
            },
        ];
        let policy = CancellationPolicy::parse(&rules, "p", &mut p).unwrap();
        let starts = now() + Duration::hours(30);
        let quote = |status, by, at| quote_cancellation(status, 7001, starts, &policy, by, at);
        let traveler = quote(BookingStatus::Confirmed, Requester::Traveler, now());
        assert_eq!(
            (
                traveler.cancellable,
                traveler.refund,
                traveler.refund_percent
            ),
            (true, 3500, 50)
        );
        let early = quote(
            BookingStatus::Confirmed,
            Requester::Traveler,
            now() - Duration::hours(20),
        );
        assert_eq!(early.refund, 7001);
        let operator = quote(BookingStatus::Confirmed, Requester::Operator, now());
        assert_eq!((operator.refund, operator.refund_percent), (7001, 100));
        let after = quote(BookingStatus::Confirmed, Requester::Traveler, starts);
        assert!(!after.cancellable && after.refund == 0);
        assert!(quote(BookingStatus::Confirmed, Requester::Operator, starts).cancellable);
        for status in [
            BookingStatus::Cancelled,
            BookingStatus::Expired,
            BookingStatus::CheckedIn,
        ] {
            let q = quote(status, Requester::Operator, now());
            assert!(!q.cancellable && q.refund == 0, "{status}");
        }
        // The cancel path refunds `policy.refund_for` of the same amount: the quote is that.
        assert_eq!(traveler.refund, policy.refund_for(7001, starts, now()));
    }
}
