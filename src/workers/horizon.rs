//! Keeps every recurring schedule materialized up to the horizon as days go by.

use chrono::{DateTime, Duration, Utc};

use crate::error::AppError;
use crate::service::catalogue;
use crate::storage::{catalogue as stored, Store};

/// One pass over schedules more than a day behind the horizon; returns departures created.
pub async fn run_once(
    store: &Store,
    now: DateTime<Utc>,
    horizon_days: u32,
) -> Result<usize, AppError> {
    let behind = now + Duration::days(i64::from(horizon_days)) - Duration::days(1);
    let mut created = 0;
    for schedule in stored::schedules_behind(store, behind, 100).await? {
        let extended = match catalogue::tour(store, &schedule.tour_id).await {
            Ok(tour) => catalogue::materialize(store, now, horizon_days, &tour, &schedule).await,
            Err(error) => Err(error),
        };
        // One broken schedule must not hold back the others.
        match extended {
            Ok(count) => created += count,
            Err(error) => {
                tracing::warn!(schedule = %schedule.id, %error, "could not extend schedule")
            }
        }
    }
    if created > 0 {
        tracing::info!(created, "schedule horizon extended");
    }
    Ok(created)
}
