//! An operator's own payment account: its keys set, replaced, removed and checked, and what is
//! in force shown without a secret.
//!
//! The rules:
//! - Keys are checked for shape and mode before anything is stored; a live key is refused on a
//!   debug instance.
//! - The secret key and the webhook secret are sealed under `BERTH_SECRET_KEY` with the
//!   account's id as associated data; only their masks are kept in clear.
//! - New keys never overwrite old ones: the old account is retired and kept, so a payment made
//!   under it is refunded with its keys and its webhooks still verify.
//! - An operator without keys of its own is paid through the instance's account
//!   (`BERTH_STRIPE_SECRET_KEY`) when there is one, else its travelers pay on arrival.
//! - Every change is audited with the masks, never a key.

use chrono::{DateTime, Utc};

use crate::domain::ids::{OperatorId, PaymentAccountId};
use crate::domain::payment_keys::{mask, KeyMode, StripeCredentials};
use crate::error::AppError;
use crate::secrets::Keyring;
use crate::service::audit::{self, Action, Target};
use crate::service::auth::{Actor, Principal};
use crate::storage::payment_accounts::{self, PaymentAccount};
use crate::storage::Store;

use super::Payments;

const SEAL_PURPOSE: &str = "payment-account";

fn seal_context(account: &PaymentAccountId, field: &str) -> String {
    format!("{account}:{field}")
}

/// The secret key and webhook secret of an account, opened; `Err` says why they cannot be (a
/// changed `BERTH_SECRET_KEY`), never what they are.
pub(super) fn open_keys(
    keyring: &Keyring,
    account: &PaymentAccount,
) -> Result<(String, String), String> {
    let open = |sealed: &str, field: &str| {
        keyring
            .open_text(SEAL_PURPOSE, &seal_context(&account.id, field), sealed)
            .ok_or_else(|| {
                format!("the stored {field} does not open under BERTH_SECRET_KEY (was it changed?)")
            })
    };
    Ok((
        open(&account.secret_key_sealed, "secret_key")?,
        open(&account.webhook_secret_sealed, "webhook_secret")?,
    ))
}

/// Which keys take an operator's payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSource {
    /// The operator's own keys.
    Operator,
    /// The instance's, from the environment (`BERTH_STRIPE_SECRET_KEY`).
    Environment,
    /// None: travelers pay on arrival.
    None,
}

impl SettingsSource {
    pub const ALL: [SettingsSource; 3] = [
        SettingsSource::Operator,
        SettingsSource::Environment,
        SettingsSource::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SettingsSource::Operator => "operator",
            SettingsSource::Environment => "environment",
            SettingsSource::None => "none",
        }
    }
}

/// An operator's payment settings as an owner sees them: masks, never keys.
#[derive(Debug, Clone)]
pub struct PaymentSettings {
    pub source: SettingsSource,
    /// The mode of the keys in force.
    pub mode: Option<KeyMode>,
    /// The operator's own account in force.
    pub account: Option<PaymentAccount>,
    /// Where the operator's Stripe account sends its events.
    pub webhook_path: String,
}

pub async fn payment_settings(
    store: &Store,
    payments: &Payments,
    operator: &OperatorId,
) -> Result<PaymentSettings, AppError> {
    let account = payment_accounts::current(store, operator).await?;
    Ok(settings(payments, operator, account))
}

fn settings(
    payments: &Payments,
    operator: &OperatorId,
    account: Option<PaymentAccount>,
) -> PaymentSettings {
    let (source, mode) = match (&account, payments.instance_mode()) {
        (Some(account), _) => (SettingsSource::Operator, Some(account.mode)),
        (None, Some(mode)) => (SettingsSource::Environment, Some(mode)),
        (None, None) => (SettingsSource::None, None),
    };
    PaymentSettings {
        source,
        mode,
        account,
        webhook_path: format!("/v1/webhooks/stripe/{operator}"),
    }
}

