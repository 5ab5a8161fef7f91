//! The OCTO supplier API (`/octo`): a reseller's key, OCTO's error shape, the
//! `Octo-Capabilities` echo, and every answer checked against the JSON Schemas in
//! `tests/octo/schemas` (the spec's, and berth's stricter profile), key by key.

use std::path::Path;

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    the_supplier_and_products_read_as_octo_says,
    keys_are_checked_and_errors_are_octo_shaped,
    a_reseller_sees_only_the_tours_it_may_sell,
    availability_reads_every_departure_with_its_status,
    availability_requests_are_checked_in_octos_order,
    resellers_have_their_own_rate_limit,
    the_octo_api_is_described_at_octo_openapi_json,
);

const BASE_ID: &str = "https://schemas.berth.invalid/octo/";

/// Every schema file under `tests/octo/schemas`, registered under its `$id`.
fn schemas() -> Vec<(String, Value)> {
    fn walk(dir: &Path, out: &mut Vec<(String, Value)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".schema.json") {
                let value: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let id = value["$id"]
                    .as_str()
                    .expect("every schema has an $id")
                    .to_owned();
                out.push((id, value));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/octo/schemas"),
        &mut out,
    );
    assert!(out.len() > 20, "the schemas were found: {}", out.len());
    out
}

/// A validator for the schema at `reference` (relative to the schemas' base id).
fn validator(reference: &str) -> jsonschema::Validator {
    let mut options = jsonschema::options();
    for (id, value) in schemas() {
        options = options.with_resource(id, jsonschema::Resource::from_contents(value).unwrap());
    }
    options
        .build(&json!({"$ref": format!("{BASE_ID}{reference}")}))
        .unwrap()
}

/// Fails listing every problem when `value` breaks the schema at `reference`.
pub(crate) fn assert_valid(reference: &str, value: &Value) {
    let validator = validator(reference);
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(problems.is_empty(), "{reference}: {problems:#?}\n{value:#}");
}

pub(crate) async fn octo(
    app: &TestApp,
    key: Option<&str>,
    path: &str,
    capabilities: Option<&str>,
) -> Reply {
    let mut request = app
        .client
        .get(format!("{}/octo{path}", app.base))
        .header("Content-Type", "application/json");
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(capabilities) = capabilities {
        request = request.header("Octo-Capabilities", capabilities);
    }
    TestApp::reply(request).await
}

pub(crate) async fn octo_post(app: &TestApp, key: &str, path: &str, body: Value) -> Reply {
    TestApp::reply(
        app.client
            .post(format!("{}/octo{path}", app.base))
            .bearer_auth(key)
            .header("Octo-Capabilities", "")
            .json(&body),
    )
    .await
}

