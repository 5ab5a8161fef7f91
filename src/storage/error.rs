//! `StorageError` and the one place where driver errors are classified.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use sqlx::mysql::MySqlDatabaseError;

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Deadlock, lock wait timeout, SQLite busy, no free connection, or a connection lost
    /// before its transaction committed: nothing was written, so running the transaction again
    /// is safe.
    #[error("database busy")]
    Busy,
    /// The connection was lost while COMMIT was in flight: the transaction may or may not have
    /// committed. Running it again blindly could apply it twice.
    #[error("the database connection was lost during commit; the outcome is unknown")]
    CommitUnknown,
    /// A unique constraint refused the row (a reference or token collision, a duplicate key).
    #[error("duplicate row")]
    Duplicate,
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// MySQL/MariaDB error numbers that mean "try again": deadlock victim (also how Galera reports
/// a certification conflict or a brute-force abort), lock wait timeout.
const MYSQL_DEADLOCK: u16 = 1213;
const MYSQL_LOCK_WAIT_TIMEOUT: u16 = 1205;
/// MariaDB Galera's "WSREP has not yet prepared node for application use" (SQLSTATE 08S01): the
/// node is not part of a primary component (cut off from the others) or rejects queries
/// (`wsrep_reject_queries`), and it refuses every statement that reads or writes a table, so
/// nothing was written here. The node may be back within moments, and another instance on
/// another node can take the client's retry: a 503 with `Retry-After`, not a 500. (Outside
/// Galera, 1047 is `ER_UNKNOWN_COM_ERROR`, a protocol command the server does not know.)
const MYSQL_WSREP_NOT_READY: u16 = 1047;
/// MySQL/MariaDB error numbers a server sends when it ends a connection or cannot take one:
/// too many connections (1040), shutdown in progress (1053), aborted connection (1152), network
/// read/write errors (1158–1161), query interrupted by a kill (1317), connection killed (1927,
/// MariaDB), and MySQL 8's idle disconnect (4031). The client library's own "server has gone
/// away" (2006) and "lost connection" (2013) are listed too, for proxies that relay them; sqlx
/// itself reports those as I/O errors.
const MYSQL_CONNECTION_LOST: [u16; 12] = [
    1040, 1053, 1152, 1158, 1159, 1160, 1161, 1317, 1927, 2006, 2013, 4031,
];
/// SQLite primary result codes (the extended codes carry them in their low byte).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// What a MySQL/MariaDB error number means for the transaction that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MySqlFailure {
    /// Nothing was written; running the transaction again is safe.
    Retryable,
    /// The connection broke (see [`MYSQL_CONNECTION_LOST`]).
    ConnectionLost,
    /// A Galera node not synced with its cluster (see [`MYSQL_WSREP_NOT_READY`]).
    NodeNotReady,
    /// Anything else: left to the other checks (duplicates), then `Other`.
    Other,
}

fn classify_mysql(number: u16) -> MySqlFailure {
    match number {
        MYSQL_DEADLOCK | MYSQL_LOCK_WAIT_TIMEOUT => MySqlFailure::Retryable,
        MYSQL_WSREP_NOT_READY => MySqlFailure::NodeNotReady,
        n if MYSQL_CONNECTION_LOST.contains(&n) => MySqlFailure::ConnectionLost,
        _ => MySqlFailure::Other,
    }
}

/// The classification of `error` when it is a MySQL/MariaDB server error.
fn mysql_failure(error: &sqlx::Error) -> Option<MySqlFailure> {
    match error {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(|mysql| classify_mysql(mysql.number())),
        _ => None,
    }
}

/// Whether `error` means the connection broke (or could not be had): the statement it carried
/// did not complete, and the server rolls back an open transaction on a broken connection.
pub(crate) fn is_connection_lost(error: &sqlx::Error) -> bool {
    match error {
        // Io: reset, broken pipe, unexpected EOF. Tls: the encrypted stream broke.
        // WorkerCrashed: SQLite's connection thread is gone. PoolClosed: shutting down.
        // (Protocol errors are left out: garbled data is a bug to see, not to retry.)
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(_) => mysql_failure(error) == Some(MySqlFailure::ConnectionLost),
        _ => false,
    }
}

/// Writes at most one line per `every` seconds, counting the lines it held back: a node out of
/// the cluster fails every request at once, and one warning per request would flood the log.
pub(crate) struct LogThrottle {
    last: AtomicI64,
    held: AtomicU64,
    every: i64,
}

impl LogThrottle {
    pub(crate) const fn new(every: i64) -> LogThrottle {
        LogThrottle {
            last: AtomicI64::new(i64::MIN),
            held: AtomicU64::new(0),
            every,
        }
    }

