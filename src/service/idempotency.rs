//! Incoming `Idempotency-Key`s: claim a key, replay its stored response, or refuse a reuse.
//!
//! The contract: the same key with the same request replays the first response (status and
//! body) and does nothing again; the same key with a different request is 422
//! `idempotency_key_reused`; a duplicate that arrives while the first is still running is 409
//! `idempotency_in_progress`. A request that failed on our side (5xx) releases its key, so the
//! retry runs again. Where the work is one local transaction (placing a hold), the response is
//! stored in that same transaction: a crash can never leave the work done but the key open.
//!
//! Stored responses are sealed (ChaCha20-Poly1305 under a key derived from `BERTH_SECRET_KEY`,
//! bound to their scope and key): a hold's response carries the booking's access token, and
//! with Stripe the PaymentIntent's client secret, which a replay must return but a copy of the
//! database must not reveal.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::secrets::Keyring;
use crate::storage::{idempotency, StorageError, Store, WriteTx};

/// A claim held by a claim that went quiet for this long is taken over by the next retry: its
/// holder crashed or was cut off before finishing (its work, if local, rolled back).
const STALE_AFTER_SECONDS: i64 = 60;

/// How long a duplicate waits for the first request's answer before it is told 409.
const IN_FLIGHT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A key this request holds until its response is stored.
#[derive(Debug, Clone)]
pub struct Claim {
    pub scope: String,
    pub key: String,
    /// When this request claimed or took over the key: its owner token. A request whose claim
    /// was taken over can neither complete nor release it.
    locked_at: DateTime<Utc>,
    /// Taken over from a stalled request that had already made this (a booking id): carry on
    /// with it rather than make another.
    pub resumes: Option<String>,
    /// Seals the response when it is stored.
    keys: Keyring,
}

/// What a stored response is sealed for.
const SEAL_PURPOSE: &str = "idempotency-response";

/// The row a stored response belongs to, authenticated with it.
fn seal_context(scope: &str, key: &str) -> String {
    format!("{scope}\0{key}")
}

impl Claim {
    /// The response body as stored: sealed, bound to this claim's scope and key.
    fn sealed(&self, body: &str) -> String {
        self.keys
            .seal_text(SEAL_PURPOSE, &seal_context(&self.scope, &self.key), body)
    }
}

pub enum Begin {
    /// Do the work; then store the response under the claim.
    Proceed(Claim),
    /// Done before: send this again.
    Replay { status: u16, body: String },
}

/// Checks the header value: 1–255 printable ASCII characters.
pub fn validate_key(key: &str) -> Result<(), AppError> {
    if (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        ))
    }
}