pub(crate) fn capabilities_header(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get("octo-capabilities")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// An operator with a scheduled tour and a reseller: (owner token, tour id, reseller key).
pub(crate) async fn selling(app: &TestApp, name: &str) -> (String, String, String) {
    let token = app.operator(name).await;
    let tour = app.tour(&token, json!({})).await;
    let start = (app.clock.now() + chrono::Duration::days(2)).date_naive();
    app.post_as(
        &token,
        &format!("/v1/tours/{tour}/schedules"),
        json!({"rrule": "FREQ=DAILY;COUNT=5", "start_date": start.to_string(), "times": ["09:30", "14:00"], "capacity": 20}),
    )
    .await
    .expect(201);
    let reseller = app
        .post_as(
            &token,
            "/v1/resellers",
            json!({"name": "Harbour OTA", "commission_percent": 20}),
        )
        .await;
    reseller.expect(201);
    (token, tour, reseller.str("key"))
}

async fn the_supplier_and_products_read_as_octo_says(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The schemas catch what they should: the examples pass, a mutant does not.
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/octo/examples/products.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_valid("responses/get-products.schema.json", &example);
    let mut mutant = example.clone();
    mutant[0]["options"][0]["units"][0]
        .as_object_mut()
        .unwrap()
        .remove("restrictions");
    assert!(!validator("responses/get-products.schema.json").is_valid(&mutant));

    let (_, tour, key) = selling(&app, "Harbour Tours").await;
    let supplier = octo(&app, Some(&key), "/supplier", None).await;
    supplier.expect(200);
    assert_valid("responses/get-supplier.schema.json", &supplier.body);
    assert_valid("profiles/berth.schema.json#/$defs/Supplier", &supplier.body);
    assert_eq!(supplier.body["name"], "Harbour Tours");
    assert!(supplier.body["endpoint"]
        .as_str()
        .unwrap()
        .ends_with("/octo"));
    assert_eq!(capabilities_header(&supplier).as_deref(), Some(""));

    let products = octo(&app, Some(&key), "/products", Some("")).await;
    products.expect(200);
    assert_valid("responses/get-products.schema.json", &products.body);
    let list = products.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_valid("profiles/berth.schema.json#/$defs/Product", &list[0]);
    let product = &list[0];
    assert_eq!(product["id"], tour.as_str());
    assert_eq!(product["timeZone"], "Europe/Lisbon");
    let option = &product["options"][0];
    assert_eq!(option["id"], "DEFAULT");
    assert_eq!(
        option["availabilityLocalStartTimes"],
        json!(["09:30", "14:00"]),
        "the schedule's local times"
    );
    let units: Vec<(&str, &str)> = option["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap(), u["type"].as_str().unwrap()))
        .collect();
    assert!(units.contains(&("adult", "ADULT")), "{units:?}");

    // One product by id; the collection path with OpenAPI's trailing slash too.
    let one = octo(&app, Some(&key), &format!("/products/{tour}"), None).await;
    one.expect(200);
    assert_valid("responses/get-product.schema.json", &one.body);
    assert_eq!(&one.body, product);
    let slashed = octo(&app, Some(&key), "/products/", None).await;
    slashed.expect(200);
    assert_eq!(slashed.body, products.body);

    // Capabilities berth does not offer are not echoed as applied; those it does are.
    let asked = octo(&app, Some(&key), "/products", Some("octo/content")).await;
    assert_eq!(capabilities_header(&asked).as_deref(), Some(""));
    assert!(asked.body[0].get("pricingPer").is_none());
    let both = octo(
        &app,
        Some(&key),
        "/products",
        Some(" octo/content ,octo/pricing"),
    )
    .await;
    assert_eq!(capabilities_header(&both).as_deref(), Some("octo/pricing"));
    assert_eq!(both.body[0]["pricingPer"], "UNIT");
    let capabilities = octo(&app, Some(&key), "/capabilities", None).await;
    capabilities.expect(200);
    assert_valid("responses/get-capabilities.schema.json", &capabilities.body);
    assert_eq!(capabilities.body[0]["id"], "octo/pricing");
}

async fn keys_are_checked_and_errors_are_octo_shaped(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, key) = selling(&app, "Harbour Tours").await;
    let error = |reply: &Reply, code: &str| {
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
        assert_eq!(reply.body["error"], code, "{}", reply.text);
        assert!(!reply.body["errorMessage"].as_str().unwrap().is_empty());
        assert_valid("responses/error.schema.json", &reply.body);
        assert_eq!(capabilities_header(reply).as_deref(), Some(""));
    };
    error(&octo(&app, None, "/supplier", None).await, "UNAUTHORIZED");
    error(
        &octo(&app, Some("brs_not-a-real-key"), "/products", None).await,
        "FORBIDDEN",
    );
    error(
        &octo(
            &app,
            Some("an operator token, not a key"),
            "/supplier",
            None,
        )
        .await,
        "FORBIDDEN",
    );
    let unknown = octo(&app, Some(&key), "/products/invalidProductId", None).await;
    error(&unknown, "INVALID_PRODUCT_ID");
    assert_eq!(unknown.body["productId"], "invalidProductId");
    error(
        &octo(&app, Some(&key), "/nothing-here", None).await,
        "BAD_REQUEST",
    );

    // Revoked: refused at once.
    let id = app.get_as(&token, "/v1/resellers").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/resellers/{id}"),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    error(
        &octo(&app, Some(&key), "/supplier", None).await,
        "FORBIDDEN",
    );
}

