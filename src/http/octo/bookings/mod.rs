//! A reseller's bookings: reserve (`ON_HOLD`), confirm, extend, change, cancel, read and list,
//! each answering the booking as OCTO shapes it. The rules are `service::resales`'; this file
//! reads OCTO's bodies, resolves its ids in its order and writes its objects.

mod render;
mod requests;
mod wire;

use chrono::{DateTime, Duration, NaiveDate};
use rocket::{get, patch, post};

use super::availability::{date, parse, product_and_option};
use super::catalogue::DEFAULT_OPTION;
use super::pricing::Applied;
use super::{Octo, OctoError, ResellerKey};
use crate::domain::booking::BookingStatus;
use crate::http::context::Ctx;
use crate::http::rate_limit::RateLimited;
use crate::http::responder::JsonBody;
use crate::service::catalogue;
use crate::service::payments::Payments;
use crate::service::resales::{self, Confirmation, Reservation, Update};
use crate::storage::reseller_bookings::Filter;
use render::{answer, render, Products};
use requests::{departure_for, minutes, no_travellers, open, own, text, units_of, unprocessable};
pub use wire::{
    BookingAnswer, BookingUuid, BookingsAnswer, CancelBody, ConfirmBody, ExtendBody, OctoBooking,
    ReserveBody, UpdateBody,
};

/// `POST /octo/bookings`: holds seats (`ON_HOLD`) until the hold's expiry.
#[utoipa::path(
    post,
    path = "/octo/bookings",
    tag = "octo",
    summary = "Reserve: hold seats (ON_HOLD)",
    request_body = ReserveBody,
    description = "Errors: `INVALID_PRODUCT_ID, INVALID_OPTION_ID, INVALID_AVAILABILITY_ID, INVALID_UNIT_ID, UNPROCESSABLE_ENTITY, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`",
    responses(BookingAnswer),
    security(("reseller_key" = []))
)]
#[post("/octo/bookings", data = "<body>")]
pub async fn reserve(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    body: JsonBody<'_>,
    ctx: Ctx<'_>,
    payments: &rocket::State<Payments>,
) -> Result<Octo<OctoBooking>, OctoError> {
    let reseller = key.0?;
    let request: ReserveBody = parse(body)?;
    let tour = product_and_option(&ctx, &reseller, &request.product_id, &request.option_id).await?;
    let departure = departure_for(&ctx, &tour, &request.availability_id).await?;
    let items = match request.unit_items.as_deref() {
        Some(items) if !items.is_empty() => items,
        _ => return Err(no_travellers()),
    };
    let units = units_of(&tour, items)?;
    let expiration = minutes("expirationMinutes", request.expiration_minutes)?;
    let notes = text("notes", request.notes, true)?;
    let sold = resales::reserve(
        ctx.store,
        payments,
        ctx.now(),
        &ctx.config.hold_times(),
        &reseller,
        Reservation {
            tour: &tour,
            departure: &departure,
            units: &units,
            uuid: request.uuid.as_deref(),
            expiration,
            notes,
        },
    )
    .await
    .map_err(unprocessable)?;
    answer(&ctx, &reseller, applied, sold).await
}

/// `GET /octo/bookings/{uuid}`.
#[utoipa::path(
    get,
    path = "/octo/bookings/{uuid}",
    tag = "octo",
    summary = "One of the reseller's bookings",
    params(BookingUuid),
    description = "Errors: `INVALID_BOOKING_UUID, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`",
    responses(BookingAnswer),
    security(("reseller_key" = []))
)]
#[get("/octo/bookings/<uuid>")]
pub async fn get_booking(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    uuid: &str,
    ctx: Ctx<'_>,
) -> Result<Octo<OctoBooking>, OctoError> {
    let reseller = key.0?;
    let sold = own(&ctx, &reseller, uuid).await?;
    answer(&ctx, &reseller, applied, sold).await
}

