//! Prices by date: a tour's seasonal rules and a departure's own prices over the tour's base
//! price per unit. Which price a departure sells each unit at is decided here, once, for the
//! API's availability, the hold's quote, the pages, OCTO and rescheduling alike.
//!
//! Per unit, the first that names it wins: the departure's own price, then the matching rule of
//! the highest `priority` (of equals, the one added last), then the tour's base price. A rule
//! matches a departure by its start in the tour's time zone: a date range (inclusive), days of
//! the week and a start-time window (`from_time` inclusive, `to_time` exclusive), each optional.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::money::parse_price;
use super::recurrence::{parse_date, parse_time};
use super::tour::Tour;
use crate::error::{AppError, Problems};

/// Most rules one tour may have.
pub const MAX_RULES: usize = 50;
/// Priorities run from `-MAX_PRIORITY` to `MAX_PRIORITY`.
pub const MAX_PRIORITY: i64 = 1000;

/// Unit code → price in minor units.
pub type UnitPrices = BTreeMap<String, i64>;

/// One seasonal rule, as stored (JSON in the tour's row) and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRule {
    /// A ULID, so the rule can be named and removed.
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_date: Option<NaiveDate>,
    /// ISO weekday numbers, 1 (Monday) to 7; empty: every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_time: Option<NaiveTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_time: Option<NaiveTime>,
    pub prices: UnitPrices,
    #[serde(default)]
    pub priority: i32,
}

impl PriceRule {
    /// Whether the rule covers a departure starting at `local` (tour-local time).
    pub fn matches(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        let time = local.time();
        self.from_date.is_none_or(|from| from <= date)
            && self.to_date.is_none_or(|to| date <= to)
            && (self.weekdays.is_empty()
                || self
                    .weekdays
                    .contains(&(date.weekday().number_from_monday() as u8)))
            && self.from_time.is_none_or(|from| from <= time)
            && self.to_time.is_none_or(|to| time < to)
    }
}

/// The price of one unit of `tour` on a departure starting at `local`, with the departure's own
/// prices; `None` for a unit the tour does not sell.
pub fn unit_price(
    tour: &Tour,
    rules: &[PriceRule],
    own: Option<&UnitPrices>,
    local: NaiveDateTime,
    unit: &str,
) -> Option<i64> {
    let base = tour.unit(unit)?.price;
    if let Some(price) = own.and_then(|own| own.get(unit)) {
        return Some(*price);
    }
    // Of equal priority, the rule added last (later in the list) wins.
    let ruled = rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule.prices.contains_key(unit) && rule.matches(local))
        .max_by_key(|(at, rule)| (rule.priority, *at))
        .and_then(|(_, rule)| rule.prices.get(unit).copied());
    Some(ruled.unwrap_or(base))
}

/// Every unit's price on a departure starting at `local`, in the tour's unit order.
pub fn unit_prices(
    tour: &Tour,
    rules: &[PriceRule],
    own: Option<&UnitPrices>,
    local: NaiveDateTime,
) -> UnitPrices {
    tour.units
        .iter()
        .filter_map(|u| {
            unit_price(tour, rules, own, local, &u.code).map(|price| (u.code.clone(), price))
        })
        .collect()
}

/// A rule as an operator sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Summer weekends", "from_date": "2027-06-01", "to_date": "2027-08-31", "weekdays": ["sat", "sun"], "prices": {"adult": 4500}}))]
pub struct PriceRuleDraft {
    /// Up to 100 characters.
    pub name: String,
    /// `YYYY-MM-DD`, tour-local, inclusive.
    #[serde(default)]
    pub from_date: Option<String>,
    #[serde(default)]
    pub to_date: Option<String>,
    /// `mon` … `sun`; absent or empty: every day.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// `HH:MM`: departures starting at or after this local time…
    #[serde(default)]
    pub from_time: Option<String>,
    /// …and before this one.
    #[serde(default)]
    pub to_time: Option<String>,
    /// Unit code → price in minor units; at least one unit of the tour.
    pub prices: BTreeMap<String, i64>,
    /// Higher wins where rules overlap (default 0; -1000 to 1000).
    #[serde(default)]
    pub priority: i64,
}

fn weekday(name: &str) -> Option<u8> {
    let day: Weekday = name.trim().parse().ok()?;
    Some(day.number_from_monday() as u8)
}

