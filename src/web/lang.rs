//! Which language a request gets: `?lang=`, else the `lang` cookie set by the switch, else
//! `Accept-Language`, else English. And the switch: a form on every page that remembers the
//! visitor's choice in a cookie and returns them to the page they were on.

use std::convert::Infallible;

use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::post;
use rocket::request::{FromRequest, Outcome};
use rocket::response::Redirect;
use rocket::Request;

use crate::i18n::Lang;

/// Name of the cookie the language switch sets.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    /// The request's language (computed once per request).
    pub fn of(request: &Request<'_>) -> Lang {
        *request.local_cache(|| {
            let from_query = request
                .query_value::<&str>("lang")
                .and_then(Result::ok)
                .and_then(Lang::parse);
            from_query
                .or_else(|| {
                    request
                        .cookies()
                        .get(LANG_COOKIE)
                        .and_then(|c| Lang::parse(c.value()))
                })
                .or_else(|| {
                    request
                        .headers()
                        .get_one("Accept-Language")
                        .and_then(Lang::negotiate)
                })
                .unwrap_or(Lang::En)
        })
    }
}

/// A page handler's argument: the request's language (for what it stores, such as the
/// language a traveler's messages are written in).
#[rocket::async_trait]
impl<'r> FromRequest<'r> for Lang {
    type Error = Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Infallible> {
        Outcome::Success(Lang::of(request))
    }
}
use super::{CsrfForm, WebError};
use crate::error::AppError;
use crate::http::rate_limit::RateLimited;

#[derive(FromForm)]
pub struct LanguageChoice {
    lang: String,
    next: String,
}

/// Whether `next` is a path on this site: `/…`, never `//host` or `/\host`, which browsers
/// read as another site (an open redirect).
fn is_local_path(next: &str) -> bool {
    next.len() <= 2000
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && rocket::http::uri::Origin::parse(next).is_ok()
}

/// `POST /lang` with `lang` and `next`: sets the `lang` cookie (a year) and goes back (303).
#[post("/lang", data = "<form>")]
pub fn switch(
    _rate: RateLimited,
    form: CsrfForm<LanguageChoice>,
    cookies: &CookieJar<'_>,
) -> Result<Redirect, WebError> {
    let choice = form.0;
    let lang = Lang::parse(&choice.lang)
        .filter(|l| l.code() == choice.lang)
        .ok_or_else(|| AppError::invalid("lang", "is not a language of these pages"))?;
    if !is_local_path(&choice.next) {
        return Err(AppError::invalid("next", "must be a path on this site").into());
    }
    cookies.add(
        Cookie::build((LANG_COOKIE, lang.code()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(rocket::time::Duration::days(365)),
    );
    Ok(Redirect::to(choice.next))
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_paths_on_this_site_are_returned_to() {
        assert!(is_local_path("/tours/01J0?day=2027-05-14"));
        assert!(is_local_path("/"));
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "evil",
            "",
            "/tours/\r\nSet-Cookie:x=1",
        ] {
            assert!(!is_local_path(bad), "{bad:?} accepted");
        }
    }
}
