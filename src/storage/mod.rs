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

use crate::metrics::Metrics;

pub mod accounts;
pub mod bookings;
pub mod calendar_feeds;
pub mod catalogue;
pub mod dashboard;
pub mod departures;
pub mod error;
pub mod guides;
pub mod hold_limits;
pub mod idempotency;
pub mod ledger;
pub mod outbox;
pub mod payment_accounts;
pub mod payments;
pub mod promos;
pub mod reseller_bookings;
pub mod reseller_receivables;
pub mod resellers;
pub mod resources;
mod rows;
pub mod sender_domains;
pub mod waitlist;
pub mod webhooks;

pub use error::StorageError;

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once per backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::storage::Db::Sqlite(sqlite) => {
                let $pool = &sqlite.pool;
                $body
            }
            $crate::storage::Db::MySql($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection, once per backend.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut $tx.conn {
            $crate::storage::TxConn::Sqlite(tx, _) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::storage::TxConn::MySql(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

pub(crate) use {on_pool, on_tx};

/// The database berth talks to, and the metrics of what happens in it. Cheap to clone into
/// handlers and workers.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    metrics: Arc<Metrics>,
    /// Tells this store apart from others in the process (tests open many), for state kept per
    /// store outside it, such as the hold batches of `service::holds::batch`.
    instance: u64,
    /// How many holds of one departure may share a write transaction (1: none share).
    hold_batch: usize,
}

/// Which backend, chosen once at start-up from `database_url`.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqliteStore),
    MySql(MySqlPool),
}

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// SQLite has one writer at a time. Queuing writers here, in the process, is fair and cheap;
    /// `BEGIN IMMEDIATE` plus `busy_timeout` still cover other processes (`berth check`, …).
    writer: Arc<Mutex<()>>,
    lock_timeout: Duration,
}

/// A write transaction. On SQLite it holds the database's single write lock from `BEGIN
/// IMMEDIATE`; on MySQL, rows are locked by the statements that need them (`FOR UPDATE`).
///
/// Booking transitions are [`counted`](WriteTx::count) on the transaction and reach the metrics
/// only if it commits, so a retried or rolled-back attempt is never counted.
pub struct WriteTx {
    pub(crate) conn: TxConn,
    metrics: Arc<Metrics>,
    pending: Vec<(&'static str, u64)>,
}

pub(crate) enum TxConn {
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
    /// `busy_timeout`) before the attempt fails (retried only within `service`'s 2 s budget).
    pub lock_timeout: Duration,
    /// How many holds of one departure may be written in one transaction and committed
    /// together (`BERTH_HOLD_BATCH`; 1 turns batching off).
    pub hold_batch: usize,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(5),
            hold_batch: 32,
        }
    }
}

impl Store {
    fn new(db: Db, settings: &PoolSettings) -> Store {
        static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Store {
            db,
            metrics: Arc::new(Metrics::new()),
            instance: INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            hold_batch: settings.hold_batch.max(1),
        }
    }

    /// Which store of the process this is (clones share it).
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// How many holds of one departure may share a transaction ([`PoolSettings::hold_batch`]).
    pub fn hold_batch(&self) -> usize {
        self.hold_batch
    }

