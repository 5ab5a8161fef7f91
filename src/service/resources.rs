//! Shared resources: an operator's boats, buses and guides, which tours (or single schedules)
//! are assigned to, and what their departures draw on them.
//!
//! The lock order every writer keeps: a departure's seat resources by id, then the departure,
//! then (a hold with a code) the promo code. A hold on a departure drawing seats on a resource
//! locks the resource first, so two tours sharing one boat are serialized on the boat, and the
//! room left on it at every moment of the departure's run is computed under that lock.

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::principal::Principal;
use crate::domain::capacity::parse_capacity;
use crate::domain::guide::{Span, LOOK_BACK};
use crate::domain::ids::{OperatorId, ResourceAssignmentId, ResourceId, ScheduleId, TourId};
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::domain::resource::{
    first_excess, room, Assignment, Draw, Drawing, Resource, MAX_RESOURCES,
};
use crate::error::{AppError, Problems};
use crate::storage::{catalogue, resources as stored, Store, WriteTx};

/// How far ahead an assignment or a capacity cut is checked: every departure that exists.
const CHECK_AHEAD: Duration = Duration::days(3 * 366);

/// Most days one load report covers.
pub const MAX_LOAD_DAYS: i64 = 93;

pub struct NewResource {
    pub name: String,
    pub capacity: i64,
    /// `seats` or `departure`.
    pub draw: String,
}

pub struct ResourcePatch {
    pub name: Option<String>,
    pub capacity: Option<i64>,
}

fn parse_name(text: &str) -> Result<String, &'static str> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("must be 1 to 100 characters");
    }
    Ok(name.to_owned())
}

