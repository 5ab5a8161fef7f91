//! Promises of README.md and SECURITY.md that no other test held to: `Cache-Control: no-store`
//! on every response, `X-Forwarded-For` believed only from trusted proxies (by rate limits and
//! in logs), opaque 500s whose request id leads to the logged cause, the Argon2id parameters and
//! the cap on concurrent hashing, and the lockout judged again under the user's row lock.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth::service::passwords::Argon2Gate;
use reqwest::Method;
use serde_json::{json, Value};

use crate::cli::{berth, free_port, wait_until_up};
use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp, PASSWORD};

on_both_backends!(
    every_response_of_every_route_says_no_store,
    a_spoofed_forwarded_for_from_an_untrusted_peer_moves_no_rate_limit,
    a_spoofed_forwarded_for_from_an_untrusted_peer_is_not_the_logged_address,
    a_server_failure_answers_internal_with_the_request_id_that_leads_to_the_logged_cause,
    passwords_are_stored_as_argon2id_with_19_mib_2_passes_and_1_lane,
    at_most_two_password_hashes_per_core_run_at_once,
    a_request_that_waits_too_long_for_password_hashing_is_503_busy,
    a_login_whose_password_check_straddles_a_lockout_starts_no_session,
    racing_wrong_and_right_logins_never_start_a_session_on_a_locked_account,
);

/// A well-formed ULID that names nothing.
const UNKNOWN_ULID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// Waits (up to 30 s) until `condition` holds; fails the test otherwise.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn cache_control(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all("cache-control")
        .iter()
        .map(|v| v.to_str().unwrap_or("?").to_owned())
        .collect()
}

