//! A fresh database per test, on either backend, removed afterwards. Shared (by `#[path]`) by
//! berth's own suite and berth-load's tests.

use sqlx::Connection;

use super::mysql_server;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

/// Where a test's database lives; dropped (MySQL) or deleted (SQLite) with this value.
pub enum TestDb {
    Sqlite(
        #[expect(dead_code, reason = "held so the directory outlives the server")]
        tempfile::TempDir,
    ),
    MySql {
        base: String,
        name: String,
    },
}

impl TestDb {
    /// A new empty database and its URL; `None` when there is no MySQL server and skipping it
    /// is allowed (`requirement::require`). `prefix` names MySQL databases by suite.
    pub async fn create(backend: Backend, prefix: &str) -> Option<(TestDb, String)> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/berth.db", dir.path().display());
                Some((TestDb::Sqlite(dir), url))
            }
            Backend::MySql => {
                let base = mysql_server::url_or_skip()?.to_owned();
                let name = format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut conn = sqlx::MySqlConnection::connect(&base)
                    .await
                    .expect("connect to MySQL");
                sqlx::query(&format!("CREATE DATABASE `{name}`"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                conn.close().await.ok();
                let url = format!("{base}/{name}");
                Some((TestDb::MySql { base, name }, url))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::MySql { base, name } = self {
            let (base, name) = (base.clone(), name.clone());
            // Drop runs inside the test's runtime; a helper thread with its own runtime can block.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(mut conn) = sqlx::MySqlConnection::connect(&base).await {
                            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                                .execute(&mut conn)
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
