//! Recurring tour schedules: an RRULE subset expanded into concrete UTC departures.
//!
//! Expansion works on local dates in the tour's IANA zone, then attaches the local start
//! times. DST rule (see [`resolve_local`]): a wall-clock time inside a spring-forward gap is
//! shifted forward by the length of the gap (it is read with the UTC offset in force just
//! before the gap, as RFC 5545 §3.3.5 prescribes); an ambiguous fall-back time resolves to
//! the first (earlier) of its two instants. Every other time keeps its wall-clock value, so a
//! 09:00 departure stays 09:00 local and its UTC instant moves by the DST shift.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

use super::recurrence::{idx, weekday_mask, Frequency, Recurrence, Until};

/// A tour's recurring departures, all local values being in `timezone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The rule generating departure dates.
    pub recurrence: Recurrence,
    /// First local date of the rule (RRULE DTSTART date).
    pub start_date: NaiveDate,
    /// Inclusive last local date, applied on top of the rule's own UNTIL.
    pub until: Option<NaiveDate>,
    /// Local start times given to every recurrence date.
    pub times: Vec<NaiveTime>,
    /// Local dates on which there is no departure.
    pub exceptions: BTreeSet<NaiveDate>,
    /// The tour's IANA time zone.
    pub timezone: Tz,
}

impl Schedule {
    /// Departures whose UTC start lies in [not_before, not_after], sorted ascending, no duplicates.
    pub fn departures_between(
        &self,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        if not_before > not_after || self.times.is_empty() {
            return out;
        }
        let rule = &self.recurrence;
        let (until_date, until_instant) = match rule.until {
            Some(Until::Date(d)) => (Some(d), None),
            Some(Until::Instant(i)) => (None, Some(i)),
            None => (None, None),
        };
        // Offsets stay within ±14h and gaps only shift forward, so a local date two days past
        // an instant's UTC date starts after it (and two days before, ends before it).
        let near =
            |i: DateTime<Utc>, days| i.date_naive().checked_add_signed(TimeDelta::days(days));
        let bounds = [
            near(not_after, 2),
            until_instant.and_then(|i| near(i, 2)),
            until_date,
            self.until,
        ];
        let last = bounds.into_iter().flatten().min().unwrap_or(NaiveDate::MAX);
        // COUNT is defined from start_date, so with it no date may be skipped.
        let first = match rule.count {
            Some(_) => self.start_date,
            None => near(not_before, -2).unwrap_or(NaiveDate::MIN),
        };
        let mut produced = 0u32;
        self.for_each_rule_date(first, last, |date| {
            if let Some(count) = rule.count {
                if produced >= count {
                    return false;
                }
                produced += 1;
            }
            if !self.exceptions.contains(&date) {
                for &time in &self.times {
                    let at = resolve_local(self.timezone, date, time);
                    if at >= not_before && at <= not_after && until_instant.is_none_or(|u| at <= u)
                    {
                        out.push(at);
                    }
                }
            }
            true
        });
        // Distinct local times can meet on one instant (e.g. 01:30 and 02:30 in a 1h gap).
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Feeds the rule's dates in order, from about `first` (never before start_date) through
    /// `last`, until `visit` returns false. Jumps straight to `first` so large INTERVALs or
    /// late windows cost no walk from start_date.
    fn for_each_rule_date(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        mut visit: impl FnMut(NaiveDate) -> bool,
    ) {
        let start = self.start_date;
        // A hand-built interval of 0 would divide by zero and never advance.
        let step = i64::from(self.recurrence.interval.max(1));
        let days_to_first = (first - start).num_days().max(0);
        let mut mask = weekday_mask(&self.recurrence.by_day);
        match self.recurrence.frequency {
            Frequency::Daily => {
                if self.recurrence.by_day.is_empty() {
                    mask = [true; 7];
                }
                let mut k = days_to_first / step;
                while let Some(date) = start.checked_add_days(Days::new((k * step) as u64)) {
                    if date > last || (mask[idx(date.weekday())] && !visit(date)) {
                        return;
                    }
                    k += 1;
                }
            }
            Frequency::Weekly => {
                if self.recurrence.by_day.is_empty() {
                    mask[idx(start.weekday())] = true;
                }
                let offset = u64::from(start.weekday().num_days_from_monday());
                let Some(week0) = start.checked_sub_days(Days::new(offset)) else {
                    return;
                };
                let mut k = (days_to_first + offset as i64) / (7 * step);
                while let Some(monday) = week0.checked_add_days(Days::new((k * 7 * step) as u64)) {
                    for (i, _) in mask.iter().enumerate().filter(|(_, on)| **on) {
                        let Some(date) = monday.checked_add_days(Days::new(i as u64)) else {
                            return;
                        };
                        if date > last || (date >= start && !visit(date)) {
                            return;
                        }
                    }
                    k += 1;
                }
            }
        }
    }
}

/// One departure of a schedule preview, as an operator checks it before saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewDeparture {
    pub starts_at: DateTime<Utc>,
    /// The start in the tour's zone.
    pub local: DateTime<Tz>,
    /// The zone's UTC offset differs from the previous departure's (or, for the first, from
    /// the offset at the moment of the preview): a daylight-saving change falls in between.
    pub offset_changed: bool,
    /// The local start is not one of the schedule's times: the time fell in a spring-forward
    /// gap and was moved forward by it.
    pub shifted: bool,
}

