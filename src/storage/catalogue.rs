//! Operators, API tokens, tours and schedules.

use chrono::{DateTime, Utc};

use super::at;
use super::rows::{ScheduleRow, TourRow, SCHEDULE_COLUMNS, TOUR_COLUMNS};
use super::{on_pool, on_tx, rows, StorageError, Store, WriteTx};
use crate::domain::auth::Role;
use crate::domain::ids::{OperatorId, ScheduleId, TokenId, TourId};
use crate::domain::price_rules::PriceRule;
use crate::domain::records::{ScheduleRecord, TourRecord};
use crate::domain::tour::Tour;

pub async fn insert_operator(
    tx: &mut WriteTx,
    id: &OperatorId,
    name: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("INSERT INTO operators (id, name, email, created_at) VALUES (?, ?, ?, ?)")
        .bind(id.as_str()).bind(name).bind(email).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn count_operators(store: &Store) -> Result<i64, StorageError> {
    let count: i64 = on_pool!(store, pool => sqlx::query_scalar("SELECT COUNT(*) FROM operators")
        .fetch_one(pool).await)?;
    Ok(count)
}

/// Stores the SHA-256 hash of a new API token, which acts with `role`.
pub async fn insert_token(
    tx: &mut WriteTx,
    id: &TokenId,
    operator: &OperatorId,
    token_hash: &str,
    label: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO api_tokens (id, operator_id, token_hash, label, role, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(id.as_str()).bind(operator.as_str()).bind(token_hash).bind(label).bind(role.as_str())
        .bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The token id, operator and role of an unrevoked token with this hash.
pub async fn operator_for_token(
    store: &Store,
    token_hash: &str,
) -> Result<Option<(TokenId, OperatorId, Role)>, StorageError> {
    let row: Option<(String, String, String)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, operator_id, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL")
        .bind(token_hash).fetch_optional(pool).await)?;
    row.map(|(id, operator, role)| {
        let role = role
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("api token {id} has role {role:?}")))?;
        Ok((
            TokenId::from_stored(id),
            OperatorId::from_stored(operator),
            role,
        ))
    })
    .transpose()
}

