//! Configuration: Rocket's figment (`Rocket.toml`, `ROCKET_*`) plus berth's own `BERTH_*`
//! settings, extracted once, validated against the profile, and injected as managed state.
//!
//! Two profiles exist, `debug` and `release`, named case-insensitively as Rocket selects them;
//! any other name is refused, and everything but `debug` is held to production rules. Secrets
//! come only from the environment: a secret found in `Rocket.toml` stops the start.

mod defaults;
mod secret_checks;
mod sources;
#[cfg(test)]
pub(crate) mod tests;
mod validate;

use chrono::Duration;
use rocket::figment::Figment;
use serde::Deserialize;

use crate::secrets::Secret;
pub use secret_checks::SECRET_SETTINGS;
use secret_checks::{describe, refuse_secrets_in_files};
use sources::text;
pub use sources::{figment, is_release_profile, BerthEnv};

/// The JSON body limit berth applies unless `limits.json` is set (in `Rocket.toml` or
/// `ROCKET_LIMITS`); Rocket's own default would be 1 MiB.
pub const JSON_BODY_LIMIT: &str = "64 KiB";

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
    /// How many holds of one departure may share one transaction and one commit (1: each hold
    /// commits alone). See `service::holds::batch`.
    #[serde(default = "defaults::hold_batch")]
    pub hold_batch: u32,
    #[serde(default = "defaults::idempotency_ttl_hours")]
    pub idempotency_ttl_hours: u32,
    #[serde(default = "defaults::hold_ttl_seconds")]
    pub hold_ttl_seconds: u32,
    /// The longest hold a client may ask for, at a hold or an extension (OCTO's
    /// `expirationMinutes`, `POST /v1/bookings/{reference}/extend`).
    #[serde(default = "defaults::hold_max_seconds")]
    pub hold_max_seconds: u32,
    /// How long the hold berth places for a traveler on a waiting line lasts: the time they have
    /// to complete the booking after the offer is sent.
    #[serde(default = "defaults::waitlist_offer_seconds")]
    pub waitlist_offer_seconds: u32,
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
    #[serde(default, deserialize_with = "text::option")]
    pub twilio_account_sid: Option<String>,
    #[serde(default)]
    pub twilio_auth_token: Option<Secret>,
    /// A sending number in E.164, or a messaging service SID (`MG…`). Read as text whatever
    /// it looks like: `+15005550006` is not a number.
    #[serde(default, deserialize_with = "text::option")]
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
    /// `off`, or limits per bucket: `auth=10/min,bookings=30/min,writes=300/min,reads=1200/min,octo=600/min`. Default
    /// (also when empty): off in debug, [`RELEASE_RATE_LIMITS`] in release.
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
    /// Per-address limits (rate limits, failed sign-ins) count an IPv6 client by its network of
    /// this prefix length: one subscriber usually holds a whole /64.
    #[serde(default = "defaults::client_ipv6_prefix")]
    pub client_ipv6_prefix: u8,
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
    /// Stripe's publishable key (`pk_test_…`, `pk_live_…`; not a secret) for Stripe.js on the
    /// payment page (`web::PageSettings` reads it for the pages).
    #[serde(default)]
    pub stripe_publishable_key: Option<String>,
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
    // --- Webhooks (issue 20). Kept together for merges. ---
    /// Internal targets webhooks may reach after all: comma-separated CIDR ranges, addresses and
    /// host names. Default: loopback in debug, none in release.
    #[serde(default)]
    webhook_allowed_targets: Option<String>,
    /// Whether endpoints may use plain `http://`. Default: on in debug, off in release.
    #[serde(default)]
    webhook_allow_http: Option<bool>,
    /// How long a receiver has to answer one delivery.
    #[serde(default = "defaults::webhook_timeout_seconds")]
    pub webhook_timeout_seconds: u32,
    // --- End of webhooks. ---
    /// Anything but the `debug` profile runs under production rules.
    #[serde(skip)]
    release: bool,
}

/// The rate limits of the release profile when `BERTH_RATE_LIMITS` is unset or empty.
pub const RELEASE_RATE_LIMITS: &str =
    "auth=10/min,bookings=30/min,writes=300/min,reads=1200/min,octo=600/min";

/// The key debug builds use when `BERTH_SECRET_KEY` is unset; public, so release refuses it.
pub const DEBUG_SECRET_KEY: &str = "berth-debug-secret-key-not-for-production-use";

impl AppConfig {
    /// Extracts and validates the settings; the error names the setting, never a secret value.
    pub fn from_figment(figment: &Figment) -> Result<AppConfig, String> {
        let release = is_release_profile(figment.profile())?;
        refuse_secrets_in_files(figment)?;
        let mut config: AppConfig = figment
            .extract_lossy()
            .map_err(|e| format!("invalid configuration: {}", describe(e)))?;
        config.release = release;
        config.validate()?;
        Ok(config)
    }

    /// Production rules: every profile but `debug`.
    pub fn is_release(&self) -> bool {
        self.release
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

    /// The rate limits asked for (`BERTH_RATE_LIMITS`): off in debug unless set,
    /// [`RELEASE_RATE_LIMITS`] in release. An empty setting counts as unset (an empty variable
    /// is a slip, not a decision); only the word `off` turns limits off. The composition root
    /// parses it, with `trusted_proxies` and `client_ipv6_prefix`, into the limiters.
    pub fn rate_limit_spec(&self) -> &str {
        let default = if self.is_release() {
            RELEASE_RATE_LIMITS
        } else {
            "off"
        };
        self.rate_limits
            .as_deref()
            .map(str::trim)
            .filter(|spec| !spec.is_empty())
            .unwrap_or(default)
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

    pub fn waitlist_offer_ttl(&self) -> Duration {
        Duration::seconds(i64::from(self.waitlist_offer_seconds))
    }

    /// A hold's default and longest lengths (the default is always allowed).
    pub fn hold_times(&self) -> crate::domain::hold_expiry::HoldTimes {
        crate::domain::hold_expiry::HoldTimes {
            default: self.hold_ttl(),
            max: Duration::seconds(i64::from(self.hold_max_seconds.max(self.hold_ttl_seconds))),
        }
    }
}

impl AppConfig {
    /// What one client may hold at once (`BERTH_HOLD_LIMITS`): off in debug unless set, the
    /// release default otherwise, like the rate limits; empty counts as unset, only `off`
    /// turns them off.
    /// Which webhook targets may be registered and reached (see `domain::webhook::TargetPolicy`).
    pub fn webhook_policy(&self) -> Result<crate::domain::webhook::TargetPolicy, String> {
        let (targets, http) = if self.is_release() {
            ("", false)
        } else {
            ("127.0.0.0/8,::1/128", true)
        };
        let targets = self.webhook_allowed_targets.as_deref().unwrap_or(targets);
        crate::domain::webhook::TargetPolicy::parse(
            targets,
            self.webhook_allow_http.unwrap_or(http),
        )
        .map_err(|e| format!("BERTH_WEBHOOK_ALLOWED_TARGETS: {e}"))
    }

    pub fn hold_limits(&self) -> Result<crate::domain::hold_limits::HoldLimits, String> {
        use crate::domain::hold_limits::{HoldLimits, RELEASE_DEFAULT};
        let default = if self.is_release() {
            RELEASE_DEFAULT
        } else {
            "off"
        };
        let spec = self
            .hold_limits
            .as_deref()
            .map(str::trim)
            .filter(|spec| !spec.is_empty())
            .unwrap_or(default);
        HoldLimits::parse(spec)
    }
}
