//! Who asks for seats, and how much one client may hold at once: the keyed hashes a hold
//! records of its client, the check made under the client's lock rows, and the gauges and
//! housekeeping of those rows.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use crate::domain::hold_limits::{client_address, client_email, HoldLimits, Identity, Scope};
use crate::domain::ids::DepartureId;
use crate::error::AppError;
use crate::secrets::Keyring;
use crate::storage::bookings::HolderKeys;
use crate::storage::hold_limits::HeldNow;
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

    /// The identities whose limits are on and this holder's key for each.
    fn limited(&self, limits: &HoldLimits) -> Vec<(Identity, &str)> {
        [Identity::Address, Identity::Email]
            .into_iter()
            .filter(|identity| !limits.for_identity(*identity).is_off())
            .filter_map(|identity| self.key(identity).map(|key| (identity, key)))
            .collect()
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
    let limited = holder.limited(limits);
    let lock_keys: Vec<String> = limited.iter().map(|(i, key)| lock_key(*i, key)).collect();
    hold_limits::lock_clients(tx, &lock_keys, now).await?;
    for (identity, key) in limited {
        let current = hold_limits::held_by(tx, identity, key, departure, now).await?;
        judge(limits, identity, &current, seats, now)?;
    }
    Ok(())
}

/// A hold of a batch, as its limits see it.
pub(super) struct LimitedHold<'a> {
    pub holder: &'a Holder,
    /// `None`: no limits apply to this hold.
    pub limits: Option<&'a HoldLimits>,
    pub seats: u32,
    pub expires_at: Option<DateTime<Utc>>,
}

/// [`check_limits`] for the holds of a batch on one departure, in three statements rather than
/// three per hold: the lock rows of all their clients taken in one statement, in key order (so
/// two batches never wait on each other in a cycle), what those clients hold read with one query
/// per identity, and each hold judged in arrival order against that plus the holds before it
/// in the batch that passed. Returns each hold's refusal, if any.
pub(super) async fn check_limits_together(
    tx: &mut WriteTx,
    holds: &[LimitedHold<'_>],
    departure: &DepartureId,
    now: DateTime<Utc>,
) -> Result<Vec<Option<AppError>>, AppError> {
    let limited: Vec<Vec<(Identity, &str)>> = holds
        .iter()
        .map(|hold| {
            hold.limits
                .map_or_else(Vec::new, |l| hold.holder.limited(l))
        })
        .collect();
    let mut lock_keys: Vec<String> = limited
        .iter()
        .flatten()
        .map(|(identity, key)| lock_key(*identity, key))
        .collect();
    lock_keys.sort();
    lock_keys.dedup();
    hold_limits::lock_clients(tx, &lock_keys, now).await?;
    let mut current: HashMap<(Identity, String), HeldNow> = HashMap::new();
    for identity in [Identity::Address, Identity::Email] {
        let mut keys: Vec<&str> = limited
            .iter()
            .flatten()
            .filter(|(i, _)| *i == identity)
            .map(|(_, key)| *key)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for (key, held) in hold_limits::held_by_each(tx, identity, &keys, departure, now).await? {
            current.insert((identity, key), held);
        }
    }
    let mut refusals = Vec::with_capacity(holds.len());
    for (hold, limited) in holds.iter().zip(&limited) {
        let judged = match hold.limits {
            Some(limits) => limited.iter().try_for_each(|(identity, key)| {
                let held = current
                    .get(&(*identity, (*key).to_owned()))
                    .copied()
                    .unwrap_or_default();
                judge(limits, *identity, &held, hold.seats, now)
            }),
            None => Ok(()),
        };
        match judged {
            // What it holds counts for the holds after it.
            Ok(()) => {
                for (identity, key) in limited {
                    let held = current.entry((*identity, (*key).to_owned())).or_default();
                    add_hold(held, hold.seats, hold.expires_at);
                }
                refusals.push(None);
            }
            Err(refused) => refusals.push(Some(refused)),
        }
    }
    Ok(refusals)
}

/// A hold of `seats` on the departure being judged, lapsing at `expires_at`, added to `held`.
fn add_hold(held: &mut HeldNow, seats: u32, expires_at: Option<DateTime<Utc>>) {
    held.held.on_departure = held.held.on_departure.saturating_add(seats);
    held.held.overall = held.held.overall.saturating_add(seats);
    let sooner = |first: Option<DateTime<Utc>>| match (first, expires_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    held.departure_first_expiry = sooner(held.departure_first_expiry);
    held.first_expiry = sooner(held.first_expiry);
}

/// The row that serializes one client identity's holds.
fn lock_key(identity: Identity, key: &str) -> String {
    format!("{}:{key}", &identity.as_str()[..1])
}

/// Whether `identity`, holding `current`, may hold `seats` more; else `429 hold_limit_reached`,
/// with the time its first live hold lapses as `Retry-After`.
fn judge(
    limits: &HoldLimits,
    identity: Identity,
    current: &HeldNow,
    seats: u32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Err(exceeded) = limits.for_identity(identity).check(current.held, seats) else {
        return Ok(());
    };
    let lapses = match exceeded.scope {
        Scope::Departure => current.departure_first_expiry,
        Scope::Overall => current.first_expiry,
    };
    Err(AppError::HoldLimitReached {
        identity: identity.as_str(),
        scope: exceeded.scope.as_str(),
        held: exceeded.held,
        limit: exceeded.limit,
        retry_after: lapses.map_or(1, |at| (at - now).num_seconds().max(1)),
    })
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
