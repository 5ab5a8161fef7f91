//! The waiting line of a sold-out departure: who is owed the seats that free up.
//!
//! The rule: freed seats go to waiting travelers in the order they joined, each to the first
//! who fits in what is left (a party of four waits while a party of two behind it is served
//! from two free seats). Seats owed to the line are nobody else's: a new booking may take only
//! what the line does not want. What is owed turns into holds when berth offers them.

use chrono::{DateTime, Utc};

use super::ids::{BookingId, DepartureId, WaitlistEntryId};
use super::records::Customer;

/// Most travelers one departure's line holds at once.
pub const MAX_WAITING: usize = 200;

/// Where an entry stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// In the line: owed the first seats that free up, if they fit.
    Waiting,
    /// Served: berth placed a hold for it (its `booking`).
    Offered,
    /// Taken out of the line by the operator.
    Removed,
    /// Still waiting when the departure's sales closed (cutoff passed, departed, cancelled, or
    /// its tour archived): the line ended, and berth told the traveler so.
    Closed,
}

impl EntryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Offered => "offered",
            Self::Removed => "removed",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "waiting" => Some(Self::Waiting),
            "offered" => Some(Self::Offered),
            "removed" => Some(Self::Removed),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// What decides whether a departure's line can still be served: the facts of its sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sales {
    pub starts_at: DateTime<Utc>,
    pub cancelled: bool,
    /// The tour's booking cutoff, in minutes before departure.
    pub cutoff_minutes: u32,
    /// The tour is no longer sold.
    pub archived: bool,
}

impl Sales {
    /// No seat of the departure can be sold any more (its cutoff passed, it departed, it is
    /// cancelled or its tour archived): its line is over, as `SalesStatus::{Closed, Cancelled}`
    /// and a hold on an archived tour say.
    pub fn closed(&self, now: DateTime<Utc>) -> bool {
        self.cancelled
            || self.archived
            || now >= self.starts_at - chrono::Duration::minutes(i64::from(self.cutoff_minutes))
    }
}

/// One unit wanted, as the traveler asked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WantedItem {
    pub unit: String,
    pub quantity: u32,
}

/// A traveler in (or once in) a departure's line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: WaitlistEntryId,
    pub departure_id: DepartureId,
    /// `email` is empty when the traveler left only a phone.
    pub customer: Customer,
    pub items: Vec<WantedItem>,
    pub seats: u32,
    pub status: EntryStatus,
    /// The hold berth placed for it, once offered.
    pub booking: Option<BookingId>,
    pub joined_at: DateTime<Utc>,
}

/// A waiting entry as the line needs it: who, and how many seats, in join order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: WaitlistEntryId,
    pub seats: u32,
}

/// The entries of `line` (in join order) that `free` seats serve: each in turn gets its seats
/// if they fit in what is left.
pub fn served(free: u32, line: &[Waiting]) -> Vec<&Waiting> {
    let mut left = free;
    let mut served = Vec::new();
    for entry in line {
        if entry.seats <= left {
            left -= entry.seats;
            served.push(entry);
        }
    }
    served
}

/// Seats of `free` that the line is owed.
pub fn owed(free: u32, line: &[Waiting]) -> u32 {
    served(free, line).iter().map(|entry| entry.seats).sum()
}

/// Someone ahead in the line is served before this entry (or it does not fit at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotServed;

