//! What travelers read: the email and SMS text of each message kind (minijinja templates) and
//! the calendar entry attached to confirmations.

use chrono::{DateTime, Duration, Utc};
use minijinja::{context, Environment};

use crate::domain::ical;
use crate::domain::message::MessageKind;
use crate::domain::money::format_amount;
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::integrations::email::Email;

/// Everything a template may show.
pub(super) struct Content<'a> {
    booking: &'a BookingRecord,
    tour: &'a TourRecord,
    departure: &'a DepartureRecord,
    manage_link: String,
    /// Minor units refunded or being refunded; 0 for none.
    pub(super) refund: i64,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let templates: [(&str, &str); 17] = [
        (
            "email/hold_expired.txt",
            include_str!("../../../templates/email/hold_expired.txt"),
        ),
        (
            "email/hold_expired.html",
            include_str!("../../../templates/email/hold_expired.html"),
        ),
        (
            "email/reminder.txt",
            include_str!("../../../templates/email/reminder.txt"),
        ),
        (
            "email/reminder.html",
            include_str!("../../../templates/email/reminder.html"),
        ),
        (
            "sms/reminder.txt",
            include_str!("../../../templates/sms/reminder.txt"),
        ),
        (
            "email/booking_confirmed.txt",
            include_str!("../../../templates/email/booking_confirmed.txt"),
        ),
        (
            "email/booking_confirmed.html",
            include_str!("../../../templates/email/booking_confirmed.html"),
        ),
        (
            "email/booking_cancelled.txt",
            include_str!("../../../templates/email/booking_cancelled.txt"),
        ),
        (
            "email/booking_cancelled.html",
            include_str!("../../../templates/email/booking_cancelled.html"),
        ),
        (
            "email/departure_cancelled.txt",
            include_str!("../../../templates/email/departure_cancelled.txt"),
        ),
        (
            "email/departure_cancelled.html",
            include_str!("../../../templates/email/departure_cancelled.html"),
        ),
        (
            "sms/booking_confirmed.txt",
            include_str!("../../../templates/sms/booking_confirmed.txt"),
        ),
        (
            "sms/booking_cancelled.txt",
            include_str!("../../../templates/sms/booking_cancelled.txt"),
        ),
        (
            "sms/departure_cancelled.txt",
            include_str!("../../../templates/sms/departure_cancelled.txt"),
        ),
        (
            "email/booking_rescheduled.txt",
            include_str!("../../../templates/email/booking_rescheduled.txt"),
        ),
        (
            "email/booking_rescheduled.html",
            include_str!("../../../templates/email/booking_rescheduled.html"),
        ),
        (
            "sms/booking_rescheduled.txt",
            include_str!("../../../templates/sms/booking_rescheduled.txt"),
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
    pub(super) fn new(
        booking: &'a BookingRecord,
        tour: &'a TourRecord,
        departure: &'a DepartureRecord,
        public_url: &str,
        keys: &crate::secrets::Keyring,
    ) -> Self {
        let manage_link = crate::service::manage_link::url(public_url, keys, booking, departure);
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

    pub(super) fn email(
        &self,
        kind: MessageKind,
        now: DateTime<Utc>,
    ) -> Result<Email, minijinja::Error> {
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

    pub(super) fn sms(&self, kind: MessageKind) -> Result<String, minijinja::Error> {
        environment()
            .get_template(&format!("sms/{}.txt", kind.as_str()))?
            .render(self.context())
    }

    /// The departure as an iCalendar event, in UTC; the UID is stable per booking so a calendar
    /// updates the same entry.
    fn ics(&self, now: DateTime<Utc>) -> String {
        let start = self.departure.occupancy.starts_at;
        let event = ical::Event {
            uid: format!("{}@berth", self.booking.id),
            start,
            end: start + Duration::minutes(i64::from(self.tour.tour.duration_minutes)),
            summary: self.tour.tour.name.clone(),
            location: self.tour.tour.meeting_point.clone(),
            description: format!("Booking {}: {}", self.booking.reference, self.manage_link),
            cancelled: false,
        };
        ical::calendar("-//berth//bookings//EN", None, &[event], now)
    }
}

/// A booking's calendar entry, the one its confirmation email attaches (the confirmation and
/// manage pages offer it for download).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;
    use crate::domain::capacity::{DepartureStatus, Occupancy};
    use crate::domain::ids::{BookingId, OperatorId};
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
