//! Promo codes (`promo_codes`) and what bookings redeemed of them (`promo_redemptions`).

use chrono::{DateTime, Utc};

use super::bookings::live_condition;
use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::booking::{sql_list, BookingStatus};
use crate::domain::ids::{BookingId, OperatorId, PromoCodeId, TourId};
use crate::domain::money::Currency;
use crate::domain::promo::{Discount, PromoCode, PromoRules};

const COLUMNS: &str = "id, code, percent_off, amount_off, currency, tour_id, valid_from, \
    valid_until, min_spend, max_redemptions, max_per_customer, active, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct PromoRow {
    id: String,
    code: String,
    percent_off: Option<i64>,
    amount_off: Option<i64>,
    currency: Option<String>,
    tour_id: Option<String>,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    min_spend: i64,
    max_redemptions: Option<i64>,
    max_per_customer: Option<i64>,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PromoRow> for PromoCode {
    type Error = StorageError;

    fn try_from(row: PromoRow) -> Result<Self, StorageError> {
        let bad = |why: &str| StorageError::Corrupt(format!("promo code {}: {why}", row.id));
        let currency = row
            .currency
            .as_deref()
            .map(|text| Currency::parse(text).map_err(|_| bad("unknown currency")))
            .transpose()?;
        let discount = match (row.percent_off, row.amount_off, currency) {
            (Some(percent), None, _) => Discount::Percent(
                u32::try_from(percent).map_err(|_| bad("percent_off out of range"))?,
            ),
            (None, Some(amount), Some(currency)) => Discount::Amount { amount, currency },
            _ => return Err(bad("no discount")),
        };
        let count = |n: Option<i64>| {
            n.map(u32::try_from)
                .transpose()
                .map_err(|_| bad("limit out of range"))
        };
        Ok(PromoCode {
            rules: PromoRules {
                code: row.code,
                discount,
                currency,
                tour_id: row.tour_id.map(TourId::from_stored),
                valid_from: row.valid_from,
                valid_until: row.valid_until,
                min_spend: row.min_spend,
                max_redemptions: count(row.max_redemptions)?,
                max_per_customer: count(row.max_per_customer)?,
                active: row.active,
            },
            id: PromoCodeId::from_stored(row.id),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn discount_columns(rules: &PromoRules) -> (Option<i64>, Option<i64>, Option<&str>) {
    let currency = rules.currency.as_ref().map(Currency::as_str);
    match &rules.discount {
        Discount::Percent(percent) => (Some(i64::from(*percent)), None, currency),
        Discount::Amount { amount, .. } => (None, Some(*amount), currency),
    }
}

/// Stores a new code; `Duplicate` when the operator already has one spelled the same.
pub async fn insert(
    tx: &mut WriteTx,
    operator: &OperatorId,
    code: &PromoCode,
) -> Result<(), StorageError> {
    let rules = &code.rules;
    let (percent, amount, currency) = discount_columns(rules);
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO promo_codes (id, operator_id, code, percent_off, amount_off, currency, tour_id, \
         valid_from, valid_until, min_spend, max_redemptions, max_per_customer, active, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(code.id.as_str()).bind(operator.as_str()).bind(&rules.code)
        .bind(percent).bind(amount).bind(currency)
        .bind(rules.tour_id.as_ref().map(TourId::as_str))
        .bind(rules.valid_from.map(at)).bind(rules.valid_until.map(at))
        .bind(rules.min_spend)
        .bind(rules.max_redemptions.map(i64::from)).bind(rules.max_per_customer.map(i64::from))
        .bind(rules.active).bind(at(code.created_at)).bind(at(code.updated_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Writes a locked code's changeable rules (the code's text and discount never change: bookings
/// name them; the currency may, except an amount off's, which `PromoRules::changed` refuses).
pub async fn update(tx: &mut WriteTx, code: &PromoCode) -> Result<(), StorageError> {
    let rules = &code.rules;
    let (_, _, currency) = discount_columns(rules);
    on_tx!(tx, conn => sqlx::query(
        "UPDATE promo_codes SET currency = ?, valid_from = ?, valid_until = ?, min_spend = ?, \
         max_redemptions = ?, max_per_customer = ?, active = ?, updated_at = ? WHERE id = ?")
        .bind(currency)
        .bind(rules.valid_from.map(at)).bind(rules.valid_until.map(at)).bind(rules.min_spend)
        .bind(rules.max_redemptions.map(i64::from)).bind(rules.max_per_customer.map(i64::from))
        .bind(rules.active).bind(at(code.updated_at)).bind(code.id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One of the operator's codes by id.
pub async fn get(
    store: &Store,
    operator: &OperatorId,
    id: &PromoCodeId,
) -> Result<Option<PromoCode>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM promo_codes WHERE id = ? AND operator_id = ?");
    let row: Option<PromoRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).bind(operator.as_str()).fetch_optional(pool).await)?;
    row.map(PromoCode::try_from).transpose()
}

/// The operator's code spelled `code` (normalized).
pub async fn find(
    store: &Store,
    operator: &OperatorId,
    code: &str,
) -> Result<Option<PromoCode>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM promo_codes WHERE operator_id = ? AND code = ?");
    let row: Option<PromoRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).bind(code).fetch_optional(pool).await)?;
    row.map(PromoCode::try_from).transpose()
}

/// Locks a code (MySQL: `FOR UPDATE`; SQLite's one writer already excludes the others) and
/// reads it as it is now. Every redemption of the code is counted under this lock.
pub async fn lock(tx: &mut WriteTx, id: &PromoCodeId) -> Result<Option<PromoCode>, StorageError> {
    let select = format!("SELECT {COLUMNS} FROM promo_codes WHERE id = ?");
    let sql = tx.locking(select);
    let row: Option<PromoRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(conn).await)?;
    row.map(PromoCode::try_from).transpose()
}

/// The operator's codes, newest first, each with its live redemptions.
pub async fn list(
    store: &Store,
    operator: &OperatorId,
    now: DateTime<Utc>,
) -> Result<Vec<(PromoCode, u32)>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM promo_codes WHERE operator_id = ? ORDER BY created_at DESC, id DESC LIMIT 500"
    );
    let rows: Vec<PromoRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).fetch_all(pool).await)?;
    // Every code's live redemptions in one query, not one per code.
    let sql = format!(
        "SELECT r.code_id, COUNT(*) FROM promo_redemptions r JOIN bookings b ON b.id = r.booking_id \
         WHERE r.operator_id = ? AND r.released_at IS NULL AND {} GROUP BY r.code_id",
        live_condition()
    );
    let counts: Vec<(String, i64)> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).bind(at(now)).fetch_all(pool).await)?;
    let counts: std::collections::HashMap<String, i64> = counts.into_iter().collect();
    rows.into_iter()
        .map(|row| {
            let code = PromoCode::try_from(row)?;
            let live = counts.get(code.id.as_str()).copied().unwrap_or(0);
            Ok((code, u32::try_from(live).unwrap_or(u32::MAX)))
        })
        .collect()
}

