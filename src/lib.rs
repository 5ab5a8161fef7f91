//! berth: a seat reservation engine for tours and scheduled activities that never overbooks.
//!
//! - `domain`: the rules, pure.
//! - `service`: use cases, each owning its transaction.
//! - `storage`: all SQL, for SQLite and MySQL.
//! - `http`: Rocket routes, guards, views, catchers.
//! - `web`: HTML pages (templates, assets, catalogues embedded), beside the API.
//! - `workers`: hold expiry and schedule horizon.
//! - `net`: the connection guard in front of Rocket (connection caps and timeouts).
//! - `config`: settings and start-up refusals; `logging`: Rocket's log without query strings.

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod integrations;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod secrets;
pub mod service;
pub mod storage;
pub mod web;
pub mod workers;

use clock::Clock;
use config::AppConfig;
use storage::Store;

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
                Ok((config, store, transports, limits, payments)) => Ok(rocket
                    .manage(payments)
                    .manage(config)
                    .manage(store)
                    .manage(std::sync::Arc::new(transports))
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
) -> Result<
    (
        AppConfig,
        Store,
        service::notifications::Transports,
        http::rate_limit::RateLimits,
        service::payments::Payments,
    ),
    String,
> {
    let config = AppConfig::from_figment(rocket.figment())?;
    let transports = config.transports()?;
    let limits = config.rate_limits()?;
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
    let payments = config.payments()?;
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
    Ok((config, store, transports, limits, payments))
}

/// Connects to the configured database and applies migrations.
pub async fn open_store(config: &AppConfig) -> Result<Store, String> {
    let store = Store::connect(config.database_url(), &config.pool_settings())
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
         Then run step 1 again, or: curl -s {base}/v1/departures/{departure}\n\
         Operators: curl -s {base}/v1/departures/{departure}/manifest -H 'Authorization: Bearer {token}'\n",
        token = demo.token,
        email = service::demo::OWNER_EMAIL,
        password = demo.owner_password,
    );
}
