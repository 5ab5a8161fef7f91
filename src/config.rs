//! Configuration: Rocket's figment (`Rocket.toml`, `ROCKET_*`) plus berth's own `BERTH_*`
//! settings, extracted once, validated against the profile, and injected as managed state.

use chrono::Duration;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use serde::Deserialize;

/// The default database in the debug profile: an embedded SQLite file, created on first use.
pub const DEBUG_DATABASE_URL: &str = "sqlite://data/berth.db";

/// berth's settings. Every field maps to `BERTH_<NAME>` in the environment or `<name>` in
/// `Rocket.toml`; the README's configuration table lists them all.
#[derive(Debug, Clone, Deserialize)]
pub struct AppConfig {
    /// `sqlite://path` or `mysql://user:pass@host:port/db`. Required in release.
    #[serde(default)]
    database_url: Option<String>,
    #[serde(default = "defaults::database_max_connections")]
    pub database_max_connections: u32,
    #[serde(default = "defaults::database_lock_timeout_seconds")]
    pub database_lock_timeout_seconds: u32,
    #[serde(default = "defaults::idempotency_ttl_hours")]
    pub idempotency_ttl_hours: u32,
    #[serde(default = "defaults::hold_ttl_seconds")]
    pub hold_ttl_seconds: u32,
    #[serde(default = "defaults::schedule_horizon_days")]
    pub schedule_horizon_days: u32,
    /// Seed demo data into an empty database; defaults to on in debug, off in release.
    #[serde(default)]
    demo: Option<bool>,
    /// Run the background workers (hold expiry, schedule horizon) in this process.
    #[serde(default = "defaults::background_workers")]
    pub background_workers: bool,
    /// `file` (`.eml` files under `mail_dir`) or `smtp` (`smtp_url`).
    #[serde(default = "defaults::file")]
    pub mail_transport: String,
    #[serde(default)]
    pub smtp_url: Option<Secret>,
    #[serde(default = "defaults::mail_from")]
    pub mail_from: String,
    /// No longer used: sender domains are approved per operator (`berth operator
    /// allow-sender-domain`), since one list for the whole server let any operator send as
    /// another. Read only to warn at start-up that it is ignored.
    #[serde(default)]
    pub mail_from_domains: String,
    #[serde(default = "defaults::mail_dir")]
    pub mail_dir: String,
    /// `file` (JSON lines under `sms_dir`) or `twilio`.
    #[serde(default = "defaults::file")]
    pub sms_transport: String,
    #[serde(default = "defaults::sms_dir")]
    pub sms_dir: String,
    #[serde(default)]
    pub twilio_account_sid: Option<String>,
    #[serde(default)]
    pub twilio_auth_token: Option<Secret>,
    /// A sending number in E.164, or a messaging service SID (`MG…`).
    #[serde(default)]
    pub twilio_from: Option<String>,
    #[serde(default = "defaults::twilio_api_base")]
    pub twilio_api_base: String,
    /// How long one call to Twilio may take before it counts as a transient failure.
    #[serde(default = "defaults::twilio_timeout_seconds")]
    pub twilio_timeout_seconds: u32,
    /// Where travelers manage bookings; links in messages point here.
    #[serde(default)]
    public_url: Option<String>,
    /// Hours before departure a reminder goes out (0: no reminders).
    #[serde(default = "defaults::reminder_hours")]
    pub reminder_hours: u32,
    /// Email travelers whose hold expired before they confirmed.
    #[serde(default)]
    pub hold_expired_email: bool,
    /// Sends of one message before it is given up as `dead`.
    #[serde(default = "defaults::outbox_max_attempts")]
    pub outbox_max_attempts: u32,
    /// `off`, or limits per bucket: `auth=10/min,bookings=30/min,writes=300/min,reads=1200/min`. Default: off
    /// in debug, those values in release.
    #[serde(default)]
    rate_limits: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed, comma-separated IP addresses.
    #[serde(default)]
    pub trusted_proxies: String,
    /// Origins allowed to call berth from a browser, comma-separated (`https://tours.example`).
    #[serde(default)]
    pub cors_origins: String,
    /// Send `Strict-Transport-Security`; defaults to on in release.
    #[serde(default)]
    hsts: Option<bool>,
    /// Bearer token that `GET /metrics` requires; without one, metrics are served only in debug.
    #[serde(default)]
    pub metrics_token: Option<Secret>,
    /// At least 32 bytes of randomness: the HMAC key for stored session tokens and one-time
    /// codes. Required in release; debug falls back to a fixed, public development key.
    #[serde(default)]
    secret_key: Option<Secret>,
    /// The release profile refuses SQLite unless this is true (one instance, no replicas).
    #[serde(default)]
    pub allow_sqlite_in_release: bool,
    /// Lifetime of an access token from `POST /v1/auth/login` or `/refresh`.
    #[serde(default = "defaults::access_token_minutes")]
    pub access_token_minutes: u32,
    /// A session ends when its refresh token goes unused this long (at most 24).
    #[serde(default = "defaults::session_idle_hours")]
    pub session_idle_hours: u32,
    /// `offline` (pay on arrival) or `stripe` (PaymentIntents).
    #[serde(default = "defaults::payments")]
    pub payments: String,
    #[serde(default)]
    pub stripe_secret_key: Option<Secret>,
    #[serde(default)]
    pub stripe_webhook_secret: Option<Secret>,
    #[serde(default = "defaults::stripe_api_base")]
    pub stripe_api_base: String,
    /// How long one call to Stripe may take before it is retried (same idempotency key).
    #[serde(default = "defaults::stripe_timeout_seconds")]
    pub stripe_timeout_seconds: u32,
    // --- Abuse limits (issue 12: seat hoarding). Kept together for merges. ---
    /// `off`, or the seats one client address and one customer email may hold at once:
    /// `departure=8,overall=32` (see `domain::hold_limits`). Default: off in debug, that in
    /// release.
    #[serde(default)]
    hold_limits: Option<String>,
    // --- End of abuse limits. ---
    #[serde(skip)]
    profile: String,
}

