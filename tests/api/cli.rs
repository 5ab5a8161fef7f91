//! The `berth` binary itself: `operator create`, `check`, `migrate`, and the demo start-up that
//! the README's first command shows a newcomer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, Timelike};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    operator_create_prints_a_working_token_last,
    operator_create_with_password_stdin_makes_the_owner_user,
    berth_check_detects_a_corrupted_departure,
    the_demo_start_prints_commands_that_book_seats,
    the_logs_of_a_booking_flow_carry_no_personal_data_or_secrets,
);

/// Runs `command` with `input` on its standard input.
fn with_stdin(command: &mut Command, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn berth(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .env("BERTH_DATABASE_URL", database_url)
        .env("ROCKET_PROFILE", "debug")
        .env("BERTH_LOG", "warn")
        .stdin(Stdio::null());
    command
}

async fn operator_create_prints_a_working_token_last(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let output = berth(&app.database_url)
        .args([
            "operator",
            "create",
            "--name",
            "Harbour Tours",
            "--email",
            "ops@harbour.example",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("brt_"), "{stdout}");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains(&token),
        "the token is never logged"
    );
    app.post_as(&token, "/v1/tours", json!({}))
        .await
        .expect_error(422, "validation_failed");
    app.get_as(&token, "/v1/tours").await.expect(200);

    let invalid = berth(&app.database_url)
        .args(["operator", "create", "--name", "X", "--email", "nope"])
        .output()
        .unwrap();
    assert!(!invalid.status.success());
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("email"));
}

async fn berth_check_detects_a_corrupted_departure(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    app.hold(&departure, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);
    let healthy = berth(&app.database_url).arg("check").output().unwrap();
    assert_eq!(
        healthy.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&healthy.stdout)
    );

    app.execute_sql(&format!(
        "UPDATE departures SET seats_taken = seats_taken + 2 WHERE id = '{departure}'"
    ))
    .await;
    let corrupt = berth(&app.database_url).arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&corrupt.stdout);
    assert_eq!(corrupt.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "VIOLATION departure {departure}: seats_taken 5 but live bookings hold 3"
        )),
        "{stdout}"
    );

    // A booking whose departure is gone (MySQL keeps no foreign key for it since 0053).
    if backend == Backend::MySql {
        app.execute_sql(&format!(
            "UPDATE departures SET seats_taken = seats_taken - 2 WHERE id = '{departure}'"
        ))
        .await;
        app.execute_sql(&format!(
            "UPDATE bookings SET departure_id = '01ZZZZZZZZZZZZZZZZZZZZZZZZ' WHERE departure_id = '{departure}'"
        ))
        .await;
        let orphan = berth(&app.database_url).arg("check").output().unwrap();
        let stdout = String::from_utf8_lossy(&orphan.stdout);
        assert_eq!(orphan.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("names a departure that does not exist"),
            "{stdout}"
        );
    }

    let migrate = berth(&app.database_url).arg("migrate").output().unwrap();
    assert!(migrate.status.success());
}

