//! Rendering pages: the minijinja environment over the embedded `templates/web/` (HTML
//! auto-escaped), the helpers templates call, and [`Page`], the responder every page handler
//! returns. It adds what every page needs (language, CSP nonce, CSRF token, the current path)
//! and the page's headers.

use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{context, Environment, Error, ErrorKind};
use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Response};

use super::assets::Assets;
use super::{csrf, CspNonce, Policy};
use crate::domain::embed::{self, EmbedOrigin};
use crate::embedded;
use crate::http::guards::RequestId;
use crate::i18n::{Catalogue, Lang};

/// The page templates, catalogues and assets, shared by every request (Rocket-managed state).
pub struct Web {
    env: Environment<'static>,
    pub catalogue: Arc<Catalogue>,
    pub assets: Arc<Assets>,
}

impl Web {
    /// Loads the templates, catalogues and assets; an error is a bug in the shipped files.
    pub fn load() -> Result<Web, String> {
        let catalogue = Catalogue::shared()?;
        let assets = Arc::new(Assets::load());
        let mut env = Environment::new();
        // Templates ending in .html escape everything they print unless marked safe; nothing
        // an operator or traveler wrote is ever marked safe.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in embedded::TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("templates/web/{name}: {e}"))?;
        }
        crate::i18n::add_template_functions(&mut env, catalogue.clone());
        let urls = assets.clone();
        env.add_function("asset", move |path: &str| -> Result<String, Error> {
            urls.url(path)
                .map(str::to_owned)
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no asset {path}")))
        });
        Ok(Web {
            env,
            catalogue,
            assets,
        })
    }

    /// Renders `template` with `context`; errors are bugs in a template, logged by the caller.
    pub fn render(&self, template: &str, context: Value) -> Result<String, Error> {
        self.env.get_template(template)?.render(context)
    }
}

/// How a page may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// Personal data or a form result: never stored (the default).
    NoStore,
    /// Nothing personal (the tour page): the visitor's browser may reuse it for a minute.
    /// `private`, because each page carries its visitor's CSRF token, so a shared cache must
    /// not keep it.
    Brief,
}

/// A rendered page: `templates/web/<template>` with `context`, plus what every page gets.
pub struct Page {
    template: &'static str,
    context: Value,
    status: Status,
    cache: Cache,
    retry_after: Option<u64>,
    /// Loads Stripe.js (the payment page only): its origins join the policy.
    stripe: bool,
    /// The origins that may frame this page (an operator's booking pages, for its widget).
    framed_by: Vec<EmbedOrigin>,
}

impl Page {
    /// A `200 OK` page that is not cached.
    pub fn new(template: &'static str, context: Value) -> Page {
        Page {
            template,
            context,
            status: Status::Ok,
            cache: Cache::NoStore,
            retry_after: None,
            stripe: false,
            framed_by: Vec::new(),
        }
    }