    /// The counters of this berth instance (one registry per `Store`, so tests do not share).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Refreshes the pool gauges; called when metrics are scraped.
    pub fn observe_pool(&self) {
        let (size, idle) = on_pool!(self, pool => (pool.size(), pool.num_idle()));
        self.metrics.pool_connections.set(i64::from(size));
        self.metrics.pool_idle.set(idle as i64);
    }

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
            // A new file's first connections switch it to WAL, which takes the file exclusively
            // and is not covered by `busy_timeout`: several processes starting together on one
            // new database can be told "busy". Retried a bounded number of times.
            let mut attempt = 0;
            let pool = loop {
                let connected = SqlitePoolOptions::new()
                    .max_connections(settings.max_connections.clamp(1, 64))
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options.clone())
                    .await
                    .map_err(StorageError::from);
                match connected {
                    Err(StorageError::Busy) if attempt < CONNECT_BUSY_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    }
                    other => break other?,
                }
            };
            Ok(Store::new(
                Db::Sqlite(SqliteStore {
                    pool,
                    writer: Arc::new(Mutex::new(())),
                    lock_timeout: settings.lock_timeout,
                }),
                settings,
            ))
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
            Ok(Store::new(Db::MySql(pool), settings))
        } else {
            Err(StorageError::Config(
                "database_url must start with sqlite:// or mysql://".to_owned(),
            ))
        }
    }

    /// Applies the embedded migrations of this backend. Several instances may start at once on
    /// one database: one migrates, the others wait for it and then find nothing left to do.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match &self.db {
            Db::Sqlite(s) => migrate_sqlite(&s.pool).await,
            Db::MySql(pool) => migrate_mysql(pool).await,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::MySql(_) => "mysql",
        }
    }

    /// Whether a hold takes its seats last, after writing its rows (MySQL: the departure's row
    /// lock is then held for one statement and the commit); SQLite holds its one writer lock for
    /// the whole transaction, so the order gains nothing there.
    pub fn takes_seats_last(&self) -> bool {
        matches!(self.db, Db::MySql(_))
    }

    fn write_tx(&self, conn: TxConn) -> WriteTx {
        WriteTx {
            conn,
            metrics: self.metrics.clone(),
            pending: Vec::new(),
        }
    }

    /// Starts a write transaction (see [`WriteTx`]).
    pub async fn begin_write(&self) -> Result<WriteTx, StorageError> {
        match &self.db {
            Db::Sqlite(s) => {
                // Waiting in this queue counts against the same lock timeout as waiting in SQLite.
                let queued = tokio::time::timeout(s.lock_timeout, s.writer.clone().lock_owned());
                let guard = queued.await.map_err(|_| StorageError::Busy)?;
                let tx = s.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(self.write_tx(TxConn::Sqlite(tx, guard)))
            }
            Db::MySql(pool) => Ok(self.write_tx(TxConn::MySql(pool.begin().await?))),
        }
    }

    /// Whether the database answers a read of one of berth's tables (for `/ready`). A table,
    /// not `SELECT 1`: a Galera node that is not synced with its cluster still answers
    /// `SELECT 1` but refuses every table with error 1047, and a load balancer must take it out.
    pub async fn ping(&self) -> Result<(), StorageError> {
        on_pool!(self, pool => sqlx::query("SELECT 1 FROM operators LIMIT 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

impl WriteTx {
    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self.conn, TxConn::Sqlite(..))
    }

    /// A `SELECT` that locks the rows it reads: `FOR UPDATE` on MySQL; on SQLite the one
    /// writer already excludes every other, so the statement stays as it is.
    pub(crate) fn locking(&self, select: String) -> String {
        if self.is_sqlite() {
            select
        } else {
            format!("{select} FOR UPDATE")
        }
    }

    /// Chooses the spelling of a statement whose dialects differ.
    pub(crate) fn pick(&self, sqlite: &'static str, mysql: &'static str) -> &'static str {
        if self.is_sqlite() {
            sqlite
        } else {
            mysql
        }
    }

    /// Counts `n` events of `what` (a booking transition, or `seats_held`) if this commits.
    pub fn count(&mut self, what: &'static str, n: u64) {
        if n > 0 {
            self.pending.push((what, n));
        }
    }

    /// Marks a point this transaction can go back to without ending: in a batch of holds
    /// sharing one transaction, a hold that fails undoes only its own statements
    /// ([`WriteTx::undo_to`]). One at a time: each is kept or undone before the next.
    pub async fn savepoint(&mut self) -> Result<Savepoint, StorageError> {
        self.raw("SAVEPOINT batch_member").await?;
        Ok(Savepoint {
            pending: self.pending.len(),
        })
    }

    /// Keeps what was written since `point`.
    pub async fn keep(&mut self, point: Savepoint) -> Result<(), StorageError> {
        let _ = point;
        self.raw("RELEASE SAVEPOINT batch_member").await
    }

    /// Undoes what was written since `point`, the counts of it included; the transaction goes
    /// on.
    pub async fn undo_to(&mut self, point: Savepoint) -> Result<(), StorageError> {
        self.raw("ROLLBACK TO SAVEPOINT batch_member").await?;
        self.raw("RELEASE SAVEPOINT batch_member").await?;
        self.pending.truncate(point.pending);
        Ok(())
    }

    /// A statement without parameters, sent as plain text rather than prepared (it runs once).
    async fn raw(&mut self, sql: &'static str) -> Result<(), StorageError> {
        on_tx!(self, conn => sqlx::Executor::execute(conn, sql).await.map(|_| ()))?;
        Ok(())
    }

    /// Commits. A connection lost on the way is [`StorageError::CommitUnknown`]: the server may
    /// have committed before the answer was lost, so the caller must not simply run the
    /// transaction again.
    pub async fn commit(self) -> Result<(), StorageError> {
        match self.conn {
            TxConn::Sqlite(tx, _guard) => tx.commit().await?,
            TxConn::MySql(tx) => tx.commit().await.map_err(StorageError::from_commit)?,
        }
        for (what, n) in self.pending {
            match what {
                "seats_held" => self.metrics.seats_held.inc_by(n),
                transition => self
                    .metrics
                    .bookings
                    .with_label_values(&[transition])
                    .inc_by(n),
            }
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StorageError> {
        match self.conn {
            TxConn::Sqlite(tx, _guard) => tx.rollback().await?,
            TxConn::MySql(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// A point a [`WriteTx`] can go back to ([`WriteTx::savepoint`]).
#[must_use = "keep it or undo to it"]
pub struct Savepoint {
    /// How many counts were pending when it was made.
    pending: usize,
}

/// How often opening a SQLite database is tried again when another process holds it while
/// switching it to WAL (about 5.5 s in all, growing pauses).
const CONNECT_BUSY_RETRIES: u32 = 10;

/// How long an instance waits for another instance's migrations before it gives up.
const MIGRATION_LOCK_WAIT_SECONDS: i64 = 300;

/// sqlx 0.8 locks MySQL migrations with `GET_LOCK(name, -1)` and ignores the result, but
/// MariaDB answers a negative timeout with NULL at once instead of waiting: instances started
/// together all migrated at the same time, and all but one failed with a duplicate version or a
/// "partially applied" migration. berth takes its own lock instead, with a finite wait and the
/// answer checked, on one connection that also runs the migrations and so holds the lock
/// throughout (the server releases it if that connection dies).
async fn migrate_mysql(pool: &MySqlPool) -> Result<(), StorageError> {
    use sha2::{Digest, Sha256};

    let mut migrator = sqlx::migrate!("migrations/mysql");
    migrator.set_locking(false);
    let mut conn = pool.acquire().await?;
    // Lock names are server-wide: one per database, within MySQL's 64-character limit.
    let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&mut *conn)
        .await?;
    let digest = Sha256::digest(database.unwrap_or_default().as_bytes());
    let lock = format!("berth_migrate_{}", hex::encode(&digest[..12]));
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(&lock)
        .bind(MIGRATION_LOCK_WAIT_SECONDS)
        .fetch_one(&mut *conn)
        .await?;
    if locked != Some(1) {
        return Err(StorageError::Other(anyhow::anyhow!(
            "another instance has been migrating this database for {MIGRATION_LOCK_WAIT_SECONDS} s; gave up waiting for it"
        )));
    }
    // `run_direct`: `run(&mut *conn)` trips "Acquire is not general enough" in a Send future.
    let migrated = migrator.run_direct(&mut *conn).await;
    let released = sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(&lock)
        .execute(&mut *conn)
        .await;
    migrated?;
    released?;
    Ok(())
}

/// sqlx's SQLite migrator takes no lock, so two processes migrating one new file both applied
/// the first migration and one failed; retrying the loser was not enough when three processes
/// started together on a busy machine. berth serialises them with an exclusive lock on a file
/// beside the database (`<database>.migrate-lock`, an OS advisory lock the kernel drops if the
/// process dies): the first migrates, the others wait for it (at most
/// [`MIGRATION_LOCK_WAIT_SECONDS`]) and then find nothing left to do. The database file itself
/// is not locked this way: closing any descriptor of it would drop SQLite's own POSIX locks.
/// An in-memory database belongs to one process and needs no lock.
async fn migrate_sqlite(pool: &SqlitePool) -> Result<(), StorageError> {
    let migrator = sqlx::migrate!("migrations/sqlite");
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(pool)
            .await?;
    let _lock = if file.is_empty() {
        None
    } else {
        Some(lock_file_exclusively(format!("{file}.migrate-lock").into()).await?)
    };
    migrator.run(pool).await?;
    Ok(())
}

/// Opens (creating it) and exclusively locks `path`, polling until the lock is free or
/// [`MIGRATION_LOCK_WAIT_SECONDS`] have passed. The lock lasts as long as the returned file.
async fn lock_file_exclusively(path: std::path::PathBuf) -> Result<std::fs::File, StorageError> {
    let io = |e: std::io::Error| StorageError::Other(anyhow::anyhow!("{}: {e}", path.display()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    let deadline =
        std::time::Instant::now() + Duration::from_secs(MIGRATION_LOCK_WAIT_SECONDS.unsigned_abs());
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StorageError::Other(anyhow::anyhow!(
                    "another process has been migrating this database for {MIGRATION_LOCK_WAIT_SECONDS} s; gave up waiting for it"
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
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
