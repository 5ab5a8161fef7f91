//! Secret iCalendar feeds of a tour's departures: an admin makes one per calendar that
//! subscribes (a guide's phone, the office calendar), gets its URL once, and may revoke it. The
//! feed lists the tour's departures from a day ago to a year ahead, with seats taken of capacity,
//! cancelled ones marked `STATUS:CANCELLED`, each under a stable UID.

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::catalogue::{self, own_tour};
use super::principal::Principal;
use crate::domain::capacity::DepartureStatus;
use crate::domain::ical;
use crate::domain::ids::{CalendarFeedId, TourId};
use crate::error::AppError;
use crate::storage::calendar_feeds::{self, CalendarFeed};
use crate::storage::{departures, Store};

/// Where feeds are served: `FEED_PATH?key=<token>`. The token rides in the query, which berth
/// never logs.
pub const FEED_PATH: &str = "/feeds/tour.ics";

/// How far back and ahead a feed lists departures.
const FEED_DAYS_BACK: i64 = 1;
const FEED_DAYS_AHEAD: i64 = 366;

/// Makes a feed of one of the caller's tours: (the feed, its URL's token, shown once).
pub async fn create(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    tour: &TourId,
    label: &str,
) -> Result<(CalendarFeed, String), AppError> {
    own_tour(store, &by.operator, tour).await?;
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(AppError::invalid("label", "must be 1 to 100 characters"));
    }
    let (token, hash) = crate::secrets::generate_token("bcf_");
    let feed = CalendarFeed {
        id: CalendarFeedId::generate(),
        tour_id: tour.clone(),
        label: label.to_owned(),
        created_at: now,
        revoked_at: None,
    };
    transaction!(store, |tx| {
        calendar_feeds::insert(&mut tx, &feed, &by.operator, &hash).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::CalendarFeedCreate,
            Target::CalendarFeed(feed.id.as_str()),
            Some(&serde_json::json!({"tour": tour.as_str()}).to_string()),
        )
        .await
    })
    .await?;
    Ok((feed, token))
}

/// The feeds of one of the caller's tours.
pub async fn list(
    store: &Store,
    by: &Principal,
    tour: &TourId,
) -> Result<Vec<CalendarFeed>, AppError> {
    own_tour(store, &by.operator, tour).await?;
    Ok(calendar_feeds::list_for_tour(store, tour).await?)
}

/// Revokes a feed of the caller's operator: its URL answers 404 from now on.
pub async fn revoke(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &CalendarFeedId,
) -> Result<(), AppError> {
    transaction!(store, |tx| {
        if !calendar_feeds::revoke(&mut tx, &by.operator, id, now).await? {
            return Err(AppError::NotFound);
        }
        audit::record(
            &mut tx,
            by,
            now,
            Action::CalendarFeedRevoke,
            Target::CalendarFeed(id.as_str()),
            None,
        )
        .await
    })
    .await
}

/// The calendar a feed token opens; an unknown or revoked token is "not found".
pub async fn calendar(store: &Store, now: DateTime<Utc>, token: &str) -> Result<String, AppError> {
    if !token.starts_with("bcf_") || token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let feed = calendar_feeds::find_live(store, &crate::secrets::hash_token(token))
        .await?
        .ok_or(AppError::NotFound)?;
    let tour = catalogue::tour(store, &feed.tour_id).await?;
    let listed = departures::list_for_tour(
        store,
        &tour.id,
        now - Duration::days(FEED_DAYS_BACK),
        now + Duration::days(FEED_DAYS_AHEAD),
        now,
    )
    .await?;
    let duration = Duration::minutes(i64::from(tour.tour.duration_minutes));
    let events: Vec<ical::Event> = listed
        .iter()
        .map(|d| {
            let occupancy = &d.occupancy;
            let taken = occupancy
                .seats_taken
                .saturating_sub(occupancy.seats_expired);
            ical::Event {
                uid: format!("{}@berth", d.id),
                start: occupancy.starts_at,
                end: occupancy.starts_at + duration,
                summary: format!("{} ({taken}/{})", tour.tour.name, occupancy.capacity),
                location: tour.tour.meeting_point.clone(),
                description: format!("{taken} of {} seats taken", occupancy.capacity),
                cancelled: occupancy.status == DepartureStatus::Cancelled,
            }
        })
        .collect();
    let name = format!("{} ({})", tour.tour.name, feed.label);
    Ok(ical::calendar(
        "-//berth//departures//EN",
        Some(&name),
        &events,
        now,
    ))
}
