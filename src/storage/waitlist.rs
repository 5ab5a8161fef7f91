//! The waiting lines of sold-out departures (`waitlist_entries`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{BookingId, BookingRef, DepartureId, OperatorId, WaitlistEntryId};
use crate::domain::lang::Lang;
use crate::domain::records::Customer;
use crate::domain::waitlist::{Entry, EntryStatus, Sales, Waiting};

const COLUMNS: &str = "id, departure_id, customer_name, customer_email, customer_phone, \
    customer_language, items, seats, status, booking_id, joined_at";

/// The line's order: who joined first, ties (the same millisecond) by id.
const LINE_ORDER: &str = "joined_at, id";

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: String,
    departure_id: String,
    customer_name: String,
    customer_email: String,
    customer_phone: Option<String>,
    customer_language: String,
    items: String,
    seats: i64,
    status: String,
    booking_id: Option<String>,
    joined_at: DateTime<Utc>,
}

impl TryFrom<EntryRow> for Entry {
    type Error = StorageError;

    fn try_from(row: EntryRow) -> Result<Self, StorageError> {
        let bad = |why: &str| StorageError::Corrupt(format!("waitlist entry {}: {why}", row.id));
        Ok(Entry {
            items: serde_json::from_str(&row.items).map_err(|_| bad("items are not JSON"))?,
            seats: u32::try_from(row.seats).map_err(|_| bad("seats out of range"))?,
            status: EntryStatus::parse(&row.status).ok_or_else(|| bad("unknown status"))?,
            customer: Customer {
                language: Lang::parse(&row.customer_language)
                    .ok_or_else(|| bad("unknown language"))?,
                name: row.customer_name,
                email: row.customer_email,
                phone: row.customer_phone,
            },
            id: WaitlistEntryId::from_stored(row.id),
            departure_id: DepartureId::from_stored(row.departure_id),
            booking: row.booking_id.map(BookingId::from_stored),
            joined_at: row.joined_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct WaitingRow {
    id: String,
    departure_id: String,
    seats: i64,
}

impl WaitingRow {
    fn waiting(self) -> (DepartureId, Waiting) {
        (
            DepartureId::from_stored(self.departure_id),
            Waiting {
                id: WaitlistEntryId::from_stored(self.id),
                seats: u32::try_from(self.seats).unwrap_or(u32::MAX),
            },
        )
    }
}

pub async fn insert(
    tx: &mut WriteTx,
    operator: &OperatorId,
    entry: &Entry,
) -> Result<(), StorageError> {
    let items = serde_json::to_string(&entry.items)
        .map_err(|error| StorageError::Corrupt(format!("waitlist items: {error}")))?;
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO waitlist_entries (id, operator_id, departure_id, customer_name, customer_email, \
         customer_phone, customer_language, items, seats, status, booking_id, joined_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)")
        .bind(entry.id.as_str()).bind(operator.as_str()).bind(entry.departure_id.as_str())
        .bind(&entry.customer.name).bind(&entry.customer.email).bind(entry.customer.phone.as_deref())
        .bind(entry.customer.language.code()).bind(&items).bind(i64::from(entry.seats))
        .bind(entry.status.as_str()).bind(at(entry.joined_at)).bind(at(entry.joined_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The departure's waiting line in join order, read in a transaction that holds the
/// departure's lock (every change to the line's seats happens under it).
pub async fn waiting_locked(
    tx: &mut WriteTx,
    departure: &DepartureId,
) -> Result<Vec<Waiting>, StorageError> {
    let sql = format!(
        "SELECT id, departure_id, seats FROM waitlist_entries \
         WHERE departure_id = ? AND status = 'waiting' ORDER BY {LINE_ORDER}"
    );
    let rows: Vec<WaitingRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(departure.as_str()).fetch_all(conn).await)?;
    Ok(rows.into_iter().map(|row| row.waiting().1).collect())
}

/// The waiting lines of `departures` (those with none are absent), each in join order: what
/// availability shows is owed to them.
pub async fn waiting_of(
    store: &Store,
    departures: &[&DepartureId],
) -> Result<HashMap<DepartureId, Vec<Waiting>>, StorageError> {
    let mut lines: HashMap<DepartureId, Vec<Waiting>> = HashMap::new();
    for chunk in departures.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT id, departure_id, seats FROM waitlist_entries \
             WHERE status = 'waiting' AND departure_id IN ({placeholders}) ORDER BY {LINE_ORDER}"
        );
        let rows: Vec<WaitingRow> = on_pool!(store, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            query.fetch_all(pool).await
        })?;
        for row in rows {
            let (departure, waiting) = row.waiting();
            lines.entry(departure).or_default().push(waiting);
        }
    }
    Ok(lines)
}

/// How many are waiting on the departure, and whether one of them has this email or phone
/// (checked in the transaction that adds to the line, under the departure's lock).
pub async fn count_locked(
    tx: &mut WriteTx,
    departure: &DepartureId,
    email: &str,
    phone: Option<&str>,
) -> Result<(usize, bool), StorageError> {
    let (count, same): (i64, i64) = on_tx!(tx, conn => sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN (customer_email <> '' AND LOWER(customer_email) = LOWER(?)) \
           OR (customer_phone IS NOT NULL AND customer_phone = ?) THEN 1 ELSE 0 END), 0) AS SIGNED) \
         FROM waitlist_entries WHERE departure_id = ? AND status = 'waiting'")
        .bind(email).bind(phone).bind(departure.as_str()).fetch_one(conn).await)?;
    Ok((usize::try_from(count).unwrap_or(usize::MAX), same > 0))
}

