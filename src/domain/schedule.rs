//! Recurring tour schedules: an RRULE subset expanded into concrete UTC departures.
//!
//! Expansion works on local dates in the tour's IANA zone, then attaches the local start
//! times. DST rule (see [`resolve_local`]): a wall-clock time inside a spring-forward gap is
//! shifted forward by the length of the gap (it is read with the UTC offset in force just
//! before the gap, as RFC 5545 §3.3.5 prescribes); an ambiguous fall-back time resolves to
//! the first (earlier) of its two instants. Every other time keeps its wall-clock value, so a
//! 09:00 departure stays 09:00 local and its UTC instant moves by the DST shift.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

const MAX_RULE_LEN: usize = 500;
const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "MO"),
    (Weekday::Tue, "TU"),
    (Weekday::Wed, "WE"),
    (Weekday::Thu, "TH"),
    (Weekday::Fri, "FR"),
    (Weekday::Sat, "SA"),
    (Weekday::Sun, "SU"),
];

/// How often the rule repeats (RRULE `FREQ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every `interval` days.
    Daily,
    /// Every `interval` Monday-based weeks.
    Weekly,
}

/// RRULE `UNTIL`: an inclusive local date, or a UTC instant no departure may start after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// `UNTIL=YYYYMMDD`, inclusive local date.
    Date(NaiveDate),
    /// `UNTIL=YYYYMMDDTHHMMSSZ`, inclusive UTC instant.
    Instant(DateTime<Utc>),
}

/// A parsed RRULE subset; `by_day` is kept Monday-first without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// `FREQ`.
    pub frequency: Frequency,
    /// `INTERVAL`, 1..=365.
    pub interval: u32,
    /// `BYDAY`; empty means "no filter" (daily) or "start date's weekday" (weekly).
    pub by_day: Vec<Weekday>,
    /// `COUNT`: number of recurrence dates, counted before exceptions are removed.
    pub count: Option<u32>,
    /// `UNTIL`.
    pub until: Option<Until>,
}

/// Why a rule, date or time was rejected, as a message fit to show an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceError(pub String);

impl fmt::Display for RecurrenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecurrenceError {}

macro_rules! bail {
    ($($arg:tt)*) => { return Err(RecurrenceError(format!($($arg)*))) };
}

fn err(msg: String) -> RecurrenceError {
    RecurrenceError(msg)
}

fn idx(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

fn days_in(mask: [bool; 7]) -> impl Iterator<Item = (Weekday, &'static str)> {
    WEEKDAYS.into_iter().filter(move |(d, _)| mask[idx(*d)])
}

/// Strict unsigned decimal: `u32::from_str` alone would accept a leading `+`.
fn num(s: &str) -> Option<u32> {
    let ok = !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

fn date_from(y: Option<&str>, m: Option<&str>, d: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(num(y?)?).ok()?, num(m?)?, num(d?)?)
}

fn time_from(h: Option<&str>, m: Option<&str>, s: Option<&str>) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(num(h?)?, num(m?)?, num(s?)?)
}

fn weekday_mask(days: &[Weekday]) -> [bool; 7] {
    let mut mask = [false; 7];
    days.iter().for_each(|d| mask[idx(*d)] = true);
    mask
}

fn parse_number(key: &str, value: &str, max: u32) -> Result<u32, RecurrenceError> {
    num(value).filter(|n| (1..=max).contains(n)).ok_or_else(|| {
        err(format!(
            "{key} must be a whole number from 1 to {max}, got '{value}'"
        ))
    })
}

fn parse_by_day(value: &str) -> Result<Vec<Weekday>, RecurrenceError> {
    let mut seen = [false; 7];
    for item in value.split(',') {
        let Some(&(day, _)) = WEEKDAYS.iter().find(|(_, code)| *code == item) else {
            if item.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') {
                bail!("BYDAY '{item}': numeric prefixes are not supported");
            }
            bail!("BYDAY '{item}' is not one of MO,TU,WE,TH,FR,SA,SU");
        };
        if std::mem::replace(&mut seen[idx(day)], true) {
            bail!("BYDAY lists '{item}' more than once");
        }
    }
    Ok(days_in(seen).map(|(d, _)| d).collect())
}

fn parse_until(value: &str) -> Result<Until, RecurrenceError> {
    let date = date_from(value.get(0..4), value.get(4..6), value.get(6..8));
    let parsed = match (value.len(), date) {
        (8, Some(d)) => Some(Until::Date(d)),
        (16, Some(d)) if value.get(8..9) == Some("T") && value.get(15..) == Some("Z") => {
            time_from(value.get(9..11), value.get(11..13), value.get(13..15))
                .map(|t| Until::Instant(d.and_time(t).and_utc()))
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        err(format!(
            "UNTIL '{value}' must be YYYYMMDD or YYYYMMDDTHHMMSSZ"
        ))
    })
}

