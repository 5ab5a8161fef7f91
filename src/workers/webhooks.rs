//! Sends outbound webhooks: claims due deliveries, posts them outside any transaction, logs
//! each attempt and settles it (delivered, retried with backoff, given up, or parked with a
//! disabled endpoint). Runs in its own loop so a slow receiver never delays email.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::service::webhooks::{availability, dispatch, Webhooks};
use crate::storage::Store;

/// Writes the due `availability.changed` events, then sends every due delivery; returns how
/// many were attempted (0: idle).
pub async fn run_once(
    store: &Store,
    webhooks: &Arc<Webhooks>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    // A round that cannot write availability events (a busy database) still sends what is due;
    // the marks wait for the next round.
    if let Err(error) = availability::emit(store, now).await {
        tracing::warn!(%error, "availability events not written this round");
    }
    dispatch::dispatch_once(store, webhooks, now).await
}

/// Forgets delivery log lines older than 30 days; returns how many.
pub async fn purge_once(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    dispatch::purge(store, now).await
}
