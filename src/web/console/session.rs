//! The console's session: the API's own sessions (`service::auth`), carried in cookies instead
//! of an `Authorization` header, so no token is ever readable by the page's scripts.
//!
//! Three cookies, all `HttpOnly`, `SameSite=Strict`, `Path=/`, and in release `Secure` with the
//! `__Host-` prefix (no subdomain can set or shadow them):
//! - the session's access token, sent with every console request;
//! - its refresh token, traded for a new pair when the access token has expired, so a user stays
//!   signed in until the session's idle timeout (`BERTH_SESSION_IDLE_HOURS`) or sign-out;
//! - during a two-factor sign-in, the five-minute token between the password and the code.

use std::marker::PhantomData;

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

use crate::clock::Clock;
use crate::config::AppConfig;
use crate::http::guards::RoleLevel;
use crate::service::auth::{self, Actor, Principal, SessionTokens};
use crate::storage::Store;

/// Which cookie holds what.
#[derive(Clone, Copy)]
pub enum Slot {
    Access,
    Refresh,
    SecondFactor,
}

fn is_release(request: &Request<'_>) -> bool {
    request.rocket().figment().profile() == rocket::Config::RELEASE_PROFILE
}

impl Slot {
    fn name(self, release: bool) -> &'static str {
        match (self, release) {
            (Slot::Access, true) => "__Host-berth_session",
            (Slot::Access, false) => "berth_session",
            (Slot::Refresh, true) => "__Host-berth_refresh",
            (Slot::Refresh, false) => "berth_refresh",
            (Slot::SecondFactor, true) => "__Host-berth_mfa",
            (Slot::SecondFactor, false) => "berth_mfa",
        }
    }
}

/// The console's cookies of one request (a request guard).
pub struct Cookies<'a> {
    jar: &'a CookieJar<'a>,
    release: bool,
}

impl<'a> Cookies<'a> {
    pub fn of(request: &'a Request<'_>) -> Cookies<'a> {
        Cookies {
            jar: request.cookies(),
            release: is_release(request),
        }
    }

    pub fn get(&self, slot: Slot) -> Option<String> {
        self.jar
            .get(slot.name(self.release))
            .map(|cookie| cookie.value().to_owned())
    }

    pub fn set(&self, slot: Slot, value: String) {
        let cookie = Cookie::build((slot.name(self.release), value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.release);
        self.jar.add(cookie);
    }

    pub fn clear(&self, slot: Slot) {
        self.jar
            .remove(Cookie::build(slot.name(self.release)).path("/"));
    }

    /// Keeps a new session's tokens (the end of a sign-in or a refresh).
    pub fn start(&self, tokens: &SessionTokens) {
        self.set(Slot::Access, tokens.access_token.clone());
        self.set(Slot::Refresh, tokens.refresh_token.clone());
        self.clear(Slot::SecondFactor);
    }

    pub fn end(&self) {
        for slot in [Slot::Access, Slot::Refresh, Slot::SecondFactor] {
            self.clear(slot);
        }
    }
}

/// The signed-in user of a console request, refreshing an expired access token on the way.
/// `None`: not signed in (or the session ended).
async fn principal(request: &Request<'_>) -> Option<Principal> {
    let rocket = request.rocket();
    let (store, config, clock) = (
        rocket.state::<Store>()?,
        rocket.state::<AppConfig>()?,
        rocket.state::<Clock>()?,
    );
    let cookies = Cookies::of(request);
    let now = clock.now();
    if let Some(access) = cookies.get(Slot::Access) {
        match auth::authenticate(store, config, now, &access).await {
            Ok(Some(principal)) if matches!(principal.actor, Actor::User { .. }) => {
                return Some(principal)
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "console session check failed");
                return None;
            }
        }
    }
    let refresh = cookies.get(Slot::Refresh)?;
    match auth::refresh(store, config, now, &refresh).await {
        Ok(tokens) => {
            cookies.start(&tokens);
            auth::authenticate(store, config, now, &tokens.access_token)
                .await
                .ok()
                .flatten()
        }
        Err(_) => {
            cookies.end();
            None
        }
    }
}

/// A signed-in console user whose role is at least `L`. Not signed in: 401, which the console
/// answers with the sign-in page; a lower role: 403; a user who must first turn on two-factor
/// sign-in (their operator requires it): 428, which the console answers with the Account page,
/// where they turn it on.
pub struct Console<L: RoleLevel>(pub Principal, PhantomData<L>);

/// A signed-in console user of any role, also one who must first turn on two-factor sign-in:
/// the guard of the Account page and its forms, the one place such a user may go.
pub struct Enrolling(pub Principal);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Enrolling {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match signed_in(request).await {
            None => Outcome::Error((Status::Unauthorized, ())),
            Some(principal) => Outcome::Success(Enrolling(principal)),
        }
    }
}

#[rocket::async_trait]
impl<'r, L: RoleLevel> FromRequest<'r> for Console<L> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match signed_in(request).await {
            None => Outcome::Error((Status::Unauthorized, ())),
            Some(principal) if principal.must_enrol => {
                Outcome::Error((Status::PreconditionRequired, ()))
            }
            Some(principal) if !principal.role.at_least(L::MIN) => {
                Outcome::Error((Status::Forbidden, ()))
            }
            Some(principal) => Outcome::Success(Console(principal, PhantomData)),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Cookies<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        Outcome::Success(Cookies::of(request))
    }
}

/// The request's user if signed in, whatever the role; never fails (a request guard).
pub struct MaybeSignedIn(pub Option<Principal>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeSignedIn {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        Outcome::Success(MaybeSignedIn(signed_in(request).await))
    }
}

/// The user of the request if signed in, whatever the role.
async fn signed_in(request: &Request<'_>) -> Option<Principal> {
    request
        .local_cache_async(async { SignedInUser(principal(request).await) })
        .await
        .0
        .clone()
}

/// The request's console user, looked up once per request.
struct SignedInUser(Option<Principal>);

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::local::asynchronous::Client;

    #[rocket::get("/set")]
    fn set(cookies: Cookies<'_>) -> &'static str {
        cookies.set(Slot::Access, "session-value".into());
        "ok"
    }

    async fn set_cookie_header(profile: &str) -> String {
        let figment = rocket::Config::figment()
            .select(profile)
            .merge(("secret_key", crate::secrets::random_bytes(64)))
            .merge(("log_level", "off"));
        let client = Client::untracked(rocket::custom(figment).mount("/", rocket::routes![set]))
            .await
            .expect("a local client");
        let response = client.get("/set").dispatch().await;
        response
            .headers()
            .get_one("Set-Cookie")
            .expect("a cookie is set")
            .to_owned()
    }

    #[rocket::async_test]
    async fn session_cookies_are_host_only_secure_and_strict_in_release() {
        let release = set_cookie_header("release").await;
        assert!(
            release.starts_with("__Host-berth_session=session-value"),
            "{release}"
        );
        for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(release.contains(flag), "{flag} missing: {release}");
        }
        assert!(!release.contains("Domain="), "{release}");
        // In debug (plain http://127.0.0.1), no Secure flag, so the cookie is kept at all.
        let debug = set_cookie_header("debug").await;
        assert!(debug.starts_with("berth_session=session-value"), "{debug}");
        assert!(
            debug.contains("HttpOnly") && debug.contains("SameSite=Strict"),
            "{debug}"
        );
        assert!(!debug.contains("Secure"), "{debug}");
    }
}
