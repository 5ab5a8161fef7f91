//! An operator's search of its bookings.

use chrono::{DateTime, Utc};

use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, OperatorId, TourId};
use crate::domain::pricing::QuoteLine;
use crate::domain::records::BookingRecord;
use crate::storage::at;
use crate::storage::rows::{BookingRow, ItemRow, BOOKING_COLUMNS};
use crate::storage::{on_pool, StorageError, Store};

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
    let mut found = rows
        .into_iter()
        .map(|row| {
            Ok(FoundBooking {
                booking: BookingRecord::try_from(row.booking)?,
                starts_at: row.departure_starts_at,
                timezone: row.tour_timezone,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    if found.is_empty() {
        return Ok(found);
    }
    // The page's items in one query.
    let placeholders = vec!["?"; found.len()].join(", ");
    let sql = format!(
        "SELECT booking_id, unit_code, quantity, unit_price FROM booking_items \
         WHERE booking_id IN ({placeholders}) ORDER BY booking_id, unit_code"
    );
    let items: Vec<ItemRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql);
        for f in &found {
            query = query.bind(f.booking.id.as_str());
        }
        query.fetch_all(pool).await
    })?;
    for row in items {
        let booking_id = row.booking_id.clone();
        let line = QuoteLine::try_from(row)?;
        if let Some(f) = found
            .iter_mut()
            .find(|f| f.booking.id.as_str() == booking_id)
        {
            f.booking.items.push(line);
        }
    }
    Ok(found)
}
