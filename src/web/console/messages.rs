//! Messages to travelers in the console: those not delivered (failed for good, or out of
//! attempts) first, each with its reason and a way to send it again, as
//! `GET /v1/messages` and `POST /v1/messages/{id}/retry`. Admins, as on the API.

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, State};

use super::{frame, Console};
use crate::domain::message::STATUSES;
use crate::http::context::Ctx;
use crate::http::guards::Admin;
use crate::http::rate_limit::RateLimited;
use crate::service::{console, notifications};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

/// What the list shows when not asked: what needs an admin's eye.
pub const UNDELIVERED: &str = "undelivered";

/// The catalogue key that names a message status (or `undelivered`).
pub fn status_key(status: &str) -> String {
    format!("console-messages-status-{status}")
}

/// `GET /console/messages?status=…`: undelivered messages (failed and dead) by default, or those
/// of one status.
#[get("/console/messages?<status>&<notice>")]
pub async fn list(
    _rate: RateLimited,
    user: Console<Admin>,
    status: Option<&str>,
    notice: Option<&str>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let principal = user.0;
    // An unknown status shows the default list rather than an error: the select offers no other.
    let status = status
        .filter(|s| STATUSES.contains(s))
        .unwrap_or(UNDELIVERED);
    let listed = console::messages(store, &principal.operator, status).await?;
    let retryable = ["failed", "dead"];
    let rows: Vec<Value> = listed
        .iter()
        .map(|listed| {
            let m = &listed.message;
            context! {
                id => m.id, reference => listed.reference, kind => m.kind, channel => m.channel,
                status => m.status, attempts => m.attempts, error => m.last_error,
                delivery => m.delivery_status,
                at => m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                retry => retryable.contains(&m.status.as_str()),
                status_key => status_key(&m.status),
                form_key => once::new_key(),
            }
        })
        .collect();
    let statuses: Vec<Value> = std::iter::once(UNDELIVERED)
        .chain(STATUSES.iter().copied())
        .map(|s| context! { value => s, key => status_key(s) })
        .collect();
    let notice = notice.filter(|n| *n == "retried");
    Ok(Page::new(
        "console/messages.html",
        context! {
            console => frame(store, &principal, "/console/messages").await,
            status => status,
            statuses => statuses,
            messages => rows,
            notice => notice,
        },
    ))
}

#[derive(FromForm)]
pub struct RetryForm {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/messages/<id>/retry`: queues a failed or dead message again (once per
/// rendered form), then back to the list.
#[post("/console/messages/<id>/retry", data = "<form>")]
pub async fn retry(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<RetryForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    // Each row's form has its own key, so one scope serves every message.
    let scope = format!("console:{}:retry", principal.operator);
    let location = once::once(store, config, now, &scope, &form.0.form_key, id, || async {
        notifications::retry(store, now, &principal, id).await?;
        Ok("/console/messages?notice=retried".to_owned())
    })
    .await?;
    Ok(Redirect::to(location))
}
