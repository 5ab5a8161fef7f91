//! Telling travelers: messages are enqueued in the outbox with the change that causes them (see
//! [`enqueue`]), then rendered and sent by [`dispatch_once`], outside any transaction.

use chrono::{DateTime, Duration, Utc};
use minijinja::{context, Environment};
use rand::Rng;

use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, OperatorId};
use crate::domain::message::{next_attempt, Channel, MessageKind};
use crate::domain::money::format_amount;
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::error::AppError;
use crate::integrations::email::{Email, Mailer};
use crate::integrations::sms::SmsSender;
use crate::integrations::SendError;
use crate::storage::outbox::{self, OutboxRow};
use crate::storage::{bookings, catalogue, departures, Store, WriteTx};

/// The transports and settings the dispatcher sends with.
pub struct Transports {
    pub mailer: Mailer,
    pub sms: SmsSender,
    /// Base of the traveler's manage link.
    pub public_url: String,
    pub max_attempts: u32,
    /// Derives password reset codes from their reset's id (see `service::account_mail`).
    pub keyring: crate::secrets::Keyring,
}

/// How long a claimed message is this dispatcher's before another may take it over.
const LEASE: i64 = 900;
/// Messages claimed per round.
const BATCH: i64 = 10;

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
    if let Some(kind) = super::account_mail::AccountMessage::parse(&message.kind) {
        return super::account_mail::send(store, transports, message, kind, now).await;
    }
    let kind = MessageKind::parse(&message.kind)
        .ok_or_else(|| SendError::Permanent("unknown message kind".into()))?;
    let channel = Channel::parse(&message.channel)
        .ok_or_else(|| SendError::Permanent("unknown channel".into()))?;
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
    match channel {
        Channel::Email => {
            let email = content
                .email(kind, now)
                .map_err(|e| SendError::Permanent(format!("template: {e}")))?;
            let operator = OperatorId::from_stored(message.operator_id.clone());
            let sender = super::operators::traveler_sender(store, &operator)
                .await
                .map_err(|_| SendError::Transient("operator could not be loaded".into()))?;
            transports
                .mailer
                .send(&message.id, &email, &sender)
                .await
                .map(|()| None)
        }
        Channel::Sms => {
            let phone = booking
                .customer
                .phone
                .as_deref()
                .ok_or_else(|| SendError::Permanent("no phone number".into()))?;
            let text = content
                .sms(kind)
                .map_err(|e| SendError::Permanent(format!("template: {e}")))?;
            transports.sms.send(&message.id, phone, &text).await
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

/// Everything a template may show.
struct Content<'a> {
    booking: &'a BookingRecord,
    tour: &'a TourRecord,
    departure: &'a DepartureRecord,
    manage_link: String,
    /// Minor units refunded or being refunded; 0 for none.
    refund: i64,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let templates: [(&str, &str); 17] = [
        (
            "email/hold_expired.txt",
            include_str!("../../templates/email/hold_expired.txt"),
        ),
        (
            "email/hold_expired.html",
            include_str!("../../templates/email/hold_expired.html"),
        ),
        (
            "email/reminder.txt",
            include_str!("../../templates/email/reminder.txt"),
        ),
        (
            "email/reminder.html",
            include_str!("../../templates/email/reminder.html"),
        ),
        (
            "sms/reminder.txt",
            include_str!("../../templates/sms/reminder.txt"),
        ),
        (
            "email/booking_confirmed.txt",
            include_str!("../../templates/email/booking_confirmed.txt"),
        ),
        (
            "email/booking_confirmed.html",
            include_str!("../../templates/email/booking_confirmed.html"),
        ),
        (
            "email/booking_cancelled.txt",
            include_str!("../../templates/email/booking_cancelled.txt"),
        ),
        (
            "email/booking_cancelled.html",
            include_str!("../../templates/email/booking_cancelled.html"),
        ),
        (
            "email/departure_cancelled.txt",
            include_str!("../../templates/email/departure_cancelled.txt"),
        ),
        (
            "email/departure_cancelled.html",
            include_str!("../../templates/email/departure_cancelled.html"),
        ),
        (
            "sms/booking_confirmed.txt",
            include_str!("../../templates/sms/booking_confirmed.txt"),
        ),
        (
            "sms/booking_cancelled.txt",
            include_str!("../../templates/sms/booking_cancelled.txt"),
        ),
        (
            "sms/departure_cancelled.txt",
            include_str!("../../templates/sms/departure_cancelled.txt"),
        ),
        (
            "email/booking_rescheduled.txt",
            include_str!("../../templates/email/booking_rescheduled.txt"),
        ),
        (
            "email/booking_rescheduled.html",
            include_str!("../../templates/email/booking_rescheduled.html"),
        ),
        (
            "sms/booking_rescheduled.txt",
            include_str!("../../templates/sms/booking_rescheduled.txt"),
        ),
    ];
    // HTML templates escape; text templates must not. Set before adding: minijinja decides a
    // template's escaping when it is added.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    for (name, source) in templates {
        // The sources are compiled in; a syntax error is caught by the tests, not at run time.
        let _ = env.add_template(name, source);
    }
    env
}

