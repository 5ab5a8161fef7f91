//! Each operator paid into its own Stripe account: keys set by owners, sealed at rest, shown
//! masked, audited; payments, refunds and webhooks per account; rotation; and the instance's
//! key for operators without their own. The fake Stripe knows each account by its secret key
//! and refuses any other (401), so every call proves which key it carried.

use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::fake_stripe::{self, event, signature, succeeded, FakeStripe};
use crate::support::{Backend, TestApp};

on_both_backends!(
    two_operators_are_paid_into_their_own_accounts,
    webhooks_verify_with_the_operators_own_secret_only,
    new_keys_take_new_payments_and_old_payments_refund_with_old_keys,
    keys_are_sealed_masked_and_audited_never_shown,
    keys_of_the_wrong_shape_or_mode_are_refused,
    without_keys_of_its_own_an_operator_uses_the_instances_or_none,
    rolled_keys_and_unreadable_accounts_block_nothing,
    another_instance_takes_new_keys_within_seconds,
);

/// One Stripe account's keys, distinct per `name`.
struct Keys {
    secret: String,
    publishable: String,
    webhook: String,
}

impl Keys {
    fn new(name: &str) -> Keys {
        Keys {
            secret: format!("sk_test_51{name}SecretKey0000000000"),
            publishable: format!("pk_test_51{name}Publishable000000000"),
            webhook: format!("whsec_{name}SigningSecret00000000"),
        }
    }

    fn body(&self) -> Value {
        json!({
            "secret_key": self.secret,
            "publishable_key": self.publishable,
            "webhook_secret": self.webhook,
        })
    }

    fn last4(&self) -> &str {
        &self.secret[self.secret.len() - 4..]
    }
}

/// An operator with a tour and a departure: (owner token, operator id, departure id).
async fn operator_with_departure(app: &TestApp, name: &str) -> (String, String, String) {
    let (operator, token) = app.operator_with_id(name).await;
    let tour = app.tour(&token, json!({})).await;
    let departure = app.departure(&token, &tour, 10, 48).await;
    (token, operator, departure)
}

async fn set_keys(app: &TestApp, token: &str, keys: &Keys) -> Value {
    let reply = app
        .request(
            Method::PUT,
            "/v1/operator/payments",
            Some(token),
            Some(keys.body()),
        )
        .await;
    reply.expect(200);
    reply.body.clone()
}