/// The key debug builds use when `BERTH_SECRET_KEY` is unset; public, so release refuses it.
pub const DEBUG_SECRET_KEY: &str = "berth-debug-secret-key-not-for-production-use";

/// Values seen in examples and tutorials; release refuses them whatever their length.
const KNOWN_DEFAULT_KEYS: &[&str] = &[
    DEBUG_SECRET_KEY,
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "secret-key",
    "your-secret-key",
    "your_secret_key",
    "supersecret",
    "please-change-this-secret-key-in-production",
    "0123456789abcdef0123456789abcdef",
    "00000000000000000000000000000000",
];

/// A secret setting: never printed, not even by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

mod defaults {
    pub fn database_max_connections() -> u32 {
        16
    }
    pub fn file() -> String {
        "file".into()
    }
    pub fn mail_from() -> String {
        "berth <no-reply@localhost>".into()
    }
    pub fn mail_dir() -> String {
        "data/mail".into()
    }
    pub fn sms_dir() -> String {
        "data/sms".into()
    }
    pub fn twilio_api_base() -> String {
        "https://api.twilio.com".into()
    }
    pub fn twilio_timeout_seconds() -> u32 {
        15
    }
    pub fn payments() -> String {
        "offline".into()
    }
    pub fn stripe_api_base() -> String {
        "https://api.stripe.com".into()
    }
    pub fn stripe_timeout_seconds() -> u32 {
        10
    }
    pub fn reminder_hours() -> u32 {
        24
    }
    pub fn outbox_max_attempts() -> u32 {
        8
    }
    pub fn database_lock_timeout_seconds() -> u32 {
        5
    }
    pub fn idempotency_ttl_hours() -> u32 {
        24
    }
    pub fn hold_ttl_seconds() -> u32 {
        900
    }
    pub fn schedule_horizon_days() -> u32 {
        180
    }
    pub fn background_workers() -> bool {
        true
    }
    pub fn access_token_minutes() -> u32 {
        15
    }
    pub fn session_idle_hours() -> u32 {
        24
    }
}

