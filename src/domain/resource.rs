//! Shared resources: a boat, a bus, a guide that departures of one or more tours draw on. A
//! departure draws on a resource for its whole time (`[start, start + duration)`), either with
//! its booked seats (a boat's 40 places, shared by every departure aboard at that moment) or as
//! one whole unit (a guide, who leads one departure at a time). At no moment may what is drawn
//! exceed the resource's capacity.

use chrono::{DateTime, Utc};

use super::guide::Span;
use super::ids::{DepartureId, ResourceAssignmentId, ResourceId, ScheduleId, TourId};

/// Most resources one operator keeps.
pub const MAX_RESOURCES: usize = 500;

/// Largest capacity of one resource (like a departure's).
pub const MAX_CAPACITY: u32 = super::capacity::MAX_CAPACITY as u32;

/// How a departure draws on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// Its live seats: a boat or bus whose places departures share.
    Seats,
    /// One unit while it runs, booked or not: a guide, a driver, one of three kayak trailers.
    Departure,
}

impl Draw {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Seats => "seats",
            Self::Departure => "departure",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "seats" => Some(Self::Seats),
            "departure" => Some(Self::Departure),
            _ => None,
        }
    }

    /// What one departure with `seats` live seats draws.
    pub fn amount(self, seats: u32) -> u32 {
        match self {
            Self::Seats => seats,
            Self::Departure => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: ResourceId,
    pub name: String,
    pub capacity: u32,
    pub draw: Draw,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tour's departures (or only one schedule's) draw on a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: ResourceAssignmentId,
    pub resource_id: ResourceId,
    pub tour_id: TourId,
    pub schedule_id: Option<ScheduleId>,
}

impl Assignment {
    /// Whether a departure of `tour` made by `schedule` (`None`: added by hand) draws on it.
    pub fn covers(&self, tour: &TourId, schedule: Option<&ScheduleId>) -> bool {
        self.tour_id == *tour
            && match &self.schedule_id {
                None => true,
                Some(own) => Some(own) == schedule,
            }
    }
}

/// A scheduled departure drawing on a resource: when it runs and how many seats it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawing {
    pub departure: DepartureId,
    /// The departure's tour.
    pub tour: TourId,
    pub span: Span,
    pub seats: u32,
}

/// The most `draw` asks of the resource at any moment of `window`, over `drawings` (which may
/// include the departure the window belongs to; each departure is counted once).
pub fn peak_within(window: &Span, draw: Draw, drawings: &[Drawing]) -> u32 {
    let mut changes: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for drawing in drawings.iter().filter(|d| d.span.overlaps(window)) {
        let amount = i64::from(draw.amount(drawing.seats));
        changes.push((drawing.span.start.max(window.start), amount));
        changes.push((drawing.span.end.min(window.end), -amount));
    }
    // Spans are half-open: at one instant, what ends is gone before what starts is counted.
    changes.sort_by_key(|&(at, amount)| (at, amount));
    let (mut load, mut peak) = (0i64, 0i64);
    for (_, amount) in changes {
        load += amount;
        peak = peak.max(load);
    }
    u32::try_from(peak).unwrap_or(u32::MAX)
}

/// The most a departure running over `span` could still add to the resource, given `drawings`
/// (the departure's own among them).
pub fn room(resource: &Resource, span: &Span, drawings: &[Drawing]) -> u32 {
    resource
        .capacity
        .saturating_sub(peak_within(span, resource.draw, drawings))
}