/// Holds two adults; returns (reference, booking id, the intent Stripe made).
async fn hold(app: &TestApp, stripe: &FakeStripe, departure: &str) -> (String, String, Value) {
    let reply = app
        .hold(departure, json!([{"unit": "adult", "quantity": 2}]))
        .await;
    reply.expect(201);
    let reference = reply.str("reference");
    let intent = stripe.intent_for(&reference).expect("an intent");
    let booking_id = intent["metadata"]["booking_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (reference, booking_id, intent)
}

/// Delivers an event to `path`, signed now with `secret`.
async fn deliver(app: &TestApp, path: &str, secret: &str, body: &str) -> crate::support::Reply {
    let signed = signature(secret, app.clock.now().timestamp(), body);
    app.stripe_event_to(path, body, &signed).await
}

fn endpoint(operator: &str) -> String {
    format!("/v1/webhooks/stripe/{operator}")
}

async fn status_of(app: &TestApp, token: &str, reference: &str) -> String {
    let reply = app
        .get_as(token, &format!("/v1/bookings/{reference}"))
        .await;
    reply.expect(200);
    reply.str("status")
}

async fn refund(app: &TestApp, token: &str, reference: &str, amount: i64) -> String {
    let reply = app
        .post_as(
            token,
            &format!("/v1/bookings/{reference}/refunds"),
            json!({"amount": amount}),
        )
        .await;
    // Answered as queued; sent to Stripe before the answer went out.
    reply.expect(201);
    reply.str("id")
}

/// An instance with its own Stripe key and two operators, Alpha and Bravo, each with keys of
/// its own: (app, stripe, [(keys, owner token, operator id, departure id); 2]).
async fn two_operators_with_keys(
    backend: Backend,
) -> Option<(TestApp, FakeStripe, [(Keys, String, String, String); 2])> {
    let stripe = FakeStripe::start().await;
    let app = TestApp::spawn_stripe(backend, &stripe, &[]).await?;
    let mut operators = Vec::new();
    for (name, operator) in [("Alpha", "Alpha Tours"), ("Bravo", "Bravo Boats")] {
        let keys = Keys::new(name);
        stripe.add_account(&keys.secret);
        let (token, id, departure) = operator_with_departure(&app, operator).await;
        let view = set_keys(&app, &token, &keys).await;
        assert_eq!(view["in_force"], "operator");
        assert_eq!(view["mode"], "test");
        assert_eq!(view["webhook_path"], endpoint(&id));
        operators.push((keys, token, id, departure));
    }
    let [a, b]: [_; 2] = operators.try_into().ok()?;
    Some((app, stripe, [a, b]))
}

async fn two_operators_are_paid_into_their_own_accounts(backend: Backend) {
    let Some((app, stripe, [a, b])) = two_operators_with_keys(backend).await else {
        return;
    };
    let ((a_keys, a_token, a_id, a_departure), (b_keys, b_token, b_id, b_departure)) = (a, b);
    let (a_ref, a_booking, a_intent) = hold(&app, &stripe, &a_departure).await;
    let (b_ref, b_booking, b_intent) = hold(&app, &stripe, &b_departure).await;
    let a_pi = a_intent["id"].as_str().unwrap();
    let b_pi = b_intent["id"].as_str().unwrap();
    assert_eq!(
        stripe.account_of(a_pi).as_deref(),
        Some(a_keys.secret.as_str())
    );
    assert_eq!(
        stripe.account_of(b_pi).as_deref(),
        Some(b_keys.secret.as_str())
    );
    // Stripe.js on each payment page gets the publishable key of the account it pays.
    let publishable = |booking: String| {
        let store = app.store.clone();
        async move {
            berth::service::payments::publishable_key(
                &store,
                &berth::domain::ids::BookingId::from_stored(booking),
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(
        publishable(a_booking).await,
        Some(a_keys.publishable.clone())
    );
    assert_eq!(
        publishable(b_booking).await,
        Some(b_keys.publishable.clone())
    );

    // Each payment confirms through its own operator's endpoint.
    let a_paid = succeeded("evt_alpha_paid", &a_intent);
    let ack = deliver(&app, &endpoint(&a_id), &a_keys.webhook, &a_paid).await;
    ack.expect(200);
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    let b_paid = succeeded("evt_bravo_paid", &b_intent);
    let ack = deliver(&app, &endpoint(&b_id), &b_keys.webhook, &b_paid).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    assert_eq!(status_of(&app, &a_token, &a_ref).await, "confirmed");
    assert_eq!(status_of(&app, &b_token, &b_ref).await, "confirmed");

    // Each refund goes back through the account that took the money.
    let a_refund = refund(&app, &a_token, &a_ref, 1500).await;
    let b_refund = refund(&app, &b_token, &b_ref, 700).await;
    let refunds = stripe.refunds();
    let made = |id: &str| {
        refunds
            .iter()
            .find(|r| r["metadata"]["refund_id"] == id)
            .unwrap_or_else(|| panic!("refund {id} reached Stripe: {refunds:?}"))
            .clone()
    };
    let (a_made, b_made) = (made(&a_refund), made(&b_refund));
    assert_eq!(a_made["payment_intent"], a_pi);
    assert_eq!(b_made["payment_intent"], b_pi);
    assert_eq!(
        stripe.account_of(a_made["id"].as_str().unwrap()).as_deref(),
        Some(a_keys.secret.as_str())
    );
    assert_eq!(
        stripe.account_of(b_made["id"].as_str().unwrap()).as_deref(),
        Some(b_keys.secret.as_str())
    );
    // Not one request went out under the instance's key.
    assert!(stripe
        .requests()
        .iter()
        .all(|r| r.authorization != format!("Bearer {}", fake_stripe::SECRET_KEY)));
    app.assert_seat_invariant().await;
}

async fn webhooks_verify_with_the_operators_own_secret_only(backend: Backend) {
    let Some((app, stripe, [a, b])) = two_operators_with_keys(backend).await else {
        return;
    };
    let ((a_keys, a_token, a_id, a_departure), (b_keys, _, b_id, _)) = (a, b);
    let (_, _, c_departure) = operator_with_departure(&app, "Charlie Cruises").await;
    let (a_ref, _, a_intent) = hold(&app, &stripe, &a_departure).await;
    let a_paid = succeeded("evt_alpha_paid", &a_intent);

    // A's event signed with A's secret, sent to B's endpoint: refused before it is read.
    deliver(&app, &endpoint(&b_id), &a_keys.webhook, &a_paid)
        .await
        .expect_error(400, "invalid_signature");
    // The instance's endpoint does not know A's secret either.
    deliver(&app, "/v1/webhooks/stripe", &a_keys.webhook, &a_paid)
        .await
        .expect_error(400, "invalid_signature");
    // B signs an event about A's booking with its own secret (B controls its account and can
    // send anything): verified, but B's account cannot speak for A's payment.
    let forged = deliver(&app, &endpoint(&b_id), &b_keys.webhook, &a_paid).await;
    forged.expect(200);
    assert_eq!(forged.body["outcome"], "ignored", "{}", forged.text);
    // Nor can the instance's account.
    let instance = deliver(
        &app,
        "/v1/webhooks/stripe",
        fake_stripe::WEBHOOK_SECRET,
        &a_paid,
    )
    .await;
    assert_eq!(instance.body["outcome"], "ignored", "{}", instance.text);
    assert_eq!(status_of(&app, &a_token, &a_ref).await, "held");
    // An operator without keys of its own has no endpoint; nor has an unknown one.
    let (c_id, _) = app.operator_with_id("Delta Day Trips").await;
    deliver(&app, &endpoint(&c_id), &a_keys.webhook, &a_paid)
        .await
        .expect_error(404, "not_found");
    deliver(&app, &endpoint("not-an-operator"), &a_keys.webhook, &a_paid)
        .await
        .expect_error(404, "not_found");
    // A's own endpoint takes it, once. B's account and the instance's have already seen this
    // event id, yet for A's account it is new: ids are remembered per account.
    let ack = deliver(&app, &endpoint(&a_id), &a_keys.webhook, &a_paid).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    let again = deliver(&app, &endpoint(&a_id), &a_keys.webhook, &a_paid).await;
    assert_eq!(again.body["outcome"], "duplicate", "{}", again.text);
    assert_eq!(status_of(&app, &a_token, &a_ref).await, "confirmed");
    // An operator without keys is paid through the instance, whose endpoint confirms it.
    let (_, _, c_intent) = hold(&app, &stripe, &c_departure).await;
    let c_paid = succeeded("evt_charlie_paid", &c_intent);
    let ack = deliver(
        &app,
        "/v1/webhooks/stripe",
        fake_stripe::WEBHOOK_SECRET,
        &c_paid,
    )
    .await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    // ... and A's endpoint cannot speak for it.
    let c_again = succeeded("evt_charlie_via_alpha", &c_intent);
    let ack = deliver(&app, &endpoint(&a_id), &a_keys.webhook, &c_again).await;
    assert_eq!(ack.body["outcome"], "ignored", "{}", ack.text);
}

async fn new_keys_take_new_payments_and_old_payments_refund_with_old_keys(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let (old, new) = (Keys::new("Old"), Keys::new("New"));
    stripe.add_account(&old.secret);
    stripe.add_account(&new.secret);
    let (token, operator, departure) = operator_with_departure(&app, "Rotating Tours").await;
    set_keys(&app, &token, &old).await;
    let (before_ref, _, before_intent) = hold(&app, &stripe, &departure).await;
    let paid = succeeded("evt_before", &before_intent);
    let ack = deliver(&app, &endpoint(&operator), &old.webhook, &paid).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);

    // The owner rotates to new keys.
    let view = set_keys(&app, &token, &new).await;
    assert_eq!(
        view["account"]["secret_key"],
        format!("sk_test_…{}", new.last4())
    );
    let (after_ref, _, after_intent) = hold(&app, &stripe, &departure).await;
    assert_eq!(
        stripe
            .account_of(after_intent["id"].as_str().unwrap())
            .as_deref(),
        Some(new.secret.as_str()),
        "a new payment goes to the new account"
    );
    // The payment made before the rotation is refunded with the keys it was made under.
    let refund_id = refund(&app, &token, &before_ref, 1000).await;
    let made = stripe
        .refunds()
        .into_iter()
        .find(|r| r["metadata"]["refund_id"] == refund_id.as_str())
        .expect("the refund reached Stripe");
    assert_eq!(
        stripe.account_of(made["id"].as_str().unwrap()).as_deref(),
        Some(old.secret.as_str())
    );
    // Events of both accounts still verify at the operator's endpoint while the old one
    // settles: a refund made in the old account's dashboard is recorded.
    stripe.dashboard_refund(&before_intent, 500);
    let refunded = event(
        "evt_old_refund",
        "charge.refunded",
        json!({"id": "ch_old", "object": "charge", "payment_intent": before_intent["id"]}),
    );
    let ack = deliver(&app, &endpoint(&operator), &old.webhook, &refunded).await;
    ack.expect(200);
    assert_eq!(ack.body["outcome"], "recorded", "{}", ack.text);
    let after_paid = succeeded("evt_after", &after_intent);
    let ack = deliver(&app, &endpoint(&operator), &new.webhook, &after_paid).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    assert_eq!(status_of(&app, &token, &after_ref).await, "confirmed");

    // Removing the keys sends new payments to the instance's account.
    let removed = app
        .request(Method::DELETE, "/v1/operator/payments", Some(&token), None)
        .await;
    removed.expect(200);
    assert_eq!(removed.body["in_force"], "environment");
    assert!(removed.body["account"].is_null());
    let (_, _, instance_intent) = hold(&app, &stripe, &departure).await;
    assert_eq!(
        stripe
            .account_of(instance_intent["id"].as_str().unwrap())
            .as_deref(),
        Some(fake_stripe::SECRET_KEY)
    );
    app.assert_seat_invariant().await;
}

async fn keys_are_sealed_masked_and_audited_never_shown(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let keys = Keys::new("Sealed");
    stripe.add_account(&keys.secret);
    let (token, operator, _) = operator_with_departure(&app, "Sealed Tours").await;
    let reply = app
        .request(
            Method::PUT,
            "/v1/operator/payments",
            Some(&token),
            Some(keys.body()),
        )
        .await;
    reply.expect(200);
    let account = &reply.body["account"];
    assert_eq!(account["secret_key"], format!("sk_test_…{}", keys.last4()));
    assert_eq!(account["webhook_secret"], "whsec_…0000");
    assert_eq!(account["publishable_key"], keys.publishable);
    let shown = app.get_as(&token, "/v1/operator/payments").await;
    shown.expect(200);
    for text in [&reply.text, &shown.text] {
        assert!(
            !text.contains(&keys.secret) && !text.contains(&keys.webhook),
            "{text}"
        );
    }
    // Setting the same keys again changes nothing (a retry is safe without an idempotency key).
    let again = set_keys(&app, &token, &keys).await;
    assert_eq!(again["account"]["id"], account["id"]);

    // At rest: sealed, not in clear anywhere the operator's rows are.
    let stored = app
        .query_strings(&format!(
            "SELECT secret_key_sealed FROM payment_accounts WHERE operator_id = '{operator}' \
             UNION ALL SELECT webhook_secret_sealed FROM payment_accounts WHERE operator_id = '{operator}'"
        ))
        .await;
    assert_eq!(stored.len(), 2);
    for sealed in &stored {
        assert!(sealed.starts_with("2."), "sealed text: {sealed}");
        assert!(!sealed.contains("SecretKey") && !sealed.contains("SigningSecret"));
    }
    for (table, column) in [
        ("audit_log", "detail"),
        ("idempotency_keys", "response_body"),
    ] {
        let leaked = app
            .query_i64(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {column} LIKE '%SecretKey%' OR {column} LIKE '%SigningSecret%'"
            ))
            .await;
        assert_eq!(leaked, 0, "a key in clear in {table}.{column}");
    }
    // The audit log says who set which key, by its mask; one entry for the one change.
    let audit = app.get_as(&token, "/v1/audit").await;
    audit.expect(200);
    let entries: Vec<&Value> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "operator.payment_account.set")
        .collect();
    assert_eq!(entries.len(), 1, "{}", audit.text);
    let detail = entries[0]["detail"].to_string();
    assert!(
        detail.contains(&format!("sk_test_…{}", keys.last4())),
        "{detail}"
    );
    assert!(!detail.contains(&keys.secret) && !detail.contains(&keys.webhook));

    // The check makes one harmless call with the keys in force.
    let check = app
        .post_as(&token, "/v1/operator/payments/check", json!({}))
        .await;
    check.expect(200);
    assert_eq!(check.body["ok"], true, "{}", check.text);
    assert_eq!(check.body["in_force"], "operator");
    assert!(check.body["account"].as_str().unwrap().starts_with("acct_"));
    let call = stripe.requests().into_iter().last().unwrap();
    assert_eq!(call.path, "GET /v1/account");
    assert_eq!(call.authorization, format!("Bearer {}", keys.secret));
    // Keys Stripe does not know: the check reports Stripe's refusal.
    let unknown = Keys::new("Unknown");
    set_keys(&app, &token, &unknown).await;
    let check = app
        .post_as(&token, "/v1/operator/payments/check", json!({}))
        .await;
    assert_eq!(check.body["ok"], false, "{}", check.text);
    assert!(
        check.body["problem"]
            .as_str()
            .unwrap()
            .contains("api_key_invalid"),
        "{}",
        check.text
    );
    // Admins may not see or change them.
    let (admin, _) = app.signed_in(&token, "admin@sealed.example", "admin").await;
    app.get_as(&admin, "/v1/operator/payments")
        .await
        .expect_error(403, "forbidden");
}

async fn keys_of_the_wrong_shape_or_mode_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, _) = operator_with_departure(&app, "Careful Tours").await;
    let put = |body: Value| {
        let (app, token) = (&app, &token);
        async move {
            let reply = app
                .request(
                    Method::PUT,
                    "/v1/operator/payments",
                    Some(token),
                    Some(body),
                )
                .await;
            reply.expect_error(422, "validation_failed");
            reply.body["error"]["fields"].clone()
        }
    };
    // (keys, field → a phrase its problem must contain)
    let cases = [
        (
            (
                "pk_test_51NotASecretKey000000",
                "sk_test_51NotAPublishable0000",
                "secret",
            ),
            vec![
                ("secret_key", "sk_test_"),
                ("publishable_key", "pk_test_"),
                ("webhook_secret", "whsec_"),
            ],
        ),
        (
            (
                "sk_test_51ModeMismatch0000000",
                "pk_live_51ModeMismatch0000000",
                "whsec_ModeMismatch000000000",
            ),
            vec![(
                "publishable_key",
                "live-mode key but the secret key is a test-mode key",
            )],
        ),
        // The tests run a debug build: live keys are refused.
        (
            (
                "sk_live_51LiveOnDebug00000000",
                "pk_live_51LiveOnDebug00000000",
                "whsec_LiveOnDebug0000000000",
            ),
            vec![("secret_key", "refused on a debug instance")],
        ),
    ];
    for ((secret, publishable, webhook), expected) in cases {
        let fields = put(json!({
            "secret_key": secret, "publishable_key": publishable, "webhook_secret": webhook,
        }))
        .await;
        for (field, phrase) in expected {
            let problem = fields[field].as_str().unwrap_or_default();
            assert!(problem.contains(phrase), "{field}: {fields}");
        }
    }
    // Nothing was stored by any of them.
    let shown = app.get_as(&token, "/v1/operator/payments").await;
    assert!(shown.body["account"].is_null(), "{}", shown.text);
    // A missing field is the body's problem, answered like any other.
    app.request(
        Method::PUT,
        "/v1/operator/payments",
        Some(&token),
        Some(json!({"secret_key": "sk_test_51OnlyOneField000000"})),
    )
    .await
    .expect(422);
}

