//! `StorageError` and the one place where driver errors are classified.

use sqlx::mysql::MySqlDatabaseError;

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Deadlock, lock wait timeout, SQLite busy or no free connection: worth retrying.
    #[error("database busy")]
    Busy,
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
/// SQLite primary result codes (the extended codes carry them in their low byte).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
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
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}
