//! A departure's own minimum of participants and decision time on its console page: shown with
//! the tour's, set or cleared by admins (the same service call as the API).

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{post, Either, State};

use crate::clock::Clock;
use crate::http::guards::Admin;
use crate::http::rate_limit::RateLimited;
use crate::service::guarantees;
use crate::service::guarantees::MinimumChange;
use crate::storage::Store;
use crate::web::console::prices::form;
use crate::web::console::Console;
use crate::web::{CsrfForm, Page, WebError};

use super::{departure_id, render, Shown};

/// The departure's minimum of participants and decision time as the page shows them: the value
/// in force, whether it is the departure's own or its tour's, and the form's fields (its own
/// values, empty for the tour's, or what was typed when the form was refused).
pub(super) fn minimum_section(
    tour: &crate::domain::tour::Tour,
    departure: &crate::domain::records::DepartureRecord,
    refused: Option<(BTreeMap<String, String>, form::Problems)>,
) -> Value {
    let own = |value: Option<u32>| value.map(|v| v.to_string()).unwrap_or_default();
    let (typed, errors) = refused.unwrap_or_else(|| {
        let typed = BTreeMap::from([
            (
                "min_participants".to_owned(),
                own(departure.min_participants),
            ),
            ("decision_hours".to_owned(), own(departure.decision_hours)),
        ]);
        (typed, form::Problems::new())
    });
    context! {
        min_participants => departure.min_participants.unwrap_or(tour.min_participants),
        min_participants_own => departure.min_participants.is_some(),
        tour_min_participants => tour.min_participants,
        decision_hours => departure.decision_hours.unwrap_or(tour.decision_hours),
        decision_hours_own => departure.decision_hours.is_some(),
        tour_decision_hours => tour.decision_hours,
        has_own => departure.min_participants.is_some() || departure.decision_hours.is_some(),
        typed => typed,
        errors => errors,
    }
}

/// The minimum form: each field a number for the departure's own, or empty for its tour's;
/// `use_tour` (its second button) clears both.
#[derive(FromForm)]
pub struct MinimumForm {
    #[field(default = String::new())]
    min_participants: String,
    #[field(default = String::new())]
    decision_hours: String,
    #[field(default = false)]
    use_tour: bool,
}

impl MinimumForm {
    /// The change the API's `PATCH /v1/departures/{id}` would receive (`null`, the tour's, for
    /// an empty field), or the fields that are not even whole numbers.
    fn to_change(&self) -> Result<MinimumChange, form::Problems> {
        if self.use_tour {
            return Ok(MinimumChange {
                min_participants: Some(None),
                decision_hours: Some(None),
            });
        }
        let mut problems = form::Problems::new();
        let mut number = |field: &str, text: &str| match text.trim() {
            "" => Some(None),
            text => match text.parse::<i64>() {
                Ok(value) => Some(Some(value)),
                Err(_) => {
                    problems.insert(field.to_owned(), "must be a whole number".to_owned());
                    None
                }
            },
        };
        let min_participants = number("min_participants", &self.min_participants);
        let decision_hours = number("decision_hours", &self.decision_hours);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(MinimumChange {
            min_participants,
            decision_hours,
        })
    }
}

/// `POST /console/departures/<id>/minimum`: admins, as `PATCH /v1/departures/{id}` with
/// `min_participants` and `decision_hours`: the departure's own, or its tour's again. A refusal
/// shows the page again with the values as typed and the field marked.
#[post("/console/departures/<id>/minimum", data = "<form>")]
pub async fn set_minimum(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<MinimumForm>,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let now = clock.now();
    let departure = departure_id(id)?;
    let typed = form.0;
    let problems = match typed.to_change() {
        Err(problems) => problems,
        Ok(change) => match change.check() {
            Err(error) => form::problems_of(error)?,
            Ok(change) => {
                match guarantees::set_minimum(store, now, &principal, &departure, &change).await {
                    Ok(()) => {
                        let notice = if typed.use_tour {
                            "minimum-cleared"
                        } else {
                            "minimum"
                        };
                        return Ok(Either::Left(Redirect::to(format!(
                            "/console/departures/{id}?notice={notice}#minimum"
                        ))));
                    }
                    Err(error) => form::problems_of(error)?,
                }
            }
        },
    };
    let shown = Shown {
        minimum: Some((
            BTreeMap::from([
                ("min_participants".to_owned(), typed.min_participants),
                ("decision_hours".to_owned(), typed.decision_hours),
            ]),
            problems,
        )),
        ..Shown::default()
    };
    Ok(Either::Right(
        render(store, now, &principal, id, shown).await?,
    ))
}
