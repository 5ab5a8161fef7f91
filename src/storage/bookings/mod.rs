//! Bookings and their items.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::at;
use super::rows::{BookingRow, ItemRow, BOOKING_COLUMNS};
use super::{on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::booking::{sql_list, BookingEvent, BookingStatus, CancelReason};
use crate::domain::ids::{BookingId, BookingRef, DepartureId, OperatorId};
use crate::domain::pricing::QuoteLine;
use crate::domain::records::{BookingRecord, Customer, ReleasedSeats};

mod manifest;
mod search;

pub use self::manifest::*;
pub use self::search::*;

/// Who made a hold, as keyed hashes of its client address and customer email (for the hold
/// limits); `(None, None)` when no limits apply.
pub type HolderKeys<'a> = (Option<&'a str>, Option<&'a str>);

/// Writes a booking and its items; `seats_taken` is the caller's to update under the same lock.
pub async fn insert(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    holder: HolderKeys<'_>,
) -> Result<(), StorageError> {
    insert_many(tx, &[(booking, holder)]).await
}

/// Most item rows one statement writes: 4 parameters each stays far below SQLite's 32,766.
const ITEM_ROWS_PER_STATEMENT: usize = 1000;

/// Writes bookings and their items with one multi-row `INSERT` for the bookings and one for
/// their items (more only past [`ITEM_ROWS_PER_STATEMENT`]): every round trip here is spent
/// in a transaction that takes seats, and a batch of holds (`service::holds::batch`) writes up
/// to 256 bookings at once. Any duplicate (a reference collision) fails them all.
pub async fn insert_many(
    tx: &mut WriteTx,
    bookings: &[(&BookingRecord, HolderKeys<'_>)],
) -> Result<(), StorageError> {
    if bookings.is_empty() {
        return Ok(());
    }
    let placeholders =
        vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; bookings.len()]
            .join(", ");
    let sql = format!(
        "INSERT INTO bookings (id, reference, access_token_hash, departure_id, tour_id, operator_id, status, \
         seats, total, currency, customer_name, customer_email, customer_phone, customer_language, expires_at, created_at, \
         updated_at, hold_client, hold_email, discount, promo_code) VALUES {placeholders}"
    );
    on_tx!(tx, conn => {
        let mut query = sqlx::query(&sql);
        for (booking, holder) in bookings {
            query = query
                .bind(booking.id.as_str()).bind(booking.reference.as_str()).bind(&booking.access_token_hash)
                .bind(booking.departure_id.as_str()).bind(booking.tour_id.as_str()).bind(booking.operator_id.as_str())
                .bind(booking.status.as_str()).bind(i64::from(booking.seats)).bind(booking.total)
                .bind(&booking.currency).bind(&booking.customer.name).bind(&booking.customer.email)
                .bind(booking.customer.phone.as_deref()).bind(booking.customer.language.code())
                .bind(booking.expires_at.map(at))
                .bind(at(booking.created_at)).bind(at(booking.updated_at))
                .bind(holder.0).bind(holder.1)
                .bind(booking.promo.as_ref().map_or(0, |promo| promo.discount))
                .bind(booking.promo.as_ref().map(|promo| promo.code.as_str()));
        }
        query.execute(&mut *conn).await.map(|r| r.rows_affected())
    })?;
    let items: Vec<(&BookingId, &QuoteLine)> = bookings
        .iter()
        .flat_map(|(booking, _)| booking.items.iter().map(|item| (&booking.id, item)))
        .collect();
    for chunk in items.chunks(ITEM_ROWS_PER_STATEMENT) {
        let placeholders = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!("INSERT INTO booking_items (booking_id, unit_code, quantity, unit_price) VALUES {placeholders}");
        on_tx!(tx, conn => {
            let mut query = sqlx::query(&sql);
            for (booking, item) in chunk {
                query = query.bind(booking.as_str()).bind(&item.unit).bind(i64::from(item.quantity)).bind(item.unit_price);
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    for (booking, _) in bookings {
        tx.count(booking.status.as_str(), 1);
        tx.count("seats_held", u64::from(booking.seats));
    }
    Ok(())
}

/// `bookings` with their items, read in one query (a page or a chunk of bookings at a time).
async fn with_items(
    store: &Store,
    bookings: Vec<BookingRecord>,
) -> Result<Vec<BookingRecord>, StorageError> {
    if bookings.is_empty() {
        return Ok(bookings);
    }
    let marks = vec!["?"; bookings.len()].join(", ");
    let sql = format!(
        "SELECT booking_id, unit_code, quantity, unit_price FROM booking_items \
         WHERE booking_id IN ({marks}) ORDER BY booking_id, unit_code"
    );
    let items: Vec<ItemRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql);
        for booking in &bookings {
            query = query.bind(booking.id.as_str());
        }
        query.fetch_all(pool).await
    })?;
    attach_items(bookings, items)
}

/// Puts each item row on its booking.
fn attach_items(
    mut bookings: Vec<BookingRecord>,
    items: Vec<ItemRow>,
) -> Result<Vec<BookingRecord>, StorageError> {
    let position: HashMap<String, usize> = bookings
        .iter()
        .enumerate()
        .map(|(i, booking)| (booking.id.as_str().to_owned(), i))
        .collect();
    for row in items {
        let index = position.get(&row.booking_id).copied();
        let line = QuoteLine::try_from(row)?;
        if let Some(i) = index {
            bookings[i].items.push(line);
        }
    }
    Ok(bookings)
}

/// A booking with its items.
pub async fn find_by_reference(
    store: &Store,
    reference: &BookingRef,
) -> Result<Option<BookingRecord>, StorageError> {
    find_one(store, "b.reference", reference.as_str()).await
}

/// The booking whose `column` (a fixed column name, never input) is `value`, with its items.
async fn find_one(
    store: &Store,
    column: &'static str,
    value: &str,
) -> Result<Option<BookingRecord>, StorageError> {
    let sql = format!("SELECT {BOOKING_COLUMNS} FROM bookings b WHERE {column} = ?");
    let row: Option<BookingRow> =
        on_pool!(store, pool => sqlx::query_as(&sql).bind(value).fetch_optional(pool).await)?;
    let Some(booking) = row.map(BookingRecord::try_from).transpose()? else {
        return Ok(None);
    };
    Ok(with_items(store, vec![booking]).await?.pop())
}

/// Confirmed bookings whose departure starts in `(from, to]`, with when each was made and when it
/// departs (for reminders).
pub async fn confirmed_departing_between(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(BookingId, DateTime<Utc>, DateTime<Utc>)>, StorageError> {
    let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT b.id, b.created_at, o.starts_at FROM bookings b JOIN departures o ON o.id = b.departure_id \
         WHERE b.status = 'confirmed' AND o.status = 'scheduled' AND o.starts_at > ? AND o.starts_at <= ? \
         AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.booking_id = b.id AND x.kind = 'reminder') \
         ORDER BY o.starts_at LIMIT 5000")
        .bind(at(from)).bind(at(to)).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, created, starts)| (BookingId::from_stored(id), created, starts))
        .collect())
}