/// The hold an offered entry got, as it stands now.
pub struct OfferedHold {
    pub reference: BookingRef,
    /// As stored: `held`, `confirmed`, `expired`, …
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    entry: EntryRow,
    reference: Option<String>,
    booking_status: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

/// A departure's entries, every status, in join order, each with its hold (the operator's view).
pub async fn of_departure(
    store: &Store,
    operator: &OperatorId,
    departure: &DepartureId,
) -> Result<Vec<(Entry, Option<OfferedHold>)>, StorageError> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("w.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, b.reference, b.status AS booking_status, b.expires_at \
         FROM waitlist_entries w LEFT JOIN bookings b ON b.id = w.booking_id \
         WHERE w.departure_id = ? AND w.operator_id = ? ORDER BY w.joined_at, w.id"
    );
    let rows: Vec<ListedRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(departure.as_str()).bind(operator.as_str()).fetch_all(pool).await)?;
    rows.into_iter()
        .map(|row| {
            let hold = match (row.reference, row.booking_status) {
                (Some(reference), Some(status)) => Some(OfferedHold {
                    reference: BookingRef::from_stored(reference),
                    status,
                    expires_at: row.expires_at,
                }),
                _ => None,
            };
            Ok((Entry::try_from(row.entry)?, hold))
        })
        .collect()
}

/// One entry.
pub async fn get(store: &Store, id: &WaitlistEntryId) -> Result<Option<Entry>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM waitlist_entries WHERE id = ?");
    let row: Option<EntryRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(pool).await)?;
    row.map(Entry::try_from).transpose()
}

/// How many wait ahead of this entry in its departure's line (those who joined before it, ties
/// by id); 0 for the first, and for an entry that does not exist.
pub async fn waiting_ahead_of(store: &Store, id: &WaitlistEntryId) -> Result<usize, StorageError> {
    let count: i64 = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM waitlist_entries w JOIN waitlist_entries me \
           ON me.id = ? AND w.departure_id = me.departure_id \
         WHERE w.status = 'waiting' \
           AND (w.joined_at < me.joined_at OR (w.joined_at = me.joined_at AND w.id < me.id))")
        .bind(id.as_str()).fetch_one(pool).await)?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// Marks a waiting entry offered with its hold; `false` when it is no longer waiting (the
/// operator removed it meanwhile).
pub async fn set_offered(
    tx: &mut WriteTx,
    id: &WaitlistEntryId,
    booking: &BookingId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE waitlist_entries SET status = 'offered', booking_id = ?, updated_at = ? \
         WHERE id = ? AND status = 'waiting'")
        .bind(booking.as_str()).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Takes a waiting entry of the operator's out of the line; `false` when there is none waiting.
pub async fn remove(
    tx: &mut WriteTx,
    operator: &OperatorId,
    departure: &DepartureId,
    id: &WaitlistEntryId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE waitlist_entries SET status = 'removed', updated_at = ? \
         WHERE id = ? AND operator_id = ? AND departure_id = ? AND status = 'waiting'")
        .bind(at(now)).bind(id.as_str()).bind(operator.as_str()).bind(departure.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

#[derive(sqlx::FromRow)]
struct WaitedForRow {
    id: String,
    starts_at: DateTime<Utc>,
    status: String,
    cutoff_minutes: i64,
    archived: i64,
}

/// Departures (at most `limit`, soonest first: by start, then id) whose line has someone
/// waiting, each with the facts of its sales: where freed seats may be owed, or where the line
/// is over. `after` is the last departure of the previous batch (its start and id): a pass
/// reads batch after batch until one comes back short, so no departure is left out however
/// many lines wait.
pub async fn departures_with_waiting(
    store: &Store,
    after: Option<&(DateTime<Utc>, DepartureId)>,
    limit: usize,
) -> Result<Vec<(DepartureId, Sales)>, StorageError> {
    // From the waiting entries (their status index), not from every departure.
    let mut sql = String::from(
        "SELECT d.id, d.starts_at, d.status, t.cutoff_minutes, \
           CAST(CASE WHEN t.archived_at IS NULL THEN 0 ELSE 1 END AS SIGNED) AS archived \
         FROM departures d JOIN tours t ON t.id = d.tour_id \
         WHERE d.id IN (SELECT w.departure_id FROM waitlist_entries w WHERE w.status = 'waiting')",
    );
    if after.is_some() {
        sql.push_str(" AND (d.starts_at > ? OR (d.starts_at = ? AND d.id > ?))");
    }
    sql.push_str(" ORDER BY d.starts_at, d.id LIMIT ?");
    let rows: Vec<WaitedForRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql);
        if let Some((starts_at, id)) = after {
            query = query.bind(at(*starts_at)).bind(at(*starts_at)).bind(id.as_str());
        }
        query.bind(limit as i64).fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let sales = Sales {
                starts_at: row.starts_at,
                cancelled: row.status != "scheduled",
                cutoff_minutes: u32::try_from(row.cutoff_minutes).unwrap_or(0),
                archived: row.archived != 0,
            };
            (DepartureId::from_stored(row.id), sales)
        })
        .collect())
}

