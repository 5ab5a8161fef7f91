//! Online payments (one per booking), refunds waiting for or accepted by the provider, and the
//! provider events already processed.

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{BookingId, OperatorId, PaymentAccountId};

/// A booking's online payment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub booking_id: String,
    pub provider: String,
    pub provider_payment_id: Option<String>,
    pub client_secret: Option<String>,
    /// `creating` until the provider answers, then the provider's own status word.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    /// The operator's own account that took it (`payment_accounts`); `None`: the instance's.
    pub account_id: Option<String>,
}

const PAYMENT_COLUMNS: &str =
    "booking_id, provider, provider_payment_id, client_secret, status, amount, currency, account_id";

/// Status of a payment row written with the hold, before the provider has answered.
pub const CREATING: &str = "creating";

/// A payment row as the hold's transaction writes it, before the provider has answered.
pub struct NewPaymentRow<'a> {
    pub booking: &'a BookingId,
    pub operator: &'a OperatorId,
    pub provider: &'a str,
    /// The operator's own account that will take it; `None`: the instance's.
    pub account: Option<&'a PaymentAccountId>,
    pub amount: i64,
    pub currency: &'a str,
}

/// Records that a booking is to be paid online; written in the hold's transaction.
pub async fn insert(
    tx: &mut WriteTx,
    payment: &NewPaymentRow<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO payments (booking_id, operator_id, provider, account_id, status, amount, currency, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(payment.booking.as_str()).bind(payment.operator.as_str()).bind(payment.provider)
        .bind(payment.account.map(|a| a.as_str())).bind(CREATING)
        .bind(payment.amount).bind(payment.currency).bind(at(now)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(store: &Store, booking: &BookingId) -> Result<Option<PaymentRow>, StorageError> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE booking_id = ?");
    Ok(on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(booking.as_str()).fetch_optional(pool).await)?)
}

/// Reads a payment inside a transaction (the caller holds the booking's lock).
pub async fn get_in(
    tx: &mut WriteTx,
    booking: &BookingId,
) -> Result<Option<PaymentRow>, StorageError> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE booking_id = ?");
    Ok(on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(booking.as_str()).fetch_optional(conn).await)?)
}

/// The booking a provider's payment belongs to.
pub async fn booking_of_provider_payment(
    store: &Store,
    provider_payment_id: &str,
) -> Result<Option<BookingId>, StorageError> {
    let id: Option<String> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT booking_id FROM payments WHERE provider_payment_id = ?")
        .bind(provider_payment_id).fetch_optional(pool).await)?;
    Ok(id.map(BookingId::from_stored))
}

/// Stores what the provider answered for a new payment. A status that a webhook already moved
/// past `creating` is kept: the webhook is newer news than the creation's answer.
pub async fn set_provider_payment(
    tx: &mut WriteTx,
    booking: &BookingId,
    provider_payment_id: &str,
    client_secret: Option<&str>,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE payments SET provider_payment_id = ?, client_secret = COALESCE(?, client_secret), \
         status = CASE WHEN status = ? THEN ? ELSE status END, updated_at = ? WHERE booking_id = ?")
        .bind(provider_payment_id).bind(client_secret).bind(CREATING).bind(status).bind(at(now))
        .bind(booking.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets a payment's status (from a webhook), and its provider id if it was not known yet. A
/// payment that succeeded stays succeeded: later news about the same payment (a failure reported
/// out of order) cannot undo money that arrived.
pub async fn set_status(
    tx: &mut WriteTx,
    booking: &BookingId,
    provider_payment_id: Option<&str>,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE payments SET status = ?, provider_payment_id = COALESCE(provider_payment_id, ?), updated_at = ? \
         WHERE booking_id = ? AND (status <> 'succeeded' OR ? = 'succeeded')")
        .bind(status).bind(provider_payment_id).bind(at(now)).bind(booking.as_str()).bind(status)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A refund as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub id: String,
    pub booking_id: String,
    pub operator_id: String,
    pub amount: i64,
    pub currency: String,
    pub provider: String,
    pub reason: String,
    pub status: String,
    pub provider_refund_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

const REFUND_COLUMNS: &str =
    "id, booking_id, operator_id, amount, currency, provider, reason, status, \
    provider_refund_id, attempts, last_error, created_at";

/// A refund to write.
pub struct NewRefund<'a> {
    pub id: &'a str,
    pub booking: &'a BookingId,
    pub operator: &'a OperatorId,
    pub amount: i64,
    pub currency: &'a str,
    pub provider: &'a str,
    pub reason: &'a str,
    /// `pending` (to send to the provider) or `succeeded` (settled outside berth).
    pub status: &'a str,
    pub provider_refund_id: Option<&'a str>,
}

pub async fn insert_refund(
    tx: &mut WriteTx,
    refund: &NewRefund<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO refunds (id, booking_id, operator_id, amount, currency, provider, reason, status, \
         provider_refund_id, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)")
        .bind(refund.id).bind(refund.booking.as_str()).bind(refund.operator.as_str()).bind(refund.amount)
        .bind(refund.currency).bind(refund.provider).bind(refund.reason).bind(refund.status)
        .bind(refund.provider_refund_id).bind(at(now)).bind(at(now)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sum of a booking's refunds not yet accepted by the provider.
pub async fn refunds_pending(tx: &mut WriteTx, booking: &BookingId) -> Result<i64, StorageError> {
    let sum: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS SIGNED) FROM refunds WHERE booking_id = ? AND status = 'pending'")
        .bind(booking.as_str()).fetch_one(conn).await)?;
    Ok(sum)
}

pub async fn refunds_of(
    store: &Store,
    booking: &BookingId,
) -> Result<Vec<RefundRow>, StorageError> {
    let sql = format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE booking_id = ? ORDER BY created_at, id"
    );
    Ok(on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(booking.as_str()).fetch_all(pool).await)?)
}

