//! Start-up configuration, tested on the real binary where the behaviour is the binary's own
//! (profiles, environment parsing, files it reads, refusals, its log), and through `TestApp`
//! for what the HTTP layer decides (client addresses, content types, the `_method` override).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli::{berth, free_port};
use crate::on_both_backends;
use crate::support::fake_twilio::FakeTwilio;
use crate::support::{Backend, TestApp};

on_both_backends!(
    json_routes_refuse_bodies_not_sent_as_json,
    a_form_post_cannot_be_turned_into_a_delete,
);

/// A key made for these tests only (random, 48 characters); never used anywhere else.
const KEY: &str = "Vq7Lr2Xz9Pk4Wm8Ns1Tb6Yc3Hd0Jf5GgAeUiOoQuRwEtYs";

/// `berth` with no `BERTH_*` or `ROCKET_*` variable inherited from the test's environment.
fn clean_berth(database_url: &str) -> Command {
    let mut command = berth(database_url);
    for (name, _) in std::env::vars() {
        let upper = name.to_ascii_uppercase();
        if (upper.starts_with("BERTH_") && upper != "BERTH_DATABASE_URL" && upper != "BERTH_LOG")
            || (upper.starts_with("ROCKET_") && upper != "ROCKET_PROFILE")
        {
            command.env_remove(name);
        }
    }
    command
}

