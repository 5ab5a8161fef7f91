//! The audit log records every operator change (README, SECURITY.md): each action of
//! `berth::service::audit::Action::ALL` is performed here through the API (or the command
//! line's use case) and its entry checked for who, what and on which object.

use std::collections::BTreeSet;

use berth::service::audit::Action;
use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::fake_twilio::FakeTwilio;
use crate::support::{Backend, TestApp, PASSWORD};

on_both_backends!(every_audit_action_is_recorded_with_its_actor_and_object);

/// What one audited change must have left: (action, actor, target).
type Expected = (Action, String, String);

/// The operator's whole audit log (newest first), as `token` reads it.
async fn audit_log(app: &TestApp, token: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = "/v1/audit?limit=200".to_owned();
    loop {
        let page = app.get_as(token, &path).await;
        page.expect(200);
        entries.extend(page.body["entries"].as_array().unwrap().iter().cloned());
        match page.body["next_before"].as_str() {
            Some(before) => path = format!("/v1/audit?limit=200&before={before}"),
            None => return entries,
        }
    }
}

fn totp(app: &TestApp, secret: &str) -> String {
    use berth::domain::auth::{base32_decode, totp_code, totp_step, TOTP_DIGITS};
    let secret = base32_decode(secret).expect("base32");
    totp_code(&secret, totp_step(app.clock.now().timestamp()), TOTP_DIGITS)
}

async fn dispatch(app: &TestApp) {
    berth::workers::outbox::run_once(&app.store, &app.transports, app.clock.now())
        .await
        .expect("dispatch");
}

