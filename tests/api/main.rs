//! berth's integration tests: one binary, every storage-touching test on SQLite and MySQL.

mod support;

mod auth;
mod authz;
mod bookings;
mod catalogue;
mod cli;
mod concurrency;
mod config;
mod db_faults;
mod errors;
mod idempotency;
mod injection;
mod instances;
mod invariant;
mod ledger;
mod metrics;
mod notifications;
mod openapi;
mod operator;
mod payments;
mod schedules;
mod security;
mod slow_clients;