impl PriceRuleDraft {
    /// Checks every field against `tour`, naming each bad one.
    pub fn validate(&self, tour: &Tour, id: String) -> Result<PriceRule, AppError> {
        let mut p = Problems::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            p.add("name", "must be 1 to 100 characters");
        }
        let date = |field: &str, text: &Option<String>, p: &mut Problems| {
            text.as_deref()
                .and_then(|text| p.check(field, parse_date(text)))
        };
        let from_date = date("from_date", &self.from_date, &mut p);
        let to_date = date("to_date", &self.to_date, &mut p);
        if let (Some(from), Some(to)) = (from_date, to_date) {
            if to < from {
                p.add("to_date", "must not be before from_date");
            }
        }
        let mut weekdays = Vec::new();
        for (i, name) in self.weekdays.iter().enumerate() {
            match weekday(name) {
                Some(day) if !weekdays.contains(&day) => weekdays.push(day),
                Some(_) => p.add(format!("weekdays[{i}]"), "is listed twice"),
                None => p.add(
                    format!("weekdays[{i}]"),
                    "must be mon, tue, wed, thu, fri, sat or sun",
                ),
            }
        }
        weekdays.sort_unstable();
        let time = |field: &str, text: &Option<String>, p: &mut Problems| {
            text.as_deref()
                .and_then(|text| p.check(field, parse_time(text)))
        };
        let from_time = time("from_time", &self.from_time, &mut p);
        let to_time = time("to_time", &self.to_time, &mut p);
        if let (Some(from), Some(to)) = (from_time, to_time) {
            if to <= from {
                p.add("to_time", "must be after from_time");
            }
        }
        let prices = checked_prices(tour, &self.prices, "prices", &mut p);
        if !(-MAX_PRIORITY..=MAX_PRIORITY).contains(&self.priority) {
            p.add(
                "priority",
                format!("must be between -{MAX_PRIORITY} and {MAX_PRIORITY}"),
            );
        }
        p.into_result()?;
        Ok(PriceRule {
            id,
            name: name.to_owned(),
            from_date,
            to_date,
            weekdays,
            from_time,
            to_time,
            prices,
            priority: self.priority as i32,
        })
    }
}

/// A departure's own prices, checked against its tour: at least one unit, each a unit of the tour
/// at a valid price.
pub fn validate_own_prices(
    tour: &Tour,
    prices: &BTreeMap<String, i64>,
) -> Result<UnitPrices, AppError> {
    let mut p = Problems::new();
    let checked = checked_prices(tour, prices, "prices", &mut p);
    p.into_result()?;
    Ok(checked)
}