/// Redemptions of a code whose booking still holds seats (a lapsed hold no longer counts,
/// released or not), read outside any transaction.
pub async fn live_redemptions(
    store: &Store,
    id: &PromoCodeId,
    now: DateTime<Utc>,
) -> Result<u32, StorageError> {
    let sql = format!(
        "SELECT COUNT(*) FROM promo_redemptions r JOIN bookings b ON b.id = r.booking_id \
         WHERE r.code_id = ? AND r.released_at IS NULL AND {}",
        live_condition()
    );
    let n: i64 = on_pool!(store, pool => sqlx::query_scalar(&sql)
        .bind(id.as_str()).bind(at(now)).fetch_one(pool).await)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The live redemptions of a locked code: in all, and those redeemed with `email` (the email
/// recorded with each redemption, not its booking's email now, which may have changed since;
/// `""`: the second is 0).
pub async fn live_counts(
    tx: &mut WriteTx,
    id: &PromoCodeId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(u32, u32), StorageError> {
    // One round trip: it runs while the code's lock is held.
    let sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN ? <> '' AND r.customer_email = LOWER(?) \
         THEN 1 ELSE 0 END), 0) AS SIGNED) FROM promo_redemptions r JOIN bookings b ON b.id = r.booking_id \
         WHERE r.code_id = ? AND r.released_at IS NULL AND {}",
        live_condition()
    );
    let (total, own): (i64, i64) = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(email).bind(email).bind(id.as_str()).bind(at(now)).fetch_one(conn).await)?;
    let clamp = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok((clamp(total), clamp(own)))
}

