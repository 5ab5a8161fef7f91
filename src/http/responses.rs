//! The error answers endpoints share, each described once here and added to every operation of
//! `/openapi.json` whose route can give it, decided from facts about the route: it takes
//! credentials, has ids in its path, takes a JSON body, takes an `Idempotency-Key`, counts
//! against a rate limit, reaches the database. A handler's `#[utoipa::path]` lists only its
//! success and what is particular to it (a conflict's codes, a role, a 4 KiB body limit); a
//! status it documents itself keeps its own description.

use rocket::http::Method;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Type,
};
use utoipa::Modify;

use super::rate_limit;

/// Facts about one route, read from its operation and path.
#[derive(Debug, Default, Clone, Copy)]
pub struct RouteFacts {
    /// An operator's bearer token (or a booking's token) is checked.
    pub credentials: bool,
    /// The path carries ids that may name nothing (or another operator's object).
    pub path_ids: bool,
    /// Takes a JSON body (`responder::JsonBody`).
    pub json_body: bool,
    /// Takes an `Idempotency-Key` header.
    pub idempotent: bool,
    /// Counts against a `BERTH_RATE_LIMITS` bucket.
    pub rate_limited: bool,
    /// Reaches the database, which may stay busy after retries.
    pub database: bool,
}

/// Provider callbacks: verified by signature, not bearer tokens; they document their own answers.
fn is_webhook(path: &str) -> bool {
    path.starts_with("/v1/webhooks/")
}

impl RouteFacts {
    pub fn of(path: &str, method: Method, operation: &Operation) -> RouteFacts {
        let schemes = operation
            .security
            .iter()
            .flatten()
            .filter_map(|requirement| serde_json::to_value(requirement).ok())
            .filter_map(|value| value.as_object().cloned())
            .flat_map(|object| object.into_iter().map(|(name, _)| name))
            .collect::<Vec<_>>();
        let webhook = is_webhook(path);
        RouteFacts {
            credentials: schemes
                .iter()
                .any(|name| name == "operator_token" || name == "booking_token"),
            path_ids: path.contains('{') && !webhook,
            json_body: !webhook
                && operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json")),
            idempotent: operation.parameters.iter().flatten().any(|parameter| {
                parameter.parameter_in == ParameterIn::Header && parameter.name == "Idempotency-Key"
            }),
            rate_limited: rate_limit::bucket(method, path).is_some(),
            database: path.starts_with("/v1/"),
        }
    }

    /// The shared error answers this route can give, by status.
    pub fn errors(&self) -> Vec<(u16, Response)> {
        let mut errors = Vec::new();
        let bad_request: Vec<&str> = [
            (self.json_body, "malformed JSON (`malformed_json`)"),
            (
                self.idempotent,
                "an invalid `Idempotency-Key` (`invalid_idempotency_key`)",
            ),
        ]
        .into_iter()
        .filter_map(|(applies, text)| applies.then_some(text))
        .collect();
        if !bad_request.is_empty() {
            errors.push((400, error(&sentence(&bad_request), false)));
        }
        if self.credentials {
            errors.push((
                401,
                error(
                    "Missing, invalid, expired or revoked credentials (`unauthorized`)",
                    false,
                ),
            ));
            errors.push((
                403,
                error(
                    "The role is below what the endpoint needs (`forbidden`), or the user must \
                     first enrol in two-factor sign-in (`two_factor_required`)",
                    false,
                ),
            ));
        }
        if self.path_ids {
            errors.push((
                404,
                error(
                    "Unknown, malformed or another operator's id (`not_found`)",
                    false,
                ),
            ));
        }
        if self.idempotent {
            errors.push((
                409,
                error(
                    "A request with this `Idempotency-Key` is still in progress \
                     (`idempotency_in_progress`); retry after `Retry-After`",
                    true,
                ),
            ));
        }
        if self.json_body {
            errors.push((
                413,
                error("Body over the JSON limit (`payload_too_large`)", false),
            ));
            errors.push((
                415,
                error(
                    "The body was not sent as `Content-Type: application/json` \
                     (`unsupported_media_type`)",
                    false,
                ),
            ));
        }
        let unprocessable: Vec<&str> = [
            (
                self.json_body,
                "invalid fields (`validation_failed` with `fields`)",
            ),
            (
                self.idempotent,
                "an `Idempotency-Key` reused with another request (`idempotency_key_reused`)",
            ),
        ]
        .into_iter()
        .filter_map(|(applies, text)| applies.then_some(text))
        .collect();
        if !unprocessable.is_empty() {
            errors.push((422, error(&sentence(&unprocessable), false)));
        }
        if self.rate_limited {
            errors.push((
                429,
                error(
                    "Too many requests (`rate_limited`); retry after `Retry-After`",
                    true,
                ),
            ));
        }
        if self.database {
            errors.push((503, busy()));
        }
        errors
    }
}

/// "A or B" with a capital first letter.
fn sentence(parts: &[&str]) -> String {
    let joined = parts.join(", or ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => joined,
    }
}

/// The one 503: every database call is retried on a deadlock or lock timeout before this.
fn busy() -> Response {
    error(
        "Busy (`busy`): the database stayed busy after retries, or too many password checks \
         ran at once; nothing was done, retry after `Retry-After`",
        true,
    )
}

fn error(description: &str, retry_after: bool) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorResponse")))
            .build(),
    );
    if retry_after {
        response = response.header("Retry-After", retry_after_header());
    }
    response.build()
}

fn retry_after_header() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some("Seconds to wait before retrying"))
        .build()
}

/// Adds the shared answers to every operation (see the module comment). The 503 is always the
/// shared one; a 409 or 429 a handler describes itself gets the `Retry-After` header.
pub struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in [
                (Method::Get, &mut item.get),
                (Method::Post, &mut item.post),
                (Method::Put, &mut item.put),
                (Method::Patch, &mut item.patch),
                (Method::Delete, &mut item.delete),
            ] {
                let Some(operation) = operation else {
                    continue;
                };
                let facts = RouteFacts::of(path, method, operation);
                let responses = &mut operation.responses.responses;
                for (status, response) in facts.errors() {
                    let status = status.to_string();
                    match responses.get_mut(&status) {
                        None => {
                            responses.insert(status, response.into());
                        }
                        Some(RefOr::T(own)) if status == "503" => *own = response,
                        Some(RefOr::T(own)) if status == "409" || status == "429" => {
                            own.headers
                                .entry("Retry-After".to_owned())
                                .or_insert_with(retry_after_header);
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
}
