//! What a reseller can sell: `POST /octo/availability/calendar` (one entry per local day) and
//! `POST /octo/availability` (one entry per departure), read from the same departures and sales
//! rule as the tour page.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rocket::post;
use serde::{Deserialize, Serialize};

use super::catalogue::{sellable_tour, DEFAULT_OPTION};
use super::pricing::{Applied, PriceList, Pricing, PricingUnit};
use super::{Octo, OctoError, ResellerKey};
use crate::domain::octo::{day_status, slot_status, SlotStatus};
use crate::domain::price_rules::UnitPrices;
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::domain::reseller::Reseller;
use crate::http::context::Ctx;
use crate::http::rate_limit::RateLimited;
use crate::http::responder::{body_text, JsonBody};
use crate::service::catalogue::{self, DateRange};

/// The longest range one request may ask for (OCTO's own bound).
const MAX_DAYS: i64 = 366;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarRequest {
    product_id: String,
    option_id: String,
    local_date_start: Option<String>,
    local_date_end: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // A day's prices are per unit; the units asked for change nothing.
    units: Option<Vec<UnitQuantity>>,
    #[serde(default)]
    #[allow(dead_code)] // One currency: the tour's.
    currency: Option<String>,
}

/// Travellers of one unit, as a request for prices names them.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct UnitQuantity {
    id: String,
    quantity: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityRequest {
    product_id: String,
    option_id: String,
    local_date: Option<String>,
    local_date_start: Option<String>,
    local_date_end: Option<String>,
    availability_ids: Option<Vec<String>>,
    /// With `octo/pricing`: the travellers to price each availability for.
    #[serde(default)]
    units: Option<Vec<UnitQuantity>>,
    #[serde(default)]
    #[allow(dead_code)] // One currency: the tour's.
    currency: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarDay {
    local_date: String,
    available: bool,
    #[schema(value_type = String)]
    status: &'static str,
    vacancies: u32,
    capacity: u32,
    #[schema(value_type = Vec<Object>)]
    opening_hours: [(); 0],
    /// With `octo/pricing`: one traveller's price per unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_pricing_from: Option<Vec<PricingUnit>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub(super) id: String,
    local_date_time_start: String,
    local_date_time_end: String,
    utc_cutoff_at: String,
    all_day: bool,
    available: bool,
    #[schema(value_type = String)]
    status: &'static str,
    vacancies: u32,
    capacity: u32,
    max_units: Option<u32>,
    #[schema(value_type = Vec<Object>)]
    opening_hours: [(); 0],
    /// With `octo/pricing`: one traveller's price per unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_pricing: Option<Vec<PricingUnit>>,
    /// With `octo/pricing` and `units` in the request: their total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing: Option<Pricing>,
}

/// Reads a body as `T`; anything unreadable is `BAD_REQUEST`.
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: JsonBody<'_>) -> Result<T, OctoError> {
    let text = body_text(body)?;
    serde_json::from_str(&text).map_err(|e| {
        OctoError::new(
            "BAD_REQUEST",
            format!("the body is not what OCTO expects: {e}"),
        )
    })
}

pub(super) fn date(field: &str, value: Option<&str>) -> Result<NaiveDate, OctoError> {
    let value =
        value.ok_or_else(|| OctoError::new("BAD_REQUEST", format!("{field} is required")))?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| OctoError::new("BAD_REQUEST", format!("{field} must be a YYYY-MM-DD date")))
}

