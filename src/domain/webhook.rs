//! Outbound webhooks (issue 20), the pure parts: the Standard Webhooks signature
//! (standardwebhooks.com) that lets receivers verify an event with any of that specification's
//! libraries, and which network addresses an operator's endpoint may never reach (SSRF).
//! Also what an event says (its type and payload), how long berth keeps trying, and which URLs
//! an operator may register. Delivery, storage and the API build on these.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hmac::{Hmac, Mac};

use super::booking::BookingStatus;
use super::records::{BookingRecord, DepartureRecord};

/// How long berth keeps retrying one delivery (and how long an endpoint may fail without a
/// single success before it is disabled): about three days.
pub const DELIVERY_WINDOW: Duration = Duration::hours(72);

/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// How long the delivery log keeps an attempt.
pub const ATTEMPT_RETENTION: Duration = Duration::days(30);

/// At most one `availability.changed` per departure in this long.
pub const AVAILABILITY_DEBOUNCE: Duration = Duration::seconds(1);

/// Endpoints per operator.
pub const MAX_ENDPOINTS: usize = 20;

/// Longest URL accepted.
pub const MAX_URL_LENGTH: usize = 2048;

/// What happened. Receivers subscribe to types by their spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    BookingHeld,
    BookingConfirmed,
    BookingCancelled,
    BookingExpired,
    BookingCheckedIn,
    BookingRescheduled,
    BookingRefunded,
    DepartureCreated,
    DepartureChanged,
    DepartureCancelled,
    /// A departure's seats, capacity or status changed; at most one per departure per
    /// [`AVAILABILITY_DEBOUNCE`], carrying the latest numbers.
    AvailabilityChanged,
    /// Sent on request to one endpoint (`POST …/test`); never subscribed to.
    Test,
}

impl EventType {
    /// The types an endpoint may subscribe to.
    pub const SUBSCRIBABLE: [EventType; 11] = [
        EventType::BookingHeld,
        EventType::BookingConfirmed,
        EventType::BookingCancelled,
        EventType::BookingExpired,
        EventType::BookingCheckedIn,
        EventType::BookingRescheduled,
        EventType::BookingRefunded,
        EventType::DepartureCreated,
        EventType::DepartureChanged,
        EventType::DepartureCancelled,
        EventType::AvailabilityChanged,
    ];

    /// The spelling on the wire and in subscriptions; never change an existing one.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::BookingHeld => "booking.held",
            EventType::BookingConfirmed => "booking.confirmed",
            EventType::BookingCancelled => "booking.cancelled",
            EventType::BookingExpired => "booking.expired",
            EventType::BookingCheckedIn => "booking.checked_in",
            EventType::BookingRescheduled => "booking.rescheduled",
            EventType::BookingRefunded => "booking.refunded",
            EventType::DepartureCreated => "departure.created",
            EventType::DepartureChanged => "departure.changed",
            EventType::DepartureCancelled => "departure.cancelled",
            EventType::AvailabilityChanged => "availability.changed",
            EventType::Test => "webhook.test",
        }
    }

    /// A subscribable type from its spelling.
    pub fn parse(text: &str) -> Option<EventType> {
        EventType::SUBSCRIBABLE
            .into_iter()
            .find(|t| t.as_str() == text)
    }

    /// The event a booking's move to `status` is.
    pub const fn of_status(status: BookingStatus) -> EventType {
        match status {
            BookingStatus::Held => EventType::BookingHeld,
            BookingStatus::Confirmed => EventType::BookingConfirmed,
            BookingStatus::CheckedIn => EventType::BookingCheckedIn,
            BookingStatus::Expired => EventType::BookingExpired,
            BookingStatus::Cancelled => EventType::BookingCancelled,
        }
    }
}