/// Ends a waiting entry's wait because its departure's sales closed; `false` when it no longer
/// waits (offered, removed, or closed by another instance): the caller then tells nobody.
pub async fn close(
    tx: &mut WriteTx,
    id: &WaitlistEntryId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE waitlist_entries SET status = 'closed', updated_at = ? WHERE id = ? AND status = 'waiting'")
        .bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Offered entries whose hold is not on their departure, or not for their seats (`berth
/// check`): `(entry, why)`.
pub async fn offers_astray(store: &Store) -> Result<Vec<(String, String)>, StorageError> {
    let rows: Vec<AstrayRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT w.id, w.booking_id, b.departure_id, w.seats, b.seats AS held FROM waitlist_entries w \
         LEFT JOIN bookings b ON b.id = w.booking_id \
         WHERE w.status = 'offered' AND (b.id IS NULL OR b.departure_id <> w.departure_id \
           OR b.seats <> w.seats) ORDER BY w.id LIMIT 100")
        .fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let why = match (row.booking_id, row.departure_id, row.held) {
                (None, _, _) => "is offered without a hold".to_owned(),
                (Some(booking), None, _) => format!("names hold {booking}, which does not exist"),
                (Some(booking), Some(_), Some(held)) if held != row.seats => {
                    format!(
                        "wanted {} seats, but its hold {booking} has {held}",
                        row.seats
                    )
                }
                (Some(booking), Some(departure), _) => {
                    format!("its hold {booking} is on another departure ({departure})")
                }
            };
            (row.id, why)
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct AstrayRow {
    id: String,
    booking_id: Option<String>,
    departure_id: Option<String>,
    seats: i64,
    held: Option<i64>,
}

/// Deletes the entries of departures that started before `before` (at most `limit`): the
/// travelers' names and addresses are not kept once the line is of no use.
pub async fn purge_before(
    tx: &mut WriteTx,
    before: DateTime<Utc>,
    limit: usize,
) -> Result<u64, StorageError> {
    // MySQL cannot LIMIT a DELETE with a subquery on the same table; select the ids first.
    let ids: Vec<String> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT w.id FROM waitlist_entries w JOIN departures d ON d.id = w.departure_id \
         WHERE d.starts_at < ? ORDER BY w.id LIMIT ?")
        .bind(at(before)).bind(limit as i64).fetch_all(conn).await)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let placeholders = vec!["?"; ids.len()].join(", ");
    let sql = format!("DELETE FROM waitlist_entries WHERE id IN ({placeholders})");
    let deleted = on_tx!(tx, conn => {
        let mut query = sqlx::query(&sql);
        for id in &ids {
            query = query.bind(id.as_str());
        }
        query.execute(conn).await.map(|r| r.rows_affected())
    })?;
    Ok(deleted)
}

/// Puts an offered entry back in the line, in its place, when its hold was given up before the
/// traveler heard of it (the payment provider could not start the payment); `false` when it is
/// not offered with that hold.
pub async fn reopen(
    tx: &mut WriteTx,
    id: &WaitlistEntryId,
    booking: &BookingId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE waitlist_entries SET status = 'waiting', booking_id = NULL, updated_at = ? \
         WHERE id = ? AND status = 'offered' AND booking_id = ?")
        .bind(at(now)).bind(id.as_str()).bind(booking.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Takes an entry out of the line whoever's it is (berth itself: it can never be served).
pub async fn drop_waiting(
    tx: &mut WriteTx,
    id: &WaitlistEntryId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE waitlist_entries SET status = 'removed', updated_at = ? WHERE id = ? AND status = 'waiting'")
        .bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