/// `POST /octo/bookings/{uuid}/confirm`: the traveller's contact, and optionally new unit items
/// (which replace the booking's).
#[utoipa::path(
    post,
    path = "/octo/bookings/{uuid}/confirm",
    tag = "octo",
    summary = "Confirm a hold with the traveller's contact",
    params(BookingUuid),
    request_body = ConfirmBody,
    description = "Errors: `INVALID_BOOKING_UUID, INVALID_UNIT_ID, UNPROCESSABLE_ENTITY, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`",
    responses(BookingAnswer),
    security(("reseller_key" = []))
)]
#[post("/octo/bookings/<uuid>/confirm", data = "<body>")]
pub async fn confirm(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    uuid: &str,
    body: JsonBody<'_>,
    ctx: Ctx<'_>,
) -> Result<Octo<OctoBooking>, OctoError> {
    let (reseller, request, mut sold): (_, ConfirmBody, _) = open(&ctx, key, uuid, body).await?;
    let reference = text("resellerReference", request.reseller_reference, false)?;
    let now = ctx.now();
    if sold.booking.effective_status(now) != BookingStatus::Held {
        return Err(OctoError::new(
            "UNPROCESSABLE_ENTITY",
            "only a booking ON_HOLD can be confirmed",
        ));
    }
    if let Some(items) = request.unit_items.as_deref() {
        let tour = catalogue::tour(ctx.store, &sold.booking.tour_id).await?;
        let units = units_of(&tour, items)?;
        if units.is_empty() {
            return Err(no_travellers());
        }
        let update = Update {
            units: Some(&units),
            ..Update::default()
        };
        sold = resales::update(ctx.store, now, &reseller, sold, update)
            .await
            .map_err(unprocessable)?;
    }
    let confirmed = resales::confirm(
        ctx.store,
        now,
        &reseller,
        sold,
        Confirmation {
            contact: request.contact.unwrap_or_default(),
            reseller_reference: reference,
            email_receipt: request.email_receipt.unwrap_or(false),
        },
    )
    .await
    .map_err(unprocessable)?;
    answer(&ctx, &reseller, applied, confirmed).await
}

/// `POST /octo/bookings/{uuid}/extend`: the hold lasts `expirationMinutes` from now.
#[utoipa::path(
    post,
    path = "/octo/bookings/{uuid}/extend",
    tag = "octo",
    summary = "Extend a hold",
    params(BookingUuid),
    request_body = ExtendBody,
    description = "Errors: `INVALID_BOOKING_UUID, UNPROCESSABLE_ENTITY, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`",
    responses(BookingAnswer),
    security(("reseller_key" = []))
)]
#[post("/octo/bookings/<uuid>/extend", data = "<body>")]
pub async fn extend(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    uuid: &str,
    body: JsonBody<'_>,
    ctx: Ctx<'_>,
) -> Result<Octo<OctoBooking>, OctoError> {
    let (reseller, request, sold): (_, ExtendBody, _) = open(&ctx, key, uuid, body).await?;
    let asked = minutes("expirationMinutes", request.expiration_minutes)?;
    let sold = resales::extend(ctx.store, ctx.now(), &ctx.config.hold_times(), sold, asked)
        .await
        .map_err(unprocessable)?;
    answer(&ctx, &reseller, applied, sold).await
}

