//! The secret calendar feeds of tours and of guides (`calendar_feeds`).

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{CalendarFeedId, OperatorId, TourId, UserId};

/// What a feed lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSubject {
    /// The tour's departures.
    Tour(TourId),
    /// The departures this user (a guide) is assigned to.
    Guide(UserId),
}

/// A feed as its operator sees it (never its token).
#[derive(Debug, Clone)]
pub struct CalendarFeed {
    pub id: CalendarFeedId,
    pub subject: FeedSubject,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: String,
    tour_id: Option<String>,
    user_id: Option<String>,
    label: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<FeedRow> for CalendarFeed {
    type Error = StorageError;

    fn try_from(row: FeedRow) -> Result<Self, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("calendar feed {what}"));
        let subject = match (row.tour_id, row.user_id) {
            (Some(tour), None) => {
                FeedSubject::Tour(TourId::parse(&tour).ok_or_else(|| corrupt(&tour))?)
            }
            (None, Some(user)) => {
                FeedSubject::Guide(UserId::parse(&user).ok_or_else(|| corrupt(&user))?)
            }
            _ => return Err(corrupt(&row.id)),
        };
        Ok(CalendarFeed {
            id: CalendarFeedId::parse(&row.id).ok_or_else(|| corrupt(&row.id))?,
            subject,
            label: row.label,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        })
    }
}

const COLUMNS: &str = "id, tour_id, user_id, label, created_at, revoked_at";

pub async fn insert(
    tx: &mut WriteTx,
    feed: &CalendarFeed,
    operator: &OperatorId,
    token_hash: &str,
) -> Result<(), StorageError> {
    let (tour, user) = match &feed.subject {
        FeedSubject::Tour(tour) => (Some(tour.as_str()), None),
        FeedSubject::Guide(user) => (None, Some(user.as_str())),
    };
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO calendar_feeds (id, operator_id, tour_id, user_id, token_hash, label, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(feed.id.as_str()).bind(operator.as_str()).bind(tour).bind(user).bind(token_hash)
        .bind(&feed.label).bind(at(feed.created_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The feeds of a tour or of a guide, newest last.
pub async fn list_of(
    store: &Store,
    subject: &FeedSubject,
) -> Result<Vec<CalendarFeed>, StorageError> {
    let (column, id) = match subject {
        FeedSubject::Tour(tour) => ("tour_id", tour.as_str()),
        FeedSubject::Guide(user) => ("user_id", user.as_str()),
    };
    let sql =
        format!("SELECT {COLUMNS} FROM calendar_feeds WHERE {column} = ? ORDER BY id LIMIT 1000");
    let rows: Vec<FeedRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id).fetch_all(pool).await)?;
    rows.into_iter().map(CalendarFeed::try_from).collect()
}

/// The live feed with this token hash. A guide's feed lives only while its user does.
pub async fn find_live(
    store: &Store,
    token_hash: &str,
) -> Result<Option<CalendarFeed>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calendar_feeds WHERE token_hash = ? AND revoked_at IS NULL \
         AND (user_id IS NULL OR user_id IN (SELECT id FROM users WHERE deactivated_at IS NULL))"
    );
    let row: Option<FeedRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(token_hash).fetch_optional(pool).await)?;
    row.map(CalendarFeed::try_from).transpose()
}

/// Revokes one of the operator's feeds (only `user`'s own, when named); `false` when there is
/// no such live feed.
pub async fn revoke(
    tx: &mut WriteTx,
    operator: &OperatorId,
    user: Option<&UserId>,
    id: &CalendarFeedId,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let revoked = on_tx!(tx, conn => sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = ? WHERE id = ? AND operator_id = ? AND revoked_at IS NULL \
         AND (? IS NULL OR user_id = ?)")
        .bind(at(now)).bind(id.as_str()).bind(operator.as_str())
        .bind(user.map(|u| u.as_str())).bind(user.map(|u| u.as_str()))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(revoked == 1)
}
