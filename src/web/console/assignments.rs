//! "My departures" in the console (every role): the departures the signed-in user leads as a
//! guide, each a link to its manifest, and their own calendar feed: a secret URL made here
//! (shown once, on the page that made it, with a `webcal:` link phones open in their calendar
//! app), listed, and revoked. The API's service functions do the work.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post};

use super::{frame, Console};
use crate::domain::ids::CalendarFeedId;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::Guide;
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::calendar_feeds::{self, GUIDE_FEED_PATH};
use crate::service::guides;
use crate::web::{once, CsrfForm, Page, WebError};

/// What the page shows besides the departures: the feed form as typed when it was refused, or
/// the URL of a feed just made.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    label: String,
    problems: BTreeMap<String, String>,
    feed_url: Option<String>,
}

async fn render(ctx: &Ctx<'_>, principal: &Principal, shown: Shown) -> Result<Page, WebError> {
    let now = ctx.now();
    let led: Vec<Value> = guides::mine(ctx.store, now, principal)
        .await?
        .iter()
        .filter(|(d, tour)| {
            d.occupancy.starts_at + chrono::Duration::minutes(i64::from(tour.tour.duration_minutes))
                > now
        })
        .map(|(d, tour)| {
            let starts = d.occupancy.starts_at.with_timezone(&tour.tour.timezone);
            let taken = d.occupancy.seats_taken.saturating_sub(d.occupancy.seats_expired);
            context! {
                id => d.id.as_str(), tour => tour.tour.name,
                date => starts.date_naive().to_string(), time => starts.format("%H:%M").to_string(),
                timezone => tour.tour.timezone.name(), taken => taken, capacity => d.occupancy.capacity,
                cancelled => d.occupancy.status == crate::domain::capacity::DepartureStatus::Cancelled,
            }
        })
        .collect();
    let feeds: Vec<Value> = calendar_feeds::list_mine(ctx.store, principal)
        .await?
        .iter()
        .filter(|f| f.revoked_at.is_none())
        .map(|f| {
            context! {
                id => f.id.as_str(), label => f.label,
                created => f.created_at.date_naive().to_string(), form_key => once::new_key(),
            }
        })
        .collect();
    let webcal = shown.feed_url.as_deref().map(|url| {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(url);
        format!("webcal://{rest}")
    });
    Ok(Page::new(
        "console/my_departures.html",
        context! {
            console => frame(ctx.store, principal, "/console/my-departures").await,
            departures => led,
            feeds => feeds,
            notice => shown.notice,
            label => shown.label,
            errors => shown.problems.clone(),
            feed_url => shown.feed_url,
            webcal => webcal,
        },
    )
    .refused_if(!shown.problems.is_empty()))
}

/// `GET /console/my-departures`.
#[get("/console/my-departures?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: Console<Guide>,
    notice: Option<&str>,
    ctx: Ctx<'_>,
) -> Result<Page, WebError> {
    let shown = Shown {
        notice: notice.filter(|n| *n == "revoked").map(str::to_owned),
        ..Shown::default()
    };
    render(&ctx, &user.0, shown).await
}

#[derive(FromForm)]
pub struct FeedForm {
    #[field(default = String::new())]
    label: String,
}

/// `POST /console/my-departures/calendar-feeds`: as `POST /v1/me/calendar-feeds`. The URL is on
/// the page this answers and never again (the page is not stored).
#[post("/console/my-departures/calendar-feeds", data = "<form>")]
pub async fn create_feed(
    _rate: RateLimited,
    user: Console<Guide>,
    form: CsrfForm<FeedForm>,
    ctx: Ctx<'_>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let label = form.0.label;
    let shown =
        match calendar_feeds::create_for_guide(ctx.store, ctx.now(), &principal, &label).await {
            Ok((_, token)) => Shown {
                feed_url: Some(format!(
                    "{}{GUIDE_FEED_PATH}?key={token}",
                    ctx.config.public_url()
                )),
                ..Shown::default()
            },
            Err(AppError::Validation(problems)) => Shown {
                label,
                problems,
                ..Shown::default()
            },
            Err(other) => return Err(other.into()),
        };
    render(&ctx, &principal, shown).await
}

#[derive(FromForm)]
pub struct RevokeForm {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/my-departures/calendar-feeds/<id>/revoke`: one of the user's own feeds, once
/// per rendered form.
#[post("/console/my-departures/calendar-feeds/<id>/revoke", data = "<form>")]
pub async fn revoke_feed(
    _rate: RateLimited,
    user: Console<Guide>,
    id: &str,
    form: CsrfForm<RevokeForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let feed = CalendarFeedId::parse(id).ok_or(AppError::NotFound)?;
    let user_id = guides::signed_in_user(&principal)?;
    // User ids are unique across operators: the user alone scopes the form keys.
    let scope = format!("console:{user_id}:feeds");
    let location = once::once(
        ctx.store,
        ctx.config,
        ctx.now(),
        &scope,
        &form.0.form_key,
        &format!("revoke:{id}"),
        || async {
            calendar_feeds::revoke(ctx.store, ctx.now(), &principal, &feed, true).await?;
            Ok("/console/my-departures?notice=revoked".to_owned())
        },
    )
    .await?;
    Ok(Redirect::to(location))
}
