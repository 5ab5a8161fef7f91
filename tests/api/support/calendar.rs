//! Calendar dates for tests, derived from the test's clock so that no test rots with the
//! calendar: the next DST transitions of a zone, the next given weekday, a local wall-clock time
//! as berth spells it. `.ci/run` runs the date-sensitive tests again with the clock two years
//! ahead (faketime) to prove it.

use chrono::{
    DateTime, Datelike, Duration, DurationRound, FixedOffset, NaiveDate, NaiveTime, Offset,
    SecondsFormat, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// One change of a zone's UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The first instant on the new offset.
    pub at: DateTime<Utc>,
    pub before: FixedOffset,
    pub after: FixedOffset,
}

impl Transition {
    /// The local date on which the clocks change.
    pub fn date(&self) -> NaiveDate {
        self.at.with_timezone(&self.before).date_naive()
    }

    /// The wall-clock time at which the clocks change, read on the old offset (01:00 in Lisbon
    /// in spring, 02:00 in autumn and in New York).
    pub fn local_time(&self) -> NaiveTime {
        self.at.with_timezone(&self.before).time()
    }

    /// How far the clocks move: positive when they spring forward.
    pub fn shift(&self) -> Duration {
        Duration::seconds(i64::from(
            self.after.local_minus_utc() - self.before.local_minus_utc(),
        ))
    }
}

/// A zone's next spring-forward and next fall-back transitions.
#[derive(Debug, Clone, Copy)]
pub struct DstTransitions {
    pub spring: Transition,
    pub fall: Transition,
}

/// The first transition forward and the first back of `zone` after `after`, found by reading
/// the zone's offset (chrono-tz's compiled-in tzdata) hour by hour, then minute by minute.
/// Panics if the zone has not both within two years: it no longer observes DST, and a DST test
/// must pick another zone rather than pass without testing a transition.
pub fn next_dst_transitions(zone: Tz, after: DateTime<Utc>) -> DstTransitions {
    let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc()).fix();
    let (mut spring, mut fall) = (None, None);
    // From the whole hour, so that minute steps land on the transition (all are on whole minutes).
    let mut t = after
        .duration_trunc(Duration::hours(1))
        .expect("a representable hour");
    let end = after + Duration::days(731);
    while t < end && (spring.is_none() || fall.is_none()) {
        let next = t + Duration::hours(1);
        let (before, later) = (offset(t), offset(next));
        if before != later {
            let mut at = t;
            while offset(at) == before {
                at += Duration::minutes(1);
            }
            let transition = Transition {
                at,
                before,
                after: later,
            };
            if later.local_minus_utc() > before.local_minus_utc() {
                spring.get_or_insert(transition);
            } else {
                fall.get_or_insert(transition);
            }
        }
        t = next;
    }
    match (spring, fall) {
        (Some(spring), Some(fall)) => DstTransitions { spring, fall },
        _ => panic!(
            "{zone} has no DST transition both ways within two years of {after}: \
             it no longer observes DST (chrono-tz's tzdata); test DST with another zone"
        ),
    }
}

/// The first `weekday` on or after `from`.
pub fn on_or_after(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from + Duration::days(i64::from(ahead))
}

/// `date` at `hh:mm` on `offset`, as berth writes `local_starts_at` (RFC 3339, `Z` for UTC+0),
/// and the same instant in UTC, as berth writes `starts_at`: (starts_at, local_starts_at).
pub fn departure_at(date: NaiveDate, hh: u32, mm: u32, offset: FixedOffset) -> (String, String) {
    let local = offset
        .from_local_datetime(&date.and_hms_opt(hh, mm, 0).expect("a valid time"))
        .single()
        .expect("a fixed offset has one instant per local time");
    (rfc3339(local.with_timezone(&Utc)), rfc3339(local))
}

/// RFC 3339 to the second, `Z` for UTC+0: how berth writes instants.
pub fn rfc3339<Z: TimeZone>(t: DateTime<Z>) -> String
where
    Z::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The UTC offset of `zone` at noon on `date`.
pub fn offset_on(zone: Tz, date: NaiveDate) -> FixedOffset {
    let noon = date.and_hms_opt(12, 0, 0).expect("noon");
    zone.offset_from_local_datetime(&noon)
        .single()
        .expect("no zone changes its clocks at noon")
        .fix()
}

/// A `FixedOffset` of `hours` east of UTC.
pub fn hours_east(hours: i32) -> FixedOffset {
    FixedOffset::east_opt(hours * 3600).expect("a valid offset")
}