/// Bookings whose hold lapsed and was released since `since`.
pub async fn expired_since(
    store: &Store,
    since: DateTime<Utc>,
) -> Result<Vec<BookingId>, StorageError> {
    let ids: Vec<String> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT id FROM bookings WHERE status = 'expired' AND updated_at > ? LIMIT 5000")
        .bind(at(since)).fetch_all(pool).await)?;
    Ok(ids.into_iter().map(BookingId::from_stored).collect())
}

/// A booking with its items, by id (for the message dispatcher).
pub async fn find_by_id(store: &Store, id: &str) -> Result<Option<BookingRecord>, StorageError> {
    find_one(store, "b.id", id).await
}

/// The bookings with these ids, with items, in no particular order (unknown ids are left out).
pub async fn find_by_ids(
    store: &Store,
    ids: &[BookingId],
) -> Result<Vec<BookingRecord>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!("SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id IN ({marks})");
    let rows: Vec<BookingRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql);
        for id in ids {
            query = query.bind(id.as_str());
        }
        query.fetch_all(pool).await
    })?;
    let bookings = rows
        .into_iter()
        .map(BookingRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    with_items(store, bookings).await
}

/// Reads a booking and its items inside a transaction, as the transaction sees it (no lock).
pub async fn read_in(
    tx: &mut WriteTx,
    id: &BookingId,
) -> Result<Option<BookingRecord>, StorageError> {
    let sql = format!("SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = ?");
    let row: Option<BookingRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(conn).await)?;
    let Some(booking) = row.map(BookingRecord::try_from).transpose()? else {
        return Ok(None);
    };
    let items: Vec<ItemRow> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT booking_id, unit_code, quantity, unit_price FROM booking_items WHERE booking_id = ? ORDER BY unit_code")
        .bind(id.as_str()).fetch_all(conn).await)?;
    Ok(attach_items(vec![booking], items)?.pop())
}

