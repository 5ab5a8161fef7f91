//! Changing and ending a schedule (`PUT /v1/schedules/{id}`): empty future departures follow
//! the new schedule, booked ones are kept and listed, past ones never change; and a change racing
//! a rush of holds never strands a seat.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    a_changed_schedule_moves_empty_departures_and_keeps_booked_ones,
    an_ended_schedule_sells_nothing_after_its_last_date,
    a_schedule_change_is_refused_with_reasons_or_not_found,
    a_schedule_change_racing_a_rush_never_strands_a_seat,
);

/// Today in the tour's zone (Europe/Lisbon, the test tours' zone).
fn local_today(app: &TestApp) -> NaiveDate {
    app.clock
        .now()
        .with_timezone(&chrono_tz::Europe::Lisbon)
        .date_naive()
}

/// Moves the test clock forward to the next `hour`:00 in the tours' zone.
fn start_at_local_hour(app: &TestApp, hour: u32) {
    let zone = chrono_tz::Europe::Lisbon;
    let now = app.clock.now();
    let local = now.with_timezone(&zone);
    let mut day = local.date_naive();
    if local.time() >= chrono::NaiveTime::from_hms_opt(hour, 0, 0).unwrap() {
        day += Duration::days(1);
    }
    let target = berth::domain::schedule::resolve_local(
        zone,
        day,
        chrono::NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
    );
    app.clock.advance(target - now);
}

/// (id, local start time `HH:MM`, capacity, seats taken) of every departure of `tour` on the
/// local dates `from..=to`.
async fn listed(app: &TestApp, tour: &str, from: NaiveDate, to: NaiveDate) -> Vec<Value> {
    let reply = app
        .get(&format!(
            "/v1/tours/{tour}/availability?from={from}&to={to}"
        ))
        .await;
    reply.expect(200);
    reply.body["departures"].as_array().unwrap().clone()
}

fn local_time(departure: &Value) -> String {
    departure["local_starts_at"].as_str().unwrap()[11..16].to_owned()
}

/// A daily schedule at `times` from tomorrow, `capacity` seats: (schedule id, departures made).
async fn daily(
    app: &TestApp,
    token: &str,
    tour: &str,
    times: &[&str],
    capacity: i64,
) -> (String, i64) {
    let start = local_today(app) + Duration::days(1);
    let reply = app
        .post_as(
            token,
            &format!("/v1/tours/{tour}/schedules"),
            json!({"rrule": "FREQ=DAILY", "start_date": start.to_string(), "times": times, "capacity": capacity}),
        )
        .await;
    reply.expect(201);
    (
        reply.str("id"),
        reply.body["departures_created"].as_i64().unwrap(),
    )
}

async fn change(app: &TestApp, token: &str, schedule: &str, body: Value) -> crate::support::Reply {
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/schedules/{schedule}"),
        Some(token),
        Some(body),
    )
    .await
}

