//! A tour's cancellation policy in plain words: one line per step of the rules, as message
//! keys with their numbers. The rules themselves (and what a cancellation refunds) are
//! `domain::refund::CancellationPolicy`; a test checks every line against it.

use serde::Serialize;

use crate::domain::refund::CancellationPolicy;

/// One sentence of the policy: `key` in the catalogue, with `hours`, `upto` and `percent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyLine {
    pub key: &'static str,
    /// Notice in hours the sentence starts from.
    pub hours: i64,
    /// For a band: the notice it ends at (the previous step's `hours`).
    pub upto: i64,
    pub percent: i64,
}

/// The sentences describing `policy`, from the most notice to the least, ending with the
/// rule that a started departure cannot be cancelled.
pub fn describe(policy: &CancellationPolicy) -> Vec<PolicyLine> {
    let rules = policy.rules();
    let line = |key, hours, upto, percent| PolicyLine {
        key,
        hours,
        upto,
        percent,
    };
    let mut lines = Vec::new();
    if rules.is_empty() {
        lines.push(line("policy-full-refund", 0, 0, 100));
    }
    for (i, rule) in rules.iter().enumerate() {
        let (hours, percent) = (rule.hours_before, rule.refund_percent);
        match i {
            0 => lines.push(line("policy-from", hours, 0, percent)),
            _ => lines.push(line(
                "policy-between",
                hours,
                rules[i - 1].hours_before,
                percent,
            )),
        }
    }
    if let Some(last) = rules.last().filter(|r| r.hours_before > 0) {
        lines.push(line("policy-late", last.hours_before, 0, 0));
    }
    lines.push(line("policy-started", 0, 0, 0));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::refund::tests::policy;
    use chrono::{Duration, TimeZone, Utc};

    /// The percentage a line promises for a cancellation `notice_hours` before the start, if
    /// the line covers that notice.
    fn promised(line: &PolicyLine, notice_hours: i64) -> Option<i64> {
        match line.key {
            "policy-full-refund" => (notice_hours > 0).then_some(100),
            "policy-from" => (notice_hours >= line.hours).then_some(line.percent),
            "policy-between" => (line.hours..line.upto)
                .contains(&notice_hours)
                .then_some(line.percent),
            "policy-late" => (0 < notice_hours && notice_hours < line.hours).then_some(0),
            _ => None,
        }
    }

    #[test]
    fn every_sentence_promises_what_the_domain_refunds() {
        let starts = Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap();
        for rules in [
            vec![],
            vec![(72, 100), (24, 50)],
            vec![(48, 100), (0, 25)],
            vec![(24, 0)],
            vec![(168, 100), (72, 50), (24, 10)],
        ] {
            let policy = policy(&rules);
            let lines = describe(&policy);
            assert_eq!(lines.last().unwrap().key, "policy-started");
            for notice in 1..200 {
                let refunded = policy.refund_percent(starts, starts - Duration::hours(notice));
                let promises: Vec<i64> = lines.iter().filter_map(|l| promised(l, notice)).collect();
                assert_eq!(
                    promises,
                    vec![refunded],
                    "rules {rules:?}, {notice} h before: lines {lines:?}"
                );
            }
        }
    }

    #[test]
    fn a_policy_ending_at_departure_has_no_late_sentence() {
        let lines = describe(&policy(&[(48, 100), (0, 25)]));
        let keys: Vec<&str> = lines.iter().map(|l| l.key).collect();
        assert_eq!(keys, ["policy-from", "policy-between", "policy-started"]);
        assert_eq!(
            (lines[1].hours, lines[1].upto, lines[1].percent),
            (0, 48, 25)
        );
    }
}
