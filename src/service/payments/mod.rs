//! Online payments, their webhooks, and refunds, through a payment provider
//! (`integrations::payments::PaymentProvider`; Stripe today).
//!
//! The rules:
//! - A hold paid online is paid through the provider's payment for the server-computed total.
//!   The payment is created after the hold commits (never inside a transaction), with an
//!   idempotency key derived from the booking, so any retry finds the same payment.
//! - If the provider cannot be reached while the hold is created, the hold is released and the
//!   client gets 502 `payment_unavailable`: a hold nobody can pay for would only keep seats from
//!   others.
//! - A succeeded payment confirms the hold. If the hold lapsed (or was released because a
//!   payment attempt failed) the seats are taken again when they are free; when they are not,
//!   the booking is cancelled `sold_out_after_payment` and refunded in full.
//! - Refunds are rows written in the transaction that decides them and then sent to the
//!   provider with an idempotency key derived from the row (a transactional outbox for money);
//!   the ledger records a refund once the provider accepted it.
//! - Each webhook event is recorded under a unique key in the transaction that applies it, so a
//!   redelivery changes nothing.
//!
//! The module is split by concern: `checkout` (a hold's payment is created, stored, or
//! released), `events` (the provider's webhook events), `refunds` (sent, recorded once
//! accepted, and refunds an operator asks for). Refunds are queued by `service::plans`, in the
//! transaction of the booking change that decides them.

mod checkout;
mod events;
mod refunds;

pub use checkout::{create_payment, store_payment, RenderPaidHold};
pub use events::{handle_event, EventOutcome};
pub use refunds::{refund_by_operator, send_refunds, send_refunds_now, RenderRefund};

use std::sync::Arc;

use crate::domain::ids::BookingId;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::integrations::payments::{PaymentProvider, ProviderError};
use crate::storage::payments::{self as store_payments, PaymentRow};
use crate::storage::{ledger, Store};

/// How travelers pay, chosen at start-up (`BERTH_PAYMENTS`).
#[derive(Clone)]
pub enum Payments {
    /// Pay on arrival: the traveler confirms, the operator records the payment at check-in.
    Offline,
    /// Paid online through a provider before the booking is confirmed.
    Online(Arc<dyn PaymentProvider>),
}

impl Payments {
    /// The provider, when travelers pay online.
    pub fn online(&self) -> Option<&dyn PaymentProvider> {
        match self {
            Payments::Offline => None,
            Payments::Online(provider) => Some(provider.as_ref()),
        }
    }
}

/// The idempotency key of a booking's payment: one payment per booking, whatever retries.
/// (`pi` for the PaymentIntent it has always named: a key must not change under a retry that
/// spans an upgrade.)
fn payment_key(booking: &BookingId) -> String {
    format!("berth-pi-{booking}")
}

fn refund_key(refund_id: &str) -> String {
    format!("berth-refund-{refund_id}")
}

/// Counts a provider call by its result (`berth_stripe_calls_total`: the metric kept its name
/// from when Stripe was the only provider, so dashboards keep working).
fn count_call<T>(store: &Store, call: &str, result: &Result<T, ProviderError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(error) => error.outcome(),
    };
    store
        .metrics()
        .stripe_calls
        .with_label_values(&[call, outcome])
        .inc();
}

/// What a booking has paid and got back, for the API.
#[derive(Debug, Clone)]
pub struct PaymentSummary {
    /// `offline`, or the provider's name (`stripe`).
    pub provider: String,
    /// Offline: `pay_on_arrival` or `paid`. Online: the provider's status word (`creating`
    /// before the provider answered).
    pub status: String,
    pub client_secret: Option<String>,
    pub paid: i64,
    pub refunded: i64,
    pub refund_pending: i64,
}

impl PaymentSummary {
    /// What can still be refunded: paid, less refunded and refunds on their way (the rule
    /// `service::plans::refundable` applies under the booking's lock).
    pub fn refundable(&self) -> i64 {
        (self.paid - self.refunded - self.refund_pending).max(0)
    }

    /// The summary of a booking as it is created (nothing paid yet).
    pub fn new_hold(payment: Option<&PaymentRow>) -> PaymentSummary {
        match payment {
            Some(row) => PaymentSummary {
                provider: row.provider.clone(),
                status: row.status.clone(),
                client_secret: row.client_secret.clone(),
                paid: 0,
                refunded: 0,
                refund_pending: 0,
            },
            None => PaymentSummary {
                provider: "offline".into(),
                status: "pay_on_arrival".into(),
                client_secret: None,
                paid: 0,
                refunded: 0,
                refund_pending: 0,
            },
        }
    }
}

pub async fn summary(store: &Store, booking: &BookingRecord) -> Result<PaymentSummary, AppError> {
    let payment = store_payments::get(store, &booking.id).await?;
    let (paid, refunded) = ledger::booking_totals(store, &booking.id).await?;
    let refunds = store_payments::refunds_of(store, &booking.id).await?;
    let refund_pending = refunds
        .iter()
        .filter(|r| r.status == "pending")
        .map(|r| r.amount)
        .sum();
    let mut summary = PaymentSummary::new_hold(payment.as_ref());
    if payment.is_none() && paid > 0 {
        summary.status = "paid".into();
    }
    summary.paid = paid;
    summary.refunded = refunded;
    summary.refund_pending = refund_pending;
    Ok(summary)
}
