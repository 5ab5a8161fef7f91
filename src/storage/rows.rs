//! Row structs shared by both backends, and their conversion into domain records. A row that
//! does not convert is reported as corrupt, never silently skipped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StorageError;
use crate::domain::booking::BookingStatus;
use crate::domain::capacity::{DepartureStatus, Occupancy};
use crate::domain::ids::{BookingId, BookingRef, DepartureId, OperatorId, ScheduleId, TourId};
use crate::domain::lang::Lang;
use crate::domain::pricing::QuoteLine;
use crate::domain::records::{
    AppliedPromo, BookingRecord, Customer, DepartureRecord, ScheduleRecord, TourRecord,
};
use crate::domain::tour::{Tour, TourDraft, UnitDraft};

fn corrupt(what: &str, id: &str, why: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what} {id}: {why}"))
}

/// Counts are stored as BIGINT; anything outside u32 is corruption, not a value to wrap.
fn count(what: &str, id: &str, value: i64) -> Result<u32, StorageError> {
    u32::try_from(value).map_err(|_| corrupt(what, id, format!("count {value} out of range")))
}

#[derive(Serialize, Deserialize)]
pub(super) struct UnitJson {
    pub code: String,
    pub label: String,
    pub price: i64,
}

pub(super) fn units_json(tour: &Tour) -> String {
    let units: Vec<UnitJson> = tour
        .units
        .iter()
        .map(|u| UnitJson {
            code: u.code.clone(),
            label: u.label.clone(),
            price: u.price,
        })
        .collect();
    serde_json::to_string(&units).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) const TOUR_COLUMNS: &str = "id, operator_id, name, description, meeting_point, timezone, \
    duration_minutes, currency, cutoff_minutes, min_per_booking, max_per_booking, units, cancellation_policy, \
    reschedule_allowed, min_participants, decision_hours, created_at, updated_at, archived_at, price_rules";

#[derive(sqlx::FromRow)]
pub(super) struct TourRow {
    id: String,
    operator_id: String,
    name: String,
    description: String,
    meeting_point: String,
    timezone: String,
    duration_minutes: i64,
    currency: String,
    cutoff_minutes: i64,
    min_per_booking: i64,
    max_per_booking: i64,
    units: String,
    cancellation_policy: Option<String>,
    reschedule_allowed: i64,
    min_participants: i64,
    decision_hours: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    archived_at: Option<DateTime<Utc>>,
    price_rules: Option<String>,
}

/// The stored form of a cancellation policy: NULL for the default (no rules).
pub(super) fn policy_json(tour: &Tour) -> Option<String> {
    let rules = tour.cancellation_policy.rules();
    (!rules.is_empty()).then(|| serde_json::to_string(rules).unwrap_or_else(|_| "[]".to_owned()))
}

impl TryFrom<TourRow> for TourRecord {
    type Error = StorageError;

    fn try_from(row: TourRow) -> Result<Self, StorageError> {
        let units: Vec<UnitJson> =
            serde_json::from_str(&row.units).map_err(|e| corrupt("tour", &row.id, e))?;
        let cancellation_policy = match row.cancellation_policy.as_deref() {
            Some(text) => serde_json::from_str(text).map_err(|e| corrupt("tour", &row.id, e))?,
            None => Vec::new(),
        };
        let price_rules = match row.price_rules.as_deref() {
            Some(text) => serde_json::from_str(text).map_err(|e| corrupt("tour", &row.id, e))?,
            None => Vec::new(),
        };
        // Stored tours were validated on the way in; validating again on the way out turns a
        // hand-edited row into a clear error instead of a wrong price.
        let tour = TourDraft {
            name: row.name,
            description: row.description,
            meeting_point: row.meeting_point,
            timezone: row.timezone,
            duration_minutes: row.duration_minutes,
            currency: row.currency,
            cutoff_minutes: row.cutoff_minutes,
            min_per_booking: row.min_per_booking,
            max_per_booking: row.max_per_booking,
            units: units
                .into_iter()
                .map(|u| UnitDraft {
                    code: u.code,
                    label: u.label,
                    price: u.price,
                })
                .collect(),
            cancellation_policy,
            reschedule_allowed: row.reschedule_allowed != 0,
            min_participants: row.min_participants,
            decision_hours: row.decision_hours,
        }
        .validate()
        .map_err(|e| corrupt("tour", &row.id, e))?;
        Ok(TourRecord {
            id: TourId::from_stored(row.id),
            operator_id: OperatorId::from_stored(row.operator_id),
            tour,
            created_at: row.created_at,
            updated_at: row.updated_at,
            archived_at: row.archived_at,
            price_rules,
        })
    }
}

/// Departure columns plus `seats_expired`, the seats of lapsed holds not yet released. `?` is
/// bound to "now".
pub(super) const DEPARTURE_COLUMNS: &str = "o.id, o.tour_id, o.schedule_id, o.starts_at, o.capacity, \
    o.seats_taken, o.status, o.min_participants, o.decision_hours, o.guaranteed_at, o.unit_prices, CAST(COALESCE((SELECT SUM(b.seats) FROM bookings b \
    WHERE b.departure_id = o.id AND b.status = 'held' AND b.expires_at <= ?), 0) AS SIGNED) AS seats_expired";