/// Writes the locked code's row. On a single server the lock already orders redemptions; on
/// Galera the lock is local to one node and certification only sees rows written, so a
/// redemption racing one on another node then fails to certify (error 1213) and is retried.
pub async fn touch(tx: &mut WriteTx, id: &PromoCodeId) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE promo_codes SET redemption_writes = redemption_writes + 1 WHERE id = ?")
        .bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A booking's redemption of a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption<'a> {
    pub booking: &'a BookingId,
    pub code: &'a PromoCodeId,
    pub operator: &'a OperatorId,
    /// The traveler email it was made with; stored lower-cased (by the database's `LOWER`, as
    /// [`live_counts`] compares it), and counted for the code's limit per traveler.
    pub email: &'a str,
    pub discount: i64,
}

/// Records that a booking redeemed the locked code.
pub async fn redeem(
    tx: &mut WriteTx,
    redemption: &Redemption<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let r = redemption;
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO promo_redemptions (booking_id, code_id, operator_id, customer_email, discount, redeemed_at) \
         VALUES (?, ?, ?, LOWER(?), ?, ?)")
        .bind(r.booking.as_str()).bind(r.code.as_str()).bind(r.operator.as_str())
        .bind(r.email).bind(r.discount).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The code a booking redeemed and the email it redeemed it with, whether or not that
/// redemption was released since.
pub async fn redeemed_by(
    tx: &mut WriteTx,
    booking: &BookingId,
) -> Result<Option<(PromoCodeId, String)>, StorageError> {
    let row: Option<(String, String)> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT code_id, customer_email FROM promo_redemptions WHERE booking_id = ?")
        .bind(booking.as_str()).fetch_optional(conn).await)?;
    Ok(row.map(|(id, email)| (PromoCodeId::from_stored(id), email)))
}

/// Releases the redemptions of bookings that stopped holding seats; returns how many were live.
/// Needs no lock on the codes: a released row simply stops being counted.
pub async fn release(
    tx: &mut WriteTx,
    bookings: &[BookingId],
    now: DateTime<Utc>,
) -> Result<u64, StorageError> {
    let mut released = 0;
    for chunk in bookings.chunks(200) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "UPDATE promo_redemptions SET released_at = ? \
             WHERE released_at IS NULL AND booking_id IN ({placeholders})"
        );
        released += on_tx!(tx, conn => {
            let mut query = sqlx::query(&sql).bind(at(now));
            for booking in chunk {
                query = query.bind(booking.as_str());
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(released)
}

/// Counts a released redemption again (a late payment took the booking's seats back), under
/// the code's lock.
pub async fn reinstate(tx: &mut WriteTx, booking: &BookingId) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE promo_redemptions SET released_at = NULL WHERE booking_id = ?")
        .bind(booking.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// `berth check`: codes with more live redemptions than their maximum, as (code id, live, max).
pub async fn over_redeemed(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64, i64)>, StorageError> {
    let sql = format!(
        "SELECT c.id, COUNT(*), c.max_redemptions FROM promo_codes c \
         JOIN promo_redemptions r ON r.code_id = c.id AND r.released_at IS NULL \
         JOIN bookings b ON b.id = r.booking_id \
         WHERE c.max_redemptions IS NOT NULL AND {} \
         GROUP BY c.id, c.max_redemptions HAVING COUNT(*) > c.max_redemptions",
        live_condition()
    );
    Ok(on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(now)).fetch_all(pool).await)?)
}

/// `berth check`: bookings that no longer hold seats (expired or cancelled) whose redemption
/// was never released, as (booking id, status). Such a redemption is not counted (the booking
/// is not live), so it strands nothing, but it says a release path was missed.
pub async fn unreleased_of_dead_bookings(
    store: &Store,
) -> Result<Vec<(String, String)>, StorageError> {
    let seatless: Vec<BookingStatus> = BookingStatus::ALL
        .into_iter()
        .filter(|status| !status.occupies_seats())
        .collect();
    let sql = format!(
        "SELECT b.id, b.status FROM promo_redemptions r JOIN bookings b ON b.id = r.booking_id \
         WHERE r.released_at IS NULL AND b.status IN ({}) LIMIT 100",
        sql_list(&seatless)
    );
    Ok(on_pool!(store, pool => sqlx::query_as(&sql).fetch_all(pool).await)?)
}
