//! Reports derived from the ledger only.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};

use crate::domain::ids::OperatorId;
use crate::domain::schedule::parse_date;
use crate::error::{AppError, Problems};
use crate::storage::{ledger, Store};

/// Totals of one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: String,
    pub payments: i64,
    pub refunds: i64,
    pub fees: i64,
    pub net: i64,
    pub entries: i64,
}

/// Longest report window, in days.
pub const MAX_REPORT_DAYS: i64 = 366;

/// Revenue over the UTC dates `from..=to` (default: the last 30 days up to today).
pub async fn revenue(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate, Vec<CurrencyTotals>), AppError> {
    let mut p = Problems::new();
    let today = now.date_naive();
    let to = match to {
        Some(text) => p.check("to", parse_date(text)),
        None => Some(today),
    };
    let from = match (from, to) {
        (Some(text), _) => p.check("from", parse_date(text)),
        (None, Some(to)) => to.checked_sub_signed(Duration::days(29)),
        (None, None) => None,
    };
    if let (Some(from), Some(to)) = (from, to) {
        if from.year() < 1970 || to.year() > 9998 {
            p.add("from", "dates must lie between 1970 and 9998");
        } else if from > to {
            p.add("from", "must not be after to");
        } else if (to - from).num_days() >= MAX_REPORT_DAYS {
            p.add(
                "to",
                format!("a report covers at most {MAX_REPORT_DAYS} days"),
            );
        }
    }
    p.into_result()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::invalid("from", "is invalid"));
    };
    let start = from.and_time(NaiveTime::MIN).and_utc();
    let end = (to + Duration::days(1)).and_time(NaiveTime::MIN).and_utc();
    let mut totals: Vec<CurrencyTotals> = Vec::new();
    for (currency, kind, sum, count) in ledger::totals(store, operator, start, end).await? {
        if totals.last().is_none_or(|t| t.currency != currency) {
            totals.push(CurrencyTotals {
                currency: currency.clone(),
                ..Default::default()
            });
        }
        let Some(entry) = totals.last_mut() else {
            continue;
        };
        match kind.as_str() {
            "payment" => entry.payments += sum,
            "refund" => entry.refunds += sum,
            _ => entry.fees += sum,
        }
        entry.net += sum;
        entry.entries += count;
    }
    Ok((from, to, totals))
}