/// `PATCH /octo/bookings/{uuid}`: changes what is sent, on hold or confirmed, while the
/// booking can still be cancelled; the status stays.
#[utoipa::path(
    patch,
    path = "/octo/bookings/{uuid}",
    tag = "octo",
    summary = "Change a booking: contact, notes, units, departure or tour",
    params(BookingUuid),
    request_body = UpdateBody,
    description = "Errors: `INVALID_BOOKING_UUID, INVALID_PRODUCT_ID, INVALID_OPTION_ID, INVALID_AVAILABILITY_ID, INVALID_UNIT_ID, UNPROCESSABLE_ENTITY, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`",
    responses(BookingAnswer),
    security(("reseller_key" = []))
)]
#[patch("/octo/bookings/<uuid>", data = "<body>")]
pub async fn update(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    uuid: &str,
    body: JsonBody<'_>,
    ctx: Ctx<'_>,
) -> Result<Octo<OctoBooking>, OctoError> {
    let (reseller, request, sold): (_, UpdateBody, _) = open(&ctx, key, uuid, body).await?;
    let moving = request.product_id.is_some()
        || request.option_id.is_some()
        || request.availability_id.is_some();
    let target = if moving {
        let product_id = request
            .product_id
            .clone()
            .unwrap_or_else(|| sold.booking.tour_id.to_string());
        let option_id = request.option_id.as_deref().unwrap_or(DEFAULT_OPTION);
        let tour = product_and_option(&ctx, &reseller, &product_id, option_id).await?;
        let departure = match request.availability_id.as_deref() {
            Some(id) => departure_for(&ctx, &tour, id).await?,
            None if tour.id == sold.booking.tour_id => {
                catalogue::departure(ctx.store, ctx.now(), &sold.booking.departure_id)
                    .await?
                    .1
            }
            None => {
                return Err(OctoError::new(
                    "BAD_REQUEST",
                    "availabilityId is required to move a booking to another product",
                ))
            }
        };
        Some((tour, departure))
    } else {
        None
    };
    let units_tour = match &target {
        Some((tour, _)) => tour.clone(),
        None => catalogue::tour(ctx.store, &sold.booking.tour_id).await?,
    };
    let units = match request.unit_items.as_deref() {
        Some([]) => return Err(no_travellers()),
        Some(items) => Some(units_of(&units_tour, items)?),
        None => None,
    };
    let expiration = minutes("expirationMinutes", request.expiration_minutes)?;
    let update = Update {
        target: target.as_ref().map(|(t, d)| (t, d)),
        units: units.as_deref(),
        contact: request.contact,
        notes: text("notes", request.notes, true)?,
        reseller_reference: text("resellerReference", request.reseller_reference, false)?,
        email_receipt: request.email_receipt,
    };
    let now = ctx.now();
    let mut changed = resales::update(ctx.store, now, &reseller, sold, update)
        .await
        .map_err(unprocessable)?;
    if expiration.is_some() && changed.booking.effective_status(now) == BookingStatus::Held {
        changed = resales::extend(
            ctx.store,
            now,
            &ctx.config.hold_times(),
            changed,
            expiration,
        )
        .await
        .map_err(unprocessable)?;
    }
    answer(&ctx, &reseller, applied, changed).await
}

/// `POST /octo/bookings/{uuid}/cancel`: by the tour's cancellation policy; a hold is released.
#[utoipa::path(
    post,
    path = "/octo/bookings/{uuid}/cancel",
    tag = "octo",
    summary = "Cancel, by the tour's policy",
    params(BookingUuid),
    request_body = CancelBody,
    description = "Errors: `INVALID_BOOKING_UUID, UNPROCESSABLE_ENTITY, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`",
    responses(BookingAnswer),
    security(("reseller_key" = []))
)]
#[post("/octo/bookings/<uuid>/cancel", data = "<body>")]
pub async fn cancel(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    uuid: &str,
    body: JsonBody<'_>,
    ctx: Ctx<'_>,
    payments: &rocket::State<Payments>,
) -> Result<Octo<OctoBooking>, OctoError> {
    let (reseller, request, sold): (_, CancelBody, _) = open(&ctx, key, uuid, body).await?;
    let reason = text("reason", request.reason, false)?;
    let sold = resales::cancel(ctx.store, payments, ctx.now(), &reseller, sold, reason)
        .await
        .map_err(unprocessable)?;
    answer(&ctx, &reseller, applied, sold).await
}

