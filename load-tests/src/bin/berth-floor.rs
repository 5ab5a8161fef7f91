//! The floors `bench.sh` divides berth's HTTP throughput by, in two modes:
//!
//! - `--mode raw` (the database floor): the SQL of a hold's write transaction, as berth's
//!   storage issues it (`BEGIN`, the guarded `UPDATE departures … seats_taken + n <= capacity`,
//!   `INSERT INTO bookings`, `INSERT INTO booking_items`, `COMMIT`), straight through sqlx on one
//!   connection per client, with no berth code on the path. On SQLite, which admits one writer,
//!   the clients queue in-process for `BEGIN IMMEDIATE` as berth's do (otherwise they would
//!   busy-sleep and measure SQLite's back-off, not the database). The reads berth makes before
//!   its transaction (the departure, the tour, the payment settings) are berth's cost and are
//!   not part of this floor.
//! - `--mode service` (service, no HTTP): `berth::service::holds::place_hold` in a loop on a
//!   berth `Store`: everything berth does for a hold except HTTP and JSON on the wire.
//!
//! It creates a fresh operator, tour and departures in the database it is given (migrations
//! included) through berth's service layer (setup is not measured), so point it at a
//! throwaway database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth::clock::Clock;
use berth::domain::ids::{BookingId, BookingRef};
use berth::error::AppError;
use berth::service::auth::Principal;
use berth::service::catalogue::{self, DepartureDraft};
use berth::service::holds::{place_hold, HoldRequest};
use berth::service::payments::Payments;
use berth::storage::{PoolSettings, Store};
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// A hold's SQL straight through sqlx: the database floor.
    Raw,
    /// `service::holds::place_hold` in a loop: berth without HTTP.
    Service,
}

/// A hold's write transaction at a given concurrency, without berth's HTTP (and, raw, without
/// berth at all).
#[derive(Parser)]
#[command(name = "berth-floor")]
struct Args {
    #[arg(long, value_enum, default_value = "raw")]
    mode: Mode,
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
    /// Raw mode: insert the booking rows first and take the seats with the guarded UPDATE last,
    /// so the departure's row lock is held for one statement and the commit.
    #[arg(long)]
    hot_row_last: bool,
    /// Only make the fixtures and write their ids as JSON (`operator`, `tour`, `departures`)
    /// to this file, for another client (the sysbench script) to drive.
    #[arg(long, value_name = "FILE")]
    fixtures_only: Option<String>,
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
    if let Some(path) = &args.fixtures_only {
        let ids = json!({"operator": operator.to_string(), "tour": tour.id.to_string(), "departures": departures});
        std::fs::write(path, ids.to_string()).map_err(|e| format!("write {path}: {e}"))?;
        store.close().await;
        return Ok(());
    }
    let departures = Arc::new(departures);
    let sold = Sold {
        tour: tour.id.to_string(),
        operator: operator.to_string(),
        currency: "EUR".to_owned(),
        unit_price: 3500,
        hold_ttl: chrono::Duration::seconds(900),
        hot_row_last: args.hot_row_last,
    };

    // Every client connected before the clock starts.
    let writer = Arc::new(tokio::sync::Mutex::new(()));
    let mut clients = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        clients.push(match args.mode {
            Mode::Service => Client::Service,
            Mode::Raw => Client::Raw(RawConn::connect(&args.database_url).await?, writer.clone()),
        });
    }
    // Pay on arrival, as the berth that bench.sh measures next to it (no Stripe configured).
    let payments = Arc::new(Payments::offline());
    let sold = Arc::new(sold);
    let next = Arc::new(AtomicU64::new(0));
    let booked = Arc::new(AtomicU64::new(0));
    let outcomes: Arc<Mutex<std::collections::BTreeMap<String, u64>>> = Arc::default();
    let latency = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).map_err(|e| e.to_string())?,
    ));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(worker, mut client)| {
            let (store, payments, clock, sold, departures, next, booked, outcomes, latency) = (
                store.clone(),
                payments.clone(),
                clock.clone(),
                sold.clone(),
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
                    let t = Instant::now();
                    let outcome = match &mut client {
                        Client::Service => {
                            service_hold(&store, &payments, &clock, &sold, departure, quantity)
                                .await
                        }
                        Client::Raw(conn, writer) => {
                            let _turn = match conn {
                                RawConn::Sqlite(_) => Some(writer.lock().await),
                                RawConn::MySql(_) => None,
                            };
                            conn.hold(&sold, departure, quantity, clock.now())
                                .await
                                .unwrap_or("other_error")
                        }
                    };
                    let micros = t.elapsed().as_micros() as u64;
                    if outcome == "held" {
                        booked.fetch_add(1, Ordering::Relaxed);
                    }
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
        "mode": match args.mode { Mode::Raw => "raw", Mode::Service => "service" },
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
        "floor ({}) {} x{} on {} departures: {booked} holds in {elapsed:.1} s = {:.0}/s; p50 {:.2} ms p99 {:.2} ms; {:?}",
        match args.mode {
            Mode::Raw => "raw",
            Mode::Service => "service",
        },
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

/// What every hold sells: the fixture tour's ids, its adult price and the hold's length.
struct Sold {
    tour: String,
    operator: String,
    currency: String,
    unit_price: i64,
    hold_ttl: chrono::Duration,
    /// Raw: insert the booking first and take the seats last (issue 18's "hot row last").
    hot_row_last: bool,
}

/// One client of the floor: berth's service on the shared store, or a connection of its own.
enum Client {
    Service,
    Raw(RawConn, Arc<tokio::sync::Mutex<()>>),
}

/// A hold through berth's service layer.
async fn service_hold(
    store: &Store,
    payments: &Payments,
    clock: &Clock,
    sold: &Sold,
    departure: &str,
    quantity: i64,
) -> &'static str {
    let request: HoldRequest = match serde_json::from_value(json!({
        "departure_id": departure,
        "items": [{"unit": "adult", "quantity": quantity}],
        "customer": {"name": "Floor Tester", "email": "floor@example.com"}
    })) {
        Ok(request) => request,
        Err(_) => return "other_error",
    };
    match place_hold(store, payments, clock.now(), sold.hold_ttl, request, None).await {
        Ok(_) => "held",
        Err(AppError::SoldOut { .. }) => "sold_out",
        Err(AppError::Busy) => "busy",
        Err(_) => "other_error",
    }
}

/// A connection of the raw floor, set up as berth sets up its own (SQLite: WAL, synchronous
/// NORMAL, foreign keys; MySQL: READ COMMITTED).
enum RawConn {
    Sqlite(sqlx::SqliteConnection),
    MySql(sqlx::MySqlConnection),
}

/// Runs one statement on either connection.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            RawConn::Sqlite($c) => $body,
            RawConn::MySql($c) => $body,
        }
    };
}

