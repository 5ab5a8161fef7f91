//! The composition root: turns the plain settings of [`config`](crate::config) into the parts
//! berth runs with (the database pool, the email and SMS transports, the payment provider, the
//! rate limiters) and hands them to Rocket as managed state. Everything is built here and only
//! here, so no module below imports another to construct it; nothing imports this module.

use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::payment_keys::secret_key_mode;
use crate::http::rate_limit::{ClientAddresses, RateLimits};
use crate::integrations::email::Mailer;
use crate::integrations::payments::PaymentProvider;
use crate::integrations::sms::{SmsSender, Twilio};
use crate::integrations::stripe::{Stripe, StripeConnector, StripeProvider};
use crate::service::notifications::Transports;
use crate::service::payments::Payments;
use crate::service::webhooks::Webhooks;
use crate::storage::{PoolSettings, Store};
use crate::{http, net, service, web, workers};

/// The application, configured from `figment` (see [`config::figment`]), on the system clock.
pub fn rocket(figment: Figment) -> Rocket<Build> {
    rocket_with_clock(figment, Clock::system())
}

/// The application with an injected clock (tests move it forward to expire holds).
pub fn rocket_with_clock(figment: Figment, clock: Clock) -> Rocket<Build> {
    rocket::custom(figment)
        .manage(clock)
        .manage(service::auth::LoginThrottle::default())
        .attach(AdHoc::on_ignite("Password hashing", |rocket| async {
            // A gate managed before ignition (tests narrow it) is kept.
            match rocket.state::<service::passwords::Argon2Gate>() {
                Some(_) => rocket,
                None => rocket.manage(service::passwords::Argon2Gate::default()),
            }
        }))
        .attach(AdHoc::try_on_ignite("Database", |rocket| async move {
            match prepare(&rocket).await {
                Ok((config, store, transports, limits, payments, webhooks)) => Ok(rocket
                    .manage(payments)
                    .manage(Arc::new(webhooks))
                    .manage(config)
                    .manage(store)
                    .manage(Arc::new(transports))
                    .manage(limits)),
                Err(error) => {
                    tracing::error!("{error}");
                    eprintln!("berth cannot start: {error}");
                    Err(rocket)
                }
            }
        }))
        .attach(http::stage())
        .attach(web::stage())
        .attach(workers::stage())
        // Last: it moves Rocket to a loopback port once the others have read the address.
        .attach(net::ConnectionGuard)
}

/// Validates the configuration, connects, migrates and (on an empty database, when enabled)
/// seeds the demo data. Any failure aborts launch.
async fn prepare(
    rocket: &Rocket<Build>,
) -> Result<(AppConfig, Store, Transports, RateLimits, Payments, Webhooks), String> {
    let config = AppConfig::from_figment(rocket.figment())?;
    let transports = transports(&config)?;
    let limits = rate_limits(&config)?;
    let unlimited = limits.unlimited();
    if config.is_release() && !unlimited.is_empty() {
        tracing::warn!(
            buckets = unlimited.join(","),
            "RATE LIMITS ARE OFF in the release profile for: {} (BERTH_RATE_LIMITS); sign-in guessing and request floods are not throttled on these; do this only for load tests",
            unlimited.join(", ")
        );
    }
    if config.is_release() && config.hold_limits()?.is_off() {
        tracing::warn!("HOLD LIMITS ARE OFF in the release profile (BERTH_HOLD_LIMITS=off): one client can hold any number of seats; do this only for load tests");
    }
    let payments = payments(&config)?;
    let webhooks = webhooks(&config)?;
    let store = open_store(&config).await?;
    if config.demo() {
        let clock = rocket.state::<Clock>().cloned().unwrap_or_default();
        let rocket_config: rocket::Config =
            rocket.figment().extract().map_err(|e| e.to_string())?;
        let (address, port) = (rocket_config.address, rocket_config.port);
        match service::demo::seed_if_empty(&store, clock.now(), config.schedule_horizon_days).await
        {
            Ok(Some(demo)) => print_demo_banner(&demo, &format!("http://{address}:{port}")),
            Ok(None) => {}
            Err(error) => return Err(format!("could not seed demo data: {error}")),
        }
    }
    Ok((config, store, transports, limits, payments, webhooks))
}

