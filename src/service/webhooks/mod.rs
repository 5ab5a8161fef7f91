//! Outbound webhooks: operators' endpoints (register, change, rotate the secret, delete), their
//! delivery log, replays and test events. Events are written by [`events`] in the transaction of
//! the change they describe and sent by [`dispatch`] (signed per the Standard Webhooks
//! specification, retried for about three days). `availability.changed` is debounced by
//! [`availability`].

pub mod availability;
pub mod dispatch;
pub mod events;

use chrono::{DateTime, Utc};

use super::audit::{self, Action, Target};
use super::principal::Principal;
use crate::domain::ids::WebhookEndpointId;
use crate::domain::webhook::{
    self, parse_event_types, SigningSecret, DELIVERY_WINDOW, MAX_ENDPOINTS, ROTATION_OVERLAP,
};
use crate::error::AppError;
use crate::integrations::webhooks::WebhookClient;
use crate::secrets::Keyring;
use crate::storage::webhooks::{self as store_webhooks, Attempt, Delivery, WebhookEndpoint};
use crate::storage::Store;

pub use crate::storage::webhooks::Replay;

/// What sends webhooks: the HTTP client (with the target policy) and the key that seals the
/// endpoints' signing secrets. Built once by the composition root.
pub struct Webhooks {
    pub client: WebhookClient,
    keyring: Keyring,
}

/// The purpose under which signing secrets are sealed (the endpoint id is the context).
const SEAL_PURPOSE: &str = "webhook-secret";

impl Webhooks {
    pub fn new(client: WebhookClient, keyring: Keyring) -> Webhooks {
        Webhooks { client, keyring }
    }

    /// A fresh secret for `endpoint`: (shown once, sealed, mask).
    fn new_secret(&self, endpoint: &WebhookEndpointId) -> (String, String, String) {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&crate::secrets::random_bytes(32));
        let shown = SigningSecret::from_bytes(bytes).expose();
        let sealed = self
            .keyring
            .seal_text(SEAL_PURPOSE, endpoint.as_str(), &shown);
        let mask = crate::domain::payment_keys::mask(&shown);
        (shown, sealed, mask)
    }

    /// The secrets that sign a delivery at `now`: the current one and, for a day after a
    /// rotation, the previous. `None` when the current one cannot be opened (the server key
    /// changed): the endpoint needs a new secret.
    pub(crate) fn signing_secrets(
        &self,
        endpoint: &WebhookEndpoint,
        now: DateTime<Utc>,
    ) -> Option<Vec<SigningSecret>> {
        let open = |sealed: &str| {
            self.keyring
                .open_text(SEAL_PURPOSE, endpoint.id.as_str(), sealed)
                .and_then(|text| SigningSecret::parse(&text))
        };
        let mut secrets = vec![open(&endpoint.secret_sealed)?];
        if let (Some(previous), Some(until)) = (
            &endpoint.previous_secret_sealed,
            endpoint.previous_secret_until,
        ) {
            if now < until {
                secrets.extend(open(previous));
            }
        }
        Some(secrets)
    }
}

/// What an operator sends to register or change an endpoint (absent fields stay as they are).
#[derive(Debug, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

const MAX_DESCRIPTION_CHARS: usize = 400;