fn require_owner(by: &Principal) -> Result<(), AppError> {
    if by.role.at_least(crate::domain::auth::Role::Owner) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Sets the operator's own keys. The same keys again change nothing; other keys retire the
/// account in force (kept for the payments made under it) and start a new one.
pub async fn set_account(
    store: &Store,
    payments: &Payments,
    live_allowed: bool,
    now: DateTime<Utc>,
    by: &Principal,
    credentials: (&str, &str, &str),
) -> Result<PaymentSettings, AppError> {
    require_owner(by)?;
    let (secret_key, publishable_key, webhook_secret) = credentials;
    let credentials =
        StripeCredentials::parse(secret_key, publishable_key, webhook_secret, live_allowed)?;
    if payments.connector().is_none() {
        return Err(AppError::invalid(
            "secret_key",
            "online payments are not available on this instance",
        ));
    }
    let keyring = payments.keyring();
    let id = PaymentAccountId::generate();
    let account = PaymentAccount {
        secret_key_sealed: keyring.seal_text(
            SEAL_PURPOSE,
            &seal_context(&id, "secret_key"),
            &credentials.secret_key,
        ),
        secret_key_mask: mask(&credentials.secret_key),
        publishable_key: credentials.publishable_key.clone(),
        webhook_secret_sealed: keyring.seal_text(
            SEAL_PURPOSE,
            &seal_context(&id, "webhook_secret"),
            &credentials.webhook_secret,
        ),
        webhook_secret_mask: mask(&credentials.webhook_secret),
        id,
        operator_id: by.operator.clone(),
        provider: "stripe".to_owned(),
        mode: credentials.mode,
        created_at: now,
        created_by: match &by.actor {
            Actor::User { user, .. } | Actor::Account(user) => Some(user.clone()),
            _ => None,
        },
        retired_at: None,
    };
    let in_force = transaction!(store, |tx| {
        payment_accounts::lock_operator(&mut tx, &by.operator).await?;
        if let Some(current) = payment_accounts::current_in(&mut tx, &by.operator).await? {
            let same = open_keys(keyring, &current).is_ok_and(|(secret, webhook)| {
                secret == credentials.secret_key
                    && webhook == credentials.webhook_secret
                    && current.publishable_key == credentials.publishable_key
            });
            if same {
                return Ok(current);
            }
        }
        let replaced = payment_accounts::retire_current(&mut tx, &by.operator, now).await?;
        payment_accounts::insert(&mut tx, &account).await?;
        let detail = serde_json::json!({
            "provider": account.provider,
            "mode": account.mode.as_str(),
            "secret_key": account.secret_key_mask,
            "webhook_secret": account.webhook_secret_mask,
            "replaced": replaced.as_ref().map(|r| r.secret_key_mask.as_str()),
        })
        .to_string();
        audit::record(
            &mut tx,
            by,
            now,
            Action::OperatorPaymentAccountSet,
            Target::Operator(&by.operator),
            Some(&detail),
        )
        .await?;
        Ok(account.clone())
    })
    .await?;
    payments.forget(&by.operator);
    tracing::info!(operator = %by.operator, account = %in_force.id, mode = in_force.mode.as_str(), "operator payment keys in force");
    Ok(settings(payments, &by.operator, Some(in_force)))
}

/// Stops using the operator's own keys: its payments go to the instance's account, or are paid
/// on arrival. The retired account still refunds what it took.
pub async fn remove_account(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    by: &Principal,
) -> Result<PaymentSettings, AppError> {
    require_owner(by)?;
    transaction!(store, |tx| {
        payment_accounts::lock_operator(&mut tx, &by.operator).await?;
        if let Some(retired) = payment_accounts::retire_current(&mut tx, &by.operator, now).await? {
            let detail = serde_json::json!({
                "provider": retired.provider,
                "secret_key": retired.secret_key_mask,
            })
            .to_string();
            audit::record(
                &mut tx,
                by,
                now,
                Action::OperatorPaymentAccountRemove,
                Target::Operator(&by.operator),
                Some(&detail),
            )
            .await?;
        }
        Ok(())
    })
    .await?;
    payments.forget(&by.operator);
    Ok(settings(payments, &by.operator, None))
}

/// What one harmless call with the keys in force found.
#[derive(Debug, Clone)]
pub struct AccountCheck {
    pub source: SettingsSource,
    pub ok: bool,
    /// The provider's id of the account the keys belong to: only of the operator's own (the
    /// instance's account is not the operator's to know).
    pub account: Option<String>,
    /// Why the call failed (the provider's error code, or that it could not be reached).
    pub problem: Option<String>,
}

/// Retrieves the account the keys in force belong to.
pub async fn check_account(
    store: &Store,
    payments: &Payments,
    by: &Principal,
) -> Result<AccountCheck, AppError> {
    require_owner(by)?;
    let source = payment_settings(store, payments, &by.operator)
        .await?
        .source;
    let Some(gateway) = payments.for_operator(store, &by.operator).await? else {
        return Ok(AccountCheck {
            source,
            ok: false,
            account: None,
            problem: Some("no keys are in force: travelers pay on arrival".to_owned()),
        });
    };
    let checked = gateway.provider.check_account().await;
    super::count_call(store, "account", &checked);
    Ok(match checked {
        Ok(account) => AccountCheck {
            source,
            ok: true,
            account: (source == SettingsSource::Operator).then_some(account),
            problem: None,
        },
        Err(error) => AccountCheck {
            source,
            ok: false,
            account: None,
            problem: Some(error.to_string()),
        },
    })
}

/// The publishable key Stripe.js needs on a booking's payment page: that of the operator's
/// account the payment was started under; `None` when the instance's account took it (the page
/// then uses `BERTH_STRIPE_PUBLISHABLE_KEY`).
pub async fn publishable_key(
    store: &Store,
    booking: &crate::domain::ids::BookingId,
) -> Result<Option<String>, AppError> {
    let payment = crate::storage::payments::get(store, booking).await?;
    let Some(account) = payment.and_then(|p| p.account_id) else {
        return Ok(None);
    };
    let account = payment_accounts::get(store, &PaymentAccountId::from_stored(account)).await?;
    Ok(account.map(|a| a.publishable_key))
}
