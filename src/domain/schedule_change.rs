//! What replacing a schedule does to its future departures: a pure plan the service executes
//! under the departures' locks. A departure the new rule still has keeps its place (and takes
//! the new capacity when its seats taken fit); one the rule no longer has is removed when nobody
//! holds a seat on it, and kept, listed for the operator, when somebody does. Cancelled
//! departures are left as they are.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::ids::DepartureId;

/// A future departure of the schedule as it stands, read under its lock (lapsed holds already
/// released, so `seats_taken` counts live holds and bookings only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureDeparture {
    pub id: DepartureId,
    pub starts_at: DateTime<Utc>,
    pub capacity: u32,
    pub seats_taken: u32,
    /// On sale (not cancelled).
    pub scheduled: bool,
}

/// What happens to one departure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartureChange {
    /// Nothing changes.
    Keep,
    /// Still in the rule; takes the schedule's new capacity.
    Resize(u32),
    /// No longer in the rule and nobody on it: it goes.
    Remove,
    /// Not as the new schedule says (no longer in the rule, or more seats taken than the new
    /// capacity), but travelers are on it: kept unchanged and listed.
    KeepBooked,
}

/// The change for each departure, in the order given.
pub fn plan(
    departures: &[FutureDeparture],
    new_starts: &BTreeSet<DateTime<Utc>>,
    new_capacity: u32,
) -> Vec<DepartureChange> {
    departures
        .iter()
        .map(|d| {
            if !d.scheduled {
                DepartureChange::Keep
            } else if new_starts.contains(&d.starts_at) {
                if d.capacity == new_capacity {
                    DepartureChange::Keep
                } else if d.seats_taken <= new_capacity {
                    DepartureChange::Resize(new_capacity)
                } else {
                    DepartureChange::KeepBooked
                }
            } else if d.seats_taken == 0 {
                DepartureChange::Remove
            } else {
                DepartureChange::KeepBooked
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn departure(hour: u32, capacity: u32, seats_taken: u32, scheduled: bool) -> FutureDeparture {
        FutureDeparture {
            id: DepartureId::generate(),
            starts_at: Utc.with_ymd_and_hms(2030, 1, 1, hour, 0, 0).unwrap(),
            capacity,
            seats_taken,
            scheduled,
        }
    }

    #[test]
    fn each_case_of_the_plan() {
        let kept_time = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap();
        let new_starts = BTreeSet::from([kept_time]);
        let departures = [
            departure(9, 10, 0, true),   // in the rule, empty: new capacity
            departure(10, 10, 0, true),  // out of the rule, empty: removed
            departure(11, 10, 3, true),  // out of the rule, booked: kept
            departure(12, 10, 0, false), // cancelled: left alone
        ];
        assert_eq!(
            plan(&departures, &new_starts, 12),
            [
                DepartureChange::Resize(12),
                DepartureChange::Remove,
                DepartureChange::KeepBooked,
                DepartureChange::Keep,
            ]
        );
        let full = [departure(9, 10, 8, true)];
        assert_eq!(plan(&full, &new_starts, 5), [DepartureChange::KeepBooked]);
        assert_eq!(plan(&full, &new_starts, 10), [DepartureChange::Keep]);
    }

    proptest! {
        /// Nobody loses a seat: a departure with seats taken is never removed, and never given a
        /// capacity below them.
        #[test]
        fn no_plan_strands_a_traveler(
            rows in prop::collection::vec((0u32..24, 0u32..30, 0u32..30, any::<bool>()), 0..40),
            kept_hours in prop::collection::btree_set(0u32..24, 0..24),
            new_capacity in 0u32..40,
        ) {
            let departures: Vec<FutureDeparture> = rows
                .iter()
                .map(|&(hour, capacity, taken, scheduled)| departure(hour, capacity, taken.min(capacity), scheduled))
                .collect();
            let new_starts: BTreeSet<_> = kept_hours
                .iter()
                .map(|&h| Utc.with_ymd_and_hms(2030, 1, 1, h, 0, 0).unwrap())
                .collect();
            let changes = plan(&departures, &new_starts, new_capacity);
            prop_assert_eq!(changes.len(), departures.len());
            for (d, change) in departures.iter().zip(changes) {
                match change {
                    DepartureChange::Remove => prop_assert_eq!(d.seats_taken, 0),
                    DepartureChange::Resize(capacity) => prop_assert!(d.seats_taken <= capacity),
                    DepartureChange::Keep | DepartureChange::KeepBooked => {}
                }
                if !d.scheduled {
                    prop_assert_eq!(change, DepartureChange::Keep);
                }
            }
        }
    }
}