/// A path template of a mounted route with its parameters filled in: real ids for reads (so
/// they can succeed), ids that name nothing for writes (so the walk changes nothing).
fn concrete(method: &str, template: &str, ids: &[(&str, &str)]) -> String {
    let mut previous = "";
    let mut path = String::new();
    for segment in template.split('/').filter(|s| !s.is_empty()) {
        let filled = if segment == "<_..>" {
            "v1/bookings"
        } else if segment.starts_with('<') {
            let real = ids
                .iter()
                .find(|(collection, _)| *collection == previous)
                .map(|(_, id)| *id);
            match real {
                Some(id) if method == "GET" => id,
                _ => UNKNOWN_ULID,
            }
        } else {
            segment
        };
        path.push('/');
        path.push_str(filled);
        previous = segment;
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// SECURITY.md: `Cache-Control: no-store` on every response. Every mounted route is called
/// (anonymously, and as the owner with a JSON body), then every kind of caught error: unknown
/// path (404), wrong method (405), oversized body (413), malformed JSON (400), a body not sent
/// as JSON (415), rate limited (429), a failed database (500) and no password-hashing turn (503).
async fn every_response_of_every_route_says_no_store(backend: Backend) {
    let settings = [("rate_limits", json!("bookings=2/min"))];
    let gate = Argon2Gate::new(1, Duration::from_millis(100));
    let Some(app) =
        TestApp::spawn_custom(backend, &settings, move |rocket| rocket.manage(gate)).await
    else {
        return;
    };
    let (owner, tour, departure) = app.fresh_departure(10).await;
    let user = app.add_user(&owner, "staff@acme.example", "staff").await;
    let held = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    held.expect(201);
    let reference = held.str("reference");
    let ids = [
        ("tours", tour.as_str()),
        ("departures", departure.as_str()),
        ("bookings", reference.as_str()),
        ("users", user.as_str()),
    ];
    assert!(app.routes.len() > 40, "{:?}", app.routes);
    let mut replies: Vec<(String, Reply)> = vec![("POST /v1/bookings".into(), held)];
    for (method, template) in &app.routes {
        let path = concrete(method, template, &ids);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let url = format!("{}{path}", app.base);
        let anonymous = app.client.request(method.clone(), &url);
        replies.push((format!("{method} {path}"), TestApp::reply(anonymous).await));
        let mut as_owner = app.client.request(method.clone(), &url).bearer_auth(&owner);
        if method != Method::GET {
            as_owner = as_owner
                .header("Content-Type", "application/json")
                .body("{}");
        }
        replies.push((
            format!("{method} {path} as owner"),
            TestApp::reply(as_owner).await,
        ));
    }
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(100 * 1024));
    let extras = [
        (
            "unknown path",
            app.client.get(format!("{}/no/such/path", app.base)),
        ),
        (
            "wrong method",
            app.client.put(format!("{}/v1/tours", app.base)),
        ),
        (
            "oversized body",
            app.client
                .post(format!("{}/v1/tours", app.base))
                .bearer_auth(&owner)
                .header("Content-Type", "application/json")
                .body(huge),
        ),
        (
            "malformed JSON",
            app.client
                .post(format!("{}/v1/tours", app.base))
                .bearer_auth(&owner)
                .header("Content-Type", "application/json")
                .body("{"),
        ),
        ("HEAD", app.client.head(format!("{}/health", app.base))),
    ];
    for (what, request) in extras {
        replies.push((what.into(), TestApp::reply(request).await));
    }
    // The bookings bucket (2 a minute) is spent by now, or soon.
    for _ in 0..5 {
        let hold = app
            .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
            .await;
        let limited = hold.status == 429;
        replies.push(("hold".into(), hold));
        if limited {
            break;
        }
    }
    // No hashing turn within the wait: 503 busy.
    let turn = app.argon2.turn().await.expect("the only turn");
    let busy = app.login("staff@acme.example", PASSWORD).await;
    drop(turn);
    replies.push(("busy".into(), busy));
    // A table gone under the running app: 500.
    app.execute_sql("DROP TABLE audit_log").await;
    replies.push((
        "database failure".into(),
        app.get_as(&owner, "/v1/audit").await,
    ));

    let mut statuses = BTreeSet::new();
    for (what, reply) in &replies {
        // SECURITY.md's exceptions among these: the tour page (nothing personal) may be
        // reused by the visitor's browser for a minute. (Hashed assets, the other, are asked
        // for here by a name that is not one, so they answer 404 no-store.)
        // And the widget loader, under the one URL operators paste: cached for minutes.
        let expected = if what.starts_with("GET /tours/") && reply.status == 200 {
            "private, max-age=60"
        } else if what.starts_with("GET /embed.js") && reply.status == 200 {
            "public, max-age=300"
        } else {
            "no-store"
        };
        assert_eq!(
            cache_control(reply),
            [expected],
            "{what} answered {} without Cache-Control: {expected}",
            reply.status
        );
        statuses.insert(reply.status.as_u16());
    }
    for status in [
        200, 201, 204, 400, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503,
    ] {
        assert!(
            statuses.contains(&status),
            "no response with status {status} was checked: {statuses:?}"
        );
    }
}

/// A hold request that claims to come from `spoofed` in every header a proxy might set.
fn spoofed_hold(app: &TestApp, departure: &str, spoofed: &str) -> reqwest::RequestBuilder {
    spoof(
        app.client.post(format!("{}/v1/bookings", app.base)),
        spoofed,
    )
    .json(&json!({
        "departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
        "customer": {"name": "Ada", "email": "ada@example.com"}}))
}

fn spoof(request: reqwest::RequestBuilder, spoofed: &str) -> reqwest::RequestBuilder {
    request
        .header("X-Forwarded-For", spoofed)
        .header("X-Real-IP", spoofed)
        .header("Forwarded", format!("for={spoofed}"))
}

/// Failed logins from `client` (each claiming another address), then one more; its status.
async fn failures_then_one_more(app: &TestApp) -> u16 {
    for n in 0..berth::service::auth::IP_FAILURES {
        let request = spoof(
            app.client.post(format!("{}/v1/auth/login", app.base)),
            &format!("203.0.113.{}", n + 1),
        )
        .json(&json!({"email": "nobody@acme.example", "password": "not the password at all"}));
        TestApp::reply(request).await.expect(401);
    }
    let last = spoof(
        app.client.post(format!("{}/v1/auth/login", app.base)),
        "198.51.100.200",
    )
    .json(&json!({"email": "nobody@acme.example", "password": "not the password at all"}));
    TestApp::reply(last).await.status.as_u16()
}

/// SECURITY.md: `X-Forwarded-For` is believed only from `BERTH_TRUSTED_PROXIES`. From any other
/// peer, a client naming a new address in every request still spends one bucket (rate limits)
/// and one failure count (logins). The same requests through a trusted proxy are told apart,
/// which shows the headers are what the first half ignores.
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_moves_no_rate_limit(backend: Backend) {
    let limits = ("rate_limits", json!("bookings=3/min"));
    let Some(app) = TestApp::spawn_with(backend, std::slice::from_ref(&limits)).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(20).await;
    for n in 1..=3 {
        let spoofed = format!("203.0.113.{n}");
        TestApp::reply(spoofed_hold(&app, &departure, &spoofed))
            .await
            .expect(201);
    }
    TestApp::reply(spoofed_hold(&app, &departure, "198.51.100.4"))
        .await
        .expect_error(429, "rate_limited");
    assert_eq!(
        failures_then_one_more(&app).await,
        429,
        "per-address failure counts believed a spoofed address"
    );

    let trusted = app
        .another_instance(&[limits, ("trusted_proxies", json!("127.0.0.1"))])
        .await;
    for n in 1..=3 {
        TestApp::reply(spoofed_hold(
            &trusted,
            &departure,
            &format!("203.0.113.{n}"),
        ))
        .await
        .expect(201);
    }
    TestApp::reply(spoofed_hold(&trusted, &departure, "198.51.100.4"))
        .await
        .expect(201);
    assert_eq!(failures_then_one_more(&trusted).await, 401);
}

/// A `berth serve` process on `database_url` with JSON logs (`BERTH_LOG=info`) in a file.
struct Server {
    child: std::process::Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(database_url: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        let port = free_port();
        let mut command = berth(database_url);
        command
            .env("ROCKET_PORT", port.to_string())
            .env("BERTH_LOG", "info")
            .env("BERTH_LOG_FORMAT", "json")
            .env("BERTH_DEMO", "false")
            .env("BERTH_BACKGROUND_WORKERS", "false")
            .env("BERTH_MAIL_DIR", dir.path().join("mail"))
            .env("BERTH_SMS_DIR", dir.path().join("sms"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_until_up(&base).await;
        if reqwest::get(format!("{base}/health")).await.is_err() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("berth did not start:\n{log}");
        }
        Server {
            child,
            base,
            log,
            _dir: dir,
        }
    }

    /// berth's own log lines so far (JSON), and the whole text.
    fn log(&self) -> (Vec<Value>, String) {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines = text
            .as_bytes()
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect();
        (lines, text)
    }

    /// Waits (up to 30 s) for log lines whose message is `message`.
    async fn logged(&self, message: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (lines, text) = self.log();
            let found: Vec<Value> = lines
                .into_iter()
                .filter(|l| l["fields"]["message"] == message)
                .collect();
            if !found.is_empty() {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no {message:?} in the log:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Forged Stripe and Twilio callbacks claiming, in every proxy header, to come from `spoofed`;
/// the `source` each refusal logged.
async fn refused_callbacks_log(server: &Server, spoofed: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let stripe = spoof(
        client.post(format!("{}/v1/webhooks/stripe", server.base)),
        spoofed,
    )
    .header("Stripe-Signature", "t=1700000000,v1=00")
    .body("{}");
    assert_eq!(stripe.send().await.unwrap().status(), 400);
    let twilio = spoof(
        client.post(format!("{}/v1/webhooks/twilio/status", server.base)),
        spoofed,
    )
    .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
    .header("Content-Type", "application/x-www-form-urlencoded")
    .body("MessageSid=SM00&MessageStatus=delivered");
    assert_eq!(twilio.send().await.unwrap().status(), 400);
    let mut sources = Vec::new();
    for message in [
        "Stripe webhook refused",
        "Twilio callback with an invalid signature refused",
    ] {
        for line in server.logged(message).await {
            sources.push(line["fields"]["source"].as_str().unwrap_or("").to_owned());
        }
    }
    sources
}

/// Refused webhooks are logged with the source address (README, SECURITY.md). From a peer that
/// is not a trusted proxy, that is the peer, whatever `X-Forwarded-For`, `X-Real-IP` or
/// `Forwarded` claim, and the claimed address appears nowhere in the log. Through a trusted
/// proxy, it is the client the proxy names.
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_not_the_logged_address(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let providers = [
        ("BERTH_PAYMENTS", "stripe"),
        (
            "BERTH_STRIPE_SECRET_KEY",
            crate::support::fake_stripe::SECRET_KEY,
        ),
        (
            "BERTH_STRIPE_WEBHOOK_SECRET",
            crate::support::fake_stripe::WEBHOOK_SECRET,
        ),
        ("BERTH_STRIPE_API_BASE", "http://127.0.0.1:9"),
        ("BERTH_SMS_TRANSPORT", "twilio"),
        (
            "BERTH_TWILIO_ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef",
        ),
        ("BERTH_TWILIO_AUTH_TOKEN", "twilio-secret-token"),
        // A messaging service: figment reads a bare "+1500…" from the environment as a number.
        ("BERTH_TWILIO_FROM", "MG0123456789abcdef0123456789abcdef"),
        ("BERTH_TWILIO_API_BASE", "http://127.0.0.1:9"),
    ];
    let spoofed = "203.0.113.66";
    let untrusted = Server::start(&app.database_url, &providers).await;
    let sources = refused_callbacks_log(&untrusted, spoofed).await;
    assert_eq!(sources, ["Some(127.0.0.1)", "Some(127.0.0.1)"]);
    let (_, text) = untrusted.log();
    assert!(!text.contains(spoofed), "{text}");
    drop(untrusted);

    let mut behind_proxy = providers.to_vec();
    behind_proxy.push(("BERTH_TRUSTED_PROXIES", "127.0.0.1"));
    let trusted = Server::start(&app.database_url, &behind_proxy).await;
    let sources = refused_callbacks_log(&trusted, "198.51.100.23").await;
    assert_eq!(sources, ["Some(198.51.100.23)", "Some(198.51.100.23)"]);
}

/// SECURITY.md: "500s carry only a request id that matches the server log". The audit table
/// is dropped under a running berth process; reading the audit log then fails on the server.
/// The answer is `internal` with nothing but a message and the request id; the log has that id
/// with the cause.
async fn a_server_failure_answers_internal_with_the_request_id_that_leads_to_the_logged_cause(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let server = Server::start(&app.database_url, &[]).await;
    let client = reqwest::Client::new();
    let audit = || {
        client
            .get(format!("{}/v1/audit", server.base))
            .bearer_auth(&owner)
    };
    TestApp::reply(audit()).await.expect(200);
    app.execute_sql("DROP TABLE audit_log").await;
    let failed = TestApp::reply(audit()).await;
    failed.expect_error(500, "internal");
    let request_id = failed.body["error"]["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(request_id.len(), 26, "{}", failed.text);
    assert_eq!(failed.headers["x-request-id"], request_id.as_str());
    assert_eq!(
        failed.body,
        json!({"error": {"code": "internal", "message": "internal error", "request_id": request_id}}),
        "nothing but the code, a message and the request id"
    );
    for detail in ["audit_log", "sqlx", "exist", "table", "SELECT"] {
        assert!(!failed.text.contains(detail), "{detail}: {}", failed.text);
    }
    let failures = server.logged("request failed").await;
    let logged = failures
        .iter()
        .find(|l| l["fields"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("request id {request_id} not in {failures:?}"));
    assert_eq!(logged["level"], "ERROR", "{logged}");
    let cause = logged["fields"]["error"].as_str().unwrap_or("");
    assert!(cause.contains("audit_log"), "the cause is logged: {logged}");
    let requests = server.logged("request").await;
    assert!(
        requests
            .iter()
            .any(|r| r["fields"]["request_id"] == request_id.as_str()
                && r["fields"]["status"] == 500),
        "{requests:?}"
    );
}

/// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) stored for `email`.
async fn stored_hash(app: &TestApp, email: &str) -> String {
    let hashes = app
        .query_strings(&format!(
            "SELECT password_hash FROM users WHERE email = '{email}'"
        ))
        .await;
    assert_eq!(hashes.len(), 1, "{email}");
    hashes[0].clone()
}

#[track_caller]
fn assert_owasp_argon2id(phc: &str, password: &str) {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let parsed = PasswordHash::new(phc).unwrap_or_else(|e| panic!("{phc}: {e}"));
    assert_eq!(parsed.algorithm.as_str(), "argon2id", "{phc}");
    assert_eq!(parsed.version, Some(0x13), "{phc}");
    let params = argon2::Params::try_from(&parsed).unwrap();
    assert_eq!(
        (params.m_cost(), params.t_cost(), params.p_cost()),
        (19 * 1024, 2, 1),
        "19 MiB, 2 passes, 1 lane: {phc}"
    );
    let mut salt = [0u8; 64];
    assert!(
        parsed.salt.unwrap().decode_b64(&mut salt).unwrap().len() >= 16,
        "{phc}"
    );
    assert_eq!(parsed.hash.unwrap().len(), 32, "{phc}");
    assert!(
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        "the stored hash is the password's"
    );
}

/// README: "Passwords are hashed with Argon2id (19 MiB, 2 passes, 1 lane)", for a new user and
/// after a password change alike.
async fn passwords_are_stored_as_argon2id_with_19_mib_2_passes_and_1_lane(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, _) = app.signed_in(&owner, "admin@acme.example", "admin").await;
    assert_owasp_argon2id(&stored_hash(&app, "admin@acme.example").await, PASSWORD);
    let changed = "a brand new harbour passphrase";
    app.post_as(
        &access,
        "/v1/auth/password",
        json!({"current_password": PASSWORD, "new_password": changed}),
    )
    .await
    .expect(204);
    assert_owasp_argon2id(&stored_hash(&app, "admin@acme.example").await, changed);
}

/// SECURITY.md: "at most 2 × cores hashes run at once". A burst of logins, several times that,
/// never has more Argon2 runs going than the default gate allows, and fills it.
async fn at_most_two_password_hashes_per_core_run_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let capacity = app.argon2.capacity();
    assert_eq!(capacity, (cores * 2).clamp(2, 32));
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "admin@acme.example", "admin").await;
    let app = Arc::new(app);
    let logins: Vec<_> = (0..capacity * 4)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.login("admin@acme.example", PASSWORD).await })
        })
        .collect();
    for login in logins {
        login.await.unwrap().expect(200);
    }
    assert_eq!(
        app.argon2.peak(),
        capacity,
        "more Argon2 runs at once than the cap, or the burst never filled it"
    );
}

