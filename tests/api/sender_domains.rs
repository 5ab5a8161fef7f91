//! Who traveler emails come from: an operator may send only from domains the instance owner
//! approved for it (`berth operator allow-sender-domain`), and the display name is always the
//! operator's own name. Issue 12, finding 3: operator A set `mail_from` to
//! "Bravo Tours <bookings@bravo.example>" and its confirmations went out as Bravo.

use serde_json::json;

use crate::cli::berth;
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    an_operator_cannot_send_from_another_operators_domain,
    emails_come_from_an_approved_address_with_the_operators_own_name,
    the_instance_owner_approves_sender_domains_with_the_command_line,
);

async fn dispatch(app: &TestApp) -> usize {
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch")
}

/// The From header of every email sent so far.
fn from_headers(app: &TestApp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(app.files.path().join("mail")) else {
        return Vec::new();
    };
    entries
        .flat_map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("From:"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Removes the sent emails, so the next check sees only new ones.
fn clear_mail(app: &TestApp) {
    let _ = std::fs::remove_dir_all(app.files.path().join("mail"));
}

async fn confirmed_booking(app: &TestApp, departure: &str) {
    let hold = app
        .hold(departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    hold.expect(201);
    let (reference, token) = (hold.str("reference"), hold.str("access_token"));
    app.post_with_booking_token(&format!("/v1/bookings/{reference}/confirm"), &token)
        .await
        .expect(200);
}

/// An operator with a departure: (id, owner token, departure).
async fn operator_with_departure(app: &TestApp, name: &str) -> (String, String, String) {
    let (id, token) = app.operator_with_id(name).await;
    let tour = app.tour(&token, json!({})).await;
    let departure = app.departure(&token, &tour, 20, 48).await;
    (id, token, departure)
}

async fn approve(app: &TestApp, operator: &str, domain: &str) {
    let id = berth::domain::ids::OperatorId::parse(operator).unwrap();
    berth::service::operators::allow_sender_domain(&app.store, app.clock.now(), &id, domain)
        .await
        .expect("approved");
}

async fn an_operator_cannot_send_from_another_operators_domain(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (alpha, alpha_token, departure) = operator_with_departure(&app, "Alpha Tours").await;
    let (bravo, bravo_token, _) = operator_with_departure(&app, "Bravo Tours").await;
    approve(&app, &bravo, "bravo.example").await;
    approve(&app, &alpha, "alpha.example").await;

    // The finding, replayed: Alpha names Bravo's address, with or without Bravo's name.
    for spoof in [
        "Bravo Tours <bookings@bravo.example>",
        "bookings@bravo.example",
        "bookings@BRAVO.example",
    ] {
        let refused = app
            .patch_as(&alpha_token, "/v1/operator", json!({"mail_from": spoof}))
            .await;
        refused.expect_error(422, "validation_failed");
        assert!(
            refused.body["error"]["fields"]["mail_from"].is_string(),
            "{}",
            refused.text
        );
    }
    let refused = app
        .patch_as(
            &alpha_token,
            "/v1/operator",
            json!({"mail_from": "bookings@bravo.example"}),
        )
        .await;
    assert!(
        refused.body["error"]["fields"]["mail_from"]
            .as_str()
            .unwrap()
            .contains("not approved for this operator"),
        "{}",
        refused.text
    );
    // Its own domain, but a display name of its choosing: refused too (the name is the operator's).
    app.patch_as(
        &alpha_token,
        "/v1/operator",
        json!({"mail_from": "Bravo Tours <bookings@alpha.example>"}),
    )
    .await
    .expect_error(422, "validation_failed");
    // Bravo's own domain is Bravo's alone: approving it for Alpha is refused.
    let id = berth::domain::ids::OperatorId::parse(&alpha).unwrap();
    let taken = berth::service::operators::allow_sender_domain(
        &app.store,
        app.clock.now(),
        &id,
        "bravo.example",
    )
    .await
    .expect_err("a domain has one operator");
    assert!(taken.to_string().contains("already approved"), "{taken}");
    let alpha_profile = app.get_as(&alpha_token, "/v1/operator").await;
    assert_eq!(alpha_profile.body["mail_from"], json!(null));
    assert_eq!(
        alpha_profile.body["sender_domains"],
        json!(["alpha.example"])
    );
    let bravo_profile = app.get_as(&bravo_token, "/v1/operator").await;
    assert_eq!(
        bravo_profile.body["sender_domains"],
        json!(["bravo.example"])
    );

    // A sender stored before this rule (as the finding left it) is not used: the email goes
    // out from the server's default sender, never as Bravo.
    app.execute_sql(&format!(
        "UPDATE operators SET mail_from = 'Bravo Tours <bookings@bravo.example>' WHERE id = '{alpha}'"
    ))
    .await;
    confirmed_booking(&app, &departure).await;
    assert_eq!(dispatch(&app).await, 2, "the email and the SMS");
    let froms = from_headers(&app);
    assert_eq!(froms.len(), 1, "{froms:?}");
    assert!(
        froms[0].contains("<no-reply@localhost>") && !froms[0].contains("bravo"),
        "{froms:?}"
    );
}

async fn emails_come_from_an_approved_address_with_the_operators_own_name(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (harbour, token, departure) = operator_with_departure(&app, "Harbour Tours").await;
    approve(&app, &harbour, "harbour.example").await;
    let identity =
        json!({"mail_from": "bookings@harbour.example", "reply_to": "help@harbour.example"});
    let updated = app.patch_as(&token, "/v1/operator", identity).await;
    updated.expect(200);
    assert_eq!(updated.body["mail_from"], "bookings@harbour.example");
    assert_eq!(updated.body["sender_domains"], json!(["harbour.example"]));
    app.patch_as(
        &token,
        "/v1/operator",
        json!({"reply_to": "not an address"}),
    )
    .await
    .expect_error(422, "validation_failed");
    app.patch_as(
        &token,
        "/v1/operator",
        json!({"mail_from": "not an address"}),
    )
    .await
    .expect_error(422, "validation_failed");

    confirmed_booking(&app, &departure).await;
    dispatch(&app).await;
    let froms = from_headers(&app);
    assert_eq!(froms.len(), 1, "{froms:?}");
    // The display name is the operator's name as the instance owner created it.
    assert!(
        froms[0].contains("Harbour Tours") && froms[0].contains("<bookings@harbour.example>"),
        "{froms:?}"
    );
    let mail = std::fs::read_dir(app.files.path().join("mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .next()
        .unwrap();
    assert!(mail.contains("Reply-To: help@harbour.example"), "{mail}");

    // The approval withdrawn: the address is cleared and emails come from the default again.
    let id = berth::domain::ids::OperatorId::parse(&harbour).unwrap();
    berth::service::operators::revoke_sender_domain(
        &app.store,
        app.clock.now(),
        &id,
        "harbour.example",
    )
    .await
    .unwrap();
    let profile = app.get_as(&token, "/v1/operator").await;
    assert_eq!(profile.body["mail_from"], json!(null));
    assert_eq!(profile.body["sender_domains"], json!([]));
    clear_mail(&app);
    confirmed_booking(&app, &departure).await;
    dispatch(&app).await;
    let froms = from_headers(&app);
    assert!(
        froms.len() == 1 && froms[0].contains("<no-reply@localhost>"),
        "{froms:?}"
    );
}

async fn the_instance_owner_approves_sender_domains_with_the_command_line(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (harbour, token, _) = operator_with_departure(&app, "Harbour Tours").await;
    let (other, _) = app.operator_with_id("Other Tours").await;
    let cli = |args: &[&str]| {
        let output = berth(&app.database_url)
            .args(["operator"])
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // TestApp names operators' emails after them.
    let (ok, stdout, stderr) = cli(&[
        "allow-sender-domain",
        "--operator-email",
        "harbour.tours@example.com",
        "--domain",
        "Harbour.Example",
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("harbour.example approved"), "{stdout}");
    let (ok, stdout, _) = cli(&["sender-domains", "--operator-id", &harbour]);
    assert!(ok);
    assert_eq!(stdout.trim(), "harbour.example");
    // Another operator cannot be given it; a malformed domain is refused.
    let (ok, _, stderr) = cli(&[
        "allow-sender-domain",
        "--operator-id",
        &other,
        "--domain",
        "harbour.example",
    ]);
    assert!(!ok && stderr.contains("already approved"), "{stderr}");
    let (ok, _, stderr) = cli(&[
        "allow-sender-domain",
        "--operator-id",
        &other,
        "--domain",
        "not a domain",
    ]);
    assert!(!ok && stderr.contains("not a domain name"), "{stderr}");
    let (ok, _, stderr) = cli(&[
        "allow-sender-domain",
        "--operator-email",
        "nobody@example.com",
        "--domain",
        "x.example",
    ]);
    assert!(!ok && stderr.contains("no operator"), "{stderr}");
    app.patch_as(
        &token,
        "/v1/operator",
        json!({"mail_from": "bookings@harbour.example"}),
    )
    .await
    .expect(200);
    let (ok, stdout, stderr) = cli(&[
        "revoke-sender-domain",
        "--operator-id",
        &harbour,
        "--domain",
        "harbour.example",
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(
        app.get_as(&token, "/v1/operator").await.body["mail_from"],
        json!(null)
    );
    // Both approvals are in the operator's audit log, by the command line.
    let audit = app.get_as(&token, "/v1/audit").await;
    audit.expect(200);
    for action in [
        "operator.sender_domain_allow",
        "operator.sender_domain_revoke",
    ] {
        assert!(
            audit.body["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|entry| entry["action"] == action
                    && entry["actor"] == "cli"
                    && entry["detail"].to_string().contains("harbour.example")),
            "{action}: {}",
            audit.text
        );
    }
}
