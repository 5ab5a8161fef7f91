//! Seats: how many are left on a departure, whether a request may take them, and what a
//! traveler sees as the departure's sales status.

use chrono::{DateTime, Duration, Utc};

use crate::error::AppError;

/// The lifecycle of a departure, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartureStatus {
    Scheduled,
    Cancelled,
}

impl DepartureStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "scheduled" => Ok(Self::Scheduled),
            "cancelled" => Ok(Self::Cancelled),
            other => Err(format!("unknown departure status {other:?}")),
        }
    }
}

/// What a traveler sees: can they book this departure right now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesStatus {
    Open,
    SoldOut,
    Closed,
    Cancelled,
}

impl SalesStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::SoldOut => "sold_out",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The seat-relevant facts of one departure at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Occupancy {
    pub starts_at: DateTime<Utc>,
    pub status: DepartureStatus,
    pub capacity: u32,
    /// Seats of live bookings, including holds that have expired but not been released yet.
    pub seats_taken: u32,
    /// Seats of holds past their `expires_at` still counted in `seats_taken`; they are free.
    pub seats_expired: u32,
    /// Seats the shared resources it draws on (a boat other tours use too) still have room for
    /// while it runs: `None` when it draws on none, or when the reader did not look.
    pub resource_room: Option<u32>,
    /// Seats of what is free that travelers on the departure's waiting line are owed (see
    /// `waitlist`): nobody else's. 0 when the line is empty, or when the reader did not look.
    pub held_for_waitlist: u32,
}

impl Occupancy {
    /// Seats nobody holds: the tighter of the departure's own seats and its shared resources'
    /// room. Expired holds never count as taken, even before the expiry worker has released them.
    pub fn free(&self) -> u32 {
        let live = self.seats_taken.saturating_sub(self.seats_expired);
        let own = self.capacity.saturating_sub(live);
        self.resource_room.map_or(own, |room| own.min(room))
    }

    /// Seats a new booking could take now: those free that the waiting line is not owed.
    pub fn available(&self) -> u32 {
        self.free().saturating_sub(self.held_for_waitlist)
    }

    /// The moment sales close: `cutoff_minutes` before departure.
    pub fn sales_close_at(&self, cutoff_minutes: u32) -> DateTime<Utc> {
        self.starts_at - Duration::minutes(i64::from(cutoff_minutes))
    }

    pub fn sales_status(&self, cutoff_minutes: u32, now: DateTime<Utc>) -> SalesStatus {
        if self.status == DepartureStatus::Cancelled {
            SalesStatus::Cancelled
        } else if now >= self.sales_close_at(cutoff_minutes) {
            SalesStatus::Closed
        } else if self.available() == 0 {
            SalesStatus::SoldOut
        } else {
            SalesStatus::Open
        }
    }

    /// Decides whether `seats` may be held now. Called with the departure row locked.
    pub fn check_hold(
        &self,
        seats: u32,
        cutoff_minutes: u32,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if self.status == DepartureStatus::Cancelled {
            return Err(AppError::SalesClosed {
                reason: "the departure is cancelled",
            });
        }
        if now >= self.sales_close_at(cutoff_minutes) {
            return Err(AppError::SalesClosed {
                reason: "the booking cutoff has passed",
            });
        }
        let available = self.available();
        if seats > available {
            return Err(AppError::SoldOut { available });
        }
        Ok(())
    }

    /// Whether `seats` fit as this reading stands, lapsed holds still counted as taken: what the
    /// conditional `UPDATE` that takes seats without a lock first would find. A `false` is a hint
    /// that the hold needs the lock (to free lapsed holds, or to answer sold out or closed).
    pub fn fits_without_release(
        &self,
        seats: u32,
        cutoff_minutes: u32,
        now: DateTime<Utc>,
    ) -> bool {
        let as_read = Occupancy {
            seats_expired: 0,
            ..*self
        };
        as_read.check_hold(seats, cutoff_minutes, now).is_ok()
    }