/// The subscription list an operator sends: known types, each once, at least one.
pub fn parse_event_types(types: &[String]) -> Result<Vec<EventType>, String> {
    if types.is_empty() {
        return Err("name at least one event type".to_owned());
    }
    let mut parsed = Vec::new();
    for text in types {
        let kind = EventType::parse(text.trim()).ok_or_else(|| {
            let known: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|t| t.as_str()).collect();
            format!("unknown event type {text:?}; known: {}", known.join(", "))
        })?;
        if !parsed.contains(&kind) {
            parsed.push(kind);
        }
    }
    Ok(parsed)
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An event's body, the exact bytes that are signed and sent (on every retry and replay):
/// `{"type", "id", "timestamp", "data"}`. A booking's data carries what the operator API shows
/// of it without the traveler's name, email or phone, its access token or its payment, and its
/// `sequence`: it grows with each event of that booking, so receivers can reorder.
pub fn booking_payload(
    event_id: &str,
    kind: EventType,
    at: DateTime<Utc>,
    booking: &BookingRecord,
    sequence: i64,
    refund: Option<(&str, i64)>,
) -> String {
    let items: Vec<serde_json::Value> = booking
        .items
        .iter()
        .map(|line| {
            serde_json::json!({
                "unit": line.unit, "quantity": line.quantity, "unit_price": line.unit_price,
            })
        })
        .collect();
    let mut data = serde_json::json!({
        "booking": {
            "reference": booking.reference.to_string(),
            "status": booking.status.as_str(),
            "expires_at": booking.expires_at.map(timestamp),
            "departure_id": booking.departure_id.to_string(),
            "tour_id": booking.tour_id.to_string(),
            "items": items,
            "seats": booking.seats,
            "total": booking.total,
            "currency": booking.currency,
            "cancel_reason": booking.cancel_reason,
            "created_at": timestamp(booking.created_at),
            "updated_at": timestamp(booking.updated_at),
        },
        "sequence": sequence,
    });
    if let Some((id, amount)) = refund {
        data["refund"] =
            serde_json::json!({"id": id, "amount": amount, "currency": booking.currency});
    }
    envelope(event_id, kind, at, data)
}

/// A departure event's body (also `availability.changed`'s): the departure as the API shows it
/// (`available` counts lapsed holds as free). `removed`: a cancelled departure that no booking ever named was deleted outright.
pub fn departure_payload(
    event_id: &str,
    kind: EventType,
    at: DateTime<Utc>,
    departure: &DepartureRecord,
    removed: bool,
) -> String {
    let occupancy = &departure.occupancy;
    let data = serde_json::json!({
        "departure": {
            "id": departure.id.to_string(),
            "tour_id": departure.tour_id.to_string(),
            "starts_at": timestamp(occupancy.starts_at),
            "capacity": occupancy.capacity,
            "available": occupancy.available(),
            "status": occupancy.status.as_str(),
            "removed": removed,
        },
    });
    envelope(event_id, kind, at, data)
}

/// The body of a test event.
pub fn test_payload(event_id: &str, at: DateTime<Utc>, endpoint_id: &str) -> String {
    envelope(
        event_id,
        EventType::Test,
        at,
        serde_json::json!({"endpoint_id": endpoint_id}),
    )
}

fn envelope(event_id: &str, kind: EventType, at: DateTime<Utc>, data: serde_json::Value) -> String {
    serde_json::json!({
        "type": kind.as_str(),
        "id": event_id,
        "timestamp": timestamp(at),
        "data": data,
    })
    .to_string()
}

/// When a failed delivery is tried again: 30 s doubling to at most 6 h, with up to 50 % jitter
/// (`jitter` in 0..=1), which makes about 19 attempts in [`DELIVERY_WINDOW`].
pub fn next_attempt(now: DateTime<Utc>, failed_attempts: u32, jitter: f64) -> DateTime<Utc> {
    super::message::next_attempt(now, failed_attempts.saturating_sub(1), jitter)
}

/// Which endpoint URLs may be registered and reached: https (http only when allowed), and, for
/// the addresses a host resolves to, [`forbidden`] unless allowlisted by address range or name.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    nets: Vec<(IpAddr, u8)>,
    hosts: Vec<String>,
    allow_http: bool,
}

