//! Departures and their seat counters. Every change to `seats_taken` happens in a [`WriteTx`]
//! that first called [`lock`] on the departure.

use chrono::{DateTime, Utc};

use super::at;
use super::rows::{DepartureRow, DEPARTURE_COLUMNS};
use super::{on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::booking::{sql_list, BookingStatus};
use crate::domain::capacity::DepartureStatus;
use crate::domain::ids::{DepartureId, OperatorId, ScheduleId, TourId};
use crate::domain::price_rules::UnitPrices;
use crate::domain::records::{DepartureRecord, Violation};

/// Most departures one availability query returns (93 days of a busy schedule fit easily).
const MAX_LISTED: i64 = 5000;

pub async fn get(
    store: &Store,
    id: &DepartureId,
    now: DateTime<Utc>,
) -> Result<Option<DepartureRecord>, StorageError> {
    let sql = format!("SELECT {DEPARTURE_COLUMNS} FROM departures o WHERE o.id = ?");
    let row: Option<DepartureRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(now)).bind(id.as_str()).fetch_optional(pool).await)?;
    row.map(DepartureRecord::try_from).transpose()
}

/// A departure as the caller's transaction sees it (no lock).
pub async fn read_in(
    tx: &mut WriteTx,
    id: &DepartureId,
    now: DateTime<Utc>,
) -> Result<Option<DepartureRecord>, StorageError> {
    let sql = format!("SELECT {DEPARTURE_COLUMNS} FROM departures o WHERE o.id = ?");
    let row: Option<DepartureRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(at(now)).bind(id.as_str()).fetch_optional(conn).await)?;
    row.map(DepartureRecord::try_from).transpose()
}

/// Departures of a tour starting in `[from, to)`, in start order.
pub async fn list_for_tour(
    store: &Store,
    tour: &TourId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<DepartureRecord>, StorageError> {
    let sql = format!(
        "SELECT {DEPARTURE_COLUMNS} FROM departures o \
         WHERE o.tour_id = ? AND o.starts_at >= ? AND o.starts_at < ? ORDER BY o.starts_at, o.id LIMIT ?");
    let rows: Vec<DepartureRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(now)).bind(tour.as_str()).bind(at(from)).bind(at(to)).bind(MAX_LISTED).fetch_all(pool).await)?;
    rows.into_iter().map(DepartureRecord::try_from).collect()
}

/// The departures of all an operator's tours starting in `[from, to)` and not cancelled, in
/// start order, in one query (a catalogue's "from" prices); the soonest [`MAX_LISTED`] in all.
pub async fn list_for_operator(
    store: &Store,
    operator: &OperatorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<DepartureRecord>, StorageError> {
    let sql = format!(
        "SELECT {DEPARTURE_COLUMNS} FROM departures o JOIN tours t ON t.id = o.tour_id \
         WHERE t.operator_id = ? AND o.starts_at >= ? AND o.starts_at < ? AND o.status <> ? \
         ORDER BY o.starts_at, o.id LIMIT ?"
    );
    let rows: Vec<DepartureRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(now)).bind(operator.as_str()).bind(at(from)).bind(at(to))
        .bind(DepartureStatus::Cancelled.as_str()).bind(MAX_LISTED).fetch_all(pool).await)?;
    rows.into_iter().map(DepartureRecord::try_from).collect()
}

/// Locks the departure row for the rest of the transaction and reads it. On MySQL this is
/// `SELECT … FOR UPDATE`; on SQLite the transaction already holds the database write lock.
///
/// `seats_expired` is left at 0: under the lock, callers release lapsed holds for real
/// (`bookings::release_lapsed_holds`) instead of reasoning about them.
pub async fn lock(
    tx: &mut WriteTx,
    id: &DepartureId,
) -> Result<Option<DepartureRecord>, StorageError> {
    locked_read(tx, id, "FOR UPDATE").await
}

/// Like [`lock`], but skips (returns `None` for) a row another transaction holds, so several
/// expiry workers never queue behind each other. SQLite has one writer, so nothing to skip.
pub async fn try_lock(
    tx: &mut WriteTx,
    id: &DepartureId,
) -> Result<Option<DepartureRecord>, StorageError> {
    locked_read(tx, id, "FOR UPDATE SKIP LOCKED").await
}

