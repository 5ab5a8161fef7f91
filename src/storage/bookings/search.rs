//! An operator's search of its bookings.

use chrono::{DateTime, Utc};

use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, OperatorId, TourId};
use crate::domain::records::BookingRecord;
use crate::storage::at;
use crate::storage::rows::{BookingRow, BOOKING_COLUMNS};
use crate::storage::{on_pool, StorageError, Store};

use super::with_items;

/// An operator's search of its bookings. Every filter is optional; the text is matched as typed
/// by the caller (the service lowercases it).
pub struct BookingSearch<'a> {
    pub operator: &'a OperatorId,
    /// Part of the traveler's name or email (lowercase), or the whole reference (uppercase).
    pub text: Option<&'a str>,
    /// The status a reader sees: `held` excludes lapsed holds, `expired` includes them.
    pub status: Option<BookingStatus>,
    pub tour: Option<&'a TourId>,
    /// Departures starting at or after this instant.
    pub starts_from: Option<DateTime<Utc>>,
    /// Departures starting before this instant.
    pub starts_before: Option<DateTime<Utc>>,
    /// Only bookings made before this one (`created_at`, id): the page after it, newest first.
    pub after: Option<(DateTime<Utc>, BookingId)>,
}

#[derive(sqlx::FromRow)]
struct FoundRow {
    #[sqlx(flatten)]
    booking: BookingRow,
    departure_starts_at: DateTime<Utc>,
    tour_timezone: String,
}

/// A booking a search found: with its departure's start and its tour's IANA time zone.
pub struct FoundBooking {
    pub booking: BookingRecord,
    pub starts_at: DateTime<Utc>,
    pub timezone: String,
}

/// `%`, `_` and the escape character itself, escaped for `LIKE … ESCAPE '!'` (`!` rather than a
/// backslash: the two dialects read a backslash in a string literal differently).
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('!', "!!")
        .replace('%', "!%")
        .replace('_', "!_");
    format!("%{escaped}%")
}

/// Up to `limit` bookings matching `search`, newest first, each with its items, its departure's
/// start and its tour's zone.
pub async fn search(
    store: &Store,
    search: &BookingSearch<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<FoundBooking>, StorageError> {
    let mut sql = format!(
        "SELECT {BOOKING_COLUMNS}, d.starts_at AS departure_starts_at, t.timezone AS tour_timezone \
         FROM bookings b JOIN departures d ON d.id = b.departure_id JOIN tours t ON t.id = b.tour_id \
         WHERE b.operator_id = ?"
    );
    if search.text.is_some() {
        sql.push_str(
            " AND (LOWER(b.customer_name) LIKE ? ESCAPE '!' OR LOWER(b.customer_email) LIKE ? ESCAPE '!' \
             OR b.reference = ?)",
        );
    }
    let held = BookingStatus::Held.as_str();
    match search.status {
        None => {}
        Some(BookingStatus::Held) => {
            sql.push_str(&format!(" AND b.status = '{held}' AND b.expires_at > ?"));
        }
        Some(BookingStatus::Expired) => sql.push_str(&format!(
            " AND (b.status = '{}' OR (b.status = '{held}' AND b.expires_at <= ?))",
            BookingStatus::Expired.as_str()
        )),
        Some(other) => sql.push_str(&format!(" AND b.status = '{}'", other.as_str())),
    }
    if search.tour.is_some() {
        sql.push_str(" AND b.tour_id = ?");
    }
    if search.starts_from.is_some() {
        sql.push_str(" AND d.starts_at >= ?");
    }
    if search.starts_before.is_some() {
        sql.push_str(" AND d.starts_at < ?");
    }
    if search.after.is_some() {
        sql.push_str(" AND (b.created_at < ? OR (b.created_at = ? AND b.id < ?))");
    }
    sql.push_str(" ORDER BY b.created_at DESC, b.id DESC LIMIT ?");
    let pattern = search.text.map(like_pattern);
    let rows: Vec<FoundRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql).bind(search.operator.as_str());
        if let (Some(text), Some(pattern)) = (search.text, &pattern) {
            query = query.bind(pattern.clone()).bind(pattern.clone()).bind(text.to_uppercase());
        }
        if matches!(search.status, Some(BookingStatus::Held | BookingStatus::Expired)) {
            query = query.bind(at(now));
        }
        if let Some(tour) = search.tour {
            query = query.bind(tour.as_str());
        }
        if let Some(from) = search.starts_from {
            query = query.bind(at(from));
        }
        if let Some(before) = search.starts_before {
            query = query.bind(at(before));
        }
        if let Some((created, id)) = &search.after {
            query = query.bind(at(*created)).bind(at(*created)).bind(id.as_str());
        }
        query.bind(limit).fetch_all(pool).await
    })?;
    let mut bookings = Vec::with_capacity(rows.len());
    let mut departures = Vec::with_capacity(rows.len());
    for row in rows {
        bookings.push(BookingRecord::try_from(row.booking)?);
        departures.push((row.departure_starts_at, row.tour_timezone));
    }
    let bookings = with_items(store, bookings).await?;
    Ok(bookings
        .into_iter()
        .zip(departures)
        .map(|(booking, (starts_at, timezone))| FoundBooking {
            booking,
            starts_at,
            timezone,
        })
        .collect())
}
