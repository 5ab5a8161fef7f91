//! The payment-provider seam: what berth asks of whoever takes its travelers' money, in berth's
//! words. `service::payments` holds every rule (when a payment confirms a hold, what a refund
//! may be, what a redelivered event changes) and talks only to this trait; a provider turns
//! these calls into its own API and its webhooks into `PaymentEvent`s. Stripe (`stripe.rs`) is
//! the one provider so far: another is one file implementing `PaymentProvider` and its wiring in
//! `app::payments`.
//!
//! The contract every provider keeps:
//! - `create_payment` and `refund` carry an idempotency key chosen by berth (derived from its own
//!   ids): the same key always answers with the object the first call created, so no retry can
//!   charge or refund twice.
//! - `Unavailable` means the call may or may not have taken effect, and repeating it with the
//!   same key is safe; `Rejected` means it did not, and repeating it will not help.
//! - `read_event` checks the webhook's signature before a byte of the body is parsed.

use std::fmt;
use std::sync::Arc;

/// What to create a payment for. The amount is the server-computed booking total.
pub struct NewPayment<'a> {
    pub amount: i64,
    pub currency: &'a str,
    pub booking_id: &'a str,
    pub booking_reference: &'a str,
    pub operator_id: &'a str,
    /// Shown to the payer by the provider (the tour's name).
    pub description: &'a str,
}

/// A payment as the provider reports it.
#[derive(Debug, Clone)]
pub struct ProviderPayment {
    /// The provider's id of the payment (a Stripe PaymentIntent id).
    pub id: String,
    /// What the payment page needs to collect the payment (Stripe.js's client secret).
    pub client_secret: Option<String>,
    /// The provider's own status word, stored as it is.
    pub status: String,
    pub amount: i64,
    /// What was actually received; 0 when the provider does not say.
    pub amount_received: i64,
    /// ISO 4217, as the provider writes it (any case).
    pub currency: String,
    /// berth's booking id, sent with the payment when it was created.
    pub booking_id: Option<String>,
}

impl ProviderPayment {
    /// What the payment brought in: the amount received, else the amount asked.
    pub fn received(&self) -> i64 {
        if self.amount_received > 0 {
            self.amount_received
        } else {
            self.amount
        }
    }
}

/// A refund as the provider reports it.
#[derive(Debug, Clone)]
pub struct ProviderRefund {
    /// The provider's id of the refund.
    pub id: String,
    pub amount: i64,
    /// The refund happened or is under way (not failed or canceled).
    pub stands: bool,
    /// berth's refund id, when berth asked for it; `None` for a refund made elsewhere (the
    /// provider's dashboard).
    pub refund_id: Option<String>,
}

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// Not reached, or kept failing after retries. It may have taken effect: repeating it with
    /// the same key is safe.
    Unavailable(String),
    /// Refused; repeating it will not help. The text names the provider's reason, never secrets.
    Rejected(String),
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::Unavailable(detail) => {
                write!(f, "payment provider unavailable: {detail}")
            }
            ProviderError::Rejected(detail) => {
                write!(f, "payment provider refused the request: {detail}")
            }
        }
    }
}

impl std::error::Error for ProviderError {}

impl ProviderError {
    /// The word for metrics: `unavailable` or `rejected`.
    pub fn outcome(&self) -> &'static str {
        match self {
            ProviderError::Unavailable(_) => "unavailable",
            ProviderError::Rejected(_) => "rejected",
        }
    }
}

/// A verified webhook event, read into what berth acts on.
#[derive(Debug, Clone)]
pub struct PaymentEvent {
    /// The provider's event id: an event is applied once, however often it is delivered.
    pub id: String,
    /// The provider's event type, recorded as it is.
    pub kind: String,
    pub what: EventKind,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    /// The payment succeeded.
    Succeeded(ProviderPayment),
    /// An attempt to pay failed; the payer may not come back.
    Failed(ProviderPayment),
    /// The payment was canceled.
    Canceled(ProviderPayment),
    /// Refunds changed on a payment (berth's or made elsewhere): reconcile with `refunds_of`.
    Refunded { payment_id: Option<String> },
    /// Anything else: recorded, nothing changes.
    Other,
}

/// Why a webhook was refused (both are 400s; nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// Missing, malformed, stale or not matching: `invalid_signature`.
    Signature(String),
    /// Signed, but not an event berth can read: `malformed_event`.
    Malformed(&'static str),
}

/// A provider of online payments.
#[rocket::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's name, stored with payments, refunds and ledger entries (`stripe`).
    fn name(&self) -> &'static str;

    /// Creates the payment of a booking, or finds the one this key created before.
    async fn create_payment(
        &self,
        payment: &NewPayment<'_>,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError>;

    /// Refunds `amount` (minor units) of a payment, tagged with berth's refund id.
    async fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        refund_id: &str,
        idempotency_key: &str,
    ) -> Result<ProviderRefund, ProviderError>;

    /// Every refund of a payment, whoever made it.
    async fn refunds_of(&self, payment_id: &str) -> Result<Vec<ProviderRefund>, ProviderError>;

    /// One harmless call that proves the credentials work: the provider's id of the account
    /// they belong to.
    async fn check_account(&self) -> Result<String, ProviderError>;

    /// Verifies a webhook (`signature` is the provider's signature header) and reads its event.
    fn read_event(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<PaymentEvent, WebhookError>;
}

/// Makes a provider that works for an operator's own account, from that account's keys. Keys
/// are checked for shape before they are stored (`domain::payment_keys`); `Err` names what is
/// wrong, never the key.
pub trait AccountConnector: Send + Sync {
    fn connect(
        &self,
        secret_key: &str,
        webhook_secret: &str,
    ) -> Result<Arc<dyn PaymentProvider>, String>;
}
