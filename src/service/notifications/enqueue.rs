//! Putting messages in the outbox, in the transaction of the change that causes them, and what
//! operators do with them afterwards (list, retry), and the purge of old ones.

use chrono::{DateTime, Duration, Utc};

use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, BookingRef, OperatorId};
use crate::domain::message::MessageKind;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::service::audit::{self, Action, Target};
use crate::service::principal::Principal;
use crate::storage::outbox::{self, OutboxRow};
use crate::storage::{bookings, Store, WriteTx};

/// Enqueues `kind` for a booking in the caller's transaction (email, and SMS with a phone).
pub async fn enqueue(
    tx: &mut WriteTx,
    booking: &BookingId,
    kind: MessageKind,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    Ok(outbox::enqueue(tx, booking, kind, now).await?)
}

/// Enqueues the reminder of every confirmed booking departing within `before`, unless it was
/// made after its reminder time. Idempotent (dedupe key), so it runs as often as it likes.
pub async fn enqueue_reminders(
    store: &Store,
    now: DateTime<Utc>,
    before: Duration,
) -> Result<usize, AppError> {
    let due = bookings::confirmed_departing_between(store, now, now + before).await?;
    let mut enqueued = 0;
    for (booking, created_at, starts_at) in due {
        if created_at > starts_at - before {
            continue;
        }
        transaction!(store, |tx| {
            Ok(outbox::enqueue(&mut tx, &booking, MessageKind::Reminder, now).await?)
        })
        .await?;
        enqueued += 1;
    }
    Ok(enqueued)
}

/// How long sent messages are kept (for operators' history) before they are purged.
pub const SENT_RETENTION_DAYS: i64 = 30;

/// Purges messages sent more than [`SENT_RETENTION_DAYS`] ago; returns how many.
pub async fn purge_sent(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    let before = now - Duration::days(SENT_RETENTION_DAYS);
    let mut purged = 0;
    loop {
        let batch = transaction!(store, |tx| {
            Ok(outbox::purge_sent(&mut tx, before, 500).await?)
        })
        .await?;
        purged += batch;
        if batch < 500 {
            return Ok(purged);
        }
    }
}

/// Enqueues a "your hold expired" email for every hold released in the last two hours (the
/// dedupe key makes repeats harmless). Only called when `BERTH_HOLD_EXPIRED_EMAIL` is on.
pub async fn enqueue_hold_expired(store: &Store, now: DateTime<Utc>) -> Result<usize, AppError> {
    let expired = bookings::expired_since(store, now - Duration::hours(2)).await?;
    for booking in &expired {
        transaction!(store, |tx| {
            Ok(outbox::enqueue(&mut tx, booking, MessageKind::HoldExpired, now).await?)
        })
        .await?;
    }
    Ok(expired.len())
}

/// An operator's messages, newest first.
pub async fn list(
    store: &Store,
    operator: &OperatorId,
    status: Option<&str>,
) -> Result<Vec<OutboxRow>, AppError> {
    if let Some(status) = status {
        if !crate::domain::message::STATUSES.contains(&status) {
            return Err(AppError::invalid(
                "status",
                "must be pending, sending, sent, failed or dead",
            ));
        }
    }
    Ok(outbox::list(store, operator, status, 500).await?)
}

/// Queues a failed or dead message again.
pub async fn retry(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
) -> Result<OutboxRow, AppError> {
    let operator = &by.operator;
    let existing = outbox::get(store, operator, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let requeued = transaction!(store, |tx| {
        let requeued = outbox::retry(&mut tx, operator, id, now).await?;
        if requeued {
            let target = Target::Message(id);
            audit::record(&mut tx, by, now, Action::MessageRetry, target, None).await?;
        }
        Ok(requeued)
    })
    .await?;
    if !requeued {
        return Err(AppError::bad_request(
            "message_not_retryable",
            format!(
                "the message is {}; only failed or dead messages can be retried",
                existing.status
            ),
        ));
    }
    outbox::get(store, operator, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// An operator sends a booking's confirmation again (the traveler lost it, or typed a wrong
/// address that was since corrected): a new email each time, the earlier ones kept in the
/// booking's history, and the resend in the audit log. Only a confirmed or checked-in booking
/// has a confirmation to send (409 `not_confirmed`).
pub async fn resend_confirmation(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    reference: &str,
) -> Result<BookingRecord, AppError> {
    let reference = BookingRef::parse(reference).ok_or(AppError::NotFound)?;
    let booking = bookings::find_by_reference(store, &reference)
        .await?
        .filter(|b| b.operator_id == by.operator)
        .ok_or(AppError::NotFound)?;
    if !matches!(
        booking.status,
        BookingStatus::Confirmed | BookingStatus::CheckedIn
    ) {
        return Err(AppError::Refused {
            code: "not_confirmed",
            message: format!(
                "the booking is {}; only a confirmed booking has a confirmation to send",
                booking.effective_status(now).as_str()
            ),
        });
    }
    let resend = format!("resend-{}", ulid::Ulid::new());
    transaction!(store, |tx| {
        outbox::enqueue_email(
            &mut tx,
            &booking.id,
            MessageKind::BookingConfirmed,
            &resend,
            now,
        )
        .await?;
        let target = Target::Booking(booking.reference.as_str());
        audit::record(&mut tx, by, now, Action::BookingResend, target, None).await?;
        Ok(())
    })
    .await?;
    tracing::info!(booking = %booking.reference, "confirmation resent");
    Ok(booking)
}
