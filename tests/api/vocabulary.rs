//! One word for the thing a seat is sold on ("departure", issue 13), without breaking a client or
//! a database from before: the deprecated `/v1/occurrences/…` paths answer like the new ones, old
//! request and response field names still work, and migrations 0036–0038 carry a database's
//! departures, bookings and queued messages across the rename.

use std::borrow::Cow;

use chrono::{Duration, NaiveDateTime};
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::Connection;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, TestDb};

async fn old_paths_answer_like_the_new_ones(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let starts_at = (app.clock.now() + Duration::hours(48)).to_rfc3339();

    // Created under the old path, the departure is the same object under both.
    let created = app
        .post_as(
            &token,
            &format!("/v1/tours/{tour}/occurrences"),
            json!({"starts_at": starts_at, "capacity": 6}),
        )
        .await;
    created.expect(201);
    let id = created.str("id");
    let old = app.get(&format!("/v1/occurrences/{id}")).await;
    let new = app.get(&format!("/v1/departures/{id}")).await;
    old.expect(200);
    assert_eq!(old.body, new.body);

    app.patch_as(
        &token,
        &format!("/v1/occurrences/{id}"),
        json!({"capacity": 5}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get(&format!("/v1/departures/{id}")).await.body["capacity"],
        5
    );

    // A hold may still name its departure `occurrence_id`; the booking shows both names.
    let hold = app
        .post(
            "/v1/bookings",
            json!({
                "occurrence_id": id,
                "items": [{"unit": "adult", "quantity": 2}],
                "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}
            }),
        )
        .await;
    hold.expect(201);
    assert_eq!(hold.body["departure_id"], id.as_str());
    assert_eq!(hold.body["occurrence_id"], id.as_str());

    // Naming it twice is one field given twice: refused, not guessed.
    let twice = app
        .post(
            "/v1/bookings",
            json!({
                "occurrence_id": id, "departure_id": id,
                "items": [{"unit": "adult", "quantity": 1}],
                "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}
            }),
        )
        .await;
    twice.expect_error(422, "validation_failed");

    let availability = app.get(&format!("/v1/tours/{tour}/availability")).await;
    availability.expect(200);
    assert_eq!(availability.body["departures"][0]["id"], id.as_str());
    assert_eq!(
        availability.body["occurrences"],
        availability.body["departures"]
    );

    let manifest = app
        .get_as(&token, &format!("/v1/occurrences/{id}/manifest"))
        .await;
    manifest.expect(200);
    assert_eq!(manifest.body["departure"]["id"], id.as_str());
    assert_eq!(manifest.body["occurrence"], manifest.body["departure"]);
    assert_eq!(manifest.body["seats_taken"], 2);
    let csv = app
        .get_as(&token, &format!("/v1/occurrences/{id}/manifest?format=csv"))
        .await;
    csv.expect(200);
    assert!(csv.text.contains("Ada Lovelace"), "{}", csv.text);

    // Another operator gets the same 404 under the old path as under the new.
    let stranger = app.operator("Other Tours").await;
    app.patch_as(
        &stranger,
        &format!("/v1/occurrences/{id}"),
        json!({"capacity": 9}),
    )
    .await
    .expect_error(404, "not_found");

    let cancelled = app
        .post_as(&token, &format!("/v1/occurrences/{id}/cancel"), json!({}))
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["departure"]["status"], "cancelled");
    assert_eq!(cancelled.body["occurrence"], cancelled.body["departure"]);
    let booking = app
        .get_with_booking_token(
            &format!("/v1/bookings/{}", hold.str("reference")),
            &hold.str("access_token"),
        )
        .await;
    assert_eq!(booking.body["status"], "cancelled");
    // The departure's own error code uses the new word.
    app.post_as(&token, &format!("/v1/departures/{id}/cancel"), json!({}))
        .await
        .expect_error(409, "departure_cancelled");
}

