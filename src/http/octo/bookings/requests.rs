//! Reading what a booking request asks: its ids resolved in OCTO's order, its travellers, its
//! minutes and texts, and the refusals in OCTO's codes.

use chrono::{DateTime, Duration};
use serde::de::DeserializeOwned;

use super::wire::UnitItemBody;
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::domain::reseller::{notes_text, short_text, Reseller};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::octo::availability::availability;
use crate::http::octo::availability::parse;
use crate::http::octo::OctoError;
use crate::http::octo::ResellerKey;
use crate::http::responder::JsonBody;
use crate::service::catalogue::{self, DateRange};
use crate::service::resales::{self, ResaleBooking, UnitAsk};

pub(super) fn no_travellers() -> OctoError {
    OctoError::new(
        "UNPROCESSABLE_ENTITY",
        "unitItems must list at least one traveller",
    )
}

pub(super) fn invalid_uuid(uuid: &str) -> OctoError {
    OctoError {
        field: Some(("uuid", uuid.to_owned())),
        ..OctoError::new("INVALID_BOOKING_UUID", "no such booking")
    }
}

/// A refusal of what the booking's state or seats allow is `UNPROCESSABLE_ENTITY` in OCTO;
/// everything else maps as usual.
pub(super) fn unprocessable(error: AppError) -> OctoError {
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

pub(super) fn minutes(field: &str, value: Option<i64>) -> Result<Option<Duration>, OctoError> {
    match value {
        None => Ok(None),
        Some(m) if (1..=1440).contains(&m) => Ok(Some(Duration::minutes(m))),
        Some(_) => Err(OctoError::new(
            "BAD_REQUEST",
            format!("{field} must be a whole number of minutes from 1 to 1440"),
        )),
    }
}

pub(super) fn text(
    field: &str,
    value: Option<String>,
    long: bool,
) -> Result<Option<String>, OctoError> {
    match value {
        Some(v) if !(if long { notes_text(&v) } else { short_text(&v) }) => Err(OctoError::new(
            "BAD_REQUEST",
            format!("{field} is too long or holds control characters"),
        )),
        other => Ok(other),
    }
}

/// The departure an availability id (its local start) names in a tour.
pub(super) async fn departure_for(
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
pub(super) fn units_of(
    tour: &TourRecord,
    items: &[UnitItemBody],
) -> Result<Vec<UnitAsk>, OctoError> {
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

pub(super) async fn own(
    ctx: &Ctx<'_>,
    reseller: &Reseller,
    uuid: &str,
) -> Result<ResaleBooking, OctoError> {
    resales::find(ctx.store, reseller, uuid)
        .await?
        .ok_or_else(|| invalid_uuid(uuid))
}

/// What a request on one of the reseller's bookings names: the reseller, the body read, and the
/// booking of that uuid (in that order: a bad body is answered before an unknown uuid).
pub(super) async fn open<T: DeserializeOwned>(
    ctx: &Ctx<'_>,
    key: ResellerKey,
    uuid: &str,
    body: JsonBody<'_>,
) -> Result<(Reseller, T, ResaleBooking), OctoError> {
    let reseller = key.0?;
    let request: T = parse(body)?;
    let sold = own(ctx, &reseller, uuid).await?;
    Ok((reseller, request, sold))
}
