//! Shared resources in the console (as `/v1/resources`): staff read the operator's boats, buses
//! and guides with their capacity, how departures draw on them, the tours (or schedules)
//! assigned to each, and each one's load over the next seven days, the departures in their
//! tours' local time; admins create a resource, rename it or change its capacity, assign it to
//! a tour (or one schedule of it) and end an assignment. Each is the API's service function
//! (`service::resources`), so its rules answer the page as they answer the API; each change runs
//! once per rendered form, and a refusal (a capacity below what is drawn, an assignment that
//! would overdraw the resource, naming the clash) shows the form again with what was typed and
//! the field marked.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{get, post, Either};
use serde::Serialize;

use super::{frame, Console};
use crate::domain::auth::Role;
use crate::domain::records::{ScheduleRecord, TourRecord};
use crate::domain::resource::{Assignment, Resource};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::{Admin, Staff};
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::catalogue;
use crate::service::resources::{self, NewResource, ResourcePatch};
use crate::web::{once, CsrfForm, Page, WebError};

/// Where the page lives.
const PATH: &str = "/console/resources";

/// The list again, with `notice` shown.
fn back_with(notice: &str) -> String {
    format!("{PATH}?notice={notice}")
}

/// The notices a change leads to (each a catalogue key `console-resources-notice-…`).
pub const NOTICES: [&str; 4] = ["created", "changed", "assigned", "unassigned"];

pub fn notice_key(notice: &str) -> String {
    format!("console-resources-notice-{notice}")
}

/// Problems by form field name, each a message for the operator.
type Problems = BTreeMap<String, String>;

/// The new-resource form, every field as typed (so a refusal shows it back unchanged).
#[derive(Debug, Clone, FromForm, Serialize)]
pub struct ResourceForm {
    #[serde(skip)]
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    capacity: String,
    /// `seats` or `departure`.
    #[field(default = String::new())]
    draw: String,
}

impl Default for ResourceForm {
    fn default() -> Self {
        ResourceForm {
            form_key: String::new(),
            name: String::new(),
            capacity: String::new(),
            draw: "seats".to_owned(),
        }
    }
}

/// A capacity as typed: the number, or why it is not one (the service checks its range).
fn whole_number(text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| "must be a whole number".to_owned())
}

/// One resource's form refused: which resource, what was typed (by field name), and the
/// problems by field.
struct RowRefusal {
    resource: String,
    typed: BTreeMap<&'static str, String>,
    problems: Problems,
}

/// What the page shows besides the resources: a notice, the refused new-resource form with its
/// problems (or a refusal of the whole form), a refused change or assignment of one resource.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    form: Option<ResourceForm>,
    problems: Problems,
    /// A refusal that is about no one field (`too_many_resources`).
    refusal: Option<String>,
    change: Option<RowRefusal>,
    assign: Option<RowRefusal>,
    /// 409 for a refusal of the rules about what is drawn, else 422 (when anything is refused).
    conflict: bool,
}

/// "09:00, 14:30" from 2027-06-01 (to 2027-09-30): how a schedule is named in the lists.
fn schedule_view(schedule: &ScheduleRecord) -> Value {
    context! {
        id => schedule.id.as_str(),
        times => schedule.times.join(", "),
        start_date => schedule.start_date,
        until => schedule.until,
    }
}

/// The operator's tours (each with its schedules), by id.
struct Tours {
    all: Vec<(TourRecord, Vec<ScheduleRecord>)>,
}

impl Tours {
    fn tour(&self, id: &crate::domain::ids::TourId) -> Option<&(TourRecord, Vec<ScheduleRecord>)> {
        self.all.iter().find(|(t, _)| &t.id == id)
    }

