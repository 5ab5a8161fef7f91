//! Response bodies. Field names here are the public API contract.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::minimum::Standing;
use crate::domain::records::{BookingRecord, DepartureRecord, ScheduleRecord, TourRecord};

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[derive(Serialize, ToSchema)]
pub struct UnitView {
    pub code: String,
    pub label: String,
    pub price: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TourView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub meeting_point: String,
    pub timezone: String,
    pub duration_minutes: u32,
    pub currency: String,
    pub cutoff_minutes: u32,
    pub min_per_booking: u32,
    pub max_per_booking: u32,
    pub units: Vec<UnitView>,
    /// Refund rules for travelers' cancellations; empty: a full refund until departure.
    pub cancellation_policy: Vec<crate::domain::refund::RefundRule>,
    /// Whether travelers may move their booking to another departure of this tour themselves.
    pub reschedule_allowed: bool,
    /// Participants each departure needs to run (0: none); see guaranteed departures.
    pub min_participants: u32,
    /// How many hours before each departure berth decides whether it runs.
    pub decision_hours: u32,
    pub created_at: String,
    pub updated_at: String,
    /// When the tour was archived (no longer sold, not in the public catalogue); absent while
    /// it is on sale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
}

impl From<&TourRecord> for TourView {
    fn from(record: &TourRecord) -> Self {
        let tour = &record.tour;
        TourView {
            id: record.id.to_string(),
            name: tour.name.clone(),
            description: tour.description.clone(),
            meeting_point: tour.meeting_point.clone(),
            timezone: tour.timezone.name().to_owned(),
            duration_minutes: tour.duration_minutes,
            currency: tour.currency.to_string(),
            cutoff_minutes: tour.cutoff_minutes,
            min_per_booking: tour.min_per_booking,
            max_per_booking: tour.max_per_booking,
            units: tour
                .units
                .iter()
                .map(|u| UnitView {
                    code: u.code.clone(),
                    label: u.label.clone(),
                    price: u.price,
                })
                .collect(),
            cancellation_policy: tour.cancellation_policy.rules().to_vec(),
            reschedule_allowed: tour.reschedule_allowed,
            min_participants: tour.min_participants,
            decision_hours: tour.decision_hours,
            created_at: rfc3339(record.created_at),
            updated_at: rfc3339(record.updated_at),
            archived_at: record.archived_at.map(rfc3339),
        }
    }
}

#[derive(Clone, Serialize, ToSchema)]
pub struct PriceView {
    pub unit: String,
    pub label: String,
    pub price: i64,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct DepartureView {
    pub id: String,
    pub tour_id: String,
    pub starts_at: String,
    /// The start in the tour's time zone, with its UTC offset.
    pub local_starts_at: String,
    pub timezone: String,
    pub capacity: u32,
    pub available: u32,
    pub status: &'static str,
    pub prices: Vec<PriceView>,
    pub currency: String,
    /// Whether it runs: `scheduled` (no minimum of participants), `guaranteed` (decided),
    /// `minimum_reached` (enough seats held or booked now, decided at `decided_at` on confirmed
    /// seats), or `needs_participants` (it is cancelled unless `participants_needed` more book by
    /// `decided_at`).
    pub run_status: &'static str,
    /// With a minimum: how many it needs to run, how many more it needs now (seats held or
    /// booked count), and when berth decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_participants: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants_needed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

impl DepartureView {
    pub fn new(tour: &TourRecord, departure: &DepartureRecord, now: DateTime<Utc>) -> Self {
        let occupancy = &departure.occupancy;
        let tz = tour.tour.timezone;
        let minimum = departure.minimum(&tour.tour);
        let standing = departure.standing(&tour.tour);
        DepartureView {
            id: departure.id.to_string(),
            tour_id: tour.id.to_string(),
            starts_at: rfc3339(occupancy.starts_at),
            local_starts_at: occupancy
                .starts_at
                .with_timezone(&tz)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            timezone: tz.name().to_owned(),
            capacity: occupancy.capacity,
            available: occupancy.available(),
            status: occupancy
                .sales_status(tour.tour.cutoff_minutes, now)
                .as_str(),
            prices: {
                let at = departure.prices(tour);
                tour.tour
                    .units
                    .iter()
                    .map(|u| PriceView {
                        unit: u.code.clone(),
                        label: u.label.clone(),
                        price: at.get(&u.code).copied().unwrap_or(u.price),
                    })
                    .collect()
            },
            currency: tour.tour.currency.to_string(),
            run_status: run_status(standing),
            min_participants: minimum.map(|m| m.participants),
            participants_needed: standing.needs(),
            decided_at: minimum.map(|m| rfc3339(m.decision_at(occupancy.starts_at))),
        }
    }
}

/// The API's spelling of a departure's standing.
pub fn run_status(standing: Standing) -> &'static str {
    match standing {
        Standing::Scheduled => "scheduled",
        Standing::Guaranteed => "guaranteed",
        Standing::Reached => "minimum_reached",
        Standing::Needs(_) => "needs_participants",
    }
}

#[derive(Serialize, ToSchema)]
pub struct AvailabilityView {
    pub tour_id: String,
    pub timezone: String,
    pub departures: Vec<DepartureView>,
    /// Deprecated: the same list as `departures`, under its name before 0.2.
    #[schema(deprecated)]
    pub occurrences: Vec<DepartureView>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemView {
    pub unit: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// The language of the traveler's emails and SMS: `en` or `es`.
    pub language: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"reference": "K7M2Q9PX", "access_token": "bkt_…", "status": "held", "expires_at": "2027-05-01T08:15:00Z", "departure_id": "01JD3Z8Q4W7N5X2R6T9V0B1C3D", "tour_id": "01JD3Z7M2K8P4R6T9V0B1C3D5F", "items": [{"unit": "adult", "quantity": 2, "unit_price": 3500}], "seats": 2, "total": 7000, "currency": "EUR", "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": null, "language": "en"}, "created_at": "2027-05-01T08:00:00Z", "updated_at": "2027-05-01T08:00:00Z"}))]
