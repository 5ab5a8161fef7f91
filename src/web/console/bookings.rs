//! Bookings in the console: the search (the API's `GET /v1/bookings`, by reference, traveler
//! name or email, status, tour and departure dates), a booking's page (items, payment, refunds,
//! every message and its delivery, its history from the audit log), and what is done there:
//! send the confirmation again and cancel (staff, as the API allows them), refund part (admins).
//! Each action is the API's service function, run once per rendered form.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::departure::status_key;
use super::{frame, Console};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::auth::Role;
use crate::domain::booking::BookingStatus;
use crate::domain::money::{format_major, parse_major};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::{Admin, Staff};
use crate::http::rate_limit::RateLimited;
use crate::service::booking_search::{self, SearchRequest};
use crate::service::bookings::Caller;
use crate::service::console::{self, BookingDetail};
use crate::service::payments::{self, Payments};
use crate::service::principal::Principal;
use crate::service::{bookings, catalogue, notifications};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

type Problems = BTreeMap<String, String>;

/// Where each action leads: the booking page with one of these notices.
pub const NOTICES: [&str; 4] = ["resent", "cancelled", "refunded", "moved"];

/// How far ahead the departures a booking may move to are offered (as on the manage page).
const MOVE_DAYS: i64 = 92;

/// The catalogue key of a notice.
pub fn notice_key(notice: &str) -> String {
    format!("console-booking-notice-{notice}")
}

/// The search as typed, kept in the form and in the next page's link.
#[derive(Default, serde::Serialize)]
struct Search {
    q: String,
    status: String,
    tour: String,
    from: String,
    to: String,
}

/// `GET /console/bookings?…`: the search form and a page of what it finds, newest first. Staff
/// and above.
#[get("/console/bookings?<q>&<status>&<tour>&<from>&<to>&<cursor>")]
#[allow(clippy::too_many_arguments)]
pub async fn list(
    _rate: RateLimited,
    user: Console<Staff>,
    q: Option<&str>,
    status: Option<&str>,
    tour: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    cursor: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let now = clock.now();
    let typed = Search {
        q: q.unwrap_or_default().to_owned(),
        status: status.unwrap_or_default().to_owned(),
        tour: tour.unwrap_or_default().to_owned(),
        from: from.unwrap_or_default().to_owned(),
        to: to.unwrap_or_default().to_owned(),
    };
    let request = SearchRequest {
        q,
        status,
        tour,
        from,
        to,
        cursor,
        limit: None,
    };
    let tours = catalogue::list_tours(store, &principal.operator).await?;
    let tour_name = |id: &str| {
        tours
            .iter()
            .find(|t| t.id.as_str() == id)
            .map(|t| t.tour.name.clone())
            .unwrap_or_default()
    };
    let (rows, next, problems) =
        match booking_search::search(store, now, &principal.operator, &request).await {
            Ok(page) => {
                let rows: Vec<Value> = page
                    .bookings
                    .iter()
                    .map(|found| {
                        let b = &found.booking;
                        let local = found.local_start();
                        context! {
                            reference => b.reference.as_str(),
                            name => b.customer.name,
                            email => b.customer.email,
                            tour => tour_name(b.tour_id.as_str()),
                            date => local.date_naive().to_string(),
                            time => local.format("%H:%M").to_string(),
                            timezone => found.timezone.name(),
                            seats => b.seats,
                            total => b.total,
                            currency => b.currency,
                            status_key => status_key(b.effective_status(now)),
                        }
                    })
                    .collect();
                let next = page.next_cursor.map(|cursor| {
                    rocket::uri!(list(
                        q = q,
                        status = status,
                        tour = tour,
                        from = from,
                        to = to,
                        cursor = Some(cursor.as_str())
                    ))
                    .to_string()
                });
                (rows, next, Problems::new())
            }
            Err(AppError::Validation(fields)) => (Vec::new(), None, fields),
            Err(other) => return Err(other.into()),
        };
    let searched = [q, status, tour, from, to]
        .iter()
        .any(|v| v.is_some_and(|v| !v.is_empty()));
    let statuses: Vec<Value> = BookingStatus::ALL
        .iter()
        .map(|s| context! { value => s.as_str(), key => status_key(*s) })
        .collect();
    let tour_options: Vec<Value> = tours
        .iter()
        .map(|t| context! { id => t.id.as_str(), name => t.tour.name })
        .collect();
    Ok(Page::new(
        "console/bookings.html",
        context! {
            console => frame(store, &principal, "/console/bookings").await,
            search => Value::from_serialize(&typed),
            errors => problems,
            statuses => statuses,
            tours => tour_options,
            bookings => rows,
            searched => searched,
            next => next,
        },
    )
    .refused_if(!problems.is_empty()))
}

/// What the booking page shows besides the booking: a notice after an action, and the refund
/// form as sent when it was refused.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    amount: String,
    problems: Problems,
}

