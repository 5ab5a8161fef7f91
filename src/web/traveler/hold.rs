//! `GET /book/hold/{reference}`: a hold made through the booking form, opened with the access
//! token this browser keeps in a cookie. What it shows follows the booking:
//! - held: the countdown and the payment (offline: "reserve, pay on arrival", confirmed through
//!   `service::bookings::confirm` like `POST /v1/bookings/{ref}/confirm`; Stripe: the Payment
//!   Element with the client secret of the hold's PaymentIntent; the webhook confirms);
//! - confirmed: the confirmation, with the reference and an `.ics` for the calendar;
//! - lapsed, or released after a failed payment: the booking form again, filled in.

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::context;
use rocket::http::CookieJar;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};
use serde::Serialize;

use super::booking::{self, BookingForm, FormPage, PromoView};
use super::failure::{self, Notice};
use super::CalendarFile;
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::booking::{BookingStatus, CancelReason};
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::http::rate_limit::RateLimited;
use crate::service::bookings::{self as booking_service, Caller};
use crate::service::payments::{self, PaymentSummary};
use crate::service::{catalogue, operators};
use crate::storage::Store;
use crate::web::{CsrfForm, Page, PageSettings, WebError};

/// The booking this browser holds the access token of (anything else: 404, as in the API).
async fn accessible(
    store: &Store,
    cookies: &CookieJar<'_>,
    reference: &str,
) -> Result<(BookingRecord, Caller), AppError> {
    let caller = Caller {
        access_token: booking::access_token(cookies, reference),
        operator: None,
        traveler_of: None,
    };
    if caller.access_token.is_none() {
        return Err(AppError::NotFound);
    }
    let record = booking_service::get(store, reference, &caller).await?;
    Ok((record, caller))
}

#[derive(Serialize)]
struct HoldView {
    reference: String,
    tour_name: String,
    tour_path: String,
    meeting_point: String,
    date: String,
    local_time: String,
    starts_at: String,
    zone: String,
    currency: String,
    /// After the promo code's discount, if any: what the traveler pays.
    total: i64,
    /// The items' prices, before the discount.
    subtotal: i64,
    promo: Option<PromoView>,
    seats: u32,
    lines: Vec<LineView>,
    name: String,
    email: String,
    expires_at: Option<String>,
    expires_local: Option<String>,
    seconds_left: i64,
    /// `offline` or `stripe`.
    provider: String,
    payment_status: String,
    client_secret: Option<String>,
    publishable_key: Option<String>,
}

#[derive(Serialize)]
struct LineView {
    label: String,
    quantity: u32,
    amount: i64,
}

#[get("/book/hold/<reference>")]
pub async fn hold_page(
    _rate: RateLimited,
    reference: &str,
    cookies: &CookieJar<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    settings: &State<PageSettings>,
) -> Result<Page, WebError> {
    let now = clock.now();
    let (record, _) = accessible(store, cookies, reference).await?;
    show(store, settings, now, record).await
}

/// The page for a booking as it stands now.
async fn show(
    store: &Store,
    settings: &PageSettings,
    now: DateTime<Utc>,
    record: BookingRecord,
) -> Result<Page, WebError> {
    let (tour, departure) = catalogue::departure(store, now, &record.departure_id).await?;
    let ended = match record.effective_status(now) {
        BookingStatus::Expired => Some(Notice::HoldExpired),
        BookingStatus::Cancelled
            if [CancelReason::PaymentFailed, CancelReason::PaymentCanceled]
                .iter()
                .any(|r| record.cancel_reason.as_deref() == Some(r.as_str())) =>
        {
            Some(Notice::PaymentFailed)
        }
        _ => None,
    };
    let framing = operators::embed_origins(store, &tour.operator_id).await?;
    if let Some(notice) = ended {
        // The traveler's choices and details, kept, on a form that can hold again.
        let form = BookingForm::from_booking(&record);
        return Ok(FormPage::new(&tour, &departure, now, form)
            .notice(notice)
            .framed_by(framing)
            .page());
    }
    let summary = payments::summary(store, &record).await?;
    let publishable_key = match payments::publishable_key(store, &record.id).await? {
        Some(own) => Some(own),
        None => settings.stripe_publishable_key.clone(),
    };
    let tz = tour.tour.timezone;
    let local = departure.occupancy.starts_at.with_timezone(&tz);
    let view = HoldView {
        reference: record.reference.to_string(),
        tour_name: tour.tour.name.clone(),
        tour_path: super::tour::path(&tour),
        meeting_point: tour.tour.meeting_point.clone(),
        date: local.date_naive().to_string(),
        local_time: local.format("%H:%M").to_string(),
        starts_at: local.to_rfc3339_opts(SecondsFormat::Secs, true),
        zone: tz.name().to_owned(),
        currency: record.currency.clone(),
        total: record.total,
        subtotal: record.subtotal(),
        promo: PromoView::of(&record),
        seats: record.seats,
        lines: record
            .items
            .iter()
            .map(|line| LineView {
                label: tour
                    .tour
                    .unit(&line.unit)
                    .map_or_else(|| line.unit.clone(), |u| u.label.clone()),
                quantity: line.quantity,
                amount: line.unit_price * i64::from(line.quantity),
            })
            .collect(),
        name: record.customer.name.clone(),
        email: record.customer.email.clone(),
        expires_at: record
            .expires_at
            .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        expires_local: record
            .expires_at
            .map(|at| at.with_timezone(&tz).format("%H:%M").to_string()),
        seconds_left: record
            .expires_at
            .map_or(0, |at| (at - now).num_seconds().max(0)),
        provider: summary.provider.clone(),
        payment_status: summary.status.clone(),
        client_secret: client_secret(&summary),
        publishable_key,
    };
    let page = match record.status {
        BookingStatus::Held if view.provider == "stripe" => {
            Page::new("traveler/pay.html", context! { page => view }).with_stripe()
        }
        BookingStatus::Held => Page::new("traveler/pay.html", context! { page => view }),
        BookingStatus::Confirmed | BookingStatus::CheckedIn => {
            Page::new("traveler/confirmed.html", context! { page => view })
        }
        _ => Page::new("traveler/ended.html", context! { page => view }),
    };
    Ok(page.framed_by(framing))
}

