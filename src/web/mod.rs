//! HTML pages for travelers (and later the operator console), served by the same binary as the
//! API. Rocket routes that render minijinja templates and call the same service functions as
//! the API; no business rule lives here.
//!
//! - [`render`]: the template environment and [`Page`], the responder a page handler returns.
//! - [`csrf`]: the token every form carries, checked by the [`CsrfForm`] body guard.
//! - [`assets`]: embedded static files under content-hashed, long-cached URLs.
//! - [`traveler`]: the tour page with its month calendar; booking: the form with its
//!   server-computed total, the hold with its payment, and the confirmation; the manage-booking
//!   page.
//! - [`console`]: the operator console (sign-in by cookie session, role-based menu and pages).
//! - [`lang`]: which language a request gets, and the switch. The words and formats are in
//!   `crate::i18n`, shared with the messages travelers receive.
//!
//! Every page gets a Content-Security-Policy with a per-request nonce (scripts run only with
//! it), `frame-ancestors 'none'`, `Referrer-Policy: no-referrer`, and `Cache-Control: no-store`
//! unless the page says it shows nothing personal. Errors under the pages' paths are HTML
//! pages; the API keeps its JSON errors.

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::{catch, catchers, routes, Request, Response};

pub mod assets;
pub mod console;
pub mod csrf;
pub mod lang;
pub mod once;
pub mod render;
pub mod traveler;

pub use csrf::CsrfForm;
pub use render::{Cache, Page, Web};

use crate::error::AppError;
use crate::http::guards::RequestId;

use crate::embedded;

/// The paths pages live under. Errors below them are HTML pages (the API's JSON catchers stay
/// for everything else); a new page family adds its prefix here.
pub const PAGE_BASES: [&str; 7] = [
    "/tours",
    assets::EMBED_PATH,
    "/book",
    "/lang",
    console::BASE,
    assets::BASE,
    crate::service::manage_link::BASE,
];

/// Whether `path` is a page (or page asset) rather than part of the API.
pub fn is_page_path(path: &str) -> bool {
    PAGE_BASES
        .iter()
        .any(|base| path == *base || path.starts_with(&format!("{base}/")))
}

/// Mounts the pages and their HTML error pages, and the fairing that gives pages their headers.
/// Attach after `http::stage()`: its security headers run first, and this stage's fairing then
/// replaces the two headers a page sets differently (CSP and Cache-Control).
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Web pages", |rocket| async {
        let web = match Web::load() {
            Ok(web) => web,
            Err(error) => {
                tracing::error!("{error}");
                eprintln!("berth cannot start: {error}");
                return Err(rocket);
            }
        };
        let settings = PageSettings::from_figment(rocket.figment());
        let mut rocket = rocket
            .manage(web)
            .manage(settings)
            .mount(
                "/",
                routes![
                    traveler::tour::tour_page,
                    traveler::tour::tour_page_with_slug,
                    traveler::booking::form,
                    traveler::booking::submit,
                    traveler::waitlist::join,
                    traveler::waitlist::joined,
                    traveler::hold::hold_page,
                    traveler::hold::confirm,
                    traveler::hold::calendar_file,
                    traveler::manage::manage_page,
                    traveler::manage::calendar_entry,
                    traveler::manage::cancel,
                    traveler::manage::complete,
                    traveler::manage::reschedule,
                    lang::switch,
                    assets::asset,
                    assets::embed_script,
                    traveler::tour::catalogue_page,
                ],
            )
            .mount("/", console::routes())
            .attach(PageHeaders);
        for base in PAGE_BASES {
            rocket = rocket.register(base, catchers![error_page]);
        }
        rocket = rocket.register(
            console::BASE,
            catchers![console::sign_in_first, console::enrol_first],
        );
        Ok(rocket)
    })
}

/// What the pages read from the configuration that the API has no use for.
pub struct PageSettings {
    /// Stripe's publishable key (`BERTH_STRIPE_PUBLISHABLE_KEY`), which Stripe.js needs in the
    /// browser to mount the Payment Element. Not a secret: it is meant to be in every page.
    pub stripe_publishable_key: Option<String>,
}

