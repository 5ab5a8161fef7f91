//! What a reseller can read before it sells: the supplier (the operator), its products (the
//! tours the reseller may sell, one `DEFAULT` option each, the tour's units as OCTO units) and
//! the capabilities berth offers.

use std::collections::BTreeSet;

use rocket::get;
use serde::Serialize;

use super::pricing::{Applied, PriceList, Pricing, ProductPricing};
use super::{Octo, OctoError, ResellerKey, BASE};
use crate::domain::ids::TourId;
use crate::domain::octo::unit_type;
use crate::domain::price_rules::UnitPrices;
use crate::domain::records::TourRecord;
use crate::domain::reseller::Reseller;
use crate::http::context::Ctx;
use crate::http::rate_limit::RateLimited;
use crate::service::{catalogue, operators};

#[derive(Serialize, utoipa::ToSchema)]
pub struct OctoSupplier {
    id: String,
    name: String,
    endpoint: String,
    contact: SupplierContact,
}

#[derive(Serialize, utoipa::ToSchema)]
struct SupplierContact {
    website: Option<String>,
    email: Option<String>,
    telephone: Option<String>,
    address: Option<String>,
}

/// `GET /octo/supplier`: the operator whose seats the key sells.
#[utoipa::path(
    get,
    path = "/octo/supplier",
    tag = "octo",
    summary = "The operator whose seats the key sells",
    responses((status = 200, description = "OK; `Octo-Capabilities` says the capabilities applied", body = OctoSupplier), (status = 400, description = "OCTO error: `UNAUTHORIZED, FORBIDDEN, BAD_REQUEST, INTERNAL_SERVER_ERROR`", body = super::OctoErrorBody)),
    security(("reseller_key" = []))
)]
#[get("/octo/supplier")]
pub async fn supplier(
    _rate: RateLimited,
    key: ResellerKey,
    ctx: Ctx<'_>,
) -> Result<Octo<OctoSupplier>, OctoError> {
    let reseller = key.0?;
    let operator = operators::profile(ctx.store, &reseller.operator_id).await?;
    Ok(Octo(OctoSupplier {
        id: operator.id,
        name: operator.name,
        endpoint: format!("{}{BASE}", ctx.config.public_url().trim_end_matches('/')),
        contact: SupplierContact {
            website: None,
            email: Some(operator.email),
            telephone: None,
            address: None,
        },
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OctoProduct {
    id: String,
    internal_name: String,
    reference: Option<String>,
    #[schema(value_type = String)]
    locale: &'static str,
    time_zone: String,
    allow_freesale: bool,
    instant_confirmation: bool,
    instant_delivery: bool,
    availability_required: bool,
    #[schema(value_type = String)]
    availability_type: &'static str,
    #[schema(value_type = Vec<String>)]
    delivery_formats: [&'static str; 1],
    #[schema(value_type = Vec<String>)]
    delivery_methods: [&'static str; 1],
    #[schema(value_type = String)]
    redemption_method: &'static str,
    #[schema(value_type = Vec<OctoOption>)]
    options: [OctoOption; 1],
    /// With `octo/pricing`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pricing: Option<ProductPricing>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct OctoOption {
    #[schema(value_type = String)]
    id: &'static str,
    default: bool,
    #[schema(value_type = String)]
    internal_name: &'static str,
    reference: Option<String>,
    availability_local_start_times: Vec<String>,
    cancellation_cutoff: String,
    cancellation_cutoff_amount: u32,
    #[schema(value_type = String)]
    cancellation_cutoff_unit: &'static str,
    #[schema(value_type = Vec<String>)]
    required_contact_fields: [&'static str; 0],
    restrictions: OptionRestrictions,
    units: Vec<OctoUnit>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct OptionRestrictions {
    min_units: u32,
    max_units: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct OctoUnit {
    id: String,
    internal_name: String,
    reference: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: &'static str,
    restrictions: UnitRestrictions,
    #[schema(value_type = Vec<String>)]
    required_contact_fields: [&'static str; 0],
    /// With `octo/pricing`: one traveller's price, in the tour's one currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Pricing>>)]
    pricing_from: Option<[Pricing; 1]>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UnitRestrictions {
    min_age: u32,
    max_age: u32,
    id_required: bool,
    min_quantity: Option<u32>,
    max_quantity: Option<u32>,
    pax_count: u32,
    #[schema(value_type = Vec<String>)]
    accompanied_by: [&'static str; 0],
}

/// The one option of every product: berth sells a tour's departures with its units.
pub const DEFAULT_OPTION: &str = "DEFAULT";

pub(super) fn product(
    tour: &TourRecord,
    upcoming: Upcoming,
    prices: Option<PriceList<'_>>,
) -> OctoProduct {
    let Upcoming {
        start_times,
        prices_from,
    } = upcoming;
    let units = tour
        .tour
        .units
        .iter()
        .map(|unit| OctoUnit {
            id: unit.code.clone(),
            internal_name: unit.label.clone(),
            reference: None,
            kind: unit_type(&unit.code),
            restrictions: UnitRestrictions {
                min_age: 0,
                max_age: 120,
                id_required: false,
                min_quantity: None,
                max_quantity: None,
                pax_count: 1,
                accompanied_by: [],
            },
            required_contact_fields: [],
            pricing_from: prices.map(|p| {
                let from = prices_from.get(&unit.code).copied();
                [p.at(from.unwrap_or(unit.price), 1)]
            }),
        })
        .collect();
    OctoProduct {
        id: tour.id.to_string(),
        internal_name: tour.tour.name.clone(),
        reference: None,
        locale: "en",
        time_zone: tour.tour.timezone.name().to_owned(),
        allow_freesale: false,
        instant_confirmation: true,
        instant_delivery: true,
        availability_required: true,
        availability_type: "START_TIME",
        delivery_formats: ["QRCODE"],
        delivery_methods: ["VOUCHER"],
        redemption_method: "DIGITAL",
        options: [OctoOption {
            id: DEFAULT_OPTION,
            default: true,
            internal_name: DEFAULT_OPTION,
            reference: None,
            availability_local_start_times: start_times.into_iter().collect(),
            // A traveler may cancel until the departure starts (the refund is the policy's).
            cancellation_cutoff: "0 hours".to_owned(),
            cancellation_cutoff_amount: 0,
            cancellation_cutoff_unit: "hour",
            required_contact_fields: [],
            restrictions: OptionRestrictions {
                min_units: tour.tour.min_per_booking.max(1),
                max_units: Some(tour.tour.max_per_booking),
            },
            units,
        }],
        pricing: prices.map(|p| p.product()),
    }
}

/// What a product says of its departures in the next 93 days.
pub(super) struct Upcoming {
    /// The local start times its option lists: its schedules' times and those of the
    /// departures, `HH:MM`, sorted. Never empty (the spec wants one at least): a tour with
    /// neither lists midnight, and its availability is empty.
    start_times: BTreeSet<String>,
    /// Each unit's lowest price on those on sale (`TourRecord::prices_from`): its `pricingFrom`.
    prices_from: UnitPrices,
}

/// A product's [`Upcoming`], from the one query of its departures that its start times need.
pub(super) async fn upcoming(ctx: &Ctx<'_>, tour: &TourRecord) -> Result<Upcoming, OctoError> {
    let mut times: BTreeSet<String> = catalogue::schedule_times(ctx.store, &tour.id)
        .await?
        .into_iter()
        .collect();
    let tz = tour.tour.timezone;
    let today = ctx.now().with_timezone(&tz).date_naive();
    let range = catalogue::DateRange {
        from: today,
        to: today + chrono::Duration::days(93),
    };
    let departures = catalogue::departures_on(ctx.store, ctx.now(), tour, &range).await?;
    for departure in &departures {
        let local = departure.occupancy.starts_at.with_timezone(&tz);
        times.insert(local.format("%H:%M").to_string());
    }
    if times.is_empty() {
        times.insert("00:00".to_owned());
    }
    Ok(Upcoming {
        start_times: times,
        prices_from: tour.prices_from(&departures, ctx.now()),
    })
}

/// The tours a reseller may sell, in a stable order (the operator's, by id).
async fn sellable(ctx: &Ctx<'_>, reseller: &Reseller) -> Result<Vec<TourRecord>, OctoError> {
    Ok(catalogue::list_tours(ctx.store, &reseller.operator_id)
        .await?
        .into_iter()
        .filter(|t| t.archived_at.is_none() && reseller.sells(&t.operator_id, &t.id))
        .collect())
}

/// `GET /octo/products`: every tour the reseller may sell.
#[utoipa::path(
    get,
    path = "/octo/products",
    tag = "octo",
    summary = "The tours the key may sell",
    responses((status = 200, description = "OK; `Octo-Capabilities` says the capabilities applied", body = Vec<OctoProduct>), (status = 400, description = "OCTO error: `UNAUTHORIZED, FORBIDDEN, BAD_REQUEST, INTERNAL_SERVER_ERROR`", body = super::OctoErrorBody)),
    security(("reseller_key" = []))
)]
#[get("/octo/products")]
pub async fn products(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    ctx: Ctx<'_>,
) -> Result<Octo<Vec<OctoProduct>>, OctoError> {
    let reseller = key.0?;
    let mut list = Vec::new();
    for tour in sellable(&ctx, &reseller).await? {
        let upcoming = upcoming(&ctx, &tour).await?;
        let prices = applied.pricing.then_some(PriceList {
            tour: &tour,
            reseller: &reseller,
        });
        list.push(product(&tour, upcoming, prices));
    }
    Ok(Octo(list))
}

/// The tour a product id names, if the reseller may sell it; anything else is
/// `INVALID_PRODUCT_ID` (another operator's tour, or one outside the key's scope, looks the same
/// as none).
pub async fn sellable_tour(
    ctx: &Ctx<'_>,
    reseller: &Reseller,
    product_id: &str,
) -> Result<TourRecord, OctoError> {
    let unknown = || OctoError::invalid_product(product_id);
    let id = TourId::parse(product_id).ok_or_else(unknown)?;
    let tour = catalogue::tour(ctx.store, &id)
        .await
        .map_err(|_| unknown())?;
    if tour.archived_at.is_some() || !reseller.sells(&tour.operator_id, &tour.id) {
        return Err(unknown());
    }
    Ok(tour)
}

/// `GET /octo/products/{id}`.
#[utoipa::path(
    get,
    path = "/octo/products/{id}",
    tag = "octo",
    summary = "One product",
    params(("id" = String, Path, description = "The tour id")),
    responses((status = 200, description = "OK; `Octo-Capabilities` says the capabilities applied", body = OctoProduct), (status = 400, description = "OCTO error: `INVALID_PRODUCT_ID, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`", body = super::OctoErrorBody)),
    security(("reseller_key" = []))
)]
#[get("/octo/products/<id>")]
pub async fn product_by_id(
    _rate: RateLimited,
    id: &str,
    key: ResellerKey,
    applied: Applied,
    ctx: Ctx<'_>,
) -> Result<Octo<OctoProduct>, OctoError> {
    let reseller = key.0?;
    let tour = sellable_tour(&ctx, &reseller, id).await?;
    let upcoming = upcoming(&ctx, &tour).await?;
    let prices = applied.pricing.then_some(PriceList {
        tour: &tour,
        reseller: &reseller,
    });
    Ok(Octo(product(&tour, upcoming, prices)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Capability {
    #[schema(value_type = String)]
    id: &'static str,
    revision: u32,
    required: bool,
    #[schema(value_type = Vec<String>)]
    dependencies: [&'static str; 0],
    docs: Option<String>,
}

/// `GET /octo/capabilities`: the optional capabilities berth offers.
#[utoipa::path(
    get,
    path = "/octo/capabilities",
    tag = "octo",
    summary = "The optional capabilities berth offers",
    responses((status = 200, description = "OK; `Octo-Capabilities` says the capabilities applied", body = Vec<Capability>), (status = 400, description = "OCTO error: `UNAUTHORIZED, FORBIDDEN, BAD_REQUEST, INTERNAL_SERVER_ERROR`", body = super::OctoErrorBody)),
    security(("reseller_key" = []))
)]
#[get("/octo/capabilities")]
pub async fn capabilities(
    _rate: RateLimited,
    key: ResellerKey,
) -> Result<Octo<Vec<Capability>>, OctoError> {
    key.0?;
    Ok(Octo(
        super::SUPPORTED
            .iter()
            .map(|id| Capability {
                id,
                revision: 1,
                required: false,
                dependencies: [],
                docs: None,
            })
            .collect(),
    ))
}
