//! Seat bookkeeping shared by the use cases that lock a departure (holds, bookings, payments,
//! catalogue): its own module so that none of them imports another for it.

use chrono::{DateTime, Utc};

use crate::domain::ids::DepartureId;
use crate::domain::records::ReleasedSeats;
use crate::error::AppError;
use crate::storage::{bookings, departures, WriteTx};

/// Releases the lapsed holds of a locked departure, updating its counter; returns the seats freed.
pub(crate) async fn release_lapsed(
    tx: &mut WriteTx,
    now: DateTime<Utc>,
    id: &DepartureId,
) -> Result<u32, AppError> {
    let released = bookings::release_lapsed_holds(tx, id, now).await?;
    let seats = total_seats(&released);
    departures::add_seats(tx, id, -i64::from(seats), now).await?;
    for hold in &released {
        tracing::info!(booking = %hold.reference, departure = %id, seats = hold.seats, "hold expired");
    }
    Ok(seats)
}

pub(crate) fn total_seats(released: &[ReleasedSeats]) -> u32 {
    released.iter().map(|r| r.seats).sum()
}
