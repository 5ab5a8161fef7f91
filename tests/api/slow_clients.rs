//! The connection guard (issue 12 #1): slow and idle clients are cut off after their time,
//! connections are capped per address and in all, and none of it stops a normal client.
//!
//! Attackers connect from other loopback addresses (127.0.0.2, …) than the normal client
//! (127.0.0.1), so the per-address cap tells them apart as it would real clients.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    slow_clients_at_their_cap_do_not_stop_a_normal_client_from_booking,
    a_full_server_refuses_new_connections_at_once_and_takes_them_again_later,
    an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_kept,
    a_client_that_does_not_read_its_responses_is_cut_off,
    rate_limits_see_the_client_address_through_the_guard,
    an_oversized_body_gets_its_413_while_the_client_is_still_sending,
);

const HEADER_TIMEOUT: u64 = 2;
const BODY_TIMEOUT: u64 = 2;
const KEEP_ALIVE: u64 = 1;

/// berth with short timeouts and small caps.
async fn guarded(backend: Backend, extra: &[(&str, Value)]) -> Option<TestApp> {
    let mut settings = vec![
        ("header_timeout_seconds", json!(HEADER_TIMEOUT)),
        ("body_timeout_seconds", json!(BODY_TIMEOUT)),
        ("keep_alive_seconds", json!(KEEP_ALIVE)),
        ("max_connections", json!(64)),
        ("max_connections_per_client", json!(12)),
    ];
    settings.extend(extra.iter().cloned());
    TestApp::spawn_with(backend, &settings).await
}

fn address(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to berth from `from` (a loopback address other than 127.0.0.1 is another
/// client as far as berth can tell).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(to).await.unwrap()
}

/// Waits until berth closes `stream` (EOF or reset), sending `drip` every `every` meanwhile;
/// returns how long that took, or panics after `limit`.
async fn until_closed(
    stream: &mut TcpStream,
    drip: Option<&[u8]>,
    every: Duration,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    let mut next_drip = started + every;
    loop {
        assert!(started.elapsed() < limit, "still open after {limit:?}");
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            },
            () = tokio::time::sleep_until(next_drip) => {
                next_drip += every;
                if let Some(bytes) = drip {
                    if stream.write_all(bytes).await.is_err() {
                        return started.elapsed();
                    }
                }
            }
        }
    }
}

