//! Console pages.

use minijinja::{context, Value};
use rocket::{get, State};

use super::{frame, Console};
use crate::clock::Clock;
use crate::http::guards::Guide;
use crate::http::rate_limit::RateLimited;
use crate::service::console;
use crate::storage::Store;
use crate::web::{Page, WebError};

/// `GET /console`: today's and tomorrow's departures with their load, undelivered messages, and
/// today's revenue. Every role.
#[get("/console")]
pub async fn today(
    _rate: RateLimited,
    user: Console<Guide>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let board = console::today(store, clock.now(), &principal.operator).await?;
    let row = |d: &console::BoardDeparture| {
        let load = &d.load;
        context! {
            id => load.id.as_str(),
            tour => load.tour_name,
            time => d.local_time,
            timezone => load.timezone,
            starts_at => load.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            capacity => load.capacity,
            taken => load.confirmed + load.checked_in + load.held,
            held => load.held,
            checked_in => load.checked_in,
            cancelled => load.status == crate::domain::capacity::DepartureStatus::Cancelled,
        }
    };
    let days: Vec<Value> = [("console-day-today", false), ("console-day-tomorrow", true)]
        .into_iter()
        .map(|(label, tomorrow)| {
            let departures: Vec<Value> = board
                .departures
                .iter()
                .filter(|d| d.tomorrow == tomorrow)
                .map(row)
                .collect();
            context! { label => label, departures => departures }
        })
        .collect();
    let revenue: Vec<Value> = board
        .revenue
        .iter()
        .map(|t| context! { net => t.net, currency => t.currency })
        .collect();
    Ok(Page::new(
        "console/today.html",
        context! {
            console => frame(store, &principal, "/console").await,
            today => context! {
                days => days, undelivered => board.undelivered, revenue => revenue,
                // The messages page is for admins, as `GET /v1/messages` is.
                messages_page => principal.role.at_least(crate::domain::auth::Role::Admin),
            },
        },
    ))
}
