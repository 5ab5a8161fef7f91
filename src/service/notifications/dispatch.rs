//! Sending what the outbox holds: claim due messages under a lease, render them from the
//! booking as it stands now, send them outside any transaction, and record the outcome (retry
//! with backoff, give up after `max_attempts`, never delete).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::templates::{Content, LineContent};
use super::transports::Transports;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{OperatorId, WaitlistEntryId};
use crate::domain::message::{next_attempt, Channel, MessageKind};
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::error::AppError;
use crate::integrations::email::Email;
use crate::integrations::SendError;
use crate::service::{account_mail, operators};
use crate::storage::outbox::{self, OutboxRow};
use crate::storage::{bookings, catalogue, departures, Store};

/// How long a claimed message is this dispatcher's before another may take it over.
const LEASE: i64 = 900;
/// Messages claimed per round.
const BATCH: i64 = 10;

/// Sends due messages until none is left; returns how many were attempted.
pub async fn dispatch_once(
    store: &Store,
    transports: &Transports,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut attempted = 0;
    let started = std::time::Instant::now();
    // Time moves on while this round sends; leases and outcomes use the time they happen at.
    // Whole milliseconds, the precision both databases store: the lease is compared for equality.
    let at = || {
        let elapsed =
            Duration::milliseconds(started.elapsed().as_millis().try_into().unwrap_or(i64::MAX));
        now + elapsed
    };
    loop {
        let claimed_at = at();
        let lease = claimed_at + Duration::seconds(LEASE);
        let claimed = transaction!(store, |tx| {
            Ok(outbox::claim_due(&mut tx, claimed_at, lease, BATCH).await?)
        })
        .await?;
        if claimed.is_empty() {
            return Ok(attempted);
        }
        for message in &claimed {
            let outcome = send(store, transports, message, at()).await;
            settle(store, transports, message, lease, outcome, at()).await?;
        }
        attempted += claimed.len();
    }
}

async fn settle(
    store: &Store,
    transports: &Transports,
    message: &OutboxRow,
    lease: DateTime<Utc>,
    outcome: Result<Option<String>, SendError>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // `attempts` was counted when the message was claimed.
    let attempts = u32::try_from(message.attempts + 1).unwrap_or(u32::MAX);
    let (status, retry_at, error) = match &outcome {
        Ok(_) => ("sent", now, None),
        Err(SendError::Permanent(error)) => ("failed", now, Some(error.as_str())),
        Err(SendError::Transient(error)) if attempts >= transports.max_attempts => {
            ("dead", now, Some(error.as_str()))
        }
        Err(SendError::Transient(error)) => (
            "pending",
            next_attempt(now, attempts - 1, rand::thread_rng().gen()),
            Some(error.as_str()),
        ),
    };
    let owned = transaction!(store, |tx| {
        let provider_id = outcome.as_ref().ok().and_then(Option::as_deref);
        Ok(outbox::settle(
            &mut tx,
            &message.id,
            lease,
            status,
            retry_at,
            error,
            provider_id,
            now,
        )
        .await?)
    })
    .await?;
    if !owned {
        tracing::warn!(message = %message.id, "message lease expired before its outcome was recorded");
    }
    tracing::info!(message = %message.id, kind = %message.kind, channel = %message.channel, status, attempts, "message processed");
    Ok(())
}

/// Renders and sends one message. Content is rendered now, from the booking as it stands.
async fn send(
    store: &Store,
    transports: &Transports,
    message: &OutboxRow,
    now: DateTime<Utc>,
) -> Result<Option<String>, SendError> {
    if let Some(kind) = account_mail::AccountMessage::parse(&message.kind) {
        return account_mail::send(store, transports, message, kind, now).await;
    }
    let kind = MessageKind::parse(&message.kind)
        .ok_or_else(|| SendError::Permanent("unknown message kind".into()))?;
    let channel = Channel::parse(&message.channel)
        .ok_or_else(|| SendError::Permanent("unknown channel".into()))?;
    if kind == MessageKind::WaitlistClosed {
        return send_about_line(store, transports, message, kind, channel, now).await;
    }
    let booking_id = message
        .booking_id
        .as_deref()
        .ok_or_else(|| SendError::Permanent("no booking".into()))?;
    let (booking, tour, departure) = load(store, booking_id, now)
        .await
        .map_err(|_| SendError::Transient("booking could not be loaded".into()))?;
    // A message about a state the booking has left (a confirmation delayed past a
    // cancellation, a reminder for a cancelled booking) is not sent.
    let current = match kind {
        MessageKind::BookingConfirmed => matches!(
            booking.status,
            BookingStatus::Confirmed | BookingStatus::CheckedIn
        ),
        MessageKind::Reminder => {
            booking.status == BookingStatus::Confirmed && departure.occupancy.starts_at > now
        }
        // An offer the traveler can no longer take up (lapsed, cancelled) is not sent.
        MessageKind::WaitlistOffer => {
            booking.status == BookingStatus::Held && !booking.is_lapsed_hold(now)
        }
        _ => true,
    };
    if !current {
        return Err(SendError::Permanent(format!(
            "not sent: the booking is now {}",
            booking.status
        )));
    }
    let mut content = Content::new(
        &booking,
        &tour,
        &departure,
        &transports.public_url,
        &transports.keyring,
    );
    // What comes back to the traveler, as decided with the cancellation (sent or on its way).
    content.refund = crate::storage::payments::refunds_of(store, &booking.id)
        .await
        .map_err(|_| SendError::Transient("refunds could not be loaded".into()))?
        .iter()
        .filter(|r| r.status != "failed")
        .map(|r| r.amount)
        .sum();
    content.sold_by(
        crate::storage::reseller_bookings::seller_name(store, &booking.id)
            .await
            .map_err(|_| SendError::Transient("the booking's seller could not be loaded".into()))?,
    );
    match channel {
        Channel::Email => send_email(store, transports, message, content.email(kind, now)).await,
        Channel::Sms => {
            let phone = booking.customer.phone.as_deref();
            send_sms(transports, message, phone, content.sms(kind)).await
        }
    }
}

