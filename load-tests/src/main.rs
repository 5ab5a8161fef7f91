//! The `berth-load` command line. Exit status: 0 passed, 1 the run failed (violations, 5xx,
//! unexpected answers), 2 bad usage, 3 the run could not happen (fixtures or client setup).

use std::process::ExitCode;
use std::time::Duration;

use berth_load::api::Api;
use berth_load::fixtures::{self, Fixtures};
use berth_load::ledger::Snapshot;
use berth_load::{report, verify, Config, RunError, Scenario};
use clap::{Args, Parser, Subcommand};

const DEFAULT_TARGET: &str = "http://127.0.0.1:8000";

/// Races clients for seats on a berth deployment, then proves through the public API that no
/// seat was sold twice.
///
/// Every scenario creates its own fixtures (a tour named `berth-load <scenario> <run id>` with
/// one-off departures three days out) through the operator API, stops at --requests or
/// --duration, whichever comes first, and then verifies every fixture departure: the seats on its
/// manifest equal capacity - available, never exceed capacity, and equal what berth answered
/// 201 for minus what the tool cancelled and what expired; every reference is unique.
///
/// Exit status: 0 passed, 1 failed (violations, 5xx without --allow-5xx, unexpected 4xx),
/// 2 bad usage, 3 could not run (fixtures or client setup failed).
#[derive(Parser)]
#[command(name = "berth-load", version)]
struct Cli {
    /// Base URL of the berth deployment (http:// only). [default: http://127.0.0.1:8000; for
    /// verify, the target recorded in the fixtures file]
    #[arg(long, global = true, env = "BERTH_TARGET")]
    target: Option<String>,
    /// An operator API token (brt_…): needed to create fixtures and read manifests.
    #[arg(long, global = true, env = "BERTH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Per-request timeout, e.g. 10s.
    #[arg(long, global = true, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One departure of --capacity seats (default 50); every client races for it with random
    /// quantities, so far more seats are requested than exist.
    Rush(RunArgs),
    /// --departures departures (default 50), sized so none sells out; requests spread over
    /// them: the uncontended throughput.
    Spread(RunArgs),
    /// Realistic traffic at --rate arrivals/s (open model: slow answers do not lower the
    /// offered load): 50% reads, 30% holds, 10% confirms, 10% cancels; unconfirmed holds expire
    /// after the server's hold TTL when the run lasts longer than it. --concurrency caps the
    /// requests in flight.
    Mixed(RunArgs),
    /// Every booking sent --copies times at once with one Idempotency-Key, then once more after
    /// all were answered: each key must make exactly one booking (or none), every 201 of a key
    /// must carry the same reference, and the late copy must replay the first answer. One
    /// departure of --capacity seats (default 50), like rush.
    Retry(RunArgs),
    /// GET --path (default /health) as fast as possible: the HTTP ceiling of the deployment and
    /// this client. No fixtures, no verification.
    Ceiling(RunArgs),
    /// A tour's public availability for a month: a fixture tour with one departure a day
    /// (--departures, default 30), its GET /v1/tours/{id}/availability as fast as possible;
    /// every answer must list exactly those departures.
    Availability(RunArgs),
    /// A departure's manifest: --bookings holds (default 500) are made first, untimed, then
    /// GET /v1/departures/{id}/manifest as fast as possible; every answer must list exactly them.
    Manifest(RunArgs),
    /// The operator's revenue report for the last year (GET /v1/reports/revenue, 366 days);
    /// every answer must cover those dates. Needs an admin token.
    Revenue(RunArgs),
    /// The operator's booking search, its newest page of 50 (GET /v1/bookings; --query adds
    /// filters, e.g. q=garcia); every answer must be newest first and, unfiltered, hold the 5
    /// bookings made first.
    Search(RunArgs),
    /// Create fixtures for another load tool (k6, Locust) and write them as JSON.
    Setup(SetupArgs),
    /// Verify fixture departures after another tool ran against them.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Clients (closed model) or the most requests in flight (mixed).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Stop after this many requests.
    #[arg(long, default_value_t = 2000)]
    requests: u64,
    /// Stop after this long (wall clock), e.g. 30s, 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Arrivals per second (mixed).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Seats per departure [default: rush and mixed 50; spread enough never to sell out].
    #[arg(long)]
    capacity: Option<u32>,
    /// Departures [default: spread 50, mixed 10; rush always 1].
    #[arg(long)]
    departures: Option<usize>,
    /// Each booking asks for 1 to this many seats (also the tour's max_per_booking).
    #[arg(long, default_value_t = 4)]
    max_quantity: u32,
    /// Seed for the random choices [default: random, printed in the summary].
    #[arg(long)]
    seed: Option<u64>,
    /// Do not fail the run because of 5xx answers (they are still reported).
    #[arg(long)]
    allow_5xx: bool,
    /// Path for the ceiling scenario.
    #[arg(long, default_value = "/health")]
    path: String,
    /// Concurrent copies of each booking (retry).
    #[arg(long, default_value_t = 3)]
    copies: usize,
    /// Live bookings on the manifest (manifest).
    #[arg(long, default_value_t = 500)]
    bookings: u32,
    /// Extra query string for search, e.g. q=garcia or status=confirmed.
    #[arg(long)]
    query: Option<String>,
    /// Write the full result as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    /// Write a self-contained HTML report with charts.
    #[arg(long, value_name = "FILE.html")]
    report: Option<String>,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct SetupArgs {
    /// Departures to create.
    #[arg(long, default_value_t = 1)]
    departures: usize,
    /// Seats per departure.
    #[arg(long, default_value_t = 50)]
    capacity: u32,
    /// The tour's max_per_booking.
    #[arg(long, default_value_t = 4)]
    max_quantity: u32,
    /// Part of the tour's name.
    #[arg(long, default_value = "external")]
    label: String,
    /// Minutes between departures (1440: one a day, a calendar's worth).
    #[arg(long, default_value_t = 1)]
    spacing_minutes: u32,
    /// Also write the fixtures JSON here (it is always printed).
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The file `berth-load setup` wrote.
    #[arg(long, value_name = "FILE")]
    fixtures: String,
    /// The other tool's ledger, JSON Lines of {"reference","departure_id","seats","state"?},
    /// one per 201: checks each booking, not only the totals.
    #[arg(long, value_name = "FILE")]
    ledger: Option<String>,
    /// Seats the other tool was answered 201 for, in total (minus what it cancelled).
    #[arg(long)]
    expect_seats: Option<u64>,
    /// Write the verification as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30s, 2m or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit in {text:?}: use ms, s or m")),
    };
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{text:?} must be more than 0 and at most 24 h"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn write_file(path: &str, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("cannot write {path}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rush(args) => run(&cli.target, cli.token, cli.timeout, Scenario::Rush, args).await,
        Command::Spread(args) => {
            run(&cli.target, cli.token, cli.timeout, Scenario::Spread, args).await
        }
        Command::Mixed(args) => {
            run(&cli.target, cli.token, cli.timeout, Scenario::Mixed, args).await
        }
        Command::Retry(args) => {
            run(&cli.target, cli.token, cli.timeout, Scenario::Retry, args).await
        }
        Command::Ceiling(args) => {
            run(&cli.target, cli.token, cli.timeout, Scenario::Ceiling, args).await
        }
        Command::Availability(args) => {
            run(
                &cli.target,
                cli.token,
                cli.timeout,
                Scenario::Availability,
                args,
            )
            .await
        }
        Command::Manifest(args) => {
            run(
                &cli.target,
                cli.token,
                cli.timeout,
                Scenario::Manifest,
                args,
            )
            .await
        }
        Command::Revenue(args) => {
            run(&cli.target, cli.token, cli.timeout, Scenario::Revenue, args).await
        }
        Command::Search(args) => {
            run(&cli.target, cli.token, cli.timeout, Scenario::Search, args).await
        }
        Command::Setup(args) => setup(&cli.target, cli.token, cli.timeout, args).await,
        Command::Verify(args) => verify_command(&cli.target, cli.token, cli.timeout, args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("berth-load: {message}");
            ExitCode::from(3)
        }
    }
}

