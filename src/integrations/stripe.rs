//! Stripe as berth's payment provider (`StripeProvider`, the `PaymentProvider` of
//! `integrations::payments`): its REST API through reqwest (form-encoded requests, bearer auth,
//! JSON answers), the verification of its webhook signatures, and its events read into berth's.
//! No domain decisions here.
//!
//! Every call that creates something carries an `Idempotency-Key` chosen by the caller and
//! derived from berth's own ids, and is retried with that same key on network errors, 5xx, 429
//! and 409 (a concurrent request with the same key): Stripe answers a repeated key with the
//! object the first request created, so no retry can charge or refund twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::payments::{
    AccountConnector, EventKind, NewPayment, PaymentEvent, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, WebhookError,
};
use crate::secrets::Secret;

/// The API version berth is written against; pinned so an account upgrade cannot change the
/// shapes berth reads.
pub const API_VERSION: &str = "2024-06-20";

/// How far a webhook's signed timestamp may be from now (Stripe's recommended tolerance).
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

pub struct Stripe {
    client: reqwest::Client,
    api_base: String,
    secret_key: Secret,
    max_attempts: u32,
}

/// A PaymentIntent, as much of it as berth reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    pub status: String,
    pub amount: i64,
    #[serde(default)]
    pub amount_received: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

/// A Refund, as much of it as berth reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub status: String,
    pub amount: i64,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

/// A page of a Stripe list.
#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
}

/// A Charge (the object of `charge.refunded`), as much of it as berth reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// The intent the charge paid; its refunds are then listed and reconciled by id.
    #[serde(default)]
    pub payment_intent: Option<String>,
}

/// Stripe's error body: `{"error": {"type": …, "code": …, "message": …}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// Stripe could not be reached or kept failing (network, timeout, 5xx, 429) after retries.
    /// The request may or may not have taken effect; repeating it with the same key is safe.
    #[error("Stripe unavailable: {0}")]
    Unavailable(String),
    /// Stripe refused the request (4xx); repeating it will not help.
    #[error("Stripe refused the request: {status} {kind} {code}")]
    Rejected {
        status: u16,
        kind: String,
        code: String,
    },
}

/// Checks a secret key's shape and says whether it is a test or live key. The key itself is
/// never part of the answer.
pub fn key_mode(secret_key: &str) -> Result<&'static str, String> {
    crate::domain::payment_keys::secret_key_mode(secret_key)
        .map(|mode| mode.as_str())
        .map_err(|problem| format!("BERTH_STRIPE_SECRET_KEY {problem}"))
}

fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

impl Stripe {
    pub fn new(api_base: &str, secret_key: Secret, timeout: Duration) -> Result<Stripe, String> {
        Ok(Stripe::with_client(
            http_client(timeout)?,
            api_base,
            secret_key,
        ))
    }

    /// The API under one key through a shared HTTP client (one per process, whatever the
    /// number of operators' accounts).
    fn with_client(client: reqwest::Client, api_base: &str, secret_key: Secret) -> Stripe {
        Stripe {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
            secret_key,
            max_attempts: 3,
        }
    }

    /// `GET /v1/account`: the account the key belongs to. Changes nothing.
    pub async fn retrieve_account(&self) -> Result<String, StripeError> {
        #[derive(Deserialize)]
        struct Account {
            id: String,
        }
        let account: Account = self
            .call(reqwest::Method::GET, "/v1/account", &[], None, 1)
            .await?;
        Ok(account.id)
    }

