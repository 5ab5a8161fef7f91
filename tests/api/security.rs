//! Transport and header safety: CORS allowlist (preflight too), security headers on every kind
//! of response, HSTS, and start-up refusals in release.

use reqwest::Method;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    cors_answers_listed_origins_only,
    security_headers_are_on_every_response,
    rate_limits_answer_429_with_retry_after,
);

async fn cors_answers_listed_origins_only(backend: Backend) {
    let settings = [(
        "cors_origins",
        json!("https://tours.example, https://widget.example/"),
    )];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (_, tour, _) = app.fresh_departure(5).await;
    let get = |origin: &'static str| {
        TestApp::reply(
            app.client
                .get(format!("{}/v1/tours/{tour}/availability", app.base))
                .header("Origin", origin),
        )
    };
    let allowed = get("https://widget.example").await;
    allowed.expect(200);
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://widget.example"
    );
    assert_eq!(allowed.headers["vary"], "Origin");
    assert!(allowed.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("X-Request-Id"));
    let refused = get("https://evil.example").await;
    refused.expect(200);
    assert!(
        refused.headers.get("access-control-allow-origin").is_none(),
        "no CORS grant for an unlisted origin"
    );

    let preflight = |origin: &'static str| {
        TestApp::reply(
            app.client
                .request(Method::OPTIONS, format!("{}/v1/bookings", app.base))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "content-type, idempotency-key",
                ),
        )
    };
    let ok = preflight("https://tours.example").await;
    ok.expect(204);
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://tours.example"
    );
    assert!(ok.headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(ok.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Idempotency-Key"));
    let denied = preflight("https://evil.example").await;
    assert!(denied.headers.get("access-control-allow-origin").is_none());
    assert!(denied.headers.get("access-control-allow-methods").is_none());
}

async fn security_headers_are_on_every_response(backend: Backend) {
    let Some(plain) = TestApp::spawn(backend).await else {
        return;
    };
    assert!(
        plain
            .get("/health")
            .await
            .headers
            .get("strict-transport-security")
            .is_none(),
        "no HSTS in debug by default"
    );
    drop(plain);
    let Some(app) = TestApp::spawn_with(backend, &[("hsts", json!(true))]).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(5).await;
    let replies = [
        app.get("/health").await,
        app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
            .await,
        app.get("/v1/nope").await,
        app.hold(&departure, json!([{"unit": "adult", "quantity": 0}]))
            .await,
        app.get("/v1/tours").await,
    ];
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [200, 201, 404, 422, 401]);
    for reply in &replies {
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("content-security-policy"), "frame-ancestors 'none'");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert!(header("strict-transport-security").starts_with("max-age="));
        assert_eq!(header("x-request-id").len(), 26);
        assert!(header("server").is_empty(), "no server banner");
    }
}

/// Release refuses a wildcard CORS origin and names the setting.
#[test]
fn release_refuses_a_wildcard_cors_origin() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("migrate")
        .env("ROCKET_PROFILE", "release")
        .env(
            "BERTH_DATABASE_URL",
            format!("sqlite://{}/berth.db", dir.path().display()),
        )
        .env("BERTH_CORS_ORIGINS", "*")
        .env("BERTH_PUBLIC_URL", "https://book.tours.example")
        .env("BERTH_SECRET_KEY", TEST_SECRET_KEY)
        .env("BERTH_ALLOW_SQLITE_IN_RELEASE", "true")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BERTH_CORS_ORIGINS"), "{stderr}");
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("migrate")
        .env("ROCKET_PROFILE", "release")
        .env(
            "BERTH_DATABASE_URL",
            format!("sqlite://{}/berth.db", dir.path().display()),
        )
        .env("BERTH_CORS_ORIGINS", "https://tours.example")
        .env("BERTH_PUBLIC_URL", "https://book.tours.example")
        .env("BERTH_SECRET_KEY", TEST_SECRET_KEY)
        .env("BERTH_ALLOW_SQLITE_IN_RELEASE", "true")
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
}

/// A key made for these tests only (random-looking, 48 bytes); never used anywhere else.
const TEST_SECRET_KEY: &str = "k3Qz9vX2mL7pR4tW8yB1nC6dF0gH5jKsAeUiOoPqRrStTuVw";

/// `berth migrate` in the release profile with `env`; (succeeded, stderr).
fn release_start(env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .arg("migrate")
        .env("ROCKET_PROFILE", "release")
        .env(
            "BERTH_DATABASE_URL",
            format!("sqlite://{}/berth.db", dir.path().display()),
        )
        .env("BERTH_PUBLIC_URL", "https://book.tours.example");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Release refuses a missing, short or well-known secret key, and SQLite unless allowed; the
/// message names the setting and never repeats the value.
#[test]
fn release_refuses_weak_secret_keys_and_sqlite() {
    let sqlite_ok = ("BERTH_ALLOW_SQLITE_IN_RELEASE", "true");
    for (key, why) in [
        (None, "must be set"),
        (Some("short-but-secret-value"), "too short"),
        (
            Some("berth-debug-secret-key-not-for-production-use"),
            "known default",
        ),
        (Some("CHANGEME"), "too short"),
        (Some("0123456789abcdef0123456789abcdef"), "known default"),
        (
            Some("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            "known default",
        ),
    ] {
        let mut env = vec![sqlite_ok];
        if let Some(key) = key {
            env.push(("BERTH_SECRET_KEY", key));
        }
        let (ok, stderr) = release_start(&env);
        assert!(!ok, "started with secret key {key:?}");
        assert!(
            stderr.contains("BERTH_SECRET_KEY") && stderr.contains(why),
            "{stderr}"
        );
        if let Some(key) = key {
            assert!(!stderr.contains(key), "the value was printed: {stderr}");
        }
    }
    let (ok, stderr) = release_start(&[("BERTH_SECRET_KEY", TEST_SECRET_KEY)]);
    assert!(!ok, "SQLite in release without the explicit setting");
    assert!(stderr.contains("BERTH_ALLOW_SQLITE_IN_RELEASE"), "{stderr}");
    assert!(!stderr.contains(TEST_SECRET_KEY));
    let (ok, stderr) = release_start(&[("BERTH_SECRET_KEY", TEST_SECRET_KEY), sqlite_ok]);
    assert!(ok, "{stderr}");
}

async fn rate_limits_answer_429_with_retry_after(backend: Backend) {
    let settings = [
        ("rate_limits", json!("bookings=3/min,reads=1000/min")),
        ("trusted_proxies", json!("127.0.0.1")),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(50).await;
    let hold = |forwarded: &'static str| {
        TestApp::reply(
            app.client
                .post(format!("{}/v1/bookings", app.base))
                .header("X-Forwarded-For", forwarded)
                .json(
                    &json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
                              "customer": {"name": "Ada", "email": "ada@example.com"}}),
                ),
        )
    };
    for _ in 0..3 {
        hold("203.0.113.7").await.expect(201);
    }
    let limited = hold("203.0.113.7").await;
    limited.expect_error(429, "rate_limited");
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // Another client behind the same trusted proxy has its own bucket; reads have theirs.
    hold("198.51.100.9").await.expect(201);
    app.get(&format!("/v1/departures/{departure}"))
        .await
        .expect(200);
    assert_eq!(
        app.available(&departure).await,
        46,
        "the refused request took nothing"
    );
}
