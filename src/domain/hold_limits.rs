//! How many seats one client may hold at once, so nobody can empty a departure for free by
//! holding it and never paying. A client is seen two ways: by its network address (an IPv6
//! client by its network) and by the customer email it gives; each has a limit on one departure
//! and a limit across all of them.
//!
//! A client holding nothing in a scope may always make one hold there (its size is bounded by
//! the tour's `max_per_booking`): the limits bound what one client holds *on top of* a booking,
//! so no traveler is ever refused their first booking by them.

use std::net::IpAddr;

/// Seats one identity may hold at once; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limit {
    /// On one departure.
    pub departure: Option<u32>,
    /// Across every departure of the instance.
    pub overall: Option<u32>,
}

/// The limits for a client address and for a customer email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HoldLimits {
    pub address: Limit,
    pub email: Limit,
}

/// What the release profile uses unless `BERTH_HOLD_LIMITS` says otherwise.
pub const RELEASE_DEFAULT: &str = "departure=8,overall=32";

/// Which identity a limit is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    Address,
    Email,
}

impl Identity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Email => "email",
        }
    }
}

/// Which limit of an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Departure,
    Overall,
}

impl Scope {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Departure => "departure",
            Self::Overall => "overall",
        }
    }
}

/// Seats an identity holds right now (live holds only: lapsed ones count for nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Held {
    /// On the departure being asked for.
    pub on_departure: u32,
    pub overall: u32,
}

/// A hold that would take an identity past one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub scope: Scope,
    pub limit: u32,
    pub held: u32,
}

impl Limit {
    /// Whether an identity holding `held` may hold `seats` more.
    pub fn check(&self, held: Held, seats: u32) -> Result<(), Exceeded> {
        for (scope, limit, held) in [
            (Scope::Departure, self.departure, held.on_departure),
            (Scope::Overall, self.overall, held.overall),
        ] {
            if let Some(limit) = limit {
                if held > 0 && held.saturating_add(seats) > limit {
                    return Err(Exceeded { scope, limit, held });
                }
            }
        }
        Ok(())
    }

    /// Whether neither limit is set.
    pub fn is_off(&self) -> bool {
        self.departure.is_none() && self.overall.is_none()
    }
}

impl HoldLimits {
    /// No limits at all.
    pub const OFF: HoldLimits = HoldLimits {
        address: Limit {
            departure: None,
            overall: None,
        },
        email: Limit {
            departure: None,
            overall: None,
        },
    };

    pub fn is_off(&self) -> bool {
        self.address.is_off() && self.email.is_off()
    }

    /// `off`, or a comma-separated list of `name=N` (N ≥ 1): `departure` and `overall` set both
    /// the address and the email limit; `address_departure`, `address_overall`,
    /// `email_departure` and `email_overall` set one (and win over the shared names). A limit
    /// left out is none.
    pub fn parse(spec: &str) -> Result<HoldLimits, String> {
        let spec = spec.trim();
        if spec == "off" {
            return Ok(HoldLimits::OFF);
        }
        if spec.is_empty() {
            return Err("BERTH_HOLD_LIMITS is empty: write `off` to turn the limits off".into());
        }
        let mut shared = Limit::default();
        let mut address = Limit::default();
        let mut email = Limit::default();
        for part in spec.split(',') {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("BERTH_HOLD_LIMITS: {:?} is not name=N", part.trim()))?;
            let value: u32 = value
                .trim()
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    format!(
                        "BERTH_HOLD_LIMITS: {:?} must be a whole number of seats, 1 or more",
                        part.trim()
                    )
                })?;
            let slot = match name.trim() {
                "departure" => &mut shared.departure,
                "overall" => &mut shared.overall,
                "address_departure" => &mut address.departure,
                "address_overall" => &mut address.overall,
                "email_departure" => &mut email.departure,
                "email_overall" => &mut email.overall,
                other => {
                    return Err(format!(
                        "BERTH_HOLD_LIMITS: unknown limit {other:?} (departure, overall, address_departure, address_overall, email_departure, email_overall)"
                    ))
                }
            };
            *slot = Some(value);
        }
        let merge = |own: Limit| Limit {
            departure: own.departure.or(shared.departure),
            overall: own.overall.or(shared.overall),
        };
        Ok(HoldLimits {
            address: merge(address),
            email: merge(email),
        })
    }

    pub fn for_identity(&self, identity: Identity) -> &Limit {
        match identity {
            Identity::Address => &self.address,
            Identity::Email => &self.email,
        }
    }
}