/// Seats of `free` that are owed to others than `taker`: what a new booking may not take. For a
/// hold offered to an entry of the line (`taker`), `NotServed` when `free` does not serve it.
pub fn held_for_others(
    free: u32,
    line: &[Waiting],
    taker: Option<&WaitlistEntryId>,
) -> Result<u32, NotServed> {
    let served = served(free, line);
    let owed: u32 = served.iter().map(|entry| entry.seats).sum();
    match taker {
        None => Ok(owed),
        Some(id) => served
            .iter()
            .find(|entry| &entry.id == id)
            .map(|me| owed - me.seats)
            .ok_or(NotServed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(seats: &[u32]) -> Vec<Waiting> {
        seats
            .iter()
            .map(|&seats| Waiting {
                id: WaitlistEntryId::generate(),
                seats,
            })
            .collect()
    }

    #[test]
    fn freed_seats_go_in_join_order_to_the_first_who_fit() {
        let line = line(&[4, 2, 1, 3]);
        let ids = |served: Vec<&Waiting>| served.iter().map(|w| w.seats).collect::<Vec<_>>();
        assert_eq!(ids(served(0, &line)), Vec::<u32>::new());
        // Two free: the party of four waits, the party of two behind it is served.
        assert_eq!(ids(served(2, &line)), vec![2]);
        assert_eq!(ids(served(3, &line)), vec![2, 1]);
        assert_eq!(ids(served(4, &line)), vec![4]);
        assert_eq!(ids(served(7, &line)), vec![4, 2, 1]);
        assert_eq!(ids(served(20, &line)), vec![4, 2, 1, 3]);
        assert_eq!(
            owed(20, &line),
            10,
            "beyond what the line wants, seats are for sale"
        );
    }

    #[test]
    fn an_offer_is_refused_to_whoever_is_not_served() {
        let line = line(&[4, 2]);
        assert_eq!(held_for_others(2, &line, None), Ok(2));
        assert_eq!(held_for_others(2, &line, Some(&line[1].id)), Ok(0));
        assert_eq!(held_for_others(2, &line, Some(&line[0].id)), Err(NotServed));
        assert_eq!(held_for_others(6, &line, Some(&line[0].id)), Ok(2));
        assert_eq!(
            held_for_others(6, &line, Some(&WaitlistEntryId::generate())),
            Err(NotServed)
        );
    }

    #[test]
    fn a_line_ends_when_sales_close() {
        let now: DateTime<Utc> = "2027-03-28T08:00:00Z".parse().unwrap();
        let sales = Sales {
            starts_at: now + chrono::Duration::minutes(60),
            cancelled: false,
            cutoff_minutes: 30,
            archived: false,
        };
        assert!(!sales.closed(now));
        assert!(!sales.closed(now + chrono::Duration::minutes(29)));
        assert!(
            sales.closed(now + chrono::Duration::minutes(30)),
            "at the cutoff"
        );
        assert!(
            sales.closed(now + chrono::Duration::minutes(90)),
            "departed"
        );
        assert!(Sales {
            cancelled: true,
            ..sales
        }
        .closed(now));
        assert!(Sales {
            archived: true,
            ..sales
        }
        .closed(now));
        assert_eq!(EntryStatus::parse("closed"), Some(EntryStatus::Closed));
        assert_eq!(EntryStatus::Closed.as_str(), "closed");
    }

    proptest! {
        /// What is owed never exceeds what is free; nothing that would fit is left unserved
        /// while seats are left over for sale; and nobody is skipped for someone behind them
        /// unless they did not fit in what was left at their turn.
        #[test]
        fn the_line_is_served_in_order_and_never_beyond_the_free_seats(
            free in 0u32..40,
            wants in proptest::collection::vec(1u32..9, 0..12),
        ) {
            let line = line(&wants);
            let served = served(free, &line);
            let owed: u32 = served.iter().map(|w| w.seats).sum();
            prop_assert!(owed <= free);
            let left = free - owed;
            for entry in &line {
                let was_served = served.iter().any(|w| w.id == entry.id);
                prop_assert!(was_served || entry.seats > left, "{entry:?} fits in the {left} left over");
            }
            // Each served entry fit in what was left at its turn, counting only those ahead.
            let mut used = 0;
            for entry in &line {
                let was_served = served.iter().any(|w| w.id == entry.id);
                prop_assert_eq!(was_served, used + entry.seats <= free);
                if was_served { used += entry.seats; }
            }
        }
    }
}
