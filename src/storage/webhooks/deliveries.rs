//! The delivery queue (`webhook_deliveries`, claimed like the outbox), the delivery log
//! (`webhook_attempts`), replays and purges.

use chrono::{DateTime, Utc};

use crate::domain::ids::WebhookEndpointId;
use crate::storage::{at, on_pool, on_tx, StorageError, Store, WriteTx};

/// A delivery claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub attempts: i64,
    pub give_up_at: DateTime<Utc>,
}

/// Claims up to `limit` due deliveries until `lease_until` (pending ones whose time has come,
/// and sending ones whose dispatcher died); on MySQL rows another dispatcher holds are skipped.
pub async fn claim_due(
    tx: &mut WriteTx,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>, StorageError> {
    let select = "SELECT id, event_id, endpoint_id, attempts, give_up_at FROM webhook_deliveries \
        WHERE (status = 'pending' AND next_attempt_at <= ?) OR (status = 'sending' AND locked_until <= ?) \
        ORDER BY next_attempt_at LIMIT ?";
    let sql = if tx.is_sqlite() {
        select.to_owned()
    } else {
        format!("{select} FOR UPDATE SKIP LOCKED")
    };
    let mut rows: Vec<Claimed> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(at(now)).bind(at(now)).bind(limit).fetch_all(&mut *conn).await)?;
    for row in &mut rows {
        on_tx!(tx, conn => sqlx::query(
            "UPDATE webhook_deliveries SET status = 'sending', locked_until = ?, attempts = attempts + 1 \
             WHERE id = ?")
            .bind(at(lease_until)).bind(&row.id).execute(conn).await.map(|r| r.rows_affected()))?;
        row.attempts += 1;
    }
    Ok(rows)
}

/// An event's type and body.
pub async fn event(store: &Store, id: &str) -> Result<Option<(String, String)>, StorageError> {
    let row: Option<(String, String)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT type, payload FROM webhook_events WHERE id = ?")
        .bind(id).fetch_optional(pool).await)?;
    Ok(row)
}

/// Where a delivery goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Delivered,
    /// Tried again at this time.
    Retry(DateTime<Utc>),
    /// Given up: its window passed.
    Dead,
    /// Its endpoint is disabled or deleted; resumed when it is enabled again.
    Paused,
}

