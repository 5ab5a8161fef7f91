//! `berth check`: the seat invariant and the ledger, verified over the whole database.

use crate::domain::records::Violation;
use crate::error::AppError;
use crate::storage::{departures, ledger, Store};

/// Every departure where `seats_taken` differs from the seats of its held, confirmed and
/// checked-in bookings or exceeds capacity, and every booking whose items disagree with it.
pub async fn seat_invariant(store: &Store) -> Result<Vec<Violation>, AppError> {
    Ok(departures::seat_violations(store).await?)
}

/// Every booking whose ledger disagrees with its payment status.
pub async fn ledger(store: &Store) -> Result<Vec<Violation>, AppError> {
    Ok(ledger::violations(store).await?)
}

/// Everything `berth check` verifies.
pub async fn all(store: &Store) -> Result<Vec<Violation>, AppError> {
    let mut violations = seat_invariant(store).await?;
    violations.extend(ledger(store).await?);
    Ok(violations)
}
