//! Signing in to the console (password, then a TOTP or recovery code when the user has two-factor
//! sign-in) and out (this session, or every session of the user). The service functions are the
//! API's: the same lockout, throttling and 2FA rules.

use minijinja::context;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::session::{Cookies, MaybeSignedIn, Slot};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::http::rate_limit::{ClientIp, RateLimited};
use crate::service::auth::{self, LoginOutcome, LoginThrottle};
use crate::service::passwords::Argon2Gate;
use crate::storage::Store;
use crate::web::{CsrfForm, Page, WebError};

#[derive(FromForm)]
pub struct Credentials {
    email: String,
    password: String,
}

#[derive(FromForm)]
pub struct Code {
    code: String,
}

#[derive(FromForm)]
pub struct SignOut {
    everywhere: bool,
}

/// The sign-in page, with what went wrong (a catalogue key) and the email typed kept.
fn form(step: &str, email: &str, problem: Option<&str>, seconds: u64) -> Page {
    Page::new(
        "console/sign_in.html",
        context! { form => context! { step => step, email => email, problem => problem, seconds => seconds }, reset_done => false },
    )
}

/// `GET /console/sign-in`; a signed-in user goes straight to the console. `?notice=reset`: after
/// a password reset, says the new password works now.
#[get("/console/sign-in?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: MaybeSignedIn,
    notice: Option<&str>,
) -> Either<Page, Redirect> {
    match user.0 {
        Some(_) => Either::Right(Redirect::to("/console")),
        None => Either::Left(Page::new(
            "console/sign_in.html",
            context! {
                form => context! { step => "password", email => "", problem => (), seconds => 0 },
                reset_done => notice == Some("reset"),
            },
        )),
    }
}

/// The password-reset pages: `request` (the email) or `confirm` (the code and a new password),
/// with what was typed kept (never a password) and each problem beside its field.
fn reset_page(step: &str, email: &str, code: &str, problems: &crate::error::FieldErrors) -> Page {
    Page::new(
        "console/reset.html",
        context! { step => step, email => email, code => code, errors => problems },
    )
    .refused_if(!problems.is_empty())
}

/// `GET /console/sign-in/reset`: asks for the email a reset code goes to.
#[get("/console/sign-in/reset")]
pub async fn reset(_rate: RateLimited) -> Page {
    reset_page("request", "", "", &Default::default())
}

#[derive(FromForm)]
pub struct ResetRequest {
    #[field(default = String::new())]
    email: String,
}

/// `POST /console/sign-in/reset`: emails a code (15 minutes, single use) if the address is a
/// user's, as `POST /v1/auth/password-reset`; the answer is the same either way.
#[post("/console/sign-in/reset", data = "<form>")]
pub async fn reset_request(
    _rate: RateLimited,
    form: CsrfForm<ResetRequest>,
    store: &State<Store>,
    config: &State<AppConfig>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let email = form.0.email.trim().to_owned();
    auth::request_password_reset(store, config, clock.now(), &email).await?;
    Ok(reset_page("confirm", &email, "", &Default::default()))
}

#[derive(FromForm)]
pub struct ResetConfirm {
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    code: String,
    #[field(default = String::new())]
    new_password: String,
}

/// `POST /console/sign-in/reset/confirm`: the emailed code and a new password, as
/// `POST /v1/auth/password-reset/confirm` (every session of the user ends); then to the sign-in
/// page.
#[post("/console/sign-in/reset/confirm", data = "<form>")]
pub async fn reset_confirm(
    _rate: RateLimited,
    form: CsrfForm<ResetConfirm>,
    store: &State<Store>,
    config: &State<AppConfig>,
    clock: &State<Clock>,
    gate: &State<Argon2Gate>,
) -> Result<Either<Redirect, Page>, WebError> {
    let f = form.0;
    let done = auth::confirm_password_reset(
        store,
        config,
        gate,
        clock.now(),
        &f.email,
        &f.code,
        &f.new_password,
    )
    .await;
    match done {
        Ok(()) => Ok(Either::Left(Redirect::to("/console/sign-in?notice=reset"))),
        Err(AppError::Validation(problems)) => Ok(Either::Right(reset_page(
            "confirm", &f.email, &f.code, &problems,
        ))),
        Err(other) => Err(other.into()),
    }
}

/// `POST /console/sign-in`: email and password.
#[expect(
    clippy::too_many_arguments,
    reason = "Rocket injects each guard and state separately"
)]
#[post("/console/sign-in", data = "<credentials>")]
pub async fn submit(
    _rate: RateLimited,
    client: ClientIp,
    credentials: CsrfForm<Credentials>,
    cookies: Cookies<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
    throttle: &State<LoginThrottle>,
    gate: &State<Argon2Gate>,
) -> Result<Either<Page, Redirect>, WebError> {
    let Credentials { email, password } = credentials.0;
    let outcome = auth::login(
        store,
        config,
        throttle,
        gate,
        clock.now(),
        client.0,
        &email,
        &password,
    )
    .await;
    match outcome {
        Ok(LoginOutcome::Session(tokens)) => {
            cookies.start(&tokens);
            Ok(Either::Right(Redirect::to("/console")))
        }
        Ok(LoginOutcome::SecondFactor { mfa_token, .. }) => {
            cookies.set(Slot::SecondFactor, mfa_token);
            Ok(Either::Left(form("code", &email, None, 0)))
        }
        Err(AppError::Unauthorized) => Ok(Either::Left(
            form("password", &email, Some("console-sign-in-failed"), 0)
                .status(Status::Unauthorized),
        )),
        Err(AppError::TooManyAttempts { retry_after }) => {
            let seconds = u64::try_from(retry_after).unwrap_or(1);
            Ok(Either::Left(
                form(
                    "password",
                    &email,
                    Some("console-sign-in-throttled"),
                    seconds,
                )
                .status(Status::TooManyRequests),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /console/sign-in/code`: the second step. One try per password step, as in the API.
#[post("/console/sign-in/code", data = "<code>")]
pub async fn second_factor(
    _rate: RateLimited,
    code: CsrfForm<Code>,
    cookies: Cookies<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<Either<Page, Redirect>, WebError> {
    let Some(mfa_token) = cookies.get(Slot::SecondFactor) else {
        return Ok(Either::Right(Redirect::to("/console/sign-in")));
    };
    match auth::verify_second_factor(store, config, clock.now(), &mfa_token, code.0.code.trim())
        .await
    {
        Ok(tokens) => {
            cookies.start(&tokens);
            Ok(Either::Right(Redirect::to("/console")))
        }
        Err(AppError::Unauthorized) => {
            cookies.clear(Slot::SecondFactor);
            Ok(Either::Left(
                form("password", "", Some("console-code-failed"), 0).status(Status::Unauthorized),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /console/sign-out`: ends this session, or with `everywhere` every session of the user.
#[post("/console/sign-out", data = "<choice>")]
pub async fn sign_out(
    _rate: RateLimited,
    choice: CsrfForm<SignOut>,
    user: MaybeSignedIn,
    cookies: Cookies<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Redirect, WebError> {
    if let Some(principal) = user.0 {
        if choice.0.everywhere {
            auth::logout_everywhere(store, clock.now(), &principal).await?;
        } else {
            auth::logout(store, clock.now(), &principal).await?;
        }
    }
    cookies.end();
    Ok(Redirect::to("/console/sign-in"))
}