/// Records where a claimed delivery goes; only the claim still holding its lease changes it.
pub async fn settle(
    tx: &mut WriteTx,
    id: &str,
    lease: DateTime<Utc>,
    outcome: Settled,
    last_status: Option<u16>,
    last_error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let (status, next) = match outcome {
        Settled::Delivered => ("delivered", now),
        Settled::Retry(next) => ("pending", next),
        Settled::Dead => ("dead", now),
        Settled::Paused => ("paused", now),
    };
    let delivered_at = (outcome == Settled::Delivered).then(|| at(now));
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, locked_until = NULL, \
         last_status = ?, last_error = ?, delivered_at = ? \
         WHERE id = ? AND status = 'sending' AND locked_until = ?")
        .bind(status).bind(at(next)).bind(last_status.map(i64::from)).bind(last_error)
        .bind(delivered_at).bind(id).bind(at(lease))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// One line of the delivery log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

pub async fn insert_attempt(
    tx: &mut WriteTx,
    endpoint: &str,
    attempt: &Attempt,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, event_type, attempted_at, \
         status_code, latency_ms, error, response_excerpt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(ulid::Ulid::new().to_string()).bind(&attempt.delivery_id).bind(endpoint)
        .bind(&attempt.event_id).bind(&attempt.event_type).bind(at(attempt.attempted_at))
        .bind(attempt.status_code).bind(attempt.latency_ms).bind(&attempt.error)
        .bind(&attempt.response_excerpt)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An endpoint's attempts, newest first, before `before` when given.
pub async fn list_attempts(
    store: &Store,
    endpoint: &WebhookEndpointId,
    before: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Attempt>, StorageError> {
    let columns =
        "delivery_id, event_id, event_type, attempted_at, status_code, latency_ms, error, \
        response_excerpt";
    let order = "ORDER BY attempted_at DESC, id DESC LIMIT ?";
    let rows: Vec<Attempt> = match before {
        Some(before) => {
            let sql = format!(
                "SELECT {columns} FROM webhook_attempts WHERE endpoint_id = ? AND attempted_at < ? {order}"
            );
            on_pool!(store, pool => sqlx::query_as(&sql)
                .bind(endpoint.as_str()).bind(at(before)).bind(limit).fetch_all(pool).await)?
        }
        None => {
            let sql =
                format!("SELECT {columns} FROM webhook_attempts WHERE endpoint_id = ? {order}");
            on_pool!(store, pool => sqlx::query_as(&sql)
                .bind(endpoint.as_str()).bind(limit).fetch_all(pool).await)?
        }
    };
    Ok(rows)
}

/// The error of an endpoint's latest attempt.
pub async fn last_error(
    store: &Store,
    endpoint: &WebhookEndpointId,
) -> Result<Option<String>, StorageError> {
    let error: Option<Option<String>> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT error FROM webhook_attempts WHERE endpoint_id = ? ORDER BY attempted_at DESC, id DESC LIMIT 1")
        .bind(endpoint.as_str()).fetch_optional(pool).await)?;
    Ok(error.flatten())
}

/// A delivery as its operator sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// An endpoint's deliveries, newest first, of one status when given.
pub async fn list_deliveries(
    store: &Store,
    endpoint: &WebhookEndpointId,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>, StorageError> {
    let rows: Vec<Delivery> = on_pool!(store, pool => sqlx::query_as(
        "SELECT d.event_id, e.type AS event_type, d.status, d.attempts, d.next_attempt_at, \
         d.last_status, d.last_error, d.created_at, d.delivered_at \
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
         WHERE d.endpoint_id = ? AND (? IS NULL OR d.status = ?) \
         ORDER BY d.created_at DESC, d.id DESC LIMIT ?")
        .bind(endpoint.as_str()).bind(status).bind(status).bind(limit).fetch_all(pool).await)?;
    Ok(rows)
}

/// Which deliveries a replay sends again.
#[derive(Debug, Clone, Copy)]
pub enum Replay<'a> {
    /// One event, whatever became of it.
    Event(&'a str),
    /// Every delivery made since then that has not landed.
    FailedSince(DateTime<Utc>),
}

/// Sends deliveries of an endpoint again, under their event ids: due now, with a fresh window.
pub async fn replay(
    tx: &mut WriteTx,
    endpoint: &WebhookEndpointId,
    which: Replay<'_>,
    give_up_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, StorageError> {
    let reset =
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, \
        locked_until = NULL, give_up_at = ? WHERE endpoint_id = ? AND status <> 'sending'";
    let affected = match which {
        Replay::Event(event) => {
            on_tx!(tx, conn => sqlx::query(&format!("{reset} AND event_id = ?"))
            .bind(at(now)).bind(at(give_up_at)).bind(endpoint.as_str()).bind(event)
            .execute(conn).await.map(|r| r.rows_affected()))?
        }
        Replay::FailedSince(since) => on_tx!(tx, conn => sqlx::query(
            &format!("{reset} AND status IN ('pending', 'dead', 'paused') AND created_at >= ?"))
            .bind(at(now)).bind(at(give_up_at)).bind(endpoint.as_str()).bind(at(since))
            .execute(conn).await.map(|r| r.rows_affected()))?,
    };
    Ok(affected)
}

/// Parks an endpoint's waiting deliveries (it was disabled or deleted).
pub async fn pause_deliveries(
    tx: &mut WriteTx,
    endpoint: &WebhookEndpointId,
) -> Result<u64, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_deliveries SET status = 'paused', locked_until = NULL \
         WHERE endpoint_id = ? AND status = 'pending'")
        .bind(endpoint.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected)
}

/// Sends an endpoint's parked deliveries again (it was enabled).
pub async fn resume_deliveries(
    tx: &mut WriteTx,
    endpoint: &WebhookEndpointId,
    give_up_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, give_up_at = ? \
         WHERE endpoint_id = ? AND status = 'paused'")
        .bind(at(now)).bind(at(give_up_at)).bind(endpoint.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected)
}

/// Forgets finished deliveries (delivered or given up) made before `before`, then events with no
/// delivery left, a batch at a time; returns how many rows went.
pub async fn purge_finished(store: &Store, before: DateTime<Utc>) -> Result<u64, StorageError> {
    let mut tx = store.begin_write().await?;
    let deliveries = tx.pick(
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
         WHERE status IN ('delivered', 'dead') AND created_at < ? LIMIT 1000)",
        "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'dead') AND created_at < ? LIMIT 1000",
    );
    let events = tx.pick(
        "DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e WHERE e.created_at < ? \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) LIMIT 1000)",
        "DELETE FROM webhook_events WHERE created_at < ? \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id) LIMIT 1000",
    );
    let mut deleted = on_tx!(tx, conn => sqlx::query(deliveries)
        .bind(at(before)).execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    deleted += on_tx!(tx, conn => sqlx::query(events)
        .bind(at(before)).execute(conn).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(deleted)
}

/// Forgets delivery log lines older than `before`, a batch at a time; returns how many went.
pub async fn purge_attempts(store: &Store, before: DateTime<Utc>) -> Result<u64, StorageError> {
    let mut tx = store.begin_write().await?;
    let sql = tx.pick(
        "DELETE FROM webhook_attempts WHERE id IN \
         (SELECT id FROM webhook_attempts WHERE attempted_at < ? LIMIT 1000)",
        "DELETE FROM webhook_attempts WHERE attempted_at < ? LIMIT 1000",
    );
    let deleted = on_tx!(tx, conn => sqlx::query(sql)
        .bind(at(before)).execute(conn).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(deleted)
}
