//! Use cases. Each owns its transaction boundary, keeps it short, and never spans a network
//! call. Shared by the HTTP handlers, the workers and the command line.

use std::future::Future;
use std::time::Duration;

use prometheus::IntCounter;
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
pub mod resources;
pub mod schedules;
pub mod waitlist;
pub mod webhooks;

/// The most attempts one transaction gets while the database answers `Busy` (a deadlock victim,
/// a lock wait timeout, a Galera certification conflict or a node not ready, busy SQLite, no
/// free connection, a lost connection: nothing was written, so running it again is safe).
/// Twelve rather than five: rushing one departure through three Galera nodes, conflicts come
/// back within milliseconds, and five attempts (about 0.3 s of backoff) left up to 6.5 % of a
/// run's requests with 503. Up to twelve attempts within 2 s took the 503s from 531 to 0 in
/// 30,000 requests at 96 in flight (`load-tests/RESULTS.md`, "fast retry").
const MAX_ATTEMPTS: u32 = 12;

/// The time one transaction's attempts and backoff may take together before the client gets
/// `503 busy` with `Retry-After`: a retry starts only if its backoff ends within the budget.
/// Fast failures get many cheap attempts; a slow one (a lock wait timeout or a pool timeout,
/// 5 s by default) is past the budget already and answers 503 at once, so a request never
/// waits out several lock timeouts in a row.
const RETRY_BUDGET: Duration = Duration::from_millis(2_000);

/// The backoff before retry `n` (after `n` failed attempts) is `base = 5 ms << min(n, 4)`
/// (10, 20, 40, 80, then 80 ms) plus a random jitter of `0..=base`, so racing transactions do
/// not collide again in lockstep. Eleven backoffs take at most 1.42 s, so fast failures use
/// all twelve attempts within the budget.
const BACKOFF_UNIT_MS: u64 = 5;
const BACKOFF_MAX_SHIFT: u32 = 4;

/// The pause after `failed` attempts (see [`BACKOFF_UNIT_MS`]).
fn backoff(failed: u32) -> Duration {
    let base = BACKOFF_UNIT_MS << failed.min(BACKOFF_MAX_SHIFT);
    let jitter = rand::thread_rng().gen_range(0..=base);
    Duration::from_millis(base + jitter)
}

/// Runs `attempt` again while it fails with [`AppError::Busy`], at most [`MAX_ATTEMPTS`]
/// times within [`RETRY_BUDGET`], backing off with jitter; then the `Busy` goes to the client.
pub(crate) async fn with_retry<T, F, Fut>(store: &Store, attempt: F) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    retry_while_busy(&store.metrics().transaction_retries, attempt).await
}

/// [`with_retry`] without the store: `retries` counts the attempts run again.
async fn retry_while_busy<T, F, Fut>(retries: &IntCounter, mut attempt: F) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    // Tokio's clock, so tests can run the budget on paused time.
    let started = tokio::time::Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(AppError::Busy) => {
                let pause = backoff(tries);
                let elapsed = started.elapsed();
                if tries >= MAX_ATTEMPTS || elapsed + pause > RETRY_BUDGET {
                    tracing::warn!(
                        tries,
                        elapsed_ms = elapsed.as_millis() as u64,
                        "transaction still busy after retries; answering 503"
                    );
                    return Err(AppError::Busy);
                }
                tracing::debug!(tries, "transaction busy, retrying");
                retries.inc();
                tokio::time::sleep(pause).await;
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// An attempt that answers `Busy` for its first `failures` calls, then `Ok(calls)`, each
    /// call taking `takes` of (paused) time.
    async fn run(failures: u32, takes: Duration) -> (Result<u32, AppError>, u32, Duration) {
        let retries = IntCounter::new("retries", "test").unwrap();
        let calls = Cell::new(0);
        let started = tokio::time::Instant::now();
        let result = retry_while_busy(&retries, || {
            calls.set(calls.get() + 1);
            let call = calls.get();
            async move {
                tokio::time::sleep(takes).await;
                if call <= failures {
                    Err(AppError::Busy)
                } else {
                    Ok(call)
                }
            }
        })
        .await;
        assert_eq!(retries.get(), u64::from(calls.get() - 1), "retries counted");
        (result, calls.get(), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn fast_conflicts_are_retried_beyond_five_attempts() {
        let (result, calls, _) = run(8, Duration::from_millis(3)).await;
        assert_eq!(result.unwrap(), 9);
        assert_eq!(calls, 9);
    }

    #[tokio::test(start_paused = true)]
    async fn a_database_that_stays_busy_gets_twelve_attempts_within_two_seconds() {
        let (result, calls, elapsed) = run(u32::MAX, Duration::ZERO).await;
        assert!(matches!(result, Err(AppError::Busy)), "{result:?}");
        assert_eq!(calls, MAX_ATTEMPTS);
        // Eleven backoffs of 10, 20, 40, 80, 80, … ms, each plus up to as much jitter.
        assert!(elapsed >= Duration::from_millis(710), "{elapsed:?}");
        assert!(elapsed <= RETRY_BUDGET, "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_starts_past_the_budget() {
        // Like a 1 s lock wait timeout: the second attempt ends past 2 s, so it is the last.
        let (result, calls, elapsed) = run(u32::MAX, Duration::from_secs(1)).await;
        assert!(matches!(result, Err(AppError::Busy)), "{result:?}");
        assert_eq!(calls, 2);
        assert!(elapsed < Duration::from_millis(2_100), "{elapsed:?}");
        // A failure slower than the whole budget (a 5 s lock wait) is not run again.
        let (result, calls, _) = run(u32::MAX, Duration::from_secs(5)).await;
        assert!(matches!(result, Err(AppError::Busy)), "{result:?}");
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_and_success_are_not_retried() {
        let retries = IntCounter::new("retries", "test").unwrap();
        let calls = Cell::new(0);
        let result: Result<(), AppError> = retry_while_busy(&retries, || {
            calls.set(calls.get() + 1);
            async { Err(AppError::CommitUnknown) }
        })
        .await;
        assert!(matches!(result, Err(AppError::CommitUnknown)));
        assert_eq!((calls.get(), retries.get()), (1, 0));
        let (result, calls, elapsed) = run(0, Duration::ZERO).await;
        assert_eq!((result.unwrap(), calls, elapsed), (1, 1, Duration::ZERO));
    }
}
