//! Promo codes: what makes a code valid, whether it applies to a booking, and what it takes
//! off. Pure: the service passes the clock and the redemption counts it read under the code's
//! lock, so the same rules decide the API, the pages and the race.

use chrono::{DateTime, Utc};

use super::ids::{PromoCodeId, TourId};
use super::money::{parse_price, Currency};
use crate::error::{AppError, Problems};

/// Longest code; codes are letters, digits, `-` and `_`, matched without regard to case.
pub const MAX_CODE_LEN: usize = 32;
/// Most redemptions a code may allow (a sanity bound, not a business rule).
pub const MAX_REDEMPTIONS: i64 = 1_000_000;

/// What a code takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// Percent of the booking's total, 1 to 100, rounded down to the minor unit.
    Percent(u32),
    /// A fixed amount in minor units of `currency`, at most the booking's total.
    Amount { amount: i64, currency: Currency },
}

/// A code's rules, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoRules {
    pub code: String,
    pub discount: Discount,
    /// Only bookings in this currency (always set for an amount off, and for a minimum spend,
    /// which is an amount too).
    pub currency: Option<Currency>,
    /// Only this tour's bookings (`None`: every tour of the operator).
    pub tour_id: Option<TourId>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// The booking's total before the discount must reach this (minor units; 0: none).
    pub min_spend: i64,
    /// Live redemptions at most (`None`: unlimited).
    pub max_redemptions: Option<u32>,
    /// Live redemptions per traveler email at most (`None`: unlimited).
    pub max_per_customer: Option<u32>,
    /// An inactive code is refused as if unknown.
    pub active: bool,
}

/// A stored code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoCode {
    pub id: PromoCodeId,
    pub rules: PromoRules,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A code as the traveler typed it, normalized: trimmed, upper case. `None`: not a code at all
/// (answered like an unknown one).
pub fn normalize(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_uppercase();
    let valid = (1..=MAX_CODE_LEN).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(code)
}

/// A code's fields as an operator sends them, before checking.
#[derive(Debug, Clone, Default)]
pub struct PromoDraft<'a> {
    pub code: &'a str,
    pub percent_off: Option<i64>,
    pub amount_off: Option<i64>,
    pub currency: Option<&'a str>,
    pub tour_id: Option<TourId>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub min_spend: Option<i64>,
    pub max_redemptions: Option<i64>,
    pub max_per_customer: Option<i64>,
    pub active: Option<bool>,
}

impl PromoDraft<'_> {
    /// Checks every field, naming each bad one.
    pub fn validate(&self) -> Result<PromoRules, AppError> {
        let mut p = Problems::new();
        let code = normalize(self.code);
        if code.is_none() {
            p.add(
                "code",
                format!("must be 1 to {MAX_CODE_LEN} letters, digits, '-' or '_'"),
            );
        }
        let currency = self
            .currency
            .and_then(|text| p.check("currency", Currency::parse(text)));
        let needs_currency = self.amount_off.is_some() || self.min_spend.unwrap_or(0) > 0;
        if needs_currency && self.currency.is_none() {
            p.add(
                "currency",
                "is required with amount_off or a min_spend (both are amounts)",
            );
        }
        let discount = match (self.percent_off, self.amount_off) {
            (Some(percent), None) => {
                if (1..=100).contains(&percent) {
                    Some(Discount::Percent(percent as u32))
                } else {
                    p.add("percent_off", "must be between 1 and 100");
                    None
                }
            }
            (None, Some(amount)) => {
                let amount = p.check("amount_off", positive_price(amount));
                amount
                    .zip(currency)
                    .map(|(amount, currency)| Discount::Amount { amount, currency })
            }
            _ => {
                p.add(
                    "percent_off",
                    "give exactly one of percent_off and amount_off",
                );
                None
            }
        };
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if from >= until {
                p.add("valid_until", "must be after valid_from");
            }
        }
        let min_spend = p.check("min_spend", parse_price(self.min_spend.unwrap_or(0)));
        let max_redemptions = p.check("max_redemptions", limit(self.max_redemptions));
        let max_per_customer = p.check("max_per_customer", limit(self.max_per_customer));
        p.into_result()?;
        match (code, discount, min_spend, max_redemptions, max_per_customer) {
            (Some(code), Some(discount), Some(min_spend), Some(max), Some(per_customer)) => {
                Ok(PromoRules {
                    code,
                    discount,
                    currency,
                    tour_id: self.tour_id.clone(),
                    valid_from: self.valid_from,
                    valid_until: self.valid_until,
                    min_spend,
                    max_redemptions: max,
                    max_per_customer: per_customer,
                    active: self.active.unwrap_or(true),
                })
            }
            _ => Err(AppError::invalid("code", "is invalid")),
        }
    }
}

