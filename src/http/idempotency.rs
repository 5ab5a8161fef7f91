//! `Idempotency-Key` for every mutating endpoint, and the response type those endpoints return
//! so that a response can be stored and replayed byte for byte.

use std::future::Future;

use rocket::http::{ContentType, Header, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::response::{self, Responder};
use rocket::{Request, Response};
use serde::Serialize;

use super::guards::RequestId;
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::service::idempotency::{self, Begin, Claim};
use crate::storage::Store;

/// The `Idempotency-Key` header as the API documents it: every mutating operation lists it with
/// `params(IdempotencyKey)`, and `responses::RouteFacts` reads it to add the shared answers an
/// idempotent route can give.
#[derive(utoipa::IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
#[allow(dead_code)] // Only its OpenAPI description is used; the guard below reads the header.
pub struct IdempotencyKey(
    /// Makes the request safe to retry (see README)
    Option<String>,
);

/// A JSON response held as text, so the same bytes can be sent now and replayed later.
pub struct ApiResponse {
    pub status: Status,
    pub body: String,
    pub location: Option<String>,
    /// Already stored under the idempotency key by the work's own transaction.
    pub stored: bool,
    /// Carries a secret shown once (a new API token): never stored for replay. The key is
    /// released instead, so a retry makes a new one.
    pub confidential: bool,
    replayed: bool,
}

impl ApiResponse {
    pub fn json(status: Status, value: &impl Serialize) -> ApiResponse {
        let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
        ApiResponse {
            status,
            body,
            location: None,
            stored: false,
            confidential: false,
            replayed: false,
        }
    }

    pub fn ok(value: &impl Serialize) -> ApiResponse {
        Self::json(Status::Ok, value)
    }

    pub fn created(location: String, value: &impl Serialize) -> ApiResponse {
        ApiResponse {
            location: Some(location),
            ..Self::json(Status::Created, value)
        }
    }

    pub fn no_content() -> ApiResponse {
        ApiResponse {
            status: Status::NoContent,
            body: String::new(),
            location: None,
            stored: false,
            confidential: false,
            replayed: false,
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response.status(self.status);
        if self.status != Status::NoContent {
            response
                .header(ContentType::JSON)
                .sized_body(self.body.len(), std::io::Cursor::new(self.body));
        }
        if let Some(location) = self.location {
            response.header(Header::new("Location", location));
        }
        if self.replayed {
            response.header(Header::new("Idempotent-Replayed", "true"));
        }
        response.ok()
    }
}

/// The request's `Idempotency-Key` (if any) with what identifies the request.
pub struct Idempotency {
    key: Option<String>,
    method: String,
    path: String,
    request_id: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Idempotency {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        let key = request
            .headers()
            .get_one("Idempotency-Key")
            .map(str::to_owned);
        if let Some(Err(error)) = key.as_deref().map(idempotency::validate_key) {
            return Outcome::Error((Status::BadRequest, error));
        }
        Outcome::Success(Idempotency {
            key,
            method: request.method().as_str().to_owned(),
            path: request.uri().path().to_string(),
            request_id: request.local_cache(RequestId::generate).0.clone(),
        })
    }
}

/// Where keys live: per operator for authenticated calls, per endpoint family for public ones.
pub fn operator_scope(operator: &crate::domain::ids::OperatorId) -> String {
    format!("op:{operator}")
}

pub const PUBLIC_BOOKINGS_SCOPE: &str = "public:bookings";

impl Idempotency {
    /// Runs `work` at most once per key: replays a stored response, refuses a reused or
    /// in-flight key, stores what `work` answered (a 4xx included), and releases the key on a 5xx
    /// or a [`confidential`](ApiResponse::confidential) answer.
    pub async fn run<F, Fut>(
        self,
        store: &Store,
        clock: &Clock,
        config: &AppConfig,
        scope: String,
        body: &str,
        work: F,
    ) -> Result<ApiResponse, AppError>
    where
        F: FnOnce(Option<Claim>) -> Fut,
        Fut: Future<Output = Result<ApiResponse, AppError>>,
    {
        let Some(key) = self.key else {
            return work(None).await;
        };
        let keys = config.keyring();
        let print = idempotency::keyed_fingerprint(&keys, &self.method, &self.path, body);
        let claim = match idempotency::begin(
            store,
            &keys,
            clock.now(),
            config.idempotency_ttl(),
            &scope,
            &key,
            &print,
        )
        .await?
        {
            Begin::Replay { status, body } => {
                let status = Status::from_code(status).unwrap_or(Status::Ok);
                return Ok(ApiResponse {
                    status,
                    body,
                    location: None,
                    stored: true,
                    confidential: false,
                    replayed: true,
                });
            }
            Begin::Proceed(claim) => claim,
        };
        let result = work(Some(claim.clone())).await;
        let stored = match &result {
            Ok(response) if response.stored => Ok(()),
            Ok(response) if response.confidential => idempotency::finish(store, &claim, None).await,
            Ok(response) => {
                idempotency::finish(store, &claim, Some((response.status.code, &response.body)))
                    .await
            }
            Err(error)
                if error.status_and_code().0.code >= 500 || error.retry_after().is_some() =>
            {
                idempotency::finish(store, &claim, None).await
            }
            Err(error) => {
                let (status, body) = error.to_response(&self.request_id);
                idempotency::finish(store, &claim, Some((status.code, &body.to_string()))).await
            }
        };
        if let Err(error) = stored {
            // The work itself is done; the client may see a 409 on retry until the claim goes stale.
            tracing::warn!(%error, "could not store the idempotent response");
        }
        result
    }
}
