//! What the console's prices by date read and show: the seasonal-rule form (turned into the
//! API's `PriceRuleDraft`, so `domain::price_rules` checks it as it checks the API's), a
//! departure's own-prices form, and the views of both sections. Prices are typed and shown in
//! the tour currency's major units (`domain::money`); which price a departure sells at is
//! `DepartureRecord::prices`, never worked out here.
//!
//! The tour and departure pages build their sections from here; the posts live in the parent
//! module, which renders those pages again when a form is refused.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use serde::Serialize;

use crate::domain::money::{format_major, parse_major};
use crate::domain::price_rules::{PriceRule, PriceRuleDraft};
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::error::AppError;
use crate::web::once;

/// Problems by form field name (`prices[adult]` …), each a message for the operator.
pub type Problems = BTreeMap<String, String>;

/// The days a rule's checkboxes send, Monday first (as `PriceRuleDraft::weekdays`).
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Where a refusal that names no field goes (a tour with all the rules it may have).
pub const WHOLE_FORM: &str = "rule";

/// The new-rule form, every field as typed (so a refusal shows it back unchanged).
#[derive(Debug, Clone, Default, FromForm, Serialize)]
pub struct RuleForm {
    #[serde(skip)]
    #[field(default = String::new())]
    pub form_key: String,
    #[field(default = String::new())]
    name: String,
    /// `YYYY-MM-DD` (a date input), tour-local; empty: open.
    #[field(default = String::new())]
    from_date: String,
    #[field(default = String::new())]
    to_date: String,
    /// `mon` … `sun`, the boxes ticked; none: every day.
    #[field(default = Vec::new())]
    weekdays: Vec<String>,
    /// `HH:MM` (a time input); empty: open.
    #[field(default = String::new())]
    from_time: String,
    #[field(default = String::new())]
    to_time: String,
    #[field(default = String::new())]
    priority: String,
    /// Unit code → price in major units; empty: the rule leaves that unit's price alone.
    #[field(default = BTreeMap::new())]
    prices: BTreeMap<String, String>,
}

/// An optional text field: `None` when left empty.
fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// Reads the prices typed (`prices[<unit>]`) in major units of `currency`, leaving out the empty
/// ones; what cannot be read is a problem on its field.
fn read_prices(
    typed: &BTreeMap<String, String>,
    currency: &str,
    problems: &mut Problems,
) -> BTreeMap<String, i64> {
    let mut prices = BTreeMap::new();
    for (unit, text) in typed {
        if text.trim().is_empty() {
            continue;
        }
        match parse_major(text, currency) {
            Ok(price) => {
                prices.insert(unit.clone(), price);
            }
            Err(message) => {
                problems.insert(price_field(unit), message);
            }
        }
    }
    prices
}

/// The form field of a unit's price.
pub fn price_field(unit: &str) -> String {
    format!("prices[{unit}]")
}

