//! Who asks for seats, and how much one client may hold at once: the keyed hashes a hold
//! records of its client, the check made under the client's lock rows, and the gauges and
//! housekeeping of those rows.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use crate::domain::hold_limits::{client_address, client_email, HoldLimits, Identity, Scope};
use crate::domain::ids::DepartureId;
use crate::error::AppError;
use crate::secrets::Keyring;
use crate::storage::bookings::HolderKeys;
use crate::storage::{hold_limits, Store, WriteTx};

/// Who asks for seats, as the hold limits see them.
#[derive(Clone, Copy)]
pub struct Requester<'a> {
    /// The client's address (behind trusted proxies, the one they forwarded).
    pub address: Option<IpAddr>,
    pub limits: &'a HoldLimits,
    /// Keys the hashes of the address and the email that the hold records (`None`: it records
    /// neither, and no limit can apply).
    pub keys: Option<&'a Keyring>,
}

impl Requester<'static> {
    /// A caller the limits do not apply to (tools, benchmarks).
    pub const UNLIMITED: Requester<'static> = Requester {
        address: None,
        limits: &HoldLimits::OFF,
        keys: None,
    };
}

/// The keyed hashes a hold records of who made it: never the address itself, and not a second
/// copy of the email.
#[derive(Clone)]
pub(super) struct Holder {
    pub(super) address: Option<String>,
    pub(super) email: Option<String>,
}

impl Holder {
    pub(super) fn of(requester: &Requester<'_>, email: &str) -> Holder {
        let short = |hash: String| hash[..32].to_owned();
        let Some(keys) = requester.keys else {
            return Holder {
                address: None,
                email: None,
            };
        };
        Holder {
            address: requester
                .address
                .map(|ip| short(keys.hash("hold-address", &client_address(ip)))),
            email: Some(short(keys.hash("hold-email", &client_email(email)))),
        }
    }

    /// The keys stored with the booking (`bookings.hold_client`, `bookings.hold_email`).
    pub(super) fn keys(&self) -> HolderKeys<'_> {
        (self.address.as_deref(), self.email.as_deref())
    }

    fn key(&self, identity: Identity) -> Option<&str> {
        match identity {
            Identity::Address => self.address.as_deref(),
            Identity::Email => self.email.as_deref(),
        }
    }
}

/// Refuses a hold that would take its client past a limit. Called in the hold's transaction
/// before the seats are taken: the client's lock rows (MySQL; SQLite's write lock covers it)
/// make concurrent holds of one client, on any departure and any instance, count one after the
/// other, so they cannot pass a limit together.
pub(super) async fn check_limits(
    tx: &mut WriteTx,
    holder: &Holder,
    limits: &HoldLimits,
    departure: &DepartureId,
    seats: u32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let limited: Vec<(Identity, &str)> = [Identity::Address, Identity::Email]
        .into_iter()
        .filter(|identity| !limits.for_identity(*identity).is_off())
        .filter_map(|identity| holder.key(identity).map(|key| (identity, key)))
        .collect();
    // "a:…" sorts before "e:…": every hold locks in the same order.
    let lock_keys: Vec<String> = limited
        .iter()
        .map(|(identity, key)| format!("{}:{key}", &identity.as_str()[..1]))
        .collect();
    hold_limits::lock_clients(tx, &lock_keys, now).await?;
    for (identity, key) in limited {
        let current = hold_limits::held_by(tx, identity, key, departure, now).await?;
        if let Err(exceeded) = limits.for_identity(identity).check(current.held, seats) {
            let lapses = match exceeded.scope {
                Scope::Departure => current.departure_first_expiry,
                Scope::Overall => current.first_expiry,
            };
            return Err(AppError::HoldLimitReached {
                identity: identity.as_str(),
                scope: exceeded.scope.as_str(),
                held: exceeded.held,
                limit: exceeded.limit,
                retry_after: lapses.map_or(1, |at| (at - now).num_seconds().max(1)),
            });
        }
    }
    Ok(())
}

/// Refreshes the hold gauges of `/metrics`: seats on hold, the largest holder per identity,
/// departures sold out with seats only held.
pub async fn observe_holders(store: &Store, now: DateTime<Utc>) -> Result<(), AppError> {
    let holders = hold_limits::holders(store, now).await?;
    let metrics = store.metrics();
    metrics.seats_on_hold.set(holders.seats_held);
    metrics
        .largest_holder_seats
        .with_label_values(&[Identity::Address.as_str()])
        .set(holders.largest_by_address);
    metrics
        .largest_holder_seats
        .with_label_values(&[Identity::Email.as_str()])
        .set(holders.largest_by_email);
    metrics
        .departures_sold_out_by_holds
        .set(holders.sold_out_by_holds);
    Ok(())
}

/// Forgets the hold-limit lock rows of clients idle for a day; returns how many went.
pub async fn purge_idle_holders(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    let before = now - Duration::days(1);
    let mut purged = 0;
    loop {
        let batch = transaction!(store, |tx| {
            Ok(hold_limits::purge_idle_clients(&mut tx, before, 500).await?)
        })
        .await?;
        purged += batch;
        if batch < 500 {
            return Ok(purged);
        }
    }
}
