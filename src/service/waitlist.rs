//! Waiting lines of sold-out departures: travelers join, operators see and prune the line, and
//! every transaction that takes seats leaves those the line is owed alone.
//!
//! The rule (`domain::waitlist`): seats that free up are owed to waiting travelers in the order
//! they joined, each to the first who fits. Owed seats are nobody else's, so a rush racing a
//! cancellation cannot take them: every seat-taking transaction reads the line under the
//! departure's lock ([`hold_back_locked`]), and the lock-free fast path refuses a departure with
//! anyone waiting. The offers themselves (a hold per served traveler) are placed by
//! `holds::waitlist`, from the worker.

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::principal::Principal;
use crate::domain::capacity::{DepartureStatus, Occupancy, SalesStatus};
use crate::domain::customer::{CustomerName, Email, Phone};
use crate::domain::ids::{BookingRef, DepartureId, WaitlistEntryId};
use crate::domain::lang::Lang;
use crate::domain::message::MessageKind;
use crate::domain::pricing::{quote, ItemRequest};
use crate::domain::records::{Customer, DepartureRecord, TourRecord};
use crate::domain::waitlist::{
    held_for_others, owed, Entry, EntryStatus, Sales, WantedItem, MAX_WAITING,
};
use crate::error::{AppError, Problems};
use crate::storage::{catalogue, departures, outbox, waitlist as stored, Store, WriteTx};

/// An offer refused because someone ahead in the line is served first, or the entry is no
/// longer waiting: the line has changed, and the next pass offers afresh.
pub const NOT_SERVED: &str = "waitlist_not_served";

/// How long after its departure a line's entries (names, addresses) are kept.
pub const KEEP_AFTER_DEPARTURE: Duration = Duration::days(30);

/// A traveler asking to wait for seats.
pub struct JoinRequest {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub language: Option<String>,
    pub items: Vec<ItemRequest>,
}

/// A new entry and how many wait ahead of it.
pub struct Joined {
    pub entry: Entry,
    /// 1 for the first in line.
    pub position: usize,
}

/// Where an entry stands for the operator, its hold's fate included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Waiting,
    /// Its hold is live: the traveler has until `expires_at` to complete the booking.
    Offered,
    /// The traveler completed the booking.
    Booked,
    /// The offer lapsed or was cancelled; the line moved on.
    Lapsed,
    Removed,
    /// Still waiting when the departure's sales closed: the line ended, and berth told them.
    Closed,
}

impl State {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Offered => "offered",
            Self::Booked => "booked",
            Self::Lapsed => "lapsed",
            Self::Removed => "removed",
            Self::Closed => "closed",
        }
    }
}

/// An entry as the operator sees it.
pub struct Listed {
    pub entry: Entry,
    pub state: State,
    /// The offered hold's reference and expiry.
    pub hold: Option<(BookingRef, Option<DateTime<Utc>>)>,
}

fn parse_customer(request: &JoinRequest) -> Result<Customer, AppError> {
    let mut p = Problems::new();
    let name = p.check("name", CustomerName::parse(&request.name));
    let present = |text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let (email_text, phone_text) = (present(&request.email), present(&request.phone));
    let email = match &email_text {
        Some(text) => p.check("email", Email::parse(text)).map(Some),
        None => Some(None),
    };
    let phone = match &phone_text {
        Some(text) => p.check("phone", Phone::parse(text)).map(Some),
        None => Some(None),
    };
    if email_text.is_none() && phone_text.is_none() {
        p.check::<(), _>(
            "email",
            Err("give an email or a phone number, to be told when seats free up"),
        );
    }
    let language = p.check("language", Lang::of_traveler(request.language.as_deref()));
    p.into_result()?;
    match (name, email, phone, language) {
        (Some(name), Some(email), Some(phone), Some(language)) => Ok(Customer {
            name: name.as_str().to_owned(),
            email: email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
            phone: phone.map(|p| p.as_str().to_owned()),
            language,
        }),
        _ => Err(AppError::invalid("name", "is invalid")),
    }
}

