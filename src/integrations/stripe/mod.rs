//! Stripe as berth's payment provider (`StripeProvider`, the `PaymentProvider` of
//! `integrations::payments`): its REST API through reqwest (form-encoded requests, bearer auth,
//! JSON answers), the verification of its webhook signatures, and its events read into berth's.
//! No domain decisions here.
//!
//! Every call that creates something carries an `Idempotency-Key` chosen by the caller and
//! derived from berth's own ids, and is retried with that same key on network errors, 5xx, 429
//! and 409 (a concurrent request with the same key): Stripe answers a repeated key with the
//! object the first request created, so no retry can charge or refund twice.

mod provider;
mod signature;

use std::collections::HashMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::payments::NewPayment;
use crate::secrets::Secret;

pub use provider::{StripeConnector, StripeProvider};
pub use signature::{sign, verify_signature, SignatureError};

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

#[cfg(test)]
mod tests {
    use super::*;

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
