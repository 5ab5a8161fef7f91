//! The ledger: append-only money movements. There is deliberately no update or delete here.

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{BookingId, OperatorId};
use crate::domain::records::Violation;

/// A new money movement.
pub struct NewEntry<'a> {
    pub operator: &'a OperatorId,
    pub booking: &'a BookingId,
    /// `payment`, `refund` or `fee`.
    pub kind: &'static str,
    /// Signed minor units: payments positive, refunds negative.
    pub amount: i64,
    pub currency: &'a str,
    /// `offline` (paid on arrival) or the payment provider's name (`stripe`).
    pub provider: &'a str,
    pub provider_reference: Option<&'a str>,
    /// On a booking's payment: what its promo code took off (not money that moved; 0 else).
    pub discount: i64,
}

pub async fn append(
    tx: &mut WriteTx,
    entry: &NewEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO ledger_entries (id, operator_id, booking_id, kind, amount, currency, provider, provider_reference, discount, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(ulid::Ulid::new().to_string()).bind(entry.operator.as_str()).bind(entry.booking.as_str())
        .bind(entry.kind).bind(entry.amount).bind(entry.currency).bind(entry.provider)
        .bind(entry.provider_reference).bind(entry.discount).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// What a booking's ledger sums to: paid minus refunded.
pub async fn net(tx: &mut WriteTx, booking: &BookingId) -> Result<i64, StorageError> {
    let sum: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS SIGNED) FROM ledger_entries WHERE booking_id = ?")
        .bind(booking.as_str()).fetch_one(conn).await)?;
    Ok(sum)
}

/// A booking's payments and refunds (as a positive amount).
pub async fn booking_totals(
    store: &Store,
    booking: &BookingId,
) -> Result<(i64, i64), StorageError> {
    let (paid, refunded): (i64, i64) = on_pool!(store, pool => sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'payment' THEN amount ELSE 0 END), 0) AS SIGNED), \
         CAST(COALESCE(SUM(CASE WHEN kind = 'refund' THEN -amount ELSE 0 END), 0) AS SIGNED) \
         FROM ledger_entries WHERE booking_id = ?")
        .bind(booking.as_str()).fetch_one(pool).await)?;
    Ok((paid, refunded))
}

/// Whether the provider's payment or refund `reference` is already recorded.
pub async fn has(
    tx: &mut WriteTx,
    provider: &str,
    kind: &str,
    reference: &str,
) -> Result<bool, StorageError> {
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT 1 FROM ledger_entries WHERE provider = ? AND kind = ? AND provider_reference = ?")
        .bind(provider).bind(kind).bind(reference).fetch_optional(conn).await)?;
    Ok(found.is_some())
}

/// Totals per currency and kind over `[from, to)`: (currency, kind, sum, count, discounts).
pub async fn totals(
    store: &Store,
    operator: &OperatorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, i64, i64, i64)>, StorageError> {
    let rows: Vec<(String, String, i64, i64, i64)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT currency, kind, CAST(COALESCE(SUM(amount), 0) AS SIGNED), COUNT(*), \
         CAST(COALESCE(SUM(discount), 0) AS SIGNED) FROM ledger_entries \
         WHERE operator_id = ? AND created_at >= ? AND created_at < ? GROUP BY currency, kind ORDER BY currency, kind")
        .bind(operator.as_str()).bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    Ok(rows)
}

/// Sums per UTC day (`YYYY-MM-DD`), currency and kind of the entries in `[from, to)`.
pub async fn by_day(
    store: &Store,
    operator: &OperatorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, String, i64)>, StorageError> {
    // The stored time's text starts with its date on both backends.
    let rows = on_pool!(store, pool => sqlx::query_as(
        "SELECT SUBSTR(CAST(created_at AS CHAR), 1, 10) AS day, currency, kind, \
         CAST(COALESCE(SUM(amount), 0) AS SIGNED) FROM ledger_entries \
         WHERE operator_id = ? AND created_at >= ? AND created_at < ? \
         GROUP BY day, currency, kind ORDER BY day, currency, kind")
        .bind(operator.as_str()).bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    Ok(rows)
}

/// Sums per tour (id), currency and kind of the entries in `[from, to)`.
pub async fn by_tour(
    store: &Store,
    operator: &OperatorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, String, i64)>, StorageError> {
    let rows = on_pool!(store, pool => sqlx::query_as(
        "SELECT b.tour_id, l.currency, l.kind, CAST(COALESCE(SUM(l.amount), 0) AS SIGNED) \
         FROM ledger_entries l JOIN bookings b ON b.id = l.booking_id \
         WHERE l.operator_id = ? AND l.created_at >= ? AND l.created_at < ? \
         GROUP BY b.tour_id, l.currency, l.kind ORDER BY b.tour_id, l.currency, l.kind")
        .bind(operator.as_str()).bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct Balance {
    departure_id: String,
    reference: String,
    status: String,
    paid: i64,
    refunded: i64,
    expected_paid: i64,
    expected_refunded: i64,
}

/// Bookings whose ledger disagrees with their payment status. Payments: an online payment that
/// succeeded must be in the ledger for its amount, a booking paid on arrival (checked in, not
/// paid online) for its total, anything else not at all. Refunds: exactly the refunds the
/// provider accepted (or that were handed back in cash).
pub async fn violations(store: &Store) -> Result<Vec<Violation>, StorageError> {
    let rows: Vec<Balance> = on_pool!(store, pool => sqlx::query_as(
        "SELECT b.departure_id, b.reference, b.status, \
         CAST(COALESCE((SELECT SUM(l.amount) FROM ledger_entries l WHERE l.booking_id = b.id AND l.kind = 'payment'), 0) AS SIGNED) AS paid, \
         CAST(COALESCE((SELECT -SUM(l.amount) FROM ledger_entries l WHERE l.booking_id = b.id AND l.kind = 'refund'), 0) AS SIGNED) AS refunded, \
         CAST(CASE WHEN p.status = 'succeeded' THEN p.amount \
           WHEN b.status = 'checked_in' AND NOT EXISTS (SELECT 1 FROM reseller_bookings rb WHERE rb.booking_id = b.id) THEN b.total \
           ELSE 0 END AS SIGNED) AS expected_paid, \
         CAST(COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.booking_id = b.id AND r.status = 'succeeded'), 0) AS SIGNED) AS expected_refunded \
         FROM bookings b LEFT JOIN payments p ON p.booking_id = b.id ORDER BY b.reference")
        .fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter(|row| row.paid != row.expected_paid || row.refunded != row.expected_refunded)
        .map(|row| {
            let detail = format!(
                "booking {} is {}: its ledger has payments {} and refunds {}, expected {} and {}",
                row.reference,
                row.status,
                row.paid,
                row.refunded,
                row.expected_paid,
                row.expected_refunded
            );
            Violation::of_departure(row.departure_id, detail)
        })
        .collect())
}
