//! `TestApp::spawn(backend)`: berth on a real port with a fresh database, plus request helpers.

#![allow(dead_code)]

pub mod calendar;
pub mod db_proxy;
pub mod fake_stripe;
pub mod fake_twilio;
pub mod mysql_server;
pub mod requirement;
pub mod test_db;
pub mod wait;
pub mod webhook_receiver;

pub use test_db::{Backend, TestDb};

use std::time::Duration;

use berth::clock::Clock;
use berth::storage::Store;
use reqwest::{Method, StatusCode};
use rocket::fairing::AdHoc;
use rocket::figment::providers::Serialized;
use serde_json::{json, Value};
use sqlx::Connection;

/// Instantiates an `async fn name(backend: Backend)` test once per backend:
/// `name::sqlite` and `name::mysql`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn mysql() {
                super::$name($crate::support::Backend::MySql).await;
            }
        }
    )+};
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key} in {}", self.text))
            .to_owned()
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.code(),
            code,
            "unexpected error code; body: {}",
            self.text
        );
        assert!(self.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        self
    }
}

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub database_url: String,
    pub store: Store,
    pub clock: Clock,
    pub client: reqwest::Client,
    /// Every mounted route as (method, path template), e.g. ("GET", "/v1/tours/<id>").
    pub routes: Vec<(String, String)>,
    /// The email and SMS transports the outbox dispatcher sends with.
    pub transports: std::sync::Arc<berth::service::notifications::Transports>,
    /// What sends this instance's outbound webhooks (tests run the dispatcher with it).
    pub webhooks: std::sync::Arc<berth::service::webhooks::Webhooks>,
    /// How this instance takes payments (tests run the refund worker with it).
    pub payments: berth::service::payments::Payments,
    pub config: berth::config::AppConfig,
    /// Where the file transports write: `mail/*.eml` and `sms/sms.jsonl`.
    pub files: tempfile::TempDir,
    /// The Argon2 gate this instance hashes passwords through.
    pub argon2: berth::service::passwords::Argon2Gate,
    shutdown: rocket::Shutdown,
    /// The database, when this instance owns it (see [`TestApp::another_instance`]).
    _db: Option<TestDb>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