#[derive(sqlx::FromRow)]
pub(super) struct DepartureRow {
    id: String,
    tour_id: String,
    schedule_id: Option<String>,
    starts_at: DateTime<Utc>,
    capacity: i64,
    seats_taken: i64,
    status: String,
    min_participants: Option<i64>,
    decision_hours: Option<i64>,
    guaranteed_at: Option<DateTime<Utc>>,
    unit_prices: Option<String>,
    seats_expired: i64,
}

impl TryFrom<DepartureRow> for DepartureRecord {
    type Error = StorageError;

    fn try_from(row: DepartureRow) -> Result<Self, StorageError> {
        let occupancy = Occupancy {
            starts_at: row.starts_at,
            status: DepartureStatus::parse(&row.status)
                .map_err(|e| corrupt("departure", &row.id, e))?,
            capacity: count("departure", &row.id, row.capacity)?,
            seats_taken: count("departure", &row.id, row.seats_taken)?,
            seats_expired: count("departure", &row.id, row.seats_expired)?,
            resource_room: None,
            held_for_waitlist: 0,
        };
        let optional =
            |value: Option<i64>| value.map(|v| count("departure", &row.id, v)).transpose();
        let own_prices = match row.unit_prices.as_deref() {
            Some(text) => {
                Some(serde_json::from_str(text).map_err(|e| corrupt("departure", &row.id, e))?)
            }
            None => None,
        };
        Ok(DepartureRecord {
            own_prices,
            min_participants: optional(row.min_participants)?,
            decision_hours: optional(row.decision_hours)?,
            guaranteed_at: row.guaranteed_at,
            id: DepartureId::from_stored(row.id),
            tour_id: TourId::from_stored(row.tour_id),
            schedule_id: row.schedule_id.map(ScheduleId::from_stored),
            occupancy,
        })
    }
}

pub(super) const BOOKING_COLUMNS: &str = "b.id, b.reference, b.access_token_hash, b.departure_id, \
    b.tour_id, b.operator_id, b.status, b.seats, b.total, b.currency, b.customer_name, b.customer_email, \
    b.customer_phone, b.customer_language, b.expires_at, b.cancel_reason, b.created_at, b.updated_at, \
    b.discount, b.promo_code";

#[derive(sqlx::FromRow)]
pub(super) struct BookingRow {
    id: String,
    reference: String,
    access_token_hash: String,
    departure_id: String,
    tour_id: String,
    operator_id: String,
    status: String,
    seats: i64,
    total: i64,
    currency: String,
    customer_name: String,
    customer_email: String,
    customer_phone: Option<String>,
    customer_language: String,
    expires_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    discount: i64,
    promo_code: Option<String>,
}

impl TryFrom<BookingRow> for BookingRecord {
    type Error = StorageError;

    fn try_from(row: BookingRow) -> Result<Self, StorageError> {
        let status: BookingStatus = row
            .status
            .parse()
            .map_err(|e| corrupt("booking", &row.id, e))?;
        let language = Lang::parse(&row.customer_language)
            .ok_or_else(|| corrupt("booking", &row.id, "unknown customer_language"))?;
        Ok(BookingRecord {
            seats: count("booking", &row.id, row.seats)?,
            id: BookingId::from_stored(row.id),
            reference: BookingRef::from_stored(row.reference),
            access_token_hash: row.access_token_hash,
            departure_id: DepartureId::from_stored(row.departure_id),
            tour_id: TourId::from_stored(row.tour_id),
            operator_id: OperatorId::from_stored(row.operator_id),
            status,
            total: row.total,
            currency: row.currency,
            promo: row.promo_code.map(|code| AppliedPromo {
                code,
                discount: row.discount,
            }),
            customer: Customer {
                name: row.customer_name,
                email: row.customer_email,
                phone: row.customer_phone,
                language,
            },
            expires_at: row.expires_at,
            cancel_reason: row.cancel_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
            items: Vec::new(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ItemRow {
    pub booking_id: String,
    unit_code: String,
    quantity: i64,
    unit_price: i64,
}

impl TryFrom<ItemRow> for QuoteLine {
    type Error = StorageError;

    fn try_from(row: ItemRow) -> Result<Self, StorageError> {
        Ok(QuoteLine {
            quantity: count("booking item", &row.booking_id, row.quantity)?,
            unit: row.unit_code,
            unit_price: row.unit_price,
        })
    }
}

pub(super) const SCHEDULE_COLUMNS: &str =
    "id, tour_id, rrule, start_date, until_date, times, exceptions, \
    capacity, materialized_until";

#[derive(sqlx::FromRow)]
pub(super) struct ScheduleRow {
    id: String,
    tour_id: String,
    rrule: String,
    start_date: String,
    until_date: Option<String>,
    times: String,
    exceptions: String,
    capacity: i64,
    materialized_until: Option<DateTime<Utc>>,
}

impl TryFrom<ScheduleRow> for ScheduleRecord {
    type Error = StorageError;

    fn try_from(row: ScheduleRow) -> Result<Self, StorageError> {
        let list = |text: &str| -> Result<Vec<String>, StorageError> {
            serde_json::from_str(text).map_err(|e| corrupt("schedule", &row.id, e))
        };
        Ok(ScheduleRecord {
            times: list(&row.times)?,
            exceptions: list(&row.exceptions)?,
            capacity: count("schedule", &row.id, row.capacity)?,
            id: ScheduleId::from_stored(row.id),
            tour_id: TourId::from_stored(row.tour_id),
            rrule: row.rrule,
            start_date: row.start_date,
            until: row.until_date,
            materialized_until: row.materialized_until,
        })
    }
}
