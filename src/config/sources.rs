//! Where settings come from: Rocket's figment (`Rocket.toml`, `ROCKET_*`) with berth's own
//! defaults underneath and `BERTH_*` on top, read as the text it was written as; and which
//! profile is running.

use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::value::{Dict, Map, Value};
use rocket::figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer};

use super::JSON_BODY_LIMIT;
use crate::secrets::Secret;

/// Read from any scalar as its text, so a numeric-looking key is taken as written rather than
/// refused with its value in the error.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        text::deserialize(deserializer).map(Secret::new)
    }
}

/// Scalars read as the text they were written as.
pub(super) mod text {
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
