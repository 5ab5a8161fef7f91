//! The language switch: a form on every page that remembers the visitor's choice in a cookie
//! and returns them to the page they were on.

use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::post;
use rocket::response::Redirect;

use super::i18n::{Lang, LANG_COOKIE};
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
