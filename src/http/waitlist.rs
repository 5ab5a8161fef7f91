//! Waiting lines (`/v1/departures/{id}/waitlist`): travelers join a sold-out departure's line;
//! operators see it and take travelers out of it. berth itself offers freed seats (see
//! `service::holds::waitlist`).

use rocket::serde::json::Json;
use rocket::{delete, get, post};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{AcceptLanguage, Admin, Authorized, Staff};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::rfc3339;
use crate::domain::pricing::ItemRequest;
use crate::domain::waitlist::Entry;
use crate::error::AppError;
use crate::service::waitlist::{self, JoinRequest, Listed};

/// The idempotency scope of travelers' joins (no operator to scope them by).
const PUBLIC_WAITLIST_SCOPE: &str = "public:waitlist";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ada Lovelace", "email": "ada@example.com", "items": [{"unit": "adult", "quantity": 2}]}))]
pub struct WaitlistJoinRequest {
    name: String,
    /// An email or a phone (or both): where the offer is sent when seats free up.
    #[serde(default)]
    email: Option<String>,
    /// E.164, such as `+351912345678`.
    #[serde(default)]
    phone: Option<String>,
    /// The language of the offer (`en`, `es`); absent: the request's `Accept-Language`.
    #[serde(default)]
    language: Option<String>,
    /// The units wanted, as for a hold; the seats are their sum.
    items: Vec<ItemRequest>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WaitlistJoinedView {
    id: String,
    departure_id: String,
    seats: u32,
    /// 1 for the first in line.
    position: usize,
    joined_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WaitlistItemView {
    unit: String,
    quantity: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WaitlistEntryView {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    language: &'static str,
    items: Vec<WaitlistItemView>,
    seats: u32,
    /// `waiting`; `offered` (its hold is live until `hold_expires_at`); `booked` (the traveler
    /// completed it); `lapsed` (the offer ran out or was cancelled: the line moved on);
    /// `removed` (by the operator); `closed` (still waiting when the departure's sales closed:
    /// the traveler was told no seats will come).
    state: &'static str,
    /// The hold berth placed for it, once offered.
    booking_reference: Option<String>,
    hold_expires_at: Option<String>,
    joined_at: String,
}

impl WaitlistEntryView {
    fn new(listed: &Listed) -> Self {
        let entry: &Entry = &listed.entry;
        WaitlistEntryView {
            id: entry.id.to_string(),
            name: entry.customer.name.clone(),
            email: Some(entry.customer.email.clone()).filter(|e| !e.is_empty()),
            phone: entry.customer.phone.clone(),
            language: entry.customer.language.code(),
            items: entry
                .items
                .iter()
                .map(|item| WaitlistItemView {
                    unit: item.unit.clone(),
                    quantity: item.quantity,
                })
                .collect(),
            seats: entry.seats,
            state: listed.state.as_str(),
            booking_reference: listed.hold.as_ref().map(|(r, _)| r.to_string()),
            hold_expires_at: listed.hold.as_ref().and_then(|(_, at)| at.map(rfc3339)),
            joined_at: rfc3339(entry.joined_at),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/departures/{id}/waitlist",
    tag = "bookings",
    summary = "Join a sold-out departure's waiting line; freed seats are held for travelers in the order they joined",
    params(("id" = String, Path, description = "Departure id"), IdempotencyKey),
    request_body = WaitlistJoinRequest,
    responses(
        (status = 201, description = "In line; `position` counts from 1", body = WaitlistJoinedView),
        (status = 404, description = "No such departure (`not_found`)", body = ErrorResponse),
        (status = 409, description = "`seats_available` (book them instead), `sales_closed`, `already_waiting` (this email or phone waits already), `waitlist_full` (200 wait already), `idempotency_in_progress`", body = ErrorResponse),
        (status = 422, description = "A field breaks the rules (`validation_failed`): a name, and an email or a phone, are needed; units as for a hold", body = ErrorResponse),
        (status = 429, description = "Rate limited (`rate_limited`); retry after `Retry-After`", body = ErrorResponse)
    )
)]
#[post("/v1/departures/<id>/waitlist", data = "<body>")]
pub async fn join_waitlist(
    _rate: RateLimited,
    id: &str,
    accept_language: AcceptLanguage,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    mutation
        .json(
            PUBLIC_WAITLIST_SCOPE.to_owned(),
            body,
            |ctx, request: WaitlistJoinRequest, _| async move {
                let language = request
                    .language
                    .or_else(|| accept_language.0.map(|lang| lang.code().to_owned()));
                let join = JoinRequest {
                    name: request.name,
                    email: request.email,
                    phone: request.phone,
                    language,
                    items: request.items,
                };
                let joined = waitlist::join(ctx.store, ctx.now(), id, join).await?;
                let entry = &joined.entry;
                Ok(ApiResponse::created(
                    format!("/v1/departures/{}/waitlist", entry.departure_id),
                    &WaitlistJoinedView {
                        id: entry.id.to_string(),
                        departure_id: entry.departure_id.to_string(),
                        seats: entry.seats,
                        position: joined.position,
                        joined_at: rfc3339(entry.joined_at),
                    },
                ))
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/v1/departures/{id}/waitlist",
    tag = "operator",
    summary = "A departure's waiting line in the order travelers joined, with each offer's fate",
    params(("id" = String, Path, description = "Departure id")),
    responses(
        (status = 200, description = "The line (at most 200 waiting, plus those served or removed)", body = Vec<WaitlistEntryView>),
        (status = 404, description = "No departure of yours (`not_found`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/departures/<id>/waitlist")]
pub async fn list_waitlist(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Staff>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<WaitlistEntryView>>, AppError> {
    let listed = waitlist::list(ctx.store, ctx.now(), &auth?.0, id).await?;
    Ok(Json(listed.iter().map(WaitlistEntryView::new).collect()))
}

#[utoipa::path(
    delete,
    path = "/v1/departures/{id}/waitlist/{entry}",
    tag = "operator",
    summary = "Take a waiting traveler out of the line",
    params(
        ("id" = String, Path, description = "Departure id"),
        ("entry" = String, Path, description = "Waitlist entry id"),
        IdempotencyKey
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such entry on a departure of yours (`not_found`)", body = ErrorResponse),
        (status = 409, description = "`not_waiting`: already offered (its hold is a booking: cancel that) or removed", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[delete("/v1/departures/<id>/waitlist/<entry>")]
pub async fn remove_from_waitlist(
    _rate: RateLimited,
    id: &str,
    entry: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            waitlist::remove(ctx.store, ctx.now(), &by, id, entry).await?;
            Ok(ApiResponse::no_content())
        })
        .await
}
