//! Seat hoarding (issue 12, finding 4): three anonymous requests from one address held all 20
//! seats of a departure for 15 minutes. With hold limits, one client address and one customer
//! email hold at most so many seats at once, on one departure and overall; concurrent holds of
//! one client cannot pass a limit together; `/metrics` shows refusals and the largest holder.

use std::sync::Arc;

use chrono::Duration;
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    one_address_cannot_hold_a_departure_empty,
    one_email_is_limited_from_any_address,
    the_overall_limit_counts_every_departure,
    concurrent_holds_of_one_address_never_pass_the_limit_together,
    concurrent_holds_across_departures_never_pass_the_overall_limit,
    metrics_show_hoarding_without_naming_anyone,
    idle_client_lock_rows_are_purged_after_a_day,
);

/// The release profile's limits, and the test client (127.0.0.1) as a trusted proxy, so each
/// request can stand for another traveler with `X-Forwarded-For`.
fn settings(limits: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("hold_limits", json!(limits)),
        ("trusted_proxies", json!("127.0.0.1")),
    ]
}

/// A hold of `quantity` adults by the traveler at `address` with `email`.
async fn hold_from(
    app: &TestApp,
    address: &str,
    email: &str,
    departure: &str,
    quantity: u32,
) -> Reply {
    TestApp::reply(
        app.client
            .post(format!("{}/v1/bookings", app.base))
            .header("X-Forwarded-For", address)
            .json(&json!({
                "departure_id": departure,
                "items": [{"unit": "adult", "quantity": quantity}],
                "customer": {"name": "Mallory", "email": email}
            })),
    )
    .await
}

fn retry_after(reply: &Reply) -> i64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[track_caller]
fn assert_refused(reply: &Reply, held: u64, limit: u64) {
    reply.expect_error(429, "hold_limit_reached");
    assert_eq!(reply.body["error"]["seats_held"], held, "{}", reply.text);
    assert_eq!(reply.body["error"]["hold_limit"], limit, "{}", reply.text);
}

async fn one_address_cannot_hold_a_departure_empty(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &settings("departure=8,overall=32")).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(20).await;
    // The finding replayed: one address, three requests of 8 (a fresh email each time).
    let attacker = "203.0.113.5";
    let first = hold_from(&app, attacker, "m1@example.com", &departure, 8).await;
    first.expect(201);
    for email in ["m2@example.com", "m3@example.com"] {
        let refused = hold_from(&app, attacker, email, &departure, 8).await;
        assert_refused(&refused, 8, 8);
        assert!(refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("client address"));
        // Told to come back when its hold lapses, not before.
        assert!(
            (890..=900).contains(&retry_after(&refused)),
            "{}",
            retry_after(&refused)
        );
    }
    assert_refused(
        &hold_from(&app, attacker, "m4@example.com", &departure, 1).await,
        8,
        8,
    );
    assert_eq!(
        app.available(&departure).await,
        12,
        "twelve seats stay on sale"
    );
    // An IPv6 client rotating addresses inside its /64 is one client.
    let v6 = hold_from(&app, "2001:db8:7:7::1", "v6a@example.com", &departure, 4).await;
    v6.expect(201);
    assert_refused(
        &hold_from(
            &app,
            "2001:db8:7:7:ffff::2",
            "v6b@example.com",
            &departure,
            8,
        )
        .await,
        4,
        8,
    );
    // Anyone else still books.
    hold_from(&app, "198.51.100.7", "ada@example.com", &departure, 4)
        .await
        .expect(201);
    // Paying for a hold frees the room: the limit bounds unpaid holds only.
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", first.str("reference")),
        &first.str("access_token"),
    )
    .await
    .expect(200);
    hold_from(&app, attacker, "m5@example.com", &departure, 2)
        .await
        .expect(201);
    // And a lapsed hold counts for nothing.
    app.clock.advance(Duration::minutes(16));
    hold_from(&app, "2001:db8:7:7::3", "v6c@example.com", &departure, 2)
        .await
        .expect(201);
    app.assert_seat_invariant().await;
}

