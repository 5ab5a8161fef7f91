//! Secret iCalendar feeds: of a tour's departures (an admin makes one per calendar that
//! subscribes: the office calendar, a shared phone), or of a guide's assignments (the guide
//! makes their own). The URL is shown once and may be revoked. A feed lists departures from a
//! day ago to a year ahead, with seats taken of capacity, cancelled ones marked
//! `STATUS:CANCELLED`, each under a stable UID.

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::catalogue::{self, own_tour};
use super::guides::{self, signed_in_user};
use super::principal::Principal;
use crate::domain::capacity::DepartureStatus;
use crate::domain::ical;
use crate::domain::ids::{CalendarFeedId, TourId};
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::error::AppError;
use crate::storage::calendar_feeds::{self, CalendarFeed, FeedSubject};
use crate::storage::{departures, Store};

/// Where a tour's feed is served: `FEED_PATH?key=<token>`. The token rides in the query, which
/// berth never logs.
pub const FEED_PATH: &str = "/feeds/tour.ics";
/// Where a guide's feed is served, the same way.
pub const GUIDE_FEED_PATH: &str = "/feeds/guide.ics";

/// Makes a feed of one of the caller's tours: (the feed, its URL's token, shown once).
pub async fn create(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    tour: &TourId,
    label: &str,
) -> Result<(CalendarFeed, String), AppError> {
    own_tour(store, &by.operator, tour).await?;
    insert(store, now, by, FeedSubject::Tour(tour.clone()), label).await
}

/// Makes a feed of the signed-in caller's own assignments as a guide.
pub async fn create_for_guide(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    label: &str,
) -> Result<(CalendarFeed, String), AppError> {
    let user = signed_in_user(by)?.clone();
    insert(store, now, by, FeedSubject::Guide(user), label).await
}

async fn insert(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    subject: FeedSubject,
    label: &str,
) -> Result<(CalendarFeed, String), AppError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(AppError::invalid("label", "must be 1 to 100 characters"));
    }
    let (token, hash) = crate::secrets::generate_token("bcf_");
    let detail = match &subject {
        FeedSubject::Tour(tour) => serde_json::json!({"tour": tour.as_str()}),
        FeedSubject::Guide(user) => serde_json::json!({"guide": user.as_str()}),
    };
    let feed = CalendarFeed {
        id: CalendarFeedId::generate(),
        subject,
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
            Some(&detail.to_string()),
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
    Ok(calendar_feeds::list_of(store, &FeedSubject::Tour(tour.clone())).await?)
}

/// The signed-in caller's own guide feeds.
pub async fn list_mine(store: &Store, by: &Principal) -> Result<Vec<CalendarFeed>, AppError> {
    let user = signed_in_user(by)?.clone();
    Ok(calendar_feeds::list_of(store, &FeedSubject::Guide(user)).await?)
}

/// Revokes a feed of the caller's operator (an admin: any of them, a guide's too), or with
/// `own_only` one of the caller's own guide feeds: its URL answers 404 from now on.
pub async fn revoke(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &CalendarFeedId,
    own_only: bool,
) -> Result<(), AppError> {
    let user = if own_only {
        Some(signed_in_user(by)?.clone())
    } else {
        None
    };
    transaction!(store, |tx| {
        if !calendar_feeds::revoke(&mut tx, &by.operator, user.as_ref(), id, now).await? {
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

/// The calendar a feed token opens at `path` ([`FEED_PATH`] for a tour's feed,
/// [`GUIDE_FEED_PATH`] for a guide's); an unknown or revoked token, a deactivated guide's, or
/// one of the other kind is "not found".
pub async fn calendar(
    store: &Store,
    now: DateTime<Utc>,
    path: &str,
    token: &str,
) -> Result<String, AppError> {
    if !token.starts_with("bcf_") || token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let feed = calendar_feeds::find_live(store, &crate::secrets::hash_token(token))
        .await?
        .ok_or(AppError::NotFound)?;
    match (&feed.subject, path) {
        (FeedSubject::Tour(tour), FEED_PATH) => {
            let tour = catalogue::tour(store, tour).await?;
            let listed = departures::list_for_tour(
                store,
                &tour.id,
                now - Duration::days(guides::DAYS_BACK),
                now + Duration::days(guides::DAYS_AHEAD),
                now,
            )
            .await?;
            let events: Vec<ical::Event> = listed.iter().map(|d| event(d, &tour, "")).collect();
            let name = format!("{} ({})", tour.tour.name, feed.label);
            Ok(ical::calendar(
                "-//berth//departures//EN",
                Some(&name),
                &events,
                now,
            ))
        }
        (FeedSubject::Guide(user), GUIDE_FEED_PATH) => {
            let assigned = guides::assignments_of(store, now, user).await?;
            // Its own UIDs: a calendar subscribed to both a tour's feed and a guide's keeps
            // two entries, not one that flips between them.
            let events: Vec<ical::Event> = assigned
                .iter()
                .map(|(d, tour)| event(d, tour, ".guide"))
                .collect();
            Ok(ical::calendar(
                "-//berth//guide assignments//EN",
                Some(&feed.label),
                &events,
                now,
            ))
        }
        _ => Err(AppError::NotFound),
    }
}

/// A departure as a calendar entry: the tour's name with seats taken of capacity.
fn event(departure: &DepartureRecord, tour: &TourRecord, uid_suffix: &str) -> ical::Event {
    let occupancy = &departure.occupancy;
    let taken = occupancy
        .seats_taken
        .saturating_sub(occupancy.seats_expired);
    let duration = Duration::minutes(i64::from(tour.tour.duration_minutes));
    ical::Event {
        uid: format!("{}{uid_suffix}@berth", departure.id),
        start: occupancy.starts_at,
        end: occupancy.starts_at + duration,
        summary: format!("{} ({taken}/{})", tour.tour.name, occupancy.capacity),
        location: tour.tour.meeting_point.clone(),
        description: format!("{taken} of {} seats taken", occupancy.capacity),
        cancelled: occupancy.status == DepartureStatus::Cancelled,
    }
}
