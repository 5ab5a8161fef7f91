//! The connection guard: berth's own front door, between clients and Rocket.
//!
//! Rocket 0.5 binds and serves its socket itself: `Rocket::launch` takes no listener of ours
//! (`http_server` is crate-private), and it turns hyper's header-read timeout off and has no idle,
//! body or connection limit. So a silent socket, or one header line every ten seconds, held a
//! connection forever, and a few hundred of them exhausted berth's file descriptors.
//!
//! berth therefore listens on the configured address itself and runs Rocket on an ephemeral
//! loopback port behind it. For each client connection the guard opens one connection to Rocket
//! and relays bytes both ways unchanged, watching the HTTP/1.1 framing ([`framing`]) to enforce:
//! - at most `BERTH_MAX_CONNECTIONS` connections, and `BERTH_MAX_CONNECTIONS_PER_CLIENT` from one
//!   client address, counted as the rate limits count them (IPv6 per `BERTH_CLIENT_IPV6_PREFIX`
//!   network; trusted proxies are exempt); one more is closed at once;
//! - a request head complete within `BERTH_HEADER_TIMEOUT_SECONDS` of its first byte (of the
//!   connection opening, for the first request);
//! - a request body complete within `BERTH_BODY_TIMEOUT_SECONDS` of its head, and every write to
//!   a client that reads slowly done within the same time;
//! - at most `BERTH_KEEP_ALIVE_SECONDS` idle between a response and the next request.
//!
//! Rocket sees the guard's loopback address as the peer. The guard records which client each of
//! its loopback ports relays, and a request fairing puts the client's address back on the
//! request before routing, so rate limits, logs and `X-Forwarded-For` handling see the client.
//! Connections made straight to the loopback port (only possible from the machine itself) are
//! not guarded and keep their loopback address.

pub mod framing;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::figment::providers::Serialized;
use rocket::{Build, Data, Orbit, Request, Rocket};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::http::rate_limit::ClientAddresses;
use crate::storage::Store;
use framing::{Phase, Requests, Responses};

/// A connection waiting for Rocket's answer with nothing moving either way is closed after
/// this long. Handlers finish well within it (database waits are bounded); only a hung handler
/// or a framing the guard lost gets here.
const RESPONSE_STALL: Duration = Duration::from_secs(300);

/// How long the guard keeps the client address of a closed relay: Rocket may still be routing
/// the last request it received on it.
const PEER_LINGER: Duration = Duration::from_secs(30);

/// The connection limits (`BERTH_*` settings, see the README's configuration table).
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionLimits {
    #[serde(default = "defaults::max_connections")]
    pub max_connections: u32,
    #[serde(default = "defaults::max_connections_per_client")]
    pub max_connections_per_client: u32,
    #[serde(default = "defaults::header_timeout_seconds")]
    pub header_timeout_seconds: u32,
    #[serde(default = "defaults::body_timeout_seconds")]
    pub body_timeout_seconds: u32,
    #[serde(default = "defaults::keep_alive_seconds")]
    pub keep_alive_seconds: u32,
    /// `BERTH_TRUSTED_PROXIES`: many clients arrive through one of these, so the per-client cap
    /// does not apply to them.
    #[serde(default)]
    trusted_proxies: String,
    /// `BERTH_CLIENT_IPV6_PREFIX`: connections count per client as rate limits do.
    #[serde(default = "defaults::client_ipv6_prefix")]
    client_ipv6_prefix: u8,
}

mod defaults {
    pub fn max_connections() -> u32 {
        256
    }
    pub fn max_connections_per_client() -> u32 {
        64
    }
    pub fn header_timeout_seconds() -> u32 {
        10
    }
    pub fn body_timeout_seconds() -> u32 {
        30
    }
    pub fn keep_alive_seconds() -> u32 {
        5
    }
    pub fn client_ipv6_prefix() -> u8 {
        64
    }
}