    /// The page may be framed by these origins (the operator's widget sites); none: by nobody.
    pub fn framed_by(mut self, origins: Vec<EmbedOrigin>) -> Page {
        self.framed_by = origins;
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Page {
        self.retry_after = Some(seconds);
        self
    }

    /// The page loads Stripe.js from Stripe's origin (which Stripe requires) and frames its
    /// Payment Element; every other page keeps the plain policy.
    pub fn with_stripe(mut self) -> Page {
        self.stripe = true;
        self
    }

    pub fn status(mut self, status: Status) -> Page {
        self.status = status;
        self
    }

    /// A form page shown again because the form was refused: 422, else 200.
    pub fn refused_if(self, refused: bool) -> Page {
        self.status(if refused {
            Status::UnprocessableEntity
        } else {
            Status::Ok
        })
    }

    pub fn cache(mut self, cache: Cache) -> Page {
        self.cache = cache;
        self
    }

    /// The error page for `status` (its message chosen by status; 403 for a refused form says so).
    pub fn error(status: Status, request: &Request<'_>) -> Page {
        let seconds = match status.code {
            429 => Some(
                request
                    .local_cache(|| crate::http::rate_limit::RetryAfter(1))
                    .0,
            ),
            503 => Some(1),
            _ => None,
        };
        let message = match status.code {
            403 if csrf::was_rejected(request) => "error-csrf".to_owned(),
            400 | 403 | 404 | 413 | 415 | 422 | 429 | 500 | 503 => format!("error-{}", status.code),
            500..=599 => "error-500".to_owned(),
            _ => "error-400".to_owned(),
        };
        Page {
            template: "error.html",
            context: context! {
                status => status.code,
                message => message,
                seconds => seconds.unwrap_or(1),
            },
            status,
            cache: Cache::NoStore,
            retry_after: seconds,
            stripe: false,
            framed_by: Vec::new(),
        }
    }
}

/// The path and query the language switch returns to, without `lang=` (the switch decides).
fn return_path(request: &Request<'_>) -> String {
    let uri = request.uri();
    let kept: Vec<&str> = uri
        .query()
        .map(|q| q.as_str().split('&'))
        .into_iter()
        .flatten()
        .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
        .collect();
    if kept.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    }
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let Some(web) = request.rocket().state::<Web>() else {
            return Err(Status::InternalServerError);
        };
        let lang = Lang::of(request);
        let nonce = request.local_cache(CspNonce::generate).0.clone();
        let request_id = request.local_cache(RequestId::generate).0.clone();
        let languages: Vec<Value> = Lang::ALL
            .iter()
            .map(|l| context! { code => l.code(), name => l.native_name(), current => *l == lang })
            .collect();
        // A page refused by the rate limit waits as long as the limit said.
        let retry_after = self.retry_after.or_else(|| {
            (self.status == Status::TooManyRequests).then(|| {
                request
                    .local_cache(|| crate::http::rate_limit::RetryAfter(1))
                    .0
            })
        });
        let context = context! {
            lang => lang.code(),
            retry_seconds => retry_after.unwrap_or(1),
            languages => languages,
            csp_nonce => nonce,
            csrf_token => csrf::token(request),
            return_path => return_path(request),
            request_id => request_id,
            ..self.context
        };
        let html = match web.render(self.template, context) {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(%request_id, template = self.template, error = %error, "page failed to render");
                // The plainest possible answer: the error page itself may be what failed.
                return Response::build()
                    .status(Status::InternalServerError)
                    .header(ContentType::Plain)
                    .sized_body(
                        None,
                        std::io::Cursor::new(format!("internal error (request id {request_id})")),
                    )
                    .ok();
            }
        };
        let ancestors = embed::frame_ancestors(&self.framed_by);
        Policy {
            cache_control: match self.cache {
                Cache::NoStore => "no-store",
                Cache::Brief => "private, max-age=60",
            },
            content_security_policy: Some(if self.stripe {
                super::content_security_policy_with_stripe(&nonce, &ancestors)
            } else {
                super::content_security_policy(&nonce, &ancestors)
            }),
            framed: !self.framed_by.is_empty(),
        }
        .remember(request);
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::HTML)
            .header(Header::new("Vary", "Accept-Language, Cookie"))
            .sized_body(html.len(), std::io::Cursor::new(html));
        if let Some(seconds) = retry_after {
            response.header(Header::new("Retry-After", seconds.to_string()));
        }
        response.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_templates_load_and_use_only_messages_the_catalogue_has() {
        Web::load().expect("templates, catalogues and assets load");
        let catalogue = Catalogue::load().unwrap();
        let mut used = BTreeSet::new();
        for (name, source) in embedded::TEMPLATES {
            for key in crate::i18n::message_keys_in(source) {
                used.insert((name.to_string(), key.to_owned()));
            }
        }
        assert!(used.len() > 10, "no message keys found: {used:?}");
        // A page's title is text: markup inside its block would be printed into <title>.
        for (name, source) in embedded::TEMPLATES {
            if let Some(start) = source.find("{% block page_title %}") {
                let rest = &source[start..];
                let block = &rest[..rest.find("{% endblock %}").unwrap_or(rest.len())];
                assert!(
                    !block.contains('<'),
                    "{name}: markup in its page_title block"
                );
            }
        }
        for (template, key) in used {
            for lang in Lang::ALL {
                assert!(
                    catalogue.has(lang, &key),
                    "{template} uses {key:?}, missing in {}",
                    lang.code()
                );
            }
        }
    }
}
