//! Outbound webhooks: an operator registers an endpoint and receives, over real HTTP, events
//! that an independent verifier (written here from the Standard Webhooks specification) accepts;
//! failures are retried under the same id and logged; an endpoint failing for three days is
//! disabled and its owners emailed; replays, test events, secret rotation, the SSRF policy, and
//! events that exist only when their change commits. The dispatcher is driven with `run_once`
//! and the test clock, never with sleeps.

use chrono::Duration;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::webhook_receiver::{verify, WebhookReceiver};
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    a_confirmed_booking_reaches_the_receiver_signed_and_verifiable,
    a_failed_delivery_is_retried_with_the_same_id_and_body_until_it_lands,
    an_endpoint_failing_for_three_days_is_disabled_and_its_owner_emailed,
    replaying_one_event_or_all_failed_since_a_time_resends_the_same_event_ids,
    the_test_event_goes_to_that_endpoint_only_and_rotation_keeps_the_old_secret_a_day,
    release_defaults_refuse_loopback_private_link_local_and_metadata_targets,
    a_target_refused_at_send_time_receives_nothing,
    a_rolled_back_change_sends_nothing,
    a_cancelled_departure_sends_each_booking_cancelled_and_two_instances_send_each_once,
    endpoints_are_the_operators_own_and_their_input_is_checked,
    every_kind_of_booking_change_is_an_event_numbered_per_booking,
    departures_created_changed_and_cancelled_are_events_schedules_included,
    availability_changed_is_one_event_per_departure_per_second_with_the_latest_numbers,
    a_delivery_whose_dispatcher_died_is_sent_again_when_its_lease_ends,
    refunds_through_the_payment_provider_are_events_accepted_or_from_its_dashboard,
);

async fn dispatch(app: &TestApp) -> usize {
    berth::workers::webhooks::run_once(&app.store, &app.webhooks, app.clock.now())
        .await
        .expect("dispatch")
}

/// Registers an endpoint at `url` for `types`; returns (its id, its secret).
async fn endpoint(app: &TestApp, token: &str, url: &str, types: &[&str]) -> (String, String) {
    let created = app
        .post_as(
            token,
            "/v1/webhook-endpoints",
            json!({"url": url, "event_types": types, "description": "CRM"}),
        )
        .await;
    created.expect(201);
    (created.str("id"), created.str("secret"))
}

