//! Guaranteed departures: at its decision time (its minimum's hours before it starts) a
//! departure with a minimum of participants is decided once, under its row lock, so several
//! berth instances and bookings racing the decision agree: with enough confirmed seats it is
//! guaranteed and its travelers are told it will run; with too few it is cancelled, every booking
//! refunded in full, and its travelers are told why. An operator may guarantee it earlier (or
//! cancel it as any departure).

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::catalogue::{self, cancel_locked, own_departure, Cancellation};
use super::notifications;
use super::principal::Principal;
use super::webhooks::events as webhook_events;
use crate::domain::booking::CancelReason;
use crate::domain::capacity::DepartureStatus;
use crate::domain::ids::DepartureId;
use crate::domain::message::MessageKind;
use crate::domain::minimum::{
    parse_decision_hours, parse_participants, Decision, MAX_DECISION_HOURS,
};
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::domain::webhook::EventType;
use crate::error::{AppError, Problems};
use crate::storage::{bookings, departures, Store, WriteTx};

/// Departures looked at per round.
const BATCH: i64 = 500;

/// Decides every departure whose decision time has come; returns how many were decided. Reads
/// every undecided departure with a minimum in the next 30 days, a page at a time (a departure
/// with a long decision time may be due behind many nearer ones that are not), and one that
/// cannot be decided is logged and left for the next round without stopping the others.
pub async fn decide_due(store: &Store, now: DateTime<Utc>) -> Result<usize, AppError> {
    let until = now + Duration::hours(MAX_DECISION_HOURS);
    let mut decided = 0;
    let mut after: Option<(DateTime<Utc>, DepartureId)> = None;
    loop {
        let page = departures::undecided_with_minimum(
            store,
            now,
            until,
            after.as_ref().map(|(at, id)| (*at, id)),
            BATCH,
        )
        .await?;
        for departure in &page {
            match decide_if_due(store, now, departure).await {
                Ok(true) => decided += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(departure = %departure.id, %error, "departure not decided; tried again next round");
                }
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == BATCH => {
                after = Some((last.occupancy.starts_at, last.id.clone()));
            }
            _ => return Ok(decided),
        }
    }
}

async fn decide_if_due(
    store: &Store,
    now: DateTime<Utc>,
    departure: &DepartureRecord,
) -> Result<bool, AppError> {
    let tour = catalogue::tour(store, &departure.tour_id).await?;
    let due = departure
        .minimum(&tour.tour)
        .is_some_and(|m| m.decision_at(departure.occupancy.starts_at) <= now);
    if !due {
        return Ok(false);
    }
    let by = Principal::system(&tour.operator_id);
    Ok(decide(store, now, &by, &tour, &departure.id, false)
        .await?
        .is_some())
}

/// `POST /v1/departures/{id}/guarantee`: the operator decides now that it runs, whatever is
/// booked.
pub async fn guarantee(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &DepartureId,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let (tour, _) = own_departure(store, now, &by.operator, id).await?;
    let decision = decide(store, now, by, &tour, id, true).await?;
    let (tour, departure) = own_departure(store, now, &by.operator, id).await?;
    if decision.is_none() {
        // Nothing decided: already guaranteed (fine), cancelled, or started.
        if departure.occupancy.status == DepartureStatus::Cancelled {
            return Err(AppError::DepartureCancelled);
        }
        if departure.guaranteed_at.is_none() {
            return Err(AppError::Refused {
                code: "departure_started",
                message: "the departure has started: there is nothing left to decide".to_owned(),
            });
        }
    }
    Ok((tour, departure))
}

