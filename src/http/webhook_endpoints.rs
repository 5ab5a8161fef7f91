//! Outbound webhook endpoints (`/v1/webhook-endpoints`): register (the signing secret shown
//! once), list, read, change, delete, rotate the secret, send a test event, replay, and read the
//! delivery log. Owners and admins only. (`webhooks.rs` is the *inbound* Stripe/Twilio file.)

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, State};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{Admin, Authorized};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::rfc3339;
use crate::error::AppError;
use crate::service::webhooks::{self, EndpointInput, Replay, Webhooks};
use crate::storage::webhooks::{Attempt, Delivery, WebhookEndpoint};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRequest {
    /// Where events are POSTed: `https://…` (plain `http://` only where
    /// `BERTH_WEBHOOK_ALLOW_HTTP` allows it). Its host may not resolve to a loopback, private,
    /// link-local or otherwise internal address unless `BERTH_WEBHOOK_ALLOWED_TARGETS` allows it.
    url: String,
    /// The event types to receive: `booking.held`, `booking.confirmed`, `booking.cancelled`,
    /// `booking.expired`, `booking.checked_in`, `booking.rescheduled`, `booking.refunded`,
    /// `departure.created`, `departure.changed`, `departure.cancelled`, `availability.changed`.
    event_types: Vec<String>,
    /// Up to 400 characters.
    #[serde(default)]
    description: Option<String>,
    /// Default true.
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    /// `true` re-enables a disabled endpoint (its parked deliveries are sent); `false` disables it.
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    id: String,
    url: String,
    description: String,
    event_types: Vec<&'static str>,
    enabled: bool,
    /// `operator` (disabled by hand) or `failing` (by berth, after three days of failures).
    disabled_reason: Option<String>,
    disabled_at: Option<String>,
    /// When the current run of failed deliveries began.
    failing_since: Option<String>,
    /// `whsec_…` and the secret's last four characters.
    secret_mask: String,
    /// Until when the previous secret still signs (after a rotation).
    previous_secret_valid_until: Option<String>,
    created_at: String,
    updated_at: String,
    /// The signing secret: only in the response that created the endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl EndpointView {
    fn new(endpoint: &WebhookEndpoint, secret: Option<String>, now: DateTime<Utc>) -> Self {
        EndpointView {
            id: endpoint.id.to_string(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            event_types: endpoint.event_types.iter().map(|t| t.as_str()).collect(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
            disabled_at: endpoint.disabled_at.map(rfc3339),
            failing_since: endpoint.failing_since.map(rfc3339),
            secret_mask: endpoint.secret_mask.clone(),
            previous_secret_valid_until: endpoint
                .previous_secret_until
                .filter(|until| *until > now)
                .map(rfc3339),
            created_at: rfc3339(endpoint.created_at),
            updated_at: rfc3339(endpoint.updated_at),
            secret,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    /// The new signing secret, shown once.
    secret: String,
    /// The previous secret signs too, beside the new one, until then.
    previous_valid_until: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuedEvent {
    event_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// One event to send again (its `webhook-id`)…
    #[serde(default)]
    event_id: Option<String>,
    /// …or every delivery created since then that has not landed (RFC 3339).
    #[serde(default)]
    failed_since: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Replayed {
    replayed: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    event_id: String,
    event_type: String,
    attempted_at: String,
    /// The receiver's HTTP status; absent when it did not answer.
    status_code: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    /// At most 200 characters of the response, email addresses and phone numbers masked.
    response_excerpt: Option<String>,
}

impl From<&Attempt> for AttemptView {
    fn from(a: &Attempt) -> Self {
        AttemptView {
            event_id: a.event_id.clone(),
            event_type: a.event_type.clone(),
            attempted_at: rfc3339(a.attempted_at),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            response_excerpt: a.response_excerpt.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    event_id: String,
    event_type: String,
    /// `pending`, `sending`, `delivered`, `dead` (given up after three days) or `paused`
    /// (its endpoint is disabled).
    status: String,
    attempts: i64,
    next_attempt_at: String,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            next_attempt_at: rfc3339(d.next_attempt_at),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

fn time(field: &str, text: &str) -> Result<DateTime<Utc>, AppError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| AppError::invalid(field, "must be an RFC 3339 time"))
}

#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints",
    tag = "operator",
    summary = "Register a webhook endpoint (its signing secret shown once)",
    params(IdempotencyKey),
    request_body = EndpointRequest,
    responses((status = 201, description = "Registered; `secret` appears only here", body = EndpointView)),
    security(("operator_token" = []))
)]
#[post("/v1/webhook-endpoints", data = "<body>")]
pub async fn create_endpoint(
    _rate: RateLimited,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
    senders: &State<Arc<Webhooks>>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: EndpointRequest, _| async move {
            let input = EndpointInput {
                url: Some(request.url),
                description: request.description,
                event_types: Some(request.event_types),
                enabled: request.enabled,
            };
            let now = ctx.now();
            let (endpoint, secret) = webhooks::create(ctx.store, senders, now, &by, input).await?;
            let view = EndpointView::new(&endpoint, Some(secret), now);
            // The secret is shown once and never stored for a replay of this request.
            let mut response =
                ApiResponse::created(format!("/v1/webhook-endpoints/{}", endpoint.id), &view);
            response.confidential = true;
            Ok(response)
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints",
    tag = "operator",
    summary = "The operator's webhook endpoints (never their secrets)",
    responses((status = 200, description = "Endpoints, oldest first", body = Vec<EndpointView>)),
    security(("operator_token" = []))
)]
#[get("/v1/webhook-endpoints")]
pub async fn list_endpoints(
    _rate: RateLimited,
    auth: Result<Authorized<Admin>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<EndpointView>>, AppError> {
    let now = ctx.now();
    let endpoints = webhooks::list(ctx.store, &auth?.0).await?;
    Ok(Json(
        endpoints
            .iter()
            .map(|e| EndpointView::new(e, None, now))
            .collect(),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints/{id}",
    tag = "operator",
    summary = "One webhook endpoint",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The endpoint", body = EndpointView)),
    security(("operator_token" = []))
)]
#[get("/v1/webhook-endpoints/<id>")]
pub async fn get_endpoint(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<EndpointView>, AppError> {
    let endpoint = webhooks::get(ctx.store, &auth?.0, id).await?;
    Ok(Json(EndpointView::new(&endpoint, None, ctx.now())))
}

#[utoipa::path(
    patch,
    path = "/v1/webhook-endpoints/{id}",
    tag = "operator",
    summary = "Change a webhook endpoint: URL, event types, description, enabled",
    params(("id" = String, Path, description = "Endpoint id"), IdempotencyKey),
    request_body = EndpointPatch,
    responses((status = 200, description = "Changed", body = EndpointView)),
    security(("operator_token" = []))
)]
#[patch("/v1/webhook-endpoints/<id>", data = "<body>")]
pub async fn update_endpoint(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
    senders: &State<Arc<Webhooks>>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, patch: EndpointPatch, _| async move {
            let input = EndpointInput {
                url: patch.url,
                description: patch.description,
                event_types: patch.event_types,
                enabled: patch.enabled,
            };
            let now = ctx.now();
            let endpoint = webhooks::update(ctx.store, senders, now, &by, id, input).await?;
            Ok(ApiResponse::ok(&EndpointView::new(&endpoint, None, now)))
        })
        .await
}

#[utoipa::path(
    delete,
    path = "/v1/webhook-endpoints/{id}",
    tag = "operator",
    summary = "Delete a webhook endpoint: nothing is sent to it again",
    params(("id" = String, Path, description = "Endpoint id"), IdempotencyKey),
    responses((status = 204, description = "Deleted")),
    security(("operator_token" = []))
)]
#[delete("/v1/webhook-endpoints/<id>")]
pub async fn delete_endpoint(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            webhooks::delete(ctx.store, ctx.now(), &by, id).await?;
            Ok(ApiResponse::no_content())
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/{id}/rotate-secret",
    tag = "operator",
    summary = "Give an endpoint a new signing secret (shown once); the old one signs too for 24 hours",
    params(("id" = String, Path, description = "Endpoint id"), IdempotencyKey),
    responses((status = 200, description = "Rotated", body = RotatedSecret)),
    security(("operator_token" = []))
)]
#[post("/v1/webhook-endpoints/<id>/rotate-secret")]
pub async fn rotate_secret(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
    senders: &State<Arc<Webhooks>>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let (secret, until) =
                webhooks::rotate_secret(ctx.store, senders, ctx.now(), &by, id).await?;
            let mut response = ApiResponse::ok(&RotatedSecret {
                secret,
                previous_valid_until: rfc3339(until),
            });
            response.confidential = true;
            Ok(response)
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/{id}/test",
    tag = "operator",
    summary = "Send a `webhook.test` event to this endpoint",
    params(("id" = String, Path, description = "Endpoint id"), IdempotencyKey),
    responses((status = 202, description = "Queued", body = QueuedEvent)),
    security(("operator_token" = []))
)]
#[post("/v1/webhook-endpoints/<id>/test")]
pub async fn test_endpoint(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let event_id = webhooks::send_test(ctx.store, ctx.now(), &by, id).await?;
            Ok(ApiResponse::json(
                Status::Accepted,
                &QueuedEvent { event_id },
            ))
        })
        .await
}

