//! Loads a large booking history straight into a berth database, in bulk (multi-row `INSERT`s in
//! big transactions, not through HTTP), so `bench.sh` (`BENCH_HISTORY=1`) can measure what a
//! season's worth of data costs the booking path and the read paths.
//!
//! What it writes, consistent with berth's invariants (`berth check` passes afterwards):
//!
//! - `--tours` tours (through berth's service layer, as the command line would), each with one
//!   departure a day for `--days` days: half before today, half from three days out (so no
//!   reminder falls due while the benchmark runs). No schedule: the horizon worker leaves them be.
//! - `--bookings` bookings spread evenly over those departures, 1 to 4 seats each (adults and
//!   children, one item row per unit), made 1 hour to 60 days before their departure. Past
//!   departures' bookings are checked in, confirmed (no-shows), cancelled or expired; future
//!   ones confirmed, cancelled or expired. No hold is left `held`, so the expiry worker has
//!   nothing to do. Each departure's `seats_taken` is the seats of its confirmed and checked-in
//!   bookings, its capacity above that.
//! - For every booking that was paid (confirmed, checked in, cancelled): a succeeded card
//!   payment, its ledger entry and a sent `booking_confirmed` email in the outbox; for every
//!   cancelled one also a succeeded refund, its (negative) ledger entry and a sent
//!   `booking_cancelled` email. An audit row for every check-in and cancellation.
//!
//! The history belongs to the operator whose email is `--operator-email` when there is one (the
//! benchmark's own, so its searches and reports read through it), else to a new operator.
//! The schema is berth's: the loader runs berth's migrations first (nothing to do when berth
//! already ran on the database). On SQLite it ends with a checkpoint that empties the WAL, as a
//! database that grew over time would be. Prints what it made as JSON (`--out` writes them too).

use std::str::FromStr;
use std::time::{Duration, Instant};

use berth::clock::Clock;
use berth::domain::ids::{BookingId, OperatorId};
use berth::service::auth::Principal;
use berth::service::catalogue;
use berth::storage::{PoolSettings, Store};
use chrono::{DateTime, Duration as Span, NaiveDateTime, Utc};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::{ConnectOptions, Connection, Executor};

/// A large booking history, loaded in bulk into a berth database.
#[derive(Parser)]
#[command(name = "berth-history")]
struct Args {
    /// sqlite://path or mysql://user@host:port/db (berth's BERTH_DATABASE_URL).
    #[arg(long)]
    database_url: String,
    /// The operator the history belongs to (its email); a new operator when none has it.
    #[arg(long)]
    operator_email: Option<String>,
    #[arg(long, env = "BENCH_HISTORY_TOURS", default_value_t = 50)]
    tours: usize,
    /// Days of daily departures per tour: half in the past, half from three days out.
    #[arg(long, env = "BENCH_HISTORY_DAYS", default_value_t = 730)]
    days: usize,
    #[arg(long, env = "BENCH_HISTORY_BOOKINGS", default_value_t = 2_000_000)]
    bookings: u64,
    /// Departures written per transaction.
    #[arg(long, default_value_t = 200)]
    departures_per_commit: usize,
    #[arg(long, default_value_t = 18)]
    seed: u64,
    /// Also write what was made (operator, tours, counts) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
}

const CURRENCY: &str = "EUR";
const ADULT: i64 = 3500;
const CHILD: i64 = 1500;
const FIRST: [&str; 16] = [
    "Ana", "Ben", "Carla", "David", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira",
    "Luis", "Marta", "Nils", "Olga", "Pablo",
];
const LAST: [&str; 16] = [
    "Garcia", "Smith", "Novak", "Rossi", "Muller", "Silva", "Kowalski", "Dubois", "Jensen",
    "Costa", "Fischer", "Moreau", "Ortega", "Larsen", "Weber", "Santos",
];

/// One bound value of a bulk insert.
enum V {
    S(String),
    I(i64),
    T(NaiveDateTime),
    Null,
}

fn s(text: impl Into<String>) -> V {
    V::S(text.into())
}

fn opt_t(at: Option<NaiveDateTime>) -> V {
    at.map_or(V::Null, V::T)
}

