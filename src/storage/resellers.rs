//! Resellers (`resellers`): only their keys' hashes are stored.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{OperatorId, ResellerId, TourId};
use crate::domain::reseller::Reseller;

#[derive(sqlx::FromRow)]
struct ResellerRow {
    id: String,
    operator_id: String,
    name: String,
    commission_percent: i64,
    tour_ids: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ResellerRow> for Reseller {
    type Error = StorageError;

    fn try_from(row: ResellerRow) -> Result<Self, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("reseller {what}"));
        let tours = row
            .tour_ids
            .split_whitespace()
            .map(|id| TourId::parse(id).ok_or_else(|| corrupt(id)))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Reseller {
            id: ResellerId::parse(&row.id).ok_or_else(|| corrupt(&row.id))?,
            operator_id: OperatorId::parse(&row.operator_id)
                .ok_or_else(|| corrupt(&row.operator_id))?,
            name: row.name,
            commission_percent: u8::try_from(row.commission_percent)
                .map_err(|_| corrupt("commission"))?,
            tours,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        })
    }
}

const COLUMNS: &str = "id, operator_id, name, commission_percent, tour_ids, created_at, revoked_at";

pub async fn insert(
    tx: &mut WriteTx,
    reseller: &Reseller,
    key_hash: &str,
) -> Result<(), StorageError> {
    let tours = reseller
        .tours
        .iter()
        .map(TourId::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO resellers (id, operator_id, name, key_hash, commission_percent, tour_ids, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(reseller.id.as_str()).bind(reseller.operator_id.as_str()).bind(&reseller.name)
        .bind(key_hash).bind(i64::from(reseller.commission_percent)).bind(tours)
        .bind(at(reseller.created_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The operator's resellers, oldest first.
pub async fn list(store: &Store, operator: &OperatorId) -> Result<Vec<Reseller>, StorageError> {
    let sql =
        format!("SELECT {COLUMNS} FROM resellers WHERE operator_id = ? ORDER BY id LIMIT 1000");
    let rows: Vec<ResellerRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).fetch_all(pool).await)?;
    rows.into_iter().map(Reseller::try_from).collect()
}

/// The live reseller whose key has this hash.
pub async fn find_live(store: &Store, key_hash: &str) -> Result<Option<Reseller>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM resellers WHERE key_hash = ? AND revoked_at IS NULL");
    let row: Option<ResellerRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(key_hash).fetch_optional(pool).await)?;
    row.map(Reseller::try_from).transpose()
}

/// Revokes one of the operator's resellers; false when it has no such live reseller.
pub async fn revoke(
    tx: &mut WriteTx,
    operator: &OperatorId,
    id: &ResellerId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE resellers SET revoked_at = ? WHERE id = ? AND operator_id = ? AND revoked_at IS NULL")
        .bind(at(now)).bind(id.as_str()).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}