impl PageSettings {
    fn from_figment(figment: &rocket::figment::Figment) -> PageSettings {
        let key = figment
            .extract_inner::<String>("stripe_publishable_key")
            .ok()
            .filter(|key| key.starts_with("pk_test_") || key.starts_with("pk_live_"));
        PageSettings {
            stripe_publishable_key: key,
        }
    }
}

/// Where a page's cookies will live. Inside a frame (`Sec-Fetch-Dest: iframe`: an operator's
/// widget on its own site) a `SameSite=Strict` cookie never reaches berth, so there the pages'
/// cookies (the CSRF value, a hold's access) are `SameSite=None; Secure; Partitioned`: sent only
/// to berth, and only inside frames on that one embedding site (CHIPS), never to berth's pages
/// opened directly or framed by another site. Anywhere else they stay `Strict`.
#[derive(Debug, Clone, Copy)]
pub struct CookieContext {
    pub in_frame: bool,
    pub release: bool,
}

impl CookieContext {
    pub fn of(request: &Request<'_>) -> CookieContext {
        CookieContext {
            in_frame: request.headers().get_one("Sec-Fetch-Dest") == Some("iframe"),
            release: request.rocket().figment().profile() == rocket::Config::RELEASE_PROFILE,
        }
    }

    /// `cookie` with the attributes of this context (`Secure` always in release).
    pub fn apply<'c>(self, cookie: cookie::CookieBuilder<'c>) -> cookie::CookieBuilder<'c> {
        use rocket::http::SameSite;
        if self.in_frame {
            cookie
                .same_site(SameSite::None)
                .secure(true)
                .partitioned(true)
        } else {
            cookie.same_site(SameSite::Strict).secure(self.release)
        }
    }
}

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for CookieContext {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(CookieContext::of(request))
    }
}

/// A per-request random value; only `<script nonce="…">` elements carrying it may run.
pub struct CspNonce(pub String);

impl CspNonce {
    pub fn generate() -> CspNonce {
        use base64::Engine as _;
        CspNonce(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(crate::secrets::random_bytes(18)),
        )
    }
}

/// The policy of every page: nothing loads but berth's own styles and the nonce's scripts;
/// `ancestors` are the `frame-ancestors` sources (`'none'` but on an operator's booking pages,
/// see `domain::embed`).
pub fn content_security_policy(nonce: &str, ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self'; \
         font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
         frame-ancestors {ancestors}"
    )
}

/// The payment page's policy: the plain one plus Stripe.js and the frames of its Payment
/// Element, as Stripe documents them for a CSP.
pub fn content_security_policy_with_stripe(nonce: &str, ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}' https://js.stripe.com; style-src 'self'; \
         img-src 'self' https://*.stripe.com; font-src 'self'; \
         connect-src 'self' https://api.stripe.com; \
         frame-src https://js.stripe.com https://hooks.stripe.com; form-action 'self'; \
         base-uri 'none'; frame-ancestors {ancestors}"
    )
}

/// The headers a page response sets differently from the API's defaults, remembered for the
/// request by the responder and applied by [`PageHeaders`] after the API's security headers.
#[derive(Debug, Clone)]
pub struct Policy {
    pub cache_control: &'static str,
    pub content_security_policy: Option<String>,
    /// Some origins may frame the page: `X-Frame-Options: DENY` must go (the CSP says who).
    pub framed: bool,
}

impl Policy {
    pub fn remember(self, request: &Request<'_>) {
        request.local_cache(|| Some(self));
    }
}

/// Applies the page's [`Policy`]; responses without one (the API) keep the defaults.
struct PageHeaders;

#[rocket::async_trait]
impl Fairing for PageHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Page headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let Some(policy) = request.local_cache(|| None::<Policy>) else {
            return;
        };
        response.set_header(Header::new("Cache-Control", policy.cache_control));
        if let Some(csp) = &policy.content_security_policy {
            response.set_header(Header::new("Content-Security-Policy", csp.clone()));
        }
        if policy.framed {
            response.remove_header("X-Frame-Options");
        }
    }
}

/// Every error under the pages' paths, as an HTML page.
#[catch(default)]
fn error_page(status: Status, request: &Request<'_>) -> Page {
    Page::error(status, request)
}

/// An [`AppError`] answered as an HTML page: the status comes from the one mapping in
/// `http::responder`, and a server-side failure is logged there once, with the request id the
/// page shows.
pub struct WebError(pub AppError);

