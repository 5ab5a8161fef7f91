//! What a handler works with, as two guards: [`Ctx`], the application's state and the request's
//! identity, and [`Mutation`], the one way a mutating handler runs its work: it reads the body
//! once, parses it with the project's error mapping and runs the work through the idempotency
//! store.

use std::future::Future;

use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;
use serde::de::DeserializeOwned;

use super::guards::RequestId;
use super::idempotency::{ApiResponse, Idempotency};
use super::responder::{body_text, parse_text, JsonBody};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::service::idempotency::Claim;
use crate::storage::Store;

/// The application's state and the request's id: what every handler reaches for.
#[derive(Clone, Copy)]
pub struct Ctx<'r> {
    pub store: &'r Store,
    pub clock: &'r Clock,
    pub config: &'r AppConfig,
    pub request_id: &'r str,
}

impl Ctx<'_> {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Ctx<'r> {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        let rocket = request.rocket();
        match (
            rocket.state::<Store>(),
            rocket.state::<Clock>(),
            rocket.state::<AppConfig>(),
        ) {
            (Some(store), Some(clock), Some(config)) => Outcome::Success(Ctx {
                store,
                clock,
                config,
                request_id: &request.local_cache(RequestId::generate).0,
            }),
            _ => {
                let error = AppError::Internal(anyhow::anyhow!("state not managed"));
                Outcome::Error((rocket::http::Status::InternalServerError, error))
            }
        }
    }
}

/// A mutating request: its context and its `Idempotency-Key`. A bad key is reported when the
/// work is run, after the handler's own guards (credentials first, as before).
pub struct Mutation<'r> {
    pub ctx: Ctx<'r>,
    idempotency: Result<Idempotency, AppError>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Mutation<'r> {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        let ctx = match Ctx::from_request(request).await {
            Outcome::Success(ctx) => ctx,
            Outcome::Error(error) => return Outcome::Error(error),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        let idempotency = match Idempotency::from_request(request).await {
            Outcome::Success(idempotency) => Ok(idempotency),
            Outcome::Error((_, error)) => Err(error),
            Outcome::Forward(_) => Err(AppError::Internal(anyhow::anyhow!("no idempotency"))),
        };
        Outcome::Success(Mutation { ctx, idempotency })
    }
}

impl<'r> Mutation<'r> {
    /// Runs `work` (which takes no body) at most once per key, in `scope`.
    pub async fn run<F, Fut>(self, scope: String, work: F) -> Result<ApiResponse, AppError>
    where
        F: FnOnce(Ctx<'r>, Option<Claim>) -> Fut,
        Fut: Future<Output = Result<ApiResponse, AppError>>,
    {
        let ctx = self.ctx;
        self.idempotency?
            .run(ctx.store, ctx.clock, ctx.config, scope, "", |claim| {
                work(ctx, claim)
            })
            .await
    }

    /// Reads the JSON body (413/415 as everywhere), then runs `work` at most once per key with
    /// the body parsed as `T` (400 for broken JSON, 422 for the wrong shape; stored under the key
    /// like any other answer).
    pub async fn json<T, F, Fut>(
        self,
        scope: String,
        body: JsonBody<'_>,
        work: F,
    ) -> Result<ApiResponse, AppError>
    where
        T: DeserializeOwned,
        F: FnOnce(Ctx<'r>, T, Option<Claim>) -> Fut,
        Fut: Future<Output = Result<ApiResponse, AppError>>,
    {
        let text = body_text(body)?;
        let ctx = self.ctx;
        let text = text.as_str();
        self.idempotency?
            .run(
                ctx.store,
                ctx.clock,
                ctx.config,
                scope,
                text,
                |claim| async move {
                    let request: T = parse_text(text)?;
                    work(ctx, request, claim).await
                },
            )
            .await
    }
}
