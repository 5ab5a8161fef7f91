//! The calling operator's own profile: name, contact, and who traveler emails come from.

use super::rate_limit::RateLimited;
use rocket::serde::json::Json;
use rocket::{get, patch, put, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::context::Mutation;
use super::guards::{Authorized, Owner, Staff};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::responder::{ErrorResponse, JsonBody};
use crate::domain::reseller::ResaleMessages;
use crate::error::AppError;
use crate::service::operators;
use crate::storage::catalogue::OperatorRow;
use crate::storage::Store;

#[derive(Serialize, ToSchema)]
pub struct OperatorView {
    id: String,
    name: String,
    email: String,
    /// Address traveler emails come from, shown with the operator's `name`; null uses the
    /// server's default sender.
    mail_from: Option<String>,
    /// Where travelers' replies go; null uses the sender.
    reply_to: Option<String>,
    /// Domains the instance owner approved for `mail_from`.
    sender_domains: Vec<String>,
    /// Origins allowed to frame the operator's booking pages (the widget); empty: none.
    embed_origins: Vec<String>,
    /// Whether berth messages the travellers of reseller bookings (see
    /// `PUT /v1/operator/reseller-messages`).
    reseller_messages: ResaleMessages,
}

impl OperatorView {
    fn new(row: OperatorRow, sender_domains: Vec<String>) -> Self {
        OperatorView {
            id: row.id,
            name: row.name,
            email: row.email,
            mail_from: row.mail_from,
            reply_to: row.reply_to,
            sender_domains,
            embed_origins: row
                .embed_origins
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            reseller_messages: ResaleMessages::parse(&row.reseller_messages).unwrap_or_default(),
        }
    }
}

/// The operator's profile with its approved sender domains.
async fn view(store: &Store, row: OperatorRow) -> Result<OperatorView, AppError> {
    let id = crate::domain::ids::OperatorId::from_stored(row.id.clone());
    Ok(OperatorView::new(
        row,
        operators::sender_domains(store, &id).await?,
    ))
}

/// A field left out keeps its value; `null` clears it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mail_from": "bookings@harbour.example", "reply_to": null}))]
pub struct OperatorPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    mail_from: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    reply_to: Option<Value>,
}

/// A key that is present is `Some`, even with a `null` value (plain `Option` would read `null`
/// as absent, so a field could never be cleared).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

fn merged(
    patched: Option<&Value>,
    current: Option<String>,
    field: &str,
) -> Result<Option<String>, AppError> {
    match patched {
        None => Ok(current),
        Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
        Some(_) => Err(AppError::invalid(field, "must be a string or null")),
    }
}

#[utoipa::path(
    get,
    path = "/v1/operator",
    tag = "operator",
    summary = "The calling operator's profile",
    responses(
        (status = 200, description = "Profile", body = OperatorView)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/operator")]
pub async fn get_operator(
    _rate: RateLimited,
    auth: Result<Authorized<Staff>, AppError>,
    store: &State<Store>,
) -> Result<Json<OperatorView>, AppError> {
    let row = operators::profile(store, &auth?.0.operator).await?;
    Ok(Json(view(store, row).await?))
}

#[utoipa::path(
    patch,
    path = "/v1/operator",
    tag = "operator",
    summary = "Set the address traveler emails come from (in an approved sender domain) and the reply-to",
    params(IdempotencyKey),
    request_body = OperatorPatch,
    responses(
        (status = 200, description = "Updated", body = OperatorView),
        (status = 422, description = "`mail_from` not a bare address in a sender domain approved for this operator, or `reply_to` not a valid mailbox (`validation_failed`); or `idempotency_key_reused`", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[patch("/v1/operator", data = "<body>")]
pub async fn update_operator(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let operator = by.operator.clone();
    let scope = operator_scope(&operator);
    mutation
        .json(scope, body, |ctx, patch: OperatorPatch, _| async move {
            let current = operators::profile(ctx.store, &operator).await?;
            let mail_from = merged(patch.mail_from.as_ref(), current.mail_from, "mail_from")?;
            let reply_to = merged(patch.reply_to.as_ref(), current.reply_to, "reply_to")?;
            let updated = operators::set_mail_identity(
                ctx.store,
                ctx.now(),
                &by,
                mail_from.as_deref(),
                reply_to.as_deref(),
            )
            .await?;
            Ok(ApiResponse::ok(&view(ctx.store, updated).await?))
        })
        .await
}

/// The origins allowed to frame the operator's booking pages.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"origins": ["https://harbour-tours.example"]}))]
pub struct EmbedOrigins {
    /// Up to 20 origins (`https://` and a host, optional port; `http://` only for localhost).
    /// An empty list stops all framing.
    origins: Vec<String>,
}

#[utoipa::path(
    put,
    path = "/v1/operator/embed-origins",
    tag = "operator",
    summary = "Set the sites allowed to embed the operator's booking pages (the widget)",
    params(IdempotencyKey),
    request_body = EmbedOrigins,
    responses(
        (status = 200, description = "Set, in canonical form", body = EmbedOrigins),
        (status = 422, description = "An entry is not an origin, or there are more than 20 (`validation_failed`); or `idempotency_key_reused`", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[put("/v1/operator/embed-origins", data = "<body>")]
pub async fn set_embed_origins(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: EmbedOrigins, _| async move {
            let origins =
                operators::set_embed_origins(ctx.store, ctx.now(), &by, &request.origins).await?;
            Ok(ApiResponse::ok(&EmbedOrigins {
                origins: origins.iter().map(|o| o.as_str().to_owned()).collect(),
            }))
        })
        .await
}

/// Whether berth itself messages the travellers of the operator's reseller bookings.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"messages": "always"}))]
pub struct ResellerMessages {
    /// `never` (the reseller tells its travellers itself), `on_request` (the default: an email
    /// receipt when the reseller asks for one with OCTO's `emailReceipt`), or `always` (an email
    /// and an SMS whenever the reseller's contact has a usable address or number). It applies
    /// to bookings confirmed or changed from then on.
    messages: ResaleMessages,
}

#[utoipa::path(
    put,
    path = "/v1/operator/reseller-messages",
    tag = "operator",
    summary = "Set whether berth messages the travellers of reseller bookings",
    params(IdempotencyKey),
    request_body = ResellerMessages,
    responses(
        (status = 200, description = "Set", body = ResellerMessages),
        (status = 422, description = "Not one of `never`, `on_request`, `always` (`validation_failed`); or `idempotency_key_reused`", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[put("/v1/operator/reseller-messages", data = "<body>")]
pub async fn set_reseller_messages(
    _rate: RateLimited,
    auth: Result<Authorized<Owner>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(
            scope,
            body,
            |ctx, request: ResellerMessages, _| async move {
                let messages =
                    operators::set_reseller_messages(ctx.store, ctx.now(), &by, request.messages)
                        .await?;
                Ok(ApiResponse::ok(&ResellerMessages { messages }))
            },
        )
        .await
}
