//! What resellers owe (`reseller_receivables`), append-only: a booking's rows add up to what its
//! reseller owes for it now.

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{BookingId, OperatorId, ResellerId};
use crate::domain::reseller::Owed;

/// Appends the rows that take a booking's receivable to `owed` (nothing when it already is).
pub async fn restate(
    tx: &mut WriteTx,
    operator: &OperatorId,
    reseller: &ResellerId,
    booking: &BookingId,
    currency: &str,
    owed: Owed,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let (gross, commission): (i64, i64) = on_tx!(tx, conn => sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(gross), 0) AS SIGNED), CAST(COALESCE(SUM(commission), 0) AS SIGNED) \
         FROM reseller_receivables WHERE booking_id = ?")
        .bind(booking.as_str()).fetch_one(conn).await)?;
    let Some(delta) = owed.minus(Owed { gross, commission }) else {
        return Ok(());
    };
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO reseller_receivables (id, operator_id, reseller_id, booking_id, gross, commission, currency, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(ulid::Ulid::new().to_string()).bind(operator.as_str()).bind(reseller.as_str())
        .bind(booking.as_str()).bind(delta.gross).bind(delta.commission).bind(currency).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Per reseller (id, name) and currency over `[from, to)`: gross, commission, and how many of
/// its bookings moved.
pub async fn by_reseller(
    store: &Store,
    operator: &OperatorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, String, i64, i64, i64)>, StorageError> {
    let rows: Vec<(String, String, String, i64, i64, i64)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT r.reseller_id, s.name, r.currency, CAST(COALESCE(SUM(r.gross), 0) AS SIGNED), \
         CAST(COALESCE(SUM(r.commission), 0) AS SIGNED), COUNT(DISTINCT r.booking_id) \
         FROM reseller_receivables r JOIN resellers s ON s.id = r.reseller_id \
         WHERE r.operator_id = ? AND r.created_at >= ? AND r.created_at < ? \
         GROUP BY r.reseller_id, s.name, r.currency ORDER BY s.name, r.reseller_id, r.currency")
        .bind(operator.as_str()).bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    Ok(rows)
}

/// Appends the row that brings a booking's receivable to nothing (the operator cancelled it, so
/// the reseller owes nothing for it); nothing for a booking that owes nothing or was never a
/// reseller's.
pub async fn forgive(
    tx: &mut WriteTx,
    booking: &BookingId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let owed: Option<(String, String, String, i64, i64)> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT MIN(operator_id), MIN(reseller_id), MIN(currency), CAST(COALESCE(SUM(gross), 0) AS SIGNED), \
         CAST(COALESCE(SUM(commission), 0) AS SIGNED) FROM reseller_receivables WHERE booking_id = ? \
         HAVING COUNT(*) > 0")
        .bind(booking.as_str()).fetch_optional(conn).await)?;
    let Some((operator, reseller, currency, gross, commission)) = owed else {
        return Ok(());
    };
    if gross == 0 && commission == 0 {
        return Ok(());
    }
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO reseller_receivables (id, operator_id, reseller_id, booking_id, gross, commission, currency, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(ulid::Ulid::new().to_string()).bind(operator).bind(reseller).bind(booking.as_str())
        .bind(-gross).bind(-commission).bind(currency).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
