//! A database connection lost mid-transaction: berth retries what cannot have committed, finds
//! by its own id a hold whose commit answer was lost, and otherwise answers 503 `busy` with
//! `Retry-After`. Never a 500, never a seat counted twice.
//!
//! The same for a Galera node that is not synced with its cluster (error 1047): 503 `busy`,
//! and `/ready` says 503.
//!
//! MySQL only: an embedded SQLite database has no connection to lose.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use sqlx::Connection;
use tokio::task::JoinSet;

use crate::support::db_proxy::{DbProxy, Fault};
use crate::support::mysql_server;
use crate::support::{Backend, TestApp};

/// berth on MySQL through a proxy the test can cut; `None` when the MySQL suite is skipped.
async fn behind_proxy() -> Option<(TestApp, DbProxy)> {
    let base = mysql_server::url_or_skip()?;
    let proxy = DbProxy::start(base).await;
    let app = TestApp::spawn_reaching_db(Backend::MySql, &[], |url| proxy.url_for(url)).await?;
    Some((app, proxy))
}

async fn direct(app: &TestApp) -> sqlx::MySqlConnection {
    sqlx::MySqlConnection::connect(&app.database_url)
        .await
        .expect("direct connection")
}

/// (bookings on the departure, its seats_taken), read past berth.
async fn seats(app: &TestApp, departure: &str) -> (i64, i64) {
    let mut conn = direct(app).await;
    let bookings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookings WHERE departure_id = ?")
        .bind(departure)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let taken: i64 = sqlx::query_scalar("SELECT seats_taken FROM departures WHERE id = ?")
        .bind(departure)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    (bookings, taken)
}