async fn locked_read(
    tx: &mut WriteTx,
    id: &DepartureId,
    mysql_lock: &str,
) -> Result<Option<DepartureRecord>, StorageError> {
    let select =
        "SELECT o.id, o.tour_id, o.schedule_id, o.starts_at, o.capacity, o.seats_taken, o.status, \
        o.min_participants, o.decision_hours, o.guaranteed_at, o.unit_prices, \
        CAST(0 AS SIGNED) AS seats_expired FROM departures o WHERE o.id = ?";
    let sql = if tx.is_sqlite() {
        select.to_owned()
    } else {
        format!("{select} {mysql_lock}")
    };
    let row: Option<DepartureRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(conn).await)?;
    row.map(DepartureRecord::try_from).transpose()
}

/// The fast path of a hold: takes `seats` in one statement if the departure is scheduled, still
/// on sale (`starts_at > sales_open_until`) and has room. The UPDATE locks the row exactly as
/// `SELECT … FOR UPDATE` would, in one round trip instead of two. `false` changes nothing; the
/// caller then locks and decides (lapsed holds, which error to give). A departure whose tour
/// draws on a shared resource is never taken here: its resources must be locked first (the
/// guard reads the assignments in the statement, so one committed meanwhile is seen). One that
/// draws only whole departures (a guide) is, its seats being no resource's concern. Nor is one
/// with travelers on its waiting line: freed seats may be owed to them, which the caller decides
/// under the lock.
pub async fn take_seats_if_free(
    tx: &mut WriteTx,
    id: &DepartureId,
    seats: u32,
    sales_open_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE departures SET seats_taken = seats_taken + ?, updated_at = ? \
         WHERE id = ? AND status = 'scheduled' AND starts_at > ? AND seats_taken + ? <= capacity \
         AND NOT EXISTS (SELECT 1 FROM resource_assignments a JOIN resources r ON r.id = a.resource_id \
           WHERE a.tour_id = departures.tour_id AND r.draw = 'seats') \
         AND NOT EXISTS (SELECT 1 FROM waitlist_entries w \
           WHERE w.departure_id = departures.id AND w.status = 'waiting')")
        .bind(i64::from(seats)).bind(at(now)).bind(id.as_str()).bind(at(sales_open_until)).bind(i64::from(seats))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Adds `delta` (negative to release) to a locked departure's `seats_taken`.
pub async fn add_seats(
    tx: &mut WriteTx,
    id: &DepartureId,
    delta: i64,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if delta == 0 {
        return Ok(());
    }
    let result = on_tx!(tx, conn => sqlx::query(
        "UPDATE departures SET seats_taken = seats_taken + ?, updated_at = ? WHERE id = ?")
        .bind(delta).bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    if result != 1 {
        return Err(StorageError::Corrupt(format!(
            "departure {id} vanished while locked"
        )));
    }
    Ok(())
}

pub async fn set_capacity(
    tx: &mut WriteTx,
    id: &DepartureId,
    capacity: u32,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE departures SET capacity = ?, updated_at = ? WHERE id = ?")
        .bind(i64::from(capacity)).bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stores a locked departure's own prices (`None`: none, its tour's apply).
pub async fn set_own_prices(
    tx: &mut WriteTx,
    id: &DepartureId,
    prices: Option<&UnitPrices>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let json = prices
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StorageError::Corrupt(format!("prices of departure {id}: {e}")))?;
    on_tx!(tx, conn => sqlx::query("UPDATE departures SET unit_prices = ?, updated_at = ? WHERE id = ?")
        .bind(json).bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_status(
    tx: &mut WriteTx,
    id: &DepartureId,
    status: DepartureStatus,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE departures SET status = ?, updated_at = ? WHERE id = ?")
        .bind(status.as_str()).bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The schedule's departures starting after `now`, in id order (the order they are locked in).
pub async fn future_of_schedule(
    tx: &mut WriteTx,
    schedule: &ScheduleId,
    now: DateTime<Utc>,
) -> Result<Vec<DepartureId>, StorageError> {
    let ids: Vec<String> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT id FROM departures WHERE schedule_id = ? AND starts_at > ? ORDER BY id")
        .bind(schedule.as_str()).bind(at(now)).fetch_all(conn).await)?;
    ids.into_iter()
        .map(|id| {
            DepartureId::parse(&id)
                .ok_or_else(|| StorageError::Corrupt(format!("departure id {id:?}")))
        })
        .collect()
}

/// Deletes a locked departure that no booking ever named; `false` (nothing deleted) when one
/// did, since bookings keep their departure.
///
/// Two statements, not `DELETE … WHERE NOT EXISTS (…)`: on MySQL that subquery reads with shared
/// locks, which wait for a hold that wrote its booking first and now waits for this departure's
/// lock (seats taken last) - a deadlock. A plain read does not wait; such a hold then finds no
/// departure, rolls back and answers as for any missing departure.
pub async fn delete_unbooked(tx: &mut WriteTx, id: &DepartureId) -> Result<bool, StorageError> {
    let booked: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT 1 FROM bookings WHERE departure_id = ? LIMIT 1")
        .bind(id.as_str()).fetch_optional(conn).await)?;
    if booked.is_some() {
        return Ok(false);
    }
    let deleted = on_tx!(tx, conn => sqlx::query("DELETE FROM departures WHERE id = ?")
        .bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(deleted == 1)
}

/// A new departure with no seats taken.
pub struct NewDeparture<'a> {
    pub id: DepartureId,
    pub tour_id: &'a TourId,
    pub schedule_id: Option<&'a ScheduleId>,
    pub starts_at: DateTime<Utc>,
    pub capacity: u32,
}

/// The start instants a schedule already has in `[from, to]`.
pub async fn scheduled_starts(
    tx: &mut WriteTx,
    schedule: &ScheduleId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, StorageError> {
    let starts: Vec<DateTime<Utc>> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT starts_at FROM departures WHERE schedule_id = ? AND starts_at >= ? AND starts_at <= ?")
        .bind(schedule.as_str()).bind(at(from)).bind(at(to)).fetch_all(conn).await)?;
    Ok(starts)
}

/// Inserts a departure unless its schedule already has one at that instant (the unique key on
/// `(schedule_id, starts_at)` decides, so two instances materializing at once stay correct).
/// No "created" flag: with FOUND_ROWS (which sqlx sets) MySQL counts a duplicate as affected.
pub async fn insert(
    tx: &mut WriteTx,
    departure: &NewDeparture<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let sql = tx.pick(
        "INSERT INTO departures (id, tour_id, schedule_id, starts_at, capacity, seats_taken, status, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 0, 'scheduled', ?, ?) ON CONFLICT (schedule_id, starts_at) DO NOTHING",
        "INSERT INTO departures (id, tour_id, schedule_id, starts_at, capacity, seats_taken, status, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 0, 'scheduled', ?, ?) ON DUPLICATE KEY UPDATE id = id",
    );
    on_tx!(tx, conn => sqlx::query(sql)
        .bind(departure.id.as_str()).bind(departure.tour_id.as_str())
        .bind(departure.schedule_id.map(|id| id.as_str())).bind(at(departure.starts_at))
        .bind(i64::from(departure.capacity)).bind(at(now)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SeatAudit {
    id: String,
    capacity: i64,
    seats_taken: i64,
    booked: i64,
}

#[derive(sqlx::FromRow)]
struct ItemAudit {
    reference: String,
    departure_id: String,
    seats: i64,
    item_seats: i64,
}

/// Every departure whose counter disagrees with its bookings or exceeds its capacity, and every
/// booking whose seats disagree with its items.
pub async fn seat_violations(store: &Store) -> Result<Vec<Violation>, StorageError> {
    let sql = format!(
        "SELECT o.id, o.capacity, o.seats_taken, \
         CAST(COALESCE(SUM(b.seats), 0) AS SIGNED) AS booked \
         FROM departures o LEFT JOIN bookings b ON b.departure_id = o.id \
         AND b.status IN ({occupying}) \
         GROUP BY o.id, o.capacity, o.seats_taken \
         HAVING o.seats_taken <> CAST(COALESCE(SUM(b.seats), 0) AS SIGNED) OR o.seats_taken > o.capacity \
         OR o.seats_taken < 0 ORDER BY o.id",
        occupying = sql_list(&BookingStatus::occupying())
    );
    let seats: Vec<SeatAudit> =
        on_pool!(store, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    let items: Vec<ItemAudit> = on_pool!(store, pool => sqlx::query_as(
        "SELECT b.reference, b.departure_id, b.seats, \
         CAST(COALESCE(SUM(i.quantity), 0) AS SIGNED) AS item_seats \
         FROM bookings b LEFT JOIN booking_items i ON i.booking_id = b.id \
         GROUP BY b.id, b.reference, b.departure_id, b.seats \
         HAVING b.seats <> CAST(COALESCE(SUM(i.quantity), 0) AS SIGNED) ORDER BY b.reference")
        .fetch_all(pool).await)?;
    let mut violations: Vec<Violation> = seats
        .into_iter()
        .map(|row| {
            let detail = format!(
                "seats_taken {} but live bookings hold {} (capacity {})",
                row.seats_taken, row.booked, row.capacity
            );
            Violation::of_departure(row.id, detail)
        })
        .collect();
    violations.extend(items.into_iter().map(|row| {
        let detail = format!(
            "booking {} records {} seats but its items add up to {}",
            row.reference, row.seats, row.item_seats
        );
        Violation::of_departure(row.departure_id, detail)
    }));
    // On MySQL no foreign key keeps a booking's departure (see migration 0053): check it here.
    let orphans: Vec<(String, String)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT b.reference, b.departure_id FROM bookings b \
         LEFT JOIN departures o ON o.id = b.departure_id WHERE o.id IS NULL ORDER BY b.reference")
        .fetch_all(pool).await)?;
    violations.extend(orphans.into_iter().map(|(reference, departure_id)| {
        let detail = format!("booking {reference} names a departure that does not exist");
        Violation::of_departure(departure_id, detail)
    }));
    Ok(violations)
}

/// Scheduled departures not yet guaranteed that start in `(now, until]` and have a minimum of
/// participants (their own or their tour's), in start order after `after` (a page's last
/// departure): the candidates for a decision.
pub async fn undecided_with_minimum(
    store: &Store,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    after: Option<(DateTime<Utc>, &DepartureId)>,
    limit: i64,
) -> Result<Vec<DepartureRecord>, StorageError> {
    let (from, from_id) = after.map_or((now, ""), |(at, id)| (at, id.as_str()));
    let sql = format!(
        "SELECT {DEPARTURE_COLUMNS} FROM departures o JOIN tours t ON t.id = o.tour_id \
         WHERE o.status = 'scheduled' AND o.guaranteed_at IS NULL AND o.starts_at > ? \
         AND (o.starts_at > ? OR (o.starts_at = ? AND o.id > ?)) \
         AND o.starts_at <= ? AND COALESCE(o.min_participants, t.min_participants) > 0 \
         ORDER BY o.starts_at, o.id LIMIT ?"
    );
    let rows: Vec<DepartureRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(now)).bind(at(now)).bind(at(from)).bind(at(from)).bind(from_id)
        .bind(at(until)).bind(limit).fetch_all(pool).await)?;
    rows.into_iter().map(DepartureRecord::try_from).collect()
}

/// Marks a locked departure guaranteed to run.
pub async fn set_guaranteed(
    tx: &mut WriteTx,
    id: &DepartureId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE departures SET guaranteed_at = ?, updated_at = ? WHERE id = ?")
        .bind(at(now)).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets a departure's own minimum and decision time (`None`: its tour's).
pub async fn set_minimum(
    tx: &mut WriteTx,
    id: &DepartureId,
    min_participants: Option<u32>,
    decision_hours: Option<u32>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE departures SET min_participants = ?, decision_hours = ?, updated_at = ? WHERE id = ?")
        .bind(min_participants.map(i64::from)).bind(decision_hours.map(i64::from))
        .bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
