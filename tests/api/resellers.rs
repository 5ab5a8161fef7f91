//! Resellers: created by owners with a key shown once (API and command line), listed without
//! it, stored as a hash, revoked at once; limited to the operator's own tours.

use reqwest::Method;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    an_owner_creates_lists_and_revokes_resellers,
    resellers_are_checked_and_kept_to_the_operators_tours,
    the_command_line_creates_a_reseller_and_prints_its_key_last,
);

async fn revoke(app: &TestApp, token: &str, id: &str) -> crate::support::Reply {
    app.request(
        Method::DELETE,
        &format!("/v1/resellers/{id}"),
        Some(token),
        None,
    )
    .await
}

async fn authenticates(app: &TestApp, key: &str) -> Option<String> {
    berth::service::resellers::authenticate(&app.store, key)
        .await
        .unwrap()
        .map(|r| r.id.to_string())
}

async fn an_owner_creates_lists_and_revokes_resellers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour, _) = app.fresh_departure(10).await;
    let created = app
        .post_as(
            &token,
            "/v1/resellers",
            json!({"name": " Harbour OTA ", "commission_percent": 20, "tours": [tour]}),
        )
        .await;
    created.expect(201);
    let (id, key) = (created.str("id"), created.str("key"));
    assert!(key.starts_with("brs_") && key.len() > 40, "{key}");
    assert_eq!(created.body["name"], "Harbour OTA");
    assert_eq!(created.body["commission_percent"], 20);
    assert_eq!(created.body["tours"], json!([tour]));
    assert_eq!(authenticates(&app, &key).await, Some(id.clone()));
    assert_eq!(authenticates(&app, "brs_not-a-key").await, None);
    assert_eq!(authenticates(&app, &format!("x{key}")).await, None);

    // Listed, never with the key; stored only as its hash.
    let listed = app.get_as(&token, "/v1/resellers").await;
    listed.expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(listed.body[0].get("key").is_none() && !listed.text.contains(&key));
    let hashes = app.query_strings("SELECT key_hash FROM resellers").await;
    assert_eq!(hashes.len(), 1);
    assert!(!hashes[0].contains(&key[4..]), "the key in clear");
    let stored = app
        .query_i64(&format!(
            "SELECT COUNT(*) FROM idempotency_keys WHERE response_body LIKE '%{}%'",
            &key[4..]
        ))
        .await;
    assert_eq!(stored, 0);

    // Another operator neither sees nor revokes it.
    let (other, _, _) = app.fresh_departure(5).await;
    let theirs = app.get_as(&other, "/v1/resellers").await;
    assert_eq!(theirs.body, json!([]));
    revoke(&app, &other, &id)
        .await
        .expect_error(404, "not_found");
    assert!(authenticates(&app, &key).await.is_some());

    // Revoked: the key stops working at once; a second revocation finds nothing.
    revoke(&app, &token, &id).await.expect(204);
    assert_eq!(authenticates(&app, &key).await, None);
    let listed = app.get_as(&token, "/v1/resellers").await;
    assert!(listed.body[0]["revoked_at"].is_string(), "{}", listed.text);
    revoke(&app, &token, &id)
        .await
        .expect_error(404, "not_found");
}

async fn resellers_are_checked_and_kept_to_the_operators_tours(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, _) = app.fresh_departure(10).await;
    let (_, foreign_tour, _) = app.fresh_departure(10).await;
    let refused = app
        .post_as(
            &token,
            "/v1/resellers",
            json!({"name": "", "commission_percent": 120, "tours": ["nope"]}),
        )
        .await;
    refused.expect_error(422, "validation_failed");
    let fields = &refused.body["error"]["fields"];
    for field in ["name", "commission_percent", "tours"] {
        assert!(fields[field].is_string(), "{field}: {}", refused.text);
    }
    let foreign = app
        .post_as(
            &token,
            "/v1/resellers",
            json!({"name": "Greedy OTA", "tours": [foreign_tour]}),
        )
        .await;
    foreign.expect_error(422, "validation_failed");
    assert!(
        foreign.body["error"]["fields"]["tours"]
            .as_str()
            .unwrap()
            .contains("not one of your tours"),
        "{}",
        foreign.text
    );
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM resellers").await, 0);
    // An admin may not create one.
    let (admin, _) = app
        .signed_in(&token, "admin@resellers.example", "admin")
        .await;
    app.post_as(&admin, "/v1/resellers", json!({"name": "Admin OTA"}))
        .await
        .expect_error(403, "forbidden");
}

async fn the_command_line_creates_a_reseller_and_prints_its_key_last(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.operator_with_id("CLI Reseller Tours").await;
    let created = crate::cli::berth(&app.database_url)
        .args([
            "reseller",
            "create",
            "--operator-email",
            "cli.reseller.tours@example.com",
            "--name",
            "Concierge Desk",
            "--commission-percent",
            "15",
        ])
        .output()
        .unwrap();
    let key = crate::cli::token_printed_by(created);
    assert!(key.starts_with("brs_"), "{key}");
    let id = authenticates(&app, &key)
        .await
        .expect("the printed key works");
    let commission = app
        .query_i64(&format!(
            "SELECT commission_percent FROM resellers WHERE id = '{id}'"
        ))
        .await;
    assert_eq!(commission, 15);
    // A bad commission is refused with the field named, and nothing is created.
    let refused = crate::cli::berth(&app.database_url)
        .args([
            "reseller",
            "create",
            "--operator-email",
            "cli.reseller.tours@example.com",
            "--name",
            "Too Greedy",
            "--commission-percent",
            "101",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("commission_percent"));
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM resellers").await, 1);
}
