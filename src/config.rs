//! Configuration: Rocket's figment (`Rocket.toml`, `ROCKET_*`) plus berth's own `BERTH_*`
//! settings, extracted once, validated against the profile, and injected as managed state.
//!
//! Two profiles exist, `debug` and `release`, named case-insensitively as Rocket selects them;
//! any other name is refused, and everything but `debug` is held to production rules. Secrets
//! come only from the environment: a secret found in `Rocket.toml` stops the start.

use chrono::Duration;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::value::{Dict, Map, Value};
use rocket::figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer};

use crate::secrets::Secret;

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
    /// `off`, or limits per bucket: `auth=10/min,bookings=30/min,writes=300/min,reads=1200/min`. Default
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
    /// Anything but the `debug` profile runs under production rules.
    #[serde(skip)]
    release: bool,
}

/// The rate limits of the release profile when `BERTH_RATE_LIMITS` is unset or empty.
pub const RELEASE_RATE_LIMITS: &str = "auth=10/min,bookings=30/min,writes=300/min,reads=1200/min";

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

/// Fewer distinct bytes than this and a key is refused however long it is. Random hex of the
/// shortest accepted length (32 characters) has fewer only about once in 25 million keys.
const MIN_DISTINCT_KEY_BYTES: usize = 8;

/// Whether a long key is still guessable: few distinct bytes (`changeme…`, `password…`), a
/// short pattern repeated (`abab…`, most of its 3-byte windows seen before), or a sequence (the
/// same step between most neighbours: `abcdef…`, `13579…`).
fn predictable_key(key: &[u8]) -> bool {
    use std::collections::{HashMap, HashSet};
    if key.iter().collect::<HashSet<_>>().len() < MIN_DISTINCT_KEY_BYTES {
        return true;
    }
    let windows = key.windows(3);
    let total = windows.len();
    if key.windows(3).collect::<HashSet<_>>().len() * 2 < total {
        return true;
    }
    let mut steps: HashMap<u8, usize> = HashMap::new();
    for pair in key.windows(2) {
        *steps.entry(pair[1].wrapping_sub(pair[0])).or_default() += 1;
    }
    steps
        .values()
        .max()
        .is_some_and(|most| most * 2 >= key.len() - 1)
}

/// Read from any scalar as its text, so a numeric-looking key is taken as written rather than
/// refused with its value in the error.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        text::deserialize(deserializer).map(Secret::new)
    }
}

/// The settings that are secrets: refused in configuration files, and withheld from errors.
/// (`database_url` is refused in a file only when it carries a password.)
pub const SECRET_SETTINGS: &[&str] = &[
    "secret_key",
    "smtp_url",
    "twilio_auth_token",
    "metrics_token",
    "stripe_secret_key",
    "stripe_webhook_secret",
    "database_url",
];

/// Scalars read as the text they were written as.
mod text {
    use serde::de::{Deserializer, Error, Visitor};
    use std::fmt;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(Text)
    }

    pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        deserialize(deserializer).map(Some)
    }

    struct Text;

    impl Visitor<'_> for Text {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("text")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i128<E: Error>(self, v: i128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u128<E: Error>(self, v: u128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_char<E: Error>(self, v: char) -> Result<String, E> {
            Ok(v.to_string())
        }
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
    pub fn client_ipv6_prefix() -> u8 {
        64
    }
}

/// Rocket's own figment, with berth's defaults underneath and `BERTH_*` on top.
pub fn figment() -> Figment {
    Figment::from(rocket::Config::default())
        // Rocket trusts X-Real-IP by default; berth is not behind a proxy unless configured to be.
        .merge(Serialized::default("ip_header", false))
        // berth's own body limit, wherever it is started from; `Rocket.toml` may change it.
        .merge(Serialized::default("limits.json", JSON_BODY_LIMIT))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .merge(BerthEnv::from_process())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

/// The `BERTH_*` environment variables. figment's `Env` parses every value, so `0123…` would
/// lose its leading zero, `+15005550006` its plus, and a 40-digit key its digits (as a float).
/// berth's own settings are kept as the text they are, and the extraction converts where a
/// setting is a number or a flag. Rocket's parameters (`BERTH_PORT`, …) keep figment's parsing:
/// Rocket extracts them strictly.
pub struct BerthEnv {
    vars: Vec<(String, String)>,
}

impl BerthEnv {
    /// The process's `BERTH_*` variables.
    pub fn from_process() -> BerthEnv {
        let vars = Env::prefixed("BERTH_")
            .iter()
            .map(|(key, value)| (key.into_string(), value))
            .collect();
        BerthEnv { vars }
    }

    /// Settings as `(name, value)` pairs, the name without its `BERTH_` prefix.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> BerthEnv {
        let vars = pairs
            .into_iter()
            .map(|(key, value)| (key.to_ascii_lowercase(), value.to_owned()))
            .collect();
        BerthEnv { vars }
    }
}

