//! Prices by date: a tour's seasonal price rules, and a departure's own prices. What a unit
//! sells at is decided by `domain::price_rules`; here the operator changes the inputs, each
//! under the row lock of what it changes. A hold freezes the price it was quoted (its items keep
//! their unit prices), so no change here moves the price of a booking already made.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::audit::{self, Action, Target};
use super::catalogue::{own_departure, own_tour};
use super::principal::Principal;
use crate::domain::ids::{DepartureId, TourId};
use crate::domain::price_rules::{validate_own_prices, PriceRule, PriceRuleDraft, MAX_RULES};
use crate::domain::records::{DepartureRecord, TourRecord};
use crate::domain::tour::Tour;
use crate::error::AppError;
use crate::storage::{catalogue, departures, Store};

/// Adds a rule to one of the operator's tours; returns the tour's rules, the new one last.
pub async fn add_rule(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    tour: &TourId,
    draft: &PriceRuleDraft,
) -> Result<Vec<PriceRule>, AppError> {
    let id = ulid::Ulid::new().to_string();
    change_rules(store, now, by, tour, |current, rules| {
        // Checked against the tour's units as they are under the lock.
        let rule = draft.validate(current, id.clone())?;
        if rules.len() >= MAX_RULES {
            return Err(AppError::Refused {
                code: "price_rule_limit",
                message: format!("a tour has at most {MAX_RULES} price rules; remove one first"),
            });
        }
        let detail = serde_json::json!({"added": rule.id, "name": rule.name});
        rules.push(rule);
        Ok(detail)
    })
    .await
}

/// The rules of one of the operator's tours, in the order they were added.
pub async fn rules(
    store: &Store,
    by: &Principal,
    tour: &TourId,
) -> Result<Vec<PriceRule>, AppError> {
    Ok(own_tour(store, &by.operator, tour).await?.price_rules)
}

/// Removes one rule of one of the operator's tours; returns the rules left.
pub async fn remove_rule(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    tour: &TourId,
    rule: &str,
) -> Result<Vec<PriceRule>, AppError> {
    change_rules(store, now, by, tour, |_, rules| {
        let before = rules.len();
        rules.retain(|r| r.id != rule);
        if rules.len() == before {
            return Err(AppError::NotFound);
        }
        Ok(serde_json::json!({ "removed": rule }))
    })
    .await
}

/// Changes one of the operator's tours' rules under the tour's lock with `change` (given the
/// tour as it is under the lock), stores them and audits what `change` says it did; returns
/// the rules as stored.
async fn change_rules<F>(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    tour: &TourId,
    change: F,
) -> Result<Vec<PriceRule>, AppError>
where
    F: Fn(&Tour, &mut Vec<PriceRule>) -> Result<serde_json::Value, AppError>,
{
    own_tour(store, &by.operator, tour).await?;
    transaction!(store, |tx| {
        let current = catalogue::lock_tour(&mut tx, tour)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut rules = current.price_rules;
        let detail = change(&current.tour, &mut rules)?.to_string();
        catalogue::set_price_rules(&mut tx, tour, &rules, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::TourPriceRules,
            Target::Tour(tour.as_str()),
            Some(&detail),
        )
        .await?;
        Ok(rules)
    })
    .await
}

/// Sets (or with `None` clears) a departure's own prices; returns the departure and its tour.
pub async fn set_departure_prices(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &DepartureId,
    prices: Option<&BTreeMap<String, i64>>,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let (tour, _) = own_departure(store, now, &by.operator, id).await?;
    let own = prices
        .map(|prices| validate_own_prices(&tour.tour, prices))
        .transpose()?;
    transaction!(store, |tx| {
        departures::lock(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        departures::set_own_prices(&mut tx, id, own.as_ref(), now).await?;
        let detail = serde_json::json!({ "prices": own }).to_string();
        audit::record(
            &mut tx,
            by,
            now,
            Action::DeparturePrices,
            Target::Departure(id.as_str()),
            Some(&detail),
        )
        .await
    })
    .await?;
    // Read again, with its lapsed holds counted as free, as every view of a departure is.
    let (_, departure) = own_departure(store, now, &by.operator, id).await?;
    Ok((tour, departure))
}