async fn one_email_is_limited_from_any_address(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &settings("departure=6,overall=32")).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(30).await;
    let first = hold_from(&app, "198.51.100.1", "mallory@example.com", &departure, 5).await;
    first.expect(201);
    // Another address, the same traveler (case and +tags do not make a new one).
    for email in ["mallory@example.com", "Mallory+2@Example.com"] {
        let refused = hold_from(&app, "198.51.100.2", email, &departure, 2).await;
        assert_refused(&refused, 5, 6);
        assert!(refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("customer email"));
    }
    hold_from(&app, "198.51.100.2", "mallory@example.com", &departure, 1)
        .await
        .expect(201);
    hold_from(
        &app,
        "198.51.100.3",
        "someone.else@example.com",
        &departure,
        6,
    )
    .await
    .expect(201);
    // Cancelling a hold takes its seats out of the count at once.
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", first.str("reference")),
        &first.str("access_token"),
    )
    .await
    .expect(200);
    hold_from(&app, "198.51.100.4", "MALLORY@example.com", &departure, 5)
        .await
        .expect(201);

    // What the bookings record of who held them: keyed hashes, never the address, and no
    // second copy of the email.
    let sql =
        "SELECT hold_client, hold_email, customer_email FROM bookings ORDER BY created_at, id";
    let rows: Vec<(Option<String>, Option<String>, String)> = match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&app.database_url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
    };
    assert_eq!(rows.len(), 4);
    for (client, email, _) in &rows {
        for key in [client, email] {
            let key = key.as_deref().expect("recorded");
            assert!(
                key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
                "{key}"
            );
            assert!(!key.contains("198") && !key.contains('@'));
        }
    }
    let mallory: Vec<_> = rows
        .iter()
        .filter(|(_, _, email)| email.to_lowercase().starts_with("mallory"))
        .map(|(client, email, _)| (client.clone(), email.clone()))
        .collect();
    assert_eq!(mallory.len(), 3);
    assert!(
        mallory.iter().all(|(_, email)| *email == mallory[0].1),
        "one email key"
    );
    assert_ne!(mallory[0].0, mallory[1].0, "another address, another key");
}

async fn the_overall_limit_counts_every_departure(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &settings("departure=8,overall=20")).await else {
        return;
    };
    let (token, tour, first) = app.fresh_departure(20).await;
    let mut departures = vec![first];
    for hours in [49, 50, 51] {
        departures.push(app.departure(&token, &tour, 20, hours).await);
    }
    let attacker = "203.0.113.9";
    for (i, departure) in departures.iter().take(2).enumerate() {
        hold_from(&app, attacker, &format!("o{i}@example.com"), departure, 8)
            .await
            .expect(201);
    }
    // 16 held: 4 more fit, 5 do not, on any departure.
    let refused = hold_from(&app, attacker, "o3@example.com", &departures[2], 5).await;
    assert_refused(&refused, 16, 20);
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unpaid holds"));
    hold_from(&app, attacker, "o4@example.com", &departures[3], 4)
        .await
        .expect(201);
    assert_refused(
        &hold_from(&app, attacker, "o5@example.com", &departures[2], 1).await,
        20,
        20,
    );
}

/// Thirty holds of 2 seats at once from one address on one departure (limit 8): exactly four
/// succeed, whatever the interleaving.
async fn concurrent_holds_of_one_address_never_pass_the_limit_together(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &settings("departure=8,overall=100")).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(100).await;
    let mut racers = JoinSet::new();
    for i in 0..30 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move {
            hold_from(
                &app,
                "203.0.113.77",
                &format!("r{i}@example.com"),
                &departure,
                2,
            )
            .await
        });
    }
    let (mut held, mut refused) = (0, 0);
    while let Some(reply) = racers.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            201 => held += 1,
            429 => {
                assert_eq!(reply.code(), "hold_limit_reached", "{}", reply.text);
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!((held, refused), (4, 26));
    assert_eq!(app.available(&departure).await, 92);
    app.assert_seat_invariant().await;
}

/// The same across departures: holds of one client on different departures do not share a
/// departure lock, so only the client's own lock keeps them from all passing the overall limit.
async fn concurrent_holds_across_departures_never_pass_the_overall_limit(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &settings("address_overall=16")).await else {
        return;
    };
    let app = Arc::new(app);
    let (token, tour, first) = app.fresh_departure(50).await;
    let mut departures = vec![first];
    for hours in 49..58 {
        departures.push(app.departure(&token, &tour, 50, hours).await);
    }
    let mut racers = JoinSet::new();
    for i in 0..30 {
        let app = app.clone();
        let departure = departures[i % departures.len()].clone();
        racers.spawn(async move {
            hold_from(
                &app,
                "203.0.113.78",
                &format!("x{i}@example.com"),
                &departure,
                4,
            )
            .await
        });
    }
    let mut held = 0;
    while let Some(reply) = racers.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            201 => held += 1,
            429 => assert_eq!(reply.code(), "hold_limit_reached", "{}", reply.text),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(held, 4, "16 seats of 4 each, on any departures");
    let mut available = 0;
    for departure in &departures {
        available += app.available(departure).await;
    }
    assert_eq!(available, 500 - 16);
    app.assert_seat_invariant().await;
}

