//! Form posts that change something run once per rendered form: each form carries a random key
//! (`form_key`), and its post goes through the API's idempotency store under that key. A
//! double-click or a reload of the post gets the first post's answer (where it led) instead of
//! acting twice; a post still running makes its duplicate wait for it. A failed action releases
//! the key, so the form shown again can be sent again.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::config::AppConfig;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::service::idempotency::{self, Begin};
use crate::service::principal::Principal;
use crate::storage::Store;

/// The hidden field every such form carries.
pub const FIELD: &str = "form_key";

/// A new key for a form being rendered.
pub fn new_key() -> String {
    hex::encode(crate::secrets::random_bytes(16))
}

/// Runs `action` unless a post with the same `key` in `scope` ran it already, and returns where
/// the page goes next (the location `action` returned, or the one stored for the key). `fields`
/// is what the form sent (any stable text): the same key with other fields is refused, as the
/// API refuses a reused `Idempotency-Key`. A key that is not one berth rendered (too short, not
/// printable) runs the action without protection, like an API call without a key.
pub async fn once<F, Fut>(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    scope: &str,
    key: &str,
    fields: &str,
    action: F,
) -> Result<String, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, AppError>>,
{
    if idempotency::validate_key(key).is_err() || key.len() < 16 {
        return action().await;
    }
    let keys = config.keyring();
    let print = idempotency::keyed_fingerprint(&keys, "POST", scope, fields);
    let claim = match idempotency::begin(
        store,
        &keys,
        now,
        config.idempotency_ttl(),
        scope,
        key,
        &print,
    )
    .await?
    {
        Begin::Replay { body, .. } => return Ok(body),
        Begin::Proceed(claim) => claim,
    };
    match action().await {
        Ok(location) => {
            idempotency::finish(store, &claim, Some((303, &location))).await?;
            Ok(location)
        }
        Err(error) => {
            if let Err(release) = idempotency::finish(store, &claim, None).await {
                tracing::warn!(error = %release, "could not release a failed form's key");
            }
            Err(error)
        }
    }
}

/// A console change, once per rendered form: scoped to the operator and `what` it changes
/// (`console:{operator}:{what}`), then on to `location`.
pub async fn for_operator<F, Fut>(
    ctx: Ctx<'_>,
    principal: &Principal,
    (what, form_key, fields): (&str, &str, &str),
    location: String,
    run: F,
) -> Result<String, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), AppError>>,
{
    let scope = format!("console:{}:{what}", principal.operator);
    once(
        ctx.store,
        ctx.config,
        ctx.now(),
        &scope,
        form_key,
        fields,
        || async {
            run().await?;
            Ok(location)
        },
    )
    .await
}