/// The address a client is counted under, spelled one way: an IPv4 address also when it
/// arrives IPv4-mapped (`::ffff:a.b.c.d`). The caller passes an IPv6 client as its network
/// (`BERTH_CLIENT_IPV6_PREFIX`, /64 by default, as the HTTP layer's `ClientIp` gives it), since
/// one subscriber can pick a new address inside it for every request.
pub fn client_address(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// The email a client is counted under: lowercased, and without a `+tag` in the local part,
/// so `Ada+1@Example.com` and `ada@example.com` are one traveler.
pub fn client_email(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(on_departure: u32, overall: u32) -> Held {
        Held {
            on_departure,
            overall,
        }
    }

    #[test]
    fn a_client_holding_nothing_may_always_hold_once() {
        let limit = Limit {
            departure: Some(4),
            overall: Some(10),
        };
        assert_eq!(
            limit.check(held(0, 0), 8),
            Ok(()),
            "one booking, bounded by the tour"
        );
        assert_eq!(
            limit.check(held(0, 6), 4),
            Ok(()),
            "another departure, within overall"
        );
        assert_eq!(limit.check(held(2, 2), 2), Ok(()));
        assert_eq!(
            limit.check(held(2, 2), 3),
            Err(Exceeded {
                scope: Scope::Departure,
                limit: 4,
                held: 2
            })
        );
        assert_eq!(
            limit.check(held(0, 8), 3),
            Err(Exceeded {
                scope: Scope::Overall,
                limit: 10,
                held: 8
            })
        );
        assert_eq!(Limit::default().check(held(500, 5000), 8), Ok(()));
        assert_eq!(
            limit
                .check(held(u32::MAX, u32::MAX), u32::MAX)
                .map_err(|e| e.scope),
            Err(Scope::Departure)
        );
    }

    #[test]
    fn limits_parse_with_shared_and_specific_names() {
        assert!(HoldLimits::parse("off").unwrap().is_off());
        let limits = HoldLimits::parse(RELEASE_DEFAULT).unwrap();
        assert_eq!(
            limits.address,
            Limit {
                departure: Some(8),
                overall: Some(32)
            }
        );
        assert_eq!(limits.email, limits.address);
        let limits =
            HoldLimits::parse("departure=6, address_overall=200, email_overall=12").unwrap();
        assert_eq!(
            limits.address,
            Limit {
                departure: Some(6),
                overall: Some(200)
            }
        );
        assert_eq!(
            limits.email,
            Limit {
                departure: Some(6),
                overall: Some(12)
            }
        );
        let limits = HoldLimits::parse("address_departure=3,departure=9").unwrap();
        assert_eq!(
            limits.address.departure,
            Some(3),
            "the specific name wins in any order"
        );
        assert_eq!(limits.email.departure, Some(9));
        assert_eq!(limits.email.overall, None);
        for bad in [
            "",
            " ",
            "departure",
            "departure=0",
            "departure=-1",
            "departure=x",
            "seats=4",
            "departure=4;overall=8",
        ] {
            assert!(HoldLimits::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clients_are_counted_by_canonical_address_and_normalised_email() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_address(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_address(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(client_address(ip("2001:db8:1:2::")), "2001:db8:1:2::");
        assert_eq!(client_email(" Ada+spare@Example.COM "), "ada@example.com");
        assert_eq!(client_email("ada@example.com"), "ada@example.com");
        assert_ne!(
            client_email("ada@example.com"),
            client_email("ada@example.org")
        );
    }
}
