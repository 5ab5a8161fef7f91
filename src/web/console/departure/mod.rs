//! A departure in the console: its manifest (printable, with a CSV download) and check-in, built
//! for a guide's phone at the pier: search by name or reference, one large button per booking.
//! It also shows the price each unit sells at on it (its own prices marked); admins set those
//! (`prices`), and its minimum of participants with its decision time, each its own or its
//! tour's; admins set its own or clear it back to the tour's (`minimum`). Staff and above see its waiting line (as `GET /v1/departures/{id}/waitlist`): each
//! entry in join order with its contact, seats, state and the hold offered to it; admins take a
//! waiting traveler out of it, once per rendered form, an entry no longer waiting refused beside
//! it (not an error page).

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::http::ContentType;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::prices::form;
use super::{frame, Console};
use crate::clock::Clock;
use crate::domain::auth::Role;
use crate::domain::booking::BookingStatus;
use crate::domain::capacity::DepartureStatus;
use crate::domain::ids::DepartureId;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::http::guards::{Admin, Guide};
use crate::http::rate_limit::RateLimited;
use crate::service::{auth, bookings, catalogue, console, guarantees, guides};
use crate::storage::Store;
use crate::web::{CsrfForm, Page, WebError};

mod minimum;
mod waiting_line;

use self::minimum::minimum_section;
pub use self::minimum::{set_minimum, MinimumForm};
use self::waiting_line::waitlist_section;
pub use self::waiting_line::{
    remove_from_waitlist, waitlist_state_key, RemoveFromWaitlist, WAITLIST_STATES,
};