async fn hold_one(app: &TestApp, departure: &str) -> Reply {
    let hold = app
        .hold(departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    hold.expect(201);
    hold
}

async fn attempts(app: &TestApp, token: &str, endpoint: &str) -> Vec<Value> {
    let log = app
        .get_as(token, &format!("/v1/webhook-endpoints/{endpoint}/attempts"))
        .await;
    log.expect(200);
    log.body.as_array().expect("a list").clone()
}

async fn a_confirmed_booking_reaches_the_receiver_signed_and_verifiable(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    let (_, secret) = endpoint(
        &app,
        &token,
        &receiver.url("/hooks/berth?source=berth"),
        &["booking.held", "booking.confirmed", "booking.cancelled"],
    )
    .await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let stored = app
        .query_strings("SELECT secret_sealed FROM webhook_endpoints")
        .await;
    assert!(
        !stored[0].contains(&secret["whsec_".len()..]),
        "sealed at rest"
    );
    let listed = app.get_as(&token, "/v1/webhook-endpoints").await;
    listed.expect(200);
    assert!(
        !listed.text.contains(&secret) && listed.body[0]["secret"].is_null(),
        "the secret is shown once"
    );
    assert!(listed.body[0]["secret_mask"]
        .as_str()
        .unwrap()
        .ends_with(&secret[secret.len() - 4..]));

    let hold = hold_one(&app, &departure).await;
    let reference = hold.str("reference");
    app.post_with_booking_token(
        &format!("/v1/bookings/{reference}/confirm"),
        &hold.str("access_token"),
    )
    .await
    .expect(200);
    let other = hold_one(&app, &departure).await;
    app.post_with_booking_token(
        &format!("/v1/bookings/{}/cancel", other.str("reference")),
        &other.str("access_token"),
    )
    .await
    .expect(200);
    assert_eq!(dispatch(&app).await, 4);

    let received = receiver.all();
    assert_eq!(received.len(), 4);
    let now = app.clock.now().timestamp();
    for request in &received {
        verify(&secret, request, now).expect("verifies");
        assert_eq!(request.path, "/hooks/berth?source=berth");
        assert_eq!(request.header("content-type"), "application/json");
        assert!(request.header("webhook-id").starts_with("msg_"));
        let text = String::from_utf8_lossy(&request.body);
        for private in ["@", "customer", "access_token", "Ada", "client_secret"] {
            assert!(!text.contains(private), "{private} in {text}");
        }
        assert_eq!(request.json()["id"], request.header("webhook-id"));
    }
    let mut events: Vec<(String, String, i64)> = received
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["data"]["booking"]["reference"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    events.sort_by_key(|(reference, _, sequence)| (reference.clone(), *sequence));
    let mut expected = vec![
        (reference.clone(), "booking.held".to_owned(), 1),
        (reference.clone(), "booking.confirmed".to_owned(), 2),
        (other.str("reference"), "booking.held".to_owned(), 1),
        (other.str("reference"), "booking.cancelled".to_owned(), 2),
    ];
    expected.sort_by_key(|(reference, _, sequence)| (reference.clone(), *sequence));
    assert_eq!(events, expected, "each booking numbers its own events");

    // The confirmed event carries the booking as the API shows it.
    let confirmed = received
        .iter()
        .map(|r| r.json())
        .find(|b| b["type"] == "booking.confirmed")
        .unwrap();
    let shown = app
        .get_with_booking_token(
            &format!("/v1/bookings/{reference}"),
            &hold.str("access_token"),
        )
        .await;
    for key in [
        "reference",
        "status",
        "departure_id",
        "tour_id",
        "seats",
        "total",
        "currency",
        "items",
    ] {
        assert_eq!(
            confirmed["data"]["booking"][key], shown.body[key],
            "{key} as the API shows it"
        );
    }
    assert_eq!(confirmed["data"]["booking"]["status"], "confirmed");

    let audit = app.get_as(&token, "/v1/audit").await;
    audit.expect(200);
    assert!(
        audit.text.contains("webhook_endpoint.create")
            && audit.text.contains("127.0.0.1")
            && !audit.text.contains("/hooks/berth")
            && !audit.text.contains(&secret),
        "the audit names the host only: {}",
        audit.text
    );

    // Delivered once: nothing more to send.
    assert_eq!(dispatch(&app).await, 0);
    assert_eq!(receiver.count(), 4);
}

async fn a_failed_delivery_is_retried_with_the_same_id_and_body_until_it_lands(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("webhook_timeout_seconds", json!(1))]).await
    else {
        return;
    };
    // A server error, a redirect (not followed: following it would reach this receiver again),
    // no answer within the timeout, then success.
    let receiver = WebhookReceiver::start(vec![500, 302, 0, 204]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    let (endpoint_id, secret) =
        endpoint(&app, &token, &receiver.url("/hook"), &["booking.held"]).await;
    hold_one(&app, &departure).await;

    for round in 1..=4 {
        assert_eq!(dispatch(&app).await, 1, "round {round}");
        assert_eq!(receiver.count(), round, "one request per attempt");
        // Not due again until its backoff has passed.
        assert_eq!(dispatch(&app).await, 0, "round {round} backs off");
        app.clock.advance(Duration::hours(10));
    }
    assert_eq!(dispatch(&app).await, 0, "delivered: never sent again");
    let received = receiver.all();
    let first = &received[0];
    for later in &received[1..] {
        assert_eq!(later.header("webhook-id"), first.header("webhook-id"));
        assert_eq!(later.body, first.body, "the same bytes every time");
        assert_ne!(
            later.header("webhook-timestamp"),
            first.header("webhook-timestamp")
        );
    }
    let last = received.last().unwrap();
    let sent_at = last.header("webhook-timestamp").parse::<i64>().unwrap();
    verify(&secret, last, sent_at).expect("the last attempt verifies");

    let log = attempts(&app, &token, &endpoint_id).await;
    assert_eq!(log.len(), 4, "{log:?}");
    let statuses: Vec<Value> = log.iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(statuses, [json!(204), Value::Null, json!(302), json!(500)]);
    assert!(log[0]["error"].is_null());
    assert!(
        log[1]["error"].as_str().unwrap().contains("timed out"),
        "{log:?}"
    );
    assert!(log[1]["latency_ms"].as_i64().unwrap() >= 900, "{log:?}");
    assert!(log[2]["error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));
    let excerpt = log[3]["response_excerpt"].as_str().unwrap();
    assert!(
        excerpt.contains("failed for ***") && !excerpt.contains('@') && !excerpt.contains('\u{7}'),
        "scrubbed: {excerpt}"
    );
    let deliveries = app
        .get_as(
            &token,
            &format!("/v1/webhook-endpoints/{endpoint_id}/deliveries?status=delivered"),
        )
        .await;
    deliveries.expect(200);
    assert_eq!(deliveries.body[0]["attempts"], 4);
    assert_eq!(deliveries.body[0]["event_id"], first.header("webhook-id"));
    let shown = app
        .get_as(&token, &format!("/v1/webhook-endpoints/{endpoint_id}"))
        .await;
    assert!(
        shown.body["failing_since"].is_null(),
        "a success ends the failing run"
    );
}

/// Every email the file transport wrote, as text (quoted-printable soft breaks undone).
fn mails(app: &TestApp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(app.files.path().join("mail")) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
        .collect()
}

async fn an_endpoint_failing_for_three_days_is_disabled_and_its_owner_emailed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![500; 200]).await;
    let (token, tour, departure) = app.fresh_departure(10).await;
    app.add_user(&token, "owner.two@example.com", "owner").await;
    app.add_user(&token, "admin@example.com", "admin").await;
    // Far enough ahead to take holds for the whole test.
    let later = app.departure(&token, &tour, 10, 24 * 10).await;
    let (endpoint_id, _) = endpoint(&app, &token, &receiver.url("/down"), &["booking.held"]).await;
    hold_one(&app, &departure).await;
    let started = app.clock.now();
    let mut waiting = None;
    loop {
        dispatch(&app).await;
        let shown = app
            .get_as(&token, &format!("/v1/webhook-endpoints/{endpoint_id}"))
            .await;
        if shown.body["enabled"] == false {
            assert_eq!(shown.body["disabled_reason"], "failing");
            assert!(app.clock.now() - started >= Duration::hours(72));
            break;
        }
        assert!(
            app.clock.now() - started < Duration::hours(90),
            "still enabled after {:?}",
            app.clock.now() - started
        );
        if waiting.is_none() && app.clock.now() - started >= Duration::hours(48) {
            // An event made late in the run is still waiting when the endpoint is disabled.
            waiting = Some(hold_one(&app, &later).await);
        }
        app.clock.advance(Duration::hours(6));
    }
    let waiting = waiting.expect("a late event");
    let listed = |status: &'static str| {
        let app = &app;
        let path = format!("/v1/webhook-endpoints/{endpoint_id}/deliveries?status={status}");
        let token = token.clone();
        async move {
            let reply = app.get_as(&token, &path).await;
            reply.expect(200);
            reply.body.as_array().unwrap().len()
        }
    };
    // The first event's window has closed: it gave up, or was parked by the disablement when
    // the late one's attempt came first. The late one waits, parked, either way.
    let (dead, paused) = (listed("dead").await, listed("paused").await);
    assert_eq!((dead + paused, listed("pending").await), (2, 0));
    assert!(paused >= 1);
    let sent = receiver.count();
    app.clock.advance(Duration::hours(6));
    // A change while it is disabled is kept, parked, for when it is enabled again.
    let meanwhile = hold_one(&app, &later).await;
    assert_eq!(
        dispatch(&app).await,
        0,
        "nothing goes to a disabled endpoint"
    );
    assert_eq!(receiver.count(), sent);
    assert_eq!(listed("paused").await, paused + 1);
    let paused = paused + 1;

    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .unwrap();
    let notices: Vec<String> = mails(&app)
        .into_iter()
        .filter(|m| m.contains("webhook endpoint of Acme Tours was disabled"))
        .collect();
    assert_eq!(notices.len(), 1, "one email per owner: {notices:?}");
    assert!(notices[0].contains("owner.two@example.com"));
    assert!(notices[0].contains(&endpoint_id) && notices[0].contains("HTTP 500"));
    assert!(
        notices[0].contains("Host: 127.0.0.1") && !notices[0].contains("/down"),
        "the host, never the path (it may carry the receiver's token)"
    );

    // Enabled again: the parked delivery is sent, and the failing run is forgotten.
    receiver.script(vec![]);
    let enabled = app
        .patch_as(
            &token,
            &format!("/v1/webhook-endpoints/{endpoint_id}"),
            json!({"enabled": true}),
        )
        .await;
    enabled.expect(200);
    assert_eq!(enabled.body["enabled"], true);
    assert!(enabled.body["disabled_reason"].is_null() && enabled.body["failing_since"].is_null());
    let before = receiver.count();
    assert_eq!(dispatch(&app).await, paused, "the parked ones are sent");
    let resent: Vec<Value> = receiver.all()[before..]
        .iter()
        .map(|r| r.json()["data"]["booking"]["reference"].clone())
        .collect();
    assert!(resent.contains(&waiting.body["reference"]), "{resent:?}");
    assert!(resent.contains(&meanwhile.body["reference"]), "{resent:?}");
    assert_eq!(listed("delivered").await, paused);
}

