//! The rules of berth, as pure functions over plain types: no I/O, no clock reads (time is a
//! parameter), no Rocket or sqlx.

pub mod auth;
pub mod booking;
pub mod booking_plan;
pub mod capacity;
pub mod customer;
pub mod embed;
pub mod guide;
pub mod hold_expiry;
pub mod hold_limits;
pub mod ical;
pub mod ids;
pub mod lang;
pub mod message;
pub mod minimum;
pub mod money;
pub mod octo;
pub mod payment_keys;
pub mod price_rules;
pub mod pricing;
pub mod promo;
pub mod records;
pub mod recurrence;
pub mod refund;
pub mod reschedule;
pub mod reseller;
pub mod resource;
pub mod schedule;
pub mod schedule_change;
pub mod schedule_draft;
pub mod tour;
pub mod waitlist;
pub mod webhook;
