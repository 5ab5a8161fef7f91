//! Undoes Rocket's `_method` form override. Rocket turns a form `POST` whose first field is
//! `_method=delete` (or `put`, `patch`, …) into that method before routing, so any web page
//! could make a visitor's browser send berth a cross-site DELETE or PATCH through a plain form.
//! berth has no use for it: a `POST` stays a `POST`.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::form::Form;
use rocket::http::Method;
use rocket::{Data, Request};

pub struct NoMethodOverride;

/// Rocket reads at most this much of the body to find `_method` (`_method=delete`).
const OVERRIDE_PEEK: usize = "_method=delete".len();

#[rocket::async_trait]
impl Fairing for NoMethodOverride {
    fn info(&self) -> Info {
        Info {
            name: "No _method override",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, data: &mut Data<'_>) {
        if request.method() == Method::Post
            || !request.content_type().is_some_and(|ct| ct.is_form())
        {
            return;
        }
        // The same test Rocket applied (a form whose first field is `_method` naming this
        // method): only then can the method have been rewritten from POST.
        let overridden = std::str::from_utf8(data.peek(OVERRIDE_PEEK).await)
            .ok()
            .and_then(|raw| Form::values(raw).next())
            .filter(|field| field.name == "_method")
            .and_then(|field| field.value.parse::<Method>().ok())
            == Some(request.method());
        if overridden {
            request.set_method(Method::Post);
        }
    }
}