    /// `POST /v1/payment_intents` for a booking's total, card details collected by Stripe.js.
    pub async fn create_payment_intent(
        &self,
        intent: &NewPayment<'_>,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let form = [
            ("amount", intent.amount.to_string()),
            ("currency", intent.currency.to_ascii_lowercase()),
            ("automatic_payment_methods[enabled]", "true".into()),
            ("description", intent.description.to_owned()),
            ("metadata[booking_id]", intent.booking_id.to_owned()),
            (
                "metadata[booking_reference]",
                intent.booking_reference.to_owned(),
            ),
            ("metadata[operator_id]", intent.operator_id.to_owned()),
        ];
        self.call(
            reqwest::Method::POST,
            "/v1/payment_intents",
            &form,
            Some(idempotency_key),
            self.max_attempts,
        )
        .await
    }

    /// `POST /v1/refunds` of `amount` (minor units) of a PaymentIntent. One attempt: a refund
    /// is a stored row that the refund worker retries with backoff (and the same key), so a
    /// traveler's cancellation never waits on a Stripe outage.
    pub async fn create_refund(
        &self,
        payment_intent: &str,
        amount: i64,
        refund_id: &str,
        idempotency_key: &str,
    ) -> Result<Refund, StripeError> {
        let form = [
            ("payment_intent", payment_intent.to_owned()),
            ("amount", amount.to_string()),
            ("metadata[refund_id]", refund_id.to_owned()),
        ];
        self.call(
            reqwest::Method::POST,
            "/v1/refunds",
            &form,
            Some(idempotency_key),
            1,
        )
        .await
    }

    /// `GET /v1/refunds?payment_intent=…`: every refund of an intent, whoever made it.
    pub async fn list_refunds(&self, payment_intent: &str) -> Result<Vec<Refund>, StripeError> {
        let mut refunds: Vec<Refund> = Vec::new();
        loop {
            let mut query = vec![
                ("payment_intent", payment_intent.to_owned()),
                ("limit", "100".to_owned()),
            ];
            if let Some(last) = refunds.last() {
                query.push(("starting_after", last.id.clone()));
            }
            let page: List<Refund> = self
                .call(
                    reqwest::Method::GET,
                    "/v1/refunds",
                    &query,
                    None,
                    self.max_attempts,
                )
                .await?;
            let more = page.has_more && !page.data.is_empty();
            refunds.extend(page.data);
            // A charge has at most a handful of refunds; the bound guards against a loop.
            if !more || refunds.len() >= 1000 {
                return Ok(refunds);
            }
        }
    }

    /// One call, retried up to `attempts` times on transient failures. POST parameters go in a
    /// form body with the idempotency key; GET parameters in the query.
    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &[(&str, String)],
        idempotency_key: Option<&str>,
        attempts: u32,
    ) -> Result<T, StripeError> {
        let url = format!("{}{path}", self.api_base);
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                // 250 ms, 500 ms, … with jitter, so racing retries do not arrive together.
                let base = 250u64 << (attempt - 1);
                let jitter = rand::random::<u64>() % (base / 2 + 1);
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
            }
            let mut request = self
                .client
                .request(method.clone(), &url)
                .bearer_auth(self.secret_key.expose())
                .header("Stripe-Version", API_VERSION);
            request = if method == reqwest::Method::GET {
                request.query(params)
            } else {
                request.form(params)
            };
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            let sent = request.send().await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    last = if error.is_timeout() {
                        "timed out".into()
                    } else {
                        "connection failed".into()
                    };
                    continue;
                }
            };
            let status = response.status().as_u16();
            // Stripe says whether a retry can help; without the header, judge by the status.
            let should_retry = response
                .headers()
                .get("Stripe-Should-Retry")
                .and_then(|v| v.to_str().ok())
                .map(|v| v == "true");
            if (200..300).contains(&status) {
                return match response.json::<T>().await {
                    Ok(object) => Ok(object),
                    Err(_) => {
                        last = "unreadable answer".into();
                        continue;
                    }
                };
            }
            let error = response.json::<ErrorBody>().await.ok().map(|b| b.error);
            let transient = should_retry.unwrap_or(status >= 500 || status == 429 || status == 409);
            if !transient {
                return Err(StripeError::Rejected {
                    status,
                    kind: error
                        .as_ref()
                        .and_then(|e| e.kind.clone())
                        .unwrap_or_default(),
                    code: error.and_then(|e| e.code).unwrap_or_default(),
                });
            }
            last = format!("answered {status}");
        }
        Err(StripeError::Unavailable(last))
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("the Stripe-Signature timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature in Stripe-Signature matches")]
    Mismatch,
}

