//! Prices by date: a tour's seasonal price rules (`/v1/tours/{id}/price-rules`) and a
//! departure's own prices (`PUT /v1/departures/{id}/prices`). Every departure's `prices` (its
//! view, availability, OCTO) and every hold's quote follow them.

use std::collections::BTreeMap;

use rocket::serde::json::Json;
use rocket::{delete, get, post, put};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{Admin, Authorized, Staff};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::DepartureView;
use crate::domain::ids::{DepartureId, TourId};
use crate::domain::price_rules::{PriceRule, PriceRuleDraft};
use crate::error::AppError;
use crate::service::prices;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PriceRuleView {
    id: String,
    name: String,
    from_date: Option<String>,
    to_date: Option<String>,
    /// `mon` … `sun`; empty: every day.
    weekdays: Vec<&'static str>,
    from_time: Option<String>,
    to_time: Option<String>,
    /// Unit code → price in minor units.
    prices: BTreeMap<String, i64>,
    priority: i32,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl PriceRuleView {
    fn new(rule: &PriceRule) -> Self {
        PriceRuleView {
            id: rule.id.clone(),
            name: rule.name.clone(),
            from_date: rule.from_date.map(|d| d.to_string()),
            to_date: rule.to_date.map(|d| d.to_string()),
            weekdays: rule
                .weekdays
                .iter()
                .filter_map(|d| DAYS.get(usize::from(*d).wrapping_sub(1)).copied())
                .collect(),
            from_time: rule.from_time.map(|t| t.format("%H:%M").to_string()),
            to_time: rule.to_time.map(|t| t.format("%H:%M").to_string()),
            prices: rule.prices.clone(),
            priority: rule.priority,
        }
    }
}

fn views(rules: &[PriceRule]) -> Vec<PriceRuleView> {
    rules.iter().map(PriceRuleView::new).collect()
}

fn tour_id(id: &str) -> Result<TourId, AppError> {
    TourId::parse(id).ok_or(AppError::NotFound)
}

#[utoipa::path(
    post,
    path = "/v1/tours/{id}/price-rules",
    tag = "operator",
    summary = "Add a seasonal price rule: prices per unit for a date range, days of the week, a start-time window",
    params(("id" = String, Path, description = "Tour id"), IdempotencyKey),
    request_body = PriceRuleDraft,
    responses(
        (status = 201, description = "The tour's rules, the new one last", body = Vec<PriceRuleView>),
        (status = 409, description = "`price_rule_limit`: the tour has 50 rules", body = ErrorResponse),
        (status = 422, description = "A field breaks the rules (`validation_failed`, each named)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/tours/<id>/price-rules", data = "<body>")]
pub async fn add_price_rule(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, draft: PriceRuleDraft, _| async move {
            let tour = tour_id(id)?;
            let rules = prices::add_rule(ctx.store, ctx.now(), &by, &tour, &draft).await?;
            Ok(ApiResponse::created(
                format!("/v1/tours/{tour}/price-rules"),
                &views(&rules),
            ))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/tours/{id}/price-rules",
    tag = "operator",
    summary = "A tour's seasonal price rules, in the order they were added",
    params(("id" = String, Path, description = "Tour id")),
    responses((status = 200, description = "Rules", body = Vec<PriceRuleView>)),
    security(("operator_token" = []))
)]
#[get("/v1/tours/<id>/price-rules")]
pub async fn list_price_rules(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Staff>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<PriceRuleView>>, AppError> {
    let rules = prices::rules(ctx.store, &auth?.0, &tour_id(id)?).await?;
    Ok(Json(views(&rules)))
}

#[utoipa::path(
    delete,
    path = "/v1/tours/{id}/price-rules/{rule}",
    tag = "operator",
    summary = "Remove a seasonal price rule (bookings already made keep their prices)",
    params(
        ("id" = String, Path, description = "Tour id"),
        ("rule" = String, Path, description = "Rule id"),
        IdempotencyKey
    ),
    responses((status = 200, description = "The rules left", body = Vec<PriceRuleView>)),
    security(("operator_token" = []))
)]
#[delete("/v1/tours/<id>/price-rules/<rule>")]
pub async fn remove_price_rule(
    _rate: RateLimited,
    id: &str,
    rule: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let tour = tour_id(id)?;
            let rules = prices::remove_rule(ctx.store, ctx.now(), &by, &tour, rule).await?;
            Ok(ApiResponse::ok(&views(&rules)))
        })
        .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"prices": {"adult": 2900}}))]
pub struct DeparturePricesRequest {
    /// Unit code → price in minor units, over the tour's rules and base prices for this
    /// departure alone; `null` removes them.
    #[schema(value_type = Option<BTreeMap<String, i64>>, nullable)]
    prices: Option<BTreeMap<String, i64>>,
}

#[utoipa::path(
    put,
    path = "/v1/departures/{id}/prices",
    tag = "operator",
    summary = "Set a departure's own prices per unit (null: back to its tour's)",
    params(("id" = String, Path, description = "Departure id"), IdempotencyKey),
    request_body = DeparturePricesRequest,
    responses(
        (status = 200, description = "The departure, with the prices it now sells at", body = DepartureView),
        (status = 422, description = "Not a unit of the tour, or a bad price (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[put("/v1/departures/<id>/prices", data = "<body>")]
pub async fn set_departure_prices(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(
            scope,
            body,
            |ctx, request: DeparturePricesRequest, _| async move {
                let departure = DepartureId::parse(id).ok_or(AppError::NotFound)?;
                let now = ctx.now();
                let (tour, departure) = prices::set_departure_prices(
                    ctx.store,
                    now,
                    &by,
                    &departure,
                    request.prices.as_ref(),
                )
                .await?;
                Ok(ApiResponse::ok(&DepartureView::new(&tour, &departure, now)))
            },
        )
        .await
}
