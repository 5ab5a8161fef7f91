//! Rate limits per client address and per bearer token, in four buckets: sign-in (`/v1/auth/*`
//! and the console's `/console/sign-in*`, strict), booking creation, other writes, and reads. Over the limit: 429 with `Retry-After`.
//! Limits live in this process: with several instances behind a load balancer, each enforces its
//! own (use the balancer or a shared limiter in front for a global limit).
//!
//! How clients are told apart ([`ClientAddresses`]): the peer's address, or behind a trusted
//! proxy the address it forwarded; IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a listener
//! on `::` sees) count as the IPv4 address; IPv6 clients count per network (`/64` by default),
//! since one subscriber usually holds a whole /64 to rotate through.
//!
//! Memory: a key is dropped once its allowance is whole again (it is then indistinguishable from
//! a newcomer), and a bucket holds at most [`MAX_KEYS`] keys. When a flood of distinct keys
//! fills it, new keys share one allowance until old ones lapse, so clients already known keep
//! theirs and the flood gains nothing by inventing keys.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::http::{Method, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;
use sha2::{Digest, Sha256};

/// The most keys one bucket tracks (about 50 bytes each).
pub const MAX_KEYS: usize = 100_000;

/// How often a bucket drops the keys whose allowance is whole again.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// A full bucket sweeps at most this often, so a flood of new keys cannot make every request
/// scan the table.
const FULL_SWEEP_GAP: Duration = Duration::from_secs(1);

/// What a bucket counts requests under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A client address (IPv6: its network), see [`ClientAddresses::key`].
    Address(IpAddr),
    /// A bearer token, by the first 16 bytes of its SHA-256 (the token itself is not kept).
    Token([u8; 16]),
    /// Every key that arrives while the bucket is full.
    Newcomers,
}

impl Key {
    pub fn token(token: &str) -> Key {
        let digest = Sha256::digest(token.as_bytes());
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&digest[..16]);
        Key::Token(prefix)
    }
}

/// One bucket: `count` requests per `period` per key, with bursts of up to `count`. A GCRA
/// ("generic cell rate algorithm"): each key stores only the instant its allowance is whole
/// again, advanced by `period / count` per request.
pub struct Limiter {
    interval: Duration,
    burst: Duration,
    max_keys: usize,
    table: Mutex<Table>,
}

struct Table {
    whole_at: HashMap<Key, Instant>,
    swept_at: Instant,
}

impl Table {
    fn sweep(&mut self, now: Instant) {
        self.whole_at.retain(|_, whole_at| *whole_at > now);
        self.swept_at = now;
    }
}

impl Limiter {
    pub fn new(count: NonZeroU32, period: Duration, max_keys: usize) -> Limiter {
        let interval = period / count.get();
        Limiter {
            interval,
            burst: interval * (count.get() - 1),
            max_keys,
            table: Mutex::new(Table {
                whole_at: HashMap::new(),
                swept_at: Instant::now(),
            }),
        }
    }

    /// Counts one request of `key` at `now`; `Err(wait)` when it is over the limit.
    pub fn check(&self, key: Key, now: Instant) -> Result<(), Duration> {
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.saturating_duration_since(table.swept_at) >= SWEEP_EVERY {
            table.sweep(now);
        }
        let mut key = key;
        if !table.whole_at.contains_key(&key) && table.whole_at.len() >= self.max_keys {
            if now.saturating_duration_since(table.swept_at) >= FULL_SWEEP_GAP {
                table.sweep(now);
            }
            if table.whole_at.len() >= self.max_keys {
                key = Key::Newcomers;
            }
        }
        let whole_at = table
            .whole_at
            .get(&key)
            .map_or(now, |&whole_at| whole_at.max(now));
        let ahead = whole_at - now;
        if ahead > self.burst {
            return Err(ahead - self.burst);
        }
        table.whole_at.insert(key, whole_at + self.interval);
        Ok(())
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .whole_at
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Parses `N/s`, `N/min` or `N/hour` into (count, period).
fn quota(text: &str) -> Result<(NonZeroU32, Duration), String> {
    let (count, per) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not N/s, N/min or N/hour"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: the count must be a positive number"))?;
    let count =
        NonZeroU32::new(count).ok_or_else(|| format!("{text:?}: the count must be positive"))?;
    let period = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(format!("{text:?}: the period must be s, min or hour")),
    };
    Ok((count, period))
}

/// Who the client is: the trusted proxies whose `X-Forwarded-For` is believed, and the IPv6
/// prefix length per-address limits group by.
#[derive(Debug, Clone)]
pub struct ClientAddresses {
    trusted_proxies: Vec<IpAddr>,
    ipv6_prefix: u8,
}