async fn hold_under(fault: Fault, idempotency_key: Option<&str>) {
    let Some((app, proxy)) = behind_proxy().await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let body = json!({
        "departure_id": departure,
        "items": [{"unit": "adult", "quantity": 2}],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}
    });
    let request = || {
        let request = app
            .client
            .post(format!("{}/v1/bookings", app.base))
            .json(&body);
        match idempotency_key {
            Some(key) => request.header("Idempotency-Key", key),
            None => request,
        }
    };
    // With a key, its claim commits first; the fault is for the hold's own transaction.
    proxy.arm_after(fault, usize::from(idempotency_key.is_some()));
    let reply = TestApp::reply(request()).await;
    assert_eq!(proxy.fired(), 1, "the fault happened");
    reply.expect(201);

    assert_eq!(
        seats(&app, &departure).await,
        (1, 2),
        "one booking, two seats"
    );
    let reference = reply.str("reference");
    let mut conn = direct(&app).await;
    let stored: String =
        sqlx::query_scalar("SELECT reference FROM bookings WHERE departure_id = ?")
            .bind(&departure)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        stored, reference,
        "the answer names the booking that exists"
    );
    app.get_with_booking_token(
        &format!("/v1/bookings/{reference}"),
        &reply.str("access_token"),
    )
    .await
    .expect(200);
    if idempotency_key.is_some() {
        let replay = TestApp::reply(request()).await;
        replay.expect(201);
        assert_eq!(
            replay.str("reference"),
            reference,
            "the key replays the hold"
        );
        assert_eq!(seats(&app, &departure).await, (1, 2));
    }
    app.assert_seat_invariant().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hold_whose_commit_answer_is_lost_is_found_by_its_id_not_made_twice() {
    hold_under(Fault::AfterCommit, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hold_whose_commit_answer_is_lost_replays_under_its_idempotency_key() {
    hold_under(Fault::AfterCommit, Some("lost-commit-1")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hold_whose_commit_never_reached_the_database_is_made_on_retry() {
    hold_under(Fault::BeforeCommit, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hold_whose_connection_is_cut_mid_transaction_is_made_on_retry() {
    hold_under(Fault::AfterBegin, None).await;
}

/// Other changes are not run again when their commit answer is lost (running a refund twice
/// would pay twice): 503 `busy`, and the change is in whatever state the database has.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confirmation_whose_commit_answer_is_lost_answers_503_not_500() {
    let Some((app, proxy)) = behind_proxy().await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    let held = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    held.expect(201);
    let reference = held.str("reference");
    proxy.arm(Fault::AfterCommit);
    let reply = app
        .post_with_booking_token(
            &format!("/v1/bookings/{reference}/confirm"),
            &held.str("access_token"),
        )
        .await;
    assert_eq!(proxy.fired(), 1);
    reply.expect_error(503, "busy");
    assert_eq!(reply.headers["retry-after"], "1");
    let mut conn = direct(&app).await;
    let status: String = sqlx::query_scalar("SELECT status FROM bookings WHERE reference = ?")
        .bind(&reference)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        status, "confirmed",
        "the commit landed; only its answer was lost"
    );
    app.assert_seat_invariant().await;
}

/// `KILL CONNECTION` from a second session, over and over, while 60 travelers race for 20
/// seats: each gets a hold, `sold_out` or 503 `busy`, every hold answered exists once, and the
/// seat count matches the bookings.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_database_connections_during_a_rush_cost_no_500_and_no_seat() {
    let Some(app) = TestApp::spawn(Backend::MySql).await else {
        return;
    };
    let app = Arc::new(app);
    let (_, _, departure) = app.fresh_departure(20).await;
    let database = app.database_url.rsplit('/').next().unwrap().to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (app, stop, kills) = (app.clone(), stop.clone(), kills.clone());
        tokio::spawn(async move {
            let mut conn = direct(&app).await;
            while !stop.load(Ordering::SeqCst) {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                )
                .bind(&database)
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for id in ids {
                    // A connection may have gone by now; that is fine.
                    if sqlx::query(&format!("KILL CONNECTION {id}"))
                        .execute(&mut conn)
                        .await
                        .is_ok()
                    {
                        kills.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            }
        })
    };

    let mut racers = JoinSet::new();
    for _ in 0..60 {
        let (app, departure) = (app.clone(), departure.clone());
        racers.spawn(async move {
            app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                .await
        });
    }
    let mut held = Vec::new();
    let mut busy = 0;
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        match reply.status.as_u16() {
            201 => held.push(reply.str("reference")),
            409 => assert_eq!(reply.code(), "sold_out", "{}", reply.text),
            503 => {
                assert_eq!(reply.code(), "busy", "{}", reply.text);
                assert!(reply.headers.contains_key("retry-after"));
                busy += 1;
            }
            other => panic!(
                "status {other} while connections were killed: {}",
                reply.text
            ),
        }
    }
    stop.store(true, Ordering::SeqCst);
    killer.await.unwrap();
    assert!(kills.load(Ordering::SeqCst) > 0, "connections were killed");
    let retries = app.store.metrics().transaction_retries.get();
    assert!(
        retries > 0,
        "some transaction lost its connection and ran again ({busy} answered busy)"
    );

    let (bookings, taken) = seats(&app, &departure).await;
    let bookings = bookings as usize;
    // A 503 may stand for a hold whose commit landed while every later attempt to look for it
    // failed too: that hold exists (and lapses), but never one the client was not told about
    // beyond those.
    assert!(
        (held.len()..=held.len() + busy).contains(&bookings),
        "{bookings} bookings for {} holds answered and {busy} busy",
        held.len()
    );
    assert_eq!(taken as usize, bookings, "one seat per booking");
    assert!(bookings <= 20);
    let mut conn = direct(&app).await;
    for reference in &held {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookings WHERE reference = ?")
            .bind(reference)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(count, 1, "{reference}");
    }
    app.assert_seat_invariant().await;
}

/// A MariaDB Galera node that is not part of a primary component (cut off from the others), or
/// rejects queries, refuses every statement that touches a table with error 1047, SQLSTATE
/// 08S01, "WSREP has not yet prepared node for application use", while `SELECT 1` still
/// succeeds. One MariaDB plays that node here: a trigger and a view raise the same error. A
/// hold is retried and then answered 503 `busy` with `Retry-After`, not 500, with no seat
/// taken; `/ready` answers 503 so a load balancer takes the node out; once the node is back,
/// both work.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_galera_node_out_of_sync_answers_503_and_is_not_ready() {
    let Some(app) = TestApp::spawn(Backend::MySql).await else {
        return;
    };
    let (_, _, departure) = app.fresh_departure(10).await;
    app.get("/ready").await.expect(200);
    let refuse = "SIGNAL SQLSTATE '08S01' SET MYSQL_ERRNO = 1047, \
                  MESSAGE_TEXT = 'WSREP has not yet prepared node for application use'";
    app.execute_sql(&format!(
        "CREATE TRIGGER wsrep_not_ready BEFORE INSERT ON bookings FOR EACH ROW {refuse}"
    ))
    .await;
    let retries = app.store.metrics().transaction_retries.get();
    let reply = app
        .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    reply.expect_error(503, "busy");
    assert_eq!(reply.headers["retry-after"], "1");
    assert!(
        app.store.metrics().transaction_retries.get() > retries,
        "the hold was retried before the 503"
    );
    assert_eq!(seats(&app, &departure).await, (0, 0), "no seat taken");

    // Reads of a table are refused too.
    app.execute_sql(&format!(
        "CREATE FUNCTION wsrep_refuses() RETURNS INT NOT DETERMINISTIC BEGIN {refuse}; RETURN 0; END"
    ))
    .await;
    app.execute_sql("RENAME TABLE operators TO operators_synced")
        .await;
    app.execute_sql(
        "CREATE VIEW operators AS SELECT o.* FROM operators_synced o WHERE wsrep_refuses() = 0",
    )
    .await;
    let mut conn = direct(&app).await;
    let error = sqlx::query("SELECT 1 FROM operators LIMIT 1")
        .execute(&mut conn)
        .await
        .expect_err("the view refuses reads");
    assert_eq!(
        error.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("08S01")
    );
    sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
    let ready = app.get("/ready").await;
    ready.expect(503);
    assert_eq!(ready.body, json!({"status": "unavailable"}));
    app.get("/health").await.expect(200);

    // Synced again.
    app.execute_sql("DROP VIEW operators").await;
    app.execute_sql("RENAME TABLE operators_synced TO operators")
        .await;
    app.execute_sql("DROP TRIGGER wsrep_not_ready").await;
    app.get("/ready").await.expect(200);
    app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    app.assert_seat_invariant().await;
}
