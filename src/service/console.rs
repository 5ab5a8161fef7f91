//! What the operator console shows that no API endpoint does as one answer: the "Today" board.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::reports::{self, CurrencyTotals};
use crate::domain::booking::{BookingEvent, BookingStatus};
use crate::domain::ids::{DepartureId, OperatorId};
use crate::error::AppError;
use crate::storage::dashboard::{self, DepartureLoad};
use crate::storage::{outbox, Store};

/// A departure on the board, with the day it falls on in its tour's zone.
#[derive(Debug, Clone)]
pub struct BoardDeparture {
    pub load: DepartureLoad,
    pub local_date: NaiveDate,
    /// `HH:MM` in the tour's zone.
    pub local_time: String,
    pub tomorrow: bool,
}

/// The "Today" board of one operator.
#[derive(Debug, Clone)]
pub struct Today {
    /// Departures of today and tomorrow, each day judged in its tour's own zone.
    pub departures: Vec<BoardDeparture>,
    /// Messages that failed for good (`failed`) or ran out of attempts (`dead`).
    pub undelivered: usize,
    /// The ledger's totals for the current UTC day, per currency.
    pub revenue: Vec<CurrencyTotals>,
}

/// Today and tomorrow for `operator`. Tours may sit in different zones, so departures are read
/// for a window wide enough for any zone and each is kept when its local date is today or
/// tomorrow where it departs.
pub async fn today(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
) -> Result<Today, AppError> {
    let loads = dashboard::departure_loads(
        store,
        operator,
        now - Duration::hours(26),
        now + Duration::hours(74),
        now,
    )
    .await?;
    let departures = loads
        .into_iter()
        .filter_map(|load| {
            let tz: chrono_tz::Tz = load.timezone.parse().ok()?;
            let today = now.with_timezone(&tz).date_naive();
            let local = load.starts_at.with_timezone(&tz);
            let local_date = local.date_naive();
            let tomorrow = local_date == today.succ_opt()?;
            (local_date == today || tomorrow).then(|| BoardDeparture {
                local_time: local.format("%H:%M").to_string(),
                local_date,
                tomorrow,
                load,
            })
        })
        .collect();
    let mut undelivered = 0;
    for status in ["failed", "dead"] {
        undelivered += outbox::list(store, operator, Some(status), 500)
            .await?
            .len();
    }
    let day = now.date_naive().to_string();
    let (_, _, revenue) = reports::revenue(store, now, operator, Some(&day), Some(&day)).await?;
    Ok(Today {
        departures,
        undelivered,
        revenue,
    })
}