async fn a_changed_schedule_moves_empty_departures_and_keeps_booked_ones(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The horizon ends 180 days from now to the instant, and its last day has the other UTC
    // offset half the year: run at some hours, it falls between that day's 10:00 and 11:00 and
    // the two schedules differ by a departure. From 13:00 local both are inside it.
    start_at_local_hour(&app, 13);
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let (schedule, made) = daily(&app, &token, &tour, &["10:00"], 10).await;
    assert!(made > 2);
    let tomorrow = local_today(&app) + Duration::days(1);
    let booked = listed(&app, &tour, tomorrow, tomorrow).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.hold(&booked, json!([{"unit": "adult", "quantity": 2}]))
        .await
        .expect(201);

    // 10:00 becomes 11:00 with 8 seats: every empty 10:00 departure goes, the booked one stays.
    let start = tomorrow.to_string();
    let reply = change(
        &app,
        &token,
        &schedule,
        json!({"rrule": "FREQ=DAILY", "start_date": start, "times": ["11:00"], "capacity": 8}),
    )
    .await;
    reply.expect(200);
    assert_eq!(reply.body["schedule"]["times"], json!(["11:00"]));
    assert_eq!(reply.body["departures_removed"], made - 1);
    assert_eq!(reply.body["departures_created"], made);
    let kept = reply.body["departures_kept"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{}", reply.body);
    assert_eq!(kept[0]["id"], booked.as_str());
    assert_eq!(kept[0]["seats_taken"], 2);
    let day = listed(&app, &tour, tomorrow, tomorrow).await;
    let times: Vec<String> = day.iter().map(local_time).collect();
    assert_eq!(
        times,
        ["10:00", "11:00"],
        "the booked 10:00 and the new 11:00"
    );
    assert_eq!(
        day[0]["capacity"], 10,
        "a kept departure keeps its capacity"
    );
    assert_eq!(day[1]["capacity"], 8);
    let later = listed(
        &app,
        &tour,
        tomorrow + Duration::days(1),
        tomorrow + Duration::days(3),
    )
    .await;
    assert!(later.iter().all(|d| local_time(d) == "11:00"), "{later:?}");

    // The same schedule with 12 seats: the 11:00 departures take them; nothing is made or
    // removed; the booked 10:00 is still listed as not matching.
    let reply = change(
        &app,
        &token,
        &schedule,
        json!({"rrule": "FREQ=DAILY", "start_date": start, "times": ["11:00"], "capacity": 12}),
    )
    .await;
    reply.expect(200);
    assert_eq!(reply.body["departures_resized"], made);
    assert_eq!(reply.body["departures_created"], 0);
    assert_eq!(reply.body["departures_removed"], 0);
    assert_eq!(reply.body["departures_kept"].as_array().unwrap().len(), 1);
    let day = listed(&app, &tour, tomorrow, tomorrow).await;
    assert_eq!(day[1]["capacity"], 12);
    let audit = app.get_as(&token, "/v1/audit").await;
    assert!(
        audit.body.to_string().contains("schedule.update"),
        "{}",
        audit.body
    );
}

async fn an_ended_schedule_sells_nothing_after_its_last_date(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let (schedule, made) = daily(&app, &token, &tour, &["09:00", "15:00"], 6).await;
    let tomorrow = local_today(&app) + Duration::days(1);
    let last = tomorrow + Duration::days(1);
    let reply = change(
        &app,
        &token,
        &schedule,
        json!({"rrule": "FREQ=DAILY", "start_date": tomorrow.to_string(), "until": last.to_string(), "times": ["09:00", "15:00"], "capacity": 6}),
    )
    .await;
    reply.expect(200);
    assert_eq!(reply.body["schedule"]["until"], last.to_string());
    assert_eq!(reply.body["departures_removed"], made - 4);
    assert_eq!(reply.body["departures_created"], 0);
    assert_eq!(listed(&app, &tour, tomorrow, last).await.len(), 4);
    let after = listed(
        &app,
        &tour,
        last + Duration::days(1),
        last + Duration::days(60),
    )
    .await;
    assert!(after.is_empty(), "{after:?}");
    // The horizon worker does not bring them back.
    app.clock.advance(Duration::days(1));
    berth::workers::horizon::run_once(&app.store, app.clock.now(), 120)
        .await
        .expect("horizon");
    let after = listed(
        &app,
        &tour,
        last + Duration::days(1),
        last + Duration::days(60),
    )
    .await;
    assert!(after.is_empty(), "{after:?}");
}

async fn a_schedule_change_is_refused_with_reasons_or_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let (schedule, _) = daily(&app, &token, &tour, &["10:00"], 10).await;
    let start = (local_today(&app) + Duration::days(1)).to_string();
    let reply = change(
        &app,
        &token,
        &schedule,
        json!({"rrule": "FREQ=HOURLY", "start_date": start, "times": ["25:00"], "capacity": 0}),
    )
    .await;
    reply.expect(422);
    assert_eq!(reply.code(), "validation_failed");
    for field in ["rrule", "times[0]", "capacity"] {
        assert!(
            reply.body["error"]["fields"][field].is_string(),
            "{field}: {}",
            reply.text
        );
    }
    let other = app.operator("Other Tours").await;
    let body =
        json!({"rrule": "FREQ=DAILY", "start_date": start, "times": ["10:00"], "capacity": 1});
    change(&app, &other, &schedule, body.clone())
        .await
        .expect(404);
    change(&app, &token, "sch_nonexistent", body)
        .await
        .expect(404);
}

/// Holds pour onto a schedule's departures while the schedule moves to another time: every hold
/// that succeeded is on a departure that still exists and is on sale, no answer is a 5xx, and
/// no departure counts seats other than its bookings'.
async fn a_schedule_change_racing_a_rush_never_strands_a_seat(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({"max_per_booking": 8})).await;
    let (schedule, _) = daily(&app, &token, &tour, &["10:00"], 30).await;
    let tomorrow = local_today(&app) + Duration::days(1);
    let targets: Vec<String> = listed(&app, &tour, tomorrow, tomorrow + Duration::days(20))
        .await
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let app = std::sync::Arc::new(app);
    let mut holds = tokio::task::JoinSet::new();
    // Staggered over ~150 ms, so that some holds come before the change, some wait for its
    // locks, and some find their departure gone.
    for i in 0..60u64 {
        let (app, departure) = (app.clone(), targets[i as usize % targets.len()].clone());
        holds.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(i * 5 / 2)).await;
            let reply = app
                .hold(&departure, json!([{"unit": "adult", "quantity": 1}]))
                .await;
            (departure, reply)
        });
    }
    let body = json!({"rrule": "FREQ=DAILY", "start_date": tomorrow.to_string(), "times": ["12:00"], "capacity": 30});
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    let changed = change(&app, &token, &schedule, body).await;
    changed.expect(200);
    let mut made = 0;
    while let Some(joined) = holds.join_next().await {
        let (departure, reply) = joined.expect("hold finished");
        let status = reply.status.as_u16();
        assert!(status < 500, "{status}: {}", reply.text);
        if status == 201 {
            made += 1;
            let now = app.get(&format!("/v1/departures/{departure}")).await;
            now.expect(200);
            assert_eq!(now.body["status"], "open", "still on sale: {}", now.body);
        } else {
            assert!(
                [404, 409, 422].contains(&status),
                "{status}: {}",
                reply.text
            );
        }
    }
    let kept = changed.body["departures_kept"].as_array().unwrap().len();
    eprintln!("holds made: {made} of 60, departures kept: {kept}");
    assert!(kept <= made, "only booked departures are kept");
    let violations = berth::storage::departures::seat_violations(&app.store)
        .await
        .expect("checked");
    assert!(violations.is_empty(), "{violations:?}");
}
