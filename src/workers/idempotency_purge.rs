//! Forgets idempotency keys (and their stored responses) once they expire, and expired sign-in
//! sessions, session tokens and password reset codes.

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
    let purged = idempotency::purge_expired(store, now).await?;
    if purged > 0 {
        tracing::info!(purged, "expired idempotency keys purged");
    }
    Ok(purged)
}
