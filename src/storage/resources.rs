//! Shared resources (`resources`), which departures draw on them (`resource_assignments`), and
//! what those departures draw at a given time.

use chrono::{DateTime, Duration, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::guide::Span;
use crate::domain::ids::{
    DepartureId, OperatorId, ResourceAssignmentId, ResourceId, ScheduleId, TourId,
};
use crate::domain::resource::{Assignment, Draw, Drawing, Resource};

const COLUMNS: &str = "id, name, capacity, draw, created_at, updated_at";
const ASSIGNMENT_COLUMNS: &str = "id, resource_id, tour_id, schedule_id";

#[derive(sqlx::FromRow)]
struct ResourceRow {
    id: String,
    name: String,
    capacity: i64,
    draw: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ResourceRow> for Resource {
    type Error = StorageError;

    fn try_from(row: ResourceRow) -> Result<Self, StorageError> {
        let bad = |why: &str| StorageError::Corrupt(format!("resource {}: {why}", row.id));
        Ok(Resource {
            capacity: u32::try_from(row.capacity).map_err(|_| bad("capacity out of range"))?,
            draw: Draw::parse(&row.draw).ok_or_else(|| bad("unknown draw"))?,
            id: ResourceId::from_stored(row.id),
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    id: String,
    resource_id: String,
    tour_id: String,
    schedule_id: Option<String>,
}

impl From<AssignmentRow> for Assignment {
    fn from(row: AssignmentRow) -> Self {
        Assignment {
            id: ResourceAssignmentId::from_stored(row.id),
            resource_id: ResourceId::from_stored(row.resource_id),
            tour_id: TourId::from_stored(row.tour_id),
            schedule_id: row.schedule_id.map(ScheduleId::from_stored),
        }
    }
}

pub async fn insert(
    tx: &mut WriteTx,
    operator: &OperatorId,
    resource: &Resource,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO resources (id, operator_id, name, capacity, draw, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(resource.id.as_str()).bind(operator.as_str()).bind(&resource.name)
        .bind(i64::from(resource.capacity)).bind(resource.draw.as_str())
        .bind(at(resource.created_at)).bind(at(resource.updated_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Writes a locked resource's name and capacity (how it draws never changes).
pub async fn update(tx: &mut WriteTx, resource: &Resource) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE resources SET name = ?, capacity = ?, updated_at = ? WHERE id = ?")
        .bind(&resource.name).bind(i64::from(resource.capacity))
        .bind(at(resource.updated_at)).bind(resource.id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(
    store: &Store,
    operator: &OperatorId,
    id: &ResourceId,
) -> Result<Option<Resource>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM resources WHERE id = ? AND operator_id = ?");
    let row: Option<ResourceRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).bind(operator.as_str()).fetch_optional(pool).await)?;
    row.map(Resource::try_from).transpose()
}

/// The operator's resources by name (at most `limit`).
pub async fn list(
    store: &Store,
    operator: &OperatorId,
    limit: usize,
) -> Result<Vec<Resource>, StorageError> {
    let sql =
        format!("SELECT {COLUMNS} FROM resources WHERE operator_id = ? ORDER BY name, id LIMIT ?");
    let rows: Vec<ResourceRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).bind(limit as i64).fetch_all(pool).await)?;
    rows.into_iter().map(Resource::try_from).collect()
}

/// Every operator's resources, by id (`berth check`).
pub async fn every(store: &Store) -> Result<Vec<Resource>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM resources ORDER BY id");
    let rows: Vec<ResourceRow> =
        on_pool!(store, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    rows.into_iter().map(Resource::try_from).collect()
}

pub async fn count(tx: &mut WriteTx, operator: &OperatorId) -> Result<usize, StorageError> {
    let n: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM resources WHERE operator_id = ?")
        .bind(operator.as_str()).fetch_one(conn).await)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Locks a resource (MySQL: `FOR UPDATE`; SQLite's one writer already excludes the others) and
/// reads it as it is now. Every seat a departure drawing on it gains is counted under this lock.
pub async fn lock(tx: &mut WriteTx, id: &ResourceId) -> Result<Option<Resource>, StorageError> {
    let sql = tx.locking(format!("SELECT {COLUMNS} FROM resources WHERE id = ?"));
    let row: Option<ResourceRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(conn).await)?;
    row.map(Resource::try_from).transpose()
}

const TOUR_ASSIGNMENTS: &str = "SELECT a.id, a.resource_id, a.tour_id, a.schedule_id, r.draw \
    FROM resource_assignments a JOIN resources r ON r.id = a.resource_id \
    WHERE a.tour_id = ? ORDER BY a.resource_id, a.id";

type TourAssignmentRow = (String, String, String, Option<String>, String);

fn tour_assignments(rows: Vec<TourAssignmentRow>) -> Result<Vec<(Assignment, Draw)>, StorageError> {
    rows.into_iter()
        .map(|(id, resource_id, tour_id, schedule_id, draw)| {
            let draw = Draw::parse(&draw).ok_or_else(|| {
                StorageError::Corrupt(format!("resource {resource_id}: unknown draw"))
            })?;
            let row = AssignmentRow {
                id,
                resource_id,
                tour_id,
                schedule_id,
            };
            Ok((Assignment::from(row), draw))
        })
        .collect()
}

/// What a tour's departures draw on, and how, read outside a transaction (availability, and a
/// hold's first look).
pub async fn assignments_of_tour(
    store: &Store,
    tour: &TourId,
) -> Result<Vec<(Assignment, Draw)>, StorageError> {
    let rows: Vec<TourAssignmentRow> = on_pool!(store, pool => sqlx::query_as(TOUR_ASSIGNMENTS)
        .bind(tour.as_str()).fetch_all(pool).await)?;
    tour_assignments(rows)
}

/// The same in the caller's transaction, before it locks anything.
pub async fn assignments_of_tour_in(
    tx: &mut WriteTx,
    tour: &TourId,
) -> Result<Vec<(Assignment, Draw)>, StorageError> {
    let rows: Vec<TourAssignmentRow> = on_tx!(tx, conn => sqlx::query_as(TOUR_ASSIGNMENTS)
        .bind(tour.as_str()).fetch_all(conn).await)?;
    tour_assignments(rows)
}

/// The ids of a tour's assignments, with a locking read on MySQL: a writer that has locked a
/// departure reads here whether an assignment committed since its first look (one in flight
/// makes it wait, then shows).
pub async fn assignment_ids_of_tour_locked(
    tx: &mut WriteTx,
    tour: &TourId,
) -> Result<Vec<ResourceAssignmentId>, StorageError> {
    let sql = tx.locking(
        "SELECT id FROM resource_assignments WHERE tour_id = ? ORDER BY resource_id, id".to_owned(),
    );
    let ids: Vec<String> = on_tx!(tx, conn => sqlx::query_scalar(&sql)
        .bind(tour.as_str()).fetch_all(conn).await)?;
    Ok(ids
        .into_iter()
        .map(ResourceAssignmentId::from_stored)
        .collect())
}

/// A resource's assignments, oldest first.
pub async fn assignments_of(
    store: &Store,
    resource: &ResourceId,
) -> Result<Vec<Assignment>, StorageError> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM resource_assignments WHERE resource_id = ? ORDER BY assigned_at, id"
    );
    let rows: Vec<AssignmentRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(resource.as_str()).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Assignment::from).collect())
}

pub async fn insert_assignment(
    tx: &mut WriteTx,
    operator: &OperatorId,
    assignment: &Assignment,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO resource_assignments (id, resource_id, tour_id, schedule_id, operator_id, assigned_at) \
         VALUES (?, ?, ?, ?, ?, ?)")
        .bind(assignment.id.as_str()).bind(assignment.resource_id.as_str())
        .bind(assignment.tour_id.as_str())
        .bind(assignment.schedule_id.as_ref().map(ScheduleId::as_str))
        .bind(operator.as_str()).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes one of a resource's assignments; `false` when it has none by that id.
pub async fn delete_assignment(
    tx: &mut WriteTx,
    resource: &ResourceId,
    id: &ResourceAssignmentId,
) -> Result<bool, StorageError> {
    let n = on_tx!(tx, conn => sqlx::query(
        "DELETE FROM resource_assignments WHERE id = ? AND resource_id = ?")
        .bind(id.as_str()).bind(resource.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The scheduled departures drawing on `resource` that run at some moment of `[from, to)`, with
/// their live seats (lapsed holds count as free, as everywhere). `look_back` is the longest a
/// departure may run: one that started that long before `from` may still be running.
fn drawings_sql(locking: Option<&str>) -> String {
    format!(
        "SELECT o.id, o.tour_id, o.starts_at, t.duration_minutes, o.seats_taken, \
         CAST(COALESCE((SELECT SUM(b.seats) FROM bookings b WHERE b.departure_id = o.id \
            AND b.status = 'held' AND b.expires_at <= ?), 0) AS SIGNED) AS seats_expired \
         FROM departures o JOIN tours t ON t.id = o.tour_id \
         WHERE o.tour_id IN (SELECT a.tour_id FROM resource_assignments a WHERE a.resource_id = ?) \
           AND EXISTS (SELECT 1 FROM resource_assignments a WHERE a.resource_id = ? \
               AND a.tour_id = o.tour_id AND (a.schedule_id IS NULL OR a.schedule_id = o.schedule_id)) \
           AND o.status = 'scheduled' AND o.starts_at >= ? AND o.starts_at < ? \
         ORDER BY o.starts_at, o.id {}",
        locking.unwrap_or("")
    )
}

type DrawingRow = (String, String, DateTime<Utc>, i64, i64, i64);

fn to_drawings(rows: Vec<DrawingRow>, from: DateTime<Utc>) -> Vec<Drawing> {
    rows.into_iter()
        .filter_map(|(id, tour, starts_at, minutes, taken, expired)| {
            let span = Span::of(starts_at, u32::try_from(minutes).unwrap_or(0));
            let seats = u32::try_from((taken - expired).max(0)).unwrap_or(u32::MAX);
            (span.end > from).then(|| Drawing {
                departure: DepartureId::from_stored(id),
                tour: TourId::from_stored(tour),
                span,
                seats,
            })
        })
        .collect()
}

/// What departures draw on `resource` during `[from, to)`, read outside a transaction.
pub async fn drawings(
    store: &Store,
    resource: &ResourceId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    look_back: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Drawing>, StorageError> {
    let sql = drawings_sql(None);
    let rows: Vec<DrawingRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(now)).bind(resource.as_str()).bind(resource.as_str())
        .bind(at(from - look_back)).bind(at(to)).fetch_all(pool).await)?;
    Ok(to_drawings(rows, from))
}

/// The same in the caller's transaction. With `share_locks` (MySQL), the departures read are
/// share-locked until it ends: a hold in flight on one of them is waited for and counted, and
/// one that comes later waits for this transaction (an assignment, a capacity cut) to finish.
pub async fn drawings_in(
    tx: &mut WriteTx,
    resource: &ResourceId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    look_back: Duration,
    now: DateTime<Utc>,
    share_locks: bool,
) -> Result<Vec<Drawing>, StorageError> {
    let locking = (share_locks && !tx.is_sqlite()).then_some("LOCK IN SHARE MODE");
    let sql = drawings_sql(locking);
    let rows: Vec<DrawingRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(at(now)).bind(resource.as_str()).bind(resource.as_str())
        .bind(at(from - look_back)).bind(at(to)).fetch_all(conn).await)?;
    Ok(to_drawings(rows, from))
}

/// A tour's duration in minutes, read in the caller's transaction.
pub async fn tour_minutes_in(tx: &mut WriteTx, tour: &TourId) -> Result<u32, StorageError> {
    let minutes: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT duration_minutes FROM tours WHERE id = ?")
        .bind(tour.as_str()).fetch_one(conn).await)?;
    u32::try_from(minutes).map_err(|_| StorageError::Corrupt(format!("tour {tour}: duration")))
}
