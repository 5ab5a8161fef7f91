//! An operator's own Stripe keys (owners only): shown masked, set, removed, checked.
//!
//! Setting keys does not go through `Idempotency::run`: that would keep the request, with its
//! keys, in the idempotency table. Setting the same keys again changes nothing, so a retry is
//! safe without it.

use rocket::serde::json::Json;
use rocket::{delete, get, post, put, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::SmallJson;
use super::context::Ctx;
use super::guards::{Authorized, Owner};
use super::rate_limit::RateLimited;
use super::responder::ErrorResponse;
use super::views::rfc3339;
use crate::error::AppError;
use crate::service::payments::{self, AccountCheck, PaymentSettings, Payments};

/// The keys an operator's payments go through, masked.
#[derive(Serialize, ToSchema)]
pub struct PaymentSettingsView {
    /// Whose keys take the operator's payments: `operator` (its own), `environment` (the
    /// instance's `BERTH_STRIPE_SECRET_KEY`), or `none` (travelers pay on arrival).
    in_force: &'static str,
    /// `test` or `live`, of the keys in force; null when none are.
    mode: Option<&'static str>,
    /// The operator's own keys in force; null when it has none.
    account: Option<PaymentAccountView>,
    /// The URL path to give the operator's Stripe webhook endpoint (after the instance's
    /// public URL).
    webhook_path: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentAccountView {
    id: String,
    provider: String,
    mode: &'static str,
    /// The prefix and last four characters only (`sk_test_…4242`).
    secret_key: String,
    /// In full: it is public (Stripe.js on the payment page uses it).
    publishable_key: String,
    /// The prefix and last four characters only (`whsec_…9876`).
    webhook_secret: String,
    set_at: String,
    /// The user who set them (null: the command line or an API token).
    set_by: Option<String>,
}

impl From<PaymentSettings> for PaymentSettingsView {
    fn from(settings: PaymentSettings) -> Self {
        PaymentSettingsView {
            in_force: settings.source.as_str(),
            mode: settings.mode.map(|m| m.as_str()),
            account: settings.account.map(|a| PaymentAccountView {
                id: a.id.to_string(),
                provider: a.provider,
                mode: a.mode.as_str(),
                secret_key: a.secret_key_mask,
                publishable_key: a.publishable_key,
                webhook_secret: a.webhook_secret_mask,
                set_at: rfc3339(a.created_at),
                set_by: a.created_by.map(|u| u.to_string()),
            }),
            webhook_path: settings.webhook_path,
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/operator/payments",
    tag = "operator",
    summary = "Which Stripe keys take the operator's payments, masked (owners only)",
    responses(
        (status = 200, description = "The settings", body = PaymentSettingsView),
        (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/operator/payments")]
pub async fn get_payment_settings(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Json<PaymentSettingsView>, AppError> {
    let by = auth?.0;
    let settings = payments::payment_settings(ctx.store, payments, &by.operator).await?;
    Ok(Json(settings.into()))
}

/// The operator's Stripe keys, from its Stripe dashboard.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"secret_key": "sk_test_…", "publishable_key": "pk_test_…", "webhook_secret": "whsec_…"}))]
pub struct PaymentKeys {
    /// A secret (`sk_test_…`, `sk_live_…`) or restricted (`rk_…`) key.
    secret_key: String,
    /// The publishable key of the same mode (`pk_test_…`, `pk_live_…`).
    publishable_key: String,
    /// The signing secret of the webhook endpoint pointed at `webhook_path` (`whsec_…`).
    webhook_secret: String,
}

#[utoipa::path(
    put,
    path = "/v1/operator/payments",
    tag = "operator",
    summary = "Set the operator's own Stripe keys (owners only)",
    description = "The secret key and webhook secret are stored encrypted and shown masked from then on. Other keys than those in force retire them: payments made under the old keys are still refunded with them. Setting the keys in force again changes nothing.",
    request_body = PaymentKeys,
    responses(
        (status = 200, description = "In force", body = PaymentSettingsView),
        (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse),
        (status = 422, description = "A key of the wrong shape, keys of two modes, or a live key on a debug instance (`validation_failed` with `fields`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[put("/v1/operator/payments", data = "<body>")]
pub async fn set_payment_keys(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    body: Result<SmallJson<PaymentKeys>, AppError>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Json<PaymentSettingsView>, AppError> {
    let by = auth?.0;
    let keys = body?.0;
    let settings = payments::set_account(
        ctx.store,
        payments,
        ctx.config.is_release(),
        ctx.now(),
        &by,
        (
            &keys.secret_key,
            &keys.publishable_key,
            &keys.webhook_secret,
        ),
    )
    .await?;
    Ok(Json(settings.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/operator/payments",
    tag = "operator",
    summary = "Stop using the operator's own Stripe keys (owners only)",
    description = "New payments then go through the instance's account, or are paid on arrival. Payments made under the removed keys are still refunded with them.",
    responses(
        (status = 200, description = "Removed (or there were none)", body = PaymentSettingsView),
        (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[delete("/v1/operator/payments")]
pub async fn remove_payment_keys(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Json<PaymentSettingsView>, AppError> {
    let by = auth?.0;
    let settings = payments::remove_account(ctx.store, payments, ctx.now(), &by).await?;
    Ok(Json(settings.into()))
}

/// What one harmless Stripe call with the keys in force answered.
#[derive(Serialize, ToSchema)]
pub struct AccountCheckView {
    ok: bool,
    /// `operator`, `environment` or `none`: whose keys were checked.
    in_force: &'static str,
    /// Stripe's id of the account the keys belong to (the operator's own keys only).
    account: Option<String>,
    /// Why the check failed: Stripe's error type and code, or that it could not be reached.
    problem: Option<String>,
}

impl From<AccountCheck> for AccountCheckView {
    fn from(check: AccountCheck) -> Self {
        AccountCheckView {
            ok: check.ok,
            in_force: check.source.as_str(),
            account: check.account,
            problem: check.problem,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/operator/payments/check",
    tag = "operator",
    summary = "Check the keys in force with one harmless Stripe call (retrieve the account)",
    responses(
        (status = 200, description = "What Stripe answered (`ok` false with the reason when it refused)", body = AccountCheckView),
        (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/operator/payments/check")]
pub async fn check_payment_keys(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Json<AccountCheckView>, AppError> {
    let by = auth?.0;
    let check = payments::check_account(ctx.store, payments, &by).await?;
    Ok(Json(check.into()))
}