fn description(text: &str) -> Result<String, AppError> {
    let text = text.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// The URL checked in form and in where it resolves now (again at every send).
async fn checked_url(webhooks: &Webhooks, url: &str) -> Result<String, AppError> {
    let url = url.trim();
    webhooks
        .client
        .check_target(url)
        .await
        .map_err(|why| AppError::invalid("url", why))?;
    Ok(url.to_owned())
}

fn audit_detail(endpoint: &WebhookEndpoint) -> String {
    // The host and the types, never the secret nor the URL's path or query (which may carry a
    // token of the receiver's).
    let host = url::Url::parse(&endpoint.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let types: Vec<&str> = endpoint.event_types.iter().map(|t| t.as_str()).collect();
    serde_json::json!({"host": host, "event_types": types, "enabled": endpoint.enabled}).to_string()
}

/// Registers an endpoint: (the endpoint, its signing secret, shown only here).
pub async fn create(
    store: &Store,
    webhooks: &Webhooks,
    now: DateTime<Utc>,
    by: &Principal,
    input: EndpointInput,
) -> Result<(WebhookEndpoint, String), AppError> {
    let url = checked_url(
        webhooks,
        input
            .url
            .as_deref()
            .ok_or_else(|| AppError::invalid("url", "is required"))?,
    )
    .await?;
    let event_types = parse_event_types(input.event_types.as_deref().unwrap_or_default())
        .map_err(|why| AppError::invalid("event_types", why))?;
    let description = description(input.description.as_deref().unwrap_or_default())?;
    let enabled = input.enabled.unwrap_or(true);
    let id = WebhookEndpointId::generate();
    let (secret, sealed, mask) = webhooks.new_secret(&id);
    let endpoint = WebhookEndpoint {
        id,
        operator_id: by.operator.clone(),
        url,
        description,
        event_types,
        enabled,
        disabled_reason: (!enabled).then(|| "operator".to_owned()),
        disabled_at: (!enabled).then_some(now),
        failing_since: None,
        secret_sealed: sealed,
        secret_mask: mask,
        previous_secret_sealed: None,
        previous_secret_until: None,
        created_at: now,
        updated_at: now,
    };
    transaction!(store, |tx| {
        let count = store_webhooks::count_endpoints(&mut tx, &by.operator).await?;
        if count >= MAX_ENDPOINTS as i64 {
            return Err(AppError::Refused {
                code: "webhook_endpoint_limit",
                message: format!("an operator may have at most {MAX_ENDPOINTS} webhook endpoints; delete one first"),
            });
        }
        store_webhooks::insert_endpoint(&mut tx, &endpoint).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::WebhookEndpointCreate,
            Target::WebhookEndpoint(endpoint.id.as_str()),
            Some(&audit_detail(&endpoint)),
        )
        .await
    })
    .await?;
    Ok((endpoint, secret))
}

/// The operator's endpoints.
pub async fn list(store: &Store, by: &Principal) -> Result<Vec<WebhookEndpoint>, AppError> {
    Ok(store_webhooks::list_endpoints(store, &by.operator).await?)
}

fn endpoint_id(id: &str) -> Result<WebhookEndpointId, AppError> {
    WebhookEndpointId::parse(id).ok_or(AppError::NotFound)
}

/// One of the operator's endpoints; another operator's is "not found".
pub async fn get(store: &Store, by: &Principal, id: &str) -> Result<WebhookEndpoint, AppError> {
    store_webhooks::get_endpoint(store, &by.operator, &endpoint_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

/// Changes an endpoint. Disabling parks its waiting deliveries; enabling sends them again
/// (with a fresh three-day window) and forgets its run of failures.
pub async fn update(
    store: &Store,
    webhooks: &Webhooks,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    input: EndpointInput,
) -> Result<WebhookEndpoint, AppError> {
    let id = endpoint_id(id)?;
    let url = match input.url.as_deref() {
        Some(url) => Some(checked_url(webhooks, url).await?),
        None => None,
    };
    let event_types = input
        .event_types
        .as_deref()
        .map(parse_event_types)
        .transpose()
        .map_err(|why| AppError::invalid("event_types", why))?;
    let description = input.description.as_deref().map(description).transpose()?;
    transaction!(store, |tx| {
        let mut endpoint = store_webhooks::lock_endpoint(&mut tx, &by.operator, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(url) = &url {
            endpoint.url.clone_from(url);
        }
        if let Some(types) = &event_types {
            endpoint.event_types.clone_from(types);
        }
        if let Some(text) = &description {
            endpoint.description.clone_from(text);
        }
        match input.enabled {
            Some(true) if !endpoint.enabled => {
                endpoint.enabled = true;
                endpoint.disabled_reason = None;
                endpoint.disabled_at = None;
                endpoint.failing_since = None;
                store_webhooks::resume_deliveries(&mut tx, &id, now + DELIVERY_WINDOW, now).await?;
            }
            Some(false) if endpoint.enabled => {
                endpoint.enabled = false;
                endpoint.disabled_reason = Some("operator".to_owned());
                endpoint.disabled_at = Some(now);
                store_webhooks::pause_deliveries(&mut tx, &id).await?;
            }
            _ => {}
        }
        endpoint.updated_at = now;
        store_webhooks::update_endpoint(&mut tx, &endpoint).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::WebhookEndpointUpdate,
            Target::WebhookEndpoint(id.as_str()),
            Some(&audit_detail(&endpoint)),
        )
        .await?;
        Ok(endpoint)
    })
    .await
}

/// Deletes an endpoint: nothing is sent to it again (its log stays until purged).
pub async fn delete(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
) -> Result<(), AppError> {
    let id = endpoint_id(id)?;
    transaction!(store, |tx| {
        store_webhooks::lock_endpoint(&mut tx, &by.operator, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_webhooks::delete_endpoint(&mut tx, &id, now).await?;
        store_webhooks::pause_deliveries(&mut tx, &id).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::WebhookEndpointDelete,
            Target::WebhookEndpoint(id.as_str()),
            None,
        )
        .await
    })
    .await
}

/// Gives an endpoint a new signing secret (shown once); the previous one keeps signing, beside
/// it, until the returned time.
pub async fn rotate_secret(
    store: &Store,
    webhooks: &Webhooks,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
) -> Result<(String, DateTime<Utc>), AppError> {
    let id = endpoint_id(id)?;
    let (secret, sealed, mask) = webhooks.new_secret(&id);
    let until = now + ROTATION_OVERLAP;
    transaction!(store, |tx| {
        store_webhooks::lock_endpoint(&mut tx, &by.operator, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        store_webhooks::rotate_secret(&mut tx, &id, &sealed, &mask, until, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::WebhookEndpointRotateSecret,
            Target::WebhookEndpoint(id.as_str()),
            None,
        )
        .await
    })
    .await?;
    Ok((secret, until))
}

fn disabled() -> AppError {
    AppError::Refused {
        code: "endpoint_disabled",
        message: "this endpoint is disabled: enable it first".to_owned(),
    }
}

/// Queues a `webhook.test` event for this endpoint alone; returns the event id.
pub async fn send_test(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
) -> Result<String, AppError> {
    let id = endpoint_id(id)?;
    let event_id = events::new_event_id();
    let payload = webhook::test_payload(&event_id, now, id.as_str());
    transaction!(store, |tx| {
        let endpoint = store_webhooks::lock_endpoint(&mut tx, &by.operator, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !endpoint.enabled {
            return Err(disabled());
        }
        let event = store_webhooks::NewEvent {
            id: &event_id,
            operator: &by.operator,
            kind: webhook::EventType::Test,
            subject: None,
            payload: &payload,
            endpoints: &[store_webhooks::Subscriber {
                id: id.clone(),
                enabled: true,
            }],
            give_up_at: now + DELIVERY_WINDOW,
        };
        store_webhooks::insert_event(&mut tx, &event, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::WebhookEndpointTest,
            Target::WebhookEndpoint(id.as_str()),
            None,
        )
        .await
    })
    .await?;
    Ok(event_id)
}

/// Sends one event, or every delivery since a time that has not landed, to the endpoint again,
/// under the same event ids; returns how many. A disabled endpoint is refused.
pub async fn replay(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    which: Replay<'_>,
) -> Result<u64, AppError> {
    let id = endpoint_id(id)?;
    transaction!(store, |tx| {
        let endpoint = store_webhooks::lock_endpoint(&mut tx, &by.operator, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !endpoint.enabled {
            return Err(disabled());
        }
        let count = store_webhooks::replay(&mut tx, &id, which, now + DELIVERY_WINDOW, now).await?;
        if matches!(which, Replay::Event(_)) && count == 0 {
            // No delivery of that event to this endpoint (or one is being sent right now).
            return Err(AppError::NotFound);
        }
        let detail = match which {
            Replay::Event(event) => serde_json::json!({"event_id": event}),
            Replay::FailedSince(since) => {
                serde_json::json!({"failed_since": since.to_rfc3339(), "count": count})
            }
        };
        audit::record(
            &mut tx,
            by,
            now,
            Action::WebhookEndpointReplay,
            Target::WebhookEndpoint(id.as_str()),
            Some(&detail.to_string()),
        )
        .await?;
        Ok(count)
    })
    .await
}

/// The most log lines one read returns.
pub const MAX_LOG_LINES: i64 = 200;

/// An endpoint's delivery log, newest first.
pub async fn attempts(
    store: &Store,
    by: &Principal,
    id: &str,
    before: Option<DateTime<Utc>>,
    limit: Option<i64>,
) -> Result<Vec<Attempt>, AppError> {
    let endpoint = get(store, by, id).await?;
    let limit = limit.unwrap_or(50).clamp(1, MAX_LOG_LINES);
    Ok(store_webhooks::list_attempts(store, &endpoint.id, before, limit).await?)
}

/// An endpoint's deliveries, newest first, of one status when given.
pub async fn deliveries(
    store: &Store,
    by: &Principal,
    id: &str,
    status: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<Delivery>, AppError> {
    const STATUSES: [&str; 5] = ["pending", "sending", "delivered", "dead", "paused"];
    if let Some(status) = status {
        if !STATUSES.contains(&status) {
            return Err(AppError::invalid(
                "status",
                format!("must be one of {}", STATUSES.join(", ")),
            ));
        }
    }
    let endpoint = get(store, by, id).await?;
    let limit = limit.unwrap_or(50).clamp(1, MAX_LOG_LINES);
    Ok(store_webhooks::list_deliveries(store, &endpoint.id, status, limit).await?)
}
