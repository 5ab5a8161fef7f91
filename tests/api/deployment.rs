//! The deployment shape: several berth processes on one database. Instances (and `berth
//! migrate`) started together on an empty database all come up with the migrations applied
//! once; two release instances behind one TLS-terminating, trusted reverse proxy limit by the
//! client's address, send HSTS and sell each seat once. (`instances.rs`: workers on several
//! instances.)

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

use crate::cli::{berth, free_port, token_printed_by};
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

/// On SQLite the migrations run under an exclusive lock on `<database>.migrate-lock`: while
/// another process holds it, `berth migrate` waits and applies nothing; once it is released,
/// `berth migrate` goes on and succeeds.
#[tokio::test]
async fn sqlite_migrations_wait_for_the_migration_lock() {
    let Some((_db, url)) = TestDb::create(Backend::Sqlite, "berth_migrate_lock").await else {
        return;
    };
    let database = url.trim_start_matches("sqlite://").to_owned();
    // The database must exist for berth to find its path; an empty file is an empty database.
    std::fs::write(&database, b"").unwrap();
    let lock = std::fs::File::create(format!("{database}.migrate-lock")).unwrap();
    lock.lock().unwrap();
    let mut migrate = berth(&url)
        .arg("migrate")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        migrate.try_wait().unwrap().is_none(),
        "berth migrate finished while another process held the migration lock"
    );
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tables, 0, "nothing is applied while the lock is held");
    drop(conn);
    lock.unlock().unwrap();
    let migrated = tokio::task::spawn_blocking(move || migrate.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        migrated.status.success(),
        "berth migrate failed once the lock was free: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let expected: Vec<(i64, bool)> = versions(Backend::Sqlite)
        .into_iter()
        .map(|v| (v, true))
        .collect();
    assert_eq!(applied(Backend::Sqlite, &url).await, expected);
}

/// The address the reverse proxy connects to berth from (and that berth trusts).
const PROXY_ADDRESS: &str = "127.0.0.9";

/// A reverse proxy that terminates TLS, as a deployment has in front of berth (the test speaks
/// plain HTTP to it; what matters is what it sends on): it appends the client's address to
/// `X-Forwarded-For`, sets `X-Forwarded-Proto: https`, and sends each connection to the next
/// instance in turn, from [`PROXY_ADDRESS`]. One request per connection.
struct ReverseProxy {
    address: SocketAddr,
    /// Requests sent to each instance.
    served: Arc<Vec<AtomicUsize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReverseProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReverseProxy {
    async fn start(instances: Vec<SocketAddr>) -> ReverseProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let served = Arc::new(
            instances
                .iter()
                .map(|_| AtomicUsize::new(0))
                .collect::<Vec<_>>(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        let task = {
            let served = served.clone();
            tokio::spawn(async move {
                while let Ok((client, peer)) = listener.accept().await {
                    let turn = next.fetch_add(1, Ordering::SeqCst) % instances.len();
                    served[turn].fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(forward(client, peer.ip(), instances[turn]));
                }
            })
        };
        ReverseProxy {
            address,
            served,
            task,
        }
    }
}

async fn forward(mut client: tokio::net::TcpStream, peer: IpAddr, instance: SocketAddr) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    };
    let rest = head.split_off(end + 4);
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut lines: Vec<String> = Vec::new();
    let mut forwarded_for = None;
    for line in text.split("\r\n") {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "x-forwarded-for" => {
                forwarded_for = Some(line.split_once(':').unwrap().1.trim().to_owned())
            }
            "connection" | "x-forwarded-proto" => {}
            _ => lines.push(line.to_owned()),
        }
    }
    let chain = match forwarded_for {
        Some(earlier) => format!("{earlier}, {peer}"),
        None => peer.to_string(),
    };
    lines.push(format!("X-Forwarded-For: {chain}"));
    lines.push("X-Forwarded-Proto: https".to_owned());
    lines.push("Connection: close".to_owned());
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(PROXY_ADDRESS.parse().unwrap(), 0))
        .unwrap();
    let Ok(mut upstream) = socket.connect(instance).await else {
        return;
    };
    let mut request = lines.join("\r\n").into_bytes();
    request.extend_from_slice(b"\r\n\r\n");
    request.extend_from_slice(&rest);
    if upstream.write_all(&request).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// A client of the proxy at `from` (a loopback address: another client as far as the proxy