/// Sends a rendered email from the operator's sender for travelers.
async fn send_email(
    store: &Store,
    transports: &Transports,
    message: &OutboxRow,
    email: Result<Email, minijinja::Error>,
) -> Result<Option<String>, SendError> {
    let email = email.map_err(|e| SendError::Permanent(format!("template: {e}")))?;
    let operator = OperatorId::from_stored(message.operator_id.clone());
    let sender = operators::traveler_sender(store, &operator)
        .await
        .map_err(|_| SendError::Transient("operator could not be loaded".into()))?;
    transports
        .mailer
        .send(&message.id, &email, &sender)
        .await
        .map(|()| None)
}

/// Sends a rendered SMS to the traveler's phone, if they gave one.
async fn send_sms(
    transports: &Transports,
    message: &OutboxRow,
    phone: Option<&str>,
    text: Result<String, minijinja::Error>,
) -> Result<Option<String>, SendError> {
    let phone = phone.ok_or_else(|| SendError::Permanent("no phone number".into()))?;
    let text = text.map_err(|e| SendError::Permanent(format!("template: {e}")))?;
    transports.sms.send(&message.id, phone, &text).await
}

/// Renders and sends a message about a waiting-line entry (its `subject_id`), from the entry,
/// its departure and tour as they stand.
async fn send_about_line(
    store: &Store,
    transports: &Transports,
    message: &OutboxRow,
    kind: MessageKind,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Option<String>, SendError> {
    let entry = message
        .subject_id
        .as_deref()
        .and_then(WaitlistEntryId::parse)
        .ok_or_else(|| SendError::Permanent("no waitlist entry".into()))?;
    let loaded = async {
        let Some(entry) = crate::storage::waitlist::get(store, &entry).await? else {
            return Ok(None);
        };
        let departure = departures::get(store, &entry.departure_id, now)
            .await?
            .ok_or(AppError::NotFound)?;
        let tour = catalogue::get_tour(store, &departure.tour_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok::<_, AppError>(Some((entry, tour, departure)))
    };
    let (entry, tour, departure) = loaded
        .await
        .map_err(|_| SendError::Transient("waitlist entry could not be loaded".into()))?
        // Purged with its departure's line: nobody to write to any more.
        .ok_or_else(|| SendError::Permanent("not sent: the waitlist entry is gone".into()))?;
    let content = LineContent {
        entry: &entry,
        tour: &tour,
        departure: &departure,
    };
    match channel {
        Channel::Email => send_email(store, transports, message, content.email(kind)).await,
        Channel::Sms => {
            let phone = entry.customer.phone.as_deref();
            send_sms(transports, message, phone, content.sms(kind)).await
        }
    }
}

async fn load(
    store: &Store,
    booking_id: &str,
    now: DateTime<Utc>,
) -> Result<(BookingRecord, TourRecord, DepartureRecord), AppError> {
    let booking = bookings::find_by_id(store, booking_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tour = catalogue::get_tour(store, &booking.tour_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let departure = departures::get(store, &booking.departure_id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((booking, tour, departure))
}

/// Applies a provider's delivery report (already authenticated by the caller).
pub async fn record_delivery(
    store: &Store,
    provider_id: &str,
    delivery_status: &str,
) -> Result<bool, AppError> {
    transaction!(store, |tx| {
        Ok(outbox::record_delivery(&mut tx, provider_id, delivery_status).await?)
    })
    .await
}
