//! Keeping secrets secret: a secret setting found in a configuration file stops the start, an
//! error about one never quotes its value, and release refuses a guessable `BERTH_SECRET_KEY`.

use rocket::figment::providers::{Format, Toml};
use rocket::figment::value::Value;
use rocket::figment::Figment;

use super::{AppConfig, DEBUG_SECRET_KEY};

/// Values seen in examples and tutorials; release refuses them whatever their length.
pub(super) const KNOWN_DEFAULT_KEYS: &[&str] = &[
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
pub(super) const MIN_DISTINCT_KEY_BYTES: usize = 8;

/// Whether a long key is still guessable: few distinct bytes (`changeme…`, `password…`), a
/// short pattern repeated (`abab…`, most of its 3-byte windows seen before), or a sequence (the
/// same step between most neighbours: `abcdef…`, `13579…`).
pub(super) fn predictable_key(key: &[u8]) -> bool {
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

/// `BERTH_<NAME>` of a setting's key.
pub(super) fn setting_name(key: &str) -> String {
    format!("BERTH_{}", key.to_ascii_uppercase())
}

/// A figment error in words, with the value of any secret setting left out.
pub(super) fn describe(error: rocket::figment::Error) -> String {
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
pub(super) fn has_password(url: &str) -> bool {
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
pub(super) fn secrets_in(value: &Value, table: &str, found: &mut Vec<(String, String)>) {
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
pub(super) fn refuse_secrets_in_files(figment: &Figment) -> Result<(), String> {
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
    /// Refuses a missing, short or well-known `BERTH_SECRET_KEY`, naming it but never its value.
    pub(super) fn check_secret_key(&self) -> Result<(), String> {
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
}
