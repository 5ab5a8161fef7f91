//! berth's integration tests: one binary, every storage-touching test on SQLite and MySQL.

mod support;

mod archive;
mod audit;
mod auth;
mod authz;
mod booking_search;
mod bookings;
mod calendar_feeds;
mod catalogue;
mod claims;
mod cli;
mod clock;
mod concurrency;
mod config;
mod db_faults;
mod deployment;
mod errors;
mod guarantees;
mod guides;
mod hold_batches;
mod hold_limits;
mod idempotency;
mod injection;
mod instances;
mod invariant;
mod ledger;
mod metrics;
mod notifications;
mod octo;
mod octo_bookings;
mod octo_validator;
mod openapi;
mod operator;
mod operator_payments;
mod payment_provider;
mod payments;
mod prices;
mod promo_codes;
mod reschedule;
mod resellers;
mod resources;
mod schedule_changes;
mod schedules;
mod security;
mod sender_domains;
mod slow_clients;
mod vocabulary;
mod waitlist;
mod webhooks;

// Page tests (src/web) share this binary: see tests/web/mod.rs for why.
#[path = "../web/mod.rs"]
mod web;