/// What makes two requests "the same": method, path and body, with JSON bodies compared by
/// content (key order and whitespace do not matter).
pub fn fingerprint(method: &str, path: &str, body: &str) -> String {
    let canonical = serde_json::from_str::<Value>(body)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| body.to_owned());
    let mut hash = Sha256::new();
    for part in [method, "\n", path, "\n", &canonical] {
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

/// The fingerprint as stored: keyed with `BERTH_SECRET_KEY`, because request bodies can hold
/// secrets (a new user's password): with a plain hash, a copy of the database could test
/// guesses at SHA-256 speed and get around Argon2.
pub fn keyed_fingerprint(
    keys: &crate::secrets::Keyring,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    keys.hash("idempotency", &fingerprint(method, path, body))
}

/// The longest scope the store keeps (`VARBINARY(64)` on MySQL). A longer one is a programming
/// error, refused on both backends alike rather than only where the column is short.
pub const MAX_SCOPE: usize = 64;

/// Claims `key` in `scope` for a request with this fingerprint, or says what to do instead.
/// `keys` seal the response stored under the claim and open the one replayed.
pub async fn begin(
    store: &Store,
    keys: &Keyring,
    now: DateTime<Utc>,
    ttl: Duration,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Begin, AppError> {
    if scope.len() > MAX_SCOPE {
        return Err(AppError::Internal(anyhow::anyhow!(
            "idempotency scope of {} bytes (at most {MAX_SCOPE})",
            scope.len()
        )));
    }
    let claim = Claim {
        scope: scope.to_owned(),
        key: key.to_owned(),
        locked_at: now,
        resumes: None,
        keys: keys.clone(),
    };
    // A duplicate of a request still running waits (briefly) for its answer and replays it, so
    // a client's racing retries all see the same response; past the wait it gets 409.
    let deadline = tokio::time::Instant::now() + IN_FLIGHT_WAIT;
    // A few rounds at most: each lost race means another request changed the row under us.
    for _ in 0..5 {
        let mut tx = store.begin_write().await?;
        match idempotency::insert_claim(&mut tx, scope, key, fingerprint, now, now + ttl).await {
            Ok(()) => {
                tx.commit().await?;
                return Ok(Begin::Proceed(claim));
            }
            Err(StorageError::Duplicate) => tx.rollback().await?,
            Err(other) => {
                tx.rollback().await.ok();
                return Err(other.into());
            }
        }
        let Some(row) = idempotency::get(store, scope, key).await? else {
            continue;
        };
        if row.expires_at <= now {
            let mut tx = store.begin_write().await?;
            idempotency::delete_expired(&mut tx, scope, key, now).await?;
            tx.commit().await?;
            continue;
        }
        if row.fingerprint != fingerprint {
            return Err(AppError::IdempotencyKeyReused);
        }
        if row.state == "done" {
            return replay(keys, scope, key, row);
        }
        if row.locked_at > now - Duration::seconds(STALE_AFTER_SECONDS) {
            // Reads only while waiting: polling with claims would queue behind SQLite's writer.
            loop {
                if tokio::time::Instant::now() >= deadline {
                    return Err(AppError::IdempotencyInProgress);
                }
                tokio::time::sleep(std::time::Duration::from_millis(40)).await;
                match idempotency::get(store, scope, key).await? {
                    Some(row) if row.state == "done" && row.fingerprint == fingerprint => {
                        return replay(keys, scope, key, row);
                    }
                    Some(row) if row.state != "done" => continue,
                    // Released after a 5xx (or purged): claim it again.
                    _ => break,
                }
            }
            continue;
        }
        let mut tx = store.begin_write().await?;
        let won = idempotency::take_over(&mut tx, scope, key, row.locked_at, now).await?;
        tx.commit().await?;
        if won {
            tracing::info!(scope, "idempotency claim taken over from a stalled request");
            return Ok(Begin::Proceed(Claim {
                resumes: row.resource_id,
                ..claim
            }));
        }
    }
    Err(AppError::IdempotencyInProgress)
}

fn replay(
    keys: &Keyring,
    scope: &str,
    key: &str,
    row: idempotency::KeyRow,
) -> Result<Begin, AppError> {
    let status = row
        .response_status
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200);
    let stored = row.response_body.unwrap_or_default();
    let body = if Keyring::is_sealed_text(&stored) {
        keys.open_text(SEAL_PURPOSE, &seal_context(scope, key), &stored)
            .ok_or_else(|| {
                // Only a changed BERTH_SECRET_KEY or an edited row gets here: the fingerprint,
                // keyed with the same secret, matched.
                AppError::Internal(anyhow::anyhow!(
                    "a stored idempotent response does not open with this secret key"
                ))
            })?
    } else {
        // Stored in clear by a berth from before responses were sealed; such rows are gone
        // after BERTH_IDEMPOTENCY_TTL_HOURS.
        stored
    };
    Ok(Begin::Replay { status, body })
}

/// Stores the response inside the caller's transaction (work and key commit together). If a
/// retry took the claim over meanwhile, the work must not commit: that retry does it instead.
pub async fn complete_in(
    tx: &mut WriteTx,
    claim: &Claim,
    status: u16,
    body: &str,
) -> Result<(), AppError> {
    let sealed = claim.sealed(body);
    if idempotency::complete(
        tx,
        &claim.scope,
        &claim.key,
        claim.locked_at,
        status,
        &sealed,
    )
    .await?
    {
        Ok(())
    } else {
        Err(AppError::IdempotencyInProgress)
    }
}

/// Records, with the work that made it, what this claim has made (see [`Claim::resumes`]). If a
/// retry took the claim over meanwhile, the work must not commit.
pub async fn attach_in(tx: &mut WriteTx, claim: &Claim, resource_id: &str) -> Result<(), AppError> {
    if idempotency::attach_resource(tx, &claim.scope, &claim.key, claim.locked_at, resource_id)
        .await?
    {
        Ok(())
    } else {
        Err(AppError::IdempotencyInProgress)
    }
}

/// Stores the response (`Some`) or releases the key for a retry (`None`, after a 5xx). Both are
/// no-ops when a retry took the claim over.
pub async fn finish(
    store: &Store,
    claim: &Claim,
    response: Option<(u16, &str)>,
) -> Result<(), AppError> {
    let sealed = response.map(|(status, body)| (status, claim.sealed(body)));
    super::with_retry(store, || async {
        let mut tx = store.begin_write().await?;
        let result = match &sealed {
            Some((status, body)) => idempotency::complete(
                &mut tx,
                &claim.scope,
                &claim.key,
                claim.locked_at,
                *status,
                body,
            )
            .await
            .map(|_| ()),
            None => idempotency::release(&mut tx, &claim.scope, &claim.key, claim.locked_at).await,
        };
        super::finish(tx, result.map_err(AppError::from)).await
    })
    .await
}

/// Deletes expired keys in small batches; returns how many were purged.
pub async fn purge_expired(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    let mut purged = 0;
    loop {
        let mut tx = store.begin_write().await?;
        let result = idempotency::purge_expired(&mut tx, now, 500)
            .await
            .map_err(AppError::from);
        let batch = super::finish(tx, result).await?;
        purged += batch;
        if batch < 500 {
            return Ok(purged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_json_formatting_but_not_content() {
        let a = fingerprint("POST", "/v1/bookings", r#"{"a": 1, "b": [1, 2]}"#);
        assert_eq!(
            a,
            fingerprint("POST", "/v1/bookings", r#"{"b":[1,2],"a":1}"#)
        );
        assert_ne!(
            a,
            fingerprint("POST", "/v1/bookings", r#"{"a": 2, "b": [1, 2]}"#)
        );
        assert_ne!(
            a,
            fingerprint("POST", "/v1/tours", r#"{"a": 1, "b": [1, 2]}"#)
        );
        assert_ne!(
            a,
            fingerprint("PATCH", "/v1/bookings", r#"{"a": 1, "b": [1, 2]}"#)
        );
    }

    #[test]
    fn keys_are_printable_ascii_up_to_255() {
        assert!(validate_key("4f6c-11ee-b962").is_ok());
        assert!(validate_key(&"k".repeat(255)).is_ok());
        for bad in ["", "tab\tkey", "ключ", &"k".repeat(256)] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
    }
}
