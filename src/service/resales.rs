//! Bookings a reseller makes through OCTO: held under the reseller's uuid (its idempotency
//! key), paid on account, confirmed with the traveller's contact, extended, changed (units,
//! departure, tour), cancelled by the tour's policy, and read only by the reseller that made
//! them. Seats move under the same departure locks, through the same plans, as every other
//! booking's.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use super::bookings::{self, Caller, ResaleChange};
use super::holds::{self, NewHold};
use super::operators;
use super::payments::Payments;
use super::plans::{departure_now, lock_move, shift_seats, MoveLocks};
use super::{finish, with_retry};
use crate::domain::booking::BookingStatus;
use crate::domain::booking_plan::Change;
use crate::domain::hold_expiry::HoldTimes;
use crate::domain::ids::BookingId;
use crate::domain::pricing::{quote, ItemRequest};
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::domain::reschedule::{quote_cancellation, Requester};
use crate::domain::reseller::{
    short_text, Contact, Owed, Resale, ResaleMessages, ResaleUnit, Reseller,
};
use crate::error::AppError;
use crate::storage::reseller_bookings::{self, Filter};
use crate::storage::{bookings as store_bookings, departures, ledger, reseller_receivables, Store};

/// A reseller's booking: the booking and what the reseller sent with it.
#[derive(Debug, Clone)]
pub struct ResaleBooking {
    pub booking: BookingRecord,
    pub resale: Resale,
}

/// One traveller a reseller asks seats for: the unit and, optionally, its own uuid.
#[derive(Debug, Clone)]
pub struct UnitAsk {
    pub unit_id: String,
    pub uuid: Option<String>,
}

/// A reseller's reservation, its product, departure and units already resolved.
pub struct Reservation<'a> {
    pub tour: &'a TourRecord,
    pub departure: &'a DepartureRecord,
    pub units: &'a [UnitAsk],
    pub uuid: Option<&'a str>,
    pub expiration: Option<Duration>,
    pub notes: Option<String>,
}

/// A lowercase random (version 4) UUID.
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A uuid as berth keeps it: trimmed and lowercase, 1 to 100 of `a-z`, `0-9`, `-` and `_`
/// (so both databases compare it byte for byte).
pub fn normalize_uuid(uuid: &str) -> Option<String> {
    let uuid = uuid.trim().to_ascii_lowercase();
    let usable = (1..=100).contains(&uuid.len())
        && uuid
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    usable.then_some(uuid)
}

fn items_of(units: &[ResaleUnit]) -> Vec<ItemRequest> {
    let mut items: Vec<ItemRequest> = Vec::new();
    for unit in units {
        match items.iter_mut().find(|i| i.unit == unit.unit_id) {
            Some(item) => item.quantity += 1,
            None => items.push(ItemRequest {
                unit: unit.unit_id.clone(),
                quantity: 1,
            }),
        }
    }
    items
}

/// The travellers a change asks for: those whose uuid the booking already has keep it, the
/// rest get a new one; uuids stay unique within the booking.
fn unit_items(asked: &[UnitAsk]) -> Result<Vec<ResaleUnit>, AppError> {
    let mut out: Vec<ResaleUnit> = Vec::with_capacity(asked.len());
    for unit in asked {
        let uuid = match unit.uuid.as_deref() {
            Some(uuid) => normalize_uuid(uuid)
                .ok_or_else(|| AppError::invalid("unitItems.uuid", "is not a usable uuid"))?,
            None => new_uuid(),
        };
        if out.iter().any(|u| u.uuid == uuid) {
            return Err(AppError::invalid(
                "unitItems.uuid",
                "each traveller needs a uuid of its own",
            ));
        }
        out.push(ResaleUnit {
            uuid,
            unit_id: unit.unit_id.clone(),
        });
    }
    Ok(out)
}

