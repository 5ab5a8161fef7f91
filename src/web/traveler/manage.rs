//! The traveler's manage page, opened by the link in every message about a booking
//! (`/manage/{reference}/{token}`, see `service::manage_link`): the booking with its items,
//! total, payment and refunds; its calendar entry; cancelling after seeing what the policy
//! refunds now; moving it to another departure of the tour; completing a hold berth placed for
//! the traveler (a waitlist offer) on the booking pages. Forms post to the same path and call the
//! same service functions as the API; the link stands in for the booking token.

use chrono::{DateTime, Utc};
use minijinja::context;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::response::{self, Redirect, Responder};
use rocket::{get, post, Either, Request, State};
use serde::Serialize;

use super::booking::PromoView;
use super::CalendarFile;
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::ids::BookingRef;
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::domain::reschedule::CancellationQuote;
use crate::error::AppError;
use crate::http::rate_limit::RateLimited;
use crate::service::bookings::Caller;
use crate::service::manage_link::{self, Verdict};
use crate::service::payments::{self, PaymentSummary, Payments};
use crate::service::reschedule::{self as moves, RescheduleRequest};
use crate::service::{bookings, catalogue, holds};
use crate::storage::{departures, Store};
use crate::web::{once, CookieContext, CsrfForm, Page, WebError};

/// How far ahead the page offers departures to move to.
const TARGET_DAYS: i64 = 92;

/// A booking opened through a valid manage link, with the caller that link makes.
struct Opened {
    booking: BookingRecord,
    caller: Caller,
    token: String,
}

/// A link that does not open a booking: 404 for a wrong one, 410 for an outdated one, as a
/// page that says so (and nothing about the booking).
pub enum LinkError {
    Page(Page),
    App(WebError),
}

impl From<AppError> for LinkError {
    fn from(error: AppError) -> Self {
        LinkError::App(WebError(error))
    }
}

impl<'r> Responder<'r, 'static> for LinkError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match self {
            LinkError::Page(page) => page.respond_to(request),
            LinkError::App(error) => error.respond_to(request),
        }
    }
}

fn link_page(status: Status) -> LinkError {
    let expired = status == Status::Gone;
    LinkError::Page(
        Page::new("traveler/manage_link.html", context! { expired => expired }).status(status),
    )
}

async fn open(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    reference: &str,
    token: &str,
) -> Result<Opened, LinkError> {
    let Some(reference) = BookingRef::parse(reference) else {
        return Err(link_page(Status::NotFound));
    };
    match manage_link::verify(&config.keyring(), reference.as_str(), token, now) {
        Verdict::Valid => {}
        Verdict::Expired => return Err(link_page(Status::Gone)),
        Verdict::Invalid => return Err(link_page(Status::NotFound)),
    }
    let caller = Caller {
        traveler_of: Some(reference.clone()),
        ..Caller::default()
    };
    let booking = match bookings::get(store, reference.as_str(), &caller).await {
        Ok(booking) => booking,
        Err(AppError::NotFound) => return Err(link_page(Status::NotFound)),
        Err(error) => return Err(error.into()),
    };
    Ok(Opened {
        booking,
        caller,
        token: token.to_owned(),
    })
}