impl From<AppError> for WebError {
    fn from(error: AppError) -> Self {
        WebError(error)
    }
}

impl<'r> Responder<'r, 'static> for WebError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let request_id = request.local_cache(RequestId::generate).0.clone();
        let (status, _) = self.0.to_response(&request_id);
        Page::error(status, request).respond_to(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_are_told_from_api_paths() {
        assert!(is_page_path("/tours/01J0"));
        assert!(is_page_path("/tours"));
        assert!(is_page_path("/assets/css/site.abc.css"));
        assert!(is_page_path("/lang"));
        assert!(is_page_path("/manage/BK7X2M4Q/1a.2b"));
        assert!(!is_page_path("/toursx"));
        assert!(!is_page_path("/v1/tours/01J0"));
        assert!(!is_page_path("/health"));
    }

    #[test]
    fn the_policy_allows_scripts_only_with_the_nonce() {
        let csp = content_security_policy("abc", "'none'");
        assert!(csp.contains("script-src 'nonce-abc';"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.starts_with("default-src 'none';"));
    }

    #[test]
    fn only_the_payment_page_lets_stripe_in() {
        let csp = content_security_policy_with_stripe("abc", "'none'");
        assert!(csp.contains("script-src 'nonce-abc' https://js.stripe.com;"));
        assert!(csp.contains("frame-src https://js.stripe.com https://hooks.stripe.com;"));
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
        assert!(!content_security_policy("abc", "'none'").contains("stripe"));
    }

    /// A handler under a page path that fails with `code` (mounted only in this test).
    #[rocket::get("/tours/failing/<code>/now")]
    fn failing(code: u16) -> Status {
        Status::from_code(code).unwrap_or(Status::InternalServerError)
    }

    #[rocket::async_test]
    async fn failures_under_page_paths_are_html_pages_with_retry_after_and_request_id() {
        // The pages' routes need their state to launch; none of it is used here.
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/unused.db", dir.path().display());
        let store = crate::storage::Store::connect(&url, &Default::default())
            .await
            .expect("an empty SQLite store");
        let config = crate::config::AppConfig::from_figment(&rocket::Config::figment())
            .expect("debug config");
        let webhooks = crate::service::webhooks::Webhooks::new(
            crate::integrations::webhooks::WebhookClient::new(
                crate::domain::webhook::TargetPolicy::default(),
                std::time::Duration::from_secs(1),
            )
            .expect("a webhook client"),
            config.keyring(),
        );
        let rocket = rocket::custom(rocket::Config::debug_default())
            .manage(store)
            .manage(config)
            .manage(std::sync::Arc::new(webhooks))
            .manage(crate::service::payments::Payments::offline())
            .manage(crate::service::auth::LoginThrottle::default())
            .manage(crate::service::passwords::Argon2Gate::default())
            .manage(crate::clock::Clock::system())
            .attach(stage())
            .mount("/", routes![failing]);
        let client = rocket::local::asynchronous::Client::untracked(rocket)
            .await
            .expect("rocket ignites");
        for (code, words, retry_after) in [
            (500, "An error on our side stopped this page", None),
            (503, "berth is busy right now. Wait 1 seconds", Some("1")),
            (404, "This page does not exist", None),
            (413, "What you sent is too large", None),
        ] {
            let response = client
                .get(format!("/tours/failing/{code}/now"))
                .dispatch()
                .await;
            assert_eq!(response.status().code, code);
            assert_eq!(
                response.content_type(),
                Some(rocket::http::ContentType::HTML)
            );
            assert_eq!(response.headers().get_one("Retry-After"), retry_after);
            assert_eq!(
                response.headers().get_one("Cache-Control"),
                Some("no-store")
            );
            let body = response.into_string().await.unwrap_or_default();
            assert!(body.contains(words), "{code}: {body}");
            let reference = body
                .split("Reference for support: ")
                .nth(1)
                .map(|rest| &rest[..26]);
            if code >= 500 {
                assert!(
                    reference.is_some_and(|id| ulid::Ulid::from_string(id).is_ok()),
                    "{code} shows no request id: {body}"
                );
            } else {
                assert!(reference.is_none(), "{code} shows a request id");
            }
        }
    }
}