impl Provider for BerthEnv {
    fn metadata(&self) -> Metadata {
        Env::prefixed("BERTH_").metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, rocket::figment::Error> {
        let mut dict = Dict::new();
        for (key, raw) in &self.vars {
            let raw = raw.trim();
            let value = if rocket::Config::PARAMETERS.contains(&key.as_str()) {
                raw.parse().unwrap_or_else(|_| Value::from(raw.to_owned()))
            } else {
                Value::from(raw.to_owned())
            };
            dict.insert(key.clone(), value);
        }
        Ok(Profile::Global.collect(dict))
    }
}

/// The profile a figment selects, as berth judges it: `Ok(true)` for production rules.
/// Rocket matches profile names case-insensitively (`RELEASE` selects `[release]` in
/// `Rocket.toml`), and so does berth.
pub fn is_release_profile(profile: &Profile) -> Result<bool, String> {
    if *profile == rocket::Config::DEBUG_PROFILE {
        Ok(false)
    } else if *profile == rocket::Config::RELEASE_PROFILE {
        Ok(true)
    } else {
        Err(format!(
            "ROCKET_PROFILE={profile} is not a berth profile: use `release` (production) or `debug` (local work)"
        ))
    }
}

/// `BERTH_<NAME>` of a setting's key.
fn setting_name(key: &str) -> String {
    format!("BERTH_{}", key.to_ascii_uppercase())
}

/// A figment error in words, with the value of any secret setting left out.
fn describe(error: rocket::figment::Error) -> String {
    error
        .into_iter()
        .map(|e| match e.path.last().map(String::as_str) {
            Some(key) if SECRET_SETTINGS.contains(&key) => format!(
                "{} could not be read (its value is not shown: it is a secret)",
                setting_name(key)
            ),
            _ => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether a database URL carries a password (`mysql://user:password@host/…`).
fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .and_then(|(user_info, _)| user_info.split_once(':'))
        .is_some_and(|(_, password)| !password.is_empty())
}

/// Secret settings written in a file: `(key, where)`, e.g. `("secret_key", "[release]")`.
fn secrets_in(value: &Value, table: &str, found: &mut Vec<(String, String)>) {
    let Some(dict) = value.as_dict() else { return };
    for (key, value) in dict {
        let secret = match key.as_str() {
            "database_url" => value.as_str().is_some_and(has_password),
            key => SECRET_SETTINGS.contains(&key),
        };
        if secret {
            found.push((key.clone(), table.to_owned()));
        } else if value.as_dict().is_some() {
            let nested = if table.is_empty() {
                key.clone()
            } else {
                format!("{table}.{key}")
            };
            secrets_in(value, &nested, found);
        }
    }
}

/// Refuses a configuration file (`Rocket.toml` or whichever `ROCKET_CONFIG` names) that holds a
/// secret, in any profile: a file is committed, copied and read by more people than the
/// environment. The error names the key and the file, never the value.
fn refuse_secrets_in_files(figment: &Figment) -> Result<(), String> {
    use rocket::figment::Source;
    for metadata in figment.metadata() {
        let Some(Source::File(path)) = &metadata.source else {
            continue;
        };
        // The parser's own message may quote the offending line, secret included.
        let contents: Value =
            Toml::from_path(path).map_err(|_| format!("{} is not valid TOML", path.display()))?;
        let mut found = Vec::new();
        secrets_in(&contents, "", &mut found);
        if let Some((key, table)) = found.first() {
            let place = if table.is_empty() {
                String::new()
            } else {
                format!(" (in [{table}])")
            };
            return Err(format!(
                "{} sets `{key}`{place}: secrets are read only from the environment; remove it from the file and set {} instead",
                path.display(),
                setting_name(key)
            ));
        }
    }
    Ok(())
}

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
        if predictable_key(key.as_bytes()) {
            return Err("BERTH_SECRET_KEY is predictable (few distinct characters, a repeated pattern or a sequence); generate a random one, e.g. `openssl rand -hex 32`".into());
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
}

impl AppConfig {
    /// What one client may hold at once (`BERTH_HOLD_LIMITS`): off in debug unless set, the
    /// release default otherwise, like the rate limits; empty counts as unset, only `off`
    /// turns them off.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A key made for these tests only.
    const KEY: &str = "k3Qz9vX2mL7pR4tW8yB1nC6dF0gH5jKsAeUiOoPqRrStTuVw";

    fn figment(profile: &str, vars: &[(&str, &str)]) -> Figment {
        Figment::from(rocket::Config::default())
            .merge(BerthEnv::from_pairs(vars.iter().copied()))
            .select(profile)
    }

    fn release(vars: &[(&str, &str)]) -> Result<AppConfig, String> {
        let mut all = vec![
            ("DATABASE_URL", "sqlite://berth.db"),
            ("ALLOW_SQLITE_IN_RELEASE", "true"),
            ("PUBLIC_URL", "https://book.tours.example"),
            ("SECRET_KEY", KEY),
        ];
        all.extend_from_slice(vars);
        AppConfig::from_figment(&figment("release", &all))
    }

    #[test]
    fn settings_from_the_environment_keep_their_text() {
        let vars = [
            ("SECRET_KEY", "0918273645546372819009182736455463728190"),
            ("METRICS_TOKEN", "00012345678901234567"),
            ("TWILIO_FROM", "+15005550006"),
            ("TWILIO_ACCOUNT_SID", "1234567890"),
            ("HOLD_TTL_SECONDS", "600"),
            ("HSTS", "true"),
            ("PORT", "8123"),
        ];
        let figment = figment("debug", &vars);
        let config = AppConfig::from_figment(&figment).unwrap();
        assert_eq!(
            config.secret_key.as_ref().unwrap().expose(),
            "0918273645546372819009182736455463728190",
            "a numeric-looking key keeps its leading zero and every digit"
        );
        assert_eq!(
            config.metrics_token.as_ref().unwrap().expose(),
            "00012345678901234567"
        );
        assert_eq!(config.twilio_from.as_deref(), Some("+15005550006"));
        assert_eq!(config.twilio_account_sid.as_deref(), Some("1234567890"));
        assert_eq!(config.hold_ttl_seconds, 600, "numbers are still numbers");
        assert!(config.hsts());
        let rocket = rocket::Config::try_from(&figment).unwrap();
        assert_eq!(
            rocket.port, 8123,
            "Rocket's own parameters are still parsed"
        );
    }

    #[test]
    fn secrets_of_any_scalar_type_are_read_as_text() {
        let figment = Figment::from(rocket::Config::default())
            .merge(Serialized::global("metrics_token", 1234567890123456789_u64))
            .merge(Serialized::global("twilio_from", 15005550006_u64))
            .select("debug");
        let config = AppConfig::from_figment(&figment).unwrap();
        assert_eq!(
            config.metrics_token.unwrap().expose(),
            "1234567890123456789"
        );
        assert_eq!(config.twilio_from.as_deref(), Some("15005550006"));
    }

    #[test]
    fn errors_about_secret_settings_withhold_the_value() {
        use rocket::figment::error::{Actual, Kind};
        let error = rocket::figment::Error::from(Kind::InvalidType(
            Actual::Str("hunter2-the-secret-value".into()),
            "text".into(),
        ))
        .with_path("secret_key");
        let described = describe(error);
        assert!(described.contains("BERTH_SECRET_KEY"), "{described}");
        assert!(!described.contains("hunter2"), "{described}");
        let other = rocket::figment::Error::from(Kind::InvalidType(
            Actual::Str("abc".into()),
            "u32".into(),
        ))
        .with_path("hold_ttl_seconds");
        assert!(
            describe(other).contains("abc"),
            "other settings keep the detail"
        );
        let figment = Figment::from(rocket::Config::default())
            .merge(Serialized::global(
                "stripe_secret_key",
                ["sk_test_in_a_list"],
            ))
            .select("debug");
        let error = AppConfig::from_figment(&figment).unwrap_err();
        assert!(error.contains("BERTH_STRIPE_SECRET_KEY"), "{error}");
        assert!(!error.contains("sk_test_in_a_list"), "{error}");
    }

    #[test]
    fn profiles_are_debug_or_release_in_any_case_and_nothing_else() {
        for name in ["debug", "DEBUG", "Debug"] {
            assert_eq!(is_release_profile(&Profile::new(name)), Ok(false), "{name}");
        }
        for name in ["release", "RELEASE", "Release"] {
            assert_eq!(is_release_profile(&Profile::new(name)), Ok(true), "{name}");
        }
        for name in ["production", "prod", "default", "global", "releases"] {
            let error = is_release_profile(&Profile::new(name)).unwrap_err();
            assert!(error.contains("ROCKET_PROFILE"), "{error}");
        }
        let upper = AppConfig::from_figment(&figment(
            "RELEASE",
            &[
                ("DATABASE_URL", "sqlite://berth.db"),
                ("ALLOW_SQLITE_IN_RELEASE", "true"),
                ("PUBLIC_URL", "https://book.tours.example"),
                ("SECRET_KEY", KEY),
            ],
        ))
        .unwrap();
        assert!(upper.is_release() && upper.hsts() && !upper.demo() && !upper.metrics_open());
        let refused = AppConfig::from_figment(&figment("Release", &[])).unwrap_err();
        assert!(refused.contains("BERTH_DATABASE_URL"), "{refused}");
    }

    #[test]
    fn predictable_keys_are_refused_however_long() {
        for key in [
            "changemechangemechangemechangeme",
            "changemechangemechangemechangemeX",
            "passwordpasswordpasswordpassword1234",
            "abababababababababababababababab",
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "13579bdf13579bdf13579bdf13579bdf",
            "aaaaaaaabbbbbbbbccccccccdddddddd",
            "correcthorsecorrecthorsecorrecthorse",
            "0123456789012345678901234567890123456789",
        ] {
            assert!(predictable_key(key.as_bytes()), "{key}");
            let error = release(&[("SECRET_KEY", key)]).unwrap_err();
            assert!(error.contains("BERTH_SECRET_KEY"), "{error}");
            assert!(!error.contains(key), "{error}");
            let debug = AppConfig::from_figment(&figment("debug", &[("SECRET_KEY", key)]));
            assert!(
                debug.is_err(),
                "debug refuses a predictable key it is given: {key}"
            );
        }
    }

    #[test]
    fn out_of_range_settings_are_refused_in_every_profile() {
        for (setting, bad, good) in [
            ("ACCESS_TOKEN_MINUTES", ["0", "61"], "60"),
            ("SESSION_IDLE_HOURS", ["0", "25"], "24"),
            ("CLIENT_IPV6_PREFIX", ["31", "129"], "48"),
            ("REMINDER_HOURS", ["721", "1000"], "0"),
            ("OUTBOX_MAX_ATTEMPTS", ["0", "51"], "50"),
            ("HOLD_TTL_SECONDS", ["59", "86401"], "60"),
            ("SCHEDULE_HORIZON_DAYS", ["0", "731"], "730"),
            ("DATABASE_LOCK_TIMEOUT_SECONDS", ["0", "121"], "120"),
            ("IDEMPOTENCY_TTL_HOURS", ["0", "721"], "720"),
            ("DATABASE_MAX_CONNECTIONS", ["0", "1001"], "1000"),
            ("METRICS_TOKEN", ["fifteen-chars!!", ""], "sixteen-chars!!!"),
            ("MAIL_TRANSPORT", ["sendmail", "smtp"], "file"),
            ("SMS_TRANSPORT", ["carrier-pigeon", "twilio"], "file"),
        ] {
            for value in bad {
                for profile in ["debug", "release"] {
                    let error = if profile == "debug" {
                        AppConfig::from_figment(&figment("debug", &[(setting, value)]))
                    } else {
                        release(&[(setting, value)])
                    }
                    .unwrap_err();
                    assert!(
                        error.contains(&format!("BERTH_{setting}")),
                        "{profile} {setting}={value}: {error}"
                    );
                }
            }
            assert!(release(&[(setting, good)]).is_ok(), "{setting}={good}");
        }
    }

    #[test]
    fn random_keys_pass_the_predictability_check() {
        use base64::Engine;
        use rand::RngCore;
        assert!(!predictable_key(KEY.as_bytes()));
        assert!(!predictable_key(
            b"8273649105738291046572819364750192837465"
        ));
        let mut rng = rand::thread_rng();
        for _ in 0..2000 {
            for size in [16, 32, 48] {
                let mut bytes = vec![0u8; size];
                rng.fill_bytes(&mut bytes);
                let hex = hex::encode(&bytes);
                assert!(!predictable_key(hex.as_bytes()), "{hex}");
                let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
                if b64.len() >= 32 {
                    assert!(!predictable_key(b64.as_bytes()), "{b64}");
                }
            }
        }
    }

    #[test]
    fn secrets_in_a_file_are_found_in_any_table() {
        let file: Value = Toml::from_str(
            r#"
            [default]
            port = 8000
            database_url = "sqlite://data/berth.db"
            [debug.limits]
            json = "1 MiB"
            [release]
            database_url = "mysql://berth:s3cret@db:3306/berth"
            [release.nested]
            metrics_token = "abcdefghijklmnopqrstuvwx"
            "#,
        )
        .unwrap();
        let mut found = Vec::new();
        secrets_in(&file, "", &mut found);
        assert_eq!(
            found,
            [
                ("database_url".to_owned(), "release".to_owned()),
                ("metrics_token".to_owned(), "release.nested".to_owned())
            ]
        );
        assert!(!has_password("mysql://berth@db:3306/berth"));
        assert!(!has_password("mysql://berth:@db/berth"));
        assert!(!has_password("sqlite://data/berth.db?mode=rwc"));
        assert!(has_password("mysql://u:p%40ss@db/x"));
    }
}
