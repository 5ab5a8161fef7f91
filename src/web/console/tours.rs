//! Tours in the console: the list, a tour with its schedules, and the form that creates or edits
//! one (units and prices, cutoff, group size, cancellation policy). The form is turned into the
//! API's `TourDraft`/`TourPatch` and validated by the same domain code; a refusal shows the form
//! again with what was typed and each problem beside its field.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};
use serde::Serialize;

use super::prices::form;
use super::{frame, Console};
use crate::clock::Clock;
use crate::domain::auth::Role;
use crate::domain::ids::TourId;
use crate::domain::money::{format_major, parse_major};
use crate::domain::records::TourRecord;
use crate::domain::refund::RefundRule;
use crate::domain::tour::{TourDraft, TourPatch, UnitDraft};
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::{Admin, Staff};
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::catalogue;
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

/// Unit rows the form offers (the domain allows up to `MAX_UNITS`; empty rows are ignored).
const UNIT_ROWS: usize = 5;
/// Refund-rule rows the form offers.
const POLICY_ROWS: usize = 4;

pub(super) fn tour_id(id: &str) -> Result<TourId, AppError> {
    TourId::parse(id).ok_or(AppError::NotFound)
}

/// `GET /console/tours`: the operator's tours. Staff and above; admins may add one.
#[get("/console/tours")]
pub async fn list(
    _rate: RateLimited,
    user: Console<Staff>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let tours: Vec<Value> = catalogue::list_tours(store, &principal.operator)
        .await?
        .iter()
        .map(|t| {
            context! {
                id => t.id.as_str(), name => t.tour.name, timezone => t.tour.timezone.name(),
                archived => t.archived_at.is_some(),
                currency => t.tour.currency.as_str(), units => t.tour.units.len(),
            }
        })
        .collect();
    Ok(Page::new(
        "console/tours.html",
        context! {
            console => frame(store, &principal, "/console/tours").await,
            tours => tours,
            manage => principal.role.at_least(Role::Admin),
        },
    ))
}

/// `GET /console/tours/<id>`: a tour, its prices and policy, its seasonal prices, and its
/// schedules.
#[get("/console/tours/<id>?<notice>&<kept>")]
pub async fn show(
    _rate: RateLimited,
    user: Console<Staff>,
    id: &str,
    notice: Option<&str>,
    kept: Option<u32>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let tour = catalogue::own_tour(store, &principal.operator, &tour_id(id)?).await?;
    let seasonal = form::rules_section(&tour, principal.role.at_least(Role::Admin), None);
    let shown = Shown {
        notice,
        kept: kept.unwrap_or(0),
        seasonal,
    };
    render(store, &principal, &tour, shown).await
}

/// What the tour page shows besides the tour: a notice after a change, and its "Seasonal
/// prices" section (`prices::form::rules_section`, with a refused rule as typed).
pub(super) struct Shown<'a> {
    pub notice: Option<&'a str>,
    pub kept: u32,
    pub seasonal: Value,
}

/// The tour page.
pub(super) async fn render(
    store: &Store,
    principal: &Principal,
    tour: &TourRecord,
    shown: Shown<'_>,
) -> Result<Page, WebError> {
    let schedules: Vec<Value> = catalogue::list_schedules(store, &principal.operator, &tour.id)
        .await?
        .iter()
        .map(|s| {
            context! {
                id => s.id.as_str(), rrule => s.rrule, start_date => s.start_date, until => s.until,
                times => s.times.join(", "), capacity => s.capacity,
                exceptions => s.exceptions.len(),
            }
        })
        .collect();
    let currency = tour.tour.currency.as_str();
    let units: Vec<Value> = tour
        .tour
        .units
        .iter()
        .map(|u| context! { code => u.code, label => u.label, price => format_major(u.price, currency) })
        .collect();
    Ok(Page::new(
        "console/tour.html",
        context! {
            console => frame(store, principal, "/console/tours").await,
            tour => context! {
                id => tour.id.as_str(), name => tour.tour.name, description => tour.tour.description,
                meeting_point => tour.tour.meeting_point, timezone => tour.tour.timezone.name(),
                currency => currency, duration_minutes => tour.tour.duration_minutes,
                cutoff_minutes => tour.tour.cutoff_minutes,
                min_per_booking => tour.tour.min_per_booking,
                max_per_booking => tour.tour.max_per_booking,
                reschedule_allowed => tour.tour.reschedule_allowed,
                policy => tour.tour.cancellation_policy.rules(),
                archived => tour.archived_at.map(|at| at.format("%Y-%m-%d").to_string()),
            },
            form_key => once::new_key(),
            units => units,
            seasonal => shown.seasonal,
            schedules => schedules,
            manage => principal.role.at_least(Role::Admin),
            notice => shown.notice,
            kept => shown.kept,
        },
    ))
}

