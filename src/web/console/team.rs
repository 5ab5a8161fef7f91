//! The team in the console (owners, as `/v1/users` and `/v1/tokens`): the operator's users,
//! adding one, changing a role, deactivating, turning off a lost second factor, requiring
//! two-factor sign-in for everyone; and the API tokens, made with a label and a role (the token
//! shown once, on the page that made it) and revoked; and the resellers (as `/v1/resellers`),
//! made with a commission and the tours they may sell (the OCTO key shown once) and revoked. Each change is the API's service function
//! with its rules (the last owner stays), run once per rendered form.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::{frame, role_key, Console};
use crate::clock::Clock;
use crate::domain::auth::Role;
use crate::domain::reseller::NewReseller as ResellerDraft;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::Owner;
use crate::http::rate_limit::RateLimited;
use crate::service::auth::{self, Principal, UserChange, UserDraft};
use crate::service::passwords::Argon2Gate;
use crate::service::{catalogue, operators, resellers};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

type Problems = BTreeMap<String, String>;

/// The notices a change leads to (each a catalogue key `console-team-notice-…`).
pub const NOTICES: [&str; 8] = [
    "added",
    "role",
    "deactivated",
    "two-factor-reset",
    "required",
    "not-required",
    "revoked",
    "reseller-revoked",
];

pub fn notice_key(notice: &str) -> String {
    format!("console-team-notice-{notice}")
}

/// The new-user form as typed (never the password).
#[derive(Default, serde::Serialize)]
struct NewUser {
    name: String,
    email: String,
    role: String,
}

/// What the page shows besides the team: a notice, a refused form with its problems, a token
/// just made.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    new_user: NewUser,
    problems: Problems,
    token_label: String,
    new_token: Option<String>,
    new_reseller: NewReseller,
    new_reseller_key: Option<String>,
}

/// The new-reseller form as typed.
#[derive(Default, serde::Serialize)]
struct NewReseller {
    name: String,
    commission_percent: String,
    tours: Vec<String>,
}

async fn render(store: &Store, principal: &Principal, shown: Shown) -> Result<Page, WebError> {
    let users: Vec<Value> = auth::list_users(store, &principal.operator)
        .await?
        .into_iter()
        .map(|u| {
            context! {
                id => u.id.as_str(), name => u.name, email => u.email, role => u.role.as_str(),
                role_key => role_key(u.role), two_factor => u.two_factor, active => u.active,
                form_key => once::new_key(),
            }
        })
        .collect();
    let tokens: Vec<Value> = operators::list_tokens(store, &principal.operator)
        .await?
        .into_iter()
        .map(|t| {
            context! {
                id => t.id, label => t.label, role_key => format!("role-{}", t.role),
                created => t.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                revoked => t.revoked_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
                form_key => once::new_key(),
            }
        })
        .collect();
    let resellers: Vec<Value> = resellers::list(store, principal)
        .await?
        .into_iter()
        .map(|r| {
            context! {
                id => r.id.as_str(), name => r.name, commission => r.commission_percent,
                tours => r.tours.len(),
                created => r.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                revoked => r.revoked_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
                form_key => once::new_key(),
            }
        })
        .collect();
    let tours: Vec<Value> = catalogue::list_tours(store, &principal.operator)
        .await?
        .into_iter()
        .filter(|t| t.archived_at.is_none())
        .map(|t| context! { id => t.id.as_str(), name => t.tour.name })
        .collect();
    let roles: Vec<Value> = Role::ALL
        .into_iter()
        .map(|r| context! { value => r.as_str(), key => role_key(r) })
        .collect();
    let required = auth::two_factor_required(store, &principal.operator).await?;
    Ok(Page::new(
        "console/team.html",
        context! {
            console => frame(store, principal, "/console/team").await,
            users => users,
            tokens => tokens,
            roles => roles,
            two_factor_required => required,
            // Each form has a key of its own: one page can send several of them.
            add_key => once::new_key(),
            require_key => once::new_key(),
            notice_key => shown.notice.as_deref().map(notice_key),
            new_user => Value::from_serialize(&shown.new_user),
            token_label => shown.token_label,
            new_token => shown.new_token,
            resellers => resellers,
            tours => tours,
            new_reseller => Value::from_serialize(&shown.new_reseller),
            new_reseller_key => shown.new_reseller_key,
            errors => shown.problems,
        },
    )
    .refused_if(!shown.problems.is_empty()))
}

/// `GET /console/team`: the operator's users and API tokens. Owners only.
#[get("/console/team?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: Console<Owner>,
    notice: Option<&str>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let shown = Shown {
        notice: notice.filter(|n| NOTICES.contains(n)).map(str::to_owned),
        ..Shown::default()
    };
    render(store, &user.0, shown).await
}

