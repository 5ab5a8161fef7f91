//! Liveness and readiness, for load balancers. No authentication, no details.

use super::rate_limit::RateLimited;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, State};
use serde_json::{json, Value};

use crate::storage::Store;

#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    summary = "The process is up",
    responses((status = 200, description = "Up", body = serde_json::Value))
)]
#[get("/health")]
pub fn health(_rate: RateLimited) -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    summary = "The database answers a read of berth's tables",
    responses((status = 200, description = "Ready", body = serde_json::Value), (status = 503, description = "Database unreachable, or refusing reads (a Galera node not synced with its cluster)", body = serde_json::Value))
)]
#[get("/ready")]
pub async fn ready(_rate: RateLimited, store: &State<Store>) -> (Status, Json<Value>) {
    match store.ping().await {
        Ok(()) => (Status::Ok, Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                Status::ServiceUnavailable,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}
