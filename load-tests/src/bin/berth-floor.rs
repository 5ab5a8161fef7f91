//! The database floor: berth's own reservation transaction (`service::holds::place_hold` on a
//! `storage::Store`) in a tight loop at a given concurrency, with no HTTP and no JSON on the
//! wire. It is the most this design can do on this database; `bench.sh` divides berth's HTTP
//! throughput by it.
//!
//! It creates a fresh operator, tour and departures in the database it is given (run
//! migrations included), so point it at a throwaway database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth::clock::Clock;
use berth::error::AppError;
use berth::service::auth::Principal;
use berth::service::catalogue::{self, DepartureDraft};
use berth::service::holds::{place_hold, HoldRequest};
use berth::service::payments::Payments;
use berth::storage::{PoolSettings, Store};
use clap::Parser;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// berth's reservation transaction straight through the service layer: the database floor.
#[derive(Parser)]
#[command(name = "berth-floor")]
struct Args {
    /// A throwaway database: sqlite://path or mysql://user@host:port/db.
    #[arg(long)]
    database_url: String,
    /// Concurrent tasks (the load tool's --concurrency).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Pool size (berth's BERTH_DATABASE_MAX_CONNECTIONS, default 16).
    #[arg(long, default_value_t = 16)]
    max_connections: u32,
    /// Departures: 1 is the rush (every task on one row), more is the spread.
    #[arg(long, default_value_t = 1)]
    departures: usize,
    #[arg(long, default_value_t = 100_000)]
    capacity: i64,
    #[arg(long, default_value_t = 1)]
    max_quantity: i64,
    /// Stop after this many attempts.
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
    /// Write the result as JSON.
    #[arg(long)]
    json: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let settings = PoolSettings {
        max_connections: args.max_connections,
        ..PoolSettings::default()
    };
    let store = Store::connect(&args.database_url, &settings)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
    let clock = Clock::system();
    let now = clock.now();
    let (operator, _token) =
        berth::service::operators::create_operator(&store, now, "berth-floor", "floor@example.com")
            .await
            .map_err(|e| e.to_string())?;
    let draft = serde_json::from_value(json!({
        "name": format!("berth-floor {}", now.timestamp_millis()),
        "timezone": "UTC",
        "duration_minutes": 60,
        "currency": "EUR",
        "cutoff_minutes": 0,
        "min_per_booking": 1,
        "max_per_booking": args.max_quantity.clamp(1, 100),
        "units": [{"code": "adult", "label": "Adult", "price": 3500}, {"code": "child", "label": "Child", "price": 1500}]
    }))
    .map_err(|e| e.to_string())?;
    // The floor acts as the command line does: an owner of the operator it just made.
    let owner = Principal::cli(&operator);
    let tour = catalogue::create_tour(&store, now, &owner, draft)
        .await
        .map_err(|e| e.to_string())?;
    let mut departures = Vec::new();
    for i in 0..args.departures.max(1) {
        let starts_at = now + chrono::Duration::days(3) + chrono::Duration::minutes(i as i64);
        let (_, departure) = catalogue::create_departure(
            &store,
            now,
            &owner,
            &tour.id,
            DepartureDraft {
                starts_at: starts_at.to_rfc3339(),
                capacity: args.capacity,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        departures.push(departure.id.to_string());
    }
    let departures = Arc::new(departures);

    let next = Arc::new(AtomicU64::new(0));
    let booked = Arc::new(AtomicU64::new(0));
    let outcomes: Arc<Mutex<std::collections::BTreeMap<String, u64>>> = Arc::default();
    let latency = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).map_err(|e| e.to_string())?,
    ));
    let hold_ttl = chrono::Duration::seconds(900);
    // Pay on arrival, as the berth that bench.sh measures next to it (no Stripe configured).
    let payments = Arc::new(Payments::offline());
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.concurrency.max(1))
        .map(|worker| {
            let (store, payments, clock, departures, next, booked, outcomes, latency) = (
                store.clone(),
                payments.clone(),
                clock.clone(),
                departures.clone(),
                next.clone(),
                booked.clone(),
                outcomes.clone(),
                latency.clone(),
            );
            let (requests, max_quantity) = (args.requests, args.max_quantity.max(1));
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(worker as u64);
                while Instant::now() < deadline && next.fetch_add(1, Ordering::Relaxed) < requests {
                    let departure = &departures[rng.gen_range(0..departures.len())];
                    let quantity = rng.gen_range(1..=max_quantity);
                    let request: HoldRequest = match serde_json::from_value(json!({
                        "departure_id": departure,
                        "items": [{"unit": "adult", "quantity": quantity}],
                        "customer": {"name": "Floor Tester", "email": "floor@example.com"}
                    })) {
                        Ok(request) => request,
                        Err(_) => break,
                    };
                    let t = Instant::now();
                    let result =
                        place_hold(&store, &payments, clock.now(), hold_ttl, request, None).await;
                    let micros = t.elapsed().as_micros() as u64;
                    let outcome = match result {
                        Ok(_) => {
                            booked.fetch_add(1, Ordering::Relaxed);
                            "held"
                        }
                        Err(AppError::SoldOut { .. }) => "sold_out",
                        Err(AppError::Busy) => "busy",
                        Err(_) => "other_error",
                    };
                    latency
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .saturating_record(micros.max(1));
                    *outcomes
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(outcome.to_owned())
                        .or_default() += 1;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let booked = booked.load(Ordering::Relaxed);
    let h = latency.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let outcomes = outcomes.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let result = json!({
        "backend": store.backend_name(),
        "concurrency": args.concurrency,
        "departures": departures.len(),
        "duration_s": elapsed,
        "bookings": booked,
        "bookings_per_s": booked as f64 / elapsed.max(1e-9),
        "outcomes": outcomes,
        "latency_ms": {"p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": h.max() as f64 / 1000.0},
    });
    println!(
        "floor {} x{} on {} departures: {booked} holds in {elapsed:.1} s = {:.0}/s; p50 {:.2} ms p99 {:.2} ms; {:?}",
        store.backend_name(),
        args.concurrency,
        departures.len(),
        booked as f64 / elapsed.max(1e-9),
        ms(0.5),
        ms(0.99),
        outcomes
    );
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&result).unwrap_or_default(),
        )
        .map_err(|e| format!("write {path}: {e}"))?;
    }
    store.close().await;
    Ok(())
}