/// The loader's own connection, on either backend.
enum Conn {
    Sqlite(sqlx::SqliteConnection),
    MySql(sqlx::MySqlConnection),
}

macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::MySql($c) => $body,
        }
    };
}

macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                V::S(text) => query.bind(text.as_str()),
                V::I(number) => query.bind(*number),
                V::T(at) => query.bind(*at),
                V::Null => query.bind(None::<String>),
            };
        }
        query
    }};
}

impl Conn {
    async fn connect(url: &str) -> Result<Conn, String> {
        if url.starts_with("sqlite:") {
            let conn = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .map_err(|e| e.to_string())?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                .connect()
                .await
                .map_err(|e| format!("connect: {e}"))?;
            Ok(Conn::Sqlite(conn))
        } else {
            let url = url.replacen("mariadb:", "mysql:", 1);
            let mut conn = sqlx::mysql::MySqlConnectOptions::from_str(&url)
                .map_err(|e| e.to_string())?
                .connect()
                .await
                .map_err(|e| format!("connect: {e}"))?;
            // The rows are made consistent here; the server need not check each key again.
            conn.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
                .await
                .map_err(|e| e.to_string())?;
            Ok(Conn::MySql(conn))
        }
    }

    async fn exec(&mut self, sql: &str) -> Result<(), String> {
        on_conn!(self, c => c.execute(sql).await.map(|_| ())).map_err(|e| format!("{sql}: {e}"))
    }

    /// `INSERT INTO table (columns) VALUES …` for every row, as few statements as the
    /// backends' placeholder limits allow.
    async fn insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<V>],
    ) -> Result<(), String> {
        let per_statement = (30_000 / columns.len()).clamp(1, 1000);
        let one = format!("({})", vec!["?"; columns.len()].join(", "));
        for chunk in rows.chunks(per_statement) {
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                columns.join(", "),
                vec![one.as_str(); chunk.len()].join(", ")
            );
            let values = chunk.iter().flatten();
            on_conn!(self, c => bind_all!(sqlx::query(&sql), values).execute(&mut *c).await.map(|_| ()))
                .map_err(|e| format!("insert into {table}: {e}"))?;
        }
        Ok(())
    }
}

/// The rows of one transaction.
#[derive(Default)]
struct Batch {
    departures: Vec<Vec<V>>,
    bookings: Vec<Vec<V>>,
    items: Vec<Vec<V>>,
    payments: Vec<Vec<V>>,
    refunds: Vec<Vec<V>>,
    ledger: Vec<Vec<V>>,
    outbox: Vec<Vec<V>>,
    audit: Vec<Vec<V>>,
}

impl Batch {
    fn rows(&self) -> usize {
        self.departures.len()
            + self.bookings.len()
            + self.items.len()
            + self.payments.len()
            + self.refunds.len()
            + self.ledger.len()
            + self.outbox.len()
            + self.audit.len()
    }

