//! The configuration's own checks, without a server.

use rocket::figment::providers::{Format, Serialized, Toml};
use rocket::figment::value::Value;
use rocket::figment::{Figment, Profile};

use super::secret_checks::{describe, has_password, predictable_key, secrets_in};
use super::*;

/// A key made for these tests only.
pub(crate) const KEY: &str = "k3Qz9vX2mL7pR4tW8yB1nC6dF0gH5jKsAeUiOoPqRrStTuVw";

/// A figment of `profile` with `BERTH_*` settings (names without the prefix).
pub(crate) fn figment(profile: &str, vars: &[(&str, &str)]) -> Figment {
    Figment::from(rocket::Config::default())
        .merge(BerthEnv::from_pairs(vars.iter().copied()))
        .select(profile)
}

/// A valid release configuration, with `vars` on top.
pub(crate) fn release(vars: &[(&str, &str)]) -> Result<AppConfig, String> {
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
    let other =
        rocket::figment::Error::from(Kind::InvalidType(Actual::Str("abc".into()), "u32".into()))
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
        ("WEBHOOK_TIMEOUT_SECONDS", ["0", "31"], "30"),
        (
            "WEBHOOK_ALLOWED_TARGETS",
            ["10.0.0.0/33", "not a host!"],
            "10.0.0.0/8,hooks.internal",
        ),
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

#[test]
fn webhooks_reach_internal_addresses_only_in_debug_or_when_allowed() {
    let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let metadata: std::net::IpAddr = "169.254.169.254".parse().unwrap();
    let release_default = release(&[]).unwrap().webhook_policy().unwrap();
    assert!(release_default.permits("localhost", loopback).is_err());
    assert!(release_default.permits("metadata", metadata).is_err());
    assert!(
        release_default.check_url("http://example.com/").is_err(),
        "https only"
    );
    let debug = AppConfig::from_figment(&figment("debug", &[]))
        .unwrap()
        .webhook_policy()
        .unwrap();
    assert!(debug.permits("localhost", loopback).is_ok());
    assert!(
        debug.permits("metadata", metadata).is_err(),
        "only loopback"
    );
    assert!(debug.check_url("http://127.0.0.1:9/hook").is_ok());
    let allowed = release(&[("WEBHOOK_ALLOWED_TARGETS", "127.0.0.1/32")])
        .unwrap()
        .webhook_policy()
        .unwrap();
    assert!(allowed.permits("localhost", loopback).is_ok());
}