/// Decides one departure under its lock; `None` when there was nothing to decide (already
/// guaranteed or cancelled, started, or, for berth's own decision, without a minimum).
async fn decide(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    tour: &TourRecord,
    id: &DepartureId,
    by_hand: bool,
) -> Result<Option<Decision>, AppError> {
    let decided = transaction!(store, |tx| {
        let Some(departure) = departures::lock(&mut tx, id).await? else {
            return Ok(None);
        };
        let occupancy = &departure.occupancy;
        if occupancy.status == DepartureStatus::Cancelled
            || departure.guaranteed_at.is_some()
            || occupancy.starts_at <= now
        {
            return Ok(None);
        }
        let booked = bookings::booked_on(&mut tx, id).await?;
        let seats: u32 = booked.iter().map(|(_, seats)| seats).sum();
        let decision = match departure.minimum(&tour.tour) {
            _ if by_hand => Decision::Run,
            // Read again under the lock: a minimum or decision time changed since it was found
            // due decides nothing early.
            Some(minimum) if minimum.decision_at(occupancy.starts_at) <= now => {
                minimum.decide(seats)
            }
            _ => return Ok(None),
        };
        match decision {
            Decision::Run => {
                run(&mut tx, by, &departure, &booked, seats, now).await?;
            }
            Decision::Cancel { booked, needed } => {
                let why = Cancellation {
                    reason: CancelReason::MinimumNotReached,
                    message: MessageKind::DepartureNotRunning,
                    detail: serde_json::json!({
                        "reason": CancelReason::MinimumNotReached.as_str(),
                        "booked": booked, "needed": needed,
                    }),
                };
                let (_, cancelled) = cancel_locked(&mut tx, by, departure, why, now).await?;
                return Ok(Some((decision, cancelled)));
            }
        }
        Ok(Some((decision, Vec::new())))
    })
    .await?;
    let Some((decision, cancelled)) = decided else {
        return Ok(None);
    };
    tracing::info!(departure = %id, ?decision, by_hand, "departure decided");
    if matches!(decision, Decision::Cancel { .. }) {
        catalogue::log_cancelled(id, &cancelled);
    }
    Ok(Some(decision))
}

async fn run(
    tx: &mut WriteTx,
    by: &Principal,
    departure: &DepartureRecord,
    booked: &[(crate::domain::ids::BookingId, u32)],
    seats: u32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let id = &departure.id;
    departures::set_guaranteed(tx, id, now).await?;
    for (booking, _) in booked {
        notifications::enqueue(tx, booking, MessageKind::DepartureGuaranteed, now).await?;
    }
    webhook_events::departures_changed(
        tx,
        &by.operator,
        std::slice::from_ref(id),
        EventType::DepartureChanged,
        now,
    )
    .await?;
    let detail = serde_json::json!({ "booked": seats }).to_string();
    audit::record(
        tx,
        by,
        now,
        Action::DepartureGuarantee,
        Target::Departure(id.as_str()),
        Some(&detail),
    )
    .await?;
    Ok(())
}

/// A departure's own minimum as an operator sends it: a number, or `null` for the tour's.
pub struct MinimumChange {
    pub min_participants: Option<Option<i64>>,
    pub decision_hours: Option<Option<i64>>,
}

/// A checked [`MinimumChange`]: outer `None` leaves a setting as it is, `Some(None)` goes back
/// to the tour's.
pub struct CheckedMinimum {
    min_participants: Option<Option<u32>>,
    decision_hours: Option<Option<u32>>,
}

impl MinimumChange {
    /// Checks the values before anything is written.
    pub fn check(self) -> Result<CheckedMinimum, AppError> {
        let mut p = Problems::new();
        let min_participants = match self.min_participants {
            Some(Some(value)) => p
                .check("min_participants", parse_participants(value))
                .map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let decision_hours = match self.decision_hours {
            Some(Some(value)) => p
                .check("decision_hours", parse_decision_hours(value))
                .map(Some),
            Some(None) => Some(None),
            None => None,
        };
        p.into_result()?;
        Ok(CheckedMinimum {
            min_participants,
            decision_hours,
        })
    }
}

impl CheckedMinimum {
    pub fn changes_anything(&self) -> bool {
        self.min_participants.is_some() || self.decision_hours.is_some()
    }
}

/// Sets a departure's own minimum or decision time. A departure already decided (guaranteed or
/// cancelled) keeps its decision; one whose new decision time has passed is decided at the next
/// round.
pub async fn set_minimum(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &DepartureId,
    change: &CheckedMinimum,
) -> Result<(), AppError> {
    own_departure(store, now, &by.operator, id).await?;
    transaction!(store, |tx| {
        let departure = departures::lock(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let min_participants = change
            .min_participants
            .unwrap_or(departure.min_participants);
        let decision_hours = change.decision_hours.unwrap_or(departure.decision_hours);
        departures::set_minimum(&mut tx, id, min_participants, decision_hours, now).await?;
        let detail = serde_json::json!({
            "min_participants": min_participants, "decision_hours": decision_hours,
        })
        .to_string();
        audit::record(
            &mut tx,
            by,
            now,
            Action::DepartureMinimum,
            Target::Departure(id.as_str()),
            Some(&detail),
        )
        .await
    })
    .await
}
