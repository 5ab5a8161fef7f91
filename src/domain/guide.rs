//! Guides lead departures, one at a time: a departure occupies its guides from its start for
//! its tour's duration, and a guide may not be given two departures whose times overlap.

use chrono::{DateTime, Duration, Utc};

use super::tour::MAX_DURATION_MINUTES;

/// Most guides on one departure.
pub const MAX_GUIDES: usize = 10;

/// How far before a departure another one may start and still overlap it: the longest tour.
pub const LOOK_BACK: Duration = Duration::minutes(MAX_DURATION_MINUTES);

/// The time a departure occupies its guides: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    pub fn of(starts_at: DateTime<Utc>, duration_minutes: u32) -> Span {
        Span {
            start: starts_at,
            end: starts_at + Duration::minutes(i64::from(duration_minutes)),
        }
    }

    /// Whether the two share a moment (one ending as the other starts does not).
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The first of a guide's other departures (`taken`, with whatever names them) that overlaps
/// `wanted`.
pub fn first_clash<'a, T>(wanted: &Span, taken: &'a [(Span, T)]) -> Option<&'a (Span, T)> {
    taken.iter().find(|(span, _)| span.overlaps(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 3, 30, hour, minute, 0).unwrap()
    }

    #[test]
    fn back_to_back_departures_do_not_clash_and_overlapping_ones_do() {
        let morning = Span::of(at(9, 0), 90);
        let taken = [
            (Span::of(at(7, 0), 120), "early"),
            (Span::of(at(10, 30), 60), "after"),
        ];
        assert_eq!(
            first_clash(&morning, &taken),
            None,
            "touching ends are free"
        );
        let late = [(Span::of(at(10, 29), 60), "overlapping")];
        assert_eq!(
            first_clash(&morning, &late).map(|c| c.1),
            Some("overlapping")
        );
        let inside = [(Span::of(at(9, 30), 10), "inside")];
        assert_eq!(first_clash(&morning, &inside).map(|c| c.1), Some("inside"));
        let around = [(Span::of(at(8, 0), 240), "around")];
        assert_eq!(first_clash(&morning, &around).map(|c| c.1), Some("around"));
    }

    #[test]
    fn the_look_back_covers_the_longest_tour() {
        let longest = Span::of(
            at(9, 0) - LOOK_BACK,
            u32::try_from(MAX_DURATION_MINUTES).unwrap(),
        );
        assert!(!longest.overlaps(&Span::of(at(9, 0), 60)));
        let a_minute_later = Span::of(
            at(9, 1) - LOOK_BACK,
            u32::try_from(MAX_DURATION_MINUTES).unwrap(),
        );
        assert!(a_minute_later.overlaps(&Span::of(at(9, 0), 60)));
    }
}
