//! Liveness and readiness, for load balancers. No authentication, no details.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, State};
use serde_json::{json, Value};

use crate::storage::Store;

#[get("/health")]
pub fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[get("/ready")]
pub async fn ready(store: &State<Store>) -> (Status, Json<Value>) {
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
