//! A departure in the console: its manifest (printable, with a CSV download) and check-in, built
//! for a guide's phone at the pier: search by name or reference, one large button per booking.

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::http::ContentType;
use rocket::response::Redirect;
use rocket::{get, post, State};

use super::{frame, Console};
use crate::clock::Clock;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::DepartureId;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::http::guards::Guide;
use crate::http::rate_limit::RateLimited;
use crate::service::{bookings, catalogue};
use crate::storage::Store;
use crate::web::{CsrfForm, Page, WebError};

fn departure_id(id: &str) -> Result<DepartureId, AppError> {
    DepartureId::parse(id).ok_or(AppError::NotFound)
}

/// Whether a booking matches what the guide typed: part of the traveler's name or of the
/// reference, in any letter case.
fn matches(booking: &BookingRecord, query: &str) -> bool {
    let query = query.trim().to_lowercase();
    query.is_empty()
        || booking.customer.name.to_lowercase().contains(&query)
        || booking
            .reference
            .to_string()
            .to_lowercase()
            .contains(&query)
}

/// The catalogue key that names a booking's state on the manifest.
pub fn status_key(status: BookingStatus) -> String {
    format!("console-status-{}", status.as_str())
}

/// `GET /console/departures/<id>?q=…`: the manifest, filtered by `q`. Every role.
#[get("/console/departures/<id>?<q>&<checked>")]
pub async fn manifest(
    _rate: RateLimited,
    user: Console<Guide>,
    id: &str,
    q: Option<&str>,
    checked: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let now = clock.now();
    let (tour, departure, list) =
        catalogue::manifest(store, now, &principal.operator, &departure_id(id)?).await?;
    let query = q.unwrap_or_default();
    let tz = tour.tour.timezone;
    let rows: Vec<Value> = list
        .iter()
        .filter(|b| matches(b, query))
        .map(|b| {
            let items: Vec<String> = b
                .items
                .iter()
                .map(|i| format!("{} × {}", i.quantity, i.unit))
                .collect();
            let status = b.effective_status(now);
            context! {
                reference => b.reference.to_string(),
                name => b.customer.name,
                phone => b.customer.phone,
                seats => b.seats,
                items => items.join(", "),
                status => status.as_str(),
                status_key => status_key(status),
                can_check_in => status == BookingStatus::Confirmed,
            }
        })
        .collect();
    let starts = departure.occupancy.starts_at.with_timezone(&tz);
    let seats_taken: u32 = list.iter().map(|b| b.seats).sum();
    let checked_in: u32 = list
        .iter()
        .filter(|b| b.status == BookingStatus::CheckedIn)
        .map(|b| b.seats)
        .sum();
    Ok(Page::new(
        "console/departure.html",
        context! {
            console => frame(store, &principal, "").await,
            departure => context! {
                id => departure.id.as_str(),
                tour => tour.tour.name,
                date => starts.date_naive().to_string(),
                time => starts.format("%H:%M").to_string(),
                timezone => tz.name(),
                capacity => departure.occupancy.capacity,
                seats_taken => seats_taken,
                checked_in => checked_in,
            },
            query => query,
            checked => checked,
            bookings => rows,
            listed => list.len(),
        },
    ))
}

/// `GET /console/departures/<id>/manifest.csv`: the API's CSV (spreadsheet-safe cells).
#[get("/console/departures/<id>/manifest.csv")]
pub async fn manifest_csv(
    _rate: RateLimited,
    user: Console<Guide>,
    id: &str,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<(ContentType, String), WebError> {
    let now = clock.now();
    let (_, _, list) =
        catalogue::manifest(store, now, &user.0.operator, &departure_id(id)?).await?;
    Ok((
        ContentType::CSV,
        crate::http::views::manifest_csv(&list, now),
    ))
}

#[derive(FromForm)]
pub struct CheckIn {
    reference: String,
    q: String,
}

/// `POST /console/departures/<id>/check-in`: checks one booking of this departure in, then back
/// to the list with the search kept.
#[post("/console/departures/<id>/check-in", data = "<form>")]
pub async fn check_in(
    _rate: RateLimited,
    user: Console<Guide>,
    id: &str,
    form: CsrfForm<CheckIn>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let now = clock.now();
    let departure = departure_id(id)?;
    let CheckIn { reference, q } = form.0;
    // Only a booking on this departure's manifest: a reference from elsewhere is not found here.
    let (_, _, list) = catalogue::manifest(store, now, &principal.operator, &departure).await?;
    if !list.iter().any(|b| b.reference.to_string() == reference) {
        return Err(AppError::NotFound.into());
    }
    bookings::check_in(store, now, &reference, &principal).await?;
    let back = rocket::uri!(manifest(
        id = id,
        q = Some(q.as_str()),
        checked = Some(reference.as_str())
    ));
    Ok(Redirect::to(back.to_string()))
}