    /// At `now` (Unix seconds): `Some(lines held back since the last one written)` when a line
    /// may be written, else `None` (and it is counted).
    pub(crate) fn admit(&self, now: i64) -> Option<u64> {
        let last = self.last.load(Ordering::Relaxed);
        let due = last == i64::MIN || now.saturating_sub(last) >= self.every;
        if due
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::Relaxed));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// The "Galera node not ready" warnings: at most one every ten seconds.
static NODE_NOT_READY_LOG: LogThrottle = LogThrottle::new(10);

fn warn_node_not_ready(error: &sqlx::Error, during_commit: bool) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    if let Some(held_back) = NODE_NOT_READY_LOG.admit(now) {
        if during_commit {
            tracing::warn!(%error, held_back, "Galera node not ready during commit; outcome unknown (at most one such line per 10 s; held_back: lines not written since the last)");
        } else {
            tracing::warn!(%error, held_back, "Galera node not ready (1047); answered as busy (at most one such line per 10 s; held_back: lines not written since the last)");
        }
    }
}

impl StorageError {
    /// Classifies an error of COMMIT: a lost connection there leaves the outcome unknown.
    /// So does a Galera node that stopped being ready during COMMIT: the write set may have
    /// reached the rest of the cluster before the node left it.
    pub(crate) fn from_commit(error: sqlx::Error) -> StorageError {
        if is_connection_lost(&error) {
            tracing::warn!(%error, "database connection lost during commit; outcome unknown");
            StorageError::CommitUnknown
        } else if mysql_failure(&error) == Some(MySqlFailure::NodeNotReady) {
            warn_node_not_ready(&error, true);
            StorageError::CommitUnknown
        } else {
            error.into()
        }
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        if is_connection_lost(&error) {
            tracing::warn!(%error, "database connection lost; the transaction is retried");
            return StorageError::Busy;
        }
        match &error {
            sqlx::Error::PoolTimedOut => return StorageError::Busy,
            sqlx::Error::Configuration(message) => {
                return StorageError::Config(message.to_string());
            }
            sqlx::Error::Database(db) => {
                match mysql_failure(&error) {
                    Some(MySqlFailure::Retryable) => return StorageError::Busy,
                    Some(MySqlFailure::NodeNotReady) => {
                        warn_node_not_ready(&error, false);
                        return StorageError::Busy;
                    }
                    _ => {}
                }
                if db.is_unique_violation() {
                    return StorageError::Duplicate;
                }
                let sqlite_code = db.code().and_then(|code| code.parse::<i64>().ok());
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && sqlite_code
                        .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
                {
                    return StorageError::Busy;
                }
            }
            _ => {}
        }
        StorageError::Other(error.into())
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Busy => AppError::Busy,
            StorageError::CommitUnknown => AppError::CommitUnknown,
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_warning_is_written_once_per_period_and_counts_what_it_held_back() {
        let throttle = LogThrottle::new(10);
        assert_eq!(throttle.admit(1_000), Some(0), "the first line is written");
        for second in 1_000..1_010 {
            assert_eq!(throttle.admit(second), None);
        }
        assert_eq!(throttle.admit(1_010), Some(10), "ten were held back");
        assert_eq!(throttle.admit(1_011), None);
        assert_eq!(throttle.admit(5_000), Some(1));
    }

    #[test]
    fn a_broken_connection_is_retryable_and_a_broken_commit_is_unknown() {
        let reset = || {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "reset",
            ))
        };
        assert!(matches!(StorageError::from(reset()), StorageError::Busy));
        assert!(matches!(
            StorageError::from(sqlx::Error::PoolTimedOut),
            StorageError::Busy
        ));
        assert!(matches!(
            StorageError::from_commit(reset()),
            StorageError::CommitUnknown
        ));
        assert!(matches!(
            StorageError::from(sqlx::Error::RowNotFound),
            StorageError::Other(_)
        ));
        assert!(matches!(
            StorageError::from_commit(sqlx::Error::RowNotFound),
            StorageError::Other(_)
        ));
    }

    /// sqlx cannot build a server error outside its crate, so the numbers are checked here and
    /// the whole path (a real 1047 from MariaDB, answered 503) in `tests/api/db_faults.rs`.
    #[test]
    fn server_error_numbers_are_classified() {
        use MySqlFailure::*;
        for (number, expected) in [
            (1213, Retryable),
            (1205, Retryable),
            (1047, NodeNotReady),
            (1040, ConnectionLost),
            (1927, ConnectionLost),
            (2013, ConnectionLost),
            (1062, Other),
            (1452, Other),
            (1146, Other),
        ] {
            assert_eq!(classify_mysql(number), expected, "error {number}");
        }
    }
}
