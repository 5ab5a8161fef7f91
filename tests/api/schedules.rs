//! Recurring schedules through the API: materialization, DST in two zones, exceptions,
//! COUNT/UNTIL, and idempotent re-materialization by the horizon worker.

use chrono::Duration;
use serde_json::{json, Value};

use crate::on_both_backends;
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
    reply.body["occurrences"]
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

async fn nine_oclock_stays_nine_oclock_across_dst_in_lisbon_and_new_york(backend: Backend) {
    let Some(app) = long_horizon_app(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let lisbon = app.tour(&token, json!({"timezone": "Europe/Lisbon"})).await;
    let new_york = app
        .tour(&token, json!({"timezone": "America/New_York"}))
        .await;
    for tour in [&lisbon, &new_york] {
        schedule(&app, &token, tour, json!({"rrule": "FREQ=DAILY", "start_date": "2027-03-01", "times": ["09:00"], "capacity": 12})).await;
    }
    // Lisbon springs forward on 2027-03-28 and falls back on 2027-10-31.
    assert_eq!(
        departures(&app, &lisbon, "2027-03-27", "2027-03-28").await,
        [
            ("2027-03-27T09:00:00Z".into(), "2027-03-27T09:00:00Z".into()),
            (
                "2027-03-28T08:00:00Z".into(),
                "2027-03-28T09:00:00+01:00".into()
            ),
        ]
    );
    assert_eq!(
        departures(&app, &lisbon, "2027-10-30", "2027-10-31").await,
        [
            (
                "2027-10-30T08:00:00Z".into(),
                "2027-10-30T09:00:00+01:00".into()
            ),
            ("2027-10-31T09:00:00Z".into(), "2027-10-31T09:00:00Z".into()),
        ]
    );
    // New York springs forward on 2027-03-14 and falls back on 2027-11-07.
    assert_eq!(
        departures(&app, &new_york, "2027-03-13", "2027-03-14").await,
        [
            (
                "2027-03-13T14:00:00Z".into(),
                "2027-03-13T09:00:00-05:00".into()
            ),
            (
                "2027-03-14T13:00:00Z".into(),
                "2027-03-14T09:00:00-04:00".into()
            ),
        ]
    );
    assert_eq!(
        departures(&app, &new_york, "2027-11-06", "2027-11-07").await,
        [
            (
                "2027-11-06T13:00:00Z".into(),
                "2027-11-06T09:00:00-04:00".into()
            ),
            (
                "2027-11-07T14:00:00Z".into(),
                "2027-11-07T09:00:00-05:00".into()
            ),
        ]
    );
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
    schedule(&app, &token, &lisbon, json!({"rrule": "FREQ=DAILY", "start_date": "2027-03-28", "until": "2027-03-28", "times": ["01:30"], "capacity": 5})).await;
    schedule(&app, &token, &lisbon, json!({"rrule": "FREQ=DAILY", "start_date": "2027-10-31", "until": "2027-10-31", "times": ["01:30"], "capacity": 5})).await;
    schedule(&app, &token, &new_york, json!({"rrule": "FREQ=DAILY", "start_date": "2027-03-14", "until": "2027-03-14", "times": ["02:30"], "capacity": 5})).await;
    schedule(&app, &token, &new_york, json!({"rrule": "FREQ=DAILY", "start_date": "2027-11-07", "until": "2027-11-07", "times": ["01:30"], "capacity": 5})).await;
    // 01:30 does not exist in Lisbon on 2027-03-28: it departs at 02:30 WEST.
    assert_eq!(
        departures(&app, &lisbon, "2027-03-28", "2027-03-28").await,
        [(
            "2027-03-28T01:30:00Z".into(),
            "2027-03-28T02:30:00+01:00".into()
        )]
    );
    // 01:30 happens twice in Lisbon on 2027-10-31: the first (WEST) one.
    assert_eq!(
        departures(&app, &lisbon, "2027-10-31", "2027-10-31").await,
        [(
            "2027-10-31T00:30:00Z".into(),
            "2027-10-31T01:30:00+01:00".into()
        )]
    );
    assert_eq!(
        departures(&app, &new_york, "2027-03-14", "2027-03-14").await,
        [(
            "2027-03-14T07:30:00Z".into(),
            "2027-03-14T03:30:00-04:00".into()
        )]
    );
    assert_eq!(
        departures(&app, &new_york, "2027-11-07", "2027-11-07").await,
        [(
            "2027-11-07T05:30:00Z".into(),
            "2027-11-07T01:30:00-04:00".into()
        )]
    );
}

async fn exceptions_count_and_until_shape_the_departures(backend: Backend) {
    let Some(app) = long_horizon_app(backend).await else {
        return;
    };
    let token = app.operator("Acme").await;
    let tour = app.tour(&token, json!({"timezone": "UTC"})).await;
    // Mondays and Wednesdays from Monday 2027-02-01: six dates, the second skipped.
    let created = schedule(
        &app,
        &token,
        &tour,
        json!({
            "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6", "start_date": "2027-02-01",
            "times": ["16:00", "10:00"], "capacity": 8, "exceptions": ["2027-02-03"]
        }),
    )
    .await;
    assert_eq!(created["occurrences_created"], 10);
    assert_eq!(created["times"], json!(["10:00", "16:00"]));
    let dates: Vec<String> = departures(&app, &tour, "2027-01-25", "2027-03-31")
        .await
        .into_iter()
        .map(|(utc, _)| utc)
        .collect();
    assert_eq!(dates.len(), 10);
    assert_eq!(dates[0], "2027-02-01T10:00:00Z");
    assert_eq!(dates[2], "2027-02-08T10:00:00Z", "the exception is skipped");
    assert_eq!(
        dates[9], "2027-02-17T16:00:00Z",
        "COUNT counted the skipped date"
    );

    let until = schedule(&app, &token, &tour, json!({
        "rrule": "FREQ=DAILY;INTERVAL=2;UNTIL=20270410", "start_date": "2027-04-01", "times": ["12:00"], "capacity": 8
    }))
    .await;
    assert_eq!(until["occurrences_created"], 5, "Apr 1, 3, 5, 7, 9");
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
    let first = created["occurrences_created"].as_u64().unwrap();
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
