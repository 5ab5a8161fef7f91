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

mod accounts;
mod checkout;
mod events;
mod refunds;

pub use accounts::{
    check_account, payment_settings, publishable_key, remove_account, set_account, AccountCheck,
    PaymentSettings, SettingsSource,
};
pub use checkout::{create_payment, store_payment, RenderPaidHold};
pub use events::{gateway_for_event, handle_event, EventOutcome};
pub use refunds::{refund_by_operator, send_refunds, send_refunds_now, RenderRefund};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::ids::{BookingId, OperatorId, PaymentAccountId};
use crate::domain::payment_keys::KeyMode;
use crate::domain::records::BookingRecord;
use crate::error::AppError;
use crate::integrations::payments::{AccountConnector, PaymentProvider, ProviderError};
use crate::secrets::Keyring;
use crate::storage::payment_accounts::{self, PaymentAccount};
use crate::storage::payments::{self as store_payments, PaymentRow};
use crate::storage::{ledger, Store};

/// How many of an operator's accounts, newest first, its webhook endpoint verifies with: the one
/// in force and the replaced ones whose payments may still settle.
const WEBHOOK_ACCOUNTS: u32 = 100;

/// Who takes an operator's money: the operator's own account at the provider, else the
/// instance's (`BERTH_STRIPE_SECRET_KEY`), else nobody (travelers pay on arrival).
#[derive(Clone)]
pub struct Payments(Arc<Accounts>);

struct Accounts {
    /// The instance's account, from the environment (`BERTH_PAYMENTS=stripe`).
    instance: Option<Arc<dyn PaymentProvider>>,
    /// The instance account's mode, for the console.
    instance_mode: Option<KeyMode>,
    /// Connects an operator's own keys to the provider; `None` where operators cannot have
    /// their own (tests of the offline engine).
    connector: Option<Arc<dyn AccountConnector>>,
    /// Opens the sealed keys (`BERTH_SECRET_KEY`).
    keyring: Keyring,
    /// Providers made from operators' keys, by account id: an account's keys never change (new
    /// keys are a new account), so an entry never goes stale.
    connected: Mutex<HashMap<PaymentAccountId, Arc<dyn PaymentProvider>>>,
    /// Each operator's account in force, as read at most [`IN_FORCE_TTL`] ago: every hold asks,
    /// and the answer rarely changes. This process forgets an operator's entry when it changes
    /// its keys; another instance sees the change within the TTL (a hold made meanwhile with the
    /// keys just replaced is still refunded and verified with them).
    in_force: Mutex<HashMap<OperatorId, (Instant, Option<PaymentAccount>)>>,
}

/// How long an operator's account in force is remembered.
const IN_FORCE_TTL: Duration = Duration::from_secs(5);

/// A provider and the account it works for: `account` is `None` for the instance's.
#[derive(Clone)]
pub struct Gateway {
    pub account: Option<PaymentAccountId>,
    pub provider: Arc<dyn PaymentProvider>,
}

impl Gateway {
    /// The key under which a webhook event of this account is recorded as processed: event
    /// ids are the provider's, unique within one account only. The instance's keep the bare
    /// id they always had, so a redelivery across an upgrade is still recognised.
    fn event_key(&self, event_id: &str) -> String {
        match &self.account {
            Some(account) => format!("{account}:{event_id}"),
            None => event_id.to_owned(),
        }
    }
}

impl Payments {
    pub fn new(
        instance: Option<Arc<dyn PaymentProvider>>,
        instance_mode: Option<KeyMode>,
        connector: Option<Arc<dyn AccountConnector>>,
        keyring: Keyring,
    ) -> Payments {
        Payments(Arc::new(Accounts {
            instance,
            instance_mode,
            connector,
            keyring,
            connected: Mutex::default(),
            in_force: Mutex::default(),
        }))
    }

    /// Pay on arrival for everyone, and no operator can connect an account.
    pub fn offline() -> Payments {
        Payments::new(None, None, None, Keyring::new(b"offline"))
    }