/// The team page again, with `notice` shown.
fn back_with(notice: &str) -> String {
    format!("/console/team?notice={notice}")
}

/// Where a team change leads: the team page with its notice, or the page again with the
/// problems `shown` makes of a refusal.
async fn settle(
    store: &Store,
    principal: &Principal,
    done: Result<String, AppError>,
    shown: impl FnOnce(Problems) -> Shown,
) -> Result<Either<Redirect, Page>, WebError> {
    match done {
        Ok(location) => Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(problems)) => Ok(Either::Right(
            render(store, principal, shown(problems)).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(FromForm)]
pub struct AddUserForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    role: String,
    #[field(default = String::new())]
    password: String,
}

/// `POST /console/team/users`: adds a user with a first password the owner hands over, as
/// `POST /v1/users`. A refusal shows the form again with what was typed (never the password).
#[post("/console/team/users", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn add_user(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<AddUserForm>,
    ctx: Ctx<'_>,
    gate: &State<Argon2Gate>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, now) = (ctx.store, ctx.now());
    let f = form.0;
    let fields = format!("add:{}:{}:{}", f.email.trim(), f.name.trim(), f.role);
    let done = once::for_operator(
        ctx,
        &principal,
        ("team", &f.form_key, &fields),
        back_with("added"),
        || async {
            let draft = UserDraft {
                email: &f.email,
                name: &f.name,
                role: &f.role,
                password: &f.password,
            };
            auth::create_user(store, gate, now, &principal, draft).await?;
            Ok(())
        },
    )
    .await;
    settle(store, &principal, done, |problems| Shown {
        new_user: NewUser {
            name: f.name.clone(),
            email: f.email.clone(),
            role: f.role.clone(),
        },
        problems: problems
            .into_iter()
            .map(|(field, message)| (format!("user_{field}"), message))
            .collect(),
        ..Shown::default()
    })
    .await
}

#[derive(FromForm)]
pub struct UserForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    role: String,
}

/// `POST /console/team/users/<id>/<what>`: `role` (with the new role), `deactivate` or
/// `two-factor-reset`, as `PATCH /v1/users/{id}` and its siblings. The last active owner can be
/// neither demoted nor deactivated: the page says so.
#[post("/console/team/users/<id>/<what>", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn change_user(
    _rate: RateLimited,
    user: Console<Owner>,
    id: &str,
    what: &str,
    form: CsrfForm<UserForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, now) = (ctx.store, ctx.now());
    let f = form.0;
    let (change_to, notice) = match what {
        "role" => (
            UserChange::Role(
                f.role
                    .parse::<Role>()
                    .map_err(|e: String| AppError::invalid("role", e))?,
            ),
            "role",
        ),
        "deactivate" => (UserChange::Deactivate, "deactivated"),
        "two-factor-reset" => (UserChange::ResetTwoFactor, "two-factor-reset"),
        _ => return Err(AppError::NotFound.into()),
    };
    let fields = format!("{what}:{id}:{}", f.role);
    let done = once::for_operator(
        ctx,
        &principal,
        ("team", &f.form_key, &fields),
        back_with(notice),
        || async {
            auth::change_user(store, now, &principal, id, change_to).await?;
            Ok(())
        },
    )
    .await;
    settle(store, &principal, done, |problems| Shown {
        problems: problems
            .into_values()
            .map(|message| ("team".to_owned(), message))
            .collect(),
        ..Shown::default()
    })
    .await
}

#[derive(FromForm)]
pub struct RequireForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = false)]
    required: bool,
}

/// `POST /console/team/two-factor`: every user of the operator must (or need not) sign in with a
/// second factor, as `PUT /v1/operator/require-2fa`.
#[post("/console/team/two-factor", data = "<form>")]
pub async fn require_two_factor(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<RequireForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, now) = (ctx.store, ctx.now());
    let f = form.0;
    let notice = if f.required {
        "required"
    } else {
        "not-required"
    };
    let location = once::for_operator(
        ctx,
        &principal,
        ("team", &f.form_key, notice),
        back_with(notice),
        || async { auth::require_two_factor(store, now, &principal, f.required).await },
    )
    .await?;
    Ok(Redirect::to(location))
}

#[derive(FromForm)]
pub struct TokenForm {
    #[field(default = String::new())]
    label: String,
    #[field(default = String::new())]
    role: String,
}