async fn a_reseller_sees_only_the_tours_it_may_sell(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, first, all_key) = selling(&app, "Harbour Tours").await;
    let second = app.tour(&token, json!({"name": "Sunset cruise"})).await;
    let limited = app
        .post_as(
            &token,
            "/v1/resellers",
            json!({"name": "Concierge", "tours": [second]}),
        )
        .await;
    limited.expect(201);
    let limited_key = limited.str("key");
    let ids = |reply: &Reply| -> Vec<String> {
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(
        ids(&octo(&app, Some(&all_key), "/products", None).await),
        both
    );
    assert_eq!(
        ids(&octo(&app, Some(&limited_key), "/products", None).await),
        vec![second.clone()]
    );
    let hidden = octo(
        &app,
        Some(&limited_key),
        &format!("/products/{first}"),
        None,
    )
    .await;
    assert_eq!(
        hidden.body["error"], "INVALID_PRODUCT_ID",
        "{}",
        hidden.text
    );
    // Another operator's tour is unknown to this reseller, and its supplier is its own.
    let (_, foreign, _) = selling(&app, "Other Tours").await;
    let theirs = octo(&app, Some(&all_key), &format!("/products/{foreign}"), None).await;
    assert_eq!(theirs.body["error"], "INVALID_PRODUCT_ID");
    let supplier = octo(&app, Some(&all_key), "/supplier", None).await;
    assert_eq!(supplier.body["name"], "Harbour Tours");
    // An archived tour is no longer sold.
    app.post_as(&token, &format!("/v1/tours/{first}/archive"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        ids(&octo(&app, Some(&all_key), "/products", None).await),
        vec![second]
    );
}

/// The departures of a tour from `/v1` (id, UTC start), soonest first.
pub(crate) async fn departures(
    app: &TestApp,
    tour: &str,
) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    let reply = app.get(&format!("/v1/tours/{tour}/availability")).await;
    reply.expect(200);
    reply.body["departures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_owned(),
                d["starts_at"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// Holds `seats` adults on a departure, at most 8 (the tour's per-booking limit) at a time.
pub(crate) async fn take(app: &TestApp, departure: &str, seats: i64) {
    let mut left = seats;
    while left > 0 {
        let n = left.min(8);
        app.hold(departure, json!([{"unit": "adult", "quantity": n}]))
            .await
            .expect(201);
        left -= n;
    }
}

/// OCTO's id of a departure: its local start with the offset of that instant in Lisbon.
pub(crate) fn octo_id(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Lisbon)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

async fn availability_reads_every_departure_with_its_status(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, key) = selling(&app, "Harbour Tours").await;
    let list = departures(&app, &tour).await;
    assert_eq!(list.len(), 10, "5 days × 2 times");
    let (limited, sold_out, closed, open) = (&list[0], &list[1], &list[2], &list[3]);
    take(&app, &limited.0, 11).await;
    take(&app, &sold_out.0, 20).await;
    app.post_as(
        &token,
        &format!("/v1/departures/{}/cancel", closed.0),
        json!({}),
    )
    .await
    .expect(200);

    let today = app
        .clock
        .now()
        .with_timezone(&chrono_tz::Europe::Lisbon)
        .date_naive();
    let end = today + chrono::Duration::days(30);
    let body = json!({"productId": tour, "optionId": "DEFAULT",
        "localDateStart": today.to_string(), "localDateEnd": end.to_string()});
    let checked = octo_post(&app, &key, "/availability", body.clone()).await;
    checked.expect(200);
    assert_valid("responses/availability-check.schema.json", &checked.body);
    let slots = checked.body.as_array().unwrap();
    assert_eq!(slots.len(), 10);
    for slot in slots {
        assert_valid("profiles/berth.schema.json#/$defs/Availability", slot);
    }
    let slot = |at: &chrono::DateTime<chrono::Utc>| -> Value {
        slots
            .iter()
            .find(|s| s["id"] == octo_id(*at).as_str())
            .unwrap_or_else(|| panic!("no availability {}: {slots:?}", octo_id(*at)))
            .clone()
    };
    let facts = |s: &Value| {
        (
            s["status"].clone(),
            s["available"].clone(),
            s["vacancies"].clone(),
        )
    };
    assert_eq!(
        facts(&slot(&limited.1)),
        (json!("LIMITED"), json!(true), json!(9))
    );
    assert_eq!(
        facts(&slot(&sold_out.1)),
        (json!("SOLD_OUT"), json!(false), json!(0))
    );
    assert_eq!(facts(&slot(&closed.1)).0, json!("CLOSED"));
    assert_eq!(
        facts(&slot(&open.1)),
        (json!("AVAILABLE"), json!(true), json!(20))
    );
    let first = slot(&limited.1);
    assert_eq!(first["localDateTimeStart"], first["id"]);
    assert_eq!(first["capacity"], 20);
    assert_eq!(first["maxUnits"], 8);
    let cutoff = limited.1 - chrono::Duration::minutes(30);
    assert_eq!(
        first["utcCutoffAt"],
        cutoff.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    let ends = limited.1 + chrono::Duration::minutes(90);
    assert_eq!(first["localDateTimeEnd"], octo_id(ends));

    // By id, and by date.
    let by_id = octo_post(
        &app,
        &key,
        "/availability",
        json!({"productId": tour, "optionId": "DEFAULT", "availabilityIds": [octo_id(limited.1)]}),
    )
    .await;
    assert_eq!(by_id.body, json!([first]));
    let day = limited
        .1
        .with_timezone(&chrono_tz::Europe::Lisbon)
        .date_naive();
    let by_date = octo_post(
        &app,
        &key,
        "/availability",
        json!({"productId": tour, "optionId": "DEFAULT", "localDate": day.to_string()}),
    )
    .await;
    assert_eq!(
        by_date.body.as_array().unwrap().len(),
        2,
        "{}",
        by_date.text
    );

    // The calendar: one entry per day, the best departure of the day.
    let calendar = octo_post(&app, &key, "/availability/calendar", body).await;
    calendar.expect(200);
    assert_valid(
        "responses/availability-calendar.schema.json",
        &calendar.body,
    );
    let days = calendar.body.as_array().unwrap();
    assert_eq!(days.len(), 31);
    for entry in days {
        assert_valid(
            "profiles/berth.schema.json#/$defs/AvailabilityCalendarDay",
            entry,
        );
    }
    let entry = |date: chrono::NaiveDate| {
        days.iter()
            .find(|d| d["localDate"] == date.to_string())
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            entry(today)["status"].clone(),
            entry(today)["capacity"].clone()
        ),
        (json!("CLOSED"), json!(0)),
        "no departures today"
    );
    // The first day: 09:30 LIMITED (9 left) and 14:00 SOLD_OUT: LIMITED, 9 vacancies.
    let first_day = entry(day);
    assert_eq!(
        (
            first_day["status"].clone(),
            first_day["vacancies"].clone(),
            first_day["capacity"].clone()
        ),
        (json!("LIMITED"), json!(9), json!(40))
    );
}

async fn availability_requests_are_checked_in_octos_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Harbour Tours").await;
    let today = app.clock.now().date_naive().to_string();
    let code = |reply: &Reply| {
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
        assert_valid("responses/error.schema.json", &reply.body);
        reply.body["error"].as_str().unwrap().to_owned()
    };
    for path in ["/availability", "/availability/calendar"] {
        let product = octo_post(
            &app,
            &key,
            path,
            json!({"productId": "invalidProductId",
            "optionId": "DEFAULT", "localDateStart": today, "localDateEnd": today}),
        )
        .await;
        assert_eq!(code(&product), "INVALID_PRODUCT_ID");
        assert_eq!(product.body["productId"], "invalidProductId");
        let option = octo_post(
            &app,
            &key,
            path,
            json!({"productId": tour,
            "optionId": "invalidOptionId", "localDateStart": today, "localDateEnd": today}),
        )
        .await;
        assert_eq!(code(&option), "INVALID_OPTION_ID");
        assert_eq!(option.body["optionId"], "invalidOptionId");
        let no_start = octo_post(
            &app,
            &key,
            path,
            json!({"productId": tour,
            "optionId": "DEFAULT", "localDateEnd": today}),
        )
        .await;
        assert_eq!(code(&no_start), "BAD_REQUEST");
        let unread = octo_post(&app, &key, path, json!(["not", "an", "object"])).await;
        assert_eq!(code(&unread), "BAD_REQUEST");
    }
    let all_forms = octo_post(
        &app,
        &key,
        "/availability",
        json!({"productId": tour,
        "optionId": "DEFAULT", "localDate": today, "localDateStart": today,
        "localDateEnd": today, "availabilityIds": ["x"]}),
    )
    .await;
    assert_eq!(code(&all_forms), "BAD_REQUEST");
    let none = octo_post(
        &app,
        &key,
        "/availability",
        json!({"productId": tour, "optionId": "DEFAULT"}),
    )
    .await;
    assert_eq!(code(&none), "BAD_REQUEST");
    let later = (app.clock.now().date_naive() + chrono::Duration::days(400)).to_string();
    let year = octo_post(
        &app,
        &key,
        "/availability/calendar",
        json!({"productId": tour, "optionId": "DEFAULT", "localDateStart": today, "localDateEnd": later}),
    )
    .await;
    assert_eq!(code(&year), "BAD_REQUEST");
}

async fn resellers_have_their_own_rate_limit(backend: Backend) {
    let settings = [("rate_limits", json!("octo=2/min"))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (_, tour, key) = selling(&app, "Harbour Tours").await;
    for _ in 0..2 {
        octo(&app, Some(&key), "/supplier", None).await.expect(200);
    }
    let over = octo(&app, Some(&key), "/products", None).await;
    assert_eq!(
        over.status.as_u16(),
        400,
        "OCTO's errors are all 400: {}",
        over.text
    );
    assert_eq!(over.body["error"], "BAD_REQUEST");
    assert_valid("responses/error.schema.json", &over.body);
    let wait: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The rest of the API is other buckets (unlimited here).
    app.get(&format!("/v1/tours/{tour}")).await.expect(200);
}

async fn the_octo_api_is_described_at_octo_openapi_json(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Public, like /openapi.json: it describes, it sells nothing.
    let reply = octo(&app, None, "/openapi.json", None).await;
    reply.expect(200);
    let doc = &reply.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    // Every mounted /octo route is described, with its method, a 200 and OCTO's 400.
    let mounted: Vec<(String, String)> = app
        .routes
        .iter()
        .filter(|(_, path)| path.starts_with("/octo") && path != "/octo/openapi.json")
        .map(|(method, path)| {
            let path = path.replace('<', "{").replace('>', "}");
            (method.to_ascii_lowercase(), path)
        })
        .collect();
    assert_eq!(mounted.len(), 13, "{mounted:?}");
    for (method, path) in &mounted {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not described");
        assert!(operation["responses"]["200"].is_object(), "{method} {path}");
        assert!(operation["responses"]["400"].is_object(), "{method} {path}");
        assert_eq!(
            operation["security"][0]["reseller_key"],
            json!([]),
            "{method} {path}"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        mounted.len(),
        "nothing described that is not served"
    );
    // The booking's shape names OCTO's keys.
    let booking = &doc["components"]["schemas"]["OctoBooking"]["properties"];
    for key in [
        "uuid",
        "supplierReference",
        "availabilityId",
        "unitItems",
        "utcExpiresAt",
    ] {
        assert!(booking[key].is_object(), "OctoBooking.{key}");
    }
}
