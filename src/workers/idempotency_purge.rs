//! Forgets idempotency keys (and their stored responses) once they expire, expired sign-in
//! sessions, session tokens and password reset codes, and the hold-limit rows of idle clients.

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::service::idempotency;
use crate::storage::Store;

/// One pass; returns the number of keys purged. Sent messages past their retention go too.
pub async fn run_once(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    let messages = crate::service::notifications::purge_sent(store, now).await?;
    if messages > 0 {
        tracing::info!(messages, "old sent messages purged");
    }
    let sessions = crate::service::auth::purge_expired(store, now).await?;
    if sessions > 0 {
        tracing::info!(
            rows = sessions,
            "expired sessions, session tokens and reset codes purged"
        );
    }
    let holders = crate::service::holds::purge_idle_holders(store, now).await?;
    if holders > 0 {
        tracing::info!(rows = holders, "idle hold-limit client rows purged");
    }
    let purged = idempotency::purge_expired(store, now).await?;
    if purged > 0 {
        tracing::info!(purged, "expired idempotency keys purged");
    }
    Ok(purged)
}
