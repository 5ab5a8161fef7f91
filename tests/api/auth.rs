//! Operator users: login, refresh rotation and reuse detection, logout, expiry, roles, user
//! management, API tokens with roles, and the audit log.

use chrono::Duration;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, PASSWORD};

on_both_backends!(
    login_gives_tokens_that_work_like_api_tokens,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    refresh_rotates_and_a_reused_refresh_token_revokes_the_session,
    logout_ends_the_session,
    access_tokens_expire_and_sessions_end_after_a_day_idle,
    owners_manage_users_and_changes_take_effect_at_once,
    the_last_owner_cannot_be_demoted_or_deactivated,
    weak_passwords_and_taken_emails_are_refused,
    api_tokens_act_with_their_role,
    every_change_lands_in_the_audit_log,
    two_factor_enrolment_then_login_with_a_code_or_a_recovery_code,
    an_owner_can_require_two_factor_for_the_team,
    guessing_second_factor_codes_locks_the_account,
    a_password_reset_code_is_emailed_once_and_works_once,
    a_reset_code_expires_and_wrong_guesses_spend_it,
    repeated_failures_back_off_then_lock_the_account_and_email_its_user,
    one_address_with_many_failures_is_throttled,
    a_new_api_token_is_never_stored_for_idempotent_replay,
    the_sign_in_routes_have_their_own_strict_rate_limit,
    expired_sessions_and_reset_codes_are_purged,
    a_signed_in_user_changes_their_password,
    wrong_current_passwords_back_off_and_lock_like_failed_sign_ins,
    a_locked_account_takes_no_second_factor_code,
    reset_codes_are_capped_per_hour,
    stored_request_fingerprints_are_keyed,
);

async fn dispatch(app: &TestApp) -> usize {
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch")
}

/// Every email the file transport wrote, as text.
fn mails(app: &TestApp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(app.files.path().join("mail")) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// The 8-digit code in the newest reset email to `to`.
fn reset_code(app: &TestApp, to: &str) -> String {
    let mails: Vec<String> = mails(app)
        .into_iter()
        .filter(|m| m.contains(to) && m.contains("reset code"))
        .collect();
    let mail = mails.last().expect("a reset email");
    let at = mail.find("Your code: ").expect("the code line") + "Your code: ".len();
    let code: String = mail[at..].chars().take(8).collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
    code
}

async fn reset(app: &TestApp, email: &str, code: &str, password: &str) -> crate::support::Reply {
    app.post(
        "/v1/auth/password-reset/confirm",
        json!({"email": email, "code": code, "new_password": password}),
    )
    .await
}

/// The current TOTP code for a base32 secret at the app's clock.
fn totp(app: &TestApp, secret: &str) -> String {
    use berth::domain::auth::{base32_decode, totp_code, totp_step, TOTP_DIGITS};
    let secret = base32_decode(secret).expect("base32");
    totp_code(&secret, totp_step(app.clock.now().timestamp()), TOTP_DIGITS)
}

/// A text column read straight from the database, one value per row.
async fn column(app: &TestApp, sql: &str) -> Vec<Option<String>> {
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
        }
    }
}

/// The first login step of admin@acme.example, who has 2FA: the MFA token.
async fn challenge(app: &TestApp) -> String {
    let reply = app.login("admin@acme.example", PASSWORD).await;
    reply.expect(202);
    assert_eq!(reply.body["mfa_required"], true);
    assert!(reply.body.get("access_token").is_none());
    reply.str("mfa_token")
}

/// Enrols the signed-in user; returns (secret, recovery codes).
async fn enrol(app: &TestApp, access: &str) -> (String, Vec<String>) {
    let setup = app.post_as(access, "/v1/auth/2fa/setup", json!({})).await;
    setup.expect(200);
    let secret = setup.str("secret");
    let uri = setup.str("otpauth_uri");
    assert!(
        uri.starts_with("otpauth://totp/berth:") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    app.post_as(access, "/v1/auth/2fa/confirm", json!({"code": "000000"}))
        .await
        .expect_error(422, "validation_failed");
    let confirmed = app
        .post_as(
            access,
            "/v1/auth/2fa/confirm",
            json!({"code": totp(app, &secret)}),
        )
        .await;
    confirmed.expect(200);
    let codes: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn login_gives_tokens_that_work_like_api_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "Admin@Acme.example", "admin").await;
    // Emails are matched case-insensitively.
    let reply = app.login("admin@acme.example", PASSWORD).await;
    reply.expect(200);
    let access = reply.str("access_token");
    assert!(access.starts_with("bra_"), "{}", reply.text);
    assert!(reply.str("refresh_token").starts_with("brr_"));
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 15 * 60);
    assert_eq!(reply.body["role"], "admin");
    let tour = app.tour(&access, json!({"name": "Made by a user"})).await;
    let listed = app.get_as(&owner, "/v1/tours").await;
    assert_eq!(
        listed.body[0]["id"], tour,
        "same operator as the owner's token"
    );
    // Tokens are stored only as hashes.
    let stored: Vec<String> = match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT token_hash FROM session_tokens")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT token_hash FROM session_tokens")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(stored.len(), 2);
    assert!(stored
        .iter()
        .all(|h| h.len() == 64 && !h.contains(&access[4..])));
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "staff@acme.example", "staff").await;
    let wrong = app
        .login("staff@acme.example", "not the right password")
        .await;
    let unknown = app.login("nobody@acme.example", PASSWORD).await;
    wrong.expect_error(401, "unauthorized");
    unknown.expect_error(401, "unauthorized");
    assert_eq!(
        wrong.body["error"]["message"],
        unknown.body["error"]["message"]
    );
    app.post("/v1/auth/login", json!({"email": "staff@acme.example"}))
        .await
        .expect_error(422, "validation_failed");
    app.post(
        "/v1/auth/login",
        json!({"email": "staff@acme.example", "password": "x".repeat(5000)}),
    )
    .await
    .expect_error(413, "payload_too_large");
}