    async fn write(&self, conn: &mut Conn) -> Result<(), String> {
        let begin = match conn {
            Conn::Sqlite(_) => "BEGIN IMMEDIATE",
            Conn::MySql(_) => "BEGIN",
        };
        conn.exec(begin).await?;
        conn.insert(
            "departures",
            &[
                "id",
                "tour_id",
                "starts_at",
                "capacity",
                "seats_taken",
                "status",
                "created_at",
                "updated_at",
            ],
            &self.departures,
        )
        .await?;
        conn.insert(
            "bookings",
            &[
                "id",
                "reference",
                "access_token_hash",
                "departure_id",
                "tour_id",
                "operator_id",
                "status",
                "seats",
                "total",
                "currency",
                "customer_name",
                "customer_email",
                "customer_phone",
                "customer_language",
                "expires_at",
                "cancel_reason",
                "created_at",
                "updated_at",
            ],
            &self.bookings,
        )
        .await?;
        conn.insert(
            "booking_items",
            &["booking_id", "unit_code", "quantity", "unit_price"],
            &self.items,
        )
        .await?;
        conn.insert(
            "payments",
            &[
                "booking_id",
                "operator_id",
                "provider",
                "provider_payment_id",
                "status",
                "amount",
                "currency",
                "created_at",
                "updated_at",
            ],
            &self.payments,
        )
        .await?;
        conn.insert(
            "refunds",
            &[
                "id",
                "booking_id",
                "operator_id",
                "amount",
                "currency",
                "provider",
                "reason",
                "status",
                "provider_refund_id",
                "attempts",
                "next_attempt_at",
                "created_at",
                "updated_at",
            ],
            &self.refunds,
        )
        .await?;
        conn.insert(
            "ledger_entries",
            &[
                "id",
                "operator_id",
                "booking_id",
                "kind",
                "amount",
                "currency",
                "provider",
                "provider_reference",
                "discount",
                "created_at",
            ],
            &self.ledger,
        )
        .await?;
        conn.insert(
            "outbox",
            &[
                "id",
                "operator_id",
                "booking_id",
                "kind",
                "channel",
                "dedupe_key",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
                "sent_at",
            ],
            &self.outbox,
        )
        .await?;
        conn.insert(
            "audit_log",
            &[
                "id",
                "operator_id",
                "actor",
                "action",
                "target",
                "created_at",
            ],
            &self.audit,
        )
        .await?;
        conn.exec("COMMIT").await
    }
}

/// Booking references that never repeat: the counter through a bijection of 0..30^8, in
/// berth's reference alphabet.
fn reference(counter: u64) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
    const SPACE: u64 = 656_100_000_000; // 30^8
                                        // 7^k is coprime with 30^8, so multiplying by it permutes 0..30^8.
    let mut n = (counter % SPACE) * 823_543 % SPACE;
    let mut code = [0u8; 8];
    for slot in code.iter_mut().rev() {
        *slot = ALPHABET[(n % 30) as usize];
        n /= 30;
    }
    String::from_utf8_lossy(&code).into_owned()
}