    /// The instance's provider, when the environment configures one.
    pub fn instance(&self) -> Option<&dyn PaymentProvider> {
        self.0.instance.as_deref()
    }

    pub fn instance_mode(&self) -> Option<KeyMode> {
        self.0.instance_mode
    }

    pub(crate) fn keyring(&self) -> &Keyring {
        &self.0.keyring
    }

    pub(crate) fn connector(&self) -> Option<&dyn AccountConnector> {
        self.0.connector.as_deref()
    }

    pub fn instance_gateway(&self) -> Option<Gateway> {
        self.0.instance.clone().map(|provider| Gateway {
            account: None,
            provider,
        })
    }

    /// Where an operator's new payments go: its own account in force, else the instance's;
    /// `None`: its travelers pay on arrival.
    pub async fn for_operator(
        &self,
        store: &Store,
        operator: &OperatorId,
    ) -> Result<Option<Gateway>, AppError> {
        let remembered = {
            let in_force = self.0.in_force.lock().unwrap_or_else(|e| e.into_inner());
            in_force
                .get(operator)
                .filter(|(read_at, _)| read_at.elapsed() < IN_FORCE_TTL)
                .map(|(_, account)| account.clone())
        };
        let account = match remembered {
            Some(account) => account,
            None => {
                let account = payment_accounts::current(store, operator).await?;
                let mut in_force = self.0.in_force.lock().unwrap_or_else(|e| e.into_inner());
                in_force.insert(operator.clone(), (Instant::now(), account.clone()));
                account
            }
        };
        match account {
            Some(account) => self.connect(&account).map(Some),
            None => Ok(self.instance_gateway()),
        }
    }

    /// Forgets what this process remembers of an operator's account in force (its keys changed).
    pub(crate) fn forget(&self, operator: &OperatorId) {
        let mut in_force = self.0.in_force.lock().unwrap_or_else(|e| e.into_inner());
        in_force.remove(operator);
    }

    /// The account a payment was made under, for its refunds: the operator's keys of that
    /// moment, even after they were replaced.
    pub async fn for_payment(
        &self,
        store: &Store,
        payment: &PaymentRow,
    ) -> Result<Option<Gateway>, AppError> {
        match &payment.account_id {
            Some(id) => {
                let id = PaymentAccountId::from_stored(id.clone());
                match payment_accounts::get(store, &id).await? {
                    Some(account) => self.connect(&account).map(Some),
                    None => Ok(None),
                }
            }
            None => Ok(self.instance_gateway()),
        }
    }

    /// The accounts an operator's webhook endpoint may hear from: the one in force and those
    /// replaced (their payments still settle), newest first. One whose keys no longer open is
    /// left out (and logged), so it cannot keep the others' events from being verified.
    pub async fn webhook_gateways(
        &self,
        store: &Store,
        operator: &OperatorId,
    ) -> Result<Vec<Gateway>, AppError> {
        let accounts = payment_accounts::of_operator(store, operator, WEBHOOK_ACCOUNTS).await?;
        Ok(accounts
            .iter()
            .filter_map(|account| self.connect(account).ok())
            .collect())
    }

    /// The provider for an operator's account, made once per account and process.
    fn connect(&self, account: &PaymentAccount) -> Result<Gateway, AppError> {
        let gateway = |provider| Gateway {
            account: Some(account.id.clone()),
            provider,
        };
        let mut connected = self.0.connected.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(provider) = connected.get(&account.id) {
            return Ok(gateway(provider.clone()));
        }
        let Some(connector) = &self.0.connector else {
            return Err(AppError::PaymentUnavailable);
        };
        let opened = accounts::open_keys(&self.0.keyring, account);
        let provider = opened
            .and_then(|(secret_key, webhook_secret)| {
                connector.connect(&secret_key, &webhook_secret)
            })
            .map_err(|problem| {
                tracing::error!(account = %account.id, operator = %account.operator_id, %problem, "an operator's payment account cannot be used");
                AppError::PaymentUnavailable
            })?;
        connected.insert(account.id.clone(), provider.clone());
        Ok(gateway(provider))
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
