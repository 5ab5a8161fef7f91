//! Shared resources (`/v1/resources`): an operator's boats, buses and guides, which tours or
//! schedules draw on them, and their load over a window.

use rocket::serde::json::Json;
use rocket::{delete, get, patch, post};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{Admin, Authorized, Staff};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::rfc3339;
use crate::domain::resource::{Assignment, Resource};
use crate::error::AppError;
use crate::service::resources::{self, Load, NewResource, ResourcePatch};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Boat Marlin", "capacity": 40, "draw": "seats"}))]
pub struct ResourceRequest {
    /// 1 to 100 characters.
    name: String,
    /// 1 to 10,000: seats (`draw: seats`) or departures at once (`draw: departure`).
    capacity: i64,
    /// `seats`: each departure drawing on it takes its booked seats (a boat, a bus);
    /// `departure`: each takes one unit while it runs, booked or not (a guide, a driver).
    draw: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"capacity": 36}))]
pub struct ResourcePatchRequest {
    #[serde(default)]
    name: Option<String>,
    /// Never below what departures already draw at some moment (`409 capacity_below_drawn`).
    #[serde(default)]
    capacity: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tour_id": "01JD3Z8Q4W7N5X2R6T9V0B1C3D"}))]
pub struct AssignmentRequest {
    /// One of your tours: its departures draw on the resource while they run.
    tour_id: String,
    /// Only the departures this schedule of the tour makes (default: all of the tour's).
    #[serde(default)]
    schedule_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignmentView {
    id: String,
    tour_id: String,
    schedule_id: Option<String>,
}

impl AssignmentView {
    fn new(assignment: &Assignment) -> Self {
        AssignmentView {
            id: assignment.id.to_string(),
            tour_id: assignment.tour_id.to_string(),
            schedule_id: assignment.schedule_id.as_ref().map(ToString::to_string),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResourceView {
    id: String,
    name: String,
    capacity: u32,
    /// `seats` or `departure`.
    draw: &'static str,
    /// Listed on one resource (`GET /v1/resources/{id}`); absent from the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    assignments: Option<Vec<AssignmentView>>,
    created_at: String,
    updated_at: String,
}

impl ResourceView {
    fn new(resource: &Resource, assignments: Option<&[Assignment]>) -> Self {
        ResourceView {
            id: resource.id.to_string(),
            name: resource.name.clone(),
            capacity: resource.capacity,
            draw: resource.draw.as_str(),
            assignments: assignments.map(|all| all.iter().map(AssignmentView::new).collect()),
            created_at: rfc3339(resource.created_at),
            updated_at: rfc3339(resource.updated_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DrawingView {
    departure_id: String,
    tour_id: String,
    tour_name: String,
    starts_at: String,
    ends_at: String,
    /// Its live seats (held, confirmed, checked in).
    seats: u32,
    /// What it asks of the resource: its seats, or 1 for `draw: departure`.
    draws: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoadView {
    resource: ResourceView,
    from: String,
    to: String,
    /// The most drawn at any moment of the window.
    peak: u32,
    /// `capacity - peak`: what can still be drawn at the busiest moment.
    free_at_peak: u32,
    /// The departures running in the window, in start order.
    departures: Vec<DrawingView>,
}

impl LoadView {
    fn new(load: &Load) -> Self {
        let resource = &load.resource;
        LoadView {
            resource: ResourceView::new(resource, None),
            from: rfc3339(load.window.start),
            to: rfc3339(load.window.end),
            peak: load.peak,
            free_at_peak: resource.capacity.saturating_sub(load.peak),
            departures: load
                .drawings
                .iter()
                .map(|(drawing, tour)| DrawingView {
                    departure_id: drawing.departure.to_string(),
                    tour_id: tour.id.to_string(),
                    tour_name: tour.tour.name.clone(),
                    starts_at: rfc3339(drawing.span.start),
                    ends_at: rfc3339(drawing.span.end),
                    seats: drawing.seats,
                    draws: resource.draw.amount(drawing.seats),
                })
                .collect(),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/resources",
    tag = "operator",
    summary = "Create a shared resource (a boat, a bus, a guide) that departures of your tours draw on",
    params(IdempotencyKey),
    request_body = ResourceRequest,
    responses(
        (status = 201, description = "Created", body = ResourceView),
        (status = 409, description = "`too_many_resources`: you keep 500 already", body = ErrorResponse),
        (status = 422, description = "A field breaks the rules (`validation_failed`, each named)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/resources", data = "<body>")]
pub async fn create_resource(
    _rate: RateLimited,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(scope, body, |ctx, request: ResourceRequest, _| async move {
            let input = NewResource {
                name: request.name,
                capacity: request.capacity,
                draw: request.draw,
            };
            let resource = resources::create(ctx.store, ctx.now(), &by, input).await?;
            Ok(ApiResponse::created(
                format!("/v1/resources/{}", resource.id),
                &ResourceView::new(&resource, Some(&[])),
            ))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/resources",
    tag = "operator",
    summary = "Your shared resources, by name (at most 500)",
    responses((status = 200, description = "Resources", body = Vec<ResourceView>)),
    security(("operator_token" = []))
)]
#[get("/v1/resources")]
pub async fn list_resources(
    _rate: RateLimited,
    auth: Result<Authorized<Staff>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<ResourceView>>, AppError> {
    let listed = resources::list(ctx.store, &auth?.0).await?;
    Ok(Json(
        listed.iter().map(|r| ResourceView::new(r, None)).collect(),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/resources/{id}",
    tag = "operator",
    summary = "One shared resource with the tours and schedules drawing on it",
    params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, description = "The resource", body = ResourceView)),
    security(("operator_token" = []))
)]
#[get("/v1/resources/<id>")]
pub async fn get_resource(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Staff>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<ResourceView>, AppError> {
    let (resource, assignments) = resources::get(ctx.store, &auth?.0, id).await?;
    Ok(Json(ResourceView::new(&resource, Some(&assignments))))
}

#[utoipa::path(
    patch,
    path = "/v1/resources/{id}",
    tag = "operator",
    summary = "Rename a resource or change its capacity (never below what departures draw)",
    params(("id" = String, Path, description = "Resource id"), IdempotencyKey),
    request_body = ResourcePatchRequest,
    responses(
        (status = 200, description = "Changed", body = ResourceView),
        (status = 409, description = "`capacity_below_drawn`: departures already draw more at some moment (the message names them)", body = ErrorResponse),
        (status = 422, description = "A field breaks the rules (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[patch("/v1/resources/<id>", data = "<body>")]
pub async fn update_resource(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(
            scope,
            body,
            |ctx, request: ResourcePatchRequest, _| async move {
                let patch = ResourcePatch {
                    name: request.name,
                    capacity: request.capacity,
                };
                let resource = resources::update(ctx.store, ctx.now(), &by, id, patch).await?;
                Ok(ApiResponse::ok(&ResourceView::new(&resource, None)))
            },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/v1/resources/{id}/assignments",
    tag = "operator",
    summary = "Make a tour's departures (or one schedule's) draw on a resource; refused if any moment would ask more than its capacity",
    params(("id" = String, Path, description = "Resource id"), IdempotencyKey),
    request_body = AssignmentRequest,
    responses(
        (status = 201, description = "Assigned", body = AssignmentView),
        (status = 409, description = "`resource_over_capacity`: with this tour's departures some moment would ask more than the capacity (the message names the departures that clash, in local time); `already_assigned`", body = ErrorResponse),
        (status = 422, description = "`tour_id` or `schedule_id` not yours (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/resources/<id>/assignments", data = "<body>")]
pub async fn assign_resource(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(
            scope,
            body,
            |ctx, request: AssignmentRequest, _| async move {
                let schedule = request.schedule_id.as_deref();
                let assignment =
                    resources::assign(ctx.store, ctx.now(), &by, id, &request.tour_id, schedule)
                        .await?;
                Ok(ApiResponse::created(
                    format!("/v1/resources/{id}"),
                    &AssignmentView::new(&assignment),
                ))
            },
        )
        .await
}

#[utoipa::path(
    delete,
    path = "/v1/resources/{id}/assignments/{assignment}",
    tag = "operator",
    summary = "End an assignment: that tour's (or schedule's) departures stop drawing on the resource",
    params(
        ("id" = String, Path, description = "Resource id"),
        ("assignment" = String, Path, description = "Assignment id"),
        IdempotencyKey
    ),
    responses((status = 204, description = "Ended")),
    security(("operator_token" = []))
)]
#[delete("/v1/resources/<id>/assignments/<assignment>")]
pub async fn unassign_resource(
    _rate: RateLimited,
    id: &str,
    assignment: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            resources::unassign(ctx.store, ctx.now(), &by, id, assignment).await?;
            Ok(ApiResponse::no_content())
        })
        .await
}

#[utoipa::path(
    get,
    path = "/v1/resources/{id}/load",
    tag = "operator",
    summary = "A resource's load over a window: the departures drawing on it and the busiest moment",
    params(
        ("id" = String, Path, description = "Resource id"),
        ("from" = Option<String>, Query, description = "RFC 3339 or YYYY-MM-DD (UTC midnight); default now"),
        ("to" = Option<String>, Query, description = "Exclusive; default 7 days after `from`; at most 93 days after it")
    ),
    responses(
        (status = 200, description = "The load", body = LoadView),
        (status = 422, description = "Bad times (`validation_failed`)", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/resources/<id>/load?<from>&<to>")]
pub async fn resource_load(
    _rate: RateLimited,
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
    auth: Result<Authorized<Staff>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<LoadView>, AppError> {
    let load = resources::load(ctx.store, ctx.now(), &auth?.0, id, (from, to)).await?;
    Ok(Json(LoadView::new(&load)))
}