async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (_, first) = app.signed_in(&owner, "staff@acme.example", "staff").await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.post("/v1/auth/refresh", json!({"refresh_token": token}))
                .await
        }
    };
    let second = refresh(first.str("refresh_token")).await;
    second.expect(200);
    assert_ne!(second.str("refresh_token"), first.str("refresh_token"));
    assert_ne!(second.str("access_token"), first.str("access_token"));
    app.get_as(&second.str("access_token"), "/v1/tours")
        .await
        .expect(200);
    let third = refresh(second.str("refresh_token")).await;
    third.expect(200);
    // The first refresh token comes back: someone kept a copy. The whole family goes.
    refresh(first.str("refresh_token"))
        .await
        .expect_error(401, "unauthorized");
    app.get_as(&third.str("access_token"), "/v1/tours")
        .await
        .expect_error(401, "unauthorized");
    refresh(third.str("refresh_token"))
        .await
        .expect_error(401, "unauthorized");
    refresh("brr_unknown".to_owned())
        .await
        .expect_error(401, "unauthorized");
    // A new login starts a new, working session.
    let again = app.login("staff@acme.example", PASSWORD).await;
    again.expect(200);
    app.get_as(&again.str("access_token"), "/v1/tours")
        .await
        .expect(200);
}

async fn logout_ends_the_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, session) = app.signed_in(&owner, "guide@acme.example", "guide").await;
    let other = app.login("guide@acme.example", PASSWORD).await;
    let logout = |token: String| {
        let app = &app;
        async move {
            let request = app
                .client
                .post(format!("{}/v1/auth/logout", app.base))
                .bearer_auth(token);
            TestApp::reply(request).await
        }
    };
    logout(access.clone()).await.expect(204);
    app.get_as(&access, "/v1/audit")
        .await
        .expect_error(401, "unauthorized");
    app.post(
        "/v1/auth/refresh",
        json!({"refresh_token": session.str("refresh_token")}),
    )
    .await
    .expect_error(401, "unauthorized");
    // Only that session: the user's other login still works.
    logout(other.str("access_token")).await.expect(204);
    // An API token is not a session.
    logout(owner.clone()).await.expect_error(403, "forbidden");
    logout("bra_nope".to_owned())
        .await
        .expect_error(401, "unauthorized");
}

async fn access_tokens_expire_and_sessions_end_after_a_day_idle(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, session) = app.signed_in(&owner, "admin@acme.example", "admin").await;
    app.clock.advance(Duration::minutes(14));
    app.get_as(&access, "/v1/tours").await.expect(200);
    app.clock.advance(Duration::minutes(2));
    app.get_as(&access, "/v1/tours")
        .await
        .expect_error(401, "unauthorized");
    let renewed = app
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": session.str("refresh_token")}),
        )
        .await;
    renewed.expect(200);
    app.get_as(&renewed.str("access_token"), "/v1/tours")
        .await
        .expect(200);
    // 23 hours idle: still alive; then 25 hours idle: over.
    app.clock.advance(Duration::hours(23));
    let kept = app
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": renewed.str("refresh_token")}),
        )
        .await;
    kept.expect(200);
    app.clock.advance(Duration::hours(25));
    app.post(
        "/v1/auth/refresh",
        json!({"refresh_token": kept.str("refresh_token")}),
    )
    .await
    .expect_error(401, "unauthorized");
}