/// SECURITY.md: "a request that waits over 5 s for one gets `503 busy`". Here the wait is
/// narrowed to 300 ms and the only turn is held; logins and user creation wait that long, then
/// answer 503 `busy` with `Retry-After`, and work again once the turn is free.
async fn a_request_that_waits_too_long_for_password_hashing_is_503_busy(backend: Backend) {
    let wait = Duration::from_millis(300);
    let gate = Argon2Gate::new(1, wait);
    let Some(app) = TestApp::spawn_custom(backend, &[], move |rocket| rocket.manage(gate)).await
    else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "admin@acme.example", "admin").await;
    let turn = app.argon2.turn().await.expect("the only turn");
    let started = Instant::now();
    let login = tokio::time::timeout(
        Duration::from_secs(5),
        app.login("admin@acme.example", PASSWORD),
    )
    .await
    .expect("a login waited for a hashing turn without end");
    let waited = started.elapsed();
    login.expect_error(503, "busy");
    assert_eq!(login.headers["retry-after"], "1");
    assert!(
        waited >= wait && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let create = json!({"email": "staff@acme.example", "name": "Staff", "role": "staff", "password": PASSWORD});
    app.post_as(&owner, "/v1/users", create.clone())
        .await
        .expect_error(503, "busy");
    drop(turn);
    app.login("admin@acme.example", PASSWORD).await.expect(200);
    app.post_as(&owner, "/v1/users", create).await.expect(201);
}

