//! What the console's "Today" page reads: an operator's departures in a time window with their
//! load, in one query.

use chrono::{DateTime, Utc};

use super::{at, on_pool, StorageError, Store};
use crate::domain::capacity::DepartureStatus;
use crate::domain::ids::{DepartureId, OperatorId, TourId};

/// One departure with its seats by booking state.
#[derive(Debug, Clone)]
pub struct DepartureLoad {
    pub id: DepartureId,
    pub tour_id: TourId,
    pub tour_name: String,
    pub timezone: String,
    pub starts_at: DateTime<Utc>,
    pub status: DepartureStatus,
    pub capacity: u32,
    /// Seats of confirmed bookings not checked in yet.
    pub confirmed: u32,
    /// Seats of bookings checked in.
    pub checked_in: u32,
    /// Seats of holds still running (lapsed ones are free and not counted).
    pub held: u32,
}

#[derive(sqlx::FromRow)]
struct LoadRow {
    id: String,
    tour_id: String,
    tour_name: String,
    timezone: String,
    starts_at: DateTime<Utc>,
    status: String,
    capacity: i64,
    confirmed: i64,
    checked_in: i64,
    held: i64,
}

/// Most departures one window lists.
const MAX_LISTED: i64 = 500;

/// The operator's departures starting in `[from, to)`, in start order.
pub async fn departure_loads(
    store: &Store,
    operator: &OperatorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<DepartureLoad>, StorageError> {
    let sql = "SELECT d.id, d.tour_id, t.name AS tour_name, t.timezone, d.starts_at, d.status, \
         d.capacity, \
         CAST(COALESCE(SUM(CASE WHEN b.status = 'confirmed' THEN b.seats ELSE 0 END), 0) AS SIGNED) AS confirmed, \
         CAST(COALESCE(SUM(CASE WHEN b.status = 'checked_in' THEN b.seats ELSE 0 END), 0) AS SIGNED) AS checked_in, \
         CAST(COALESCE(SUM(CASE WHEN b.status = 'held' AND b.expires_at > ? THEN b.seats ELSE 0 END), 0) AS SIGNED) AS held \
         FROM departures d JOIN tours t ON t.id = d.tour_id \
         LEFT JOIN bookings b ON b.departure_id = d.id \
         WHERE t.operator_id = ? AND d.starts_at >= ? AND d.starts_at < ? \
         GROUP BY d.id, d.tour_id, t.name, t.timezone, d.starts_at, d.status, d.capacity \
         ORDER BY d.starts_at, d.id LIMIT ?";
    let rows: Vec<LoadRow> = on_pool!(store, pool => sqlx::query_as(sql)
        .bind(at(now)).bind(operator.as_str()).bind(at(from)).bind(at(to)).bind(MAX_LISTED)
        .fetch_all(pool).await)?;
    rows.into_iter()
        .map(|row| {
            let count = |value: i64| {
                u32::try_from(value).map_err(|_| {
                    StorageError::Corrupt(format!(
                        "departure {}: count {value} out of range",
                        row.id
                    ))
                })
            };
            Ok(DepartureLoad {
                status: DepartureStatus::parse(&row.status)
                    .map_err(|e| StorageError::Corrupt(format!("departure {}: {e}", row.id)))?,
                capacity: count(row.capacity)?,
                confirmed: count(row.confirmed)?,
                checked_in: count(row.checked_in)?,
                held: count(row.held)?,
                starts_at: row.starts_at,
                timezone: row.timezone,
                tour_name: row.tour_name,
                tour_id: TourId::from_stored(row.tour_id),
                id: DepartureId::from_stored(row.id),
            })
        })
        .collect()
}

/// One tour's departures starting in a window: how many, their seats, and the seats sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TourLoad {
    pub tour_id: TourId,
    pub departures: u32,
    pub capacity: u64,
    /// Seats of confirmed and checked-in bookings (holds are not sales).
    pub sold: u64,
}

/// Every tour of the operator with scheduled departures starting in `[from, to)`.
pub async fn tour_loads(
    store: &Store,
    operator: &OperatorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<TourLoad>, StorageError> {
    use crate::domain::booking::{sql_list, BookingStatus};
    let scheduled = DepartureStatus::Scheduled.as_str();
    let departures: Vec<(String, i64, i64)> = on_pool!(store, pool => sqlx::query_as(&format!(
        "SELECT d.tour_id, COUNT(*), CAST(COALESCE(SUM(d.capacity), 0) AS SIGNED) FROM departures d \
         JOIN tours t ON t.id = d.tour_id WHERE t.operator_id = ? AND d.status = '{scheduled}' \
         AND d.starts_at >= ? AND d.starts_at < ? GROUP BY d.tour_id ORDER BY d.tour_id"))
        .bind(operator.as_str()).bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    let sold_statuses = sql_list(&[BookingStatus::Confirmed, BookingStatus::CheckedIn]);
    let sold: Vec<(String, i64)> = on_pool!(store, pool => sqlx::query_as(&format!(
        "SELECT b.tour_id, CAST(COALESCE(SUM(b.seats), 0) AS SIGNED) FROM bookings b \
         JOIN departures d ON d.id = b.departure_id WHERE b.operator_id = ? \
         AND b.status IN ({sold_statuses}) AND d.status = '{scheduled}' \
         AND d.starts_at >= ? AND d.starts_at < ? GROUP BY b.tour_id"))
        .bind(operator.as_str()).bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    Ok(departures
        .into_iter()
        .map(|(tour, count, capacity)| TourLoad {
            sold: sold
                .iter()
                .find(|(t, _)| *t == tour)
                .map_or(0, |(_, seats)| u64::try_from(*seats).unwrap_or(0)),
            tour_id: TourId::from_stored(tour),
            departures: u32::try_from(count).unwrap_or(u32::MAX),
            capacity: u64::try_from(capacity).unwrap_or(0),
        })
        .collect())
}
