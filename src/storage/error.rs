//! `StorageError` and the one place where driver errors are classified.

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

/// MySQL/MariaDB error numbers that mean "try again": deadlock victim, lock wait timeout.
const MYSQL_DEADLOCK: u16 = 1213;
const MYSQL_LOCK_WAIT_TIMEOUT: u16 = 1205;
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
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|mysql| MYSQL_CONNECTION_LOST.contains(&mysql.number())),
        _ => false,
    }
}

impl StorageError {
    /// Classifies an error of COMMIT: a lost connection there leaves the outcome unknown.
    pub(crate) fn from_commit(error: sqlx::Error) -> StorageError {
        if is_connection_lost(&error) {
            tracing::warn!(%error, "database connection lost during commit; outcome unknown");
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
                if let Some(mysql) = db.try_downcast_ref::<MySqlDatabaseError>() {
                    if matches!(mysql.number(), MYSQL_DEADLOCK | MYSQL_LOCK_WAIT_TIMEOUT) {
                        return StorageError::Busy;
                    }
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
}
