//! Guaranteed departures: a tour (or one departure) may need a minimum of participants to run.
//! A set number of hours before it starts, berth decides once: below the minimum the departure
//! is cancelled (every booking refunded in full, travelers told why), at or above it the
//! departure is guaranteed (travelers told it will run). An operator may decide earlier.

use chrono::{DateTime, Duration, Utc};

/// Most participants a minimum may ask for.
pub const MAX_PARTICIPANTS: i64 = 10_000;
/// Longest time before a departure the decision may be made: 30 days.
pub const MAX_DECISION_HOURS: i64 = 720;
/// When the tour says nothing: two days before.
pub const DEFAULT_DECISION_HOURS: u32 = 48;

/// A departure's minimum, its own or its tour's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minimum {
    pub participants: u32,
    pub decision_hours: u32,
}

impl Minimum {
    /// The minimum in force: the departure's own settings over its tour's; none when the
    /// number is 0.
    pub fn in_force(tour: (u32, u32), departure: (Option<u32>, Option<u32>)) -> Option<Minimum> {
        let participants = departure.0.unwrap_or(tour.0);
        (participants > 0).then(|| Minimum {
            participants,
            decision_hours: departure.1.unwrap_or(tour.1),
        })
    }

    /// When berth decides: `decision_hours` real hours before the start (a daylight-saving
    /// change in between moves the local clock time, not the interval).
    pub fn decision_at(&self, starts_at: DateTime<Utc>) -> DateTime<Utc> {
        starts_at - Duration::hours(i64::from(self.decision_hours))
    }

    /// What the decision is with `participants` booked (confirmed or checked in).
    pub fn decide(&self, participants: u32) -> Decision {
        if participants >= self.participants {
            Decision::Run
        } else {
            Decision::Cancel {
                booked: participants,
                needed: self.participants,
            }
        }
    }
}

/// The decision about a departure with a minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It runs: guaranteed.
    Run,
    /// Too few booked: cancelled.
    Cancel { booked: u32, needed: u32 },
}

/// What travelers are shown about a departure's minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No minimum: it runs as scheduled.
    Scheduled,
    /// Guaranteed to run (decided, by berth or the operator).
    Guaranteed,
    /// Enough seats are held or booked now, but it is not decided yet (the decision counts only
    /// confirmed seats).
    Reached,
    /// This many more participants are needed for it to run.
    Needs(u32),
}

impl Standing {
    /// How many more participants it needs to run, when it needs any.
    pub fn needs(self) -> Option<u32> {
        match self {
            Standing::Needs(more) => Some(more),
            _ => None,
        }
    }

    /// `taken`: the seats held or booked now.
    pub fn of(minimum: Option<Minimum>, guaranteed: bool, taken: u32) -> Standing {
        match minimum {
            _ if guaranteed => Standing::Guaranteed,
            None => Standing::Scheduled,
            Some(m) if taken >= m.participants => Standing::Reached,
            Some(m) => Standing::Needs(m.participants - taken),
        }
    }
}

/// A minimum typed by an operator: 0 (none) to [`MAX_PARTICIPANTS`].
pub fn parse_participants(value: i64) -> Result<u32, String> {
    if (0..=MAX_PARTICIPANTS).contains(&value) {
        Ok(u32::try_from(value).unwrap_or(0))
    } else {
        Err(format!("must be 0 (no minimum) to {MAX_PARTICIPANTS}"))
    }
}

/// A decision time typed by an operator: 1 to [`MAX_DECISION_HOURS`] hours before.
pub fn parse_decision_hours(value: i64) -> Result<u32, String> {
    if (1..=MAX_DECISION_HOURS).contains(&value) {
        Ok(u32::try_from(value).unwrap_or(1))
    } else {
        Err(format!("must be 1 to {MAX_DECISION_HOURS} hours"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Lisbon;

    #[test]
    fn a_departures_own_settings_win_and_zero_means_no_minimum() {
        assert_eq!(Minimum::in_force((0, 48), (None, None)), None);
        assert_eq!(
            Minimum::in_force((6, 48), (None, Some(24))),
            Some(Minimum {
                participants: 6,
                decision_hours: 24
            })
        );
        assert_eq!(Minimum::in_force((6, 48), (Some(0), None)), None);
        assert_eq!(
            Minimum::in_force((0, 48), (Some(4), None)).map(|m| m.participants),
            Some(4)
        );
    }

    #[test]
    fn the_decision_runs_at_or_above_the_minimum_and_cancels_below() {
        let m = Minimum {
            participants: 6,
            decision_hours: 24,
        };
        assert_eq!(m.decide(6), Decision::Run);
        assert_eq!(m.decide(9), Decision::Run);
        assert_eq!(
            m.decide(5),
            Decision::Cancel {
                booked: 5,
                needed: 6
            }
        );
        assert_eq!(Standing::of(Some(m), false, 4), Standing::Needs(2));
        assert_eq!(
            Standing::of(Some(m), false, 6),
            Standing::Reached,
            "not decided yet"
        );
        assert_eq!(Standing::of(Some(m), true, 0), Standing::Guaranteed);
        assert_eq!(Standing::of(None, false, 0), Standing::Scheduled);
    }

    #[test]
    fn the_decision_is_real_hours_before_across_a_daylight_saving_change() {
        // Lisbon moves its clocks forward at 01:00 UTC on the last Sunday of March 2030 (31st).
        let starts = Lisbon
            .with_ymd_and_hms(2030, 3, 31, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let m = Minimum {
            participants: 2,
            decision_hours: 24,
        };
        let decided = m.decision_at(starts).with_timezone(&Lisbon);
        assert_eq!(
            decided.format("%Y-%m-%d %H:%M").to_string(),
            "2030-03-30 09:00"
        );
        assert_eq!(starts - m.decision_at(starts), Duration::hours(24));
    }

    #[test]
    fn typed_settings_are_bounded() {
        assert_eq!(parse_participants(0), Ok(0));
        assert!(parse_participants(-1).is_err());
        assert!(parse_participants(10_001).is_err());
        assert_eq!(parse_decision_hours(48), Ok(48));
        assert!(parse_decision_hours(0).is_err());
        assert!(parse_decision_hours(721).is_err());
    }
}
