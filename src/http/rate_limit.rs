//! Rate limits per client IP and per bearer token, in four buckets: sign-in (`/v1/auth/*`,
//! strict), booking creation, other writes, and reads. Over the limit: 429 with `Retry-After`. Limits live in this process: with
//! several instances behind a load balancer, each enforces its own (use the balancer or a shared
//! limiter in front for a global limit).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rocket::http::{Method, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

/// The limiters, built from `BERTH_RATE_LIMITS`.
pub struct RateLimits {
    auth: Option<DefaultKeyedRateLimiter<String>>,
    bookings: Option<DefaultKeyedRateLimiter<String>>,
    writes: Option<DefaultKeyedRateLimiter<String>>,
    reads: Option<DefaultKeyedRateLimiter<String>>,
    trusted_proxies: Vec<IpAddr>,
}

/// Parses `N/s`, `N/min` or `N/hour`.
fn quota(text: &str) -> Result<Quota, String> {
    let (count, per) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not N/s, N/min or N/hour"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: the count must be a positive number"))?;
    let count =
        NonZeroU32::new(count).ok_or_else(|| format!("{text:?}: the count must be positive"))?;
    Ok(match per.trim() {
        "s" | "sec" | "second" => Quota::per_second(count),
        "min" | "minute" => Quota::per_minute(count),
        "h" | "hour" => Quota::per_hour(count),
        _ => return Err(format!("{text:?}: the period must be s, min or hour")),
    })
}

impl RateLimits {
    /// `off`, or a list such as `auth=10/min,bookings=30/min,writes=300/min,reads=1200/min` (a
    /// bucket left out is unlimited). `auth` covers login, refresh and logout.
    pub fn parse(spec: &str, trusted_proxies: &str) -> Result<RateLimits, String> {
        let mut limits = RateLimits {
            auth: None,
            bookings: None,
            writes: None,
            reads: None,
            trusted_proxies: Vec::new(),
        };
        for proxy in trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let ip = proxy
                .parse()
                .map_err(|_| format!("BERTH_TRUSTED_PROXIES: {proxy:?} is not an IP address"))?;
            limits.trusted_proxies.push(ip);
        }
        let spec = spec.trim();
        if spec.is_empty() || spec == "off" {
            return Ok(limits);
        }
        for part in spec.split(',') {
            let (bucket, value) = part
                .split_once('=')
                .ok_or_else(|| format!("BERTH_RATE_LIMITS: {part:?} is not bucket=N/period"))?;
            let limiter = Some(RateLimiter::keyed(
                quota(value).map_err(|e| format!("BERTH_RATE_LIMITS: {e}"))?,
            ));
            match bucket.trim() {
                "auth" => limits.auth = limiter,
                "bookings" => limits.bookings = limiter,
                "writes" => limits.writes = limiter,
                "reads" => limits.reads = limiter,
                other => {
                    return Err(format!(
                    "BERTH_RATE_LIMITS: unknown bucket {other:?} (auth, bookings, writes, reads)"
                ))
                }
            }
        }
        Ok(limits)
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the last address in
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client(&self, request: &Request<'_>) -> Option<IpAddr> {
        let peer = request.remote().map(|addr| addr.ip())?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = request
            .headers()
            .get("X-Forwarded-For")
            .flat_map(|v| v.split(','));
        let chain: Vec<IpAddr> = forwarded.filter_map(|ip| ip.trim().parse().ok()).collect();
        Some(
            chain
                .into_iter()
                .rev()
                .find(|ip| !self.trusted_proxies.contains(ip))
                .unwrap_or(peer),
        )
    }

    /// `Err(wait)` when this request is over a limit.
    fn check(&self, request: &Request<'_>) -> Result<(), Duration> {
        // Classified by the route that matched, not by the raw path: Rocket routes
        // `/v1//auth/login` and `/v1/%61uth/login` to the login handler too, and those must
        // not escape the strict bucket. (This guard runs after routing; the raw path is only
        // a fallback for catchers.)
        let route = request
            .route()
            .map(|route| route.uri.path().to_string())
            .unwrap_or_else(|| request.uri().path().to_string());
        // Provider callbacks are verified by signature and come from few addresses (or one,
        // behind a proxy): throttling them would delay payment confirmations until holds lapse.
        if route.starts_with("/v1/webhooks/") {
            return Ok(());
        }
        let limiter = if route.starts_with("/v1/auth/") {
            &self.auth
        } else if request.method() == Method::Get || request.method() == Method::Head {
            &self.reads
        } else if request.method() == Method::Post && route == "/v1/bookings" {
            &self.bookings
        } else {
            &self.writes
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        let mut keys = Vec::with_capacity(2);
        if let Some(ip) = self.client(request) {
            keys.push(format!("ip:{ip}"));
        }
        if let Some(token) = request
            .headers()
            .get_one("Authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            keys.push(format!(
                "token:{}",
                crate::secrets::hash_token(token.trim())
            ));
        }
        for key in keys {
            if let Err(not_until) = limiter.check_key(&key) {
                return Err(not_until.wait_time_from(DefaultClock::default().now()));
            }
        }
        Ok(())
    }
}

/// Seconds to wait, for the 429 catcher's `Retry-After`.
#[derive(Clone, Copy)]
pub struct RetryAfter(pub u64);

/// A request guard every route takes first: over the limit, the request fails with 429 before
/// any other guard or the body is looked at.
pub struct RateLimited;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RateLimited {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let Some(limits) = request.rocket().state::<RateLimits>() else {
            return Outcome::Success(RateLimited);
        };
        match limits.check(request) {
            Ok(()) => Outcome::Success(RateLimited),
            Err(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                request.local_cache(|| RetryAfter(seconds.max(1)));
                Outcome::Error((Status::TooManyRequests, ()))
            }
        }
    }
}

/// The client's address as rate limits see it (behind trusted proxies: from `X-Forwarded-For`).
pub struct ClientIp(pub Option<IpAddr>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let ip = match request.rocket().state::<RateLimits>() {
            Some(limits) => limits.client(request),
            None => request.remote().map(|addr| addr.ip()),
        };
        Outcome::Success(ClientIp(ip))
    }
}
