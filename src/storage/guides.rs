//! Who leads each departure (`departure_guides`).

use chrono::{DateTime, Utc};

use super::at;
use super::rows::{DepartureRow, DEPARTURE_COLUMNS};
use super::{on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{DepartureId, OperatorId, UserId};
use crate::domain::records::DepartureRecord;

/// A guide as a departure lists them.
#[derive(Debug, Clone)]
pub struct AssignedGuide {
    pub user_id: UserId,
    pub name: String,
}

/// The departure's guides, by name.
pub async fn of_departure(
    store: &Store,
    departure: &DepartureId,
) -> Result<Vec<AssignedGuide>, StorageError> {
    let rows: Vec<(String, String)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT u.id, u.name FROM departure_guides g JOIN users u ON u.id = g.user_id \
         WHERE g.departure_id = ? ORDER BY u.name, u.id")
        .bind(departure.as_str()).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| AssignedGuide {
            user_id: UserId::from_stored(id),
            name,
        })
        .collect())
}

/// Makes `users` the departure's guides (the caller has checked them).
pub async fn replace(
    tx: &mut WriteTx,
    operator: &OperatorId,
    departure: &DepartureId,
    users: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM departure_guides WHERE departure_id = ?")
        .bind(departure.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    for user in users {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO departure_guides (departure_id, user_id, operator_id, assigned_at) \
             VALUES (?, ?, ?, ?)")
            .bind(departure.as_str()).bind(user.as_str()).bind(operator.as_str()).bind(at(now))
            .execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

const ASSIGNED: &str = "FROM departure_guides g JOIN departures o ON o.id = g.departure_id \
    WHERE g.user_id = ? AND o.starts_at >= ? AND o.starts_at < ? ORDER BY o.starts_at, o.id LIMIT 2000";

/// The departures `user` is assigned to that start in `[from, to)`, in start order.
pub async fn assigned(
    store: &Store,
    user: &UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<DepartureRecord>, StorageError> {
    let sql = format!("SELECT {DEPARTURE_COLUMNS} {ASSIGNED}");
    let rows: Vec<DepartureRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(now)).bind(user.as_str()).bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    rows.into_iter().map(DepartureRecord::try_from).collect()
}

/// [`assigned`], read in the caller's transaction (which holds the user's lock).
pub async fn assigned_in(
    tx: &mut WriteTx,
    user: &UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<DepartureRecord>, StorageError> {
    let sql = format!("SELECT {DEPARTURE_COLUMNS} {ASSIGNED}");
    let rows: Vec<DepartureRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(at(now)).bind(user.as_str()).bind(at(from)).bind(at(to)).fetch_all(conn).await)?;
    rows.into_iter().map(DepartureRecord::try_from).collect()
}