async fn owners_manage_users_and_changes_take_effect_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let other_owner = app.operator("Other Tours").await;
    let staff_id = app.add_user(&owner, "staff@acme.example", "staff").await;
    let (staff, _) = (app.login("staff@acme.example", PASSWORD).await, ());
    let staff = staff.str("access_token");
    let listed = app.get_as(&owner, "/v1/users").await;
    listed.expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["email"], "staff@acme.example");
    assert_eq!(listed.body[0]["role"], "staff");
    assert_eq!(listed.body[0]["active"], true);
    assert!(listed.text.find("password").is_none(), "{}", listed.text);
    // Staff may not manage users, nor create tours.
    app.get_as(&staff, "/v1/users")
        .await
        .expect_error(403, "forbidden");
    app.post_as(&staff, "/v1/tours", json!({}))
        .await
        .expect_error(403, "forbidden");
    // Promoted to admin: the same session can now create tours.
    let user = format!("/v1/users/{staff_id}");
    let promoted = app.patch_as(&owner, &user, json!({"role": "admin"})).await;
    promoted.expect(200);
    assert_eq!(promoted.body["role"], "admin");
    app.tour(&staff, json!({})).await;
    app.patch_as(&owner, &user, json!({"role": "root"}))
        .await
        .expect_error(422, "validation_failed");
    // Another operator's owner cannot see or touch this user.
    app.patch_as(&other_owner, &user, json!({"role": "guide"}))
        .await
        .expect_error(404, "not_found");
    app.post_as(&other_owner, &format!("{user}/deactivate"), json!({}))
        .await
        .expect_error(404, "not_found");
    // Deactivated: the session stops working and login is refused.
    let deactivated = app
        .post_as(&owner, &format!("{user}/deactivate"), json!({}))
        .await;
    deactivated.expect(200);
    assert_eq!(deactivated.body["active"], false);
    app.get_as(&staff, "/v1/tours")
        .await
        .expect_error(401, "unauthorized");
    app.login("staff@acme.example", PASSWORD)
        .await
        .expect_error(401, "unauthorized");
}

async fn the_last_owner_cannot_be_demoted_or_deactivated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let first = app.add_user(&token, "first@acme.example", "owner").await;
    let second = app.add_user(&token, "second@acme.example", "owner").await;
    app.patch_as(
        &token,
        &format!("/v1/users/{first}"),
        json!({"role": "admin"}),
    )
    .await
    .expect(200);
    app.patch_as(
        &token,
        &format!("/v1/users/{second}"),
        json!({"role": "staff"}),
    )
    .await
    .expect_error(422, "validation_failed");
    app.post_as(&token, &format!("/v1/users/{second}/deactivate"), json!({}))
        .await
        .expect_error(422, "validation_failed");
    // Re-stating the owner role is fine.
    app.patch_as(
        &token,
        &format!("/v1/users/{second}"),
        json!({"role": "owner"}),
    )
    .await
    .expect(200);
}

async fn weak_passwords_and_taken_emails_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.operator("Acme Tours").await;
    let other = app.operator("Other Tours").await;
    for password in ["short", "password1234", "qwertyuiop123", "aaaaaaaaaaaaaaaa"] {
        let reply = app
            .post_as(
                &token,
                "/v1/users",
                json!({"email": "new@acme.example", "name": "New", "role": "staff", "password": password}),
            )
            .await;
        reply.expect_error(422, "validation_failed");
        assert!(reply.body["error"]["fields"]["password"].is_string());
        assert!(!reply.text.contains(password), "{}", reply.text);
    }
    app.add_user(&token, "new@acme.example", "staff").await;
    let taken = app
        .post_as(
            &other,
            "/v1/users",
            json!({"email": "NEW@acme.example", "name": "Dup", "role": "staff", "password": PASSWORD}),
        )
        .await;
    taken.expect_error(422, "validation_failed");
    assert!(taken.body["error"]["fields"]["email"].is_string());
    app.login("new@acme.example", PASSWORD).await.expect(200);
}

async fn api_tokens_act_with_their_role(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, _, departure) = app.fresh_departure(5).await;
    let created = app
        .post_as(
            &owner,
            "/v1/tokens",
            json!({"label": "door scanner", "role": "guide"}),
        )
        .await;
    created.expect(201);
    assert_eq!(created.body["role"], "guide");
    let guide = created.str("token");
    app.get_as(&guide, &format!("/v1/departures/{departure}/manifest"))
        .await
        .expect(200);
    app.get_as(&guide, "/v1/tours")
        .await
        .expect_error(403, "forbidden");
    app.post_as(&guide, "/v1/tokens", json!({"label": "escalate"}))
        .await
        .expect_error(403, "forbidden");
    app.post_as(
        &owner,
        "/v1/tokens",
        json!({"label": "bad", "role": "superuser"}),
    )
    .await
    .expect_error(422, "validation_failed");
    let listed = app.get_as(&owner, "/v1/tokens").await;
    let roles: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "guide"], "the initial token is an owner's");
}

