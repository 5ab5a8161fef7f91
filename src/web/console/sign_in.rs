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
        context! { form => context! { step => step, email => email, problem => problem, seconds => seconds } },
    )
}

/// `GET /console/sign-in`; a signed-in user goes straight to the console.
#[get("/console/sign-in")]
pub async fn page(_rate: RateLimited, user: MaybeSignedIn) -> Either<Page, Redirect> {
    match user.0 {
        Some(_) => Either::Right(Redirect::to("/console")),
        None => Either::Left(form("password", "", None, 0)),
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