/// Holds seats for a reseller. With a uuid it already used, the booking it made then is the
/// answer (the uuid is the reseller's idempotency key), whatever this request says.
pub async fn reserve(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    times: &HoldTimes,
    reseller: &Reseller,
    reservation: Reservation<'_>,
) -> Result<ResaleBooking, AppError> {
    let uuid = match reservation.uuid {
        Some(uuid) => {
            normalize_uuid(uuid).ok_or_else(|| AppError::invalid("uuid", "is not a usable uuid"))?
        }
        None => new_uuid(),
    };
    if let Some(found) = find(store, reseller, &uuid).await? {
        return Ok(found);
    }
    let units = unit_items(reservation.units)?;
    let contact = Contact::default();
    let resale = Resale {
        reseller_id: reseller.id.clone(),
        uuid: uuid.clone(),
        reseller_reference: None,
        contact: contact.clone(),
        notes: reservation.notes,
        unit_items: units.clone(),
        confirmed_at: None,
        cancel_refund: None,
        cancel_note: None,
    };
    // No contact yet: nobody to write to, whatever the operator's setting.
    let customer = ResaleMessages::Never.customer(&contact, &reseller.name, false);
    let close = reservation
        .departure
        .occupancy
        .sales_close_at(reservation.tour.tour.cutoff_minutes);
    let until = times.expiry(now, reservation.expiration, close);
    let ttl = (until - now).max(Duration::seconds(1));
    let items = items_of(&units);
    let held = holds::place_resale_hold(
        store,
        payments,
        now,
        ttl,
        NewHold {
            departure_id: reservation.departure.id.clone(),
            customer,
            items: &items,
            resale: Some(&resale),
            promo_code: None,
            waitlist: None,
        },
    )
    .await;
    match held {
        Ok(booking) => Ok(ResaleBooking { booking, resale }),
        // A concurrent copy of this request made it first: that booking is the answer.
        Err(AppError::Refused {
            code: holds::UUID_TAKEN,
            ..
        }) => find(store, reseller, &uuid).await?.ok_or(AppError::Busy),
        Err(error) => Err(error),
    }
}

/// The booking the reseller made under `uuid`; another reseller's uuid finds nothing.
pub async fn find(
    store: &Store,
    reseller: &Reseller,
    uuid: &str,
) -> Result<Option<ResaleBooking>, AppError> {
    let Some(uuid) = normalize_uuid(uuid) else {
        return Ok(None);
    };
    let Some((id, resale)) = reseller_bookings::find(store, &reseller.id, &uuid).await? else {
        return Ok(None);
    };
    let Some(booking) = store_bookings::find_by_id(store, id.as_str()).await? else {
        return Ok(None);
    };
    Ok(Some(ResaleBooking { booking, resale }))
}

/// Refuses a contact field berth would not keep, naming it.
fn check_contact(contact: &Contact) -> Result<(), AppError> {
    contact.check().map_err(|field| {
        AppError::invalid(
            format!("contact.{field}"),
            "is too long or holds control characters",
        )
    })
}

/// The booking the reseller made under `uuid`, read again after a change (its answer).
async fn own(store: &Store, reseller: &Reseller, uuid: &str) -> Result<ResaleBooking, AppError> {
    find(store, reseller, uuid).await?.ok_or(AppError::NotFound)
}

fn acting_for(booking: &BookingRecord) -> Caller {
    Caller {
        traveler_of: Some(booking.reference.clone()),
        ..Caller::default()
    }
}

/// What a confirmation sends.
pub struct Confirmation {
    pub contact: Contact,
    pub reseller_reference: Option<String>,
    pub email_receipt: bool,
}

/// Confirms a reseller's hold with the traveller's contact (kept as sent; berth writes to it
/// only as the operator's [`ResaleMessages`] setting allows).
pub async fn confirm(
    store: &Store,
    now: DateTime<Utc>,
    reseller: &Reseller,
    current: ResaleBooking,
    confirmation: Confirmation,
) -> Result<ResaleBooking, AppError> {
    check_contact(&confirmation.contact)?;
    let customer = operators::reseller_messages(store, &reseller.operator_id)
        .await?
        .customer(
            &confirmation.contact,
            &reseller.name,
            confirmation.email_receipt,
        );
    let resale = Resale {
        contact: confirmation.contact,
        reseller_reference: confirmation
            .reseller_reference
            .or(current.resale.reseller_reference.clone()),
        confirmed_at: Some(now),
        ..current.resale.clone()
    };
    let change = ResaleChange {
        resale: &resale,
        customer: Some(&customer),
        // Confirmed, the reseller owes the booking's price less its commission.
        owed: Owed::of_lines(&current.booking.items, reseller.commission_percent),
    };
    bookings::transition(
        store,
        now,
        current.booking.reference.as_str(),
        &acting_for(&current.booking),
        Change::Confirm,
        Some(&change),
    )
    .await?;
    own(store, reseller, &current.resale.uuid).await
}