/// Waits until berth counts exactly `open` client connections (the guard's gauge): the
/// connections a test opened have been admitted, or the ones it closed are gone.
async fn until_open(app: &TestApp, open: i64) {
    let limit = Instant::now() + Duration::from_secs(10);
    loop {
        let now = app.store.metrics().connections_open.get();
        if now == open {
            return;
        }
        assert!(
            Instant::now() < limit,
            "berth counts {now} open connections, not {open}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What berth counted for the guard, by reason.
/// Waits until the guard has counted `n` connections ended for `reason`, then checks it is not
/// more. The guard counts a connection after closing it, so a client may see the close first.
async fn ended_count(app: &TestApp, reason: &str, n: u64) {
    crate::support::wait::eventually(
        &format!("{n} connections ended by {reason}"),
        Duration::from_secs(5),
        || async { (ended(app, reason) >= n).then_some(()) },
    )
    .await;
    assert_eq!(ended(app, reason), n, "{reason}");
}

fn ended(app: &TestApp, reason: &str) -> u64 {
    app.store
        .metrics()
        .connections_ended
        .with_label_values(&[reason])
        .get()
}

/// Twelve slow sockets from one address (its cap): silent ones, ones sending a header line
/// every half second, ones sending a body byte every half second. A thirteenth is refused at
/// once. Meanwhile a normal client holds and confirms seats; then each slow socket is closed
/// about its timeout after it began, whatever it kept sending.
async fn slow_clients_at_their_cap_do_not_stop_a_normal_client_from_booking(backend: Backend) {
    let Some(app) = guarded(backend, &[]).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let to = address(&app);
    let half_second = Duration::from_millis(500);
    let limit = Duration::from_secs(HEADER_TIMEOUT + 4);

    // The set-up's own keep-alive connections close after their idle time; then only the
    // attackers count.
    until_open(&app, 0).await;
    let mut attackers = tokio::task::JoinSet::new();
    for i in 0..12 {
        let mut stream = connect_from("127.0.0.2", to).await;
        attackers.spawn(async move {
            match i % 3 {
                0 => ("silent", until_closed(&mut stream, None, half_second, limit).await),
                1 => {
                    stream
                        .write_all(b"POST /v1/bookings HTTP/1.1\r\nHost: berth\r\n")
                        .await
                        .unwrap();
                    let line = b"X-Slow: one more header line\r\n";
                    ("header", until_closed(&mut stream, Some(line), half_second, limit).await)
                }
                _ => {
                    stream
                        .write_all(
                            b"POST /v1/bookings HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
                        )
                        .await
                        .unwrap();
                    ("body", until_closed(&mut stream, Some(b" "), half_second, limit).await)
                }
            }
        });
    }
    // All twelve admitted before the thirteenth knocks.
    until_open(&app, 12).await;
    let mut over_cap = connect_from("127.0.0.2", to).await;
    let refused = until_closed(&mut over_cap, None, half_second, limit).await;
    assert!(
        refused < Duration::from_secs(1),
        "over the per-address cap: closed at once, not after {refused:?}"
    );

    let booking = Instant::now();
    let held = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    held.expect(201);
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", held.str("reference")),
        &held.str("access_token"),
    )
    .await
    .expect(200);
    assert!(
        booking.elapsed() < Duration::from_secs(HEADER_TIMEOUT),
        "the normal client was served while the slow sockets were open"
    );
    assert_eq!(attackers.len(), 12, "no slow socket was closed early");

    let low = Duration::from_millis(HEADER_TIMEOUT * 1000 - 300);
    while let Some(joined) = attackers.join_next().await {
        let (kind, lasted) = joined.unwrap();
        assert!(
            lasted >= low,
            "a {kind} socket was closed after {lasted:?}, before its timeout"
        );
    }
    // The guard counts a connection after closing it, so the client may see the close first:
    // wait for the counts rather than reading them at once. At least 8: the normal client's pool
    // may also have opened a connection it never used.
    crate::support::wait::eventually(
        "the guard's counts of sockets it timed out",
        Duration::from_secs(5),
        || async {
            (ended(&app, "header_timeout") >= 8 && ended(&app, "body_timeout") >= 4).then_some(())
        },
    )
    .await;
    ended_count(&app, "body_timeout", 4).await;
    ended_count(&app, "client_cap", 1).await;
    assert_eq!(app.available(&departure).await, 8);
}

/// Four connections in all: a fifth, from another address, is closed at once; once one of the
/// four goes, a new one is served.
async fn a_full_server_refuses_new_connections_at_once_and_takes_them_again_later(
    backend: Backend,
) {
    let Some(app) = guarded(
        backend,
        &[
            ("max_connections", json!(4)),
            ("max_connections_per_client", json!(4)),
        ],
    )
    .await
    else {
        return;
    };
    let to = address(&app);
    until_open(&app, 0).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from("127.0.0.2", to).await);
    }
    until_open(&app, 4).await;
    let mut fifth = connect_from("127.0.0.3", to).await;
    let refused = until_closed(
        &mut fifth,
        None,
        Duration::from_secs(1),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        refused < Duration::from_secs(1),
        "refused at once, not after {refused:?}"
    );
    ended_count(&app, "global_cap", 1).await;

    drop(held.pop());
    until_open(&app, 3).await;
    let mut stream = connect_from("127.0.0.3", to).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: berth\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
}

/// Reads one response (head and Content-Length body) from `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        bytes.push(byte[0]);
    }
    let head = String::from_utf8(bytes).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head
}