fn positive_price(amount: i64) -> Result<i64, String> {
    let amount = parse_price(amount)?;
    if amount == 0 {
        return Err("must be more than 0".into());
    }
    Ok(amount)
}

fn limit(value: Option<i64>) -> Result<Option<u32>, String> {
    match value {
        None => Ok(None),
        Some(n) if (1..=MAX_REDEMPTIONS).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(format!("must be between 1 and {MAX_REDEMPTIONS}")),
    }
}

/// A change to a code's rules as an operator sends it: `None` keeps a field, `Some(None)`
/// clears it (a cleared `min_spend` is none, 0).
#[derive(Debug, Clone, Default)]
pub struct PromoChange<'a> {
    pub valid_from: Option<Option<DateTime<Utc>>>,
    pub valid_until: Option<Option<DateTime<Utc>>>,
    pub currency: Option<Option<&'a str>>,
    pub min_spend: Option<Option<i64>>,
    pub max_redemptions: Option<Option<i64>>,
    pub max_per_customer: Option<Option<i64>>,
    pub active: Option<bool>,
}

impl PromoRules {
    /// The rules after `change`, checked as a new code's are (so a minimum spend needs a
    /// currency, given with it or already the code's). The code's text, discount and tour never
    /// change, since bookings name them: an amount off keeps its currency.
    pub fn changed(&self, change: &PromoChange<'_>) -> Result<PromoRules, AppError> {
        let (percent_off, amount_off) = match &self.discount {
            Discount::Percent(percent) => (Some(i64::from(*percent)), None),
            Discount::Amount { amount, .. } => (None, Some(*amount)),
        };
        let keep = |limit: Option<u32>| limit.map(i64::from);
        let rules = PromoDraft {
            code: &self.code,
            percent_off,
            amount_off,
            currency: change
                .currency
                .unwrap_or(self.currency.as_ref().map(Currency::as_str)),
            tour_id: self.tour_id.clone(),
            valid_from: change.valid_from.unwrap_or(self.valid_from),
            valid_until: change.valid_until.unwrap_or(self.valid_until),
            min_spend: change.min_spend.unwrap_or(Some(self.min_spend)),
            max_redemptions: change.max_redemptions.unwrap_or(keep(self.max_redemptions)),
            max_per_customer: change
                .max_per_customer
                .unwrap_or(keep(self.max_per_customer)),
            active: Some(change.active.unwrap_or(self.active)),
        }
        .validate()?;
        if rules.discount != self.discount {
            return Err(AppError::invalid(
                "currency",
                "an amount off stays in its currency; make a new code for another",
            ));
        }
        Ok(rules)
    }
}

/// Why a code does not apply; each is a `422` with its own stable code, on the `promo_code`
/// field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such code (or not this operator's, or switched off).
    Unknown,
    /// Outside its validity window.
    NotValidNow,
    /// Limited to another tour, or an amount in another currency.
    NotApplicable,
    /// The booking's total is below the code's minimum spend.
    BelowMinimumSpend { min_spend: i64 },
    /// Every redemption is taken.
    Exhausted,
    /// This traveler's email has used it as often as it may.
    CustomerLimit,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Unknown => "promo_code_unknown",
            Refusal::NotValidNow => "promo_code_not_valid_now",
            Refusal::NotApplicable => "promo_code_not_applicable",
            Refusal::BelowMinimumSpend { .. } => "promo_code_minimum_spend",
            Refusal::Exhausted => "promo_code_exhausted",
            Refusal::CustomerLimit => "promo_code_customer_limit",
        }
    }

    pub fn message(self, currency: &str) -> String {
        match self {
            Refusal::Unknown => "this promo code does not exist".into(),
            Refusal::NotValidNow => "this promo code is not valid at this time".into(),
            Refusal::NotApplicable => "this promo code does not apply to this tour".into(),
            Refusal::BelowMinimumSpend { min_spend } => format!(
                "this promo code needs a booking of at least {}",
                super::money::format_amount(min_spend, currency)
            ),
            Refusal::Exhausted => "this promo code has been used up".into(),
            Refusal::CustomerLimit => {
                "this promo code has already been used with this email as often as it may".into()
            }
        }
    }

    pub fn into_error(self, currency: &str) -> AppError {
        AppError::PromoCodeRefused {
            code: self.code(),
            message: self.message(currency),
            min_spend: match self {
                Refusal::BelowMinimumSpend { min_spend } => Some(min_spend),
                _ => None,
            },
        }
    }
}

