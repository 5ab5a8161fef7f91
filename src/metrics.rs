//! Prometheus metrics: one registry per running berth, rendered by `GET /metrics`.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Everything berth counts. Cheap to update from any task.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Booking state changes: held, confirmed, cancelled, expired, checked_in.
    pub bookings: IntCounterVec,
    pub seats_held: IntCounter,
    pub sold_out_rejections: IntCounter,
    /// Transactions run again after a deadlock, lock wait timeout or busy database.
    pub transaction_retries: IntCounter,
    /// Requests answered 503 because the database stayed busy after retries.
    pub busy_responses: IntCounter,
    pub pool_connections: IntGauge,
    /// Outbox messages by channel and status, refreshed at scrape time.
    pub outbox_messages: IntGaugeVec,
    pub pool_idle: IntGauge,
    /// Stripe webhook events by what they did (confirmed, released, refunded, duplicate, …).
    pub stripe_events: IntCounterVec,
    /// Calls to Stripe by call and result (ok, unavailable, rejected).
    pub stripe_calls: IntCounterVec,
    /// Client connections open now (through the connection guard).
    pub connections_open: IntGauge,
    /// Connections the guard refused (`global_cap`, `client_cap`) or closed (`header_timeout`,
    /// `body_timeout`, `idle_timeout`, `send_timeout`, `unframed`), by reason.
    pub connections_ended: IntCounterVec,
    /// Holds refused because the client holds too much, by identity (address, email) and
    /// scope (departure, overall).
    pub hold_limit_refusals: IntCounterVec,
    /// Seats in live (unexpired) holds, refreshed at scrape time.
    pub seats_on_hold: IntGauge,
    /// The most seats one client holds, by identity (address, email), refreshed at scrape
    /// time. One series per identity, never per client: no address ever becomes a label.
    pub largest_holder_seats: IntGaugeVec,
    /// Departures yet to start that are sold out with some of their seats only held, refreshed
    /// at scrape time.
    pub departures_sold_out_by_holds: IntGauge,
    /// Holds committed together in one transaction (`service::holds::batch`), per commit.
    pub hold_batch_size: Histogram,
    /// Batches whose holds did not fit together and were placed one by one instead.
    pub hold_batches_split: IntCounter,
    /// Holds waiting now for their batch: queued, or in the transaction being written.
    pub holds_queued: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers a collector; the definitions below are literals, so failure is a programming error.
fn registered<C: Collector + Clone + 'static>(
    registry: &Registry,
    collector: prometheus::Result<C>,
) -> C {
    let collector = collector.expect("valid metric definition");
    registry
        .register(Box::new(collector.clone()))
        .expect("unique metric name");
    collector
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("berth".into()), None).expect("valid prefix");
        let r = &registry;
        Metrics {
            http_requests: registered(
                r,
                IntCounterVec::new(
                    Opts::new("http_requests_total", "HTTP requests by route and status"),
                    &["route", "method", "status"],
                ),
            ),
            http_duration: registered(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "HTTP request latency by route",
                    )
                    .buckets(vec![
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ]),
                    &["route", "method"],
                ),
            ),
            bookings: registered(
                r,
                IntCounterVec::new(
                    Opts::new("booking_transitions_total", "Booking state changes"),
                    &["transition"],
                ),
            ),
            seats_held: registered(
                r,
                IntCounter::new("seats_held_total", "Seats taken by new holds"),
            ),
            sold_out_rejections: registered(
                r,
                IntCounter::new(
                    "sold_out_rejections_total",
                    "Hold requests refused for lack of seats",
                ),
            ),
            transaction_retries: registered(
                r,
                IntCounter::new(
                    "transaction_retries_total",
                    "Transactions retried after a deadlock, lock wait or busy database",
                ),
            ),
            busy_responses: registered(
                r,
                IntCounter::new(
                    "busy_responses_total",
                    "Requests answered 503 after retries",
                ),
            ),
            pool_connections: registered(
                r,
                IntGauge::new("db_pool_connections", "Open database connections"),
            ),
            outbox_messages: registered(
                r,
                IntGaugeVec::new(
                    Opts::new("outbox_messages", "Outbox messages by channel and status"),
                    &["channel", "status"],
                ),
            ),
            pool_idle: registered(
                r,
                IntGauge::new("db_pool_idle_connections", "Idle database connections"),
            ),
            stripe_events: registered(
                r,
                IntCounterVec::new(
                    Opts::new("stripe_events_total", "Stripe webhook events by outcome"),
                    &["outcome"],
                ),
            ),
            stripe_calls: registered(
                r,
                IntCounterVec::new(
                    Opts::new("stripe_calls_total", "Calls to Stripe by call and result"),
                    &["call", "result"],
                ),
            ),
            connections_open: registered(
                r,
                IntGauge::new("connections_open", "Client connections open now"),
            ),
            connections_ended: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "connections_ended_total",
                        "Client connections refused or closed by the connection guard, by reason",
                    ),
                    &["reason"],
                ),
            ),
            hold_limit_refusals: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "hold_limit_refusals_total",
                        "Holds refused because one client address or email held too many seats",
                    ),
                    &["identity", "scope"],
                ),
            ),
            seats_on_hold: registered(
                r,
                IntGauge::new("seats_on_hold", "Seats in live, unpaid holds"),
            ),
            largest_holder_seats: registered(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "largest_holder_seats",
                        "The most seats one client address or one customer email holds now",
                    ),
                    &["identity"],
                ),
            ),
            hold_batch_size: registered(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "hold_batch_size",
                        "Holds of one departure committed together in one transaction",
                    )
                    .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
                ),
            ),
            hold_batches_split: registered(
                r,
                IntCounter::new(
                    "hold_batches_split_total",
                    "Batches of holds that did not fit together and were placed one by one",
                ),
            ),
            holds_queued: registered(
                r,
                IntGauge::new(
                    "holds_queued",
                    "Holds waiting for their batch's commit: queued, or in the transaction being written",
                ),
            ),
            departures_sold_out_by_holds: registered(
                r,
                IntGauge::new(
                    "departures_sold_out_by_holds",
                    "Departures yet to start with no seat left, some of them only held",
                ),
            ),
            registry,
        }
    }

    /// Counts one booking state change.
    pub fn booking(&self, transition: &str) {
        self.bookings.with_label_values(&[transition]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(%error, "metrics encoding failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
