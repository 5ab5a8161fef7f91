//! Waiting on a condition, for the few things a test cannot be told about (another process, a
//! fake provider's state, a worker's loop): poll, and fail with what was awaited once a deadline
//! passes. Never a bare sleep, never an unbounded loop.

use std::future::Future;
use std::time::Duration;

/// Polls `probe` every 20 ms until it yields a value, and returns it; fails the test, naming
/// `what`, if `within` passes first.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