/// What sends outbound webhooks: the target policy (SSRF), the timeout, the sealing key.
pub fn webhooks(config: &AppConfig) -> Result<Webhooks, String> {
    let policy = config.webhook_policy()?;
    if config.is_release() && policy.allows_everything() {
        tracing::warn!("BERTH_WEBHOOK_ALLOWED_TARGETS allows every address: webhooks can reach internal services (SSRF)");
    }
    let timeout = Duration::from_secs(u64::from(config.webhook_timeout_seconds));
    let client = crate::integrations::webhooks::WebhookClient::new(policy, timeout)?;
    Ok(Webhooks::new(client, config.keyring()))
}

/// Connects to the configured database and applies migrations.
pub async fn open_store(config: &AppConfig) -> Result<Store, String> {
    let store = Store::connect(config.database_url(), &pool_settings(config))
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("database migration failed: {e}"))?;
    tracing::info!(backend = store.backend_name(), "database ready");
    Ok(store)
}

fn print_demo_banner(demo: &service::demo::DemoData, base: &str) {
    let tour = &demo.tour_id;
    let departure = demo
        .first_departure
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_else(|| "DEPARTURE_ID".into());
    println!(
        "\n=== berth demo data ===\n\
         Demo operator API token (shown once): {token}\n\n\
         Tour page in a browser: {base}/tours/{tour}\n\n\
         Operator console: {base}/console, sign in as {email} with password {password} (shown once)\n\n\
         1. See availability:\n   curl -s '{base}/v1/tours/{tour}/availability'\n\n\
         2. Hold two adult seats on the next departure:\n   curl -s -X POST {base}/v1/bookings -H 'Content-Type: application/json' \\\n     \
         -d '{{\"departure_id\":\"{departure}\",\"items\":[{{\"unit\":\"adult\",\"quantity\":2}}],\"customer\":{{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\"}}}}'\n\n\
         3. Confirm it with the reference and access_token from step 2:\n   curl -s -X POST {base}/v1/bookings/REFERENCE/confirm -H 'X-Booking-Token: ACCESS_TOKEN'\n\n\
         Add \"promo_code\":\"{promo}\" to step 2 for 10 % off (once per traveler email); weekend sunsets sell adults at 42.00.\n\n\
         Then run step 1 again, or: curl -s {base}/v1/departures/{departure}\n\
         Operators: curl -s {base}/v1/departures/{departure}/manifest -H 'Authorization: Bearer {token}'\n\n\
         Resellers (OCTO) with the demo reseller's key (shown once): {reseller_key}\n   \
         curl -s {base}/octo/products -H 'Authorization: Bearer {reseller_key}'\n",
        token = demo.token,
        reseller_key = demo.reseller_key,
        email = crate::service::demo::OWNER_EMAIL,
        password = demo.owner_password,
        promo = crate::service::demo::PROMO_CODE,
    );
}

/// The database pool's settings.
pub fn pool_settings(config: &AppConfig) -> PoolSettings {
    PoolSettings {
        max_connections: config.database_max_connections,
        lock_timeout: Duration::from_secs(u64::from(config.database_lock_timeout_seconds)),
        hold_batch: config.hold_batch as usize,
        ..Default::default()
    }
}

/// The rate limiters the configuration asks for ([`AppConfig::rate_limit_spec`]); a bad
/// setting stops the start, naming it.
pub fn rate_limits(config: &AppConfig) -> Result<RateLimits, String> {
    let clients = ClientAddresses::parse(&config.trusted_proxies, config.client_ipv6_prefix)?;
    RateLimits::parse(config.rate_limit_spec(), clients)
}