impl<'a> Content<'a> {
    fn new(
        booking: &'a BookingRecord,
        tour: &'a TourRecord,
        departure: &'a DepartureRecord,
        public_url: &str,
        keys: &crate::secrets::Keyring,
    ) -> Self {
        let manage_link = super::manage_link::url(public_url, keys, booking, departure);
        Content {
            booking,
            tour,
            departure,
            manage_link,
            refund: 0,
        }
    }

    fn context(&self) -> minijinja::Value {
        let tz = self.tour.tour.timezone;
        let local = self.departure.occupancy.starts_at.with_timezone(&tz);
        let items: Vec<minijinja::Value> = self
            .booking
            .items
            .iter()
            .map(|item| {
                let label = self
                    .tour
                    .tour
                    .unit(&item.unit)
                    .map(|u| u.label.clone())
                    .unwrap_or_else(|| item.unit.clone());
                context! { label => label, quantity => item.quantity }
            })
            .collect();
        context! {
            customer_name => self.booking.customer.name,
            reference => self.booking.reference.to_string(),
            tour_name => self.tour.tour.name,
            meeting_point => self.tour.tour.meeting_point,
            local_start => format!("{} ({})", local.format("%a %-d %b %Y, %H:%M"), tz.name()),
            local_start_short => local.format("%-d %b %H:%M").to_string(),
            items => items,
            total => format_amount(self.booking.total, &self.booking.currency),
            manage_link => self.manage_link,
            refund => (self.refund > 0).then(|| format_amount(self.refund, &self.booking.currency)),
        }
    }

    fn email(&self, kind: MessageKind, now: DateTime<Utc>) -> Result<Email, minijinja::Error> {
        let env = environment();
        let context = self.context();
        let name = kind.as_str();
        let text = env
            .get_template(&format!("email/{name}.txt"))?
            .render(&context)?;
        let html = env
            .get_template(&format!("email/{name}.html"))?
            .render(&context)?;
        let (tour, reference) = (&self.tour.tour.name, &self.booking.reference);
        let subject = match kind {
            MessageKind::BookingConfirmed => format!("Booking {reference} confirmed: {tour}"),
            MessageKind::BookingCancelled => format!("Booking {reference} cancelled: {tour}"),
            MessageKind::DepartureCancelled => {
                format!("Departure cancelled: {tour} (booking {reference})")
            }
            MessageKind::HoldExpired => format!("Your hold {reference} on {tour} expired"),
            MessageKind::BookingRescheduled => {
                format!("Booking {reference} moved: {tour}")
            }
            MessageKind::Reminder => {
                format!("Reminder: {tour} (booking {reference})")
            }
        };
        let ics = matches!(
            kind,
            MessageKind::BookingConfirmed | MessageKind::BookingRescheduled
        )
        .then(|| self.ics(now));
        Ok(Email {
            to: self.booking.customer.email.clone(),
            subject,
            text,
            html,
            ics,
        })
    }

    fn sms(&self, kind: MessageKind) -> Result<String, minijinja::Error> {
        environment()
            .get_template(&format!("sms/{}.txt", kind.as_str()))?
            .render(self.context())
    }

    /// The departure as an iCalendar event, in UTC; the UID is stable per booking so a calendar
    /// updates the same entry.
    fn ics(&self, now: DateTime<Utc>) -> String {
        /// TEXT values (RFC 5545 §3.3.11): line breaks of any kind become `\n`, and the
        /// separators are escaped, so operator text cannot start a property of its own.
        fn text(value: &str) -> String {
            value
                .replace("\r\n", "\n")
                .replace('\r', "\n")
                .replace('\\', "\\\\")
                .replace(';', "\\;")
                .replace(',', "\\,")
                .replace('\n', "\\n")
        }
        /// Content lines are folded at 75 octets (§3.1), never inside a character.
        fn fold(line: String) -> String {
            let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
            let mut width = 0;
            for ch in line.chars() {
                if width + ch.len_utf8() > 75 {
                    out.push_str("\r\n ");
                    width = 1;
                }
                out.push(ch);
                width += ch.len_utf8();
            }
            out
        }
        let stamp = |at: DateTime<Utc>| at.format("%Y%m%dT%H%M%SZ").to_string();
        let start = self.departure.occupancy.starts_at;
        let end = start + Duration::minutes(i64::from(self.tour.tour.duration_minutes));
        [
            "BEGIN:VCALENDAR".to_owned(),
            "VERSION:2.0".to_owned(),
            "PRODID:-//berth//bookings//EN".to_owned(),
            "METHOD:PUBLISH".to_owned(),
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}@berth", self.booking.id),
            format!("DTSTAMP:{}", stamp(now)),
            format!("DTSTART:{}", stamp(start)),
            format!("DTEND:{}", stamp(end)),
            format!("SUMMARY:{}", text(&self.tour.tour.name)),
            format!("LOCATION:{}", text(&self.tour.tour.meeting_point)),
            format!(
                "DESCRIPTION:{}",
                text(&format!(
                    "Booking {}: {}",
                    self.booking.reference, self.manage_link
                ))
            ),
            "END:VEVENT".to_owned(),
            "END:VCALENDAR".to_owned(),
        ]
        .into_iter()
        .map(fold)
        .collect::<Vec<_>>()
        .join("\r\n")
            + "\r\n"
    }
}