fn parse_id<T>(field: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T, AppError> {
    parse(text.trim()).ok_or_else(|| AppError::invalid(field, format!("{text:?} is not an id")))
}

async fn own(store: &Store, operator: &OperatorId, id: &str) -> Result<Resource, AppError> {
    let id = ResourceId::parse(id).ok_or(AppError::NotFound)?;
    stored::get(store, operator, &id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn create(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    input: NewResource,
) -> Result<Resource, AppError> {
    let mut p = Problems::new();
    let name = p.check("name", parse_name(&input.name));
    let capacity = p.check("capacity", parse_capacity(input.capacity, false));
    let draw = p.check(
        "draw",
        Draw::parse(&input.draw).ok_or("must be \"seats\" or \"departure\""),
    );
    p.into_result()?;
    let (Some(name), Some(capacity), Some(draw)) = (name, capacity, draw) else {
        return Err(AppError::invalid("name", "is invalid"));
    };
    let resource = Resource {
        id: ResourceId::generate(),
        name,
        capacity,
        draw,
        created_at: now,
        updated_at: now,
    };
    transaction!(store, |tx| {
        if stored::count(&mut tx, &by.operator).await? >= MAX_RESOURCES {
            return Err(AppError::Refused {
                code: "too_many_resources",
                message: format!("an operator keeps at most {MAX_RESOURCES} resources"),
            });
        }
        stored::insert(&mut tx, &by.operator, &resource).await?;
        let detail = serde_json::json!({ "capacity": capacity, "draw": draw.as_str() });
        audit::record(
            &mut tx,
            by,
            now,
            Action::ResourceCreate,
            Target::Resource(resource.id.as_str()),
            Some(&detail.to_string()),
        )
        .await
    })
    .await?;
    Ok(resource)
}

pub async fn list(store: &Store, by: &Principal) -> Result<Vec<Resource>, AppError> {
    Ok(stored::list(store, &by.operator, MAX_RESOURCES).await?)
}

/// One of the caller's resources with its assignments.
pub async fn get(
    store: &Store,
    by: &Principal,
    id: &str,
) -> Result<(Resource, Vec<Assignment>), AppError> {
    let resource = own(store, &by.operator, id).await?;
    let assignments = stored::assignments_of(store, &resource.id).await?;
    Ok((resource, assignments))
}

/// Renames a resource or changes its capacity; a capacity below what departures already draw
/// at some moment is refused (`409 capacity_below_drawn`, naming the moment).
pub async fn update(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    patch: ResourcePatch,
) -> Result<Resource, AppError> {
    let current = own(store, &by.operator, id).await?;
    let mut p = Problems::new();
    let name = patch
        .name
        .as_deref()
        .map(|text| p.check("name", parse_name(text)));
    let capacity = patch
        .capacity
        .map(|value| p.check("capacity", parse_capacity(value, false)));
    p.into_result()?;
    transaction!(store, |tx| {
        let mut resource = stored::lock(&mut tx, &current.id)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(Some(name)) = &name {
            resource.name = name.clone();
        }
        if let Some(Some(capacity)) = capacity {
            if capacity < resource.capacity {
                let drawings = future_drawings(&mut tx, &resource.id, now).await?;
                if let Some(excess) = first_excess(&resource, capacity, &drawings) {
                    return Err(AppError::Refused {
                        code: "capacity_below_drawn",
                        message: format!(
                            "{} departures already draw more than {capacity} on {}: {}",
                            excess.1.len(),
                            resource.name,
                            describe(store, &excess.1).await?
                        ),
                    });
                }
            }
            resource.capacity = capacity;
        }
        resource.updated_at = now;
        stored::update(&mut tx, &resource).await?;
        let detail = serde_json::json!({ "name": resource.name, "capacity": resource.capacity });
        audit::record(
            &mut tx,
            by,
            now,
            Action::ResourceUpdate,
            Target::Resource(resource.id.as_str()),
            Some(&detail.to_string()),
        )
        .await?;
        Ok(resource)
    })
    .await
}

/// Makes the departures of one of the caller's tours (or only of one of its schedules) draw on
/// a resource. Refused with `409 resource_over_capacity`, naming the departures that clash, when
/// with them some moment would ask more of it than its capacity (two overlapping departures for
/// one guide; more seats than the boat has).
pub async fn assign(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    tour_id: &str,
    schedule_id: Option<&str>,
) -> Result<Assignment, AppError> {
    let resource = own(store, &by.operator, id).await?;
    let tour_id = parse_id("tour_id", tour_id, TourId::parse)?;
    let tour = catalogue::get_tour(store, &tour_id)
        .await?
        .filter(|tour| tour.operator_id == by.operator)
        .ok_or_else(|| AppError::invalid("tour_id", "is not one of your tours"))?;
    let schedule = match schedule_id.filter(|text| !text.trim().is_empty()) {
        Some(text) => {
            let schedule = parse_id("schedule_id", text, ScheduleId::parse)?;
            match catalogue::get_schedule(store, &schedule).await? {
                Some(found) if found.tour_id == tour.id => Some(schedule),
                _ => {
                    return Err(AppError::invalid(
                        "schedule_id",
                        "is not one of this tour's schedules",
                    ))
                }
            }
        }
        None => None,
    };
    let assignment = Assignment {
        id: ResourceAssignmentId::generate(),
        resource_id: resource.id.clone(),
        tour_id: tour.id.clone(),
        schedule_id: schedule,
    };
    transaction!(store, |tx| {
        let resource = stored::lock(&mut tx, &resource.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let existing = stored::assignments_of_tour_in(&mut tx, &tour.id).await?;
        if existing
            .iter()
            .any(|(a, _)| a.resource_id == resource.id && a.schedule_id == assignment.schedule_id)
        {
            return Err(AppError::Refused {
                code: "already_assigned",
                message: format!(
                    "{} is already assigned to this tour or schedule",
                    resource.name
                ),
            });
        }
        stored::insert_assignment(&mut tx, &by.operator, &assignment, now).await?;
        let drawings = future_drawings(&mut tx, &resource.id, now).await?;
        if let Some((_, running)) = first_excess(&resource, resource.capacity, &drawings) {
            let what = match resource.draw {
                Draw::Seats => format!("more than its {} seats", resource.capacity),
                Draw::Departure => format!("more than {} departure(s) at once", resource.capacity),
            };
            return Err(AppError::Refused {
                code: "resource_over_capacity",
                message: format!(
                    "{} would be asked for {what}: {}",
                    resource.name,
                    describe(store, &running).await?
                ),
            });
        }
        let detail = serde_json::json!({
            "assignment": assignment.id.as_str(),
            "tour": assignment.tour_id.as_str(),
            "schedule": assignment.schedule_id.as_ref().map(ScheduleId::as_str),
        });
        audit::record(
            &mut tx,
            by,
            now,
            Action::ResourceAssign,
            Target::Resource(resource.id.as_str()),
            Some(&detail.to_string()),
        )
        .await
    })
    .await?;
    Ok(assignment)
}

/// Ends one of a resource's assignments (its departures stop drawing on it).
pub async fn unassign(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    assignment: &str,
) -> Result<(), AppError> {
    let resource = own(store, &by.operator, id).await?;
    let assignment = ResourceAssignmentId::parse(assignment).ok_or(AppError::NotFound)?;
    transaction!(store, |tx| {
        stored::lock(&mut tx, &resource.id).await?;
        if !stored::delete_assignment(&mut tx, &resource.id, &assignment).await? {
            return Err(AppError::NotFound);
        }
        let detail = serde_json::json!({ "assignment": assignment.as_str() });
        audit::record(
            &mut tx,
            by,
            now,
            Action::ResourceUnassign,
            Target::Resource(resource.id.as_str()),
            Some(&detail.to_string()),
        )
        .await
    })
    .await
}

/// A resource's load over `[from, to)`: the departures drawing on it then, and the most drawn
/// at any moment.
pub struct Load {
    pub resource: Resource,
    pub window: Span,
    pub drawings: Vec<(Drawing, TourRecord)>,
    pub peak: u32,
}

pub async fn load(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    (from, to): (Option<&str>, Option<&str>),
) -> Result<Load, AppError> {
    let resource = own(store, &by.operator, id).await?;
    let mut p = Problems::new();
    let from = from.map(|text| p.check("from", parse_moment(text)));
    let to = to.map(|text| p.check("to", parse_moment(text)));
    p.into_result()?;
    let from = from.flatten().unwrap_or(now);
    // Ten years either way covers every departure berth keeps, and keeps the sums in range.
    let reach = Duration::days(10 * 366);
    if (from - now).abs() > reach {
        return Err(AppError::invalid("from", "must be within ten years of now"));
    }
    let to = to.flatten().unwrap_or(from + Duration::days(7));
    if to <= from || to - from > Duration::days(MAX_LOAD_DAYS) {
        return Err(AppError::invalid(
            "to",
            format!("must be after from, at most {MAX_LOAD_DAYS} days later"),
        ));
    }
    let drawings = stored::drawings(store, &resource.id, (from, to), LOOK_BACK, now).await?;
    let window = Span {
        start: from,
        end: to,
    };
    let peak = crate::domain::resource::peak_within(&window, resource.draw, &drawings);
    let mut tours: Vec<TourRecord> = Vec::new();
    let mut listed = Vec::with_capacity(drawings.len());
    // Each tour read once: the drawings name their tours.
    for drawing in drawings {
        let tour = tour_once(store, &mut tours, &drawing.tour).await?;
        listed.push((drawing, tour));
    }
    Ok(Load {
        resource,
        window,
        drawings: listed,
        peak,
    })
}

/// RFC 3339, or a date `YYYY-MM-DD` meaning its midnight UTC.
fn parse_moment(text: &str) -> Result<DateTime<Utc>, &'static str> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .ok_or("must be an RFC 3339 time or a date YYYY-MM-DD")
}

async fn read_tour(store: &Store, id: &TourId) -> Result<TourRecord, AppError> {
    catalogue::get_tour(store, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// `id`'s tour, read once for all the drawings that name it.
async fn tour_once(
    store: &Store,
    read: &mut Vec<TourRecord>,
    id: &TourId,
) -> Result<TourRecord, AppError> {
    if let Some(tour) = read.iter().find(|t| &t.id == id) {
        return Ok(tour.clone());
    }
    let tour = read_tour(store, id).await?;
    read.push(tour.clone());
    Ok(tour)
}

async fn future_drawings(
    tx: &mut WriteTx,
    resource: &ResourceId,
    now: DateTime<Utc>,
) -> Result<Vec<Drawing>, AppError> {
    Ok(stored::drawings_in(tx, resource, (now, now + CHECK_AHEAD), LOOK_BACK, now, true).await?)
}

/// "Dolphins 2027-06-01 09:00, Sunset 2027-06-01 09:30 (Europe/Lisbon)": the departures of a
/// clash, in their tours' local time.
async fn describe(store: &Store, running: &[&Drawing]) -> Result<String, AppError> {
    let mut parts = Vec::new();
    let mut tours: Vec<TourRecord> = Vec::new();
    for drawing in running.iter().take(5) {
        let tour = tour_once(store, &mut tours, &drawing.tour).await?;
        let zone = tour.tour.timezone;
        parts.push(format!(
            "{} {} ({zone}, {} seats)",
            tour.tour.name,
            drawing
                .span
                .start
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M"),
            drawing.seats
        ));
    }
    Ok(parts.join(", "))
}

/// Every resource that departures overdraw at some moment from a day ago on (`berth check`):
/// the resource, the moment, and the departures running then.
pub async fn overdrawn(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(Resource, DateTime<Utc>, Vec<Drawing>)>, AppError> {
    let mut found = Vec::new();
    for resource in stored::every(store).await? {
        let window = (now - LOOK_BACK, now + CHECK_AHEAD);
        let drawings = stored::drawings(store, &resource.id, window, LOOK_BACK, now).await?;
        if let Some((at, running)) = first_excess(&resource, resource.capacity, &drawings) {
            let running = running.into_iter().cloned().collect();
            found.push((resource, at, running));
        }
    }
    Ok(found)
}

/// A tour's resource assignments as read before a seat-taking transaction locks anything.
pub(crate) struct Draws(Vec<(Assignment, Draw)>);

impl Draws {
    pub async fn of_tour(store: &Store, tour: &TourId) -> Result<Draws, AppError> {
        Ok(Draws(stored::assignments_of_tour(store, tour).await?))
    }

    pub async fn of_tour_in(tx: &mut WriteTx, tour: &TourId) -> Result<Draws, AppError> {
        Ok(Draws(stored::assignments_of_tour_in(tx, tour).await?))
    }

    /// The resources `departure` draws seats on, by id (the order they are locked in).
    pub fn seat_resources(&self, departure: &DepartureRecord) -> Vec<ResourceId> {
        let mut ids: Vec<ResourceId> = self
            .0
            .iter()
            .filter(|(a, draw)| {
                *draw == Draw::Seats && a.covers(&departure.tour_id, departure.schedule_id.as_ref())
            })
            .map(|(a, _)| a.resource_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Locks the resources `departure` draws seats on, in id order: call it before the
    /// departure is locked.
    pub async fn lock(
        &self,
        tx: &mut WriteTx,
        departure: &DepartureRecord,
    ) -> Result<Vec<Resource>, AppError> {
        let mut locked = Vec::new();
        for id in self.seat_resources(departure) {
            if let Some(resource) = stored::lock(tx, &id).await? {
                locked.push(resource);
            }
        }
        Ok(locked)
    }

    /// With `locked` (from [`Draws::lock`]) and the departure locked: the seats its resources
    /// still have room for while it runs (`None`: it draws on none). An assignment committed
    /// since these draws were read is `Busy`, so the caller's retry reads them again.
    pub async fn room_locked(
        &self,
        tx: &mut WriteTx,
        locked: &[Resource],
        departure: &DepartureRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<u32>, AppError> {
        let ids = stored::assignment_ids_of_tour_locked(tx, &departure.tour_id).await?;
        let mut read: Vec<&ResourceAssignmentId> = self.0.iter().map(|(a, _)| &a.id).collect();
        read.sort();
        let mut now_there: Vec<&ResourceAssignmentId> = ids.iter().collect();
        now_there.sort();
        if now_there != read {
            return Err(AppError::Busy);
        }
        if locked.is_empty() {
            return Ok(None);
        }
        let minutes = stored::tour_minutes_in(tx, &departure.tour_id).await?;
        let span = Span::of(departure.occupancy.starts_at, minutes);
        let mut tightest: Option<u32> = None;
        for resource in locked {
            let drawings = stored::drawings_in(
                tx,
                &resource.id,
                (span.start, span.end),
                LOOK_BACK,
                now,
                false,
            )
            .await?;
            let left = room(resource, &span, &drawings);
            tightest = Some(tightest.map_or(left, |t| t.min(left)));
        }
        Ok(tightest)
    }
}

/// Sets each listed departure of `tour` to show the tighter of its own seats and its seat
/// resources' room (availability, the booking pages, OCTO). One query when the tour draws on
/// nothing; one more per resource it does.
pub async fn limit(
    store: &Store,
    tour: &TourRecord,
    departures: &mut [DepartureRecord],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if departures.is_empty() {
        return Ok(());
    }
    let draws = Draws::of_tour(store, &tour.id).await?;
    let mut resource_ids: Vec<ResourceId> = departures
        .iter()
        .flat_map(|d| draws.seat_resources(d))
        .collect();
    resource_ids.sort();
    resource_ids.dedup();
    let minutes = tour.tour.duration_minutes;
    for id in resource_ids {
        let Some(resource) = stored::get(store, &tour.operator_id, &id).await? else {
            continue;
        };
        let drawing_here: Vec<usize> = (0..departures.len())
            .filter(|&i| draws.seat_resources(&departures[i]).contains(&id))
            .collect();
        let spans: Vec<Span> = drawing_here
            .iter()
            .map(|&i| Span::of(departures[i].occupancy.starts_at, minutes))
            .collect();
        let from = spans.iter().map(|s| s.start).min().unwrap_or(now);
        let to = spans.iter().map(|s| s.end).max().unwrap_or(now);
        let drawings = stored::drawings(store, &id, (from, to), LOOK_BACK, now).await?;
        for (&i, span) in drawing_here.iter().zip(&spans) {
            let left = room(&resource, span, &drawings);
            let occupancy = &mut departures[i].occupancy;
            occupancy.resource_room = Some(occupancy.resource_room.map_or(left, |r| r.min(left)));
        }
    }
    Ok(())
}

/// The units new departures of one tour (or schedule) would take of the resources they draw on
/// whole (`draw: departure`: a guide leads one at a time), locked in id order before any
/// departure is written, with what is already drawn on them.
pub(crate) struct UnitBudget {
    tour: TourId,
    resources: Vec<(Resource, Vec<Drawing>)>,
    minutes: u32,
    zone: chrono_tz::Tz,
}

impl UnitBudget {
    /// For departures of `tour` made by `schedule` (`None`: one added by hand) starting in
    /// `[from, to)`.
    pub async fn lock(
        tx: &mut WriteTx,
        tour: &TourRecord,
        schedule: Option<&ScheduleId>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
    ) -> Result<UnitBudget, AppError> {
        let mut ids: Vec<ResourceId> = stored::assignments_of_tour_in(tx, &tour.id)
            .await?
            .into_iter()
            .filter(|(a, draw)| *draw == Draw::Departure && a.covers(&tour.id, schedule))
            .map(|(a, _)| a.resource_id)
            .collect();
        ids.sort();
        ids.dedup();
        let minutes = tour.tour.duration_minutes;
        let mut resources = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(resource) = stored::lock(tx, &id).await? else {
                continue;
            };
            let until = to + Duration::minutes(i64::from(minutes));
            let drawn = stored::drawings_in(tx, &id, (from, until), LOOK_BACK, now, true).await?;
            resources.push((resource, drawn));
        }
        Ok(UnitBudget {
            tour: tour.id.clone(),
            resources,
            minutes,
            zone: tour.tour.timezone,
        })
    }

    /// Counts a new departure at `starts_at` against every resource, or says which one it
    /// would overdraw (`409 resource_over_capacity`), counting nothing.
    pub fn take(
        &mut self,
        departure: &crate::domain::ids::DepartureId,
        starts_at: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let span = Span::of(starts_at, self.minutes);
        for (resource, drawn) in &self.resources {
            let running = crate::domain::resource::peak_within(&span, Draw::Departure, drawn);
            if running >= resource.capacity {
                return Err(AppError::Refused {
                    code: "resource_over_capacity",
                    message: format!(
                        "{} already has {running} departure(s) running during the one at {} ({}), and takes at most {} at once",
                        resource.name,
                        starts_at.with_timezone(&self.zone).format("%Y-%m-%d %H:%M"),
                        self.zone,
                        resource.capacity
                    ),
                });
            }
        }
        for (_, drawn) in &mut self.resources {
            drawn.push(Drawing {
                departure: departure.clone(),
                tour: self.tour.clone(),
                span,
                seats: 0,
            });
        }
        Ok(())
    }
}