/// Extends a reseller's hold (see [`bookings::extend`]).
pub async fn extend(
    store: &Store,
    now: DateTime<Utc>,
    times: &HoldTimes,
    current: ResaleBooking,
    asked: Option<Duration>,
) -> Result<ResaleBooking, AppError> {
    let booking = bookings::extend(
        store,
        now,
        current.booking.reference.as_str(),
        &acting_for(&current.booking),
        times,
        asked,
    )
    .await?;
    Ok(ResaleBooking {
        booking,
        resale: current.resale,
    })
}

/// The share (percent) of the price a cancellation made now gives back under the tour's
/// policy, and its OCTO name. A hold cost nothing, so it is `FULL`.
async fn refund_share(
    store: &Store,
    now: DateTime<Utc>,
    booking: &BookingRecord,
) -> Result<(i64, &'static str), AppError> {
    if booking.status == BookingStatus::Held {
        return Ok((100, "FULL"));
    }
    let tour = super::catalogue::tour(store, &booking.tour_id).await?;
    let departure = departures::get(store, &booking.departure_id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let quote = quote_cancellation(
        booking.status,
        booking.total.max(1),
        departure.occupancy.starts_at,
        &tour.tour.cancellation_policy,
        Requester::Traveler,
        now,
    );
    let percent = quote.refund_percent.clamp(0, 100);
    Ok((
        percent,
        match percent {
            100 => "FULL",
            1..=99 => "PARTIAL",
            _ => "NONE",
        },
    ))
}

/// Cancels a reseller's booking, by the tour's policy as a traveller's cancellation.
pub async fn cancel(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    reseller: &Reseller,
    current: ResaleBooking,
    reason: Option<String>,
) -> Result<ResaleBooking, AppError> {
    if reason.as_deref().is_some_and(|r| !short_text(r)) {
        return Err(AppError::invalid(
            "reason",
            "must be at most 255 characters without control characters",
        ));
    }
    let (percent, refund) = refund_share(store, now, &current.booking).await?;
    let resale = Resale {
        cancel_refund: Some(refund.to_owned()),
        cancel_note: reason,
        ..current.resale.clone()
    };
    // What the policy keeps of a confirmed booking's price is still owed; of a hold, nothing.
    let total = current.booking.total;
    let owed = match (current.booking.status, percent) {
        (BookingStatus::Confirmed, 0) => {
            Owed::of_lines(&current.booking.items, reseller.commission_percent)
        }
        (BookingStatus::Confirmed, _) => {
            Owed::on(total - total * percent / 100, reseller.commission_percent)
        }
        _ => Owed::on(0, 0),
    };
    let change = ResaleChange {
        resale: &resale,
        customer: None,
        owed,
    };
    bookings::transition(
        store,
        now,
        current.booking.reference.as_str(),
        &acting_for(&current.booking),
        Change::Cancel,
        Some(&change),
    )
    .await?;
    super::payments::send_refunds_now(store, payments, &current.booking.id, now).await;
    own(store, reseller, &current.resale.uuid).await
}

/// What a change asks for; `None` leaves a part as it is.
#[derive(Default)]
pub struct Update<'a> {
    pub target: Option<(&'a TourRecord, &'a DepartureRecord)>,
    pub units: Option<&'a [UnitAsk]>,
    pub contact: Option<Contact>,
    pub notes: Option<String>,
    pub reseller_reference: Option<String>,
    pub email_receipt: Option<bool>,
}