/// `GET /console/bookings/<reference>`: the booking, its money, messages and history. Staff and
/// above.
#[get("/console/bookings/<reference>?<notice>")]
pub async fn show(
    _rate: RateLimited,
    user: Console<Staff>,
    reference: &str,
    notice: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    // Only the notices the actions lead to: the query names a catalogue key.
    let notice = notice.filter(|n| NOTICES.contains(n));
    let shown = Shown {
        notice: notice.map(str::to_owned),
        ..Shown::default()
    };
    render(store, clock.now(), &user.0, reference, shown).await
}

async fn render(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    principal: &Principal,
    reference: &str,
    shown: Shown,
) -> Result<Page, WebError> {
    let detail = console::booking_detail(store, now, &principal.operator, reference).await?;
    let BookingDetail {
        booking,
        tour,
        departure,
        payment,
        refunds,
        messages,
        history,
    } = &detail;
    let status = booking.effective_status(now);
    let local = departure
        .occupancy
        .starts_at
        .with_timezone(&tour.tour.timezone);
    let admin = principal.role.at_least(Role::Admin);
    let refundable = payment.refundable();
    let open = matches!(status, BookingStatus::Held | BookingStatus::Confirmed);
    let items: Vec<Value> = booking
        .items
        .iter()
        .map(|line| {
            let label = tour
                .tour
                .unit(&line.unit)
                .map_or_else(|| line.unit.clone(), |u| u.label.clone());
            context! {
                label => label, quantity => line.quantity,
                amount => line.unit_price * i64::from(line.quantity),
            }
        })
        .collect();
    let refund_rows: Vec<Value> = refunds
        .iter()
        .map(|r| {
            context! {
                amount => r.amount, status => r.status, reason => r.reason,
                at => r.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            }
        })
        .collect();
    let message_rows: Vec<Value> = messages
        .iter()
        .map(|m| {
            context! {
                kind => m.kind, channel => m.channel, status => m.status,
                delivery => m.delivery_status, attempts => m.attempts, error => m.last_error,
                at => m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                sent => m.sent_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            }
        })
        .collect();
    let history_rows: Vec<Value> = history
        .iter()
        .map(|h| {
            context! {
                action => h.action, actor => h.actor, detail => h.detail,
                at => h.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            }
        })
        .collect();
    // Offered while it is confirmed and its departure has not started; the move decides again.
    let movable = status == BookingStatus::Confirmed && now < departure.occupancy.starts_at;
    let targets: Vec<Value> = if movable {
        crate::service::reschedule::targets(store, now, tour, booking, MOVE_DAYS)
            .await?
            .iter()
            .map(|d| {
                let local = d.occupancy.starts_at.with_timezone(&tour.tour.timezone);
                context! {
                    id => d.id.as_str(), date => local.date_naive().to_string(),
                    time => local.format("%H:%M").to_string(), available => d.occupancy.available(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Page::new(
        "console/booking.html",
        context! {
            console => frame(store, principal, "/console/bookings").await,
            booking => context! {
                reference => booking.reference.as_str(),
                status => status.as_str(),
                status_key => status_key(status),
                cancel_reason => booking.cancel_reason,
                name => booking.customer.name,
                email => booking.customer.email,
                phone => booking.customer.phone,
                language => booking.customer.language.code(),
                tour => tour.tour.name,
                departure_id => departure.id.as_str(),
                date => local.date_naive().to_string(),
                time => local.format("%H:%M").to_string(),
                timezone => tour.tour.timezone.name(),
                seats => booking.seats,
                total => booking.total,
                currency => booking.currency,
                created => booking.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            },
            items => items,
            payment => context! {
                provider => payment.provider, status => payment.status, paid => payment.paid,
                refunded => payment.refunded, pending => payment.refund_pending,
                refundable => refundable,
                refundable_major => format_major(refundable, &booking.currency),
            },
            refunds => refund_rows,
            messages => message_rows,
            history => history_rows,
            targets => targets,
            actions => context! {
                movable => movable,
                resend => matches!(booking.status, BookingStatus::Confirmed | BookingStatus::CheckedIn),
                cancel => open && (admin || payment.paid == 0),
                refund => admin && refundable > 0,
            },
            form_key => once::new_key(),
            notice_key => shown.notice.as_deref().map(notice_key),
            notice => shown.notice,
            amount => shown.amount,
            errors => shown.problems,
        },
    )
    .refused_if(!shown.problems.is_empty()))
}

/// An action's form: its CSRF token (checked by `CsrfForm`) and its form key.
#[derive(FromForm)]
pub struct ActionForm {
    #[field(default = String::new())]
    form_key: String,
}

/// Runs a booking action once per rendered form, then back to the booking with a notice.
async fn act<F, Fut>(
    (store, config, now): (&Store, &AppConfig, chrono::DateTime<chrono::Utc>),
    principal: &Principal,
    reference: &str,
    action: &str,
    (form_key, fields): (&str, &str),
    run: F,
) -> Result<String, AppError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    let scope = format!(
        "console:{}:booking:{reference}:{action}",
        principal.operator
    );
    once::once(store, config, now, &scope, form_key, fields, || async {
        run().await?;
        Ok(format!("/console/bookings/{reference}?notice={action}"))
    })
    .await
}

/// `POST /console/bookings/<reference>/resend`: emails the confirmation again, as
/// `POST /v1/bookings/{reference}/resend-confirmation`. Staff and above.
#[post("/console/bookings/<reference>/resend", data = "<form>")]
pub async fn resend(
    _rate: RateLimited,
    user: Console<Staff>,
    reference: &str,
    form: CsrfForm<ActionForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let location = act(
        (store, config, now),
        &principal,
        reference,
        "resent",
        (&form.0.form_key, reference),
        || async {
            notifications::resend_confirmation(store, now, &principal, reference).await?;
            Ok(())
        },
    )
    .await?;
    Ok(Redirect::to(location))
}

/// `POST /console/bookings/<reference>/cancel`: cancels it as the operator, refunding in full
/// what was paid (which needs an admin, as on the API). Staff and above.
#[post("/console/bookings/<reference>/cancel", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn cancel(
    _rate: RateLimited,
    user: Console<Staff>,
    reference: &str,
    form: CsrfForm<ActionForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let caller = Caller {
        operator: Some(principal.clone()),
        ..Caller::default()
    };
    let location = act(
        (store, config, now),
        &principal,
        reference,
        "cancelled",
        (&form.0.form_key, reference),
        || async {
            bookings::cancel(store, payments, now, reference, &caller).await?;
            Ok(())
        },
    )
    .await?;
    Ok(Redirect::to(location))
}

#[derive(FromForm)]
pub struct RefundForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    amount: String,
}

/// `POST /console/bookings/<reference>/refund`: refunds part of what was paid, typed in the
/// currency's major unit, as `POST /v1/bookings/{reference}/refunds`. Admins. A refused amount
/// shows the page again with the amount kept and the problem beside it.
#[post("/console/bookings/<reference>/refund", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn refund(
    _rate: RateLimited,
    user: Console<Admin>,
    reference: &str,
    form: CsrfForm<RefundForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let RefundForm { form_key, amount } = form.0;
    // Only its currency is needed to read the amount (and another operator's is not found).
    let caller = Caller {
        operator: Some(principal.clone()),
        ..Caller::default()
    };
    let booking = bookings::get(store, reference, &caller).await?;
    let refused = |message: String| {
        let mut problems = Problems::new();
        problems.insert("amount".to_owned(), message);
        Shown {
            amount: amount.clone(),
            problems,
            ..Shown::default()
        }
    };
    let minor = match parse_major(&amount, &booking.currency) {
        Ok(minor) => minor,
        Err(message) => {
            let page = render(store, now, &principal, reference, refused(message)).await?;
            return Ok(Either::Right(page));
        }
    };
    let fields = format!("{reference}:{minor}");
    let done = act(
        (store, config, now),
        &principal,
        reference,
        "refunded",
        (&form_key, &fields),
        || async {
            payments::refund_by_operator(store, payments, now, reference, &principal, minor, None)
                .await?;
            Ok(())
        },
    )
    .await;
    match done {
        Ok(location) => Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(fields)) => {
            let message = fields.into_values().next().unwrap_or_default();
            let page = render(store, now, &principal, reference, refused(message)).await?;
            Ok(Either::Right(page))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(FromForm)]
pub struct MoveForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    departure_id: String,
}

