//! Ends the lines of departures no longer sold (a message per traveler still waiting), offers
//! freed seats to the others (a hold and a message per traveler served), and purges the lines
//! of departures long gone.

use chrono::{DateTime, Duration, Utc};

use crate::error::AppError;
use crate::service::holds::waitlist::offer_freed_seats;
use crate::service::payments::Payments;
use crate::storage::Store;

/// One pass: closes the lines whose departure's sales closed, then offers freed seats on the
/// others; returns the number of offers made.
pub async fn run_once(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    offer_ttl: Duration,
) -> Result<usize, AppError> {
    crate::service::waitlist::close_ended(store, now).await?;
    offer_freed_seats(store, payments, now, offer_ttl).await
}

/// Deletes the lines of departures that left long ago; returns how many entries.
pub async fn purge_once(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    crate::service::waitlist::purge(store, now).await
}