/// The operator's departures whose local date, in each tour's own zone, lies in
/// `[first, last]` (a calendar month or week), with their load, from one query.
pub async fn departures_between_days(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<BoardDeparture>, AppError> {
    // Wide enough for any zone (UTC-12 to UTC+14) on both ends.
    let from = first.and_time(chrono::NaiveTime::MIN).and_utc() - Duration::hours(15);
    let to = last.and_time(chrono::NaiveTime::MIN).and_utc() + Duration::hours(24 + 13);
    let loads = dashboard::departure_loads(store, operator, from, to, now).await?;
    Ok(loads
        .into_iter()
        .filter_map(|load| {
            let tz: chrono_tz::Tz = load.timezone.parse().ok()?;
            let local = load.starts_at.with_timezone(&tz);
            let local_date = local.date_naive();
            (first..=last)
                .contains(&local_date)
                .then(|| BoardDeparture {
                    local_time: local.format("%H:%M").to_string(),
                    local_date,
                    tomorrow: false,
                    load,
                })
        })
        .collect())
}

/// What cancelling a departure would do, shown before the operator confirms.
#[derive(Debug, Clone, Default)]
pub struct CancellationPreview {
    /// Bookings it cancels (held and confirmed; checked-in bookings stay).
    pub bookings: usize,
    /// Their seats.
    pub travelers: u32,
    /// What goes back to travelers, per currency: everything paid and not yet refunded, as
    /// `catalogue::cancel_departure` queues it.
    pub refunds: Vec<(String, i64)>,
}

/// The preview of `catalogue::cancel_departure` for a departure of `operator`.
pub async fn cancellation_preview(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    id: &DepartureId,
) -> Result<CancellationPreview, AppError> {
    let (_, _, list) = super::catalogue::manifest(store, now, operator, id).await?;
    // The bookings `cancel_departure` cancels: those a cancellation moves, by the state machine.
    let cancelled = BookingStatus::sources_of(BookingEvent::Cancel);
    let mut preview = CancellationPreview::default();
    for booking in list
        .iter()
        .filter(|b| cancelled.contains(&b.effective_status(now)))
    {
        preview.bookings += 1;
        preview.travelers += booking.seats;
        let payment = super::payments::summary(store, booking).await?;
        let back = (payment.paid - payment.refunded - payment.refund_pending).max(0);
        match preview
            .refunds
            .iter_mut()
            .find(|(currency, _)| *currency == booking.currency)
        {
            Some((_, total)) => *total += back,
            None => preview.refunds.push((booking.currency.clone(), back)),
        }
    }
    Ok(preview)
}

/// One booking as the console's booking page shows it: everything about it in one answer.
pub struct BookingDetail {
    pub booking: crate::domain::records::BookingRecord,
    pub tour: crate::domain::records::TourRecord,
    pub departure: crate::domain::records::DepartureRecord,
    pub payment: super::payments::PaymentSummary,
    pub refunds: Vec<crate::storage::payments::RefundRow>,
    /// Every message about it, oldest first, with its delivery state.
    pub messages: Vec<outbox::OutboxRow>,
    /// What operators did to it, from the audit log, oldest first.
    pub history: Vec<crate::storage::accounts::AuditRow>,
}

/// A booking of `operator` with its payment, refunds, messages and history; another operator's
/// booking, or none, is not found.
pub async fn booking_detail(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    reference: &str,
) -> Result<BookingDetail, AppError> {
    use crate::domain::ids::BookingRef;
    use crate::storage::{accounts, bookings, payments as store_payments};
    let reference = BookingRef::parse(reference).ok_or(AppError::NotFound)?;
    let booking = bookings::find_by_reference(store, &reference)
        .await?
        .filter(|b| &b.operator_id == operator)
        .ok_or(AppError::NotFound)?;
    let (tour, departure) = super::catalogue::departure(store, now, &booking.departure_id).await?;
    let payment = super::payments::summary(store, &booking).await?;
    let refunds = store_payments::refunds_of(store, &booking.id).await?;
    let messages = outbox::of_booking(store, operator, &booking.id).await?;
    let target = super::audit::Target::Booking(booking.reference.as_str()).spelled();
    let history = accounts::audit_of_target(store, operator, &target, 200).await?;
    Ok(BookingDetail {
        booking,
        tour,
        departure,
        payment,
        refunds,
        messages,
        history,
    })
}

/// A message in the console's list, with the reference of the booking it is about.
pub struct ListedMessage {
    pub message: outbox::OutboxRow,
    pub reference: Option<String>,
}

/// The messages the console lists: `undelivered` (failed and dead, newest first), or one
/// status of `domain::message::STATUSES`; at most 500.
pub async fn messages(
    store: &Store,
    operator: &OperatorId,
    status: &str,
) -> Result<Vec<ListedMessage>, AppError> {
    let mut rows = if status == "undelivered" {
        let mut rows = super::notifications::list(store, operator, Some("failed")).await?;
        rows.extend(super::notifications::list(store, operator, Some("dead")).await?);
        rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        rows.truncate(500);
        rows
    } else {
        super::notifications::list(store, operator, Some(status)).await?
    };
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|m| m.booking_id.as_deref())
        .collect();
    let references = crate::storage::bookings::references_of(store, operator, &ids).await?;
    Ok(rows
        .drain(..)
        .map(|message| ListedMessage {
            reference: message
                .booking_id
                .as_ref()
                .and_then(|id| references.get(id).cloned()),
            message,
        })
        .collect())
}