/// The first moment at which `drawings` ask more of the resource than its capacity, with the
/// departures running then (in start order): what an assignment or a capacity cut would break.
pub fn first_excess<'a>(
    resource: &Resource,
    capacity: u32,
    drawings: &'a [Drawing],
) -> Option<(DateTime<Utc>, Vec<&'a Drawing>)> {
    let mut starts: Vec<&Drawing> = drawings.iter().collect();
    starts.sort_by_key(|d| (d.span.start, d.departure.clone()));
    // The load only rises when a departure starts, so the peaks are at starts.
    for candidate in &starts {
        let at = candidate.span.start;
        let running: Vec<&Drawing> = starts
            .iter()
            .copied()
            .filter(|d| d.span.start <= at && at < d.span.end)
            .collect();
        let load: u64 = running
            .iter()
            .map(|d| u64::from(resource.draw.amount(d.seats)))
            .sum();
        if load > u64::from(capacity) {
            return Some((at, running));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 6, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn drawing(name: &str, start: i64, minutes: u32, seats: u32) -> Drawing {
        Drawing {
            departure: DepartureId::from_stored(name.to_owned()),
            tour: TourId::from_stored("tour".to_owned()),
            span: Span::of(at(start), minutes),
            seats,
        }
    }

    fn boat(capacity: u32) -> Resource {
        Resource {
            id: ResourceId::from_stored("boat".into()),
            name: "Boat".into(),
            capacity,
            draw: Draw::Seats,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    #[test]
    fn overlapping_departures_share_the_boat_and_later_ones_do_not() {
        // 09:00 Dolphins (2 h, 25 seats), 09:30 Sunset (1 h, 10), 11:00 Harbour (1 h, 30).
        let drawings = [
            drawing("dolphins", 0, 120, 25),
            drawing("sunset", 30, 60, 10),
            drawing("harbour", 120, 60, 30),
        ];
        let sunset = Span::of(at(30), 60);
        assert_eq!(peak_within(&sunset, Draw::Seats, &drawings), 35);
        assert_eq!(room(&boat(40), &sunset, &drawings), 5);
        // Harbour starts as Dolphins ends: they never share a moment.
        let harbour = Span::of(at(120), 60);
        assert_eq!(room(&boat(40), &harbour, &drawings), 10);
        assert_eq!(first_excess(&boat(40), 40, &drawings), None);
        let (when, running) = first_excess(&boat(40), 34, &drawings).unwrap();
        assert_eq!(when, at(30));
        let names: Vec<&str> = running.iter().map(|d| d.departure.as_str()).collect();
        assert_eq!(names, ["dolphins", "sunset"]);
    }

    #[test]
    fn a_guide_draws_one_per_departure_booked_or_not() {
        let drawings = [drawing("a", 0, 60, 0), drawing("b", 30, 60, 7)];
        let guide = Resource {
            draw: Draw::Departure,
            ..boat(1)
        };
        assert_eq!(
            peak_within(&Span::of(at(0), 90), Draw::Departure, &drawings),
            2
        );
        let (when, running) = first_excess(&guide, 1, &drawings).unwrap();
        assert_eq!((when, running.len()), (at(30), 2));
        assert_eq!(first_excess(&guide, 2, &drawings), None);
    }

    proptest! {
        /// Adding `room` seats to a departure never takes any moment past capacity, and one seat
        /// more always does (when the departure fits at all).
        #[test]
        fn room_is_exactly_what_fits(
            others in prop::collection::vec((0i64..300, 15u32..180, 0u32..30), 0..8),
            own_start in 0i64..300, own_minutes in 15u32..180, own_seats in 0u32..10,
            capacity in 0u32..120,
        ) {
            let mut drawings: Vec<Drawing> = others.iter().enumerate()
                .map(|(i, &(s, m, n))| drawing(&format!("o{i}"), s, m, n)).collect();
            drawings.push(drawing("own", own_start, own_minutes, own_seats));
            let span = Span::of(at(own_start), own_minutes);
            let resource = boat(capacity);
            let free = room(&resource, &span, &drawings);
            let with = |extra: u32| {
                let mut all = drawings.clone();
                all.last_mut().unwrap().seats += extra;
                all
            };
            let peak_all = |all: &[Drawing]| {
                all.iter().map(|d| peak_within(&d.span, Draw::Seats, all)).max().unwrap_or(0)
            };
            if peak_within(&span, Draw::Seats, &drawings) <= capacity {
                prop_assert!(peak_within(&span, Draw::Seats, &with(free)) <= capacity);
                prop_assert!(peak_within(&span, Draw::Seats, &with(free + 1)) > capacity);
            } else {
                prop_assert_eq!(free, 0);
            }
            // The first excess exists exactly when some moment is over capacity.
            prop_assert_eq!(
                first_excess(&resource, capacity, &drawings).is_some(),
                peak_all(&drawings) > capacity
            );
        }
    }
}