fn checked_prices(
    tour: &Tour,
    prices: &BTreeMap<String, i64>,
    field: &str,
    p: &mut Problems,
) -> UnitPrices {
    if prices.is_empty() {
        p.add(field, "must name at least one unit of the tour");
    }
    let mut checked = UnitPrices::new();
    for (unit, price) in prices {
        if tour.unit(unit).is_none() {
            p.add(format!("{field}.{unit}"), "is not a unit type of this tour");
        } else if let Some(price) = p.check(&format!("{field}.{unit}"), parse_price(*price)) {
            checked.insert(unit.clone(), price);
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tour::tests::draft;

    fn tour() -> Tour {
        draft().validate().unwrap()
    }

    fn rule(draft: PriceRuleDraft) -> PriceRule {
        draft
            .validate(&tour(), ulid::Ulid::new().to_string())
            .unwrap()
    }

    fn at(date: &str, time: &str) -> NaiveDateTime {
        parse_date(date)
            .unwrap()
            .and_time(parse_time(time).unwrap())
    }

    fn adult(price: i64) -> BTreeMap<String, i64> {
        [("adult".to_owned(), price)].into()
    }

    #[test]
    fn the_departure_then_the_highest_rule_then_the_base_price() {
        let t = tour();
        let summer = rule(PriceRuleDraft {
            name: "Summer".into(),
            from_date: Some("2027-06-01".into()),
            to_date: Some("2027-08-31".into()),
            prices: adult(4500),
            ..Default::default()
        });
        let weekends = rule(PriceRuleDraft {
            name: "Summer weekends".into(),
            from_date: Some("2027-06-01".into()),
            to_date: Some("2027-08-31".into()),
            weekdays: vec!["sat".into(), "sun".into()],
            prices: [("adult".to_owned(), 5000), ("child".to_owned(), 2000)].into(),
            priority: 10,
            ..Default::default()
        });
        let evenings = rule(PriceRuleDraft {
            name: "Evenings".into(),
            from_time: Some("18:00".into()),
            prices: adult(3000),
            ..Default::default()
        });
        let rules = [summer, weekends, evenings];
        let price = |local, own: Option<&UnitPrices>, unit| {
            unit_price(&t, &rules, own, local, unit).unwrap()
        };
        // 2027-06-02 is a Wednesday, 2027-06-05 a Saturday.
        assert_eq!(price(at("2027-05-31", "10:00"), None, "adult"), 3500);
        assert_eq!(
            price(at("2027-06-01", "10:00"), None, "adult"),
            4500,
            "from_date inclusive"
        );
        assert_eq!(
            price(at("2027-06-02", "10:00"), None, "child"),
            1500,
            "a rule prices only its units"
        );
        assert_eq!(
            price(at("2027-06-05", "10:00"), None, "adult"),
            5000,
            "higher priority"
        );
        assert_eq!(price(at("2027-06-05", "10:00"), None, "child"), 2000);
        assert_eq!(
            price(at("2027-08-31", "23:59"), None, "adult"),
            3000,
            "equal priority: the later rule"
        );
        assert_eq!(
            price(at("2027-09-01", "17:59"), None, "adult"),
            3500,
            "to_date inclusive, to_time exclusive"
        );
        assert_eq!(price(at("2027-09-01", "18:00"), None, "adult"), 3000);
        let own = adult(1000);
        assert_eq!(
            price(at("2027-06-05", "10:00"), Some(&own), "adult"),
            1000,
            "the departure's own"
        );
        assert_eq!(price(at("2027-06-05", "10:00"), Some(&own), "child"), 2000);
        assert_eq!(
            unit_price(&t, &rules, None, at("2027-06-05", "10:00"), "senior"),
            None
        );
        assert_eq!(
            unit_prices(&t, &rules, Some(&own), at("2027-06-05", "10:00")),
            [("adult".to_owned(), 1000), ("child".to_owned(), 2000)].into()
        );
    }

    #[test]
    fn a_rule_names_every_bad_field() {
        let Err(AppError::Validation(fields)) = PriceRuleDraft {
            name: " ".into(),
            from_date: Some("2027-06-31".into()),
            to_date: Some("2027-05-01".into()),
            weekdays: vec!["sat".into(), "funday".into(), "sat".into()],
            from_time: Some("18:00".into()),
            to_time: Some("09:00".into()),
            prices: [("senior".to_owned(), 100), ("adult".to_owned(), -1)].into(),
            priority: 5000,
        }
        .validate(&tour(), "x".into()) else {
            panic!("accepted");
        };
        let named: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(
            named,
            [
                "from_date",
                "name",
                "prices.adult",
                "prices.senior",
                "priority",
                "to_time",
                "weekdays[1]",
                "weekdays[2]"
            ]
        );
        let Err(AppError::Validation(fields)) = PriceRuleDraft {
            name: "Empty".into(),
            from_date: Some("2027-06-02".into()),
            to_date: Some("2027-06-01".into()),
            ..Default::default()
        }
        .validate(&tour(), "x".into()) else {
            panic!("accepted");
        };
        assert!(fields.contains_key("to_date") && fields.contains_key("prices"));
        assert!(validate_own_prices(&tour(), &BTreeMap::new()).is_err());
        assert_eq!(validate_own_prices(&tour(), &adult(0)).unwrap(), adult(0));
    }

    #[test]
    fn a_stored_rule_reads_back_the_same() {
        let stored = rule(PriceRuleDraft {
            name: "Weekends".into(),
            weekdays: vec!["sun".into(), "sat".into()],
            from_time: Some("09:30".into()),
            prices: adult(4000),
            ..Default::default()
        });
        assert_eq!(stored.weekdays, [6, 7]);
        let text = serde_json::to_string(&[&stored]).unwrap();
        let read: Vec<PriceRule> = serde_json::from_str(&text).unwrap();
        assert_eq!(read, [stored]);
    }
}