impl TargetPolicy {
    /// From `BERTH_WEBHOOK_ALLOWED_TARGETS` (comma-separated CIDR ranges, addresses and host
    /// names) and `BERTH_WEBHOOK_ALLOW_HTTP`; the error names the entry it cannot read.
    pub fn parse(allowed_targets: &str, allow_http: bool) -> Result<TargetPolicy, String> {
        let mut policy = TargetPolicy {
            allow_http,
            ..TargetPolicy::default()
        };
        for entry in allowed_targets
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (address, bits) = match entry.split_once('/') {
                Some((address, bits)) => (address, Some(bits)),
                None => (entry, None),
            };
            match address.parse::<IpAddr>() {
                Ok(ip) => {
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let bits = match bits {
                        None => max,
                        Some(bits) => bits
                            .parse::<u8>()
                            .ok()
                            .filter(|b| *b <= max)
                            .ok_or_else(|| format!("{entry:?} is not an address range"))?,
                    };
                    policy.nets.push((ip, bits));
                }
                Err(_) if bits.is_none() && is_host_name(entry) => {
                    policy.hosts.push(entry.to_ascii_lowercase());
                }
                Err(_) => return Err(format!("{entry:?} is not an address range or host name")),
            }
        }
        Ok(policy)
    }

    /// Whether the allowlist lets every address through (worth a warning in production).
    pub fn allows_everything(&self) -> bool {
        self.nets.iter().any(|(_, bits)| *bits == 0)
    }

    /// Checks an endpoint URL's form (not where it resolves): the scheme, no credentials in it,
    /// a host, no fragment, the length.
    pub fn check_url(&self, text: &str) -> Result<url::Url, String> {
        if text.len() > MAX_URL_LENGTH {
            return Err(format!("must be at most {MAX_URL_LENGTH} characters"));
        }
        let url = url::Url::parse(text).map_err(|_| "is not a URL".to_owned())?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err("must use https".to_owned()),
            _ => return Err("must be an https URL".to_owned()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".to_owned());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".to_owned());
        }
        if url.fragment().is_some() {
            return Err("must not have a #fragment".to_owned());
        }
        Ok(url)
    }

    /// Whether `host`, resolved to `ip`, may be reached; the error says why not.
    pub fn permits(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if self.hosts.contains(&host) || self.nets.iter().any(|n| in_net(ip, *n)) {
            return Ok(());
        }
        match forbidden(ip) {
            None => Ok(()),
            Some(why) => Err(format!(
                "{host} resolves to a {why} address ({ip}), which webhooks may not reach unless \
                 BERTH_WEBHOOK_ALLOWED_TARGETS allows it"
            )),
        }
    }
}

fn is_host_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn in_net(ip: IpAddr, (net, bits): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing secret: `whsec_` and the base64 of its key bytes, as the specification
/// writes it; the HMAC key is the decoded bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    /// A secret from random bytes (the caller draws them; this module does no I/O).
    pub fn from_bytes(bytes: [u8; 32]) -> SigningSecret {
        SigningSecret {
            key: bytes.to_vec(),
        }
    }

    /// Reads `whsec_<base64>`; `None` for anything else or an empty key.
    pub fn parse(text: &str) -> Option<SigningSecret> {
        let encoded = text.strip_prefix(SECRET_PREFIX)?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        (!key.is_empty()).then_some(SigningSecret { key })
    }

    /// The secret as it is shown to the operator, once.
    pub fn expose(&self) -> String {
        format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&self.key)
        )
    }

    /// The `v1,` signature of one delivery: base64 of HMAC-SHA256 over `id.timestamp.body`.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }
}

/// The `webhook-signature` header: one signature per secret in force (the new and, for a day
/// after a rotation, the previous), separated by spaces; a receiver accepts any one of them.
pub fn signature_header(
    secrets: &[&SigningSecret],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why an address may not be a webhook target unless allowed explicitly: loopback, private,
/// link-local (which holds the cloud metadata service, 169.254.169.254), and the other ranges
/// that are not the public internet. `None`: a public address.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // RFC 1918, and RFC 6598's shared address space (carrier-grade NAT).
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if a == 0 || ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("not a unicast host")
    } else if (a == 192 && b == 0 && c == 0) || (a == 198 && (b == 18 || b == 19)) {
        // IETF protocol assignments; benchmarking networks.
        Some("reserved")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address written as IPv6 (mapped, compatible, NAT64 or 6to4) is judged as IPv4.
    if let Some(v4) = embedded_v4(ip) {
        return forbidden_v4(v4);
    }
    let first = ip.segments()[0];
    if ip.segments()[..3] == [0x64, 0xff9b, 1] {
        // NAT64's local-use prefix: where the IPv4 address sits depends on the network, so the
        // whole range is refused.
        return Some("reserved (NAT64 local use)");
    }
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("not a unicast host")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private")
    } else if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        Some("link-local (cloud metadata)")
    } else if first == 0x2001 && ip.segments()[1] == 0 {
        Some("reserved")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else {
        None
    }
}

