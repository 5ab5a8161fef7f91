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
    /// Minor units received.
    payments: i64,
    /// Minor units refunded (negative).
    refunds: i64,
    fees: i64,
    net: i64,
    entries: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RevenueView {
    from: String,
    to: String,
    currencies: Vec<CurrencyTotalsView>,
}

#[utoipa::path(
    get,
    path = "/v1/reports/revenue",
    tag = "operator",
    summary = "Revenue per currency over UTC dates from..=to, from the ledger",
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
    let (from, to, totals) =
        reports::revenue(store, clock.now(), &auth?.0.operator, from, to).await?;
    Ok(Json(RevenueView {
        from: from.to_string(),
        to: to.to_string(),
        currencies: totals
            .into_iter()
            .map(|t| CurrencyTotalsView {
                currency: t.currency,
                payments: t.payments,
                refunds: t.refunds,
                fees: t.fees,
                net: t.net,
                entries: t.entries,
            })
            .collect(),
    }))
}
