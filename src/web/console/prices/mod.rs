//! Prices by date in the console (as `/v1/tours/{id}/price-rules` and
//! `PUT /v1/departures/{id}/prices`): on the tour page, admins add a seasonal rule or remove
//! one; on the departure page, they set the departure's own price per unit or clear them. Each
//! is the API's service function (`service::prices`), so the domain's rules answer the page as
//! they answer the API; each change runs once per rendered form, and a refusal shows the page
//! again with what was typed and the field marked. Staff read the rules on the tour page (its
//! section, built by [`form`]).

pub mod form;

use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{post, Either};

use self::form::{OwnPricesForm, Problems, RuleForm};
use super::departure::{self, departure_id};
use super::tours::{self, tour_id};
use super::Console;
use crate::http::context::Ctx;
use crate::http::guards::Admin;
use crate::http::rate_limit::RateLimited;
use crate::service::{catalogue, prices};
use crate::web::{once, CsrfForm, Page, WebError};
/// `POST /console/tours/<id>/price-rules`: adds a seasonal rule, as
/// `POST /v1/tours/{id}/price-rules`. Admins. A refusal shows the tour page again with the
/// form as typed and each problem beside its field.
#[post("/console/tours/<id>/price-rules", data = "<form>")]
pub async fn add_rule(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<RuleForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let tour = catalogue::own_tour(ctx.store, &principal.operator, &tour_id(id)?).await?;
    let typed = form.0;
    let problems: Problems = match typed.to_draft(tour.tour.currency.as_str()) {
        Ok(draft) => {
            let fields = format!("{id}:{}", serde_json::to_string(&typed).unwrap_or_default());
            let location = format!("/console/tours/{id}?notice=rule-added#seasonal-prices");
            let done = once::for_operator(
                ctx,
                &principal,
                ("price-rules", &typed.form_key, &fields),
                location,
                || async {
                    prices::add_rule(ctx.store, ctx.now(), &principal, &tour.id, &draft).await?;
                    Ok(())
                },
            )
            .await;
            match done {
                Ok(location) => return Ok(Either::Left(Redirect::to(location))),
                Err(error) => form::problems_of(error)?,
            }
        }
        Err(problems) => problems,
    };
    let shown = tours::Shown {
        notice: None,
        kept: 0,
        seasonal: form::rules_section(&tour, true, Some((&typed, &problems))),
    };
    let page = tours::render(ctx.store, &principal, &tour, shown).await?;
    Ok(Either::Right(page.refused_if(true)))
}

/// A form that carries nothing but its CSRF token and its once key.
#[derive(FromForm)]
pub struct KeyOnly {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/tours/<id>/price-rules/<rule>/remove`: removes a rule, as
/// `DELETE /v1/tours/{id}/price-rules/{rule}`. Admins.
#[post("/console/tours/<id>/price-rules/<rule>/remove", data = "<form>")]
pub async fn remove_rule(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    rule: &str,
    form: CsrfForm<KeyOnly>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let tour = tour_id(id)?;
    let location = format!("/console/tours/{id}?notice=rule-removed#seasonal-prices");
    let fields = format!("{id}:{rule}");
    let location = once::for_operator(
        ctx,
        &principal,
        ("price-rules", &form.0.form_key, &fields),
        location,
        || async {
            prices::remove_rule(ctx.store, ctx.now(), &principal, &tour, rule).await?;
            Ok(())
        },
    )
    .await?;
    Ok(Redirect::to(location))
}

/// `POST /console/departures/<id>/prices`: sets the departure's own prices, as
/// `PUT /v1/departures/{id}/prices`; every field left empty means none of its own. Admins. A
/// refusal shows the departure page again with the prices as typed and the field marked.
#[post("/console/departures/<id>/prices", data = "<form>")]
pub async fn set_departure_prices(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<OwnPricesForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let now = ctx.now();
    let departure = departure_id(id)?;
    let (tour, _) =
        catalogue::own_departure(ctx.store, now, &principal.operator, &departure).await?;
    let typed = form.0;
    let problems = match typed.to_prices(tour.tour.currency.as_str()) {
        Ok(own) => {
            let notice = if own.is_some() {
                "prices"
            } else {
                "prices-cleared"
            };
            let fields = format!("{id}:{own:?}");
            let done = once::for_operator(
                ctx,
                &principal,
                ("departure-prices", &typed.form_key, &fields),
                format!("/console/departures/{id}?notice={notice}#prices"),
                || async {
                    prices::set_departure_prices(
                        ctx.store,
                        now,
                        &principal,
                        &departure,
                        own.as_ref(),
                    )
                    .await?;
                    Ok(())
                },
            )
            .await;
            match done {
                Ok(location) => return Ok(Either::Left(Redirect::to(location))),
                Err(error) => form::problems_of(error)?,
            }
        }
        Err(problems) => problems,
    };
    let shown = departure::Shown {
        prices: Some((typed.prices, problems)),
        ..departure::Shown::default()
    };
    let page = departure::render(ctx.store, now, &principal, id, shown).await?;
    Ok(Either::Right(page))
}

/// `POST /console/departures/<id>/prices/clear`: the departure sells at its tour's prices for
/// its date again, as `PUT /v1/departures/{id}/prices` with no prices. Admins.
#[post("/console/departures/<id>/prices/clear", data = "<form>")]
pub async fn clear_departure_prices(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<KeyOnly>,
    ctx: Ctx<'_>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let departure = departure_id(id)?;
    let location = once::for_operator(
        ctx,
        &principal,
        ("departure-prices", &form.0.form_key, &format!("{id}:clear")),
        format!("/console/departures/{id}?notice=prices-cleared#prices"),
        || async {
            prices::set_departure_prices(ctx.store, ctx.now(), &principal, &departure, None)
                .await?;
            Ok(())
        },
    )
    .await?;
    Ok(Redirect::to(location))
}