async fn every_change_lands_in_the_audit_log(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour, departure) = app.fresh_departure(5).await;
    let (admin, _) = app.signed_in(&owner, "admin@acme.example", "admin").await;
    let (staff, _) = app.signed_in(&owner, "staff@acme.example", "staff").await;
    let other = app.operator("Other Tours").await;
    app.patch_as(
        &admin,
        &format!("/v1/tours/{tour}"),
        json!({"name": "Renamed"}),
    )
    .await
    .expect(200);
    app.patch_as(
        &admin,
        &format!("/v1/departures/{departure}"),
        json!({"capacity": 7}),
    )
    .await
    .expect(200);
    let page = app.get_as(&admin, "/v1/audit?limit=200").await;
    page.expect(200);
    let entries = page.body["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(
        &actions[..4],
        [
            "departure.capacity",
            "tour.update",
            "user.create",
            "user.create"
        ],
        "{}",
        page.text
    );
    assert!(actions.contains(&"tour.create") && actions.contains(&"departure.create"));
    let capacity = &entries[0];
    assert_eq!(capacity["target"], format!("departure:{departure}"));
    assert!(capacity["actor"].as_str().unwrap().starts_with("user:"));
    assert_eq!(capacity["detail"]["capacity"], 7);
    let tour_create = entries
        .iter()
        .find(|e| e["action"] == "tour.create")
        .unwrap();
    assert!(tour_create["actor"].as_str().unwrap().starts_with("token:"));
    // Paginated: two at a time, no entry twice, none lost.
    let mut seen = Vec::new();
    let mut path = "/v1/audit?limit=2".to_owned();
    loop {
        let page = app.get_as(&owner, &path).await;
        page.expect(200);
        for entry in page.body["entries"].as_array().unwrap() {
            seen.push(entry["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_before"].as_str() {
            Some(before) => path = format!("/v1/audit?limit=2&before={before}"),
            None => break,
        }
    }
    let all: Vec<String> = entries
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, all);
    // Staff may not read it; another operator sees only its own (empty) log.
    app.get_as(&staff, "/v1/audit")
        .await
        .expect_error(403, "forbidden");
    let foreign = app.get_as(&other, "/v1/audit").await;
    assert_eq!(foreign.body["entries"], json!([]));
    for query in [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=ten",
        "limit=ten&limit=ten",
    ] {
        app.get_as(&owner, &format!("/v1/audit?{query}"))
            .await
            .expect_error(422, "validation_failed");
    }
}

async fn two_factor_enrolment_then_login_with_a_code_or_a_recovery_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, _) = app.signed_in(&owner, "admin@acme.example", "admin").await;
    let (secret, codes) = enrol(&app, &access).await;
    // Neither the TOTP key nor the recovery codes are in the database in clear.
    let stored = column(&app, "SELECT totp_secret FROM users").await;
    let stored = stored[0].as_deref().expect("a stored key");
    let raw = berth::domain::auth::base32_decode(&secret).unwrap();
    assert!(
        !stored.contains(&secret) && !stored.contains(&hex::encode(&raw)),
        "{stored}"
    );
    let hashes = column(&app, "SELECT code_hash FROM recovery_codes").await;
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        let plain = code.replace('-', "");
        assert!(hashes.iter().flatten().all(|h| !h.contains(&plain)));
    }
    app.post_as(&access, "/v1/auth/2fa/setup", json!({}))
        .await
        .expect_error(422, "validation_failed");
    let verify = |mfa: String, code: String| {
        let app = &app;
        async move {
            app.post(
                "/v1/auth/2fa/verify",
                json!({"mfa_token": mfa, "code": code}),
            )
            .await
        }
    };
    // A wrong code spends the MFA token: the right code afterwards is refused too.
    let mfa = challenge(&app).await;
    verify(mfa.clone(), "123456".into())
        .await
        .expect_error(401, "unauthorized");
    verify(mfa, totp(&app, &secret))
        .await
        .expect_error(401, "unauthorized");
    // The enrolment used this time step's code; the next step's code signs in.
    app.clock.advance(Duration::seconds(30));
    let code = totp(&app, &secret);
    let signed = verify(challenge(&app).await, code.clone()).await;
    signed.expect(200);
    app.get_as(&signed.str("access_token"), "/v1/tours")
        .await
        .expect(200);
    // The same code is good once (even if the clock has moved into the next step meanwhile).
    verify(challenge(&app).await, code)
        .await
        .expect_error(401, "unauthorized");
    // A recovery code works once, in any case and with or without dashes.
    let recovery = codes[3].to_uppercase().replace('-', "");
    verify(challenge(&app).await, recovery.clone())
        .await
        .expect(200);
    verify(challenge(&app).await, recovery)
        .await
        .expect_error(401, "unauthorized");
    // The MFA token expires after five minutes.
    let mfa = challenge(&app).await;
    app.clock.advance(Duration::minutes(6));
    verify(mfa, totp(&app, &secret))
        .await
        .expect_error(401, "unauthorized");
    let audit = app.get_as(&owner, "/v1/audit").await;
    assert!(
        audit.text.contains("user.two_factor.enable"),
        "{}",
        audit.text
    );
    // Phone lost: an owner turns 2FA off; the user signs in with the password and may enrol again.
    let users = app.get_as(&owner, "/v1/users").await;
    let id = users.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(users.body[0]["two_factor"], true);
    let reset = app
        .post_as(
            &owner,
            &format!("/v1/users/{id}/reset-two-factor"),
            json!({}),
        )
        .await;
    reset.expect(200);
    assert_eq!(reset.body["two_factor"], false);
    app.get_as(&signed.str("access_token"), "/v1/tours")
        .await
        .expect_error(401, "unauthorized");
    let again = app.login("admin@acme.example", PASSWORD).await;
    again.expect(200);
    enrol(&app, &again.str("access_token")).await;
}

