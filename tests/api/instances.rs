//! Several berth processes on one database: instances (and `berth migrate`) started together on
//! an empty database all come up with the migrations applied once.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::cli::{berth, free_port};
use crate::on_both_backends;
use crate::support::{Backend, TestDb};

on_both_backends!(three_processes_started_together_on_an_empty_database_all_come_up);

/// A started `berth`; killed when dropped, so a failed assertion leaves no server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn stderr(&mut self) -> String {
        use std::io::Read;
        let _ = self.0.kill();
        let _ = self.0.wait();
        let mut text = String::new();
        if let Some(mut stderr) = self.0.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }
}

/// `berth serve` on `port`, without demo data (three instances would each seed it).
fn serve(database_url: &str, port: u16) -> Running {
    Running(
        berth(database_url)
            .arg("serve")
            .env("ROCKET_PORT", port.to_string())
            .env("BERTH_DEMO", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Waits until `/ready` answers 200, or fails with the server's log if it exits first.
async fn until_ready(server: &mut Running, port: u16) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("berth serve exited ({status}): {}", server.stderr());
        }
        let ready = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("berth serve not ready after 60 s: {}", server.stderr());
}

/// (version, success) of every row of `_sqlx_migrations`.
async fn applied(backend: Backend, database_url: &str) -> Vec<(i64, bool)> {
    let sql = "SELECT version, success FROM _sqlx_migrations ORDER BY version";
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(database_url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
        }
        Backend::MySql => {
            let mut conn = sqlx::MySqlConnection::connect(database_url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
        }
    }
}

/// The versions of the migration files of `backend`.
fn versions(backend: Backend) -> Vec<i64> {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::MySql => "mysql",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.split('_').next().unwrap().parse().unwrap()
        })
        .collect();
    versions.sort();
    versions
}

/// One `berth migrate` and two `berth serve` at the same moment on a new database, five times:
/// sqlx's own MySQL lock did not exclude anything on MariaDB, and two of three failed.
async fn three_processes_started_together_on_an_empty_database_all_come_up(backend: Backend) {
    let expected: Vec<(i64, bool)> = versions(backend).into_iter().map(|v| (v, true)).collect();
    for round in 1..=5 {
        let Some((_db, url)) = TestDb::create(backend, "berth_migrate_race").await else {
            return;
        };
        let ports = [free_port(), free_port()];
        let migrate = berth(&url)
            .arg("migrate")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut servers = ports.map(|port| serve(&url, port));
        let migrated = tokio::task::spawn_blocking(move || migrate.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            migrated.status.success(),
            "round {round}: berth migrate failed: {}",
            String::from_utf8_lossy(&migrated.stderr)
        );
        for (server, port) in servers.iter_mut().zip(ports) {
            until_ready(server, port).await;
        }
        assert_eq!(
            applied(backend, &url).await,
            expected,
            "round {round}: every migration once, all successful"
        );
    }
}