impl PromoRules {
    /// What the code takes off a booking of `tour` (in `currency`) totalling `total`, at `now`:
    /// every rule that does not depend on other bookings. The counts are checked by
    /// [`PromoRules::check_counts`] under the code's lock.
    pub fn discount_for(
        &self,
        tour: &TourId,
        currency: &Currency,
        total: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, Refusal> {
        self.usable_at(now)?;
        if self.tour_id.as_ref().is_some_and(|only| only != tour) {
            return Err(Refusal::NotApplicable);
        }
        if self.currency.as_ref().is_some_and(|own| own != currency) {
            return Err(Refusal::NotApplicable);
        }
        if total < self.min_spend {
            return Err(Refusal::BelowMinimumSpend {
                min_spend: self.min_spend,
            });
        }
        Ok(match self.discount {
            // Bounded: a total is at most 10^11, times 100.
            Discount::Percent(percent) => total * i64::from(percent) / 100,
            Discount::Amount { amount, .. } => amount.min(total),
        })
    }

    /// Whether the code may be used at all at `now`: switched on, and within its window
    /// (`valid_until` exclusive). A hold checks it in [`PromoRules::discount_for`]; a late payment
    /// taking a lapsed hold's seats back checks it before counting its redemption again.
    pub fn usable_at(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        if !self.active {
            return Err(Refusal::Unknown);
        }
        let started = self.valid_from.is_none_or(|from| from <= now);
        let not_ended = self.valid_until.is_none_or(|until| now < until);
        if !(started && not_ended) {
            return Err(Refusal::NotValidNow);
        }
        Ok(())
    }

    /// Whether one more redemption fits, given the live redemptions of the code in all and of
    /// this traveler's email.
    pub fn check_counts(&self, live: u32, live_for_customer: u32) -> Result<(), Refusal> {
        if self.max_redemptions.is_some_and(|max| live >= max) {
            return Err(Refusal::Exhausted);
        }
        if self
            .max_per_customer
            .is_some_and(|max| live_for_customer >= max)
        {
            return Err(Refusal::CustomerLimit);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn rules(draft: PromoDraft<'_>) -> PromoRules {
        draft.validate().unwrap()
    }

    fn percent(n: i64) -> PromoDraft<'static> {
        PromoDraft {
            code: " summer-10 ",
            percent_off: Some(n),
            ..Default::default()
        }
    }

    #[test]
    fn codes_are_matched_without_case_or_spaces() {
        assert_eq!(normalize(" summer_10 ").as_deref(), Some("SUMMER_10"));
        for bad in ["", "   ", "no spaces", "ÉTÉ", &"X".repeat(33), "a;b"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
        assert_eq!(rules(percent(10)).code, "SUMMER-10");
    }

    #[test]
    fn a_draft_names_every_bad_field() {
        let Err(AppError::Validation(fields)) = PromoDraft {
            code: "bad code",
            amount_off: Some(0),
            min_spend: Some(-1),
            max_redemptions: Some(0),
            max_per_customer: Some(MAX_REDEMPTIONS + 1),
            ..Default::default()
        }
        .validate() else {
            panic!("refused");
        };
        let named: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(
            named,
            [
                "amount_off",
                "code",
                "currency",
                "max_per_customer",
                "max_redemptions",
                "min_spend"
            ]
        );
        for (draft, field) in [
            (percent(0), "percent_off"),
            (percent(101), "percent_off"),
            (
                PromoDraft {
                    code: "X",
                    percent_off: Some(5),
                    amount_off: Some(5),
                    ..Default::default()
                },
                "percent_off",
            ),
            (
                PromoDraft {
                    min_spend: Some(5000),
                    ..percent(5)
                },
                "currency",
            ),
            (
                PromoDraft {
                    currency: Some("EURO"),
                    ..percent(5)
                },
                "currency",
            ),
        ] {
            let Err(AppError::Validation(fields)) = draft.validate() else {
                panic!("{draft:?} accepted");
            };
            assert!(fields.contains_key(field), "{fields:?}");
        }
        let now = Utc::now();
        let Err(AppError::Validation(fields)) = PromoDraft {
            valid_from: Some(now),
            valid_until: Some(now),
            ..percent(5)
        }
        .validate() else {
            panic!("an empty window accepted");
        };
        assert!(fields.contains_key("valid_until"));
    }

    #[test]
    fn the_rules_refuse_in_a_stated_order() {
        let now = Utc::now();
        let tour = TourId::generate();
        let other = TourId::generate();
        let code = rules(PromoDraft {
            tour_id: Some(tour.clone()),
            valid_from: Some(now - Duration::days(1)),
            valid_until: Some(now + Duration::days(1)),
            min_spend: Some(5000),
            currency: Some("EUR"),
            ..percent(10)
        });
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            code.discount_for(&tour, &usd, 8500, now),
            Err(Refusal::NotApplicable),
            "a minimum spend is an amount in its own currency"
        );
        assert_eq!(code.discount_for(&tour, &eur(), 8500, now), Ok(850));
        assert_eq!(
            code.discount_for(&tour, &eur(), 4999, now),
            Err(Refusal::BelowMinimumSpend { min_spend: 5000 })
        );
        assert_eq!(
            code.discount_for(&other, &eur(), 8500, now),
            Err(Refusal::NotApplicable)
        );
        assert_eq!(
            code.discount_for(&tour, &eur(), 8500, now + Duration::days(1)),
            Err(Refusal::NotValidNow),
            "valid_until is exclusive"
        );
        assert_eq!(
            code.discount_for(&tour, &eur(), 8500, now - Duration::days(2)),
            Err(Refusal::NotValidNow)
        );
        let off = PromoRules {
            active: false,
            ..code
        };
        assert_eq!(
            off.discount_for(&tour, &eur(), 8500, now),
            Err(Refusal::Unknown)
        );
    }

    #[test]
    fn an_amount_applies_in_its_own_currency_and_never_past_the_total() {
        let now = Utc::now();
        let tour = TourId::generate();
        let code = rules(PromoDraft {
            code: "TENOFF",
            amount_off: Some(1000),
            currency: Some("EUR"),
            ..Default::default()
        });
        assert_eq!(code.discount_for(&tour, &eur(), 3500, now), Ok(1000));
        assert_eq!(code.discount_for(&tour, &eur(), 700, now), Ok(700));
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            code.discount_for(&tour, &usd, 3500, now),
            Err(Refusal::NotApplicable)
        );
    }

    #[test]
    fn counts_refuse_at_the_maximum_not_before() {
        let code = rules(PromoDraft {
            max_redemptions: Some(10),
            max_per_customer: Some(2),
            ..percent(10)
        });
        assert_eq!(code.check_counts(9, 1), Ok(()));
        assert_eq!(code.check_counts(10, 0), Err(Refusal::Exhausted));
        assert_eq!(code.check_counts(3, 2), Err(Refusal::CustomerLimit));
        assert_eq!(rules(percent(10)).check_counts(u32::MAX, u32::MAX), Ok(()));
    }

    #[test]
    fn a_change_sets_or_clears_a_currency_and_minimum_spend_checked_as_on_creation() {
        let code = rules(percent(10));
        let change = |change: PromoChange<'static>| code.changed(&change);
        let spend = change(PromoChange {
            currency: Some(Some("EUR")),
            min_spend: Some(Some(5000)),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (spend.currency, spend.min_spend, spend.discount),
            (Some(eur()), 5000, Discount::Percent(10))
        );
        let invalid = |result: Result<PromoRules, AppError>| match result {
            Err(AppError::Validation(fields)) => fields.into_keys().collect::<Vec<_>>(),
            other => panic!("accepted: {other:?}"),
        };
        // A minimum spend is an amount: it needs a currency, sent with it or the code's.
        assert_eq!(
            invalid(change(PromoChange {
                min_spend: Some(Some(5000)),
                ..Default::default()
            })),
            ["currency"]
        );
        assert_eq!(
            invalid(spend.changed(&PromoChange {
                currency: Some(None),
                ..Default::default()
            })),
            ["currency"]
        );
        assert_eq!(
            invalid(change(PromoChange {
                currency: Some(Some("EURO")),
                min_spend: Some(Some(-1)),
                ..Default::default()
            })),
            ["currency", "min_spend"]
        );
        let cleared = spend
            .changed(&PromoChange {
                currency: Some(None),
                min_spend: Some(None),
                ..Default::default()
            })
            .unwrap();
        assert_eq!((cleared.currency, cleared.min_spend), (None, 0));
        // An amount off keeps its currency; a minimum spend is added in it.
        let amount = rules(PromoDraft {
            code: "TENOFF",
            amount_off: Some(1000),
            currency: Some("EUR"),
            ..Default::default()
        });
        for currency in [Some("USD"), None] {
            assert_eq!(
                invalid(amount.changed(&PromoChange {
                    currency: Some(currency),
                    ..Default::default()
                })),
                ["currency"]
            );
        }
        let with_minimum = amount
            .changed(&PromoChange {
                min_spend: Some(Some(3000)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(with_minimum.min_spend, 3000);
    }

    proptest! {
        /// A discount is never negative and never more than the total: a booking never costs
        /// less than nothing.
        #[test]
        fn a_discount_stays_within_the_total(
            total in 0i64..=100_000_000_000,
            pct in 1i64..=100,
            amount in 1i64..=1_000_000_000,
        ) {
            let now = Utc::now();
            let tour = TourId::generate();
            for draft in [
                percent(pct),
                PromoDraft { code: "A", amount_off: Some(amount), currency: Some("EUR"), ..Default::default() },
            ] {
                let off = rules(draft).discount_for(&tour, &eur(), total, now).unwrap();
                prop_assert!((0..=total).contains(&off));
            }
        }
    }
}
