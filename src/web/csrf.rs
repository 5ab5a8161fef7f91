//! Cross-site request forgery protection for every form a page posts.
//!
//! Each browser gets a random value in a `SameSite=Strict`, `HttpOnly` cookie (named
//! `__Host-berth_csrf` with `Secure` in release, so no subdomain can plant one; inside an
//! operator's widget frame, `SameSite=None; Secure; Partitioned`: see [`super::CookieContext`]). Every page
//! renders `csrf_token`, an HMAC of that value under `BERTH_SECRET_KEY`, into its forms as a
//! hidden `csrf_token` field. A form handler takes [`CsrfForm<T>`] as its body: it refuses a
//! post whose field does not match the cookie (or that a browser marks as cross-site) with 403
//! before the form is parsed, so a handler cannot forget the check.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::form::{Form, FromForm, ValueField};
use rocket::http::{Cookie, RawStr, Status};
use rocket::outcome::Outcome;
use rocket::Request;

use crate::config::AppConfig;
use crate::secrets::constant_time_eq;

/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";

fn is_release(request: &Request<'_>) -> bool {
    request.rocket().figment().profile() == rocket::Config::RELEASE_PROFILE
}

fn cookie_name(request: &Request<'_>) -> &'static str {
    if is_release(request) {
        "__Host-berth_csrf"
    } else {
        "berth_csrf"
    }
}

/// The value this request's new cookie gets, if it needs one (fixed once per request, so a
/// catcher that runs after a failed handler issues the same one).
struct FreshValue(String);

fn expected_token(request: &Request<'_>, cookie_value: &str) -> Option<String> {
    let config = request.rocket().state::<AppConfig>()?;
    Some(config.keyring().hash("csrf", cookie_value))
}

/// The token for this request's forms, setting the cookie when the browser has none yet.
pub fn token(request: &Request<'_>) -> Option<String> {
    let name = cookie_name(request);
    let jar = request.cookies();
    let value = match jar.get_pending(name) {
        Some(cookie) if cookie.value().len() >= 32 => cookie.value().to_owned(),
        _ => {
            let value = request
                .local_cache(|| FreshValue(hex::encode(crate::secrets::random_bytes(32))))
                .0
                .clone();
            let cookie = super::CookieContext::of(request).apply(
                Cookie::build((name, value.clone()))
                    .path("/")
                    .http_only(true),
            );
            jar.add(cookie);
            value
        }
    };
    expected_token(request, &value)
}

/// Marks a request refused for CSRF, so the 403 page says why.
pub struct Rejected(pub bool);

/// Whether this request was refused by the CSRF check.
pub fn was_rejected(request: &Request<'_>) -> bool {
    request.local_cache(|| Rejected(false)).0
}

/// Whether a post may go on: not marked cross-site by the browser, and carrying the token that
/// matches its cookie. No cookie, no token, or another token: refused.
fn accepted(request: &Request<'_>, presented: Option<&str>) -> bool {
    if request.headers().get_one("Sec-Fetch-Site") == Some("cross-site") {
        return false;
    }
    let expected = request
        .cookies()
        .get(cookie_name(request))
        .and_then(|cookie| expected_token(request, cookie.value()));
    match (expected, presented) {
        (Some(expected), Some(presented)) => constant_time_eq(presented, &expected),
        _ => false,
    }
}

/// A URL-encoded form body whose CSRF token was checked; `T` is the rest of the form (the token
/// field is ignored when parsing it).
pub struct CsrfForm<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for CsrfForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if request.content_type().is_none_or(|ct| !ct.is_form()) {
            return Outcome::Error((Status::UnsupportedMediaType, ()));
        }
        let limit = request.limits().get("form").unwrap_or(32.kibibytes());
        let body = match data.open(limit).into_string().await {
            Ok(body) if body.is_complete() => body.into_inner(),
            Ok(_) => return Outcome::Error((Status::PayloadTooLarge, ())),
            Err(_) => return Outcome::Error((Status::BadRequest, ())),
        };
        // Percent-decoded as Rocket decodes a `Form` body (`+` is a space).
        let fields: Vec<(String, String)> = Form::values(&body)
            .map(|field| {
                let decode = |raw: &str| RawStr::new(raw).url_decode_lossy().into_owned();
                (decode(field.name.source()), decode(field.value))
            })
            .collect();
        let presented = fields
            .iter()
            .find(|(name, _)| name == FIELD)
            .map(|(_, value)| value.as_str());
        if !accepted(request, presented) {
            request.local_cache(|| Rejected(true));
            tracing::info!(
                route = request.route().and_then(|r| r.name.as_deref()),
                "form refused: CSRF token missing or wrong"
            );
            return Outcome::Error((Status::Forbidden, ()));
        }
        let values = fields
            .iter()
            .map(|(name, value)| ValueField::from((name.as_str(), value.as_str())));
        match Form::<T>::parse_iter(values) {
            Ok(form) => Outcome::Success(CsrfForm(form)),
            Err(_) => Outcome::Error((Status::UnprocessableEntity, ())),
        }
    }
}