/// The API token `berth operator create` prints on its last line (it must have succeeded).
pub fn token_printed_by(created: std::process::Output) -> String {
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    String::from_utf8(created.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

/// Waits (up to 10 s, then fails) until a berth started on `base` answers.
pub async fn wait_until_up(base: &str) {
    let client = reqwest::Client::new();
    let health = format!("{base}/health");
    let what = format!("berth answers on {base}");
    crate::support::wait::eventually(&what, std::time::Duration::from_secs(10), || async {
        client.get(&health).send().await.ok().map(drop)
    })
    .await;
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `berth serve` and collects its stdout until Rocket reports lift-off.
fn serve(database_url: &str, port: u16) -> (std::process::Child, String) {
    let mut child = berth(database_url)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "normal")
        .env("ROCKET_CLI_COLORS", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        stdout.push_str(&line);
        stdout.push('\n');
        if line.contains("Rocket has launched") {
            break;
        }
    }
    assert!(
        stdout.contains("Rocket has launched"),
        "berth did not start: {stdout}"
    );
    // Keep reading: Rocket logs every request to stdout, and a closed pipe would kill it.
    std::thread::spawn(move || lines.for_each(drop));
    (child, stdout)
}

fn after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {text}"))
        + marker.len();
    text[start..]
        .split(['\'', '/', ' ', '"', '\n'])
        .next()
        .unwrap()
}

async fn the_demo_start_prints_commands_that_book_seats(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (mut server, stdout) = serve(&app.database_url, port);
    let token = after(&stdout, "API token (shown once): ").to_owned();
    let tour = after(&stdout, "/v1/tours/").to_owned();
    // The printed reseller key lists the demo tour over OCTO, with the printed command.
    let reseller_key = after(&stdout, "reseller's key (shown once): ").to_owned();
    assert!(
        stdout.contains(&format!(
            "curl -s {base}/octo/products -H 'Authorization: Bearer {reseller_key}'"
        )),
        "{stdout}"
    );
    let products: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/octo/products"))
        .bearer_auth(&reseller_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(products[0]["id"], tour.as_str(), "{products}");
    let departure = after(&stdout, "\"departure_id\":\"").to_owned();
    assert!(
        stdout.contains(&format!("curl -s '{base}/v1/tours/{tour}/availability'")),
        "{stdout}"
    );

    let client = reqwest::Client::new();
    // The printed tour page URL opens the demo tour's page.
    let page_url = format!("{base}/tours/{tour}");
    assert!(
        stdout.contains(&format!("Tour page in a browser: {page_url}\n")),
        "{stdout}"
    );
    // The printed owner password signs in to the printed console URL (over the API's login,
    // the console's own form is driven in tests/web/console.rs).
    assert!(
        stdout.contains(&format!(
            "Operator console: {base}/console, sign in as demo@example.com with password "
        )),
        "{stdout}"
    );
    let password = after(&stdout, "with password ").to_owned();
    let login = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "demo@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let session: serde_json::Value = login.json().await.unwrap();
    assert_eq!(session["role"], "owner");
    let page = client.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("<h1>Lisbon harbour sunset cruise</h1>"));
    let availability = |client: reqwest::Client, url: String| async move {
        let body: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
        body
    };
    let before = availability(
        client.clone(),
        format!("{base}/v1/tours/{tour}/availability"),
    )
    .await;
    let listed = before["departures"].as_array().unwrap();
    let first = listed
        .iter()
        .find(|o| o["id"] == departure.as_str())
        .expect("the printed departure is listed");
    assert_eq!(first["available"], 20);
    // Adults at 35.00, or 42.00 on a weekend sunset (the demo's price rule): the real clock
    // decides which the next departure is.
    let adult = first["prices"][0]["price"].as_i64().unwrap();
    let starts: chrono::DateTime<chrono::FixedOffset> =
        first["local_starts_at"].as_str().unwrap().parse().unwrap();
    let weekend_sunset = matches!(
        starts.weekday(),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    ) && starts.hour() >= 17;
    assert_eq!(adult, if weekend_sunset { 4200 } else { 3500 }, "{first}");

    let hold: serde_json::Value = client
        .post(format!("{base}/v1/bookings"))
        .json(
            &json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 2}],
                      "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hold["total"], 2 * adult);
    // The printed promo code takes 10 % off, once per traveler email.
    assert!(stdout.contains("\"promo_code\":\"WELCOME10\""), "{stdout}");
    let discounted = |email: &'static str| {
        let (client, base, departure) = (client.clone(), base.clone(), departure.clone());
        async move {
            let reply = client
                .post(format!("{base}/v1/bookings"))
                .json(&json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 1}],
                              "customer": {"name": "Grace Hopper", "email": email}, "promo_code": "welcome10"}))
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            let body: serde_json::Value = reply.json().await.unwrap();
            (status, body)
        }
    };
    let (status, promo) = discounted("grace@example.com").await;
    assert_eq!(
        (status, &promo["discount"]),
        (201, &json!(adult / 10)),
        "{promo}"
    );
    let (status, again) = discounted("GRACE@example.com").await;
    assert_eq!(
        (status, &again["error"]["code"]),
        (422, &json!("promo_code_customer_limit"))
    );
    let confirmed: serde_json::Value = client
        .post(format!(
            "{base}/v1/bookings/{}/confirm",
            hold["reference"].as_str().unwrap()
        ))
        .header("X-Booking-Token", hold["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed["status"], "confirmed");
    let after_booking: serde_json::Value = client
        .get(format!("{base}/v1/departures/{departure}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        after_booking["available"], 17,
        "two confirmed, one held with the code"
    );
    let manifest = client
        .get(format!("{base}/v1/departures/{departure}/manifest"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
    server.kill().ok();
    server.wait().ok();

    // A second start on the same database seeds nothing and shows no token.
    let (mut again, stdout) = serve(&app.database_url, free_port());
    again.kill().ok();
    again.wait().ok();
    assert!(!stdout.contains("API token"), "{stdout}");
}

async fn the_logs_of_a_booking_flow_carry_no_personal_data_or_secrets(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner_password = "leak check owner passphrase";
    let created = with_stdin(
        berth(&app.database_url).args([
            "operator",
            "create",
            "--name",
            "Leak Check Tours",
            "--email",
            "ops@leakcheck.example",
            "--password-stdin",
        ]),
        &format!("{owner_password}\n"),
    );
    let operator_token = token_printed_by(created);
    let logs = tempfile::tempdir().unwrap();
    let (out, err) = (
        logs.path().join("stdout.log"),
        logs.path().join("stderr.log"),
    );
    let port = free_port();
    let mut server = berth(&app.database_url)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "normal")
        .env("BERTH_LOG", "debug")
        .env("BERTH_LOG_FORMAT", "json")
        .env("BERTH_MAIL_DIR", logs.path().join("mail"))
        .env("BERTH_SMS_DIR", logs.path().join("sms"))
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&base).await;
    let client = reqwest::Client::new();
    let (email, phone, name) = (
        "ada.leakwell@example.com",
        "+351 912 345 678",
        "Ada Leakwell",
    );
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response
                .json::<serde_json::Value>()
                .await
                .unwrap_or_default(),
        )
    };
    let (_, tour) = send(client.post(format!("{base}/v1/tours")).bearer_auth(&operator_token).json(&json!({
        "name": "Leak check walk", "timezone": "Europe/Lisbon", "duration_minutes": 60, "currency": "EUR",
        "units": [{"code": "adult", "label": "Adult", "price": 2000}]}))).await;
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let (_, departure) = send(
        client
            .post(format!(
                "{base}/v1/tours/{}/departures",
                tour["id"].as_str().unwrap()
            ))
            .bearer_auth(&operator_token)
            .json(&json!({"starts_at": starts_at, "capacity": 5})),
    )
    .await;
    let (status, hold) = send(client.post(format!("{base}/v1/bookings")).header("Idempotency-Key", "leak-check-key-123")
        .json(&json!({"departure_id": departure["id"], "items": [{"unit": "adult", "quantity": 1}],
                      "customer": {"name": name, "email": email, "phone": phone}}))).await;
    assert_eq!(status, 201, "{hold}");
    let (reference, access) = (
        hold["reference"].as_str().unwrap(),
        hold["access_token"].as_str().unwrap().to_owned(),
    );
    let booking = format!("{base}/v1/bookings/{reference}");
    assert_eq!(
        send(
            client
                .post(format!("{booking}/confirm"))
                .header("X-Booking-Token", &access)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        send(client.get(&booking).header("X-Booking-Token", &access))
            .await
            .0,
        200
    );
    assert_eq!(
        send(
            client
                .get(&booking)
                .header("X-Booking-Token", "bkt_wrong-token-in-logs")
        )
        .await
        .0,
        404
    );
    assert_eq!(
        send(
            client
                .get(format!("{base}/v1/tours"))
                .bearer_auth("brt_wrong-token-in-logs")
        )
        .await
        .0,
        401
    );
    assert_eq!(
        send(
            client
                .post(format!("{booking}/cancel"))
                .header("X-Booking-Token", &access)
        )
        .await
        .0,
        200
    );
    // Let the outbox dispatcher (every 2 s) process the messages (the confirmation is dropped as
    // stale: the booking was cancelled before it went out; the cancellation is sent).
    let mails = |at_least: usize| {
        let dir = logs.path().join("mail");
        async move {
            for _ in 0..100 {
                let texts: Vec<String> = std::fs::read_dir(&dir)
                    .map(|d| {
                        d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
                            .collect()
                    })
                    .unwrap_or_default();
                if texts.len() >= at_least {
                    return texts;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let log = std::fs::read_to_string(dir.parent().unwrap().join("stderr.log"))
                .unwrap_or_default();
            panic!("fewer than {at_least} emails were sent:\n{log}");
        }
    };
    let sent = mails(1).await.len();
    // The owner signs in: a wrong password first, then the right one, then a refresh.
    let login = |password: &'static str| {
        client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"email": "ops@leakcheck.example", "password": password}))
    };
    let wrong_password = "wrong leak check passphrase";
    assert_eq!(send(login(wrong_password)).await.0, 401);
    let (status, session) = send(login(owner_password)).await;
    assert_eq!(status, 200, "{session}");
    let (status, refreshed) = send(
        client
            .post(format!("{base}/v1/auth/refresh"))
            .json(&json!({"refresh_token": session["refresh_token"]})),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    // A password reset, with the code from the email.
    let (status, _) = send(
        client
            .post(format!("{base}/v1/auth/password-reset"))
            .json(&json!({"email": "ops@leakcheck.example"})),
    )
    .await;
    assert_eq!(status, 202);
    let reset_mail = mails(sent + 1)
        .await
        .into_iter()
        .find(|m| m.contains("Your code: "))
        .expect("the reset email");
    let at = reset_mail.find("Your code: ").unwrap() + "Your code: ".len();
    let code: String = reset_mail[at..].chars().take(8).collect();
    let new_password = "a new leak check passphrase";
    let (status, reply) = send(client.post(format!("{base}/v1/auth/password-reset/confirm")).json(
        &json!({"email": "ops@leakcheck.example", "code": code, "new_password": new_password}),
    ))
    .await;
    assert_eq!(status, 204, "{reply}");
    server.kill().ok();
    server.wait().ok();
    let text = std::fs::read_to_string(&out).unwrap() + &std::fs::read_to_string(&err).unwrap();
    assert!(
        text.contains("booking held") && text.contains("message processed"),
        "the flow was logged:\n{text}"
    );
    // BERTH_LOG_FORMAT=json: berth's own lines are JSON, and every request has one line with its
    // id, route, status and latency.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&err)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .collect();
    assert!(
        requests
            .iter()
            .any(|r| r["fields"]["route"] == "login" && r["fields"]["status"] == 401),
        "{lines:?}"
    );
    for request in &requests {
        let fields = &request["fields"];
        assert_eq!(
            fields["request_id"].as_str().map(str::len),
            Some(26),
            "{request}"
        );
        assert!(
            fields["latency_ms"].is_number() && fields["status"].is_number(),
            "{request}"
        );
    }
    for secret in [
        email,
        "912345678",
        "912 345 678",
        name,
        &operator_token,
        &access,
        "bkt_wrong-token-in-logs",
        "brt_wrong-token-in-logs",
        "leak-check-key-123",
        owner_password,
        wrong_password,
        new_password,
        &code,
        "ops@leakcheck.example",
        session["access_token"].as_str().unwrap(),
        session["refresh_token"].as_str().unwrap(),
        refreshed["access_token"].as_str().unwrap(),
        refreshed["refresh_token"].as_str().unwrap(),
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} appears in the logs:\n{text}"
        );
    }
}