impl ConnectionLimits {
    /// Reads and checks the limits; the error names the setting.
    pub fn from_figment(figment: &rocket::figment::Figment) -> Result<ConnectionLimits, String> {
        // Lossy: `BERTH_*` values arrive as text (see `config::BerthEnv`).
        let limits: ConnectionLimits = figment
            .extract_lossy()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        let ranges = [
            (
                "BERTH_MAX_CONNECTIONS",
                limits.max_connections,
                1,
                1_000_000,
            ),
            (
                "BERTH_MAX_CONNECTIONS_PER_CLIENT",
                limits.max_connections_per_client,
                1,
                limits.max_connections.max(1),
            ),
            (
                "BERTH_HEADER_TIMEOUT_SECONDS",
                limits.header_timeout_seconds,
                1,
                300,
            ),
            (
                "BERTH_BODY_TIMEOUT_SECONDS",
                limits.body_timeout_seconds,
                1,
                3600,
            ),
            (
                "BERTH_KEEP_ALIVE_SECONDS",
                limits.keep_alive_seconds,
                1,
                3600,
            ),
        ];
        for (name, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err(format!("{name} must be between {low} and {high}"));
            }
        }
        limits.clients()?;
        Ok(limits)
    }

    /// Who counts as one client, and which peers are trusted proxies: the same rules as the
    /// rate limits'.
    fn clients(&self) -> Result<ClientAddresses, String> {
        ClientAddresses::parse(&self.trusted_proxies, self.client_ipv6_prefix)
    }

    fn header_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.header_timeout_seconds))
    }

    fn body_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.body_timeout_seconds))
    }

    fn keep_alive(&self) -> Duration {
        Duration::from_secs(u64::from(self.keep_alive_seconds))
    }
}

/// What the guard shares between its accept loop, its relays and the request fairing.
#[derive(Debug)]
struct Shared {
    limits: ConnectionLimits,
    clients: ClientAddresses,
    counts: Mutex<Counts>,
    /// Loopback port of a relay → (relay id, the client it relays).
    peers: Mutex<HashMap<u16, (u64, SocketAddr)>>,
    next_relay: AtomicU64,
}

#[derive(Debug, Default)]
struct Counts {
    open: u32,
    per_client: HashMap<IpAddr, u32>,
}

/// A connection's place under the caps; given back when dropped.
struct Admitted {
    shared: Arc<Shared>,
    key: Option<IpAddr>,
    store: Option<Store>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.shared.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.open = counts.open.saturating_sub(1);
        if let Some(key) = self.key {
            if let Some(n) = counts.per_client.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    counts.per_client.remove(&key);
                }
            }
        }
        if let Some(store) = &self.store {
            store.metrics().connections_open.set(i64::from(counts.open));
        }
    }
}

impl Shared {
    /// A place for a connection from `ip`, or the reason there is none.
    fn admit(self: &Arc<Self>, ip: IpAddr, store: Option<Store>) -> Result<Admitted, &'static str> {
        let key = (!self.clients.trusted(ip)).then(|| self.clients.key(ip));
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.open >= self.limits.max_connections {
            return Err("global_cap");
        }
        if let Some(key) = key {
            let mine = counts.per_client.entry(key).or_insert(0);
            if *mine >= self.limits.max_connections_per_client {
                return Err("client_cap");
            }
            *mine += 1;
        }
        counts.open += 1;
        if let Some(store) = &store {
            store.metrics().connections_open.set(i64::from(counts.open));
        }
        Ok(Admitted {
            shared: self.clone(),
            key,
            store,
        })
    }

    fn peer_of(&self, loopback_port: u16) -> Option<SocketAddr> {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.get(&loopback_port).map(|(_, client)| *client)
    }
}

/// Where berth listens, known from ignition (tests and tools read it to reach berth).
#[derive(Debug)]
pub struct FrontDoor {
    pub public: SocketAddr,
    listener: Mutex<Option<TcpListener>>,
    shared: Arc<Shared>,
}

/// The address clients reach berth at (its own listener), once ignited.
pub fn public_address<P: rocket::Phase>(rocket: &Rocket<P>) -> Option<SocketAddr> {
    rocket.state::<FrontDoor>().map(|door| door.public)
}