    fn assignment_view(&self, assignment: &Assignment) -> Value {
        let found = self.tour(&assignment.tour_id);
        let schedule = assignment.schedule_id.as_ref().and_then(|id| {
            found
                .and_then(|(_, schedules)| schedules.iter().find(|s| &s.id == id))
                .map(schedule_view)
        });
        context! {
            id => assignment.id.as_str(),
            tour_name => found.map(|(t, _)| t.tour.name.clone()),
            tour_id => assignment.tour_id.as_str(),
            schedule => schedule,
            // A schedule no longer listed is named by its id, never as the whole tour.
            schedule_id => assignment.schedule_id.as_ref().map(|s| s.as_str().to_owned()),
            end_key => once::new_key(),
        }
    }
}

/// One resource as the page shows it: its facts, assignments, the next seven days' load, and
/// (for admins) its change and assign forms, as typed when one was refused.
async fn resource_view(
    ctx: Ctx<'_>,
    principal: &Principal,
    resource: &Resource,
    tours: &Tours,
    shown: &Shown,
) -> Result<Value, AppError> {
    let id = resource.id.as_str();
    let (_, assignments) = resources::get(ctx.store, principal, id).await?;
    let assignments: Vec<Value> = assignments
        .iter()
        .map(|a| tours.assignment_view(a))
        .collect();
    let load = resources::load(ctx.store, ctx.now(), principal, id, (None, None)).await?;
    let departures: Vec<Value> = load
        .drawings
        .iter()
        .map(|(drawing, tour)| {
            let zone = tour.tour.timezone;
            let start = drawing.span.start.with_timezone(&zone);
            let end = drawing.span.end.with_timezone(&zone);
            context! {
                id => drawing.departure.as_str(),
                tour_name => tour.tour.name,
                starts_local => start.format("%Y-%m-%d %H:%M").to_string(),
                ends_local => end.format("%H:%M").to_string(),
                starts_utc => drawing.span.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                zone => zone.name(),
                seats => drawing.seats,
                draws => resource.draw.amount(drawing.seats),
            }
        })
        .collect();
    let refused = |row: &Option<RowRefusal>| -> Option<(BTreeMap<&'static str, String>, Problems)> {
        row.as_ref()
            .filter(|r| r.resource == id)
            .map(|r| (r.typed.clone(), r.problems.clone()))
    };
    let (change_typed, change_problems) = refused(&shown.change).unwrap_or_else(|| {
        (
            BTreeMap::from([
                ("name", resource.name.clone()),
                ("capacity", resource.capacity.to_string()),
            ]),
            Problems::new(),
        )
    });
    let (assign_typed, assign_problems) = refused(&shown.assign).unwrap_or_default();
    Ok(context! {
        id => id,
        name => resource.name,
        capacity => resource.capacity,
        draw => resource.draw.as_str(),
        assignments => assignments,
        peak => load.peak,
        free_at_peak => resource.capacity.saturating_sub(load.peak),
        departures => departures,
        change => context! {
            name => change_typed.get("name").cloned().unwrap_or_default(),
            capacity => change_typed.get("capacity").cloned().unwrap_or_default(),
            errors => change_problems,
            key => once::new_key(),
        },
        assign => context! {
            tour_id => assign_typed.get("tour_id").cloned().unwrap_or_default(),
            schedule_id => assign_typed.get("schedule_id").cloned().unwrap_or_default(),
            errors => assign_problems,
            key => once::new_key(),
        },
    })
}