async fn replaying_one_event_or_all_failed_since_a_time_resends_the_same_event_ids(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    let (endpoint_id, _) = endpoint(&app, &token, &receiver.url("/r"), &["booking.held"]).await;
    let path = format!("/v1/webhook-endpoints/{endpoint_id}/replay");
    hold_one(&app, &departure).await;
    dispatch(&app).await;
    let first = receiver.all()[0].clone();

    let replayed = app
        .post_as(
            &token,
            &path,
            json!({"event_id": first.header("webhook-id")}),
        )
        .await;
    replayed.expect(202);
    assert_eq!(replayed.body["replayed"], 1);
    assert_eq!(dispatch(&app).await, 1);
    let again = receiver.all()[1].clone();
    assert_eq!(again.header("webhook-id"), first.header("webhook-id"));
    assert_eq!(again.body, first.body);

    // Two fail, then are replayed together once the receiver is back.
    let since = app.clock.now();
    receiver.script(vec![500, 500]);
    hold_one(&app, &departure).await;
    hold_one(&app, &departure).await;
    assert_eq!(dispatch(&app).await, 2);
    let failed: Vec<String> = receiver.all()[2..]
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    let replayed = app
        .post_as(&token, &path, json!({"failed_since": since.to_rfc3339()}))
        .await;
    replayed.expect(202);
    assert_eq!(replayed.body["replayed"], 2);
    assert_eq!(dispatch(&app).await, 2, "due at once, not at their backoff");
    let mut resent: Vec<String> = receiver.all()[4..]
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    let mut failed = failed;
    resent.sort();
    failed.sort();
    assert_eq!(resent, failed);

    app.post_as(&token, &path, json!({"event_id": "msg_unknown"}))
        .await
        .expect_error(404, "not_found");
    app.post_as(&token, &path, json!({}))
        .await
        .expect_error(422, "validation_failed");
    app.post_as(&token, &path, json!({"failed_since": "yesterday"}))
        .await
        .expect_error(422, "validation_failed");
    app.patch_as(
        &token,
        &format!("/v1/webhook-endpoints/{endpoint_id}"),
        json!({"enabled": false}),
    )
    .await
    .expect(200);
    app.post_as(
        &token,
        &path,
        json!({"event_id": first.header("webhook-id")}),
    )
    .await
    .expect_error(409, "endpoint_disabled");

    // The log is kept 30 days.
    assert_eq!(attempts(&app, &token, &endpoint_id).await.len(), 6);
    app.clock.advance(Duration::days(30) - Duration::minutes(1));
    berth::workers::webhooks::purge_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(attempts(&app, &token, &endpoint_id).await.len(), 6);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_events").await,
        3
    );
    app.clock.advance(Duration::minutes(2));
    berth::workers::webhooks::purge_once(&app.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(attempts(&app, &token, &endpoint_id).await.len(), 0);
    // Delivered events go with their log.
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_deliveries")
            .await,
        0
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_events").await,
        0
    );
}

