//! Verification through the public API, after the load: for every fixture departure, the seats
//! on the manifest equal `capacity - available`, never exceed capacity, and equal what berth
//! answered 201 for, minus what the tool cancelled and what expired; every reference is unique.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::api::Api;
use crate::fixtures::Fixtures;
use crate::ledger::{Snapshot, State};

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub passed: bool,
    pub departures: Vec<DepartureCheck>,
    /// Each one is proof of a broken promise, with its evidence.
    pub violations: Vec<String>,
    /// Things a reader should know that prove nothing wrong (e.g. requests without answers).
    pub warnings: Vec<String>,
    /// Seats on all fixture manifests together.
    pub total_seats: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DepartureCheck {
    pub id: String,
    pub capacity: u64,
    pub available: u64,
    /// `capacity - available`, as berth reports it.
    pub sold: u64,
    pub manifest_seats: u64,
    pub manifest_bookings: u64,
    /// Only when a ledger was available (the tool's own runs, or `verify --ledger`).
    pub ledger: Option<LedgerCheck>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerCheck {
    /// Bookings and seats berth answered 201 for.
    pub bookings: u64,
    pub booked_seats: u64,
    pub cancelled_seats: u64,
    pub expired_seats: u64,
    /// `booked - cancelled - expired`: what the manifest must hold.
    pub expected_seats: u64,
    /// Manifest bookings the ledger does not know (only possible after unanswered holds).
    pub unknown_bookings: u64,
    pub unknown_seats: u64,
}

#[derive(Debug)]
struct ManifestEntry {
    status: String,
    seats: u64,
}

/// What one departure looks like from outside: `GET /v1/departures/{id}` and the manifest,
/// read until two departure reads around the manifest agree (a hold may lapse meanwhile).
async fn observe(
    api: &Api,
    id: &str,
) -> Result<(u64, u64, Option<u64>, Vec<(String, ManifestEntry)>), String> {
    let mut last = None;
    for _ in 0..3 {
        let before = Api::expect(api.departure(id), 200, "read a fixture departure").await?;
        let (seats_taken, entries) = read_manifest(api, id).await?;
        let after = Api::expect(api.departure(id), 200, "read a fixture departure").await?;
        let numbers = |r: &crate::api::Reply| (r.u64("capacity"), r.u64("available"));
        let (Some(capacity), Some(available)) = numbers(&before) else {
            return Err(format!(
                "departure {id}: no capacity/available in {}",
                before.body
            ));
        };
        let stable = numbers(&before) == numbers(&after);
        last = Some((capacity, available, seats_taken, entries));
        if stable {
            break;
        }
    }
    last.ok_or_else(|| format!("departure {id} could not be read"))
}

/// A departure's whole manifest, page after page (`next_cursor`), and its `seats_taken` (the
/// whole departure's, on every page).
async fn read_manifest(
    api: &Api,
    id: &str,
) -> Result<(Option<u64>, Vec<(String, ManifestEntry)>), String> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = api.manifest(id).query(&[("limit", "1000")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page = Api::expect(
            request,
            200,
            "read a fixture manifest (is --token the operator that owns the fixtures?)",
        )
        .await?;
        let bookings = page.body["bookings"]
            .as_array()
            .ok_or_else(|| format!("manifest of {id} has no bookings array"))?;
        entries.extend(bookings.iter().map(|b| {
            (
                b["reference"].as_str().unwrap_or("").to_owned(),
                ManifestEntry {
                    status: b["status"].as_str().unwrap_or("").to_owned(),
                    seats: b["seats"].as_u64().unwrap_or(0),
                },
            )
        }));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok((page.u64("seats_taken"), entries)),
        }
    }
}

