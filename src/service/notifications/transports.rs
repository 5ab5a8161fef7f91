//! What the dispatcher sends with; built once by the composition root (`app`). A leaf, so that
//! `account_mail` can name it without importing the dispatcher that calls it.

use crate::integrations::email::Mailer;
use crate::integrations::sms::SmsSender;

/// The transports and settings the dispatcher sends with.
pub struct Transports {
    pub mailer: Mailer,
    pub sms: SmsSender,
    /// Base of the traveler's manage link.
    pub public_url: String,
    pub max_attempts: u32,
    /// Derives password reset codes from their reset's id (see `service::account_mail`).
    pub keyring: crate::secrets::Keyring,
}