    /// Capacity may shrink, but never below the seats live bookings hold.
    pub fn check_capacity(&self, new_capacity: u32) -> Result<(), AppError> {
        let taken = self.seats_taken.saturating_sub(self.seats_expired);
        if new_capacity < taken {
            return Err(AppError::CapacityBelowTaken { taken });
        }
        Ok(())
    }
}

/// Largest capacity of one departure: a big ship, not a stadium.
pub const MAX_CAPACITY: i64 = 100_000;

pub fn parse_capacity(value: i64, allow_zero: bool) -> Result<u32, String> {
    let min = i64::from(!allow_zero);
    if (min..=MAX_CAPACITY).contains(&value) {
        Ok(value as u32)
    } else {
        Err(format!("must be between {min} and {MAX_CAPACITY}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn occupancy(capacity: u32, taken: u32, expired: u32) -> Occupancy {
        Occupancy {
            starts_at: Utc.with_ymd_and_hms(2030, 6, 1, 9, 0, 0).unwrap(),
            status: DepartureStatus::Scheduled,
            capacity,
            seats_taken: taken,
            seats_expired: expired,
            resource_room: None,
            held_for_waitlist: 0,
        }
    }

    fn before_start(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 6, 1, 9, 0, 0).unwrap() - Duration::minutes(minutes)
    }

    #[test]
    fn fitting_without_release_counts_lapsed_holds_as_taken() {
        assert!(occupancy(10, 7, 0).fits_without_release(3, 0, before_start(60)));
        assert!(!occupancy(10, 8, 0).fits_without_release(3, 0, before_start(60)));
        // Three lapsed seats would make room, but only once released under the lock.
        assert!(!occupancy(10, 10, 3).fits_without_release(3, 0, before_start(60)));
        // Closed sales never fit.
        assert!(!occupancy(10, 0, 0).fits_without_release(1, 90, before_start(60)));
    }

    #[test]
    fn expired_holds_are_available_before_release() {
        assert_eq!(occupancy(10, 10, 0).available(), 0);
        assert_eq!(occupancy(10, 10, 3).available(), 3);
        assert!(occupancy(10, 10, 3)
            .check_hold(3, 0, before_start(60))
            .is_ok());
        assert!(matches!(
            occupancy(10, 10, 3).check_hold(4, 0, before_start(60)),
            Err(AppError::SoldOut { available: 3 })
        ));
    }

    #[test]
    fn sales_close_at_the_cutoff() {
        let d = occupancy(10, 0, 0);
        assert!(d.check_hold(1, 30, before_start(31)).is_ok());
        assert!(matches!(
            d.check_hold(1, 30, before_start(30)),
            Err(AppError::SalesClosed { .. })
        ));
        assert_eq!(d.sales_status(30, before_start(30)), SalesStatus::Closed);
        assert_eq!(d.sales_status(30, before_start(31)), SalesStatus::Open);
        assert_eq!(
            occupancy(2, 2, 0).sales_status(0, before_start(5)),
            SalesStatus::SoldOut
        );
    }

    #[test]
    fn cancelled_departures_sell_nothing() {
        let mut d = occupancy(10, 0, 0);
        d.status = DepartureStatus::Cancelled;
        assert_eq!(d.sales_status(0, before_start(600)), SalesStatus::Cancelled);
        assert!(matches!(
            d.check_hold(1, 0, before_start(600)),
            Err(AppError::SalesClosed { .. })
        ));
    }

    #[test]
    fn capacity_never_drops_below_live_seats() {
        assert!(occupancy(10, 6, 0).check_capacity(6).is_ok());
        assert!(matches!(
            occupancy(10, 6, 0).check_capacity(5),
            Err(AppError::CapacityBelowTaken { taken: 6 })
        ));
        assert!(occupancy(10, 6, 2).check_capacity(4).is_ok());
    }
}
