//! What berth knows about stored entities, as loaded by `storage` and used by `service`.

use chrono::{DateTime, Utc};

use super::booking::BookingStatus;
use super::capacity::{Occupancy, SalesStatus};
use super::ids::{BookingId, BookingRef, DepartureId, OperatorId, ScheduleId, TourId};
use super::lang::Lang;
use super::price_rules::{self, PriceRule, UnitPrices};
use super::pricing::QuoteLine;
use super::tour::Tour;

#[derive(Debug, Clone)]
pub struct TourRecord {
    pub id: TourId,
    pub operator_id: OperatorId,
    pub tour: Tour,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the operator took it off sale; `None` while it is sold.
    pub archived_at: Option<DateTime<Utc>>,
    /// Its seasonal prices, in the order they were added.
    pub price_rules: Vec<PriceRule>,
}

impl TourRecord {
    /// Each unit's "from" price: its lowest over `departures` that are on sale at `now`, at the
    /// prices a hold would quote (the departure's own, the tour's rules, the base price). With
    /// none on sale, the base prices: nothing else is sold.
    pub fn prices_from<'a>(
        &self,
        departures: impl IntoIterator<Item = &'a DepartureRecord>,
        now: DateTime<Utc>,
    ) -> UnitPrices {
        self.price_ranges(departures, now)
            .into_iter()
            .map(|(unit, (lowest, _))| (unit, lowest))
            .collect()
    }

    /// Each unit's lowest and highest price over `departures` on sale at `now`, as
    /// [`TourRecord::prices_from`] reads them (with none on sale, the base price both ways).
    pub fn price_ranges<'a>(
        &self,
        departures: impl IntoIterator<Item = &'a DepartureRecord>,
        now: DateTime<Utc>,
    ) -> std::collections::BTreeMap<String, (i64, i64)> {
        let mut ranges = std::collections::BTreeMap::new();
        let on_sale = departures.into_iter().filter(|d| {
            d.tour_id == self.id
                && d.occupancy.sales_status(self.tour.cutoff_minutes, now) == SalesStatus::Open
        });
        for departure in on_sale {
            for (unit, price) in departure.prices(self) {
                let (lowest, highest) = ranges.entry(unit).or_insert((price, price));
                *lowest = (*lowest).min(price);
                *highest = (*highest).max(price);
            }
        }
        for unit in &self.tour.units {
            ranges
                .entry(unit.code.clone())
                .or_insert((unit.price, unit.price));
        }
        ranges
    }

    /// The lowest of [`TourRecord::prices_from`]: what the tour sells from (0 with no units).
    pub fn price_from<'a>(
        &self,
        departures: impl IntoIterator<Item = &'a DepartureRecord>,
        now: DateTime<Utc>,
    ) -> i64 {
        self.prices_from(departures, now)
            .into_values()
            .min()
            .unwrap_or(0)
    }

    /// An archived tour sells nothing new: no holds, no departures, no schedules. Its bookings
    /// stay as they are.
    pub fn check_on_sale(&self) -> Result<(), crate::error::AppError> {
        match self.archived_at {
            None => Ok(()),
            Some(_) => Err(crate::error::AppError::Refused {
                code: "tour_archived",
                message: "the tour is archived: it is no longer sold".into(),
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DepartureRecord {
    pub id: DepartureId,
    pub tour_id: TourId,
    pub schedule_id: Option<ScheduleId>,
    pub occupancy: Occupancy,
    /// The departure's own minimum of participants and decision time (`None`: its tour's).
    pub min_participants: Option<u32>,
    pub decision_hours: Option<u32>,
    /// When it was guaranteed to run (by berth's decision or the operator's).
    pub guaranteed_at: Option<DateTime<Utc>>,
    /// Its own price per unit, over its tour's rules and base prices (`None`: none of its own).
    pub own_prices: Option<UnitPrices>,
}

impl DepartureRecord {
    /// The tour-local time it starts at, which the tour's price rules match.
    fn local_start(&self, tour: &TourRecord) -> chrono::NaiveDateTime {
        self.occupancy
            .starts_at
            .with_timezone(&tour.tour.timezone)
            .naive_local()
    }

    /// What each unit sells at on this departure of `tour` (see `domain::price_rules`).
    pub fn prices(&self, tour: &TourRecord) -> UnitPrices {
        let local = self.local_start(tour);
        price_rules::unit_prices(
            &tour.tour,
            &tour.price_rules,
            self.own_prices.as_ref(),
            local,
        )
    }

    /// What one unit sells at on this departure of `tour`; `None` for a unit it does not sell.
    pub fn unit_price(&self, tour: &TourRecord, unit: &str) -> Option<i64> {
        let local = self.local_start(tour);
        price_rules::unit_price(
            &tour.tour,
            &tour.price_rules,
            self.own_prices.as_ref(),
            local,
            unit,
        )
    }

    /// The minimum in force for this departure of `tour`.
    pub fn minimum(&self, tour: &super::tour::Tour) -> Option<super::minimum::Minimum> {
        super::minimum::Minimum::in_force(
            (tour.min_participants, tour.decision_hours),
            (self.min_participants, self.decision_hours),
        )
    }

    /// What travelers are shown: guaranteed, or how many more it needs (seats held or booked
    /// now count), or nothing to say.
    pub fn standing(&self, tour: &super::tour::Tour) -> super::minimum::Standing {
        let occupancy = &self.occupancy;
        let taken = occupancy
            .seats_taken
            .saturating_sub(occupancy.seats_expired);
        super::minimum::Standing::of(self.minimum(tour), self.guaranteed_at.is_some(), taken)
    }
}

#[derive(Debug, Clone)]
pub struct ScheduleRecord {
    pub id: ScheduleId,
    pub tour_id: TourId,
    pub rrule: String,
    pub start_date: String,
    pub until: Option<String>,
    pub times: Vec<String>,
    pub exceptions: Vec<String>,
    pub capacity: u32,
    pub materialized_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// The language of the messages the traveler receives.
    pub language: Lang,
}

#[derive(Debug, Clone)]
pub struct BookingRecord {
    pub id: BookingId,
    pub reference: BookingRef,
    /// SHA-256 of the traveler's access token; never leaves the service layer.
    pub access_token_hash: String,
    pub departure_id: DepartureId,
    pub tour_id: TourId,
    pub operator_id: OperatorId,
    pub status: BookingStatus,
    pub seats: u32,
    /// What is owed: the items' prices less the promo code's discount.
    pub total: i64,
    pub currency: String,
    /// The promo code applied at hold time, and what it took off (frozen like the prices).
    pub promo: Option<AppliedPromo>,
    pub customer: Customer,
    pub expires_at: Option<DateTime<Utc>>,
    /// Why a cancelled booking was cancelled (a [`CancelReason`] spelling).
    ///
    /// [`CancelReason`]: super::booking::CancelReason
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Empty when loaded only for a state change.
    pub items: Vec<QuoteLine>,
}

/// A promo code as a booking applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedPromo {
    /// Normalized (upper case).
    pub code: String,
    /// Minor units taken off the items' prices.
    pub discount: i64,
}

impl BookingRecord {
    /// The items' prices before any discount.
    pub fn subtotal(&self) -> i64 {
        self.total + self.promo.as_ref().map_or(0, |promo| promo.discount)
    }

    /// A hold whose time is up occupies no seat, even before the expiry worker marks it.
    pub fn is_lapsed_hold(&self, now: DateTime<Utc>) -> bool {
        self.status == BookingStatus::Held && self.expires_at.is_some_and(|at| at <= now)
    }

    /// The status a reader should see: a lapsed hold reads as `expired` straight away.
    pub fn effective_status(&self, now: DateTime<Utc>) -> BookingStatus {
        if self.is_lapsed_hold(now) {
            BookingStatus::Expired
        } else {
            self.status
        }
    }
}

/// A released or cancelled booking's reference and the seats it gave back.
#[derive(Debug, Clone)]
pub struct ReleasedSeats {
    pub booking_id: BookingId,
    pub operator_id: OperatorId,
    pub reference: BookingRef,
    pub seats: u32,
}

/// One broken invariant, as reported by `berth check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is broken: `departure <id>`, `promo code <id>`.
    pub subject: String,
    pub detail: String,
}

impl Violation {
    pub fn of_departure(id: String, detail: String) -> Violation {
        Violation {
            subject: format!("departure {id}"),
            detail,
        }
    }
}
