//! Promo codes (`/v1/promo-codes`): create, list, read and change an operator's codes. A
//! traveler applies one with `promo_code` on `POST /v1/bookings`.

use chrono::{DateTime, Utc};
use rocket::serde::json::Json;
use rocket::{get, patch, post};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{Admin, Authorized, Staff};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::operator::present;
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::rfc3339;
use crate::domain::promo::{Discount, PromoCode};
use crate::error::AppError;
use crate::service::promos::{self, NewPromo, PromoPatch};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "SUMMER10", "percent_off": 10, "valid_until": "2027-09-01T00:00:00Z", "max_redemptions": 100, "max_per_customer": 1}))]
pub struct PromoCodeRequest {
    /// 1 to 32 letters, digits, `-` or `_`; matched without regard to case (stored upper case).
    code: String,
    /// Percent off the booking's total, 1 to 100 (rounded down to the minor unit). Exactly one of
    /// `percent_off` and `amount_off`.
    #[serde(default)]
    percent_off: Option<i64>,
    /// Minor units off the booking's total (never more than the total), in `currency`.
    #[serde(default)]
    amount_off: Option<i64>,
    /// ISO 4217: required with `amount_off` or a `min_spend` (amounts in it); the code then
    /// applies only to tours sold in this currency.
    #[serde(default)]
    currency: Option<String>,
    /// Only this tour's bookings (default: every tour of yours).
    #[serde(default)]
    tour_id: Option<String>,
    /// RFC 3339: holds from then on may use it.
    #[serde(default)]
    valid_from: Option<String>,
    /// RFC 3339, exclusive: holds before then may use it.
    #[serde(default)]
    valid_until: Option<String>,
    /// The booking's total before the discount must reach this (minor units; default 0).
    #[serde(default)]
    min_spend: Option<i64>,
    /// Bookings holding seats with this code at once, at most (a lapsed or cancelled one gives
    /// its use back). Default: no limit.
    #[serde(default)]
    max_redemptions: Option<i64>,
    /// The same, per traveler email. Default: no limit.
    #[serde(default)]
    max_per_customer: Option<i64>,
    /// Default true; a code switched off is refused as unknown.
    #[serde(default)]
    active: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"max_redemptions": 200, "valid_until": null}))]
