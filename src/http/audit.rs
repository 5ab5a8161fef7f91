//! `GET /v1/audit`: the operator's audit log, newest first, for owners and admins.

use rocket::serde::json::Json;
use rocket::{get, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::guards::{Admin, Authorized};
use super::rate_limit::RateLimited;
use super::responder::ErrorResponse;
use crate::error::AppError;
use crate::service::audit;
use crate::storage::Store;
use rocket::form::error::ErrorKind;

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    id: String,
    /// `user:<id>`, `token:<id>` or `cli`.
    actor: String,
    /// What was done, e.g. `tour.update`, `departure.capacity`, `user.role`.
    action: String,
    /// `<kind>:<id>`, e.g. `tour:01J…` or `booking:K7M2Q9PX`.
    target: String,
    /// What changed, as a small JSON object, when it says more than the action.
    detail: Option<serde_json::Value>,
    at: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntryView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    next_before: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "operator",
    summary = "The audit log, newest first (owners and admins)",
    params(
        ("before" = Option<String>, Query, description = "An entry id: only older entries (the previous page's `next_before`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Entries per page, 1 to 200 (default 50)")
    ),
    responses((status = 200, description = "A page of entries", body = AuditPage), (status = 403, description = "The role is below admin (`forbidden`)", body = ErrorResponse), (status = 422, description = "A bad `before` or `limit` (`validation_failed`)", body = ErrorResponse)),
    security(("operator_token" = []))
)]
#[get("/v1/audit?<before>&<limit>")]
pub async fn list_audit(
    _rate: RateLimited,
    before: Option<&str>,
    limit: rocket::form::Result<'_, &str>,
    auth: Result<Authorized<Admin>, AppError>,
    store: &State<Store>,
) -> Result<Json<AuditPage>, AppError> {
    let operator = auth?.0.operator;
    // Taken as a form result: Rocket reads an `Option<u32>` or `Option<&str>` that fails to parse
    // ("-1", "ten", the same bad value twice) as absent, which would answer a wrong request with
    // the default page.
    let bad_limit = || AppError::invalid("limit", "must be between 1 and 200");
    let limit = match limit {
        Ok(text) => text.parse().map_err(|_| bad_limit())?,
        Err(errors) if errors.iter().all(|e| matches!(e.kind, ErrorKind::Missing)) => 50,
        Err(_) => return Err(bad_limit()),
    };
    let rows = audit::list(store, &operator, before, limit).await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id.clone()))
        .flatten();
    let entries = rows
        .into_iter()
        .map(|row| AuditEntryView {
            detail: row
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            at: row
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            id: row.id,
            actor: row.actor,
            action: row.action,
            target: row.target,
        })
        .collect();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}