async fn the_test_event_goes_to_that_endpoint_only_and_rotation_keeps_the_old_secret_a_day(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (a, b) = (
        WebhookReceiver::start(vec![]).await,
        WebhookReceiver::start(vec![]).await,
    );
    let token = app.operator("Acme Tours").await;
    let (endpoint_a, old_secret) =
        endpoint(&app, &token, &a.url("/a"), &["booking.confirmed"]).await;
    endpoint(&app, &token, &b.url("/b"), &["booking.confirmed"]).await;
    let test_path = format!("/v1/webhook-endpoints/{endpoint_a}/test");

    let queued = app.post_as(&token, &test_path, json!({})).await;
    queued.expect(202);
    dispatch(&app).await;
    assert_eq!((a.count(), b.count()), (1, 0));
    let test = a.all()[0].json();
    assert_eq!(test["type"], "webhook.test");
    assert_eq!(test["id"], queued.body["event_id"]);
    assert_eq!(test["data"]["endpoint_id"], endpoint_a.as_str());

    let rotated = app
        .post_as(
            &token,
            &format!("/v1/webhook-endpoints/{endpoint_a}/rotate-secret"),
            json!({}),
        )
        .await;
    rotated.expect(200);
    // The rotation again, as a client retrying after losing the answer would: the secret the
    // receiver still has keeps its day.
    let rotated = app
        .post_as(
            &token,
            &format!("/v1/webhook-endpoints/{endpoint_a}/rotate-secret"),
            json!({}),
        )
        .await;
    rotated.expect(200);
    let new_secret = rotated.str("secret");
    assert_ne!(new_secret, old_secret);
    app.post_as(&token, &test_path, json!({})).await.expect(202);
    dispatch(&app).await;
    let now = app.clock.now().timestamp();
    let during = a.all()[1].clone();
    verify(&new_secret, &during, now).expect("the new secret verifies");
    verify(&old_secret, &during, now).expect("the old one too, for a day");

    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    app.post_as(&token, &test_path, json!({})).await.expect(202);
    dispatch(&app).await;
    let now = app.clock.now().timestamp();
    let after = a.all()[2].clone();
    verify(&new_secret, &after, now).expect("the new secret verifies");
    assert!(
        verify(&old_secret, &after, now).is_err(),
        "the old secret no longer signs"
    );
    assert!(
        verify(&new_secret, &after, now + 301).is_err(),
        "a stale timestamp fails"
    );
}

async fn release_defaults_refuse_loopback_private_link_local_and_metadata_targets(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("webhook_allowed_targets", json!("")),
            ("webhook_allow_http", json!(false)),
        ],
    )
    .await
    else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    for url in [
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00:ec2::254]/hook",
        "http://example.com/hook",
        "https://user:pw@example.com/hook",
        "ftp://example.com/hook",
    ] {
        let refused = app
            .post_as(
                &token,
                "/v1/webhook-endpoints",
                json!({"url": url, "event_types": ["booking.held"]}),
            )
            .await;
        refused.expect_error(422, "validation_failed");
        assert!(
            refused.body["error"]["fields"]["url"].is_string(),
            "{url}: {refused:?}"
        );
    }
    let metadata = app
        .post_as(
            &token,
            "/v1/webhook-endpoints",
            json!({"url": "https://169.254.169.254/", "event_types": ["booking.held"]}),
        )
        .await;
    assert!(
        metadata.text.contains("link-local"),
        "the reason is named: {}",
        metadata.text
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_endpoints")
            .await,
        0
    );
}