pub struct PromoCodePatch {
    /// RFC 3339, or `null` to remove the start.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    valid_from: Option<Option<String>>,
    /// RFC 3339, or `null` to remove the end.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    valid_until: Option<Option<String>>,
    /// ISO 4217, or `null` to remove it: a minimum spend is an amount in it, and a code with
    /// one applies only to tours sold in it. An amount off keeps its currency for good.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    currency: Option<Option<String>>,
    /// Minor units of `currency` (the code's, or the one sent with it), or `null` (or 0) for
    /// none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    min_spend: Option<Option<i64>>,
    /// Never below the redemptions live now (`409 below_redeemed`); `null`: no limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    max_redemptions: Option<Option<i64>>,
    /// `null`: no limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    max_per_customer: Option<Option<i64>>,
    #[serde(default)]
    active: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PromoCodeView {
    id: String,
    code: String,
    percent_off: Option<u32>,
    amount_off: Option<i64>,
    currency: Option<String>,
    tour_id: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    min_spend: i64,
    max_redemptions: Option<u32>,
    max_per_customer: Option<u32>,
    active: bool,
    /// Bookings holding seats with it now (held, confirmed, checked in).
    redemptions: u32,
    created_at: String,
    updated_at: String,
}

impl PromoCodeView {
    pub fn new(code: &PromoCode, redemptions: u32) -> Self {
        let rules = &code.rules;
        let (percent_off, amount_off) = match &rules.discount {
            Discount::Percent(percent) => (Some(*percent), None),
            Discount::Amount { amount, .. } => (None, Some(*amount)),
        };
        let currency = rules.currency.as_ref().map(|c| c.as_str().to_owned());
        let time = |at: Option<DateTime<Utc>>| at.map(rfc3339);
        PromoCodeView {
            id: code.id.to_string(),
            code: rules.code.clone(),
            percent_off,
            amount_off,
            currency,
            tour_id: rules.tour_id.as_ref().map(ToString::to_string),
            valid_from: time(rules.valid_from),
            valid_until: time(rules.valid_until),
            min_spend: rules.min_spend,
            max_redemptions: rules.max_redemptions,
            max_per_customer: rules.max_per_customer,
            active: rules.active,
            redemptions,
            created_at: rfc3339(code.created_at),
            updated_at: rfc3339(code.updated_at),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/promo-codes",
    tag = "operator",
    summary = "Create a promo code: percent or amount off, for a window, a tour, a minimum spend, a number of uses",
    params(IdempotencyKey),
    request_body = PromoCodeRequest,
    responses(
        (status = 201, description = "Created", body = PromoCodeView),
        (status = 409, description = "`promo_code_taken`: you already have a code spelled the same", body = ErrorResponse),
        (status = 422, description = "A field breaks the rules (`validation_failed`, each named)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/promo-codes", data = "<body>")]
pub async fn create_promo_code(
    _rate: RateLimited,
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
            |ctx, request: PromoCodeRequest, _| async move {
                let input = NewPromo {
                    code: request.code,
                    percent_off: request.percent_off,
                    amount_off: request.amount_off,
                    currency: request.currency,
                    tour_id: request.tour_id,
                    valid_from: request.valid_from,
                    valid_until: request.valid_until,
                    min_spend: request.min_spend,
                    max_redemptions: request.max_redemptions,
                    max_per_customer: request.max_per_customer,
                    active: request.active,
                };
                let (code, live) = promos::create(ctx.store, ctx.now(), &by, input).await?;
                Ok(ApiResponse::created(
                    format!("/v1/promo-codes/{}", code.id),
                    &PromoCodeView::new(&code, live),
                ))
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/v1/promo-codes",
    tag = "operator",
    summary = "Your promo codes, newest first (at most 500), with their live redemptions",
    responses((status = 200, description = "Codes", body = Vec<PromoCodeView>)),
    security(("operator_token" = []))
)]
#[get("/v1/promo-codes")]
pub async fn list_promo_codes(
    _rate: RateLimited,
    auth: Result<Authorized<Staff>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<PromoCodeView>>, AppError> {
    let codes = promos::list(ctx.store, ctx.now(), &auth?.0).await?;
    Ok(Json(
        codes
            .iter()
            .map(|(code, live)| PromoCodeView::new(code, *live))
            .collect(),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/promo-codes/{id}",
    tag = "operator",
    summary = "One promo code with its live redemptions",
    params(("id" = String, Path, description = "Promo code id")),
    responses((status = 200, description = "The code", body = PromoCodeView)),
    security(("operator_token" = []))
)]
#[get("/v1/promo-codes/<id>")]
pub async fn get_promo_code(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Staff>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<PromoCodeView>, AppError> {
    let (code, live) = promos::get(ctx.store, ctx.now(), &auth?.0, id).await?;
    Ok(Json(PromoCodeView::new(&code, live)))
}

#[utoipa::path(
    patch,
    path = "/v1/promo-codes/{id}",
    tag = "operator",
    summary = "Change a promo code's window, currency and minimum spend, limits, or switch it off",
    params(("id" = String, Path, description = "Promo code id"), IdempotencyKey),
    request_body = PromoCodePatch,
    responses(
        (status = 200, description = "Changed", body = PromoCodeView),
        (status = 409, description = "`below_redeemed`: more bookings hold the code than the new maximum", body = ErrorResponse),
        (status = 422, description = "A field breaks the rules (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[patch("/v1/promo-codes/<id>", data = "<body>")]
pub async fn update_promo_code(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: PromoCodePatch, _| async move {
            let patch = PromoPatch {
                valid_from: request.valid_from,
                valid_until: request.valid_until,
                currency: request.currency,
                min_spend: request.min_spend,
                max_redemptions: request.max_redemptions,
                max_per_customer: request.max_per_customer,
                active: request.active,
            };
            let (code, live) = promos::update(ctx.store, ctx.now(), &by, id, patch).await?;
            Ok(ApiResponse::ok(&PromoCodeView::new(&code, live)))
        })
        .await
}
