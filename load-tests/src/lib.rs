//! berth-load: races clients for seats on a berth deployment, then proves through the public API
//! that nothing was sold twice. `main.rs` is the command line; [`run`] is the whole tool, so tests
//! can drive it in-process.
//!
//! - `api`: the HTTP calls. - `fixtures`: the tour and departures a run books against.
//! - `scenario`: the traffic. - `stats`: latency histograms, status codes, timeline.
//! - `ledger`: what berth answered 201 for. - `verify`: the checks after the load.
//! - `report`: the summary as text, JSON and a self-contained HTML page.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

pub mod api;
pub mod fixtures;
pub mod ledger;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod verify;

use api::Api;
use fixtures::Fixtures;
use ledger::Ledger;
use stats::{Recorder, Summary};
use verify::Verification;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// One departure of --capacity seats; every client races for it.
    Rush,
    /// --departures departures; requests spread over them (uncontended throughput).
    Spread,
    /// Reads, holds, confirms, cancels (and expiries) at --rate arrivals/s, open model.
    Mixed,
    /// Every booking sent --copies times at once with one Idempotency-Key, then once more.
    Retry,
    /// GET --path (default /health) as fast as possible: the HTTP ceiling, no fixtures.
    Ceiling,
    /// A tour's public availability for a month (30 daily departures, or --departures).
    Availability,
    /// A departure's manifest of --bookings live bookings (held first, not timed).
    Manifest,
    /// The operator's revenue report for the last year.
    Revenue,
    /// The operator's booking search: the newest page (--query adds filters).
    Search,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Rush => "rush",
            Scenario::Spread => "spread",
            Scenario::Mixed => "mixed",
            Scenario::Retry => "retry",
            Scenario::Ceiling => "ceiling",
            Scenario::Availability => "availability",
            Scenario::Manifest => "manifest",
            Scenario::Revenue => "revenue",
            Scenario::Search => "search",
        }
    }

    /// The read paths: GETs judged by what they answer, no bookings made while timed.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Scenario::Availability | Scenario::Manifest | Scenario::Revenue | Scenario::Search
        )
    }
}

/// One run, as the command line describes it.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub target: String,
    #[serde(skip)]
    pub token: Option<String>,
    pub scenario: Scenario,
    pub concurrency: usize,
    pub requests: u64,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// Arrivals per second (`mixed`).
    pub rate: f64,
    /// Seats per fixture departure; `None` picks the scenario's default.
    pub capacity: Option<u32>,
    /// Fixture departures; `None` picks the scenario's default.
    pub departures: Option<usize>,
    /// Seats per booking are drawn from 1..=max_quantity.
    pub max_quantity: u32,
    pub seed: u64,
    pub allow_5xx: bool,
    #[serde(serialize_with = "seconds")]
    pub timeout: Duration,
    /// Path for `ceiling`.
    pub path: String,
    /// Concurrent copies of each booking (`retry`).
    pub copies: usize,
    /// Print a progress line every second (stderr).
    pub progress: bool,
    /// Live bookings on the manifest (`manifest`), made before the timed run.
    pub bookings: u32,
    /// Extra query string for `search`, e.g. `q=garcia` or `status=confirmed`.
    pub query: Option<String>,
}

/// Durations in the JSON result are seconds.
fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

impl Config {
    /// Defaults for `scenario` against `target`: the CLI's defaults, for tests and embedders.
    pub fn new(target: &str, token: Option<String>, scenario: Scenario) -> Config {
        Config {
            target: target.to_owned(),
            token,
            scenario,
            concurrency: 32,
            requests: 2000,
            duration: Duration::from_secs(30),
            rate: 200.0,
            capacity: None,
            departures: None,
            max_quantity: 4,
            seed: rand::random(),
            allow_5xx: false,
            timeout: Duration::from_secs(10),
            path: "/health".to_owned(),
            copies: 3,
            progress: false,
            bookings: 500,
            query: None,
        }
    }

    /// (departures, seats each) this run creates.
    fn fixture_shape(&self) -> (usize, u32) {
        let max_capacity = 100_000;
        match self.scenario {
            Scenario::Rush | Scenario::Retry => (1, self.capacity.unwrap_or(50)),
            Scenario::Spread => {
                let count = self.departures.unwrap_or(50).max(1);
                // Enough that no departure sells out: spread measures the uncontended path.
                let needed =
                    self.requests.saturating_mul(u64::from(self.max_quantity)) / count as u64;
                let default = (needed * 2).clamp(100, max_capacity);
                (count, self.capacity.unwrap_or(default as u32))
            }
            Scenario::Mixed => (
                self.departures.unwrap_or(10).max(1),
                self.capacity.unwrap_or(50),
            ),
            Scenario::Ceiling | Scenario::Revenue => (0, 0),
            Scenario::Availability => (self.departures.unwrap_or(30).clamp(1, 90), 10),
            Scenario::Manifest => (1, self.capacity.unwrap_or(0).max(self.bookings.max(1))),
            Scenario::Search => (1, 100),
        }
    }
}

/// Everything a run produced; `--json` writes exactly this.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub tool: &'static str,
    pub started_at: String,
    pub config: Config,
    pub fixtures: Option<Fixtures>,
    pub summary: Summary,
    pub verification: Option<Verification>,
    /// What berth answered 201 for (not in `--json`: one line per booking).
    #[serde(skip)]
    pub ledger: ledger::Snapshot,
    /// Why the run failed; empty when it passed.
    pub failures: Vec<String>,
    pub passed: bool,
}

