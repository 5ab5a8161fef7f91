//! The only place SQL lives. One `Store` over either backend, chosen at start-up from
//! `database_url`.
//!
//! Most statements are plain SQL with `?` placeholders that both SQLite and MySQL accept, so each
//! is written once and run through [`on_pool!`]/[`on_tx!`], which expand the same code once per
//! backend (each arm type-checks against its own driver). Where the dialects differ (row locks,
//! upserts) the two spellings sit side by side via [`WriteTx::pick`], so an asymmetry is visible
//! in review. This replaces the `sqlite/` + `mysql/` twin folders of the style guide: with ~90 %
//! of the SQL identical, two copies would drift rather than document differences.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, MySql, Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub mod bookings;
pub mod catalogue;
pub mod error;
pub mod idempotency;
pub mod occurrences;
mod rows;

pub use error::StorageError;

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once per backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::storage::Store::Sqlite(sqlite) => {
                let $pool = &sqlite.pool;
                $body
            }
            $crate::storage::Store::MySql($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection, once per backend.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::storage::WriteTx::Sqlite(tx, _) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::storage::WriteTx::MySql(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

pub(crate) use {on_pool, on_tx};

/// Which database berth talks to. Cheap to clone into handlers and workers.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    MySql(MySqlPool),
}

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// SQLite has one writer at a time. Queuing writers here, in the process, is fair and cheap;
    /// `BEGIN IMMEDIATE` plus `busy_timeout` still cover other processes (`berth check`, …).
    writer: Arc<Mutex<()>>,
}

/// A write transaction. On SQLite it holds the database's single write lock from `BEGIN
/// IMMEDIATE`; on MySQL, rows are locked by the statements that need them (`FOR UPDATE`).
pub enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>, OwnedMutexGuard<()>),
    MySql(Transaction<'static, MySql>),
}

/// Tuning knobs for the connection pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a free connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// How long one statement waits for a lock (MySQL `innodb_lock_wait_timeout`, SQLite
    /// `busy_timeout`) before the transaction is retried.
    pub lock_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(5),
        }
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `mysql://user:pass@host:port/db`). A SQLite file and
    /// its folder are created when missing.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StorageError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(settings.lock_timeout);
            if let Some(folder) = options.get_filename().parent() {
                if !folder.as_os_str().is_empty() {
                    std::fs::create_dir_all(folder).map_err(|e| StorageError::Other(e.into()))?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections.clamp(1, 64))
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Store::Sqlite(SqliteStore {
                pool,
                writer: Arc::new(Mutex::new(())),
            }))
        } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            let url = url.replacen("mariadb:", "mysql:", 1);
            let options = MySqlConnectOptions::from_str(&url)?;
            let lock_wait = format!(
                "SET SESSION innodb_lock_wait_timeout = {}",
                settings.lock_timeout.as_secs().max(1)
            );
            let pool = MySqlPoolOptions::new()
                .max_connections(settings.max_connections.max(1))
                .acquire_timeout(settings.acquire_timeout)
                .after_connect(move |conn, _meta| {
                    let lock_wait = lock_wait.clone();
                    Box::pin(async move {
                        // READ COMMITTED: the booking path reads what it locks anyway, and it
                        // takes no gap locks, which removes most deadlocks between inserts.
                        // A short lock wait turns a stuck request into a retry, then a 503.
                        conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                            .await?;
                        conn.execute(lock_wait.as_str()).await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?;
            Ok(Store::MySql(pool))
        } else {
            Err(StorageError::Config(
                "database_url must start with sqlite:// or mysql://".to_owned(),
            ))
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self {
            Store::Sqlite(s) => sqlx::migrate!("migrations/sqlite").run(&s.pool).await?,
            Store::MySql(pool) => sqlx::migrate!("migrations/mysql").run(pool).await?,
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::MySql(_) => "mysql",
        }
    }

    /// Starts a write transaction (see [`WriteTx`]).
    pub async fn begin_write(&self) -> Result<WriteTx, StorageError> {
        match self {
            Store::Sqlite(s) => {
                let guard = s.writer.clone().lock_owned().await;
                let tx = s.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx::Sqlite(tx, guard))
            }
            Store::MySql(pool) => Ok(WriteTx::MySql(pool.begin().await?)),
        }
    }

    /// Whether the database answers (for `/ready`).
    pub async fn ping(&self) -> Result<(), StorageError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

impl WriteTx {
    /// Chooses the spelling of a statement whose dialects differ.
    pub(crate) fn pick(&self, sqlite: &'static str, mysql: &'static str) -> &'static str {
        match self {
            WriteTx::Sqlite(..) => sqlite,
            WriteTx::MySql(_) => mysql,
        }
    }

    pub async fn commit(self) -> Result<(), StorageError> {
        match self {
            WriteTx::Sqlite(tx, _guard) => tx.commit().await?,
            WriteTx::MySql(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

impl WriteTx {
    pub async fn rollback(self) -> Result<(), StorageError> {
        match self {
            WriteTx::Sqlite(tx, _guard) => tx.rollback().await?,
            WriteTx::MySql(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Every instant is bound as a naive UTC date-time. sqlx sends a `DateTime<Utc>` to MySQL as a
/// TIMESTAMP, which MariaDB turns into NULL after 2038-01-19 even for a DATETIME column; the
/// connection's time zone is UTC, so the naive value is exact. On SQLite it is stored as
/// `YYYY-MM-DD HH:MM:SS.fff`, one format throughout, so text comparison orders instants.
pub(crate) fn at(instant: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    instant.naive_utc()
}

#[cfg(test)]
mod tests {
    /// Both backends must evolve in lockstep: the same versions with the same names.
    #[test]
    fn both_migration_trees_list_the_same_versions() {
        let names = |backend: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .expect("migrations folder")
                .map(|entry| {
                    entry
                        .expect("entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        };
        let sqlite = names("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names("mysql"));
    }
}
