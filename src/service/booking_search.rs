//! An operator's search of its bookings (`GET /v1/bookings`, the console's Bookings page): by
//! reference, traveler name or email, status, tour and departure dates, newest first, a page at
//! a time.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, OperatorId, TourId};
use crate::error::AppError;
use crate::storage::bookings::{self, BookingSearch, FoundBooking};
use crate::storage::Store;

/// The most a page holds, and what it holds when not asked.
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;
/// The longest search text.
pub const MAX_TEXT: usize = 200;

/// A search as sent: every field optional and unparsed, so each bad one gets its own 422.
#[derive(Debug, Default, Clone)]
pub struct SearchRequest<'a> {
    /// Part of the traveler's name or email, or the whole reference.
    pub q: Option<&'a str>,
    pub status: Option<&'a str>,
    pub tour: Option<&'a str>,
    /// The first and last local dates of the departures (`YYYY-MM-DD`, each departure's date in
    /// its tour's time zone), inclusive.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// Where the previous page ended (its `next_cursor`).
    pub cursor: Option<&'a str>,
    pub limit: Option<&'a str>,
}

/// One booking found: the booking with its items, its departure's start and the tour's zone.
pub struct Found {
    pub booking: crate::domain::records::BookingRecord,
    pub starts_at: DateTime<Utc>,
    pub timezone: Tz,
}

impl Found {
    /// The departure's start in its tour's zone.
    pub fn local_start(&self) -> DateTime<Tz> {
        self.starts_at.with_timezone(&self.timezone)
    }
}

pub struct SearchPage {
    pub bookings: Vec<Found>,
    /// Present when more may follow: pass it as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// The search, validated.
struct Filters {
    text: Option<String>,
    status: Option<BookingStatus>,
    tour: Option<TourId>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    after: Option<(DateTime<Utc>, BookingId)>,
    limit: u32,
}

fn parse(request: &SearchRequest<'_>) -> Result<Filters, AppError> {
    let text = request
        .q
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| {
            if q.chars().count() > MAX_TEXT {
                Err(AppError::invalid(
                    "q",
                    format!("must be at most {MAX_TEXT} characters"),
                ))
            } else {
                Ok(q.to_lowercase())
            }
        })
        .transpose()?;
    let status = request
        .status
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<BookingStatus>().map_err(|_| {
                let all: Vec<&str> = BookingStatus::ALL.iter().map(|s| s.as_str()).collect();
                AppError::invalid("status", format!("must be one of {}", all.join(", ")))
            })
        })
        .transpose()?;
    let tour = request
        .tour
        .filter(|t| !t.is_empty())
        .map(|t| TourId::parse(t).ok_or_else(|| AppError::invalid("tour", "is not a tour id")))
        .transpose()?;
    let date = |field: &'static str, value: Option<&str>| {
        value
            .filter(|v| !v.is_empty())
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| AppError::invalid(field, "must be a date, YYYY-MM-DD"))
            })
            .transpose()
    };
    let (from, to) = (date("from", request.from)?, date("to", request.to)?);
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            return Err(AppError::invalid("to", "must not be before from"));
        }
    }
    let after = request
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            parse_cursor(c)
                .ok_or_else(|| AppError::invalid("cursor", "is not a cursor this search gave out"))
        })
        .transpose()?;
    let limit = match request.limit.filter(|l| !l.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                AppError::invalid("limit", format!("must be a number from 1 to {MAX_LIMIT}"))
            })?,
    };
    Ok(Filters {
        text,
        status,
        tour,
        from,
        to,
        after,
        limit,
    })
}

/// A cursor names the last booking a page covered: its creation time (nanoseconds) and id.
pub(crate) fn cursor_of(created_at: DateTime<Utc>, id: &BookingId) -> String {
    let nanos = created_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
    format!("{nanos}.{id}")
}

pub(crate) fn parse_cursor(cursor: &str) -> Option<(DateTime<Utc>, BookingId)> {
    let (nanos, id) = cursor.split_once('.')?;
    let nanos: i64 = nanos.parse().ok()?;
    Some((Utc.timestamp_nanos(nanos), BookingId::parse(id)?))
}

/// How far a departure's local date can be from its UTC date: zones run from UTC−12 to UTC+14.
const WIDEST_OFFSET_HOURS: i64 = 14;

