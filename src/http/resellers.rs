//! An operator's resellers (owners): create (the key shown once), list, revoke. Resellers call
//! the OCTO API with their key.

use rocket::serde::json::Json;
use rocket::{delete, get, post};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{Authorized, Owner};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::rfc3339;
use crate::domain::reseller::{NewReseller, Reseller};
use crate::error::AppError;
use crate::service::resellers;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Harbour OTA", "commission_percent": 20}))]
pub struct ResellerRequest {
    /// 1–100 characters.
    name: String,
    /// The share of the retail price the reseller keeps, 0–100 (default 0).
    #[serde(default)]
    commission_percent: Option<i64>,
    /// Tour ids it may sell; absent or empty: every tour of the operator.
    #[serde(default)]
    tours: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResellerView {
    id: String,
    name: String,
    commission_percent: u8,
    /// The tours it may sell; empty: every tour.
    tours: Vec<String>,
    created_at: String,
    revoked_at: Option<String>,
    /// `Authorization: Bearer <key>` on `/octo`. Only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl ResellerView {
    fn new(reseller: &Reseller, key: Option<String>) -> ResellerView {
        ResellerView {
            id: reseller.id.to_string(),
            name: reseller.name.clone(),
            commission_percent: reseller.commission_percent,
            tours: reseller.tours.iter().map(|t| t.to_string()).collect(),
            created_at: rfc3339(reseller.created_at),
            revoked_at: reseller.revoked_at.map(rfc3339),
            key,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/resellers",
    tag = "operator",
    summary = "Create a reseller and its OCTO API key (shown once)",
    params(IdempotencyKey),
    request_body = ResellerRequest,
    responses((status = 201, description = "Created; `key` appears only here", body = ResellerView), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/resellers", data = "<body>")]
pub async fn create_reseller(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: ResellerRequest, _| async move {
            let new =
                NewReseller::parse(&request.name, request.commission_percent, &request.tours)?;
            let (reseller, key) = resellers::create(ctx.store, ctx.now(), &by, new).await?;
            let view = ResellerView::new(&reseller, Some(key));
            // The key is shown once and stored nowhere in clear, not even for a replay.
            let mut response =
                ApiResponse::created(format!("/v1/resellers/{}", reseller.id), &view);
            response.confidential = true;
            Ok(response)
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/resellers",
    tag = "operator",
    summary = "The operator's resellers (never their keys)",
    responses((status = 200, description = "Resellers, oldest first", body = Vec<ResellerView>), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[get("/v1/resellers")]
pub async fn list_resellers(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<ResellerView>>, AppError> {
    let list = resellers::list(ctx.store, &auth?.0).await?;
    Ok(Json(
        list.iter().map(|r| ResellerView::new(r, None)).collect(),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/resellers/{id}",
    tag = "operator",
    summary = "Revoke a reseller's key at once",
    params(("id" = String, Path, description = "Reseller id"), IdempotencyKey),
    responses((status = 204, description = "Revoked"), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[delete("/v1/resellers/<id>")]
pub async fn revoke_reseller(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Owner>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            resellers::revoke(ctx.store, ctx.now(), &by, id).await?;
            Ok(ApiResponse::no_content())
        })
        .await
}