pub struct BookingView {
    pub reference: String,
    /// Present only in the response that created the booking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    pub status: &'static str,
    pub expires_at: Option<String>,
    pub departure_id: String,
    /// Deprecated: `departure_id`, under its name before 0.2.
    #[schema(deprecated)]
    pub occurrence_id: String,
    pub tour_id: String,
    pub items: Vec<ItemView>,
    pub seats: u32,
    /// What is owed, in minor units: `subtotal - discount`.
    pub total: i64,
    /// The items' prices, frozen at hold time.
    pub subtotal: i64,
    /// What the promo code took off (0 without one).
    pub discount: i64,
    /// The promo code applied, normalized to upper case.
    pub promo_code: Option<String>,
    pub currency: String,
    pub customer: CustomerView,
    /// Why a cancelled booking was cancelled: `traveler`, `operator`, `departure_cancelled`,
    /// `payment_failed`, `payment_canceled`, `payment_unavailable`, `sold_out_after_payment`,
    /// `minimum_not_reached`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// How the booking is paid, and what was paid and refunded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentView>,
    pub created_at: String,
    pub updated_at: String,
}

/// A booking's payment. `client_secret` (Stripe) is shown to the traveler only: it lets
/// Stripe.js complete the payment.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"provider": "stripe", "status": "requires_payment_method", "client_secret": "pi_3N…_secret_…", "paid": 0, "refunded": 0, "refund_pending": 0}))]
pub struct PaymentView {
    /// `offline` (pay on arrival) or `stripe`.
    pub provider: String,
    /// Offline: `pay_on_arrival` or `paid`. Stripe: the PaymentIntent's status
    /// (`requires_payment_method`, `processing`, `succeeded`, `canceled`, …).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Minor units received, per the ledger.
    pub paid: i64,
    /// Minor units refunded (accepted by the provider), per the ledger.
    pub refunded: i64,
    /// Minor units of refunds decided but not yet accepted by the provider.
    pub refund_pending: i64,
}

impl PaymentView {
    pub fn new(summary: &crate::service::payments::PaymentSummary, show_secret: bool) -> Self {
        PaymentView {
            provider: summary.provider.clone(),
            status: summary.status.clone(),
            client_secret: summary.client_secret.clone().filter(|_| show_secret),
            paid: summary.paid,
            refunded: summary.refunded,
            refund_pending: summary.refund_pending,
        }
    }
}

impl BookingView {
    pub fn with_payment(
        mut self,
        summary: &crate::service::payments::PaymentSummary,
        show_secret: bool,
    ) -> Self {
        self.payment = Some(PaymentView::new(summary, show_secret));
        self
    }

