//! Outbound webhooks: operators' endpoints (`webhook_endpoints`), the events written with the
//! changes they describe (`webhook_events`), the delivery queue (`webhook_deliveries`, claimed
//! like the outbox) and the delivery log (`webhook_attempts`).

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{BookingId, DepartureId, OperatorId, WebhookEndpointId};
use crate::domain::webhook::EventType;

/// An endpoint as berth keeps it; its secrets stay sealed here.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub operator_id: OperatorId,
    pub url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// `operator` (turned off by hand) or `failing` (by berth, after days of failures).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// When the current run of failed attempts began; `None` after a success.
    pub failing_since: Option<DateTime<Utc>>,
    pub secret_sealed: String,
    pub secret_mask: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    operator_id: String,
    url: String,
    description: String,
    event_types: String,
    enabled: i64,
    disabled_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    failing_since: Option<DateTime<Utc>>,
    secret_sealed: String,
    secret_mask: String,
    previous_secret_sealed: Option<String>,
    previous_secret_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const ENDPOINT_COLUMNS: &str = "id, operator_id, url, description, event_types, enabled, \
    disabled_reason, disabled_at, failing_since, secret_sealed, secret_mask, \
    previous_secret_sealed, previous_secret_until, created_at, updated_at";

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StorageError;

    fn try_from(row: EndpointRow) -> Result<Self, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("webhook endpoint {what}"));
        let event_types = row
            .event_types
            .split_whitespace()
            .map(|t| EventType::parse(t).ok_or_else(|| corrupt(t)))
            .collect::<Result<_, _>>()?;
        Ok(WebhookEndpoint {
            id: WebhookEndpointId::parse(&row.id).ok_or_else(|| corrupt(&row.id))?,
            operator_id: OperatorId::parse(&row.operator_id)
                .ok_or_else(|| corrupt(&row.operator_id))?,
            url: row.url,
            description: row.description,
            event_types,
            enabled: row.enabled != 0,
            disabled_reason: row.disabled_reason,
            disabled_at: row.disabled_at,
            failing_since: row.failing_since,
            secret_sealed: row.secret_sealed,
            secret_mask: row.secret_mask,
            previous_secret_sealed: row.previous_secret_sealed,
            previous_secret_until: row.previous_secret_until,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn spell(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn insert_endpoint(
    tx: &mut WriteTx,
    endpoint: &WebhookEndpoint,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO webhook_endpoints (id, operator_id, url, description, event_types, enabled, \
         disabled_reason, disabled_at, secret_sealed, secret_mask, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(endpoint.id.as_str()).bind(endpoint.operator_id.as_str()).bind(&endpoint.url)
        .bind(&endpoint.description).bind(spell(&endpoint.event_types)).bind(i64::from(endpoint.enabled))
        .bind(&endpoint.disabled_reason).bind(endpoint.disabled_at.map(at))
        .bind(&endpoint.secret_sealed).bind(&endpoint.secret_mask)
        .bind(at(endpoint.created_at)).bind(at(endpoint.updated_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The operator's endpoints that are not deleted (counted under the write lock of the insert
/// that follows, on SQLite; on MySQL a race may pass the limit by one, which is harmless).
pub async fn count_endpoints(tx: &mut WriteTx, operator: &OperatorId) -> Result<i64, StorageError> {
    let count: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE operator_id = ? AND deleted_at IS NULL")
        .bind(operator.as_str()).fetch_one(conn).await)?;
    Ok(count)
}

/// The operator's endpoints, oldest first.
pub async fn list_endpoints(
    store: &Store,
    operator: &OperatorId,
) -> Result<Vec<WebhookEndpoint>, StorageError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
         WHERE operator_id = ? AND deleted_at IS NULL ORDER BY id LIMIT 100"
    );
    let rows: Vec<EndpointRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).fetch_all(pool).await)?;
    rows.into_iter().map(WebhookEndpoint::try_from).collect()
}

/// One endpoint of the operator (`None` for another operator's or a deleted one).
pub async fn get_endpoint(
    store: &Store,
    operator: &OperatorId,
    id: &WebhookEndpointId,
) -> Result<Option<WebhookEndpoint>, StorageError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
         WHERE id = ? AND operator_id = ? AND deleted_at IS NULL"
    );
    let row: Option<EndpointRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).bind(operator.as_str()).fetch_optional(pool).await)?;
    row.map(WebhookEndpoint::try_from).transpose()
}