/// `POST /console/team/tokens`: a new API token with a label and a role, as `POST /v1/tokens`.
/// The token is on the page this answers, and never again: the page is not stored, and a reload
/// asks before posting again (a new token, as with the API, whose token answers are never
/// replayed).
#[post("/console/team/tokens", data = "<form>")]
pub async fn create_token(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<TokenForm>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let f = form.0;
    let made = match f.role.parse::<Role>() {
        Ok(role) => operators::create_token(store, clock.now(), &principal, &f.label, role).await,
        Err(message) => Err(AppError::invalid("role", message)),
    };
    let shown = match made {
        Ok((_, token)) => Shown {
            new_token: Some(token),
            ..Shown::default()
        },
        Err(AppError::Validation(problems)) => Shown {
            token_label: f.label.clone(),
            problems: prefixed(problems, "token_"),
            ..Shown::default()
        },
        Err(other) => return Err(other.into()),
    };
    render(store, &principal, shown).await
}

#[derive(FromForm)]
pub struct RevokeForm {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/team/tokens/<id>/revoke`: revokes an API token at once, as
/// `DELETE /v1/tokens/{id}`.
#[post("/console/team/tokens/<id>/revoke", data = "<form>")]
pub async fn revoke_token(
    _rate: RateLimited,
    user: Console<Owner>,
    id: &str,
    form: CsrfForm<RevokeForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, now) = (ctx.store, ctx.now());
    revoke(
        ctx,
        &principal,
        &form.0,
        ("revoke", id),
        "revoked",
        || async { operators::revoke_token(store, now, &principal, id).await },
    )
    .await
}

/// Revokes one of the operator's keys (an API token, a reseller) once per rendered form, then
/// back to the team page with `notice`.
async fn revoke<F, Fut>(
    ctx: Ctx<'_>,
    principal: &Principal,
    form: &RevokeForm,
    (what, id): (&str, &str),
    notice: &str,
    run: F,
) -> Result<Redirect, WebError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    let fields = format!("{what}:{id}");
    let location = once::for_operator(
        ctx,
        principal,
        ("team", &form.form_key, &fields),
        back_with(notice),
        run,
    )
    .await?;
    Ok(Redirect::to(location))
}

/// A refused form's problems under the names its fields have on the page (`token_label`).
fn prefixed(problems: Problems, prefix: &str) -> Problems {
    problems
        .into_iter()
        .map(|(field, message)| (format!("{prefix}{field}"), message))
        .collect()
}

/// Field names carry a `reseller_` prefix: the page's add-user form has a `name` too.
#[derive(FromForm)]
pub struct ResellerForm {
    #[field(default = String::new())]
    reseller_name: String,
    #[field(default = String::new())]
    reseller_commission_percent: String,
    #[field(default = Vec::new())]
    reseller_tours: Vec<String>,
}

/// `POST /console/team/resellers`: a new reseller, as `POST /v1/resellers`. Its OCTO key is on
/// the page this answers, and never again (as with API tokens).
#[post("/console/team/resellers", data = "<form>")]
pub async fn create_reseller(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<ResellerForm>,
    ctx: Ctx<'_>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let f = form.0;
    let commission = f.reseller_commission_percent.trim();
    let percent = match commission.parse::<i64>() {
        Ok(percent) => Ok(Some(percent)),
        Err(_) if commission.is_empty() => Ok(None),
        Err(_) => Err(AppError::invalid(
            "commission_percent",
            "must be a whole percent from 0 to 100",
        )),
    };
    let made = match percent
        .and_then(|percent| ResellerDraft::parse(&f.reseller_name, percent, &f.reseller_tours))
    {
        Ok(draft) => resellers::create(ctx.store, ctx.now(), &principal, draft).await,
        Err(error) => Err(error),
    };
    let shown = match made {
        Ok((_, key)) => Shown {
            new_reseller_key: Some(key),
            ..Shown::default()
        },
        Err(AppError::Validation(problems)) => Shown {
            new_reseller: NewReseller {
                name: f.reseller_name.clone(),
                commission_percent: f.reseller_commission_percent.clone(),
                tours: f.reseller_tours.clone(),
            },
            problems: prefixed(problems, "reseller_"),
            ..Shown::default()
        },
        Err(other) => return Err(other.into()),
    };
    render(ctx.store, &principal, shown).await
}

/// `POST /console/team/resellers/<id>/revoke`: revokes a reseller's key at once, as
/// `DELETE /v1/resellers/{id}`.
#[post("/console/team/resellers/<id>/revoke", data = "<form>")]
pub async fn revoke_reseller(
    _rate: RateLimited,
    user: Console<Owner>,
    id: &str,
    form: CsrfForm<RevokeForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, now) = (ctx.store, ctx.now());
    let what = ("revoke-reseller", id);
    revoke(
        ctx,
        &principal,
        &form.0,
        what,
        "reseller-revoked",
        || async { resellers::revoke(store, now, &principal, id).await },
    )
    .await
}