/// Checks every fixture departure. `ledger` is what the tool was answered (None after an
/// external tool without one); `expect_seats` is a total seat count reported by such a tool.
pub async fn verify(
    api: &Api,
    fixtures: &Fixtures,
    ledger: Option<&Snapshot>,
    expect_seats: Option<u64>,
) -> Result<Verification, String> {
    let mut violations = Vec::new();
    let mut warnings = Vec::new();
    let mut checks = Vec::new();
    let mut seen_references: HashSet<String> = HashSet::new();

    if let Some(ledger) = ledger {
        for reference in &ledger.duplicate_references {
            violations.push(format!(
                "reference {reference} was returned by more than one 201"
            ));
        }
        violations.extend(ledger.wrong_seats.iter().cloned());
        violations.extend(ledger.idempotency_violations.iter().cloned());
        let fixture_ids: HashSet<&str> =
            fixtures.departures.iter().map(|o| o.id.as_str()).collect();
        let strays = ledger
            .entries
            .iter()
            .filter(|e| !fixture_ids.contains(e.departure_id.as_str()))
            .count();
        if strays > 0 {
            warnings.push(format!(
                "{strays} ledger entries are for departures outside the fixtures; not checked"
            ));
        }
    }

    for fixture in &fixtures.departures {
        let id = fixture.id.as_str();
        let (capacity, available, seats_taken, manifest) = observe(api, id).await?;
        let manifest_seats: u64 = manifest.iter().map(|(_, e)| e.seats).sum();
        let sold = capacity.saturating_sub(available);
        if available > capacity {
            violations.push(format!(
                "departure {id}: available {available} exceeds capacity {capacity}"
            ));
        }
        if manifest_seats != sold {
            violations.push(format!(
                "departure {id}: the manifest holds {manifest_seats} seats in {} bookings, \
                 but capacity {capacity} - available {available} = {sold}",
                manifest.len()
            ));
        }
        if manifest_seats > capacity {
            violations.push(format!(
                "departure {id}: OVERSOLD: {manifest_seats} seats on the manifest, capacity {capacity}"
            ));
        }
        if let Some(taken) = seats_taken.filter(|t| *t != manifest_seats) {
            violations.push(format!(
                "departure {id}: the manifest reports seats_taken {taken} but lists {manifest_seats} seats"
            ));
        }
        if u64::from(fixture.capacity) != capacity {
            warnings.push(format!(
                "departure {id}: capacity is {capacity}, the fixtures say {}; someone changed it",
                fixture.capacity
            ));
        }
        for (reference, entry) in &manifest {
            if !seen_references.insert(reference.clone()) {
                violations.push(format!(
                    "reference {reference} appears more than once on the fixture manifests"
                ));
            }
            if !matches!(entry.status.as_str(), "held" | "confirmed" | "checked_in") {
                violations.push(format!(
                    "departure {id}: manifest booking {reference} has status {:?}, which holds no seats",
                    entry.status
                ));
            }
        }
        let ledger_check = match ledger {
            Some(ledger) => Some(
                check_ledger(
                    api,
                    id,
                    ledger,
                    &manifest,
                    manifest_seats,
                    &mut violations,
                    &mut warnings,
                )
                .await?,
            ),
            None => None,
        };
        checks.push(DepartureCheck {
            id: id.to_owned(),
            capacity,
            available,
            sold,
            manifest_seats,
            manifest_bookings: manifest.len() as u64,
            ledger: ledger_check,
        });
    }
    let total_seats = checks.iter().map(|c| c.manifest_seats).sum();
    if let Some(expected) = expect_seats.filter(|e| *e != total_seats) {
        violations.push(format!(
            "the load tool reported {expected} seats booked, the fixture manifests hold {total_seats}"
        ));
    }
    Ok(Verification {
        passed: violations.is_empty(),
        departures: checks,
        violations,
        warnings,
        total_seats,
    })
}