impl RawConn {
    async fn connect(url: &str) -> Result<RawConn, String> {
        use sqlx::{ConnectOptions, Executor};
        use std::str::FromStr;
        if url.starts_with("sqlite:") {
            let conn = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .map_err(|e| e.to_string())?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .connect()
                .await
                .map_err(|e| format!("connect: {e}"))?;
            Ok(RawConn::Sqlite(conn))
        } else {
            let url = url.replacen("mariadb:", "mysql:", 1);
            let mut conn = sqlx::mysql::MySqlConnectOptions::from_str(&url)
                .map_err(|e| e.to_string())?
                .connect()
                .await
                .map_err(|e| format!("connect: {e}"))?;
            conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .await
                .map_err(|e| e.to_string())?;
            Ok(RawConn::MySql(conn))
        }
    }

    /// One hold's write transaction, statement for statement as berth's storage issues it
    /// (`storage::departures::take_seats_if_free`, `storage::bookings::insert`).
    async fn hold(
        &mut self,
        sold: &Sold,
        departure: &str,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<&'static str, sqlx::Error> {
        let begin = match self {
            RawConn::Sqlite(_) => "BEGIN IMMEDIATE",
            RawConn::MySql(_) => "BEGIN",
        };
        on_conn!(self, c => sqlx::query(begin).execute(&mut *c).await.map(|_| ()))?;
        let result = self.statements(sold, departure, quantity, now).await;
        let end = match result {
            Ok("held") => "COMMIT",
            _ => "ROLLBACK",
        };
        on_conn!(self, c => sqlx::query(end).execute(&mut *c).await.map(|_| ()))?;
        result
    }

    async fn statements(
        &mut self,
        sold: &Sold,
        departure: &str,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<&'static str, sqlx::Error> {
        if sold.hot_row_last {
            self.insert_booking(sold, departure, quantity, now).await?;
            return Ok(if self.take_seats(departure, quantity, now).await? {
                "held"
            } else {
                "sold_out"
            });
        }
        if !self.take_seats(departure, quantity, now).await? {
            return Ok("sold_out");
        }
        self.insert_booking(sold, departure, quantity, now).await?;
        Ok("held")
    }

    /// The guarded UPDATE: whether it took the seats.
    async fn take_seats(
        &mut self,
        departure: &str,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let at = now.naive_utc();
        let taken = on_conn!(self, c => sqlx::query(
            "UPDATE departures SET seats_taken = seats_taken + ?, updated_at = ? \
             WHERE id = ? AND status = 'scheduled' AND starts_at > ? AND seats_taken + ? <= capacity")
            .bind(quantity).bind(at).bind(departure).bind(at).bind(quantity)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(taken == 1)
    }

    async fn insert_booking(
        &mut self,
        sold: &Sold,
        departure: &str,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let at = now.naive_utc();
        let id = BookingId::generate();
        let reference = BookingRef::generate();
        let token: String = (0..64)
            .map(|_| char::from(b"0123456789abcdef"[rand::thread_rng().gen_range(0..16)]))
            .collect();
        let expires = (now + sold.hold_ttl).naive_utc();
        on_conn!(self, c => sqlx::query(
            "INSERT INTO bookings (id, reference, access_token_hash, departure_id, tour_id, operator_id, status, \
             seats, total, currency, customer_name, customer_email, customer_phone, customer_language, expires_at, created_at, \
             updated_at, hold_client, hold_email) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(id.as_str()).bind(reference.as_str()).bind(&token)
            .bind(departure).bind(&sold.tour).bind(&sold.operator)
            .bind("held").bind(quantity).bind(sold.unit_price * quantity)
            .bind(&sold.currency).bind("Floor Tester").bind("floor@example.com")
            .bind(None::<String>).bind("en").bind(expires).bind(at).bind(at)
            .bind(None::<String>).bind(None::<String>)
            .execute(&mut *c).await.map(|_| ()))?;
        on_conn!(self, c => sqlx::query(
            "INSERT INTO booking_items (booking_id, unit_code, quantity, unit_price) VALUES (?, ?, ?, ?)")
            .bind(id.as_str()).bind("adult").bind(quantity).bind(sold.unit_price)
            .execute(&mut *c).await.map(|_| ()))?;
        Ok(())
    }
}
