//! Webhooks in the console (admins, as `/v1/webhook-endpoints`): the operator's endpoints with
//! their state and latest attempts, registering one (the signing secret shown once, on the page
//! that made it), enabling and disabling, a test event, a new secret, deleting. Each change is
//! the API's service function, run once per rendered form.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, State};

use super::{frame, Console};
use crate::domain::webhook::EventType;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::Admin;
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::webhooks::{self, EndpointInput, Webhooks};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

/// The notices a change leads to (each a catalogue key `console-webhooks-notice-…`).
pub const NOTICES: [&str; 4] = ["enabled", "disabled", "test", "deleted"];

/// Attempts shown per endpoint (the API pages through the rest).
const RECENT_ATTEMPTS: i64 = 5;

/// The registration form as typed, or a secret just made.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    url: String,
    description: String,
    types: Vec<String>,
    problems: BTreeMap<String, String>,
    /// (the endpoint, its new secret): shown on this page only.
    secret: Option<(String, String)>,
}

fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn render(store: &Store, principal: &Principal, shown: Shown) -> Result<Page, WebError> {
    let mut endpoints = Vec::new();
    for endpoint in webhooks::list(store, principal).await? {
        let attempts: Vec<Value> = webhooks::attempts(
            store,
            principal,
            endpoint.id.as_str(),
            None,
            Some(RECENT_ATTEMPTS),
        )
        .await?
        .into_iter()
        .map(|a| {
            context! {
                at => time(a.attempted_at), event => a.event_type, status => a.status_code,
                latency => a.latency_ms, error => a.error, ok => a.error.is_none(),
            }
        })
        .collect();
        let types: Vec<&str> = endpoint.event_types.iter().map(|t| t.as_str()).collect();
        endpoints.push(context! {
            id => endpoint.id.as_str(), url => endpoint.url, description => endpoint.description,
            types => types.join(", "), enabled => endpoint.enabled,
            failing => endpoint.disabled_reason.as_deref() == Some("failing"),
            failing_since => endpoint.failing_since.map(time),
            mask => endpoint.secret_mask, attempts => attempts,
            form_key => once::new_key(),
        });
    }
    let types: Vec<Value> = EventType::SUBSCRIBABLE
        .iter()
        .map(|t| {
            let value = t.as_str();
            context! { value => value, checked => shown.types.iter().any(|c| c == value) }
        })
        .collect();
    Ok(Page::new(
        "console/webhooks.html",
        context! {
            console => frame(store, principal, "/console/webhooks").await,
            endpoints => endpoints,
            types => types,
            url => shown.url,
            description => shown.description,
            create_key => once::new_key(),
            notice_key => shown.notice.map(|n| format!("console-webhooks-notice-{n}")),
            secret => shown.secret.map(|(id, secret)| context! { id => id, secret => secret }),
            errors => shown.problems.clone(),
        },
    )
    .refused_if(!shown.problems.is_empty()))
}

/// `GET /console/webhooks`: the operator's endpoints and the registration form.
#[get("/console/webhooks?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: Console<Admin>,
    notice: Option<&str>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let shown = Shown {
        notice: notice.filter(|n| NOTICES.contains(n)).map(str::to_owned),
        ..Shown::default()
    };
    render(store, &user.0, shown).await
}

#[derive(FromForm)]
pub struct EndpointForm {
    #[field(default = String::new())]
    url: String,
    #[field(default = String::new())]
    description: String,
    #[field(default = Vec::new())]
    event_types: Vec<String>,
}

/// `POST /console/webhooks`: registers an endpoint, as `POST /v1/webhook-endpoints`. The secret
/// is on the page this answers and never again (the page is not stored); a refusal shows the
/// form again with what was typed and the field marked.
#[post("/console/webhooks", data = "<form>")]
pub async fn create(
    _rate: RateLimited,
    user: Console<Admin>,
    form: CsrfForm<EndpointForm>,
    ctx: Ctx<'_>,
    senders: &State<Arc<Webhooks>>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let f = form.0;
    let input = EndpointInput {
        url: Some(f.url.clone()),
        description: Some(f.description.clone()),
        event_types: Some(f.event_types.clone()),
        enabled: Some(true),
    };
    let shown = match webhooks::create(ctx.store, senders, ctx.now(), &principal, input).await {
        Ok((endpoint, secret)) => Shown {
            secret: Some((endpoint.id.to_string(), secret)),
            ..Shown::default()
        },
        Err(AppError::Validation(problems)) => Shown {
            url: f.url,
            description: f.description,
            types: f.event_types,
            problems,
            ..Shown::default()
        },
        Err(other) => return Err(other.into()),
    };
    render(ctx.store, &principal, shown).await
}

#[derive(FromForm)]
pub struct ActionForm {
    #[field(default = String::new())]
    form_key: String,
}

/// Runs one change of an endpoint once per rendered form, then back to the list.
async fn act<F, Fut>(
    ctx: Ctx<'_>,
    principal: &Principal,
    form: &ActionForm,
    (action, id): (&str, &str),
    run: F,
) -> Result<Redirect, WebError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    let scope = format!("console:{}:webhooks", principal.operator);
    let fields = format!("{action}:{id}");
    let location = once::once(
        ctx.store,
        ctx.config,
        ctx.now(),
        &scope,
        &form.form_key,
        &fields,
        || async {
            run().await?;
            Ok(format!("/console/webhooks?notice={action}"))
        },
    )
    .await?;
    Ok(Redirect::to(location))
}

/// `POST /console/webhooks/<id>/<action>`: `enabled`, `disabled` (as `PATCH … {"enabled"}`),
/// `test`, `deleted`.
#[post("/console/webhooks/<id>/<action>", data = "<form>", rank = 2)]
pub async fn change(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    action: &str,
    form: CsrfForm<ActionForm>,
    ctx: Ctx<'_>,
    senders: &State<Arc<Webhooks>>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, now) = (ctx.store, ctx.now());
    let by = &principal;
    act(ctx, by, &form.0, (action, id), || async move {
        match action {
            "enabled" | "disabled" => {
                let input = EndpointInput {
                    enabled: Some(action == "enabled"),
                    ..EndpointInput::default()
                };
                webhooks::update(store, senders, now, by, id, input).await?;
            }
            "test" => {
                webhooks::send_test(store, now, by, id).await?;
            }
            "deleted" => webhooks::delete(store, now, by, id).await?,
            _ => return Err(AppError::NotFound),
        }
        Ok(())
    })
    .await
}

/// `POST /console/webhooks/<id>/secret`: a new signing secret, shown on the page this answers
/// only; the previous one keeps signing for 24 hours.
#[post("/console/webhooks/<id>/secret", data = "<_form>", rank = 1)]
pub async fn rotate(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    _form: CsrfForm<ActionForm>,
    ctx: Ctx<'_>,
    senders: &State<Arc<Webhooks>>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let (secret, _) =
        webhooks::rotate_secret(ctx.store, senders, ctx.now(), &principal, id).await?;
    let shown = Shown {
        secret: Some((id.to_owned(), secret)),
        ..Shown::default()
    };
    render(ctx.store, &principal, shown).await
}
