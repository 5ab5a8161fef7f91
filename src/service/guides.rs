//! Guides on departures: an admin names who leads a departure (active users of the operator),
//! and one guide is never given two departures at once; a guide reads their own assignments
//! (also as a calendar feed, see [`super::calendar_feeds`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::catalogue::{self, own_departure};
use super::principal::{Actor, Principal};
use crate::domain::capacity::DepartureStatus;
use crate::domain::guide::{first_clash, Span, LOOK_BACK, MAX_GUIDES};
use crate::domain::ids::{DepartureId, TourId, UserId};
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::error::AppError;
use crate::storage::guides::{self as store_guides, AssignedGuide};
use crate::storage::{accounts, Store};

/// How far back and ahead a guide's own list (and calendar feed) reaches.
pub const DAYS_BACK: i64 = 1;
pub const DAYS_AHEAD: i64 = 366;

/// The user a principal signs in as; an API token or the command line is nobody's guide.
pub fn signed_in_user(by: &Principal) -> Result<&UserId, AppError> {
    match &by.actor {
        Actor::User { user, .. } => Ok(user),
        _ => Err(AppError::Refused {
            code: "user_required",
            message:
                "a guide's assignments and calendar belong to a signed-in user, not to an API token"
                    .to_owned(),
        }),
    }
}

/// Makes `user_ids` the guides of one of the caller's departures (an empty list clears it).
/// Each must be an active user of the operator whose other departures do not overlap this one:
/// the users are locked in id order, so two admins assigning one guide at once cannot both win.
pub async fn assign(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    departure: &DepartureId,
    user_ids: &[String],
) -> Result<Vec<AssignedGuide>, AppError> {
    let (tour, record) = own_departure(store, now, &by.operator, departure).await?;
    if record.occupancy.status == DepartureStatus::Cancelled {
        return Err(AppError::DepartureCancelled);
    }
    let mut users = Vec::new();
    for text in user_ids {
        let user = UserId::parse(text.trim())
            .ok_or_else(|| AppError::invalid("user_ids", format!("{text:?} is not a user id")))?;
        if !users.contains(&user) {
            users.push(user);
        }
    }
    if users.len() > MAX_GUIDES {
        return Err(AppError::invalid(
            "user_ids",
            format!("at most {MAX_GUIDES} guides per departure"),
        ));
    }
    users.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let wanted = Span::of(record.occupancy.starts_at, tour.tour.duration_minutes);
    transaction!(store, |tx| {
        for user in &users {
            // Another operator's user is refused before anything of theirs is locked.
            let theirs = accounts::get_user(store, &by.operator, user).await?.is_some();
            let row = if theirs { accounts::lock_user(&mut tx, user).await? } else { None }
                .filter(|u| u.operator_id == by.operator.as_str() && u.deactivated_at.is_none())
                .ok_or_else(|| {
                    AppError::invalid("user_ids", format!("{user} is not an active user of this operator"))
                })?;
            let others =
                store_guides::assigned_in(&mut tx, user, wanted.start - LOOK_BACK, wanted.end, now)
                    .await?;
            let mut taken = Vec::new();
            for other in others {
                if other.id == *departure || other.occupancy.status == DepartureStatus::Cancelled {
                    continue;
                }
                let other_tour = catalogue::tour(store, &other.tour_id).await?;
                let span = Span::of(other.occupancy.starts_at, other_tour.tour.duration_minutes);
                taken.push((span, other_tour.tour.name.clone()));
            }
            if let Some((span, name)) = first_clash(&wanted, &taken) {
                let zone = tour.tour.timezone;
                let local = |at: DateTime<Utc>| at.with_timezone(&zone).format("%Y-%m-%d %H:%M");
                return Err(AppError::Refused {
                    code: "guide_busy",
                    message: format!(
                        "{} already leads {name} from {} to {} ({zone}), which overlaps this departure",
                        row.name,
                        local(span.start),
                        local(span.end),
                    ),
                });
            }
        }
        store_guides::replace(&mut tx, &by.operator, departure, &users, now).await?;
        let ids: Vec<&str> = users.iter().map(|u| u.as_str()).collect();
        audit::record(
            &mut tx,
            by,
            now,
            Action::DepartureGuides,
            Target::Departure(departure.as_str()),
            Some(&serde_json::json!({ "guides": ids }).to_string()),
        )
        .await
    })
    .await?;
    Ok(store_guides::of_departure(store, departure).await?)
}

/// The guides of one of the caller's departures.
pub async fn of_departure(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    departure: &DepartureId,
) -> Result<Vec<AssignedGuide>, AppError> {
    own_departure(store, now, &by.operator, departure).await?;
    Ok(store_guides::of_departure(store, departure).await?)
}

/// The departures `user` leads from a day ago to a year ahead, with their tours, in start order.
pub async fn assignments_of(
    store: &Store,
    now: DateTime<Utc>,
    user: &UserId,
) -> Result<Vec<(DepartureRecord, TourRecord)>, AppError> {
    let from = now - Duration::days(DAYS_BACK);
    let to = now + Duration::days(DAYS_AHEAD);
    let departures = store_guides::assigned(store, user, from, to, now).await?;
    let mut tours = HashMap::new();
    let mut listed = Vec::with_capacity(departures.len());
    for departure in departures {
        let tour = tour_of(store, &mut tours, &departure.tour_id).await?;
        listed.push((departure, tour));
    }
    Ok(listed)
}

/// The signed-in caller's own assignments.
pub async fn mine(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
) -> Result<Vec<(DepartureRecord, TourRecord)>, AppError> {
    assignments_of(store, now, signed_in_user(by)?).await
}

async fn tour_of(
    store: &Store,
    tours: &mut HashMap<TourId, TourRecord>,
    id: &TourId,
) -> Result<TourRecord, AppError> {
    if let Some(tour) = tours.get(id) {
        return Ok(tour.clone());
    }
    let tour = catalogue::tour(store, id).await?;
    tours.insert(id.clone(), tour.clone());
    Ok(tour)
}
