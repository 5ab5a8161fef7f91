//! Sign-in for operator users: login, refresh, logout. These endpoints take small bodies only
//! (4 KiB, 413 beyond) and sit in the strict `auth` rate-limit bucket.
//!
//! They do not go through `Idempotency::run`: that would store the issued tokens in clear in the
//! idempotency table. Retrying a login simply makes another session; retrying a refresh with the
//! same (now spent) token revokes the session, which is the safe answer to a replay.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::serde::json::Json;
use rocket::{post, Request, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::context::Ctx;
use super::guards::SignedIn;
use super::rate_limit::{ClientIp, RateLimited};
use super::responder::{parse_text, ErrorResponse};
use crate::error::AppError;
use crate::service::auth::{self, LoginOutcome, LoginThrottle, SessionTokens};
use crate::service::passwords::Argon2Gate;

/// The body limit of the authentication endpoints, unless `limits.auth` sets another.
pub const AUTH_BODY_LIMIT_BYTES: u64 = 4 * 1024;

/// A JSON object body of at most `limits.auth` ([`AUTH_BODY_LIMIT_BYTES`] by default), as text;
/// larger: 413. Sent as anything but `application/json`: 415.
pub struct SmallBody(pub String);

#[rocket::async_trait]
impl<'r> FromData<'r> for SmallBody {
    type Error = AppError;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if !super::responder::declares_json(request) {
            return Outcome::Error((Status::UnsupportedMediaType, AppError::UnsupportedMediaType));
        }
        let limit = request
            .limits()
            .get("auth")
            .unwrap_or(AUTH_BODY_LIMIT_BYTES.bytes());
        let read = data.open(limit).into_string().await;
        match read {
            Ok(capped) if !capped.is_complete() => {
                Outcome::Error((Status::PayloadTooLarge, AppError::PayloadTooLarge))
            }
            Ok(capped) if capped.trim_start().starts_with('{') => {
                Outcome::Success(SmallBody(capped.into_inner()))
            }
            Ok(_) => Outcome::Error((
                Status::UnprocessableEntity,
                AppError::invalid("body", "must be a JSON object"),
            )),
            Err(_) => Outcome::Error((
                Status::BadRequest,
                AppError::bad_request("malformed_json", "the request body could not be read"),
            )),
        }
    }
}

/// A [`SmallBody`] parsed as `T` with the project's error mapping (422 with `fields`).
pub struct SmallJson<T>(pub T);

#[rocket::async_trait]
impl<'r, T: serde::de::DeserializeOwned> FromData<'r> for SmallJson<T> {
    type Error = AppError;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match SmallBody::from_data(request, data).await {
            Outcome::Success(body) => match parse_text(&body.0) {
                Ok(value) => Outcome::Success(SmallJson(value)),
                Err(error) => Outcome::Error((error.status_and_code().0, error)),
            },
            Outcome::Error(error) => Outcome::Error(error),
            Outcome::Forward(forward) => Outcome::Forward(forward),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// A session's tokens, shown once.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// `Authorization: Bearer <access_token>` on operator endpoints.
    access_token: String,
    /// Trade it at `POST /v1/auth/refresh` before it expires; each one works once.
    refresh_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    access_expires_at: String,
    refresh_expires_at: String,
    user_id: String,
    operator_id: String,
    role: String,
}

impl SessionView {
    fn new(tokens: SessionTokens, now: chrono::DateTime<chrono::Utc>) -> SessionView {
        let rfc3339 = |at: chrono::DateTime<chrono::Utc>| {
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        };
        SessionView {
            expires_in: auth::expires_in(&tokens, now).num_seconds(),
            access_expires_at: rfc3339(tokens.access_expires_at),
            refresh_expires_at: rfc3339(tokens.refresh_expires_at),
            user_id: tokens.user_id.to_string(),
            operator_id: tokens.operator.to_string(),
            role: tokens.role.as_str().to_owned(),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer",
        }
    }
}

/// The first step of a login for a user with two-factor sign-in.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorView {
    /// Always true here.
    mfa_required: bool,
    /// Send with the code to `POST /v1/auth/2fa/verify`; good for one attempt, for 5 minutes.
    mfa_token: String,
    expires_at: String,
}