/// One unit row of the form: code, label and price in major units, as typed.
#[derive(Debug, Clone, Default, FromForm, Serialize)]
pub struct UnitRow {
    #[field(default = String::new())]
    code: String,
    #[field(default = String::new())]
    label: String,
    #[field(default = String::new())]
    price: String,
}

/// One refund rule row, as typed.
#[derive(Debug, Clone, Default, FromForm, Serialize)]
pub struct PolicyRow {
    #[field(default = String::new())]
    hours_before: String,
    #[field(default = String::new())]
    refund_percent: String,
}

/// The tour form, every field as typed (so a refusal shows it back unchanged).
#[derive(Debug, Clone, Default, FromForm, Serialize)]
pub struct TourForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    description: String,
    #[field(default = String::new())]
    meeting_point: String,
    #[field(default = String::new())]
    timezone: String,
    #[field(default = String::new())]
    currency: String,
    #[field(default = String::new())]
    duration_minutes: String,
    #[field(default = String::new())]
    cutoff_minutes: String,
    #[field(default = String::new())]
    min_per_booking: String,
    #[field(default = String::new())]
    max_per_booking: String,
    #[field(default = false)]
    reschedule_allowed: bool,
    #[field(default = String::new())]
    min_participants: String,
    #[field(default = String::new())]
    decision_hours: String,
    #[field(default = Vec::new())]
    units: Vec<UnitRow>,
    #[field(default = Vec::new())]
    policy: Vec<PolicyRow>,
}

/// Problems by form field name (`units[2].price` …), each a message for the operator.
type Problems = BTreeMap<String, String>;

impl TourForm {
    /// A new tour's form: one unit row, the API's defaults.
    fn blank() -> TourForm {
        TourForm {
            min_per_booking: "1".into(),
            max_per_booking: "10".into(),
            cutoff_minutes: "0".into(),
            reschedule_allowed: true,
            min_participants: "0".into(),
            decision_hours: crate::domain::minimum::DEFAULT_DECISION_HOURS.to_string(),
            ..<TourForm as Default>::default()
        }
        .padded()
    }

    /// The form of an existing tour.
    fn of(record: &TourRecord) -> TourForm {
        let tour = &record.tour;
        let currency = tour.currency.as_str();
        TourForm {
            name: tour.name.clone(),
            description: tour.description.clone(),
            meeting_point: tour.meeting_point.clone(),
            timezone: tour.timezone.name().to_owned(),
            currency: currency.to_owned(),
            duration_minutes: tour.duration_minutes.to_string(),
            cutoff_minutes: tour.cutoff_minutes.to_string(),
            min_per_booking: tour.min_per_booking.to_string(),
            max_per_booking: tour.max_per_booking.to_string(),
            reschedule_allowed: tour.reschedule_allowed,
            min_participants: tour.min_participants.to_string(),
            decision_hours: tour.decision_hours.to_string(),
            units: tour
                .units
                .iter()
                .map(|u| UnitRow {
                    code: u.code.clone(),
                    label: u.label.clone(),
                    price: format_major(u.price, currency),
                })
                .collect(),
            policy: tour
                .cancellation_policy
                .rules()
                .iter()
                .map(|r| PolicyRow {
                    hours_before: r.hours_before.to_string(),
                    refund_percent: r.refund_percent.to_string(),
                })
                .collect(),
        }
        .padded()
    }

    /// At least the offered number of rows, so there is room to add a unit or a rule.
    fn padded(mut self) -> TourForm {
        let units = self.units.len().max(UNIT_ROWS);
        self.units.resize(units, <UnitRow as Default>::default());
        let rules = self.policy.len().max(POLICY_ROWS);
        self.policy.resize(rules, <PolicyRow as Default>::default());
        self
    }