/// The client secret, while the PaymentIntent can still be paid.
fn client_secret(summary: &PaymentSummary) -> Option<String> {
    let payable = [
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ];
    summary
        .client_secret
        .clone()
        .filter(|_| payable.contains(&summary.status.as_str()))
}

/// The confirm form: its CSRF token (checked by [`CsrfForm`]) and the button.
#[derive(rocket::form::FromForm)]
pub struct ConfirmForm {
    #[expect(
        dead_code,
        reason = "the button's name; the form needs one field to derive"
    )]
    confirm: String,
}

/// "Reserve, pay on arrival": confirms the hold, then shows the confirmation. Confirming twice
/// (a double-click) shows the same confirmation.
#[post("/book/hold/<reference>/confirm", data = "<_form>")]
pub async fn confirm(
    _rate: RateLimited,
    reference: &str,
    _form: CsrfForm<ConfirmForm>,
    cookies: &CookieJar<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    settings: &State<PageSettings>,
) -> Result<Either<Redirect, Page>, WebError> {
    let now = clock.now();
    let (record, caller) = accessible(store, cookies, reference).await?;
    let to_page = Redirect::to(format!("{}/hold/{}", booking::BASE, record.reference));
    match booking_service::confirm(store, now, reference, &caller).await {
        Ok(_) => Ok(Either::Left(to_page)),
        // Already confirmed (a second click), or paid online: the page says how it stands.
        Err(AppError::InvalidTransition { .. } | AppError::PaymentRequired) => {
            Ok(Either::Left(to_page))
        }
        Err(AppError::HoldExpired) => {
            let (record, _) = accessible(store, cookies, reference).await?;
            Ok(Either::Right(show(store, settings, now, record).await?))
        }
        Err(error) => {
            let outcome = failure::classify(&error);
            if outcome.status.code >= 500 {
                return Err(error.into());
            }
            Ok(Either::Right(show(store, settings, now, record).await?))
        }
    }
}

/// `GET /book/hold/{reference}/calendar.ics`, for a confirmed booking.
#[get("/book/hold/<reference>/calendar.ics")]
pub async fn calendar_file(
    _rate: RateLimited,
    reference: &str,
    cookies: &CookieJar<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<CalendarFile, WebError> {
    let now = clock.now();
    let (record, _) = accessible(store, cookies, reference).await?;
    if !matches!(
        record.status,
        BookingStatus::Confirmed | BookingStatus::CheckedIn
    ) {
        return Err(WebError(AppError::NotFound));
    }
    let (tour, departure) = catalogue::departure(store, now, &record.departure_id).await?;
    Ok(CalendarFile::new(
        config,
        now,
        &record,
        &tour,
        &departure,
        format!("berth-{}.ics", record.reference),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_secret_is_shown_only_while_the_intent_can_be_paid() {
        let mut summary = PaymentSummary::new_hold(None);
        summary.client_secret = Some("pi_1_secret_2".into());
        summary.status = "requires_payment_method".into();
        assert_eq!(client_secret(&summary).as_deref(), Some("pi_1_secret_2"));
        summary.status = "succeeded".into();
        assert_eq!(client_secret(&summary), None);
    }
}