/// A login's answer: a session (200), or the second step (202).
#[derive(rocket::Responder)]
pub enum LoginReply {
    Session(Json<SessionView>),
    SecondFactor(rocket::response::status::Accepted<Json<SecondFactorView>>),
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    summary = "Sign in with email and password",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionView),
        (status = 202, description = "Password accepted; the account uses two-factor sign-in: send a code to /v1/auth/2fa/verify", body = SecondFactorView),
        (status = 401, description = "Wrong email or password, or the account is deactivated; the same answer for each (`unauthorized`)", body = ErrorResponse),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse),
        (status = 429, description = "Too many requests, or too many failed sign-ins from this address (`rate_limited`, with `Retry-After`)", body = ErrorResponse)
    )
)]
#[post("/v1/auth/login", data = "<body>")]
pub async fn login(
    _rate: RateLimited,
    client: ClientIp,
    body: Result<SmallJson<LoginRequest>, AppError>,
    ctx: Ctx<'_>,
    throttle: &State<LoginThrottle>,
    gate: &State<Argon2Gate>,
) -> Result<LoginReply, AppError> {
    let request = body?.0;
    let now = ctx.now();
    let outcome = auth::login(
        ctx.store,
        ctx.config,
        throttle,
        gate,
        now,
        client.0,
        &request.email,
        &request.password,
    )
    .await?;
    match outcome {
        LoginOutcome::Session(tokens) => {
            Ok(LoginReply::Session(Json(SessionView::new(tokens, now))))
        }
        LoginOutcome::SecondFactor {
            mfa_token,
            expires_at,
        } => Ok(LoginReply::SecondFactor(
            rocket::response::status::Accepted(Json(SecondFactorView {
                mfa_required: true,
                mfa_token,
                expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            })),
        )),
    }
}

