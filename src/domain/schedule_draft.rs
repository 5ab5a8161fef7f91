//! A recurring schedule as an operator sends it, and its validation into a [`Schedule`].

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde::Deserialize;

use super::capacity::parse_capacity;
use super::recurrence::{parse_date, parse_time, Recurrence};
use super::schedule::Schedule;
use crate::error::{AppError, Problems};

/// Most start times one schedule may have per day.
pub const MAX_TIMES: usize = 24;
/// Most skipped dates one schedule may list.
pub const MAX_EXCEPTIONS: usize = 366;

/// `POST /v1/tours/{id}/schedules`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR", "start_date": "2027-04-01", "until": "2027-10-31", "times": ["10:00", "17:30"], "capacity": 20, "exceptions": ["2027-04-25"]}))]
pub struct ScheduleDraft {
    pub rrule: String,
    pub start_date: String,
    #[serde(default)]
    pub until: Option<String>,
    pub times: Vec<String>,
    pub capacity: i64,
    #[serde(default)]
    pub exceptions: Vec<String>,
}

/// A validated schedule: the recurrence in the tour's zone plus the capacity of each departure.
#[derive(Debug, Clone)]
pub struct ValidSchedule {
    pub schedule: Schedule,
    pub capacity: u32,
}

impl ScheduleDraft {
    pub fn validate(&self, timezone: Tz) -> Result<ValidSchedule, AppError> {
        let mut p = Problems::new();
        let recurrence = p.check("rrule", Recurrence::parse(&self.rrule));
        let start_date = p.check("start_date", parse_date(&self.start_date));
        let until = match &self.until {
            Some(text) => p.check("until", parse_date(text).map(Some)),
            None => Some(None),
        };
        if let (Some(start), Some(Some(until))) = (start_date, until) {
            if until < start {
                p.add("until", "must not be before start_date");
            }
        }
        if self.times.is_empty() || self.times.len() > MAX_TIMES {
            p.add("times", format!("must list 1 to {MAX_TIMES} start times"));
        }
        let mut times = Vec::with_capacity(self.times.len());
        for (i, text) in self.times.iter().enumerate() {
            if let Some(time) = p.check(&format!("times[{i}]"), parse_time(text)) {
                if times.contains(&time) {
                    p.add(format!("times[{i}]"), "is listed twice");
                }
                times.push(time);
            }
        }
        times.sort();
        if self.exceptions.len() > MAX_EXCEPTIONS {
            p.add(
                "exceptions",
                format!("must list at most {MAX_EXCEPTIONS} dates"),
            );
        }
        let mut exceptions = BTreeSet::new();
        for (i, text) in self.exceptions.iter().enumerate() {
            if let Some(date) = p.check(&format!("exceptions[{i}]"), parse_date(text)) {
                exceptions.insert(date);
            }
        }
        let capacity = p.check("capacity", parse_capacity(self.capacity, false));
        p.into_result()?;
        match (recurrence, start_date, until, capacity) {
            (Some(recurrence), Some(start_date), Some(until), Some(capacity)) => {
                Ok(ValidSchedule {
                    schedule: Schedule {
                        recurrence,
                        start_date,
                        until,
                        times,
                        exceptions,
                        timezone,
                    },
                    capacity,
                })
            }
            _ => Err(AppError::invalid("schedule", "is invalid")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ScheduleDraft {
        ScheduleDraft {
            rrule: "FREQ=DAILY".into(),
            start_date: "2026-12-01".into(),
            until: None,
            times: vec!["17:30".into(), "09:00".into()],
            capacity: 20,
            exceptions: vec!["2026-12-25".into()],
        }
    }

    #[test]
    fn a_good_draft_validates_with_sorted_times() {
        let valid = draft().validate(chrono_tz::Europe::Lisbon).unwrap();
        assert_eq!(valid.capacity, 20);
        assert_eq!(valid.schedule.times.len(), 2);
        assert!(valid.schedule.times[0] < valid.schedule.times[1]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = draft();
        bad.rrule = "FREQ=HOURLY".into();
        bad.times = vec!["25:00".into(), "09:00".into(), "09:00".into()];
        bad.capacity = 0;
        bad.exceptions = vec!["2026-02-30".into()];
        bad.until = Some("2026-11-01".into());
        let AppError::Validation(fields) = bad.validate(chrono_tz::UTC).unwrap_err() else {
            panic!("expected validation error");
        };
        let names: Vec<_> = fields.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "capacity",
                "exceptions[0]",
                "rrule",
                "times[0]",
                "times[2]",
                "until"
            ]
        );
    }
}
