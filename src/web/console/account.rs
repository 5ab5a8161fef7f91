//! The signed-in user's own account in the console (every role): change the password, and turn
//! on two-factor sign-in from a QR code rendered here as SVG (the `otpauth://` URI of
//! `POST /v1/auth/2fa/setup`, with the secret in text for apps that cannot scan), confirmed with
//! a code from the app; the recovery codes are then shown once. The API's service functions do
//! the work, with the same rules (a wrong current password counts toward the lockout).

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::{frame, Enrolling};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::http::rate_limit::RateLimited;
use crate::service::auth::{self, Actor, Principal};
use crate::service::passwords::Argon2Gate;
use crate::storage::Store;
use crate::web::{CsrfForm, Page, WebError};

/// What the account page shows besides the user: a form refused (its problems by field), the
/// enrolment in progress (secret and QR), or the recovery codes just made.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    problems: std::collections::BTreeMap<String, String>,
    enrolment: Option<(String, String)>,
    recovery_codes: Vec<String>,
}

/// The QR code of `uri` as an SVG image, dark on light, for the page to embed.
fn qr_svg(uri: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

async fn render(store: &Store, principal: &Principal, shown: Shown) -> Result<Page, WebError> {
    let Actor::User { user, .. } = &principal.actor else {
        return Err(AppError::Forbidden.into());
    };
    let me = auth::user(store, &principal.operator, user.as_str()).await?;
    let enrolment = match &shown.enrolment {
        Some((secret, uri)) => {
            Some(context! { secret => secret, qr => Value::from_safe_string(qr_svg(uri)?) })
        }
        None => None,
    };
    Ok(Page::new(
        "console/account.html",
        context! {
            console => frame(store, principal, "/console/account").await,
            me => context! { email => me.email, name => me.name, role_key => super::role_key(me.role), two_factor => me.two_factor },
            notice => shown.notice,
            errors => shown.problems,
            enrolment => enrolment,
            recovery_codes => shown.recovery_codes,
        },
    )
    .refused_if(!shown.problems.is_empty()))
}

/// The domain's validation problems (or a lockout) as the form's; anything else is an error.
fn problems(error: AppError) -> Result<std::collections::BTreeMap<String, String>, AppError> {
    match error {
        AppError::Validation(fields) => Ok(fields),
        AppError::TooManyAttempts { retry_after } => Ok([(
            "current_password".to_owned(),
            format!("Too many wrong passwords: try again in {retry_after} seconds."),
        )]
        .into()),
        other => Err(other),
    }
}

/// `GET /console/account`: the user's account. Every role, and a user who must first turn on
/// two-factor sign-in (every other console page leads them here).
#[get("/console/account?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: Enrolling,
    notice: Option<&str>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let shown = Shown {
        notice: notice.map(str::to_owned),
        ..Shown::default()
    };
    render(store, &user.0, shown).await
}

#[derive(FromForm)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /console/account/password`: as `POST /v1/auth/password`; the user's other sessions end.
#[post("/console/account/password", data = "<form>")]
pub async fn change_password(
    _rate: RateLimited,
    user: Enrolling,
    form: CsrfForm<PasswordChange>,
    store: &State<Store>,
    gate: &State<Argon2Gate>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let PasswordChange {
        current_password,
        new_password,
    } = form.0;
    let changed = auth::change_password(
        store,
        gate,
        clock.now(),
        &principal,
        &current_password,
        &new_password,
    )
    .await;
    match changed {
        Ok(()) => Ok(Either::Left(Redirect::to(
            "/console/account?notice=password",
        ))),
        Err(error) => {
            let shown = Shown {
                problems: problems(error)?,
                ..Shown::default()
            };
            Ok(Either::Right(render(store, &principal, shown).await?))
        }
    }
}

/// The set-up form carries nothing but its CSRF token.
#[derive(FromForm)]
pub struct Nothing {
    #[field(default = String::new())]
    _nothing: String,
}

/// `POST /console/account/two-factor`: starts enrolment (a new pending secret, as
/// `POST /v1/auth/2fa/setup`) and shows its QR code and the form for the first code.
#[post("/console/account/two-factor", data = "<form>")]
pub async fn start_two_factor(
    _rate: RateLimited,
    user: Enrolling,
    form: CsrfForm<Nothing>,
    store: &State<Store>,
    config: &State<AppConfig>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let CsrfForm(Nothing { .. }) = form;
    let principal = user.0;
    let shown = match auth::setup_two_factor(store, config, clock.now(), &principal).await {
        Ok(enrolment) => Shown {
            enrolment: Some(enrolment),
            ..Shown::default()
        },
        Err(error) => Shown {
            problems: problems(error)?,
            ..Shown::default()
        },
    };
    render(store, &principal, shown).await
}

#[derive(FromForm)]
pub struct Confirmation {
    code: String,
}

/// `POST /console/account/two-factor/confirm`: the app's first code turns two-factor sign-in on
/// (as `POST /v1/auth/2fa/confirm`); the recovery codes are shown once, on this answer only.
#[post("/console/account/two-factor/confirm", data = "<form>")]
pub async fn confirm_two_factor(
    _rate: RateLimited,
    user: Enrolling,
    form: CsrfForm<Confirmation>,
    store: &State<Store>,
    config: &State<AppConfig>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let code = form.0.code.trim().to_owned();
    let shown = match auth::confirm_two_factor(store, config, clock.now(), &principal, &code).await
    {
        Ok(recovery_codes) => Shown {
            recovery_codes,
            ..Shown::default()
        },
        Err(error) => Shown {
            problems: problems(error)?,
            ..Shown::default()
        },
    };
    render(store, &principal, shown).await
}