/// How travelers pay: through the instance's Stripe account when the environment names one,
/// and through operators' own accounts when they set their keys. Logs whether the instance's
/// key is a test or live key, never the key.
pub fn payments(config: &AppConfig) -> Result<Payments, String> {
    let timeout = Duration::from_secs(u64::from(config.stripe_timeout_seconds));
    let connector = Arc::new(StripeConnector::new(&config.stripe_api_base, timeout)?);
    let (instance, mode) = match (
        config.payments.as_str(),
        &config.stripe_secret_key,
        &config.stripe_webhook_secret,
    ) {
        ("stripe", Some(key), Some(webhook_secret)) => {
            let mode = secret_key_mode(key.expose())
                .map_err(|problem| format!("BERTH_STRIPE_SECRET_KEY {problem}"))?;
            let api = Stripe::new(&config.stripe_api_base, key.clone(), timeout)?;
            tracing::info!(
                mode = mode.as_str(),
                "payments through the instance's Stripe account"
            );
            let provider: Arc<dyn PaymentProvider> =
                Arc::new(StripeProvider::new(api, webhook_secret.clone()));
            (Some(provider), Some(mode))
        }
        _ => (None, None),
    };
    Ok(Payments::new(
        instance,
        mode,
        Some(connector),
        config.keyring(),
    ))
}

/// The email and SMS transports the configuration selects.
pub fn transports(config: &AppConfig) -> Result<Transports, String> {
    if !config.mail_from_domains.trim().is_empty() {
        tracing::warn!("BERTH_MAIL_FROM_DOMAINS is ignored: approve each operator's sender domains with `berth operator allow-sender-domain`");
    }
    let mailer = match (config.mail_transport.as_str(), &config.smtp_url) {
        ("smtp", Some(url)) => Mailer::smtp(url.expose(), &config.mail_from)?,
        _ => Mailer::file(config.mail_dir.clone().into(), &config.mail_from)?,
    };
    let public_url = config.public_url().trim_end_matches('/');
    let sms = match (
        config.sms_transport.as_str(),
        &config.twilio_account_sid,
        &config.twilio_auth_token,
        &config.twilio_from,
    ) {
        ("twilio", Some(sid), Some(token), Some(from)) => {
            let callback = format!("{public_url}{}", http::webhooks::TWILIO_STATUS_PATH);
            let timeout =
                Duration::from_secs(u64::from(config.twilio_timeout_seconds.clamp(1, 120)));
            SmsSender::Twilio(Twilio::new(
                &config.twilio_api_base,
                sid,
                token.clone(),
                from,
                Some(callback),
                timeout,
            )?)
        }
        _ => SmsSender::File {
            dir: config.sms_dir.clone().into(),
        },
    };
    Ok(Transports {
        mailer,
        sms,
        public_url: public_url.to_owned(),
        max_attempts: config.outbox_max_attempts,
        keyring: config.keyring(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{figment, release};

    #[test]
    fn an_empty_rate_limit_setting_is_the_default_and_only_off_turns_limits_off() {
        let unlimited = |config: AppConfig| rate_limits(&config).unwrap().unlimited();
        assert!(unlimited(release(&[]).unwrap()).is_empty());
        assert!(unlimited(release(&[("RATE_LIMITS", "")]).unwrap()).is_empty());
        assert!(unlimited(release(&[("RATE_LIMITS", "  ")]).unwrap()).is_empty());
        assert_eq!(
            unlimited(release(&[("RATE_LIMITS", "off")]).unwrap()),
            ["auth", "bookings", "writes", "reads", "octo"]
        );
        let debug = AppConfig::from_figment(&figment("debug", &[("RATE_LIMITS", "")])).unwrap();
        assert_eq!(unlimited(debug).len(), 5, "debug's default is off");
    }
}
