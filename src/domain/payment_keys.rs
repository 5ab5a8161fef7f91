//! The shape of an operator's Stripe credentials, checked before anything is stored: a secret
//! (`sk_…`) or restricted (`rk_…`) key, the publishable key Stripe.js needs (`pk_…`), both of
//! one mode, and the webhook signing secret (`whsec_…`). Masks show a key as its prefix and last
//! four characters, which is all berth ever shows of a secret after it was saved.

use crate::error::{AppError, Problems};

/// Test or live: Stripe keeps the two apart, and so does berth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    Test,
    Live,
}

impl KeyMode {
    pub const ALL: [KeyMode; 2] = [KeyMode::Test, KeyMode::Live];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyMode::Test => "test",
            KeyMode::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<KeyMode> {
        match s {
            "test" => Some(KeyMode::Test),
            "live" => Some(KeyMode::Live),
            _ => None,
        }
    }
}

/// Stripe's keys are ASCII letters and digits after the prefix; real ones are about a hundred
/// characters long. The bounds refuse a truncated paste and anything absurd.
const KEY_BODY: std::ops::RangeInclusive<usize> = 16..=255;
const WEBHOOK_SECRET_BODY: std::ops::RangeInclusive<usize> = 16..=128;

fn body_ok(body: &str, lengths: &std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The mode of a secret or restricted key, or why it is not one.
pub fn secret_key_mode(key: &str) -> Result<KeyMode, &'static str> {
    for (prefix, mode) in [
        ("sk_test_", KeyMode::Test),
        ("rk_test_", KeyMode::Test),
        ("sk_live_", KeyMode::Live),
        ("rk_live_", KeyMode::Live),
    ] {
        if let Some(body) = key.strip_prefix(prefix) {
            return if body_ok(body, &KEY_BODY) {
                Ok(mode)
            } else {
                Err("is not a Stripe secret key: letters and digits, 16 to 255 after the prefix")
            };
        }
    }
    Err("must start with sk_test_, sk_live_, rk_test_ or rk_live_")
}

/// The mode of a publishable key, or why it is not one.
pub fn publishable_key_mode(key: &str) -> Result<KeyMode, &'static str> {
    for (prefix, mode) in [("pk_test_", KeyMode::Test), ("pk_live_", KeyMode::Live)] {
        if let Some(body) = key.strip_prefix(prefix) {
            return if body_ok(body, &KEY_BODY) {
                Ok(mode)
            } else {
                Err("is not a Stripe publishable key: letters and digits, 16 to 255 after the prefix")
            };
        }
    }
    Err("must start with pk_test_ or pk_live_")
}

/// Whether a webhook signing secret has Stripe's shape.
pub fn webhook_secret_ok(secret: &str) -> Result<(), &'static str> {
    match secret.strip_prefix("whsec_") {
        Some(body) if body_ok(body, &WEBHOOK_SECRET_BODY) => Ok(()),
        Some(_) => {
            Err("is not a webhook signing secret: letters and digits, 16 to 128 after whsec_")
        }
        None => Err("must start with whsec_ (the endpoint's signing secret in Stripe's dashboard)"),
    }
}

/// A key as berth shows it once saved: its prefix and its last four characters
/// (`sk_test_…4242`). Nothing in between is ever shown again.
pub fn mask(key: &str) -> String {
    let prefix_len = key
        .match_indices('_')
        .nth(if key.starts_with("whsec_") { 0 } else { 1 })
        .map_or(0, |(i, _)| i + 1);
    let tail_start = key.len().saturating_sub(4).max(prefix_len);
    match (key.get(..prefix_len), key.get(tail_start..)) {
        (Some(prefix), Some(tail)) => format!("{prefix}…{tail}"),
        _ => "…".to_owned(),
    }
}

/// An operator's Stripe credentials, checked and of one mode.
#[derive(Clone, PartialEq, Eq)]
pub struct StripeCredentials {
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: String,
    pub mode: KeyMode,
}

impl std::fmt::Debug for StripeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeCredentials")
            .field("secret_key", &mask(&self.secret_key))
            .field("publishable_key", &self.publishable_key)
            .field("webhook_secret", &mask(&self.webhook_secret))
            .field("mode", &self.mode)
            .finish()
    }
}

