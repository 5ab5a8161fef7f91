//! What the operator console shows that no API endpoint does as one answer: the "Today" board.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::reports::{self, CurrencyTotals};
use crate::domain::ids::OperatorId;
use crate::error::AppError;
use crate::storage::dashboard::{self, DepartureLoad};
use crate::storage::{outbox, Store};

/// A departure on the board, with the day it falls on in its tour's zone.
#[derive(Debug, Clone)]
pub struct BoardDeparture {
    pub load: DepartureLoad,
    pub local_date: NaiveDate,
    /// `HH:MM` in the tour's zone.
    pub local_time: String,
    pub tomorrow: bool,
}

/// The "Today" board of one operator.
#[derive(Debug, Clone)]
pub struct Today {
    /// Departures of today and tomorrow, each day judged in its tour's own zone.
    pub departures: Vec<BoardDeparture>,
    /// Messages that failed for good (`failed`) or ran out of attempts (`dead`).
    pub undelivered: usize,
    /// The ledger's totals for the current UTC day, per currency.
    pub revenue: Vec<CurrencyTotals>,
}

/// Today and tomorrow for `operator`. Tours may sit in different zones, so departures are read
/// for a window wide enough for any zone and each is kept when its local date is today or
/// tomorrow where it departs.
pub async fn today(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
) -> Result<Today, AppError> {
    let loads = dashboard::departure_loads(
        store,
        operator,
        now - Duration::hours(26),
        now + Duration::hours(74),
        now,
    )
    .await?;
    let departures = loads
        .into_iter()
        .filter_map(|load| {
            let tz: chrono_tz::Tz = load.timezone.parse().ok()?;
            let today = now.with_timezone(&tz).date_naive();
            let local = load.starts_at.with_timezone(&tz);
            let local_date = local.date_naive();
            let tomorrow = local_date == today.succ_opt()?;
            (local_date == today || tomorrow).then(|| BoardDeparture {
                local_time: local.format("%H:%M").to_string(),
                local_date,
                tomorrow,
                load,
            })
        })
        .collect();
    let mut undelivered = 0;
    for status in ["failed", "dead"] {
        undelivered += outbox::list(store, operator, Some(status), 500)
            .await?
            .len();
    }
    let day = now.date_naive().to_string();
    let (_, _, revenue) = reports::revenue(store, now, operator, Some(&day), Some(&day)).await?;
    Ok(Today {
        departures,
        undelivered,
        revenue,
    })
}
