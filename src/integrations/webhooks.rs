//! Outbound webhook HTTP: one POST per attempt, to a URL whose every address the target policy
//! permits (`domain::webhook::TargetPolicy`). The address is checked when an endpoint is saved
//! and again at each send, inside the connection's own DNS resolution, so a name that later
//! resolves to an internal address (DNS rebinding) is refused at connect time. Redirects are not
//! followed, proxies from the environment are not used (they would connect on berth's behalf
//! to an address never checked), and at most a short, scrubbed excerpt of a response is kept.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::webhook::TargetPolicy;

/// How much of a response body is read, and how much of it is kept in the log.
const BODY_READ_LIMIT: usize = 1024;
const EXCERPT_CHARS: usize = 200;
/// How long a name may take to resolve before the attempt fails.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// One attempt's outcome, as the delivery log records it.
#[derive(Debug, Clone)]
pub struct Attempted {
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed; `None` for a 2xx.
    pub error: Option<String>,
    pub excerpt: Option<String>,
}

impl Attempted {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// The HTTP client webhooks are sent with.
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<TargetPolicy>,
}

impl WebhookClient {
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Result<WebhookClient, String> {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .user_agent(concat!("berth-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(WebhookClient { http, policy })
    }

    pub fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// Checks an endpoint URL: its form, and that every address its host resolves to now is
    /// permitted. The error is the reason, fit to show the operator.
    pub async fn check_target(&self, url: &str) -> Result<url::Url, String> {
        let parsed = self.policy.check_url(url)?;
        let (host, addresses) = resolve(&parsed).await?;
        for address in addresses {
            self.policy.permits(&host, address.ip())?;
        }
        Ok(parsed)
    }

    /// POSTs `body` with `headers`; only a 2xx answer within the timeout succeeds.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: String) -> Attempted {
        let started = Instant::now();
        let failed = |error: String| Attempted {
            status: None,
            latency_ms: elapsed_ms(started),
            error: Some(crate::integrations::scrub(&error)),
            excerpt: None,
        };
        // The form again (a URL saved before a policy change), and IP literals, which reqwest
        // connects to without asking the resolver.
        let parsed = match self.policy.check_url(url) {
            Ok(parsed) => parsed,
            Err(why) => return failed(format!("refused: the URL {why}")),
        };
        match resolve(&parsed).await {
            Ok((host, addresses)) => {
                if !addresses
                    .iter()
                    .any(|a| self.policy.permits(&host, a.ip()).is_ok())
                {
                    let why = addresses
                        .first()
                        .and_then(|a| self.policy.permits(&host, a.ip()).err())
                        .unwrap_or_else(|| format!("{host} did not resolve"));
                    return failed(format!("refused: {why}"));
                }
            }
            Err(why) => return failed(why),
        }
        let mut request = self.http.post(parsed).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(describe(&error)),
        };
        let status = response.status();
        let mut read = Vec::new();
        while read.len() < BODY_READ_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => read.extend_from_slice(&chunk),
                _ => break,
            }
        }
        read.truncate(BODY_READ_LIMIT);
        let text: String = String::from_utf8_lossy(&read)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let excerpt: String = crate::integrations::scrub(text.trim())
            .chars()
            .take(EXCERPT_CHARS)
            .collect();
        let error = if status.is_success() {
            None
        } else if status.is_redirection() {
            Some(format!(
                "HTTP {}: redirects are not followed",
                status.as_u16()
            ))
        } else {
            Some(format!("HTTP {}", status.as_u16()))
        };
        Attempted {
            status: Some(status.as_u16()),
            latency_ms: elapsed_ms(started),
            error,
            excerpt: (!excerpt.is_empty()).then_some(excerpt),
        }
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        // The resolver's refusal, when that is why, is in the source chain.
        let mut cause = std::error::Error::source(error);
        while let Some(inner) = cause {
            let text = inner.to_string();
            if text.starts_with("refused:") {
                return text;
            }
            cause = inner.source();
        }
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

/// The URL's host and the addresses it resolves to (an IP literal is its own).
async fn resolve(url: &url::Url) -> Result<(String, Vec<SocketAddr>), String> {
    let port = url.port_or_known_default().unwrap_or(443);
    match url.host() {
        Some(url::Host::Ipv4(ip)) => Ok((ip.to_string(), vec![SocketAddr::new(ip.into(), port)])),
        Some(url::Host::Ipv6(ip)) => Ok((ip.to_string(), vec![SocketAddr::new(ip.into(), port)])),
        Some(url::Host::Domain(host)) => {
            let lookup = tokio::net::lookup_host((host, port));
            let addresses: Vec<SocketAddr> = tokio::time::timeout(DNS_TIMEOUT, lookup)
                .await
                .map_err(|_| format!("{host} did not resolve in time"))?
                .map_err(|_| format!("{host} does not resolve"))?
                .collect();
            if addresses.is_empty() {
                return Err(format!("{host} does not resolve"));
            }
            Ok((host.to_owned(), addresses))
        }
        None => Err("the URL names no host".to_owned()),
    }
}

/// Resolves names for the webhook client, keeping only permitted addresses: what was checked
/// is what is connected to.
struct GuardedResolver {
    policy: Arc<TargetPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let permitted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.permits(&host, a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal.get_or_insert(why);
                        false
                    }
                })
                .collect();
            if permitted.is_empty() {
                let why = refusal.unwrap_or_else(|| format!("{host} does not resolve"));
                return Err(std::io::Error::other(format!("refused: {why}")).into());
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}