/// The fairing that installs the guard; attach it last (it moves Rocket to loopback).
pub struct ConnectionGuard;

#[rocket::async_trait]
impl Fairing for ConnectionGuard {
    fn info(&self) -> Info {
        Info {
            name: "Connection guard",
            kind: Kind::Ignite | Kind::Liftoff | Kind::Request,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> rocket::fairing::Result {
        match bind(&rocket).await {
            Ok(door) => {
                // Rocket serves on an ephemeral loopback port; only the guard connects to it.
                let figment = rocket
                    .figment()
                    .clone()
                    .merge(Serialized::global(
                        "address",
                        IpAddr::V4(Ipv4Addr::LOCALHOST),
                    ))
                    .merge(Serialized::global("port", 0));
                Ok(rocket.configure(figment).manage(door))
            }
            Err(error) => {
                tracing::error!("{error}");
                eprintln!("berth cannot start: {error}");
                Err(rocket)
            }
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let Some(door) = rocket.state::<FrontDoor>() else {
            return;
        };
        let listener = door
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(listener) = listener else { return };
        let upstream = SocketAddr::new(rocket.config().address, rocket.config().port);
        let store = rocket.state::<Store>().cloned();
        let limits = &door.shared.limits;
        tracing::info!(
            address = %door.public,
            max_connections = limits.max_connections,
            per_client = limits.max_connections_per_client,
            "berth is listening here; the address Rocket prints as launched from is internal"
        );
        tokio::spawn(accept_loop(
            listener,
            upstream,
            door.shared.clone(),
            store,
            rocket.shutdown(),
        ));
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        let Some(door) = request.rocket().state::<FrontDoor>() else {
            return;
        };
        if let Some(relay) = request.remote().filter(|r| r.ip().is_loopback()) {
            if let Some(client) = door.shared.peer_of(relay.port()) {
                request.set_remote(client);
            }
        }
    }
}

async fn bind(rocket: &Rocket<Build>) -> Result<FrontDoor, String> {
    let limits = ConnectionLimits::from_figment(rocket.figment())?;
    let config: rocket::Config = rocket.figment().extract().map_err(|e| e.to_string())?;
    let wanted = SocketAddr::new(config.address, config.port);
    let listener = TcpListener::bind(wanted)
        .await
        .map_err(|e| format!("cannot listen on {wanted}: {e}"))?;
    let public = listener.local_addr().map_err(|e| e.to_string())?;
    let clients = limits.clients()?;
    Ok(FrontDoor {
        public,
        listener: Mutex::new(Some(listener)),
        shared: Arc::new(Shared {
            limits,
            clients,
            counts: Mutex::default(),
            peers: Mutex::default(),
            next_relay: AtomicU64::new(1),
        }),
    })
}

/// Logs a repeated condition at most once per ten seconds (an attack must not flood the log).
struct Throttled(AtomicU64);

impl Throttled {
    fn ready(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.0.load(Ordering::Relaxed);
        now >= last + 10
            && self
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

fn count(store: &Option<Store>, reason: &str) {
    if let Some(store) = store {
        store
            .metrics()
            .connections_ended
            .with_label_values(&[reason])
            .inc();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    store: Option<Store>,
    mut shutdown: rocket::Shutdown,
) {
    let refused_log = Throttled(AtomicU64::new(0));
    let error_log = Throttled(AtomicU64::new(0));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => return,
        };
        let (client, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, most likely: wait for some to be freed.
                if error_log.ready() {
                    tracing::warn!(%error, "cannot accept connections");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        match shared.admit(peer.ip(), store.clone()) {
            Ok(admitted) => {
                let (shared, store) = (shared.clone(), store.clone());
                tokio::spawn(async move {
                    let ended = relay(client, peer, upstream, &shared).await;
                    if let Some(reason) = ended {
                        tracing::debug!(client = %peer.ip(), reason, "connection closed by the guard");
                        count(&store, reason);
                    }
                    drop(admitted);
                });
            }
            Err(reason) => {
                drop(client);
                count(&store, reason);
                if refused_log.ready() {
                    tracing::warn!(
                        reason,
                        client = %peer.ip(),
                        "connections refused: a connection cap is reached"
                    );
                }
            }
        }
    }
}

/// Keeps a relay's client address findable by its loopback port, a little past its end.
struct PeerEntry {
    shared: Arc<Shared>,
    port: u16,
    id: u64,
}

impl Drop for PeerEntry {
    fn drop(&mut self) {
        let (shared, port, id) = (self.shared.clone(), self.port, self.id);
        let forget = move || {
            let mut peers = shared.peers.lock().unwrap_or_else(|e| e.into_inner());
            if peers.get(&port).is_some_and(|(owner, _)| *owner == id) {
                peers.remove(&port);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(PEER_LINGER).await;
                    forget();
                });
            }
            Err(_) => forget(),
        }
    }
}

/// Relays one client connection to Rocket until either side closes or a limit ends it;
/// returns the limit, if one did.
async fn relay(
    mut client: TcpStream,
    peer: SocketAddr,
    upstream: SocketAddr,
    shared: &Arc<Shared>,
) -> Option<&'static str> {
    let mut rocket = TcpStream::connect(upstream).await.ok()?;
    let _ = client.set_nodelay(true);
    let _ = rocket.set_nodelay(true);
    let id = shared.next_relay.fetch_add(1, Ordering::Relaxed);
    let port = rocket.local_addr().ok()?.port();
    shared
        .peers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(port, (id, peer));
    let _entry = PeerEntry {
        shared: shared.clone(),
        port,
        id,
    };

    let limits = &shared.limits;
    let (mut client_in, mut client_out) = client.split();
    let (mut rocket_in, mut rocket_out) = rocket.split();
    let mut requests = Requests::new();
    let mut responses = Responses::default();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_rocket = vec![0u8; 16 * 1024];
    let opened = Instant::now();
    // When the current phase began, and when anything last moved.
    let (mut head_since, mut body_since, mut idle_since) = (opened, opened, opened);
    let mut unframed_since: Option<Instant> = None;
    let mut last_activity = opened;
    let mut client_done = false;
    let mut rocket_stopped_reading = false;
    let timer = tokio::time::sleep_until(opened + limits.header_timeout());
    tokio::pin!(timer);

    loop {
        let unframed = requests.phase() == Phase::Unframed || responses.is_unframed();
        if unframed && unframed_since.is_none() {
            unframed_since = Some(Instant::now());
        }
        let (deadline, reason) = match (unframed_since, requests.phase()) {
            (Some(since), _) => (since + limits.body_timeout(), "unframed"),
            (None, Phase::Head) => (head_since + limits.header_timeout(), "header_timeout"),
            (None, Phase::Body) => (body_since + limits.body_timeout(), "body_timeout"),
            (None, _) if responses.outstanding() == 0 => {
                (idle_since + limits.keep_alive(), "idle_timeout")
            }
            (None, _) => (last_activity + RESPONSE_STALL, "response_stall"),
        };
        if client_done && responses.outstanding() == 0 && requests.phase() == Phase::Idle {
            return None;
        }
        timer.as_mut().reset(deadline);
        tokio::select! {
            read = client_in.read(&mut from_client), if !client_done => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        // The client is done sending; let Rocket finish answering.
                        client_done = true;
                        let _ = rocket_out.shutdown().await;
                        continue;
                    }
                    Ok(n) => n,
                };
                let now = Instant::now();
                last_activity = now;
                let seen = requests.feed(&from_client[..n]);
                if seen.head_started {
                    head_since = now;
                }
                if !seen.heads.is_empty() {
                    body_since = now;
                }
                for is_head in seen.heads {
                    responses.expect(is_head);
                }
                if seen.requests > 0 {
                    idle_since = now;
                }
                if rocket_stopped_reading {
                    continue;
                }
                let sent = tokio::time::timeout(
                    limits.body_timeout(),
                    rocket_out.write_all(&from_client[..n]),
                );
                match sent.await {
                    Ok(Ok(())) => {}
                    // Rocket answered before reading the whole request (a 413 for a body over
                    // its limit) and closed its side. Its answer may still be on the way: keep
                    // relaying it, and drop what the client still sends.
                    Ok(Err(_)) => rocket_stopped_reading = true,
                    Err(_) => return None,
                }
            }
            read = rocket_in.read(&mut from_rocket) => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        linger(&mut client_in, &mut client_out).await;
                        return None;
                    }
                    Ok(n) => n,
                };
                let now = Instant::now();
                last_activity = now;
                if responses.feed(&from_rocket[..n]) > 0 {
                    idle_since = now;
                }
                let sent = tokio::time::timeout(
                    limits.body_timeout(),
                    client_out.write_all(&from_rocket[..n]),
                );
                match sent.await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return None,
                    Err(_) => return Some("send_timeout"),
                }
            }
            () = &mut timer => return Some(reason),
        }
    }
}

