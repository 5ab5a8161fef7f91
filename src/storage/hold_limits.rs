//! What the hold limits read and lock: the live held seats of one client (address or email
//! key), the lock rows that serialize one client's holds on MySQL, and the gauges `/metrics`
//! shows about holders.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::at;
use super::{on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::hold_limits::{Held, Identity};
use crate::domain::ids::DepartureId;

/// The column of `bookings` that carries an identity's key. Never from input.
const fn column(identity: Identity) -> &'static str {
    match identity {
        Identity::Address => "hold_client",
        Identity::Email => "hold_email",
    }
}

/// Locks the rows of these client keys for the rest of the transaction (creating them), in
/// the order given: callers pass them sorted, so two holds never wait on each other in a
/// cycle. MySQL only: a SQLite write transaction already excludes every other writer.
pub async fn lock_clients(
    tx: &mut WriteTx,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if tx.is_sqlite() || keys.is_empty() {
        return Ok(());
    }
    let values = vec!["(?, ?)"; keys.len()].join(", ");
    let sql = format!(
        "INSERT INTO hold_clients (client_key, touched_at) VALUES {values} \
         ON DUPLICATE KEY UPDATE touched_at = VALUES(touched_at)"
    );
    on_tx!(tx, conn => {
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = query.bind(key).bind(at(now));
        }
        query.execute(conn).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HeldRow {
    client_key: String,
    on_departure: i64,
    overall: i64,
    departure_first_expiry: Option<NaiveDateTime>,
    first_expiry: Option<NaiveDateTime>,
}

/// What one identity holds right now, and when its first live hold lapses (on `departure`,
/// and anywhere), for `Retry-After`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeldNow {
    pub held: Held,
    pub departure_first_expiry: Option<DateTime<Utc>>,
    pub first_expiry: Option<DateTime<Utc>>,
}

/// Seats the holder of `key` holds in live holds, on `departure` and overall.
pub async fn held_by(
    tx: &mut WriteTx,
    identity: Identity,
    key: &str,
    departure: &DepartureId,
    now: DateTime<Utc>,
) -> Result<HeldNow, StorageError> {
    let held = held_by_each(tx, identity, &[key], departure, now).await?;
    Ok(held
        .into_iter()
        .next()
        .map(|(_, now)| now)
        .unwrap_or_default())
}

/// [`held_by`] for several keys of one identity in one query (a batch of holds); a key that
/// holds nothing is left out.
pub async fn held_by_each(
    tx: &mut WriteTx,
    identity: Identity,
    keys: &[&str],
    departure: &DepartureId,
    now: DateTime<Utc>,
) -> Result<Vec<(String, HeldNow)>, StorageError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let column = column(identity);
    let listed = vec!["?"; keys.len()].join(", ");
    let sql = format!(
        "SELECT {column} AS client_key, \
         CAST(COALESCE(SUM(CASE WHEN departure_id = ? THEN seats ELSE 0 END), 0) AS SIGNED) AS on_departure, \
         CAST(COALESCE(SUM(seats), 0) AS SIGNED) AS overall, \
         MIN(CASE WHEN departure_id = ? THEN expires_at END) AS departure_first_expiry, \
         MIN(expires_at) AS first_expiry \
         FROM bookings WHERE {column} IN ({listed}) AND status = 'held' AND expires_at > ? \
         GROUP BY {column}"
    );
    let rows: Vec<HeldRow> = on_tx!(tx, conn => {
        let mut query = sqlx::query_as(&sql).bind(departure.as_str()).bind(departure.as_str());
        for key in keys {
            query = query.bind(*key);
        }
        query.bind(at(now)).fetch_all(conn).await
    })?;
    let seats = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    Ok(rows
        .into_iter()
        .map(|row| {
            let held = HeldNow {
                held: Held {
                    on_departure: seats(row.on_departure),
                    overall: seats(row.overall),
                },
                departure_first_expiry: row.departure_first_expiry.map(|t| t.and_utc()),
                first_expiry: row.first_expiry.map(|t| t.and_utc()),
            };
            (row.client_key, held)
        })
        .collect())
}

/// Holders right now, for `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Holders {
    /// Seats in live holds, everywhere.
    pub seats_held: i64,
    /// The most seats one client address holds.
    pub largest_by_address: i64,
    /// The most seats one customer email holds.
    pub largest_by_email: i64,
    /// Departures yet to start with no seat left, of which some are only held (not paid).
    pub sold_out_by_holds: i64,
}

/// Reads [`Holders`]. Each query starts from live holds (the `status, expires_at` index), a
/// small set, so scraping stays cheap on a large database.
pub async fn holders(store: &Store, now: DateTime<Utc>) -> Result<Holders, StorageError> {
    let seats_held: i64 = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(seats), 0) AS SIGNED) FROM bookings WHERE status = 'held' AND expires_at > ?")
        .bind(at(now)).fetch_one(pool).await)?;
    let mut largest = [0i64; 2];
    for (slot, identity) in largest.iter_mut().zip([Identity::Address, Identity::Email]) {
        let sql = format!(
            "SELECT CAST(COALESCE(MAX(held), 0) AS SIGNED) FROM (SELECT SUM(seats) AS held FROM bookings \
             WHERE status = 'held' AND expires_at > ? AND {col} IS NOT NULL GROUP BY {col}) holders",
            col = column(identity)
        );
        *slot =
            on_pool!(store, pool => sqlx::query_scalar(&sql).bind(at(now)).fetch_one(pool).await)?;
    }
    let sql = format!(
        "SELECT COUNT(*) FROM departures o WHERE o.status = 'scheduled' AND o.starts_at > ? \
         AND o.id IN (SELECT h.departure_id FROM bookings h WHERE h.status = 'held' AND h.expires_at > ?) \
         AND o.capacity <= (SELECT COALESCE(SUM(b.seats), 0) FROM bookings b WHERE b.departure_id = o.id \
             AND {live})",
        live = super::bookings::live_condition()
    );
    let sold_out_by_holds: i64 = on_pool!(store, pool => sqlx::query_scalar(&sql)
        .bind(at(now)).bind(at(now)).bind(at(now)).fetch_one(pool).await)?;
    Ok(Holders {
        seats_held,
        largest_by_address: largest[0],
        largest_by_email: largest[1],
        sold_out_by_holds,
    })
}

/// Deletes up to `limit` lock rows untouched since `before`; returns how many went.
pub async fn purge_idle_clients(
    tx: &mut WriteTx,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<u64, StorageError> {
    let sql = tx.pick(
        "DELETE FROM hold_clients WHERE rowid IN (SELECT rowid FROM hold_clients WHERE touched_at < ? LIMIT ?)",
        "DELETE FROM hold_clients WHERE touched_at < ? ORDER BY touched_at LIMIT ?",
    );
    let affected = on_tx!(tx, conn => sqlx::query(sql)
        .bind(at(before)).bind(limit).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected)
}
