//! Outbound webhooks (issue 20), the pure parts: the Standard Webhooks signature
//! (standardwebhooks.com) that lets receivers verify an event with any of that specification's
//! libraries, and which network addresses an operator's endpoint may never reach (SSRF).
//! Also what an event says (its type and payload), how long berth keeps trying, and which URLs
//! an operator may register. Delivery, storage and the API build on these.

mod signature;
mod target;

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::booking::BookingStatus;
use super::records::{BookingRecord, DepartureRecord};

pub use signature::{signature_header, SigningSecret};
pub use target::{forbidden, TargetPolicy};

/// How long berth keeps retrying one delivery (and how long an endpoint may fail without a
/// single success before it is disabled): about three days.
pub const DELIVERY_WINDOW: Duration = Duration::hours(72);

/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// How long the delivery log keeps an attempt.
pub const ATTEMPT_RETENTION: Duration = Duration::days(30);

/// At most one `availability.changed` per departure in this long.
pub const AVAILABILITY_DEBOUNCE: Duration = Duration::seconds(1);

/// Endpoints per operator.
pub const MAX_ENDPOINTS: usize = 20;

/// Longest URL accepted.
pub const MAX_URL_LENGTH: usize = 2048;

/// What happened. Receivers subscribe to types by their spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    BookingHeld,
    BookingConfirmed,
    BookingCancelled,
    BookingExpired,
    BookingCheckedIn,
    BookingRescheduled,
    BookingRefunded,
    DepartureCreated,
    DepartureChanged,
    DepartureCancelled,
    /// A departure's seats, capacity or status changed; at most one per departure per
    /// [`AVAILABILITY_DEBOUNCE`], carrying the latest numbers.
    AvailabilityChanged,
    /// Sent on request to one endpoint (`POST …/test`); never subscribed to.
    Test,
}

impl EventType {
    /// The types an endpoint may subscribe to.
    pub const SUBSCRIBABLE: [EventType; 11] = [
        EventType::BookingHeld,
        EventType::BookingConfirmed,
        EventType::BookingCancelled,
        EventType::BookingExpired,
        EventType::BookingCheckedIn,
        EventType::BookingRescheduled,
        EventType::BookingRefunded,
        EventType::DepartureCreated,
        EventType::DepartureChanged,
        EventType::DepartureCancelled,
        EventType::AvailabilityChanged,
    ];

    /// The spelling on the wire and in subscriptions; never change an existing one.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::BookingHeld => "booking.held",
            EventType::BookingConfirmed => "booking.confirmed",
            EventType::BookingCancelled => "booking.cancelled",
            EventType::BookingExpired => "booking.expired",
            EventType::BookingCheckedIn => "booking.checked_in",
            EventType::BookingRescheduled => "booking.rescheduled",
            EventType::BookingRefunded => "booking.refunded",
            EventType::DepartureCreated => "departure.created",
            EventType::DepartureChanged => "departure.changed",
            EventType::DepartureCancelled => "departure.cancelled",
            EventType::AvailabilityChanged => "availability.changed",
            EventType::Test => "webhook.test",
        }
    }

    /// A subscribable type from its spelling.
    pub fn parse(text: &str) -> Option<EventType> {
        EventType::SUBSCRIBABLE
            .into_iter()
            .find(|t| t.as_str() == text)
    }

    /// The event a booking's move to `status` is.
    pub const fn of_status(status: BookingStatus) -> EventType {
        match status {
            BookingStatus::Held => EventType::BookingHeld,
            BookingStatus::Confirmed => EventType::BookingConfirmed,
            BookingStatus::CheckedIn => EventType::BookingCheckedIn,
            BookingStatus::Expired => EventType::BookingExpired,
            BookingStatus::Cancelled => EventType::BookingCancelled,
        }
    }
}

