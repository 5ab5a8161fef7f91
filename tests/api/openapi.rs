//! The OpenAPI document covers every mounted route, and `/docs` renders it in a real browser.

use std::process::Command;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(the_openapi_document_describes_every_mounted_route);

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
        // part of the API.
        if documentation.contains(&path.as_str())
            || method == "OPTIONS"
            || berth::web::is_page_path(path)
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