/// Why a run could not happen at all (as opposed to a run that found violations).
#[derive(Debug)]
pub enum RunError {
    /// Fixtures or the client could not be set up.
    Setup(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Setup(why) => write!(f, "setup failed: {why}"),
        }
    }
}

/// Sets up fixtures, runs the scenario, verifies, and judges the run.
pub async fn run(config: &Config) -> Result<RunResult, RunError> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let api = Api::new(
        &config.target,
        config.token.clone(),
        config.timeout,
        config.concurrency,
    )
    .map_err(RunError::Setup)?;
    let (count, capacity) = config.fixture_shape();
    let fixtures = if count > 0 {
        if config.token.is_none() {
            return Err(RunError::Setup(
                "an operator token is needed to create fixtures: pass --token or set BERTH_TOKEN"
                    .to_owned(),
            ));
        }
        let fixtures = fixtures::create(
            &api,
            config.scenario.as_str(),
            count,
            capacity,
            config.max_quantity.clamp(1, 100),
            // The availability reads a month: one departure a day.
            if config.scenario == Scenario::Availability {
                1440
            } else {
                1
            },
        )
        .await
        .map_err(RunError::Setup)?;
        Some(Arc::new(fixtures))
    } else {
        None
    };

    let ledger = Arc::new(Ledger::default());
    // The read paths' request and what its answer must be; their bookings are made here, untimed.
    let read = if config.scenario.is_read() {
        Some(Arc::new(
            scenario::prepare_read(&api, config, fixtures.as_deref(), &ledger)
                .await
                .map_err(RunError::Setup)?,
        ))
    } else {
        None
    };
    let recorder = Arc::new(Recorder::new());
    let started = Instant::now();
    let ctx = Arc::new(scenario::Context {
        api: api.clone(),
        recorder: recorder.clone(),
        ledger: ledger.clone(),
        fixtures: fixtures.clone(),
        concurrency: config.concurrency.max(1),
        requests: config.requests,
        deadline: started + config.duration,
        seed: config.seed,
    });
    let progress = config
        .progress
        .then(|| tokio::spawn(progress_line(recorder.clone())));
    match config.scenario {
        Scenario::Rush => scenario::rush(ctx).await,
        Scenario::Spread => scenario::spread(ctx).await,
        Scenario::Mixed => scenario::mixed(ctx, config.rate).await,
        Scenario::Ceiling => scenario::ceiling(ctx, config.path.clone()).await,
        Scenario::Retry => scenario::retry(ctx, config.copies).await,
        Scenario::Availability | Scenario::Manifest | Scenario::Revenue | Scenario::Search => {
            if let Some(read) = read {
                scenario::read(ctx, read).await;
            }
        }
    }
    let elapsed = started.elapsed();
    if let Some(progress) = progress {
        progress.abort();
    }
    let summary = recorder.summary(elapsed);

    let mut failures = Vec::new();
    let snapshot = ledger.snapshot();
    let verification = match &fixtures {
        Some(fixtures) => match verify::verify(&api, fixtures, Some(&snapshot), None).await {
            Ok(verification) => {
                if !verification.passed {
                    failures.push(format!(
                        "verification found {} violations",
                        verification.violations.len()
                    ));
                }
                Some(verification)
            }
            Err(error) => {
                failures.push(format!("verification could not run: {error}"));
                None
            }
        },
        None => None,
    };
    if summary.server_errors > 0 && !config.allow_5xx {
        failures.push(format!(
            "{} responses were 5xx (pass --allow-5xx to accept them)",
            summary.server_errors
        ));
    }
    let unexpected = unexpected_client_errors(&summary);
    if unexpected > 0 {
        failures.push(format!(
            "{unexpected} responses were 4xx other than 409 (the tool or berth is broken)"
        ));
    }
    if summary.requests == 0 {
        failures.push("no request was sent".to_owned());
    }
    Ok(RunResult {
        tool: concat!("berth-load ", env!("CARGO_PKG_VERSION")),
        started_at,
        config: config.clone(),
        fixtures: fixtures.map(|f| (*f).clone()),
        summary,
        verification,
        ledger: snapshot,
        passed: failures.is_empty(),
        failures,
    })
}

/// 4xx answers a well-behaved client should never get: everything but 409 (sold out, hold
/// expired, and the other conflicts that racing clients cause).
fn unexpected_client_errors(summary: &Summary) -> u64 {
    summary
        .statuses
        .iter()
        .filter(|(status, _)| status.starts_with('4') && status.as_str() != "409")
        .map(|(_, n)| n)
        .sum()
}

async fn progress_line(recorder: Arc<Recorder>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = 0;
    loop {
        tick.tick().await;
        let sent = recorder.sent.load(Ordering::Relaxed);
        eprintln!(
            "[{:>5.1}s] sent {sent:>8}  {:>6}/s  booked {:>7}  non-2xx {:>6}  5xx {:>5}",
            recorder.elapsed().as_secs_f64(),
            sent - last,
            recorder.bookings.load(Ordering::Relaxed),
            recorder.errors.load(Ordering::Relaxed),
            recorder.server_errors.load(Ordering::Relaxed),
        );
        last = sent;
    }
}