async fn operator_create_with_password_stdin_makes_the_owner_user(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let args = [
        "operator",
        "create",
        "--name",
        "Harbour Tours",
        "--email",
        "Owner@Harbour.example",
        "--password-stdin",
    ];
    let weak = with_stdin(berth(&app.database_url).args(args), "password1234\n");
    assert!(!weak.status.success());
    let stderr = String::from_utf8_lossy(&weak.stderr);
    assert!(
        stderr.contains("password") && !stderr.contains("password1234"),
        "{stderr}"
    );
    let password = "a tide table of 2026 sailings";
    let output = with_stdin(
        berth(&app.database_url).args(args),
        &format!("{password}\n"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !stdout.contains(password) && !String::from_utf8_lossy(&output.stderr).contains(password)
    );
    let token = stdout.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("brt_"), "{stdout}");
    let login = app.login("owner@harbour.example", password).await;
    login.expect(200);
    assert_eq!(login.body["role"], "owner");
    let users = app.get_as(&token, "/v1/users").await;
    assert_eq!(
        users.body.as_array().map(Vec::len),
        Some(1),
        "the weak attempt left no user"
    );
    // A second operator with the same owner email is refused whole: no operator without owner.
    let again = with_stdin(
        berth(&app.database_url).args(args),
        &format!("{password}\n"),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("email"));
    // Neither the weak nor the duplicate attempt left an operator behind.
    let operators: i64 = berth::storage::catalogue::count_operators(&app.store)
        .await
        .unwrap();
    assert_eq!(operators, 1);
}
