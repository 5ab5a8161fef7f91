//! `octo/pricing`: what a reseller's request gets when it asks for prices. Amounts are integers
//! in the tour's currency's minor units: `retail` (and `original`, the same: berth has no
//! discounts) is the traveller's price, `net` the reseller's after its commission, computed per
//! unit and multiplied, so a booking's total is the sum of its travellers'.

use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;
use serde::Serialize;

use crate::domain::money::minor_digits;
use crate::domain::price_rules::UnitPrices;
use crate::domain::records::TourRecord;
use crate::domain::reseller::Reseller;

/// The capability's id in `Octo-Capabilities`.
pub const PRICING: &str = "octo/pricing";

/// Whether the request asked for prices (and berth applies them).
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    pub pricing: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Applied {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let applied = super::applied_capabilities(request);
        Outcome::Success(Applied {
            pricing: applied.split(", ").any(|id| id == PRICING),
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pricing {
    original: i64,
    retail: i64,
    net: Option<i64>,
    currency: String,
    currency_precision: u32,
    #[schema(value_type = Vec<Object>)]
    included_taxes: [(); 0],
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricingUnit {
    unit_id: String,
    #[serde(flatten)]
    pricing: Pricing,
}

/// A product's pricing keys.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductPricing {
    default_currency: String,
    #[schema(value_type = Vec<String>)]
    available_currencies: [String; 1],
    #[schema(value_type = String)]
    pricing_per: &'static str,
    /// berth's prices are what the traveller pays, taxes included.
    include_tax: bool,
}

/// A tour's prices as one reseller sees them.
#[derive(Clone, Copy)]
pub struct PriceList<'a> {
    pub tour: &'a TourRecord,
    pub reseller: &'a Reseller,
}

impl PriceList<'_> {
    fn currency(&self) -> &str {
        self.tour.tour.currency.as_str()
    }

    /// `quantity` travellers at `unit_price` each.
    pub fn at(&self, unit_price: i64, quantity: i64) -> Pricing {
        let retail = unit_price * quantity;
        Pricing {
            original: retail,
            retail,
            net: Some(self.reseller.net(unit_price) * quantity),
            currency: self.currency().to_owned(),
            currency_precision: minor_digits(self.currency()),
            included_taxes: [],
        }
    }

    /// The sum of several prices (all in the tour's currency).
    pub fn sum<'p>(&self, parts: impl IntoIterator<Item = &'p Pricing>) -> Pricing {
        let mut total = self.at(0, 0);
        for part in parts {
            total.original += part.original;
            total.retail += part.retail;
            total.net = Some(total.net.unwrap_or(0) + part.net.unwrap_or(0));
        }
        total
    }

    /// Each unit's price for one traveller, at `prices` (a departure's, or the lowest of a day's).
    pub fn units(&self, prices: &UnitPrices) -> Vec<PricingUnit> {
        self.tour
            .tour
            .units
            .iter()
            .map(|u| PricingUnit {
                unit_id: u.code.clone(),
                pricing: self.at(prices.get(&u.code).copied().unwrap_or(u.price), 1),
            })
            .collect()
    }

    pub fn product(&self) -> ProductPricing {
        ProductPricing {
            default_currency: self.currency().to_owned(),
            available_currencies: [self.currency().to_owned()],
            pricing_per: "UNIT",
            include_tax: true,
        }
    }
}