async fn render(ctx: Ctx<'_>, principal: &Principal, shown: Shown) -> Result<Page, WebError> {
    let store = ctx.store;
    let mut all = Vec::new();
    for tour in catalogue::list_tours(store, &principal.operator).await? {
        let schedules = catalogue::list_schedules(store, &principal.operator, &tour.id).await?;
        all.push((tour, schedules));
    }
    let tours = Tours { all };
    let mut listed = Vec::new();
    for resource in resources::list(store, principal).await? {
        listed.push(resource_view(ctx, principal, &resource, &tours, &shown).await?);
    }
    // Only tours on sale are offered to assign, each with its schedules.
    let on_sale: Vec<Value> = tours
        .all
        .iter()
        .filter(|(t, _)| t.archived_at.is_none())
        .map(|(t, schedules)| {
            context! {
                id => t.id.as_str(),
                name => t.tour.name,
                schedules => schedules.iter().map(schedule_view).collect::<Vec<_>>(),
            }
        })
        .collect();
    let refused = !shown.problems.is_empty()
        || shown.refusal.is_some()
        || shown.change.is_some()
        || shown.assign.is_some();
    let status = match (refused, shown.conflict) {
        (false, _) => Status::Ok,
        (true, true) => Status::Conflict,
        (true, false) => Status::UnprocessableEntity,
    };
    let form = shown.form.unwrap_or_default();
    Ok(Page::new(
        "console/resources.html",
        context! {
            console => frame(store, principal, PATH).await,
            resources => listed,
            manage => principal.role.at_least(Role::Admin),
            tours => on_sale,
            form => Value::from_serialize(&form),
            create_key => once::new_key(),
            notice_key => shown.notice.as_deref().map(notice_key),
            errors => shown.problems,
            refusal => shown.refusal,
        },
    )
    .status(status))
}

/// `GET /console/resources`: the operator's resources, their assignments and load; admins also
/// get the forms.
#[get("/console/resources?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: Console<Staff>,
    notice: Option<&str>,
    ctx: Ctx<'_>,
) -> Result<Page, WebError> {
    let shown = Shown {
        notice: notice.filter(|n| NOTICES.contains(n)).map(str::to_owned),
        ..Shown::default()
    };
    render(ctx, &user.0, shown).await
}

