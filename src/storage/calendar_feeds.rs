//! The tours' secret calendar feeds (`calendar_feeds`).

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{CalendarFeedId, OperatorId, TourId};

/// A feed as its operator sees it (never its token).
#[derive(Debug, Clone)]
pub struct CalendarFeed {
    pub id: CalendarFeedId,
    pub tour_id: TourId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: String,
    tour_id: String,
    label: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<FeedRow> for CalendarFeed {
    type Error = StorageError;

    fn try_from(row: FeedRow) -> Result<Self, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("calendar feed {what}"));
        Ok(CalendarFeed {
            id: CalendarFeedId::parse(&row.id).ok_or_else(|| corrupt(&row.id))?,
            tour_id: TourId::parse(&row.tour_id).ok_or_else(|| corrupt(&row.tour_id))?,
            label: row.label,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        })
    }
}

const COLUMNS: &str = "id, tour_id, label, created_at, revoked_at";

pub async fn insert(
    tx: &mut WriteTx,
    feed: &CalendarFeed,
    operator: &OperatorId,
    token_hash: &str,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO calendar_feeds (id, operator_id, tour_id, token_hash, label, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(feed.id.as_str()).bind(operator.as_str()).bind(feed.tour_id.as_str()).bind(token_hash)
        .bind(&feed.label).bind(at(feed.created_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The feeds of a tour, newest last.
pub async fn list_for_tour(
    store: &Store,
    tour: &TourId,
) -> Result<Vec<CalendarFeed>, StorageError> {
    let sql =
        format!("SELECT {COLUMNS} FROM calendar_feeds WHERE tour_id = ? ORDER BY id LIMIT 1000");
    let rows: Vec<FeedRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(tour.as_str()).fetch_all(pool).await)?;
    rows.into_iter().map(CalendarFeed::try_from).collect()
}

/// The live feed with this token hash.
pub async fn find_live(
    store: &Store,
    token_hash: &str,
) -> Result<Option<CalendarFeed>, StorageError> {
    let sql =
        format!("SELECT {COLUMNS} FROM calendar_feeds WHERE token_hash = ? AND revoked_at IS NULL");
    let row: Option<FeedRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(token_hash).fetch_optional(pool).await)?;
    row.map(CalendarFeed::try_from).transpose()
}

/// Revokes one of the operator's feeds; `false` when it has no such live feed.
pub async fn revoke(
    tx: &mut WriteTx,
    operator: &OperatorId,
    id: &CalendarFeedId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let revoked = on_tx!(tx, conn => sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = ? WHERE id = ? AND operator_id = ? AND revoked_at IS NULL")
        .bind(at(now)).bind(id.as_str()).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(revoked == 1)
}