/// Locks a booking row (MySQL) and reads it, without items. Call after locking its departure.
pub async fn lock(tx: &mut WriteTx, id: &BookingId) -> Result<Option<BookingRecord>, StorageError> {
    let sqlite = format!("SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = ?");
    let mysql = format!("{sqlite} FOR UPDATE");
    let sql = if tx.is_sqlite() { sqlite } else { mysql };
    let row: Option<BookingRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(conn).await)?;
    row.map(BookingRecord::try_from).transpose()
}

/// Moves a locked booking from `from` to `to`; the domain state machine chose `to`.
pub async fn set_status(
    tx: &mut WriteTx,
    id: &BookingId,
    from: BookingStatus,
    to: BookingStatus,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let result = on_tx!(tx, conn => sqlx::query(
        "UPDATE bookings SET status = ?, updated_at = ? WHERE id = ? AND status = ?")
        .bind(to.as_str()).bind(at(now)).bind(id.as_str()).bind(from.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    if result != 1 {
        return Err(StorageError::Corrupt(format!(
            "booking {id} changed while locked"
        )));
    }
    tx.count(to.as_str(), 1);
    Ok(())
}

/// Points a locked booking at another departure (a reschedule); the caller moved the seats
/// between the two departures, both locked, in the same transaction.
pub async fn set_departure(
    tx: &mut WriteTx,
    id: &BookingId,
    from: &DepartureId,
    to: &DepartureId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let result = on_tx!(tx, conn => sqlx::query(
        "UPDATE bookings SET departure_id = ?, updated_at = ? WHERE id = ? AND departure_id = ?")
        .bind(to.as_str()).bind(at(now)).bind(id.as_str()).bind(from.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    if result != 1 {
        return Err(StorageError::Corrupt(format!(
            "booking {id} changed while locked"
        )));
    }
    Ok(())
}

/// Moves a locked hold's expiry (an extension).
pub async fn set_expiry(
    tx: &mut WriteTx,
    id: &BookingId,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE bookings SET expires_at = ?, updated_at = ? WHERE id = ? AND status = ?")
        .bind(at(expires_at)).bind(at(now)).bind(id.as_str()).bind(BookingStatus::Held.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets a locked booking's traveller name and email (a reseller's booking learns them when it
/// is confirmed or changed); marks it changed.
pub async fn set_customer(
    tx: &mut WriteTx,
    id: &BookingId,
    customer: &Customer,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE bookings SET customer_name = ?, customer_email = ?, customer_phone = ?, \
         customer_language = ?, updated_at = ? WHERE id = ?")
        .bind(&customer.name).bind(&customer.email).bind(customer.phone.as_deref())
        .bind(customer.language.code()).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Gives a locked booking a new departure (possibly of another tour), new items and their
/// total; the caller moved the seats between the departures, both locked, in the same
/// transaction.
pub async fn rearrange(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let id = booking.id.as_str();
    on_tx!(tx, conn => sqlx::query(
        "UPDATE bookings SET departure_id = ?, tour_id = ?, seats = ?, total = ?, updated_at = ? WHERE id = ?")
        .bind(booking.departure_id.as_str()).bind(booking.tour_id.as_str())
        .bind(i64::from(booking.seats)).bind(booking.total).bind(at(now)).bind(id)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, conn => sqlx::query("DELETE FROM booking_items WHERE booking_id = ?")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    let placeholders = vec!["(?, ?, ?, ?)"; booking.items.len()].join(", ");
    let sql = format!("INSERT INTO booking_items (booking_id, unit_code, quantity, unit_price) VALUES {placeholders}");
    on_tx!(tx, conn => {
        let mut query = sqlx::query(&sql);
        for item in &booking.items {
            query = query.bind(id).bind(&item.unit).bind(i64::from(item.quantity)).bind(item.unit_price);
        }
        query.execute(conn).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Gives a locked booking a new access token (its hash): the old one was never delivered.
pub async fn set_access_token_hash(
    tx: &mut WriteTx,
    id: &BookingId,
    hash: &str,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE bookings SET access_token_hash = ? WHERE id = ?")
        .bind(hash).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records why a locked booking was cancelled.
pub async fn set_cancel_reason(
    tx: &mut WriteTx,
    id: &BookingId,
    reason: &str,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE bookings SET cancel_reason = ? WHERE id = ?")
        .bind(reason).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SeatsRow {
    id: String,
    operator_id: String,
    reference: String,
    seats: i64,
}

fn released(rows: Vec<SeatsRow>) -> Result<Vec<ReleasedSeats>, StorageError> {
    rows.into_iter()
        .map(|row| {
            let seats = u32::try_from(row.seats).map_err(|_| {
                StorageError::Corrupt(format!("booking {} seats out of range", row.reference))
            })?;
            Ok(ReleasedSeats {
                booking_id: BookingId::from_stored(row.id),
                operator_id: OperatorId::from_stored(row.operator_id),
                reference: BookingRef::from_stored(row.reference),
                seats,
            })
        })
        .collect()
}

/// The statuses a bulk `event` selects (as SQL) and the status it moves them to, from the
/// domain's state machine: bulk changes follow `BookingStatus::apply` like single ones.
fn bulk(event: BookingEvent) -> Result<(String, BookingStatus), StorageError> {
    let (from, to) = BookingStatus::bulk(event)
        .ok_or_else(|| StorageError::Corrupt(format!("no bulk change for {event:?}")))?;
    Ok((sql_list(&from), to))
}

/// SQL condition on the bookings aliased `b`: the booking occupies seats and is not a lapsed
/// hold. Binds one `?`, "now".
pub(super) fn live_condition() -> String {
    let settled: Vec<BookingStatus> = BookingStatus::occupying()
        .into_iter()
        .filter(|status| *status != BookingStatus::Held)
        .collect();
    format!(
        "(b.status IN ({}) OR (b.status = '{}' AND b.expires_at > ?))",
        sql_list(&settled),
        BookingStatus::Held.as_str()
    )
}

/// Moves every booking of a locked departure that `event` applies to (and `extra`, an SQL
/// condition binding one `?` to `extra_bind`, selects) to the status `event` leads to; returns
/// what each gave back. The rows read are the rows changed (updated by id, and counted), so the
/// seats returned match them. The caller moves the departure's counter in the same transaction.
async fn change_all(
    tx: &mut WriteTx,
    departure: &DepartureId,
    event: BookingEvent,
    extra: Option<(&str, DateTime<Utc>)>,
    cancel_reason: Option<CancelReason>,
    now: DateTime<Utc>,
) -> Result<Vec<ReleasedSeats>, StorageError> {
    let (from, to) = bulk(event)?;
    let condition = match extra {
        Some((sql, _)) => format!("departure_id = ? AND status IN ({from}) AND {sql}"),
        None => format!("departure_id = ? AND status IN ({from})"),
    };
    // A plain read, not a locking one: the caller holds the departure's lock, which every change
    // of these bookings' status takes first, so what it reads stays true until the commit. A
    // locking read would also wait on holds being written for this departure (uncommitted; on
    // MySQL they take their seats last), which wait for that same lock: a deadlock.
    let select =
        format!("SELECT id, operator_id, reference, seats FROM bookings WHERE {condition}");
    let bound = extra.map(|(_, value)| at(value));
    let rows: Vec<SeatsRow> = on_tx!(tx, conn => {
        let query = sqlx::query_as(&select).bind(departure.as_str());
        match &bound { Some(value) => query.bind(value), None => query }.fetch_all(conn).await
    })?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // By primary key, so only these rows are locked.
    let reason = cancel_reason.map(CancelReason::as_str);
    let mut result = 0;
    for chunk in rows.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let update = format!(
            "UPDATE bookings SET status = ?, cancel_reason = COALESCE(?, cancel_reason), updated_at = ? \
             WHERE id IN ({marks}) AND status IN ({from})"
        );
        result += on_tx!(tx, conn => {
            let mut query = sqlx::query(&update).bind(to.as_str()).bind(reason).bind(at(now));
            for row in chunk {
                query = query.bind(&row.id);
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    if result != rows.len() as u64 {
        return Err(StorageError::Corrupt(format!(
            "bookings of {departure} changed while locked"
        )));
    }
    tx.count(to.as_str(), result);
    released(rows)
}

/// Marks every lapsed hold of a locked departure `expired` and returns what each gave back.
/// The caller subtracts the seats from the departure in the same transaction.
pub async fn release_lapsed_holds(
    tx: &mut WriteTx,
    departure: &DepartureId,
    now: DateTime<Utc>,
) -> Result<Vec<ReleasedSeats>, StorageError> {
    let lapsed = Some(("expires_at <= ?", now));
    change_all(tx, departure, BookingEvent::Expire, lapsed, None, now).await
}

/// Cancels every booking of a locked departure that can be cancelled (the departure is
/// cancelled).
pub async fn cancel_live(
    tx: &mut WriteTx,
    departure: &DepartureId,
    reason: CancelReason,
    now: DateTime<Utc>,
) -> Result<Vec<ReleasedSeats>, StorageError> {
    change_all(tx, departure, BookingEvent::Cancel, None, Some(reason), now).await
}

/// Departures that have holds past their expiry, for the expiry worker.
pub async fn departures_with_lapsed_holds(
    store: &Store,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DepartureId>, StorageError> {
    let ids: Vec<String> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT DISTINCT departure_id FROM bookings WHERE status = 'held' AND expires_at <= ? LIMIT ?")
        .bind(at(now)).bind(limit).fetch_all(pool).await)?;
    Ok(ids.into_iter().map(DepartureId::from_stored).collect())
}

/// The references of some of an operator's bookings, by id (for lists that hold booking ids).
pub async fn references_of(
    store: &Store,
    operator: &OperatorId,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, String>, StorageError> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let placeholders = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "SELECT id, reference FROM bookings WHERE operator_id = ? AND id IN ({placeholders})"
    );
    let rows: Vec<(String, String)> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql).bind(operator.as_str());
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await
    })?;
    Ok(rows.into_iter().collect())
}

/// The confirmed and checked-in bookings of a departure, and their seats: who counts toward its
/// minimum of participants.
pub async fn booked_on(
    tx: &mut WriteTx,
    departure: &DepartureId,
) -> Result<Vec<(BookingId, u32)>, StorageError> {
    let sql = format!(
        "SELECT id, seats FROM bookings WHERE departure_id = ? AND status IN ({}) ORDER BY id",
        sql_list(&[BookingStatus::Confirmed, BookingStatus::CheckedIn])
    );
    let rows: Vec<(String, i64)> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(departure.as_str()).fetch_all(conn).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, seats)| {
            (
                BookingId::from_stored(id),
                u32::try_from(seats).unwrap_or(0),
            )
        })
        .collect())
}
