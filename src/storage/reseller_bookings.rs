//! Reseller bookings (`reseller_bookings`): what a booking sold through OCTO carries beyond the
//! booking row, keyed by the booking.

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{BookingId, ResellerId, TourId};
use crate::domain::reseller::{Contact, Resale, ResaleUnit};

#[derive(sqlx::FromRow)]
struct ResaleRow {
    booking_id: String,
    reseller_id: String,
    uuid: String,
    reseller_reference: Option<String>,
    contact: String,
    notes: Option<String>,
    unit_items: String,
    confirmed_at: Option<DateTime<Utc>>,
    cancel_refund: Option<String>,
    cancel_note: Option<String>,
}

impl TryFrom<ResaleRow> for (BookingId, Resale) {
    type Error = StorageError;

    fn try_from(row: ResaleRow) -> Result<Self, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("reseller booking {what}"));
        let contact: Contact =
            serde_json::from_str(&row.contact).map_err(|_| corrupt("contact"))?;
        let unit_items: Vec<ResaleUnit> =
            serde_json::from_str(&row.unit_items).map_err(|_| corrupt("unit items"))?;
        Ok((
            BookingId::parse(&row.booking_id).ok_or_else(|| corrupt(&row.booking_id))?,
            Resale {
                reseller_id: ResellerId::parse(&row.reseller_id)
                    .ok_or_else(|| corrupt(&row.reseller_id))?,
                uuid: row.uuid,
                reseller_reference: row.reseller_reference,
                contact,
                notes: row.notes,
                unit_items,
                confirmed_at: row.confirmed_at,
                cancel_refund: row.cancel_refund,
                cancel_note: row.cancel_note,
            },
        ))
    }
}

const COLUMNS: &str = "rb.booking_id, rb.reseller_id, rb.uuid, rb.reseller_reference, rb.contact, \
     rb.notes, rb.unit_items, rb.confirmed_at, rb.cancel_refund, rb.cancel_note";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Records that `booking` was sold by `resale.reseller_id`. A second booking under the same
/// uuid of one reseller is [`StorageError::Duplicate`].
pub async fn insert(
    tx: &mut WriteTx,
    booking: &BookingId,
    resale: &Resale,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO reseller_bookings (booking_id, reseller_id, uuid, reseller_reference, contact, \
         notes, unit_items, confirmed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(booking.as_str()).bind(resale.reseller_id.as_str()).bind(&resale.uuid)
        .bind(&resale.reseller_reference).bind(json(&resale.contact)).bind(&resale.notes)
        .bind(json(&resale.unit_items)).bind(resale.confirmed_at.map(at)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Writes what can change of a reseller's booking (its uuid and reseller never do).
pub async fn update(
    tx: &mut WriteTx,
    booking: &BookingId,
    resale: &Resale,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE reseller_bookings SET reseller_reference = ?, contact = ?, notes = ?, unit_items = ?, \
         confirmed_at = ?, cancel_refund = ?, cancel_note = ? WHERE booking_id = ?")
        .bind(&resale.reseller_reference).bind(json(&resale.contact)).bind(&resale.notes)
        .bind(json(&resale.unit_items)).bind(resale.confirmed_at.map(at))
        .bind(&resale.cancel_refund).bind(&resale.cancel_note).bind(booking.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The booking a reseller made under `uuid`.
pub async fn find(
    store: &Store,
    reseller: &ResellerId,
    uuid: &str,
) -> Result<Option<(BookingId, Resale)>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM reseller_bookings rb WHERE rb.reseller_id = ? AND rb.uuid = ?"
    );
    let row: Option<ResaleRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(reseller.as_str()).bind(uuid).fetch_optional(pool).await)?;
    row.map(TryInto::try_into).transpose()
}

/// What the reseller sent with this booking, if a reseller sold it.
pub async fn find_by_booking(
    store: &Store,
    booking: &BookingId,
) -> Result<Option<(BookingId, Resale)>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM reseller_bookings rb WHERE rb.booking_id = ?");
    let row: Option<ResaleRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(booking.as_str()).fetch_optional(pool).await)?;
    row.map(TryInto::try_into).transpose()
}

/// The name of the reseller that sold this booking, if one did.
pub async fn seller_name(
    store: &Store,
    booking: &BookingId,
) -> Result<Option<String>, StorageError> {
    let name: Option<(String,)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT r.name FROM reseller_bookings rb JOIN resellers r ON r.id = rb.reseller_id WHERE rb.booking_id = ?")
        .bind(booking.as_str()).fetch_optional(pool).await)?;
    Ok(name.map(|(name,)| name))
}

/// Whether a reseller sold this booking (on account), read in the transaction.
pub async fn sold_on_account(tx: &mut WriteTx, booking: &BookingId) -> Result<bool, StorageError> {
    let found: Option<(String,)> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT booking_id FROM reseller_bookings WHERE booking_id = ?")
        .bind(booking.as_str()).fetch_optional(conn).await)?;
    Ok(found.is_some())
}

/// What a reseller lists its bookings by; every filter given must match.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub reseller_reference: Option<&'a str>,
    pub supplier_reference: Option<&'a str>,
    pub tour: Option<&'a TourId>,
    /// Departures starting in `[from, to)` (UTC), the caller's translation of local dates.
    pub starts: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The ids of a reseller's bookings matching `filter`, newest first, at most `limit`.
pub async fn list(
    store: &Store,
    reseller: &ResellerId,
    filter: &Filter<'_>,
    limit: u32,
) -> Result<Vec<(BookingId, Resale)>, StorageError> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM reseller_bookings rb JOIN bookings b ON b.id = rb.booking_id \
         JOIN departures d ON d.id = b.departure_id WHERE rb.reseller_id = ?"
    );
    if filter.reseller_reference.is_some() {
        sql.push_str(" AND rb.reseller_reference = ?");
    }
    if filter.supplier_reference.is_some() {
        sql.push_str(" AND b.reference = ?");
    }
    if filter.tour.is_some() {
        sql.push_str(" AND b.tour_id = ?");
    }
    if filter.starts.is_some() {
        sql.push_str(" AND d.starts_at >= ? AND d.starts_at < ?");
    }
    sql.push_str(" ORDER BY rb.booking_id DESC LIMIT ?");
    let rows: Vec<ResaleRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql).bind(reseller.as_str());
        if let Some(reference) = filter.reseller_reference {
            query = query.bind(reference);
        }
        if let Some(reference) = filter.supplier_reference {
            query = query.bind(reference);
        }
        if let Some(tour) = filter.tour {
            query = query.bind(tour.as_str());
        }
        if let Some((from, to)) = filter.starts {
            query = query.bind(at(from)).bind(at(to));
        }
        query.bind(i64::from(limit)).fetch_all(pool).await
    })?;
    rows.into_iter().map(TryInto::try_into).collect()
}
