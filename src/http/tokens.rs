//! An operator's API tokens: create (shown once), list, revoke.

use super::rate_limit::RateLimited;
use rocket::serde::json::Json;

use super::context::Mutation;
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::responder::ErrorResponse;
use super::responder::JsonBody;
use rocket::{delete, get, post, State};
use serde::{Deserialize, Serialize};

use super::guards::{Authorized, Owner};
use crate::domain::auth::Role;
use crate::error::AppError;
use crate::service::operators;
use crate::storage::Store;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    label: String,
    /// What the token may do: `owner` (the default), `admin`, `staff` or `guide`.
    #[serde(default)]
    role: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    id: String,
    label: String,
    role: String,
    created_at: String,
    revoked_at: Option<String>,
    /// Only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "operator",
    summary = "Create an API token (shown once)",
    params(IdempotencyKey),
    request_body = TokenRequest,
    responses((status = 201, description = "Created; `token` appears only here", body = TokenView), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/tokens", data = "<body>")]
pub async fn create_token(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let operator = by.operator.clone();
    let scope = operator_scope(&operator);
    mutation
        .json(scope, body, |ctx, request: TokenRequest, _| async move {
            let role = match request.role.as_deref() {
                None => Role::Owner,
                Some(role) => role
                    .parse()
                    .map_err(|e: String| AppError::invalid("role", e))?,
            };
            let now = ctx.now();
            let (id, token) =
                operators::create_token(ctx.store, now, &by, &request.label, role).await?;
            let view = TokenView {
                id: id.to_string(),
                label: request.label.trim().to_owned(),
                role: role.as_str().to_owned(),
                created_at: now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                revoked_at: None,
                token: Some(token),
            };
            // The token is shown once and stored nowhere in clear, not even for a replay.
            let mut response = ApiResponse::created(format!("/v1/tokens/{id}"), &view);
            response.confidential = true;
            Ok(response)
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "operator",
    summary = "The operator's API tokens",
    responses((status = 200, description = "Tokens (never the secret)", body = Vec<TokenView>), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[get("/v1/tokens")]
pub async fn list_tokens(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    store: &State<Store>,
) -> Result<Json<Vec<TokenView>>, AppError> {
    let tokens = operators::list_tokens(store, &auth?.0.operator).await?;
    let rfc3339 =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                label: t.label,
                role: t.role,
                created_at: rfc3339(t.created_at),
                revoked_at: t.revoked_at.map(rfc3339),
                token: None,
            })
            .collect(),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    tag = "operator",
    summary = "Revoke an API token",
    params(("id" = String, Path, description = "Token id"), IdempotencyKey),
    responses((status = 204, description = "Revoked"), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[delete("/v1/tokens/<id>")]
pub async fn revoke_token(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Owner>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let operator = by.operator.clone();
    let scope = operator_scope(&operator);
    mutation
        .run(scope, |ctx, _| async move {
            operators::revoke_token(ctx.store, ctx.now(), &by, id).await?;
            Ok(ApiResponse::no_content())
        })
        .await
}
