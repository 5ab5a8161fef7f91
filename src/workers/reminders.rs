//! Enqueues reminders as departures come within the reminder window.

use chrono::{DateTime, Duration, Utc};

use crate::error::AppError;
use crate::service::notifications;
use crate::storage::Store;

/// One pass; returns how many bookings were considered for a reminder.
pub async fn run_once(
    store: &Store,
    now: DateTime<Utc>,
    before: Duration,
) -> Result<usize, AppError> {
    notifications::enqueue_reminders(store, now, before).await
}