async fn a_target_refused_at_send_time_receives_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    // Allowed when registered (debug allows loopback), refused by an instance that does not:
    // as when the policy changes, or a name resolves elsewhere by the time it is sent.
    let (endpoint_id, _) = endpoint(&app, &token, &receiver.url("/x"), &["booking.held"]).await;
    let strict = app
        .another_instance(&[("webhook_allowed_targets", json!(""))])
        .await;
    hold_one(&app, &departure).await;
    assert_eq!(dispatch(&strict).await, 1);
    assert_eq!(receiver.count(), 0, "nothing reached the refused address");
    let log = attempts(&app, &token, &endpoint_id).await;
    let error = log[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused:") && error.contains("loopback"),
        "{error}"
    );
    assert!(log[0]["status_code"].is_null());
}

async fn a_rolled_back_change_sends_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(2).await;
    endpoint(&app, &token, &receiver.url("/x"), &["booking.held"]).await;
    app.hold(&departure, json!([{"unit": "adult", "quantity": 2}]))
        .await
        .expect(201);
    // Sold out, read as such: refused before anything is written.
    for _ in 0..3 {
        app.hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
            .await
            .expect_error(409, "sold_out");
    }
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_events").await,
        1
    );
    assert_eq!(dispatch(&app).await, 1);
    assert_eq!(receiver.count(), 1);

    // A rush for the last seats: holds that read seats free but lose the race wrote their booking
    // and event first on MySQL (seats taken last) and rolled both back. Events = bookings.
    let rush = app
        .departure(&token, &tour_of(&app, &departure).await, 5, 48)
        .await;
    let app = std::sync::Arc::new(app);
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let (app, rush) = (app.clone(), rush.clone());
        racers.spawn(async move {
            app.hold(&rush, json!([{"unit": "adult", "quantity": 1}]))
                .await
        });
    }
    let mut made = 0;
    while let Some(joined) = racers.join_next().await {
        let reply = joined.expect("racer finished");
        match reply.status.as_u16() {
            201 => made += 1,
            409 => assert_eq!(reply.code(), "sold_out"),
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert_eq!(made, 5);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_events").await,
        app.query_i64("SELECT COUNT(*) FROM bookings").await
    );
    app.assert_seat_invariant().await;
}

async fn tour_of(app: &TestApp, departure: &str) -> String {
    app.get(&format!("/v1/departures/{departure}"))
        .await
        .str("tour_id")
}

