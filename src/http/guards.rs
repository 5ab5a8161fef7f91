//! Request guards: who is calling, and the request id.

use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::{Request, State};

use crate::domain::ids::OperatorId;
use crate::error::AppError;
use crate::service::bookings::Caller;
use crate::service::operators;
use crate::storage::Store;

/// A per-request id, echoed in `X-Request-Id` and in error bodies, and logged with failures.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn generate() -> RequestId {
        RequestId(ulid::Ulid::new().to_string())
    }
}

fn bearer<'r>(request: &'r Request<'_>) -> Option<&'r str> {
    let value = request.headers().get_one("Authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn operator_from(request: &Request<'_>) -> Result<Option<OperatorId>, AppError> {
    let Some(token) = bearer(request) else {
        return Ok(None);
    };
    let Some(store) = request.guard::<&State<Store>>().await.succeeded() else {
        return Err(AppError::Internal(anyhow::anyhow!("store not managed")));
    };
    operators::authenticate(store, token).await
}

/// An authenticated operator (tenant). Missing or unknown bearer token: 401.
pub struct OperatorAuth(pub OperatorId);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OperatorAuth {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        match operator_from(request).await {
            Ok(Some(operator)) => Outcome::Success(OperatorAuth(operator)),
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
        match operator_from(request).await {
            Ok(operator) => Outcome::Success(BookingCaller(Caller {
                access_token,
                operator,
            })),
            Err(error) => Outcome::Error((error.status_and_code().0, error)),
        }
    }
}
