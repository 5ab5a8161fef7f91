//! What happened during a run: latency per request kind in HDR histograms, status codes, error
//! codes and transport errors, and a per-second timeline for the report's charts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::api::{Outcome, TransportError};

/// Latencies are recorded in microseconds, up to 10 minutes, with 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant, valid histogram bounds")
}

#[derive(Default)]
struct KindStats {
    latency: Option<Histogram<u64>>,
    statuses: BTreeMap<u16, u64>,
    codes: BTreeMap<String, u64>,
    transport: BTreeMap<TransportError, u64>,
}

struct Second {
    requests: u64,
    bookings: u64,
    server_errors: u64,
    errors: u64,
    latency: Histogram<u64>,
}

impl Second {
    fn new() -> Second {
        Second {
            requests: 0,
            bookings: 0,
            server_errors: 0,
            errors: 0,
            latency: histogram(),
        }
    }
}

#[derive(Default)]
struct Inner {
    kinds: BTreeMap<&'static str, KindStats>,
    seconds: Vec<Second>,
    dropped: u64,
}

/// Shared by every worker of a run. One mutex: at a few thousand requests per second on a
/// client that also waits on the network, it is never the bottleneck.
pub struct Recorder {
    started: Instant,
    inner: Mutex<Inner>,
    pub sent: AtomicU64,
    pub bookings: AtomicU64,
    pub server_errors: AtomicU64,
    pub errors: AtomicU64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
            sent: AtomicU64::new(0),
            bookings: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records one request of `kind`; `booked` marks a successful booking (a 201 hold).
    pub fn record(&self, kind: &'static str, outcome: &Outcome, latency: Duration, booked: bool) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let second = self.started.elapsed().as_secs() as usize;
        let server_error = matches!(outcome, Ok(reply) if reply.status >= 500);
        let error = match outcome {
            Ok(reply) => reply.status >= 400,
            Err(_) => true,
        };
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.bookings
            .fetch_add(u64::from(booked), Ordering::Relaxed);
        self.server_errors
            .fetch_add(u64::from(server_error), Ordering::Relaxed);
        self.errors.fetch_add(u64::from(error), Ordering::Relaxed);

        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let stats = inner.kinds.entry(kind).or_default();
        let latency_hist = stats.latency.get_or_insert_with(histogram);
        latency_hist.saturating_record(micros);
        match outcome {
            Ok(reply) => {
                *stats.statuses.entry(reply.status).or_default() += 1;
                if let Some(code) = &reply.code {
                    *stats.codes.entry(code.clone()).or_default() += 1;
                }
            }
            Err(transport) => *stats.transport.entry(*transport).or_default() += 1,
        }
        while inner.seconds.len() <= second {
            inner.seconds.push(Second::new());
        }
        let bucket = &mut inner.seconds[second];
        bucket.requests += 1;
        bucket.bookings += u64::from(booked);
        bucket.server_errors += u64::from(server_error);
        bucket.errors += u64::from(error);
        bucket.latency.saturating_record(micros);
    }

    /// A booking counted apart from a request (`retry`: one per key, whichever copy made it).
    pub fn record_booking(&self) {
        self.bookings.fetch_add(1, Ordering::Relaxed);
        let second = self.started.elapsed().as_secs() as usize;
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while inner.seconds.len() <= second {
            inner.seconds.push(Second::new());
        }
        inner.seconds[second].bookings += 1;
    }

    /// An arrival of the open model that found every in-flight slot taken: offered, not sent.
    pub fn record_dropped(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).dropped += 1;
    }

    /// The summary of everything recorded so far; `duration` is the run's wall-clock time.
    pub fn summary(&self, duration: Duration) -> Summary {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let seconds = duration.as_secs_f64().max(1e-9);
        let kinds: BTreeMap<String, KindSummary> = inner
            .kinds
            .iter()
            .map(|(kind, stats)| {
                let count =
                    stats.statuses.values().sum::<u64>() + stats.transport.values().sum::<u64>();
                let latency = stats
                    .latency
                    .as_ref()
                    .map(LatencySummary::of)
                    .unwrap_or_default();
                (
                    (*kind).to_owned(),
                    KindSummary {
                        count,
                        per_second: count as f64 / seconds,
                        latency_ms: latency,
                        statuses: stats
                            .statuses
                            .iter()
                            .map(|(s, n)| (s.to_string(), *n))
                            .collect(),
                        error_codes: stats.codes.clone(),
                        transport_errors: stats
                            .transport
                            .iter()
                            .map(|(e, n)| (e.as_str().to_owned(), *n))
                            .collect(),
                    },
                )
            })
            .collect();
        let requests: u64 = kinds.values().map(|k| k.count).sum();
        let bookings = self.bookings.load(Ordering::Relaxed);
        let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for kind in kinds.values() {
            for (status, n) in &kind.statuses {
                *statuses.entry(status.clone()).or_default() += n;
            }
            for (code, n) in &kind.error_codes {
                *errors.entry(code.clone()).or_default() += n;
            }
            for (transport, n) in &kind.transport_errors {
                *errors.entry(format!("transport:{transport}")).or_default() += n;
            }
        }
        if inner.dropped > 0 {
            errors.insert("client_saturated".to_owned(), inner.dropped);
        }
        let server_errors = statuses
            .iter()
            .filter(|(s, _)| s.starts_with('5'))
            .map(|(_, n)| n)
            .sum();
        let successes: u64 = statuses
            .iter()
            .filter(|(s, _)| s.starts_with('2'))
            .map(|(_, n)| n)
            .sum();
        let timeline = inner
            .seconds
            .iter()
            .enumerate()
            .map(|(t, s)| TimelinePoint {
                second: t as u64,
                requests: s.requests,
                bookings: s.bookings,
                errors: s.errors,
                server_errors: s.server_errors,
                p50_ms: ms(s.latency.value_at_quantile(0.5)),
                p90_ms: ms(s.latency.value_at_quantile(0.9)),
                p99_ms: ms(s.latency.value_at_quantile(0.99)),
            })
            .collect();
        Summary {
            duration_s: duration.as_secs_f64(),
            requests,
            requests_per_s: requests as f64 / seconds,
            bookings,
            bookings_per_s: bookings as f64 / seconds,
            successes,
            successes_per_s: successes as f64 / seconds,
            server_errors,
            dropped_arrivals: inner.dropped,
            statuses,
            errors,
            kinds,
            timeline,
        }
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl LatencySummary {
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        LatencySummary {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KindSummary {
    pub count: u64,
    pub per_second: f64,
    pub latency_ms: LatencySummary,
    pub statuses: BTreeMap<String, u64>,
    pub error_codes: BTreeMap<String, u64>,
    pub transport_errors: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelinePoint {
    pub second: u64,
    pub requests: u64,
    pub bookings: u64,
    pub errors: u64,
    pub server_errors: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub duration_s: f64,
    pub requests: u64,
    pub requests_per_s: f64,
    /// Successful bookings: holds answered 201.
    pub bookings: u64,
    pub bookings_per_s: f64,
    /// 2xx answers of any kind.
    pub successes: u64,
    pub successes_per_s: f64,
    pub server_errors: u64,
    /// Open model only: arrivals not sent because `--concurrency` requests were in flight.
    pub dropped_arrivals: u64,
    /// Status code → count, over every request kind.
    pub statuses: BTreeMap<String, u64>,
    /// Error kind → count: berth error codes, `transport:*`, `client_saturated`.
    pub errors: BTreeMap<String, u64>,
    pub kinds: BTreeMap<String, KindSummary>,
    pub timeline: Vec<TimelinePoint>,
}