/// How long, and for how many bytes, a closing connection keeps reading what the client still
/// sends (see [`linger`]).
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// Closes the client side after Rocket closed its own, the way nginx's lingering close does.
///
/// Rocket closes a connection whose request it did not read to the end (a body over its limit
/// gets a 413 straight away). Closing a socket that still holds unread input makes the kernel
/// send a reset instead of a FIN, and a reset can overtake the answer on its way to the client,
/// who then sees "connection reset" instead of the 413. So: send the FIN first, then read and
/// drop what the client still sends, for a short while and a bounded number of bytes, before
/// closing for good.
async fn linger(
    client_in: &mut (impl AsyncReadExt + Unpin),
    client_out: &mut (impl AsyncWriteExt + Unpin),
) {
    let _ = client_out.shutdown().await;
    let deadline = Instant::now() + LINGER;
    let mut drained = 0usize;
    let mut sink = vec![0u8; 16 * 1024];
    while drained < LINGER_BYTES {
        match tokio::time::timeout_at(deadline, client_in.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => drained += n,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::figment::Figment;

    fn limits(settings: &[(&str, &str)]) -> Result<ConnectionLimits, String> {
        let figment = settings
            .iter()
            .fold(Figment::new(), |figment, (key, value)| {
                figment.merge(Serialized::global(key, *value))
            });
        ConnectionLimits::from_figment(&figment)
    }

    #[test]
    fn connection_settings_are_read_from_text_with_safe_defaults() {
        let defaults = limits(&[]).unwrap();
        assert_eq!(
            (
                defaults.max_connections,
                defaults.max_connections_per_client,
                defaults.header_timeout_seconds,
                defaults.body_timeout_seconds,
                defaults.keep_alive_seconds
            ),
            (256, 64, 10, 30, 5)
        );
        let set = limits(&[("header_timeout_seconds", "7"), ("max_connections", "900")]).unwrap();
        assert_eq!((set.header_timeout_seconds, set.max_connections), (7, 900));
    }

    #[test]
    fn out_of_range_connection_settings_are_refused_by_name() {
        for (key, value, name) in [
            (
                "header_timeout_seconds",
                "0",
                "BERTH_HEADER_TIMEOUT_SECONDS",
            ),
            (
                "header_timeout_seconds",
                "301",
                "BERTH_HEADER_TIMEOUT_SECONDS",
            ),
            ("body_timeout_seconds", "0", "BERTH_BODY_TIMEOUT_SECONDS"),
            ("keep_alive_seconds", "0", "BERTH_KEEP_ALIVE_SECONDS"),
            ("max_connections", "0", "BERTH_MAX_CONNECTIONS"),
            (
                "max_connections_per_client",
                "257",
                "BERTH_MAX_CONNECTIONS_PER_CLIENT",
            ),
            ("trusted_proxies", "proxy.example", "BERTH_TRUSTED_PROXIES"),
        ] {
            let error = limits(&[(key, value)]).unwrap_err();
            assert!(error.contains(name), "{key}={value}: {error}");
        }
    }
}
