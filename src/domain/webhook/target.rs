//! Which URLs an operator may register as webhook endpoints, and which network addresses an
//! endpoint may never reach unless allowed explicitly (SSRF).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::MAX_URL_LENGTH;

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
