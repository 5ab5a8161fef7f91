//! Decides departures with a minimum of participants whose decision time has come (see
//! `service::guarantees`).

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::service::guarantees;
use crate::storage::Store;

/// Decides what is due; returns how many departures were decided.
pub async fn run_once(store: &Store, now: DateTime<Utc>) -> Result<usize, AppError> {
    guarantees::decide_due(store, now).await
}
