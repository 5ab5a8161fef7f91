//! Password hashing: Argon2id with OWASP's parameters, run off the async runtime, at most a few
//! at once ([`Argon2Gate`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;
use crate::secrets;

/// Memory per run, in KiB: 19 MiB.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over the memory.
pub const PASSES: u32 = 2;
/// Lanes (parallelism within one run).
pub const LANES: u32 = 1;
/// How long a request waits for a turn before it is answered 503 `busy`.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// OWASP's Argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How many Argon2 runs go at once in this process, and how long a caller waits for a turn.
/// Each run takes 19 MiB and a core for tens of milliseconds, so a burst of logins (or of user
/// creations) queues here instead of exhausting memory; past the wait it is answered `busy`.
/// One per running berth (managed state); cheap to clone.
#[derive(Clone)]
pub struct Argon2Gate {
    inner: Arc<GateInner>,
}

struct GateInner {
    permits: tokio::sync::Semaphore,
    capacity: usize,
    wait: Duration,
    running: AtomicUsize,
    peak: AtomicUsize,
    waiting: AtomicUsize,
}

impl Default for Argon2Gate {
    /// Two runs per core (at least 2, at most 32), waiting at most [`DEFAULT_WAIT`].
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Argon2Gate::new((cores * 2).clamp(2, 32), DEFAULT_WAIT)
    }
}

impl Argon2Gate {
    /// A gate letting `capacity` runs through at once, each caller waiting at most `wait`.
    pub fn new(capacity: usize, wait: Duration) -> Argon2Gate {
        let capacity = capacity.max(1);
        Argon2Gate {
            inner: Arc::new(GateInner {
                permits: tokio::sync::Semaphore::new(capacity),
                capacity,
                wait,
                running: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    /// Runs allowed at once.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// The longest a caller waits for a turn.
    pub fn wait(&self) -> Duration {
        self.inner.wait
    }

    /// The most turns held at once since this gate was made.
    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    /// Callers waiting for a turn right now.
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::SeqCst)
    }

    /// A turn to run Argon2, held until the returned value is dropped; [`AppError::Busy`] when
    /// none frees up within [`Argon2Gate::wait`].
    pub async fn turn(&self) -> Result<Turn<'_>, AppError> {
        let inner = &self.inner;
        inner.waiting.fetch_add(1, Ordering::SeqCst);
        let acquired = tokio::time::timeout(inner.wait, inner.permits.acquire()).await;
        inner.waiting.fetch_sub(1, Ordering::SeqCst);
        let Ok(Ok(permit)) = acquired else {
            tracing::warn!(
                capacity = inner.capacity,
                "no password hashing turn within the wait; answering busy"
            );
            return Err(AppError::Busy);
        };
        let running = inner.running.fetch_add(1, Ordering::SeqCst) + 1;
        inner.peak.fetch_max(running, Ordering::SeqCst);
        Ok(Turn {
            gate: inner,
            _permit: permit,
        })
    }
}

/// One caller's turn at the [`Argon2Gate`].
pub struct Turn<'a> {
    gate: &'a GateInner,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.gate.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Hashes a password (Argon2id, random salt) off the async runtime, in a turn at `gate`.
pub async fn hash_password(gate: &Argon2Gate, password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    let _turn = gate.turn().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&secrets::random_bytes(16))
            .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let hash = argon2()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        Ok::<_, AppError>(hash.to_string())
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// Whether `password` matches a stored PHC string (parameters are read from the string, so old
/// hashes keep working if the parameters are raised), in a turn at `gate`.
pub async fn verify_password(
    gate: &Argon2Gate,
    hash: &str,
    password: &str,
) -> Result<bool, AppError> {
    let (hash, password) = (hash.to_owned(), password.to_owned());
    let _turn = gate.turn().await?;
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))
}

/// A hash of no one's password, verified when the email is unknown so that a wrong email takes
/// as long as a wrong password. Made once per process, with the same parameters as real ones.
static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// The hash [`DUMMY_HASH`] holds, made on first use.
pub async fn dummy_hash(gate: &Argon2Gate) -> Result<&'static str, AppError> {
    let hash = DUMMY_HASH
        .get_or_try_init(|| async {
            hash_password(gate, &hex::encode(secrets::random_bytes(16))).await
        })
        .await?;
    Ok(hash.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_gate_allows_two_runs_per_core_and_waits_five_seconds() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let gate = Argon2Gate::default();
        assert_eq!(gate.capacity(), (cores * 2).clamp(2, 32));
        assert_eq!(gate.wait(), Duration::from_secs(5));
    }
}