async fn an_owner_can_require_two_factor_for_the_team(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (staff, _) = app.signed_in(&owner, "staff@acme.example", "staff").await;
    app.request(
        reqwest::Method::PUT,
        "/v1/operator/two-factor",
        Some(&staff),
        Some(json!({"required": true})),
    )
    .await
    .expect_error(403, "forbidden");
    app.request(
        reqwest::Method::PUT,
        "/v1/operator/two-factor",
        Some(&owner),
        Some(json!({"required": true})),
    )
    .await
    .expect(200);
    // Until they enrol, users can do nothing else; API tokens are not users and keep working.
    app.get_as(&staff, "/v1/tours")
        .await
        .expect_error(403, "two_factor_required");
    app.get_as(&owner, "/v1/tours").await.expect(200);
    enrol(&app, &staff).await;
    app.get_as(&staff, "/v1/tours").await.expect(200);
}

const NEW_PASSWORD: &str = "a brand new passphrase 2026";

async fn a_password_reset_code_is_emailed_once_and_works_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, _) = app.signed_in(&owner, "staff@acme.example", "staff").await;
    let known = app
        .post(
            "/v1/auth/password-reset",
            json!({"email": "Staff@acme.example"}),
        )
        .await;
    let unknown = app
        .post(
            "/v1/auth/password-reset",
            json!({"email": "nobody@acme.example"}),
        )
        .await;
    known.expect(202);
    unknown.expect(202);
    assert_eq!(known.body, unknown.body, "the answer never tells");
    assert_eq!(
        dispatch(&app).await,
        1,
        "one email, to the known address only"
    );
    let code = reset_code(&app, "staff@acme.example");
    // The operator's message console does not list account emails.
    let console = app.get_as(&owner, "/v1/messages").await;
    assert_eq!(console.body, json!([]));
    // The code is not in the database.
    let stored: Vec<String> = match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT code_hash FROM password_resets")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT code_hash FROM password_resets")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&code));

    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    reset(&app, "staff@acme.example", wrong, NEW_PASSWORD)
        .await
        .expect_error(422, "validation_failed");
    reset(&app, "nobody@acme.example", &code, NEW_PASSWORD)
        .await
        .expect_error(422, "validation_failed");
    let weak = reset(&app, "staff@acme.example", &code, "password1234").await;
    weak.expect_error(422, "validation_failed");
    assert!(weak.body["error"]["fields"]["new_password"].is_string());
    reset(&app, "staff@acme.example", &code, NEW_PASSWORD)
        .await
        .expect(204);
    // Used once; the old password and the old session are gone.
    reset(
        &app,
        "staff@acme.example",
        &code,
        "yet another passphrase 99",
    )
    .await
    .expect_error(422, "validation_failed");
    app.login("staff@acme.example", PASSWORD)
        .await
        .expect_error(401, "unauthorized");
    app.get_as(&access, "/v1/tours")
        .await
        .expect_error(401, "unauthorized");
    app.login("staff@acme.example", NEW_PASSWORD)
        .await
        .expect(200);
    let audit = app.get_as(&owner, "/v1/audit").await;
    assert!(audit.text.contains("user.password_reset"), "{}", audit.text);
}

async fn a_reset_code_expires_and_wrong_guesses_spend_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "guide@acme.example", "guide").await;
    let request = || {
        app.post(
            "/v1/auth/password-reset",
            json!({"email": "guide@acme.example"}),
        )
    };
    request().await.expect(202);
    dispatch(&app).await;
    let code = reset_code(&app, "guide@acme.example");
    app.clock.advance(Duration::minutes(16));
    reset(&app, "guide@acme.example", &code, NEW_PASSWORD)
        .await
        .expect_error(422, "validation_failed");
    request().await.expect(202);
    // A code that expired before it was sent is not sent.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(dispatch(&app).await, 1);
    assert_eq!(mails(&app).len(), 1, "the stale code was not emailed");
    request().await.expect(202);
    dispatch(&app).await;
    let code = reset_code(&app, "guide@acme.example");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for _ in 0..5 {
        reset(&app, "guide@acme.example", wrong, NEW_PASSWORD)
            .await
            .expect_error(422, "validation_failed");
    }
    reset(&app, "guide@acme.example", &code, NEW_PASSWORD)
        .await
        .expect_error(422, "validation_failed");
    app.login("guide@acme.example", PASSWORD).await.expect(200);
}

