//! Operators' endpoints (`webhook_endpoints`): their settings, sealed secrets and failure state.

use chrono::{DateTime, Utc};

use crate::domain::ids::{OperatorId, WebhookEndpointId};
use crate::domain::webhook::EventType;
use crate::storage::{at, on_pool, on_tx, StorageError, Store, WriteTx};

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