async fn run(
    target: &Option<String>,
    token: Option<String>,
    timeout: Duration,
    scenario: Scenario,
    args: RunArgs,
) -> Result<bool, String> {
    let target = target.as_deref().unwrap_or(DEFAULT_TARGET);
    let mut config = Config::new(target, token, scenario);
    config.concurrency = args.concurrency.max(1);
    config.requests = args.requests;
    config.duration = args.duration;
    config.rate = args.rate;
    config.capacity = args.capacity;
    config.departures = args.departures;
    config.max_quantity = args.max_quantity;
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config.allow_5xx = args.allow_5xx;
    config.timeout = timeout;
    config.path = args.path;
    config.copies = args.copies.clamp(1, 100);
    config.progress = !args.quiet;
    config.bookings = args.bookings.clamp(1, 100_000);
    config.query = args.query;
    let result = match berth_load::run(&config).await {
        Ok(result) => result,
        Err(error @ RunError::Setup(_)) => return Err(error.to_string()),
    };
    print!("{}", report::text(&result));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
        write_file(path, &json)?;
    }
    if let Some(path) = &args.report {
        write_file(path, &report::html(&result))?;
    }
    Ok(result.passed)
}

async fn setup(
    target: &Option<String>,
    token: Option<String>,
    timeout: Duration,
    args: SetupArgs,
) -> Result<bool, String> {
    if token.is_none() {
        return Err("setup needs an operator token: --token or BERTH_TOKEN".to_owned());
    }
    let api = Api::new(
        target.as_deref().unwrap_or(DEFAULT_TARGET),
        token,
        timeout,
        1,
    )?;
    let fixtures = fixtures::create(
        &api,
        &args.label,
        args.departures.max(1),
        args.capacity,
        args.max_quantity.clamp(1, 100),
        args.spacing_minutes.max(1),
    )
    .await?;
    let json = serde_json::to_string_pretty(&fixtures).map_err(|e| e.to_string())?;
    if let Some(path) = &args.out {
        write_file(path, &json)?;
    }
    println!("{json}");
    Ok(true)
}

async fn verify_command(
    target: &Option<String>,
    token: Option<String>,
    timeout: Duration,
    args: VerifyArgs,
) -> Result<bool, String> {
    if token.is_none() {
        return Err("verify needs the operator token the fixtures were created with: --token or BERTH_TOKEN".to_owned());
    }
    let fixtures = Fixtures::read(&args.fixtures)?;
    let target = target.clone().unwrap_or_else(|| fixtures.target.clone());
    let api = Api::new(&target, token, timeout, 4)?;
    let ledger = args
        .ledger
        .as_deref()
        .map(Snapshot::read_jsonl)
        .transpose()?;
    let verification = verify::verify(&api, &fixtures, ledger.as_ref(), args.expect_seats)
        .await
        .map_err(|e| format!("verification could not run: {e}"))?;
    print!("{}", verify::render(&verification, 50));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&verification).map_err(|e| e.to_string())?;
        write_file(path, &json)?;
    }
    Ok(verification.passed)
}