async fn repeated_failures_back_off_then_lock_the_account_and_email_its_user(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "admin@acme.example", "admin").await;
    let wrong = || app.login("admin@acme.example", "not the password at all");
    for _ in 0..3 {
        wrong().await.expect_error(401, "unauthorized");
    }
    // Three failures: the right password waits a few seconds, answered like a wrong one.
    app.login("admin@acme.example", PASSWORD)
        .await
        .expect_error(401, "unauthorized");
    app.clock.advance(Duration::seconds(6));
    app.login("admin@acme.example", PASSWORD).await.expect(200);
    // A success clears the count; five failures in a row lock the account.
    for _ in 0..5 {
        wrong().await.expect_error(401, "unauthorized");
        app.clock.advance(Duration::seconds(31));
    }
    app.login("admin@acme.example", PASSWORD)
        .await
        .expect_error(401, "unauthorized");
    app.clock.advance(Duration::minutes(10));
    app.login("admin@acme.example", PASSWORD)
        .await
        .expect_error(401, "unauthorized");
    assert_eq!(dispatch(&app).await, 1);
    let mails = mails(&app);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("admin@acme.example") && mails[0].contains("was locked"),
        "{}",
        mails[0]
    );
    assert!(!mails[0].contains(PASSWORD));
    app.clock.advance(Duration::minutes(6));
    app.login("admin@acme.example", PASSWORD).await.expect(200);
}

async fn one_address_with_many_failures_is_throttled(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "owner@acme.example", "owner").await;
    for i in 0..20 {
        app.login(&format!("guess{i}@acme.example"), "not a password at all")
            .await
            .expect_error(401, "unauthorized");
    }
    let throttled = app.login("owner@acme.example", PASSWORD).await;
    throttled.expect_error(429, "rate_limited");
    let wait: i64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    app.clock.advance(Duration::minutes(16));
    app.login("owner@acme.example", PASSWORD).await.expect(200);
}

async fn a_new_api_token_is_never_stored_for_idempotent_replay(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let create = || {
        TestApp::reply(
            app.client
                .post(format!("{}/v1/tokens", app.base))
                .bearer_auth(&owner)
                .header("Idempotency-Key", "token-key-1")
                .json(&json!({"label": "ci"})),
        )
    };
    let first = create().await;
    first.expect(201);
    let token = first.str("token");
    let bodies: Vec<Option<String>> = match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT response_body FROM idempotency_keys")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar("SELECT response_body FROM idempotency_keys")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert!(
        bodies.iter().flatten().all(|b| !b.contains(&token[4..])),
        "the token was stored: {bodies:?}"
    );
    // A retry with the same key makes a new token rather than replaying the secret.
    let second = create().await;
    second.expect(201);
    assert_ne!(second.str("token"), token);
}

async fn the_sign_in_routes_have_their_own_strict_rate_limit(backend: Backend) {
    let settings = [("rate_limits", json!("auth=3/min,reads=1000/min"))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "staff@acme.example", "staff").await;
    app.login("staff@acme.example", PASSWORD).await.expect(200);
    app.post(
        "/v1/auth/password-reset",
        json!({"email": "x@acme.example"}),
    )
    .await
    .expect(202);
    app.post("/v1/auth/refresh", json!({"refresh_token": "brr_x"}))
        .await
        .expect_error(401, "unauthorized");
    // The bucket is shared by every /v1/auth/* route, per client address.
    let limited = app.login("staff@acme.example", PASSWORD).await;
    limited.expect_error(429, "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    // Other routes have their own buckets.
    app.get_as(&owner, "/v1/tours").await.expect(200);
    // Spellings Rocket routes to the same handlers stay in the strict bucket.
    for path in ["/v1//auth/login", "/v1/%61uth/login"] {
        let reply = TestApp::reply(
            app.client
                .post(format!("{}{path}", app.base))
                .json(&json!({"email": "staff@acme.example", "password": PASSWORD})),
        )
        .await;
        reply.expect_error(429, "rate_limited");
    }
}

async fn expired_sessions_and_reset_codes_are_purged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (_, first) = app.signed_in(&owner, "staff@acme.example", "staff").await;
    app.post(
        "/v1/auth/refresh",
        json!({"refresh_token": first.str("refresh_token")}),
    )
    .await
    .expect(200);
    app.post(
        "/v1/auth/password-reset",
        json!({"email": "staff@acme.example"}),
    )
    .await
    .expect(202);
    let purge = || berth::workers::idempotency_purge::run_once(&app.store, app.clock.now());
    purge().await.expect("purge");
    let count = |table: &'static str| {
        let app = &app;
        async move {
            column(app, &format!("SELECT CAST(COUNT(*) AS CHAR) FROM {table}")).await[0]
                .clone()
                .unwrap()
        }
    };
    assert_eq!(count("session_tokens").await, "4", "live tokens stay");
    assert_eq!(count("sessions").await, "1");
    assert_eq!(count("password_resets").await, "1");
    // A day after the refresh token would have expired (24 h), everything goes.
    app.clock.advance(Duration::hours(49));
    purge().await.expect("purge");
    for table in ["session_tokens", "sessions", "password_resets"] {
        assert_eq!(count(table).await, "0", "{table}");
    }
    // A fresh login still works.
    app.login("staff@acme.example", PASSWORD).await.expect(200);
}

