//! A tour's new schedule in the console: a builder for the recurrence (daily or weekly, every
//! n days or weeks, on which weekdays, ending never, on a date or after a number of dates), the
//! start times, skipped dates and capacity, with a preview of the next departures in the tour's
//! zone (daylight-saving changes marked) before it is saved. The builder writes the API's
//! `ScheduleDraft`; the domain validates and expands it exactly as for `POST
//! /v1/tours/{id}/schedules`.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};
use serde::Serialize;

use super::tours::tour_id;
use super::{frame, Console};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::ids::ScheduleId;
use crate::domain::records::{ScheduleRecord, TourRecord};
use crate::domain::recurrence::{Frequency, Recurrence};
use crate::domain::schedule::PreviewDeparture;
use crate::domain::schedule_draft::ScheduleDraft;
use crate::error::AppError;
use crate::http::guards::Admin;
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::{catalogue, schedules};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

/// Weekday codes as RRULE writes them, Monday first (the form's checkboxes).
const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// The builder, every field as typed.
#[derive(Debug, Clone, Default, FromForm, Serialize)]
pub struct ScheduleForm {
    /// `daily` or `weekly`.
    #[field(default = String::new())]
    frequency: String,
    #[field(default = String::new())]
    interval: String,
    /// Checked weekdays (`MO` …).
    #[field(default = Vec::new())]
    days: Vec<String>,
    #[field(default = String::new())]
    start_date: String,
    /// `never`, `until` or `count`.
    #[field(default = String::new())]
    ends: String,
    #[field(default = String::new())]
    until: String,
    #[field(default = String::new())]
    count: String,
    /// Start times, separated by commas or spaces.
    #[field(default = String::new())]
    times: String,
    /// Skipped dates, separated by commas, spaces or lines.
    #[field(default = String::new())]
    exceptions: String,
    #[field(default = String::new())]
    capacity: String,
    /// `preview` or `save`: which button was pressed.
    #[field(default = String::new())]
    action: String,
    #[field(default = String::new())]
    form_key: String,
}

type Problems = BTreeMap<String, String>;

fn list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ScheduleForm {
    /// A new schedule: weekly from today (in the tour's zone), at 10:00, never ending.
    fn blank(tour: &TourRecord, now: chrono::DateTime<chrono::Utc>) -> ScheduleForm {
        ScheduleForm {
            frequency: "weekly".into(),
            interval: "1".into(),
            start_date: now
                .with_timezone(&tour.tour.timezone)
                .date_naive()
                .to_string(),
            ends: "never".into(),
            times: "10:00".into(),
            capacity: "20".into(),
            form_key: once::new_key(),
            ..<ScheduleForm as Default>::default()
        }
    }

    /// The builder filled with a saved schedule (its rule parsed back into the builder's parts).
    fn of(record: &ScheduleRecord) -> ScheduleForm {
        let rule = Recurrence::parse(&record.rrule).ok();
        let (frequency, interval, days, count) = match &rule {
            Some(rule) => (
                match rule.frequency {
                    Frequency::Daily => "daily",
                    Frequency::Weekly => "weekly",
                },
                rule.interval.to_string(),
                rule.by_day
                    .iter()
                    .map(|d| WEEKDAYS[d.num_days_from_monday() as usize].to_owned())
                    .collect(),
                rule.count,
            ),
            None => ("weekly", "1".to_owned(), Vec::new(), None),
        };
        let ends = match (count, &record.until) {
            (Some(_), _) => "count",
            (None, Some(_)) => "until",
            (None, None) => "never",
        };
        ScheduleForm {
            frequency: frequency.into(),
            interval,
            days,
            start_date: record.start_date.clone(),
            ends: ends.into(),
            until: record.until.clone().unwrap_or_default(),
            count: count.map(|c| c.to_string()).unwrap_or_default(),
            times: record.times.join(", "),
            exceptions: record.exceptions.join("\n"),
            capacity: record.capacity.to_string(),
            form_key: once::new_key(),
            ..<ScheduleForm as Default>::default()
        }
    }

    /// The RRULE the builder describes (`FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10`). What was
    /// typed goes in as typed, so the domain's parser names what is wrong with it.
    fn rrule(&self) -> String {
        let frequency = match self.frequency.as_str() {
            "daily" => "DAILY",
            _ => "WEEKLY",
        };
        let mut rule = format!("FREQ={frequency}");
        let interval = self.interval.trim();
        if !interval.is_empty() {
            rule.push_str(&format!(";INTERVAL={interval}"));
        }
        let days: Vec<&str> = WEEKDAYS
            .into_iter()
            .filter(|day| self.days.iter().any(|d| d == day))
            .collect();
        if !days.is_empty() {
            rule.push_str(&format!(";BYDAY={}", days.join(",")));
        }
        if self.ends == "count" {
            rule.push_str(&format!(";COUNT={}", self.count.trim()));
        }
        rule
    }

    /// The API's draft, or the problem of a capacity that is not a number.
    fn to_draft(&self) -> Result<ScheduleDraft, Problems> {
        let Ok(capacity) = self.capacity.trim().parse::<i64>() else {
            return Err(Problems::from([(
                "capacity".to_owned(),
                "must be a whole number".to_owned(),
            )]));
        };
        Ok(ScheduleDraft {
            rrule: self.rrule(),
            start_date: self.start_date.trim().to_owned(),
            until: (self.ends == "until").then(|| self.until.trim().to_owned()),
            times: list(&self.times),
            capacity,
            exceptions: list(&self.exceptions),
        })
    }
}