/// How far ahead a preview looks for departures.
const PREVIEW_DAYS: i64 = 732;

impl Schedule {
    /// The next `n` departures from `now` (within about two years), each marked where a
    /// daylight-saving change comes before it or moved it.
    pub fn preview(&self, now: DateTime<Utc>, n: usize) -> Vec<PreviewDeparture> {
        let until = now + TimeDelta::days(PREVIEW_DAYS);
        let mut previous = self
            .timezone
            .offset_from_utc_datetime(&now.naive_utc())
            .fix();
        let mut starts = self.departures_between(now, until);
        starts.truncate(n);
        starts
            .into_iter()
            .map(|starts_at| {
                let local = starts_at.with_timezone(&self.timezone);
                let offset = local.offset().fix();
                let offset_changed = offset != previous;
                previous = offset;
                PreviewDeparture {
                    starts_at,
                    shifted: !self.times.contains(&local.time()),
                    offset_changed,
                    local,
                }
            })
            .collect()
    }
}

/// Resolves a local wall-clock time in `tz` to UTC by the documented DST rule: a time in a
/// spring-forward gap is read with the offset in force just before the gap (so it moves
/// forward by the gap's length); an ambiguous fall-back time takes the earlier instant.
pub fn resolve_local(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            // One day back, read as UTC, precedes the transition for offsets up to +14h and
            // gaps up to a day (Samoa 2011); a 6h probe would land after it east of UTC+6.
            let probe = local
                .checked_sub_signed(TimeDelta::days(1))
                .unwrap_or(local);
            let before = tz.offset_from_utc_datetime(&probe).fix();
            Utc.from_utc_datetime(&local.checked_sub_offset(before).unwrap_or(local))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recurrence::{parse_date, parse_time};
    use chrono_tz::{America::New_York, Australia::Sydney, Europe::Lisbon, Pacific, UTC};

    #[test]
    fn a_preview_marks_the_daylight_saving_changes_and_the_shifted_times() {
        // Daily at 02:30 in New York from 2027-03-12. Clocks spring forward at 02:00 on
        // 2027-03-14: that day's 02:30 does not exist and moves to 03:30, and from it on the
        // offset is -04:00 instead of -05:00 (a pure rule: fixed dates, no clock read).
        let schedule = Schedule {
            recurrence: Recurrence::parse("FREQ=DAILY").unwrap(),
            start_date: NaiveDate::from_ymd_opt(2027, 3, 12).unwrap(),
            until: None,
            times: vec![NaiveTime::from_hms_opt(2, 30, 0).unwrap()],
            exceptions: BTreeSet::new(),
            timezone: New_York,
        };
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
        let preview = schedule.preview(now, 4);
        let days: Vec<(u32, String, bool, bool)> = preview
            .iter()
            .map(|p| {
                (
                    p.local.day(),
                    p.local.format("%H:%M").to_string(),
                    p.offset_changed,
                    p.shifted,
                )
            })
            .collect();
        assert_eq!(
            days,
            [
                (12, "02:30".into(), false, false),
                (13, "02:30".into(), false, false),
                (14, "03:30".into(), true, true),
                (15, "02:30".into(), false, false),
            ]
        );
        assert_eq!(schedule.preview(now, 2).len(), 2, "at most n departures");
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn sched(rule: &str, start: &str, times: &str, timezone: Tz) -> Schedule {
        Schedule {
            recurrence: Recurrence::parse(rule).unwrap(),
            start_date: date(start),
            until: None,
            times: times.split(' ').map(|t| parse_time(t).unwrap()).collect(),
            exceptions: BTreeSet::new(),
            timezone,
        }
    }

    /// Departures from `from` 00:00Z through `to` 23:59:59Z (2026), as "MM-DD HH:MM" in UTC.
    fn run(s: &Schedule, from: &str, to: &str) -> String {
        let from = utc(&format!("2026-{from}T00:00:00Z"));
        let to = utc(&format!("2026-{to}T23:59:59Z"));
        let got = s.departures_between(from, to).into_iter();
        got.map(|d| d.format("%m-%d %H:%M").to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn nine_oclock_keeps_local_time_across_dst() {
        let s = sched("FREQ=DAILY", "2026-01-01", "09:00", Lisbon);
        let want = "03-28 09:00, 03-29 08:00, 03-30 08:00";
        assert_eq!(run(&s, "03-28", "03-30"), want);
        let want = "10-24 08:00, 10-25 09:00, 10-26 09:00";
        assert_eq!(run(&s, "10-24", "10-26"), want);
        let all = s.departures_between(utc("2026-01-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"));
        let local = |d: &DateTime<Utc>| d.with_timezone(&Lisbon).format("%H:%M").to_string();
        assert_eq!(
            (all.len(), all.iter().all(|d| local(d) == "09:00")),
            (364, true)
        );
        let s = sched("FREQ=DAILY", "2026-01-01", "09:00", New_York);
        assert_eq!(run(&s, "03-07", "03-08"), "03-07 14:00, 03-08 13:00");
        assert_eq!(run(&s, "10-31", "11-01"), "10-31 13:00, 11-01 14:00");
    }

    #[test]
    fn gaps_shift_forward_and_ambiguous_times_take_the_first_instant() {
        let s = sched("FREQ=DAILY", "2026-01-01", "01:30", Lisbon);
        assert_eq!(run(&s, "03-29", "03-29"), "03-29 01:30");
        assert_eq!(run(&s, "10-25", "10-25"), "10-25 00:30");
        let s = sched("FREQ=DAILY", "2026-01-01", "02:30", New_York);
        assert_eq!(run(&s, "03-08", "03-08"), "03-08 07:30");
        let s = sched("FREQ=DAILY", "2026-01-01", "01:30", New_York);
        assert_eq!(run(&s, "11-01", "11-01"), "11-01 05:30");
        let resolve = |tz, d, t| resolve_local(tz, date(d), parse_time(t).unwrap());
        let gap = resolve(Lisbon, "2026-03-29", "01:30").with_timezone(&Lisbon);
        assert_eq!(gap.format("%H:%M %Z").to_string(), "02:30 WEST");
        // East of UTC+6 a 6h look-back would already see the post-transition offset.
        let sydney = resolve(Sydney, "2026-10-04", "02:30");
        assert_eq!(sydney, utc("2026-10-03T16:30:00Z"));
        // Samoa skipped all of 2011-12-30 (UTC-10 to UTC+14): shifted by the whole day.
        let apia = resolve(Pacific::Apia, "2011-12-30", "09:00");
        assert_eq!(apia, utc("2011-12-30T19:00:00Z"));
    }

    #[test]
    fn weekly_and_daily_intervals_keep_their_phase() {
        let s = sched(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
            "2026-01-07",
            "10:00",
            UTC,
        );
        let want = "01-08 10:00, 01-19 10:00, 01-22 10:00, 02-02 10:00, 02-05 10:00, 02-16 10:00";
        assert_eq!(run(&s, "01-01", "02-17"), want);
        // Late windows jump ahead without walking from start_date; the phase must survive.
        let want = "03-02 10:00, 03-05 10:00, 03-16 10:00";
        assert_eq!(run(&s, "03-01", "03-16"), want);
        let s = sched("FREQ=WEEKLY", "2026-01-07", "10:00", UTC);
        assert_eq!(run(&s, "01-01", "01-14"), "01-07 10:00, 01-14 10:00");
        let s = sched("FREQ=DAILY;INTERVAL=3", "2026-01-01", "10:00", UTC);
        let want = "02-03 10:00, 02-06 10:00, 02-09 10:00";
        assert_eq!(run(&s, "02-01", "02-10"), want);
        let s = sched(
            "FREQ=DAILY;INTERVAL=2;BYDAY=SA,SU",
            "2026-01-01",
            "10:00",
            UTC,
        );
        let want = "01-03 10:00, 01-11 10:00, 01-17 10:00, 01-25 10:00";
        assert_eq!(run(&s, "01-01", "01-30"), want);
    }

    #[test]
    fn count_is_taken_from_start_date_before_exceptions() {
        let mut s = sched("FREQ=DAILY;COUNT=5", "2026-05-01", "10:00", UTC);
        assert_eq!(run(&s, "05-04", "12-31"), "05-04 10:00, 05-05 10:00");
        s.exceptions = [date("2026-05-02"), date("2026-05-04")].into();
        let want = "05-01 10:00, 05-03 10:00, 05-05 10:00";
        assert_eq!(run(&s, "01-01", "12-31"), want);
        let s = sched(
            "FREQ=WEEKLY;BYDAY=MO,FR;COUNT=2",
            "2026-05-06",
            "15:00 09:00",
            UTC,
        );
        let want = "05-08 09:00, 05-08 15:00, 05-11 09:00, 05-11 15:00";
        assert_eq!(run(&s, "01-01", "12-31"), want);
    }

    #[test]
    fn until_bounds() {
        let mut s = sched("FREQ=DAILY;UNTIL=20260503", "2026-05-01", "10:00", UTC);
        let want = "05-01 10:00, 05-02 10:00, 05-03 10:00";
        assert_eq!(run(&s, "01-01", "12-31"), want);
        s.until = Some(date("2026-06-30"));
        assert_eq!(run(&s, "01-01", "12-31"), want);
        s.until = Some(date("2026-05-02"));
        assert_eq!(run(&s, "01-01", "12-31"), "05-01 10:00, 05-02 10:00");
        // 09:00 and 10:00 Lisbon in May are 08:00Z and 09:00Z.
        let rule = "FREQ=DAILY;UNTIL=20260502T080000Z";
        let s = sched(rule, "2026-05-01", "09:00 10:00", Lisbon);
        let want = "05-01 08:00, 05-01 09:00, 05-02 08:00";
        assert_eq!(run(&s, "01-01", "12-31"), want);
    }

    #[test]
    fn window_is_inclusive_sorted_and_unique() {
        let s = sched("FREQ=DAILY", "2026-06-01", "18:00 09:00 09:00", Lisbon);
        let (from, to) = (utc("2026-06-10T08:00:00Z"), utc("2026-06-12T17:00:00Z"));
        let got = s.departures_between(from, to);
        assert_eq!((got.len(), got[0], got[5]), (6, from, to));
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        let second = TimeDelta::seconds(1);
        assert_eq!(s.departures_between(from + second, to - second).len(), 4);
        assert!(s.departures_between(to, from).is_empty());
        // 01:30 and 02:30 both land on 01:30Z on Lisbon's spring-forward day.
        let s = sched("FREQ=DAILY", "2026-03-29", "01:30 02:30", Lisbon);
        assert_eq!(run(&s, "03-29", "03-29"), "03-29 01:30");
    }

    #[test]
    fn extremes_do_not_panic() {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        for tz in [Pacific::Kiritimati, Pacific::Pago_Pago] {
            for rule in ["FREQ=DAILY", "FREQ=WEEKLY;INTERVAL=365;BYDAY=MO,SU"] {
                let mut s = sched(rule, "2026-01-01", "00:00 23:59", tz);
                s.start_date = NaiveDate::MAX - Days::new(3);
                let got = s.departures_between(min, max);
                assert!(!got.is_empty() && got.windows(2).all(|w| w[0] < w[1]));
            }
            resolve_local(tz, NaiveDate::MIN, NaiveTime::MIN);
        }
        let mut s = sched("FREQ=DAILY;COUNT=3", "2026-01-01", "10:00", UTC);
        s.recurrence.interval = 0;
        assert_eq!(
            run(&s, "01-01", "12-31"),
            "01-01 10:00, 01-02 10:00, 01-03 10:00"
        );
    }
}
