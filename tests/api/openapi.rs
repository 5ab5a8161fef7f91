//! The OpenAPI document covers every mounted route and every error each route gives, and
//! `/docs` renders it in a real browser.

use std::collections::BTreeSet;
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    the_openapi_document_describes_every_mounted_route,
    every_route_documents_the_errors_it_gives
);

/// `/v1/tours/<id>` → `/v1/tours/{id}`.
fn openapi_path(rocket_path: &str) -> String {
    rocket_path.replace('<', "{").replace('>', "}")
}

async fn the_openapi_document_describes_every_mounted_route(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let reply = app.get("/openapi.json").await;
    reply.expect(200);
    let spec = &reply.body;
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );
    let documentation = ["/openapi.json", "/docs"];
    let mut missing = Vec::new();
    for (method, path) in &app.routes {
        // CORS preflight plumbing (`OPTIONS /<_..>`) is not an operation; HTML pages are not
        // part of the API; the OCTO API follows OCTO's own specification (tests/octo).
        if documentation.contains(&path.as_str())
            || method == "OPTIONS"
            || berth::web::is_page_path(path)
            || path.starts_with(berth::http::octo::BASE)
        {
            continue;
        }
        let operation = &spec["paths"][openapi_path(path)][method.to_lowercase()];
        if !operation.is_object() {
            missing.push(format!("{method} {path}"));
            continue;
        }
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
    assert!(missing.is_empty(), "mounted but undocumented: {missing:?}");
    assert!(
        app.routes.len() >= 20,
        "routes were listed: {:?}",
        app.routes
    );

    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "BookingView",
        "HoldRequest",
        "ErrorResponse",
        "TourDraft",
        "DepartureView",
        "ScheduleDraft",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let hold = &spec["paths"]["/v1/bookings"]["post"];
    let statuses: Vec<&str> = hold["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for status in ["201", "409", "422", "503"] {
        assert!(
            statuses.contains(&status),
            "POST /v1/bookings lacks {status}: {statuses:?}"
        );
    }
    let parameters = hold["parameters"].as_array().unwrap();
    assert!(parameters.iter().any(|p| p["name"] == "Idempotency-Key"));
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("operator_token") && schemes.contains_key("booking_token"));
}

/// Every documented operation: (method, OpenAPI path, operation).
fn operations(spec: &Value) -> Vec<(Method, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            found.push((method, path.clone(), operation.clone()));
        }
    }
    found
}

fn documented(operation: &Value) -> BTreeSet<String> {
    operation["responses"]
        .as_object()
        .map(|responses| responses.keys().cloned().collect())
        .unwrap_or_default()
}

/// The path with every `{id}` replaced by a well-formed id that names nothing.
fn with_unknown_ids(path: &str) -> String {
    let mut concrete = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        concrete.push_str(&rest[..start]);
        concrete.push_str("01JZZZZZZZZZZZZZZZZZZZZZZZ");
        rest = &rest[rest[start..].find('}').expect("closed") + start + 1..];
    }
    concrete.push_str(rest);
    concrete
}

/// `?name=not-valid&…` for every query parameter the operation documents (empty without any).
fn with_bad_query(operation: &Value) -> String {
    let names: Vec<String> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|parameter| parameter["in"] == "query")
        .filter_map(|parameter| parameter["name"].as_str())
        .map(|name| format!("{name}=not-valid"))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!("?{}", names.join("&"))
    }
}

async fn send(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let mut request = app.client.request(
        method.clone(),
        format!("{}{}", app.base, with_unknown_ids(path)),
    );
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    TestApp::reply(request).await
}