fn range(start: Option<&str>, end: Option<&str>) -> Result<DateRange, OctoError> {
    let (from, to) = (date("localDateStart", start)?, date("localDateEnd", end)?);
    if to < from {
        return Err(OctoError::new(
            "BAD_REQUEST",
            "localDateEnd is before localDateStart",
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(OctoError::new(
            "BAD_REQUEST",
            "cannot request more than 1 year of availability",
        ));
    }
    Ok(DateRange { from, to })
}

/// The product and option a request names, checked in OCTO's order.
pub(super) async fn product_and_option(
    ctx: &Ctx<'_>,
    reseller: &Reseller,
    product_id: &str,
    option_id: &str,
) -> Result<TourRecord, OctoError> {
    let tour = sellable_tour(ctx, reseller, product_id).await?;
    if option_id != DEFAULT_OPTION {
        return Err(OctoError {
            field: Some(("optionId", option_id.to_owned())),
            ..OctoError::new("INVALID_OPTION_ID", "no such option")
        });
    }
    Ok(tour)
}

fn local(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn status(tour: &TourRecord, departure: &DepartureRecord, now: DateTime<Utc>) -> SlotStatus {
    let occupancy = &departure.occupancy;
    slot_status(
        occupancy.sales_status(tour.tour.cutoff_minutes, now),
        occupancy.available(),
        occupancy.capacity,
    )
}

/// One departure as an OCTO availability; its id is its local start (unique within the option).
pub fn availability(
    tour: &TourRecord,
    departure: &DepartureRecord,
    now: DateTime<Utc>,
) -> Availability {
    let tz = tour.tour.timezone;
    let occupancy = &departure.occupancy;
    let status = status(tour, departure, now);
    let start = local(tz, occupancy.starts_at);
    Availability {
        id: start.clone(),
        local_date_time_start: start,
        local_date_time_end: local(
            tz,
            occupancy.starts_at + Duration::minutes(i64::from(tour.tour.duration_minutes)),
        ),
        utc_cutoff_at: occupancy
            .sales_close_at(tour.tour.cutoff_minutes)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        all_day: false,
        available: status.is_open(),
        status: status.as_str(),
        vacancies: if status == SlotStatus::SoldOut {
            0
        } else {
            occupancy.available()
        },
        capacity: occupancy.capacity,
        max_units: Some(tour.tour.max_per_booking),
        opening_hours: [],
        unit_pricing: None,
        pricing: None,
    }
}

/// `POST /octo/availability/calendar`: each local day from `localDateStart` to `localDateEnd`,
/// its best departure's status, the most seats one departure has left, and the day's capacity.
#[utoipa::path(
    post,
    path = "/octo/availability/calendar",
    tag = "octo",
    summary = "One entry per local day",
    request_body = CalendarRequest,
    responses((status = 200, description = "OK; `Octo-Capabilities` says the capabilities applied", body = Vec<CalendarDay>), (status = 400, description = "OCTO error: `INVALID_PRODUCT_ID, INVALID_OPTION_ID, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`", body = super::OctoErrorBody)),
    security(("reseller_key" = []))
)]
#[post("/octo/availability/calendar", data = "<body>")]
pub async fn calendar(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    body: JsonBody<'_>,
    ctx: Ctx<'_>,
) -> Result<Octo<Vec<CalendarDay>>, OctoError> {
    let reseller = key.0?;
    let request: CalendarRequest = parse(body)?;
    let tour = product_and_option(&ctx, &reseller, &request.product_id, &request.option_id).await?;
    let prices = applied.pricing.then_some(PriceList {
        tour: &tour,
        reseller: &reseller,
    });
    let range = range(
        request.local_date_start.as_deref(),
        request.local_date_end.as_deref(),
    )?;
    let now = ctx.now();
    let tz = tour.tour.timezone;
    let mut days: BTreeMap<NaiveDate, Vec<&DepartureRecord>> = BTreeMap::new();
    let departures = catalogue::departures_on(ctx.store, now, &tour, &range).await?;
    for departure in &departures {
        let day = departure
            .occupancy
            .starts_at
            .with_timezone(&tz)
            .date_naive();
        days.entry(day).or_default().push(departure);
    }
    let mut out = Vec::new();
    let mut day = range.from;
    while day <= range.to {
        let list = days.get(&day).map(Vec::as_slice).unwrap_or_default();
        let statuses: Vec<SlotStatus> = list.iter().map(|d| status(&tour, d, now)).collect();
        let status = day_status(statuses.iter().copied());
        let vacancies = list
            .iter()
            .zip(&statuses)
            .filter(|(_, s)| s.is_open())
            .map(|(d, _)| d.occupancy.available())
            .max()
            .unwrap_or(0);
        out.push(CalendarDay {
            local_date: day.to_string(),
            available: status.is_open(),
            status: status.as_str(),
            vacancies,
            capacity: list.iter().map(|d| d.occupancy.capacity).sum(),
            opening_hours: [],
            // The lowest price of each unit among the day's departures.
            unit_pricing_from: prices.map(|p| p.units(&lowest_prices(&tour, list))),
        });
        day = day.succ_opt().unwrap_or(range.to + Duration::days(1));
    }
    Ok(Octo(out))
}

/// `POST /octo/availability`: the departures of a local date, of a range of dates, or with the
/// given ids (exactly one of the three).
#[utoipa::path(
    post,
    path = "/octo/availability",
    tag = "octo",
    summary = "One entry per departure",
    request_body = AvailabilityRequest,
    responses((status = 200, description = "OK; `Octo-Capabilities` says the capabilities applied", body = Vec<Availability>), (status = 400, description = "OCTO error: `INVALID_PRODUCT_ID, INVALID_OPTION_ID, INVALID_UNIT_ID, BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INTERNAL_SERVER_ERROR`", body = super::OctoErrorBody)),
    security(("reseller_key" = []))
)]
#[post("/octo/availability", data = "<body>")]
pub async fn check(
    _rate: RateLimited,
    key: ResellerKey,
    applied: Applied,
    body: JsonBody<'_>,
    ctx: Ctx<'_>,
) -> Result<Octo<Vec<Availability>>, OctoError> {
    let reseller = key.0?;
    let request: AvailabilityRequest = parse(body)?;
    let tour = product_and_option(&ctx, &reseller, &request.product_id, &request.option_id).await?;
    let prices = applied.pricing.then_some(PriceList {
        tour: &tour,
        reseller: &reseller,
    });
    // The travellers asked about, every unit one of the tour's; priced per departure below.
    let asked: Option<Vec<(String, i64)>> = match (prices, request.units.as_deref()) {
        (Some(_), Some(units)) => {
            let mut asked = Vec::with_capacity(units.len());
            for unit in units {
                if tour.tour.unit(&unit.id).is_none() {
                    return Err(OctoError {
                        field: Some(("unitId", unit.id.clone())),
                        ..OctoError::new("INVALID_UNIT_ID", "no such unit")
                    });
                }
                if !(0..=1000).contains(&unit.quantity) {
                    return Err(OctoError::new(
                        "BAD_REQUEST",
                        "units[].quantity must be from 0 to 1000",
                    ));
                }
                asked.push((unit.id.clone(), unit.quantity));
            }
            Some(asked)
        }
        _ => None,
    };
    let forms = [
        request.local_date.is_some(),
        request.local_date_start.is_some() || request.local_date_end.is_some(),
        request.availability_ids.is_some(),
    ];
    if forms.iter().filter(|f| **f).count() != 1 {
        return Err(OctoError::new(
            "BAD_REQUEST",
            "send exactly one of localDate, localDateStart with localDateEnd, or availabilityIds",
        ));
    }
    let tz = tour.tour.timezone;
    let now = ctx.now();
    let wanted: Option<Vec<String>> = request.availability_ids.clone();
    let range = if let Some(day) = &request.local_date {
        let day = date("localDate", Some(day))?;
        DateRange { from: day, to: day }
    } else if let Some(ids) = &wanted {
        if ids.is_empty() || ids.len() > 100 {
            return Err(OctoError::new(
                "BAD_REQUEST",
                "availabilityIds takes 1 to 100 ids",
            ));
        }
        // Each id is a local start: the dates they fall on bound the search.
        let days: Vec<NaiveDate> = ids
            .iter()
            .filter_map(|id| DateTime::parse_from_rfc3339(id).ok())
            .map(|at| at.with_timezone(&tz).date_naive())
            .collect();
        match (days.iter().min(), days.iter().max()) {
            (Some(from), Some(to)) if (*to - *from).num_days() < MAX_DAYS => DateRange {
                from: *from,
                to: *to,
            },
            (Some(_), Some(_)) => {
                return Err(OctoError::new(
                    "BAD_REQUEST",
                    "cannot request more than 1 year of availability",
                ))
            }
            _ => return Ok(Octo(Vec::new())),
        }
    } else {
        range(
            request.local_date_start.as_deref(),
            request.local_date_end.as_deref(),
        )?
    };
    let departures = catalogue::departures_on(ctx.store, now, &tour, &range).await?;
    let list = departures
        .iter()
        .map(|d| (availability(&tour, d, now), d))
        .filter(|(a, _)| wanted.as_ref().is_none_or(|ids| ids.contains(&a.id)))
        .map(|(a, departure)| {
            // What this departure sells each unit at (its own prices, the tour's rules).
            let at = departure.prices(&tour);
            let total = prices.zip(asked.as_ref()).map(|(prices, asked)| {
                let parts: Vec<Pricing> = asked
                    .iter()
                    .map(|(unit, quantity)| {
                        prices.at(at.get(unit).copied().unwrap_or(0), *quantity)
                    })
                    .collect();
                prices.sum(&parts)
            });
            Availability {
                unit_pricing: prices.map(|p| p.units(&at)),
                pricing: total,
                ..a
            }
        })
        .collect();
    Ok(Octo(list))
}

/// Each unit's lowest price among `departures` (the tour's base prices when there are none).
fn lowest_prices(tour: &TourRecord, departures: &[&DepartureRecord]) -> UnitPrices {
    let mut lowest = UnitPrices::new();
    for departure in departures {
        for (unit, price) in departure.prices(tour) {
            let entry = lowest.entry(unit).or_insert(price);
            *entry = (*entry).min(price);
        }
    }
    lowest
}
