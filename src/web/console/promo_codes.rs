//! Promo codes in the console (as `/v1/promo-codes`): staff read the operator's codes with their
//! discount, window, limits and the redemptions live now; admins create one and switch one off
//! or on, or change its maximum uses, or its minimum spend and the currency it is in (set or
//! cleared). Each is the API's service function (`service::promos`), so
//! the domain's rules answer the page as they answer the API; each change runs once per rendered
//! form, and a refusal shows the form again with what was typed and the field marked.
//!
//! The window is typed as the operator's wall-clock time in a zone the form names (the zone of
//! the operator's tours, or UTC) and stored as the instant it means, by the rule schedules use
//! for the hours daylight saving skips or repeats (`domain::schedule::resolve_local`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either};
use serde::Serialize;

use super::{frame, Console};
use crate::domain::auth::Role;
use crate::domain::money::{format_major, parse_major};
use crate::domain::promo::{Discount, PromoCode};
use crate::domain::records::TourRecord;
use crate::domain::schedule::resolve_local;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::{Admin, Staff};
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::catalogue;
use crate::service::promos::{self, NewPromo, PromoPatch};
use crate::web::{once, CsrfForm, Page, WebError};

/// Where the page lives.
const PATH: &str = "/console/promo-codes";

/// The list again, with `notice` shown.
fn back_with(notice: &str) -> String {
    format!("{PATH}?notice={notice}")
}

/// The notices a change leads to (each a catalogue key `console-promo-notice-…`).
pub const NOTICES: [&str; 5] = ["created", "off", "on", "limit", "spend"];

pub fn notice_key(notice: &str) -> String {
    format!("console-promo-notice-{notice}")
}

/// Problems by form field name, each a message for the operator.
type Problems = BTreeMap<String, String>;

/// The new-code form, every field as typed (so a refusal shows it back unchanged).
#[derive(Debug, Clone, Default, FromForm, Serialize)]
pub struct PromoForm {
    #[serde(skip)]
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    code: String,
    #[field(default = String::new())]
    percent_off: String,
    /// In major units of `currency` (`5.00`).
    #[field(default = String::new())]
    amount_off: String,
    /// The currency `amount_off` and `min_spend` are written in.
    #[field(default = String::new())]
    currency: String,
    /// Empty: every tour of the operator.
    #[field(default = String::new())]
    tour_id: String,
    /// The zone `valid_from` and `valid_until` are read in.
    #[field(default = String::new())]
    zone: String,
    /// `datetime-local` (`2027-06-01T09:00`) or a date (its midnight).
    #[field(default = String::new())]
    valid_from: String,
    #[field(default = String::new())]
    valid_until: String,
    #[field(default = String::new())]
    min_spend: String,
    #[field(default = String::new())]
    max_redemptions: String,
    #[field(default = String::new())]
    max_per_customer: String,
}

impl PromoForm {
    /// The request the API would receive, or the problems of what cannot even be read (a number
    /// that is not one, an amount with too many decimals, a time that is not one).
    fn to_input(&self) -> Result<NewPromo, Problems> {
        let mut problems = Problems::new();
        let mut number = |field: &str, text: &str| -> Option<i64> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            text.parse::<i64>()
                .map_err(|_| problems.insert(field.to_owned(), "must be a whole number".into()))
                .ok()
        };
        let percent_off = number("percent_off", &self.percent_off);
        let max_redemptions = number("max_redemptions", &self.max_redemptions);
        let max_per_customer = number("max_per_customer", &self.max_per_customer);
        let currency = self.currency.trim().to_uppercase();
        let mut amount = |field: &str, text: &str| -> Option<i64> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            parse_major(text, &currency)
                .map_err(|message| problems.insert(field.to_owned(), message))
                .ok()
        };
        let amount_off = amount("amount_off", &self.amount_off);
        let min_spend = amount("min_spend", &self.min_spend);
        let window = [&self.valid_from, &self.valid_until];
        let zone = if window.iter().all(|text| text.trim().is_empty()) {
            None
        } else {
            match self.zone.trim().parse::<Tz>() {
                Ok(zone) => Some(zone),
                Err(_) => {
                    problems.insert(
                        "zone".into(),
                        "must be a time zone such as Europe/Lisbon".into(),
                    );
                    None
                }
            }
        };
        let mut instant = |field: &str, text: &str| -> Option<String> {
            let zone = zone?;
            local_instant(text, zone)
                .map_err(|message| problems.insert(field.to_owned(), message))
                .ok()
                .flatten()
        };
        let valid_from = instant("valid_from", &self.valid_from);
        let valid_until = instant("valid_until", &self.valid_until);
        if !problems.is_empty() {
            return Err(problems);
        }
        let tour_id = Some(self.tour_id.trim().to_owned()).filter(|id| !id.is_empty());
        Ok(NewPromo {
            code: self.code.trim().to_owned(),
            percent_off,
            // An amount off and a minimum spend are amounts in this currency; a percent code
            // without a minimum applies whatever the tour's currency.
            currency: (amount_off.is_some() || min_spend.is_some_and(|m| m > 0))
                .then(|| currency.clone()),
            amount_off,
            tour_id,
            valid_from,
            valid_until,
            min_spend,
            max_redemptions,
            max_per_customer,
            active: Some(true),
        })
    }
}