#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/{id}/replay",
    tag = "operator",
    summary = "Send one event, or every failed delivery since a time, to this endpoint again (same event ids)",
    params(("id" = String, Path, description = "Endpoint id"), IdempotencyKey),
    request_body = ReplayRequest,
    responses((status = 202, description = "Queued again", body = Replayed)),
    security(("operator_token" = []))
)]
#[post("/v1/webhook-endpoints/<id>/replay", data = "<body>")]
pub async fn replay(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: ReplayRequest, _| async move {
            let since = request
                .failed_since
                .as_deref()
                .map(|t| time("failed_since", t))
                .transpose()?;
            let which = match (request.event_id.as_deref(), since) {
                (Some(event), None) => Replay::Event(event),
                (None, Some(since)) => Replay::FailedSince(since),
                _ => {
                    return Err(AppError::invalid(
                        "event_id",
                        "send either event_id or failed_since",
                    ))
                }
            };
            let replayed = webhooks::replay(ctx.store, ctx.now(), &by, id, which).await?;
            Ok(ApiResponse::json(Status::Accepted, &Replayed { replayed }))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints/{id}/attempts",
    tag = "operator",
    summary = "The endpoint's delivery log (kept 30 days), newest first",
    params(
        ("id" = String, Path, description = "Endpoint id"),
        ("before" = Option<String>, Query, description = "Only attempts before this time (RFC 3339): the next page"),
        ("limit" = Option<i64>, Query, description = "1 to 200; default 50")
    ),
    responses(
        (status = 200, description = "Attempts", body = Vec<AttemptView>),
        (status = 422, description = "A bad `before` or `limit`, named in `fields` (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/webhook-endpoints/<id>/attempts?<before>&<limit>")]
pub async fn list_attempts(
    _rate: RateLimited,
    id: &str,
    before: Option<&str>,
    limit: Option<i64>,
    auth: Result<Authorized<Admin>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<AttemptView>>, AppError> {
    let by = auth?.0;
    let before = before.map(|t| time("before", t)).transpose()?;
    let attempts = webhooks::attempts(ctx.store, &by, id, before, limit).await?;
    Ok(Json(attempts.iter().map(AttemptView::from).collect()))
}

#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints/{id}/deliveries",
    tag = "operator",
    summary = "The endpoint's deliveries, newest first",
    params(
        ("id" = String, Path, description = "Endpoint id"),
        ("status" = Option<String>, Query, description = "pending, sending, delivered, dead or paused"),
        ("limit" = Option<i64>, Query, description = "1 to 200; default 50")
    ),
    responses(
        (status = 200, description = "Deliveries", body = Vec<DeliveryView>),
        (status = 422, description = "A bad `status` or `limit`, named in `fields` (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/webhook-endpoints/<id>/deliveries?<status>&<limit>")]
pub async fn list_deliveries(
    _rate: RateLimited,
    id: &str,
    status: Option<&str>,
    limit: Option<i64>,
    auth: Result<Authorized<Admin>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<DeliveryView>>, AppError> {
    let deliveries = webhooks::deliveries(ctx.store, &auth?.0, id, status, limit).await?;
    Ok(Json(deliveries.iter().map(DeliveryView::from).collect()))
}