/// The 8-digit code in the reset email to `to`.
fn reset_code(app: &TestApp, to: &str) -> String {
    let mails: Vec<String> = std::fs::read_dir(app.files.path().join("mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains(to) && m.contains("Your code: "))
        .collect();
    let mail = mails.last().expect("a reset email");
    let at = mail.find("Your code: ").unwrap() + "Your code: ".len();
    mail[at..].chars().take(8).collect()
}

async fn every_audit_action_is_recorded_with_its_actor_and_object(backend: Backend) {
    // SMS through a fake Twilio that refuses the first number: a failed message to retry.
    let twilio = FakeTwilio::start(vec![400]).await;
    let settings = [
        ("sms_transport", json!("twilio")),
        (
            "twilio_account_sid",
            json!("AC0123456789abcdef0123456789abcdef"),
        ),
        ("twilio_auth_token", json!("twilio-secret-token")),
        ("twilio_from", json!("+15005550006")),
        ("twilio_api_base", json!(twilio.base)),
        ("twilio_timeout_seconds", json!(1)),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let (operator, owner) = app.operator_with_id("Acme Tours").await;
    let tokens = app.get_as(&owner, "/v1/tokens").await;
    let by_owner = format!("token:{}", tokens.body[0]["id"].as_str().unwrap());
    let mut expected: Vec<Expected> = Vec::new();
    let mut expect = |action: Action, actor: &str, target: String| {
        expected.push((action, actor.to_owned(), target));
    };

    // Users and their own account changes.
    let (admin_access, admin_login) = app.signed_in(&owner, "admin@acme.example", "admin").await;
    let admin_id = admin_login.str("user_id");
    let admin = format!("user:{admin_id}");
    expect(Action::UserCreate, &by_owner, admin.clone());
    let (staff_access, staff_login) = app.signed_in(&owner, "staff@acme.example", "staff").await;
    let staff = format!("user:{}", staff_login.str("user_id"));
    expect(Action::UserCreate, &by_owner, staff.clone());
    let guide_id = app.add_user(&owner, "guide@acme.example", "guide").await;
    let guide = format!("user:{guide_id}");
    expect(Action::UserCreate, &by_owner, guide.clone());
    app.patch_as(
        &owner,
        &format!("/v1/users/{guide_id}"),
        json!({"role": "staff"}),
    )
    .await
    .expect(200);
    expect(Action::UserRole, &by_owner, guide.clone());
    app.post_as(
        &owner,
        &format!("/v1/users/{guide_id}/deactivate"),
        json!({}),
    )
    .await
    .expect(200);
    expect(Action::UserDeactivate, &by_owner, guide);
    let changed = "a changed harbour passphrase";
    app.post_as(
        &staff_access,
        "/v1/auth/password",
        json!({"current_password": PASSWORD, "new_password": changed}),
    )
    .await
    .expect(204);
    expect(Action::UserPasswordChange, &staff, staff.clone());
    app.post(
        "/v1/auth/password-reset",
        json!({"email": "staff@acme.example"}),
    )
    .await
    .expect(202);
    dispatch(&app).await;
    let code = reset_code(&app, "staff@acme.example");
    app.post(
        "/v1/auth/password-reset/confirm",
        json!({"email": "staff@acme.example", "code": code, "new_password": "a reset harbour passphrase"}),
    )
    .await
    .expect(204);
    expect(Action::UserPasswordReset, &staff, staff.clone());

    // The catalogue, by a signed-in admin.
    let tour = app.tour(&admin_access, json!({})).await;
    expect(Action::TourCreate, &admin, format!("tour:{tour}"));
    app.patch_as(
        &admin_access,
        &format!("/v1/tours/{tour}"),
        json!({"name": "Renamed cruise"}),
    )
    .await
    .expect(200);
    expect(Action::TourUpdate, &admin, format!("tour:{tour}"));
    for (verb, action) in [
        ("archive", Action::TourArchive),
        ("restore", Action::TourRestore),
    ] {
        app.post_as(
            &admin_access,
            &format!("/v1/tours/{tour}/{verb}"),
            json!({}),
        )
        .await
        .expect(200);
        expect(action, &admin, format!("tour:{tour}"));
    }
    let start = (app.clock.now() + chrono::Duration::days(3)).format("%Y-%m-%d");
    let schedule = app
        .post_as(
            &admin_access,
            &format!("/v1/tours/{tour}/schedules"),
            json!({"rrule": "FREQ=DAILY;COUNT=2", "start_date": start.to_string(), "times": ["09:00"], "capacity": 8}),
        )
        .await;
    schedule.expect(201);
    expect(
        Action::ScheduleCreate,
        &admin,
        format!("schedule:{}", schedule.str("id")),
    );
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/schedules/{}", schedule.str("id")),
        Some(&admin_access),
        Some(json!({"rrule": "FREQ=DAILY;COUNT=2", "start_date": start.to_string(), "times": ["10:00"], "capacity": 8})),
    )
    .await
    .expect(200);
    expect(
        Action::ScheduleUpdate,
        &admin,
        format!("schedule:{}", schedule.str("id")),
    );
    let feed = app
        .post_as(
            &admin_access,
            &format!("/v1/tours/{tour}/calendar-feeds"),
            json!({"label": "Guide phones"}),
        )
        .await;
    feed.expect(201);
    let feed = format!("calendar_feed:{}", feed.str("id"));
    expect(Action::CalendarFeedCreate, &admin, feed.clone());
    app.request(
        reqwest::Method::DELETE,
        &format!("/v1/calendar-feeds/{}", &feed["calendar_feed:".len()..]),
        Some(&admin_access),
        None,
    )
    .await
    .expect(204);
    expect(Action::CalendarFeedRevoke, &admin, feed);
    let hook = app
        .post_as(
            &admin_access,
            "/v1/webhook-endpoints",
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["booking.held"]}),
        )
        .await;
    hook.expect(201);
    let hook_path = format!("/v1/webhook-endpoints/{}", hook.str("id"));
    let hook = format!("webhook_endpoint:{}", hook.str("id"));
    expect(Action::WebhookEndpointCreate, &admin, hook.clone());
    app.patch_as(&admin_access, &hook_path, json!({"enabled": false}))
        .await
        .expect(200);
    expect(Action::WebhookEndpointUpdate, &admin, hook.clone());
    app.patch_as(&admin_access, &hook_path, json!({"enabled": true}))
        .await
        .expect(200);
    expect(Action::WebhookEndpointUpdate, &admin, hook.clone());
    app.post_as(
        &admin_access,
        &format!("{hook_path}/rotate-secret"),
        json!({}),
    )
    .await
    .expect(200);
    expect(Action::WebhookEndpointRotateSecret, &admin, hook.clone());
    app.post_as(&admin_access, &format!("{hook_path}/test"), json!({}))
        .await
        .expect(202);
    expect(Action::WebhookEndpointTest, &admin, hook.clone());
    app.post_as(
        &admin_access,
        &format!("{hook_path}/replay"),
        json!({"failed_since": "2020-01-01T00:00:00Z"}),
    )
    .await
    .expect(202);
    expect(Action::WebhookEndpointReplay, &admin, hook.clone());
    app.request(
        reqwest::Method::DELETE,
        &hook_path,
        Some(&admin_access),
        None,
    )
    .await
    .expect(204);
    expect(Action::WebhookEndpointDelete, &admin, hook);
    let departure = app.departure(&admin_access, &tour, 10, 48).await;
    expect(
        Action::DepartureCreate,
        &admin,
        format!("departure:{departure}"),
    );
    app.patch_as(
        &admin_access,
        &format!("/v1/departures/{departure}"),
        json!({"capacity": 12}),
    )
    .await
    .expect(200);
    expect(
        Action::DepartureCapacity,
        &admin,
        format!("departure:{departure}"),
    );
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/departures/{departure}/guides"),
        Some(&admin_access),
        Some(json!({"user_ids": [staff_login.str("user_id")]})),
    )
    .await
    .expect(200);
    expect(
        Action::DepartureGuides,
        &admin,
        format!("departure:{departure}"),
    );
    app.patch_as(
        &admin_access,
        &format!("/v1/departures/{departure}"),
        json!({"min_participants": 2}),
    )
    .await
    .expect(200);
    expect(
        Action::DepartureMinimum,
        &admin,
        format!("departure:{departure}"),
    );
    app.request(
        Method::PUT,
        &format!("/v1/departures/{departure}/prices"),
        Some(&admin_access),
        Some(json!({"prices": {"adult": 3000}})),
    )
    .await
    .expect(200);
    expect(
        Action::DeparturePrices,
        &admin,
        format!("departure:{departure}"),
    );
    app.post_as(
        &admin_access,
        &format!("/v1/tours/{tour}/price-rules"),
        json!({"name": "Summer", "prices": {"adult": 4000}}),
    )
    .await
    .expect(201);
    expect(Action::TourPriceRules, &admin, format!("tour:{tour}"));
    // Back to the tour's prices: a reschedule below keeps the price.
    let rules = app
        .get_as(&admin_access, &format!("/v1/tours/{tour}/price-rules"))
        .await;
    app.request(
        Method::DELETE,
        &format!(
            "/v1/tours/{tour}/price-rules/{}",
            rules.body[0]["id"].as_str().unwrap()
        ),
        Some(&admin_access),
        None,
    )
    .await
    .expect(200);
    expect(Action::TourPriceRules, &admin, format!("tour:{tour}"));
    app.request(
        Method::PUT,
        &format!("/v1/departures/{departure}/prices"),
        Some(&admin_access),
        Some(json!({"prices": null})),
    )
    .await
    .expect(200);
    expect(
        Action::DeparturePrices,
        &admin,
        format!("departure:{departure}"),
    );
    app.post_as(
        &admin_access,
        &format!("/v1/departures/{departure}/guarantee"),
        json!({}),
    )
    .await
    .expect(200);
    expect(
        Action::DepartureGuarantee,
        &admin,
        format!("departure:{departure}"),
    );

    // Bookings: confirmed, checked in and partly refunded by the admin; one confirmed and moved
    // to another departure by the admin; one cancelled by the owner's token; a departure cancelled with a booking on it.
    let one_seat = json!([{"unit": "adult", "quantity": 1}]);
    let paid = app
        .hold(&departure, one_seat.clone())
        .await
        .str("reference");
    let booking = |action: &str| format!("/v1/bookings/{paid}/{action}");
    app.post_as(&admin_access, &booking("confirm"), json!({}))
        .await
        .expect(200);
    expect(Action::BookingConfirm, &admin, format!("booking:{paid}"));
    app.post_as(&admin_access, &booking("check-in"), json!({}))
        .await
        .expect(200);
    expect(Action::BookingCheckIn, &admin, format!("booking:{paid}"));
    app.post_as(&admin_access, &booking("refunds"), json!({"amount": 1000}))
        .await
        .expect(201);
    expect(Action::BookingRefund, &admin, format!("booking:{paid}"));
    // A confirmed booking moved by the admin to another departure of the tour.
    let later = app.departure(&admin_access, &tour, 10, 72).await;
    expect(
        Action::DepartureCreate,
        &admin,
        format!("departure:{later}"),
    );
    let moved = app
        .hold(&departure, one_seat.clone())
        .await
        .str("reference");
    app.post_as(
        &admin_access,
        &format!("/v1/bookings/{moved}/confirm"),
        json!({}),
    )
    .await
    .expect(200);
    expect(Action::BookingConfirm, &admin, format!("booking:{moved}"));
    app.post_as(
        &admin_access,
        &format!("/v1/bookings/{moved}/reschedule"),
        json!({"departure_id": later}),
    )
    .await
    .expect(200);
    expect(
        Action::BookingReschedule,
        &admin,
        format!("booking:{moved}"),
    );
    app.post_as(
        &admin_access,
        &format!("/v1/bookings/{moved}/resend-confirmation"),
        json!({}),
    )
    .await
    .expect(202);
    expect(Action::BookingResend, &admin, format!("booking:{moved}"));
    let cancelled = app
        .hold(&departure, one_seat.clone())
        .await
        .str("reference");
    app.post_as(
        &owner,
        &format!("/v1/bookings/{cancelled}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    expect(
        Action::BookingCancel,
        &by_owner,
        format!("booking:{cancelled}"),
    );
    let doomed = app.departure(&admin_access, &tour, 10, 72).await;
    expect(
        Action::DepartureCreate,
        &admin,
        format!("departure:{doomed}"),
    );
    app.hold(&doomed, one_seat).await.expect(201);
    app.post_as(
        &admin_access,
        &format!("/v1/departures/{doomed}/cancel"),
        json!({}),
    )
    .await
    .expect(200);
    expect(
        Action::DepartureCancel,
        &admin,
        format!("departure:{doomed}"),
    );

    // The confirmation's SMS was refused by Twilio for good; the admin sends it again.
    dispatch(&app).await;
    let failed = app
        .get_as(&admin_access, "/v1/messages?status=failed")
        .await;
    let message = failed.body[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a failed message: {}", failed.text))
        .to_owned();
    app.post_as(
        &admin_access,
        &format!("/v1/messages/{message}/retry"),
        json!({}),
    )
    .await
    .expect(200);
    expect(Action::MessageRetry, &admin, format!("message:{message}"));

    // Tokens and operator settings, by the owner.
    let created = app
        .post_as(
            &owner,
            "/v1/tokens",
            json!({"label": "ci", "role": "staff"}),
        )
        .await;
    created.expect(201);
    let new_token = created.str("id");
    expect(Action::TokenCreate, &by_owner, format!("token:{new_token}"));
    app.request(
        Method::DELETE,
        &format!("/v1/tokens/{new_token}"),
        Some(&owner),
        None,
    )
    .await
    .expect(204);
    expect(Action::TokenRevoke, &by_owner, format!("token:{new_token}"));
    app.patch_as(
        &owner,
        "/v1/operator",
        json!({"reply_to": "desk@acme.example"}),
    )
    .await
    .expect(200);
    expect(
        Action::OperatorMailIdentity,
        &by_owner,
        format!("operator:{operator}"),
    );
    app.request(
        Method::PUT,
        "/v1/operator/embed-origins",
        Some(&owner),
        Some(json!({"origins": ["https://acme.example"]})),
    )
    .await
    .expect(200);
    expect(
        Action::OperatorEmbedOrigins,
        &by_owner,
        format!("operator:{operator}"),
    );
    app.request(
        Method::PUT,
        "/v1/operator/reseller-messages",
        Some(&owner),
        Some(json!({"messages": "never"})),
    )
    .await
    .expect(200);
    expect(
        Action::OperatorResellerMessages,
        &by_owner,
        format!("operator:{operator}"),
    );
    // A reseller, created and revoked.
    let reseller = app
        .post_as(&owner, "/v1/resellers", json!({"name": "Audit OTA"}))
        .await;
    reseller.expect(201);
    let reseller = reseller.str("id");
    expect(
        Action::ResellerCreate,
        &by_owner,
        format!("reseller:{reseller}"),
    );
    app.request(
        Method::DELETE,
        &format!("/v1/resellers/{reseller}"),
        Some(&owner),
        None,
    )
    .await
    .expect(204);
    expect(
        Action::ResellerRevoke,
        &by_owner,
        format!("reseller:{reseller}"),
    );
    // A promo code, created and changed.
    let promo = app
        .post_as(
            &owner,
            "/v1/promo-codes",
            json!({"code": "AUDIT10", "percent_off": 10}),
        )
        .await;
    promo.expect(201);
    let promo = promo.str("id");
    expect(
        Action::PromoCodeCreate,
        &by_owner,
        format!("promo_code:{promo}"),
    );
    app.patch_as(
        &owner,
        &format!("/v1/promo-codes/{promo}"),
        json!({"active": false}),
    )
    .await
    .expect(200);
    expect(
        Action::PromoCodeUpdate,
        &by_owner,
        format!("promo_code:{promo}"),
    );
    // A shared resource: created, changed, assigned to a tour and unassigned.
    let boat = app
        .post_as(
            &owner,
            "/v1/resources",
            json!({"name": "Audit boat", "capacity": 40, "draw": "seats"}),
        )
        .await;
    boat.expect(201);
    let boat = boat.str("id");
    expect(
        Action::ResourceCreate,
        &by_owner,
        format!("resource:{boat}"),
    );
    app.patch_as(
        &owner,
        &format!("/v1/resources/{boat}"),
        json!({"capacity": 30}),
    )
    .await
    .expect(200);
    expect(
        Action::ResourceUpdate,
        &by_owner,
        format!("resource:{boat}"),
    );
    let aboard = app
        .post_as(
            &owner,
            &format!("/v1/resources/{boat}/assignments"),
            json!({"tour_id": tour}),
        )
        .await;
    aboard.expect(201);
    expect(
        Action::ResourceAssign,
        &by_owner,
        format!("resource:{boat}"),
    );
    app.request(
        Method::DELETE,
        &format!("/v1/resources/{boat}/assignments/{}", aboard.str("id")),
        Some(&owner),
        None,
    )
    .await
    .expect(204);
    expect(
        Action::ResourceUnassign,
        &by_owner,
        format!("resource:{boat}"),
    );
    // A traveler waiting on a sold-out departure, taken out of the line.
    let full = app.departure(&owner, &tour, 1, 96).await;
    expect(
        Action::DepartureCreate,
        &by_owner,
        format!("departure:{full}"),
    );
    app.hold(&full, json!([{"unit": "adult", "quantity": 1}]))
        .await
        .expect(201);
    let waiting = app
        .post(
            &format!("/v1/departures/{full}/waitlist"),
            json!({"name": "Wanda", "email": "wanda@example.com",
                   "items": [{"unit": "adult", "quantity": 1}]}),
        )
        .await;
    waiting.expect(201);
    let entry = waiting.str("id");
    app.request(
        Method::DELETE,
        &format!("/v1/departures/{full}/waitlist/{entry}"),
        Some(&owner),
        None,
    )
    .await
    .expect(204);
    expect(
        Action::WaitlistRemove,
        &by_owner,
        format!("waitlist_entry:{entry}"),
    );
    // The operator's own Stripe keys: set, then removed; the log keeps masks, never a key.
    let keys = json!({
        "secret_key": "sk_test_51AuditKeyAbCdEfGh4242",
        "publishable_key": "pk_test_51AuditKeyAbCdEfGh0000",
        "webhook_secret": "whsec_AuditSecretAbCdEf9876",
    });
    app.request(
        Method::PUT,
        "/v1/operator/payments",
        Some(&owner),
        Some(keys),
    )
    .await
    .expect(200);
    expect(
        Action::OperatorPaymentAccountSet,
        &by_owner,
        format!("operator:{operator}"),
    );
    app.request(Method::DELETE, "/v1/operator/payments", Some(&owner), None)
        .await
        .expect(200);
    expect(
        Action::OperatorPaymentAccountRemove,
        &by_owner,
        format!("operator:{operator}"),
    );
    app.request(
        Method::PUT,
        "/v1/operator/two-factor",
        Some(&owner),
        Some(json!({"required": false})),
    )
    .await
    .expect(200);
    expect(
        Action::OperatorRequireTwoFactor,
        &by_owner,
        format!("operator:{operator}"),
    );
    // The instance owner (the command line's use case) approves and withdraws a sender domain.
    let operator_id = berth::domain::ids::OperatorId::parse(&operator).unwrap();
    berth::service::operators::allow_sender_domain(
        &app.store,
        app.clock.now(),
        &operator_id,
        "acme.example",
    )
    .await
    .expect("approved");
    expect(
        Action::OperatorSenderDomainAllow,
        "cli",
        format!("operator:{operator}"),
    );
    berth::service::operators::revoke_sender_domain(
        &app.store,
        app.clock.now(),
        &operator_id,
        "acme.example",
    )
    .await
    .expect("revoked");
    expect(
        Action::OperatorSenderDomainRevoke,
        "cli",
        format!("operator:{operator}"),
    );

    // Two-factor sign-in: the admin enrols; the owner resets it (which ends the admin's
    // sessions, so it comes last).
    let setup = app
        .post_as(&admin_access, "/v1/auth/2fa/setup", json!({}))
        .await;
    setup.expect(200);
    let code = totp(&app, &setup.str("secret"));
    app.post_as(&admin_access, "/v1/auth/2fa/confirm", json!({"code": code}))
        .await
        .expect(200);
    expect(Action::UserTwoFactorEnable, &admin, admin.clone());
    app.post_as(
        &owner,
        &format!("/v1/users/{admin_id}/reset-two-factor"),
        json!({}),
    )
    .await
    .expect(200);
    expect(Action::UserTwoFactorReset, &by_owner, admin);

    // The command line (`berth operator create --password-stdin`) creating an owner.
    let (cli_operator, cli_token) = berth::service::auth::create_operator_with_owner(
        &app.store,
        &app.argon2,
        app.clock.now(),
        "Cli Tours",
        "owner@cli.example",
        PASSWORD,
    )
    .await
    .expect("operator created");
    let cli_owner = app.get_as(&cli_token, "/v1/users").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cli_log = audit_log(&app, &cli_token).await;
    assert_eq!(cli_log.len(), 1, "{cli_log:?}");
    assert_eq!(cli_log[0]["action"], Action::UserCreate.as_str());
    assert_eq!(cli_log[0]["actor"], "cli");
    assert_eq!(cli_log[0]["target"], format!("user:{cli_owner}"));
    assert_ne!(cli_operator.to_string(), operator);

    let log = audit_log(&app, &owner).await;
    for (action, actor, target) in &expected {
        let found = log.iter().any(|entry| {
            entry["action"] == action.as_str()
                && entry["actor"] == *actor
                && entry["target"] == *target
        });
        assert!(
            found,
            "no {} by {actor} on {target} in the audit log:\n{log:#?}",
            action.as_str()
        );
    }
    assert_eq!(
        log.len(),
        expected.len(),
        "entries nobody expected: {log:#?}"
    );
    let listed: BTreeSet<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    let recorded: BTreeSet<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        recorded, listed,
        "every audit action is performed by this test, and no other spelling is recorded"
    );
}