impl ClientAddresses {
    /// `trusted_proxies`: comma-separated IP addresses (`BERTH_TRUSTED_PROXIES`).
    pub fn parse(trusted_proxies: &str, ipv6_prefix: u8) -> Result<ClientAddresses, String> {
        let mut proxies = Vec::new();
        for proxy in trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let ip: IpAddr = proxy
                .parse()
                .map_err(|_| format!("BERTH_TRUSTED_PROXIES: {proxy:?} is not an IP address"))?;
            proxies.push(ip.to_canonical());
        }
        Ok(ClientAddresses {
            trusted_proxies: proxies,
            ipv6_prefix: ipv6_prefix.min(128),
        })
    }

    /// Whether `ip` is one of `BERTH_TRUSTED_PROXIES` (in either IPv4 form).
    pub fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.contains(&ip.to_canonical())
    }

    /// The client's address: the peer; or, when the peer is a trusted proxy, the last address in
    /// `X-Forwarded-For` (all its headers, in order, as `forwarded_for`) that is not itself a
    /// trusted proxy. An entry that is not an address ends the search at the proxy: what lies
    /// left of it was written by the client.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusted(peer) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')) {
            match entry.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !self.trusted(client) {
                        return client;
                    }
                }
                Err(_) => return client,
            }
        }
        client
    }

    /// What per-address limits count `ip` under: an IPv4 address itself, an IPv6 address's
    /// network (its first `ipv6_prefix` bits).
    pub fn key(&self, ip: IpAddr) -> IpAddr {
        match ip.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.ipv6_prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(bits & mask))
            }
        }
    }

    /// The per-address key of a request's client.
    pub fn of(&self, request: &Request<'_>) -> Option<IpAddr> {
        let peer = request.remote()?.ip();
        let forwarded: Vec<&str> = request.headers().get("X-Forwarded-For").collect();
        Some(self.key(self.client(peer, &forwarded)))
    }
}

/// The limiters, built from `BERTH_RATE_LIMITS`.
pub struct RateLimits {
    auth: Option<Limiter>,
    bookings: Option<Limiter>,
    writes: Option<Limiter>,
    reads: Option<Limiter>,
    octo: Option<Limiter>,
    clients: ClientAddresses,
}

impl RateLimits {
    /// `off`, or a list such as `auth=10/min,bookings=30/min,writes=300/min,reads=1200/min` (a
    /// bucket left out is unlimited). `auth` covers every `/v1/auth/*` route. An empty list is
    /// refused: turning limits off takes the word `off`.
    pub fn parse(spec: &str, clients: ClientAddresses) -> Result<RateLimits, String> {
        let mut limits = RateLimits {
            auth: None,
            bookings: None,
            writes: None,
            reads: None,
            octo: None,
            clients,
        };
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("off") {
            return Ok(limits);
        }
        if spec.is_empty() {
            return Err("BERTH_RATE_LIMITS is empty; write `off` to turn rate limits off".into());
        }
        for part in spec.split(',') {
            let (bucket, value) = part
                .split_once('=')
                .ok_or_else(|| format!("BERTH_RATE_LIMITS: {part:?} is not bucket=N/period"))?;
            let (count, period) = quota(value).map_err(|e| format!("BERTH_RATE_LIMITS: {e}"))?;
            let limiter = Some(Limiter::new(count, period, MAX_KEYS));
            match bucket.trim() {
                "auth" => limits.auth = limiter,
                "bookings" => limits.bookings = limiter,
                "writes" => limits.writes = limiter,
                "reads" => limits.reads = limiter,
                "octo" => limits.octo = limiter,
                other => {
                    return Err(format!(
                    "BERTH_RATE_LIMITS: unknown bucket {other:?} (auth, bookings, writes, reads, octo)"
                ))
                }
            }
        }
        Ok(limits)
    }

    /// The buckets without a limit.
    pub fn unlimited(&self) -> Vec<&'static str> {
        [
            ("auth", &self.auth),
            ("bookings", &self.bookings),
            ("writes", &self.writes),
            ("reads", &self.reads),
            ("octo", &self.octo),
        ]
        .into_iter()
        .filter(|(_, limiter)| limiter.is_none())
        .map(|(name, _)| name)
        .collect()
    }

    /// The per-address key of the request's client (see [`ClientAddresses`]).
    pub fn client(&self, request: &Request<'_>) -> Option<IpAddr> {
        self.clients.of(request)
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
        let limiter = match bucket(request.method(), &route) {
            None => return Ok(()),
            Some(Bucket::Auth) => &self.auth,
            Some(Bucket::Reads) => &self.reads,
            Some(Bucket::Bookings) => &self.bookings,
            Some(Bucket::Writes) => &self.writes,
            Some(Bucket::Octo) => &self.octo,
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        let now = Instant::now();
        if let Some(ip) = self.client(request) {
            limiter.check(Key::Address(ip), now)?;
        }
        let bearer = request
            .headers()
            .get_one("Authorization")
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
        if let Some((_, token)) = bearer {
            limiter.check(Key::token(token.trim()), now)?;
        }
        Ok(())
    }
}

