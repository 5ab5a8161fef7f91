//! Confirmations by email and SMS through the transactional outbox: file transports, a real SMTP
//! server process, a fake Twilio speaking its wire format, outages, retries and no duplicates.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::calendar::{departure_at, hours_east, next_dst_transitions};
use crate::support::fake_twilio::FakeTwilio;
use crate::support::wait::eventually;
use crate::support::{Backend, TestApp};

on_both_backends!(
    a_confirmation_sends_one_email_with_a_calendar_entry_and_one_sms,
    a_cancelled_departure_tells_every_traveler,
    smtp_delivers_to_a_real_server_and_an_outage_loses_nothing,
    twilio_failures_retry_with_backoff_and_never_duplicate,
    permanent_failures_stop_and_operators_can_retry_them,
    two_dispatchers_never_send_a_message_twice,
    reminders_go_out_a_day_before_even_across_dst,
    twilio_delivery_reports_need_a_valid_signature,
    an_expired_hold_can_be_told_by_email,
    a_confirmation_delayed_past_a_cancellation_is_not_sent,
    a_traveler_who_asks_in_spanish_is_written_to_in_spanish,
);

async fn dispatch(app: &TestApp) -> usize {
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch")
}

/// Dispatches until nothing is left to send: a message that failed for a passing reason (the
/// database busy under load, say) waits for its retry, so the clock moves past it, a few times at
/// most.
async fn dispatch_all(app: &TestApp) {
    for _ in 0..5 {
        dispatch(app).await;
        let waiting = app
            .query_i64("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            .await;
        if waiting == 0 {
            return;
        }
        app.clock.advance(Duration::minutes(15));
    }
    panic!("messages still waiting after five rounds of retries");
}

async fn confirmed_booking(
    app: &TestApp,
    departure: &str,
    phone: Option<&str>,
) -> (String, String) {
    let mut customer = json!({"name": "Ada Lovelace", "email": "ada@example.com"});
    if let Some(phone) = phone {
        customer["phone"] = json!(phone);
    }
    let hold = app
        .post("/v1/bookings", json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 2}], "customer": customer}))
        .await;
    hold.expect(201);
    let (reference, token) = (hold.str("reference"), hold.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &token)
        .await
        .expect(200);
    (reference, token)
}