async fn a_cancelled_departure_sends_each_booking_cancelled_and_two_instances_send_each_once(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(20).await;
    endpoint(&app, &token, &receiver.url("/x"), &["booking.cancelled"]).await;
    let mut references = Vec::new();
    for _ in 0..6 {
        references.push(hold_one(&app, &departure).await.str("reference"));
    }
    app.post_as(
        &token,
        &format!("/v1/departures/{departure}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    let other = app.another_instance(&[]).await;
    let (one, two) = tokio::join!(dispatch(&app), dispatch(&other));
    assert_eq!(one + two, 6, "each delivery claimed by one instance");
    let mut cancelled: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| {
            let body = r.json();
            assert_eq!(body["type"], "booking.cancelled");
            assert_eq!(
                body["data"]["booking"]["cancel_reason"],
                "departure_cancelled"
            );
            body["data"]["booking"]["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    cancelled.sort();
    references.sort();
    assert_eq!(cancelled, references, "each booking once");
}

async fn endpoints_are_the_operators_own_and_their_input_is_checked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    let rival = app.operator("Rival Tours").await;
    let (endpoint_id, _) = endpoint(&app, &token, &receiver.url("/x"), &["booking.held"]).await;
    for path in [
        format!("/v1/webhook-endpoints/{endpoint_id}"),
        format!("/v1/webhook-endpoints/{endpoint_id}/attempts"),
        format!("/v1/webhook-endpoints/{endpoint_id}/deliveries"),
    ] {
        app.get_as(&rival, &path)
            .await
            .expect_error(404, "not_found");
    }
    app.post_as(
        &rival,
        &format!("/v1/webhook-endpoints/{endpoint_id}/test"),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    let rival_list = app.get_as(&rival, "/v1/webhook-endpoints").await;
    assert_eq!(rival_list.body, json!([]));
    // The rival's own endpoint hears nothing of this operator's bookings.
    let rival_receiver = WebhookReceiver::start(vec![]).await;
    endpoint(&app, &rival, &rival_receiver.url("/r"), &["booking.held"]).await;
    hold_one(&app, &departure).await;
    dispatch(&app).await;
    assert_eq!((receiver.count(), rival_receiver.count()), (1, 0));

    for (body, field) in [
        (
            json!({"url": receiver.url("/x"), "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": receiver.url("/x"), "event_types": ["booking.exploded"]}),
            "event_types",
        ),
        (
            json!({"url": "not a url", "event_types": ["booking.held"]}),
            "url",
        ),
        (
            json!({"url": receiver.url("/x"), "event_types": ["booking.held"], "description": "d".repeat(401)}),
            "description",
        ),
    ] {
        let refused = app.post_as(&token, "/v1/webhook-endpoints", body).await;
        refused.expect_error(422, "validation_failed");
        assert!(
            refused.body["error"]["fields"][field].is_string(),
            "{refused:?}"
        );
    }
    // Changing the event types takes effect for the next change.
    let changed = app
        .patch_as(
            &token,
            &format!("/v1/webhook-endpoints/{endpoint_id}"),
            json!({"event_types": ["booking.confirmed"], "description": "Accounting"}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["event_types"], json!(["booking.confirmed"]));
    hold_one(&app, &departure).await;
    assert_eq!(dispatch(&app).await, 0);
    // Deleted: gone from the list, nothing sent.
    let deleted = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/webhook-endpoints/{endpoint_id}"),
            Some(&token),
            None,
        )
        .await;
    deleted.expect(204);
    app.get_as(&token, &format!("/v1/webhook-endpoints/{endpoint_id}"))
        .await
        .expect_error(404, "not_found");
    // At most 20 at once (the deleted one does not count).
    for _ in 0..20 {
        endpoint(&app, &token, &receiver.url("/x"), &["booking.held"]).await;
    }
    app.post_as(
        &token,
        "/v1/webhook-endpoints",
        json!({"url": receiver.url("/x"), "event_types": ["booking.held"]}),
    )
    .await
    .expect_error(409, "webhook_endpoint_limit");
}

async fn every_kind_of_booking_change_is_an_event_numbered_per_booking(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, tour, departure) = app.fresh_departure(10).await;
    let later = app.departure(&token, &tour, 10, 72).await;
    endpoint(
        &app,
        &token,
        &receiver.url("/all"),
        &[
            "booking.held",
            "booking.confirmed",
            "booking.cancelled",
            "booking.expired",
            "booking.checked_in",
            "booking.rescheduled",
            "booking.refunded",
        ],
    )
    .await;
    let confirm = |hold: &Reply| {
        let (reference, access) = (hold.str("reference"), hold.str("access_token"));
        let app = &app;
        async move {
            app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &access)
                .await
                .expect(200);
        }
    };
    // Checked in (paid at the desk), then partly refunded.
    let paid = hold_one(&app, &departure).await;
    confirm(&paid).await;
    let paid_ref = paid.str("reference");
    app.post_as(
        &token,
        &format!("/v1/bookings/{paid_ref}/check-in"),
        json!({}),
    )
    .await
    .expect(200);
    app.post_as(
        &token,
        &format!("/v1/bookings/{paid_ref}/refunds"),
        json!({"amount": 1000}),
    )
    .await
    .expect(201);
    // Moved to another departure by the operator.
    let moved = hold_one(&app, &departure).await;
    confirm(&moved).await;
    app.post_as(
        &token,
        &format!("/v1/bookings/{}/reschedule", moved.str("reference")),
        json!({"departure_id": later}),
    )
    .await
    .expect(200);
    // Left to lapse.
    let lapsed = hold_one(&app, &departure).await;
    app.clock.advance(Duration::seconds(
        i64::from(app.config.hold_ttl_seconds) + 60,
    ));
    berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
        .await
        .unwrap();

    dispatch(&app).await;
    let bodies: Vec<Value> = receiver.all().iter().map(|r| r.json()).collect();
    let history = |reference: String| {
        let mut events: Vec<(i64, String)> = bodies
            .iter()
            .filter(|b| b["data"]["booking"]["reference"] == reference.as_str())
            .map(|b| {
                (
                    b["data"]["sequence"].as_i64().unwrap(),
                    b["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        events.sort();
        events
    };
    let numbered = |types: &[&str]| -> Vec<(i64, String)> {
        (1..).zip(types.iter().map(|t| t.to_string())).collect()
    };
    assert_eq!(
        history(paid_ref.clone()),
        numbered(&[
            "booking.held",
            "booking.confirmed",
            "booking.checked_in",
            "booking.refunded"
        ])
    );
    assert_eq!(
        history(moved.str("reference")),
        numbered(&["booking.held", "booking.confirmed", "booking.rescheduled"])
    );
    assert_eq!(
        history(lapsed.str("reference")),
        numbered(&["booking.held", "booking.expired"])
    );
    let refunded = bodies
        .iter()
        .find(|b| b["type"] == "booking.refunded")
        .unwrap();
    assert_eq!(refunded["data"]["refund"]["amount"], 1000);
    assert_eq!(refunded["data"]["refund"]["currency"], "EUR");
    let rescheduled = bodies
        .iter()
        .find(|b| b["type"] == "booking.rescheduled")
        .unwrap();
    assert_eq!(
        rescheduled["data"]["booking"]["departure_id"],
        later.as_str()
    );
}

async fn departures_created_changed_and_cancelled_are_events_schedules_included(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let token = app.operator("Acme Tours").await;
    let tour = app.tour(&token, json!({})).await;
    endpoint(
        &app,
        &token,
        &receiver.url("/departures"),
        &[
            "departure.created",
            "departure.changed",
            "departure.cancelled",
        ],
    )
    .await;
    let departure = app.departure(&token, &tour, 10, 48).await;
    hold_one(&app, &departure).await;
    app.patch_as(
        &token,
        &format!("/v1/departures/{departure}"),
        json!({"capacity": 14}),
    )
    .await
    .expect(200);
    app.post_as(
        &token,
        &format!("/v1/departures/{departure}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    // A schedule of two departures, then changed to one: the other, never booked, is removed.
    let start = (app.clock.now() + Duration::days(2))
        .date_naive()
        .to_string();
    let schedule = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/schedules"),
            json!({"rrule": "FREQ=DAILY;COUNT=2", "start_date": start, "times": ["10:00"], "capacity": 8}),
        )
        .await;
    schedule.expect(201);
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/schedules/{}", schedule.str("id")),
        Some(&token),
        Some(json!({"rrule": "FREQ=DAILY;COUNT=1", "start_date": start, "times": ["10:00"], "capacity": 6})),
    )
    .await
    .expect(200);

    dispatch(&app).await;
    let events: Vec<Value> = receiver.all().iter().map(|r| r.json()).collect();
    let of = |id: &str| -> Vec<(String, Value)> {
        events
            .iter()
            .filter(|e| e["data"]["departure"]["id"] == id)
            .map(|e| {
                (
                    e["type"].as_str().unwrap().to_owned(),
                    e["data"]["departure"].clone(),
                )
            })
            .collect()
    };
    // A dispatch round sends concurrently, so events arrive in any order: look each one up.
    let one_off = of(&departure);
    let find = |kind: &str| {
        one_off
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no {kind}: {one_off:?}"))
    };
    assert_eq!(one_off.len(), 3, "{one_off:?}");
    let (created, changed, cancelled) = (
        find("departure.created"),
        find("departure.changed"),
        find("departure.cancelled"),
    );
    assert_eq!(
        (created["capacity"].clone(), created["available"].clone()),
        (json!(10), json!(10))
    );
    assert_eq!(
        (changed["capacity"].clone(), changed["available"].clone()),
        (json!(14), json!(13)),
        "one seat held"
    );
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["removed"], false);
    assert_eq!(cancelled["tour_id"], tour.as_str());

    let mut scheduled: Vec<(String, bool, i64)> = events
        .iter()
        .filter(|e| e["data"]["departure"]["id"] != departure.as_str())
        .map(|e| {
            let d = &e["data"]["departure"];
            (
                e["type"].as_str().unwrap().to_owned(),
                d["removed"].as_bool().unwrap(),
                d["capacity"].as_i64().unwrap(),
            )
        })
        .collect();
    scheduled.sort();
    assert_eq!(
        scheduled,
        [
            ("departure.cancelled".to_owned(), true, 8),
            ("departure.changed".to_owned(), false, 6),
            ("departure.created".to_owned(), false, 8),
            ("departure.created".to_owned(), false, 8),
        ]
    );
}

/// The `availability.changed` events received so far, as (departure id, capacity, available,
/// status), in no particular order.
fn availability_events(receiver: &WebhookReceiver) -> Vec<(String, i64, i64, String)> {
    receiver
        .all()
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == "availability.changed")
        .map(|e| {
            let d = &e["data"]["departure"];
            (
                d["id"].as_str().unwrap().to_owned(),
                d["capacity"].as_i64().unwrap(),
                d["available"].as_i64().unwrap(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn availability_changed_is_one_event_per_departure_per_second_with_the_latest_numbers(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    let (_, secret) = endpoint(
        &app,
        &token,
        &receiver.url("/availability"),
        &["availability.changed"],
    )
    .await;
    // Another operator subscribes to nothing: its changes leave no trace.
    let (_, _, quiet) = app.fresh_departure(10).await;
    hold_one(&app, &quiet).await;
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_availability_marks")
            .await,
        0
    );

    // Three holds in the same second: one event, carrying the numbers after the third.
    for _ in 0..3 {
        hold_one(&app, &departure).await;
    }
    dispatch(&app).await;
    assert_eq!(
        availability_events(&receiver),
        vec![(departure.clone(), 10, 7, "scheduled".to_owned())]
    );
    verify(&secret, &receiver.all()[0], app.clock.now().timestamp()).expect("verifies");

    // Within the second: held back, not lost.
    hold_one(&app, &departure).await;
    dispatch(&app).await;
    assert_eq!(receiver.count(), 1, "at most one per departure per second");
    app.clock.advance(Duration::milliseconds(1_000));
    dispatch(&app).await;
    let events = availability_events(&receiver);
    assert_eq!(events.len(), 2);
    assert!(events.contains(&(departure.clone(), 10, 6, "scheduled".to_owned())));

    // A refused hold changes nothing and marks nothing.
    app.hold(&departure, json!([{"unit": "adult", "quantity": 7}]))
        .await
        .expect_error(409, "sold_out");
    app.clock.advance(Duration::seconds(2));
    dispatch(&app).await;
    assert_eq!(receiver.count(), 2);

    // Capacity, lapsed holds released, a cancellation: each an event with the latest numbers.
    app.patch_as(
        &token,
        &format!("/v1/departures/{departure}"),
        json!({"capacity": 12}),
    )
    .await
    .expect(200);
    dispatch(&app).await;
    assert!(availability_events(&receiver).contains(&(
        departure.clone(),
        12,
        8,
        "scheduled".to_owned()
    )));
    app.clock.advance(Duration::hours(2));
    berth::workers::hold_expiry::run_once(&app.store, app.clock.now())
        .await
        .expect("expiry");
    dispatch(&app).await;
    assert!(availability_events(&receiver).contains(&(
        departure.clone(),
        12,
        12,
        "scheduled".to_owned()
    )));
    app.clock.advance(Duration::seconds(2));
    app.post_as(
        &token,
        &format!("/v1/departures/{departure}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    hold_one(&app, &quiet).await;
    // Two instances at once: one event, never two.
    let other = app.another_instance(&[]).await;
    tokio::join!(dispatch(&app), dispatch(&other));
    dispatch(&app).await;
    let events = availability_events(&receiver);
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(
        events
            .iter()
            .filter(|(_, _, _, status)| status == "cancelled")
            .count(),
        1
    );
    assert!(events.iter().all(|(id, ..)| id == &departure));
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM webhook_availability_marks")
            .await,
        0,
        "every mark consumed"
    );
}

async fn a_delivery_whose_dispatcher_died_is_sent_again_when_its_lease_ends(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    let (endpoint_id, _) = endpoint(&app, &token, &receiver.url("/x"), &["booking.held"]).await;
    hold_one(&app, &departure).await;
    // A dispatcher claims the delivery under its lease, then dies before sending.
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await.unwrap();
    let claimed =
        berth::storage::webhooks::claim_due(&mut tx, now, now + Duration::seconds(60), 16)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);

    assert_eq!(dispatch(&app).await, 0, "leased: nobody else sends it");
    app.clock.advance(Duration::seconds(61));
    assert_eq!(dispatch(&app).await, 1, "taken over when the lease ends");
    assert_eq!(receiver.count(), 1);
    let deliveries = app
        .get_as(
            &token,
            &format!("/v1/webhook-endpoints/{endpoint_id}/deliveries"),
        )
        .await;
    deliveries.expect(200);
    assert_eq!(deliveries.body[0]["status"], "delivered");
    assert_eq!(dispatch(&app).await, 0);
}

async fn refunds_through_the_payment_provider_are_events_accepted_or_from_its_dashboard(
    backend: Backend,
) {
    use crate::support::fake_stripe::event;
    let Some((app, stripe)) = crate::payments::stripe_app(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![]).await;
    let (token, _, departure) = app.fresh_departure(10).await;
    endpoint(
        &app,
        &token,
        &receiver.url("/refunds"),
        &["booking.refunded"],
    )
    .await;
    let (held, intent) = crate::payments::paid(&app, &stripe, &departure, 2).await;
    // Accepted by the provider when asked.
    app.post_as(
        &token,
        &format!("/v1/bookings/{}/refunds", held.reference),
        json!({"amount": 1000}),
    )
    .await
    .expect(201);
    // Made in the provider's dashboard, heard of through its event.
    stripe.dashboard_refund(&intent, 500);
    let charge = json!({"id": "ch_fake1", "object": "charge", "payment_intent": intent["id"],
        "amount": 7000, "amount_refunded": 1500, "currency": "eur", "refunded": false});
    let recorded = app
        .stripe_event(&event("evt_dash_hook", "charge.refunded", charge))
        .await;
    assert_eq!(recorded.body["outcome"], "recorded", "{}", recorded.text);

    dispatch(&app).await;
    let mut refunds: Vec<(i64, i64)> = receiver
        .all()
        .iter()
        .map(|r| {
            let body = r.json();
            assert_eq!(body["type"], "booking.refunded");
            assert_eq!(
                body["data"]["booking"]["reference"],
                held.reference.as_str()
            );
            (
                body["data"]["refund"]["amount"].as_i64().unwrap(),
                body["data"]["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    refunds.sort();
    assert_eq!(refunds.len(), 2, "{refunds:?}");
    assert_eq!((refunds[0].0, refunds[1].0), (500, 1000));
    assert_ne!(refunds[0].1, refunds[1].1, "each its own sequence number");
}