/// `GET /octo/bookings?…`: the reseller's bookings by its reference, berth's reference, or the
/// local date(s) of their departures, optionally of one product and option.
#[allow(clippy::too_many_arguments)]
#[utoipa::path(
    get,
    path = "/octo/bookings",
    tag = "octo",
    summary = "The reseller's bookings by reference or departure date",
    params(("resellerReference" = Option<String>, Query, description = "The reseller's reference"), ("supplierReference" = Option<String>, Query, description = "berth's booking reference"), ("localDate" = Option<String>, Query, description = "YYYY-MM-DD, the departure's local date"), ("localDateStart" = Option<String>, Query, description = "YYYY-MM-DD"), ("localDateEnd" = Option<String>, Query, description = "YYYY-MM-DD"), ("productId" = Option<String>, Query, description = "Only this tour"), ("optionId" = Option<String>, Query, description = "DEFAULT")),
    description = "Errors: `BAD_REQUEST (no filter), INVALID_PRODUCT_ID, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`",
    responses(BookingsAnswer),
    security(("reseller_key" = []))
)]
#[get("/octo/bookings?<resellerReference>&<supplierReference>&<localDate>&<localDateStart>&<localDateEnd>&<productId>&<optionId>")]
#[allow(non_snake_case)]
pub async fn list(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    resellerReference: Option<&str>,
    supplierReference: Option<&str>,
    localDate: Option<&str>,
    localDateStart: Option<&str>,
    localDateEnd: Option<&str>,
    productId: Option<&str>,
    optionId: Option<&str>,
    ctx: Ctx<'_>,
) -> Result<Octo<Vec<OctoBooking>>, OctoError> {
    let reseller = key.0?;
    let days: Option<(NaiveDate, NaiveDate)> = if let Some(day) = localDate {
        let day = date("localDate", Some(day))?;
        Some((day, day))
    } else if localDateStart.is_some() || localDateEnd.is_some() {
        let (from, to) = (
            date("localDateStart", localDateStart)?,
            date("localDateEnd", localDateEnd)?,
        );
        if to < from {
            return Err(OctoError::new(
                "BAD_REQUEST",
                "localDateEnd is before localDateStart",
            ));
        }
        Some((from, to))
    } else {
        None
    };
    if let Some((from, to)) = days {
        use chrono::Datelike;
        if from.year() < 1970 || to.year() > 9998 || (to - from).num_days() >= 366 {
            return Err(OctoError::new(
                "BAD_REQUEST",
                "dates must lie between 1970 and 9998, at most a year apart",
            ));
        }
    }
    if resellerReference.is_none() && supplierReference.is_none() && days.is_none() {
        return Err(OctoError::new(
            "BAD_REQUEST",
            "give resellerReference, supplierReference, localDate or localDateStart and localDateEnd",
        ));
    }
    let tour = match productId {
        Some(id) => Some(
            product_and_option(&ctx, &reseller, id, optionId.unwrap_or(DEFAULT_OPTION))
                .await?
                .id,
        ),
        None => None,
    };
    // Local dates are the departures' own zones: a UTC window wide enough for every zone,
    // narrowed below.
    let starts = days.map(|(from, to)| {
        let start = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::hours(15);
        let end = to.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + Duration::hours(39);
        (start, end)
    });
    let filter = Filter {
        reseller_reference: resellerReference,
        supplier_reference: supplierReference,
        tour: tour.as_ref(),
        starts,
    };
    let found = resales::list(ctx.store, &reseller, &filter).await?;
    let mut products = Products::new(&ctx, &reseller, applied);
    let mut out = Vec::with_capacity(found.len());
    for sold in found {
        let rendered = render(&mut products, sold).await?;
        if let Some((from, to)) = days {
            let day = DateTime::parse_from_rfc3339(&rendered.availability_id)
                .map(|at| at.date_naive())
                .ok();
            if !day.is_some_and(|d| d >= from && d <= to) {
                continue;
            }
        }
        out.push(rendered);
    }
    Ok(Octo(out))
}
