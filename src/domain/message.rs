//! Messages to travelers: what kinds exist, on which channels, and how failed sends back off.

use chrono::{DateTime, Duration, Utc};

/// Why a traveler hears from berth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    BookingConfirmed,
    BookingCancelled,
    DepartureCancelled,
    /// Sent a fixed time before departure to travelers who booked before then.
    Reminder,
    /// Email only, and only when the operator of the server turned it on.
    HoldExpired,
    /// The booking moved to another departure of its tour (one message per move).
    BookingRescheduled,
    /// The departure reached its minimum of participants: it will run.
    DepartureGuaranteed,
    /// Too few booked by the decision time: the departure is cancelled, refunded in full.
    DepartureNotRunning,
    /// Seats freed up for a traveler on the waiting line: berth holds them, until the hold's
    /// expiry, for the traveler to complete the booking.
    WaitlistOffer,
    /// The departure a traveler waited for can no longer be sold (its cutoff passed, it
    /// departed, it is cancelled or its tour archived): no seats will free up for them. About a
    /// waiting-line entry, not a booking.
    WaitlistClosed,
}

impl MessageKind {
    pub const ALL: [MessageKind; 10] = [
        Self::BookingConfirmed,
        Self::BookingCancelled,
        Self::DepartureCancelled,
        Self::Reminder,
        Self::HoldExpired,
        Self::BookingRescheduled,
        Self::DepartureGuaranteed,
        Self::DepartureNotRunning,
        Self::WaitlistOffer,
        Self::WaitlistClosed,
    ];

    /// Stored spelling; also the template name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BookingConfirmed => "booking_confirmed",
            Self::BookingCancelled => "booking_cancelled",
            Self::DepartureCancelled => "departure_cancelled",
            Self::Reminder => "reminder",
            Self::HoldExpired => "hold_expired",
            Self::BookingRescheduled => "booking_rescheduled",
            Self::DepartureGuaranteed => "departure_guaranteed",
            Self::DepartureNotRunning => "departure_not_running",
            Self::WaitlistOffer => "waitlist_offer",
            Self::WaitlistClosed => "waitlist_closed",
        }
    }

    pub fn parse(text: &str) -> Option<MessageKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        [Self::Email, Self::Sms]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Where a message is: every message ends `sent`, `failed` (permanent error) or `dead` (gave up
/// after retries); none is ever dropped.
pub const STATUSES: [&str; 5] = ["pending", "sending", "sent", "failed", "dead"];

/// One event enqueues one message per channel, however often it is replayed.
pub fn dedupe_key(booking_id: &str, kind: MessageKind, channel: Channel) -> String {
    format!("{booking_id}:{}:{}", kind.as_str(), channel.as_str())
}

/// When to try again after `attempts` failed sends: 30 s doubling per attempt (capped at six
/// hours), plus up to half again of jitter (`jitter` in 0..1) so a recovered server is not hit by
/// every message at once.
pub fn next_attempt(now: DateTime<Utc>, attempts: u32, jitter: f64) -> DateTime<Utc> {
    let base = 30i64.saturating_mul(1i64 << attempts.min(20)).min(6 * 3600);
    let spread = (base as f64 * jitter.clamp(0.0, 1.0) / 2.0) as i64;
    now + Duration::seconds(base + spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let now = Utc::now();
        let delay = |attempts, jitter| (next_attempt(now, attempts, jitter) - now).num_seconds();
        assert_eq!(delay(0, 0.0), 30);
        assert_eq!(delay(1, 0.0), 60);
        assert_eq!(delay(3, 0.0), 240);
        assert_eq!(delay(3, 1.0), 360);
        assert_eq!(delay(30, 0.0), 6 * 3600);
    }

    #[test]
    fn spellings_round_trip() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Channel::parse("sms"), Some(Channel::Sms));
        assert_eq!(
            dedupe_key("B1", MessageKind::BookingConfirmed, Channel::Email),
            "B1:booking_confirmed:email"
        );
    }
}
