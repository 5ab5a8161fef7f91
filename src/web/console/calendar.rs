//! The console calendar: a month of the operator's departures, each day listing its departures
//! with their load and a link to open one (manifest, capacity, cancellation). One query per
//! month (`service::console::departures_between_days`); each departure falls on its local date
//! in its own tour's zone.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::{get, State};

use super::{frame, Console};
use crate::clock::Clock;
use crate::domain::capacity::DepartureStatus;
use crate::http::guards::Guide;
use crate::http::rate_limit::RateLimited;
use crate::service::console;
use crate::storage::Store;
use crate::web::traveler::calendar::{weeks, Month};
use crate::web::{Page, WebError};

/// `GET /console/calendar?month=YYYY-MM`: the month's departures (the current month, in UTC,
/// without `month`). Every role.
#[get("/console/calendar?<month>")]
pub async fn month(
    _rate: RateLimited,
    user: Console<Guide>,
    month: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let now = clock.now();
    let today = now.date_naive();
    let shown = month
        .and_then(Month::parse)
        .unwrap_or_else(|| Month::of(today));
    let (Some(first), Some(last)) = (shown.first_day(), shown.last_day()) else {
        return Err(crate::error::AppError::NotFound.into());
    };
    let departures =
        console::departures_between_days(store, now, &principal.operator, first, last).await?;
    let mut by_day: BTreeMap<chrono::NaiveDate, Vec<Value>> = BTreeMap::new();
    for d in &departures {
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
    let grid: Vec<Vec<Value>> = weeks(shown)
        .into_iter()
        .map(|week| {
            week.iter()
                .map(|day| match day {
                    Some(date) => context! {
                        date => date.to_string(),
                        day => chrono::Datelike::day(date),
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
            },
        },
    ))
}
