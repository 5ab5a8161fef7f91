//! The berth HTTP API as the load tool sees it: one `reqwest` client, the calls the scenarios
//! and the verifier make, and every response reduced to status, error code and body.

use std::time::{Duration, Instant};

use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;

/// A response that arrived: its status, the berth error `code` when there is one, and the body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub code: Option<String>,
    pub body: Value,
    /// `Idempotent-Replayed: true`: berth replayed a stored response.
    pub replayed: bool,
}

impl Reply {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.body.get(key).and_then(Value::as_u64)
    }

    /// `status code` or `status` alone, for error messages.
    pub fn describe(&self) -> String {
        match &self.code {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// A request that got no response: the outcome on the server is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportError {
    Timeout,
    Connect,
    /// The connection broke mid-request or the body could not be read.
    Io,
}

impl TransportError {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportError::Timeout => "timeout",
            TransportError::Connect => "connect",
            TransportError::Io => "io",
        }
    }
}

pub type Outcome = Result<Reply, TransportError>;

/// The client for one berth deployment.
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// `pool` is how many idle connections to keep (the scenario's concurrency).
    pub fn new(
        target: &str,
        token: Option<String>,
        timeout: Duration,
        pool: usize,
    ) -> Result<Api, String> {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(pool.max(1))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let base = target.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") {
            return Err(format!(
                "--target must be an http:// URL (this build has no TLS): {base}"
            ));
        }
        Ok(Api {
            client,
            base,
            token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    fn operator(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.request(method, path);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and reads the whole body; returns the outcome and the latency.
    pub async fn send(request: RequestBuilder) -> (Outcome, Duration) {
        let started = Instant::now();
        let outcome = async {
            let response = request.send().await.map_err(classify)?;
            let status = response.status().as_u16();
            let replayed = response
                .headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            let bytes = response.bytes().await.map_err(classify)?;
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = body["error"]["code"].as_str().map(str::to_owned);
            Ok(Reply {
                status,
                code,
                body,
                replayed,
            })
        }
        .await;
        (outcome, started.elapsed())
    }

    /// A GET of any path (the HTTP ceiling: `/health`).
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// A GET of any path as the operator (the reports, the booking search).
    pub fn operator_get(&self, path: &str) -> RequestBuilder {
        self.operator(Method::GET, path)
    }

    pub fn hold(&self, body: &Value) -> RequestBuilder {
        self.request(Method::POST, "/v1/bookings").json(body)
    }

    pub fn confirm(&self, reference: &str, access_token: &str) -> RequestBuilder {
        self.request(Method::POST, &format!("/v1/bookings/{reference}/confirm"))
            .header("X-Booking-Token", access_token)
    }

    pub fn cancel(&self, reference: &str, access_token: &str) -> RequestBuilder {
        self.request(Method::POST, &format!("/v1/bookings/{reference}/cancel"))
            .header("X-Booking-Token", access_token)
    }

    pub fn departure(&self, id: &str) -> RequestBuilder {
        self.request(Method::GET, &format!("/v1/departures/{id}"))
    }

    pub fn availability(&self, tour: &str) -> RequestBuilder {
        self.request(Method::GET, &format!("/v1/tours/{tour}/availability"))
    }

    /// A booking as its operator sees it (works for any booking on the operator's tours).
    pub fn booking_as_operator(&self, reference: &str) -> RequestBuilder {
        self.operator(Method::GET, &format!("/v1/bookings/{reference}"))
    }

    pub fn manifest(&self, departure: &str) -> RequestBuilder {
        self.operator(Method::GET, &format!("/v1/departures/{departure}/manifest"))
    }

    pub fn create_tour(&self, body: &Value) -> RequestBuilder {
        self.operator(Method::POST, "/v1/tours").json(body)
    }

    pub fn create_departure(&self, tour: &str, body: &Value) -> RequestBuilder {
        self.operator(Method::POST, &format!("/v1/tours/{tour}/departures"))
            .json(body)
    }

    /// Sends a request that must answer `expected`; anything else is an error naming `what`.
    pub async fn expect(
        request: RequestBuilder,
        expected: u16,
        what: &str,
    ) -> Result<Reply, String> {
        match Self::send(request).await.0 {
            Ok(reply) if reply.status == expected => Ok(reply),
            Ok(reply) => Err(format!(
                "{what}: expected {expected}, got {}: {}",
                reply.describe(),
                truncate(&reply.body.to_string(), 300)
            )),
            Err(error) => Err(format!("{what}: no response ({})", error.as_str())),
        }
    }
}

fn classify(error: reqwest::Error) -> TransportError {
    if error.is_timeout() {
        TransportError::Timeout
    } else if error.is_connect() {
        TransportError::Connect
    } else {
        TransportError::Io
    }
}

pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