fn mail_files(app: &TestApp) -> Vec<String> {
    let dir = app.files.path().join("mail");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

fn sms_lines(app: &TestApp) -> Vec<Value> {
    std::fs::read_to_string(app.files.path().join("sms").join("sms.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn messages(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let reply = app.get_as(token, &format!("/v1/messages{query}")).await;
    reply.expect(200);
    reply.body.as_array().unwrap().clone()
}

async fn a_confirmation_sends_one_email_with_a_calendar_entry_and_one_sms(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let (reference, access) = confirmed_booking(&app, &departure, Some("+351 912 345 678")).await;
    // A replayed confirmation (same key) and a second confirm attempt enqueue nothing more.
    let replay = app
        .client
        .post(format!("{}/v1/bookings/{reference}/confirm", app.base))
        .header("X-Booking-Token", &access);
    TestApp::reply(replay)
        .await
        .expect_error(409, "invalid_transition");
    // A booking without a phone gets email only.
    confirmed_booking(&app, &departure, None).await;

    let queued = messages(&app, &token, "?status=pending").await;
    assert_eq!(queued.len(), 3, "two emails and one SMS: {queued:?}");
    assert_eq!(dispatch(&app).await, 3);
    assert_eq!(dispatch(&app).await, 0, "nothing is sent twice");

    let mails = mail_files(&app);
    assert_eq!(mails.len(), 2);
    let mail = mails
        .iter()
        .find(|m| m.contains(&reference))
        .expect("the confirmation");
    assert!(
        mail.contains(&format!(
            "Subject: Booking {reference} confirmed: Harbour cruise"
        )),
        "{mail}"
    );
    assert!(mail.contains("To: ada@example.com"));
    assert!(mail.contains("Content-Type: text/plain") && mail.contains("Content-Type: text/html"));
    assert!(
        mail.contains("BEGIN:VCALENDAR") && mail.contains("filename=\"booking.ics\""),
        "{mail}"
    );
    let starts_at = app.get(&format!("/v1/departures/{departure}")).await.body["starts_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let dtstart = chrono::DateTime::parse_from_rfc3339(&starts_at)
        .unwrap()
        .format("DTSTART:%Y%m%dT%H%M%SZ")
        .to_string();
    assert!(mail.contains(&dtstart), "{dtstart} in {mail}");

    let sms = sms_lines(&app);
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["to"], "+351912345678");
    let body = sms[0]["body"].as_str().unwrap();
    assert!(
        body.contains(&reference) && body.contains("Harbour cruise") && body.chars().count() <= 160,
        "{body}"
    );

    let sent = messages(&app, &token, "?status=sent").await;
    assert_eq!(sent.len(), 3);
    let email_id = sent
        .iter()
        .find(|m| m["channel"] == "email" && mail.contains(m["id"].as_str().unwrap()))
        .map(|m| m["id"].as_str().unwrap().to_owned());
    let email_id = email_id.expect("the email's outbox id is in its Message-ID");
    assert!(
        mail.contains(&format!("Message-ID: <{email_id}@localhost>")),
        "{mail}"
    );
    assert!(sent
        .iter()
        .all(|m| m["kind"] == "booking_confirmed" && m["attempts"] == 1));
    app.get_as(&token, "/v1/messages?status=lost")
        .await
        .expect_error(422, "validation_failed");
    let stranger = app.operator("Stranger").await;
    assert!(
        messages(&app, &stranger, "").await.is_empty(),
        "another operator sees none of them"
    );
    // Sent messages are kept 30 days for the operator's history, then purged.
    app.clock.advance(Duration::days(29));
    berth::workers::idempotency_purge::run_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(messages(&app, &token, "?status=sent").await.len(), 3);
    app.clock.advance(Duration::days(2));
    berth::workers::idempotency_purge::run_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert!(messages(&app, &token, "?status=sent").await.is_empty());
}

async fn a_cancelled_departure_tells_every_traveler(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    confirmed_booking(&app, &departure, None).await;
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    app.post_as(
        &token,
        &format!("/v1/departures/{departure}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    dispatch(&app).await;
    let kinds: Vec<String> = messages(&app, &token, "?status=sent")
        .await
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "departure_cancelled").count(),
        3,
        "two emails and the held booking's SMS: {kinds:?}"
    );
    assert!(
        mail_files(&app)
            .iter()
            .filter(|m| m.contains("Subject: Departure cancelled"))
            .count()
            == 2
    );
}

/// A real SMTP server process (aiosmtpd) writing each message into a Maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    fn available() -> bool {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        let found = if ok {
            Ok(())
        } else {
            Err("no aiosmtpd, the real SMTP server: pip install aiosmtpd".to_owned())
        };
        crate::support::requirement::require("smtp", found).is_some()
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    async fn start(port: u16) -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let listens = || async {
            let connected = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
            connected.ok().map(drop)
        };
        let what = "aiosmtpd listens";
        crate::support::wait::eventually(what, std::time::Duration::from_secs(10), listens).await;
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    fn received(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.path().join("box").join("new")) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp_delivers_to_a_real_server_and_an_outage_loses_nothing(backend: Backend) {
    if !SmtpServer::available() {
        return;
    }
    let port = SmtpServer::free_port();
    let settings = [
        ("mail_transport", json!("smtp")),
        ("smtp_url", json!(format!("smtp://127.0.0.1:{port}"))),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let app = Arc::new(app);
    let (token, _, departure) = app.fresh_departure(50).await;
    // The mail server is down while 20 bookings are confirmed.
    for _ in 0..20 {
        confirmed_booking(&app, &departure, None).await;
    }
    assert_eq!(dispatch(&app).await, 20);
    let waiting = messages(&app, &token, "?status=pending").await;
    assert_eq!(waiting.len(), 20, "a connection refused is transient");
    assert!(waiting
        .iter()
        .all(|m| m["attempts"] == 1 && m["last_error"].is_string()));
    assert_eq!(dispatch(&app).await, 0, "retries wait for their backoff");

    let server = SmtpServer::start(port).await;
    app.clock.advance(Duration::minutes(5));
    assert_eq!(dispatch(&app).await, 20);
    assert_eq!(dispatch(&app).await, 0);
    let received = server.received();
    assert_eq!(received.len(), 20, "every message delivered exactly once");
    let first = &received[0];
    assert!(
        first.contains("To: ada@example.com") && first.contains("Subject: Booking "),
        "{first}"
    );
    assert!(
        first.contains("text/plain")
            && first.contains("text/html")
            && first.contains("BEGIN:VCALENDAR")
    );
    assert_eq!(messages(&app, &token, "?status=sent").await.len(), 20);
    let _ = server.port;
}

fn twilio_settings(fake: &FakeTwilio) -> Vec<(&'static str, Value)> {
    vec![
        ("sms_transport", json!("twilio")),
        (
            "twilio_account_sid",
            json!("AC0123456789abcdef0123456789abcdef"),
        ),
        ("twilio_auth_token", json!("twilio-secret-token")),
        ("twilio_from", json!("+15005550006")),
        ("twilio_api_base", json!(fake.base)),
        ("twilio_timeout_seconds", json!(1)),
    ]
}

async fn twilio_failures_retry_with_backoff_and_never_duplicate(backend: Backend) {
    let fake = FakeTwilio::start(vec![429, 500]).await;
    let Some(app) = TestApp::spawn_with(backend, &twilio_settings(&fake)).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let (reference, _) = confirmed_booking(&app, &departure, Some("+351912345678")).await;

    dispatch(&app).await;
    assert_eq!(fake.count(), 1, "429: try later");
    let sms = |all: Vec<Value>| all.into_iter().find(|m| m["channel"] == "sms").unwrap();
    let first = sms(messages(&app, &token, "").await);
    assert_eq!(
        (first["status"].as_str(), first["attempts"].as_i64()),
        (Some("pending"), Some(1))
    );
    assert!(first["last_error"].as_str().unwrap().contains("429"));
    dispatch(&app).await;
    assert_eq!(fake.count(), 1, "not before the backoff");

    // The backoff grows: 30 s after the first failure (plus jitter) but not yet 60 s after
    // the second.
    app.clock.advance(Duration::seconds(46));
    dispatch(&app).await;
    assert_eq!(fake.count(), 2, "500: try later");
    app.clock.advance(Duration::seconds(46));
    dispatch(&app).await;
    assert_eq!(fake.count(), 2, "the second wait is longer than the first");
    app.clock.advance(Duration::seconds(45));
    dispatch(&app).await;
    assert_eq!(fake.count(), 3, "then it is sent");
    app.clock.advance(Duration::hours(1));
    dispatch(&app).await;
    assert_eq!(fake.count(), 3, "sent once, never again");
    assert_eq!(sms(messages(&app, &token, "").await)["status"], "sent");

    // A timeout after the request left may mean Twilio sent it: no automatic retry.
    fake.script(vec![0]);
    confirmed_booking(&app, &departure, Some("+351912345678")).await;
    dispatch(&app).await;
    assert_eq!(fake.count(), 4);
    app.clock.advance(Duration::hours(1));
    dispatch(&app).await;
    assert_eq!(fake.count(), 4, "not sent again by itself");
    let unknown = messages(&app, &token, "?status=failed").await;
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("outcome unknown"),
        "{unknown:?}"
    );

    let request = fake.requests.lock().unwrap()[2].clone();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    );
    use base64_check::encode;
    assert_eq!(
        request.authorization,
        format!(
            "Basic {}",
            encode("AC0123456789abcdef0123456789abcdef:twilio-secret-token")
        )
    );
    let field = |name: &str| {
        request
            .form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("To"), "+351912345678");
    assert_eq!(field("From"), "+15005550006");
    assert!(field("Body").contains(&reference));
}

/// Standard base64, enough to check a Basic authorization header.
mod base64_check {
    pub fn encode(text: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

async fn permanent_failures_stop_and_operators_can_retry_them(backend: Backend) {
    let fake = FakeTwilio::start(vec![400]).await;
    let mut settings = twilio_settings(&fake);
    settings.push(("outbox_max_attempts", json!(2)));
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    confirmed_booking(&app, &departure, Some("+351912345678")).await;
    dispatch(&app).await;
    let failed = messages(&app, &token, "?status=failed").await;
    assert_eq!(failed.len(), 1, "an invalid number fails at once");
    let error = failed[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("21211") && !error.contains("912345678"),
        "no personal data: {error}"
    );

    // After repeated transient failures a message is given up as dead, not dropped.
    fake.script(vec![500, 500]);
    let id = failed[0]["id"].as_str().unwrap().to_owned();
    let retried = app
        .post_as(&token, &format!("/v1/messages/{id}/retry"), json!({}))
        .await;
    retried.expect(200);
    assert_eq!(retried.body["status"], "pending");
    dispatch(&app).await;
    app.clock.advance(Duration::minutes(5));
    dispatch(&app).await;
    let dead = messages(&app, &token, "?status=dead").await;
    assert_eq!(dead.len(), 1);
    app.post_as(&token, &format!("/v1/messages/{id}/retry"), json!({}))
        .await
        .expect(200);
    dispatch(&app).await;
    assert_eq!(
        messages(&app, &token, "?status=sent")
            .await
            .iter()
            .filter(|m| m["channel"] == "sms")
            .count(),
        1
    );
    app.post_as(&token, &format!("/v1/messages/{id}/retry"), json!({}))
        .await
        .expect_error(400, "message_not_retryable");
    let stranger = app.operator("Stranger").await;
    app.post_as(&stranger, &format!("/v1/messages/{id}/retry"), json!({}))
        .await
        .expect_error(404, "not_found");
}

async fn two_dispatchers_never_send_a_message_twice(backend: Backend) {
    let fake = FakeTwilio::start(vec![]).await;
    let mut settings = twilio_settings(&fake);
    // Long enough for a held request to be waited for, not given up on.
    settings.push(("twilio_timeout_seconds", json!(15)));
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let app = Arc::new(app);
    let (token, _, departure) = app.fresh_departure(50).await;
    for _ in 0..15 {
        confirmed_booking(&app, &departure, Some("+351912345678")).await;
    }
    // 30 messages, claimed 10 at a time. Twilio holds its answers, so the first dispatcher is
    // still on its first batch when the second starts: both must work, on different messages.
    fake.close_gate();
    let within = std::time::Duration::from_secs(10);
    let dispatcher = |app: Arc<TestApp>| tokio::spawn(async move { dispatch(&app).await });
    let a = dispatcher(app.clone());
    let sending = |n: usize| {
        let fake = &fake;
        move || async move { (fake.count() >= n).then_some(()) }
    };
    eventually("the first dispatcher sends an SMS", within, sending(1)).await;
    let b = dispatcher(app.clone());
    eventually("the second dispatcher sends an SMS", within, sending(2)).await;
    fake.open_gate();
    let (sent_a, sent_b) = (a.await.unwrap(), b.await.unwrap());
    assert!(
        sent_a > 0 && sent_b > 0,
        "both dispatchers claimed messages ({sent_a} and {sent_b})"
    );
    assert_eq!(sent_a + sent_b, 30, "each message claimed once");
    assert_eq!(fake.count(), 15, "no SMS sent twice");
    assert_eq!(mail_files(&app).len(), 15, "no email sent twice");
    assert_eq!(messages(&app, &token, "?status=sent").await.len(), 30);
}

async fn reminders_go_out_a_day_before_even_across_dst(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let tour = app.tour(&token, json!({"timezone": "Europe/Lisbon"})).await;
    // 09:00 in Lisbon on the next first day of summer time: 08:00 UTC. The reminder is due 24
    // hours earlier, at 08:00 UTC the day before, although that day still runs on winter time.
    // (At least two days ahead, so that bookings are made before the reminder is due.)
    let after = app.clock.now() + Duration::days(2);
    let spring = next_dst_transitions(chrono_tz::Europe::Lisbon, after).spring;
    let (starts_at, local) = departure_at(spring.date(), 9, 0, spring.after);
    assert_eq!(
        spring.after,
        hours_east(1),
        "summer time in Lisbon is UTC+1"
    );
    let reply = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/departures"),
            json!({"starts_at": local, "capacity": 10}),
        )
        .await;
    let departure = reply.str("id");
    let (early, _) = confirmed_booking(&app, &departure, Some("+351912345678")).await;
    let (_, cancelled_access) = confirmed_booking(&app, &departure, None).await;
    let cancelled = app
        .get_as(&token, &format!("/v1/departures/{departure}/manifest"))
        .await
        .body["bookings"][1]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_with_booking_token(
        &format!("/v1/bookings/{cancelled}/cancel"),
        &cancelled_access,
    )
    .await
    .expect(200);
    dispatch(&app).await;

    let reminders = berth::workers::reminders::run_once;
    let day = Duration::hours(24);
    let due = chrono::DateTime::parse_from_rfc3339(&starts_at)
        .unwrap()
        .to_utc()
        - day;
    app.clock
        .advance(due - app.clock.now() - Duration::minutes(1));
    reminders(&app.store, app.clock.now(), day).await.unwrap();
    let count = |all: &[Value]| all.iter().filter(|m| m["kind"] == "reminder").count();
    assert_eq!(
        count(&messages(&app, &token, "").await),
        0,
        "not a minute early"
    );

    // Someone who books after the reminder time gets no reminder.
    app.clock.advance(Duration::minutes(2));
    let (late, _) = confirmed_booking(&app, &departure, None).await;
    reminders(&app.store, app.clock.now(), day).await.unwrap();
    reminders(&app.store, app.clock.now(), day).await.unwrap();
    let all = messages(&app, &token, "").await;
    assert_eq!(
        count(&all),
        2,
        "email and SMS for the early booking only, once: {all:?}"
    );
    dispatch_all(&app).await;
    let mail = mail_files(&app)
        .into_iter()
        .find(|m| m.contains("Subject: Reminder"))
        .expect("reminder email");
    assert!(mail.contains(&early) && !mail.contains(&late));
    assert!(
        decoded(&mail).contains("9:00\u{a0}AM (Europe/Lisbon)"),
        "local time in the tour's zone: {mail}"
    );
    assert!(sms_lines(&app)
        .iter()
        .any(|l| l["body"].as_str().unwrap().starts_with("Reminder:")));
}

fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn twilio_delivery_reports_need_a_valid_signature(backend: Backend) {
    let fake = FakeTwilio::start(vec![]).await;
    let Some(app) = TestApp::spawn_with(backend, &twilio_settings(&fake)).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    confirmed_booking(&app, &departure, Some("+351912345678")).await;
    dispatch(&app).await;
    let callback = fake.requests.lock().unwrap()[0]
        .form
        .iter()
        .find(|(k, _)| k == "StatusCallback")
        .map(|(_, v)| v.clone());
    let url = "http://127.0.0.1:8000/v1/webhooks/twilio/status";
    assert_eq!(
        callback.as_deref(),
        Some(url),
        "every SMS asks for delivery reports"
    );

    let sid = "SM0123456789abcdef0123456789abcdef";
    let params = [
        ("MessageSid", sid),
        ("MessageStatus", "delivered"),
        ("To", "+351912345678"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
    ];
    let body = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B")))
            .collect::<Vec<_>>()
            .join("&")
    };
    let post = |signature: Option<String>, body: String| {
        let mut request = app
            .client
            .post(format!("{}/v1/webhooks/twilio/status", app.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Twilio-Signature", signature);
        }
        TestApp::reply(request)
    };
    let sms_status = || async {
        messages(&app, &token, "")
            .await
            .into_iter()
            .find(|m| m["channel"] == "sms")
            .unwrap()["delivery_status"]
            .clone()
    };
    let forged = twilio_signature("not-the-token", url, &params);
    post(Some(forged), body(&params))
        .await
        .expect_error(400, "invalid_signature");
    let wrong_url = twilio_signature(
        "twilio-secret-token",
        "http://127.0.0.1:8000/elsewhere",
        &params,
    );
    post(Some(wrong_url), body(&params))
        .await
        .expect_error(400, "invalid_signature");
    post(None, body(&params))
        .await
        .expect_error(400, "invalid_signature");
    let valid = twilio_signature("twilio-secret-token", url, &params);
    let tampered = params.map(|(k, v)| {
        if k == "MessageStatus" {
            (k, "failed")
        } else {
            (k, v)
        }
    });
    post(Some(valid.clone()), body(&tampered))
        .await
        .expect_error(400, "invalid_signature");
    assert!(
        sms_status().await.is_null(),
        "nothing changed by a refused report"
    );

    // The same parameters in another order carry the same signature.
    let mut reordered = params.to_vec();
    reordered.reverse();
    post(Some(valid), body(&reordered)).await.expect(204);
    assert_eq!(sms_status().await, "delivered");
    // A late or replayed "sent" report does not move the status back.
    let late = params.map(|(k, v)| {
        if k == "MessageStatus" {
            (k, "sent")
        } else {
            (k, v)
        }
    });
    let signed = twilio_signature("twilio-secret-token", url, &late);
    post(Some(signed), body(&late)).await.expect(204);
    assert_eq!(sms_status().await, "delivered");
}

async fn an_expired_hold_can_be_told_by_email(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let hold = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    app.clock.advance(Duration::minutes(16));
    berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
        .await
        .unwrap();
    let enqueue = berth::service::notifications::enqueue_hold_expired;
    assert_eq!(enqueue(&app.store, app.clock.now()).await.unwrap(), 1);
    enqueue(&app.store, app.clock.now()).await.unwrap();
    let queued = messages(&app, &token, "").await;
    assert_eq!(
        queued.len(),
        1,
        "email only, once, though the booking has a phone: {queued:?}"
    );
    assert_eq!(queued[0]["kind"], "hold_expired");
    dispatch(&app).await;
    let mail = mail_files(&app).pop().unwrap();
    assert!(
        mail.contains(&format!(
            "Subject: Your hold {} on Harbour cruise expired",
            hold.str("reference")
        )),
        "{mail}"
    );
    assert!(sms_lines(&app).is_empty());
}

async fn a_confirmation_delayed_past_a_cancellation_is_not_sent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let (reference, access) = confirmed_booking(&app, &departure, None).await;
    // The traveler cancels before the confirmation went out (the mail server was down, say).
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/cancel"), &access)
        .await
        .expect(200);
    dispatch(&app).await;
    let all = messages(&app, &token, "").await;
    let status_of = |kind: &str| {
        all.iter().find(|m| m["kind"] == kind).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status_of("booking_cancelled"), "sent");
    assert_eq!(
        status_of("booking_confirmed"),
        "failed",
        "a stale confirmation is not sent: {all:?}"
    );
    let mails = mail_files(&app);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("cancelled") && !mails[0].contains("BEGIN:VCALENDAR"));
}

/// A delivered email with its quoted-printable encoding undone (soft line breaks, `=XX` bytes),
/// so its words can be read as written.
fn decoded(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let mut bytes = Vec::with_capacity(joined.len());
    let raw = joined.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'=', Some(byte)) => {
                bytes.push(byte);
                i += 3;
            }
            (byte, _) => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The language of a traveler's messages: their `Accept-Language` when they book through the
/// API, unless the request names `customer.language`; the booking shows it, and the email, its
/// subject, dates, amounts and the SMS are written in it.
async fn a_traveler_who_asks_in_spanish_is_written_to_in_spanish(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let hold = |customer: Value| {
        let body = json!({"departure_id": departure, "items": [{"unit": "adult", "quantity": 2}], "customer": customer});
        TestApp::reply(
            app.client
                .post(format!("{}/v1/bookings", app.base))
                .header("Accept-Language", "es-ES,es;q=0.9,en;q=0.5")
                .json(&body),
        )
    };
    let spanish = hold(
        json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+351 912 345 678"}),
    )
    .await;
    spanish.expect(201);
    assert_eq!(spanish.body["customer"]["language"], "es");
    assert_eq!(spanish.body["currency"], "EUR");
    let english =
        hold(json!({"name": "Bob", "email": "bob@example.com", "language": "en-GB"})).await;
    english.expect(201);
    assert_eq!(
        english.body["customer"]["language"], "en",
        "the body names it"
    );
    for held in [&spanish, &english] {
        app.post_with_booking_token(
            &format!("/v1/bookings/{}/confirm", held.str("reference")),
            &held.str("access_token"),
        )
        .await
        .expect(200);
    }
    dispatch_all(&app).await;

    let reference = spanish.str("reference");
    let mails: Vec<String> = mail_files(&app).iter().map(|m| decoded(m)).collect();
    let mail = mails
        .iter()
        .find(|m| m.contains(&reference))
        .expect("the Spanish confirmation");
    assert!(
        mail.contains(&format!(
            "Subject: Reserva {reference} confirmada: Harbour cruise"
        )),
        "{mail}"
    );
    assert!(mail.contains("Hola, Ada Lovelace:"), "{mail}");
    assert!(
        mail.contains(&format!("tu reserva {reference} está confirmada.")),
        "{mail}"
    );
    assert!(mail.contains("Total: 70,00\u{a0}€"), "{mail}");
    assert!(mail.contains("Gestionar tu reserva"), "{mail}");
    assert!(
        mail.contains("lang=\"es\""),
        "the HTML part says its language: {mail}"
    );
    // The departure's local date, as Spanish writes it.
    let starts_at = app.get(&format!("/v1/departures/{departure}")).await.body["starts_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let local = chrono::DateTime::parse_from_rfc3339(&starts_at)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Lisbon);
    let months = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    use chrono::Datelike;
    let month = months[local.month0() as usize];
    let date = format!("{} de {month} de {}", local.day(), local.year());
    assert!(mail.contains(&date), "{date} in {mail}");
    assert!(!mail.contains("Hello"), "{mail}");

    let other = mails
        .iter()
        .find(|m| m.contains(&english.str("reference")))
        .expect("the English confirmation");
    assert!(
        other.contains("Hello Bob,") && other.contains("Total: €70.00"),
        "{other}"
    );

    let sms = sms_lines(&app);
    assert_eq!(sms.len(), 1, "{sms:?}");
    let body = sms[0]["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!(
            "Confirmada: Harbour cruise, {} de {month}, ",
            local.day()
        )),
        "{body}"
    );
    assert!(body.ends_with(&format!("Ref {reference}")), "{body}");
}