/// Verifies a `Stripe-Signature` header (`t=…,v1=…[,v1=…][,v0=…]`) over the raw body: an
/// HMAC-SHA256, keyed with the endpoint's signing secret, of `"{t}.{body}"`, compared in
/// constant time against every `v1` (there are several while a secret is being rolled). The
/// timestamp must be within `tolerance` seconds of `now` either way, so a captured request
/// cannot be replayed later. The distance is computed without overflow: a timestamp near
/// `i64::MIN` or `i64::MAX` is merely stale, never a panic.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    use hmac::{Hmac, Mac};
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_unix.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mac = {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| SignatureError::Malformed)?;
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    };
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs a payload the way Stripe does; for tests and for `berth`'s own tooling.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signature_is_checked_against_every_v1_and_the_clock() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let now = 1_700_000_000;
        let good = sign(SECRET, now, body);
        let header = format!("t={now},v1={good}");
        assert_eq!(verify_signature(SECRET, &header, body, now, 300), Ok(()));
        // Secret rotation: the valid signature may come second, after one from the old secret.
        let rotated = format!(
            "t={now},v1={},v1={good},v0=abc",
            sign("whsec_old", now, body)
        );
        assert_eq!(verify_signature(SECRET, &rotated, body, now, 300), Ok(()));
        assert_eq!(
            verify_signature(SECRET, &header, body, now + 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(SECRET, &header, body, now - 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(SECRET, &header, b"{\"id\":\"evt_2\"}", now, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_other", &header, body, now, 300),
            Err(SignatureError::Mismatch)
        );
        // A signature over a different timestamp does not verify with this one.
        let moved = format!("t={},v1={good}", now + 1);
        assert_eq!(
            verify_signature(SECRET, &moved, body, now, 300),
            Err(SignatureError::Mismatch)
        );
        for malformed in ["", "t=abc,v1=00", &format!("t={now}"), "v1=00", "garbage"] {
            assert_eq!(
                verify_signature(SECRET, malformed, body, now, 300),
                Err(SignatureError::Malformed),
                "{malformed:?}"
            );
        }
        assert_eq!(
            verify_signature(SECRET, &format!("t={now},v1=zz"), body, now, 300),
            Err(SignatureError::Mismatch)
        );
    }

    /// `now - t` overflows for a timestamp far enough from now; such a header must be stale,
    /// whether or not its signature is valid, and never panic (a panic would be a 500).
    #[test]
    fn timestamps_at_the_ends_of_i64_are_stale_not_an_overflow() {
        let body = br#"{"id":"evt_1"}"#;
        for now in [0, 1_700_000_000, i64::MAX, i64::MIN, -1] {
            for timestamp in [
                i64::MIN,
                i64::MIN + 1,
                i64::MAX,
                i64::MAX - 1,
                -1_700_000_000,
            ] {
                if now.abs_diff(timestamp) <= 300 {
                    continue;
                }
                let header = format!("t={timestamp},v1={}", sign(SECRET, timestamp, body));
                assert_eq!(
                    verify_signature(SECRET, &header, body, now, 300),
                    Err(SignatureError::Stale),
                    "now {now}, t {timestamp}"
                );
            }
        }
        // At the very ends, a timestamp within the tolerance still verifies.
        let header = format!("t={},v1={}", i64::MAX, sign(SECRET, i64::MAX, body));
        assert_eq!(
            verify_signature(SECRET, &header, body, i64::MAX - 300, 300),
            Ok(())
        );
        let header = format!("t={},v1={}", i64::MIN, sign(SECRET, i64::MIN, body));
        assert_eq!(
            verify_signature(SECRET, &header, body, i64::MIN + 300, 300),
            Ok(())
        );
        // An out-of-range number is not a timestamp at all.
        let header = format!("t=9223372036854775808,v1={}", sign(SECRET, 0, body));
        assert_eq!(
            verify_signature(SECRET, &header, body, 0, 300),
            Err(SignatureError::Malformed)
        );
    }

    /// Computed independently with Python's `hmac` module:
    /// `hmac.new(b"whsec_test_secret", b"1700000000." + body, hashlib.sha256).hexdigest()`.
    #[test]
    fn signatures_match_an_independent_implementation() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        assert_eq!(
            sign(SECRET, 1_700_000_000, body),
            "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"
        );
    }

    #[test]
    fn secret_keys_are_checked_for_shape_and_mode() {
        assert_eq!(key_mode("sk_test_4eC39HqLyjWDarjtT1zdp7dc"), Ok("test"));
        assert_eq!(key_mode("rk_live_51H8abcdefghijklmnop"), Ok("live"));
        for bad in [
            "",
            "pk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "sk_test_short",
            "sk_test_has space in it!!",
        ] {
            assert!(key_mode(bad).is_err(), "{bad:?}");
        }
        // The error never repeats the key.
        let error = key_mode("sk_test_x y").unwrap_err();
        assert!(!error.contains("x y"));
    }
}
