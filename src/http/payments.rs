//! Online payments over HTTP: Stripe's webhook and operator refunds.

use rocket::data::{Data, ToByteUnit};
use rocket::serde::json::Json;
use rocket::{post, State};
use serde::{Deserialize, Serialize};

use super::context::Mutation;
use super::guards::{Admin, Authorized, Signature, SignatureHeader};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use crate::clock::Clock;
use crate::domain::ids::OperatorId;
use crate::error::AppError;
use crate::integrations::payments::WebhookError;
use crate::service::payments::{self, Gateway, Payments};
use crate::storage::payments::RefundRow;
use crate::storage::Store;

/// Where Stripe delivers events (configure this URL on the webhook endpoint).
pub const STRIPE_WEBHOOK_PATH: &str = "/v1/webhooks/stripe";

/// Stripe signs its events in `Stripe-Signature`.
pub struct StripeHeader;

impl SignatureHeader for StripeHeader {
    const NAME: &'static str = "Stripe-Signature";
}

/// The request's `Stripe-Signature` and source address.
pub type StripeSignature = Signature<StripeHeader>;

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookAck {
    received: bool,
    /// `confirmed`, `released`, `refunded`, `recorded`, `ignored` or `duplicate`.
    outcome: &'static str,
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/stripe",
    tag = "webhooks",
    summary = "Stripe events (signed with Stripe-Signature)",
    params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">; several v1 while a secret is rolled")),
    request_body(content = String, content_type = "application/json", description = "A Stripe event, exactly as Stripe sent it"),
    responses(
        (status = 200, description = "Processed, or a duplicate or an event berth does not act on (acknowledged, nothing changed)", body = WebhookAck),
        (status = 400, description = "Missing, invalid or stale signature (`invalid_signature`), or not a Stripe event (`malformed_event`); nothing changed", body = ErrorResponse),
        (status = 404, description = "Online payments are off (`not_found`)", body = ErrorResponse),
        (status = 413, description = "Body too large (`payload_too_large`)", body = ErrorResponse)
    ),
    security(("stripe_signature" = []))
)]
#[post("/v1/webhooks/stripe", data = "<body>")]
pub async fn stripe_webhook(
    _rate: RateLimited,
    signature: StripeSignature,
    body: Data<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    payments: &State<Payments>,
) -> Result<Json<WebhookAck>, AppError> {
    let instance = payments
        .instance_gateway()
        .filter(|gateway| gateway.provider.name() == "stripe");
    let Some(gateway) = instance else {
        return Err(AppError::NotFound);
    };
    receive(store, clock, payments, &[gateway], signature, body).await
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/stripe/{operator_id}",
    tag = "webhooks",
    summary = "Stripe events from an operator's own Stripe account (signed with its endpoint's secret)",
    description = "Verified with the signing secrets of the operator's accounts only (the one in force and those it replaced, whose payments still settle), before the body is read; an event acts only on payments made under the account whose secret verified it.",
    params(("operator_id" = String, Path, description = "The operator whose account sends the events"), ("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">")),
    request_body(content = String, content_type = "application/json", description = "A Stripe event, exactly as Stripe sent it"),
    responses(
        (status = 200, description = "Processed, or a duplicate or an event berth does not act on (acknowledged, nothing changed)", body = WebhookAck),
        (status = 400, description = "Missing, invalid or stale signature (`invalid_signature`), or not a Stripe event (`malformed_event`); nothing changed", body = ErrorResponse),
        (status = 404, description = "No such operator, or it never set keys of its own (`not_found`)", body = ErrorResponse),
        (status = 413, description = "Body too large (`payload_too_large`)", body = ErrorResponse)
    ),
    security(("stripe_signature" = []))
)]
#[post("/v1/webhooks/stripe/<operator_id>", data = "<body>")]
pub async fn operator_stripe_webhook(
    _rate: RateLimited,
    operator_id: &str,
    signature: StripeSignature,
    body: Data<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    payments: &State<Payments>,
) -> Result<Json<WebhookAck>, AppError> {
    let operator = OperatorId::parse(operator_id).ok_or(AppError::NotFound)?;
    let gateways = payments.webhook_gateways(store, &operator).await?;
    if gateways.is_empty() {
        return Err(AppError::NotFound);
    }
    receive(store, clock, payments, &gateways, signature, body).await
}

/// Reads a webhook, verifies it with each gateway's secret (before a byte of the body is parsed),
/// and applies it as the event of the verifying account that took its payment.
async fn receive(
    store: &Store,
    clock: &Clock,
    payments: &Payments,
    gateways: &[Gateway],
    signature: StripeSignature,
    body: Data<'_>,
) -> Result<Json<WebhookAck>, AppError> {
    let raw = body
        .open(256.kibibytes())
        .into_bytes()
        .await
        .map_err(|_| AppError::bad_request("malformed_body", "unreadable body"))?;
    if !raw.is_complete() {
        return Err(AppError::PayloadTooLarge);
    }
    let now = clock.now();
    let mut refusal = None;
    let mut verified = Vec::new();
    let mut event = None;
    for gateway in gateways {
        let read = gateway
            .provider
            .read_event(signature.header.as_deref(), &raw, now.timestamp());
        match read {
            Ok(read) => {
                event.get_or_insert(read);
                verified.push(gateway.clone());
            }
            Err(WebhookError::Signature(error)) => {
                refusal.get_or_insert(error);
            }
            Err(WebhookError::Malformed(error)) => {
                return Err(AppError::bad_request("malformed_event", error));
            }
        }
    }
    if let Some(event) = event {
        if let Some(gateway) = payments::gateway_for_event(store, &verified, &event).await? {
            let outcome = payments::handle_event(store, payments, gateway, now, &event).await?;
            return Ok(Json(WebhookAck {
                received: true,
                outcome: outcome.as_str(),
            }));
        }
    }
    let error = refusal.unwrap_or_else(|| "no signing secret to verify with".to_owned());
    // The source address helps find a misconfigured proxy; the payload is not logged.
    tracing::warn!(source = ?signature.source, %error, "Stripe webhook refused");
    Err(AppError::bad_request("invalid_signature", error))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": 1500}))]
pub struct RefundRequest {
    /// Minor units, at most what is still refundable.
    amount: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefundView {
    id: String,
    booking_reference: String,
    amount: i64,
    currency: String,
    /// `stripe` or `offline` (cash handed back; recorded at once).
    provider: String,
    /// `operator`, `traveler`, `departure_cancelled`, `sold_out_after_payment`, `external`, …
    reason: String,
    /// `pending` (not yet accepted by Stripe; retried), `succeeded` or `failed`.
    status: String,
    created_at: String,
}

impl RefundView {
    fn new(row: &RefundRow, reference: &str) -> Self {
        RefundView {
            id: row.id.clone(),
            booking_reference: reference.to_owned(),
            amount: row.amount,
            currency: row.currency.clone(),
            provider: row.provider.clone(),
            reason: row.reason.clone(),
            status: row.status.clone(),
            created_at: row
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/bookings/{reference}/refunds",
    tag = "operator",
    summary = "Refund part or all of what a booking paid",
    params(("reference" = String, Path, description = "Booking reference"), IdempotencyKey),
    request_body = RefundRequest,
    responses((status = 201, description = "Refund decided: `pending` (sent to Stripe right after; the booking's `payment` shows the outcome) or `succeeded` (cash, recorded at once). Stored under the Idempotency-Key with the refund itself", body = RefundView), (status = 403, description = "The role is below admin (`forbidden`)", body = ErrorResponse), (status = 404, description = "Unknown, malformed or another operator's booking (`not_found`)", body = ErrorResponse), (status = 422, description = "`amount` not positive or over the refundable amount (`validation_failed`), or `idempotency_key_reused`", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[post("/v1/bookings/<reference>/refunds", data = "<body>")]
pub async fn create_refund(
    _rate: RateLimited,
    reference: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
    payments: &State<Payments>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(
            scope,
            body,
            |ctx, request: RefundRequest, claim| async move {
                let respond = |refund: &RefundRow| {
                    ApiResponse::created(
                        format!("/v1/bookings/{reference}"),
                        &RefundView::new(refund, reference),
                    )
                };
                let render = |refund: &RefundRow| {
                    let response = respond(refund);
                    (response.status.code, response.body)
                };
                let stored = claim.is_some();
                let refund = payments::refund_by_operator(
                    ctx.store,
                    payments,
                    ctx.now(),
                    reference,
                    &by,
                    request.amount,
                    claim
                        .as_ref()
                        .map(|claim| (claim, &render as payments::RenderRefund<'_>)),
                )
                .await?;
                let mut response = respond(&refund);
                response.stored = stored;
                Ok(response)
            },
        )
        .await
}