/// A `datetime-local` value (`2027-06-01T09:00`, seconds optional) or a date (its midnight),
/// read as a wall-clock time in `zone`: the instant as RFC 3339 UTC. Empty: none.
fn local_instant(text: &str, zone: Tz) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|day| day.and_time(NaiveTime::MIN))
        })
        .map_err(|_| "must be a date and time such as 2027-06-01T09:00".to_owned())?;
    let at = resolve_local(zone, local.date(), local.time());
    Ok(Some(at.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// The zone and currency the form starts with, and the zones it offers: the operator's tours'
/// (a tour on sale first), then UTC.
struct Defaults {
    zone: String,
    currency: String,
    zones: Vec<String>,
}

impl Defaults {
    fn of(tours: &[TourRecord]) -> Defaults {
        let first = tours
            .iter()
            .find(|t| t.archived_at.is_none())
            .or(tours.first());
        let mut zones: Vec<String> = Vec::new();
        for zone in first
            .into_iter()
            .chain(tours)
            .map(|t| t.tour.timezone.name().to_owned())
            .chain(std::iter::once("UTC".to_owned()))
        {
            if !zones.contains(&zone) {
                zones.push(zone);
            }
        }
        Defaults {
            zone: zones[0].clone(),
            currency: first.map_or_else(String::new, |t| t.tour.currency.to_string()),
            zones,
        }
    }
}

/// What the page shows besides the codes: a notice, a refused form with its problems, a refused
/// change of one code.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    form: Option<PromoForm>,
    problems: Problems,
    /// (the code's id, the maximum as typed, why it was refused).
    change: Option<(String, String, String)>,
    /// A refused minimum spend: the code's id, the form as typed, its problems by field.
    spend: Option<Spend>,
}

/// A minimum spend form as typed, with its problems by field.
struct Spend {
    id: String,
    min_spend: String,
    currency: String,
    problems: Problems,
}

/// One code as the list shows it.
fn code_view(
    code: &PromoCode,
    live: u32,
    tours: &[TourRecord],
    defaults: &Defaults,
    change: Option<&(String, String, String)>,
    spend: Option<&Spend>,
) -> Value {
    let rules = &code.rules;
    let tour = rules
        .tour_id
        .as_ref()
        .and_then(|id| tours.iter().find(|t| &t.id == id));
    // Times in the zone of the code's tour, else the page's; amounts in the code's currency,
    // else its tour's, else the page's.
    let zone = tour.map_or_else(
        || defaults.zone.parse::<Tz>().unwrap_or(Tz::UTC),
        |t| t.tour.timezone,
    );
    let (percent_off, amount_off) = match &rules.discount {
        Discount::Percent(percent) => (Some(*percent), None),
        Discount::Amount { amount, .. } => (None, Some(*amount)),
    };
    let currency = rules
        .currency
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .or_else(|| tour.map(|t| t.tour.currency.to_string()))
        .unwrap_or_else(|| defaults.currency.clone());
    let when = |at: Option<DateTime<Utc>>| {
        at.map(|at| {
            context! {
                local => at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
                utc => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            }
        })
    };
    let id = code.id.as_str();
    let refused = change.filter(|(of, _, _)| of == id);
    let spend = spend.filter(|spend| spend.id == id);
    let own_currency = rules.currency.as_ref().map(|c| c.as_str().to_owned());
    let no_problems = Problems::new();
    context! {
        id => id,
        code => rules.code,
        percent_off => percent_off,
        amount_off => amount_off,
        currency => currency,
        tour_name => tour.map(|t| t.tour.name.clone()),
        zone => zone.name(),
        valid_from => when(rules.valid_from),
        valid_until => when(rules.valid_until),
        min_spend => rules.min_spend,
        max_redemptions => rules.max_redemptions,
        max_per_customer => rules.max_per_customer,
        redemptions => live,
        active => rules.active,
        max_typed => refused.map_or_else(
            || rules.max_redemptions.map(|n| n.to_string()).unwrap_or_default(),
            |(_, typed, _)| typed.clone(),
        ),
        problem => refused.map(|(_, _, message)| message.clone()),
        // The minimum spend form: the code's own currency (empty: none, the code applies in any)
        // and its minimum in it (empty: none), or what was typed when it was refused.
        own_currency => own_currency,
        spend_typed => spend.map_or_else(
            || context! {
                min_spend => if rules.min_spend > 0 {
                    format_major(rules.min_spend, &currency)
                } else {
                    String::new()
                },
                currency => own_currency.clone().unwrap_or_default(),
            },
            |spend| context! { min_spend => spend.min_spend, currency => spend.currency },
        ),
        spend_errors => spend.map_or(&no_problems, |spend| &spend.problems),
        spend_key => once::new_key(),
        // One key per form: a row sends either.
        switch_key => once::new_key(),
        limit_key => once::new_key(),
    }
}

async fn render(ctx: Ctx<'_>, principal: &Principal, shown: Shown) -> Result<Page, WebError> {
    let store = ctx.store;
    let tours = catalogue::list_tours(store, &principal.operator).await?;
    let defaults = Defaults::of(&tours);
    let codes: Vec<Value> = promos::list(store, ctx.now(), principal)
        .await?
        .iter()
        .map(|(code, live)| {
            code_view(
                code,
                *live,
                &tours,
                &defaults,
                shown.change.as_ref(),
                shown.spend.as_ref(),
            )
        })
        .collect();
    let on_sale: Vec<Value> = tours
        .iter()
        .filter(|t| t.archived_at.is_none())
        .map(|t| context! { id => t.id.as_str(), name => t.tour.name })
        .collect();
    let form = shown.form.unwrap_or_else(|| PromoForm {
        zone: defaults.zone.clone(),
        currency: defaults.currency.clone(),
        ..<PromoForm as Default>::default()
    });
    let refused = !shown.problems.is_empty() || shown.change.is_some() || shown.spend.is_some();
    Ok(Page::new(
        "console/promo_codes.html",
        context! {
            console => frame(store, principal, PATH).await,
            codes => codes,
            manage => principal.role.at_least(Role::Admin),
            tours => on_sale,
            zones => defaults.zones,
            form => Value::from_serialize(&form),
            create_key => once::new_key(),
            notice_key => shown.notice.as_deref().map(notice_key),
            errors => shown.problems,
        },
    )
    .refused_if(refused))
}

/// `GET /console/promo-codes`: the operator's codes; admins also get the forms.
#[get("/console/promo-codes?<notice>")]
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

/// `POST /console/promo-codes`: creates a code, as `POST /v1/promo-codes`. A refusal (a field
/// the rules refuse, a code already taken) shows the form again with what was typed.
#[post("/console/promo-codes", data = "<form>")]
pub async fn create(
    _rate: RateLimited,
    user: Console<Admin>,
    form: CsrfForm<PromoForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let f = form.0;
    let problems = match f.to_input() {
        Ok(input) => {
            let fields = serde_json::to_string(&f).unwrap_or_default();
            let done = once::for_operator(
                ctx,
                &principal,
                ("promo-codes", &f.form_key, &fields),
                back_with("created"),
                || async {
                    promos::create(ctx.store, ctx.now(), &principal, input).await?;
                    Ok(())
                },
            )
            .await;
            match done {
                Ok(location) => return Ok(Either::Left(Redirect::to(location))),
                Err(AppError::Validation(problems)) => problems,
                Err(AppError::Refused { code, message }) if code == promos::CODE_TAKEN => {
                    Problems::from([("code".to_owned(), message)])
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(problems) => problems,
    };
    let shown = Shown {
        form: Some(f),
        problems,
        ..Shown::default()
    };
    Ok(Either::Right(render(ctx, &principal, shown).await?))
}

/// A change of one code: only the fields its form sends (the switch sends `active`, the limit
/// form `max_redemptions`, empty for no limit, the minimum spend form `min_spend` and
/// `currency`, each empty for none), as a `PATCH` body.
#[derive(FromForm)]
pub struct ChangeForm {
    #[field(default = String::new())]
    form_key: String,
    active: Option<bool>,
    max_redemptions: Option<String>,
    min_spend: Option<String>,
    currency: Option<String>,
}

impl ChangeForm {
    /// The minimum spend form's `PATCH` fields (`currency`, `min_spend`; empty is `null`), the
    /// amount read in the currency typed; or the problem of an amount that cannot be read.
    fn spend_patch(&self) -> Result<(Option<String>, Option<i64>), Problems> {
        let currency = self
            .currency
            .as_deref()
            .map(|c| c.trim().to_uppercase())
            .filter(|c| !c.is_empty());
        let min_spend = match self.min_spend.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                parse_major(text, currency.as_deref().unwrap_or_default())
                    .map_err(|message| Problems::from([("min_spend".to_owned(), message)]))?,
            ),
        };
        Ok((currency, min_spend))
    }
}

/// `POST /console/promo-codes/<id>`: switches a code off or on, or changes its maximum uses, as
/// `PATCH /v1/promo-codes/{id}`. A maximum below the bookings holding the code now is refused
/// beside the field, with what was typed.
#[post("/console/promo-codes/<id>", data = "<form>")]
pub async fn change(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    form: CsrfForm<ChangeForm>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let f = form.0;
    if f.min_spend.is_some() || f.currency.is_some() {
        return change_spend(ctx, &principal, id, f).await;
    }
    let typed = f.max_redemptions.clone().unwrap_or_default();
    let max_redemptions = match f.max_redemptions.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(text) => text
            .parse::<i64>()
            .map(|n| Some(Some(n)))
            .map_err(|_| "must be a whole number, or empty for no limit".to_owned()),
    };
    let done = match max_redemptions {
        Ok(max_redemptions) => {
            let notice = match (f.active, max_redemptions) {
                (Some(false), _) => "off",
                (Some(true), _) => "on",
                (None, Some(_)) => "limit",
                (None, None) => return Err(AppError::invalid("active", "nothing to change").into()),
            };
            let fields = format!("{id}:{:?}:{max_redemptions:?}", f.active);
            let patch = PromoPatch {
                active: f.active,
                max_redemptions,
                ..PromoPatch::default()
            };
            once::for_operator(
                ctx,
                &principal,
                ("promo-codes", &f.form_key, &fields),
                back_with(notice),
                || async {
                    promos::update(ctx.store, ctx.now(), &principal, id, patch).await?;
                    Ok(())
                },
            )
            .await
        }
        Err(message) => Err(AppError::invalid("max_redemptions", message)),
    };
    let message = match done {
        Ok(location) => return Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(problems)) => {
            problems.into_values().collect::<Vec<_>>().join("; ")
        }
        Err(AppError::Refused { code, message }) if code == promos::BELOW_REDEEMED => message,
        Err(other) => return Err(other.into()),
    };
    let shown = Shown {
        change: Some((id.to_owned(), typed, message)),
        ..Shown::default()
    };
    Ok(Either::Right(render(ctx, &principal, shown).await?))
}

