//! The operator's settings in the console (owners, as `/v1/operator`): the sender of traveler
//! emails (an address in a domain the instance owner approved, and where replies go) and the
//! sites allowed to frame its booking pages (the widget); and the audit log (admins, as
//! `GET /v1/audit`), a page at a time.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::{frame, Console};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::{Admin, Owner};
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::{audit, operators};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

type Problems = BTreeMap<String, String>;

/// The notices a change leads to (catalogue keys `console-settings-notice-…`).
pub const NOTICES: [&str; 2] = ["sender", "origins"];

pub fn notice_key(notice: &str) -> String {
    format!("console-settings-notice-{notice}")
}

/// The forms as typed, when one was refused.
#[derive(Default)]
struct Typed {
    mail_from: Option<String>,
    reply_to: Option<String>,
    origins: Option<String>,
}

async fn render(
    store: &Store,
    principal: &Principal,
    notice: Option<&str>,
    typed: Typed,
    problems: Problems,
) -> Result<Page, WebError> {
    let operator = &principal.operator;
    let profile = operators::profile(store, operator).await?;
    let domains = operators::sender_domains(store, operator).await?;
    let origins: Vec<String> = operators::embed_origins(store, operator)
        .await?
        .iter()
        .map(|o| o.as_str().to_owned())
        .collect();
    Ok(Page::new(
        "console/settings.html",
        context! {
            console => frame(store, principal, "/console/settings").await,
            operator => context! { name => profile.name, email => profile.email },
            domains => domains,
            mail_from => typed.mail_from.unwrap_or_else(|| profile.mail_from.unwrap_or_default()),
            reply_to => typed.reply_to.unwrap_or_else(|| profile.reply_to.unwrap_or_default()),
            origins => typed.origins.unwrap_or_else(|| origins.join("\n")),
            sender_key => once::new_key(),
            origins_key => once::new_key(),
            notice_key => notice.filter(|n| NOTICES.contains(n)).map(notice_key),
            errors => problems,
        },
    )
    .refused_if(!problems.is_empty()))
}

/// `GET /console/settings`: the operator's sender and widget settings. Owners.
#[get("/console/settings?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: Console<Owner>,
    notice: Option<&str>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    render(store, &user.0, notice, Typed::default(), Problems::new()).await
}

#[derive(FromForm)]
pub struct SenderForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    mail_from: String,
    #[field(default = String::new())]
    reply_to: String,
}

/// An empty field clears the setting, as `null` does on the API.
fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// `POST /console/settings/sender`: who traveler emails come from and where replies go, as
/// `PATCH /v1/operator`. A refusal shows the form again with what was typed.
#[post("/console/settings/sender", data = "<form>")]
pub async fn sender(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<SenderForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let f = form.0;
    let scope = format!("console:{}:settings", principal.operator);
    let fields = format!("sender:{}:{}", f.mail_from.trim(), f.reply_to.trim());
    let done = once::once(store, config, now, &scope, &f.form_key, &fields, || async {
        let (from, reply) = (optional(&f.mail_from), optional(&f.reply_to));
        operators::set_mail_identity(store, now, &principal, from, reply).await?;
        Ok("/console/settings?notice=sender".to_owned())
    })
    .await;
    match done {
        Ok(location) => Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(problems)) => {
            let typed = Typed {
                mail_from: Some(f.mail_from.clone()),
                reply_to: Some(f.reply_to.clone()),
                origins: None,
            };
            Ok(Either::Right(
                render(store, &principal, None, typed, problems).await?,
            ))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(FromForm)]
pub struct OriginsForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    origins: String,
}

/// `POST /console/settings/origins`: the sites that may frame the booking pages, one per line,
/// as `PUT /v1/operator/embed-origins`; an empty box stops all framing.
#[post("/console/settings/origins", data = "<form>")]
pub async fn origins(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<OriginsForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let f = form.0;
    let list: Vec<String> = f.origins.split_whitespace().map(str::to_owned).collect();
    let scope = format!("console:{}:settings", principal.operator);
    let fields = format!("origins:{}", list.join(" "));
    let done = once::once(store, config, now, &scope, &f.form_key, &fields, || async {
        operators::set_embed_origins(store, now, &principal, &list).await?;
        Ok("/console/settings?notice=origins".to_owned())
    })
    .await;
    match done {
        Ok(location) => Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(problems)) => {
            let typed = Typed {
                origins: Some(f.origins.clone()),
                ..Typed::default()
            };
            Ok(Either::Right(
                render(store, &principal, None, typed, problems).await?,
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// Entries per page of the audit log.
const AUDIT_PAGE: u32 = 50;

/// `GET /console/audit?before=…`: what the operator's users and tokens did, newest first, 50 at
/// a time. Admins, as `GET /v1/audit`.
#[get("/console/audit?<before>")]
pub async fn audit_log(
    _rate: RateLimited,
    user: Console<Admin>,
    before: Option<&str>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let principal = user.0;
    // A `before` that is not an entry id starts from the newest, rather than failing.
    let before = before.filter(|b| ulid::Ulid::from_string(b).is_ok());
    let entries = audit::list(store, &principal.operator, before, AUDIT_PAGE).await?;
    let next = (entries.len() == AUDIT_PAGE as usize)
        .then(|| entries.last().map(|e| e.id.clone()))
        .flatten();
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            context! {
                at => e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                actor => e.actor, action => e.action, target => e.target, detail => e.detail,
                booking => e.target.strip_prefix("booking:"),
            }
        })
        .collect();
    Ok(Page::new(
        "console/audit.html",
        context! {
            console => frame(store, &principal, "/console/audit").await,
            entries => rows,
            next => next,
        },
    ))
}