/// The IPv4 address an IPv6 one carries, if it is one of the forms that route to IPv4.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        // IPv4-compatible (deprecated), but not :: or ::1.
        Some(tail())
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64's well-known prefix.
        Some(tail())
    } else if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        // IPv4-translated (SIIT).
        Some(tail())
    } else if s[0] == 0x2002 {
        // 6to4: the IPv4 address follows the prefix.
        Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_default_refuses_internal_targets_and_an_allowlist_lets_them_through() {
        let release = TargetPolicy::parse("", false).unwrap();
        for (host, ip) in [
            ("localhost", "127.0.0.1"),
            ("metadata.internal", "169.254.169.254"),
            ("db", "10.0.0.5"),
            ("v6", "::ffff:127.0.0.1"),
        ] {
            let error = release.permits(host, ip.parse().unwrap()).unwrap_err();
            assert!(error.contains(ip), "{error}");
        }
        assert!(release
            .permits("example.com", "93.184.216.34".parse().unwrap())
            .is_ok());
        assert!(
            release.check_url("http://example.com/hook").is_err(),
            "https only"
        );
        assert!(release.check_url("https://example.com/hook").is_ok());
        assert!(!release.allows_everything());

        let allowed = TargetPolicy::parse("127.0.0.0/8, ::1/128, hooks.internal", true).unwrap();
        assert!(allowed.permits("x", "127.9.9.9".parse().unwrap()).is_ok());
        assert!(allowed.permits("x", "::1".parse().unwrap()).is_ok());
        assert!(allowed
            .permits("HOOKS.internal.", "10.1.1.1".parse().unwrap())
            .is_ok());
        assert!(allowed
            .permits("other", "10.1.1.1".parse().unwrap())
            .is_err());
        assert!(
            allowed.permits("x", "128.0.0.1".parse().unwrap()).is_ok(),
            "public"
        );
        assert!(allowed.check_url("http://127.0.0.1:9/hook").is_ok());
        assert!(TargetPolicy::parse("0.0.0.0/0", false)
            .unwrap()
            .allows_everything());
        for bad in ["10.0.0.0/33", "not a host!", "1.2.3.4/x"] {
            assert!(TargetPolicy::parse(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_with_credentials_fragments_or_other_schemes_are_refused() {
        let policy = TargetPolicy::parse("", true).unwrap();
        for bad in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "example.com/hook",
            "file:///etc/passwd",
        ] {
            assert!(policy.check_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LENGTH));
        assert!(policy.check_url(&long).is_err());
    }

    #[test]
    fn subscriptions_name_known_types_once() {
        let types = |list: &[&str]| {
            parse_event_types(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            types(&["booking.confirmed", "booking.held", "booking.confirmed"]).unwrap(),
            [EventType::BookingConfirmed, EventType::BookingHeld]
        );
        assert!(types(&[]).is_err());
        assert!(types(&["webhook.test"]).is_err(), "not subscribable");
        assert!(types(&["booking.exploded"])
            .unwrap_err()
            .contains("booking.held"));
        for kind in EventType::SUBSCRIBABLE {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn signatures_match_the_specifications_test_vector() {
        // From the Standard Webhooks specification's reference libraries.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // Any change to the id, the time or a byte of the body changes it.
        assert_ne!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_331,
                br#"{"test": 2432232314}"#
            ),
            signature
        );
        assert_ne!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232315}"#
            ),
            signature
        );
    }

    #[test]
    fn a_secret_reads_back_what_it_shows_and_refuses_anything_else() {
        let secret = SigningSecret::from_bytes([7; 32]);
        let shown = secret.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(&shown), Some(secret.clone()));
        for bad in [
            "",
            "whsec_",
            "whsec_!!!",
            "sk_test_abc",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert_eq!(SigningSecret::parse(bad), None, "{bad:?}");
        }
        assert_eq!(format!("{secret:?}"), "SigningSecret(…)", "never in logs");
    }

    #[test]
    fn during_a_rotation_both_secrets_sign() {
        let (new, old) = (
            SigningSecret::from_bytes([1; 32]),
            SigningSecret::from_bytes([2; 32]),
        );
        let header = signature_header(&[&new, &old], "msg_1", 1_700_000_000, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                new.sign("msg_1", 1_700_000_000, b"{}"),
                old.sign("msg_1", 1_700_000_000, b"{}")
            ]
        );
    }

    #[test]
    fn internal_and_reserved_addresses_are_refused_and_public_ones_allowed() {
        let refused = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a9fe:a9fe",
            "::ffff:0:7f00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "2001::1",
        ];
        for address in refused {
            let ip: IpAddr = address.parse().unwrap();
            assert!(forbidden(ip).is_some(), "{address} must be refused");
        }
        assert_eq!(
            forbidden("169.254.169.254".parse().unwrap()),
            Some("link-local (cloud metadata)")
        );
        for address in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
            "2002:5db8:d822::",
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(forbidden(ip), None, "{address} is public");
        }
    }
}
