//! `berth check`: the seat invariant, the ledger, promo code redemptions, shared resources'
//! capacity and waitlist holds, verified over the whole database.

use crate::domain::records::Violation;
use crate::error::AppError;
use chrono::{DateTime, Utc};

use super::resources as shared;
use crate::storage::{departures, ledger, promos, waitlist as waiting_lines, Store};

/// Every departure where `seats_taken` differs from the seats of its held, confirmed and
/// checked-in bookings or exceeds capacity, and every booking whose items disagree with it.
pub async fn seat_invariant(store: &Store) -> Result<Vec<Violation>, AppError> {
    Ok(departures::seat_violations(store).await?)
}

/// Every booking whose ledger disagrees with its payment status.
pub async fn ledger(store: &Store) -> Result<Vec<Violation>, AppError> {
    Ok(ledger::violations(store).await?)
}

/// Every promo code redeemed by more live bookings than its maximum, and every booking that
/// gave its seats back without giving its code's use back.
pub async fn promo_codes(store: &Store, now: DateTime<Utc>) -> Result<Vec<Violation>, AppError> {
    let mut violations: Vec<Violation> = promos::over_redeemed(store, now)
        .await?
        .into_iter()
        .map(|(id, live, max)| Violation {
            subject: format!("promo code {id}"),
            detail: format!("{live} live bookings redeem it, its maximum is {max}"),
        })
        .collect();
    violations.extend(
        promos::unreleased_of_dead_bookings(store)
            .await?
            .into_iter()
            .map(|(booking, status)| Violation {
                subject: format!("booking {booking}"),
                detail: format!("is {status} but its promo code redemption was never released"),
            }),
    );
    Ok(violations)
}

/// Every shared resource that the departures drawing on it ask more of, at some moment, than
/// its capacity.
pub async fn resources(store: &Store, now: DateTime<Utc>) -> Result<Vec<Violation>, AppError> {
    Ok(shared::overdrawn(store, now)
        .await?
        .into_iter()
        .map(|(resource, at, running)| {
            let drawn: u64 = running
                .iter()
                .map(|d| u64::from(resource.draw.amount(d.seats)))
                .sum();
            let departures: Vec<String> = running.iter().map(|d| d.departure.to_string()).collect();
            Violation {
                subject: format!("resource {}", resource.id),
                detail: format!(
                    "{drawn} drawn at {} by departures {}, its capacity is {}",
                    at.to_rfc3339(),
                    departures.join(", "),
                    resource.capacity
                ),
            }
        })
        .collect())
}

/// Every waitlist entry marked offered whose hold is missing, on another departure, or for
/// other seats than the traveler waited for.
pub async fn waitlist(store: &Store) -> Result<Vec<Violation>, AppError> {
    Ok(waiting_lines::offers_astray(store)
        .await?
        .into_iter()
        .map(|(entry, why)| Violation {
            subject: format!("waitlist entry {entry}"),
            detail: why,
        })
        .collect())
}

/// Everything `berth check` verifies, at `now` (a hold whose time is up holds nothing).
pub async fn all(store: &Store, now: DateTime<Utc>) -> Result<Vec<Violation>, AppError> {
    let mut violations = seat_invariant(store).await?;
    violations.extend(ledger(store).await?);
    violations.extend(promo_codes(store, now).await?);
    violations.extend(resources(store, now).await?);
    violations.extend(waitlist(store).await?);
    Ok(violations)
}
