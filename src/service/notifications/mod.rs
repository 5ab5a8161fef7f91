//! Telling travelers: messages are enqueued in the outbox with the change that causes them (see
//! [`enqueue`]), then rendered and sent by [`dispatch_once`], outside any transaction.
//!
//! - `enqueue`: into the outbox, in the caller's transaction; operators' list, retry and
//!   resending a confirmation.
//! - `dispatch`: out of it, to the transports, with leases, backoff and delivery reports.
//! - `templates`: what each message says.
//! - `transports`: the mailer and SMS sender the dispatcher uses.

mod dispatch;
mod enqueue;
mod templates;
pub mod transports;

pub use dispatch::{dispatch_once, record_delivery};
pub use enqueue::{
    enqueue, enqueue_hold_expired, enqueue_reminders, list, purge_sent, resend_confirmation, retry,
    SENT_RETENTION_DAYS,
};
pub use templates::calendar_entry;
pub use transports::Transports;
