//! `GET /metrics` (Prometheus text format) and the fairing that times every request.

use super::rate_limit::RateLimited;
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::ContentType;
use rocket::{get, Data, Request, Response, State};

use super::responder::ErrorResponse;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::secrets::constant_time_eq;
use crate::storage::Store;

/// Metrics need `Authorization: Bearer <BERTH_METRICS_TOKEN>`; without a configured token they
/// are open in the debug profile and absent (404) in release.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"), (status = 401, description = "Missing or invalid bearer token (`unauthorized`)", body = ErrorResponse), (status = 404, description = "Unknown, malformed or another operator's id (`not_found`)", body = ErrorResponse)),
    security(("metrics_token" = []))
)]
#[get("/metrics")]
pub async fn metrics(
    _rate: RateLimited,
    request_auth: MetricsAuth,
    store: &State<Store>,
    clock: &State<crate::clock::Clock>,
) -> Result<(ContentType, String), AppError> {
    request_auth.0?;
    store.observe_pool();
    crate::service::holds::observe_holders(store, clock.now()).await?;
    let metrics = store.metrics();
    for channel in ["email", "sms"] {
        for status in crate::domain::message::STATUSES {
            metrics
                .outbox_messages
                .with_label_values(&[channel, status])
                .set(0);
        }
    }
    for (channel, status, count) in crate::storage::outbox::backlog(store).await? {
        metrics
            .outbox_messages
            .with_label_values(&[&channel, &status])
            .set(count);
    }
    let text_plain =
        ContentType::new("text", "plain").with_params([("version", "0.0.4"), ("charset", "utf-8")]);
    Ok((text_plain, store.metrics().render()))
}

pub struct MetricsAuth(Result<(), AppError>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for MetricsAuth {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let Some(config) = request.rocket().state::<AppConfig>() else {
            return rocket::outcome::Outcome::Success(MetricsAuth(Err(AppError::NotFound)));
        };
        let presented = request
            .headers()
            .get_one("Authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let verdict = match (&config.metrics_token, presented) {
            (Some(token), Some(presented)) if constant_time_eq(token.expose(), presented) => Ok(()),
            (Some(_), _) => Err(AppError::Unauthorized),
            (None, _) if config.metrics_open() => Ok(()),
            (None, _) => Err(AppError::NotFound),
        };
        rocket::outcome::Outcome::Success(MetricsAuth(verdict))
    }
}

/// Counts every request by route (the handler's name) and status, observes its latency, and
/// logs it (request id, route, method, status, latency).
pub struct RequestMetrics;

struct Started(Option<Instant>);

#[rocket::async_trait]
impl Fairing for RequestMetrics {
    fn info(&self) -> Info {
        Info {
            name: "Request metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(|| Started(Some(Instant::now())));
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let Some(store) = request.rocket().state::<Store>() else {
            return;
        };
        let route = request
            .route()
            .and_then(|r| r.name.as_deref())
            .unwrap_or("unmatched");
        let method = request.method().as_str();
        let status = response.status().code.to_string();
        let metrics = store.metrics();
        metrics
            .http_requests
            .with_label_values(&[route, method, &status])
            .inc();
        let elapsed = request
            .local_cache(|| Started(None))
            .0
            .map(|started| started.elapsed());
        if let Some(elapsed) = elapsed {
            metrics
                .http_duration
                .with_label_values(&[route, method])
                .observe(elapsed.as_secs_f64());
        }
        // One line per request: the route's name, never its path (paths carry booking references).
        let request_id = &request.local_cache(super::guards::RequestId::generate).0;
        tracing::info!(
            request_id = %request_id,
            route,
            method,
            status = response.status().code,
            latency_ms = elapsed.map_or(0.0, |e| e.as_secs_f64() * 1000.0),
            "request"
        );
    }
}
