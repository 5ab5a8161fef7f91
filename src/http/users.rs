//! An operator's users, managed by its owners: create, list, change role, deactivate.

use rocket::serde::json::Json;
use rocket::{get, patch, post, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::context::Mutation;
use super::guards::{Authorized, Owner};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use crate::domain::auth::Role;
use crate::error::AppError;
use crate::service::auth::{self, User, UserChange, UserDraft};
use crate::service::passwords::Argon2Gate;
use crate::storage::Store;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    email: String,
    name: String,
    /// owner, admin, staff or guide.
    role: String,
    /// At least 12 characters, not a common password.
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// owner, admin, staff or guide.
    role: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    id: String,
    email: String,
    name: String,
    role: Role,
    /// False once deactivated: the user can no longer sign in, and their sessions were ended.
    active: bool,
    /// Whether the user signs in with a TOTP code as well.
    two_factor: bool,
    created_at: String,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            id: user.id.to_string(),
            email: user.email,
            name: user.name,
            role: user.role,
            active: user.active,
            two_factor: user.two_factor,
            created_at: user
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "users",
    summary = "Add a user to the operator (owners only)",
    params(IdempotencyKey),
    request_body = UserRequest,
    responses((status = 201, description = "Created", body = UserView), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse), (status = 422, description = "Invalid fields, a weak password or an email in use (`validation_failed`), or `idempotency_key_reused`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/users", data = "<body>")]
pub async fn create_user(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
    gate: &State<Argon2Gate>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: UserRequest, _| async move {
            let draft = UserDraft {
                email: &request.email,
                name: &request.name,
                role: &request.role,
                password: &request.password,
            };
            let user = auth::create_user(ctx.store, gate, ctx.now(), &by, draft).await?;
            let location = format!("/v1/users/{}", user.id);
            Ok(ApiResponse::created(location, &UserView::from(user)))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/users",
    tag = "users",
    summary = "The operator's users (owners only)",
    responses((status = 200, description = "Users", body = Vec<UserView>), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[get("/v1/users")]
pub async fn list_users(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    store: &State<Store>,
) -> Result<Json<Vec<UserView>>, AppError> {
    let users = auth::list_users(store, &auth?.0.operator).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

#[utoipa::path(
    patch,
    path = "/v1/users/{id}",
    tag = "users",
    summary = "Change a user's role (owners only)",
    params(("id" = String, Path, description = "User id"), IdempotencyKey),
    request_body = UserPatch,
    responses((status = 200, description = "Changed", body = UserView), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse), (status = 404, description = "Unknown or another operator's user (`not_found`)", body = ErrorResponse), (status = 422, description = "Unknown role, or the last owner (`validation_failed`), or `idempotency_key_reused`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[patch("/v1/users/<id>", data = "<body>")]
pub async fn update_user(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Owner>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, patch: UserPatch, _| async move {
            let role: Role = patch
                .role
                .parse()
                .map_err(|e: String| AppError::invalid("role", e))?;
            let user =
                auth::change_user(ctx.store, ctx.now(), &by, id, UserChange::Role(role)).await?;
            Ok(ApiResponse::ok(&UserView::from(user)))
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/users/{id}/deactivate",
    tag = "users",
    summary = "Deactivate a user and end their sessions (owners only)",
    params(("id" = String, Path, description = "User id"), IdempotencyKey),
    responses((status = 200, description = "Deactivated", body = UserView), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse), (status = 404, description = "Unknown or another operator's user (`not_found`)", body = ErrorResponse), (status = 422, description = "The last owner (`validation_failed`), or `idempotency_key_reused`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/users/<id>/deactivate")]
pub async fn deactivate_user(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Owner>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let user =
                auth::change_user(ctx.store, ctx.now(), &by, id, UserChange::Deactivate).await?;
            Ok(ApiResponse::ok(&UserView::from(user)))
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/users/{id}/reset-two-factor",
    tag = "users",
    summary = "Turn a user's two-factor sign-in off and end their sessions (owners only)",
    description = "For a lost authenticator with the recovery codes gone: the user signs in with the password and enrols again.",
    params(("id" = String, Path, description = "User id"), IdempotencyKey),
    responses((status = 200, description = "Two-factor sign-in is off", body = UserView), (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse), (status = 404, description = "Unknown or another operator's user (`not_found`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/users/<id>/reset-two-factor")]
pub async fn reset_two_factor(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Owner>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let user = auth::change_user(ctx.store, ctx.now(), &by, id, UserChange::ResetTwoFactor)
                .await?;
            Ok(ApiResponse::ok(&UserView::from(user)))
        })
        .await
}
