//! Deprecated paths: the routes a renamed endpoint answered on before, kept so that no client
//! written against them breaks. Each alias runs the very handler of its new path (same guards,
//! same answers) and appears in `/openapi.json` as a copy of the new operation marked
//! `deprecated`, so the walk over every mounted route and the fuzzer cover them too.
//!
//! The departure endpoints were `/v1/occurrences/…` until berth settled on one word for the
//! thing a seat is sold on (issue 13). The old names go away in a later minor version.

use rocket::http::Method;
use rocket::route::{Handler, Outcome};
use rocket::{Data, Request, Route};
use utoipa::openapi::path::{HttpMethod, PathItem};
use utoipa::openapi::OpenApi;

/// One deprecated path and the path that replaced it, both in Rocket's `<param>` syntax (a
/// query part, as in `?<format>`, is left out: it is the handler's, and carried over).
pub struct Alias {
    pub method: Method,
    pub old: &'static str,
    pub new: &'static str,
}

pub const DEPRECATED: &[Alias] = &[
    Alias {
        method: Method::Get,
        old: "/v1/occurrences/<id>",
        new: "/v1/departures/<id>",
    },
    Alias {
        method: Method::Post,
        old: "/v1/tours/<id>/occurrences",
        new: "/v1/tours/<id>/departures",
    },
    Alias {
        method: Method::Patch,
        old: "/v1/occurrences/<id>",
        new: "/v1/departures/<id>",
    },
    Alias {
        method: Method::Post,
        old: "/v1/occurrences/<id>/cancel",
        new: "/v1/departures/<id>/cancel",
    },
    Alias {
        method: Method::Get,
        old: "/v1/occurrences/<id>/manifest",
        new: "/v1/departures/<id>/manifest",
    },
];

/// The alias routes: each a copy of the mounted route serving its new path, under the old one.
/// Panics at start-up (a programming error, caught by every test) when an alias names a route
/// that is not mounted.
pub fn routes(mounted: &[Route]) -> Vec<Route> {
    DEPRECATED
        .iter()
        .map(|alias| {
            let route = mounted
                .iter()
                .find(|r| r.method == alias.method && r.uri.path() == alias.new)
                .unwrap_or_else(|| panic!("alias for an unmounted route: {}", alias.new));
            let query = route
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let mut copy = Route::ranked(
                route.rank,
                route.method,
                &format!("{}{query}", alias.old),
                SameHandler(route.handler.clone()),
            );
            copy.name = route.name.clone();
            copy.format = route.format.clone();
            copy
        })
        .collect()
}

/// The handler of the route an alias stands for.
#[derive(Clone)]
struct SameHandler(Box<dyn Handler>);

#[rocket::async_trait]
impl Handler for SameHandler {
    async fn handle<'r>(&self, request: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        self.0.handle(request, data).await
    }
}

/// Adds each alias to the document as a deprecated copy of its new path's operation.
pub fn document(openapi: &mut OpenApi) {
    for alias in DEPRECATED {
        let (old, new) = (openapi_path(alias.old), openapi_path(alias.new));
        let method = http_method(alias.method);
        let Some(mut operation) = openapi
            .paths
            .paths
            .get(&new)
            .and_then(|item| operation(item, &method).cloned())
        else {
            panic!("alias for an undocumented operation: {new}");
        };
        operation.deprecated = Some(utoipa::openapi::Deprecated::True);
        operation.operation_id = operation.operation_id.map(|id| format!("{id}_deprecated"));
        operation.description = Some(format!(
            "Deprecated: use `{} {new}`, which this path answers exactly like.",
            alias.method
        ));
        openapi
            .paths
            .add_path_operation(old, vec![method], operation);
    }
}

fn operation<'a>(
    item: &'a PathItem,
    method: &HttpMethod,
) -> Option<&'a utoipa::openapi::path::Operation> {
    match method {
        HttpMethod::Get => item.get.as_ref(),
        HttpMethod::Post => item.post.as_ref(),
        HttpMethod::Patch => item.patch.as_ref(),
        HttpMethod::Put => item.put.as_ref(),
        HttpMethod::Delete => item.delete.as_ref(),
        _ => None,
    }
}

fn http_method(method: Method) -> HttpMethod {
    match method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Patch => HttpMethod::Patch,
        Method::Put => HttpMethod::Put,
        Method::Delete => HttpMethod::Delete,
        other => panic!("no alias for {other}"),
    }
}

/// `/v1/occurrences/<id>` → `/v1/occurrences/{id}`.
fn openapi_path(rocket_path: &str) -> String {
    rocket_path.replace('<', "{").replace('>', "}")
}