    /// The draft the API would receive, or the problems of what cannot even be read (a number
    /// that is not one, a price with too many decimals). Empty rows are left out; `rows` maps
    /// each draft row back to its form row, to put the domain's problems on the right field.
    fn to_draft(&self) -> Result<(TourDraft, Rows), Problems> {
        let mut problems = Problems::new();
        let mut number = |field: &str, text: &str| -> i64 {
            match text.trim().parse::<i64>() {
                Ok(value) => value,
                Err(_) => {
                    problems.insert(field.to_owned(), "must be a whole number".to_owned());
                    0
                }
            }
        };
        let duration_minutes = number("duration_minutes", &self.duration_minutes);
        let cutoff_minutes = number("cutoff_minutes", &self.cutoff_minutes);
        let min_per_booking = number("min_per_booking", &self.min_per_booking);
        let max_per_booking = number("max_per_booking", &self.max_per_booking);
        let min_participants = number("min_participants", &self.min_participants);
        let decision_hours = number("decision_hours", &self.decision_hours);
        let mut rows = Rows::default();
        let mut cancellation_policy = Vec::new();
        for (i, rule) in self.policy.iter().enumerate() {
            if rule.hours_before.trim().is_empty() && rule.refund_percent.trim().is_empty() {
                continue;
            }
            rows.policy.push(i);
            cancellation_policy.push(RefundRule {
                hours_before: number(&format!("policy[{i}].hours_before"), &rule.hours_before),
                refund_percent: number(
                    &format!("policy[{i}].refund_percent"),
                    &rule.refund_percent,
                ),
            });
        }
        let currency = self.currency.trim().to_uppercase();
        let mut units = Vec::new();
        for (i, unit) in self.units.iter().enumerate() {
            if [&unit.code, &unit.label, &unit.price]
                .iter()
                .all(|text| text.trim().is_empty())
            {
                continue;
            }
            rows.units.push(i);
            let price = match parse_major(&unit.price, &currency) {
                Ok(price) => price,
                Err(message) => {
                    problems.insert(format!("units[{i}].price"), message);
                    0
                }
            };
            units.push(UnitDraft {
                code: unit.code.trim().to_owned(),
                label: unit.label.trim().to_owned(),
                price,
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let draft = TourDraft {
            name: self.name.trim().to_owned(),
            description: self.description.trim().to_owned(),
            meeting_point: self.meeting_point.trim().to_owned(),
            timezone: self.timezone.trim().to_owned(),
            duration_minutes,
            currency,
            cutoff_minutes,
            min_per_booking,
            max_per_booking,
            units,
            cancellation_policy,
            reschedule_allowed: self.reschedule_allowed,
            min_participants,
            decision_hours,
        };
        Ok((draft, rows))
    }
}

/// Which form row each draft row came from.
#[derive(Debug, Default)]
struct Rows {
    units: Vec<usize>,
    policy: Vec<usize>,
}

impl Rows {
    /// The domain's field name (`units[0].price`, `cancellation_policy[1].hours_before`) as the
    /// form's (`units[3].price`, `policy[2].hours_before`).
    fn form_field(&self, field: &str) -> String {
        let remap = |prefix: &str, form_prefix: &str, rows: &[usize]| -> Option<String> {
            let rest = field.strip_prefix(prefix)?;
            let (index, tail) = rest.split_once(']')?;
            let row = rows.get(index.parse::<usize>().ok()?)?;
            Some(format!("{form_prefix}[{row}]{tail}"))
        };
        remap("units[", "units", &self.units)
            .or_else(|| remap("cancellation_policy[", "policy", &self.policy))
            .unwrap_or_else(|| match field {
                "cancellation_policy" => "policy".to_owned(),
                other => other.to_owned(),
            })
    }

    fn problems(&self, error: AppError) -> Result<Problems, AppError> {
        match error {
            AppError::Validation(fields) => Ok(fields
                .into_iter()
                .map(|(field, message)| (self.form_field(&field), message))
                .collect()),
            other => Err(other),
        }
    }
}

/// The form page: new (`tour` is `None`) or editing a tour.
async fn form_page(
    store: &Store,
    principal: &Principal,
    tour: Option<&TourRecord>,
    form: &TourForm,
    problems: &Problems,
) -> Page {
    Page::new(
        "console/tour_form.html",
        context! {
            console => frame(store, principal, "/console/tours").await,
            tour => tour.map(|t| context! { id => t.id.as_str(), name => t.tour.name }),
            form => Value::from_serialize(form),
            errors => problems,
        },
    )
    .refused_if(!problems.is_empty())
}

/// `GET /console/tours/new`: an empty tour form. Admins.
#[get("/console/tours/new")]
pub async fn new(
    _rate: RateLimited,
    user: Console<Admin>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    Ok(form_page(store, &user.0, None, &TourForm::blank(), &Problems::new()).await)
}

/// `POST /console/tours`: creates the tour (as `POST /v1/tours`) and opens it.
#[post("/console/tours", data = "<form>")]
pub async fn create(
    _rate: RateLimited,
    user: Console<Admin>,
    form: CsrfForm<TourForm>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let form = form.0.padded();
    let problems = match form.to_draft() {
        Ok((draft, rows)) => {
            match catalogue::create_tour(store, clock.now(), &principal, draft).await {
                Ok(tour) => {
                    return Ok(Either::Left(Redirect::to(format!(
                        "/console/tours/{}?notice=created",
                        tour.id
                    ))))
                }
                Err(error) => rows.problems(error)?,
            }
        }
        Err(problems) => problems,
    };
    Ok(Either::Right(
        form_page(store, &principal, None, &form, &problems).await,
    ))
}

/// `GET /console/tours/<id>/edit`: the tour's form. Admins.
#[get("/console/tours/<id>/edit")]
pub async fn edit(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let tour = catalogue::own_tour(store, &principal.operator, &tour_id(id)?).await?;
    let form = TourForm::of(&tour);
    Ok(form_page(store, &principal, Some(&tour), &form, &Problems::new()).await)
}

/// `POST /console/tours/<id>`: saves the form as `PATCH /v1/tours/{id}` would (zone and currency
/// stay as created; the domain says so when they were changed).
#[post("/console/tours/<id>", data = "<form>")]
pub async fn update(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<TourForm>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let tour = catalogue::own_tour(store, &principal.operator, &tour_id(id)?).await?;
    let form = form.0.padded();
    let problems = match form.to_draft() {
        Ok((draft, rows)) => {
            let patch = TourPatch {
                name: Some(draft.name),
                description: Some(draft.description),
                meeting_point: Some(draft.meeting_point),
                duration_minutes: Some(draft.duration_minutes),
                cutoff_minutes: Some(draft.cutoff_minutes),
                min_per_booking: Some(draft.min_per_booking),
                max_per_booking: Some(draft.max_per_booking),
                units: Some(draft.units),
                timezone: Some(draft.timezone),
                currency: Some(draft.currency),
                cancellation_policy: Some(draft.cancellation_policy),
                reschedule_allowed: Some(draft.reschedule_allowed),
                min_participants: Some(draft.min_participants),
                decision_hours: Some(draft.decision_hours),
            };
            match catalogue::update_tour(store, clock.now(), &principal, &tour.id, patch).await {
                Ok(_) => {
                    return Ok(Either::Left(Redirect::to(format!(
                        "/console/tours/{id}?notice=saved"
                    ))))
                }
                Err(error) => rows.problems(error)?,
            }
        }
        Err(problems) => problems,
    };
    Ok(Either::Right(
        form_page(store, &principal, Some(&tour), &form, &problems).await,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> TourForm {
        TourForm {
            name: "Harbour".into(),
            timezone: "Europe/Lisbon".into(),
            currency: "eur".into(),
            duration_minutes: "90".into(),
            units: vec![
                <UnitRow as Default>::default(),
                UnitRow {
                    code: "adult".into(),
                    label: "Adult".into(),
                    price: "25.50".into(),
                },
            ],
            policy: vec![
                <PolicyRow as Default>::default(),
                PolicyRow {
                    hours_before: "24".into(),
                    refund_percent: "100".into(),
                },
            ],
            ..TourForm::blank()
        }
    }

    #[test]
    fn a_form_becomes_the_apis_draft_in_minor_units_without_its_empty_rows() {
        let (draft, rows) = form().to_draft().unwrap();
        assert_eq!(draft.currency, "EUR");
        assert_eq!(draft.units.len(), 1);
        assert_eq!(draft.units[0].price, 2550);
        assert_eq!(draft.cancellation_policy.len(), 1);
        assert_eq!(rows.units, [1]);
        assert_eq!(rows.form_field("units[0].price"), "units[1].price");
        assert_eq!(
            rows.form_field("cancellation_policy[0].refund_percent"),
            "policy[1].refund_percent"
        );
        assert_eq!(rows.form_field("name"), "name");
    }

    #[test]
    fn what_cannot_be_read_is_named_by_its_form_field() {
        let mut bad = form();
        bad.units[1].price = "25.505".into();
        bad.policy[1].hours_before = "a day".into();
        bad.duration_minutes = "1h".into();
        let problems = bad.to_draft().unwrap_err();
        let fields: Vec<&str> = problems.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "duration_minutes",
                "policy[1].hours_before",
                "units[1].price"
            ]
        );
    }
}

#[derive(FromForm)]
pub struct ArchiveForm {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/tours/<id>/archive` and `…/restore`: takes the tour off sale (and out of the
/// public catalogue) or puts it back, as `POST /v1/tours/{id}/archive` and `…/restore`. Admins.
#[post("/console/tours/<id>/<verb>", data = "<form>", rank = 2)]
#[allow(clippy::too_many_arguments)]
pub async fn archive(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    verb: &str,
    form: CsrfForm<ArchiveForm>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let archived = match verb {
        "archive" => true,
        "restore" => false,
        _ => return Err(AppError::NotFound.into()),
    };
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let tour = tour_id(id)?;
    let scope = format!("console:{}:tour-{verb}", principal.operator);
    let location = once::once(store, config, now, &scope, &form.0.form_key, id, || async {
        catalogue::set_archived(store, now, &principal, &tour, archived).await?;
        Ok(format!("/console/tours/{id}?notice={verb}d"))
    })
    .await?;
    Ok(Redirect::to(location))
}