/// Adds a traveler to a sold-out departure's line. Refused when the seats are for sale now
/// (`409 seats_available`, book them instead), when sales are over (`409 sales_closed`), when
/// this email or phone already waits (`409 already_waiting`) or the line is full
/// (`409 waitlist_full`, [`MAX_WAITING`]).
pub async fn join(
    store: &Store,
    now: DateTime<Utc>,
    departure_id: &str,
    request: JoinRequest,
) -> Result<Joined, AppError> {
    let customer = parse_customer(&request)?;
    let (tour, departure) = departure_with_tour(store, departure_id, now).await?;
    let departure_id = departure.id.clone();
    if tour.archived_at.is_some() {
        return Err(AppError::SalesClosed {
            reason: "the tour is no longer sold",
        });
    }
    let quote = quote(&tour.tour, &departure.prices(&tour), &request.items)?;
    let mut listed = [departure];
    super::resources::limit(store, &tour, &mut listed, now).await?;
    limit(store, &mut listed).await?;
    let [departure] = listed;
    match departure
        .occupancy
        .sales_status(tour.tour.cutoff_minutes, now)
    {
        SalesStatus::Cancelled => {
            return Err(AppError::SalesClosed {
                reason: "the departure is cancelled",
            })
        }
        SalesStatus::Closed => {
            return Err(AppError::SalesClosed {
                reason: "the booking cutoff has passed",
            })
        }
        SalesStatus::Open | SalesStatus::SoldOut => {}
    }
    let available = departure.occupancy.available();
    if quote.seats <= available {
        return Err(AppError::Refused {
            code: "seats_available",
            message: format!("{available} seats are for sale now: book them instead of waiting"),
        });
    }
    let entry = Entry {
        id: WaitlistEntryId::generate(),
        departure_id: departure_id.clone(),
        customer,
        items: quote
            .lines
            .iter()
            .map(|line| WantedItem {
                unit: line.unit.clone(),
                quantity: line.quantity,
            })
            .collect(),
        seats: quote.seats,
        status: EntryStatus::Waiting,
        booking: None,
        joined_at: now,
    };
    let position = transaction!(store, |tx| {
        // Under the departure's lock, like every change to what the line is owed.
        departures::lock(&mut tx, &departure_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (waiting, same) = stored::count_locked(
            &mut tx,
            &departure_id,
            &entry.customer.email,
            entry.customer.phone.as_deref(),
        )
        .await?;
        if same {
            return Err(AppError::Refused {
                code: "already_waiting",
                message: "this email or phone number already waits for this departure".to_owned(),
            });
        }
        if waiting >= MAX_WAITING {
            return Err(AppError::Refused {
                code: "waitlist_full",
                message: format!("at most {MAX_WAITING} travelers wait for one departure"),
            });
        }
        stored::insert(&mut tx, &tour.operator_id, &entry).await?;
        Ok(waiting + 1)
    })
    .await?;
    tracing::info!(departure = %departure_id, entry = %entry.id, seats = entry.seats, position, "joined the waitlist");
    Ok(Joined { entry, position })
}

/// Sets what `departures` (read outside a lock, for showing) hold back for their lines: their
/// `available` then says what is for sale to others. Call after `resources::limit`.
pub async fn limit(store: &Store, departures: &mut [DepartureRecord]) -> Result<(), AppError> {
    if departures.is_empty() {
        return Ok(());
    }
    let ids: Vec<&DepartureId> = departures.iter().map(|d| &d.id).collect();
    let lines = stored::waiting_of(store, &ids).await?;
    for departure in departures.iter_mut() {
        if let Some(line) = lines.get(&departure.id) {
            let occupancy = &mut departure.occupancy;
            occupancy.held_for_waitlist = owed(occupancy.free(), line);
        }
    }
    Ok(())
}

/// Sets what a departure locked in `tx` holds back for its line, for a booking (not an offer of
/// the line's own) about to take seats: call after its `resource_room` is known and lapsed holds
/// are released, since what is owed depends on what is free.
pub async fn hold_back_locked(
    tx: &mut WriteTx,
    departure: &DepartureId,
    occupancy: &mut Occupancy,
) -> Result<(), AppError> {
    let line = stored::waiting_locked(tx, departure).await?;
    occupancy.held_for_waitlist = owed(occupancy.free(), &line);
    Ok(())
}

/// Like [`hold_back_locked`], for an offer to `taker`: what is owed to the others. Refused
/// (`waitlist_not_served`) when the free seats do not serve `taker` (someone ahead fits first,
/// or it no longer waits).
pub fn hold_back_for(
    line: &[crate::domain::waitlist::Waiting],
    taker: &WaitlistEntryId,
    occupancy: &mut Occupancy,
) -> Result<(), AppError> {
    occupancy.held_for_waitlist =
        held_for_others(occupancy.free(), line, Some(taker)).map_err(|_| AppError::Refused {
            code: NOT_SERVED,
            message: "freed seats go to someone ahead in the waiting line".to_owned(),
        })?;
    Ok(())
}

async fn departure_with_tour(
    store: &Store,
    departure_id: &str,
    now: DateTime<Utc>,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let id = DepartureId::parse(departure_id).ok_or(AppError::NotFound)?;
    let departure = departures::get(store, &id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let tour = catalogue::get_tour(store, &departure.tour_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((tour, departure))
}

async fn own_departure(
    store: &Store,
    by: &Principal,
    departure_id: &str,
    now: DateTime<Utc>,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let (tour, departure) = departure_with_tour(store, departure_id, now).await?;
    if tour.operator_id != by.operator {
        return Err(AppError::NotFound);
    }
    Ok((tour, departure))
}

/// A departure's line for its operator, in join order, every entry with where it stands.
pub async fn list(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    departure_id: &str,
) -> Result<Vec<Listed>, AppError> {
    let (_, departure) = own_departure(store, by, departure_id, now).await?;
    let entries = stored::of_departure(store, &by.operator, &departure.id).await?;
    Ok(entries
        .into_iter()
        .map(|(entry, hold)| {
            let state = match (entry.status, &hold) {
                (EntryStatus::Waiting, _) => State::Waiting,
                (EntryStatus::Removed, _) => State::Removed,
                (EntryStatus::Closed, _) => State::Closed,
                (EntryStatus::Offered, None) => State::Lapsed,
                (EntryStatus::Offered, Some(hold)) => match hold.status.as_str() {
                    "held" if hold.expires_at.is_some_and(|at| at > now) => State::Offered,
                    "confirmed" | "checked_in" => State::Booked,
                    _ => State::Lapsed,
                },
            };
            let hold = hold.map(|h| (h.reference, h.expires_at));
            Listed { entry, state, hold }
        })
        .collect())
}

/// A waiting entry and its place in line as it stands now (1 for the first): what the traveler is
/// shown after joining, read afresh, never taken from the request. `None` once it no longer
/// waits (offered, removed, closed) or is gone.
pub async fn place_in_line(
    store: &Store,
    entry: &WaitlistEntryId,
) -> Result<Option<(Entry, usize)>, AppError> {
    let Some(found) = stored::get(store, entry).await? else {
        return Ok(None);
    };
    if found.status != EntryStatus::Waiting {
        return Ok(None);
    }
    let ahead = stored::waiting_ahead_of(store, entry).await?;
    Ok(Some((found, ahead + 1)))
}

/// Takes a waiting traveler out of the line (`409 not_waiting` once offered: the offer is a
/// booking, cancelled like any other).
pub async fn remove(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    departure_id: &str,
    entry_id: &str,
) -> Result<(), AppError> {
    let (_, departure) = own_departure(store, by, departure_id, now).await?;
    let entry_id = WaitlistEntryId::parse(entry_id).ok_or(AppError::NotFound)?;
    let not_waiting = || {
        AppError::Refused {
        code: "not_waiting",
        message: "only a waiting traveler can be removed; an offered hold is a booking: cancel it instead"
            .to_owned(),
    }
    };
    match stored::get(store, &entry_id).await? {
        Some(entry) if entry.departure_id == departure.id => {
            if entry.status != EntryStatus::Waiting {
                return Err(not_waiting());
            }
        }
        _ => return Err(AppError::NotFound),
    }
    transaction!(store, |tx| {
        if !stored::remove(&mut tx, &by.operator, &departure.id, &entry_id, now).await? {
            return Err(not_waiting());
        }
        audit::record(
            &mut tx,
            by,
            now,
            Action::WaitlistRemove,
            Target::WaitlistEntry(entry_id.as_str()),
            Some(&serde_json::json!({ "departure": departure.id.as_str() }).to_string()),
        )
        .await
    })
    .await?;
    tracing::info!(departure = %departure.id, entry = %entry_id, "removed from the waitlist");
    Ok(())
}

/// Takes out of the line an entry that can never be served (it wants units its tour no longer
/// sells), so it holds no seats back.
pub async fn drop_unsellable(
    store: &Store,
    now: DateTime<Utc>,
    entry: &WaitlistEntryId,
) -> Result<(), AppError> {
    transaction!(store, |tx| {
        Ok(stored::drop_waiting(&mut tx, entry, now).await?)
    })
    .await
}

/// Puts an entry whose offer could not be made (the provider did not start its payment, so berth
/// released the hold at once) back in the line in its place: the traveler loses nothing to an
/// outage, and a later pass offers again.
pub async fn reopen(
    store: &Store,
    now: DateTime<Utc>,
    entry: &WaitlistEntryId,
) -> Result<(), AppError> {
    let Some(current) = stored::get(store, entry).await? else {
        return Ok(());
    };
    let Some(booking) = current.booking else {
        return Ok(());
    };
    transaction!(store, |tx| {
        Ok(stored::reopen(&mut tx, entry, &booking, now).await?)
    })
    .await?;
    Ok(())
}

/// Departures one read of `departures_with_waiting` returns at most.
pub(crate) const BATCH: usize = 200;

/// Every departure whose line has someone waiting, soonest first (by start, then id), each with
/// the facts of its sales; read `batch` at a time (keyset on start and id), so a pass sees the
/// 201st line as it sees the first. Only ids and a few facts per departure are kept.
pub(crate) async fn departures_with_waiting(
    store: &Store,
    batch: usize,
) -> Result<Vec<(DepartureId, Sales)>, AppError> {
    let batch = batch.max(1);
    let mut all: Vec<(DepartureId, Sales)> = Vec::new();
    loop {
        let after = all.last().map(|(id, sales)| (sales.starts_at, id.clone()));
        let read = stored::departures_with_waiting(store, after.as_ref(), batch).await?;
        let done = read.len() < batch;
        all.extend(read);
        if done {
            return Ok(all);
        }
    }
}

/// Ends the lines of departures that can no longer be sold (their cutoff passed, they departed,
/// were cancelled, or their tour was archived): each traveler still waiting is `closed` and told
/// so once (`waitlist_closed`, by email and SMS). Returns how many entries it closed. One
/// departure that fails does not stop the others.
///
/// Safe on several instances: each line is closed under its departure's lock, sales judged again
/// there, and each entry is closed only while it still waits, its message enqueued in the same
/// transaction; an instance that comes second closes (and tells) nobody.
pub async fn close_ended(store: &Store, now: DateTime<Utc>) -> Result<usize, AppError> {
    let mut closed = 0;
    for (departure, sales) in departures_with_waiting(store, BATCH).await? {
        if !sales.closed(now) {
            continue;
        }
        match close_line(store, now, &departure, sales).await {
            Ok(count) => closed += count,
            Err(error) => {
                tracing::warn!(departure = %departure, %error, "could not close the waitlist of a departure no longer sold")
            }
        }
    }
    Ok(closed)
}

async fn close_line(
    store: &Store,
    now: DateTime<Utc>,
    departure: &DepartureId,
    sales: Sales,
) -> Result<usize, AppError> {
    let closed = transaction!(store, |tx| {
        let Some(locked) = departures::lock(&mut tx, departure).await? else {
            return Ok(0);
        };
        // Judged again on the locked row: the departure may have moved later meanwhile.
        let sales = Sales {
            starts_at: locked.occupancy.starts_at,
            cancelled: locked.occupancy.status == DepartureStatus::Cancelled,
            ..sales
        };
        if !sales.closed(now) {
            return Ok(0);
        }
        let mut closed = 0;
        for waiting in stored::waiting_locked(&mut tx, departure).await? {
            if stored::close(&mut tx, &waiting.id, now).await? {
                outbox::enqueue_waitlist(&mut tx, &waiting.id, MessageKind::WaitlistClosed, now)
                    .await?;
                closed += 1;
            }
        }
        Ok(closed)
    })
    .await?;
    if closed > 0 {
        tracing::info!(departure = %departure, closed, "sales closed: the waitlist ended and its travelers were told");
    }
    Ok(closed)
}

/// Deletes the lines of departures that left more than [`KEEP_AFTER_DEPARTURE`] ago; returns
/// how many entries.
pub async fn purge(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    let before = now - KEEP_AFTER_DEPARTURE;
    let mut purged = 0;
    loop {
        let batch = transaction!(store, |tx| {
            Ok(stored::purge_before(&mut tx, before, 500).await?)
        })
        .await?;
        purged += batch;
        if batch < 500 {
            return Ok(purged);
        }
    }
}