/// Changes a reseller's booking, on hold or confirmed, while it can still be cancelled: its
/// contact, notes or reference, and its units and departure (of its tour or another), in one
/// transaction that locks the departures in id order and takes the seats by the same rule as
/// a hold. The status stays as it is; the price is the target tour's today.
pub async fn update(
    store: &Store,
    now: DateTime<Utc>,
    reseller: &Reseller,
    current: ResaleBooking,
    update: Update<'_>,
) -> Result<ResaleBooking, AppError> {
    if let Some(contact) = &update.contact {
        check_contact(contact)?;
    }
    let mut resale = current.resale.clone();
    if let Some(contact) = update.contact {
        resale.contact = contact;
    }
    if let Some(notes) = update.notes {
        resale.notes = Some(notes);
    }
    if let Some(reference) = update.reseller_reference {
        resale.reseller_reference = Some(reference);
    }
    if let Some(units) = update.units {
        resale.unit_items = unit_items(units)?;
    }
    let receipt = update
        .email_receipt
        .unwrap_or(!current.booking.customer.email.is_empty());
    let customer = operators::reseller_messages(store, &reseller.operator_id)
        .await?
        .customer(&resale.contact, &reseller.name, receipt);
    let source_tour = super::catalogue::tour(store, &current.booking.tour_id).await?;
    let target_tour = match update.target {
        Some((tour, _)) => tour.clone(),
        None => source_tour.clone(),
    };
    let target = update
        .target
        .map_or(current.booking.departure_id.clone(), |(_, d)| d.id.clone());
    // Seats move, and the price is today's, only when the units or the departure change; a
    // change of contact, notes or reference keeps the booking's seats and frozen prices.
    let moving = update.units.is_some() || update.target.is_some();
    if moving
        && (target_tour.archived_at.is_some()
            || !reseller.sells(&target_tour.operator_id, &target_tour.id))
    {
        return Err(AppError::Refused {
            code: "not_changeable",
            message: "this tour is no longer sold through you".to_owned(),
        });
    }
    // At what the target departure sells each unit now (its own prices, its tour's rules).
    let target_prices = match update.target {
        Some((_, departure)) => departure.prices(&target_tour),
        None => departures::get(store, &current.booking.departure_id, now)
            .await?
            .ok_or(AppError::NotFound)?
            .prices(&target_tour),
    };
    let priced = quote(
        &target_tour.tour,
        &target_prices,
        &items_of(&resale.unit_items),
    )?;
    let booking_id = current.booking.id.clone();
    with_retry(store, || async {
        // Where the booking is now; checked again under its lock.
        let source = departure_now(store, &booking_id).await?;
        let mut tx = store.begin_write().await?;
        let result = async {
            let MoveLocks { from, to, booking: locked } =
                lock_move(&mut tx, now, &booking_id, &source, &target).await?;
            let to = to.ok_or(AppError::NotFound)?;
            if locked.status != current.booking.status {
                // Changed by a concurrent request between the read and the lock: what this
                // change would write was computed from the old state, so it is answered as
                // busy (retried, then 503 / OCTO's INTERNAL_SERVER_ERROR with Retry-After).
                return Err(AppError::Busy);
            }
            if ledger::net(&mut tx, &booking_id).await? != 0 {
                return Err(AppError::Refused {
                    code: "not_changeable",
                    message: "a booking with payments recorded cannot be changed here".to_owned(),
                });
            }
            let live = matches!(
                locked.status,
                BookingStatus::Held | BookingStatus::Confirmed
            ) && !locked.is_lapsed_hold(now);
            let starts = from.occupancy.starts_at;
            if !live || now >= starts {
                return Err(AppError::Refused {
                    code: "not_changeable",
                    message: format!(
                        "a booking that is {} can no longer be changed",
                        locked.effective_status(now)
                    ),
                });
            }
            if !moving {
                store_bookings::set_customer(&mut tx, &booking_id, &customer, now).await?;
                reseller_bookings::update(&mut tx, &booking_id, &resale).await?;
                return Ok(());
            }
            // A confirmed booking moves only while its tour allows rescheduling and a
            // cancellation would still refund it in full: otherwise a move to a later
            // departure would buy the reseller a better refund than the policy gives.
            if locked.status == BookingStatus::Confirmed && to.id != from.id {
                let full = quote_cancellation(
                    locked.status,
                    locked.total.max(1),
                    starts,
                    &source_tour.tour.cancellation_policy,
                    Requester::Traveler,
                    now,
                )
                .refund_percent
                    >= 100;
                if !source_tour.tour.reschedule_allowed || !full {
                    return Err(AppError::Refused {
                        code: "not_changeable",
                        message: "this booking can no longer move to another departure: its tour's rules do not allow it now".to_owned(),
                    });
                }
            }
            // The seats this booking takes where it goes, beyond what it has there already.
            let cutoff = target_tour.tour.cutoff_minutes;
            let taking = if to.id == from.id {
                i64::from(priced.seats) - i64::from(locked.seats)
            } else {
                i64::from(priced.seats)
            };
            // Also with no new seats: a departure past its cutoff or cancelled takes no change.
            let needed = u32::try_from(taking.max(0)).unwrap_or(u32::MAX);
            to.occupancy.check_hold(needed, cutoff, now)?;
            shift_seats(
                &mut tx,
                &locked.operator_id,
                &from.id,
                &to.id,
                locked.seats,
                priced.seats,
                now,
            ).await?;
            let changed = BookingRecord {
                departure_id: to.id.clone(),
                tour_id: target_tour.id.clone(),
                seats: priced.seats,
                total: priced.total,
                items: priced.lines.clone(),
                ..locked
            };
            store_bookings::rearrange(&mut tx, &changed, now).await?;
            // A hold moved to a departure whose sales close sooner lapses by then.
            if let (BookingStatus::Held, Some(expires_at)) = (changed.status, changed.expires_at) {
                let close = to.occupancy.sales_close_at(cutoff);
                if close < expires_at {
                    store_bookings::set_expiry(&mut tx, &booking_id, close, now).await?;
                }
            }
            store_bookings::set_customer(&mut tx, &booking_id, &customer, now).await?;
            reseller_bookings::update(&mut tx, &booking_id, &resale).await?;
            if to.id != from.id {
                super::webhooks::events::booking_changed(
                    &mut tx,
                    &changed,
                    crate::domain::webhook::EventType::BookingRescheduled,
                    now,
                )
                .await?;
            }
            if changed.status == BookingStatus::Confirmed {
                let owed = Owed::of_lines(&changed.items, reseller.commission_percent);
                reseller_receivables::restate(
                    &mut tx,
                    &changed.operator_id,
                    &reseller.id,
                    &booking_id,
                    &changed.currency,
                    owed,
                    now,
                )
                .await?;
            }
            Ok(())
        }
        .await;
        finish(tx, result).await
    })
    .await?;
    tracing::info!(booking = %current.booking.reference, "reseller booking changed");
    own(store, reseller, &current.resale.uuid).await
}

/// A reseller's bookings matching `filter`, newest first (at most 250).
pub async fn list(
    store: &Store,
    reseller: &Reseller,
    filter: &Filter<'_>,
) -> Result<Vec<ResaleBooking>, AppError> {
    let resales = reseller_bookings::list(store, &reseller.id, filter, LIST_LIMIT).await?;
    let ids: Vec<BookingId> = resales.iter().map(|(id, _)| id.clone()).collect();
    let mut bookings: std::collections::HashMap<BookingId, BookingRecord> =
        store_bookings::find_by_ids(store, &ids)
            .await?
            .into_iter()
            .map(|b| (b.id.clone(), b))
            .collect();
    // Three reads in all, whatever the list's length; in the list's order.
    Ok(resales
        .into_iter()
        .filter_map(|(id, resale)| {
            bookings
                .remove(&id)
                .map(|booking| ResaleBooking { booking, resale })
        })
        .collect())
}

/// The most bookings one list answers (OCTO has no paging; a narrower filter finds the rest).
pub const LIST_LIMIT: u32 = 250;