async fn the_document_marks_every_old_path_deprecated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let document = app.get("/openapi.json").await.body;
    let paths = &document["paths"];
    for (method, old, new) in [
        ("get", "/v1/occurrences/{id}", "/v1/departures/{id}"),
        ("patch", "/v1/occurrences/{id}", "/v1/departures/{id}"),
        (
            "post",
            "/v1/occurrences/{id}/cancel",
            "/v1/departures/{id}/cancel",
        ),
        (
            "get",
            "/v1/occurrences/{id}/manifest",
            "/v1/departures/{id}/manifest",
        ),
        (
            "post",
            "/v1/tours/{id}/occurrences",
            "/v1/tours/{id}/departures",
        ),
    ] {
        let (old_op, new_op) = (&paths[old][method], &paths[new][method]);
        assert_eq!(old_op["deprecated"], true, "{method} {old}");
        assert_ne!(new_op["deprecated"], true, "{method} {new}");
        assert_eq!(old_op["responses"], new_op["responses"], "{method} {old}");
        let mounted = app.routes.iter().any(|(m, p)| {
            m.eq_ignore_ascii_case(method) && *p == old.replace('{', "<").replace('}', ">")
        });
        assert!(mounted, "{method} {old} is not mounted");
    }
}

/// What a database held before the rename: built at migration 0035 with the SQL of that time.
async fn a_database_from_before_the_rename_keeps_its_departures_bookings_and_messages(
    backend: Backend,
) {
    let Some((db, url)) = TestDb::create(backend, "berth_vocabulary").await else {
        return;
    };
    let folder = match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::MySql => "migrations/mysql",
    };
    let all = Migrator::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder))
        .await
        .expect("read the migrations");
    let before = Migrator {
        migrations: Cow::Owned(
            all.iter()
                .filter(|m| m.version <= 35)
                .cloned()
                .collect::<Vec<_>>(),
        ),
        ..Migrator::DEFAULT
    };
    let now = chrono::Utc::now().naive_utc();
    let starts = now + Duration::days(3);
    let statements: [(&str, Vec<Param>); 6] = [
        (
            "INSERT INTO operators (id, name, email, created_at) VALUES (?, ?, ?, ?)",
            vec![
                OPERATOR.into(),
                "Old Tours".into(),
                "old@example.com".into(),
                now.into(),
            ],
        ),
        (
            "INSERT INTO tours (id, operator_id, name, description, meeting_point, timezone, \
             duration_minutes, currency, cutoff_minutes, min_per_booking, max_per_booking, units, \
             created_at, updated_at) VALUES (?, ?, 'Old walk', '', 'Pier 1', 'Europe/Lisbon', 60, \
             'EUR', 0, 1, 10, ?, ?, ?)",
            vec![
                TOUR.into(),
                OPERATOR.into(),
                r#"[{"code":"adult","label":"Adult","price":2500}]"#.into(),
                now.into(),
                now.into(),
            ],
        ),
        (
            "INSERT INTO occurrences (id, tour_id, starts_at, capacity, seats_taken, status, \
             created_at, updated_at) VALUES (?, ?, ?, 10, 2, 'scheduled', ?, ?)",
            vec![
                DEPARTURE.into(),
                TOUR.into(),
                starts.into(),
                now.into(),
                now.into(),
            ],
        ),
        (
            "INSERT INTO bookings (id, reference, access_token_hash, occurrence_id, tour_id, \
             operator_id, status, seats, total, currency, customer_name, customer_email, \
             created_at, updated_at) VALUES (?, 'OLDREF01', 'hash', ?, ?, ?, 'confirmed', 2, \
             5000, 'EUR', 'Ada Lovelace', 'ada@example.com', ?, ?)",
            vec![
                BOOKING.into(),
                DEPARTURE.into(),
                TOUR.into(),
                OPERATOR.into(),
                now.into(),
                now.into(),
            ],
        ),
        (
            "INSERT INTO booking_items (booking_id, unit_code, quantity, unit_price) \
             VALUES (?, 'adult', 2, 2500)",
            vec![BOOKING.into()],
        ),
        (
            "INSERT INTO outbox (id, operator_id, booking_id, kind, channel, dedupe_key, status, \
             next_attempt_at, created_at) VALUES ('01JD3Z8Q4W7N5X2R6T9V0B1C3G', ?, ?, \
             'occurrence_cancelled', 'email', ?, 'pending', ?, ?)",
            vec![
                OPERATOR.into(),
                BOOKING.into(),
                format!("{BOOKING}:occurrence_cancelled:email").into(),
                now.into(),
                now.into(),
            ],
        ),
    ];
    match backend {
        Backend::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            let mut conn = sqlx::SqliteConnection::connect_with(&options.create_if_missing(true))
                .await
                .unwrap();
            before.run_direct(&mut conn).await.expect("migrate to 0035");
            for (sql, params) in &statements {
                let mut query = sqlx::query(sql);
                for p in params {
                    query = match p {
                        Param::Text(t) => query.bind(t.clone()),
                        Param::Time(t) => query.bind(*t),
                    };
                }
                query.execute(&mut conn).await.expect(sql);
            }
        }
        Backend::MySql => {
            let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
            before.run_direct(&mut conn).await.expect("migrate to 0035");
            for (sql, params) in &statements {
                let mut query = sqlx::query(sql);
                for p in params {
                    query = match p {
                        Param::Text(t) => query.bind(t.clone()),
                        Param::Time(t) => query.bind(*t),
                    };
                }
                query.execute(&mut conn).await.expect(sql);
            }
        }
    }

    // Today's berth on that database: it migrates on start and serves what was there.
    let app = TestApp::spawn_on(backend, db, url).await;
    let departure = app.get(&format!("/v1/departures/{DEPARTURE}")).await;
    departure.expect(200);
    assert_eq!(departure.body["capacity"], 10);
    assert_eq!(departure.body["available"], 8);
    assert_eq!(
        app.query_strings("SELECT departure_id FROM bookings").await,
        vec![DEPARTURE.to_owned()]
    );
    assert_eq!(
        app.query_strings("SELECT kind FROM outbox").await,
        vec!["departure_cancelled".to_owned()]
    );
    assert_eq!(
        app.query_strings("SELECT dedupe_key FROM outbox").await,
        vec![format!("{BOOKING}:departure_cancelled:email")]
    );
    // The booking still points at its departure: through a foreign key on SQLite; MySQL keeps
    // none since 0053 (a hold takes its seats last), and `berth check` reports a booking that
    // does not.
    let orphan = app
        .try_execute_sql(&format!(
            "UPDATE bookings SET departure_id = '{NO_SUCH_DEPARTURE}' WHERE id = '{BOOKING}'"
        ))
        .await;
    match backend {
        Backend::Sqlite => assert!(orphan.is_err(), "a booking may not point at no departure"),
        Backend::MySql => {
            orphan.expect("no key on MySQL");
            let violations = berth::service::check::seat_invariant(&app.store)
                .await
                .expect("check runs");
            assert!(
                violations
                    .iter()
                    .any(|v| v.detail.contains("names a departure that does not exist")),
                "{violations:?}"
            );
            app.execute_sql(&format!(
                "UPDATE bookings SET departure_id = '{DEPARTURE}' WHERE id = '{BOOKING}'"
            ))
            .await;
        }
    }
    // The seat invariant holds on the migrated rows, and the departure keeps selling.
    app.assert_seat_invariant().await;
    app.hold(DEPARTURE, json!([{"unit": "adult", "quantity": 3}]))
        .await
        .expect(201);
    assert_eq!(app.available(DEPARTURE).await, 5);
    app.assert_seat_invariant().await;
}

// ULIDs, as berth's ids are (Crockford base32: no I, L, O or U).
const OPERATOR: &str = "01JD3Z8Q4W7N5X2R6T9V0B1C3A";
const TOUR: &str = "01JD3Z8Q4W7N5X2R6T9V0B1C3B";
const DEPARTURE: &str = "01JD3Z8Q4W7N5X2R6T9V0B1C3C";
const BOOKING: &str = "01JD3Z8Q4W7N5X2R6T9V0B1C3E";
const NO_SUCH_DEPARTURE: &str = "01JD3Z8Q4W7N5X2R6T9V0B1C3F";

enum Param {
    Text(String),
    Time(NaiveDateTime),
}

impl From<&str> for Param {
    fn from(text: &str) -> Self {
        Param::Text(text.to_owned())
    }
}

impl From<String> for Param {
    fn from(text: String) -> Self {
        Param::Text(text)
    }
}

impl From<NaiveDateTime> for Param {
    fn from(time: NaiveDateTime) -> Self {
        Param::Time(time)
    }
}

on_both_backends!(
    old_paths_answer_like_the_new_ones,
    the_document_marks_every_old_path_deprecated,
    a_database_from_before_the_rename_keeps_its_departures_bookings_and_messages,
);