async fn guessing_second_factor_codes_locks_the_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, _) = app.signed_in(&owner, "admin@acme.example", "admin").await;
    let (secret, _) = enrol(&app, &access).await;
    let wrong = |code: &str| if code == "000000" { "111111" } else { "000000" };
    // Each guess needs the password again; the password alone does not reset the count.
    for _ in 0..5 {
        let mfa = challenge(&app).await;
        let right = totp(&app, &secret);
        app.post(
            "/v1/auth/2fa/verify",
            json!({"mfa_token": mfa, "code": wrong(&right)}),
        )
        .await
        .expect_error(401, "unauthorized");
        app.clock.advance(Duration::seconds(31));
    }
    app.login("admin@acme.example", PASSWORD)
        .await
        .expect_error(401, "unauthorized");
    assert_eq!(dispatch(&app).await, 1, "the lockout notice");
    app.clock.advance(Duration::minutes(16));
    let mfa = challenge(&app).await;
    app.post(
        "/v1/auth/2fa/verify",
        json!({"mfa_token": mfa, "code": totp(&app, &secret)}),
    )
    .await
    .expect(200);
}

async fn a_signed_in_user_changes_their_password(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, _) = app.signed_in(&owner, "guide@acme.example", "guide").await;
    let other = app
        .login("guide@acme.example", PASSWORD)
        .await
        .str("access_token");
    let change = |current: &str, new: &str| {
        app.post_as(
            &access,
            "/v1/auth/password",
            json!({"current_password": current, "new_password": new}),
        )
    };
    let wrong = change("not the password", NEW_PASSWORD).await;
    wrong.expect_error(422, "validation_failed");
    assert!(wrong.body["error"]["fields"]["current_password"].is_string());
    change(PASSWORD, "password1234")
        .await
        .expect_error(422, "validation_failed");
    change(PASSWORD, NEW_PASSWORD).await.expect(204);
    // This session stays; the other one ends; only the new password signs in.
    app.get_as(
        &access,
        &format!("/v1/departures/{}/manifest", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    )
    .await
    .expect_error(404, "not_found");
    app.get_as(&other, "/v1/audit")
        .await
        .expect_error(401, "unauthorized");
    app.login("guide@acme.example", PASSWORD)
        .await
        .expect_error(401, "unauthorized");
    app.login("guide@acme.example", NEW_PASSWORD)
        .await
        .expect(200);
    // API tokens have no password.
    app.post_as(
        &owner,
        "/v1/auth/password",
        json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await
    .expect_error(403, "forbidden");
    let audit = app.get_as(&owner, "/v1/audit").await;
    assert!(
        audit.text.contains("user.password_change"),
        "{}",
        audit.text
    );
}

/// A stolen access token must not allow online guessing through the password change: wrong
/// current passwords count like failed sign-ins, and while the account waits or is locked even
/// the right one is refused (issue 12, finding 5: eight wrong, then the right one, changed it).
async fn wrong_current_passwords_back_off_and_lock_like_failed_sign_ins(backend: Backend) {
    // Long-lived access tokens, so the session outlives the 15-minute lock.
    let settings = [("access_token_minutes", json!(60))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, _) = app.signed_in(&owner, "staff@acme.example", "staff").await;
    let change = |current: &str| {
        app.post_as(
            &access,
            "/v1/auth/password",
            json!({"current_password": current, "new_password": NEW_PASSWORD}),
        )
    };
    let mut answers = Vec::new();
    for _ in 0..8 {
        let reply = change("not the password at all").await;
        answers.push((reply.status.as_u16(), reply.code().to_owned()));
    }
    let wrong = (422, "validation_failed".to_owned());
    let waiting = (429, "rate_limited".to_owned());
    assert_eq!(
        answers,
        [vec![wrong.clone(); 3], vec![waiting.clone(); 5]].concat(),
        "three failures, then the 5 s backoff refuses without checking"
    );
    let right = change(PASSWORD).await;
    right.expect_error(429, "rate_limited");
    let wait: i64 = right.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&wait), "{wait}");
    let failures = column(
        &app,
        "SELECT CAST(failed_logins AS CHAR) FROM users WHERE email = 'staff@acme.example'",
    )
    .await;
    assert_eq!(
        failures,
        vec![Some("3".to_owned())],
        "refused tries are not counted"
    );

    // Two more wrong ones, each after its backoff, lock the account and email its user.
    app.clock.advance(Duration::seconds(6));
    change("still not the password")
        .await
        .expect_error(422, "validation_failed");
    app.clock.advance(Duration::seconds(31));
    change("still not the password")
        .await
        .expect_error(422, "validation_failed");
    let locked = change(PASSWORD).await;
    locked.expect_error(429, "rate_limited");
    let wait: i64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    assert_eq!(dispatch(&app).await, 1);
    let mails = mails(&app);
    assert!(
        mails.len() == 1
            && mails[0].contains("staff@acme.example")
            && mails[0].contains("was locked"),
        "{mails:?}"
    );
    app.clock.advance(Duration::minutes(10));
    change(PASSWORD).await.expect_error(429, "rate_limited");
    // Sign-in is locked too, and nothing changed the password meanwhile.
    app.login("staff@acme.example", NEW_PASSWORD)
        .await
        .expect_error(401, "unauthorized");

    // Once the lock ends, the right password works and clears the count.
    app.clock.advance(Duration::minutes(6));
    change(PASSWORD).await.expect(204);
    assert_eq!(
        column(
            &app,
            "SELECT CAST(failed_logins AS CHAR) FROM users WHERE email = 'staff@acme.example'",
        )
        .await,
        vec![Some("0".to_owned())]
    );
    app.login("staff@acme.example", NEW_PASSWORD)
        .await
        .expect(200);
}