/// `POST /console/resources`: creates a resource, as `POST /v1/resources`. A refusal (a field
/// the rules refuse, too many resources) shows the form again with what was typed.
#[post("/console/resources", data = "<form>")]
pub async fn create(
    _rate: RateLimited,
    user: Console<Admin>,
    form: CsrfForm<ResourceForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let f = form.0;
    let mut shown = Shown::default();
    match whole_number(&f.capacity) {
        Ok(capacity) => {
            let fields = serde_json::to_string(&f).unwrap_or_default();
            let input = NewResource {
                name: f.name.clone(),
                capacity,
                draw: f.draw.trim().to_owned(),
            };
            let done = once::for_operator(
                ctx,
                &principal,
                ("resources", &f.form_key, &fields),
                back_with("created"),
                || async {
                    resources::create(ctx.store, ctx.now(), &principal, input).await?;
                    Ok(())
                },
            )
            .await;
            match done {
                Ok(location) => return Ok(Either::Left(Redirect::to(location))),
                Err(AppError::Validation(problems)) => shown.problems = problems,
                Err(AppError::Refused {
                    code: "too_many_resources",
                    message,
                }) => {
                    shown.refusal = Some(message);
                    shown.conflict = true;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(message) => {
            shown.problems.insert("capacity".into(), message);
        }
    }
    shown.form = Some(f);
    Ok(Either::Right(render(ctx, &principal, shown).await?))
}

/// A resource's name and capacity, as typed.
#[derive(FromForm)]
pub struct ChangeForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    capacity: String,
}

/// `POST /console/resources/<id>`: renames a resource or changes its capacity, as
/// `PATCH /v1/resources/{id}`. A capacity below what departures already draw at some moment is
/// refused beside the field (naming the departures), with what was typed.
#[post("/console/resources/<id>", data = "<form>")]
pub async fn change(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<ChangeForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let f = form.0;
    let mut conflict = false;
    let problems = match whole_number(&f.capacity) {
        Ok(capacity) => {
            let fields = format!("{id}:{}:{capacity}", f.name);
            let patch = ResourcePatch {
                name: Some(f.name.clone()),
                capacity: Some(capacity),
            };
            let done = once::for_operator(
                ctx,
                &principal,
                ("resources", &f.form_key, &fields),
                back_with("changed"),
                || async {
                    resources::update(ctx.store, ctx.now(), &principal, id, patch).await?;
                    Ok(())
                },
            )
            .await;
            match done {
                Ok(location) => return Ok(Either::Left(Redirect::to(location))),
                Err(AppError::Validation(problems)) => problems,
                Err(AppError::Refused {
                    code: "capacity_below_drawn",
                    message,
                }) => {
                    conflict = true;
                    Problems::from([("capacity".to_owned(), message)])
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(message) => Problems::from([("capacity".to_owned(), message)]),
    };
    let shown = Shown {
        change: Some(RowRefusal {
            resource: id.to_owned(),
            typed: BTreeMap::from([("name", f.name), ("capacity", f.capacity)]),
            problems,
        }),
        conflict,
        ..Shown::default()
    };
    Ok(Either::Right(render(ctx, &principal, shown).await?))
}

/// A tour (and optionally one of its schedules) to assign a resource to.
#[derive(FromForm)]
pub struct AssignForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    tour_id: String,
    /// Empty: every departure of the tour.
    #[field(default = String::new())]
    schedule_id: String,
}

/// `POST /console/resources/<id>/assignments`: makes a tour's departures (or one schedule's)
/// draw on the resource, as `POST /v1/resources/{id}/assignments`. An assignment that would ask
/// more than the capacity at some moment is refused beside the choice, naming the departures
/// that clash in their tours' local time, with the choice kept.
#[post("/console/resources/<id>/assignments", data = "<form>")]
pub async fn assign(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<AssignForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let f = form.0;
    let schedule = Some(f.schedule_id.trim()).filter(|s| !s.is_empty());
    let fields = format!("{id}:{}:{}", f.tour_id, f.schedule_id);
    let done = once::for_operator(
        ctx,
        &principal,
        ("resources", &f.form_key, &fields),
        back_with("assigned"),
        || async {
            resources::assign(ctx.store, ctx.now(), &principal, id, &f.tour_id, schedule).await?;
            Ok(())
        },
    )
    .await;
    // A clash is the choice as a whole: marked on the schedule when one was chosen.
    let chosen = if schedule.is_some() {
        "schedule_id"
    } else {
        "tour_id"
    };
    let (problems, conflict) = match done {
        Ok(location) => return Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(problems)) => (problems, false),
        Err(AppError::Refused { code, message })
            if code == "resource_over_capacity" || code == "already_assigned" =>
        {
            (Problems::from([(chosen.to_owned(), message)]), true)
        }
        Err(other) => return Err(other.into()),
    };
    let shown = Shown {
        assign: Some(RowRefusal {
            resource: id.to_owned(),
            typed: BTreeMap::from([("tour_id", f.tour_id), ("schedule_id", f.schedule_id)]),
            problems,
        }),
        conflict,
        ..Shown::default()
    };
    Ok(Either::Right(render(ctx, &principal, shown).await?))
}

/// Only the form's key: the path names what ends.
#[derive(FromForm)]
pub struct EndForm {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/resources/<id>/assignments/<assignment>/end`: ends an assignment, as
/// `DELETE /v1/resources/{id}/assignments/{assignment}`.
#[post(
    "/console/resources/<id>/assignments/<assignment>/end",
    data = "<form>"
)]
pub async fn unassign(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    assignment: &str,
    form: CsrfForm<EndForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let fields = format!("{id}:{assignment}");
    let location = once::for_operator(
        ctx,
        &principal,
        ("resources", &form.0.form_key, &fields),
        back_with("unassigned"),
        || async {
            resources::unassign(ctx.store, ctx.now(), &principal, id, assignment).await?;
            Ok(())
        },
    )
    .await?;
    Ok(Redirect::to(location))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capacity_that_is_not_a_number_is_refused_before_the_service() {
        assert_eq!(whole_number(" 40 "), Ok(40));
        assert!(whole_number("forty").is_err());
        assert!(whole_number("4.5").is_err());
        assert_eq!(<ResourceForm as Default>::default().draw, "seats");
    }
}