/// One endpoint of the operator, locked for the rest of the transaction.
pub async fn lock_endpoint(
    tx: &mut WriteTx,
    operator: &OperatorId,
    id: &WebhookEndpointId,
) -> Result<Option<WebhookEndpoint>, StorageError> {
    let select = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
         WHERE id = ? AND operator_id = ? AND deleted_at IS NULL"
    );
    let sql = tx.locking(select);
    let row: Option<EndpointRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).bind(operator.as_str()).fetch_optional(conn).await)?;
    row.map(WebhookEndpoint::try_from).transpose()
}

/// An endpoint by id alone, deleted or not (the dispatcher's read).
pub async fn endpoint_by_id(
    store: &Store,
    id: &str,
) -> Result<Option<(WebhookEndpoint, bool)>, StorageError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS}, deleted_at IS NOT NULL AS deleted FROM webhook_endpoints WHERE id = ?"
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        endpoint: EndpointRow,
        deleted: i64,
    }
    let row: Option<Row> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id).fetch_optional(pool).await)?;
    row.map(|r| Ok((WebhookEndpoint::try_from(r.endpoint)?, r.deleted != 0)))
        .transpose()
}

/// Writes an endpoint's settings and state (not its secrets).
pub async fn update_endpoint(
    tx: &mut WriteTx,
    endpoint: &WebhookEndpoint,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, enabled = ?, \
         disabled_reason = ?, disabled_at = ?, failing_since = ?, updated_at = ? WHERE id = ?")
        .bind(&endpoint.url).bind(&endpoint.description).bind(spell(&endpoint.event_types))
        .bind(i64::from(endpoint.enabled)).bind(&endpoint.disabled_reason)
        .bind(endpoint.disabled_at.map(at)).bind(endpoint.failing_since.map(at))
        .bind(at(endpoint.updated_at)).bind(endpoint.id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Replaces the secret; the one it replaces keeps signing until `previous_until`. During an
/// overlap the earlier previous secret stays instead (with its own end): a rotation retried
/// after its answer was lost must not cut off the secret the receiver still has.
pub async fn rotate_secret(
    tx: &mut WriteTx,
    id: &WebhookEndpointId,
    sealed: &str,
    mask: &str,
    previous_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET \
         previous_secret_sealed = CASE WHEN previous_secret_until > ? THEN previous_secret_sealed ELSE secret_sealed END, \
         previous_secret_until = CASE WHEN previous_secret_until > ? THEN previous_secret_until ELSE ? END, \
         secret_sealed = ?, secret_mask = ?, updated_at = ? WHERE id = ?")
        .bind(at(now)).bind(at(now)).bind(at(previous_until)).bind(sealed).bind(mask).bind(at(now))
        .bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes an endpoint (kept for the log, never sent to again).
pub async fn delete_endpoint(
    tx: &mut WriteTx,
    id: &WebhookEndpointId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET deleted_at = ?, enabled = 0, updated_at = ? WHERE id = ?")
        .bind(at(now)).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An endpoint an event goes to; a disabled one keeps it parked until it is enabled again.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: WebhookEndpointId,
    pub enabled: bool,
}

/// The operator's endpoints (enabled or not, never deleted) with the event types each takes.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions(Vec<(Subscriber, String)>);

impl Subscriptions {
    /// The endpoints that subscribe to `kind`.
    pub fn to(&self, kind: EventType) -> Vec<Subscriber> {
        self.0
            .iter()
            .filter(|(_, types)| types.split_whitespace().any(|t| t == kind.as_str()))
            .map(|(subscriber, _)| subscriber.clone())
            .collect()
    }
}

/// The operator's endpoints and what they subscribe to, in one plain read (no lock): it runs
/// inside holds, where a locking read would make an endpoint's edit wait for a rush.
pub async fn subscriptions(
    tx: &mut WriteTx,
    operator: &OperatorId,
) -> Result<Subscriptions, StorageError> {
    let rows: Vec<(String, String, i64)> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT id, event_types, enabled FROM webhook_endpoints \
         WHERE operator_id = ? AND deleted_at IS NULL")
        .bind(operator.as_str()).fetch_all(conn).await)?;
    Ok(Subscriptions(
        rows.into_iter()
            .filter_map(|(id, types, enabled)| {
                let subscriber = Subscriber {
                    id: WebhookEndpointId::parse(&id)?,
                    enabled: enabled != 0,
                };
                Some((subscriber, types))
            })
            .collect(),
    ))
}

/// The operator's endpoints that subscribe to `kind` (see [`subscriptions`]).
pub async fn subscribers(
    tx: &mut WriteTx,
    operator: &OperatorId,
    kind: EventType,
) -> Result<Vec<Subscriber>, StorageError> {
    Ok(subscriptions(tx, operator).await?.to(kind))
}

/// The booking's next event number (the caller holds the booking's row).
pub async fn next_sequence(tx: &mut WriteTx, booking: &BookingId) -> Result<i64, StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE bookings SET webhook_sequence = webhook_sequence + 1 WHERE id = ?")
        .bind(booking.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    let sequence: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT webhook_sequence FROM bookings WHERE id = ?")
        .bind(booking.as_str()).fetch_one(conn).await)?;
    Ok(sequence)
}

/// An event and its delivery to each endpoint, due at once.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub operator: &'a OperatorId,
    pub kind: EventType,
    pub subject: Option<&'a str>,
    pub payload: &'a str,
    pub endpoints: &'a [Subscriber],
    pub give_up_at: DateTime<Utc>,
}

