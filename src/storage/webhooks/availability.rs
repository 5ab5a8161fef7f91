//! Availability marks and their debounce slots: a departure's seats changed, and one event
//! says so per window.

use chrono::{DateTime, Utc};

use crate::domain::ids::{DepartureId, OperatorId};
use crate::storage::{at, on_pool, on_tx, StorageError, Store, WriteTx};

/// Notes, in the change's transaction, that these departures' availability changed. Insert-only
/// (a fresh id per mark), so concurrent holds never wait for each other's mark.
pub async fn mark_availability(
    tx: &mut WriteTx,
    operator: &OperatorId,
    departures: &[DepartureId],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for departure in departures {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO webhook_availability_marks (id, departure_id, operator_id, created_at) \
             VALUES (?, ?, ?, ?)")
            .bind(ulid::Ulid::new().to_string()).bind(departure.as_str()).bind(operator.as_str())
            .bind(at(now)).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Whether any availability mark waits (a plain read, so an idle round opens no write
/// transaction).
pub async fn has_marks(store: &Store) -> Result<bool, StorageError> {
    let found: Option<i64> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT 1 FROM webhook_availability_marks LIMIT 1")
        .fetch_optional(pool).await)?;
    Ok(found.is_some())
}

/// Up to `limit` departures with availability marks, and their operators, in id order so that
/// instances take debounce slots in one order (a plain read: the slot decides which instance
/// sends).
pub async fn marked_departures(
    tx: &mut WriteTx,
    limit: i64,
) -> Result<Vec<(DepartureId, OperatorId)>, StorageError> {
    let rows: Vec<(String, String)> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT DISTINCT departure_id, operator_id FROM webhook_availability_marks \
         ORDER BY departure_id LIMIT ?")
        .bind(limit).fetch_all(conn).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(departure, operator)| {
            Some((
                DepartureId::parse(&departure)?,
                OperatorId::parse(&operator)?,
            ))
        })
        .collect())
}

/// Takes the departure's debounce slot: true when no availability event was written for it
/// since `last_allowed` (the row stays locked until commit, so a second instance waits and then
/// finds the slot taken).
pub async fn take_availability_slot(
    tx: &mut WriteTx,
    departure: &DepartureId,
    last_allowed: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let updated = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_availability_sent SET sent_at = ? WHERE departure_id = ? AND sent_at <= ?")
        .bind(at(now)).bind(departure.as_str()).bind(at(last_allowed))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    if updated == 1 {
        return Ok(true);
    }
    let insert = tx.pick(
        "INSERT INTO webhook_availability_sent (departure_id, sent_at) VALUES (?, ?) \
         ON CONFLICT (departure_id) DO NOTHING",
        // Not ON DUPLICATE KEY UPDATE: with CLIENT_FOUND_ROWS a no-op update counts as a row.
        "INSERT IGNORE INTO webhook_availability_sent (departure_id, sent_at) VALUES (?, ?)",
    );
    let inserted = on_tx!(tx, conn => sqlx::query(insert)
        .bind(departure.as_str()).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(inserted == 1)
}

/// Deletes every committed mark of the departure. Run before reading the departure: each mark
/// deleted here belongs to a change this transaction's next read sees, and a change that
/// commits later keeps its mark for the next event.
pub async fn clear_marks(tx: &mut WriteTx, departure: &DepartureId) -> Result<u64, StorageError> {
    Ok(on_tx!(tx, conn => sqlx::query(
        "DELETE FROM webhook_availability_marks WHERE departure_id = ?")
        .bind(departure.as_str()).execute(conn).await.map(|r| r.rows_affected()))?)
}

/// Forgets debounce slots older than `before` (their departures have long been quiet).
pub async fn purge_availability_slots(
    store: &Store,
    before: DateTime<Utc>,
) -> Result<u64, StorageError> {
    let mut tx = store.begin_write().await?;
    let sql = tx.pick(
        "DELETE FROM webhook_availability_sent WHERE departure_id IN \
         (SELECT departure_id FROM webhook_availability_sent WHERE sent_at < ? LIMIT 1000)",
        "DELETE FROM webhook_availability_sent WHERE sent_at < ? LIMIT 1000",
    );
    let deleted = on_tx!(tx, conn => sqlx::query(sql)
        .bind(at(before)).execute(conn).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(deleted)
}