/// Holds one departure's manifest to the ledger, booking by booking and in total.
async fn check_ledger(
    api: &Api,
    id: &str,
    ledger: &Snapshot,
    manifest: &[(String, ManifestEntry)],
    manifest_seats: u64,
    violations: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<LedgerCheck, String> {
    let on_manifest: HashMap<&str, &ManifestEntry> =
        manifest.iter().map(|(r, e)| (r.as_str(), e)).collect();
    let mut check = LedgerCheck::default();
    let mut known: HashSet<&str> = HashSet::new();
    for entry in ledger.entries.iter().filter(|e| e.departure_id == id) {
        known.insert(entry.reference.as_str());
        check.bookings += 1;
        check.booked_seats += entry.seats;
        let reference = &entry.reference;
        match on_manifest.get(reference.as_str()) {
            Some(listed) => {
                if listed.seats != entry.seats {
                    violations.push(format!(
                        "booking {reference}: 201 for {} seats, the manifest lists {}",
                        entry.seats, listed.seats
                    ));
                }
                let agrees = match entry.state {
                    State::Held => listed.status == "held",
                    State::Confirmed => {
                        matches!(listed.status.as_str(), "confirmed" | "checked_in")
                    }
                    State::Cancelled => false,
                };
                if !agrees && !entry.uncertain {
                    violations.push(format!(
                        "booking {reference}: the tool was told it is {:?}, the manifest lists it as {}",
                        entry.state, listed.status
                    ));
                }
                if entry.state == State::Cancelled && !entry.uncertain {
                    // Told cancelled, so not expected on the manifest: the total fails too.
                    check.cancelled_seats += entry.seats;
                }
            }
            None if entry.state == State::Cancelled => check.cancelled_seats += entry.seats,
            None => {
                let status = match Api::send(api.booking_as_operator(reference)).await.0 {
                    Ok(reply) if reply.status == 200 => {
                        reply.str("status").unwrap_or("").to_owned()
                    }
                    Ok(reply) if (400..500).contains(&reply.status) => {
                        format!("unknown to berth ({})", reply.describe())
                    }
                    Ok(reply) => {
                        return Err(format!(
                            "read booking {reference}: answered {}",
                            reply.describe()
                        ))
                    }
                    Err(e) => {
                        return Err(format!(
                            "read booking {reference}: no response ({})",
                            e.as_str()
                        ))
                    }
                };
                match status.as_str() {
                    "expired" if entry.state == State::Held => check.expired_seats += entry.seats,
                    "cancelled" if entry.uncertain => check.cancelled_seats += entry.seats,
                    _ => violations.push(format!(
                        "booking {reference}: 201 for {} seats, the tool saw it {:?}, but it is \
                         not on the manifest of {id} and berth says it is {status}",
                        entry.seats, entry.state
                    )),
                }
            }
        }
    }
    let unknown: Vec<(&String, &ManifestEntry)> = manifest
        .iter()
        .filter(|(r, _)| !known.contains(r.as_str()))
        .map(|(r, e)| (r, e))
        .collect();
    check.unknown_bookings = unknown.len() as u64;
    check.unknown_seats = unknown.iter().map(|(_, e)| e.seats).sum();
    let unanswered = ledger.unanswered_holds.get(id).copied().unwrap_or(0);
    if !unknown.is_empty() {
        let listed: Vec<String> = unknown
            .iter()
            .take(10)
            .map(|(r, e)| format!("{r} ({} seats, {})", e.seats, e.status))
            .collect();
        let message = format!(
            "departure {id}: {} bookings ({} seats) on the manifest were never answered 201 to \
             the tool: {}{}",
            unknown.len(),
            check.unknown_seats,
            listed.join(", "),
            if unknown.len() > 10 { ", …" } else { "" }
        );
        if unknown.len() as u64 <= unanswered {
            warnings.push(format!(
                "{message}; {unanswered} hold requests got no response, so they may be theirs"
            ));
        } else {
            violations.push(message);
        }
    }
    check.expected_seats = check
        .booked_seats
        .saturating_sub(check.cancelled_seats)
        .saturating_sub(check.expired_seats);
    let attributable = manifest_seats.saturating_sub(if unknown.len() as u64 <= unanswered {
        check.unknown_seats
    } else {
        0
    });
    if attributable != check.expected_seats {
        violations.push(format!(
            "departure {id}: the manifest holds {manifest_seats} seats; the tool was answered 201 \
             for {} seats, cancelled {}, saw {} expire: expected {}",
            check.booked_seats, check.cancelled_seats, check.expired_seats, check.expected_seats
        ));
    }
    Ok(check)
}

/// Verification as text: one line per departure, then violations and warnings.
pub fn render(verification: &Verification, max_lines: usize) -> String {
    let mut out = String::new();
    out.push_str("verification:\n");
    for c in verification.departures.iter().take(max_lines) {
        out.push_str(&format!(
            "  {}  capacity {:>6}  available {:>6}  manifest {:>6} seats in {:>5} bookings",
            c.id, c.capacity, c.available, c.manifest_seats, c.manifest_bookings
        ));
        if let Some(l) = &c.ledger {
            out.push_str(&format!(
                "  | 201s {} seats - cancelled {} - expired {} = {}",
                l.booked_seats, l.cancelled_seats, l.expired_seats, l.expected_seats
            ));
        }
        out.push('\n');
    }
    if verification.departures.len() > max_lines {
        out.push_str(&format!(
            "  … and {} more departures\n",
            verification.departures.len() - max_lines
        ));
    }
    for w in &verification.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    for v in verification.violations.iter().take(50) {
        out.push_str(&format!("  VIOLATION: {v}\n"));
    }
    if verification.violations.len() > 50 {
        out.push_str(&format!(
            "  … and {} more violations (see --json)\n",
            verification.violations.len() - 50
        ));
    }
    out.push_str(&format!(
        "  {} seats on {} fixture manifests\n",
        verification.total_seats,
        verification.departures.len()
    ));
    out.push_str(if verification.passed {
        "  PASSED: no seat sold twice, every seat accounted for\n"
    } else {
        "  FAILED: see the violations above\n"
    });
    out
}
