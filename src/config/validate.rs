//! The start-up refusals: every setting checked against its range and the profile's rules, the
//! error naming the setting (never a secret's value).

use super::AppConfig;

impl AppConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.is_release() && self.database_url.as_deref().is_none_or(str::is_empty) {
            return Err("BERTH_DATABASE_URL must be set in the release profile".into());
        }
        if self.is_release() {
            self.check_secret_key()?;
            if self.database_url().starts_with("sqlite:") && !self.allow_sqlite_in_release {
                return Err("BERTH_DATABASE_URL points at SQLite; the release profile needs MySQL/MariaDB, or BERTH_ALLOW_SQLITE_IN_RELEASE=true for a single instance".into());
            }
        } else if self.secret_key.is_some() {
            self.check_secret_key()?;
        }
        if !(1..=60).contains(&self.access_token_minutes) {
            return Err("BERTH_ACCESS_TOKEN_MINUTES must be between 1 and 60".into());
        }
        if !(1..=24).contains(&self.session_idle_hours) {
            return Err("BERTH_SESSION_IDLE_HOURS must be between 1 and 24".into());
        }
        if !(32..=128).contains(&self.client_ipv6_prefix) {
            return Err("BERTH_CLIENT_IPV6_PREFIX must be between 32 and 128".into());
        }
        self.hold_limits()?;
        if self.is_release() && self.public_url.as_deref().is_none_or(str::is_empty) {
            return Err("BERTH_PUBLIC_URL must be set in the release profile (links in messages and the Twilio callback use it)".into());
        }
        if self.is_release() && self.cors_list().any(|origin| origin == "*") {
            return Err(
                "BERTH_CORS_ORIGINS must list origins explicitly; a wildcard is refused in release"
                    .into(),
            );
        }
        if let Some(bad) = self
            .cors_list()
            .find(|o| *o != "*" && !(o.starts_with("https://") || o.starts_with("http://")))
        {
            return Err(format!("BERTH_CORS_ORIGINS entries must be origins such as https://tours.example, not {bad:?}"));
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            return Err("BERTH_METRICS_TOKEN must be at least 16 characters".into());
        }
        match self.mail_transport.as_str() {
            "file" => {}
            "smtp" if self.smtp_url.is_some() => {}
            "smtp" => {
                return Err("BERTH_SMTP_URL must be set when BERTH_MAIL_TRANSPORT=smtp".into())
            }
            _ => return Err("BERTH_MAIL_TRANSPORT must be file or smtp".into()),
        }
        match self.sms_transport.as_str() {
            "file" => {}
            "twilio" => {
                if self.twilio_account_sid.is_none()
                    || self.twilio_auth_token.is_none()
                    || self.twilio_from.is_none()
                {
                    return Err(
                        "BERTH_TWILIO_ACCOUNT_SID, BERTH_TWILIO_AUTH_TOKEN and BERTH_TWILIO_FROM must be set when BERTH_SMS_TRANSPORT=twilio"
                            .into(),
                    );
                }
            }
            _ => return Err("BERTH_SMS_TRANSPORT must be file or twilio".into()),
        }
        match self.payments.as_str() {
            "offline" => {}
            "stripe" => {
                let key = self
                    .stripe_secret_key
                    .as_ref()
                    .ok_or("BERTH_STRIPE_SECRET_KEY must be set when BERTH_PAYMENTS=stripe")?;
                let mode = crate::integrations::stripe::key_mode(key.expose())?;
                if self
                    .stripe_webhook_secret
                    .as_ref()
                    .is_none_or(|s| !s.expose().starts_with("whsec_") || s.expose().len() < 16)
                {
                    return Err("BERTH_STRIPE_WEBHOOK_SECRET must be set to the endpoint's signing secret (whsec_…) when BERTH_PAYMENTS=stripe".into());
                }
                // The payment page cannot take a card without it, and a key of the other mode
                // makes Stripe.js fail on the traveler's screen: refused at start instead.
                match self.stripe_publishable_key.as_deref() {
                    Some(publishable) => {
                        let expected = format!("pk_{mode}_");
                        let body = publishable.strip_prefix(&expected).unwrap_or_default();
                        if body.len() < 8 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
                            return Err(format!(
                                "BERTH_STRIPE_PUBLISHABLE_KEY must be a {mode}-mode publishable key ({expected}…), as BERTH_STRIPE_SECRET_KEY is"
                            ));
                        }
                    }
                    None if self.is_release() => {
                        return Err("BERTH_STRIPE_PUBLISHABLE_KEY must be set when BERTH_PAYMENTS=stripe in the release profile (the payment page needs it)".into());
                    }
                    None => {}
                }
                // Three attempts must fit in the 60 s after which an idempotency claim counts
                // as abandoned, or a client's retry could start a second hold meanwhile.
                if !(1..=15).contains(&self.stripe_timeout_seconds) {
                    return Err("BERTH_STRIPE_TIMEOUT_SECONDS must be between 1 and 15".into());
                }
            }
            _ => return Err("BERTH_PAYMENTS must be offline or stripe".into()),
        }
        if self.reminder_hours > 720 {
            return Err("BERTH_REMINDER_HOURS must be between 0 and 720".into());
        }
        if !(1..=50).contains(&self.outbox_max_attempts) {
            return Err("BERTH_OUTBOX_MAX_ATTEMPTS must be between 1 and 50".into());
        }
        if !(60..=86_400).contains(&self.hold_ttl_seconds) {
            return Err("BERTH_HOLD_TTL_SECONDS must be between 60 and 86400".into());
        }
        if !(60..=86_400).contains(&self.hold_max_seconds) {
            return Err("BERTH_HOLD_MAX_SECONDS must be between 60 and 86400".into());
        }
        if !(300..=172_800).contains(&self.waitlist_offer_seconds) {
            return Err("BERTH_WAITLIST_OFFER_SECONDS must be between 300 and 172800".into());
        }
        if !(1..=730).contains(&self.schedule_horizon_days) {
            return Err("BERTH_SCHEDULE_HORIZON_DAYS must be between 1 and 730".into());
        }
        if !(1..=256).contains(&self.hold_batch) {
            return Err("BERTH_HOLD_BATCH must be between 1 and 256".into());
        }
        if !(1..=120).contains(&self.database_lock_timeout_seconds) {
            return Err("BERTH_DATABASE_LOCK_TIMEOUT_SECONDS must be between 1 and 120".into());
        }
        if !(1..=720).contains(&self.idempotency_ttl_hours) {
            return Err("BERTH_IDEMPOTENCY_TTL_HOURS must be between 1 and 720".into());
        }
        if !(1..=30).contains(&self.webhook_timeout_seconds) {
            return Err("BERTH_WEBHOOK_TIMEOUT_SECONDS must be between 1 and 30".into());
        }
        self.webhook_policy()?;
        if !(1..=1000).contains(&self.database_max_connections) {
            return Err("BERTH_DATABASE_MAX_CONNECTIONS must be between 1 and 1000".into());
        }
        Ok(())
    }
}