/// Rocket's own figment, with berth's defaults underneath and `BERTH_*` on top.
pub fn figment() -> Figment {
    Figment::from(rocket::Config::default())
        // Rocket trusts X-Real-IP by default; berth is not behind a proxy unless configured to be.
        .merge(Serialized::default("ip_header", false))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .merge(Env::prefixed("BERTH_").global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

impl AppConfig {
    /// Extracts and validates the settings; the error names the setting, never a secret value.
    pub fn from_figment(figment: &Figment) -> Result<AppConfig, String> {
        let mut config: AppConfig = figment
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        config.profile = figment.profile().as_str().to_string();
        config.validate()?;
        Ok(config)
    }

    fn is_release(&self) -> bool {
        self.profile == rocket::Config::RELEASE_PROFILE.as_str().as_str()
    }

    fn validate(&self) -> Result<(), String> {
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
        self.rate_limits()?;
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
                crate::integrations::stripe::key_mode(key.expose())?;
                if self
                    .stripe_webhook_secret
                    .as_ref()
                    .is_none_or(|s| !s.expose().starts_with("whsec_") || s.expose().len() < 16)
                {
                    return Err("BERTH_STRIPE_WEBHOOK_SECRET must be set to the endpoint's signing secret (whsec_…) when BERTH_PAYMENTS=stripe".into());
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
        if !(1..=730).contains(&self.schedule_horizon_days) {
            return Err("BERTH_SCHEDULE_HORIZON_DAYS must be between 1 and 730".into());
        }
        if !(1..=120).contains(&self.database_lock_timeout_seconds) {
            return Err("BERTH_DATABASE_LOCK_TIMEOUT_SECONDS must be between 1 and 120".into());
        }
        if !(1..=720).contains(&self.idempotency_ttl_hours) {
            return Err("BERTH_IDEMPOTENCY_TTL_HOURS must be between 1 and 720".into());
        }
        if !(1..=1000).contains(&self.database_max_connections) {
            return Err("BERTH_DATABASE_MAX_CONNECTIONS must be between 1 and 1000".into());
        }
        Ok(())
    }

    /// Refuses a missing, short or well-known `BERTH_SECRET_KEY`, naming it but never its value.
    fn check_secret_key(&self) -> Result<(), String> {
        let Some(key) = self.secret_key.as_ref().map(|k| k.expose().trim()) else {
            return Err("BERTH_SECRET_KEY must be set in the release profile (32 or more random bytes, e.g. `openssl rand -hex 32`)".into());
        };
        if key.len() < 32 {
            return Err("BERTH_SECRET_KEY is too short: it must be at least 32 bytes".into());
        }
        let lower = key.to_ascii_lowercase();
        let mut bytes = lower.bytes();
        let first = bytes.next();
        if KNOWN_DEFAULT_KEYS.contains(&lower.as_str()) || bytes.all(|b| Some(b) == first) {
            return Err(
                "BERTH_SECRET_KEY is a known default or placeholder; generate a random one".into(),
            );
        }
        Ok(())
    }

    /// The HMAC key for stored session tokens and one-time codes.
    pub fn keyring(&self) -> crate::secrets::Keyring {
        let key = self
            .secret_key
            .as_ref()
            .map_or(DEBUG_SECRET_KEY, |k| k.expose().trim());
        crate::secrets::Keyring::new(key.as_bytes())
    }

    pub fn access_token_ttl(&self) -> Duration {
        Duration::minutes(i64::from(self.access_token_minutes))
    }

    pub fn session_idle(&self) -> Duration {
        Duration::hours(i64::from(self.session_idle_hours))
    }

    fn cors_list(&self) -> impl Iterator<Item = &str> {
        self.cors_origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/'))
            .filter(|o| !o.is_empty())
    }

    /// Whether a browser page from `origin` may read berth's responses.
    pub fn cors_allows(&self, origin: &str) -> bool {
        self.cors_list()
            .any(|allowed| allowed == "*" || allowed == origin)
    }

    /// The rate limiters this configuration asks for.
    pub fn rate_limits(&self) -> Result<crate::http::rate_limit::RateLimits, String> {
        let default = if self.is_release() {
            "auth=10/min,bookings=30/min,writes=300/min,reads=1200/min"
        } else {
            "off"
        };
        crate::http::rate_limit::RateLimits::parse(
            self.rate_limits.as_deref().unwrap_or(default),
            &self.trusted_proxies,
        )
    }

    /// Where travelers reach berth (links in messages, the Twilio callback); required in release.
    pub fn public_url(&self) -> &str {
        self.public_url
            .as_deref()
            .unwrap_or("http://127.0.0.1:8000")
    }

    pub fn hsts(&self) -> bool {
        self.hsts.unwrap_or(self.is_release())
    }

    /// Whether `GET /metrics` is served without a token (debug profile only).
    pub fn metrics_open(&self) -> bool {
        self.metrics_token.is_none() && !self.is_release()
    }

    pub fn database_url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(DEBUG_DATABASE_URL)
    }

    pub fn demo(&self) -> bool {
        self.demo.unwrap_or(!self.is_release())
    }

    /// How long an idempotency key and its stored response are kept.
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::hours(i64::from(self.idempotency_ttl_hours))
    }

    pub fn hold_ttl(&self) -> Duration {
        Duration::seconds(i64::from(self.hold_ttl_seconds))
    }

    pub fn pool_settings(&self) -> crate::storage::PoolSettings {
        crate::storage::PoolSettings {
            max_connections: self.database_max_connections,
            lock_timeout: std::time::Duration::from_secs(u64::from(
                self.database_lock_timeout_seconds,
            )),
            ..Default::default()
        }
    }
}

impl AppConfig {
    /// What one client may hold at once (`BERTH_HOLD_LIMITS`): off in debug unless set, the
    /// release default otherwise, like the rate limits.
    pub fn hold_limits(&self) -> Result<crate::domain::hold_limits::HoldLimits, String> {
        use crate::domain::hold_limits::{HoldLimits, RELEASE_DEFAULT};
        let default = if self.is_release() {
            RELEASE_DEFAULT
        } else {
            "off"
        };
        HoldLimits::parse(self.hold_limits.as_deref().unwrap_or(default))
    }
}

impl AppConfig {
    /// How travelers pay. Logs whether Stripe runs in test or live mode, never the key.
    pub fn payments(&self) -> Result<crate::service::payments::Payments, String> {
        use crate::integrations::stripe::{key_mode, Stripe};
        use crate::service::payments::{Payments, StripePayments};
        match (
            self.payments.as_str(),
            &self.stripe_secret_key,
            &self.stripe_webhook_secret,
        ) {
            ("stripe", Some(key), Some(webhook_secret)) => {
                let mode = key_mode(key.expose())?;
                let timeout =
                    std::time::Duration::from_secs(u64::from(self.stripe_timeout_seconds));
                let api = Stripe::new(&self.stripe_api_base, key.clone(), timeout)?;
                tracing::info!(mode, "payments through Stripe");
                Ok(Payments::Stripe(std::sync::Arc::new(StripePayments {
                    api,
                    webhook_secret: webhook_secret.clone(),
                })))
            }
            _ => Ok(Payments::Offline),
        }
    }

    /// The email and SMS transports this configuration selects.
    pub fn transports(&self) -> Result<crate::service::notifications::Transports, String> {
        use crate::integrations::email::Mailer;
        use crate::integrations::sms::{SmsSender, Twilio};
        if !self.mail_from_domains.trim().is_empty() {
            tracing::warn!("BERTH_MAIL_FROM_DOMAINS is ignored: approve each operator's sender domains with `berth operator allow-sender-domain`");
        }
        let mailer = match (self.mail_transport.as_str(), &self.smtp_url) {
            ("smtp", Some(url)) => Mailer::smtp(url.expose(), &self.mail_from)?,
            _ => Mailer::file(self.mail_dir.clone().into(), &self.mail_from)?,
        };
        let sms = match (
            self.sms_transport.as_str(),
            &self.twilio_account_sid,
            &self.twilio_auth_token,
            &self.twilio_from,
        ) {
            ("twilio", Some(sid), Some(token), Some(from)) => {
                let callback = format!(
                    "{}{}",
                    self.public_url().trim_end_matches('/'),
                    crate::http::webhooks::TWILIO_STATUS_PATH
                );
                let timeout = std::time::Duration::from_secs(u64::from(
                    self.twilio_timeout_seconds.clamp(1, 120),
                ));
                SmsSender::Twilio(Twilio::new(
                    &self.twilio_api_base,
                    sid,
                    token.clone(),
                    from,
                    Some(callback),
                    timeout,
                )?)
            }
            _ => SmsSender::File {
                dir: self.sms_dir.clone().into(),
            },
        };
        Ok(crate::service::notifications::Transports {
            mailer,
            sms,
            public_url: self.public_url().trim_end_matches('/').to_owned(),
            max_attempts: self.outbox_max_attempts,
            keyring: self.keyring(),
        })
    }
}