/// The page of the booking `reference`, opened with `token`; `done` names what just happened
/// (`cancelled`, `rescheduled`).
#[get("/manage/<reference>/<token>?<done>")]
pub async fn manage_page(
    _rate: RateLimited,
    reference: &str,
    token: &str,
    done: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<Page, LinkError> {
    let now = clock.now();
    let opened = open(store, config, now, reference, token).await?;
    let done = done.filter(|d| matches!(*d, "cancelled" | "rescheduled"));
    Ok(render(store, now, &opened, done, None).await?)
}

/// The booking's calendar entry: the one its confirmation email attaches.
#[get("/manage/<reference>/<token>/booking.ics")]
pub async fn calendar_entry(
    _rate: RateLimited,
    reference: &str,
    token: &str,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<CalendarFile, LinkError> {
    let now = clock.now();
    let opened = open(store, config, now, reference, token).await?;
    let (tour, departure) = context_of(store, now, &opened.booking).await?;
    Ok(CalendarFile::new(
        config,
        now,
        &opened.booking,
        &tour,
        &departure,
        format!("booking-{}.ics", opened.booking.reference),
    ))
}

/// The cancel button's form: `confirm` says the traveler saw the quote.
#[derive(FromForm)]
pub struct CancelForm {
    confirm: bool,
    #[field(default = String::new())]
    form_key: String,
}

/// Cancels the booking (the refund the page showed, per the tour's policy).
#[post("/manage/<reference>/<token>/cancel", data = "<form>")]
#[expect(clippy::too_many_arguments, reason = "one argument per request guard")]
pub async fn cancel(
    _rate: RateLimited,
    reference: &str,
    token: &str,
    form: CsrfForm<CancelForm>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
    payments: &State<Payments>,
) -> Result<Either<Redirect, Page>, LinkError> {
    let now = clock.now();
    let opened = open(store, config, now, reference, token).await?;
    if !form.0.confirm {
        return Err(AppError::invalid("confirm", "must be true").into());
    }
    // A double-click (or a reload of the post) leads where the first one did, not to "this
    // booking is already cancelled".
    let scope = format!("web:manage:{}:cancel", opened.booking.reference);
    let done = once::once(
        store,
        config,
        now,
        &scope,
        &form.0.form_key,
        "cancel",
        || async {
            bookings::cancel(store, payments, now, reference, &opened.caller).await?;
            Ok(format!(
                "{}/{}/{}?done=cancelled",
                manage_link::BASE,
                opened.booking.reference,
                opened.token
            ))
        },
    )
    .await;
    settle(store, now, &opened, done, None).await
}

/// Opens a live hold on this browser's booking page (`/book/hold/{reference}`), where it is paid
/// or confirmed like any hold: a hold berth placed for a traveler on a waiting line, whose access
/// token nobody received. A fresh token replaces the old one and is kept in the hold's cookie.
#[post("/manage/<reference>/<token>/complete", data = "<_form>")]
#[expect(clippy::too_many_arguments, reason = "one argument per request guard")]
pub async fn complete(
    _rate: RateLimited,
    reference: &str,
    token: &str,
    _form: CsrfForm<super::hold::ConfirmForm>,
    cookies: &CookieJar<'_>,
    cookie_context: CookieContext,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<Either<Redirect, Page>, LinkError> {
    let now = clock.now();
    let opened = open(store, config, now, reference, token).await?;
    let booking = &opened.booking;
    match holds::reissue_access_token(store, now, &booking.id).await? {
        Some(access) => {
            let reference = booking.reference.as_str();
            super::booking::remember(cookies, cookie_context, reference, &access);
            Ok(Either::Left(Redirect::to(format!(
                "{}/hold/{reference}",
                super::booking::BASE
            ))))
        }
        None => Ok(Either::Right(
            refused(store, now, &opened, AppError::HoldExpired, None).await?,
        )),
    }
}

#[derive(FromForm)]
pub struct RescheduleForm {
    departure_id: String,
    #[field(default = String::new())]
    form_key: String,
}

/// Moves the booking; on success the page reopens under the link for its new departure.
#[post("/manage/<reference>/<token>/reschedule", data = "<form>")]
pub async fn reschedule(
    _rate: RateLimited,
    reference: &str,
    token: &str,
    form: CsrfForm<RescheduleForm>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<Either<Redirect, Page>, LinkError> {
    let now = clock.now();
    let opened = open(store, config, now, reference, token).await?;
    let form = form.0;
    let chosen = form.departure_id.clone();
    // A double-click leads to the moved booking's page, as the first click did: the second
    // would otherwise find the booking already moved (or its old link superseded).
    let scope = format!("web:manage:{}:reschedule", opened.booking.reference);
    let moved = once::once(
        store,
        config,
        now,
        &scope,
        &form.form_key,
        &chosen,
        || async {
            let request = RescheduleRequest {
                departure_id: form.departure_id.clone(),
            };
            let moved = moves::reschedule(store, now, reference, &opened.caller, request).await?;
            let departure = departures::get(store, &moved.departure_id, now)
                .await?
                .ok_or(AppError::NotFound)?;
            let path = manage_link::path(&config.keyring(), &moved, &departure);
            Ok(format!("{path}?done=rescheduled"))
        },
    )
    .await;
    settle(store, now, &opened, moved, Some(chosen)).await
}

/// Where a cancel or move leads: the page it names, or this page again with why it was refused.
async fn settle(
    store: &Store,
    now: DateTime<Utc>,
    opened: &Opened,
    done: Result<String, AppError>,
    chosen: Option<String>,
) -> Result<Either<Redirect, Page>, LinkError> {
    match done {
        Ok(location) => Ok(Either::Left(Redirect::to(location))),
        Err(error) => Ok(Either::Right(
            refused(store, now, opened, error, chosen).await?,
        )),
    }
}

/// A refused cancel or move: the page again, with why (a rule's message, or the field), the
/// choice kept, and the status the API would answer. Server-side failures stay error pages.
async fn refused(
    store: &Store,
    now: DateTime<Utc>,
    opened: &Opened,
    error: AppError,
    chosen: Option<String>,
) -> Result<Page, LinkError> {
    let (status, code) = error.status_and_code();
    if status.code >= 500 || status == Status::NotFound {
        return Err(error.into());
    }
    let problem = Problem {
        code,
        message: error.to_string(),
        chosen,
    };
    let opened = Opened {
        booking: bookings::get(store, opened.booking.reference.as_str(), &opened.caller).await?,
        caller: opened.caller.clone(),
        token: opened.token.clone(),
    };
    Ok(render(store, now, &opened, None, Some(problem))
        .await?
        .status(status))
}

#[derive(Serialize)]
struct Problem {
    code: &'static str,
    message: String,
    /// The departure the traveler picked, kept selected.
    chosen: Option<String>,
}

async fn context_of(
    store: &Store,
    now: DateTime<Utc>,
    booking: &BookingRecord,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let tour = catalogue::tour(store, &booking.tour_id).await?;
    let departure = departures::get(store, &booking.departure_id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((tour, departure))
}

async fn render(
    store: &Store,
    now: DateTime<Utc>,
    opened: &Opened,
    done: Option<&str>,
    problem: Option<Problem>,
) -> Result<Page, AppError> {
    let booking = &opened.booking;
    let (tour, departure) = context_of(store, now, booking).await?;
    let summary = payments::summary(store, booking).await?;
    let (_, quote) =
        moves::cancellation_quote(store, now, booking.reference.as_str(), &opened.caller).await?;
    let status = booking.effective_status(now);
    let movable = tour.tour.reschedule_allowed
        && status == crate::domain::booking::BookingStatus::Confirmed
        && now < departure.occupancy.starts_at;
    let targets = if movable {
        moves::targets(store, now, &tour, booking, TARGET_DAYS).await?
    } else {
        Vec::new()
    };
    let base = format!(
        "{}/{}/{}",
        manage_link::BASE,
        booking.reference,
        opened.token
    );
    let mut view = ManageView::new(
        booking, &tour, &departure, &summary, quote, &targets, movable, base,
    );
    // A lapsed hold reads as expired straight away.
    view.status = status.as_str();
    Ok(Page::new(
        "traveler/manage.html",
        context! { page => view, done => done, problem => problem, form_key => once::new_key() },
    ))
}

#[derive(Serialize)]
struct ManageView {
    base: String,
    reference: String,
    status: &'static str,
    tour_name: String,
    meeting_point: String,
    zone: String,
    departure: When,
    items: Vec<ItemView>,
    /// After the promo code's discount, if any.
    total: i64,
    subtotal: i64,
    promo: Option<PromoView>,
    currency: String,
    payment: PaymentView,
    quote: QuoteView,
    movable: bool,
    targets: Vec<TargetView>,
    /// A hold's expiry, in the tour's zone (a hold berth placed from the waiting line is
    /// completed from this page).
    hold_until: Option<When>,
}

#[derive(Serialize)]
struct When {
    starts_at: String,
    date: String,
    time: String,
}

impl When {
    fn new(at: DateTime<Utc>, tour: &TourRecord) -> When {
        let local = at.with_timezone(&tour.tour.timezone);
        When {
            starts_at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            date: local.format("%Y-%m-%d").to_string(),
            time: local.format("%H:%M").to_string(),
        }
    }
}

#[derive(Serialize)]
struct ItemView {
    label: String,
    quantity: u32,
    unit_price: i64,
}

#[derive(Serialize)]
struct PaymentView {
    provider: String,
    status: String,
    paid: i64,
    refunded: i64,
    refund_pending: i64,
}

#[derive(Serialize)]
struct QuoteView {
    cancellable: bool,
    refund: i64,
    refund_percent: i64,
    refundable: i64,
}

#[derive(Serialize)]
struct TargetView {
    id: String,
    when: When,
    available: u32,
}

impl ManageView {
    #[expect(
        clippy::too_many_arguments,
        reason = "one view built from each part of the page"
    )]
    fn new(
        booking: &BookingRecord,
        tour: &TourRecord,
        departure: &DepartureRecord,
        summary: &PaymentSummary,
        quote: CancellationQuote,
        targets: &[DepartureRecord],
        movable: bool,
        base: String,
    ) -> ManageView {
        ManageView {
            base,
            reference: booking.reference.to_string(),
            status: booking.status.as_str(),
            tour_name: tour.tour.name.clone(),
            meeting_point: tour.tour.meeting_point.clone(),
            zone: tour.tour.timezone.name().to_owned(),
            departure: When::new(departure.occupancy.starts_at, tour),
            hold_until: booking.expires_at.map(|at| When::new(at, tour)),
            items: booking
                .items
                .iter()
                .map(|item| ItemView {
                    label: tour
                        .tour
                        .unit(&item.unit)
                        .map_or_else(|| item.unit.clone(), |u| u.label.clone()),
                    quantity: item.quantity,
                    unit_price: item.unit_price,
                })
                .collect(),
            total: booking.total,
            subtotal: booking.subtotal(),
            promo: PromoView::of(booking),
            currency: booking.currency.clone(),
            payment: PaymentView {
                provider: summary.provider.clone(),
                status: summary.status.clone(),
                paid: summary.paid,
                refunded: summary.refunded,
                refund_pending: summary.refund_pending,
            },
            quote: QuoteView {
                cancellable: quote.cancellable,
                refund: quote.refund,
                refund_percent: quote.refund_percent,
                refundable: quote.refundable,
            },
            movable,
            targets: targets
                .iter()
                .map(|d| TargetView {
                    id: d.id.to_string(),
                    when: When::new(d.occupancy.starts_at, tour),
                    available: d.occupancy.available(),
                })
                .collect(),
        }
    }
}