pub async fn refund_in(tx: &mut WriteTx, id: &str) -> Result<Option<RefundRow>, StorageError> {
    let sql = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = ?");
    Ok(on_tx!(tx, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?)
}

/// Pending refunds due for a (re)try, oldest first; of one booking when given.
pub async fn due_refunds(
    store: &Store,
    now: DateTime<Utc>,
    booking: Option<&BookingId>,
    limit: i64,
) -> Result<Vec<RefundRow>, StorageError> {
    let filter = if booking.is_some() {
        " AND booking_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE status = 'pending' AND next_attempt_at <= ?{filter} \
         ORDER BY next_attempt_at, id LIMIT ?"
    );
    Ok(on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql).bind(at(now));
        if let Some(booking) = booking {
            query = query.bind(booking.as_str());
        }
        query.bind(limit).fetch_all(pool).await
    })?)
}

/// Claims a due refund for one send: moves its next attempt to `lease_until`, so another
/// dispatcher does not send it at the same time. False when someone else claimed it first.
pub async fn claim_refund(
    tx: &mut WriteTx,
    id: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let claimed = on_tx!(tx, conn => sqlx::query(
        "UPDATE refunds SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?")
        .bind(at(lease_until)).bind(id).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(claimed == 1)
}

/// Marks a pending refund accepted by the provider; false when it was not pending any more
/// (another dispatcher recorded it first).
pub async fn refund_succeeded(
    tx: &mut WriteTx,
    id: &str,
    provider_refund_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE refunds SET status = 'succeeded', provider_refund_id = ?, last_error = NULL, updated_at = ? \
         WHERE id = ? AND status = 'pending'")
        .bind(provider_refund_id).bind(at(now)).bind(id)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Records a failed attempt: `next` for another try, or `None` to give up (`failed`).
pub async fn refund_attempt_failed(
    tx: &mut WriteTx,
    id: &str,
    error: &str,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let status = if next.is_some() { "pending" } else { "failed" };
    on_tx!(tx, conn => sqlx::query(
        "UPDATE refunds SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? \
         WHERE id = ? AND status = 'pending'")
        .bind(status).bind(at(next.unwrap_or(now))).bind(error).bind(at(now)).bind(id)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records a provider event as processed; false when it was processed before. Call in the
/// transaction that applies the event, so both commit or neither.
pub async fn record_event(
    tx: &mut WriteTx,
    id: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let sql = tx.pick(
        "INSERT INTO payment_events (id, type, received_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
        // Not ON DUPLICATE KEY UPDATE: with CLIENT_FOUND_ROWS (sqlx sets it) a no-op update
        // still reports one row, and a duplicate would look new.
        "INSERT IGNORE INTO payment_events (id, type, received_at) VALUES (?, ?, ?)",
    );
    let inserted = on_tx!(tx, conn => sqlx::query(sql)
        .bind(id).bind(kind).bind(at(now)).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(inserted == 1)
}
