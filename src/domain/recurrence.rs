//! Recurrence rules for schedules: the RRULE subset berth accepts (RFC 5545 §3.3.10: `FREQ`
//! DAILY or WEEKLY, `INTERVAL`, `BYDAY`, `COUNT`, `UNTIL`), parsed strictly and written back in
//! one canonical form, and the strict `HH:MM` / `YYYY-MM-DD` parsers the schedule API uses.
//! Expanding a rule into departures is [`super::schedule`]'s job.

use std::fmt;

use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};

const MAX_RULE_LEN: usize = 500;
const DAYS: [Weekday; 7] = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
const CODES: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

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

pub(super) fn idx(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

fn days_in(mask: [bool; 7]) -> impl Iterator<Item = (Weekday, &'static str)> {
    DAYS.into_iter()
        .zip(CODES)
        .filter(move |(d, _)| mask[idx(*d)])
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

pub(super) fn weekday_mask(days: &[Weekday]) -> [bool; 7] {
    let mut mask = [false; 7];
    days.iter().for_each(|d| mask[idx(*d)] = true);
    mask
}

fn parse_number(key: &str, value: &str, max: u32) -> Result<u32, RecurrenceError> {
    let msg = || {
        err(format!(
            "{key} must be a number from 1 to {max}, not '{value}'"
        ))
    };
    num(value).filter(|n| (1..=max).contains(n)).ok_or_else(msg)
}

fn parse_by_day(value: &str) -> Result<Vec<Weekday>, RecurrenceError> {
    let mut seen = [false; 7];
    for item in value.split(',') {
        let Some(day) = CODES.iter().position(|code| *code == item).map(|i| DAYS[i]) else {
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
    let msg = || {
        err(format!(
            "UNTIL '{value}' is not YYYYMMDD or YYYYMMDDTHHMMSSZ"
        ))
    };
    parsed.ok_or_else(msg)
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn parse_accepts_supported_forms() {
        let r = Recurrence::parse("RRULE:freq=weekly;Interval=2;byday=th,mo;count=10").unwrap();
        let by_day = vec![Weekday::Mon, Weekday::Thu];
        let want = Recurrence {
            frequency: Frequency::Weekly,
            interval: 2,
            by_day,
            count: Some(10),
            until: None,
        };
        assert_eq!(r, want);
        let r = Recurrence::parse("FREQ=DAILY;UNTIL=20261231").unwrap();
        let want = (
            Frequency::Daily,
            1,
            0,
            Some(Until::Date(date("2026-12-31"))),
        );
        assert_eq!((r.frequency, r.interval, r.by_day.len(), r.until), want);
        let r = Recurrence::parse("FREQ=DAILY;UNTIL=20261231T235959Z").unwrap();
        assert_eq!(r.until, Some(Until::Instant(utc("2026-12-31T23:59:59Z"))));
    }

    #[test]
    fn parse_rejects_bad_rules() {
        let long = format!("FREQ=DAILY{}", ";INTERVAL=1".repeat(50));
        let cases = [
            ("FREQ=MONTHLY", "not supported"),
            ("FREQ=DAILY;COUNT=3;UNTIL=20261231", "COUNT and UNTIL"),
            ("FREQ=WEEKLY;BYDAY=1MO", "numeric"),
            ("FREQ=WEEKLY;BYDAY=MO,XX", "'XX'"),
            ("FREQ=WEEKLY;BYDAY=MO,MO", "more than once"),
            ("FREQ=DAILY;BYMONTH=3", "BYMONTH"),
            ("FREQ=DAILY;WKST=MO", "WKST"),
            ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
            ("FREQ=DAILY;INTERVAL=366", "INTERVAL"),
            ("FREQ=DAILY;INTERVAL=+2", "INTERVAL"),
            ("FREQ=DAILY;COUNT=10001", "COUNT"),
            ("FREQ=DAILY;freq=WEEKLY", "FREQ is given more than once"),
            ("FREQ=DAILY;COUNT=", "empty value"),
            ("FREQ=DAILY;;COUNT=2", "empty part"),
            ("FREQ=DAILY;UNTIL=2026-12-31", "UNTIL"),
            ("FREQ=DAILY;UNTIL=20261231T240000Z", "UNTIL"),
            ("INTERVAL=2", "FREQ is required"),
            ("garbage", "'garbage'"),
            ("", "empty"),
            ("RRULE:", "empty"),
            (&long, "longer than 500"),
        ];
        for (rule, needle) in cases {
            let e = Recurrence::parse(rule).expect_err(rule);
            assert!(e.to_string().contains(needle), "{rule}: {e}");
        }
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        let r = Recurrence::parse("rrule:byday=we,mo;freq=weekly;count=10").unwrap();
        assert_eq!(r.to_string(), "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;COUNT=10");
        for rule in [
            "FREQ=DAILY;INTERVAL=3",
            "FREQ=DAILY;INTERVAL=1;BYDAY=SA,SU;UNTIL=20261231",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20261231T235959Z",
        ] {
            let r = Recurrence::parse(rule).unwrap();
            assert_eq!(r.to_string(), rule);
            assert_eq!(Recurrence::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn strict_time_and_date_parsing() {
        assert_eq!(parse_time("23:59").unwrap().to_string(), "23:59:00");
        assert_eq!(parse_date("2026-03-29").unwrap().ordinal(), 88);
        assert!(parse_time("00:00").is_ok());
        for bad in "9:00 24:00 12:60 12:5 12-00 +1:00 12:00:00 １2:00 1é:00".split(' ') {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        for bad in "2026-3-29 2026-02-30 20260329 2026/03/29 +026-03-29 2026-03-2é".split(' ') {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_time("").is_err() && parse_date("").is_err());
    }
}
