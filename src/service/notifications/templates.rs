//! What travelers read: the email and SMS text of each message kind (minijinja templates) and
//! the calendar entry attached to confirmations.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike, Duration, Utc};
use fluent_bundle::FluentArgs;
use minijinja::{context, Environment, ErrorKind};

use crate::domain::ical;
use crate::domain::lang::Lang;
use crate::domain::message::MessageKind;
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::domain::waitlist::Entry;
use crate::embedded;
use crate::i18n::{format, Catalogue};
use crate::integrations::email::Email;

/// Everything a template may show.
pub(super) struct Content<'a> {
    booking: &'a BookingRecord,
    tour: &'a TourRecord,
    departure: &'a DepartureRecord,
    manage_link: String,
    /// Minor units refunded or being refunded; 0 for none.
    pub(super) refund: i64,
    /// The reseller that sold the booking: the traveler is told so, and changes go through it
    /// (no manage link).
    sold_by: Option<String>,
}

/// The message templates (`templates/email/`, `templates/sms/`, embedded) with the catalogue's
/// functions: every word comes from `locales/<lang>/messages.ftl` in the booking's language.
fn environment(catalogue: Arc<Catalogue>) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // HTML templates escape; text templates must not. Set before adding: minijinja decides a
    // template's escaping when it is added.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (folder, files) in [
        ("email", embedded::EMAIL_TEMPLATES),
        ("sms", embedded::SMS_TEMPLATES),
    ] {
        for (name, source) in files {
            env.add_template_owned(format!("{folder}/{name}"), *source)?;
        }
    }
    crate::i18n::add_template_functions(&mut env, catalogue);
    Ok(env)
}

/// The environment, built once: the templates are compiled in, so an error is a bug the unit
/// tests meet first.
fn shared_environment() -> Result<&'static Environment<'static>, minijinja::Error> {
    static SHARED: OnceLock<Environment<'static>> = OnceLock::new();
    if let Some(env) = SHARED.get() {
        return Ok(env);
    }
    let catalogue = Catalogue::shared()
        .map_err(|error| minijinja::Error::new(ErrorKind::InvalidOperation, error))?;
    let env = environment(catalogue)?;
    Ok(SHARED.get_or_init(|| env))
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
            sold_by: None,
        }
    }

    /// A booking a reseller sold: the messages name it and carry no manage link.
    pub(super) fn sold_by(&mut self, seller: Option<String>) {
        if seller.is_some() {
            self.manage_link = String::new();
        }
        self.sold_by = seller;
    }

    fn lang(&self) -> Lang {
        self.booking.customer.language
    }

    /// A catalogue message in the booking's language.
    fn message(&self, key: &str, args: &[(&str, String)]) -> Result<String, minijinja::Error> {
        message(self.lang(), key, args)
    }

    /// `at` in the tour's time zone, as the email says it (`short`: as an SMS does).
    fn local_time(&self, at: DateTime<Utc>, short: bool) -> Result<String, minijinja::Error> {
        local_time(self.lang(), self.tour, at, short)
    }

    fn context(&self) -> Result<minijinja::Value, minijinja::Error> {
        let lang = self.lang();
        let starts_at = self.departure.occupancy.starts_at;
        let local_start = self.local_time(starts_at, false)?;
        let local_start_short = self.local_time(starts_at, true)?;
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
        let currency = &self.booking.currency;
        Ok(context! {
            lang => lang.code(),
            customer_name => self.booking.customer.name,
            reference => self.booking.reference.to_string(),
            tour_name => self.tour.tour.name,
            meeting_point => self.tour.tour.meeting_point,
            local_start => local_start,
            local_start_short => local_start_short,
            items => items,
            total => format::money(self.booking.total, currency, lang),
            manage_link => self.manage_link,
            refund => (self.refund > 0).then(|| format::money(self.refund, currency, lang)),
            sold_by => self.sold_by,
            min_participants => self.departure.minimum(&self.tour.tour).map(|m| m.participants),
            hold_until => self.booking.expires_at.map(|at| self.local_time(at, false)).transpose()?,
            hold_until_short => self.booking.expires_at.map(|at| self.local_time(at, true)).transpose()?,
        })
    }

    pub(super) fn email(
        &self,
        kind: MessageKind,
        now: DateTime<Utc>,
    ) -> Result<Email, minijinja::Error> {
        let env = shared_environment()?;
        let context = self.context()?;
        let name = kind.as_str();
        let text = env
            .get_template(&format!("email/{name}.txt"))?
            .render(&context)?;
        let html = env
            .get_template(&format!("email/{name}.html"))?
            .render(&context)?;
        let subject_key = subject_key(kind);
        let subject = self.message(
            subject_key,
            &[
                ("reference", self.booking.reference.to_string()),
                ("tour", self.tour.tour.name.clone()),
            ],
        )?;
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
        shared_environment()?
            .get_template(&format!("sms/{}.txt", kind.as_str()))?
            .render(self.context()?)
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
            description: match (&self.sold_by, self.manage_link.as_str()) {
                (Some(seller), _) => format!("Booking {} ({seller})", self.booking.reference),
                (None, link) => format!("Booking {}: {link}", self.booking.reference),
            },
            cancelled: false,
        };
        ical::calendar("-//berth//bookings//EN", None, &[event], now)
    }
}

/// A catalogue message in `lang`.
fn message(lang: Lang, key: &str, args: &[(&str, String)]) -> Result<String, minijinja::Error> {
    let catalogue = Catalogue::shared()
        .map_err(|error| minijinja::Error::new(ErrorKind::InvalidOperation, error))?;
    let mut fluent = FluentArgs::new();
    for (name, value) in args {
        fluent.set(*name, value.clone());
    }
    Ok(catalogue.message(lang, key, Some(&fluent)))
}