/// The domain's field names as the builder's: the rule's parts are the recurrence fieldset,
/// `times[2]` is the times field, `exceptions[0]` the skipped dates.
fn problems(error: AppError) -> Result<Problems, AppError> {
    let AppError::Validation(fields) = error else {
        return Err(error);
    };
    let mut problems = Problems::new();
    for (field, message) in fields {
        let name = match field.split('[').next().unwrap_or_default() {
            "rrule" => "recurrence",
            "times" => "times",
            "exceptions" => "exceptions",
            "until" => "until",
            "start_date" => "start_date",
            "capacity" => "capacity",
            _ => "recurrence",
        };
        problems
            .entry(name.to_owned())
            .and_modify(|m: &mut String| {
                m.push_str("; ");
                m.push_str(&message);
            })
            .or_insert(message);
    }
    Ok(problems)
}

async fn builder_page(
    store: &Store,
    principal: &Principal,
    tour: &TourRecord,
    schedule: Option<&ScheduleId>,
    form: &ScheduleForm,
    preview: Option<&[PreviewDeparture]>,
    problems: &Problems,
) -> Page {
    let preview: Option<Vec<Value>> = preview.map(|departures| {
        departures
            .iter()
            .map(|d| {
                context! {
                    date => d.local.date_naive().to_string(),
                    weekday => d.local.format("%u").to_string(),
                    time => d.local.format("%H:%M").to_string(),
                    offset => d.local.format("%:z").to_string(),
                    offset_changed => d.offset_changed,
                    shifted => d.shifted,
                }
            })
            .collect()
    });
    Page::new(
        "console/schedule_form.html",
        context! {
            console => frame(store, principal, "/console/tours").await,
            tour => context! {
                id => tour.id.as_str(), name => tour.tour.name, timezone => tour.tour.timezone.name(),
            },
            schedule => schedule.map(|id| id.as_str()),
            weekdays => WEEKDAYS,
            form => Value::from_serialize(form),
            errors => problems,
            preview => preview,
            preview_count => catalogue::PREVIEW_DEPARTURES,
        },
    )
    .refused_if(!problems.is_empty())
}

/// `GET /console/tours/<id>/schedules/new`: the builder. Admins.
#[get("/console/tours/<id>/schedules/new")]
pub async fn new(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let tour = catalogue::own_tour(store, &principal.operator, &tour_id(id)?).await?;
    let form = ScheduleForm::blank(&tour, clock.now());
    Ok(builder_page(
        store,
        &principal,
        &tour,
        None,
        &form,
        None,
        &Problems::new(),
    )
    .await)
}

/// `POST /console/tours/<id>/schedules`: "Preview" shows the next departures the builder
/// describes; "Save" creates the schedule and its departures (as the API does), once per form.
#[post("/console/tours/<id>/schedules", data = "<form>")]
pub async fn submit(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<ScheduleForm>,
    store: &State<Store>,
    config: &State<AppConfig>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let tour = catalogue::own_tour(store, &principal.operator, &tour_id(id)?).await?;
    let builder = Builder {
        store,
        config,
        now: clock.now(),
        principal: &principal,
        tour: &tour,
        schedule: None,
    };
    builder.submit(form.0).await
}

/// `GET /console/schedules/<id>/edit`: the builder filled with the schedule, to change it or
/// end it (a last date). Admins.
#[get("/console/schedules/<id>/edit")]
pub async fn edit(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let id = ScheduleId::parse(id).ok_or(AppError::NotFound)?;
    let (schedule, tour) = schedules::own_schedule(store, &principal.operator, &id).await?;
    let form = ScheduleForm::of(&schedule);
    let none = Problems::new();
    Ok(builder_page(
        store,
        &principal,
        &tour,
        Some(&schedule.id),
        &form,
        None,
        &none,
    )
    .await)
}

/// `POST /console/schedules/<id>`: "Preview" as for a new schedule; "Save" changes it as
/// `PUT /v1/schedules/{id}` does, once per form, and says what happened to its departures.
#[post("/console/schedules/<id>", data = "<form>")]
pub async fn update(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<ScheduleForm>,
    store: &State<Store>,
    config: &State<AppConfig>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let id = ScheduleId::parse(id).ok_or(AppError::NotFound)?;
    let (schedule, tour) = schedules::own_schedule(store, &principal.operator, &id).await?;
    let builder = Builder {
        store,
        config,
        now: clock.now(),
        principal: &principal,
        tour: &tour,
        schedule: Some(&schedule.id),
    };
    builder.submit(form.0).await
}

/// One post of the builder: a new schedule (`schedule: None`) or a change of one.
struct Builder<'a> {
    store: &'a Store,
    config: &'a AppConfig,
    now: chrono::DateTime<chrono::Utc>,
    principal: &'a Principal,
    tour: &'a TourRecord,
    schedule: Option<&'a ScheduleId>,
}