impl RuleForm {
    /// The draft the API would receive, or the problems of what cannot even be read (a price
    /// with too many decimals, a priority that is not a number).
    pub fn to_draft(&self, currency: &str) -> Result<PriceRuleDraft, Problems> {
        let mut problems = Problems::new();
        let priority = match self.priority.trim() {
            "" => 0,
            text => text.parse::<i64>().unwrap_or_else(|_| {
                problems.insert("priority".into(), "must be a whole number".into());
                0
            }),
        };
        let prices = read_prices(&self.prices, currency, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(PriceRuleDraft {
            name: self.name.trim().to_owned(),
            from_date: optional(&self.from_date),
            to_date: optional(&self.to_date),
            weekdays: self.weekdays.clone(),
            from_time: optional(&self.from_time),
            to_time: optional(&self.to_time),
            prices,
            priority,
        })
    }
}

/// The form's name for a field the domain names: `prices.adult` is `prices[adult]`, a bad
/// `weekdays[2]` is the days' fieldset.
pub fn form_field(field: &str) -> String {
    if let Some(unit) = field.strip_prefix("prices.") {
        return price_field(unit);
    }
    if field.starts_with("weekdays") {
        return "weekdays".to_owned();
    }
    field.to_owned()
}

/// A refusal of the service as problems beside the form's fields; anything else stays an error.
pub fn problems_of(error: AppError) -> Result<Problems, AppError> {
    match error {
        AppError::Validation(fields) => Ok(fields
            .into_iter()
            .map(|(field, message)| (form_field(&field), message))
            .collect()),
        AppError::Refused { message, .. } => Ok(Problems::from([(WHOLE_FORM.into(), message)])),
        other => Err(other),
    }
}

/// One rule as the tour page lists it: its prices in the tour's unit order (a unit the tour no
/// longer sells last, by its code).
fn rule_view(rule: &PriceRule, tour: &TourRecord) -> Value {
    let units = &tour.tour.units;
    let mut prices: Vec<Value> = units
        .iter()
        .filter_map(|u| {
            rule.prices
                .get(&u.code)
                .map(|price| context! { code => u.code, label => u.label, price => price })
        })
        .collect();
    prices.extend(
        rule.prices
            .iter()
            .filter(|(code, _)| !units.iter().any(|u| &u.code == *code))
            .map(|(code, price)| context! { code => code, label => code, price => price }),
    );
    let time = |t: Option<chrono::NaiveTime>| t.map(|t| t.format("%H:%M").to_string());
    context! {
        id => rule.id,
        name => rule.name,
        from_date => rule.from_date.map(|d| d.to_string()),
        to_date => rule.to_date.map(|d| d.to_string()),
        weekdays => rule.weekdays,
        from_time => time(rule.from_time),
        to_time => time(rule.to_time),
        priority => rule.priority,
        prices => prices,
        remove_key => once::new_key(),
    }
}

/// The tour page's "Seasonal prices" section: the rules and, for admins (`manage`), the form to
/// add one (blank, or as typed when `refused`, with its problems) and a remove button per rule.
pub fn rules_section(
    tour: &TourRecord,
    manage: bool,
    refused: Option<(&RuleForm, &Problems)>,
) -> Value {
    let blank = (<RuleForm as Default>::default(), Problems::new());
    let (form, errors) = refused.unwrap_or((&blank.0, &blank.1));
    let rules: Vec<Value> = tour
        .price_rules
        .iter()
        .map(|rule| rule_view(rule, tour))
        .collect();
    let currency = tour.tour.currency.as_str();
    let units: Vec<Value> = tour
        .tour
        .units
        .iter()
        .map(|u| {
            context! {
                code => u.code, label => u.label, price => u.price,
                field => price_field(&u.code),
                typed => form.prices.get(&u.code).cloned().unwrap_or_default(),
            }
        })
        .collect();
    context! {
        rules => rules,
        manage => manage,
        currency => currency,
        units => units,
        days => DAYS,
        form => Value::from_serialize(form),
        errors => errors,
        add_key => once::new_key(),
    }
}

/// The own-prices form: one price per unit in major units, empty for none of its own.
#[derive(Debug, Clone, Default, FromForm)]
pub struct OwnPricesForm {
    #[field(default = String::new())]
    pub form_key: String,
    #[field(default = BTreeMap::new())]
    pub prices: BTreeMap<String, String>,
}

impl OwnPricesForm {
    /// The prices to set (`None`: every field empty, so none of its own), or the problems of
    /// what cannot be read.
    pub fn to_prices(&self, currency: &str) -> Result<Option<BTreeMap<String, i64>>, Problems> {
        let mut problems = Problems::new();
        let prices = read_prices(&self.prices, currency, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Some(prices).filter(|prices| !prices.is_empty()))
    }
}

/// The departure page's prices: what each unit sells at on it (its own price marked), what it
/// would sell at without its own, and for admins (`manage`) the own-prices form, as saved or as
/// typed when `refused`.
pub fn departure_section(
    tour: &TourRecord,
    departure: &DepartureRecord,
    manage: bool,
    refused: Option<(&BTreeMap<String, String>, &Problems)>,
) -> Value {
    let sells = departure.prices(tour);
    let without = DepartureRecord {
        own_prices: None,
        ..departure.clone()
    }
    .prices(tour);
    let own = departure.own_prices.clone().unwrap_or_default();
    let currency = tour.tour.currency.as_str();
    let units: Vec<Value> = tour
        .tour
        .units
        .iter()
        .map(|u| {
            let typed = match refused {
                Some((typed, _)) => typed.get(&u.code).cloned().unwrap_or_default(),
                None => own
                    .get(&u.code)
                    .map(|price| format_major(*price, currency))
                    .unwrap_or_default(),
            };
            context! {
                code => u.code, label => u.label,
                price => sells.get(&u.code),
                own => own.contains_key(&u.code),
                without => without.get(&u.code),
                field => price_field(&u.code),
                typed => typed,
            }
        })
        .collect();
    let no_problems = Problems::new();
    context! {
        units => units,
        currency => currency,
        has_own => !own.is_empty(),
        manage => manage,
        errors => refused.map_or(&no_problems, |(_, problems)| problems),
        set_key => once::new_key(),
        clear_key => once::new_key(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_form_becomes_the_apis_draft_without_its_empty_prices() {
        let form = RuleForm {
            name: " Summer weekends ".into(),
            from_date: "2027-06-01".into(),
            to_date: String::new(),
            weekdays: vec!["sat".into(), "sun".into()],
            from_time: " ".into(),
            priority: "10".into(),
            prices: [
                ("adult".to_owned(), "45".to_owned()),
                ("child".to_owned(), " ".to_owned()),
            ]
            .into(),
            ..<RuleForm as Default>::default()
        };
        let draft = form.to_draft("EUR").unwrap();
        assert_eq!(draft.name, "Summer weekends");
        assert_eq!(draft.from_date.as_deref(), Some("2027-06-01"));
        assert_eq!((draft.to_date, draft.from_time), (None, None));
        assert_eq!(draft.prices, BTreeMap::from([("adult".to_owned(), 4500)]));
        assert_eq!(draft.priority, 10);
        assert_eq!(
            <RuleForm as Default>::default()
                .to_draft("EUR")
                .unwrap()
                .priority,
            0
        );
    }

    #[test]
    fn what_cannot_be_read_is_named_by_its_form_field() {
        let form = RuleForm {
            priority: "high".into(),
            prices: [("adult".to_owned(), "45.505".to_owned())].into(),
            ..<RuleForm as Default>::default()
        };
        let problems = form.to_draft("EUR").unwrap_err();
        let fields: Vec<&str> = problems.keys().map(String::as_str).collect();
        assert_eq!(fields, ["prices[adult]", "priority"]);
        assert_eq!(form_field("prices.child"), "prices[child]");
        assert_eq!(form_field("weekdays[1]"), "weekdays");
        assert_eq!(form_field("to_date"), "to_date");
    }

    #[test]
    fn an_own_prices_form_left_empty_means_none_of_its_own() {
        let empty = OwnPricesForm {
            prices: [("adult".to_owned(), String::new())].into(),
            ..<OwnPricesForm as Default>::default()
        };
        assert_eq!(empty.to_prices("EUR").unwrap(), None);
        let set = OwnPricesForm {
            prices: [("adult".to_owned(), "12.5".to_owned())].into(),
            ..<OwnPricesForm as Default>::default()
        };
        assert_eq!(
            set.to_prices("EUR").unwrap(),
            Some(BTreeMap::from([("adult".to_owned(), 1250)]))
        );
        let bad = OwnPricesForm {
            prices: [("adult".to_owned(), "-3".to_owned())].into(),
            ..<OwnPricesForm as Default>::default()
        };
        assert!(bad
            .to_prices("EUR")
            .unwrap_err()
            .contains_key("prices[adult]"));
    }
}