/// A release start that passes every check (SQLite in a temp dir, allowed explicitly).
fn release_env(dir: &Path) -> Vec<(String, String)> {
    [
        (
            "BERTH_DATABASE_URL",
            format!("sqlite://{}/berth.db", dir.display()),
        ),
        ("BERTH_ALLOW_SQLITE_IN_RELEASE", "true".into()),
        ("BERTH_PUBLIC_URL", "https://book.tours.example".into()),
        ("BERTH_SECRET_KEY", KEY.into()),
        ("ROCKET_PROFILE", "release".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Sets `changes` over `env`; an empty value removes the variable, except for the names in
/// `keep_empty`, which are set to the empty string.
fn with(env: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    env.extend(
        changes
            .iter()
            .filter(|(_, v)| *v != UNSET)
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// Marks a variable to remove in [`with`].
const UNSET: &str = "\u{0}unset";

/// A running `berth serve`; killed when dropped. Its stdout and stderr go to files.
struct Server {
    child: Child,
    base: String,
    logs: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Server {
    /// Starts `berth serve` with `env` (in `dir` when given) and waits until `/health` answers.
    async fn start(env: &[(String, String)], dir: Option<&Path>) -> Server {
        let logs = tempfile::tempdir().unwrap();
        let port = free_port();
        let database_url = env
            .iter()
            .find(|(k, _)| k == "BERTH_DATABASE_URL")
            .map_or(String::new(), |(_, v)| v.clone());
        let mut command = clean_berth(&database_url);
        command
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_CLI_COLORS", "false")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::fs::File::create(logs.path().join("stdout")).unwrap())
            .stderr(std::fs::File::create(logs.path().join("stderr")).unwrap());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let mut server = Server {
            child: command.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            logs,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client
                .get(format!("{}/health", server.base))
                .send()
                .await
                .is_ok()
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("berth exited ({status}):\n{}", server.output());
            }
            assert!(
                Instant::now() < deadline,
                "berth did not answer within 60 s:\n{}",
                server.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything it printed so far (stdout, then stderr).
    fn output(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default();
        read("stdout") + &read("stderr")
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr")).unwrap_or_default()
    }

    fn stop(mut self) -> String {
        self.child.kill().ok();
        self.child.wait().ok();
        self.output()
    }
}

/// Runs `berth serve` with `env`, expecting it to refuse to start: (exit code, stdout + stderr).
/// A server that starts instead is killed after 30 s and fails the test.
fn refused(env: &[(String, String)], dir: Option<&Path>) -> (Option<i32>, String) {
    let database_url = env
        .iter()
        .find(|(k, _)| k == "BERTH_DATABASE_URL")
        .map_or(String::new(), |(_, v)| v.clone());
    let mut command = clean_berth(&database_url);
    if !env.iter().any(|(k, _)| k == "BERTH_DATABASE_URL") {
        command.env_remove("BERTH_DATABASE_URL");
    }
    command
        .env("ROCKET_PORT", free_port().to_string())
        .env("ROCKET_CLI_COLORS", "false")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            let output = child.wait_with_output().unwrap();
            panic!(
                "berth started when it should have refused; env {env:?}:\n{}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_are_limited_by_berth_itself_without_a_rocket_toml() {
    let dir = tempfile::tempdir().unwrap();
    for folder in dir.path().ancestors() {
        assert!(
            !folder.join("Rocket.toml").exists(),
            "a Rocket.toml in {} would be read",
            folder.display()
        );
    }
    let env: Vec<(String, String)> = [
        (
            "BERTH_DATABASE_URL",
            format!("sqlite://{}/berth.db", dir.path().display()),
        ),
        ("BERTH_DEMO", "false".into()),
        ("ROCKET_PROFILE", "debug".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, padding: usize| {
        let body = json!({"departure_id": "x", "email": "a@example.com", "password": "p", "pad": "x".repeat(padding)});
        let request = client
            .post(format!("{base}{path}"))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (
                status,
                body["error"]["code"].as_str().unwrap_or("").to_owned(),
            )
        }
    };

    let server = Server::start(&env, Some(dir.path())).await;
    assert_eq!(
        post(&server.base, "/v1/bookings", 100 * 1024).await,
        (413, "payload_too_large".to_owned())
    );
    assert_eq!(
        post(&server.base, "/v1/bookings", 60 * 1024).await.0,
        422,
        "under 64 KiB the body is read (and its unknown field refused)"
    );
    assert_eq!(
        post(&server.base, "/v1/auth/login", 5 * 1024).await,
        (413, "payload_too_large".to_owned()),
        "sign-in routes take at most 4 KiB"
    );
    drop(server);

    // Rocket.toml may change both.
    std::fs::write(
        dir.path().join("Rocket.toml"),
        "[default.limits]\njson = \"256 KiB\"\nauth = \"8 KiB\"\n",
    )
    .unwrap();
    let server = Server::start(&env, Some(dir.path())).await;
    assert_eq!(post(&server.base, "/v1/bookings", 100 * 1024).await.0, 422);
    assert_eq!(
        post(&server.base, "/v1/auth/login", 5 * 1024).await.0,
        422,
        "read, and refused for its unknown field"
    );
    assert_eq!(post(&server.base, "/v1/bookings", 300 * 1024).await.0, 413);
}

/// What is wrong, the variables that make it so, the setting the message must name, and the
/// values it must never print.
type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, Vec<&'a str>);

#[test]
fn the_release_profile_refuses_each_documented_misconfiguration() {
    let dir = tempfile::tempdir().unwrap();
    let good = release_env(dir.path());
    let stripe = [
        ("BERTH_PAYMENTS", "stripe"),
        (
            "BERTH_STRIPE_SECRET_KEY",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        ),
        (
            "BERTH_STRIPE_WEBHOOK_SECRET",
            "whsec_abcdefghijklmnopqrstuvwx",
        ),
    ];
    let mysql_with_password = "mysql://berth:db-password-in-url@127.0.0.1:1/berth";
    let cases: Vec<Refusal> = vec![
        (
            "no database URL",
            vec![("BERTH_DATABASE_URL", UNSET)],
            "BERTH_DATABASE_URL",
            vec![KEY],
        ),
        (
            "an empty database URL",
            vec![("BERTH_DATABASE_URL", "")],
            "BERTH_DATABASE_URL",
            vec![KEY],
        ),
        (
            "no public URL",
            vec![("BERTH_PUBLIC_URL", UNSET)],
            "BERTH_PUBLIC_URL",
            vec![KEY],
        ),
        (
            "no secret key",
            vec![("BERTH_SECRET_KEY", UNSET)],
            "BERTH_SECRET_KEY",
            vec![],
        ),
        (
            "a short secret key",
            vec![("BERTH_SECRET_KEY", "short-but-secret-value")],
            "BERTH_SECRET_KEY",
            vec!["short-but-secret-value"],
        ),
        (
            "the public debug key",
            vec![(
                "BERTH_SECRET_KEY",
                "berth-debug-secret-key-not-for-production-use",
            )],
            "BERTH_SECRET_KEY",
            vec!["berth-debug-secret-key-not-for-production-use"],
        ),
        (
            "a placeholder key",
            vec![("BERTH_SECRET_KEY", "0123456789abcdef0123456789abcdef")],
            "BERTH_SECRET_KEY",
            vec!["0123456789abcdef0123456789abcdef"],
        ),
        (
            "a long but predictable key",
            vec![("BERTH_SECRET_KEY", "changemechangemechangemechangeme!")],
            "BERTH_SECRET_KEY",
            vec!["changemechangemechangemechangeme"],
        ),
        (
            "SQLite without the explicit setting",
            vec![("BERTH_ALLOW_SQLITE_IN_RELEASE", UNSET)],
            "BERTH_ALLOW_SQLITE_IN_RELEASE",
            vec![KEY],
        ),
        (
            "a wildcard CORS origin",
            vec![("BERTH_CORS_ORIGINS", "https://tours.example, *")],
            "BERTH_CORS_ORIGINS",
            vec![KEY],
        ),
        (
            "Stripe without a secret key",
            vec![stripe[0], stripe[2]],
            "BERTH_STRIPE_SECRET_KEY",
            vec![stripe[2].1],
        ),
        (
            "Stripe with a publishable key",
            vec![
                stripe[0],
                (
                    "BERTH_STRIPE_SECRET_KEY",
                    "pk_test_TYooMQauvdEDq54NiTphI7jx",
                ),
                stripe[2],
            ],
            "BERTH_STRIPE_SECRET_KEY",
            vec!["pk_test_TYooMQauvdEDq54NiTphI7jx", stripe[2].1],
        ),
        (
            "Stripe without a webhook secret",
            vec![stripe[0], stripe[1]],
            "BERTH_STRIPE_WEBHOOK_SECRET",
            vec![stripe[1].1],
        ),
        (
            "Stripe without a publishable key",
            vec![stripe[0], stripe[1], stripe[2]],
            "BERTH_STRIPE_PUBLISHABLE_KEY",
            vec![stripe[1].1, stripe[2].1],
        ),
        (
            "a hold batch of none",
            vec![("BERTH_HOLD_BATCH", "0")],
            "BERTH_HOLD_BATCH",
            vec![KEY],
        ),
        (
            "a hold batch beyond 256",
            vec![("BERTH_HOLD_BATCH", "257")],
            "BERTH_HOLD_BATCH",
            vec![KEY],
        ),
        (
            "a short metrics token",
            vec![("BERTH_METRICS_TOKEN", "short-token")],
            "BERTH_METRICS_TOKEN",
            vec!["short-token"],
        ),
        (
            "an unreachable database (the URL's password is not printed)",
            vec![("BERTH_DATABASE_URL", mysql_with_password)],
            "database",
            vec!["db-password-in-url", KEY],
        ),
    ];
    for (what, changes, named, hidden) in cases {
        let (code, output) = refused(&with(&good, &changes), None);
        assert_eq!(code, Some(1), "{what}: exit status; output:\n{output}");
        assert!(
            output.contains(named),
            "{what}: the message names {named}:\n{output}"
        );
        for value in hidden {
            assert!(
                !output.contains(value),
                "{what}: {value:?} was printed:\n{output}"
            );
        }
        assert!(
            !output.contains("Rocket has launched"),
            "{what}: it launched:\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_release_configuration_starts_under_production_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&release_env(dir.path()), None).await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert!(health.headers().contains_key("strict-transport-security"));
    let metrics = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 404, "no metrics without a token");
    assert!(!server.output().contains("API token"), "no demo data");
}

/// `ROCKET_PROFILE` is matched as Rocket matches it (any case); names other than `debug` and
/// `release` are refused rather than run with debug defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_names_are_release_or_debug_in_any_case_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let good = release_env(dir.path());
    for name in ["production", "prod", "staging"] {
        let (code, output) = refused(&with(&good, &[("ROCKET_PROFILE", name)]), None);
        assert_eq!(code, Some(1), "{output}");
        assert!(
            output.contains(&format!("ROCKET_PROFILE={name} is not a berth profile")),
            "{output}"
        );
        assert!(!output.contains("API token"), "no demo data: {output}");
    }
    for name in ["RELEASE", "Release"] {
        let bare: Vec<(String, String)> = vec![("ROCKET_PROFILE".into(), name.into())];
        let (code, output) = refused(&bare, None);
        assert_eq!(code, Some(1), "{output}");
        assert!(output.contains("BERTH_DATABASE_URL"), "{name}: {output}");
        let (code, output) = refused(
            &with(
                &good,
                &[("ROCKET_PROFILE", name), ("BERTH_SECRET_KEY", UNSET)],
            ),
            None,
        );
        assert_eq!(code, Some(1), "{output}");
        assert!(
            output.contains("BERTH_SECRET_KEY must be set"),
            "{name}: no public development key: {output}"
        );
    }
    // RELEASE with a complete configuration runs under production rules: no open metrics,
    // HSTS, no demo data, and rate limits on (an empty BERTH_RATE_LIMITS is no setting).
    let server = Server::start(
        &with(
            &good,
            &[("ROCKET_PROFILE", "RELEASE"), ("BERTH_RATE_LIMITS", "")],
        ),
        None,
    )
    .await;
    let client = reqwest::Client::new();
    let metrics = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 404);
    assert!(metrics.headers().contains_key("strict-transport-security"));
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let refresh = client
            .post(format!("{}/v1/auth/refresh", server.base))
            .json(&json!({"refresh_token": "brr_not-a-token"}))
            .send()
            .await
            .unwrap();
        statuses.push(refresh.status().as_u16());
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(statuses[10], 429, "the auth bucket: 10/min per address");
    let output = server.stop();
    assert!(!output.contains("API token"), "{output}");
    assert!(!output.contains("RATE LIMITS ARE OFF"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_off_in_release_take_the_word_off_and_are_announced() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &with(&release_env(dir.path()), &[("BERTH_RATE_LIMITS", "off")]),
        None,
    )
    .await;
    let client = reqwest::Client::new();
    for _ in 0..15 {
        let refresh = client
            .post(format!("{}/v1/auth/refresh", server.base))
            .json(&json!({"refresh_token": "brr_not-a-token"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refresh.status(), 401);
    }
    let stderr = server.stderr();
    assert!(
        stderr.contains("RATE LIMITS ARE OFF")
            && stderr.contains("auth, bookings, writes, reads, octo"),
        "{stderr}"
    );
}

/// Numeric-looking secrets and phone numbers in the environment are taken as written: figment
/// would parse them as numbers (dropping a leading zero or plus sign) and then refuse them,
/// printing the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_looking_secrets_and_phone_numbers_are_read_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let twilio = FakeTwilio::start(vec![]).await;
    let metrics_token = "00012345678901234567";
    let numeric_key = "0918273645546372819009182736455463728190";
    let env: Vec<(String, String)> = [
        (
            "BERTH_DATABASE_URL",
            format!("sqlite://{}/berth.db", dir.path().display()),
        ),
        ("ROCKET_PROFILE", "debug".into()),
        ("BERTH_DEMO", "false".into()),
        ("BERTH_SECRET_KEY", numeric_key.into()),
        ("BERTH_METRICS_TOKEN", metrics_token.into()),
        ("BERTH_SMS_TRANSPORT", "twilio".into()),
        (
            "BERTH_TWILIO_ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef".into(),
        ),
        ("BERTH_TWILIO_AUTH_TOKEN", "55501234567890".into()),
        ("BERTH_TWILIO_FROM", "+15005550006".into()),
        ("BERTH_TWILIO_API_BASE", twilio.base.clone()),
        (
            "BERTH_MAIL_DIR",
            dir.path().join("mail").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let server = Server::start(&env, None).await;
    let client = reqwest::Client::new();
    let metrics = |token: &'static str| {
        client
            .get(format!("{}/metrics", server.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(metrics(metrics_token).await.unwrap().status(), 200);
    assert_eq!(
        metrics("12345678901234567").await.unwrap().status(),
        401,
        "the token is the text, not the number"
    );

    // A booking with a phone number: its confirmation SMS goes out from +15005550006.
    let created = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "operator",
            "create",
            "--name",
            "Numeric Tours",
            "--email",
            "ops@numeric.example",
        ])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("BERTH_LOG", "warn")
        .output()
        .unwrap();
    let token = crate::cli::token_printed_by(created);
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json::<serde_json::Value>().await.unwrap()
    };
    let tour = send(client.post(format!("{}/v1/tours", server.base)).bearer_auth(&token).json(&json!({
        "name": "Numbers walk", "timezone": "Europe/Lisbon", "duration_minutes": 60, "currency": "EUR",
        "units": [{"code": "adult", "label": "Adult", "price": 2000}]}))).await;
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let departure = send(
        client
            .post(format!(
                "{}/v1/tours/{}/departures",
                server.base,
                tour["id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .json(&json!({"starts_at": starts_at, "capacity": 5})),
    )
    .await;
    let hold = send(
        client
            .post(format!("{}/v1/bookings", server.base))
            .json(&json!({
        "departure_id": departure["id"], "items": [{"unit": "adult", "quantity": 1}],
        "customer": {"name": "Ada", "email": "ada@example.com", "phone": "+351 912 345 678"}})),
    )
    .await;
    send(
        client
            .post(format!(
                "{}/v1/bookings/{}/confirm",
                server.base,
                hold["reference"].as_str().unwrap()
            ))
            .header("X-Booking-Token", hold["access_token"].as_str().unwrap()),
    )
    .await;
    // The dispatcher runs every 2 s in the server.
    let deadline = Instant::now() + Duration::from_secs(30);
    while twilio.count() == 0 {
        assert!(
            Instant::now() < deadline,
            "no SMS reached Twilio:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = twilio.requests.lock().unwrap()[0].clone();
    assert!(
        sent.form
            .iter()
            .any(|(k, v)| k == "From" && v == "+15005550006"),
        "{:?}",
        sent.form
    );
    let output = server.stop();
    for secret in [numeric_key, metrics_token, "55501234567890"] {
        assert!(!output.contains(secret), "{secret} was printed:\n{output}");
    }
}

/// A secret written in Rocket.toml (or the file `ROCKET_CONFIG` names) stops the start, in any
/// profile and any table, naming the key and never the value.
#[test]
fn secrets_in_a_configuration_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    let base: Vec<(String, String)> = vec![
        (
            "BERTH_DATABASE_URL".into(),
            format!("sqlite://{}/berth.db", dir.path().display()),
        ),
        ("ROCKET_PROFILE".into(), "debug".into()),
        ("BERTH_DEMO".into(), "false".into()),
        ("ROCKET_CONFIG".into(), file.display().to_string()),
    ];
    for (toml, key, value) in [
        (
            "[release]\nsecret_key = \"Xy7Lq2Vz9Pk4Wm8Ns1Tb6Yc3Hd0Jf5GgAe\"\n",
            "secret_key",
            "Xy7Lq2Vz9Pk4Wm8Ns1Tb6Yc3Hd0Jf5GgAe",
        ),
        (
            "[default]\nport = 8000\nstripe_secret_key = \"sk_test_inTheFile0000000000\"\n",
            "stripe_secret_key",
            "sk_test_inTheFile0000000000",
        ),
        (
            "[debug]\nmetrics_token = \"a-metrics-token-in-a-file\"\n",
            "metrics_token",
            "a-metrics-token-in-a-file",
        ),
        (
            "[release]\ndatabase_url = \"mysql://berth:pw-in-the-file@db/berth\"\n",
            "database_url",
            "pw-in-the-file",
        ),
    ] {
        std::fs::write(&file, toml).unwrap();
        let (code, output) = refused(&base, None);
        assert_eq!(code, Some(1), "{output}");
        assert!(
            output.contains(&format!("sets `{key}`"))
                && output.contains("berth.toml")
                && output.contains("environment"),
            "{output}"
        );
        assert!(!output.contains(value), "{value} was printed:\n{output}");
        let migrate = clean_berth(&base[0].1)
            .envs(base.iter().map(|(k, v)| (k, v)))
            .arg("migrate")
            .output()
            .unwrap();
        assert_eq!(migrate.status.code(), Some(2), "the tools refuse it too");
    }
    // Without a password, a database URL is not a secret.
    std::fs::write(
        &file,
        "[debug]\ndatabase_url = \"sqlite://data/berth.db\"\n",
    )
    .unwrap();
    let migrate = clean_berth(&base[0].1)
        .envs(base.iter().map(|(k, v)| (k, v)))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
}

/// Query strings (where feeds carry capabilities) and manage link tokens never reach the log: not
/// Rocket's lines for matched or unmatched requests, at its most verbose level, nor berth's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_strings_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    for level in ["normal", "debug"] {
        let env: Vec<(String, String)> = [
            (
                "BERTH_DATABASE_URL",
                format!("sqlite://{}/berth.db", dir.path().display()),
            ),
            ("ROCKET_PROFILE", "debug".into()),
            ("BERTH_DEMO", "false".into()),
            ("ROCKET_LOG_LEVEL", level.into()),
            ("BERTH_LOG", "debug".into()),
            ("BERTH_LOG_FORMAT", "json".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let server = Server::start(&env, None).await;
        let client = reqwest::Client::new();
        for path in [
            "/v1/no-such-route?capability=leak-unmatched-1111",
            "/health?capability=leak-matched-2222",
            "/v1/tours/01ARZ3NDEKTSV4RRFFQ69G5FAV/availability?from=2031-01-01&capability=leak-notfound-3333",
            "/v1/bookings/ABCDEFGH?token=leak-booking-4444",
            // A manage link carries its capability in the path: logged as /manage/{ref}/….
            "/manage/ABCDEFGH/leak-manage-7777",
            "/manage/ABCDEFGH/leak-manage-8888/booking.ics",
        ] {
            client
                .get(format!("{}{path}", server.base))
                .header("X-Booking-Token", "bkt_leak-header-5555")
                .send()
                .await
                .unwrap();
        }
        client
            .post(format!(
                "{}/v1/bookings?capability=leak-post-6666",
                server.base
            ))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let output = server.stop();
        assert!(
            output.contains("/v1/no-such-route") && output.contains("/manage/ABCDEFGH/"),
            "{level}: Rocket logged the requests:\n{output}"
        );
        for marker in ["leak-", "capability=", "token=", "?from="] {
            assert!(
                !output.contains(marker),
                "{level}: {marker:?} reached the log:\n{output}"
            );
        }
    }
}

/// Behind `ROCKET_ADDRESS=::`, IPv4 peers arrive as `::ffff:a.b.c.d`; a trusted proxy written
/// as IPv4 must still be recognised, or every client shares the proxy's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trusted_ipv4_proxy_is_recognised_on_a_dual_stack_listener() {
    let settings = [
        ("address", json!("::")),
        ("trusted_proxies", json!("127.0.0.1")),
        ("rate_limits", json!("reads=2/min")),
    ];
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, &settings).await else {
        return;
    };
    let health = |client: &'static str| {
        TestApp::reply(
            app.client
                .get(format!("{}/health", app.base))
                .header("X-Forwarded-For", client),
        )
    };
    health("203.0.113.7").await.expect(200);
    health("203.0.113.7").await.expect(200);
    health("203.0.113.7")
        .await
        .expect_error(429, "rate_limited");
    health("198.51.100.9").await.expect(200);
    health("::ffff:198.51.100.9").await.expect(200);
    health("198.51.100.9")
        .await
        .expect_error(429, "rate_limited");
}

/// IPv6 clients are counted per /64 (`BERTH_CLIENT_IPV6_PREFIX`), so rotating through one's own
/// network does not reset a limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ipv6_clients_share_one_limit_per_network() {
    for (prefix, shared) in [(None, true), (Some(128), false), (Some(48), true)] {
        let mut settings = vec![
            ("trusted_proxies", json!("127.0.0.1")),
            ("rate_limits", json!("reads=2/min")),
        ];
        if let Some(prefix) = prefix {
            settings.push(("client_ipv6_prefix", json!(prefix)));
        }
        let Some(app) = TestApp::spawn_with(Backend::Sqlite, &settings).await else {
            return;
        };
        let health = |client: &'static str| {
            TestApp::reply(
                app.client
                    .get(format!("{}/health", app.base))
                    .header("X-Forwarded-For", client),
            )
        };
        health("2001:db8:1:2::1").await.expect(200);
        health("2001:db8:1:2:aaaa::2").await.expect(200);
        let third = health("2001:db8:1:2:ffff:ffff:ffff:ffff").await;
        if shared {
            third.expect_error(429, "rate_limited");
        } else {
            third.expect(200);
        }
        let other_network = health("2001:db8:1:3::1").await;
        if prefix == Some(48) {
            other_network.expect_error(429, "rate_limited");
        } else {
            other_network.expect(200);
        }
    }
}

async fn json_routes_refuse_bodies_not_sent_as_json(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, departure) = app.fresh_departure(5).await;
    let hold = json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
                      "customer": {"name": "Ada", "email": "ada@example.com"}})
    .to_string();
    let post = |content_type: Option<&'static str>, path: &'static str, body: String| {
        let mut request = app.client.post(format!("{}{path}", app.base)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        TestApp::reply(request)
    };
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
    ] {
        post(content_type, "/v1/bookings", hold.clone())
            .await
            .expect_error(415, "unsupported_media_type");
        post(
            content_type,
            "/v1/auth/login",
            json!({"email": "a@example.com", "password": "p"}).to_string(),
        )
        .await
        .expect_error(415, "unsupported_media_type");
    }
    assert_eq!(app.available(&departure).await, 5, "nothing was held");
    let renamed = TestApp::reply(
        app.client
            .patch(format!("{}/v1/tours/{tour}", app.base))
            .bearer_auth(&token)
            .header("Content-Type", "text/plain")
            .body(json!({"name": "Renamed"}).to_string()),
    )
    .await;
    renamed.expect_error(415, "unsupported_media_type");
    let unchanged = app.get(&format!("/v1/tours/{tour}")).await;
    assert_eq!(unchanged.body["name"], "Harbour cruise");
    post(
        Some("application/json; charset=utf-8"),
        "/v1/bookings",
        hold,
    )
    .await
    .expect(201);

    // The OpenAPI document says so for every JSON body, and not for the signed webhooks.
    let document = app.get("/openapi.json").await;
    for (path, method) in [
        ("/v1/bookings", "post"),
        ("/v1/tours/{id}", "patch"),
        ("/v1/auth/login", "post"),
    ] {
        assert_eq!(
            document.body["paths"][path][method]["responses"]["415"]["content"]["application/json"]
                ["schema"]["$ref"],
            "#/components/schemas/ErrorResponse",
            "{method} {path}"
        );
    }
    assert!(document.body["paths"]["/v1/webhooks/stripe"]["post"]["responses"]["415"].is_null());
    assert!(
        document.body["paths"]["/v1/bookings/{reference}/confirm"]["post"]["responses"]["415"]
            .is_null()
    );
}

/// Rocket would read a form `POST` whose first field is `_method=delete` as a DELETE; berth
/// keeps it a POST, so no web page can revoke a token (or delete anything) with a form.
async fn a_form_post_cannot_be_turned_into_a_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Form Tours").await;
    let created = app
        .post_as(&owner, "/v1/tokens", json!({"label": "kept"}))
        .await;
    created.expect(201);
    let (id, token) = (created.str("id"), created.str("token"));
    for body in ["_method=delete", "_method=DELETE&x=1"] {
        let reply = TestApp::reply(
            app.client
                .post(format!("{}/v1/tokens/{id}", app.base))
                .bearer_auth(&owner)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
        reply.expect_error(405, "method_not_allowed");
        assert_eq!(reply.headers["allow"], "DELETE");
    }
    app.get_as(&token, "/v1/tours").await.expect(200);
    // A real DELETE still works.
    TestApp::reply(
        app.client
            .delete(format!("{}/v1/tokens/{id}", app.base))
            .bearer_auth(&owner),
    )
    .await
    .expect(204);
    app.get_as(&token, "/v1/tours")
        .await
        .expect_error(401, "unauthorized");
}
