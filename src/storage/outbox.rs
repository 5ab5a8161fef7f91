//! The outbox: messages enqueued with the change that causes them, claimed by dispatchers.

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{BookingId, OperatorId, WaitlistEntryId};
use crate::domain::message::{dedupe_key, Channel, MessageKind};

/// A message row as the dispatcher and the operator API see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub operator_id: String,
    /// The booking a traveler message is about; `None` for account messages.
    pub booking_id: Option<String>,
    /// The user an account message goes to (password reset, lockout notice).
    pub user_id: Option<String>,
    /// What an account message is about beyond the user (a password reset's id).
    pub subject_id: Option<String>,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// What the provider last reported (Twilio: queued, sent, delivered, undelivered, failed).
    pub delivery_status: Option<String>,
}

const COLUMNS: &str =
    "id, operator_id, booking_id, user_id, subject_id, kind, channel, status, attempts, \
    next_attempt_at, last_error, created_at, sent_at, delivery_status";

/// Enqueues an email to an operator's user about their account (`kind`: `password_reset`,
/// `account_locked`), once per `dedupe_key`.
pub async fn enqueue_account(
    tx: &mut WriteTx,
    operator: &OperatorId,
    user: &str,
    subject: Option<&str>,
    kind: &str,
    dedupe_key: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let insert = "INSERT INTO outbox (id, operator_id, user_id, subject_id, kind, channel, dedupe_key, status, \
        attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'email', ?, 'pending', 0, ?, ?)";
    let sql = if tx.is_sqlite() {
        format!("{insert} ON CONFLICT (dedupe_key) DO NOTHING")
    } else {
        format!("{insert} ON DUPLICATE KEY UPDATE outbox.id = outbox.id")
    };
    on_tx!(tx, conn => sqlx::query(&sql)
        .bind(ulid::Ulid::new().to_string()).bind(operator.as_str()).bind(user).bind(subject)
        .bind(kind).bind(dedupe_key).bind(at(now)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Enqueues `kind` for a booking: an email when the booking has an email address (a reseller's
/// booking may not), an SMS when it has a phone number (except for a lapsed hold: email only). A second enqueue of the same event is ignored
/// (unique `dedupe_key`).
pub async fn enqueue(
    tx: &mut WriteTx,
    booking: &BookingId,
    kind: MessageKind,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    enqueue_event(tx, booking, kind, None, now).await
}

/// Like [`enqueue`], for a kind of event that can happen to a booking more than once (a
/// reschedule): `event` (unique per occurrence) joins the dedupe key.
pub async fn enqueue_event(
    tx: &mut WriteTx,
    booking: &BookingId,
    kind: MessageKind,
    event: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let channels: &[Channel] = if kind == MessageKind::HoldExpired {
        &[Channel::Email]
    } else {
        &[Channel::Email, Channel::Sms]
    };
    enqueue_on(tx, booking, kind, channels, event, now).await
}

/// Enqueues `kind` for a booking by email only, as a new message each time `event` differs (an
/// operator resending a confirmation the traveler lost).
pub async fn enqueue_email(
    tx: &mut WriteTx,
    booking: &BookingId,
    kind: MessageKind,
    event: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    enqueue_on(tx, booking, kind, &[Channel::Email], Some(event), now).await
}

async fn enqueue_on(
    tx: &mut WriteTx,
    booking: &BookingId,
    kind: MessageKind,
    channels: &[Channel],
    event: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for &channel in channels {
        let mut key = dedupe_key(booking.as_str(), kind, channel);
        if let Some(event) = event {
            key = format!("{key}:{event}");
        }
        insert_once(
            tx,
            Subject::Booking,
            booking.as_str(),
            kind,
            channel,
            &key,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Enqueues `kind` for a waiting-line entry (no booking: the entry is the message's
/// `subject_id`, its addresses read from it when sent): an email when it has an email address,
/// an SMS when it has a phone number, once per entry, kind and channel (unique `dedupe_key`).
pub async fn enqueue_waitlist(
    tx: &mut WriteTx,
    entry: &WaitlistEntryId,
    kind: MessageKind,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for channel in [Channel::Email, Channel::Sms] {
        let key = format!("waitlist:{}", dedupe_key(entry.as_str(), kind, channel));
        insert_once(
            tx,
            Subject::WaitlistEntry,
            entry.as_str(),
            kind,
            channel,
            &key,
            now,
        )
        .await?;
    }
    Ok(())
}

/// What a message is about, and so where its addresses are read from when it is sent.
#[derive(Clone, Copy)]
enum Subject {
    Booking,
    WaitlistEntry,
}

/// Inserts one message about `id` on `channel`, unless one with `key` exists, and only when the
/// subject has that channel's address (no address, no message: a reseller's booking may have
/// neither).
async fn insert_once(
    tx: &mut WriteTx,
    subject: Subject,
    id: &str,
    kind: MessageKind,
    channel: Channel,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let (table, column) = match subject {
        Subject::Booking => ("bookings", "booking_id"),
        Subject::WaitlistEntry => ("waitlist_entries", "subject_id"),
    };
    let address_filter = if channel == Channel::Sms {
        " AND customer_phone IS NOT NULL"
    } else {
        " AND customer_email <> ''"
    };
    let select = format!(
        "SELECT ?, operator_id, id, ?, ?, ?, 'pending', 0, ?, ? FROM {table} WHERE id = ?{address_filter}"
    );
    let insert = format!(
        "INSERT INTO outbox (id, operator_id, {column}, kind, channel, dedupe_key, status, attempts, \
         next_attempt_at, created_at)"
    );
    let sql = if tx.is_sqlite() {
        format!("{insert} {select} ON CONFLICT (dedupe_key) DO NOTHING")
    } else {
        format!("{insert} {select} ON DUPLICATE KEY UPDATE outbox.id = outbox.id")
    };
    on_tx!(tx, conn => sqlx::query(&sql)
        .bind(ulid::Ulid::new().to_string()).bind(kind.as_str()).bind(channel.as_str()).bind(key)
        .bind(at(now)).bind(at(now)).bind(id)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Claims up to `limit` due messages for this dispatcher until `lease_until`: pending ones whose
/// time has come, and sending ones whose dispatcher died (lease expired). On MySQL rows another
/// dispatcher is claiming are skipped, so several berth instances can dispatch at once.
pub async fn claim_due(
    tx: &mut WriteTx,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<OutboxRow>, StorageError> {
    let due = "(status = 'pending' AND next_attempt_at <= ?) OR (status = 'sending' AND locked_until <= ?)";
    let sql = if tx.is_sqlite() {
        format!("SELECT {COLUMNS} FROM outbox WHERE {due} ORDER BY next_attempt_at LIMIT ?")
    } else {
        format!("SELECT {COLUMNS} FROM outbox WHERE {due} ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED")
    };
    let rows: Vec<OutboxRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(at(now)).bind(at(now)).bind(limit).fetch_all(&mut *conn).await)?;
    for row in &rows {
        on_tx!(tx, conn => sqlx::query(
            "UPDATE outbox SET status = 'sending', locked_until = ?, attempts = attempts + 1 WHERE id = ?")
            .bind(at(lease_until)).bind(&row.id).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(rows)
}

/// Records the outcome of one send; only a message still `sending` changes.
/// `lease` is the claim's own `locked_until`: a dispatcher whose lease expired and was taken
/// over records nothing (returns false).
#[expect(clippy::too_many_arguments, reason = "one UPDATE's worth of columns")]
pub async fn settle(
    tx: &mut WriteTx,
    id: &str,
    lease: DateTime<Utc>,
    status: &str,
    next_attempt_at: DateTime<Utc>,
    error: Option<&str>,
    provider_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let sent_at = (status == "sent").then(|| at(now));
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE outbox SET status = ?, next_attempt_at = ?, locked_until = NULL, last_error = ?, sent_at = ?, \
         provider_id = COALESCE(?, provider_id) WHERE id = ? AND status = 'sending' AND locked_until = ?")
        .bind(status).bind(at(next_attempt_at)).bind(error).bind(sent_at).bind(provider_id).bind(id).bind(at(lease))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Records a provider's delivery report for the message it knows as `provider_id`.
pub async fn record_delivery(
    tx: &mut WriteTx,
    provider_id: &str,
    delivery_status: &str,
) -> Result<bool, StorageError> {
    // Reports arrive out of order and may be replayed: a status only moves forward, and a final
    // one (delivered, undelivered, failed) never changes.
    let earlier: &[&str] = match delivery_status {
        "delivered" | "undelivered" | "failed" => &["queued", "accepted", "sending", "sent"],
        "sent" => &["queued", "accepted", "sending"],
        "sending" => &["queued", "accepted"],
        _ => &[],
    };
    let placeholders = vec!["?"; earlier.len()].join(", ");
    let condition = if earlier.is_empty() {
        "delivery_status IS NULL".to_owned()
    } else {
        format!("(delivery_status IS NULL OR delivery_status IN ({placeholders}))")
    };
    let sql =
        format!("UPDATE outbox SET delivery_status = ? WHERE provider_id = ? AND {condition}");
    let affected = on_tx!(tx, conn => {
        let mut query = sqlx::query(&sql).bind(delivery_status).bind(provider_id);
        for status in earlier {
            query = query.bind(*status);
        }
        query.execute(conn).await.map(|r| r.rows_affected())
    })?;
    Ok(affected > 0)
}

pub async fn list(
    store: &Store,
    operator: &OperatorId,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<OutboxRow>, StorageError> {
    let filter = if status.is_some() {
        " AND status = ?"
    } else {
        ""
    };
    // Messages to travelers, about a booking or a waiting-line entry. Account messages (reset
    // codes, lockout notices: they name a user) are the user's business, not the console's.
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE operator_id = ? AND user_id IS NULL{filter} ORDER BY created_at DESC, id LIMIT ?");
    let rows: Vec<OutboxRow> = on_pool!(store, pool => {
        let mut query = sqlx::query_as(&sql).bind(operator.as_str());
        if let Some(status) = status {
            query = query.bind(status);
        }
        query.bind(limit).fetch_all(pool).await
    })?;
    Ok(rows)
}

/// The messages about one of this operator's bookings, oldest first.
pub async fn of_booking(
    store: &Store,
    operator: &OperatorId,
    booking: &BookingId,
) -> Result<Vec<OutboxRow>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE operator_id = ? AND booking_id = ? ORDER BY created_at, id LIMIT 200"
    );
    Ok(on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).bind(booking.as_str()).fetch_all(pool).await)?)
}

/// Puts a failed or dead message of this operator back in the queue; false when there is none.
pub async fn retry(
    tx: &mut WriteTx,
    operator: &OperatorId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL \
         WHERE id = ? AND operator_id = ? AND user_id IS NULL AND status IN ('failed', 'dead')")
        .bind(at(now)).bind(id).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

pub async fn get(
    store: &Store,
    operator: &OperatorId,
    id: &str,
) -> Result<Option<OutboxRow>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE id = ? AND operator_id = ? AND user_id IS NULL"
    );
    let row: Option<OutboxRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id).bind(operator.as_str()).fetch_optional(pool).await)?;
    Ok(row)
}

/// How many messages each (channel, status) holds.
pub async fn backlog(store: &Store) -> Result<Vec<(String, String, i64)>, StorageError> {
    let rows: Vec<(String, String, i64)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT channel, status, COUNT(*) FROM outbox GROUP BY channel, status")
        .fetch_all(pool).await)?;
    Ok(rows)
}

/// Deletes up to `limit` messages sent before `before`; failed and dead ones are kept for
/// operators to see. Returns how many went.
pub async fn purge_sent(
    tx: &mut WriteTx,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<u64, StorageError> {
    let sql = tx.pick(
        "DELETE FROM outbox WHERE rowid IN (SELECT rowid FROM outbox WHERE status = 'sent' AND sent_at < ? LIMIT ?)",
        "DELETE FROM outbox WHERE status = 'sent' AND sent_at < ? ORDER BY sent_at LIMIT ?",
    );
    let affected = on_tx!(tx, conn => sqlx::query(sql)
        .bind(at(before)).bind(limit).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected)
}
