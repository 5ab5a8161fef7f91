//! Moving a booking to another departure of its tour, and quoting what a cancellation would
//! refund. The rules are `domain::reschedule`; this module reads, locks and writes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::audit::{self, Action, Target};
use super::bookings::{accessible, Caller};
use super::plans::{departure_now, lock_move, shift_seats, MoveLocks};
use super::{finish, with_retry};
use crate::domain::ids::DepartureId;
use crate::domain::message::MessageKind;
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::domain::reschedule::{self, CancellationQuote, Move, Requester};
use crate::error::AppError;
use crate::storage::{bookings, departures, ledger, outbox, Store};

/// `POST /v1/bookings/{reference}/reschedule`: where to move the booking.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"departure_id": "01J9ZQ4W6Y8M2K3N5P7R9T1V3X"}))]
pub struct RescheduleRequest {
    /// Another departure of the booking's tour, on sale with enough seats.
    pub departure_id: String,
}

fn requester(caller: &Caller, booking: &BookingRecord) -> Requester {
    if caller.is_operator_of(booking) {
        Requester::Operator
    } else {
        Requester::Traveler
    }
}

/// What cancelling the booking now would refund, by the same rule the cancellation applies.
pub async fn cancellation_quote(
    store: &Store,
    now: DateTime<Utc>,
    reference: &str,
    caller: &Caller,
) -> Result<(BookingRecord, CancellationQuote), AppError> {
    let booking = accessible(store, reference, caller).await?;
    let tour = super::catalogue::tour(store, &booking.tour_id).await?;
    let departure = departures::get(store, &booking.departure_id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let (paid, refunded) = ledger::booking_totals(store, &booking.id).await?;
    let quote = reschedule::quote_cancellation(
        booking.effective_status(now),
        paid - refunded,
        departure.occupancy.starts_at,
        &tour.tour.cancellation_policy,
        requester(caller, &booking),
        now,
    );
    Ok((booking, quote))
}

/// The departures a booking could move to now: the tour's other departures on sale in the
/// next `days`, with room for its seats. For the manage page; the move itself decides again
/// under locks.
pub async fn targets(
    store: &Store,
    now: DateTime<Utc>,
    tour: &TourRecord,
    booking: &BookingRecord,
    days: i64,
) -> Result<Vec<DepartureRecord>, AppError> {
    let until = now + chrono::Duration::days(days);
    let mut listed = departures::list_for_tour(store, &tour.id, now, until, now).await?;
    super::resources::limit(store, tour, &mut listed, now).await?;
    super::waitlist::limit(store, &mut listed).await?;
    Ok(listed
        .into_iter()
        .filter(|d| d.id != booking.departure_id)
        .filter(|d| {
            d.occupancy
                .check_hold(booking.seats, tour.tour.cutoff_minutes, now)
                .is_ok()
        })
        .collect())
}

/// Moves a confirmed booking's seats to another departure of its tour, in one transaction
/// that locks both departures in id order (so two opposite moves, or a move and holds, never
/// deadlock) and then the booking. The traveler hears about it through the outbox.
pub async fn reschedule(
    store: &Store,
    now: DateTime<Utc>,
    reference: &str,
    caller: &Caller,
    request: RescheduleRequest,
) -> Result<BookingRecord, AppError> {
    let booking = accessible(store, reference, caller).await?;
    let by = requester(caller, &booking);
    let target = DepartureId::parse(request.departure_id.trim()).ok_or_else(|| {
        AppError::invalid("departure_id", "must be a departure of the booking's tour")
    })?;
    let tour = super::catalogue::tour(store, &booking.tour_id).await?;
    let event = ulid::Ulid::new().to_string();
    let moved = with_retry(store, || async {
        // Where the booking is now (a concurrent move may have changed it since `accessible`).
        let source = departure_now(store, &booking.id).await?;
        let mut tx = store.begin_write().await?;
        let result = async {
            let MoveLocks {
                from,
                to,
                booking: current,
            } = lock_move(&mut tx, now, &booking.id, &source, &target).await?;
            let Some(to) = to else {
                return Err(AppError::invalid(
                    "departure_id",
                    "must be a departure of the booking's tour",
                ));
            };
            let same_tour = to.tour_id == booking.tour_id;
            // The items at what the target sells them at now (its own prices, the tour's
            // rules), against what they cost when booked (before any promo code).
            let at_target = to.prices(&tour);
            let current_total =
                reschedule::total_at_current_prices(&tour.tour, &at_target, &booking.items)
                    .unwrap_or(i64::MIN);
            reschedule::check_move(
                &Move {
                    status: current.effective_status(now),
                    seats: current.seats,
                    total: current.subtotal(),
                    total_at_current_prices: current_total,
                    from: &from.occupancy,
                    to: &to.occupancy,
                    same_departure: to.id == from.id,
                    same_tour,
                    reschedule_allowed: tour.tour.reschedule_allowed,
                    cutoff_minutes: tour.tour.cutoff_minutes,
                    by,
                },
                now,
            )?;
            shift_seats(
                &mut tx,
                &current.operator_id,
                &from.id,
                &to.id,
                current.seats,
                current.seats,
                now,
            )
            .await?;
            bookings::set_departure(&mut tx, &current.id, &from.id, &to.id, now).await?;
            super::webhooks::events::booking_changed(
                &mut tx,
                &current,
                crate::domain::webhook::EventType::BookingRescheduled,
                now,
            )
            .await?;
            outbox::enqueue_event(
                &mut tx,
                &current.id,
                MessageKind::BookingRescheduled,
                Some(&event),
                now,
            )
            .await?;
            if let (Requester::Operator, Some(principal)) = (by, caller.operator.as_ref()) {
                let detail = format!("{} -> {}", from.id, to.id);
                audit::record(
                    &mut tx,
                    principal,
                    now,
                    Action::BookingReschedule,
                    Target::Booking(current.reference.as_str()),
                    Some(&detail),
                )
                .await?;
            }
            Ok(to.id)
        }
        .await;
        finish(tx, result).await
    })
    .await?;
    tracing::info!(
        booking = %booking.reference, from = %booking.departure_id, to = %moved,
        by = match by { Requester::Traveler => "traveler", Requester::Operator => "operator" },
        "booking rescheduled"
    );
    // Built from what was written, not re-read (a failed read after the commit would answer
    // 5xx for a move that happened).
    Ok(BookingRecord {
        departure_id: moved,
        updated_at: now,
        ..booking
    })
}
