//! A fake Stripe API on a real local port, speaking Stripe's wire format: form-encoded requests
//! with bearer auth, JSON objects and `{"error": {...}}` bodies, and `Idempotency-Key` semantics
//! (the same key with the same parameters returns the first object, marked
//! `Idempotent-Replayed: true`; with other parameters, 400 `idempotency_error`). It can be told
//! to fail, to answer 500 once, to do the work and then not answer in time, or to answer late.
//! Also signs webhook events the way Stripe does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub const SECRET_KEY: &str = "sk_test_51FakeKeyForBerthTests0000";
pub const WEBHOOK_SECRET: &str = "whsec_berthtestsigningsecret";

/// What the next requests meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Every request fails with this status, without doing anything.
    Fail(u16),
    /// The next request answers 500 without doing anything; then normal.
    Fail500Once,
    /// The next `n` requests do the work, then never answer (the client times out).
    TimeoutAfterWork(u32),
    /// Requests do the work, then answer after this many milliseconds.
    SlowAnswer(u64),
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub authorization: String,
    pub idempotency_key: String,
    pub form: Vec<(String, String)>,
}

/// What a key answered first: its parameters, status and body.
type StoredAnswer = (Vec<(String, String)>, u16, String);

#[derive(Default)]
struct State {
    mode: Option<Mode>,
    requests: Vec<Recorded>,
    /// Answers by account and idempotency key: Stripe keeps keys per account.
    keys: HashMap<(String, String), StoredAnswer>,
    intents: Vec<Value>,
    refunds: Vec<Value>,
    /// The secret keys Stripe knows, beyond [`SECRET_KEY`]: one account each.
    accounts: Vec<String>,
    /// The account (its secret key) each intent and refund was made under, by object id.
    owners: HashMap<String, String>,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeStripe {
            base: format!("http://{}", listener.local_addr().unwrap()),
            state: Arc::default(),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.serve(stream).await;
                });
            }
        });
        fake
    }

    /// Makes `secret_key` the key of another Stripe account (an operator's own); requests with
    /// a key Stripe does not know are refused 401 as Stripe does.
    pub fn add_account(&self, secret_key: &str) {
        self.state
            .lock()
            .unwrap()
            .accounts
            .push(secret_key.to_owned());
    }

    /// The secret key of the account an intent or refund was made under.
    pub fn account_of(&self, object_id: &str) -> Option<String> {
        self.state.lock().unwrap().owners.get(object_id).cloned()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = Some(mode);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn intents(&self) -> Vec<Value> {
        self.state.lock().unwrap().intents.clone()
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.state.lock().unwrap().refunds.clone()
    }

    /// A refund made in the Stripe dashboard (no berth metadata); returns its id.
    pub fn dashboard_refund(&self, intent: &Value, amount: i64) -> String {
        let mut state = self.state.lock().unwrap();
        let id = format!("re_dash{:06}", state.refunds.len() + 1);
        state
            .refunds
            .push(json!({"id": id, "object": "refund", "amount": amount,
            "currency": intent["currency"], "payment_intent": intent["id"], "status": "succeeded",
            "metadata": {}}));
        id
    }

    /// The PaymentIntent made for a booking reference.
    pub fn intent_for(&self, reference: &str) -> Option<Value> {
        self.intents()
            .into_iter()
            .find(|pi| pi["metadata"]["booking_reference"] == reference)
    }

    async fn serve(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream);
        let request = super::fake_twilio::read_request(&mut reader).await?;
        let (path, query) = request
            .path
            .split_once('?')
            .unwrap_or((request.path.as_str(), ""));
        // GET parameters come in the query, POST parameters in the form body.
        let form = if request.method == "GET" {
            super::fake_twilio::form_urlencoded(query)
        } else {
            super::fake_twilio::form_urlencoded(&String::from_utf8_lossy(&request.body))
        };
        let (path, authorization, idempotency_key) = (
            format!("{} {path}", request.method),
            request.header("authorization"),
            request.header("idempotency-key"),
        );
        let (status, json, replayed, delay) =
            self.answer(&path, &authorization, &idempotency_key, form);
        match delay {
            Some(None) => {
                // Did the work; never answers (well past any client timeout).
                tokio::time::sleep(Duration::from_secs(30)).await;
                return Ok(());
            }
            Some(Some(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
            None => {}
        }
        let replayed = if replayed {
            "Idempotent-Replayed: true\r\n"
        } else {
            ""
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nRequest-Id: req_fake\r\n{replayed}Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        );
        reader.get_mut().write_all(response.as_bytes()).await
    }

    /// Status, body, whether replayed, and the delay: `Some(None)` never answers.
    fn answer(
        &self,
        path: &str,
        authorization: &str,
        key: &str,
        form: Vec<(String, String)>,
    ) -> (u16, String, bool, Option<Option<u64>>) {
        let mut state = self.state.lock().unwrap();
        state.requests.push(Recorded {
            path: path.to_owned(),
            authorization: authorization.to_owned(),
            idempotency_key: key.to_owned(),
            form: form.clone(),
        });
        let mode = state.mode.unwrap_or(Mode::Normal);
        match mode {
            Mode::Fail(status) => return (status, error_body(status), false, None),
            Mode::Fail500Once => {
                state.mode = Some(Mode::Normal);
                return (500, error_body(500), false, None);
            }
            _ => {}
        }
        let delay = match mode {
            Mode::TimeoutAfterWork(n) => {
                state.mode = Some(if n > 1 {
                    Mode::TimeoutAfterWork(n - 1)
                } else {
                    Mode::Normal
                });
                Some(None)
            }
            Mode::SlowAnswer(ms) => Some(Some(ms)),
            _ => None,
        };
        let account = authorization
            .strip_prefix("Bearer ")
            .unwrap_or_default()
            .to_owned();
        if account != SECRET_KEY && !state.accounts.contains(&account) {
            return (401, json!({"error": {"type": "invalid_request_error", "code": "api_key_invalid", "message": "Invalid API Key provided"}}).to_string(), false, delay);
        }
        // Another account's objects do not exist for this key.
        let owned =
            |state: &State, id: &str| state.owners.get(id).is_none_or(|owner| *owner == account);
        let stored_key = (account.clone(), key.to_owned());
        if !key.is_empty() {
            if let Some((params, status, body)) = state.keys.get(&stored_key) {
                if *params == form {
                    return (*status, body.clone(), true, delay);
                }
                return (400, json!({"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}}).to_string(), false, delay);
            }
        }
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let (status, body) = match path {
            "POST /v1/payment_intents" => {
                let amount: i64 = field("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
                let currency = field("currency").unwrap_or_default();
                if amount <= 0 || currency.len() != 3 || currency != currency.to_lowercase() {
                    (400, json!({"error": {"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "amount", "message": "Invalid amount or currency"}}).to_string())
                } else {
                    let n = state.intents.len() + 1;
                    let id = format!("pi_fake{n:06}");
                    let metadata: serde_json::Map<String, Value> = form
                        .iter()
                        .filter_map(|(k, v)| {
                            k.strip_prefix("metadata[")
                                .and_then(|k| k.strip_suffix(']'))
                                .map(|k| (k.to_owned(), Value::String(v.clone())))
                        })
                        .collect();
                    let intent = json!({
                        "id": id, "object": "payment_intent", "amount": amount, "amount_received": 0,
                        "currency": currency, "status": "requires_payment_method",
                        "client_secret": format!("{id}_secret_fake{n:04}"), "livemode": false,
                        "automatic_payment_methods": {"enabled": field("automatic_payment_methods[enabled]").as_deref() == Some("true")},
                        "metadata": metadata, "created": 1_700_000_000,
                    });
                    state.intents.push(intent.clone());
                    state.owners.insert(id, account.clone());
                    (200, intent.to_string())
                }
            }
            "GET /v1/refunds" => {
                let intent = field("payment_intent").unwrap_or_default();
                let data: Vec<Value> = state
                    .refunds
                    .iter()
                    .filter(|r| r["payment_intent"] == intent.as_str())
                    .filter(|r| owned(&state, r["id"].as_str().unwrap_or_default()))
                    .cloned()
                    .collect();
                (200, json!({"object": "list", "data": data, "has_more": false, "url": "/v1/refunds"}).to_string())
            }
            "POST /v1/refunds" => {
                let intent = field("payment_intent").unwrap_or_default();
                let amount: i64 = field("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
                let known = state
                    .intents
                    .iter()
                    .find(|pi| pi["id"] == intent.as_str())
                    .filter(|_| owned(&state, &intent))
                    .cloned();
                let refunded: i64 = state
                    .refunds
                    .iter()
                    .filter(|r| r["payment_intent"] == intent.as_str())
                    .map(|r| r["amount"].as_i64().unwrap_or(0))
                    .sum();
                match known {
                    None => (404, json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent"}}).to_string()),
                    Some(pi) if amount <= 0 || refunded + amount > pi["amount"].as_i64().unwrap_or(0) => (400, json!({"error": {"type": "invalid_request_error", "code": "amount_too_large", "message": "Refund amount is greater than unrefunded amount on charge"}}).to_string()),
                    Some(pi) => {
                        let n = state.refunds.len() + 1;
                        let refund = json!({"id": format!("re_fake{n:06}"), "object": "refund", "amount": amount,
                            "currency": pi["currency"], "payment_intent": intent, "status": "succeeded",
                            "metadata": {"refund_id": field("metadata[refund_id]")}});
                        state.refunds.push(refund.clone());
                        state.owners.insert(format!("re_fake{n:06}"), account.clone());
                        (200, refund.to_string())
                    }
                }
            }
            "GET /v1/account" => {
                let n = state.accounts.iter().position(|a| *a == account).map_or(0, |i| i + 1);
                (200, json!({"id": format!("acct_fake{n:04}"), "object": "account"}).to_string())
            }
            _ => (404, json!({"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}).to_string()),
        };
        if !key.is_empty() && status < 500 {
            state.keys.insert(stored_key, (form, status, body.clone()));
        }
        (status, body, false, delay)
    }
}

fn error_body(status: u16) -> String {
    let kind = if status >= 500 {
        "api_error"
    } else {
        "invalid_request_error"
    };
    json!({"error": {"type": kind, "message": format!("fake failure {status}")}}).to_string()
}

/// A webhook event of `kind` about `object`, as Stripe sends it.
pub fn event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "api_version": "2024-06-20", "created": 1_700_000_000,
           "type": kind, "livemode": false, "data": {"object": object}})
    .to_string()
}

/// `payment_intent.succeeded` for an intent (the object as Stripe has it after payment).
pub fn succeeded(id: &str, intent: &Value) -> String {
    let mut object = intent.clone();
    object["status"] = json!("succeeded");
    object["amount_received"] = intent["amount"].clone();
    event(id, "payment_intent.succeeded", object)
}

/// The `Stripe-Signature` header for `body` at unix time `at`, signed with `secret`.
pub fn signature(secret: &str, at: i64, body: &str) -> String {
    format!(
        "t={at},v1={}",
        berth::integrations::stripe::sign(secret, at, body.as_bytes())
    )
}
