//! A reseller's bookings: reserve (`ON_HOLD`), confirm, extend, change, cancel, read and list,
//! each answering the booking as OCTO shapes it. The rules are `service::resales`'; this file
//! reads OCTO's bodies, resolves its ids in its order and writes its objects.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rocket::{get, patch, post};
use serde::{Deserialize, Serialize};

use super::availability::{availability, date, parse, product_and_option, Availability};
use super::catalogue::{product, upcoming, DEFAULT_OPTION};
use super::pricing::{Applied, PriceList, Pricing};
use super::{Octo, OctoError, ResellerKey};
use crate::domain::booking::BookingStatus;
use crate::domain::ids::TourId;
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::domain::reseller::{notes_text, short_text, Contact, Reseller};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::rate_limit::RateLimited;
use crate::http::responder::JsonBody;
use crate::service::catalogue::{self, DateRange};
use crate::service::payments::Payments;
use crate::service::resales::{self, Confirmation, ResaleBooking, Reservation, UnitAsk, Update};
use crate::storage::reseller_bookings::Filter;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnitItemBody {
    unit_id: String,
    #[serde(default)]
    uuid: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReserveBody {
    product_id: String,
    option_id: String,
    availability_id: String,
    #[serde(default)]
    unit_items: Option<Vec<UnitItemBody>>,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    expiration_minutes: Option<i64>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // One currency: the tour's.
    currency: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmBody {
    #[serde(default)]
    contact: Option<Contact>,
    #[serde(default)]
    reseller_reference: Option<String>,
    #[serde(default)]
    email_receipt: Option<bool>,
    #[serde(default)]
    unit_items: Option<Vec<UnitItemBody>>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtendBody {
    #[serde(default)]
    expiration_minutes: Option<i64>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    #[serde(default)]
    reseller_reference: Option<String>,
    #[serde(default)]
    product_id: Option<String>,
    #[serde(default)]
    option_id: Option<String>,
    #[serde(default)]
    availability_id: Option<String>,
    #[serde(default)]
    unit_items: Option<Vec<UnitItemBody>>,
    #[serde(default)]
    contact: Option<Contact>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    expiration_minutes: Option<i64>,
    #[serde(default)]
    email_receipt: Option<bool>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // berth has no second, forced path: the policy decides the refund.
    force: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OctoBooking {
    id: String,
    uuid: String,
    test_mode: bool,
    reseller_reference: Option<String>,
    supplier_reference: String,
    #[schema(value_type = String)]
    status: &'static str,
    utc_created_at: String,
    utc_updated_at: String,
    utc_expires_at: Option<String>,
    utc_redeemed_at: Option<String>,
    utc_confirmed_at: Option<String>,
    product_id: String,
    #[schema(value_type = Object)]
    product: serde_json::Value,
    #[schema(value_type = String)]
    option_id: &'static str,
    #[schema(value_type = Object)]
    option: serde_json::Value,
    cancellable: bool,
    cancellation: Option<Cancellation>,
    freesale: bool,
    availability_id: String,
    availability: Availability,
    contact: Contact,
    notes: Option<String>,
    #[schema(value_type = Vec<String>)]
    delivery_methods: [&'static str; 1],
    voucher: Ticket,
    unit_items: Vec<UnitItem>,
    /// With `octo/pricing`: the booking's total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing: Option<Pricing>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Cancellation {
    refund: String,
    reason: Option<String>,
    utc_cancelled_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Ticket {
    #[schema(value_type = String)]
    redemption_method: &'static str,
    utc_redeemed_at: Option<String>,
    delivery_options: Vec<DeliveryOption>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeliveryOption {
    #[schema(value_type = String)]
    delivery_format: &'static str,
    delivery_value: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UnitItem {
    uuid: String,
    reseller_reference: Option<String>,
    supplier_reference: String,
    unit_id: String,
    #[schema(value_type = String)]
    status: &'static str,
    utc_redeemed_at: Option<String>,
    contact: Contact,
    ticket: Option<Ticket>,
    /// With `octo/pricing`: this traveller's price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing: Option<Pricing>,
}

/// What a booking endpoint answers. A type for the document only: never built, so its size
/// does not matter.
#[derive(utoipa::IntoResponses)]
#[allow(clippy::large_enum_variant, dead_code)]
pub enum BookingAnswer {
    /// The booking; `Octo-Capabilities` says the capabilities applied.
    #[response(status = 200)]
    Booking(#[to_schema] OctoBooking),
    /// An OCTO error (the operation's description lists its codes).
    #[response(status = 400)]
    Refused(#[to_schema] super::OctoErrorBody),
}

/// What the booking list answers (for the document only).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BookingsAnswer {
    /// The bookings; `Octo-Capabilities` says the capabilities applied.
    #[response(status = 200)]
    Bookings(Vec<OctoBooking>),
    /// An OCTO error (the operation's description lists its codes).
    #[response(status = 400)]
    Refused(#[to_schema] super::OctoErrorBody),
}

fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A booking's status in OCTO's words (a lapsed hold is `EXPIRED` at once).
fn octo_status(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::Held => "ON_HOLD",
        BookingStatus::Confirmed => "CONFIRMED",
        BookingStatus::CheckedIn => "REDEEMED",
        BookingStatus::Expired => "EXPIRED",
        BookingStatus::Cancelled => "CANCELLED",
    }
}

/// What a response needs about a booking's tour: the tour and its OCTO product, read once per
/// request.
struct Products<'a, 'r> {
    ctx: &'a Ctx<'r>,
    reseller: &'a Reseller,
    pricing: bool,
    seen: HashMap<TourId, (TourRecord, serde_json::Value)>,
}

impl<'a, 'r> Products<'a, 'r> {
    fn new(ctx: &'a Ctx<'r>, reseller: &'a Reseller, applied: Applied) -> Self {
        Products {
            ctx,
            reseller,
            pricing: applied.pricing,
            seen: HashMap::new(),
        }
    }

    async fn get(&mut self, tour: &TourId) -> Result<&(TourRecord, serde_json::Value), OctoError> {
        if !self.seen.contains_key(tour) {
            let record = catalogue::tour(self.ctx.store, tour).await?;
            let upcoming = upcoming(self.ctx, &record).await?;
            let prices = self.pricing.then_some(PriceList {
                tour: &record,
                reseller: self.reseller,
            });
            let value = serde_json::to_value(product(&record, upcoming, prices))
                .map_err(|e| AppError::Internal(e.into()))?;
            self.seen.insert(tour.clone(), (record, value));
        }
        self.seen
            .get(tour)
            .ok_or_else(|| OctoError::new("INTERNAL_SERVER_ERROR", "internal error"))
    }
}

async fn render(
    products: &mut Products<'_, '_>,
    sold: ResaleBooking,
) -> Result<OctoBooking, OctoError> {
    let ctx = products.ctx;
    let now = ctx.now();
    let ResaleBooking { booking, resale } = sold;
    let (reseller, pricing) = (products.reseller, products.pricing);
    let (tour, product) = products.get(&booking.tour_id).await?;
    let prices = pricing.then_some(PriceList { tour, reseller });
    let (_, departure) = catalogue::departure(ctx.store, now, &booking.departure_id).await?;
    let slot = availability(tour, &departure, now);
    let status = booking.effective_status(now);
    let octo = octo_status(status);
    let expires = booking.expires_at.map(utc);
    let redeemed = (status == BookingStatus::CheckedIn).then(|| utc(booking.updated_at));
    let confirmed = match status {
        BookingStatus::Held | BookingStatus::Expired => None,
        _ => resale.confirmed_at.map(utc),
    };
    let cancellation = match status {
        BookingStatus::Cancelled => Some(Cancellation {
            refund: resale
                .cancel_refund
                .clone()
                .unwrap_or_else(|| "FULL".to_owned()),
            reason: resale.cancel_note.clone(),
            utc_cancelled_at: utc(booking.updated_at),
        }),
        // The validator wants one on an expired hold too (tests/octo/README.md, ambiguity 6).
        BookingStatus::Expired => Some(Cancellation {
            refund: "FULL".to_owned(),
            reason: None,
            utc_cancelled_at: expires.clone().unwrap_or_else(|| utc(booking.updated_at)),
        }),
        _ => None,
    };
    let cancellable = match status {
        BookingStatus::Held => true,
        BookingStatus::Confirmed => now < departure.occupancy.starts_at,
        _ => false,
    };
    let delivered = !matches!(status, BookingStatus::Held | BookingStatus::Expired);
    let voucher = Ticket {
        redemption_method: "DIGITAL",
        utc_redeemed_at: redeemed.clone(),
        delivery_options: if delivered {
            vec![DeliveryOption {
                delivery_format: "QRCODE",
                delivery_value: booking.reference.to_string(),
            }]
        } else {
            Vec::new()
        },
    };
    let option = product
        .get("options")
        .and_then(|o| o.get(0))
        .cloned()
        .unwrap_or_default();
    // Each traveller at the price frozen when the seats were taken.
    let price_of = |unit: &str| {
        let frozen = booking.items.iter().find(|line| line.unit == unit);
        let price = frozen
            .map(|line| line.unit_price)
            .or_else(|| tour.tour.unit(unit).map(|u| u.price));
        prices.map(|p| p.at(price.unwrap_or(0), 1))
    };
    let unit_items: Vec<UnitItem> = resale
        .unit_items
        .iter()
        .enumerate()
        .map(|(n, unit)| UnitItem {
            uuid: unit.uuid.clone(),
            reseller_reference: None,
            supplier_reference: format!("{}-{}", booking.reference, n + 1),
            unit_id: unit.unit_id.clone(),
            status: octo,
            utc_redeemed_at: redeemed.clone(),
            contact: Contact::default(),
            ticket: None,
            pricing: price_of(&unit.unit_id),
        })
        .collect();
    let total = prices.map(|p| p.sum(unit_items.iter().filter_map(|u| u.pricing.as_ref())));
    Ok(OctoBooking {
        id: booking.id.to_string(),
        uuid: resale.uuid,
        test_mode: false,
        reseller_reference: resale.reseller_reference,
        supplier_reference: booking.reference.to_string(),
        status: octo,
        utc_created_at: utc(booking.created_at),
        utc_updated_at: utc(booking.updated_at.max(booking.created_at)),
        utc_expires_at: if matches!(status, BookingStatus::Held | BookingStatus::Expired) {
            expires
        } else {
            None
        },
        utc_redeemed_at: redeemed,
        utc_confirmed_at: confirmed,
        product_id: tour.id.to_string(),
        product: product.clone(),
        option_id: DEFAULT_OPTION,
        option,
        cancellable,
        cancellation,
        freesale: false,
        availability_id: slot.id.clone(),
        availability: slot,
        contact: resale.contact,
        notes: resale.notes,
        delivery_methods: ["VOUCHER"],
        voucher,
        unit_items,
        pricing: total,
    })
}

async fn answer(
    ctx: &Ctx<'_>,
    reseller: &Reseller,
    applied: Applied,
    sold: ResaleBooking,
) -> Result<Octo<OctoBooking>, OctoError> {
    let mut products = Products::new(ctx, reseller, applied);
    Ok(Octo(render(&mut products, sold).await?))
}

fn no_travellers() -> OctoError {
    OctoError::new(
        "UNPROCESSABLE_ENTITY",
        "unitItems must list at least one traveller",
    )
}

/// The booking's uuid, as a path parameter.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BookingUuid {
    /// The booking's uuid (the reseller's own, or the one berth gave it).
    #[allow(dead_code)] // Read by the document only: Rocket passes the path segment itself.
    uuid: String,
}

fn invalid_uuid(uuid: &str) -> OctoError {
    OctoError {
        field: Some(("uuid", uuid.to_owned())),
        ..OctoError::new("INVALID_BOOKING_UUID", "no such booking")
    }
}

/// A refusal of what the booking's state or seats allow is `UNPROCESSABLE_ENTITY` in OCTO;
/// everything else maps as usual.
fn unprocessable(error: AppError) -> OctoError {
    match error {
        AppError::NotFound => OctoError::new("UNPROCESSABLE_ENTITY", "the booking cannot do that"),
        AppError::Validation(_)
        | AppError::SoldOut { .. }
        | AppError::SalesClosed { .. }
        | AppError::HoldExpired
        | AppError::CancellationClosed
        | AppError::DepartureCancelled
        | AppError::InvalidTransition { .. }
        | AppError::Refused { .. } => OctoError::new("UNPROCESSABLE_ENTITY", error.to_string()),
        other => other.into(),
    }
}

fn minutes(field: &str, value: Option<i64>) -> Result<Option<Duration>, OctoError> {
    match value {
        None => Ok(None),
        Some(m) if (1..=1440).contains(&m) => Ok(Some(Duration::minutes(m))),
        Some(_) => Err(OctoError::new(
            "BAD_REQUEST",
            format!("{field} must be a whole number of minutes from 1 to 1440"),
        )),
    }
}

fn text(field: &str, value: Option<String>, long: bool) -> Result<Option<String>, OctoError> {
    match value {
        Some(v) if !(if long { notes_text(&v) } else { short_text(&v) }) => Err(OctoError::new(
            "BAD_REQUEST",
            format!("{field} is too long or holds control characters"),
        )),
        other => Ok(other),
    }
}

/// The departure an availability id (its local start) names in a tour.
async fn departure_for(
    ctx: &Ctx<'_>,
    tour: &TourRecord,
    availability_id: &str,
) -> Result<DepartureRecord, OctoError> {
    let unknown = || OctoError {
        field: Some(("availabilityId", availability_id.to_owned())),
        ..OctoError::new("INVALID_AVAILABILITY_ID", "no such availability")
    };
    let at = DateTime::parse_from_rfc3339(availability_id).map_err(|_| unknown())?;
    let day = at.with_timezone(&tour.tour.timezone).date_naive();
    let now = ctx.now();
    let range = DateRange { from: day, to: day };
    catalogue::departures_on(ctx.store, now, tour, &range)
        .await?
        .into_iter()
        .find(|d| availability(tour, d, now).id == availability_id)
        .ok_or_else(unknown)
}

/// The travellers a body asks for, each unit a unit of the tour (else `INVALID_UNIT_ID`).
fn units_of(tour: &TourRecord, items: &[UnitItemBody]) -> Result<Vec<UnitAsk>, OctoError> {
    items
        .iter()
        .map(|item| {
            if !tour.tour.units.iter().any(|u| u.code == item.unit_id) {
                return Err(OctoError {
                    field: Some(("unitId", item.unit_id.clone())),
                    ..OctoError::new("INVALID_UNIT_ID", "no such unit")
                });
            }
            Ok(UnitAsk {
                unit_id: item.unit_id.clone(),
                uuid: item.uuid.clone(),
            })
        })
        .collect()
}

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

async fn own(ctx: &Ctx<'_>, reseller: &Reseller, uuid: &str) -> Result<ResaleBooking, OctoError> {
    resales::find(ctx.store, reseller, uuid)
        .await?
        .ok_or_else(|| invalid_uuid(uuid))
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
    let reseller = key.0?;
    let request: ConfirmBody = parse(body)?;
    let mut sold = own(&ctx, &reseller, uuid).await?;
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
    let reseller = key.0?;
    let request: ExtendBody = parse(body)?;
    let sold = own(&ctx, &reseller, uuid).await?;
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
    let reseller = key.0?;
    let request: UpdateBody = parse(body)?;
    let sold = own(&ctx, &reseller, uuid).await?;
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
    let reseller = key.0?;
    let request: CancelBody = parse(body)?;
    let sold = own(&ctx, &reseller, uuid).await?;
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