pub(super) fn departure_id(id: &str) -> Result<DepartureId, AppError> {
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

/// `GET /console/departures/<id>?q=…`: the manifest, filtered by `q`, a page at a time (after
/// `cursor`, the link to the next page). Every role; admins also get the capacity form and the
/// way to cancel the departure.
#[get("/console/departures/<id>?<q>&<notice>&<cursor>")]
#[allow(clippy::too_many_arguments)]
pub async fn manifest(
    _rate: RateLimited,
    user: Console<Guide>,
    id: &str,
    q: Option<&str>,
    notice: Option<&str>,
    cursor: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let shown = Shown {
        query: q.unwrap_or_default(),
        notice,
        cursor,
        ..Shown::default()
    };
    render(store, clock.now(), &user.0, id, shown).await
}

/// What the departure page shows besides the departure: the search, a notice after an action,
/// the capacity form as sent when it was refused (the value kept, the problem a catalogue key
/// with the seats taken), the guides form as sent when it was refused (the users ticked,
/// the service's reason), the own-prices form as typed when it was refused (with the
/// problems by field), the minimum form as typed when it was refused (with the problems by
/// field), and a waitlist entry whose removal was refused (with the message key).
#[derive(Default)]
pub(super) struct Shown<'a> {
    pub query: &'a str,
    pub notice: Option<&'a str>,
    /// Where the manifest page starts: the previous page's `next_cursor`.
    pub cursor: Option<&'a str>,
    pub capacity: Option<(String, &'static str, u32)>,
    pub guides: Option<(Vec<String>, String)>,
    pub prices: Option<(BTreeMap<String, String>, form::Problems)>,
    pub minimum: Option<(BTreeMap<String, String>, form::Problems)>,
    pub waitlist: Option<(String, &'static str)>,
}

pub(super) async fn render(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    principal: &crate::service::auth::Principal,
    id: &str,
    shown: Shown<'_>,
) -> Result<Page, WebError> {
    let departure_id = departure_id(id)?;
    let query = shown.query;
    // A page of the manifest (the service's default, 500) and the whole departure's totals.
    let page = catalogue::manifest_page(
        store,
        now,
        &principal.operator,
        &departure_id,
        shown.cursor,
        None,
    )
    .await?;
    let (tour, departure, totals) = (page.tour, page.departure, page.totals);
    // A search reads the whole manifest a chunk at a time and shows the first page of matches.
    let (list, next_cursor) = if query.trim().is_empty() {
        (page.bookings, page.next_cursor)
    } else {
        let shown_at_most = catalogue::MANIFEST_DEFAULT_LIMIT as usize;
        let mut found = Vec::new();
        catalogue::manifest_in_chunks(store, now, &principal.operator, &departure_id, |chunk| {
            let room = shown_at_most.saturating_sub(found.len());
            found.extend(
                chunk
                    .iter()
                    .filter(|b| matches(b, query))
                    .take(room)
                    .cloned(),
            );
        })
        .await?;
        (found, None)
    };
    let tz = tour.tour.timezone;
    let rows: Vec<Value> = list
        .iter()
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
    let next_page = next_cursor.map(|cursor| {
        rocket::uri!(manifest(
            id = id,
            q = _,
            notice = _,
            cursor = Some(cursor.as_str())
        ))
        .to_string()
    });
    let (capacity_value, capacity_problem, taken) = match shown.capacity {
        Some((value, problem, taken)) => (value, Some(problem), taken),
        None => (departure.occupancy.capacity.to_string(), None, 0),
    };
    let manage = principal.role.at_least(Role::Admin);
    let assigned = guides::of_departure(store, now, principal, &departure.id).await?;
    let (ticked, guides_problem) = match shown.guides {
        Some((ticked, problem)) => (ticked, Some(problem)),
        None => (
            assigned.iter().map(|g| g.user_id.to_string()).collect(),
            None,
        ),
    };
    // Admins choose among the operator's active users, those already leading it first.
    let choices: Vec<Value> = if manage {
        auth::list_users(store, &principal.operator)
            .await?
            .into_iter()
            .filter(|u| u.active)
            .map(|u| {
                let id = u.id.to_string();
                context! {
                    id => id, name => u.name, role_key => super::role_key(u.role),
                    checked => ticked.contains(&id),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let leading: Vec<&str> = assigned.iter().map(|g| g.name.as_str()).collect();
    let prices_refused = shown.prices.is_some();
    let minimum_refused = shown.minimum.is_some();
    let minimum = minimum_section(&tour.tour, &departure, shown.minimum);
    let waitlist = waitlist_section(store, now, principal, id, tz, shown.waitlist.as_ref()).await?;
    let prices = form::departure_section(
        &tour,
        &departure,
        manage,
        shown
            .prices
            .as_ref()
            .map(|(typed, problems)| (typed, problems)),
    );
    Ok(Page::new(
        "console/departure.html",
        context! {
            console => frame(store, principal, "").await,
            departure => context! {
                id => departure.id.as_str(),
                tour => tour.tour.name,
                date => starts.date_naive().to_string(),
                time => starts.format("%H:%M").to_string(),
                timezone => tz.name(),
                capacity => departure.occupancy.capacity,
                seats_taken => totals.seats,
                checked_in => totals.checked_in,
                cancelled => departure.occupancy.status == DepartureStatus::Cancelled,
                needs => departure.standing(&tour.tour).needs(),
                guaranteed => departure.guaranteed_at.is_some(),
                undecided => departure.guaranteed_at.is_none() && departure.minimum(&tour.tour).is_some(),
                decided_at => departure.minimum(&tour.tour).map(|m| {
                    m.decision_at(departure.occupancy.starts_at)
                        .with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                }),
            },
            manage => manage,
            capacity_form => context! { value => capacity_value, problem => capacity_problem, taken => taken },
            guides => leading,
            guide_choices => choices,
            guides_problem => guides_problem,
            prices => prices,
            minimum => minimum,
            waitlist => waitlist,
            query => query,
            cursor => shown.cursor,
            notice => shown.notice,
            bookings => rows,
            next_page => next_page,
        },
    )
    .refused_if(
        capacity_problem.is_some() || guides_problem.is_some() || prices_refused || minimum_refused,
    ))
}

#[derive(FromForm)]
pub struct Capacity {
    capacity: String,
}

/// `POST /console/departures/<id>/capacity`: admins. Never below the seats taken: refused with
/// the reason, the value typed kept.
#[post("/console/departures/<id>/capacity", data = "<form>")]
pub async fn set_capacity(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<Capacity>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let now = clock.now();
    let typed = form.0.capacity.trim().to_owned();
    let refused = |problem: &'static str, taken: u32| Shown {
        capacity: Some((typed.clone(), problem, taken)),
        ..Shown::default()
    };
    let Ok(capacity) = typed.parse::<i64>() else {
        let page = render(
            store,
            now,
            &principal,
            id,
            refused("console-capacity-invalid", 0),
        );
        return Ok(Either::Right(page.await?));
    };
    match catalogue::set_capacity(store, now, &principal, &departure_id(id)?, capacity).await {
        Ok(_) => Ok(Either::Left(Redirect::to(format!(
            "/console/departures/{id}?notice=capacity"
        )))),
        Err(AppError::CapacityBelowTaken { taken }) => {
            let page = render(
                store,
                now,
                &principal,
                id,
                refused("console-capacity-below", taken),
            );
            Ok(Either::Right(page.await?))
        }
        Err(AppError::Validation(_)) => {
            let page = render(
                store,
                now,
                &principal,
                id,
                refused("console-capacity-invalid", 0),
            );
            Ok(Either::Right(page.await?))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(FromForm)]
pub struct Guides {
    #[field(default = Vec::new())]
    user_ids: Vec<String>,
}

/// `POST /console/departures/<id>/guides`: admins, as `PUT /v1/departures/{id}/guides`. A guide
/// already leading an overlapping departure refuses the whole form: shown again with the
/// users as ticked and the reason.
#[post("/console/departures/<id>/guides", data = "<form>")]
pub async fn set_guides(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<Guides>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let now = clock.now();
    let ticked = form.0.user_ids;
    match guides::assign(store, now, &principal, &departure_id(id)?, &ticked).await {
        Ok(_) => Ok(Either::Left(Redirect::to(format!(
            "/console/departures/{id}?notice=guides"
        )))),
        Err(error @ (AppError::Refused { .. } | AppError::Validation(_))) => {
            let reason = error.to_string();
            let shown = Shown {
                guides: Some((ticked, reason)),
                ..Shown::default()
            };
            Ok(Either::Right(
                render(store, now, &principal, id, shown).await?,
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /console/departures/<id>/guarantee`: admins, as `POST /v1/departures/{id}/guarantee`:
/// it runs, whatever its minimum; its confirmed travelers are told.
#[post("/console/departures/<id>/guarantee", data = "<form>")]
pub async fn guarantee(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<Confirm>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Redirect, WebError> {
    let CsrfForm(Confirm { .. }) = form;
    guarantees::guarantee(store, clock.now(), &user.0, &departure_id(id)?).await?;
    Ok(Redirect::to(format!(
        "/console/departures/{id}?notice=guaranteed"
    )))
}

/// `GET /console/departures/<id>/cancel`: what cancelling would do (bookings, travelers, money
/// going back), before the admin confirms.
#[get("/console/departures/<id>/cancel")]
pub async fn cancel_preview(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let now = clock.now();
    let departure = departure_id(id)?;
    let (tour, record, _) =
        catalogue::manifest(store, now, &principal.operator, &departure).await?;
    let preview =
        console::cancellation_preview(store, now, &principal.operator, &departure).await?;
    let starts = record
        .occupancy
        .starts_at
        .with_timezone(&tour.tour.timezone);
    let refunds: Vec<Value> = preview
        .refunds
        .iter()
        .map(|(currency, amount)| context! { currency => currency, amount => amount })
        .collect();
    Ok(Page::new(
        "console/cancel_departure.html",
        context! {
            console => frame(store, &principal, "").await,
            departure => context! {
                id => id,
                tour => tour.tour.name,
                date => starts.date_naive().to_string(),
                time => starts.format("%H:%M").to_string(),
                cancelled => record.occupancy.status == DepartureStatus::Cancelled,
            },
            preview => context! { bookings => preview.bookings, travelers => preview.travelers, refunds => refunds },
        },
    ))
}

/// The confirmation form carries nothing but its CSRF token.
#[derive(FromForm)]
pub struct Confirm {
    #[field(default = String::new())]
    _nothing: String,
}

/// `POST /console/departures/<id>/cancel`: cancels it, its bookings and their refunds, as
/// `POST /v1/departures/{id}/cancel` does.
#[post("/console/departures/<id>/cancel", data = "<form>")]
pub async fn cancel(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<Confirm>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Redirect, WebError> {
    let CsrfForm(Confirm { .. }) = form;
    let principal = user.0;
    let now = clock.now();
    // Refunds are queued in the cancellation's transaction and sent by the refund worker.
    catalogue::cancel_departure(store, now, &principal, &departure_id(id)?).await?;
    Ok(Redirect::to(format!(
        "/console/departures/{id}?notice=cancelled"
    )))
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
    let mut csv = String::from(crate::http::views::MANIFEST_CSV_HEADER);
    catalogue::manifest_in_chunks(store, now, &user.0.operator, &departure_id(id)?, |chunk| {
        crate::http::views::push_manifest_csv_rows(&mut csv, chunk, now)
    })
    .await?;
    Ok((ContentType::CSV, csv))
}

#[derive(FromForm)]
pub struct CheckIn {
    reference: String,
    q: String,
    /// The manifest page the guide was on, to go back to.
    cursor: Option<String>,
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
    let CheckIn {
        reference,
        q,
        cursor,
    } = form.0;
    // Only a booking on this departure's manifest: a reference from elsewhere is not found here.
    if !catalogue::on_manifest(store, now, &principal.operator, &departure, &reference).await? {
        return Err(AppError::NotFound.into());
    }
    bookings::check_in(store, now, &reference, &principal).await?;
    let back = rocket::uri!(manifest(
        id = id,
        q = Some(q.as_str()),
        notice = Some(reference.as_str()),
        cursor = cursor.as_deref()
    ));
    Ok(Redirect::to(back.to_string()))
}