/// `POST /console/bookings/<reference>/move`: moves the booking to another departure of its
/// tour, as `POST /v1/bookings/{reference}/reschedule` by the operator (the traveler is told
/// by email). A refused move shows the page again with the reason beside the choice.
#[post("/console/bookings/<reference>/move", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn move_booking(
    _rate: RateLimited,
    user: Console<Staff>,
    reference: &str,
    form: CsrfForm<MoveForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let MoveForm {
        form_key,
        departure_id,
    } = form.0;
    let caller = Caller {
        operator: Some(principal.clone()),
        ..Caller::default()
    };
    let fields = format!("{reference}:{departure_id}");
    let done = act(
        (store, config, now),
        &principal,
        reference,
        "moved",
        (&form_key, &fields),
        || async {
            let request = crate::service::reschedule::RescheduleRequest {
                departure_id: departure_id.clone(),
            };
            crate::service::reschedule::reschedule(store, now, reference, &caller, request).await?;
            Ok(())
        },
    )
    .await;
    let message = match done {
        Ok(location) => return Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(fields)) => fields.into_values().next().unwrap_or_default(),
        Err(
            refused @ (AppError::Refused { .. }
            | AppError::SoldOut { .. }
            | AppError::SalesClosed { .. }
            | AppError::InvalidTransition { .. }),
        ) => refused.to_string(),
        Err(other) => return Err(other.into()),
    };
    let mut problems = Problems::new();
    problems.insert("departure_id".to_owned(), message);
    let shown = Shown {
        problems,
        ..Shown::default()
    };
    Ok(Either::Right(
        render(store, now, &principal, reference, shown).await?,
    ))
}
