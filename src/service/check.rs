//! `berth check`: the seat invariant, verified over the whole database.

use crate::domain::records::Violation;
use crate::error::AppError;
use crate::storage::{occurrences, Store};

/// Every occurrence where `seats_taken` differs from the seats of its held, confirmed and
/// checked-in bookings or exceeds capacity, and every booking whose items disagree with it.
pub async fn seat_invariant(store: &Store) -> Result<Vec<Violation>, AppError> {
    Ok(occurrences::seat_violations(store).await?)
}