impl Recurrence {
    /// Parses the supported RRULE subset (optionally prefixed with `RRULE:`).
    pub fn parse(rule: &str) -> Result<Recurrence, RecurrenceError> {
        if rule.len() > MAX_RULE_LEN {
            bail!("recurrence rule is longer than {MAX_RULE_LEN} characters");
        }
        let body = rule.trim();
        let body = match body.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &body[6..],
            _ => body,
        };
        if body.is_empty() {
            bail!("recurrence rule is empty");
        }
        let (mut freq, mut interval, mut by_day, mut count, mut until) =
            (None, None, None, None, None);
        for part in body.split(';') {
            if part.is_empty() {
                bail!("recurrence rule has an empty part (stray ';')");
            }
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| err(format!("rule part '{part}' is not KEY=VALUE")))?;
            let key = key.to_ascii_uppercase();
            let value = value.to_ascii_uppercase();
            if value.is_empty() {
                bail!("rule part '{part}' has an empty value");
            }
            let duplicate = match key.as_str() {
                "FREQ" => freq
                    .replace(match value.as_str() {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        _ => bail!("FREQ={value} is not supported (use DAILY or WEEKLY)"),
                    })
                    .is_some(),
                "INTERVAL" => interval.replace(parse_number(&key, &value, 365)?).is_some(),
                "BYDAY" => by_day.replace(parse_by_day(&value)?).is_some(),
                "COUNT" => count.replace(parse_number(&key, &value, 10_000)?).is_some(),
                "UNTIL" => until.replace(parse_until(&value)?).is_some(),
                _ => bail!("rule part '{part}' is not supported"),
            };
            if duplicate {
                bail!("{key} is given more than once");
            }
        }
        if count.is_some() && until.is_some() {
            bail!("COUNT and UNTIL cannot both be given");
        }
        Ok(Recurrence {
            frequency: freq.ok_or_else(|| err("FREQ is required".into()))?,
            interval: interval.unwrap_or(1),
            by_day: by_day.unwrap_or_default(),
            count,
            until,
        })
    }
}

impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let freq = match self.frequency {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
        };
        write!(f, "FREQ={freq};INTERVAL={}", self.interval)?;
        let days: Vec<&str> = days_in(weekday_mask(&self.by_day))
            .map(|(_, c)| c)
            .collect();
        if !days.is_empty() {
            write!(f, ";BYDAY={}", days.join(","))?;
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        match self.until {
            Some(Until::Date(d)) => write!(f, ";UNTIL={}", d.format("%Y%m%d")),
            Some(Until::Instant(i)) => write!(f, ";UNTIL={}", i.format("%Y%m%dT%H%M%SZ")),
            None => Ok(()),
        }
    }
}

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
    pub fn occurrences_between(
        &self,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        if not_before > not_after || self.times.is_empty() {
            return out;
        }
        let rule = &self.recurrence;
        let until_instant = match rule.until {
            Some(Until::Instant(i)) => Some(i),
            _ => None,
        };
        // Offsets stay within ±14h and gaps only shift forward, so a local date two days past
        // an instant's UTC date starts after it (and two days before, ends before it).
        let bound = |i: DateTime<Utc>| {
            i.date_naive()
                .checked_add_days(Days::new(2))
                .unwrap_or(NaiveDate::MAX)
        };
        let mut last = bound(not_after);
        if let Some(i) = until_instant {
            last = last.min(bound(i));
        }
        if let Some(Until::Date(d)) = rule.until {
            last = last.min(d);
        }
        if let Some(d) = self.until {
            last = last.min(d);
        }
        // COUNT is defined from start_date, so with it no date may be skipped.
        let first = match rule.count {
            Some(_) => self.start_date,
            None => not_before
                .date_naive()
                .checked_sub_days(Days::new(2))
                .unwrap_or(NaiveDate::MIN),
        };
        let mut produced = 0u32;
        self.for_each_rule_date(first, last, |date| {
            if rule.count.is_some_and(|c| produced >= c) {
                return false;
            }
            produced += 1;
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

/// Parses a strict "HH:MM" local time, 00:00..=23:59.
pub fn parse_time(s: &str) -> Result<NaiveTime, RecurrenceError> {
    let colon = s.len() == 5 && s.get(2..3) == Some(":");
    colon
        .then(|| time_from(s.get(0..2), s.get(3..5), Some("0")))
        .flatten()
        .ok_or_else(|| err(format!("time '{s}' must be HH:MM between 00:00 and 23:59")))
}

/// Parses a strict "YYYY-MM-DD" date.
pub fn parse_date(s: &str) -> Result<NaiveDate, RecurrenceError> {
    let dashes = s.len() == 10 && s.get(4..5) == Some("-") && s.get(7..8) == Some("-");
    dashes
        .then(|| date_from(s.get(0..4), s.get(5..7), s.get(8..10)))
        .flatten()
        .ok_or_else(|| err(format!("date '{s}' must be a valid YYYY-MM-DD date")))
}