/// The `BERTH_RATE_LIMITS` bucket a route counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Auth,
    Bookings,
    Writes,
    Reads,
    /// Resellers on the OCTO API (`/octo`): their own allowance, per key and address.
    Octo,
}

/// The bucket of a route (its mounted path, in Rocket's or OpenAPI's syntax), `None` when it is
/// never limited. Also what `/openapi.json` documents a 429 from.
pub fn bucket(method: Method, route: &str) -> Option<Bucket> {
    // Provider callbacks are verified by signature and come from few addresses (or one,
    // behind a proxy): throttling them would delay payment confirmations until holds lapse.
    if route.starts_with("/v1/webhooks/") {
        None
    } else if route == "/octo" || route.starts_with("/octo/") {
        Some(Bucket::Octo)
    } else if route.starts_with("/v1/auth/") || route.starts_with("/console/sign-in") {
        // The console's sign-in takes passwords and codes like `/v1/auth/*`: the same bucket.
        Some(Bucket::Auth)
    } else if method == Method::Get || method == Method::Head {
        Some(Bucket::Reads)
    } else if method == Method::Post && (route == "/v1/bookings" || route == "/book/<departure>") {
        // The booking page's form holds seats as `POST /v1/bookings` does: the same bucket.
        Some(Bucket::Bookings)
    } else {
        Some(Bucket::Writes)
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

/// The client as per-address limits count it (failed sign-ins too): its address, behind trusted
/// proxies from `X-Forwarded-For`, canonical, and for IPv6 its network (see [`ClientAddresses`]).
pub struct ClientIp(pub Option<IpAddr>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let ip = match request.rocket().state::<RateLimits>() {
            Some(limits) => limits.client(request),
            None => request.remote().map(|addr| addr.ip().to_canonical()),
        };
        Outcome::Success(ClientIp(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages that do what an API route does count in that route's bucket.
    #[test]
    fn pages_count_in_the_bucket_of_the_api_route_they_stand_for() {
        assert_eq!(bucket(Method::Post, "/v1/bookings"), Some(Bucket::Bookings));
        assert_eq!(
            bucket(Method::Post, "/book/<departure>"),
            Some(Bucket::Bookings)
        );
        assert_eq!(bucket(Method::Post, "/v1/auth/login"), Some(Bucket::Auth));
        assert_eq!(bucket(Method::Get, "/octo/products"), Some(Bucket::Octo));
        assert_eq!(
            bucket(Method::Post, "/octo/availability"),
            Some(Bucket::Octo)
        );
        assert_eq!(bucket(Method::Post, "/console/sign-in"), Some(Bucket::Auth));
        assert_eq!(
            bucket(Method::Post, "/console/sign-in/code"),
            Some(Bucket::Auth)
        );
        assert_eq!(
            bucket(Method::Get, "/book/<departure>"),
            Some(Bucket::Reads)
        );
        assert_eq!(bucket(Method::Post, "/v1/webhooks/stripe"), None);
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn per_minute(count: u32, max_keys: usize) -> Limiter {
        Limiter::new(
            NonZeroU32::new(count).unwrap(),
            Duration::from_secs(60),
            max_keys,
        )
    }

    #[test]
    fn a_key_gets_its_burst_then_one_request_per_interval() {
        let limiter = per_minute(3, 10);
        let start = Instant::now();
        let key = Key::Address(ip("203.0.113.7"));
        for _ in 0..3 {
            assert_eq!(limiter.check(key, start), Ok(()));
        }
        assert_eq!(limiter.check(key, start), Err(Duration::from_secs(20)));
        assert_eq!(
            limiter.check(key, start + Duration::from_secs(15)),
            Err(Duration::from_secs(5))
        );
        assert_eq!(limiter.check(key, start + Duration::from_secs(20)), Ok(()));
        let other = Key::Address(ip("203.0.113.8"));
        assert_eq!(limiter.check(other, start), Ok(()), "keys are separate");
    }

    #[test]
    fn idle_keys_are_dropped_once_their_allowance_is_whole() {
        let limiter = per_minute(10, MAX_KEYS);
        let start = Instant::now();
        for n in 0..1000 {
            let token = format!("brt_invalid_{n}");
            assert_eq!(limiter.check(Key::token(&token), start), Ok(()));
        }
        assert_eq!(
            limiter.len(),
            1000,
            "every distinct bearer string adds a key"
        );
        // One request's worth (6 s) later the allowances are whole; the next sweep (every 10 s)
        // drops them all, and only the key that arrives then remains.
        let later = start + SWEEP_EVERY;
        assert_eq!(
            limiter.check(Key::Address(ip("198.51.100.1")), later),
            Ok(())
        );
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn a_full_table_stays_bounded_and_known_keys_keep_their_allowance() {
        let limiter = per_minute(2, 3);
        let start = Instant::now();
        let known = Key::Address(ip("192.0.2.1"));
        assert_eq!(limiter.check(known, start), Ok(()));
        for n in 0..2 {
            assert_eq!(limiter.check(Key::token(&format!("t{n}")), start), Ok(()));
        }
        // Full of live keys: every new one shares the newcomers' allowance (2), and the table
        // grows by that one key only.
        let fresh: Vec<Result<(), Duration>> = (0..50)
            .map(|n| limiter.check(Key::token(&format!("flood{n}")), start))
            .collect();
        assert_eq!(fresh.iter().filter(|r| r.is_ok()).count(), 2);
        assert_eq!(limiter.len(), 4);
        assert_eq!(limiter.check(known, start), Ok(()), "its second request");
        assert!(limiter.check(known, start).is_err(), "and its own limit");
        // Once the flood's keys lapse (30 s per request at 2/min), newcomers get keys again.
        let later = start + Duration::from_secs(61);
        let newcomer = Key::Address(ip("192.0.2.99"));
        assert_eq!(limiter.check(newcomer, later), Ok(()));
        assert_eq!(limiter.check(newcomer, later), Ok(()));
        assert!(limiter.check(newcomer, later).is_err(), "a key of its own");
    }

    #[test]
    fn ipv4_mapped_peers_and_proxies_are_canonical() {
        let clients = ClientAddresses::parse("10.0.0.5, ::ffff:10.0.0.6", 64).unwrap();
        let mapped_proxy = ip("::ffff:10.0.0.5");
        assert_eq!(
            clients.client(mapped_proxy, &["203.0.113.7"]),
            ip("203.0.113.7"),
            "a mapped peer address matches the IPv4 trusted proxy"
        );
        assert_eq!(
            clients.client(ip("10.0.0.6"), &["::ffff:203.0.113.8"]),
            ip("203.0.113.8"),
            "a mapped proxy in the setting and a mapped forwarded address are canonical too"
        );
        assert_eq!(
            clients.client(ip("::ffff:198.51.100.4"), &["203.0.113.7"]),
            ip("198.51.100.4"),
            "an untrusted peer is the client, as IPv4, whatever it forwards"
        );
        assert_eq!(clients.key(ip("::ffff:198.51.100.4")), ip("198.51.100.4"));
    }

    #[test]
    fn forwarded_chains_are_read_from_the_right() {
        let clients = ClientAddresses::parse("10.0.0.5,10.0.0.6", 64).unwrap();
        let proxy = ip("10.0.0.5");
        assert_eq!(
            clients.client(proxy, &["1.1.1.1, 203.0.113.7, 10.0.0.6"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            clients.client(proxy, &["1.1.1.1", "203.0.113.9"]),
            ip("203.0.113.9"),
            "several headers read as one list"
        );
        assert_eq!(
            clients.client(proxy, &["203.0.113.7, not-an-address"]),
            proxy,
            "garbage where the proxy writes: the proxy, never a client-written entry"
        );
        assert_eq!(clients.client(proxy, &[]), proxy);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_network() {
        let by_64 = ClientAddresses::parse("", 64).unwrap();
        assert_eq!(
            by_64.key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            by_64.key(ip("2001:db8:1:2::1")),
            by_64.key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            by_64.key(ip("2001:db8:1:2::1")),
            by_64.key(ip("2001:db8:1:3::1"))
        );
        let by_48 = ClientAddresses::parse("", 48).unwrap();
        assert_eq!(by_48.key(ip("2001:db8:1:2::1")), ip("2001:db8:1::"));
        let exact = ClientAddresses::parse("", 128).unwrap();
        assert_eq!(exact.key(ip("2001:db8::1")), ip("2001:db8::1"));
        assert_eq!(by_64.key(ip("203.0.113.7")), ip("203.0.113.7"));
    }

    #[test]
    fn empty_limits_are_refused_and_off_means_off() {
        let clients = || ClientAddresses::parse("", 64).unwrap();
        assert!(RateLimits::parse("", clients()).is_err());
        assert!(RateLimits::parse("  ", clients()).is_err());
        assert_eq!(
            RateLimits::parse("off", clients())
                .unwrap()
                .unlimited()
                .len(),
            5
        );
        assert_eq!(
            RateLimits::parse("auth=5/min", clients())
                .unwrap()
                .unlimited(),
            ["bookings", "writes", "reads", "octo"]
        );
        assert!(RateLimits::parse("auth=0/min", clients()).is_err());
        assert!(RateLimits::parse("auth=5/week", clients()).is_err());
        assert!(RateLimits::parse("login=5/min", clients()).is_err());
    }
}
