//! Sends refunds that were decided (cancellations, late payments, departure cancellations) but
//! not yet accepted by Stripe, with backoff between attempts.

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::service::payments::{self, Payments};
use crate::storage::Store;

/// One pass; returns how many refunds were tried.
pub async fn run_once(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    payments::send_refunds(store, payments, None, now).await
}
