//! The tool's own record of what berth promised it: every hold answered 201 (reference, seats,
//! departure) and what the tool did to it afterwards. The verifier holds berth to this record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What the tool believes a booking is, from the responses it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Held,
    Confirmed,
    Cancelled,
}

/// One booking berth answered 201 for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub reference: String,
    pub departure_id: String,
    pub seats: u64,
    #[serde(default = "held")]
    pub state: State,
    /// A confirm or cancel of this booking got no response, so its state is unknown.
    #[serde(default)]
    pub uncertain: bool,
}

fn held() -> State {
    State::Held
}

/// Everything the verifier needs from a run, detached from the locks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub entries: Vec<Entry>,
    /// References berth returned more than once (each one is a violation).
    pub duplicate_references: Vec<String>,
    /// Per departure: hold requests that got no response (they may or may not have booked).
    pub unanswered_holds: BTreeMap<String, u64>,
    /// 201s whose seats differ from what was asked for.
    pub wrong_seats: Vec<String>,
    /// `retry`: Idempotency-Keys answered 201 with more than one booking, or not replayed.
    #[serde(default)]
    pub idempotency_violations: Vec<String>,
    /// `retry`: keys sent, and keys that produced a booking.
    #[serde(default)]
    pub keys: u64,
    #[serde(default)]
    pub keys_booked: u64,
}

impl Snapshot {
    /// Reads a ledger in JSON Lines, one entry per 201 (`{"reference", "departure_id",
    /// "seats", "state"?}`), as the Locust file writes it.
    pub fn read_jsonl(path: &str) -> Result<Snapshot, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let ledger = Ledger::default();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(line)
                .map_err(|e| format!("{path}:{}: not a ledger entry: {e}", n + 1))?;
            let state = entry.state;
            let reference = entry.reference.clone();
            ledger.held(entry);
            if state != State::Held {
                ledger.set_state(&reference, state);
            }
        }
        Ok(ledger.snapshot())
    }
}

#[derive(Default)]
pub struct Ledger {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    order: Vec<String>,
    duplicates: Vec<String>,
    unanswered: BTreeMap<String, u64>,
    wrong_seats: Vec<String>,
    idempotency_violations: Vec<String>,
    keys: u64,
    keys_booked: u64,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a 201 hold. A reference seen before is kept as evidence, not overwritten.
    pub fn held(&self, entry: Entry) {
        let mut inner = self.lock();
        if inner.entries.contains_key(&entry.reference) {
            inner.duplicates.push(entry.reference);
            return;
        }
        inner.order.push(entry.reference.clone());
        inner.entries.insert(entry.reference.clone(), entry);
    }

    pub fn wrong_seats(&self, evidence: String) {
        self.lock().wrong_seats.push(evidence);
    }

    /// A read answered 200 with something it must not say (evidence kept for the first 20; one
    /// is enough to fail the verification).
    pub fn wrong_answer(&self, evidence: String) {
        let mut inner = self.lock();
        if inner.wrong_seats.len() < 20 {
            inner.wrong_seats.push(evidence);
        }
    }

    /// One Idempotency-Key done: whether it booked, and what went wrong with it, if anything.
    pub fn key_done(&self, booked: bool, violation: Option<String>) {
        let mut inner = self.lock();
        inner.keys += 1;
        inner.keys_booked += u64::from(booked);
        inner.idempotency_violations.extend(violation);
    }

    pub fn unanswered_hold(&self, departure: &str) {
        *self
            .lock()
            .unanswered
            .entry(departure.to_owned())
            .or_default() += 1;
    }

    pub fn set_state(&self, reference: &str, state: State) {
        if let Some(entry) = self.lock().entries.get_mut(reference) {
            entry.state = state;
        }
    }

    pub fn set_uncertain(&self, reference: &str) {
        if let Some(entry) = self.lock().entries.get_mut(reference) {
            entry.uncertain = true;
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            entries: inner
                .order
                .iter()
                .filter_map(|r| inner.entries.get(r).cloned())
                .collect(),
            duplicate_references: inner.duplicates.clone(),
            unanswered_holds: inner.unanswered.clone(),
            wrong_seats: inner.wrong_seats.clone(),
            idempotency_violations: inner.idempotency_violations.clone(),
            keys: inner.keys,
            keys_booked: inner.keys_booked,
        }
    }
}
