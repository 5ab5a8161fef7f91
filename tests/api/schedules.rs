//! Recurring schedules through the API: materialization, DST in two zones, exceptions,
//! COUNT/UNTIL, and idempotent re-materialization by the horizon worker.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc, Weekday};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::calendar::{
    departure_at, hours_east, next_dst_transitions, on_or_after, rfc3339, DstTransitions,
    Transition,
};
use crate::support::{Backend, TestApp};

on_both_backends!(
    nine_oclock_stays_nine_oclock_across_dst_in_lisbon_and_new_york,
    gaps_shift_forward_and_ambiguous_times_take_the_first_instant,
    exceptions_count_and_until_shape_the_departures,
    materializing_again_creates_nothing_twice,
);

async fn long_horizon_app(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, &[("schedule_horizon_days", json!(730))]).await
}

/// (starts_at, local_starts_at) of every departure of `tour` on the given local dates.
async fn departures(app: &TestApp, tour: &str, from: &str, to: &str) -> Vec<(String, String)> {
    let reply = app
        .get(&format!(
            "/v1/tours/{tour}/availability?from={from}&to={to}"
        ))
        .await;
    reply.expect(200);
    reply.body["departures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["starts_at"].as_str().unwrap().to_owned(),
                o["local_starts_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn schedule(app: &TestApp, token: &str, tour: &str, body: Value) -> Value {
    let reply = app
        .post_as(token, &format!("/v1/tours/{tour}/schedules"), body)
        .await;
    reply.expect(201);
    reply.body.clone()
}

/// The next DST changes of Lisbon and New York, at least two days ahead of the test's clock so
/// that the day before each is a future day too, checked against the zones' rules as written in
/// law rather than in tzdata: Lisbon moves at 01:00 UTC on the last Sundays of March and
/// October, between UTC+0 and UTC+1; New York at 02:00 local on the second Sunday of March and
/// the first of November, between UTC-5 and UTC-4.
fn lisbon_and_new_york(now: DateTime<Utc>) -> (DstTransitions, DstTransitions) {
    let after = now + Duration::days(2);
    let lisbon = next_dst_transitions(chrono_tz::Europe::Lisbon, after);
    let new_york = next_dst_transitions(chrono_tz::America::New_York, after);
    let sunday = |t: &Transition| t.date().weekday() == Weekday::Sun;
    for t in [lisbon.spring, lisbon.fall, new_york.spring, new_york.fall] {
        assert!(sunday(&t), "{t:?} falls on a Sunday");
    }
    let last_sunday = |t: &Transition, month| {
        t.date().month() == month && (t.date() + Duration::days(7)).month() != month
    };
    assert!(last_sunday(&lisbon.spring, 3) && last_sunday(&lisbon.fall, 10));
    assert_eq!(
        (lisbon.spring.at.time(), lisbon.fall.at.time()),
        (
            NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(1, 0, 0).unwrap()
        )
    );
    assert_eq!(
        (lisbon.spring.before, lisbon.spring.after),
        (hours_east(0), hours_east(1))
    );
    assert_eq!(
        (lisbon.fall.before, lisbon.fall.after),
        (hours_east(1), hours_east(0))
    );
    let nth_sunday = |t: &Transition| (t.date().day() - 1) / 7 + 1;
    assert_eq!(
        (new_york.spring.date().month(), nth_sunday(&new_york.spring)),
        (3, 2)
    );
    assert_eq!(
        (new_york.fall.date().month(), nth_sunday(&new_york.fall)),
        (11, 1)
    );
    let two = NaiveTime::from_hms_opt(2, 0, 0).unwrap();
    assert_eq!(
        (new_york.spring.local_time(), new_york.fall.local_time()),
        (two, two)
    );
    assert_eq!(
        (new_york.spring.before, new_york.spring.after),
        (hours_east(-5), hours_east(-4))
    );
    assert_eq!(
        (new_york.fall.before, new_york.fall.after),
        (hours_east(-4), hours_east(-5))
    );
    // Two zones because they change on different dates: one schedule rule cannot fit both.
    assert_ne!(lisbon.spring.date(), new_york.spring.date());
    assert_ne!(lisbon.fall.date(), new_york.fall.date());
    (lisbon, new_york)
}

async fn nine_oclock_stays_nine_oclock_across_dst_in_lisbon_and_new_york(backend: Backend) {
    let Some(app) = long_horizon_app(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let lisbon = app.tour(&token, json!({"timezone": "Europe/Lisbon"})).await;
    let new_york = app
        .tour(&token, json!({"timezone": "America/New_York"}))
        .await;
    let now = app.clock.now();
    let start = (now + Duration::days(1)).date_naive().to_string();
    for tour in [&lisbon, &new_york] {
        schedule(
            &app,
            &token,
            tour,
            json!({"rrule": "FREQ=DAILY", "start_date": start, "times": ["09:00"], "capacity": 12}),
        )
        .await;
    }
    let (lisbon_dst, new_york_dst) = lisbon_and_new_york(now);
    // 09:00 local on the day before each change (old offset) and on the day itself (new one).
    for (tour, dst) in [(&lisbon, lisbon_dst), (&new_york, new_york_dst)] {
        for change in [dst.spring, dst.fall] {
            let (eve, day) = (change.date() - Duration::days(1), change.date());
            assert_eq!(
                departures(&app, tour, &eve.to_string(), &day.to_string()).await,
                [
                    departure_at(eve, 9, 0, change.before),
                    departure_at(day, 9, 0, change.after)
                ],
                "{change:?}"
            );
        }
    }
}

async fn gaps_shift_forward_and_ambiguous_times_take_the_first_instant(backend: Backend) {
    let Some(app) = long_horizon_app(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let lisbon = app.tour(&token, json!({"timezone": "Europe/Lisbon"})).await;
    let new_york = app
        .tour(&token, json!({"timezone": "America/New_York"}))
        .await;
    let (lisbon_dst, new_york_dst) = lisbon_and_new_york(app.clock.now());
    for (tour, dst) in [(&lisbon, lisbon_dst), (&new_york, new_york_dst)] {
        // Half way into the hour the clocks skip (01:30 in Lisbon, 02:30 in New York): it does
        // not exist, so the departure leaves as late as the old offset says, shown on the new.
        let (spring, fall) = (dst.spring, dst.fall);
        let missing = spring.local_time() + spring.shift() / 2;
        // Half way into the hour that happens twice (01:30 in both): the first one.
        let twice = fall.local_time() + fall.shift() / 2;
        for (day, time) in [(spring.date(), missing), (fall.date(), twice)] {
            let (date, hh_mm) = (day.to_string(), time.format("%H:%M").to_string());
            schedule(&app, &token, tour, json!({"rrule": "FREQ=DAILY", "start_date": date, "until": date, "times": [hh_mm], "capacity": 5})).await;
        }
        let (utc, _) = departure_at(
            spring.date(),
            missing.hour(),
            missing.minute(),
            spring.before,
        );
        let shown = rfc3339(
            DateTime::parse_from_rfc3339(&utc)
                .unwrap()
                .with_timezone(&spring.after),
        );
        let day = spring.date().to_string();
        assert_eq!(
            departures(&app, tour, &day, &day).await,
            [(utc, shown)],
            "{spring:?}"
        );
        let first = departure_at(fall.date(), twice.hour(), twice.minute(), fall.before);
        let day = fall.date().to_string();
        assert_eq!(
            departures(&app, tour, &day, &day).await,
            [first],
            "{fall:?}"
        );
    }
}

async fn exceptions_count_and_until_shape_the_departures(backend: Backend) {
    let Some(app) = long_horizon_app(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let tour = app.tour(&token, json!({"timezone": "UTC"})).await;
    // Mondays and Wednesdays from a Monday a week or more ahead: six dates, the second skipped.
    let monday = on_or_after(
        (app.clock.now() + Duration::days(7)).date_naive(),
        Weekday::Mon,
    );
    let day = |n: i64| monday + Duration::days(n);
    let created = schedule(
        &app,
        &token,
        &tour,
        json!({
            "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6", "start_date": monday.to_string(),
            "times": ["16:00", "10:00"], "capacity": 8, "exceptions": [day(2).to_string()]
        }),
    )
    .await;
    assert_eq!(created["departures_created"], 10);
    assert_eq!(created["times"], json!(["10:00", "16:00"]));
    let (from, to) = (day(-7).to_string(), day(58).to_string());
    let dates: Vec<String> = departures(&app, &tour, &from, &to)
        .await
        .into_iter()
        .map(|(utc, _)| utc)
        .collect();
    assert_eq!(dates.len(), 10);
    assert_eq!(dates[0], departure_at(monday, 10, 0, hours_east(0)).0);
    assert_eq!(
        dates[2],
        departure_at(day(7), 10, 0, hours_east(0)).0,
        "the exception is skipped"
    );
    assert_eq!(
        dates[9],
        departure_at(day(16), 16, 0, hours_east(0)).0,
        "COUNT counted the skipped date"
    );

    // Every other day from a date two months on, UNTIL nine days later: five departures.
    let start = day(60);
    let until = (start + Duration::days(9)).format("%Y%m%d");
    let until = schedule(&app, &token, &tour, json!({
        "rrule": format!("FREQ=DAILY;INTERVAL=2;UNTIL={until}"), "start_date": start.to_string(), "times": ["12:00"], "capacity": 8
    }))
    .await;
    assert_eq!(until["departures_created"], 5, "days 0, 2, 4, 6 and 8");
    let listed = app
        .get_as(&token, &format!("/v1/tours/{tour}/schedules"))
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
}

async fn materializing_again_creates_nothing_twice(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("schedule_horizon_days", json!(10))]).await
    else {
        return;
    };
    let token = app.operator("Acme").await;
    let tour = app.tour(&token, json!({"timezone": "Europe/Lisbon"})).await;
    let today = app.clock.now().date_naive();
    let created = schedule(&app, &token, &tour, json!({
        "rrule": "FREQ=DAILY", "start_date": today.to_string(), "times": ["09:00", "18:00"], "capacity": 8
    }))
    .await;
    let first = created["departures_created"].as_u64().unwrap();
    assert!(
        (19..=21).contains(&first),
        "about ten days of two departures, got {first}"
    );
    let horizon = berth::workers::horizon::run_once;
    assert_eq!(
        horizon(&app.store, app.clock.now(), 10).await.unwrap(),
        0,
        "already materialized"
    );

    // Three days later the worker adds three days' departures, once.
    app.clock.advance(Duration::days(3));
    assert_eq!(horizon(&app.store, app.clock.now(), 10).await.unwrap(), 6);
    assert_eq!(horizon(&app.store, app.clock.now(), 10).await.unwrap(), 0);

    // Forcing a re-materialization of the whole window creates nothing either.
    let tour_id = berth::domain::ids::TourId::parse(&tour).unwrap();
    let record = berth::service::catalogue::tour(&app.store, &tour_id)
        .await
        .unwrap();
    let schedules = berth::storage::catalogue::list_schedules_for_tour(&app.store, &tour_id)
        .await
        .unwrap();
    let again = berth::service::catalogue::materialize(
        &app.store,
        app.clock.now(),
        10,
        &record,
        &schedules[0],
    )
    .await
    .unwrap();
    assert_eq!(again, 0);
}