/// Sessions ever started for `email`'s user.
async fn sessions_of(app: &TestApp, email: &str) -> i64 {
    app.query_i64(&format!(
        "SELECT COUNT(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = '{email}')"
    ))
    .await
}

async fn lockout_notices(app: &TestApp) -> i64 {
    app.query_i64("SELECT COUNT(*) FROM outbox WHERE kind = 'account_locked'")
        .await
}

/// SECURITY.md: "the lock is judged again under the user's row lock before a session starts".
/// A login with the right password reads the account (not locked), then waits for its password
/// check; meanwhile the fifth wrong password, on another berth instance, locks the account.
/// The login must not start a session.
async fn a_login_whose_password_check_straddles_a_lockout_starts_no_session(backend: Backend) {
    let gate = Argon2Gate::new(1, Duration::from_secs(30));
    let Some(app) = TestApp::spawn_custom(backend, &[], move |rocket| rocket.manage(gate)).await
    else {
        return;
    };
    let email = "guide@acme.example";
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, email, "guide").await;
    let other = app.another_instance(&[]).await;
    let wrong = "not the guide's password";
    // Four failures: one short of the lock (waiting out the backoff after the third).
    for n in 1..=4 {
        other.login(email, wrong).await.expect(401);
        if n == 3 {
            app.clock.advance(chrono::Duration::seconds(6));
        }
    }
    app.clock.advance(chrono::Duration::seconds(31));

    let gate = app.argon2.clone();
    let turn = gate.turn().await.expect("the only turn");
    let app = Arc::new(app);
    let right = tokio::spawn({
        let app = app.clone();
        async move { app.login(email, PASSWORD).await }
    });
    until("the right login waits for its password check", || {
        gate.waiting() == 1
    })
    .await;
    other.login(email, wrong).await.expect(401);
    assert_eq!(
        lockout_notices(&app).await,
        1,
        "the fifth failure locked it"
    );
    drop(turn);
    right.await.unwrap().expect_error(401, "unauthorized");
    assert_eq!(sessions_of(&app, email).await, 0, "a session started");
    app.login(email, PASSWORD)
        .await
        .expect_error(401, "unauthorized");
    app.clock.advance(chrono::Duration::minutes(16));
    app.login(email, PASSWORD).await.expect(200);
}