impl Builder<'_> {
    async fn page(
        &self,
        form: &ScheduleForm,
        preview: Option<&[PreviewDeparture]>,
        problems: &Problems,
    ) -> Page {
        let (store, principal, tour) = (self.store, self.principal, self.tour);
        builder_page(
            store,
            principal,
            tour,
            self.schedule,
            form,
            preview,
            problems,
        )
        .await
    }

    async fn submit(self, form: ScheduleForm) -> Result<Either<Redirect, Page>, WebError> {
        let draft = match form.to_draft() {
            Ok(draft) => draft,
            Err(problems) => return Ok(Either::Right(self.page(&form, None, &problems).await)),
        };
        let preview = match catalogue::preview_schedule(self.tour, &draft, self.now) {
            Ok(preview) => preview,
            Err(error) => {
                let problems = problems(error)?;
                return Ok(Either::Right(self.page(&form, None, &problems).await));
            }
        };
        if form.action != "save" {
            let none = Problems::new();
            return Ok(Either::Right(self.page(&form, Some(&preview), &none).await));
        }
        let target = self.schedule.map(|id| id.as_str()).unwrap_or("new");
        let scope = format!("console:{}:schedules", self.principal.operator);
        let fields = serde_json::json!([
            self.tour.id.as_str(),
            target,
            &draft.rrule,
            &draft.start_date,
            &draft.until,
            &draft.times,
            draft.capacity,
            &draft.exceptions
        ])
        .to_string();
        let (store, config, now, principal) = (self.store, self.config, self.now, self.principal);
        let horizon = config.schedule_horizon_days;
        let tour = &self.tour.id;
        let saved = once::once(
            store,
            config,
            now,
            &scope,
            &form.form_key,
            &fields,
            || async {
                match self.schedule {
                    None => {
                        catalogue::create_schedule(store, now, horizon, principal, tour, draft)
                            .await?;
                        Ok(format!("/console/tours/{tour}?notice=schedule"))
                    }
                    Some(id) => {
                        let change =
                            schedules::replace_schedule(store, now, horizon, principal, id, draft)
                                .await?;
                        Ok(format!(
                            "/console/tours/{tour}?notice=schedule-changed&kept={}",
                            change.kept.len()
                        ))
                    }
                }
            },
        )
        .await;
        match saved {
            Ok(location) => Ok(Either::Left(Redirect::to(location))),
            Err(error) => {
                let problems = problems(error)?;
                Ok(Either::Right(
                    self.page(&form, Some(&preview), &problems).await,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_schedule_fills_the_builder_that_writes_it_again() {
        let record = ScheduleRecord {
            id: ScheduleId::generate(),
            tour_id: crate::domain::ids::TourId::generate(),
            rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SA;COUNT=8".into(),
            start_date: "2027-03-02".into(),
            until: None,
            times: vec!["09:00".into(), "14:30".into()],
            exceptions: vec!["2027-03-16".into()],
            capacity: 14,
            materialized_until: None,
        };
        let form = ScheduleForm::of(&record);
        assert_eq!((form.ends.as_str(), form.count.as_str()), ("count", "8"));
        assert_eq!(form.days, ["TU", "SA"]);
        let draft = form.to_draft().unwrap();
        assert_eq!(draft.rrule, record.rrule);
        assert_eq!(draft.times, record.times);
        assert_eq!(draft.exceptions, record.exceptions);
        assert_eq!(draft.capacity, 14);
        let ended = ScheduleRecord {
            rrule: "FREQ=DAILY;INTERVAL=1".into(),
            until: Some("2027-04-01".into()),
            ..record
        };
        let draft = ScheduleForm::of(&ended).to_draft().unwrap();
        assert_eq!(draft.rrule, "FREQ=DAILY;INTERVAL=1");
        assert_eq!(draft.until.as_deref(), Some("2027-04-01"));
    }

    #[test]
    fn the_builder_writes_the_rule_the_api_takes() {
        let form = ScheduleForm {
            frequency: "weekly".into(),
            interval: "2".into(),
            days: vec!["FR".into(), "MO".into()],
            ends: "count".into(),
            count: "10".into(),
            times: "09:00, 17:30".into(),
            exceptions: "2027-01-01\n2027-01-02".into(),
            capacity: "12".into(),
            ..<ScheduleForm as Default>::default()
        };
        let draft = form.to_draft().unwrap();
        assert_eq!(draft.rrule, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;COUNT=10");
        assert_eq!(draft.times, ["09:00", "17:30"]);
        assert_eq!(draft.exceptions.len(), 2);
        assert_eq!(draft.until, None);
        let daily_until = ScheduleForm {
            frequency: "daily".into(),
            ends: "until".into(),
            until: "2027-02-01".into(),
            ..form
        };
        let draft = daily_until.to_draft().unwrap();
        assert_eq!(draft.rrule, "FREQ=DAILY;INTERVAL=2;BYDAY=MO,FR");
        assert_eq!(draft.until.as_deref(), Some("2027-02-01"));
    }
}