async fn without_keys_of_its_own_an_operator_uses_the_instances_or_none(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let (token, _, departure) = operator_with_departure(&app, "Plain Tours").await;
    let shown = app.get_as(&token, "/v1/operator/payments").await;
    shown.expect(200);
    assert_eq!(shown.body["in_force"], "environment");
    assert_eq!(shown.body["mode"], "test");
    let (_, _, intent) = hold(&app, &stripe, &departure).await;
    assert_eq!(
        stripe.account_of(intent["id"].as_str().unwrap()).as_deref(),
        Some(fake_stripe::SECRET_KEY)
    );
    assert_eq!(
        stripe.requests()[0].authorization,
        format!("Bearer {}", fake_stripe::SECRET_KEY)
    );
    // Checking the instance's keys says they work, not which account they are.
    let check = app
        .post_as(&token, "/v1/operator/payments/check", json!({}))
        .await;
    check.expect(200);
    assert_eq!(
        (&check.body["ok"], &check.body["in_force"]),
        (&json!(true), &json!("environment"))
    );
    assert!(check.body["account"].is_null(), "{}", check.text);

    // An instance without a key of its own: an operator without keys is paid on arrival, and
    // one with keys is paid online into its account.
    let offline = TestApp::spawn_with(backend, &[("stripe_api_base", stripe.base.clone().into())])
        .await
        .expect("a second app");
    let (plain, _, plain_departure) = operator_with_departure(&offline, "Cash Tours").await;
    let shown = offline.get_as(&plain, "/v1/operator/payments").await;
    assert_eq!(shown.body["in_force"], "none");
    assert!(shown.body["mode"].is_null());
    let cash = offline
        .hold(&plain_departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    cash.expect(201);
    assert_eq!(cash.body["payment"]["provider"], "offline");
    let keys = Keys::new("OwnOnly");
    stripe.add_account(&keys.secret);
    let (own, _, own_departure) = operator_with_departure(&offline, "Card Tours").await;
    set_keys(&offline, &own, &keys).await;
    let card = offline
        .hold(&own_departure, json!([{"unit": "adult", "quantity": 1}]))
        .await;
    card.expect(201);
    assert_eq!(card.body["payment"]["provider"], "stripe", "{}", card.text);
    let intent = stripe
        .intent_for(&card.str("reference"))
        .expect("an intent");
    assert_eq!(
        stripe.account_of(intent["id"].as_str().unwrap()).as_deref(),
        Some(keys.secret.as_str())
    );
}

/// Keys rolled within one Stripe account keep its webhook secret; an account whose keys no
/// longer open (a changed `BERTH_SECRET_KEY`) must block neither the operator's webhooks nor
/// anyone's refunds.
async fn rolled_keys_and_unreadable_accounts_block_nothing(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let first = Keys::new("Rolled");
    let rolled = Keys {
        secret: "sk_test_51RolledAgainKey00000000000".into(),
        ..Keys::new("Rolled")
    };
    stripe.add_account(&first.secret);
    stripe.add_account(&rolled.secret);
    let (token, operator, departure) = operator_with_departure(&app, "Rolling Tours").await;
    set_keys(&app, &token, &first).await;
    let (before_ref, _, before_intent) = hold(&app, &stripe, &departure).await;
    set_keys(&app, &token, &rolled).await;
    // The payment made under the first keys arrives signed with the shared secret: it is the
    // first account's event, not something to ignore.
    let paid = succeeded("evt_rolled_before", &before_intent);
    let ack = deliver(&app, &endpoint(&operator), &rolled.webhook, &paid).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    assert_eq!(status_of(&app, &token, &before_ref).await, "confirmed");

    // The first account's sealed keys become unreadable, as a process started after a change
    // of BERTH_SECRET_KEY finds them (this one has them open already).
    app.execute_sql(&format!(
        "UPDATE payment_accounts SET secret_key_sealed = '2.AAAA', webhook_secret_sealed = '2.AAAA' \
         WHERE operator_id = '{operator}' AND retired_at IS NOT NULL"
    ))
    .await;
    let app = app
        .another_instance(&[
            ("payments", "stripe".into()),
            ("stripe_secret_key", fake_stripe::SECRET_KEY.into()),
            ("stripe_webhook_secret", fake_stripe::WEBHOOK_SECRET.into()),
            ("stripe_api_base", stripe.base.clone().into()),
            ("stripe_timeout_seconds", 1.into()),
        ])
        .await;
    let (after_ref, _, after_intent) = hold(&app, &stripe, &departure).await;
    let paid = succeeded("evt_rolled_after", &after_intent);
    let ack = deliver(&app, &endpoint(&operator), &rolled.webhook, &paid).await;
    assert_eq!(ack.body["outcome"], "confirmed", "{}", ack.text);
    assert_eq!(status_of(&app, &token, &after_ref).await, "confirmed");

    // A refund of the first payment cannot be sent now; it is tried again later, and the
    // refund queued after it is sent at once all the same.
    let stuck = refund(&app, &token, &before_ref, 500).await;
    let sent = refund(&app, &token, &after_ref, 600).await;
    let made: Vec<Value> = stripe.refunds();
    assert!(
        made.iter()
            .any(|r| r["metadata"]["refund_id"] == sent.as_str()),
        "{made:?}"
    );
    assert!(!made
        .iter()
        .any(|r| r["metadata"]["refund_id"] == stuck.as_str()));
    let attempts = app
        .query_i64(&format!(
            "SELECT attempts FROM refunds WHERE id = '{stuck}'"
        ))
        .await;
    assert_eq!(
        attempts, 1,
        "the failed attempt is recorded, with its backoff"
    );
    let waiting =
        berth::service::payments::send_refunds(&app.store, &app.payments, None, app.clock.now())
            .await
            .unwrap();
    assert_eq!(waiting, 0, "not due again before its backoff");
}

/// Each process remembers an operator's keys in force for 5 s (every hold asks): the one that
/// changed them uses the new ones at once, another within those seconds.
async fn another_instance_takes_new_keys_within_seconds(backend: Backend) {
    let stripe = FakeStripe::start().await;
    let Some(app) = TestApp::spawn_stripe(backend, &stripe, &[]).await else {
        return;
    };
    let other = app
        .another_instance(&[
            ("payments", "stripe".into()),
            ("stripe_secret_key", fake_stripe::SECRET_KEY.into()),
            ("stripe_webhook_secret", fake_stripe::WEBHOOK_SECRET.into()),
            ("stripe_api_base", stripe.base.clone().into()),
            ("stripe_timeout_seconds", 1.into()),
        ])
        .await;
    let keys = Keys::new("Cached");
    stripe.add_account(&keys.secret);
    let (token, _, departure) = operator_with_departure(&app, "Cached Tours").await;
    let (stripe, departure) = (&stripe, departure.as_str());
    assert_eq!(
        account_of_hold(&other, stripe, departure).await,
        fake_stripe::SECRET_KEY
    );
    set_keys(&app, &token, &keys).await;
    assert_eq!(
        account_of_hold(&app, stripe, departure).await,
        keys.secret,
        "at once where they were set"
    );
    assert_eq!(
        account_of_hold(&other, stripe, departure).await,
        fake_stripe::SECRET_KEY,
        "the other instance still remembers the instance's account"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5_200)).await;
    assert_eq!(
        account_of_hold(&other, stripe, departure).await,
        keys.secret,
        "and forgets it within 5 s"
    );
}

/// The account (its secret key) that took the payment of a new hold made through `app`.
async fn account_of_hold(app: &TestApp, stripe: &FakeStripe, departure: &str) -> String {
    let (_, _, intent) = hold(app, stripe, departure).await;
    stripe.account_of(intent["id"].as_str().unwrap()).unwrap()
}
