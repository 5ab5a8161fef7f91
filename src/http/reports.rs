//! Operator reports, derived from the ledger.

use super::rate_limit::RateLimited;
use rocket::serde::json::Json;
use rocket::{get, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::guards::{Admin, Authorized};
use super::responder::ErrorResponse;
use crate::clock::Clock;
use crate::error::AppError;
use crate::service::reports;
use crate::storage::Store;

#[derive(Serialize, ToSchema)]
pub struct CurrencyTotalsView {
    currency: String,
    /// What the paid bookings were priced at before promo codes: `payments + discounts`.
    gross: i64,
    /// What promo codes took off the bookings paid in the window.
    discounts: i64,
    /// Minor units received.
    payments: i64,
    /// Minor units refunded (negative).
    refunds: i64,
    fees: i64,
    net: i64,
    entries: i64,
}

/// One sales channel's revenue in one currency.
#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    /// `direct`, or `reseller` (then `reseller_id` and `reseller_name` say which).
    channel: &'static str,
    reseller_id: Option<String>,
    reseller_name: Option<String>,
    currency: String,
    /// Direct: paid less refunded. Reseller: the retail price of what it sold on account (less
    /// what cancellations gave back).
    gross: i64,
    /// The reseller's commission on `gross` (0 for direct sales).
    commission: i64,
    /// `gross - commission`: for a reseller, what it owes the operator.
    net: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RevenueView {
    from: String,
    to: String,
    currencies: Vec<CurrencyTotalsView>,
    /// The same window by sales channel: direct first, then each reseller.
    channels: Vec<ChannelView>,
}

#[utoipa::path(
    get,
    path = "/v1/reports/revenue",
    tag = "operator",
    summary = "Revenue per currency and per sales channel (direct, each reseller) over UTC dates from..=to",
    params(
        ("from" = Option<String>, Query, description = "YYYY-MM-DD (UTC); default 29 days before `to`"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD (UTC); default today; at most 366 days")
    ),
    responses(
        (status = 200, description = "Totals", body = RevenueView),
        (status = 422, description = "Bad dates (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/reports/revenue?<from>&<to>")]
pub async fn revenue(
    _rate: RateLimited,
    from: Option<&str>,
    to: Option<&str>,
    auth: Result<Authorized<Admin>, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Json<RevenueView>, AppError> {
    let operator = auth?.0.operator;
    let (from, to, totals) = reports::revenue(store, clock.now(), &operator, from, to).await?;
    let channels = reports::channels(store, &operator, (from, to), &totals).await?;
    Ok(Json(RevenueView {
        from: from.to_string(),
        to: to.to_string(),
        currencies: totals
            .into_iter()
            .map(|t| CurrencyTotalsView {
                currency: t.currency,
                gross: t.gross,
                discounts: t.discounts,
                payments: t.payments,
                refunds: t.refunds,
                fees: t.fees,
                net: t.net,
                entries: t.entries,
            })
            .collect(),
        channels: channels
            .into_iter()
            .map(|c| {
                let (reseller_id, reseller_name) = c.reseller.unzip();
                ChannelView {
                    channel: if reseller_id.is_some() {
                        "reseller"
                    } else {
                        "direct"
                    },
                    reseller_id,
                    reseller_name,
                    currency: c.currency,
                    gross: c.gross,
                    commission: c.commission,
                    net: c.net,
                }
            })
            .collect(),
    }))
}
