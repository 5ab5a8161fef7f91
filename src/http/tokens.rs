//! An operator's API tokens: create (shown once), list, revoke.

use rocket::serde::json::Json;

use super::idempotency::{operator_scope, ApiResponse, Idempotency};
use super::responder::{body_text, parse_text, JsonBody};
use crate::config::AppConfig;
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
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    let text = body_text(body)?;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            &text,
            |_| async {
                let request: TokenRequest = parse_text(&text)?;
                let now = clock.now();
                let (id, token) =
                    operators::create_token(store, now, &operator, &request.label).await?;
                let view = TokenView {
                    id: id.to_string(),
                    label: request.label.trim().to_owned(),
                    created_at: now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    revoked_at: None,
                    token: Some(token),
                };
                Ok(ApiResponse::created(format!("/v1/tokens/{id}"), &view))
            },
        )
        .await
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
    idempotency: Result<Idempotency, AppError>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<ApiResponse, AppError> {
    let operator = auth?.0;
    idempotency?
        .run(
            store,
            clock,
            config,
            operator_scope(&operator),
            "",
            |_| async {
                operators::revoke_token(store, clock.now(), &operator, id).await?;
                Ok(ApiResponse::no_content())
            },
        )
        .await
}