/// A connection that answered a request and then says nothing is closed after the keep-alive
/// time; one that sends its next request within it is served again.
async fn an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_kept(backend: Backend) {
    let Some(app) = guarded(backend, &[]).await else {
        return;
    };
    let mut stream = connect_from("127.0.0.2", address(&app)).await;
    let request = b"GET /health HTTP/1.1\r\nHost: berth\r\n\r\n";
    for _ in 0..3 {
        stream.write_all(request).await.unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(KEEP_ALIVE * 1000 / 2)).await;
    }
    let idle = until_closed(
        &mut stream,
        None,
        Duration::from_secs(1),
        Duration::from_secs(KEEP_ALIVE + 4),
    )
    .await;
    assert!(
        idle >= Duration::from_millis(KEEP_ALIVE * 1000 / 2 - 100),
        "closed {idle:?} into the second half of its keep-alive time"
    );
    ended_count(&app, "idle_timeout", 1).await;
}

/// A client that pipelines requests for a large document and never reads: once its socket
/// buffers are full, berth waits the body timeout for it to take more, then closes.
async fn a_client_that_does_not_read_its_responses_is_cut_off(backend: Backend) {
    let Some(app) = guarded(backend, &[]).await else {
        return;
    };
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .bind(SocketAddr::new("127.0.0.2".parse().unwrap(), 0))
        .unwrap();
    let mut stream = socket.connect(address(&app)).await.unwrap();
    let requests = b"GET /openapi.json HTTP/1.1\r\nHost: berth\r\n\r\n".repeat(400);
    stream.write_all(&requests).await.unwrap();
    tokio::time::sleep(Duration::from_secs(BODY_TIMEOUT + 2)).await;
    let mut received = Vec::new();
    let drained = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut received))
        .await
        .expect("the connection was closed");
    let _ = drained;
    let answered = received
        .windows(12)
        .filter(|w| w == b"HTTP/1.1 200")
        .count();
    assert!(answered < 400, "closed before all 400 responses were taken");
    ended_count(&app, "send_timeout", 1).await;
}

/// With a read limit of two a minute, a third read from one address is refused and a read from
/// another address is not: the rate limiter sees each client's address, not the guard's.
async fn rate_limits_see_the_client_address_through_the_guard(backend: Backend) {
    let Some(app) = guarded(backend, &[("rate_limits", json!("reads=2/min"))]).await else {
        return;
    };
    let to = address(&app);
    let get = |from: &'static str| async move {
        let mut stream = connect_from(from, to).await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: berth\r\n\r\n")
            .await
            .unwrap();
        read_response(&mut stream).await
    };
    assert!(get("127.0.0.2").await.starts_with("HTTP/1.1 200"));
    assert!(get("127.0.0.2").await.starts_with("HTTP/1.1 200"));
    assert!(get("127.0.0.2").await.starts_with("HTTP/1.1 429"));
    assert!(get("127.0.0.3").await.starts_with("HTTP/1.1 200"));
}

/// Rocket answers a body over its limit with a 413 before reading the rest, and closes. The
/// guard must not turn that into a reset the client sees instead of the answer (it once did,
/// now and then, for a client still writing its body): every try gets the 413, over HTTP as
/// clients send it and over a raw socket that keeps writing after the answer.
async fn an_oversized_body_gets_its_413_while_the_client_is_still_sending(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let padding = "x".repeat(1024 * 1024);
    let body = json!({"departure_id": "x", "pad": padding}).to_string();
    for attempt in 0..8 {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/bookings", app.base))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|error| panic!("attempt {attempt}: no answer: {error:?}"));
        assert_eq!(response.status().as_u16(), 413, "attempt {attempt}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "payload_too_large");
    }

    for attempt in 0..8 {
        let stream = connect_from("127.0.0.1", address(&app)).await;
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "POST /v1/bookings HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let sending = body.clone();
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(head.as_bytes()).await;
            for chunk in sending.as_bytes().chunks(16 * 1024) {
                if writer.write_all(chunk).await.is_err() {
                    break;
                }
            }
        });
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buffer)).await {
                Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buffer[..n]),
                Ok(Ok(_)) => break,
                Ok(Err(error)) => panic!(
                    "attempt {attempt}: {error} after {:?}",
                    String::from_utf8_lossy(&answer)
                ),
                Err(_) => panic!("attempt {attempt}: no answer within 10 s"),
            }
        }
        writing.abort();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "attempt {attempt}: {answer}"
        );
    }
}
