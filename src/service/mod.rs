//! Use cases. Each owns its transaction boundary, keeps it short, and never spans a network
//! call. Shared by the HTTP handlers, the workers and the command line.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::error::AppError;
use crate::storage::{Store, WriteTx};

/// Runs `$body` in a write transaction on `$store`, committing on `Ok` and rolling back on
/// `Err`, and runs it again (bounded) when the database is busy.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:block) => {
        $crate::service::with_retry($store, || async {
            let mut $tx = $store.begin_write().await?;
            let result = async { $body }.await;
            $crate::service::finish($tx, result).await
        })
    };
}

pub mod account_mail;
pub mod audit;
pub mod auth;
pub mod booking_search;
pub mod bookings;
pub mod calendar_feeds;
pub mod catalogue;
pub mod check;
pub mod console;
pub mod demo;
pub mod guarantees;
pub mod guides;
pub mod holds;
pub mod idempotency;
pub mod manage_link;
pub mod notifications;
pub mod operators;
pub mod passwords;
pub mod payments;
pub mod plans;
pub mod prices;
pub mod principal;
pub mod promos;
pub mod reports;
pub mod resales;
pub mod reschedule;
pub mod resellers;
pub mod schedules;
pub mod webhooks;

/// How many times a transaction that hit a deadlock, lock wait timeout or busy database runs
/// before the client gets 503.
const MAX_ATTEMPTS: u32 = 5;

/// Runs `attempt` again while it fails with [`AppError::Busy`], backing off with jitter so
/// racing transactions do not collide again in lockstep.
pub(crate) async fn with_retry<T, F, Fut>(store: &Store, mut attempt: F) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(AppError::Busy) if tries < MAX_ATTEMPTS => {
                let base = 5u64 << tries;
                let jitter = rand::thread_rng().gen_range(0..=base);
                tracing::debug!(tries, "transaction busy, retrying");
                store.metrics().transaction_retries.inc();
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
            }
            Err(AppError::Busy) => {
                tracing::warn!(tries, "transaction still busy after retries; answering 503");
                return Err(AppError::Busy);
            }
            other => return other,
        }
    }
}

/// Commits on success; rolls back explicitly on failure so a SQLite write lock is released
/// before the next writer needs it.
pub(crate) async fn finish<T>(tx: WriteTx, result: Result<T, AppError>) -> Result<T, AppError> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}