pub async fn insert_event(
    tx: &mut WriteTx,
    event: &NewEvent<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO webhook_events (id, operator_id, type, subject_id, payload, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)")
        .bind(event.id).bind(event.operator.as_str()).bind(event.kind.as_str()).bind(event.subject)
        .bind(event.payload).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    for endpoint in event.endpoints {
        let status = if endpoint.enabled {
            "pending"
        } else {
            "paused"
        };
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, operator_id, status, attempts, \
             next_attempt_at, give_up_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)")
            .bind(ulid::Ulid::new().to_string()).bind(event.id).bind(endpoint.id.as_str())
            .bind(event.operator.as_str()).bind(status).bind(at(now)).bind(at(event.give_up_at)).bind(at(now))
            .execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

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

/// Notes a failed attempt: the endpoint's run of failures began at `now` unless it already had.
pub async fn note_failure(
    tx: &mut WriteTx,
    endpoint: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?")
        .bind(at(now)).bind(endpoint).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Notes a success: the endpoint is no longer failing.
pub async fn note_success(tx: &mut WriteTx, endpoint: &str) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL")
        .bind(endpoint).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether an endpoint is enabled now (a plain read).
pub async fn is_enabled(tx: &mut WriteTx, endpoint: &str) -> Result<bool, StorageError> {
    let enabled: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT enabled FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL")
        .bind(endpoint).fetch_optional(conn).await)?;
    Ok(enabled == Some(1))
}

/// Disables an endpoint that has failed since before `failing_before`; true for the one caller
/// that did it (several dispatchers may try at once).
pub async fn disable_failing(
    tx: &mut WriteTx,
    endpoint: &str,
    failing_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'failing', disabled_at = ?, updated_at = ? \
         WHERE id = ? AND enabled = 1 AND failing_since <= ?")
        .bind(at(now)).bind(at(now)).bind(endpoint).bind(at(failing_before))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
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
