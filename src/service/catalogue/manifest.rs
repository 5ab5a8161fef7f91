//! Who is on a departure: the manifest, whole (a chunk at a time) or a page at a time.

use chrono::{DateTime, Utc};

use crate::domain::ids::{DepartureId, OperatorId};
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::error::AppError;
use crate::storage::{bookings, Store};

use super::own_departure;

/// Who is on a departure: every booking holding seats, with items and contact details (read a
/// chunk at a time; for the CSV and the console's checks).
pub async fn manifest(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    id: &DepartureId,
) -> Result<(TourRecord, DepartureRecord, Vec<BookingRecord>), AppError> {
    let (tour, departure) = own_departure(store, now, operator, id).await?;
    let bookings = bookings::manifest(store, id, now).await?;
    Ok((tour, departure, bookings))
}

/// Whether the booking `reference` is on the manifest of a departure of `operator` (a departure
/// of another operator is not found).
pub async fn on_manifest(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    id: &DepartureId,
    reference: &str,
) -> Result<bool, AppError> {
    own_departure(store, now, operator, id).await?;
    Ok(bookings::on_manifest(store, id, reference, now).await?)
}

/// Every booking on a departure of `operator`'s manifest, in the manifest's order, handed to
/// `each` a chunk at a time: keyset reads of `bookings::MANIFEST_CHUNK`, so a departure of tens
/// of thousands of bookings is never one query nor one list in memory (for the CSV).
pub async fn manifest_in_chunks(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    id: &DepartureId,
    mut each: impl FnMut(&[BookingRecord]),
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let (tour, departure) = own_departure(store, now, operator, id).await?;
    let mut after = None;
    loop {
        let chunk =
            bookings::manifest_page(store, id, now, after.as_ref(), bookings::MANIFEST_CHUNK)
                .await?;
        each(&chunk);
        if chunk.len() < bookings::MANIFEST_CHUNK as usize {
            return Ok((tour, departure));
        }
        after = chunk.last().map(|b| (b.created_at, b.id.clone()));
    }
}

/// The most bookings a manifest page holds, and what it holds when not asked.
pub const MANIFEST_MAX_LIMIT: u32 = 1000;
pub const MANIFEST_DEFAULT_LIMIT: u32 = 500;

/// One page of a departure's manifest.
pub struct ManifestPage {
    pub tour: TourRecord,
    pub departure: DepartureRecord,
    /// The page's bookings, oldest first (`created_at`, then id).
    pub bookings: Vec<BookingRecord>,
    /// Over the whole departure, not the page.
    pub totals: bookings::ManifestTotals,
    /// Present when more may follow: pass it as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// A page of a departure of `operator`'s manifest: `limit` (1 to `MANIFEST_MAX_LIMIT`, unparsed
/// as sent) bookings after `cursor` (a previous page's `next_cursor`). A bad one is a
/// `validation_failed` naming it.
pub async fn manifest_page(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    id: &DepartureId,
    cursor: Option<&str>,
    limit: Option<&str>,
) -> Result<ManifestPage, AppError> {
    let (tour, departure) = own_departure(store, now, operator, id).await?;
    let after = cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            crate::service::booking_search::parse_cursor(c).ok_or_else(|| {
                AppError::invalid("cursor", "is not a cursor this manifest gave out")
            })
        })
        .transpose()?;
    let limit = match limit.filter(|l| !l.is_empty()) {
        None => MANIFEST_DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MANIFEST_MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                AppError::invalid(
                    "limit",
                    format!("must be a number from 1 to {MANIFEST_MAX_LIMIT}"),
                )
            })?,
    };
    // One more than the page tells whether more follow.
    let mut page = bookings::manifest_page(store, id, now, after.as_ref(), limit + 1).await?;
    let next_cursor = if page.len() > limit as usize {
        page.truncate(limit as usize);
        page.last()
            .map(|b| crate::service::booking_search::cursor_of(b.created_at, &b.id))
    } else {
        None
    };
    let totals = bookings::manifest_totals(store, id, now).await?;
    Ok(ManifestPage {
        tour,
        departure,
        bookings: page,
        totals,
        next_cursor,
    })
}
