//! berth in-process on a free port with a fresh database (SQLite file or MySQL database), and an
//! operator token: what a load test needs, nothing more.

// The same MySQL source as berth's own test suite: one file, not a copy.
#[path = "../../../tests/api/support/mysql_server.rs"]
pub mod mysql_server;
#[path = "../../../tests/api/support/requirement.rs"]
pub mod requirement;
#[path = "../../../tests/api/support/test_db.rs"]
pub mod test_db;

pub use test_db::{Backend, TestDb};

use std::time::Duration;

use berth::clock::Clock;
use berth::storage::Store;
use rocket::fairing::AdHoc;
use rocket::figment::providers::Serialized;
use sqlx::Connection;

/// Instantiates an `async fn name(backend: Backend)` test as `name::sqlite` and `name::mysql`.
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

pub struct Berth {
    pub base: String,
    pub backend: Backend,
    pub database_url: String,
    pub store: Store,
    pub token: String,
    shutdown: rocket::Shutdown,
    _db: TestDb,
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

impl Berth {
    /// berth on 127.0.0.1 with a fresh database and one operator; `None` when there is no MySQL
    /// server and `BERTH_ALLOW_SKIP` names `mysql` (see `requirement::require`).
    pub async fn spawn(backend: Backend) -> Option<Berth> {
        let (db, database_url) = TestDb::create(backend, "berth_load").await?;
        let figment = berth::config::figment()
            .merge(Serialized::global("port", 0))
            .merge(Serialized::global("address", "127.0.0.1"))
            .merge(Serialized::global("database_url", &database_url))
            .merge(Serialized::global("demo", false))
            .merge(Serialized::global("background_workers", false))
            .merge(Serialized::global("log_level", "off"));
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let port_tx = std::sync::Mutex::new(Some(port_tx));
        let rocket = berth::rocket_with_clock(figment, Clock::system())
            .attach(AdHoc::on_liftoff("test port", move |rocket| {
                let port = rocket.config().port;
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
        let shutdown = rocket.shutdown();
        tokio::spawn(rocket.launch());
        let port = tokio::time::timeout(Duration::from_secs(30), port_rx)
            .await
            .expect("berth lifts off")
            .expect("port reported");
        let (_, token) = berth::service::operators::create_operator(
            &store,
            Clock::system().now(),
            "Load Testers",
            "load@example.com",
        )
        .await
        .expect("operator created");
        Some(Berth {
            base: format!("http://127.0.0.1:{port}"),
            backend,
            database_url,
            store,
            token,
            shutdown,
            _db: db,
        })
    }

    /// Runs a SQL statement behind berth's back (to corrupt what the verifier must catch).
    pub async fn execute_sql(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
            Backend::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        }
    }
}