/// Many wrong and right logins race around the lock threshold (the account one failure short
/// of it), round after round. Whatever the order, a round never both locks the account and
/// starts a session: a session can only start before the lock, and then it clears the failures
/// so the lock cannot come. The turns are queued wrong logins first, so the lock usually lands
/// while the right logins are still checking passwords they read before it.
async fn racing_wrong_and_right_logins_never_start_a_session_on_a_locked_account(backend: Backend) {
    let gate = Argon2Gate::new(2, Duration::from_secs(30));
    let Some(app) = TestApp::spawn_custom(backend, &[], move |rocket| rocket.manage(gate)).await
    else {
        return;
    };
    let email = "staff@acme.example";
    let owner = app.operator("Acme Tours").await;
    let user = app.add_user(&owner, email, "staff").await;
    let user = berth::domain::ids::UserId::parse(&user).unwrap();
    let app = Arc::new(app);
    let (wrongs, rights) = (4, 8);
    let mut locked_rounds = 0;
    for round in 0..6 {
        // A new window for per-address failure counts, and any lock from the last round over.
        app.clock.advance(chrono::Duration::minutes(16));
        let mut tx = app.store.begin_write().await.unwrap();
        berth::storage::accounts::record_failure(&mut tx, &user, 4, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (sessions, notices) = (sessions_of(&app, email).await, lockout_notices(&app).await);

        let turns = [app.argon2.turn().await, app.argon2.turn().await];
        let login = |password: &'static str| {
            let app = app.clone();
            tokio::spawn(async move { app.login(email, password).await.status.as_u16() })
        };
        let gate = app.argon2.clone();
        let wrong: Vec<_> = (0..wrongs)
            .map(|_| login("not the staff password"))
            .collect();
        until("the wrong logins queue", || gate.waiting() == wrongs).await;
        let right: Vec<_> = (0..rights).map(|_| login(PASSWORD)).collect();
        until("every login queues", || gate.waiting() == wrongs + rights).await;
        drop(turns);
        for login in wrong {
            assert_eq!(login.await.unwrap(), 401, "round {round}");
        }
        let mut signed_in = 0;
        for login in right {
            match login.await.unwrap() {
                200 => signed_in += 1,
                401 => {}
                status => panic!("round {round}: a right login answered {status}"),
            }
        }
        let started = sessions_of(&app, email).await - sessions;
        let locked = lockout_notices(&app).await - notices;
        assert_eq!(started, signed_in, "round {round}");
        assert!(locked <= 1, "round {round}: locked {locked} times");
        assert!(
            locked == 0 || started == 0,
            "round {round}: the account was locked and {started} sessions started anyway"
        );
        locked_rounds += locked;
    }
    assert!(
        locked_rounds > 0,
        "no round locked the account: the race never reached the threshold"
    );
}
