//! An operator's outbox: what was sent to travelers, what failed, and retrying it.

use super::rate_limit::RateLimited;
use rocket::serde::json::Json;
use rocket::{get, post, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::context::Mutation;
use super::guards::{Admin, Authorized};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::responder::ErrorResponse;
use crate::error::AppError;
use crate::service::notifications;
use crate::storage::outbox::OutboxRow;
use crate::storage::Store;

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    id: String,
    /// The booking the message is about; empty for a waiting-line message.
    booking_id: String,
    /// The waiting-line entry a message is about (`waitlist_closed`; an offer is about its hold);
    /// null for a booking's message.
    waitlist_entry_id: Option<String>,
    /// What it says: booking_confirmed, booking_cancelled, departure_cancelled,
    /// waitlist_offer, waitlist_closed, …
    kind: String,
    /// email or sms.
    channel: String,
    /// pending, sending, sent, failed (permanent error) or dead (gave up after retries).
    status: String,
    attempts: i64,
    next_attempt_at: String,
    /// The last error, without personal data.
    last_error: Option<String>,
    created_at: String,
    sent_at: Option<String>,
    /// The provider's last delivery report (SMS via Twilio: sent, delivered, undelivered, failed).
    delivery_status: Option<String>,
}

impl From<&OutboxRow> for MessageView {
    fn from(row: &OutboxRow) -> Self {
        let rfc3339 = |at: chrono::DateTime<chrono::Utc>| {
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        };
        MessageView {
            id: row.id.clone(),
            booking_id: row.booking_id.clone().unwrap_or_default(),
            // Traveler messages without a booking are about a waiting-line entry.
            waitlist_entry_id: match row.booking_id {
                None => row.subject_id.clone(),
                Some(_) => None,
            },
            kind: row.kind.clone(),
            channel: row.channel.clone(),
            status: row.status.clone(),
            attempts: row.attempts,
            next_attempt_at: rfc3339(row.next_attempt_at),
            last_error: row.last_error.clone(),
            created_at: rfc3339(row.created_at),
            sent_at: row.sent_at.map(rfc3339),
            delivery_status: row.delivery_status.clone(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/messages",
    tag = "operator",
    summary = "Messages to travelers (newest first)",
    params(("status" = Option<String>, Query, description = "pending, sending, sent, failed or dead")),
    responses(
        (status = 200, description = "Messages", body = Vec<MessageView>),
        (status = 422, description = "Unknown status (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/messages?<status>")]
pub async fn list_messages(
    _rate: RateLimited,
    status: Option<&str>,
    auth: Result<Authorized<Admin>, AppError>,
    store: &State<Store>,
) -> Result<Json<Vec<MessageView>>, AppError> {
    let messages = notifications::list(store, &auth?.0.operator, status).await?;
    Ok(Json(messages.iter().map(MessageView::from).collect()))
}

#[utoipa::path(
    post,
    path = "/v1/messages/{id}/retry",
    tag = "operator",
    summary = "Send a failed or dead message again",
    params(
        ("id" = String, Path, description = "Message id"),
        IdempotencyKey
    ),
    responses(
        (status = 200, description = "Queued again", body = MessageView),
        (status = 400, description = "Not failed or dead (`message_not_retryable`), or a bad Idempotency-Key", body = ErrorResponse),
        (status = 404, description = "Unknown or another operator's message (`not_found`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/messages/<id>/retry")]
pub async fn retry_message(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let operator = by.operator.clone();
    let scope = operator_scope(&operator);
    mutation
        .run(scope, |ctx, _| async move {
            let message = notifications::retry(ctx.store, ctx.now(), &by, id).await?;
            Ok(ApiResponse::ok(&MessageView::from(&message)))
        })
        .await
}
