//! Secret calendar feeds, of a tour (an admin's) or of a guide's assignments (the guide's own):
//! create (the URL shown once), list, revoke; and the feeds themselves, `GET /feeds/tour.ics`
//! and `GET /feeds/guide.ics` with `?key=…`, for calendar apps (no other credential).

use rocket::http::ContentType;
use rocket::serde::json::Json;
use rocket::{delete, get, post};
use serde::{Deserialize, Serialize};

use super::context::{Ctx, Mutation};
use super::guards::{Admin, Authorized, Guide};
use super::idempotency::{operator_scope, ApiResponse, IdempotencyKey};
use super::rate_limit::RateLimited;
use super::responder::{ErrorResponse, JsonBody};
use super::views::rfc3339;
use crate::domain::ids::{CalendarFeedId, TourId};
use crate::error::AppError;
use crate::service::calendar_feeds::{self, FEED_PATH, GUIDE_FEED_PATH};
use crate::storage::calendar_feeds::{CalendarFeed, FeedSubject};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarFeedRequest {
    /// Who or what subscribes (`Office calendar`, `My phone`): 1 to 100 characters.
    label: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarFeedView {
    id: String,
    /// A tour's feed: the tour.
    #[serde(skip_serializing_if = "Option::is_none")]
    tour_id: Option<String>,
    /// A guide's feed: the guide (a user).
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    label: String,
    created_at: String,
    revoked_at: Option<String>,
    /// The feed's secret URL: only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl CalendarFeedView {
    fn new(feed: &CalendarFeed, url: Option<String>) -> Self {
        let (tour_id, user_id) = match &feed.subject {
            FeedSubject::Tour(tour) => (Some(tour.to_string()), None),
            FeedSubject::Guide(user) => (None, Some(user.to_string())),
        };
        CalendarFeedView {
            id: feed.id.to_string(),
            tour_id,
            user_id,
            label: feed.label.clone(),
            created_at: rfc3339(feed.created_at),
            revoked_at: feed.revoked_at.map(rfc3339),
            url,
        }
    }
}

fn tour_id(id: &str) -> Result<TourId, AppError> {
    TourId::parse(id).ok_or(AppError::NotFound)
}

#[utoipa::path(
    post,
    path = "/v1/tours/{id}/calendar-feeds",
    tag = "operator",
    summary = "Create a secret calendar feed of the tour's departures (URL shown once)",
    params(("id" = String, Path, description = "Tour id"), IdempotencyKey),
    request_body = CalendarFeedRequest,
    responses((status = 201, description = "Created; `url` appears only here", body = CalendarFeedView)),
    security(("operator_token" = []))
)]
#[post("/v1/tours/<id>/calendar-feeds", data = "<body>")]
pub async fn create_feed(
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
            |ctx, request: CalendarFeedRequest, _| async move {
                let tour = tour_id(id)?;
                let (feed, token) =
                    calendar_feeds::create(ctx.store, ctx.now(), &by, &tour, &request.label)
                        .await?;
                let url = format!("{}{FEED_PATH}?key={token}", ctx.config.public_url());
                let view = CalendarFeedView::new(&feed, Some(url));
                // The URL is the feed's only credential: shown once, never stored for a replay.
                let mut response =
                    ApiResponse::created(format!("/v1/tours/{id}/calendar-feeds"), &view);
                response.confidential = true;
                Ok(response)
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/v1/tours/{id}/calendar-feeds",
    tag = "operator",
    summary = "The tour's calendar feeds (never their URLs)",
    params(("id" = String, Path, description = "Tour id")),
    responses((status = 200, description = "Feeds", body = Vec<CalendarFeedView>)),
    security(("operator_token" = []))
)]
#[get("/v1/tours/<id>/calendar-feeds")]
pub async fn list_feeds(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<CalendarFeedView>>, AppError> {
    let feeds = calendar_feeds::list(ctx.store, &auth?.0, &tour_id(id)?).await?;
    Ok(Json(
        feeds
            .iter()
            .map(|f| CalendarFeedView::new(f, None))
            .collect(),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/calendar-feeds/{id}",
    tag = "operator",
    summary = "Revoke a calendar feed, a tour's or a guide's: its URL answers 404 from now on",
    params(("id" = String, Path, description = "Feed id"), IdempotencyKey),
    responses((status = 204, description = "Revoked")),
    security(("operator_token" = []))
)]
#[delete("/v1/calendar-feeds/<id>")]
pub async fn revoke_feed(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Admin>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let feed = CalendarFeedId::parse(id).ok_or(AppError::NotFound)?;
            calendar_feeds::revoke(ctx.store, ctx.now(), &by, &feed, false).await?;
            Ok(ApiResponse::no_content())
        })
        .await
}

