//! Request guards: who is calling with which role, and the request id.

use std::marker::PhantomData;

use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::auth::Role;
use crate::domain::lang::Lang;
use crate::error::AppError;
use crate::service::auth::{self, Actor, Principal};
use crate::service::bookings::Caller;
use crate::storage::Store;

/// A per-request id, echoed in `X-Request-Id` and in error bodies, and logged with failures.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn generate() -> RequestId {
        RequestId(ulid::Ulid::new().to_string())
    }
}

/// The language an API caller's `Accept-Language` prefers among those berth writes in, if any.
pub struct AcceptLanguage(pub Option<Lang>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AcceptLanguage {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let preferred = request
            .headers()
            .get_one("Accept-Language")
            .and_then(Lang::negotiate);
        Outcome::Success(AcceptLanguage(preferred))
    }
}

fn bearer<'r>(request: &'r Request<'_>) -> Option<&'r str> {
    let value = request.headers().get_one("Authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The principal of the request's bearer token: `Ok(None)` without one, `Unauthorized` when
/// one is given but unknown, revoked or expired.
async fn principal_from(request: &Request<'_>) -> Result<Option<Principal>, AppError> {
    if !request.headers().contains("Authorization") {
        return Ok(None);
    }
    let Some(token) = bearer(request) else {
        return Err(AppError::Unauthorized);
    };
    let (Some(store), Some(config), Some(clock)) = (
        request.rocket().state::<Store>(),
        request.rocket().state::<AppConfig>(),
        request.rocket().state::<Clock>(),
    ) else {
        return Err(AppError::Internal(anyhow::anyhow!("state not managed")));
    };
    match auth::authenticate(store, config, clock.now(), token).await? {
        Some(principal) => Ok(Some(principal)),
        None => Err(AppError::Unauthorized),
    }
}

/// The least role an endpoint accepts, as a type: `Authorized<Admin>` in a handler's signature
/// is the endpoint's whole authorization rule. (Tenant isolation is the service's part: every
/// query is scoped to the principal's operator, and a foreign object is "not found".)
pub trait RoleLevel: Send + Sync + 'static {
    const MIN: Role;
}

/// Users, API tokens, operator settings.
pub struct Owner;
/// Tours, schedules, departures, bookings, refunds, reports, messages, the audit log.
pub struct Admin;
/// Bookings, check-in, manifests, reading the catalogue and the profile.
pub struct Staff;
/// Reading manifests and checking in.
pub struct Guide;

impl RoleLevel for Owner {
    const MIN: Role = Role::Owner;
}
impl RoleLevel for Admin {
    const MIN: Role = Role::Admin;
}
impl RoleLevel for Staff {
    const MIN: Role = Role::Staff;
}
impl RoleLevel for Guide {
    const MIN: Role = Role::Guide;
}

/// An authenticated caller whose role is at least `L`. No or bad credentials: 401
/// `unauthorized`; a role below `L`: 403 `forbidden`; a user who must first enable two-factor
/// sign-in: 403 `two_factor_required`.
pub struct Authorized<L: RoleLevel>(pub Principal, PhantomData<L>);

#[rocket::async_trait]
impl<'r, L: RoleLevel> FromRequest<'r> for Authorized<L> {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        match principal_from(request).await {
            Ok(Some(principal)) if principal.must_enrol => {
                Outcome::Error((Status::Forbidden, AppError::TwoFactorRequired))
            }
            Ok(Some(principal)) if principal.role.at_least(L::MIN) => {
                Outcome::Success(Authorized(principal, PhantomData))
            }
            Ok(Some(_)) => Outcome::Error((Status::Forbidden, AppError::Forbidden)),
            Ok(None) => Outcome::Error((Status::Unauthorized, AppError::Unauthorized)),
            Err(error) => Outcome::Error((error.status_and_code().0, error)),
        }
    }
}

/// Which header carries a signed callback's signature.
pub trait SignatureHeader {
    const NAME: &'static str;
}

/// A signed callback's signature (from the header `H` names, if sent) and its source address,
/// for verification and logging.
pub struct Signature<H: SignatureHeader> {
    pub header: Option<String>,
    /// As rate limits see it: `X-Forwarded-For` only from a trusted proxy.
    pub source: Option<std::net::IpAddr>,
    kind: PhantomData<H>,
}

#[rocket::async_trait]
impl<'r, H: SignatureHeader> FromRequest<'r> for Signature<H> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(Signature {
            header: request.headers().get_one(H::NAME).map(str::to_owned),
            source: request
                .guard::<super::rate_limit::ClientIp>()
                .await
                .succeeded()
                .and_then(|client| client.0),
            kind: PhantomData,
        })
    }
}

/// A signed-in user (a session's access token, any role): for what only a person can do, such as
/// signing out or enrolling a second factor (allowed even while the operator's 2FA requirement
/// blocks everything else). An API token: 403.
pub struct SignedIn(pub Principal);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SignedIn {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        match principal_from(request).await {
            Ok(Some(principal)) if matches!(principal.actor, Actor::User { .. }) => {
                Outcome::Success(SignedIn(principal))
            }
            Ok(Some(_)) => Outcome::Error((Status::Forbidden, AppError::Forbidden)),
            Ok(None) => Outcome::Error((Status::Unauthorized, AppError::Unauthorized)),
            Err(error) => Outcome::Error((error.status_and_code().0, error)),
        }
    }
}

/// Whatever credentials a booking request carries: the traveler's `X-Booking-Token` and/or an
/// operator's bearer token. Whether they suffice is the service's decision.
pub struct BookingCaller(pub Caller);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BookingCaller {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        let access_token = request
            .headers()
            .get_one("X-Booking-Token")
            .map(|t| t.trim().to_owned());
        // Operators act on bookings from the staff role up; a guide's token is refused here
        // rather than treated as absent, so the 403 says why.
        match principal_from(request).await {
            Ok(Some(principal)) if principal.must_enrol => {
                Outcome::Error((Status::Forbidden, AppError::TwoFactorRequired))
            }
            Ok(Some(principal)) if !principal.role.at_least(Role::Staff) => {
                Outcome::Error((Status::Forbidden, AppError::Forbidden))
            }
            Ok(principal) => Outcome::Success(BookingCaller(Caller {
                access_token,
                operator: principal,
                traveler_of: None,
            })),
            Err(error) => Outcome::Error((error.status_and_code().0, error)),
        }
    }
}
