//! A departure's manifest: who holds seats on it, a page or a chunk at a time, and its totals.

use chrono::{DateTime, Utc};

use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, DepartureId};
use crate::domain::records::BookingRecord;
use crate::storage::at;
use crate::storage::rows::{BookingRow, BOOKING_COLUMNS};
use crate::storage::{on_pool, StorageError, Store};

use super::{live_condition, with_items};

/// What a departure's manifest adds up to over all its pages: the bookings holding seats right
/// now (lapsed holds excluded), their seats, and the seats checked in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManifestTotals {
    pub bookings: u64,
    pub seats: u64,
    pub checked_in: u64,
}

/// The totals of a departure's manifest, in one aggregate query.
pub async fn manifest_totals(
    store: &Store,
    departure: &DepartureId,
    now: DateTime<Utc>,
) -> Result<ManifestTotals, StorageError> {
    let sql = format!(
        "SELECT CAST(COUNT(*) AS SIGNED), CAST(COALESCE(SUM(b.seats), 0) AS SIGNED), \
         CAST(COALESCE(SUM(CASE WHEN b.status = '{}' THEN b.seats ELSE 0 END), 0) AS SIGNED) \
         FROM bookings b WHERE b.departure_id = ? AND {}",
        BookingStatus::CheckedIn.as_str(),
        live_condition()
    );
    let (bookings, seats, checked_in): (i64, i64, i64) = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(departure.as_str()).bind(at(now)).fetch_one(pool).await)?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(ManifestTotals {
        bookings: count(bookings),
        seats: count(seats),
        checked_in: count(checked_in),
    })
}

/// Up to `limit` of the bookings holding seats on a departure right now (lapsed holds
/// excluded), with items, in the manifest's order (`created_at`, id): those after `after` (the
/// last booking of the previous page), so pages read one after another neither repeat nor skip
/// a booking (a booking made meanwhile comes later in that order). Uses the
/// `bookings_departure_created` index.
pub async fn manifest_page(
    store: &Store,
    departure: &DepartureId,
    now: DateTime<Utc>,
    after: Option<&(DateTime<Utc>, BookingId)>,
    limit: u32,
) -> Result<Vec<BookingRecord>, StorageError> {
    let mut sql = format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.departure_id = ? AND {}",
        live_condition()
    );
    if after.is_some() {
        sql.push_str(" AND (b.created_at > ? OR (b.created_at = ? AND b.id > ?))");
    }
    sql.push_str(" ORDER BY b.created_at, b.id LIMIT ?");
    let rows: Vec<BookingRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql).bind(departure.as_str()).bind(at(now));
        if let Some((created, id)) = after {
            query = query.bind(at(*created)).bind(at(*created)).bind(id.as_str());
        }
        query.bind(i64::from(limit)).fetch_all(pool).await
    })?;
    let bookings = rows
        .into_iter()
        .map(BookingRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    with_items(store, bookings).await
}

/// Whether the booking `reference` (exactly as written) holds seats on a departure right now,
/// i.e. is on its manifest: one indexed read, not the whole list.
pub async fn on_manifest(
    store: &Store,
    departure: &DepartureId,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let sql = format!(
        "SELECT b.reference FROM bookings b WHERE b.reference = ? AND b.departure_id = ? AND {}",
        live_condition()
    );
    let found: Option<String> = on_pool!(store, pool => sqlx::query_scalar(&sql)
        .bind(reference).bind(departure.as_str()).bind(at(now)).fetch_optional(pool).await)?;
    // Compared here too: MySQL's collation ignores letter case.
    Ok(found.as_deref() == Some(reference))
}

/// Every booking holding seats on a departure right now, read a page of `MANIFEST_CHUNK` at a
/// time (for callers that need the whole list: the CSV, check-in, the cancellation preview).
pub async fn manifest(
    store: &Store,
    departure: &DepartureId,
    now: DateTime<Utc>,
) -> Result<Vec<BookingRecord>, StorageError> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = manifest_page(store, departure, now, after.as_ref(), MANIFEST_CHUNK).await?;
        let full = page.len() == MANIFEST_CHUNK as usize;
        after = page.last().map(|b| (b.created_at, b.id.clone()));
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// The bookings one read of a whole manifest holds at most.
pub const MANIFEST_CHUNK: u32 = 1000;
