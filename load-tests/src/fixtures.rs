//! Fixtures: a tour of the tool's own and one-off departures a few days out, created through the
//! operator API with a name unique to the run, so a run never touches real data and can repeat.
//!
//! The fixtures file (`berth-load setup --out FILE`) is how other tools (k6, Locust) learn what
//! to book and how `berth-load verify --fixtures FILE` knows what to check afterwards.

use chrono::{Duration, SecondsFormat, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::Api;

/// The units every fixture tour sells; prices are the server's business.
pub const UNITS: [&str; 2] = ["adult", "child"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixtures {
    pub target: String,
    pub run_id: String,
    pub tour_id: String,
    pub tour_name: String,
    /// Unit codes a booking may use.
    pub units: Vec<String>,
    /// The tour's `max_per_booking`: requests ask for 1 to this many seats.
    pub max_quantity: u32,
    pub departures: Vec<FixtureDeparture>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureDeparture {
    pub id: String,
    pub capacity: u32,
}

impl Fixtures {
    pub fn read(path: &str) -> Result<Fixtures, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{path} is not a fixtures file: {e}"))
    }

    pub fn capacity_of(&self, departure: &str) -> Option<u32> {
        self.departures
            .iter()
            .find(|o| o.id == departure)
            .map(|o| o.capacity)
    }
}

/// A run id that sorts by time and is unique enough to name a tour: `20261123T130501-3f9a`.
pub fn new_run_id() -> String {
    format!(
        "{}-{:04x}",
        Utc::now().format("%Y%m%dT%H%M%S"),
        rand::thread_rng().gen::<u16>()
    )
}

/// Creates a tour named after `label` and the run, with `count` departures of `capacity` seats,
/// starting three days from now, `spacing_minutes` apart.
pub async fn create(
    api: &Api,
    label: &str,
    count: usize,
    capacity: u32,
    max_quantity: u32,
    spacing_minutes: u32,
) -> Result<Fixtures, String> {
    let run_id = new_run_id();
    let tour_name = format!("berth-load {label} {run_id}");
    let tour = Api::expect(
        api.create_tour(&json!({
            "name": tour_name,
            "description": "Created by berth-load; safe to ignore.",
            "meeting_point": "Load test",
            "timezone": "UTC",
            "duration_minutes": 60,
            "currency": "EUR",
            "cutoff_minutes": 0,
            "min_per_booking": 1,
            "max_per_booking": max_quantity,
            "units": [
                {"code": UNITS[0], "label": "Adult", "price": 3500},
                {"code": UNITS[1], "label": "Child", "price": 1500}
            ]
        })),
        201,
        "create the fixture tour (is --token an operator token?)",
    )
    .await?;
    let tour_id = tour
        .str("id")
        .ok_or("the created tour has no id")?
        .to_owned();
    let first = Utc::now() + Duration::days(3);
    let mut departures = Vec::with_capacity(count);
    for i in 0..count {
        let starts_at = (first + Duration::minutes(i as i64 * i64::from(spacing_minutes)))
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let reply = Api::expect(
            api.create_departure(
                &tour_id,
                &json!({"starts_at": starts_at, "capacity": capacity}),
            ),
            201,
            "create a fixture departure",
        )
        .await?;
        let id = reply
            .str("id")
            .ok_or("the created departure has no id")?
            .to_owned();
        departures.push(FixtureDeparture { id, capacity });
    }
    Ok(Fixtures {
        target: api.base().to_owned(),
        run_id,
        tour_id,
        tour_name,
        units: UNITS.iter().map(|u| (*u).to_owned()).collect(),
        max_quantity,
        departures,
    })
}
