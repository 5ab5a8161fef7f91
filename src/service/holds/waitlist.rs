//! Offers to waiting lines: when seats free up on a departure with travelers waiting (a
//! cancellation, a lapsed hold, more capacity), berth holds them for the first who fit, in the
//! order they joined, and tells them by email and SMS how to complete the booking before the
//! hold lapses. A lapsed offer frees its seats again, and the next pass serves whoever is next.
//!
//! Safe on several instances: each offer is a hold placed under the departure's lock, refused
//! (`waitlist_not_served`) unless the seats free at that moment serve that entry, and it marks
//! the entry offered in the same transaction only while it still waits; two instances offering
//! at once place one hold per entry at most.

use chrono::{DateTime, Duration, Utc};

use super::{take_seats, NewHold, Requester};
use crate::domain::pricing::ItemRequest;
use crate::domain::waitlist::{served, EntryStatus};
use crate::error::AppError;
use crate::service::payments::Payments;
use crate::service::waitlist::{departures_with_waiting, BATCH};
use crate::storage::{departures, waitlist as stored, Store};

/// Offers the seats free on departures with travelers waiting, every such departure however
/// many there are; returns how many holds it placed. One departure that fails does not stop the
/// others.
pub async fn offer_freed_seats(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    offer_ttl: Duration,
) -> Result<usize, AppError> {
    offer_freed_seats_reading(store, payments, now, offer_ttl, BATCH).await
}

/// `offer_freed_seats`, reading the departures with a line `batch` at a time (tests make it
/// small, to show that a departure beyond the first batch is served).
#[doc(hidden)]
pub async fn offer_freed_seats_reading(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    offer_ttl: Duration,
    batch: usize,
) -> Result<usize, AppError> {
    let mut offered = 0;
    for (departure, sales) in departures_with_waiting(store, batch).await? {
        // No seat of it can be sold: its line is closed (`service::waitlist::close_ended`),
        // not offered to again and again.
        if sales.closed(now) {
            continue;
        }
        match offer_on(store, payments, now, offer_ttl, &departure).await {
            Ok(count) => offered += count,
            Err(error) => {
                tracing::warn!(departure = %departure, %error, "could not offer freed seats to the waitlist")
            }
        }
    }
    Ok(offered)
}

async fn offer_on(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    offer_ttl: Duration,
    departure_id: &crate::domain::ids::DepartureId,
) -> Result<usize, AppError> {
    let Some(departure) = departures::get(store, departure_id, now).await? else {
        return Ok(0);
    };
    let tour = crate::service::catalogue::tour(store, &departure.tour_id).await?;
    let mut listed = [departure];
    crate::service::resources::limit(store, &tour, &mut listed, now).await?;
    let [departure] = listed;
    let line = stored::waiting_of(store, &[departure_id])
        .await?
        .remove(departure_id)
        .unwrap_or_default();
    // A first guess, without the lock: each hold below decides again under it.
    let free = departure.occupancy.free();
    let mut offered = 0;
    for waiting in served(free, &line) {
        let Some(entry) = stored::get(store, &waiting.id).await? else {
            continue;
        };
        if entry.status != EntryStatus::Waiting {
            continue;
        }
        let items: Vec<ItemRequest> = entry
            .items
            .iter()
            .map(|item| ItemRequest {
                unit: item.unit.clone(),
                quantity: i64::from(item.quantity),
            })
            .collect();
        let hold = NewHold {
            departure_id: departure_id.clone(),
            customer: entry.customer.clone(),
            items: &items,
            resale: None,
            promo_code: None,
            waitlist: Some(&entry.id),
        };
        match take_seats(
            store,
            payments,
            now,
            offer_ttl,
            hold,
            None,
            Requester::UNLIMITED,
        )
        .await
        {
            Ok(placed) => {
                offered += 1;
                tracing::info!(departure = %departure_id, entry = %entry.id, booking = %placed.booking.reference, "offered freed seats to the waitlist");
            }
            // The provider did not start the payment and berth gave the hold up at once: the
            // traveler keeps their place, and a later pass offers again.
            Err(AppError::PaymentUnavailable) => {
                tracing::warn!(departure = %departure_id, entry = %entry.id, "waitlist offer not made: the payment could not be started; the entry waits again");
                crate::service::waitlist::reopen(store, now, &entry.id).await?;
                break;
            }
            // The line or the seats changed since they were read: the next pass sees anew.
            Err(
                AppError::Refused { .. } | AppError::SoldOut { .. } | AppError::SalesClosed { .. },
            ) => break,
            Err(AppError::Validation(_)) => {
                // A unit the tour no longer sells: the entry can never be priced, and would hold
                // its seats back for good. It leaves the line.
                tracing::warn!(departure = %departure_id, entry = %entry.id, "waitlist entry wants units the tour no longer sells: removed");
                crate::service::waitlist::drop_unsellable(store, now, &entry.id).await?;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(offered)
}