#[utoipa::path(
    get,
    path = "/feeds/tour.ics",
    tag = "catalogue",
    summary = "A tour's calendar feed (iCalendar), opened by its secret key",
    params(("key" = String, Query, description = "The feed's key, from its URL")),
    responses(
        (status = 200, description = "The departures as an iCalendar (RFC 5545) calendar", content_type = "text/calendar", body = String),
        (status = 404, description = "No key, or one that is unknown or revoked (`not_found`)", body = ErrorResponse)
    )
)]
#[get("/feeds/tour.ics?<key>")]
pub async fn feed(
    _rate: RateLimited,
    key: Option<&str>,
    ctx: Ctx<'_>,
) -> Result<(ContentType, String), AppError> {
    serve(&ctx, FEED_PATH, key).await
}

/// The calendar a key opens at `path`, as `text/calendar`.
async fn serve(
    ctx: &Ctx<'_>,
    path: &str,
    key: Option<&str>,
) -> Result<(ContentType, String), AppError> {
    let key = key.ok_or(AppError::NotFound)?;
    let calendar = calendar_feeds::calendar(ctx.store, ctx.now(), path, key).await?;
    let utf8 = ContentType::new("text", "calendar").with_params(("charset", "utf-8"));
    Ok((utf8, calendar))
}

#[utoipa::path(
    get,
    path = "/feeds/guide.ics",
    tag = "catalogue",
    summary = "A guide's calendar feed (iCalendar) of the departures they lead, opened by its secret key",
    params(("key" = String, Query, description = "The feed's key, from its URL")),
    responses(
        (status = 200, description = "The guide's departures as an iCalendar (RFC 5545) calendar", content_type = "text/calendar", body = String),
        (status = 404, description = "No key, or one that is unknown, revoked, or its guide's account deactivated (`not_found`)", body = ErrorResponse)
    )
)]
#[get("/feeds/guide.ics?<key>")]
pub async fn guide_feed(
    _rate: RateLimited,
    key: Option<&str>,
    ctx: Ctx<'_>,
) -> Result<(ContentType, String), AppError> {
    serve(&ctx, GUIDE_FEED_PATH, key).await
}

#[utoipa::path(
    post,
    path = "/v1/me/calendar-feeds",
    tag = "operator",
    summary = "Create a secret calendar feed of the departures the signed-in user leads (URL shown once)",
    params(IdempotencyKey),
    request_body = CalendarFeedRequest,
    responses(
        (status = 201, description = "Created; `url` appears only here", body = CalendarFeedView),
        (status = 409, description = "`user_required`: an API token is nobody's guide", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[post("/v1/me/calendar-feeds", data = "<body>")]
pub async fn create_my_feed(
    _rate: RateLimited,
    auth: Result<Authorized<Guide>, AppError>,
    body: JsonBody<'_>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .json(
            scope,
            body,
            |ctx, request: CalendarFeedRequest, _| async move {
                let (feed, token) =
                    calendar_feeds::create_for_guide(ctx.store, ctx.now(), &by, &request.label)
                        .await?;
                let url = format!("{}{GUIDE_FEED_PATH}?key={token}", ctx.config.public_url());
                let view = CalendarFeedView::new(&feed, Some(url));
                let mut response = ApiResponse::created("/v1/me/calendar-feeds".to_owned(), &view);
                response.confidential = true;
                Ok(response)
            },
        )
        .await
}

#[utoipa::path(
    get,
    path = "/v1/me/calendar-feeds",
    tag = "operator",
    summary = "The signed-in user's own calendar feeds (never their URLs)",
    responses(
        (status = 200, description = "Feeds", body = Vec<CalendarFeedView>),
        (status = 409, description = "`user_required`: an API token is nobody's guide", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[get("/v1/me/calendar-feeds")]
pub async fn list_my_feeds(
    _rate: RateLimited,
    auth: Result<Authorized<Guide>, AppError>,
    ctx: Ctx<'_>,
) -> Result<Json<Vec<CalendarFeedView>>, AppError> {
    let feeds = calendar_feeds::list_mine(ctx.store, &auth?.0).await?;
    Ok(Json(
        feeds
            .iter()
            .map(|f| CalendarFeedView::new(f, None))
            .collect(),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/me/calendar-feeds/{id}",
    tag = "operator",
    summary = "Revoke one of the signed-in user's own calendar feeds",
    params(("id" = String, Path, description = "Feed id"), IdempotencyKey),
    responses(
        (status = 204, description = "Revoked"),
        (status = 409, description = "`user_required`: an API token is nobody's guide", body = ErrorResponse)
    ),
    security(("operator_token" = []))
)]
#[delete("/v1/me/calendar-feeds/<id>")]
pub async fn revoke_my_feed(
    _rate: RateLimited,
    id: &str,
    auth: Result<Authorized<Guide>, AppError>,
    mutation: Mutation<'_>,
) -> Result<ApiResponse, AppError> {
    let by = auth?.0;
    let scope = operator_scope(&by.operator);
    mutation
        .run(scope, |ctx, _| async move {
            let feed = CalendarFeedId::parse(id).ok_or(AppError::NotFound)?;
            calendar_feeds::revoke(ctx.store, ctx.now(), &by, &feed, true).await?;
            Ok(ApiResponse::no_content())
        })
        .await
}