/// `at` in `tour`'s time zone, as an email says it in `lang` (`short`: as an SMS does).
fn local_time(
    lang: Lang,
    tour: &TourRecord,
    at: DateTime<Utc>,
    short: bool,
) -> Result<String, minijinja::Error> {
    let tz = tour.tour.timezone;
    let local = at.with_timezone(&tz);
    let catalogue = Catalogue::shared()
        .map_err(|error| minijinja::Error::new(ErrorKind::InvalidOperation, error))?;
    let time = format::time(local.time(), lang);
    if short {
        return message(
            lang,
            "sms-when",
            &[
                ("day", local.day().to_string()),
                (
                    "month",
                    catalogue.message(lang, &format!("month-{}", local.month()), None),
                ),
                ("time", time),
            ],
        );
    }
    message(
        lang,
        "mail-when",
        &[
            (
                "date",
                format::date_long(local.date_naive(), lang, &catalogue),
            ),
            ("time", time),
            ("zone", tz.name().to_owned()),
        ],
    )
}

/// The catalogue key of each kind's email subject.
const fn subject_key(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::BookingConfirmed => "subject-booking-confirmed",
        MessageKind::BookingCancelled => "subject-booking-cancelled",
        MessageKind::DepartureCancelled => "subject-departure-cancelled",
        MessageKind::HoldExpired => "subject-hold-expired",
        MessageKind::BookingRescheduled => "subject-booking-rescheduled",
        MessageKind::Reminder => "subject-reminder",
        MessageKind::DepartureGuaranteed => "subject-departure-guaranteed",
        MessageKind::DepartureNotRunning => "subject-departure-not-running",
        MessageKind::WaitlistOffer => "subject-waitlist-offer",
        MessageKind::WaitlistClosed => "subject-waitlist-closed",
    }
}

/// Renders `kind`'s template in `folder` (`email`, `sms`) with extension `ext`.
fn render(
    kind: MessageKind,
    folder: &str,
    ext: &str,
    context: &minijinja::Value,
) -> Result<String, minijinja::Error> {
    shared_environment()?
        .get_template(&format!("{folder}/{}.{ext}", kind.as_str()))?
        .render(context)
}

/// What a traveler on a waiting line reads about it (no booking yet): the entry, with its
/// departure and tour as they stand.
pub(super) struct LineContent<'a> {
    pub(super) entry: &'a Entry,
    pub(super) tour: &'a TourRecord,
    pub(super) departure: &'a DepartureRecord,
}

impl LineContent<'_> {
    fn context(&self) -> Result<minijinja::Value, minijinja::Error> {
        let lang = self.entry.customer.language;
        let starts_at = self.departure.occupancy.starts_at;
        Ok(context! {
            lang => lang.code(),
            customer_name => self.entry.customer.name,
            tour_name => self.tour.tour.name,
            local_start => local_time(lang, self.tour, starts_at, false)?,
            local_start_short => local_time(lang, self.tour, starts_at, true)?,
            seats => self.entry.seats,
        })
    }

    pub(super) fn email(&self, kind: MessageKind) -> Result<Email, minijinja::Error> {
        let context = self.context()?;
        let subject = message(
            self.entry.customer.language,
            subject_key(kind),
            &[("tour", self.tour.tour.name.clone())],
        )?;
        Ok(Email {
            to: self.entry.customer.email.clone(),
            subject,
            text: render(kind, "email", "txt", &context)?,
            html: render(kind, "email", "html", &context)?,
            ics: None,
        })
    }

    pub(super) fn sms(&self, kind: MessageKind) -> Result<String, minijinja::Error> {
        render(kind, "sms", "txt", &self.context()?)
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
        sold_by: None,
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
    fn every_message_template_loads_and_uses_only_words_every_language_has() {
        let catalogue = Catalogue::shared().unwrap();
        environment(catalogue.clone()).expect("the message templates load");
        let mut used = 0;
        for files in [embedded::EMAIL_TEMPLATES, embedded::SMS_TEMPLATES] {
            for (name, source) in files {
                for key in crate::i18n::message_keys_in(source) {
                    used += 1;
                    for lang in Lang::ALL {
                        assert!(
                            catalogue.has(lang, key),
                            "{name}: {key} missing in {lang:?}"
                        );
                    }
                }
            }
        }
        assert!(used > 30, "only {used} message keys found");
    }

    #[test]
    fn every_message_kind_has_a_subject_and_templates_in_every_language() {
        let catalogue = Catalogue::shared().unwrap();
        let env = environment(catalogue.clone()).unwrap();
        for kind in MessageKind::ALL {
            for lang in Lang::ALL {
                assert!(
                    catalogue.has(lang, subject_key(kind)),
                    "{kind:?}: no subject in {lang:?}"
                );
            }
            for template in ["email/{}.txt", "email/{}.html", "sms/{}.txt"] {
                // A lapsed hold is told by email only (`storage::outbox::enqueue_event`).
                if kind == MessageKind::HoldExpired && template.starts_with("sms") {
                    continue;
                }
                let name = template.replace("{}", kind.as_str());
                assert!(env.get_template(&name).is_ok(), "{name} is missing");
            }
        }
    }

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
            min_participants: 0,
            decision_hours: 48,
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
            archived_at: None,
            price_rules: Vec::new(),
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
                resource_room: None,
                held_for_waitlist: 0,
            },
            min_participants: None,
            decision_hours: None,
            guaranteed_at: None,
            own_prices: None,
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
            promo: None,
            customer: Customer {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                phone: None,
                language: Lang::En,
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
