//! An operator's API tokens: create (shown once), list, revoke.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json;

use super::responder::{parse_body, JsonBody};
use rocket::{delete, get, post, State};
use serde::{Deserialize, Serialize};

use super::guards::OperatorAuth;
use crate::clock::Clock;
use crate::error::AppError;
use crate::service::operators;
use crate::storage::Store;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    label: String,
}

#[derive(Serialize)]
pub struct TokenView {
    id: String,
    label: String,
    created_at: String,
    revoked_at: Option<String>,
    /// Only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

#[post("/v1/tokens", data = "<body>")]
pub async fn create_token(
    auth: Result<OperatorAuth, AppError>,
    body: JsonBody<'_>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Created<Json<TokenView>>, AppError> {
    let operator = auth?.0;
    let request: TokenRequest = parse_body(body)?;
    let now = clock.now();
    let (id, token) = operators::create_token(store, now, &operator, &request.label).await?;
    Ok(
        Created::new(format!("/v1/tokens/{id}")).body(Json(TokenView {
            id: id.to_string(),
            label: request.label.trim().to_owned(),
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            revoked_at: None,
            token: Some(token),
        })),
    )
}

#[get("/v1/tokens")]
pub async fn list_tokens(
    auth: Result<OperatorAuth, AppError>,
    store: &State<Store>,
) -> Result<Json<Vec<TokenView>>, AppError> {
    let tokens = operators::list_tokens(store, &auth?.0).await?;
    let rfc3339 =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                label: t.label,
                created_at: rfc3339(t.created_at),
                revoked_at: t.revoked_at.map(rfc3339),
                token: None,
            })
            .collect(),
    ))
}

#[delete("/v1/tokens/<id>")]
pub async fn revoke_token(
    id: &str,
    auth: Result<OperatorAuth, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Status, AppError> {
    operators::revoke_token(store, clock.now(), &auth?.0, id).await?;
    Ok(Status::NoContent)
}