/// The error statuses a route gives are read from the route itself: each operation is called
/// without credentials, with a bad one, with a guide's (the lowest role) and the owner's token,
/// with ids that name nothing, with an empty, a malformed and a wrongly typed body, with bad
/// query values, and once more
/// under rate limits of one request a minute. Whatever 4xx comes back must be documented; a route
/// that reaches the database documents the 503 `busy` with `Retry-After`, and a rate-limited one
/// its 429 with `Retry-After`. No call may answer 5xx.
async fn every_route_documents_the_errors_it_gives(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let spec = app.get("/openapi.json").await.body;
    let owner = app.operator("Documented Errors").await;
    let (guide, _) = app
        .signed_in(&owner, "guide@documented.example", "guide")
        .await;
    let mut undocumented = Vec::new();
    let mut observed = BTreeSet::new();
    for (method, path, operation) in operations(&spec) {
        let takes_body = operation["requestBody"].is_object();
        let bodies: Vec<Option<&str>> = if takes_body {
            vec![Some("{}"), Some("{\"broken\""), Some("[]")]
        } else {
            vec![None]
        };
        let documented = documented(&operation);
        let targets = [
            path.clone(),
            format!("{path}{}", with_bad_query(&operation)),
        ];
        let tokens = [
            None,
            Some("brt_not_a_token"),
            Some(guide.as_str()),
            Some(owner.as_str()),
        ];
        for (target, token) in targets
            .iter()
            .flat_map(|target| tokens.map(|token| (target, token)))
        {
            // Signing the guide out would turn every later 403 into a 401.
            if path == "/v1/auth/logout" && token == Some(guide.as_str()) {
                continue;
            }
            for body in &bodies {
                let reply = send(&app, &method, target, token, *body).await;
                let status = reply.status.as_u16();
                assert!(
                    status < 500,
                    "{method} {path} answered {status}: {}",
                    reply.text
                );
                if status >= 400 {
                    observed.insert(status);
                    if !documented.contains(&status.to_string()) {
                        undocumented.push(format!("{method} {target}: {status} {}", reply.code()));
                    }
                }
            }
        }
        if path.starts_with("/v1/") {
            let busy = &operation["responses"]["503"];
            assert!(
                busy["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("`busy`"))
                    && busy["headers"]["Retry-After"].is_object(),
                "{method} {path} lacks the shared 503: {busy}"
            );
        }
    }
    undocumented.sort();
    undocumented.dedup();
    assert!(
        undocumented.is_empty(),
        "undocumented answers: {undocumented:#?}"
    );
    for status in [400, 401, 403, 404, 422] {
        assert!(
            observed.contains(&status),
            "no route answered {status}: {observed:?}"
        );
    }

    let limits = json!("auth=1/min,bookings=1/min,writes=1/min,reads=1/min");
    let limited = TestApp::spawn_with(backend, &[("rate_limits", limits)])
        .await
        .expect("a second app on the same backend");
    let mut without_429 = Vec::new();
    let mut rate_limited = 0;
    for (method, path, operation) in operations(&spec) {
        let body = operation["requestBody"].is_object().then_some("{}");
        // The second call in a bucket is over its limit; every later route in it too.
        send(&limited, &method, &path, None, body).await;
        let reply = send(&limited, &method, &path, None, body).await;
        if reply.status.as_u16() == 429 {
            rate_limited += 1;
            let documented = &operation["responses"]["429"];
            if !documented["headers"]["Retry-After"].is_object() {
                without_429.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        without_429.is_empty(),
        "rate limited, 429 undocumented: {without_429:?}"
    );
    assert!(
        rate_limited >= 40,
        "only {rate_limited} routes were rate limited"
    );
}

fn chromium() -> Option<&'static str> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|path| std::path::Path::new(path).exists())
}

/// Renders `/docs` in headless Chromium and checks the operations appear in the DOM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_renders_every_operation_in_chromium() {
    let found = chromium().ok_or_else(|| "no Chromium: apt-get install -y chromium".to_owned());
    let Some(browser) = crate::support::requirement::require("chromium", found) else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("sqlite always available");
    let profile = tempfile::tempdir().unwrap();
    let url = format!("{}/docs", app.base);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(url)
            .output()
            .expect("chromium runs")
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    for operation in [
        "POST /v1/bookings",
        "GET /v1/tours/{id}/availability",
        "POST /v1/bookings/{reference}/check-in",
    ] {
        assert!(
            dom.contains(&format!("data-operation=\"{operation}\"")),
            "{operation} not rendered:\n{dom}"
        );
    }
    assert!(
        dom.contains("id=\"schema-BookingView\""),
        "schemas not rendered"
    );
}
