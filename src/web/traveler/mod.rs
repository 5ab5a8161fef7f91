//! Pages for travelers: the tour page with its calendar, booking a departure (or joining a
//! sold-out one's waiting line), and the manage-booking page every message links to (the widget
//! comes next, on the same foundation).

pub mod booking;
pub mod calendar;
pub mod failure;
pub mod hold;
pub mod manage;
pub mod policy;
pub mod tour;
pub mod waitlist;

use chrono::{DateTime, Utc};
use rocket::http::{ContentType, Header};
use rocket::response::{self, Responder};
use rocket::{Request, Response};

use crate::config::AppConfig;
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::service::{manage_link, notifications};

/// A booking's calendar entry as an `.ics` download: the one its confirmation email attaches,
/// with the link to its manage page.
pub struct CalendarFile {
    name: String,
    body: String,
}

impl CalendarFile {
    /// The entry of `booking`, downloaded as `name`.
    pub fn new(
        config: &AppConfig,
        now: DateTime<Utc>,
        booking: &BookingRecord,
        tour: &TourRecord,
        departure: &DepartureRecord,
        name: String,
    ) -> CalendarFile {
        let link = manage_link::url(config.public_url(), &config.keyring(), booking, departure);
        CalendarFile {
            name,
            body: notifications::calendar_entry(booking, tour, departure, link, now),
        }
    }
}

impl<'r> Responder<'r, 'static> for CalendarFile {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .header(ContentType::new("text", "calendar").with_params(("charset", "utf-8")))
            .header(Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.name),
            ))
            .header(Header::new("Cache-Control", "no-store"))
            .sized_body(self.body.len(), std::io::Cursor::new(self.body))
            .ok()
    }
}
