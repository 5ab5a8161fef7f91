//! Idempotency keys: claims, stored responses, purge.

use chrono::{DateTime, Utc};

use super::at;
use super::{on_pool, on_tx, StorageError, Store, WriteTx};

/// A stored key, as read when a claim collides.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub fingerprint: String,
    pub state: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub locked_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub resource_id: Option<String>,
}

/// Inserts an in-flight claim; `StorageError::Duplicate` when the key exists.
pub async fn insert_claim(
    tx: &mut WriteTx,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, locked_at, created_at, expires_at) \
         VALUES (?, ?, ?, 'in_flight', ?, ?, ?)")
        .bind(scope).bind(key).bind(fingerprint).bind(at(now)).bind(at(now)).bind(at(expires_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(store: &Store, scope: &str, key: &str) -> Result<Option<KeyRow>, StorageError> {
    let row: Option<KeyRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT fingerprint, state, response_status, response_body, locked_at, expires_at, resource_id \
         FROM idempotency_keys WHERE scope = ? AND idem_key = ?")
        .bind(scope).bind(key).fetch_optional(pool).await)?;
    Ok(row)
}

/// Takes over an in-flight claim whose holder went quiet (crashed or cut off); true when this
/// caller won it. The compare on `locked_at` makes two takers race safely.
pub async fn take_over(
    tx: &mut WriteTx,
    scope: &str,
    key: &str,
    seen_locked_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE idempotency_keys SET locked_at = ? \
         WHERE scope = ? AND idem_key = ? AND state = 'in_flight' AND locked_at = ?")
        .bind(at(now)).bind(scope).bind(key).bind(at(seen_locked_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Stores the response of a claim this request still owns (`locked_at` is its owner token);
/// false when another request took the claim over meanwhile.
pub async fn complete(
    tx: &mut WriteTx,
    scope: &str,
    key: &str,
    locked_at: DateTime<Utc>,
    status: u16,
    body: &str,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? \
         WHERE scope = ? AND idem_key = ? AND state = 'in_flight' AND locked_at = ?")
        .bind(i64::from(status)).bind(body).bind(scope).bind(key).bind(at(locked_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Records what a claim this request still owns has made so far (in the transaction that made
/// it); false when another request took the claim over meanwhile.
pub async fn attach_resource(
    tx: &mut WriteTx,
    scope: &str,
    key: &str,
    locked_at: DateTime<Utc>,
    resource_id: &str,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE idempotency_keys SET resource_id = ? \
         WHERE scope = ? AND idem_key = ? AND state = 'in_flight' AND locked_at = ?")
        .bind(resource_id).bind(scope).bind(key).bind(at(locked_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Forgets a claim this request still owns, so the client's retry runs again.
pub async fn release(
    tx: &mut WriteTx,
    scope: &str,
    key: &str,
    locked_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND state = 'in_flight' AND locked_at = ?")
        .bind(scope).bind(key).bind(at(locked_at)).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes an expired key (so the key may be used afresh).
pub async fn delete_expired(
    tx: &mut WriteTx,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND expires_at <= ?")
        .bind(scope).bind(key).bind(at(now)).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Purges up to `limit` expired keys; returns how many went.
pub async fn purge_expired(
    tx: &mut WriteTx,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<u64, StorageError> {
    // MySQL allows LIMIT on DELETE, SQLite (without a compile option) does not; a keyed
    // sub-select works on both and keeps each purge transaction short.
    let sql = tx.pick(
        "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)",
        "DELETE FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
    );
    let affected = on_tx!(tx, conn => sqlx::query(sql)
        .bind(at(now)).bind(limit).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected)
}