/// Searches an operator's bookings. Dates are each departure's local date in its tour's zone:
/// the database narrows by a window a zone wider on each side, and the exact date is checked
/// here, so a page may hold fewer than `limit` bookings and still have a `next_cursor`.
pub async fn search(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    request: &SearchRequest<'_>,
) -> Result<SearchPage, AppError> {
    let filters = parse(request)?;
    let midnight = |date: NaiveDate| date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let widen = Duration::hours(WIDEST_OFFSET_HOURS);
    let by_date = filters.from.is_some() || filters.to.is_some();
    let search = BookingSearch {
        operator,
        text: filters.text.as_deref(),
        status: filters.status,
        tour: filters.tour.as_ref(),
        starts_from: filters.from.and_then(midnight).map(|t| t - widen),
        starts_before: filters
            .to
            .and_then(|to| to.succ_opt())
            .and_then(midnight)
            .map(|t| t + widen),
        after: filters.after.clone(),
    };
    // Without dates every row read is a match: one more than the page tells whether more follow.
    // With dates some rows near the window's edges are not: read a few pages' worth.
    let limit = filters.limit as usize;
    let scan = if by_date { limit * 4 } else { limit + 1 };
    let rows = bookings::search(store, &search, now, scan as i64).await?;
    let scanned_all = rows.len() < scan;
    let last_scanned = rows
        .last()
        .map(|row| (row.booking.created_at, row.booking.id.clone()));
    let mut found: Vec<Found> = rows
        .into_iter()
        .filter_map(found)
        .filter(|f| {
            let date = f.local_start().date_naive();
            filters.from.is_none_or(|from| date >= from) && filters.to.is_none_or(|to| date <= to)
        })
        .collect();
    let next_cursor = if found.len() > limit {
        found.truncate(limit);
        found
            .last()
            .map(|f| cursor_of(f.booking.created_at, &f.booking.id))
    } else if scanned_all {
        None
    } else {
        last_scanned.map(|(created, id)| cursor_of(created, &id))
    };
    Ok(SearchPage {
        bookings: found,
        next_cursor,
    })
}

/// A stored zone that no longer parses is skipped rather than failing the whole search.
fn found(row: FoundBooking) -> Option<Found> {
    let timezone = row.timezone.parse::<Tz>().ok()?;
    Some(Found {
        booking: row.booking,
        starts_at: row.starts_at,
        timezone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_the_booking_it_names() {
        let id = BookingId::generate();
        let at = Utc.timestamp_nanos(1_764_806_400_123_456_789);
        assert_eq!(parse_cursor(&cursor_of(at, &id)), Some((at, id)));
        for bad in ["", "12", "x.01J", "12.not-an-id", ".", "1.2.3"] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: [(SearchRequest<'_>, &str); 8] = [
            (
                SearchRequest {
                    status: Some("lost"),
                    ..Default::default()
                },
                "status",
            ),
            (
                SearchRequest {
                    tour: Some("nope"),
                    ..Default::default()
                },
                "tour",
            ),
            (
                SearchRequest {
                    from: Some("2026-13-01"),
                    ..Default::default()
                },
                "from",
            ),
            (
                SearchRequest {
                    to: Some("tomorrow"),
                    ..Default::default()
                },
                "to",
            ),
            (
                SearchRequest {
                    from: Some("2026-05-02"),
                    to: Some("2026-05-01"),
                    ..Default::default()
                },
                "to",
            ),
            (
                SearchRequest {
                    cursor: Some("zzz"),
                    ..Default::default()
                },
                "cursor",
            ),
            (
                SearchRequest {
                    limit: Some("0"),
                    ..Default::default()
                },
                "limit",
            ),
            (
                SearchRequest {
                    limit: Some("201"),
                    ..Default::default()
                },
                "limit",
            ),
        ];
        for (request, field) in cases {
            match parse(&request) {
                Err(AppError::Validation(problems)) => {
                    assert_eq!(
                        problems.keys().collect::<Vec<_>>(),
                        vec![field],
                        "{request:?}"
                    )
                }
                other => panic!("{request:?}: {:?}", other.map(|_| ())),
            }
        }
        let long = "a".repeat(MAX_TEXT + 1);
        assert!(parse(&SearchRequest {
            q: Some(&long),
            ..Default::default()
        })
        .is_err());
        let fine = parse(&SearchRequest {
            q: Some("  Ada@Example.COM "),
            status: Some("confirmed"),
            limit: Some("200"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(fine.text.as_deref(), Some("ada@example.com"));
        assert_eq!(fine.status, Some(BookingStatus::Confirmed));
        assert_eq!(fine.limit, 200);
    }
}