fn new_id() -> String {
    BookingId::generate().to_string()
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let started = Instant::now();
    let store = Store::connect(&args.database_url, &PoolSettings::default())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
    let now = Clock::system().now();

    let mut conn = Conn::connect(&args.database_url).await?;
    let existing: Option<String> = match &args.operator_email {
        Some(email) => on_conn!(&mut conn, c => sqlx::query_scalar(
            "SELECT id FROM operators WHERE email = ? ORDER BY created_at, id LIMIT 1")
            .bind(email).fetch_optional(&mut *c).await)
        .map_err(|e| e.to_string())?,
        None => None,
    };
    let operator = match existing {
        Some(id) => OperatorId::from_stored(id),
        None => {
            berth::service::operators::create_operator(
                &store,
                now,
                "berth-history",
                "history@example.com",
            )
            .await
            .map_err(|e| e.to_string())?
            .0
        }
    };
    let owner = Principal::cli(&operator);
    let mut tours = Vec::new();
    for t in 0..args.tours.max(1) {
        let draft = serde_json::from_value(json!({
            "name": format!("History tour {t} ({})", now.timestamp()),
            "description": "Loaded by berth-history.",
            "meeting_point": "The pier",
            "timezone": "UTC",
            "duration_minutes": 120,
            "currency": CURRENCY,
            "cutoff_minutes": 0,
            "min_per_booking": 1,
            "max_per_booking": 8,
            "units": [{"code": "adult", "label": "Adult", "price": ADULT}, {"code": "child", "label": "Child", "price": CHILD}]
        }))
        .map_err(|e| e.to_string())?;
        let tour = catalogue::create_tour(&store, now, &owner, draft)
            .await
            .map_err(|e| e.to_string())?;
        tours.push(tour.id.to_string());
    }
    store.close().await;

    // Every (tour, day): half the days before today, half from three days out.
    let days = args.days.max(2) as i64;
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let day_offsets: Vec<i64> = (0..days)
        .map(|i| {
            if i < days / 2 {
                i - days / 2
            } else {
                i - days / 2 + 3
            }
        })
        .collect();
    let slots: Vec<(usize, i64)> = day_offsets
        .iter()
        .flat_map(|day| (0..tours.len()).map(move |t| (t, *day)))
        .collect();
    let per_departure = args.bookings / slots.len() as u64;
    let extra = args.bookings % slots.len() as u64;

    let operator_id = operator.to_string();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut counter: u64 = 0;
    let mut written = 0usize;
    let mut batch = Batch::default();
    let at = |instant: DateTime<Utc>| instant.naive_utc();
    let token_salt: u64 = rng.gen();
    for (index, (t, day)) in slots.iter().enumerate() {
        let tour_id = &tours[*t];
        let starts = today + Span::days(*day) + Span::hours(8 + (*t % 8) as i64);
        let past = starts < now;
        let departure_id = berth::domain::ids::DepartureId::generate().to_string();
        let count = per_departure + u64::from((index as u64) < extra);
        let mut seats_taken = 0i64;
        for _ in 0..count {
            counter += 1;
            let seats: i64 = match rng.gen_range(0..100) {
                0..=39 => 1,
                40..=74 => 2,
                75..=89 => 3,
                _ => 4,
            };
            let adults = rng.gen_range(1..=seats);
            let children = seats - adults;
            let total = adults * ADULT + children * CHILD;
            let roll = rng.gen_range(0..100);
            let status = match (past, roll) {
                (true, 0..=71) => "checked_in",
                (true, 72..=79) => "confirmed",
                (true, 80..=92) => "cancelled",
                (false, 0..=84) => "confirmed",
                (false, 85..=94) => "cancelled",
                _ => "expired",
            };
            let mut created = starts - Span::minutes(rng.gen_range(60..60 * 24 * 60));
            if created > now - Span::minutes(5) {
                created = now - Span::minutes(rng.gen_range(5..600));
            }
            let paid_at = created + Span::minutes(2);
            let changed = match status {
                "checked_in" => starts,
                "cancelled" => paid_at + (starts.min(now) - paid_at) / 2,
                "expired" => created + Span::minutes(15),
                _ => paid_at,
            };
            if matches!(status, "confirmed" | "checked_in") {
                seats_taken += seats;
            }
            let booking_id = new_id();
            let reference = reference(counter);
            let (first, last) = (FIRST[rng.gen_range(0..16)], LAST[rng.gen_range(0..16)]);
            batch.bookings.push(vec![
                s(booking_id.as_str()),
                s(reference.as_str()),
                s(format!("{token_salt:016x}{counter:048x}")),
                s(departure_id.as_str()),
                s(tour_id.as_str()),
                s(operator_id.as_str()),
                s(status),
                V::I(seats),
                V::I(total),
                s(CURRENCY),
                s(format!("{first} {last}")),
                s(format!(
                    "{}.{}{counter}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                )),
                if rng.gen_bool(0.3) {
                    s(format!("+3460{:07}", counter % 10_000_000))
                } else {
                    V::Null
                },
                s(if rng.gen_bool(0.2) { "es" } else { "en" }),
                opt_t((status == "expired").then(|| at(created + Span::minutes(15)))),
                if status == "cancelled" {
                    s("traveler")
                } else {
                    V::Null
                },
                V::T(at(created)),
                V::T(at(changed)),
            ]);
            for (unit, quantity, price) in [("adult", adults, ADULT), ("child", children, CHILD)] {
                if quantity > 0 {
                    batch.items.push(vec![
                        s(booking_id.as_str()),
                        s(unit),
                        V::I(quantity),
                        V::I(price),
                    ]);
                }
            }
            if status == "expired" {
                continue;
            }
            let intent = format!("pi_hist_{token_salt:x}_{counter}");
            batch.payments.push(vec![
                s(booking_id.as_str()),
                s(operator_id.as_str()),
                s("stripe"),
                s(intent.as_str()),
                s("succeeded"),
                V::I(total),
                s(CURRENCY),
                V::T(at(paid_at)),
                V::T(at(paid_at)),
            ]);
            batch.ledger.push(vec![
                s(new_id()),
                s(operator_id.as_str()),
                s(booking_id.as_str()),
                s("payment"),
                V::I(total),
                s(CURRENCY),
                s("stripe"),
                s(intent),
                V::I(0),
                V::T(at(paid_at)),
            ]);
            batch.outbox.push(vec![
                s(new_id()),
                s(operator_id.as_str()),
                s(booking_id.as_str()),
                s("booking_confirmed"),
                s("email"),
                s(format!("{booking_id}:booking_confirmed:email")),
                s("sent"),
                V::I(1),
                V::T(at(paid_at)),
                V::T(at(paid_at)),
                V::T(at(paid_at)),
            ]);
            let action = match status {
                "checked_in" => "booking.check_in",
                "cancelled" => "booking.cancel",
                _ => continue,
            };
            batch.audit.push(vec![
                s(new_id()),
                s(operator_id.as_str()),
                s("cli"),
                s(action),
                s(format!("booking:{reference}")),
                V::T(at(changed)),
            ]);
            if status == "cancelled" {
                let refund = format!("re_hist_{token_salt:x}_{counter}");
                batch.refunds.push(vec![
                    s(new_id()),
                    s(booking_id.as_str()),
                    s(operator_id.as_str()),
                    V::I(total),
                    s(CURRENCY),
                    s("stripe"),
                    s("traveler"),
                    s("succeeded"),
                    s(refund.as_str()),
                    V::I(1),
                    V::T(at(changed)),
                    V::T(at(changed)),
                    V::T(at(changed)),
                ]);
                batch.ledger.push(vec![
                    s(new_id()),
                    s(operator_id.as_str()),
                    s(booking_id.as_str()),
                    s("refund"),
                    V::I(-total),
                    s(CURRENCY),
                    s("stripe"),
                    s(refund),
                    V::I(0),
                    V::T(at(changed)),
                ]);
                batch.outbox.push(vec![
                    s(new_id()),
                    s(operator_id.as_str()),
                    s(booking_id.as_str()),
                    s("booking_cancelled"),
                    s("email"),
                    s(format!("{booking_id}:booking_cancelled:email")),
                    s("sent"),
                    V::I(1),
                    V::T(at(changed)),
                    V::T(at(changed)),
                    V::T(at(changed)),
                ]);
            }
        }
        let capacity = (seats_taken + 10).max(count as i64 * 2);
        batch.departures.push(vec![
            s(departure_id),
            s(tour_id.as_str()),
            V::T(at(starts)),
            V::I(capacity),
            V::I(seats_taken),
            s("scheduled"),
            V::T(at(now - Span::days(days))),
            V::T(at(now)),
        ]);
        if batch.departures.len() >= args.departures_per_commit.max(1) || index + 1 == slots.len() {
            batch.write(&mut conn).await?;
            written += batch.rows();
            batch = Batch::default();
            eprintln!(
                "berth-history: {} of {} departures, {counter} bookings, {written} rows, {:.0} s",
                index + 1,
                slots.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    // The planner's statistics, as a database that grew to this size would have them.
    let analyze = match conn {
        Conn::Sqlite(_) => "ANALYZE",
        Conn::MySql(_) => "ANALYZE TABLE departures, bookings, booking_items, payments, refunds, ledger_entries, outbox, audit_log",
    };
    conn.exec(analyze).await?;
    if matches!(conn, Conn::Sqlite(_)) {
        // Everything written is still in the WAL (GBs of it: berth's readers kept it from being
        // reset while the loader wrote). A database that grew over a season would have been
        // checkpointed long ago, so this one is too, and its WAL emptied.
        conn.exec("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    on_conn!(conn, c => c.close().await).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = json!({
        "operator": operator_id,
        "tours": tours,
        "departures": slots.len(),
        "bookings": counter,
        "rows": written,
        "seconds": seconds,
        "rows_per_s": written as f64 / seconds.max(1e-9),
    });
    if let Some(path) = &args.out {
        std::fs::write(path, summary.to_string()).map_err(|e| format!("write {path}: {e}"))?;
    }
    println!("{summary}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::reference;

    #[test]
    fn references_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..200_000 {
            assert!(seen.insert(reference(n)), "reference {n} repeats");
        }
        assert_eq!(reference(1).len(), 8);
    }
}
