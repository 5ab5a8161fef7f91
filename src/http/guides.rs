//! Guides on departures: `PUT`/`GET /v1/departures/{id}/guides` (who leads it), and a signed-in
//! guide's own `GET /v1/me/assignments`.

use rocket::serde::json::Json;
use rocket::{get, put};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{Admin, Authorized, Guide};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::DepartureView;
use crate::domain::ids::DepartureId;
use crate::error::AppError;
use crate::service::guides;
use crate::storage::guides::AssignedGuide;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_ids": ["01JD3Z8Q4W7N5X2R6T9V0B1C3D"]}))]
pub struct GuidesRequest {
    /// Every guide of the departure (an empty list clears it): ids of the operator's active
    /// users, at most 10.
    user_ids: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GuideView {
    user_id: String,
    name: String,
}

fn views(guides: &[AssignedGuide]) -> Vec<GuideView> {
    guides
        .iter()
        .map(|g| GuideView {
            user_id: g.user_id.to_string(),
            name: g.name.clone(),
        })
        .collect()
}

fn departure_id(id: &str) -> Result<DepartureId, AppError> {
    DepartureId::parse(id).ok_or(AppError::NotFound)
}

#[utoipa::path(
    put,
    path = "/v1/departures/{id}/guides",
    tag = "operator",
    summary = "Set who leads a departure; a guide never leads two departures at once",
    params(("id" = String, Path, description = "Departure id"), IdempotencyKey),
    request_body = GuidesRequest,
    responses(
        (status = 200, description = "The departure's guides", body = Vec<GuideView>),
        (status = 409, description = "`guide_busy`: a guide already leads a departure whose time overlaps (the message names it); `departure_cancelled`", body = ErrorResponse),
        (status = 422, description = "Not an active user of the operator, or more than 10 (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[put("/v1/departures/<id>/guides", data = "<body>")]
pub async fn set_guides(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: GuidesRequest, _| async move {
            let departure = departure_id(id)?;
            let guides =
                guides::assign(ctx.store, ctx.now(), &by, &departure, &request.user_ids).await?;
            Ok(ApiResponse::ok(&views(&guides)))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/departures/{id}/guides",
    tag = "operator",
    summary = "Who leads a departure",
    params(("id" = String, Path, description = "Departure id")),
    responses((status = 200, description = "The departure's guides, by name", body = Vec<GuideView>)),
    security(("operator_token" = []))
)]
#[get("/v1/departures/<id>/guides")]
pub async fn list_guides(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Guide>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<GuideView>>, AppError> {
    let guides = guides::of_departure(ctx.store, ctx.now(), &auth?.0, &departure_id(id)?).await?;
    Ok(Json(views(&guides)))
}

#[utoipa::path(
    get,
    path = "/v1/me/assignments",
    tag = "operator",
    summary = "The departures the signed-in user leads, from a day ago to a year ahead",
    responses(
        (status = 200, description = "In start order", body = Vec<DepartureView>),
        (status = 409, description = "`user_required`: an API token is nobody's guide", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/me/assignments")]
pub async fn my_assignments(
    _rate: RateLimited,
    auth: Result<Authorized<Guide>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<DepartureView>>, AppError> {
    let now = ctx.now();
    let listed = guides::mine(ctx.store, now, &auth?.0).await?;
    Ok(Json(
        listed
            .iter()
            .map(|(departure, tour)| DepartureView::new(tour, departure, now))
            .collect(),
    ))
}
