//! The console calendar: a month of the operator's departures, each day listing its departures
//! with their load and a link to open one (manifest, capacity, cancellation). One query per
//! month (`service::console::departures_between_days`); each departure falls on its local date
//! in its own tour's zone.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};

use minijinja::{context, Value};
use rocket::{get, State};

use super::{frame, Console};
use crate::clock::Clock;
use crate::domain::capacity::DepartureStatus;
use crate::error::AppError;
use crate::http::guards::Guide;
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::console;
use crate::storage::Store;
use crate::web::traveler::calendar::{weeks, Month};
use crate::web::{Page, WebError};

/// `GET /console/calendar?month=YYYY-MM`: the month's departures (the current month, in UTC,
/// without `month`); `?week=YYYY-MM-DD`: the week (Monday to Sunday) of that date, as a list,
/// easier on a phone. Every role.
#[get("/console/calendar?<month>&<week>")]
pub async fn month(
    _rate: RateLimited,
    user: Console<Guide>,
    month: Option<&str>,
    week: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let now = clock.now();
    let today = now.date_naive();
    if let Some(week) = week {
        let day = NaiveDate::parse_from_str(week, "%Y-%m-%d").map_err(|_| AppError::NotFound)?;
        return week_page(store, now, &principal, day).await;
    }
    let shown = month
        .and_then(Month::parse)
        .unwrap_or_else(|| Month::of(today));
    let (Some(first), Some(last)) = (shown.first_day(), shown.last_day()) else {
        return Err(AppError::NotFound.into());
    };
    let departures =
        console::departures_between_days(store, now, &principal.operator, first, last).await?;
    let by_day = by_day(&departures);
    let grid: Vec<Vec<Value>> = weeks(shown)
        .into_iter()
        .map(|week| {
            week.iter()
                .map(|day| match day {
                    Some(date) => context! {
                        date => date.to_string(),
                        day => date.day(),
                        today => *date == today,
                        departures => by_day.get(date).cloned().unwrap_or_default(),
                    },
                    None => Value::from(()),
                })
                .collect()
        })
        .collect();
    Ok(Page::new(
        "console/calendar.html",
        context! {
            console => frame(store, &principal, "/console/calendar").await,
            calendar => context! {
                key => shown.key(), year => shown.year, month => shown.month,
                previous => shown.previous().key(), next => shown.next().key(),
                weeks => grid, count => departures.len(),
                this_week => (today - Duration::days(i64::from(today.weekday().num_days_from_monday()))).to_string(),
            },
        },
    ))
}

/// The departures as the templates show them, by local date.
fn by_day(departures: &[console::BoardDeparture]) -> BTreeMap<NaiveDate, Vec<Value>> {
    let mut by_day: BTreeMap<NaiveDate, Vec<Value>> = BTreeMap::new();
    for d in departures {
        let load = &d.load;
        by_day.entry(d.local_date).or_default().push(context! {
            id => load.id.as_str(),
            time => d.local_time,
            tour => load.tour_name,
            taken => load.confirmed + load.checked_in + load.held,
            capacity => load.capacity,
            cancelled => load.status == DepartureStatus::Cancelled,
        });
    }
    by_day
}

/// The week of `day`, Monday first, each day with its departures.
async fn week_page(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    principal: &Principal,
    day: NaiveDate,
) -> Result<Page, WebError> {
    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let sunday = monday + Duration::days(6);
    let departures =
        console::departures_between_days(store, now, &principal.operator, monday, sunday).await?;
    let by_day = by_day(&departures);
    let days: Vec<Value> = (0..7)
        .map(|n| {
            let date = monday + Duration::days(n);
            context! {
                date => date.to_string(),
                weekday => n + 1,
                today => date == now.date_naive(),
                departures => by_day.get(&date).cloned().unwrap_or_default(),
            }
        })
        .collect();
    Ok(Page::new(
        "console/week.html",
        context! {
            console => frame(store, principal, "/console/calendar").await,
            week => context! {
                monday => monday.to_string(), sunday => sunday.to_string(),
                previous => (monday - Duration::days(7)).to_string(),
                next => (monday + Duration::days(7)).to_string(),
                month => format!("{:04}-{:02}", monday.year(), monday.month()),
                days => days, count => departures.len(),
            },
        },
    ))
}
