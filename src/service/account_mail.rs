//! Emails about an operator user's account: the password reset code and the lockout notice.
//! They are outbox rows like traveler messages (enqueued with the change, sent by the same
//! dispatcher), rendered here from the user as they stand.
//!
//! A reset code is never stored: the outbox row names the reset, and the code is derived from the
//! reset's id with `BERTH_SECRET_KEY` when the email is rendered (the reset row keeps only an HMAC
//! of the code, to check it).

use chrono::{DateTime, Utc};
use minijinja::{context, Environment};

use super::notifications::transports::Transports;
use crate::domain::ids::OperatorId;
use crate::integrations::email::{Email, Sender};
use crate::integrations::SendError;
use crate::secrets::Keyring;
use crate::storage::outbox::{self, OutboxRow};
use crate::storage::{accounts, catalogue, StorageError, Store, WriteTx};

/// The kinds of account email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMessage {
    PasswordReset,
    AccountLocked,
    /// An outbound webhook endpoint failed for three days and was disabled (subject: its id).
    WebhookDisabled,
}

impl AccountMessage {
    /// The stored spelling (the outbox's `kind`); never change an existing one.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::AccountLocked => "account_locked",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }

    pub fn parse(text: &str) -> Option<AccountMessage> {
        [
            Self::PasswordReset,
            Self::AccountLocked,
            Self::WebhookDisabled,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// The 8-digit code of a password reset, derived from its id under the server key.
pub fn reset_code(keys: &Keyring, reset_id: &str) -> String {
    let mac = keys.hash("reset-code", reset_id);
    let number = u64::from_str_radix(&mac[..15], 16).unwrap_or_default() % 100_000_000;
    format!("{number:08}")
}

/// Enqueues an account email in the caller's transaction (`dedupe` makes it once per event).
pub async fn enqueue(
    tx: &mut WriteTx,
    operator: &OperatorId,
    user: &str,
    kind: AccountMessage,
    subject: Option<&str>,
    dedupe: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let key = format!("{}:{dedupe}", kind.as_str());
    outbox::enqueue_account(tx, operator, user, subject, kind.as_str(), &key, now).await
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    let templates = [
        (
            "password_reset.txt",
            include_str!("../../templates/email/account/password_reset.txt"),
        ),
        (
            "password_reset.html",
            include_str!("../../templates/email/account/password_reset.html"),
        ),
        (
            "account_locked.txt",
            include_str!("../../templates/email/account/account_locked.txt"),
        ),
        (
            "account_locked.html",
            include_str!("../../templates/email/account/account_locked.html"),
        ),
        (
            "webhook_disabled.txt",
            include_str!("../../templates/email/account/webhook_disabled.txt"),
        ),
        (
            "webhook_disabled.html",
            include_str!("../../templates/email/account/webhook_disabled.html"),
        ),
    ];
    for (name, source) in templates {
        // The templates are compiled in; a syntax error fails the first send, and its test.
        let _ = env.add_template(name, source);
    }
    env
}

/// Renders and sends one account email.
pub async fn send(
    store: &Store,
    transports: &Transports,
    message: &OutboxRow,
    kind: AccountMessage,
    now: DateTime<Utc>,
) -> Result<Option<String>, SendError> {
    let operator = OperatorId::from_stored(message.operator_id.clone());
    let user_id = message
        .user_id
        .as_deref()
        .and_then(crate::domain::ids::UserId::parse)
        .ok_or_else(|| SendError::Permanent("no user".into()))?;
    let user = accounts::get_user(store, &operator, &user_id)
        .await
        .map_err(|_| SendError::Transient("user could not be loaded".into()))?
        .ok_or_else(|| SendError::Permanent("the user is gone".into()))?;
    let profile = catalogue::get_operator(store, operator.as_str())
        .await
        .map_err(|_| SendError::Transient("operator could not be loaded".into()))?
        .ok_or_else(|| SendError::Permanent("the operator is gone".into()))?;
    let (subject, context) = match kind {
        AccountMessage::PasswordReset => {
            let reset = message
                .subject_id
                .as_deref()
                .ok_or_else(|| SendError::Permanent("no reset".into()))?;
            let live = accounts::reset_is_live(store, reset, now)
                .await
                .map_err(|_| SendError::Transient("reset could not be loaded".into()))?;
            if !live {
                return Err(SendError::Permanent(
                    "not sent: the reset expired or was used".into(),
                ));
            }
            (
                format!("Your berth password reset code for {}", profile.name),
                context! { name => user.name, operator => profile.name, code => reset_code(&transports.keyring, reset) },
            )
        }
        AccountMessage::WebhookDisabled => {
            let endpoint = message
                .subject_id
                .as_deref()
                .and_then(crate::domain::ids::WebhookEndpointId::parse)
                .ok_or_else(|| SendError::Permanent("no endpoint".into()))?;
            let endpoint = crate::storage::webhooks::get_endpoint(store, &operator, &endpoint)
                .await
                .map_err(|_| SendError::Transient("endpoint could not be loaded".into()))?
                .ok_or_else(|| SendError::Permanent("not sent: the endpoint was deleted".into()))?;
            if endpoint.enabled {
                return Err(SendError::Permanent(
                    "not sent: the endpoint was enabled again".into(),
                ));
            }
            let last_error = crate::storage::webhooks::last_error(store, &endpoint.id)
                .await
                .map_err(|_| SendError::Transient("log could not be loaded".into()))?
                .unwrap_or_default();
            (
                format!("A webhook endpoint of {} was disabled", profile.name),
                context! {
                    name => user.name, operator => profile.name, endpoint_id => endpoint.id.as_str(),
                    description => endpoint.description, last_error => last_error,
                    // The host only: a URL's path or query may carry the receiver's own token.
                    host => url::Url::parse(&endpoint.url).ok().and_then(|u| u.host_str().map(str::to_owned)),
                },
            )
        }
        AccountMessage::AccountLocked => (
            format!("Your berth account for {} was locked", profile.name),
            context! {
                name => user.name, operator => profile.name,
                minutes => crate::domain::auth::LOCKOUT.num_minutes(),
                failures => crate::domain::auth::LOCKOUT_AFTER,
            },
        ),
    };
    let env = environment();
    let render = |name: String| {
        env.get_template(&name)
            .and_then(|t| t.render(&context))
            .map_err(|e| SendError::Permanent(format!("template: {e}")))
    };
    let email = Email {
        to: user.email,
        subject,
        text: render(format!("{}.txt", kind.as_str()))?,
        html: render(format!("{}.html", kind.as_str()))?,
        ics: None,
    };
    // Account emails come from the server's own sender, never an operator's custom one.
    transports
        .mailer
        .send(&message.id, &email, &Sender::default())
        .await
        .map(|()| None)
}