/// The subscription list an operator sends: known types, each once, at least one.
pub fn parse_event_types(types: &[String]) -> Result<Vec<EventType>, String> {
    if types.is_empty() {
        return Err("name at least one event type".to_owned());
    }
    let mut parsed = Vec::new();
    for text in types {
        let kind = EventType::parse(text.trim()).ok_or_else(|| {
            let known: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|t| t.as_str()).collect();
            format!("unknown event type {text:?}; known: {}", known.join(", "))
        })?;
        if !parsed.contains(&kind) {
            parsed.push(kind);
        }
    }
    Ok(parsed)
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An event's body, the exact bytes that are signed and sent (on every retry and replay):
/// `{"type", "id", "timestamp", "data"}`. A booking's data carries what the operator API shows
/// of it without the traveler's name, email or phone, its access token or its payment, and its
/// `sequence`: it grows with each event of that booking, so receivers can reorder.
pub fn booking_payload(
    event_id: &str,
    kind: EventType,
    at: DateTime<Utc>,
    booking: &BookingRecord,
    sequence: i64,
    refund: Option<(&str, i64)>,
) -> String {
    let items: Vec<serde_json::Value> = booking
        .items
        .iter()
        .map(|line| {
            serde_json::json!({
                "unit": line.unit, "quantity": line.quantity, "unit_price": line.unit_price,
            })
        })
        .collect();
    let mut data = serde_json::json!({
        "booking": {
            "reference": booking.reference.to_string(),
            "status": booking.status.as_str(),
            "expires_at": booking.expires_at.map(timestamp),
            "departure_id": booking.departure_id.to_string(),
            "tour_id": booking.tour_id.to_string(),
            "items": items,
            "seats": booking.seats,
            "total": booking.total,
            "currency": booking.currency,
            "cancel_reason": booking.cancel_reason,
            "created_at": timestamp(booking.created_at),
            "updated_at": timestamp(booking.updated_at),
        },
        "sequence": sequence,
    });
    if let Some((id, amount)) = refund {
        data["refund"] =
            serde_json::json!({"id": id, "amount": amount, "currency": booking.currency});
    }
    envelope(event_id, kind, at, data)
}

/// A departure event's body (also `availability.changed`'s): the departure as the API shows it
/// (`available` counts lapsed holds as free). `removed`: a cancelled departure that no booking ever named was deleted outright.
pub fn departure_payload(
    event_id: &str,
    kind: EventType,
    at: DateTime<Utc>,
    departure: &DepartureRecord,
    removed: bool,
) -> String {
    let occupancy = &departure.occupancy;
    let data = serde_json::json!({
        "departure": {
            "id": departure.id.to_string(),
            "tour_id": departure.tour_id.to_string(),
            "starts_at": timestamp(occupancy.starts_at),
            "capacity": occupancy.capacity,
            "available": occupancy.available(),
            "status": occupancy.status.as_str(),
            "removed": removed,
        },
    });
    envelope(event_id, kind, at, data)
}

/// The body of a test event.
pub fn test_payload(event_id: &str, at: DateTime<Utc>, endpoint_id: &str) -> String {
    envelope(
        event_id,
        EventType::Test,
        at,
        serde_json::json!({"endpoint_id": endpoint_id}),
    )
}

fn envelope(event_id: &str, kind: EventType, at: DateTime<Utc>, data: serde_json::Value) -> String {
    serde_json::json!({
        "type": kind.as_str(),
        "id": event_id,
        "timestamp": timestamp(at),
        "data": data,
    })
    .to_string()
}

/// When a failed delivery is tried again: 30 s doubling to at most 6 h, with up to 50 % jitter
/// (`jitter` in 0..=1), which makes about 19 attempts in [`DELIVERY_WINDOW`].
pub fn next_attempt(now: DateTime<Utc>, failed_attempts: u32, jitter: f64) -> DateTime<Utc> {
    super::message::next_attempt(now, failed_attempts.saturating_sub(1), jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_name_known_types_once() {
        let types = |list: &[&str]| {
            parse_event_types(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            types(&["booking.confirmed", "booking.held", "booking.confirmed"]).unwrap(),
            [EventType::BookingConfirmed, EventType::BookingHeld]
        );
        assert!(types(&[]).is_err());
        assert!(types(&["webhook.test"]).is_err(), "not subscribable");
        assert!(types(&["booking.exploded"])
            .unwrap_err()
            .contains("booking.held"));
        for kind in EventType::SUBSCRIBABLE {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
    }
}
