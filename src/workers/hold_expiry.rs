//! Releases holds whose time is up. Availability already ignores them; this gives the seats
//! back in the counter and marks the bookings `expired`.

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::service::holds;
use crate::storage::Store;

/// One pass; returns the number of departures whose lapsed holds were released.
pub async fn run_once(store: &Store, now: DateTime<Utc>) -> Result<usize, AppError> {
    holds::release_expired_holds(store, now).await
}
