//! berth: a seat reservation engine for tours and scheduled activities that never overbooks.
//!
//! - `domain`: the rules, pure.
//! - `service`: use cases, each owning its transaction.
//! - `storage`: all SQL, for SQLite and MySQL.
//! - `http`: Rocket routes, guards, views, catchers.
//! - `web`: HTML pages (templates, assets, catalogues embedded), beside the API.
//! - `workers`: hold expiry and schedule horizon.
//! - `net`: the connection guard in front of Rocket (connection caps and timeouts).
//! - `config`: settings and start-up refusals; `logging`: Rocket's log without query strings.

mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
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