pub async fn insert_tour(
    tx: &mut WriteTx,
    id: &TourId,
    operator: &OperatorId,
    tour: &Tour,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let units = rows::units_json(tour);
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO tours (id, operator_id, name, description, meeting_point, timezone, duration_minutes, \
         currency, cutoff_minutes, min_per_booking, max_per_booking, units, cancellation_policy, reschedule_allowed, \
         min_participants, decision_hours, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(id.as_str()).bind(operator.as_str()).bind(&tour.name).bind(&tour.description)
        .bind(&tour.meeting_point).bind(tour.timezone.name()).bind(i64::from(tour.duration_minutes))
        .bind(tour.currency.as_str()).bind(i64::from(tour.cutoff_minutes))
        .bind(i64::from(tour.min_per_booking)).bind(i64::from(tour.max_per_booking))
        .bind(&units).bind(rows::policy_json(tour)).bind(i64::from(tour.reschedule_allowed))
        .bind(i64::from(tour.min_participants)).bind(i64::from(tour.decision_hours)).bind(at(now)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Rewrites the mutable fields of a tour (time zone and currency never change).
pub async fn update_tour(
    tx: &mut WriteTx,
    id: &TourId,
    tour: &Tour,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let units = rows::units_json(tour);
    on_tx!(tx, conn => sqlx::query(
        "UPDATE tours SET name = ?, description = ?, meeting_point = ?, duration_minutes = ?, \
         cutoff_minutes = ?, min_per_booking = ?, max_per_booking = ?, units = ?, cancellation_policy = ?, reschedule_allowed = ?, \
         min_participants = ?, decision_hours = ?, updated_at = ? WHERE id = ?")
        .bind(&tour.name).bind(&tour.description).bind(&tour.meeting_point)
        .bind(i64::from(tour.duration_minutes)).bind(i64::from(tour.cutoff_minutes))
        .bind(i64::from(tour.min_per_booking)).bind(i64::from(tour.max_per_booking))
        .bind(&units).bind(rows::policy_json(tour)).bind(i64::from(tour.reschedule_allowed))
        .bind(i64::from(tour.min_participants)).bind(i64::from(tour.decision_hours)).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Archives a tour (`Some(at)`) or puts it back on sale (`None`).
pub async fn set_tour_archived(
    tx: &mut WriteTx,
    id: &TourId,
    archived_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE tours SET archived_at = ?, updated_at = ? WHERE id = ?")
        .bind(archived_at.map(at)).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get_tour(store: &Store, id: &TourId) -> Result<Option<TourRecord>, StorageError> {
    let sql = format!("SELECT {TOUR_COLUMNS} FROM tours WHERE id = ?");
    let row: Option<TourRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(pool).await)?;
    row.map(TourRecord::try_from).transpose()
}

/// Locks a tour's row (MySQL: `FOR UPDATE`; SQLite's one writer excludes the others) and reads
/// it as it is now: its price rules change under this lock.
pub async fn lock_tour(tx: &mut WriteTx, id: &TourId) -> Result<Option<TourRecord>, StorageError> {
    let select = format!("SELECT {TOUR_COLUMNS} FROM tours WHERE id = ?");
    let sql = tx.locking(select);
    let row: Option<TourRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(conn).await)?;
    row.map(TourRecord::try_from).transpose()
}

/// Stores a locked tour's price rules.
pub async fn set_price_rules(
    tx: &mut WriteTx,
    id: &TourId,
    rules: &[PriceRule],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let json = (!rules.is_empty())
        .then(|| serde_json::to_string(rules))
        .transpose()
        .map_err(|e| StorageError::Corrupt(format!("price rules of tour {id}: {e}")))?;
    on_tx!(tx, conn => sqlx::query("UPDATE tours SET price_rules = ?, updated_at = ? WHERE id = ?")
        .bind(json).bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn list_tours(
    store: &Store,
    operator: &OperatorId,
) -> Result<Vec<TourRecord>, StorageError> {
    let sql =
        format!("SELECT {TOUR_COLUMNS} FROM tours WHERE operator_id = ? ORDER BY id LIMIT 1000");
    let rows: Vec<TourRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).fetch_all(pool).await)?;
    rows.into_iter().map(TourRecord::try_from).collect()
}

pub async fn insert_schedule(
    tx: &mut WriteTx,
    schedule: &ScheduleRecord,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let times =
        serde_json::to_string(&schedule.times).map_err(|e| StorageError::Other(e.into()))?;
    let exceptions =
        serde_json::to_string(&schedule.exceptions).map_err(|e| StorageError::Other(e.into()))?;
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO schedules (id, tour_id, rrule, start_date, until_date, times, exceptions, capacity, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(schedule.id.as_str()).bind(schedule.tour_id.as_str()).bind(&schedule.rrule)
        .bind(&schedule.start_date).bind(schedule.until.as_deref()).bind(&times).bind(&exceptions)
        .bind(i64::from(schedule.capacity)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get_schedule(
    store: &Store,
    id: &ScheduleId,
) -> Result<Option<ScheduleRecord>, StorageError> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?");
    let row: Option<ScheduleRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(pool).await)?;
    row.map(ScheduleRecord::try_from).transpose()
}

/// Reads a schedule and locks its row for the rest of the transaction (`FOR UPDATE` on MySQL;
/// on SQLite the transaction holds the write lock), so a change of the schedule and the
/// creation of its departures never interleave.
pub async fn lock_schedule(
    tx: &mut WriteTx,
    id: &ScheduleId,
) -> Result<Option<ScheduleRecord>, StorageError> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?{}",
        tx.pick("", " FOR UPDATE")
    );
    let row: Option<ScheduleRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(conn).await)?;
    row.map(ScheduleRecord::try_from).transpose()
}

/// Replaces a locked schedule's rule, dates, times, exceptions and capacity.
pub async fn update_schedule(
    tx: &mut WriteTx,
    schedule: &ScheduleRecord,
) -> Result<(), StorageError> {
    let times =
        serde_json::to_string(&schedule.times).map_err(|e| StorageError::Other(e.into()))?;
    let exceptions =
        serde_json::to_string(&schedule.exceptions).map_err(|e| StorageError::Other(e.into()))?;
    on_tx!(tx, conn => sqlx::query(
        "UPDATE schedules SET rrule = ?, start_date = ?, until_date = ?, times = ?, exceptions = ?, capacity = ?          WHERE id = ?")
        .bind(&schedule.rrule).bind(&schedule.start_date).bind(schedule.until.as_deref())
        .bind(&times).bind(&exceptions).bind(i64::from(schedule.capacity)).bind(schedule.id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records how far a schedule's departures have been created.
pub async fn set_materialized_until(
    tx: &mut WriteTx,
    id: &ScheduleId,
    until: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE schedules SET materialized_until = ? WHERE id = ?")
        .bind(at(until)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn list_schedules_for_tour(
    store: &Store,
    tour: &TourId,
) -> Result<Vec<ScheduleRecord>, StorageError> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE tour_id = ? ORDER BY id");
    let rows: Vec<ScheduleRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(tour.as_str()).fetch_all(pool).await)?;
    rows.into_iter().map(ScheduleRecord::try_from).collect()
}

/// Schedules whose departures are created only up to before `horizon`, oldest first.
pub async fn schedules_behind(
    store: &Store,
    horizon: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ScheduleRecord>, StorageError> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE (materialized_until IS NULL OR materialized_until < ?) \
         AND tour_id IN (SELECT id FROM tours WHERE archived_at IS NULL) ORDER BY id LIMIT ?");
    let rows: Vec<ScheduleRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(at(horizon)).bind(limit).fetch_all(pool).await)?;
    rows.into_iter().map(ScheduleRecord::try_from).collect()
}

/// An API token as listed to its operator (never the token itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub label: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn list_tokens(
    store: &Store,
    operator: &OperatorId,
) -> Result<Vec<TokenRow>, StorageError> {
    let rows: Vec<TokenRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, label, role, created_at, revoked_at FROM api_tokens WHERE operator_id = ? ORDER BY id")
        .bind(operator.as_str()).fetch_all(pool).await)?;
    Ok(rows)
}

/// Revokes one of the operator's tokens; false when it has no such token.
pub async fn revoke_token(
    tx: &mut WriteTx,
    operator: &OperatorId,
    id: &TokenId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let sql = "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND operator_id = ?";
    let affected = on_tx!(tx, conn => sqlx::query(sql)
        .bind(at(now)).bind(id.as_str()).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// An operator's profile and email identity.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperatorRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub mail_from: Option<String>,
    pub reply_to: Option<String>,
    /// The origins that may frame its booking pages, separated by spaces (see
    /// `domain::embed`).
    pub embed_origins: String,
    /// Whether berth messages its reseller bookings' travellers (`domain::reseller::ResaleMessages`).
    pub reseller_messages: String,
}

pub async fn get_operator(store: &Store, id: &str) -> Result<Option<OperatorRow>, StorageError> {
    let row: Option<OperatorRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, name, email, mail_from, reply_to, embed_origins, reseller_messages FROM operators WHERE id = ?")
        .bind(id).fetch_optional(pool).await)?;
    Ok(row)
}

/// The origins that may frame an operator's booking pages, as stored (separated by spaces).
pub async fn embed_origins(store: &Store, operator: &OperatorId) -> Result<String, StorageError> {
    operator_text(store, "embed_origins", operator).await
}

pub async fn set_embed_origins(
    tx: &mut WriteTx,
    operator: &OperatorId,
    origins: &str,
) -> Result<(), StorageError> {
    set_operator_text(tx, "embed_origins", operator, origins).await
}

/// Whether berth messages an operator's reseller bookings' travellers, as stored.
pub async fn reseller_messages(
    store: &Store,
    operator: &OperatorId,
) -> Result<String, StorageError> {
    operator_text(store, "reseller_messages", operator).await
}

pub async fn set_reseller_messages(
    tx: &mut WriteTx,
    operator: &OperatorId,
    messages: &str,
) -> Result<(), StorageError> {
    set_operator_text(tx, "reseller_messages", operator, messages).await
}

/// One text setting of an operator (`column`: a fixed column name, never input); empty when
/// the operator is unknown.
async fn operator_text(
    store: &Store,
    column: &'static str,
    operator: &OperatorId,
) -> Result<String, StorageError> {
    let sql = format!("SELECT {column} FROM operators WHERE id = ?");
    let value: Option<String> = on_pool!(store, pool => sqlx::query_scalar(&sql)
        .bind(operator.as_str()).fetch_optional(pool).await)?;
    Ok(value.unwrap_or_default())
}

async fn set_operator_text(
    tx: &mut WriteTx,
    column: &'static str,
    operator: &OperatorId,
    value: &str,
) -> Result<(), StorageError> {
    let sql = format!("UPDATE operators SET {column} = ? WHERE id = ?");
    on_tx!(tx, conn => sqlx::query(&sql)
        .bind(value).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_mail_identity(
    tx: &mut WriteTx,
    operator: &OperatorId,
    mail_from: Option<&str>,
    reply_to: Option<&str>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE operators SET mail_from = ?, reply_to = ? WHERE id = ?")
        .bind(mail_from).bind(reply_to).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
