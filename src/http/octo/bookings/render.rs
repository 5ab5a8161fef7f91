//! A booking as OCTO shapes it: its status in OCTO's words, its product and availability, its
//! travellers and, with `octo/pricing`, their prices.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::wire::{Cancellation, DeliveryOption, OctoBooking, Ticket, UnitItem};
use crate::domain::booking::BookingStatus;
use crate::domain::ids::TourId;
use crate::domain::records::TourRecord;
use crate::domain::reseller::{Contact, Reseller};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::octo::availability::availability;
use crate::http::octo::catalogue::{product, upcoming, DEFAULT_OPTION};
use crate::http::octo::pricing::{Applied, PriceList};
use crate::http::octo::{Octo, OctoError};
use crate::service::catalogue;
use crate::service::resales::ResaleBooking;

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
pub(super) struct Products<'a, 'r> {
    ctx: &'a Ctx<'r>,
    reseller: &'a Reseller,
    pricing: bool,
    seen: HashMap<TourId, (TourRecord, serde_json::Value)>,
}

impl<'a, 'r> Products<'a, 'r> {
    pub(super) fn new(ctx: &'a Ctx<'r>, reseller: &'a Reseller, applied: Applied) -> Self {
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

pub(super) async fn render(
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

pub(super) async fn answer(
    ctx: &Ctx<'_>,
    reseller: &Reseller,
    applied: Applied,
    sold: ResaleBooking,
) -> Result<Octo<OctoBooking>, OctoError> {
    let mut products = Products::new(ctx, reseller, applied);
    Ok(Octo(render(&mut products, sold).await?))
}