/// can tell), on a new connection per request.
fn client_at(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// Two release instances on one MySQL database behind the proxy above, with a booking limit of
/// two a minute per client and at most two connections per client address:
/// - limits follow the client's address from `X-Forwarded-For`, not the proxy's, and not a
///   value the client forged;
/// - each instance keeps its own count (documented), so a client gets two per instance;
/// - the proxy's many connections are not held to the per-address cap; a direct client is;
/// - every response carries HSTS and no cookie;
/// - eight clients racing for five seats through both instances buy exactly five.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_release_instances_behind_a_trusted_proxy_limit_by_client_and_send_hsts() {
    let Some((_db, url)) = TestDb::create(Backend::MySql, "berth_proxied").await else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let secret = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let release = |command: &mut std::process::Command| {
        command
            .env("ROCKET_PROFILE", "release")
            .env("BERTH_SECRET_KEY", &secret)
            .env("BERTH_PUBLIC_URL", "https://tours.example")
            .env("BERTH_TRUSTED_PROXIES", PROXY_ADDRESS)
            .env(
                "BERTH_RATE_LIMITS",
                "bookings=2/min,reads=1000/min,writes=1000/min",
            )
            .env("BERTH_MAX_CONNECTIONS_PER_CLIENT", "2")
            .env("BERTH_MAIL_DIR", files.path().join("mail"))
            .env("BERTH_SMS_DIR", files.path().join("sms"));
    };
    let mut create = berth(&url);
    release(create.args([
        "operator",
        "create",
        "--name",
        "Harbour Tours",
        "--email",
        "ops@harbour.example",
    ]));
    let token = token_printed_by(create.output().unwrap());

    let ports = [free_port(), free_port()];
    let mut instances = ports.map(|port| {
        let mut command = berth(&url);
        release(
            command
                .arg("serve")
                .env("ROCKET_PORT", port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        Running(command.spawn().unwrap())
    });
    for (instance, port) in instances.iter_mut().zip(ports) {
        until_ready(instance, port).await;
    }
    let proxy = ReverseProxy::start(
        ports
            .iter()
            .map(|port| SocketAddr::from(([127, 0, 0, 1], *port)))
            .collect(),
    )
    .await;
    let base = format!("http://{}", proxy.address);

    let operator = client_at("127.0.0.1");
    let tour: Value = operator
        .post(format!("{base}/v1/tours"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "Harbour cruise", "description": "Around the bay", "meeting_point": "Pier 3",
            "timezone": "Europe/Lisbon", "duration_minutes": 90, "currency": "EUR",
            "cutoff_minutes": 30, "min_per_booking": 1, "max_per_booking": 8,
            "units": [{"code": "adult", "label": "Adult", "price": 3500}]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tour = tour["id"].as_str().expect("tour created").to_owned();
    let new_departure = |capacity: i64| {
        let (operator, base, token, tour) =
            (operator.clone(), base.clone(), token.clone(), tour.clone());
        async move {
            let starts_at = (chrono::Utc::now() + chrono::Duration::hours(48)).to_rfc3339();
            let created: Value = operator
                .post(format!("{base}/v1/tours/{tour}/departures"))
                .bearer_auth(&token)
                .json(&json!({"starts_at": starts_at, "capacity": capacity}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            created["id"]
                .as_str()
                .expect("departure created")
                .to_owned()
        }
    };
    let hold = |client: reqwest::Client, departure: String, forged: Option<&'static str>| {
        let base = base.clone();
        async move {
            let mut request = client.post(format!("{base}/v1/bookings")).json(&json!({
                "departure_id": departure,
                "items": [{"unit": "adult", "quantity": 1}],
                "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}
            }));
            if let Some(forged) = forged {
                request = request.header("X-Forwarded-For", forged);
            }
            request.send().await.unwrap()
        }
    };

    // Limits by client address, per instance.
    let departure = new_departure(50).await;
    let alice = client_at("127.0.0.2");
    let mut statuses = Vec::new();
    for i in 0..6 {
        // The last two forge an address; the proxy appends the real one, which berth takes.
        let forged = (i >= 4).then_some("198.51.100.7");
        let response = hold(alice.clone(), departure.clone(), forged).await;
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
        assert!(response.headers().get("set-cookie").is_none());
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [201, 201, 201, 201, 429, 429],
        "two per instance for one client, whatever it forges"
    );
    let bob = hold(client_at("127.0.0.3"), departure.clone(), None).await;
    assert_eq!(bob.status(), 201, "another client has its own allowance");
    assert!(
        proxy.served.iter().all(|n| n.load(Ordering::SeqCst) >= 3),
        "both instances served"
    );

    // Eight clients at once, through the proxy's connections (more than the per-address cap of
    // two), for five seats on the two instances.
    let scarce = new_departure(5).await;
    let racers: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(hold(
                client_at(&format!("127.0.1.{}", i + 1)),
                scarce.clone(),
                None,
            ))
        })
        .collect();
    let mut sold = 0;
    for racer in racers {
        let response = racer.await.unwrap();
        let status = response.status().as_u16();
        assert!(
            response.headers().contains_key("strict-transport-security"),
            "HSTS on every answer"
        );
        let body: Value = response.json().await.unwrap();
        match status {
            201 => sold += 1,
            409 => assert_eq!(body["error"]["code"], "sold_out"),
            other => panic!("status {other}: {body}"),
        }
    }
    assert_eq!(sold, 5, "every seat sold once across both instances");
    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
    let taken: i64 = sqlx::query_scalar("SELECT seats_taken FROM departures WHERE id = ?")
        .bind(&scarce)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(taken, 5);

    // Straight to an instance (not through the proxy), an address is held to two connections.
    let to = SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let mut direct = Vec::new();
    for _ in 0..3 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.4:0".parse().unwrap()).unwrap();
        direct.push(socket.connect(to).await.unwrap());
    }
    let mut third = direct.pop().unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(2), third.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the third direct connection from one address is closed at once"
    );
}
