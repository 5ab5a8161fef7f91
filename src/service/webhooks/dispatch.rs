//! Sends due deliveries: claimed under a lease (so several berth processes share the queue and
//! a dead one's claims are taken over), posted outside any transaction, each outcome logged and
//! settled in its own short transaction. A failure is retried with backoff until three days
//! after the event; an endpoint that has failed without a single success for that long is
//! disabled and its owners are emailed.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::Rng;

use super::Webhooks;
use crate::domain::webhook::{next_attempt, signature_header, DELIVERY_WINDOW};
use crate::error::AppError;
use crate::service::account_mail::{self, AccountMessage};
use crate::storage::webhooks::{self as store_webhooks, Attempt, Claimed, Settled};
use crate::storage::{accounts, Store};

/// How long a claim lasts: longer than any send (the timeout is at most 30 s).
const LEASE_SECONDS: i64 = 60;
/// Deliveries claimed, and sent concurrently, per round.
const BATCH: i64 = 16;

/// Sends what is due; returns how many deliveries were attempted.
pub async fn dispatch_once(
    store: &Store,
    webhooks: &Arc<Webhooks>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let started = std::time::Instant::now();
    // Time moves on while a round sends. Whole milliseconds, the precision both databases
    // store: the lease is compared for equality when settling.
    let clock = move || {
        let elapsed =
            Duration::milliseconds(started.elapsed().as_millis().try_into().unwrap_or(i64::MAX));
        (now + elapsed).trunc_subsecs(3)
    };
    let mut attempted = 0;
    loop {
        let claimed_at = clock();
        let lease = claimed_at + Duration::seconds(LEASE_SECONDS);
        let claimed = transaction!(store, |tx| {
            Ok(store_webhooks::claim_due(&mut tx, claimed_at, lease, BATCH).await?)
        })
        .await?;
        if claimed.is_empty() {
            return Ok(attempted);
        }
        attempted += claimed.len();
        let mut sends = tokio::task::JoinSet::new();
        for delivery in claimed {
            let (store, webhooks) = (store.clone(), webhooks.clone());
            sends.spawn(async move { deliver(&store, &webhooks, delivery, lease, clock).await });
        }
        // One failure never stops the others of the batch mid-send: a delivery whose outcome
        // could not be recorded is sent again when its lease ends.
        while let Some(joined) = sends.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "a webhook delivery's outcome was not recorded")
                }
                Err(error) => tracing::error!(%error, "a webhook send panicked"),
            }
        }
    }
}

