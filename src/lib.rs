//! berth: a seat reservation engine for tours and scheduled activities that never overbooks.
//!
//! The module map (ARCHITECTURE.md has it with the rules between layers):
//! - `app`: the composition root; builds the pool, transports, payments and rate limits from
//!   `config`'s plain values and hands them to Rocket. Nothing imports it.
//! - `config`: settings as plain values, start-up refusals, no secrets in files.
//! - `domain`: the rules, pure (no clock, no I/O).
//! - `service`: use cases, each owning its transaction (`auth/`, `notifications/` by concern).
//! - `storage`: all SQL, for SQLite and MySQL.
//! - `integrations`: Stripe, email and SMS clients.
//! - `http`: the JSON API: routes, guards, views, the one error-to-status mapping.
//! - `i18n`: the message catalogues and per-language formats, shared by pages and messages.
//! - `web`: HTML pages (templates and assets embedded), beside the API.
//! - `workers`: outbox, hold expiry, horizon, reminders, refunds and purges.
//! - `net`: the connection guard in front of Rocket (connection caps and timeouts).
//! - `secrets`, `clock`, `error`, `metrics`, `logging`: keys and hashes, the injectable clock,
//!   `AppError`, Prometheus metrics, Rocket's log without query strings.

mod app;
pub mod clock;
pub mod config;
pub mod domain;
mod embedded;
pub mod error;
pub mod http;
pub mod i18n;
pub mod integrations;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod secrets;
pub mod service;
pub mod storage;
pub mod web;
pub mod workers;

pub use app::{open_store, payments, rate_limits, rocket, rocket_with_clock, transports};