    pub fn new(booking: &BookingRecord, now: DateTime<Utc>) -> Self {
        let status = booking.effective_status(now);
        BookingView {
            reference: booking.reference.to_string(),
            access_token: None,
            status: status.as_str(),
            expires_at: booking
                .expires_at
                .filter(|_| status == crate::domain::booking::BookingStatus::Held)
                .map(rfc3339),
            departure_id: booking.departure_id.to_string(),
            occurrence_id: booking.departure_id.to_string(),
            tour_id: booking.tour_id.to_string(),
            items: booking
                .items
                .iter()
                .map(|i| ItemView {
                    unit: i.unit.clone(),
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
            seats: booking.seats,
            total: booking.total,
            subtotal: booking.subtotal(),
            discount: booking.promo.as_ref().map_or(0, |promo| promo.discount),
            promo_code: booking.promo.as_ref().map(|promo| promo.code.clone()),
            currency: booking.currency.clone(),
            customer: CustomerView {
                name: booking.customer.name.clone(),
                email: booking.customer.email.clone(),
                phone: booking.customer.phone.clone(),
                language: booking.customer.language.code().to_owned(),
            },
            cancel_reason: booking
                .cancel_reason
                .clone()
                .filter(|_| status == crate::domain::booking::BookingStatus::Cancelled),
            payment: None,
            created_at: rfc3339(booking.created_at),
            updated_at: rfc3339(booking.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub tour_id: String,
    pub rrule: String,
    pub start_date: String,
    pub until: Option<String>,
    pub times: Vec<String>,
    pub exceptions: Vec<String>,
    pub capacity: u32,
    pub materialized_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub departures_created: Option<usize>,
    /// Deprecated: `departures_created`, under its name before 0.2.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    pub occurrences_created: Option<usize>,
}

impl ScheduleView {
    pub fn new(schedule: &ScheduleRecord, created: Option<usize>) -> Self {
        ScheduleView {
            id: schedule.id.to_string(),
            tour_id: schedule.tour_id.to_string(),
            rrule: schedule.rrule.clone(),
            start_date: schedule.start_date.clone(),
            until: schedule.until.clone(),
            times: schedule.times.clone(),
            exceptions: schedule.exceptions.clone(),
            capacity: schedule.capacity,
            materialized_until: schedule.materialized_until.map(rfc3339),
            departures_created: created,
            occurrences_created: created,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ManifestEntryView {
    pub reference: String,
    pub status: &'static str,
    pub seats: u32,
    pub items: Vec<ItemView>,
    pub total: i64,
    pub currency: String,
    pub customer: CustomerView,
}

#[derive(Serialize, ToSchema)]
pub struct ManifestView {
    pub departure: DepartureView,
    /// Deprecated: `departure`, under its name before 0.2.
    #[schema(deprecated)]
    pub occurrence: DepartureView,
    /// Seats held or booked on the whole departure (every page, not only this one).
    pub seats_taken: u64,
    /// Bookings on the whole departure (every page).
    pub bookings_total: u64,
    /// Seats checked in on the whole departure.
    pub seats_checked_in: u64,
    /// This page's bookings, oldest first.
    pub bookings: Vec<ManifestEntryView>,
    /// Present when more bookings follow: send it as `cursor` for the next page; null on the
    /// last page.
    pub next_cursor: Option<String>,
}

impl ManifestEntryView {
    pub fn new(booking: &BookingRecord, now: DateTime<Utc>) -> Self {
        let view = BookingView::new(booking, now);
        ManifestEntryView {
            reference: view.reference,
            status: view.status,
            seats: view.seats,
            items: view.items,
            total: view.total,
            currency: view.currency,
            customer: view.customer,
        }
    }
}

/// One CSV cell of text someone typed: quoted when it holds a separator, and prefixed with `'`
/// when a spreadsheet would run it as a formula (CSV injection).
pub fn csv_cell(value: &str) -> String {
    // `+` then digits only is an E.164 phone number, which a spreadsheet shows as a number.
    let phone = value
        .strip_prefix('+')
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !phone {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A manifest as CSV for printing starts with this line.
pub const MANIFEST_CSV_HEADER: &str = "reference,status,seats,items,name,email,phone\r\n";

/// Appends one CSV line per booking of a manifest (read a chunk at a time). Cells that a
/// spreadsheet would run as a formula are prefixed with `'` (CSV injection).
pub fn push_manifest_csv_rows(out: &mut String, bookings: &[BookingRecord], now: DateTime<Utc>) {
    let cell = csv_cell;
    for booking in bookings {
        let items: Vec<String> = booking
            .items
            .iter()
            .map(|i| format!("{} x{}", i.unit, i.quantity))
            .collect();
        let row = [
            booking.reference.to_string(),
            booking.effective_status(now).as_str().to_owned(),
            booking.seats.to_string(),
            items.join("; "),
            booking.customer.name.clone(),
            booking.customer.email.clone(),
            booking.customer.phone.clone().unwrap_or_default(),
        ];
        let cells: Vec<String> = row.iter().map(|v| cell(v)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
}