/// A booking's calendar entry, the one its confirmation email attaches (the manage page
/// offers it for download).
pub fn calendar_entry(
    booking: &BookingRecord,
    tour: &TourRecord,
    departure: &DepartureRecord,
    manage_link: String,
    now: DateTime<Utc>,
) -> String {
    let content = Content {
        booking,
        tour,
        departure,
        manage_link,
        refund: 0,
    };
    content.ics(now)
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
    by: &super::auth::Principal,
    id: &str,
) -> Result<OutboxRow, AppError> {
    let operator = &by.operator;
    let existing = outbox::get(store, operator, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let requeued = transaction!(store, |tx| {
        let requeued = outbox::retry(&mut tx, operator, id, now).await?;
        if requeued {
            let target = super::audit::Target::Message(id);
            super::audit::record(
                &mut tx,
                by,
                now,
                super::audit::Action::MessageRetry,
                target,
                None,
            )
            .await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::capacity::{DepartureStatus, Occupancy};
    use crate::domain::ids::{BookingRef, DepartureId, TourId};
    use crate::domain::records::Customer;
    use crate::domain::tour::{TourDraft, UnitDraft};

    #[test]
    fn the_calendar_entry_is_folded_escaped_and_stable() {
        let tour = TourDraft {
            name: "Sunset, wine; and a very long name that goes on and on well past the line limit"
                .into(),
            description: String::new(),
            meeting_point: "Pier 3".into(),
            timezone: "Europe/Lisbon".into(),
            duration_minutes: 90,
            currency: "EUR".into(),
            cutoff_minutes: 0,
            min_per_booking: 1,
            max_per_booking: 8,
            units: vec![UnitDraft {
                code: "adult".into(),
                label: "Adult".into(),
                price: 3500,
            }],
            cancellation_policy: Vec::new(),
            reschedule_allowed: true,
        }
        .validate();
        // The meeting point's control characters are refused at validation; build it directly.
        let mut tour = tour.unwrap_or_else(|_| panic!("valid tour"));
        tour.meeting_point = "Pier 3\r\nX-INJECTED:1".into();
        let now = Utc::now();
        let tour = TourRecord {
            id: TourId::generate(),
            operator_id: OperatorId::generate(),
            tour,
            created_at: now,
            updated_at: now,
        };
        let starts_at = "2027-03-28T08:00:00Z".parse().unwrap();
        let departure = DepartureRecord {
            id: DepartureId::generate(),
            tour_id: tour.id.clone(),
            schedule_id: None,
            occupancy: Occupancy {
                starts_at,
                status: DepartureStatus::Scheduled,
                capacity: 5,
                seats_taken: 1,
                seats_expired: 0,
            },
        };
        let booking = BookingRecord {
            id: BookingId::generate(),
            reference: BookingRef::generate(),
            access_token_hash: String::new(),
            departure_id: departure.id.clone(),
            tour_id: tour.id.clone(),
            operator_id: tour.operator_id.clone(),
            status: BookingStatus::Confirmed,
            seats: 1,
            total: 3500,
            currency: "EUR".into(),
            customer: Customer {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                phone: None,
            },
            expires_at: None,
            cancel_reason: None,
            created_at: now,
            updated_at: now,
            items: Vec::new(),
        };
        let keys = crate::secrets::Keyring::new(b"test key of thirty-two bytes or more");
        let content = Content::new(&booking, &tour, &departure, "https://book.example", &keys);
        let ics = content.ics(now);
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.split("\r\n").all(|line| line.len() <= 75), "{ics}");
        assert!(
            !ics.split("\r\n").any(|line| line.starts_with("X-INJECTED")),
            "{ics}"
        );
        assert!(ics.contains("LOCATION:Pier 3\\nX-INJECTED:1"));
        assert!(ics.contains("SUMMARY:Sunset\\, wine\\; and"));
        assert!(ics.contains(&format!("UID:{}@berth", booking.id)));
        assert!(ics.contains("DTSTART:20270328T080000Z") && ics.contains("DTEND:20270328T093000Z"));
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("well past the line limit"));
        assert_eq!(
            ics,
            content.ics(now),
            "the same booking renders the same entry"
        );
    }
}
