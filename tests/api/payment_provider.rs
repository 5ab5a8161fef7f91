//! The payment-provider seam: a second provider, written here in a few lines against
//! `berth::integrations::payments::PaymentProvider` with no Stripe type in sight, takes a hold's
//! payment, confirms it through an event, and refunds part of it; its name is what the payment
//! row, the refund and the ledger record. Were any Stripe detail left in `service::payments`,
//! this provider could not do it.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use serde_json::json;

use berth::integrations::payments::{
    EventKind, NewPayment, PaymentEvent, PaymentProvider, ProviderError, ProviderPayment,
    ProviderRefund, WebhookError,
};
use berth::service::payments::{self, EventOutcome, Payments};

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(a_second_provider_takes_payments_through_the_seam);

/// Pays by bank transfer: the payment is "created" as a transfer reference; refunds are
/// remembered as sent.
#[derive(Default)]
struct BankTransfer {
    created: Mutex<Vec<(String, i64, String)>>,
    refunded: Mutex<Vec<(String, i64, String)>>,
}

#[rocket::async_trait]
impl PaymentProvider for BankTransfer {
    fn name(&self) -> &'static str {
        "banktransfer"
    }

    async fn check_account(&self) -> Result<String, ProviderError> {
        Ok("bt_account".into())
    }

    async fn create_payment(
        &self,
        payment: &NewPayment<'_>,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        self.created.lock().unwrap().push((
            payment.booking_id.to_owned(),
            payment.amount,
            idempotency_key.to_owned(),
        ));
        Ok(ProviderPayment {
            id: format!("bt_{}", payment.booking_reference),
            client_secret: None,
            status: "awaiting_transfer".into(),
            amount: payment.amount,
            amount_received: 0,
            currency: payment.currency.to_owned(),
            booking_id: Some(payment.booking_id.to_owned()),
        })
    }

    async fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        refund_id: &str,
        _idempotency_key: &str,
    ) -> Result<ProviderRefund, ProviderError> {
        self.refunded
            .lock()
            .unwrap()
            .push((payment_id.to_owned(), amount, refund_id.to_owned()));
        Ok(ProviderRefund {
            id: format!("btr_{refund_id}"),
            amount,
            stands: true,
            refund_id: Some(refund_id.to_owned()),
        })
    }

    async fn refunds_of(&self, _payment_id: &str) -> Result<Vec<ProviderRefund>, ProviderError> {
        Ok(Vec::new())
    }

    fn read_event(
        &self,
        _signature: Option<&str>,
        _body: &[u8],
        _now_unix: i64,
    ) -> Result<PaymentEvent, WebhookError> {
        Err(WebhookError::Malformed("this provider sends no webhooks"))
    }
}

async fn a_second_provider_takes_payments_through_the_seam(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _, departure) = app.fresh_departure(10).await;
    let provider = Arc::new(BankTransfer::default());
    let online = Payments::new(
        Some(provider.clone()),
        None,
        None,
        berth::secrets::Keyring::new(b"test"),
    );
    let gateway = online.instance_gateway().expect("the instance's provider");
    let request = serde_json::from_value(json!({
        "departure_id": departure,
        "items": [{"unit": "adult", "quantity": 2}],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}
    }))
    .unwrap();
    let now = app.clock.now();
    let placed = berth::service::holds::place_hold(
        &app.store,
        &online,
        now,
        Duration::minutes(15),
        request,
        None,
    )
    .await
    .expect("held");
    let booking = placed.booking;
    assert_eq!(placed.payment.provider, "banktransfer");
    assert_eq!(placed.payment.status, "awaiting_transfer");
    assert_eq!(
        provider.created.lock().unwrap().clone(),
        vec![(
            booking.id.to_string(),
            7000,
            format!("berth-pi-{}", booking.id)
        )],
        "the server's total, under a key derived from the booking"
    );
    assert_eq!(app.available(&departure).await, 8);

    // The transfer arrives: the provider's event confirms the booking, once.
    let arrived = PaymentEvent {
        id: "bt_evt_1".into(),
        kind: "transfer.received".into(),
        what: EventKind::Succeeded(ProviderPayment {
            id: format!("bt_{}", booking.reference),
            client_secret: None,
            status: "received".into(),
            amount: 7000,
            amount_received: 7000,
            currency: "EUR".into(),
            booking_id: None,
        }),
    };
    let outcome = payments::handle_event(&app.store, &online, &gateway, now, &arrived)
        .await
        .expect("applied");
    assert_eq!(outcome, EventOutcome::Confirmed);
    let again = payments::handle_event(&app.store, &online, &gateway, now, &arrived)
        .await
        .expect("applied");
    assert_eq!(again, EventOutcome::Duplicate);
    let view = app
        .get_as(&token, &format!("/v1/bookings/{}", booking.reference))
        .await;
    assert_eq!(view.body["status"], "confirmed");
    assert_eq!(view.body["payment"]["provider"], "banktransfer");
    assert_eq!(view.body["payment"]["paid"], 7000);

    // The operator refunds part of it; the refund goes back through the provider that took it.
    app.post_as(
        &token,
        &format!("/v1/bookings/{}/refunds", booking.reference),
        json!({"amount": 1500}),
    )
    .await
    .expect(201);
    // The app itself runs without this provider: its attempt to send the refund right away
    // failed and moved the refund back in the queue; the worker of a process that has the
    // provider sends it when it is due again.
    let later = app.clock.now() + Duration::minutes(5);
    let sent = payments::send_refunds(&app.store, &online, None, later)
        .await
        .expect("sent");
    assert_eq!(sent, 1);
    let refunded = provider.refunded.lock().unwrap().clone();
    assert_eq!(refunded.len(), 1);
    assert_eq!(
        (refunded[0].0.as_str(), refunded[0].1),
        (format!("bt_{}", booking.reference).as_str(), 1500)
    );
    assert_eq!(
        app.query_strings(&format!(
            "SELECT CONCAT(provider, ' ', status, ' ', provider_refund_id) FROM refunds WHERE booking_id = '{}'",
            booking.id
        ))
        .await,
        vec![format!("banktransfer succeeded btr_{}", refunded[0].2)]
    );
    let mut ledger = app
        .query_strings(&format!(
            "SELECT CONCAT(provider, ' ', kind, ' ', amount) FROM ledger_entries WHERE booking_id = '{}'",
            booking.id
        ))
        .await;
    ledger.sort();
    assert_eq!(
        ledger,
        vec!["banktransfer payment 7000", "banktransfer refund -1500"]
    );
    let view = app
        .get_as(&token, &format!("/v1/bookings/{}", booking.reference))
        .await;
    assert_eq!(view.body["payment"]["refunded"], 1500);
    app.assert_seat_invariant().await;
}