impl StripeCredentials {
    /// Checks the three values: each its shape, both keys one mode, and no live key where live
    /// keys are refused (a debug instance). Every problem is reported, by field.
    pub fn parse(
        secret_key: &str,
        publishable_key: &str,
        webhook_secret: &str,
        live_allowed: bool,
    ) -> Result<StripeCredentials, AppError> {
        let (secret_key, publishable_key, webhook_secret) = (
            secret_key.trim(),
            publishable_key.trim(),
            webhook_secret.trim(),
        );
        let mut problems = Problems::new();
        let secret_mode = problems.check("secret_key", secret_key_mode(secret_key));
        let publishable_mode =
            problems.check("publishable_key", publishable_key_mode(publishable_key));
        problems.check("webhook_secret", webhook_secret_ok(webhook_secret));
        if let (Some(secret), Some(publishable)) = (secret_mode, publishable_mode) {
            if secret != publishable {
                problems.add(
                    "publishable_key",
                    format!(
                        "is a {}-mode key but the secret key is a {}-mode key: use both keys of one mode",
                        publishable.as_str(),
                        secret.as_str()
                    ),
                );
            }
        }
        if secret_mode == Some(KeyMode::Live) && !live_allowed {
            problems.add(
                "secret_key",
                "is a live key, refused on a debug instance: use a test key, or run the release build",
            );
        }
        let mode = secret_mode.filter(|_| problems.is_empty());
        problems.into_result()?;
        match mode {
            Some(mode) => Ok(StripeCredentials {
                secret_key: secret_key.to_owned(),
                publishable_key: publishable_key.to_owned(),
                webhook_secret: webhook_secret.to_owned(),
                mode,
            }),
            None => Err(AppError::invalid(
                "secret_key",
                "is not a Stripe secret key",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SK: &str = "sk_test_51AbCdEfGhIjKlMnOpQrStUv4242";
    const PK: &str = "pk_test_51AbCdEfGhIjKlMnOpQrStUv0000";
    const WH: &str = "whsec_AbCdEfGhIjKlMnOpQrSt9876";

    fn fields(result: Result<StripeCredentials, AppError>) -> Vec<String> {
        match result {
            Err(AppError::Validation(fields)) => fields
                .into_iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn good_credentials_carry_their_mode() {
        let parsed = StripeCredentials::parse(SK, PK, WH, false).unwrap();
        assert_eq!(parsed.mode, KeyMode::Test);
        let live = StripeCredentials::parse(
            "rk_live_51AbCdEfGhIjKlMnOpQrStUv4242",
            "pk_live_51AbCdEfGhIjKlMnOpQrStUv0000",
            WH,
            true,
        )
        .unwrap();
        assert_eq!(live.mode, KeyMode::Live);
    }

    #[test]
    fn each_bad_field_is_named() {
        let errors = fields(StripeCredentials::parse(
            "pk_test_x",
            "sk_test_y",
            "secret",
            false,
        ));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("publishable_key: must start with pk_"));
        assert!(errors[1].starts_with("secret_key: must start with sk_test_"));
        assert!(errors[2].starts_with("webhook_secret: must start with whsec_"));
        let short = fields(StripeCredentials::parse(
            "sk_test_abc",
            PK,
            "whsec_short",
            false,
        ));
        assert!(short[0].contains("16 to 255"), "{short:?}");
        assert!(short[1].contains("16 to 128"), "{short:?}");
        let spaced = fields(StripeCredentials::parse(
            "sk_test_51AbCdEfGhIjKl MnOpQrStUv",
            PK,
            WH,
            false,
        ));
        assert!(spaced[0].starts_with("secret_key: is not"), "{spaced:?}");
    }

    #[test]
    fn modes_must_match_and_live_keys_need_a_release_instance() {
        let mixed = fields(StripeCredentials::parse(
            SK,
            "pk_live_51AbCdEfGhIjKlMnOpQrStUv0000",
            WH,
            true,
        ));
        assert_eq!(
            mixed,
            ["publishable_key: is a live-mode key but the secret key is a test-mode key: use both keys of one mode"]
        );
        let live_on_debug = fields(StripeCredentials::parse(
            "sk_live_51AbCdEfGhIjKlMnOpQrStUv4242",
            "pk_live_51AbCdEfGhIjKlMnOpQrStUv0000",
            WH,
            false,
        ));
        assert_eq!(live_on_debug.len(), 1);
        assert!(
            live_on_debug[0].starts_with("secret_key: is a live key, refused on a debug instance")
        );
    }

    #[test]
    fn masks_keep_the_prefix_and_the_last_four() {
        assert_eq!(mask(SK), "sk_test_…4242");
        assert_eq!(mask("rk_live_51AbCdEfGh9z9z"), "rk_live_…9z9z");
        assert_eq!(mask(WH), "whsec_…9876");
        assert_eq!(mask("sk_test_"), "sk_test_…");
        assert_eq!(mask(""), "…");
        // The mask never carries more than the last four characters of the body.
        assert!(!mask(SK).contains("51AbCd"));
        let debug = format!("{:?}", StripeCredentials::parse(SK, PK, WH, false).unwrap());
        assert!(!debug.contains(SK) && !debug.contains(WH), "{debug}");
    }
}
