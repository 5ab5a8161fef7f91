//! Stripe behind berth's `PaymentProvider` seam: its answers in berth's terms, an operator's own
//! account connected with its keys, and its verified webhook events read into berth's.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{
    http_client, verify_signature, Charge, PaymentIntent, Refund, Stripe, StripeError,
    SIGNATURE_TOLERANCE_SECONDS,
};
use crate::integrations::payments::{
    AccountConnector, EventKind, NewPayment, PaymentEvent, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, WebhookError,
};
use crate::secrets::Secret;

impl From<StripeError> for ProviderError {
    fn from(error: StripeError) -> ProviderError {
        match error {
            StripeError::Unavailable(detail) => ProviderError::Unavailable(detail),
            StripeError::Rejected { status, kind, code } => {
                ProviderError::Rejected(format!("Stripe answered {status} {kind} {code}"))
            }
        }
    }
}

impl From<PaymentIntent> for ProviderPayment {
    fn from(intent: PaymentIntent) -> ProviderPayment {
        ProviderPayment {
            booking_id: intent.metadata.get("booking_id").cloned(),
            id: intent.id,
            client_secret: intent.client_secret,
            status: intent.status,
            amount: intent.amount,
            amount_received: intent.amount_received,
            currency: intent.currency,
        }
    }
}

impl From<Refund> for ProviderRefund {
    fn from(refund: Refund) -> ProviderRefund {
        ProviderRefund {
            stands: refund.status == "succeeded" || refund.status == "pending",
            refund_id: refund.metadata.get("refund_id").cloned(),
            id: refund.id,
            amount: refund.amount,
        }
    }
}

/// Stripe as berth's payment provider: its API and the webhook endpoint's signing secret.
pub struct StripeProvider {
    api: Stripe,
    webhook_secret: Secret,
}

impl StripeProvider {
    pub fn new(api: Stripe, webhook_secret: Secret) -> StripeProvider {
        StripeProvider {
            api,
            webhook_secret,
        }
    }
}

/// Makes `StripeProvider`s for operators' own accounts: same API base and timeout as the
/// instance's, one shared HTTP client.
pub struct StripeConnector {
    client: reqwest::Client,
    api_base: String,
}

impl StripeConnector {
    pub fn new(api_base: &str, timeout: Duration) -> Result<StripeConnector, String> {
        Ok(StripeConnector {
            client: http_client(timeout)?,
            api_base: api_base.to_owned(),
        })
    }
}

impl AccountConnector for StripeConnector {
    fn connect(
        &self,
        secret_key: &str,
        webhook_secret: &str,
    ) -> Result<Arc<dyn PaymentProvider>, String> {
        let api = Stripe::with_client(
            self.client.clone(),
            &self.api_base,
            Secret::new(secret_key.to_owned()),
        );
        Ok(Arc::new(StripeProvider::new(
            api,
            Secret::new(webhook_secret.to_owned()),
        )))
    }
}

#[rocket::async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn check_account(&self) -> Result<String, ProviderError> {
        Ok(self.api.retrieve_account().await?)
    }

    async fn create_payment(
        &self,
        payment: &NewPayment<'_>,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        Ok(self
            .api
            .create_payment_intent(payment, idempotency_key)
            .await?
            .into())
    }

    async fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        refund_id: &str,
        idempotency_key: &str,
    ) -> Result<ProviderRefund, ProviderError> {
        Ok(self
            .api
            .create_refund(payment_id, amount, refund_id, idempotency_key)
            .await?
            .into())
    }

    async fn refunds_of(&self, payment_id: &str) -> Result<Vec<ProviderRefund>, ProviderError> {
        let refunds = self.api.list_refunds(payment_id).await?;
        Ok(refunds.into_iter().map(ProviderRefund::from).collect())
    }

    fn read_event(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<PaymentEvent, WebhookError> {
        let header = signature.ok_or_else(|| {
            WebhookError::Signature("the Stripe-Signature header is missing".into())
        })?;
        verify_signature(
            self.webhook_secret.expose(),
            header,
            body,
            now_unix,
            SIGNATURE_TOLERANCE_SECONDS,
        )
        .map_err(|error| WebhookError::Signature(error.to_string()))?;
        read_event(body)
    }
}

/// A Stripe event, as much of it as berth reads.
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// Reads a verified event body into berth's terms.
fn read_event(body: &[u8]) -> Result<PaymentEvent, WebhookError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|_| WebhookError::Malformed("the event is not a Stripe event"))?;
    if event.id.is_empty() || event.id.len() > 255 || event.kind.len() > 100 {
        return Err(WebhookError::Malformed(
            "the event id or type is out of range",
        ));
    }
    let malformed = |_| WebhookError::Malformed("the event's object is not what its type says");
    let object = event.data.object;
    let intent = |object| serde_json::from_value::<PaymentIntent>(object).map_err(malformed);
    let what = match event.kind.as_str() {
        "payment_intent.succeeded" => EventKind::Succeeded(intent(object)?.into()),
        "payment_intent.payment_failed" => EventKind::Failed(intent(object)?.into()),
        "payment_intent.canceled" => EventKind::Canceled(intent(object)?.into()),
        "charge.refunded" => {
            let charge: Charge = serde_json::from_value(object).map_err(malformed)?;
            EventKind::Refunded {
                payment_id: charge.payment_intent,
            }
        }
        _ => EventKind::Other,
    };
    Ok(PaymentEvent {
        id: event.id,
        kind: event.kind,
        what,
    })
}