/// The minimum spend form of `POST /console/promo-codes/<id>`: sets or clears the code's
/// currency and minimum spend, as `PATCH /v1/promo-codes/{id}` with `currency` and `min_spend`
/// (a minimum needs a currency; an amount off keeps its own). A refusal shows the form again in
/// the code's row with what was typed and the field marked.
async fn change_spend(
    ctx: Ctx<'_>,
    principal: &Principal,
    id: &str,
    f: ChangeForm,
) -> Result<Either<Redirect, Page>, WebError> {
    let problems = match f.spend_patch() {
        Ok((currency, min_spend)) => {
            let fields = format!("{id}:spend:{currency:?}:{min_spend:?}");
            let patch = PromoPatch {
                currency: Some(currency),
                min_spend: Some(min_spend),
                ..PromoPatch::default()
            };
            let done = once::for_operator(
                ctx,
                principal,
                ("promo-codes", &f.form_key, &fields),
                back_with("spend"),
                || async {
                    promos::update(ctx.store, ctx.now(), principal, id, patch).await?;
                    Ok(())
                },
            )
            .await;
            match done {
                Ok(location) => return Ok(Either::Left(Redirect::to(location))),
                Err(AppError::Validation(problems)) => problems,
                Err(other) => return Err(other.into()),
            }
        }
        Err(problems) => problems,
    };
    let shown = Shown {
        spend: Some(Spend {
            id: id.to_owned(),
            min_spend: f.min_spend.unwrap_or_default(),
            currency: f.currency.unwrap_or_default(),
            problems,
        }),
        ..Shown::default()
    };
    Ok(Either::Right(render(ctx, principal, shown).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PromoForm {
        PromoForm {
            code: " summer10 ".into(),
            currency: "EUR".into(),
            zone: "Europe/Lisbon".into(),
            ..<PromoForm as Default>::default()
        }
    }

    #[test]
    fn the_window_is_read_in_the_forms_zone_and_sent_as_utc() {
        let input = PromoForm {
            percent_off: "10".into(),
            // Lisbon is UTC+1 in summer, UTC in winter.
            valid_from: "2027-06-01T09:00".into(),
            valid_until: "2027-12-01".into(),
            min_spend: "50".into(),
            ..form()
        }
        .to_input()
        .unwrap();
        assert_eq!(input.code, "summer10");
        assert_eq!(input.valid_from.as_deref(), Some("2027-06-01T08:00:00Z"));
        assert_eq!(input.valid_until.as_deref(), Some("2027-12-01T00:00:00Z"));
        assert_eq!((input.percent_off, input.min_spend), (Some(10), Some(5000)));
        assert_eq!(
            input.currency.as_deref(),
            Some("EUR"),
            "a minimum spend is an amount in the form's currency"
        );
    }

    #[test]
    fn an_amount_is_read_in_the_forms_currency_and_a_skipped_hour_moves_forward() {
        let input = PromoForm {
            amount_off: "5.50".into(),
            // Clocks go from 01:00 to 02:00 on 2027-03-28 in Lisbon: 01:30 does not exist.
            valid_from: "2027-03-28T01:30".into(),
            ..form()
        }
        .to_input()
        .unwrap();
        assert_eq!(input.amount_off, Some(550));
        assert_eq!(input.currency.as_deref(), Some("EUR"));
        assert_eq!(input.valid_from.as_deref(), Some("2027-03-28T01:30:00Z"));
    }

    #[test]
    fn what_cannot_be_read_is_marked_on_its_field() {
        let problems = PromoForm {
            percent_off: "ten".into(),
            amount_off: "5.555".into(),
            valid_until: "next week".into(),
            max_per_customer: "1.5".into(),
            ..form()
        }
        .to_input()
        .unwrap_err();
        let fields: Vec<&str> = problems.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "amount_off",
                "max_per_customer",
                "percent_off",
                "valid_until"
            ]
        );
        let zone = PromoForm {
            zone: "Mars/Olympus".into(),
            valid_from: "2027-06-01T09:00".into(),
            ..form()
        }
        .to_input()
        .unwrap_err();
        assert!(zone.contains_key("zone"));
    }

    #[test]
    fn the_minimum_spend_form_reads_its_amount_in_the_currency_typed_and_empty_as_none() {
        let spend = |min_spend: &str, currency: &str| ChangeForm {
            form_key: String::new(),
            active: None,
            max_redemptions: None,
            min_spend: Some(min_spend.into()),
            currency: Some(currency.into()),
        };
        assert_eq!(
            spend(" 50.5 ", " eur ").spend_patch().unwrap(),
            (Some("EUR".to_owned()), Some(5050))
        );
        assert_eq!(spend("", " ").spend_patch().unwrap(), (None, None));
        assert!(spend("50.555", "EUR")
            .spend_patch()
            .unwrap_err()
            .contains_key("min_spend"));
    }
}