/// MFA tokens collected while the password was known and the account open cannot keep
/// guessing once the account is locked: a locked account takes no code, not even a right one.
async fn a_locked_account_takes_no_second_factor_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let (access, _) = app.signed_in(&owner, "admin@acme.example", "admin").await;
    let (secret, _) = enrol(&app, &access).await;
    let collected: Vec<String> = {
        let mut tokens = Vec::new();
        for _ in 0..6 {
            tokens.push(challenge(&app).await);
        }
        tokens
    };
    // Five wrong codes lock the account (each failure backs off; wait it out).
    for mfa in &collected[..5] {
        app.post(
            "/v1/auth/2fa/verify",
            json!({"mfa_token": mfa, "code": "000000"}),
        )
        .await
        .expect_error(401, "unauthorized");
        app.clock.advance(Duration::seconds(31));
    }
    let right = totp(&app, &secret);
    app.post(
        "/v1/auth/2fa/verify",
        json!({"mfa_token": collected[5], "code": right}),
    )
    .await
    .expect_error(401, "unauthorized");
}

/// Asking for reset codes again and again does not buy more guesses: three an hour at most.
async fn reset_codes_are_capped_per_hour(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    app.add_user(&owner, "staff@acme.example", "staff").await;
    for _ in 0..5 {
        app.post(
            "/v1/auth/password-reset",
            json!({"email": "staff@acme.example"}),
        )
        .await
        .expect(202);
    }
    let resets = column(&app, "SELECT id FROM password_resets").await;
    assert_eq!(
        resets.len(),
        3,
        "every request answered the same, three codes made"
    );
    app.clock.advance(Duration::minutes(61));
    app.post(
        "/v1/auth/password-reset",
        json!({"email": "staff@acme.example"}),
    )
    .await
    .expect(202);
    assert_eq!(
        column(&app, "SELECT id FROM password_resets").await.len(),
        4
    );
}

/// Request bodies can carry passwords (a new user's): the fingerprint stored with an
/// idempotency key is keyed, so a copy of the database cannot test password guesses with it.
async fn stored_request_fingerprints_are_keyed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.operator("Acme Tours").await;
    let body =
        json!({"email": "new@acme.example", "name": "New", "role": "staff", "password": PASSWORD});
    let created = TestApp::reply(
        app.client
            .post(format!("{}/v1/users", app.base))
            .bearer_auth(&owner)
            .header("Idempotency-Key", "user-once")
            .json(&body),
    )
    .await;
    created.expect(201);
    let stored = column(&app, "SELECT fingerprint FROM idempotency_keys").await;
    let text = body.to_string();
    let plain = berth::service::idempotency::fingerprint("POST", "/v1/users", &text);
    let keyed = berth::service::idempotency::keyed_fingerprint(
        &app.config.keyring(),
        "POST",
        "/v1/users",
        &text,
    );
    assert_eq!(stored, vec![Some(keyed)]);
    assert_ne!(stored, vec![Some(plain)]);
}