#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    summary = "Trade a refresh token for new tokens (the old one is spent)",
    description = "Presenting a refresh token that was already traded revokes its whole session.",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = SessionView),
        (status = 401, description = "Unknown, spent, expired or revoked (`unauthorized`)", body = ErrorResponse),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse)
    )
)]
#[post("/v1/auth/refresh", data = "<body>")]
pub async fn refresh(
    _rate: RateLimited,
    body: Result<SmallJson<RefreshRequest>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<SessionView>, AppError> {
    let request = body?.0;
    let now = ctx.now();
    let tokens = auth::refresh(ctx.store, ctx.config, now, &request.refresh_token).await?;
    Ok(Json(SessionView::new(tokens, now)))
}

#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    summary = "Sign out: the session's access and refresh tokens stop working",
    responses(
        (status = 204, description = "Signed out"),
        (status = 403, description = "An API token, not a session (`forbidden`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/auth/logout")]
pub async fn logout(
    _rate: RateLimited,
    auth: Result<SignedIn, AppError>,
    ctx: Ctx<'_>,
) -> Result<Status, AppError> {
    auth::logout(ctx.store, ctx.now(), &auth?.0).await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    mfa_token: String,
    /// The authenticator's current 6-digit code, or one of the recovery codes.
    code: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/2fa/verify",
    tag = "auth",
    summary = "The second step of a login: a TOTP code or a recovery code",
    request_body = SecondFactorRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionView),
        (status = 401, description = "Wrong code, or an unknown, used or expired MFA token: sign in again (`unauthorized`)", body = ErrorResponse),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse)
    )
)]
#[post("/v1/auth/2fa/verify", data = "<body>")]
pub async fn verify_second_factor(
    _rate: RateLimited,
    body: Result<SmallJson<SecondFactorRequest>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<SessionView>, AppError> {
    let request = body?.0;
    let now = ctx.now();
    let tokens = auth::verify_second_factor(
        ctx.store,
        ctx.config,
        now,
        &request.mfa_token,
        &request.code,
    )
    .await?;
    Ok(Json(SessionView::new(tokens, now)))
}

#[derive(Serialize, ToSchema)]
pub struct TwoFactorSetupView {
    /// The shared secret, base32, for typing into an authenticator app.
    secret: String,
    /// The same as an `otpauth://` URI, for a QR code.
    otpauth_uri: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/2fa/setup",
    tag = "auth",
    summary = "Start two-factor enrolment: a new TOTP secret, pending until confirmed",
    responses(
        (status = 200, description = "The secret, shown once", body = TwoFactorSetupView),
        (status = 403, description = "An API token, not a session (`forbidden`)", body = ErrorResponse),
        (status = 422, description = "Already enabled (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/auth/2fa/setup")]
pub async fn setup_two_factor(
    _rate: RateLimited,
    auth: Result<SignedIn, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<TwoFactorSetupView>, AppError> {
    let (secret, otpauth_uri) =
        auth::setup_two_factor(ctx.store, ctx.config, ctx.now(), &auth?.0).await?;
    Ok(Json(TwoFactorSetupView {
        secret,
        otpauth_uri,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorConfirmRequest {
    /// The authenticator's current 6-digit code.
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesView {
    /// Ten single-use codes for when the authenticator is lost; shown once.
    recovery_codes: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/v1/auth/2fa/confirm",
    tag = "auth",
    summary = "Finish enrolment with a code from the authenticator; returns recovery codes",
    request_body = TwoFactorConfirmRequest,
    responses(
        (status = 200, description = "Enabled; the recovery codes are shown once", body = RecoveryCodesView),
        (status = 403, description = "An API token, not a session (`forbidden`)", body = ErrorResponse),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse),
        (status = 422, description = "Wrong code, or no enrolment started (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/auth/2fa/confirm", data = "<body>")]
pub async fn confirm_two_factor(
    _rate: RateLimited,
    auth: Result<SignedIn, AppError>,
    body: Result<SmallJson<TwoFactorConfirmRequest>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<RecoveryCodesView>, AppError> {
    let by = auth?.0;
    let request = body?.0;
    let recovery_codes =
        auth::confirm_two_factor(ctx.store, ctx.config, ctx.now(), &by, &request.code).await?;
    Ok(Json(RecoveryCodesView { recovery_codes }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorPolicy {
    /// Whether every user of the operator must sign in with a second factor. Users without one
    /// can then only enrol until they have.
    required: bool,
}

#[utoipa::path(
    put,
    path = "/v1/operator/two-factor",
    tag = "users",
    summary = "Require two-factor sign-in for the whole team (owners only)",
    request_body = TwoFactorPolicy,
    responses(
        (status = 200, description = "Set", body = TwoFactorPolicy),
        (status = 403, description = "The role is not owner (`forbidden`)", body = ErrorResponse),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[rocket::put("/v1/operator/two-factor", data = "<body>")]
pub async fn require_two_factor(
    _rate: RateLimited,
    auth: Result<super::guards::Authorized<super::guards::Owner>, AppError>,
    body: Result<SmallJson<TwoFactorPolicy>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<TwoFactorPolicy>, AppError> {
    let by = auth?.0;
    let policy = body?.0;
    auth::require_two_factor(ctx.store, ctx.now(), &by, policy.required).await?;
    Ok(Json(policy))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResetAccepted {
    /// The same whether or not the address is registered.
    message: &'static str,
}

#[utoipa::path(
    post,
    path = "/v1/auth/password-reset",
    tag = "auth",
    summary = "Email a password reset code (15 minutes, single use)",
    description = "Answers 202 whether or not the address belongs to a user.",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "If the address is registered, a code is on its way", body = ResetAccepted),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse)
    )
)]
#[post("/v1/auth/password-reset", data = "<body>")]
pub async fn request_password_reset(
    _rate: RateLimited,
    body: Result<SmallJson<ResetRequest>, AppError>,
    ctx: Ctx<'_>,
) -> Result<rocket::response::status::Accepted<Json<ResetAccepted>>, AppError> {
    let request = body?.0;
    auth::request_password_reset(ctx.store, ctx.config, ctx.now(), &request.email).await?;
    Ok(rocket::response::status::Accepted(Json(ResetAccepted {
        message: "if this address belongs to a user, a reset code was sent to it",
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    email: String,
    /// The 8-digit code from the email.
    code: String,
    /// At least 12 characters, not a common password.
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/confirm",
    tag = "auth",
    summary = "Set a new password with the emailed code; signs the user out everywhere",
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "Password changed"),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse),
        (status = 422, description = "Wrong, used or expired code, or the same for an unknown email; or a weak `new_password` (`validation_failed`)", body = ErrorResponse)
    )
)]
#[post("/v1/auth/password-reset/confirm", data = "<body>")]
pub async fn confirm_password_reset(
    _rate: RateLimited,
    body: Result<SmallJson<ResetConfirm>, AppError>,
    ctx: Ctx<'_>,
    gate: &State<Argon2Gate>,
) -> Result<Status, AppError> {
    let request = body?.0;
    auth::confirm_password_reset(
        ctx.store,
        ctx.config,
        gate,
        ctx.now(),
        &request.email,
        &request.code,
        &request.new_password,
    )
    .await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    /// At least 12 characters, not a common password.
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/password",
    tag = "auth",
    summary = "Change your own password; your other sessions end",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "An API token, not a session (`forbidden`)", body = ErrorResponse),
        (status = 413, description = "Body over 4 KiB (`payload_too_large`)", body = ErrorResponse),
        (status = 422, description = "Wrong current password (counted like a failed sign-in), or a weak new one (`validation_failed`)", body = ErrorResponse),
        (status = 429, description = "Too many requests, or the account is backing off or locked after wrong passwords (`rate_limited`, with `Retry-After`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/auth/password", data = "<body>")]
pub async fn change_password(
    _rate: RateLimited,
    auth: Result<SignedIn, AppError>,
    body: Result<SmallJson<PasswordChange>, AppError>,
    ctx: Ctx<'_>,
    gate: &State<Argon2Gate>,
) -> Result<Status, AppError> {
    let by = auth?.0;
    let request = body?.0;
    auth::change_password(
        ctx.store,
        gate,
        ctx.now(),
        &by,
        &request.current_password,
        &request.new_password,
    )
    .await?;
    Ok(Status::NoContent)
}
