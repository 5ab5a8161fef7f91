//! `availability.changed`, debounced: changes leave marks (see [`super::events`]); each worker
//! round turns a departure's marks into one event carrying its latest numbers, at most one per
//! departure per second. The worker never locks a departure, so it cannot deadlock with holds,
//! and two instances never both send for one departure in the same second.

use chrono::{DateTime, Utc};

use super::events;
use crate::domain::webhook::{EventType, AVAILABILITY_DEBOUNCE};
use crate::error::AppError;
use crate::storage::webhooks as store_webhooks;
use crate::storage::{departures, Store};

/// Departures looked at per round.
const BATCH: i64 = 200;

/// Writes the due availability events; returns how many departures were settled (an event
/// written, or its marks dropped when nobody subscribes any more).
pub async fn emit(store: &Store, now: DateTime<Utc>) -> Result<usize, AppError> {
    if !store_webhooks::has_marks(store).await? {
        return Ok(0);
    }
    transaction!(store, |tx| {
        let marked = store_webhooks::marked_departures(&mut tx, BATCH).await?;
        let mut settled = 0;
        for (departure, operator) in marked {
            // Sent less than a second ago: its marks wait for the next round.
            if !store_webhooks::take_availability_slot(
                &mut tx,
                &departure,
                now - AVAILABILITY_DEBOUNCE,
                now,
            )
            .await?
            {
                continue;
            }
            // Marks first, then the reading: every change whose mark goes here is seen below.
            // None left: another instance sent them meanwhile.
            if store_webhooks::clear_marks(&mut tx, &departure).await? == 0 {
                continue;
            }
            settled += 1;
            let kind = EventType::AvailabilityChanged;
            let endpoints = store_webhooks::subscribers(&mut tx, &operator, kind).await?;
            if endpoints.is_empty() {
                continue;
            }
            if let Some(record) = departures::read_in(&mut tx, &departure, now).await? {
                events::insert(&mut tx, &operator, kind, &record, false, &endpoints, now).await?;
            }
        }
        Ok(settled)
    })
    .await
}