async fn deliver(
    store: &Store,
    webhooks: &Webhooks,
    delivery: Claimed,
    lease: DateTime<Utc>,
    clock: impl Fn() -> DateTime<Utc>,
) -> Result<(), AppError> {
    let endpoint = store_webhooks::endpoint_by_id(store, &delivery.endpoint_id).await?;
    let event = store_webhooks::event(store, &delivery.event_id).await?;
    let (endpoint, (event_type, payload)) = match (endpoint, event) {
        (Some((endpoint, false)), Some(event)) if endpoint.enabled => (endpoint, event),
        // Disabled or deleted since it was queued: parked, resumed if it is enabled again.
        (Some(_), Some(_)) => {
            return settle_only(store, &delivery, lease, Settled::Paused, clock()).await
        }
        _ => return settle_only(store, &delivery, lease, Settled::Dead, clock()).await,
    };
    let sent_at = clock();
    let attempted = match webhooks.signing_secrets(&endpoint, sent_at) {
        Some(secrets) => {
            let timestamp = sent_at.timestamp();
            let signing: Vec<_> = secrets.iter().collect();
            let signature =
                signature_header(&signing, &delivery.event_id, timestamp, payload.as_bytes());
            let headers = [
                ("content-type", "application/json".to_owned()),
                ("webhook-id", delivery.event_id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
            ];
            webhooks.client.post(&endpoint.url, &headers, payload).await
        }
        None => crate::integrations::webhooks::Attempted {
            status: None,
            latency_ms: 0,
            error: Some(
                "the signing secret cannot be opened (BERTH_SECRET_KEY changed): rotate this endpoint's secret"
                    .to_owned(),
            ),
            excerpt: None,
        },
    };
    let now = clock();
    let outcome = if attempted.succeeded() {
        Settled::Delivered
    } else if now >= delivery.give_up_at {
        Settled::Dead
    } else {
        let jitter = rand::thread_rng().gen::<f64>();
        Settled::Retry(next_attempt(
            now,
            u32::try_from(delivery.attempts).unwrap_or(u32::MAX),
            jitter,
        ))
    };
    let attempt = Attempt {
        delivery_id: delivery.id.clone(),
        event_id: delivery.event_id.clone(),
        event_type,
        attempted_at: sent_at,
        status_code: attempted.status.map(i64::from),
        latency_ms: attempted.latency_ms,
        error: attempted.error.clone(),
        response_excerpt: attempted.excerpt.clone(),
    };
    let endpoint_id = endpoint.id.as_str();
    let disabled = transaction!(store, |tx| {
        store_webhooks::insert_attempt(&mut tx, endpoint_id, &attempt).await?;
        let mut disabled = false;
        let mut settled_as = outcome;
        if attempted.succeeded() {
            store_webhooks::note_success(&mut tx, endpoint_id).await?;
        } else {
            store_webhooks::note_failure(&mut tx, endpoint_id, sent_at).await?;
            disabled =
                store_webhooks::disable_failing(&mut tx, endpoint_id, now - DELIVERY_WINDOW, now)
                    .await?;
            if disabled {
                store_webhooks::pause_deliveries(&mut tx, &endpoint.id).await?;
                // Each owner hears of it once per disablement.
                let dedupe = format!("{endpoint_id}:{}", now.timestamp_millis());
                for owner in accounts::active_owners(&mut tx, &endpoint.operator_id).await? {
                    account_mail::enqueue(
                        &mut tx,
                        &endpoint.operator_id,
                        &owner,
                        AccountMessage::WebhookDisabled,
                        Some(endpoint_id),
                        &format!("{dedupe}:{owner}"),
                        now,
                    )
                    .await?;
                }
            }
            // Disabled by this send or by another one in flight at the same time: a retry
            // waits, parked, for the endpoint to be enabled again.
            if matches!(outcome, Settled::Retry(_))
                && !store_webhooks::is_enabled(&mut tx, endpoint_id).await?
            {
                settled_as = Settled::Paused;
            }
        }
        let settled = store_webhooks::settle(
            &mut tx,
            &delivery.id,
            lease,
            settled_as,
            attempted.status,
            attempted.error.as_deref(),
            now,
        )
        .await?;
        if !settled {
            tracing::warn!(delivery = %delivery.id, "webhook lease expired before its outcome was recorded");
        }
        Ok(disabled)
    })
    .await?;
    if disabled {
        tracing::warn!(endpoint = %endpoint_id, "webhook endpoint disabled after failing for three days");
    } else if let Some(error) = &attempted.error {
        tracing::info!(endpoint = %endpoint_id, event = %delivery.event_id, error, "webhook delivery failed");
    }
    Ok(())
}

async fn settle_only(
    store: &Store,
    delivery: &Claimed,
    lease: DateTime<Utc>,
    outcome: Settled,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    transaction!(store, |tx| {
        // Enabled again since it was read: sent at once rather than parked with nobody to wake it.
        let outcome = match outcome {
            Settled::Paused
                if store_webhooks::is_enabled(&mut tx, &delivery.endpoint_id).await? =>
            {
                Settled::Retry(now)
            }
            other => other,
        };
        store_webhooks::settle(&mut tx, &delivery.id, lease, outcome, None, None, now).await?;
        Ok(())
    })
    .await
}

/// Forgets delivery log lines, finished deliveries and their events older than the retention,
/// and the availability debounce of departures quiet for a day.
pub async fn purge(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    let before = now - crate::domain::webhook::ATTEMPT_RETENTION;
    // A departure quiet for a day starts afresh: its next change is sent at once anyway.
    let quiet = now - Duration::days(1);
    let mut purged = 0;
    loop {
        let deleted = store_webhooks::purge_attempts(store, before).await?
            + store_webhooks::purge_finished(store, before).await?
            + store_webhooks::purge_availability_slots(store, quiet).await?;
        purged += deleted;
        if deleted == 0 {
            return Ok(purged);
        }
    }
}
