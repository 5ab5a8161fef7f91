//! Outbound webhooks (issue 20), the pure parts: the Standard Webhooks signature
//! (standardwebhooks.com) that lets receivers verify an event with any of that specification's
//! libraries, and which network addresses an operator's endpoint may never reach (SSRF).
//! Delivery, storage and the API build on these; see `docs/design/webhooks-plan.md`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use hmac::{Hmac, Mac};

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
        // NAT64.
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