impl TestApp {
    /// Berth on a free port with a fresh database; `None` when there is no MySQL server and
    /// `BERTH_ALLOW_SKIP` names `mysql` (see `requirement::require`).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, settings: &[(&str, Value)]) -> Option<TestApp> {
        Self::spawn_custom(backend, settings, |rocket| rocket).await
    }

    /// Berth that reaches its fresh database at `reach(url)` (through a proxy a test can cut);
    /// `database_url` stays the direct URL, for the test's own checks.
    pub async fn spawn_reaching_db(
        backend: Backend,
        settings: &[(&str, Value)],
        reach: impl FnOnce(&str) -> String,
    ) -> Option<TestApp> {
        let (db, database_url) = TestDb::create(backend, "berth_test").await?;
        let mut all = settings.to_vec();
        all.push(("database_url", Value::from(reach(&database_url))));
        let clock = Clock::adjustable();
        Some(
            Self::launch(backend, Some(db), database_url, clock, &all, |rocket| {
                rocket
            })
            .await,
        )
    }

    /// Like [`TestApp::spawn_with`], with `customize` applied to the Rocket before it ignites
    /// (e.g. to manage a narrower `Argon2Gate` than the default).
    pub async fn spawn_custom(
        backend: Backend,
        settings: &[(&str, Value)],
        customize: impl FnOnce(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build>,
    ) -> Option<TestApp> {
        let (db, database_url) = TestDb::create(backend, "berth_test").await?;
        let clock = Clock::adjustable();
        Some(Self::launch(backend, Some(db), database_url, clock, settings, customize).await)
    }

    /// berth on a database prepared by the test (`TestDb::create`, then filled), migrated on
    /// start like any deployment's.
    pub async fn spawn_on(backend: Backend, db: TestDb, database_url: String) -> TestApp {
        Self::launch(
            backend,
            Some(db),
            database_url,
            Clock::adjustable(),
            &[],
            |rocket| rocket,
        )
        .await
    }

    /// A second, independent berth (its own pool, metrics, limits and file transports) on this
    /// instance's database, as a second process of a deployment would be; the two share the
    /// test clock.
    pub async fn another_instance(&self, settings: &[(&str, Value)]) -> TestApp {
        Self::launch(
            self.backend,
            None,
            self.database_url.clone(),
            self.clock.clone(),
            settings,
            |rocket| rocket,
        )
        .await
    }

    async fn launch(
        backend: Backend,
        db: Option<TestDb>,
        database_url: String,
        clock: Clock,
        settings: &[(&str, Value)],
        customize: impl FnOnce(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build>,
    ) -> TestApp {
        // Server-side errors show up in a failing test's captured output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("BERTH_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .try_init();
        let files = tempfile::tempdir().expect("temp dir");
        let mut figment = berth::config::figment()
            .merge(Serialized::global("mail_dir", files.path().join("mail")))
            .merge(Serialized::global("sms_dir", files.path().join("sms")))
            .merge(Serialized::global("port", 0))
            .merge(Serialized::global("address", "127.0.0.1"))
            .merge(Serialized::global("database_url", &database_url))
            .merge(Serialized::global("demo", false))
            .merge(Serialized::global("background_workers", false))
            .merge(Serialized::global("log_level", "off"))
            .merge(Serialized::global("database_max_connections", 32))
            // Every test client is 127.0.0.1: the per-address cap would be shared by all of a
            // test's racers. Tests of the connection guard set their own, small caps.
            .merge(Serialized::global("max_connections", 4096))
            .merge(Serialized::global("max_connections_per_client", 4096));
        for (key, value) in settings {
            figment = figment.merge(Serialized::global(key, value));
        }
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let port_tx = std::sync::Mutex::new(Some(port_tx));
        let rocket = customize(berth::rocket_with_clock(figment, clock.clone()))
            .attach(AdHoc::on_liftoff("test port", move |rocket| {
                // berth's own listener (the connection guard), not Rocket's internal port.
                let port =
                    berth::net::public_address(rocket).map_or(rocket.config().port, |a| a.port());
                Box::pin(async move {
                    if let Some(tx) = port_tx.lock().unwrap().take() {
                        let _ = tx.send(port);
                    }
                })
            }))
            .ignite()
            .await
            .expect("berth ignites");
        let store = rocket.state::<Store>().expect("store managed").clone();
        let transports = rocket
            .state::<std::sync::Arc<berth::service::notifications::Transports>>()
            .expect("transports managed")
            .clone();
        let payments = rocket
            .state::<berth::service::payments::Payments>()
            .expect("payments managed")
            .clone();
        let webhooks = rocket
            .state::<std::sync::Arc<berth::service::webhooks::Webhooks>>()
            .expect("webhooks managed")
            .clone();
        let config = rocket
            .state::<berth::config::AppConfig>()
            .expect("config managed")
            .clone();
        let argon2 = rocket
            .state::<berth::service::passwords::Argon2Gate>()
            .expect("Argon2 gate managed")
            .clone();
        let routes = rocket
            .routes()
            .map(|r| (r.method.as_str().to_owned(), r.uri.path().to_string()))
            .collect();
        let shutdown = rocket.shutdown();
        tokio::spawn(rocket.launch());
        let port = tokio::time::timeout(Duration::from_secs(30), port_rx)
            .await
            .expect("berth lifts off")
            .expect("port reported");
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            backend,
            database_url,
            store,
            clock,
            routes,
            transports,
            webhooks,
            payments,
            config,
            files,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                // Below berth's keep-alive (5 s): the client lets an idle connection go before
                // berth closes it, so no request races the close.
                .pool_idle_timeout(Duration::from_secs(3))
                .build()
                .unwrap(),
            argon2,
            shutdown,
            _db: db,
        }
    }

    /// berth taking payments through `stripe` (a fake Stripe server).
    pub async fn spawn_stripe(
        backend: Backend,
        stripe: &fake_stripe::FakeStripe,
        settings: &[(&str, Value)],
    ) -> Option<TestApp> {
        let mut all: Vec<(&str, Value)> = vec![
            ("payments", "stripe".into()),
            ("stripe_secret_key", fake_stripe::SECRET_KEY.into()),
            ("stripe_webhook_secret", fake_stripe::WEBHOOK_SECRET.into()),
            ("stripe_api_base", stripe.base.clone().into()),
            ("stripe_timeout_seconds", 1.into()),
        ];
        all.extend(settings.iter().cloned());
        Self::spawn_with(backend, &all).await
    }

    /// Delivers a Stripe webhook event, signed now with the configured secret.
    pub async fn stripe_event(&self, body: &str) -> Reply {
        let signature = fake_stripe::signature(
            fake_stripe::WEBHOOK_SECRET,
            self.clock.now().timestamp(),
            body,
        );
        self.stripe_event_signed(body, &signature).await
    }

    pub async fn stripe_event_signed(&self, body: &str, signature: &str) -> Reply {
        self.stripe_event_to("/v1/webhooks/stripe", body, signature)
            .await
    }

    /// Delivers a Stripe webhook event to `path` (the instance's endpoint or an operator's).
    pub async fn stripe_event_to(&self, path: &str, body: &str, signature: &str) -> Reply {
        Self::reply(
            self.client
                .post(format!("{}{path}", self.base))
                .header("Stripe-Signature", signature)
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
        )
        .await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request).await
    }

    pub async fn reply(request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            text,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, None, Some(body)).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch_as(&self, token: &str, path: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A POST with the traveler's booking token.
    pub async fn post_with_booking_token(&self, path: &str, access_token: &str) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-Booking-Token", access_token);
        Self::reply(request).await
    }

    pub async fn get_with_booking_token(&self, path: &str, access_token: &str) -> Reply {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .header("X-Booking-Token", access_token);
        Self::reply(request).await
    }

    /// A new operator; returns its API token.
    pub async fn operator(&self, name: &str) -> String {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let (_, token) =
            berth::service::operators::create_operator(&self.store, self.clock.now(), name, &email)
                .await
                .expect("operator created");
        token
    }

    /// A new operator; returns (its id, its owner API token).
    pub async fn operator_with_id(&self, name: &str) -> (String, String) {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let (id, token) =
            berth::service::operators::create_operator(&self.store, self.clock.now(), name, &email)
                .await
                .expect("operator created");
        (id.to_string(), token)
    }

    /// Adds a user with `role` through `owner_token` (`POST /v1/users`) and returns its id.
    pub async fn add_user(&self, owner_token: &str, email: &str, role: &str) -> String {
        let reply = self
            .post_as(
                owner_token,
                "/v1/users",
                json!({"email": email, "name": "Test User", "role": role, "password": PASSWORD}),
            )
            .await;
        reply.expect(201);
        reply.str("id")
    }

    /// `POST /v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/v1/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// A user with `role`, signed in: its access token (and the whole login reply).
    pub async fn signed_in(&self, owner_token: &str, email: &str, role: &str) -> (String, Reply) {
        self.add_user(owner_token, email, role).await;
        let reply = self.login(email, PASSWORD).await;
        reply.expect(200);
        (reply.str("access_token"), reply)
    }

    /// A tour with adult (3500) and child (1500) units; returns its id.
    pub async fn tour(&self, token: &str, changes: Value) -> String {
        let mut body = json!({
            "name": "Harbour cruise",
            "description": "Around the bay",
            "meeting_point": "Pier 3",
            "timezone": "Europe/Lisbon",
            "duration_minutes": 90,
            "currency": "EUR",
            "cutoff_minutes": 30,
            "min_per_booking": 1,
            "max_per_booking": 8,
            "units": [
                {"code": "adult", "label": "Adult", "price": 3500},
                {"code": "child", "label": "Child", "price": 1500}
            ]
        });
        merge(&mut body, changes);
        let reply = self.post_as(token, "/v1/tours", body).await;
        reply.expect(201);
        reply.str("id")
    }

    /// A one-off departure `hours_ahead` from now; returns its id.
    pub async fn departure(
        &self,
        token: &str,
        tour: &str,
        capacity: i64,
        hours_ahead: i64,
    ) -> String {
        let starts_at = (self.clock.now() + chrono::Duration::hours(hours_ahead)).to_rfc3339();
        let reply = self
            .post_as(
                token,
                &format!("/v1/tours/{tour}/departures"),
                json!({"starts_at": starts_at, "capacity": capacity}),
            )
            .await;
        reply.expect(201);
        reply.str("id")
    }

    /// An operator, a tour and a departure of `capacity` two days out: (token, tour, departure).
    pub async fn fresh_departure(&self, capacity: i64) -> (String, String, String) {
        let token = self.operator("Acme Tours").await;
        let tour = self.tour(&token, json!({})).await;
        let departure = self.departure(&token, &tour, capacity, 48).await;
        (token, tour, departure)
    }

    pub async fn hold(&self, departure: &str, items: Value) -> Reply {
        self.post(
            "/v1/bookings",
            json!({
                "departure_id": departure,
                "items": items,
                "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+351 912 345 678"}
            }),
        )
        .await
    }

    /// Seats still available on a departure, read through the public API.
    pub async fn available(&self, departure: &str) -> i64 {
        let reply = self.get(&format!("/v1/departures/{departure}")).await;
        reply.expect(200);
        reply.body["available"].as_i64().expect("available")
    }

    /// The seat invariant over the whole database, as `berth check` verifies it.
    pub async fn assert_seat_invariant(&self) {
        let violations = berth::service::check::seat_invariant(&self.store)
            .await
            .expect("check runs");
        assert!(
            violations.is_empty(),
            "seat invariant violated: {violations:?}"
        );
    }

    /// Takes, from another connection, the lock a booking on `departure` needs (SQLite: the
    /// database write lock; MySQL: the departure row), until the returned value is dropped.
    pub async fn lock_departure_elsewhere(&self, departure: &str) -> Box<dyn std::any::Any + Send> {
        if self.backend == Backend::Sqlite {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(conn)
        } else {
            let mut conn = sqlx::MySqlConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("SELECT id FROM departures WHERE id = ? FOR UPDATE")
                .bind(departure)
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(conn)
        }
    }

    /// One integer read straight from the database (e.g. a `COUNT(*)`).
    pub async fn query_i64(&self, sql: &str) -> i64 {
        if self.backend == Backend::Sqlite {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::MySqlConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
    }

    /// A text column read straight from the database, one value per row.
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        if self.backend == Backend::Sqlite {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::MySqlConnection::connect(&self.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
    }

    /// Runs a SQL statement directly (to set up corrupt or edge-case states).
    pub async fn execute_sql(&self, sql: &str) {
        self.try_execute_sql(sql).await.unwrap();
    }

    /// Runs a SQL statement directly and says whether the database took it.
    pub async fn try_execute_sql(&self, sql: &str) -> Result<u64, sqlx::Error> {
        if self.backend == Backend::Sqlite {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        } else {
            let mut conn = sqlx::MySqlConnection::connect(&self.database_url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        }
    }
}

/// The password test users get (passes the policy).
pub const PASSWORD: &str = "correct horse battery staple";

/// Overlays `changes` onto `body` (top-level keys).
pub fn merge(body: &mut Value, changes: Value) {
    if let (Some(body), Value::Object(changes)) = (body.as_object_mut(), changes) {
        for (key, value) in changes {
            body.insert(key, value);
        }
    }
}