/// The value of one sample line, e.g. `berth_seats_on_hold` or `…{identity="address"}`.
fn sample(text: &str, series: &str) -> i64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("{series} not in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn metrics_show_hoarding_without_naming_anyone(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &settings("departure=8,overall=32")).await else {
        return;
    };
    let (token, tour, small) = app.fresh_departure(8).await;
    let big = app.departure(&token, &tour, 40, 50).await;
    let hoard = hold_from(&app, "203.0.113.5", "m@example.com", &small, 8).await;
    hoard.expect(201);
    hold_from(&app, "203.0.113.5", "m2@example.com", &big, 8)
        .await
        .expect(201);
    hold_from(&app, "203.0.113.5", "m3@example.com", &big, 4)
        .await
        .expect_error(429, "hold_limit_reached");
    hold_from(&app, "198.51.100.1", "m@example.com", &big, 1)
        .await
        .expect(201);
    hold_from(&app, "198.51.100.2", "ada@example.com", &big, 3)
        .await
        .expect(201);
    let text = app.get("/metrics").await.text;
    assert_eq!(sample(&text, "berth_seats_on_hold"), 20);
    assert_eq!(
        sample(&text, r#"berth_largest_holder_seats{identity="address"}"#),
        16
    );
    assert_eq!(
        sample(&text, r#"berth_largest_holder_seats{identity="email"}"#),
        9
    );
    assert_eq!(
        sample(
            &text,
            r#"berth_hold_limit_refusals_total{identity="address",scope="departure"}"#
        ),
        1
    );
    assert_eq!(sample(&text, "berth_departures_sold_out_by_holds"), 1);
    // No address, email or key of theirs is a label.
    for secret in ["203.0.113", "198.51.100", "m@example.com", "ada@"] {
        assert!(!text.contains(secret), "{secret} in metrics");
    }
    // Paid, the small departure is simply sold out; lapsed, the holds count for nothing.
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/confirm", hoard.str("reference")),
        &hoard.str("access_token"),
    )
    .await
    .expect(200);
    let text = app.get("/metrics").await.text;
    assert_eq!(sample(&text, "berth_departures_sold_out_by_holds"), 0);
    assert_eq!(sample(&text, "berth_seats_on_hold"), 12);
    app.clock.advance(Duration::minutes(16));
    let text = app.get("/metrics").await.text;
    assert_eq!(sample(&text, "berth_seats_on_hold"), 0);
    assert_eq!(
        sample(&text, r#"berth_largest_holder_seats{identity="address"}"#),
        0
    );
}

/// MySQL keeps one lock row per client that held seats under the limits; a client idle for a
/// day loses its row (SQLite, with one writer, never needs one).
async fn idle_client_lock_rows_are_purged_after_a_day(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &settings("departure=8,overall=32")).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(20).await;
    hold_from(&app, "203.0.113.5", "m@example.com", &departure, 2)
        .await
        .expect(201);
    let rows = || async {
        match app.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM hold_clients")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
            Backend::MySql => {
                let pool = sqlx::MySqlPool::connect(&app.database_url).await.unwrap();
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM hold_clients")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        }
    };
    let expected = if backend == Backend::MySql { 2 } else { 0 };
    assert_eq!(
        rows().await,
        expected,
        "one row for the address, one for the email"
    );
    app.clock.advance(Duration::hours(23));
    berth::workers::idempotency_purge::run_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(rows().await, expected, "not idle for a day yet");
    app.clock.advance(Duration::hours(2));
    berth::workers::idempotency_purge::run_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(rows().await, 0);
}

/// Release starts with the limits on, debug with them off (as the rate limits); an empty value
/// is unset, and a bad one refuses the start naming the setting.
#[test]
fn release_limits_holds_by_default_and_debug_does_not() {
    use berth::config::AppConfig;
    use berth::domain::hold_limits::{HoldLimits, RELEASE_DEFAULT};
    let figment = |profile: &str, extra: Value| {
        let mut settings = json!({
            "database_url": "mysql://berth@db.internal/berth",
            "public_url": "https://tours.example",
            "secret_key": "f3b1c9e07a5d4e2b8c6a1f0d9e7b5a3c2e4f6a8b0c1d3e5f",
        });
        if let (Some(settings), Value::Object(extra)) = (settings.as_object_mut(), extra) {
            settings.extend(extra);
        }
        Figment::new()
            .merge(Serialized::globals(settings))
            .select(profile)
    };
    let release = AppConfig::from_figment(&figment("release", json!({}))).unwrap();
    assert_eq!(
        release.hold_limits().unwrap(),
        HoldLimits::parse(RELEASE_DEFAULT).unwrap()
    );
    assert!(!release.hold_limits().unwrap().is_off());
    let debug = AppConfig::from_figment(&figment("debug", json!({}))).unwrap();
    assert!(debug.hold_limits().unwrap().is_off());
    let off = AppConfig::from_figment(&figment("release", json!({"hold_limits": "off"}))).unwrap();
    assert!(off.hold_limits().unwrap().is_off());
    let bad = AppConfig::from_figment(&figment("release", json!({"hold_limits": "departure=0"})))
        .unwrap_err();
    assert!(bad.contains("BERTH_HOLD_LIMITS"), "{bad}");
    // Empty is a slip, not a decision: the release default applies.
    let empty = AppConfig::from_figment(&figment("release", json!({"hold_limits": " "}))).unwrap();
    assert_eq!(
        empty.hold_limits().unwrap(),
        HoldLimits::parse(RELEASE_DEFAULT).unwrap()
    );
}
