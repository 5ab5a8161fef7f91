//! Sends what the outbox holds: claim due messages, send them outside any transaction, record
//! the outcome (sent, retry with backoff, failed, dead).

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::service::notifications::{self, Transports};
use crate::storage::Store;

/// Sends every due message; returns how many were attempted (0: idle).
pub async fn run_once(
    store: &Store,
    transports: &Transports,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    notifications::dispatch_once(store, transports, now).await
}
