//! Cancellation policy: how much of what a traveler paid comes back when they cancel.
//!
//! A tour's policy is a list of rules `{hours_before, refund_percent}`. A cancellation made at
//! least `hours_before` hours before the departure gets `refund_percent` % of the amount paid,
//! taking the rule with the largest `hours_before` that still applies; later than every rule,
//! nothing. Travelers cannot cancel once the departure has started (see `service::bookings`).
//! No rules means the default: a full refund until the departure starts. Cancellations by the
//! operator (one booking, or the whole departure) always refund in full.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Problems;

/// Most rules one policy may have.
pub const MAX_RULES: usize = 10;

/// One step of a policy, as operators send it and the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hours_before": 48, "refund_percent": 100}))]
pub struct RefundRule {
    /// Applies to cancellations at least this many hours before the start (0 to 8760).
    pub hours_before: i64,
    /// Share of the amount paid that is refunded (0 to 100).
    pub refund_percent: i64,
}

/// A validated policy: rules sorted from the earliest cancellation to the latest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CancellationPolicy {
    rules: Vec<RefundRule>,
}

impl CancellationPolicy {
    /// Validates rules, reporting problems under `field` (e.g. `cancellation_policy`).
    pub fn parse(rules: &[RefundRule], field: &str, p: &mut Problems) -> Option<Self> {
        let mut ok = true;
        let mut add = |name: String, message: &str| {
            ok = false;
            p.add(name, message);
        };
        if rules.len() > MAX_RULES {
            add(field.to_owned(), "must have at most 10 rules");
        }
        for (i, rule) in rules.iter().enumerate() {
            if !(0..=8760).contains(&rule.hours_before) {
                add(
                    format!("{field}[{i}].hours_before"),
                    "must be between 0 and 8760",
                );
            } else if rules[..i]
                .iter()
                .any(|r| r.hours_before == rule.hours_before)
            {
                add(format!("{field}[{i}].hours_before"), "is listed twice");
            }
            if !(0..=100).contains(&rule.refund_percent) {
                add(
                    format!("{field}[{i}].refund_percent"),
                    "must be between 0 and 100",
                );
            }
        }
        if !ok {
            return None;
        }
        let mut rules = rules.to_vec();
        rules.sort_by_key(|rule| std::cmp::Reverse(rule.hours_before));
        Some(CancellationPolicy { rules })
    }

    /// The rules as stored and shown; empty for the default policy.
    pub fn rules(&self) -> &[RefundRule] {
        &self.rules
    }

    /// The percentage refunded for a traveler's cancellation at `now` of a departure at
    /// `starts_at`.
    pub fn refund_percent(&self, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
        if now >= starts_at {
            return 0;
        }
        if self.rules.is_empty() {
            return 100;
        }
        let notice = starts_at - now;
        self.rules
            .iter()
            .find(|rule| notice >= Duration::hours(rule.hours_before))
            .map_or(0, |rule| rule.refund_percent)
    }

    /// The refund, in minor units, of a traveler's cancellation when `paid` was paid. Rounds
    /// down: a refund never exceeds the policy.
    pub fn refund_for(&self, paid: i64, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
        if paid <= 0 {
            return 0;
        }
        // i128: a percentage of the largest price cannot overflow.
        let percent = i128::from(self.refund_percent(starts_at, now));
        i64::try_from(i128::from(paid) * percent / 100).unwrap_or(0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A parsed policy from `(hours_before, refund_percent)` rules (other modules' tests share it).
    pub(crate) fn policy(rules: &[(i64, i64)]) -> CancellationPolicy {
        let rules: Vec<RefundRule> = rules
            .iter()
            .map(|&(hours_before, refund_percent)| RefundRule {
                hours_before,
                refund_percent,
            })
            .collect();
        let mut p = Problems::new();
        let policy = CancellationPolicy::parse(&rules, "cancellation_policy", &mut p);
        p.into_result().unwrap();
        policy.unwrap()
    }

    #[test]
    fn refunds_follow_the_rule_with_the_most_notice_that_applies() {
        let starts = Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap();
        // Given out of order on purpose: the policy sorts them.
        let policy = policy(&[(24, 50), (72, 100)]);
        let at =
            |hours: i64, minutes: i64| starts - Duration::hours(hours) - Duration::minutes(minutes);
        assert_eq!(policy.refund_for(7001, starts, at(100, 0)), 7001);
        assert_eq!(policy.refund_for(7001, starts, at(72, 0)), 7001);
        assert_eq!(policy.refund_for(7001, starts, at(71, 59)), 3500);
        assert_eq!(policy.refund_for(7001, starts, at(24, 0)), 3500);
        assert_eq!(policy.refund_for(7001, starts, at(23, 59)), 0);
        assert_eq!(policy.refund_for(7001, starts, starts), 0);
        assert_eq!(policy.refund_for(0, starts, at(100, 0)), 0);
    }

    #[test]
    fn the_default_refunds_in_full_until_departure() {
        let starts = Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap();
        let default = CancellationPolicy::default();
        assert_eq!(
            default.refund_for(5000, starts, starts - Duration::seconds(1)),
            5000
        );
        assert_eq!(default.refund_for(5000, starts, starts), 0);
    }

    #[test]
    fn bad_rules_are_reported_by_field() {
        let rules = [
            RefundRule {
                hours_before: 24,
                refund_percent: 101,
            },
            RefundRule {
                hours_before: 24,
                refund_percent: 50,
            },
            RefundRule {
                hours_before: -1,
                refund_percent: 0,
            },
        ];
        let mut p = Problems::new();
        assert!(CancellationPolicy::parse(&rules, "cancellation_policy", &mut p).is_none());
        let Err(crate::error::AppError::Validation(fields)) = p.into_result() else {
            panic!("expected validation errors");
        };
        assert_eq!(
            fields.into_keys().collect::<Vec<_>>(),
            [
                "cancellation_policy[0].refund_percent",
                "cancellation_policy[1].hours_before",
                "cancellation_policy[2].hours_before"
            ]
        );
    }
}
